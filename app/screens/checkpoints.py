"""The screens of the checkpoint commands (``stoa.app.commands.checkpoints``).

- ``RewindPickerScreen``: the person's messages of this conversation, newest first, each with
  what its turn changed in the files; Enter chooses one, Esc closes. Dismisses with the turn
  number.
- ``RewindChoiceScreen``: what to take back to before that message: the conversation and the
  files, the conversation only, or the files only. Dismisses with "both", "conversation",
  "files" or None.
- ``UndoConflictScreen``: files changed after the turn by someone else: overwrite them, skip
  them (undo the rest), or cancel. Dismisses with "overwrite", "skip" or None.
- ``DiffScreen``: the working tree's diff and each turn's changes, scrollable; Esc closes.

Choices are made with the arrows and Enter (nothing is highlighted at first, so keys typed
ahead never choose), or with the digit shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from stoa.app.screens.questions import ChoiceQuestion
from stoa.app.screens.resume import STYLES
from stoa.widgets.diff_view import DiffView

if TYPE_CHECKING:
    from stoa.core.checkpoints.diffs import DiffSection
    from stoa.core.checkpoints.turn import Turn

CSS: list[str | PurePath] = [STYLES / "pickers.tcss", STYLES / "checkpoints.tcss"]


class _Choices(ChoiceQuestion):
    """A checkpoint question (see ``questions.ChoiceQuestion``: guarded against type-ahead)."""

    CSS_PATH = CSS


class UndoConflictScreen(_Choices):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="undo-conflict", classes="picker"):
            yield Static(Content.from_markup("[b]Files changed after the turn[/b]"), classes="picker-title")
            yield Static(self.text, classes="conflict-list", markup=False)
            yield OptionList(
                Option("1  Overwrite them with the turn's earlier versions (yours are kept in the checkpoint store)", id="overwrite"),
                Option("2  Skip them: leave those files as they are, undo the rest", id="skip"),
                Option("3  Cancel: change nothing", id="cancel"),
                id=self.LIST_ID,
            )
            yield Static("↑↓ then Enter, or 1–3 · Esc cancels", classes="picker-hint")

    def chosen(self, option_id: str | None) -> Any:
        return None if option_id == "cancel" else option_id


class RewindChoiceScreen(_Choices):
    def __init__(self, turn: Turn, later: Sequence[Turn], *, files_possible: bool) -> None:
        super().__init__()
        self.turn = turn
        self.later = list(later)
        self.files_possible = files_possible

    def compose(self) -> ComposeResult:
        count = len(self.later)
        changed = sum(len(t.changes) for t in self.later if t.undoable)
        files = f"{changed} file change{'s' if changed != 1 else ''}" if changed else "no file changes to undo"
        with Vertical(id="rewind-choice", classes="picker"):
            yield Static(Content.from_markup("[b]Go back to before this message[/b]"), classes="picker-title")
            yield Static(Content.assemble(("“", "dim"), (self.turn.title, "bold"), ("”", "dim")))
            yield Static(
                f"{count} turn{'s' if count != 1 else ''} from here on · {files}. The conversation after it is "
                "archived in the session database, not deleted.",
                classes="picker-hint",
            )
            yield OptionList(
                Option("1  The conversation and the files", id="both", disabled=not self.files_possible),
                Option("2  The conversation only (files stay as they are)", id="conversation"),
                Option("3  The files only (the conversation stays)", id="files", disabled=not self.files_possible),
                id=self.LIST_ID,
            )
            yield Static("↑↓ then Enter, or 1–3 · Esc cancels", classes="picker-hint")


class RewindPickerScreen(ModalScreen[int | None]):
    """Choose a message of the conversation to go back to (newest first)."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "cancel", "Close")]

    def __init__(self, turns: Sequence[Turn]) -> None:
        super().__init__()
        self.turns = sorted(turns, key=lambda t: -t.number)

    def compose(self) -> ComposeResult:
        with Vertical(id="rewind-picker", classes="picker"):
            yield Static(Content.from_markup("[b]Rewind to one of your messages[/b]"), classes="picker-title")
            yield OptionList(*[self._row(t) for t in self.turns], id="turns")
            yield Static("↑↓ move · Enter choose · Esc close", classes="picker-hint")

    def _row(self, turn: Turn) -> Option:
        state = {"undone": " · files undone", "open": " · running"}.get(turn.state, "")
        off = " · no checkpoint" if turn.off or turn.dropped else ""
        detail = f"{turn.summary()}{state}{off}"
        return Option(
            Content.assemble(
                (f"{turn.number:>3}  ", "dim"), (turn.title or "(no text)", "bold"), (f" · {detail}", "dim")
            ),
            id=str(turn.number),
        )

    def on_mount(self) -> None:
        self.query_one("#turns", OptionList).focus()

    @on(OptionList.OptionSelected, "#turns")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)


class DiffScreen(ModalScreen[None]):
    """The working tree's changes and each turn's, one scrollable page."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
    ]

    def __init__(self, sections: Sequence[DiffSection]) -> None:
        super().__init__()
        self.sections = list(sections)

    def compose(self) -> ComposeResult:
        with Vertical(id="diff-screen", classes="picker"):
            yield Static(Content.from_markup("[b]Changes[/b]"), classes="picker-title")
            with VerticalScroll(id="diff-body"):
                for section in self.sections:
                    counts = "".join(f"\n  {name}  +{a} -{r}" for name, a, r in section.files)
                    yield Static(Content.assemble((section.title, "bold"), (counts, "dim")), classes="diff-title")
                    for note in section.notes:
                        yield Static(note, classes="diff-note", markup=False)
                    if section.diff.strip():
                        yield DiffView(section.diff, max_lines=None, classes="diff-section")
            yield Static("↑↓ PgUp PgDn scroll · Esc close", classes="picker-hint")

    def on_mount(self) -> None:
        self.query_one("#diff-body", VerticalScroll).focus()

    def action_page(self, direction: int) -> None:
        body = self.query_one("#diff-body", VerticalScroll)
        body.scroll_page_down() if direction > 0 else body.scroll_page_up()

    def action_close(self) -> None:
        self.dismiss(None)
