"""The streaming Markdown view: same picture streamed or whole, lazy blocks, selection, width."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

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
