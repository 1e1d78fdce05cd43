"""Long lists and block quotes drawn in pieces (MarkdownView.LIST_CHUNK children a piece): fed
in many small deltas, the view draws, row by row and style by style, what a view drawing each
list or quote whole draws, at the end and at points along the way; and a frame draws the open
item again, not the whole list."""

from __future__ import annotations

import random
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from stoa.widgets.markdown_view import MarkdownView
from tests.ui.test_markdown_view import ViewApp, _drawn, _rows, _settle, _stream


class Whole(MarkdownView):
    FENCE_CHUNK = 1_000_000
    LIST_CHUNK = 1_000_000  # every list and quote drawn as one block


def _bullets(count: int) -> str:
    items = []
    for n in range(count):
        if n % 5 == 1:
            items.append(f"- `widgets/file_{n}.py`: draws row {n} and keeps it until it changes, which is a long\n"
                         f"  enough sentence to wrap onto a second line at seventy columns ({n})\n")
        elif n % 7 == 3:
            items.append(f"- item {n} holds nested items:\n  - nested a{n} with `code`\n  - nested b{n}\n")
        else:
            items.append(f"- item {n}, **bold** and plain\n")
    return "".join(items)


def _ordered(count: int, start: int = 1, marker: str = "{n}. ") -> str:
    items = []
    for index in range(count):
        n = start + index
        head = marker.format(n=n)
        if index % 6 == 2:
            items.append(f"{head}step {n} has a sub-list:\n{' ' * len(head)}1. first\n{' ' * len(head)}2. second\n")
        else:
            items.append(f"{head}step {n}: run `make {n}` and read what it says\n")
    return "".join(items)


DOCS = {
    "bullets": "A list of every file:\n\n" + _bullets(40) + "\nThat is all.\n",
    "ordered from 1": "Steps:\n\n" + _ordered(23) + "\nDone.\n",
    "ordered from 7": _ordered(15, start=7),
    "ordered past 99": _ordered(104) + "\nEnd.\n",
    "ordered all ones": _ordered(12, marker="1. ") + "\nEnd.\n",
    "nested": "".join(
        f"- top {n}\n  - mid {n}\n    - deep {n} with `x[{n}]`\n  1. numbered {n}\n" for n in range(14)
    ),
    "loose": "".join(f"- loose item {n}\n\n  its second paragraph {n}\n\n" for n in range(12)) + "After.\n",
    "loose by gaps": "".join(f"{n + 1}. gap item {n}\n\n" for n in range(14)),
    "more items after a blank line": _bullets(9) + "\n" + _bullets(9) + "\n\n" + _bullets(6),
    "list then paragraph": _bullets(17) + "A paragraph right after the list, lazily\ncontinued.\n\nAnother.\n",
    "marker change starts a list": _bullets(10) + "* other list 1\n* other list 2\n" + _ordered(9, marker="{n}) "),
    "ends streaming": "Intro.\n\n" + _bullets(13),
    # Items whose last row is blank (a no-break space): kept between items, as drawn whole.
    "blank last rows": "".join(f"- item {n}\n\n  &nbsp;\n" for n in range(10)) + "\nAfter.\n",
    "quote": "".join(f"> Quoted paragraph {n}, with `code` and words enough to wrap at seventy columns.\n>\n"
                     for n in range(16)) + "\nAfter the quote.\n",
    "quote with blocks": "> # Heading\n>\n" + "".join(f"> - q{n}\n>\n> para {n}\n>\n" for n in range(10)) + "> end\n",
}


class TwoViews(App[None]):
    """The view streamed into, and the whole drawing of the same text, side by side in width."""

    def __init__(self, streamed: MarkdownView, whole: MarkdownView) -> None:
        super().__init__()
        self.streamed, self.whole = streamed, whole

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self.streamed
            yield self.whole


async def test_long_lists_and_quotes_streamed_look_as_drawn_whole() -> None:
    rng = random.Random(37)
    for name, doc in DOCS.items():
        view = MarkdownView()
        whole = Whole()
        async with TwoViews(view, whole).run_test(size=(70, 60)) as pilot:
            for position in _stream(view, doc, rng, [1, 2, 5, 8, 8, 30]):
                if rng.random() < 0.08:
                    await pilot.pause()
                if rng.random() < 0.05:
                    # Along the way too: what is shown so far is what the whole would show.
                    whole.set_source(doc[:position])
                    assert view.plain_lines() == whole.plain_lines(), (name, position)
            assert view.source == doc
            whole.set_source(doc)
            await _settle(pilot, view)
            await _settle(pilot, whole)
            assert view.plain_lines() == whole.plain_lines(), name
            assert _rows(view) == _rows(whole), name
        assert any(block.piece is not None for block in view._mv_blocks), name


async def test_long_lists_arriving_whole_look_as_drawn_whole() -> None:
    for name, doc in DOCS.items():
        view = MarkdownView(doc)
        assert await _drawn(view, (70, 400)) == await _drawn(Whole(doc), (70, 400)), name
        assert view.source == doc


async def test_ordered_pieces_number_on_and_widen_with_the_list() -> None:
    doc = _ordered(8, start=7)  # 7..14, numbers as wide as start + count, 15, plus a space
    view = MarkdownView()
    async with ViewApp(view).run_test(size=(70, 40)) as pilot:
        for line in doc.splitlines(keepends=True):
            view.append(line)
            await pilot.pause()
        lines = view.plain_lines()
        assert lines[0].startswith("  7 step 7") and lines[-1].startswith(" 14 step 14")
        assert sum(block.piece is not None for block in view._mv_blocks) >= 1
        view.set_source("")
        for n in range(1, 12):
            view.append(f"{n}. short {n}\n")
            await pilot.pause()
            lines = view.plain_lines()
            # Rich sizes the numbers by start + count: wider from the ninth item on.
            width = len(str(1 + n)) + 1
            assert lines[0] == f"{'1'.rjust(width)} short 1", (n, lines[0])
            assert lines[-1] == f"{str(n).rjust(width)} short {n}"


async def test_a_long_list_streaming_in_draws_the_open_item_not_the_whole_list(monkeypatch: Any) -> None:
    import stoa.widgets.markdown_view as module

    drawn: list[int] = []
    render = module.MarkdownView._render_source

    def counted(self: MarkdownView, source: str, *args: Any, **kwargs: Any) -> Any:
        drawn.append(len(source))
        return render(self, source, *args, **kwargs)

    monkeypatch.setattr(module.MarkdownView, "_render_source", counted)
    doc = "A list:\n\n" + _bullets(60) + "\nThe end.\n"
    view = MarkdownView()
    async with ViewApp(view).run_test(size=(70, 30)) as pilot:
        for line in doc.splitlines(keepends=True):
            view.append(line)
            await pilot.pause()
        await _settle(pilot, view)
        shown = view.plain_lines(), _rows(view)
    # Drawn whole at every line, the list would be drawn again at each of its lines: about 110
    # times its length in all for 150 items (measured), ~45 times for these 60; in pieces, a
    # frame draws the open piece (up to LIST_CHUNK items): about 5 times.
    assert sum(drawn) < 20 * len(doc), f"{sum(drawn):,} characters drawn for {len(doc):,}"
    assert shown == await _drawn(Whole(doc), (70, 30))
