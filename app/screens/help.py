"""/help: every key binding and every slash command (read from the command registry)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from stoa.app.commands.registry import CommandRegistry
from stoa.styles import STYLES

KEY_HELP: tuple[tuple[str, str], ...] = (
    ("Enter", "send (while the agent works: steer it, delivered at the next tool result)"),
    ("Tab", "while the agent works: queue the message for after the turn (Ctrl+X takes the queue back)"),
    ("Shift+Enter · Alt+Enter · Ctrl+J", "new line"),
    ("Up / Down", "previous / next prompt (on the first / last line); Up pops the last queued message"),
    ("Ctrl+R", "search this project's prompt history (Enter takes the match, Esc cancels)"),
    ("Ctrl+U · Ctrl+W · Ctrl+K", "delete to line start · previous word · line end"),
    ("/vim", "vim keys in the composer (Esc: normal mode; hjkl w b e, d c y, p, u)"),
    ("/", "slash commands (Up/Down choose, Enter runs, Tab completes, Esc closes); yours: .stoa/commands/*.md"),
    ("@", "attach a file or folder: a fuzzy picker of the workspace (Tab/Enter complete, Esc closes)"),
    ("Ctrl+V", "paste the clipboard's image as [Image #N] (a pasted image path works too)"),
    ("!command", "run a shell line yourself, no model request; its output becomes context"),
    ("Esc", "interrupt the running turn (also stops a running shell command)"),
    ("Esc Esc", "on an empty prompt: rewind to one of your messages (/rewind)"),
    ("Ctrl+C", "interrupt while busy; copy a selection; twice when idle to quit"),
    ("Ctrl+D", "quit (on an empty prompt)"),
    ("Ctrl+P", "command palette"),
    ("Ctrl+O", "expand / collapse every tool call's details and thinking fold (Tab reaches each; Enter)"),
    ("Ctrl+T", "show / hide the plan panel"),
    ("Shift+Tab", "cycle the trust mode (plan → ask → auto)"),
    ("Ctrl+L", "redraw the screen (/clear starts a new conversation)"),
    ("Ctrl+G", "open the last path:line of the replies in $EDITOR (or click one; URLs are links)"),
    ("1-5 · Up/Down Enter", "answer a permission prompt (Esc: no); keys typed until you pause go to your message"),
    ("PageUp / PageDown", "scroll the conversation"),
    ("F1", "this help"),
    ("F2 · Alt+M", "model picker (/model NAME switches directly)"),
    ("F3 · Alt+E", "reasoning effort picker (/effort LEVEL sets it directly)"),
    ("F4 · Alt+T", "cycle to the next reasoning effort"),
)


def help_tables(registry: CommandRegistry) -> tuple[Table, Table]:
    keys = Table.grid(padding=(0, 2))
    keys.add_column(style="bold", no_wrap=True)
    keys.add_column()
    for key, what in KEY_HELP:
        keys.add_row(key, what)
    commands = Table.grid(padding=(0, 2))
    commands.add_column(style="bold", no_wrap=True)
    commands.add_column()
    for cmd in registry:
        usage = Text(cmd.usage)
        if cmd.aliases:
            usage.append("  " + " ".join(f"/{a}" for a in cmd.aliases), style="dim")
        commands.add_row(usage, cmd.description)
    return keys, commands


class HelpScreen(ModalScreen[None]):
    CSS_PATH = STYLES / "help.tcss"  # parsed when /help first opens, not before the first frame
    BINDINGS = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, registry: CommandRegistry) -> None:
        super().__init__()
        self.registry = registry

    def compose(self) -> ComposeResult:
        keys, commands = help_tables(self.registry)
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
