"""A streaming Markdown view that stays fast for very long replies: one widget, cached blocks.

Why not Textual's ``Markdown`` + ``Markdown.get_stream``: that widget mounts one child widget
per block (and per list item, table, fence...). Measured here, streaming 40,000 characters of
ordinary Markdown into it took 41 s (1,800 widgets, each mount styled and laid out), and a
20,000-token reply left the UI a minute behind the model. This view is a single widget using
the line API. The source is split into top-level blocks with markdown-it (the parser Rich and
Textual use); each finished block is rendered once with Rich's Markdown renderer (headings,
lists, tables, block quotes, links, code fences with syntax highlighting) and cached per width;
only the open block at the end is parsed and rendered again as text arrives. Colours come from
the app's theme. Text selection with the mouse works line by line.

Drawn rows (padding, background and line filters applied) are kept by row, and only the rows
that changed are dropped and repainted: streaming into the open block repaints its last lines,
and when the reply grows (the log scrolls, Textual lays it out again and repaints the whole
widget) the rows above come back as the same ``Strip`` objects, so the compositor's own caches
(divided and rendered strips) hold too. A frame of a streaming reply then costs about what
the new text costs, whatever the height of the reply.

A long code fence (over ``FENCE_CHUNK`` lines) is drawn in pieces of ``FENCE_CHUNK`` lines,
each highlighted once and kept (``_render_code``): while it streams in, its pieces but the last
become finished blocks (the open block is the rest of the fence, parsed after the fence's
opening line, ``_mv_tail_prefix``) and a frame highlights the piece that grows, not the whole
fence again (that made a 20,000-token fence quadratic); the pieces are blocks joined without a
blank line, rendered, like other blocks, only as they come into view. Pieces join exactly (Rich's Syntax renders line by line), but for a
construct that spans two pieces (a string of several lines) the second piece's colours.

A long list or block quote is drawn the same way, in pieces of ``LIST_CHUNK`` children (items,
or the quote's blocks; ``_Run``, ``_Piece``): while it streams in, its children but the last few
become finished blocks, and the open block is the rest of it (which parses alone as the rest of
the list: items are independent of the items above them), so a frame draws the open item
again, not the whole list (a reply that is one 800-item list was quadratic). Rich draws each
item on its own, so the pieces join exactly; what an item owes the whole list is its number
(``_List``: numbered on from the piece before, and as wide as the whole list's last number,
``start + count``: when that gains a digit, the pieces drawn already are drawn again) and its
blank rows (only the whole's first and last are stripped). A table is still drawn whole on every
frame: its column widths depend on every row.
"""

from __future__ import annotations

import bisect
import functools
import io
import itertools
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Heading, ListElement
from rich.markdown import Markdown as RichMarkdown
from rich.style import Style
from rich.syntax import Syntax
from rich.theme import Theme
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.selection import Selection
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from stoa.widgets.links import linkify
from stoa.widgets.row_cache import RowCache, hovering_link

# Token types that open (or are) a top-level block.
_BLOCK_OPENERS = frozenset(
    {
        "paragraph_open",
        "heading_open",
        "fence",
        "code_block",
        "blockquote_open",
        "hr",
        "bullet_list_open",
        "ordered_list_open",
        "table_open",
        "html_block",
    }
)


class _LeftHeading(Heading):
    LEVEL_ALIGN: ClassVar[dict[str, Any]] = {f"h{i}": "left" for i in range(1, 7)}


class _Fence(CodeBlock):
    background: ClassVar[str | None] = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        yield Syntax(
            code,
            self.lexer_name,
            theme=self.theme,
            word_wrap=True,
            padding=(0, 1),
            background_color=self.background,
        )


class _List(ListElement):
    """A list; a piece of a long ordered list numbers its items as the whole list does: from
    ``_StoaMarkdown.numbers`` (its first item's number, and the whole list's ``last_number``,
    which sets the width of every number), for the top-level list only."""

    last_number: int | None = None

    @classmethod
    def create(cls, markdown: Any, token: Any) -> ListElement:
        numbers = getattr(markdown, "numbers", None)
        if numbers is None or token.level != 0 or token.type != "ordered_list_open":
            return super().create(markdown, token)
        element = cls(token.type, numbers[0])
        element.last_number = numbers[1]
        return element

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.last_number is None or self.list_start is None:
            yield from super().__rich_console__(console, options)
            return
        for index, item in enumerate(self.items):
            yield from item.render_number(console, options, self.list_start + index, self.last_number)


class _StoaMarkdown(RichMarkdown):
    elements: ClassVar[dict[str, Any]] = {
        **RichMarkdown.elements,
        "heading_open": _LeftHeading,
        "fence": _Fence,
        "code_block": _Fence,
        "bullet_list_open": _List,
        "ordered_list_open": _List,
    }
    # (first number, last number) of an ordered list drawn in pieces (see ``_List``).
    numbers: tuple[int, int] | None = None


@functools.cache
def _parser() -> Any:
    """One parser for every view (parsing keeps no state in it): each MarkdownIt compiles its
    own linkify patterns, 208 KB and 1 ms per assistant message mounted."""
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table")


# Container blocks drawn in pieces of their children when long (``LIST_CHUNK``).
_CONTAINERS = frozenset({"bullet_list_open", "ordered_list_open", "blockquote_open"})


@dataclass(eq=False)
class _Run:
    """A long list or block quote drawn as pieces of ``LIST_CHUNK`` children (items, or a
    quote's blocks), as it grows: what its pieces need to draw as the whole would."""

    kind: str  # the container's opening token type
    start: int  # the number of the first item (an ordered list's)
    done: int = 0  # children in finished pieces
    count: int = 0  # children so far (finished pieces and the open block)
    first_block: int = -1  # the index of its first piece among the finished blocks

    @property
    def numbers(self) -> tuple[int, int] | None:
        """The open block's numbers (``_List``): its first item's, and the whole list's last,
        ``start + count`` as Rich's ``ListElement`` counts it (the width of every number)."""
        if self.kind != "ordered_list_open":
            return None
        return self.start + self.done, self.start + self.count


@dataclass(frozen=True)
class _Piece:
    run: _Run
    number: int  # the number of its first item
    first: bool  # the container's first piece (a gap before it)
    last: bool  # the container's last piece (blank rows below stripped)

    @property
    def numbers(self) -> tuple[int, int] | None:
        run = self.run
        return (self.number, run.start + run.count) if run.kind == "ordered_list_open" else None


def _children(tokens: list[Any]) -> list[int]:
    """Where each child of a container block starts in its tokens (``tokens[0]`` opens it, at
    level 0): the list's items, or the quote's blocks."""
    return [
        index
        for index, token in enumerate(tokens)
        if token.level == 1
        and token.map is not None
        and (token.type == "list_item_open" or token.type in _BLOCK_OPENERS)
    ]


@dataclass(eq=False)
class _Block:
    source: str
    tokens: list[Any] | None
    lines: list[Strip] | None = None
    estimate: int = 1
    # A piece of a long code fence (language, code, first piece, last piece), joined to the
    # block before it without a blank line unless it is the fence's first piece.
    code: tuple[str, str, bool, bool] | None = None
    # A piece of a long list or block quote, joined the same way.
    piece: _Piece | None = None

    @property
    def joined(self) -> bool:
        if self.piece is not None:
            return not self.piece.first
        return self.code is not None and not self.code[2]

    @property
    def height(self) -> int:
        return len(self.lines) if self.lines is not None else self.estimate


def _fence_pieces(token: Any, size: int, *, always: bool = False) -> list[tuple[str, list[str]]] | None:
    """A fence token's language and its code in pieces of ``size`` lines, when it has more
    than two pieces' worth or ``always`` (None otherwise: drawn whole)."""
    if token.type != "fence":
        return None
    code = token.content.split("\n")
    if code and code[-1] == "":
        code.pop()  # the newline that ends the last line
    if len(code) <= 2 * size and not always:
        return None
    language = (token.info or "").partition(" ")[0] or "text"
    return [(language, code[start : start + size]) for start in range(0, len(code), size)] or [(language, [])]


def _start(token: Any) -> int:
    """An ordered list's first number (as Rich reads it)."""
    return int(token.attrs.get("start", 1))


def _code_estimate(lines: list[str], width: int) -> int:
    inner = max(1, width - 2)  # Syntax's padding
    return max(1, sum(max(1, -(-len(line) // inner)) for line in lines))


def estimate_height(source: str, width: int) -> int:
    """A guess at a block's rendered height before it is rendered (wrapped source lines)."""
    width = max(1, width)
    total = 0
    for line in source.splitlines():
        if line.strip():
            total += max(1, -(-len(line) // width))
    return max(1, total)


class MarkdownView(Widget):
    """Markdown as lines; ``append`` adds text, re-rendering only the open block at the end.

    Finished blocks far above the view are not rendered straight away: their height is estimated
    and they are rendered a few at a time in the background (or at once when scrolled into
    view), so a long reply streaming in costs a constant amount of work per frame.
    """

    # Set only by Textual's layout, which has just placed everything for it: the layout (and
    # full repaint) that Widget's reactive would ask for again is a second frame per new line.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=False)
    ALLOW_SELECT = True
    DEFAULT_CSS = """
    MarkdownView {
        height: auto;
    }
    """

    # Rendering budget of the background pass, per tick.
    BACKGROUND_SLICE = 0.006
    BACKGROUND_INTERVAL = 0.05
    # The background pass waits until the text has not grown for this long: while a reply
    # streams in fast, blocks far above the view can wait (scrolling to one renders it at once).
    BACKGROUND_QUIET = 0.5
    # Lines of a long code fence drawn (and kept) together.
    FENCE_CHUNK = 40
    # Items of a long list (blocks of a long block quote) drawn (and kept) together.
    LIST_CHUNK = 4

    def __init__(self, source: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._mv_parser = _parser()
        self._mv_blocks: list[_Block] = []
        # The open block at the end, parsed again on every append (its tokens kept for rendering).
        self._mv_tail = ""
        # The opening line of a long fence whose first pieces are finished blocks already: the
        # open block (``_mv_tail``) is the rest of that fence, parsed with this line before it.
        self._mv_tail_prefix = ""
        # The long list or quote whose first pieces are finished blocks already: the open block
        # is the rest of it (its last children), drawn joined to them and numbered on from them.
        self._mv_tail_run: _Run | None = None
        self._mv_tail_tokens: list[Any] | None = None
        self._mv_tail_lines: list[Strip] | None = None
        self._mv_offsets: list[int] = []
        # Offsets from this block index on need recomputing.
        self._mv_dirty = 0
        # Rows as drawn, kept until they change (widgets/row_cache.py).
        self._mv_rows = RowCache()
        self._mv_width = 0
        self._mv_theme_key: str | None = None
        self._mv_console: Console | None = None
        self._mv_code_theme = "ansi_dark"
        self._mv_background: Timer | None = None
        self._mv_quiet_from = 0.0
        self._mv_style: Style | None = None
        # Pieces of long code fences as drawn, by (language, code, width, first, last).
        self._mv_code_cache: dict[tuple[str, str, int, bool, bool], list[Strip]] = {}
        self.append(source)

    # ---- source --------------------------------------------------------------------------------

    @property
    def source(self) -> str:
        return "".join(b.source for b in self._mv_blocks) + self._mv_tail

    def append(self, text: str) -> None:
        if not text:
            return
        previous = self._mv_tail_lines
        if self.is_mounted:
            self._mv_quiet_from = time.monotonic() + self.BACKGROUND_QUIET
        # Rows above the open block stay as they are; from its first row on, they may change.
        drawn = self.is_mounted and self._mv_width > 0 and previous is not None
        if drawn:
            old_count = self._line_count()
            old_start = old_count - len(previous or [])
        self._mv_tail += text
        prefix = self._mv_tail_prefix
        tokens = self._mv_parser.parse(prefix + self._mv_tail)
        openers = [
            i
            for i, token in enumerate(tokens)
            if token.level == 0 and token.map is not None and token.type in _BLOCK_OPENERS
        ]
        if len(openers) > 1:
            # Every block but the last is followed by another one: it is finished.
            lines = (prefix + self._mv_tail).splitlines(keepends=True)
            width = self._mv_width or 80
            run = self._mv_tail_run
            for first, after in itertools.pairwise(openers):
                start, end = tokens[first].map[0], tokens[after].map[0]
                if tokens[first].type in _CONTAINERS:
                    # The rest of a long list or quote begun in earlier blocks, or a long one.
                    rest = run is not None and first == openers[0] and tokens[first].type == run.kind
                    if rest or len(_children(tokens[first:after])) > 2 * self.LIST_CHUNK:
                        piece_run = run if rest and run is not None else _Run(tokens[first].type, _start(tokens[first]))
                        self._add_pieces(tokens[first:after], lines[start:end], piece_run, width)
                        continue
                continued = bool(prefix) and first == openers[0]  # the rest of a long fence
                pieces = (
                    _fence_pieces(tokens[first], self.FENCE_CHUNK, always=continued) if after == first + 1 else None
                )
                if pieces is not None:
                    self._add_fence(pieces, lines[start:end], width, continued=continued)
                    continue
                source = "".join(lines[start:end])
                self._mv_blocks.append(_Block(source, tokens[first:after], estimate=estimate_height(source, width)))
            self._mv_tail = "".join(lines[tokens[openers[-1]].map[0] :])
            self._mv_tail_prefix = ""
            self._mv_tail_run = None
            tokens = tokens[openers[-1] :]
        self._mv_tail_tokens = self._finish_pieces(self._finish_fence_pieces(tokens))
        self._mv_tail_lines = None
        if not self.is_mounted:
            return
        if not drawn or previous is None:
            self.refresh(layout=True)
            return
        # Render what changed now (the open block, and blocks just finished near the bottom),
        # then repaint from the first row that differs; lay out only if the height changed.
        self._layout(self.app.size.height)
        count = self._line_count()
        first = old_start
        for old in previous:
            if first >= count or self._line(first) != old:
                break
            first += 1
        self._changed(first, layout=count != old_count)

    def _add_fence(
        self,
        pieces: list[tuple[str, list[str]]],
        lines: list[str],
        width: int,
        *,
        continued: bool = False,
        ends: bool = True,
    ) -> None:
        """Pieces of a long fence as blocks of ``FENCE_CHUNK`` lines. ``lines``: the fence's
        source lines, its opening line first (only parsed, not kept, when ``continued``: the
        rest of a fence begun in earlier blocks); the closing line goes with the last piece
        (``ends``: the pieces reach the fence's end)."""
        at = 1
        last = len(pieces) - 1
        for index, (language, code) in enumerate(pieces):
            begin = 0 if index == 0 and not continued else at
            stop = None if index == last and ends else at + len(code)
            at += len(code)
            block = _Block("".join(lines[begin:stop]), None, estimate=_code_estimate(code, width))
            block.code = (language, "\n".join(code), index == 0 and not continued, index == last and ends)
            self._mv_blocks.append(block)

    def _finish_fence_pieces(self, tokens: list[Any]) -> list[Any]:
        """An open block that is a long fence keeps only its last piece: the pieces before it
        become finished blocks (drawn once, only when in view). Returns the open block's tokens."""
        if len(tokens) != 1:
            return tokens
        pieces = _fence_pieces(tokens[0], self.FENCE_CHUNK, always=bool(self._mv_tail_prefix))
        if pieces is None or len(pieces) < 3:
            return tokens
        done = pieces[:-1]
        lines = (self._mv_tail_prefix + self._mv_tail).splitlines(keepends=True)
        taken = 1 + sum(len(code) for _, code in done)
        self._add_fence(done, lines[:taken], self._mv_width or 80, continued=bool(self._mv_tail_prefix), ends=False)
        self._mv_tail_prefix = lines[0]
        self._mv_tail = "".join(lines[taken:])
        return list(self._mv_parser.parse(self._mv_tail_prefix + self._mv_tail))

    def _finish_pieces(self, tokens: list[Any]) -> list[Any]:
        """An open block that is a long list or block quote keeps only its last children (up to
        ``LIST_CHUNK``, the last one open): the pieces before them become finished blocks (drawn
        once, only when in view). Returns the open block's tokens."""
        run = self._mv_tail_run
        if not tokens or tokens[0].type not in _CONTAINERS or self._mv_tail_prefix:
            self._mv_tail_run = None
            return tokens
        if run is not None and tokens[0].type != run.kind:
            run = self._mv_tail_run = None  # (not expected: the rest of a list parses as a list)
        children = _children(tokens)
        take = (len(children) - 1) // self.LIST_CHUNK * self.LIST_CHUNK
        if run is None:
            if take <= 0:
                return tokens
            run = self._mv_tail_run = _Run(tokens[0].type, _start(tokens[0]))
        lines = self._mv_tail.splitlines(keepends=True)
        cut = self._add_pieces(tokens, lines, run, self._mv_width or 80, take=take)
        if take <= 0:
            return tokens
        self._mv_tail = "".join(lines[cut:])
        return [tokens[0], *tokens[children[take] :]]

    def _add_pieces(
        self, tokens: list[Any], lines: list[str], run: _Run, width: int, *, take: int | None = None
    ) -> int:
        """The first ``take`` children (all, the container's end, when None) of a list or quote
        as finished blocks of ``LIST_CHUNK`` children. ``tokens``: the container's (its opening
        token first, its closing one last), ``lines``: its source lines from its first line (or
        the rest of it, for the rest of a run). Returns the line where the children not taken
        begin."""
        children = _children(tokens)
        ends = take is None
        taken = len(children) if take is None else take
        self._count(run, run.done + len(children))
        base = tokens[0].map[0]
        for at in range(0, taken, self.LIST_CHUNK):
            stop = min(at + self.LIST_CHUNK, taken)
            begin = 0 if at == 0 else tokens[children[at]].map[0] - base
            end = tokens[children[stop]].map[0] - base if stop < len(children) else len(lines)
            after = children[stop] if stop < len(children) else len(tokens) - 1
            source = "".join(lines[begin:end])
            piece = _Piece(run, run.start + run.done, first=run.done == 0, last=ends and stop == len(children))
            run.done += stop - at
            if run.first_block < 0:
                run.first_block = len(self._mv_blocks)
            block_tokens = [tokens[0], *tokens[children[at] : after], tokens[-1]]
            self._mv_blocks.append(_Block(source, block_tokens, estimate=estimate_height(source, width), piece=piece))
        return tokens[children[taken]].map[0] - base if taken < len(children) else len(lines)

    def _count(self, run: _Run, count: int) -> None:
        """A run has ``count`` children so far. An ordered list's numbers are as wide as its
        last number: when that gains a digit, its pieces drawn already are drawn again."""
        before = run.numbers
        run.count = count
        after = run.numbers
        if before is None or after is None or len(str(before[1])) == len(str(after[1])) or run.first_block < 0:
            return
        for block in self._mv_blocks[run.first_block :]:
            if block.piece is not None and block.piece.run is run and block.lines is not None:
                block.estimate = block.height
                block.lines = None
        self._invalidate(run.first_block)

    def set_source(self, text: str) -> None:
        self._mv_blocks.clear()
        self._mv_tail = ""
        self._mv_tail_prefix = ""
        self._mv_tail_run = None
        self._mv_tail_tokens = None
        self._mv_tail_lines = None
        self._invalidate(0)
        self.append(text)
        if self.is_mounted:
            self.refresh(layout=True)

    # ---- rendering -----------------------------------------------------------------------------

    def _reset_rendering(self) -> None:
        width = self._mv_width or 80
        for block in self._mv_blocks:
            block.lines = None
            block.estimate = estimate_height(block.source, width)
        self._mv_tail_lines = None
        self._invalidate(0)

    def _check_theme(self) -> Console:
        app = self.app
        key = app.theme
        if self._mv_console is None or key != self._mv_theme_key:
            self._mv_theme_key = key
            self._mv_console = _make_console(app)
            self._mv_code_theme = "ansi_dark" if app.current_theme.dark else "ansi_light"
            variables = app.theme_variables
            _Fence.background = _solid(variables.get("surface", "#1e1e1e"), variables.get("background", "#000000"))
            self._reset_rendering()
        return self._mv_console

    def _render_source(
        self,
        source: str,
        tokens: list[Any] | None,
        width: int,
        *,
        numbers: tuple[int, int] | None = None,
        bottom: bool = True,
    ) -> list[Strip]:
        """A block drawn by Rich, without the blank rows above it and, unless it is a piece of a
        list or quote but the last (``bottom`` False: an item may end in blank rows), below it.
        A piece of a long ordered list is numbered by ``numbers`` (``_List``). (Rich starts a
        list or quote with a blank row; the first row of an item or quoted line never is.)"""
        console = self._check_theme()
        markdown = _StoaMarkdown.__new__(_StoaMarkdown)
        if tokens is None:
            _StoaMarkdown.__init__(markdown, source, code_theme=self._mv_code_theme, hyperlinks=False)
        else:
            # This block's tokens, already parsed by ``append``: skip Rich's own parse.
            markdown.markup = source
            markdown.parsed = tokens
            markdown.code_theme = self._mv_code_theme
            markdown.justify = None
            markdown.style = "none"
            markdown.hyperlinks = False
            markdown.inline_code_lexer = None
            markdown.inline_code_theme = self._mv_code_theme
        markdown.numbers = numbers
        options = console.options.update(width=width, height=None)
        lines = console.render_lines(markdown, options, pad=False)
        while bottom and lines and not any(segment.text.strip() for segment in lines[-1]):
            lines.pop()
        first = 0
        while first < len(lines) and not any(segment.text.strip() for segment in lines[first]):
            first += 1
        return [Strip(linkify(line)) for line in lines[first:]]

    def _render_code(self, language: str, code: str, width: int, first: bool, last: bool) -> list[Strip]:
        """One piece of a long fence, drawn as the fence's Syntax draws those lines; kept."""
        key = (language, code, width, first, last)
        cached = self._mv_code_cache.get(key)
        if cached is not None:
            return cached
        if last and not code.strip():
            return []  # the fence ended with its last piece
        console = self._check_theme()
        syntax = Syntax(
            code.rstrip() if last else code,
            language,
            theme=self._mv_code_theme,
            word_wrap=True,
            padding=(0, 1),
            background_color=_Fence.background,
        )
        lines = console.render_lines(syntax, console.options.update(width=width, height=None), pad=False)
        if first:  # as a whole fence is drawn: no blank rows above it
            while lines and not any(segment.text.strip() for segment in lines[0]):
                lines.pop(0)
        strips = [Strip(linkify(line)) for line in lines]
        if len(self._mv_code_cache) > 512:
            self._mv_code_cache.clear()
        self._mv_code_cache[key] = strips
        return strips

    def _render_tail(self, width: int) -> list[Strip]:
        tokens = self._mv_tail_tokens
        run = self._mv_tail_run
        if run is not None:  # the rest of a long list or quote
            return self._render_source(self._mv_tail, tokens, width, numbers=run.numbers)
        continued = bool(self._mv_tail_prefix)
        pieces = _fence_pieces(tokens[0], self.FENCE_CHUNK, always=continued) if tokens and len(tokens) == 1 else None
        if pieces is None:
            return self._render_source(self._mv_tail, tokens, width)
        # A long fence streaming in: only the piece that grows is drawn again.
        last = len(pieces) - 1
        lines: list[Strip] = []
        for index, (language, code) in enumerate(pieces):
            lines += self._render_code(language, "\n".join(code), width, index == 0 and not continued, index == last)
        return lines

    def _render_block(self, index: int) -> None:
        block = self._mv_blocks[index]
        if block.code is not None:
            language, code, first, last = block.code
            block.lines = self._render_code(language, code, self._mv_width, first, last)
        elif block.piece is not None:
            piece = block.piece
            block.lines = self._render_source(
                block.source, block.tokens, self._mv_width, numbers=piece.numbers, bottom=piece.last
            )
        else:
            block.lines = self._render_source(block.source, block.tokens, self._mv_width)
        block.tokens = None
        if len(block.lines) != block.estimate:
            # The blocks after this one move.
            self._invalidate(index + 1)

    def _invalidate(self, index: int) -> None:
        """Offsets from block ``index`` on are stale; so are the rows drawn from there down."""
        self._mv_dirty = min(self._mv_dirty, index)
        offsets = self._mv_offsets
        if index < len(offsets):
            top = offsets[index] - (1 if index else 0)
        elif offsets:
            top = offsets[-1]
        else:
            top = 0
        self._changed(top)

    def _changed(self, first: int, *, layout: bool = False) -> None:
        """Content rows from ``first`` down changed: forget them as drawn and repaint them.

        (Rows below the laid-out height are repainted by the layout that makes room for them.)
        """
        self._mv_rows.forget_from(first + self.styles.gutter.top)
        if not self.is_mounted:
            return
        height = self.size.height
        if first < height:
            self.refresh(Region(0, first, max(1, self.size.width), height - first), layout=layout)
        elif layout:
            self.refresh(layout=True)

    def _set_width(self, width: int) -> None:
        width = max(1, width)
        self._check_theme()
        if width != self._mv_width:
            self._mv_width = width
            self._reset_rendering()

    def _layout(self, viewport_height: int) -> None:
        """Render the tail and, from the bottom up, enough finished blocks to fill the view."""
        if self._mv_tail_lines is None:
            self._mv_tail_lines = self._render_tail(self._mv_width) if self._mv_tail.strip() else []
        needed = viewport_height
        covered = len(self._mv_tail_lines)
        for index in range(len(self._mv_blocks) - 1, -1, -1):
            if covered >= needed:
                break
            if self._mv_blocks[index].lines is None:
                self._render_block(index)
            covered += self._mv_blocks[index].height + 1
        if any(block.lines is None for block in self._mv_blocks):
            self._start_background()

    def _offsets(self) -> list[int]:
        """Start line of each finished block (recomputed from the first stale one)."""
        offsets = self._mv_offsets
        blocks = self._mv_blocks
        start = min(self._mv_dirty, len(offsets))
        if start < len(blocks) or len(offsets) != len(blocks):
            del offsets[start:]
            joined = start < len(blocks) and blocks[start].joined
            y = offsets[-1] + blocks[start - 1].height + (0 if joined else 1) if start else 0
            for index in range(start, len(blocks)):
                offsets.append(y)
                following = blocks[index + 1] if index + 1 < len(blocks) else None
                y += blocks[index].height + (0 if following is not None and following.joined else 1)
        self._mv_dirty = len(blocks)
        return offsets

    def _line_count(self) -> int:
        done = self._done_height()
        tail = len(self._mv_tail_lines or [])
        return done + (1 if done and tail and not self._tail_joined else 0) + tail

    @property
    def _tail_joined(self) -> bool:
        """The open block goes on from the last finished one (a long fence, list or quote)."""
        return bool(self._mv_tail_prefix) or self._mv_tail_run is not None

    def _line(self, y: int) -> Strip | None:
        offsets = self._offsets()
        blocks = self._mv_blocks
        done = offsets[-1] + blocks[-1].height if blocks else 0
        if y < done:
            index = bisect.bisect_right(offsets, y) - 1
            block = blocks[index]
            row = y - offsets[index]
            if row < 0:
                return Strip([])
            if block.lines is None:
                # Scrolled into a block not rendered yet: render it now, fix the layout next frame.
                self._render_block(index)
                self.call_after_refresh(self.refresh, layout=True)
            assert block.lines is not None
            return block.lines[row] if row < len(block.lines) else Strip([])
        tail = self._mv_tail_lines or []
        gap = 1 if done and tail and not self._tail_joined else 0
        if gap and y == done:
            return Strip([])
        y -= done + gap
        return tail[y] if 0 <= y < len(tail) else None

    # ---- the background pass ------------------------------------------------------------------

    def _start_background(self) -> None:
        if self._mv_background is None and self.is_mounted:
            self._mv_background = self.set_interval(self.BACKGROUND_INTERVAL, self._background_tick)

    def _background_tick(self) -> None:
        if time.monotonic() < self._mv_quiet_from:
            return
        deadline = time.perf_counter() + self.BACKGROUND_SLICE
        rendered = False
        for index in range(len(self._mv_blocks) - 1, -1, -1):
            if self._mv_blocks[index].lines is None:
                self._render_block(index)
                rendered = True
                if time.perf_counter() > deadline:
                    break
        if rendered:
            self.refresh(layout=True)
        if not any(block.lines is None for block in self._mv_blocks) and self._mv_background is not None:
            self._mv_background.stop()
            self._mv_background = None

    def on_unmount(self) -> None:
        if self._mv_background is not None:
            self._mv_background.stop()
            self._mv_background = None

    # ---- Widget API ----------------------------------------------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._set_width(width)
        self._layout(self.app.size.height)
        return self._line_count()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._mv_style = self.rich_style
        self._check_theme()
        if self.text_selection is not None or hovering_link(self):
            return super().render_lines(crop)
        return self._mv_rows.render(self, crop, super().render_lines)

    def notify_style_update(self) -> None:
        self._mv_rows.clear()
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self._mv_style or self.rich_style
        if width != self._mv_width or self._mv_tail_lines is None:
            self._set_width(width)
            self._layout(self.app.size.height)
        strip = self._line(y)
        if strip is None:
            return Strip.blank(width, style)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(y)) is not None:
            start, end = span
            end = strip.cell_length if end == -1 else end
            selected = self.screen.get_component_rich_style("screen--selection")
            strip = Strip.join([strip.crop(0, start), strip.crop(start, end).apply_style(selected), strip.crop(end)])
        # The widget's colours under the text (Rich segments carry only their own styles).
        return strip.crop_extend(0, width, style).apply_style(style).apply_offsets(0, y)

    @property
    def fully_rendered(self) -> bool:
        """Every block has been rendered (the background pass is over, heights are exact)."""
        return self._mv_background is None and all(block.lines is not None for block in self._mv_blocks)

    def _done_height(self) -> int:
        offsets = self._offsets()
        return offsets[-1] + self._mv_blocks[-1].height if self._mv_blocks else 0

    # ---- selection -----------------------------------------------------------------------------

    def plain_lines(self) -> list[str]:
        """The shown text, line by line (what a selection copies); renders every block."""
        self._set_width(self.size.width or self._mv_width or 80)
        self._layout(self.app.size.height if self.is_mounted else 40)
        for index, block in enumerate(self._mv_blocks):
            if block.lines is None:
                self._render_block(index)
        return [line.text.rstrip() for y in range(self._line_count()) if (line := self._line(y)) is not None]

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(self.plain_lines())), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()


def _solid(color: str, background: str) -> str:
    """A colour with alpha, flattened over the background (Rich styles have no alpha)."""
    from textual.color import Color

    try:
        parsed = Color.parse(color)
        if parsed.a < 1:
            parsed = Color.parse(background) + parsed
        return parsed.hex6
    except Exception:
        return color.split()[0]


def _make_console(app: Any) -> Console:
    v = app.theme_variables
    bg = v.get("background", "#000000")

    def c(name: str, fallback: str) -> str:
        return _solid(v.get(name) or fallback, bg)

    primary = c("text-primary", c("primary", "blue"))
    secondary = c("text-secondary", primary)
    accent = c("text-accent", c("accent", "yellow"))
    muted = c("foreground-muted", "grey50")
    surface = c("surface", "#1e1e1e")
    styles = {
        "markdown.h1": Style.parse(f"bold underline {primary}"),
        "markdown.h2": Style.parse(f"bold {primary}"),
        "markdown.h3": Style.parse(f"bold {secondary}"),
        "markdown.h4": Style.parse(f"bold italic {secondary}"),
        "markdown.h5": Style.parse("italic"),
        "markdown.h6": Style.parse(f"italic {muted}"),
        "markdown.code": Style.parse(f"{accent} on {surface}"),
        "markdown.code_block": Style.parse(f"on {surface}"),
        "markdown.block_quote": Style.parse(f"italic {muted}"),
        "markdown.item.bullet": Style.parse(f"bold {primary}"),
        "markdown.item.number": Style.parse(f"{primary}"),
        "markdown.hr": Style.parse(f"{muted}"),
        "markdown.link": Style.parse(f"underline {primary}"),
        "markdown.link_url": Style.parse(f"{muted}"),
        "markdown.table.border": Style.parse(f"{muted}"),
        "markdown.table.header": Style.parse(f"bold {primary}"),
    }
    return Console(
        theme=Theme(styles),
        color_system="truecolor",
        force_terminal=True,
        legacy_windows=False,
        width=200,
        file=io.StringIO(),  # only render_lines is used: nothing is written
    )
