"""The question before a project's shared hooks run: the exact commands, where they are written,
and run them (remembered for this set) or not (asked again next time)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from stoa.core.hooks import HookSpec
from stoa.styles import STYLES


def hooks_table(specs: Sequence[HookSpec]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column()
    for spec in specs:
        matcher = spec.matcher or "*"
        table.add_row(spec.event, Text(matcher, style="dim"), Text(spec.command))
    return table


class HooksTrustScreen(ModalScreen[bool]):
    """Dismissed with True (run them, remember) or False (do not run them this session)."""

    CSS_PATH = STYLES / "hooks_trust.tcss"

    BINDINGS = [
        Binding("y", "answer(True)", "Run them", show=False),
        Binding("n,escape", "answer(False)", "Do not run", show=False),
    ]

    def __init__(self, specs: Sequence[HookSpec], workspace: Path | None = None) -> None:
        super().__init__()
        self.specs = list(specs)
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        source: Path | str = self.specs[0].source if self.specs else ""
        if isinstance(source, Path) and self.workspace is not None and source.is_relative_to(self.workspace):
            source = source.relative_to(self.workspace)
        with VerticalScroll(id="hooks-trust-box") as box:
            box.border_title = "Project hooks"
            box.border_subtitle = "y runs them · n or Esc does not"
            yield Static(
                f"{source} asks Stoa to run these commands at moments of the session, outside the "
                "permission system (they can do anything your account can):",
                classes="hooks-trust-intro",
            )
            yield Static(hooks_table(self.specs), classes="hooks-trust-table")
            yield Static(
                "Run them only if you trust this repository. Your answer is remembered for this exact "
                "set; if the commands change, Stoa asks again.",
                classes="hooks-trust-note",
            )
            with Horizontal(classes="hooks-trust-buttons"):
                yield Button("Run them (y)", id="hooks-yes", variant="warning")
                yield Button("Do not run (n)", id="hooks-no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#hooks-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "hooks-yes")

    def action_answer(self, run: bool) -> None:
        self.dismiss(run)
