"""Building and running the TUI: ``make_app`` (tests and the CLI) and ``run_tui`` (the CLI).

``make_app(config, ...)`` takes everything a test wants to inject: a ready ``Runtime`` or a
``provider_for`` for the one it builds, a clock, a saved history to show, whether animations
run, whether to open a saved session. This module stays light: Textual and the app are
imported when an app is built, with the garbage collector paused until the first frame
(start-up allocates ~80,000 objects; full collections during it cost ~100 ms).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stoa.app.app import StoaApp
    from stoa.core.config import StoaConfig
    from stoa.core.models import ModelInfo
    from stoa.core.providers.base import Provider
    from stoa.core.providers.types import Message
    from stoa.core.runtime import Choices, Runtime

__all__ = ["StoaApp", "make_app", "run_tui"]


def __getattr__(name: str) -> Any:
    if name in ("StoaApp", "_teach_alt_enter"):
        from stoa.app import app as app_module

        return getattr(app_module, name)
    raise AttributeError(name)


def make_app(
    config: StoaConfig,
    *,
    runtime: Runtime | None = None,
    choices: Choices | None = None,
    provider_for: Callable[[ModelInfo], Provider] | None = None,
    clock: Callable[[], float] | None = None,
    history: list[Message] | None = None,
    animations: bool = True,
    cursor_blink: bool = True,
    sessions: bool = False,
    resume: str | None = None,
    continue_latest: bool = False,
    start_mcp: bool = True,
    detect_sandbox: bool = True,
) -> StoaApp:
    """Build the app. Raises what ``build_runtime`` raises (unknown model, bad effort).

    ``sessions``: open (or resume) a saved session at start and save as the conversation goes;
    ``resume`` is a session id prefix ("" opens the picker), ``continue_latest`` the newest
    session of this project. ``start_mcp``: start the configured MCP servers in the background.
    ``detect_sandbox``: probe bubblewrap (in a thread) for the status bar.
    """
    from stoa.app.app import StoaApp, _teach_alt_enter
    from stoa.app.textual_fixes import free_removed_widgets

    if runtime is None:
        from stoa.core.runtime import build_runtime

        runtime = build_runtime(config, choices, provider_for=provider_for, history=history)
    elif history is not None and not len(runtime.agent.history):
        from stoa.core.agent.history import History

        runtime.agent.history = History(history)
    _teach_alt_enter()
    free_removed_widgets()
    return StoaApp(
        config,
        runtime,
        clock=clock or time.monotonic,
        history=history,
        animations=animations,
        cursor_blink=cursor_blink,
        sessions=sessions,
        resume=resume,
        continue_latest=continue_latest,
        start_mcp=start_mcp,
        detect_sandbox=detect_sandbox,
    )


def run_tui(
    config: StoaConfig,
    choices: Choices,
    *,
    resume: str | None = None,
    continue_latest: bool = False,
) -> int:
    """Run the full-screen app; returns the process exit code (0, or 1 on a crash).

    ``resume``: a session id prefix, or "" for the picker; ``continue_latest``: the most recent
    session of this project. A session that cannot be resumed is reported in the app, which
    starts a new conversation. After exit, prints the session's cost summary.
    """
    import sys

    # Paused until the first frame is drawn (StoaApp re-enables it and freezes start-up objects).
    gc.disable()
    from stoa.core.models import UnknownModelError, UnsupportedEffortError
    from stoa.core.runtime import NoLocalModelError, build_runtime

    try:
        runtime = build_runtime(config, choices)
    except NoLocalModelError as exc:
        gc.enable()
        print(f"stoa: error: {exc}", file=sys.stderr)
        return 1
    except (UnknownModelError, UnsupportedEffortError, ValueError) as exc:
        gc.enable()
        print(f"stoa: error: {exc}", file=sys.stderr)
        return 2
    app = make_app(config, runtime=runtime, sessions=True, resume=resume, continue_latest=continue_latest)
    app.run()
    handle = runtime.session
    if handle is not None:
        try:
            summary = handle.quit_summary(runtime.agent.ledger)
        except Exception:
            summary = ""
        if summary:
            print(summary)
    for note in app.exit_notes:
        print(note, file=sys.stderr)
    return app.return_code or 0
