"""The streaming Markdown view: same picture streamed or whole, lazy blocks, selection, width,
and drawn rows kept across frames while a reply streams."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from stoa.widgets.markdown_view import MarkdownView, estimate_height

DOC = """# Title

A paragraph with **bold**, `code` and a [link](https://example.com).

- one
- two

| a | b |
|---|---|
| 1 | 2 |

```python
print("hi")
```

> quoted
"""


class ViewApp(App[None]):
    def __init__(self, view: MarkdownView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scroll"):
            yield self.view


async def test_streamed_in_pieces_looks_the_same_as_whole() -> None:
    whole = MarkdownView(DOC)
    async with ViewApp(whole).run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        expected = whole.plain_lines()
    streamed = MarkdownView()
    async with ViewApp(streamed).run_test(size=(80, 40)) as pilot:
        for i in range(0, len(DOC), 3):
            streamed.append(DOC[i : i + 3])
            if i % 30 == 0:
                await pilot.pause()
        await pilot.pause()
        assert streamed.plain_lines() == expected
        assert streamed.source == DOC
    text = "\n".join(expected)
    for fragment in ("Title", "A paragraph with bold, code and a link", "https://example.com", "• one",
                     "print(\"hi\")", "quoted"):
        assert fragment in text


async def test_finished_blocks_are_split_off_and_the_tail_stays_open() -> None:
    view = MarkdownView("first paragraph\n\nsecond")
    async with ViewApp(view).run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        assert [b.source for b in view._mv_blocks] == ["first paragraph\n\n"]
        assert view._mv_tail == "second"
        view.append(" continues\n\n```\ncode\n")  # an open fence stays the tail
        assert view._mv_tail.startswith("```")
        view.append("```\n\nafter")
        assert view._mv_tail == "after"


async def test_a_long_reply_renders_only_what_is_near_the_view_then_the_rest_in_background() -> None:
    class Manual(MarkdownView):
        BACKGROUND_INTERVAL = 3600.0  # the test runs the background ticks itself

    text = "".join(f"Paragraph {i} with some words in it.\n\n" for i in range(400))
    view = Manual(text)
    async with ViewApp(view).run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        rendered = sum(1 for b in view._mv_blocks if b.lines is not None)
        assert 0 < rendered < 100
        # The bottom (followed while streaming) and the lines on screen are rendered, the middle not.
        assert view._mv_blocks[-1].lines is not None and view._mv_blocks[200].lines is None
        assert view._mv_background is not None
        for _ in range(1000):
            if view._mv_background is None:
                break
            view._background_tick()
        assert all(b.lines is not None for b in view._mv_blocks)
        assert view._mv_background is None
        lines = view.plain_lines()
        assert lines[0] == "Paragraph 0 with some words in it."
        assert lines[-1] == "Paragraph 399 with some words in it."


async def test_selection_copies_the_shown_text() -> None:
    from textual.selection import Selection

    view = MarkdownView("alpha **beta**\n\ngamma")
    async with ViewApp(view).run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        selected = view.get_selection(Selection(None, None))
        assert selected is not None
        assert selected[0] == "alpha beta\n\ngamma"


async def test_width_change_rewraps() -> None:
    view = MarkdownView("word " * 60)
    app = ViewApp(view)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        wide = view.virtual_size.height or view.size.height
        await pilot.resize_terminal(40, 20)
        await pilot.pause()
        await pilot.pause()
        assert view.size.height > wide


def test_height_estimate_wraps_long_lines() -> None:
    assert estimate_height("short\n\nline", 80) == 2
    assert estimate_height("x" * 200, 80) == 3


# ---- drawn rows kept while a reply streams (widgets/row_cache.py) ---------------------------

LONG = "".join(
    f"## Part {i}\n\nSome **words** in paragraph {i}, long enough to wrap once the view is narrow. "
    f"`code {i}` and more words.\n\n- item a{i}\n- item b{i}\n\n| k | v |\n|---|---|\n| {i} | x |\n\n"
    f"```python\ndef f{i}():\n    return {i}\n```\n\n"
    for i in range(12)
)


def _stream(view: MarkdownView, text: str, rng: random.Random, sizes: Sequence[int]) -> Iterator[int]:
    """Append ``text`` to ``view`` in pieces of random ``sizes``; yields the position after each."""
    position = 0
    while position < len(text):
        size = rng.choice(sizes)
        view.append(text[position : position + size])
        position += size
        yield position


def _rows(widget: Widget) -> list[Strip]:
    width, height = widget.outer_size
    return widget.render_lines(Region(0, 0, width, height))


async def test_a_streaming_reply_keeps_the_rows_above_the_new_text() -> None:
    view = MarkdownView("First paragraph, finished.\n\nSecond paragraph, still being")
    async with ViewApp(view).run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        before = _rows(view)
        view.append(" written, and now long enough to need a second line on screen.")
        await pilot.pause()
        after = _rows(view)
        assert len(after) == len(before) + 1
        # The finished paragraph and the gap are the very same strips: nothing drew them again.
        assert all(a is b for a, b in zip(after[:2], before[:2], strict=True))
        assert after[2] is not before[2]


async def test_the_log_keeps_its_own_rows_when_its_content_grows() -> None:
    from stoa.widgets.chat_log import ChatLog

    class LogApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ChatLog(id="log")

    app = LogApp()
    async with app.run_test(size=(60, 20)) as pilot:
        log = app.query_one(ChatLog)
        view = MarkdownView("one line")
        await log.mount(view)
        await pilot.pause()
        before = _rows(log)
        view.append("\n\n" + "\n\n".join(f"para {i}" for i in range(30)))
        await pilot.pause()
        assert log.virtual_size.height > log.size.height  # it scrolls now
        assert all(a is b for a, b in zip(_rows(log), before, strict=True))


async def test_a_new_line_costs_one_layout_not_two() -> None:
    view = MarkdownView("A paragraph")
    app = ViewApp(view)
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        layouts: list[object] = []
        app.screen.screen_layout_refresh_signal.subscribe(app, layouts.append)
        view.append("\n\nAnother paragraph")
        await pilot.pause()
        await pilot.pause(0.1)
        assert len(layouts) == 1


async def _settle(pilot: Any, view: MarkdownView) -> None:
    """Until every block is rendered and laid out: blocks far above the view are estimated, the
    background pass renders them once the text stops growing (after BACKGROUND_QUIET), and the
    layout follows on the next frame."""
    for _ in range(400):
        await pilot.pause(0.05)
        if view.fully_rendered:
            break
    assert view.fully_rendered
    await pilot.pause()
    await pilot.pause()


async def test_rows_drawn_while_streaming_match_a_fresh_view() -> None:
    rng = random.Random(14)
    fresh = MarkdownView(LONG)
    async with ViewApp(fresh).run_test(size=(70, 24)) as pilot:
        await _settle(pilot, fresh)
        expected = _rows(fresh)
    for _ in range(3):
        view = MarkdownView()
        app = ViewApp(view)
        async with app.run_test(size=(70, 24)) as pilot:
            scroll = app.query_one(VerticalScroll)
            for _ in _stream(view, LONG, rng, [1, 3, 7, 20, 80, 400]):
                if rng.random() < 0.3:
                    await pilot.pause()
                    # Look around while it streams: rows drawn at other places, then the bottom.
                    scroll.scroll_to(y=rng.randrange(0, max(1, scroll.max_scroll_y + 1)), animate=False)
                    await pilot.pause()
                    _rows(view)
            # Blocks far above were estimated; the background pass renders them once the text
            # stops growing (after BACKGROUND_QUIET), and the layout follows on the next frame.
            await _settle(pilot, view)
            assert _rows(view) == expected


async def test_the_background_pass_waits_while_text_arrives() -> None:
    class Manual(MarkdownView):
        BACKGROUND_INTERVAL = 3600.0  # the test runs the ticks itself

    view = Manual()
    async with ViewApp(view).run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        view.append("".join(f"Paragraph {i} with some words in it.\n\n" for i in range(300)))
        await pilot.pause()
        waiting = sum(1 for b in view._mv_blocks if b.lines is None)
        assert waiting > 100
        view._background_tick()  # text arrived just now: blocks far above the view can wait
        assert sum(1 for b in view._mv_blocks if b.lines is None) == waiting
        view._mv_quiet_from = 0.0  # quiet for long enough
        view._background_tick()
        assert sum(1 for b in view._mv_blocks if b.lines is None) < waiting


def _fence(lines: int) -> str:
    body = []
    for n in range(lines):
        body.append("" if n % 7 == 6 else f"    value_{n} = compute({n}, 'text {n}')  # step {n}")
    return "```python\n" + "\n".join(body) + "\n```\n"


class Whole(MarkdownView):
    FENCE_CHUNK = 1_000_000  # every fence drawn in one piece


async def _drawn(view: MarkdownView, size: tuple[int, int] = (70, 300)) -> tuple[list[str], list[Strip]]:
    app = ViewApp(view)
    async with app.run_test(size=size) as pilot:
        await _settle(pilot, view)
        return view.plain_lines(), _rows(view)


async def test_a_long_fence_drawn_in_pieces_looks_as_drawn_whole() -> None:
    for doc in (
        "Before.\n\n" + _fence(150) + "\nAfter.\n",  # finished: blocks of FENCE_CHUNK lines
        "Before.\n\n" + _fence(150),  # the last block (open until the reply ends)
        "Before.\n\n" + _fence(150)[:-5],  # a fence still streaming (no closing line yet)
    ):
        pieces = MarkdownView(doc)
        expected = await _drawn(Whole(doc))
        assert await _drawn(pieces) == expected
        assert pieces.source == doc
        if "After" in doc:
            assert sum(block.code is not None for block in pieces._mv_blocks) == 4  # 150 lines / 40


async def test_a_long_fence_streaming_in_is_highlighted_once_a_piece(monkeypatch: Any) -> None:
    import stoa.widgets.markdown_view as module

    highlighted: list[int] = []
    syntax = module.Syntax

    def counted(code: str, *args: Any, **kwargs: Any) -> Any:
        highlighted.append(len(code))
        return syntax(code, *args, **kwargs)

    monkeypatch.setattr(module, "Syntax", counted)
    doc = "Before.\n\n" + _fence(200) + "\nAfter.\n"
    view = MarkdownView()
    async with ViewApp(view).run_test(size=(70, 30)) as pilot:
        for line in doc.splitlines(keepends=True):
            view.append(line)
            await pilot.pause()
        await _settle(pilot, view)
    # Drawn whole at every line, the fence would be highlighted ~100 times its length (measured
    # for these 200 lines); in pieces, each piece is drawn again only while it grows: ~29 times.
    assert sum(highlighted) < 45 * len(doc), f"{sum(highlighted):,} characters highlighted for {len(doc):,}"
    whole = await _drawn(Whole(doc), (70, 30))
    assert await _drawn(MarkdownView(doc), (70, 30)) == whole


async def test_long_fences_streamed_in_any_pieces_look_as_drawn_whole() -> None:
    doc = "Intro.\n\n" + _fence(130) + "\nBetween.\n\n" + _fence(95).replace("python", "text") + "\nEnd.\n"
    whole = await _drawn(Whole(doc), (70, 40))
    rng = random.Random(3)
    for _ in range(3):
        view = MarkdownView()
        async with ViewApp(view).run_test(size=(70, 40)) as pilot:
            for position in _stream(view, doc, rng, [1, 5, 40, 300, 2_000]):
                assert view.source == doc[:position]
                if rng.random() < 0.3:
                    await pilot.pause()
            await _settle(pilot, view)
            assert (view.plain_lines(), _rows(view)) == whole
