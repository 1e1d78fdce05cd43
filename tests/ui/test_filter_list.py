"""The pickers' list (widgets/filter_list.py): a thousand rows, and only the rows on screen are
made and measured; moving, paging and a kept row far down make theirs as they come into view;
a shortcut key typed into the empty filter box is a command, typed after text it is text."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets.option_list import Option

from stoa.widgets.filter_list import FilterBox, FilterList, Row

ROWS = 1000


class ListHost(App[None]):
    CSS = "FilterList { height: 20; text-wrap: nowrap; }"

    def __init__(self, height: int = 1) -> None:
        super().__init__()
        self.height = height
        self.made: list[int] = []
        self.shortcuts = 0

    def compose(self) -> ComposeResult:
        yield FilterBox(shortcut="d", placeholder="filter", id="filter")
        yield FilterList(id="rows")

    def rows(self) -> list[Option]:
        return [Row(lambda i=i: self.make(i), id=f"r{i}", height=self.height, disabled=i == 0) for i in range(ROWS)]

    def make(self, i: int) -> Content:
        self.made.append(i)
        text = f"row {i}" if self.height == 1 else f"row {i}\n  its second line"
        return Content(text)

    def on_filter_box_shortcut(self) -> None:
        self.shortcuts += 1


async def test_only_the_rows_on_screen_are_made() -> None:
    app = ListHost()
    async with app.run_test(size=(60, 30)) as pilot:
        rows = app.query_one(FilterList)
        rows.show(app.rows())
        await pilot.pause()
        assert rows.option_count == ROWS
        assert rows.virtual_size.height == ROWS
        assert rows.highlighted == 1, "the first row that can be chosen (row 0 is disabled)"
        assert 0 < len(app.made) <= 20 and max(app.made) < 20, app.made
        made_at_first = len(app.made)
        rows.page(1)
        await pilot.pause()
        assert rows.highlighted is not None and rows.highlighted > 15
        assert len(app.made) > made_at_first and len(app.made) <= 40
        assert rows.chosen() == f"r{rows.highlighted}"


async def test_a_kept_row_far_down_is_highlighted_and_shown() -> None:
    app = ListHost(height=2)
    async with app.run_test(size=(60, 30)) as pilot:
        rows = app.query_one(FilterList)
        rows.show(app.rows(), keep="r900")
        await pilot.pause()
        assert rows.virtual_size.height == 2 * ROWS
        assert rows.highlighted == 900
        assert 900 in app.made
        assert all(i >= 880 for i in app.made), "rows above the view were made"
        # Shown again with fewer rows, the highlighted one is kept by id.
        rows.show([row for row in app.rows() if row.id in ("r0", "r5", "r900")])
        await pilot.pause()
        assert rows.chosen() == "r900"
        rows.move(-1)
        assert rows.chosen() == "r5"
        rows.move(-1)
        assert rows.chosen() == "r900", "the disabled row is skipped (and the cursor wraps, as OptionList's does)"


async def test_the_shortcut_only_works_in_the_empty_box() -> None:
    app = ListHost()
    async with app.run_test(size=(60, 30)) as pilot:
        box = app.query_one(FilterBox)
        box.focus()
        await pilot.press("d")
        await pilot.pause()
        assert app.shortcuts == 1 and box.value == ""
        await pilot.press("a", "d")
        await pilot.pause()
        assert app.shortcuts == 1 and box.value == "ad"
