"""The question before a project's shared hooks run: the exact commands, where they are written,
and do not run them (asked again next time) or run them (remembered for this set)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from stoa.app.screens.questions import ChoiceQuestion
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


class HooksTrustScreen(ChoiceQuestion):
    """Dismissed with True (run them, remember) or False/None (do not run them this session).

    Asked at start-up, when the person may already be typing: a numbered question guarded
    against type-ahead (``questions.ChoiceQuestion``), so no keystroke of a message, a "y" of
    "yes, fix it" least of all, can approve running a repository's commands."""

    CSS_PATH = STYLES / "hooks_trust.tcss"
    LIST_ID = "hooks-answers"

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
            box.border_subtitle = "↑↓ then Enter, or 1-2 · Esc does not run them"
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
            yield OptionList(
                Option(Text.assemble(("1  ", "bold"), "Do not run them", ("  (asked again next time)", "dim")), id="no"),
                Option(Text.assemble(("2  ", "bold"), "Run them", ("  (remembered for this set)", "dim")), id="run"),
                id=self.LIST_ID,
            )

    def chosen(self, option_id: str | None) -> bool:
        return option_id == "run"

    def action_cancel(self) -> None:
        self.dismiss(False)
