"""What the filter-list pickers share: a filter box, a list of rows, Enter chooses, Esc closes.

``FilterPickerScreen`` is the base of the model, effort and resume pickers. A subclass composes
its own frame around ``self.filter_box(...)`` (left out when the picker has nothing to filter)
and a ``FilterList`` with the id ``LIST_ID``, and says which rows match the typed words
(``rows_for``); typing re-filters, keeping the highlighted row when it still matches, Up/Down and
PgUp/PgDn move the list from the filter box, Enter or a click chooses (``choose``, which
dismisses with the row's id unless overridden), Esc dismisses with None. The filter box's
shortcut key (typed into the empty box) runs ``action_shortcut``.

The list draws only the rows on screen (``stoa.widgets.filter_list``), so a picker opens in the
time its visible rows take, whatever the number of rows.

A picker is kept between opens (``stoa.app.screens.kept``): ``reopen()``, called with its new
data in place before it is pushed again, empties the filter, shows the rows from the top with
``start_row()`` highlighted and focuses where ``on_mount`` does, then runs ``opened()`` as the
first open does; so a second open shows what a first one would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from stoa.widgets.blink import follow_blink
from stoa.widgets.filter_list import FilterBox, FilterList


class FilterPickerScreen(ModalScreen[str | None]):
    """A filter-list picker; dismisses with the chosen row's id, or None."""

    LIST_ID: ClassVar[str] = "rows"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "cursor(1)", "Next", show=False),
        Binding("up", "cursor(-1)", "Previous", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
    ]

    # ---- for subclasses ---------------------------------------------------------------------

    def rows_for(self, words: Sequence[str]) -> list[Option]:
        """The rows to show for the typed ``words`` (lower case)."""
        raise NotImplementedError

    def choose(self, row_id: str) -> None:
        self.dismiss(row_id)

    def nothing_to_choose(self) -> None:
        """Enter with no row that can be chosen (the filter matches none)."""
        self.app.bell()

    def listed(self) -> None:
        """Called after the list was filled (labels that count the rows update here)."""

    def action_shortcut(self) -> None:
        """The filter box's shortcut key, typed into the empty box."""

    def start_row(self) -> str | None:
        """The row highlighted when the picker opens (None: the first that can be chosen)."""
        return None

    def opened(self) -> None:
        """Called at each open once the list is filled (work that starts with the picker)."""

    # ---- opening ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.refresh_list(keep=self.start_row())
        self.focus_start()
        self.opened()

    def focus_start(self) -> None:
        """The filter box has the focus at the start (the list, in a picker without one)."""
        boxes = self.query(FilterBox)
        (boxes.first() if boxes else self.row_list).focus()

    def reopen(self) -> None:
        """Show again as at a first open (a kept picker, before it is pushed again)."""
        if not self.is_mounted:
            return  # not shown yet: on_mount fills it
        for box in self.query(FilterBox):
            with box.prevent(Input.Changed):
                box.value = ""
        self.refresh_list(keep=self.start_row())  # (setting the rows scrolls the list to its top)
        self.focus_start()
        self.opened()

    # ---- the parts ----------------------------------------------------------------------------

    def filter_box(self, placeholder: str, *, shortcut: str | None = None) -> FilterBox:
        box = FilterBox(placeholder=placeholder, shortcut=shortcut, id="filter")
        follow_blink(box, self.app)
        return box

    @property
    def row_list(self) -> FilterList:
        return self.query_one(f"#{self.LIST_ID}", FilterList)

    def words(self) -> list[str]:
        if not self.is_mounted:
            return []
        boxes = self.query(FilterBox)
        return boxes.first().value.lower().split() if boxes else []

    def typed(self) -> str:
        boxes = self.query(FilterBox) if self.is_mounted else None
        return boxes.first().value if boxes else ""

    def refresh_list(self, keep: str | None = None) -> None:
        """Show the rows that match the filter, keeping ``keep`` (or the highlighted row)."""
        self.row_list.show(self.rows_for(self.words()), keep)
        self.listed()

    # ---- events and actions -------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.refresh_list()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose()

    @on(OptionList.OptionSelected)
    def _row_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != self.LIST_ID:
            return
        event.stop()
        if event.option.id and not event.option.disabled:
            self.choose(event.option.id)

    @on(FilterBox.Shortcut)
    def _shortcut(self) -> None:
        self.action_shortcut()

    def action_cursor(self, step: int) -> None:
        self.row_list.move(step)

    def action_page(self, step: int) -> None:
        self.row_list.page(step)

    def action_choose(self) -> None:
        row_id = self.row_list.chosen()
        if row_id is None:
            self.nothing_to_choose()
            return
        self.choose(row_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
