"""The Textual application: ``make_app`` builds it, ``run_tui`` runs it for the CLI.

``make_app(config, ...)`` takes everything a test wants to inject: a ready ``Runtime`` or a
``provider_for`` for the one it builds, a clock, a saved history to show, whether animations
run. The chat screen is the default screen; other screens (permission prompt, pickers, resume)
are pushed over it by commands and workers.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from app.commands import SlashCommandsProvider
from app.screens.chat import ChatScreen

if TYPE_CHECKING:
    from core.config import StoaConfig
    from core.models import ModelInfo
    from core.providers.base import Provider
    from core.providers.types import Message
    from core.runtime import Choices, Runtime

STYLES = Path(__file__).resolve().parent.parent / "styles"
QUIT_WINDOW_SECONDS = 2.0


class _ExtraKeys(enum.Enum):
    ALT_ENTER = "alt+enter"


def _teach_alt_enter() -> None:
    """Terminals send ESC CR for Alt+Enter; Textual's legacy parser turns that into "^" + Enter
    (which would send the message). Map the sequence to an ``alt+enter`` key instead."""
    from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

    table: Any = ANSI_SEQUENCES_KEYS
    table.setdefault("\x1b\r", (_ExtraKeys.ALT_ENTER,))


class StoaApp(App[int]):
    TITLE = "Stoa"
    CSS_PATH = [STYLES / "app.tcss", STYLES / "chat.tcss", STYLES / "help.tcss"]
    COMMANDS = App.COMMANDS | {SlashCommandsProvider}
    BINDINGS = [
        Binding("ctrl+c", "ctrl_c", "Interrupt / copy / quit", show=False, priority=True),
    ]

    def __init__(
        self,
        config: StoaConfig,
        runtime: Runtime,
        *,
        clock: Callable[[], float] = time.monotonic,
        history: list[Message] | None = None,
        animations: bool = True,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.config = config
        self.runtime = runtime
        self.clock = clock
        self._history = history
        self.cursor_blink = cursor_blink
        if not animations:
            self.animation_level = "none"
        self._last_ctrl_c = -1e9
        self.chat = ChatScreen(runtime, clock=clock, history=history)

    def get_default_screen(self) -> Screen[Any]:
        return self.chat

    def on_mount(self) -> None:
        if not self.cursor_blink:
            self.chat.composer.input.cursor_blink = False

    # ---- keys ----------------------------------------------------------------------------------

    def action_ctrl_c(self) -> None:
        """Copy a selection; else interrupt a running turn; else quit on a second press."""
        focused = self.focused
        selected = getattr(focused, "selected_text", "") if focused is not None else ""
        if selected:
            self.copy_to_clipboard(selected)
            return
        selection = self.screen.get_selected_text()
        if selection:
            self.copy_to_clipboard(selection)
            self.notify("copied", timeout=1.5)
            return
        if self.chat.interrupt():
            return
        now = time.monotonic()
        if now - self._last_ctrl_c <= QUIT_WINDOW_SECONDS:
            self.exit(0)
            return
        self._last_ctrl_c = now
        self.notify("press Ctrl+C again to quit", timeout=QUIT_WINDOW_SECONDS)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        chat = self.chat
        yield SystemCommand("Interrupt", "Stop the running turn (Esc)", chat.interrupt)
        yield SystemCommand("Toggle tool details", "Expand or collapse every tool call (Ctrl+O)", chat.action_toggle_tools)
        yield SystemCommand("Toggle plan panel", "Show or hide the plan (Ctrl+T)", chat.action_toggle_plan)
        yield SystemCommand("Cycle trust mode", "plan → ask → auto (Shift+Tab)", chat.action_cycle_mode)


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
) -> StoaApp:
    """Build the app. Raises what ``build_runtime`` raises (unknown model, bad effort)."""
    if runtime is None:
        from core.runtime import build_runtime

        runtime = build_runtime(config, choices, provider_for=provider_for, history=history)
    elif history is not None and not len(runtime.agent.history):
        from core.agent.history import History

        runtime.agent.history = History(history)
    _teach_alt_enter()
    return StoaApp(
        config,
        runtime,
        clock=clock or time.monotonic,
        history=history,
        animations=animations,
        cursor_blink=cursor_blink,
    )


def run_tui(
    config: StoaConfig,
    choices: Choices,
    *,
    resume: str | None = None,
    continue_latest: bool = False,
) -> int:
    """Run the full-screen app; returns the process exit code.

    ``resume``: a session id prefix, or "" for the picker; ``continue_latest``: the most recent
    session of this project. Both need the session store; without it the app starts a new
    conversation and says so.
    """
    from core.runtime import build_runtime

    runtime = build_runtime(config, choices)
    app = make_app(config, runtime=runtime)
    if resume is not None or continue_latest:
        app.chat.pending_resume = (resume, continue_latest)
    app.run()
    return app.return_code or 0
