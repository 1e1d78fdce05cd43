"""/help: every key binding and every slash command (read from the command registry)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from stoa.app.commands import KEY_HELP, REGISTRY


def help_tables() -> tuple[Table, Table]:
    keys = Table.grid(padding=(0, 2))
    keys.add_column(style="bold", no_wrap=True)
    keys.add_column()
    for key, what in KEY_HELP:
        keys.add_row(key, what)
    commands = Table.grid(padding=(0, 2))
    commands.add_column(style="bold", no_wrap=True)
    commands.add_column()
    for cmd in REGISTRY:
        usage = Text(cmd.usage)
        if cmd.aliases:
            usage.append("  " + " ".join(f"/{a}" for a in cmd.aliases), style="dim")
        commands.add_row(usage, cmd.description)
    return keys, commands


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        keys, commands = help_tables()
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help"
            box.border_subtitle = "Esc closes"
            yield Static(Text("Keys", style="bold underline"), classes="help-heading")
            yield Static(keys, classes="help-table")
            yield Static(Text("Commands", style="bold underline"), classes="help-heading")
            yield Static(commands, classes="help-table")
            yield Static(
                "Start a message with // to send text that begins with a slash. "
                "Ctrl+P opens the palette with the same commands.",
                classes="help-note",
            )

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
