"""Building and running the TUI: ``make_app`` (tests and the CLI) and ``run_tui`` (the CLI).

``make_app(config, ...)`` takes everything a test wants to inject: a ready ``Runtime`` or a
``provider_for`` for the one it builds, a clock, a saved history to show, whether animations
run, whether to open a saved session. This module stays light: Textual and the app are
imported when an app is built, with the garbage collector paused until the runtime is built
(start-up allocates ~80,000 objects; full collections during it cost ~100 ms).

``run_tui`` paints first: the chat screen (status bar, empty log, the composer with real focus)
is on screen before the runtime is built (catalogue, tools, policy, instructions, agent), which
happens in a thread right after the first frame. What is typed meanwhile stays in the composer,
and a message sent meanwhile waits and goes as soon as the runtime and the session are ready.
A runtime that cannot be built (an unknown model, a bad effort) ends the app with the same
message and exit code as before it was deferred (``StartupFailure``).
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


class StartupFailure(Exception):
    """The runtime could not be built: ``message`` is printed once the terminal is restored,
    and the process exits with ``code`` (1: a runtime problem, 2: a usage problem)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def build_or_explain(
    config: StoaConfig,
    choices: Choices | None = None,
    *,
    provider_for: Callable[[ModelInfo], Provider] | None = None,
    history: list[Message] | None = None,
) -> Runtime:
    """``build_runtime``, with what the person can fix as a ``StartupFailure`` (the words and
    exit codes ``stoa`` printed when it built the runtime before starting the app)."""
    from stoa.core.config import ConfigError
    from stoa.core.models import UnknownModelError, UnsupportedEffortError
    from stoa.core.runtime import NoLocalModelError, build_runtime

    try:
        return build_runtime(config, choices, provider_for=provider_for, history=history)
    except NoLocalModelError as exc:
        raise StartupFailure(f"stoa: error: {exc}", 1) from exc
    except ConfigError as exc:
        raise StartupFailure(f"stoa: {exc}", 1) from exc
    except (UnknownModelError, UnsupportedEffortError, ValueError) as exc:
        raise StartupFailure(f"stoa: error: {exc}", 2) from exc


def make_app(
    config: StoaConfig,
    *,
    runtime: Runtime | None = None,
    build_after_paint: bool = False,
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

    ``build_after_paint``: without a ``runtime``, build it in a thread after the first frame
    (as ``stoa`` does) instead of now; a failure ends the app (``StartupFailure``).
    ``sessions``: open (or resume) a saved session at start and save as the conversation goes;
    ``resume`` is a session id prefix ("" opens the picker), ``continue_latest`` the newest
    session of this project. ``start_mcp``: start the configured MCP servers in the background.
    ``detect_sandbox``: probe bubblewrap (in a thread) for the status bar.
    """
    from stoa.app.app import StoaApp, _teach_alt_enter
    from stoa.app.textual_fixes import free_removed_widgets, writes_survive_a_lost_terminal

    build: Callable[[], Runtime] | None = None
    if runtime is None and build_after_paint:

        def build() -> Runtime:
            return build_or_explain(config, choices, provider_for=provider_for, history=history)

    elif runtime is None:
        from stoa.core.runtime import build_runtime

        runtime = build_runtime(config, choices, provider_for=provider_for, history=history)
    elif history is not None and not len(runtime.agent.history):
        from stoa.core.agent.history import History

        runtime.agent.history = History(history)
    _teach_alt_enter()
    free_removed_widgets()
    writes_survive_a_lost_terminal()
    return StoaApp(
        config,
        runtime,
        build=build,
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

    # Paused until the runtime is built (StoaApp re-enables it and freezes start-up objects).
    gc.disable()
    app = make_app(
        config, choices=choices, build_after_paint=True, sessions=True, resume=resume, continue_latest=continue_latest
    )
    app.run()
    if not gc.isenabled():
        gc.enable()
    runtime = app.runtime
    handle = runtime.session if runtime is not None else None
    if runtime is not None and handle is not None:
        try:
            summary = handle.quit_summary(runtime.agent.ledger)
        except Exception:
            summary = ""
        if summary:
            print(summary)
    for note in app.exit_notes:
        print(note, file=sys.stderr)
    return app.return_code or 0
