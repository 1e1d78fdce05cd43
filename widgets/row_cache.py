"""Rows of a widget as drawn, kept until they change: the cheap frame while a reply streams.

Textual keeps each widget's drawn rows (padding, border, background and line filters applied)
in a per-widget styles cache, but empties it whenever the widget changes size, and a streaming
reply changes size with every new line, as does the scrolling log around it (its virtual size).
Every frame then drew every row on screen again as new ``Strip`` objects, and missed every
cache the compositor keeps on strips (divided, cropped, rendered to escape codes).

``RowCache`` keeps the rows across size changes and hands back the same ``Strip`` objects until
the owner says they changed (``forget_from``), or something that changes every row does: the
width, the widget's style or background, the app's line filters, or a style update. Only the
rows at the bottom edge (bottom padding or border) are dropped when the height changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class RowCache:
    """Drawn rows of one widget, by row of the widget (its outer region)."""

    def __init__(self) -> None:
        self.rows: dict[int, Strip] = {}
        self._key: tuple[Any, ...] | None = None
        self._height = 0

    def clear(self) -> None:
        self.rows = {}

    def forget_from(self, y: int) -> None:
        """Rows from ``y`` (outer coordinates) down changed."""
        if self.rows:
            self.rows = {row: line for row, line in self.rows.items() if row < y}

    def render(self, widget: Widget, crop: Region, draw: Callable[[Region], list[Strip]]) -> list[Strip]:
        """The rows of ``crop``; rows not kept are drawn with ``draw`` (Textual's ``render_lines``)."""
        width, height = widget.outer_size
        key = (width, widget.rich_style, widget.background_colors, tuple(widget.get_line_filters()))
        if key != self._key:
            self._key = key
            self.rows = {}
        if height != self._height:
            # The bottom edge (padding, border) moved: its rows and those it covered change.
            self.forget_from(min(height, self._height) - widget.styles.gutter.bottom)
            self._height = height
        strips: list[Strip] = []
        y, bottom = crop.y, crop.bottom
        while y < bottom:
            line = self.rows.get(y)
            if line is not None:
                strips.append(line)
                y += 1
                continue
            stop = y + 1
            while stop < bottom and stop not in self.rows:
                stop += 1
            lines = draw(Region(0, y, width, stop - y))
            # (Drawing may have changed the content and forgotten rows: update the current dict.)
            self.rows.update(zip(range(y, stop), lines, strict=True))
            strips.extend(lines)
            y = stop
        x1, x2 = crop.column_span
        if (x1, x2) != (0, width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips


def hovering_link(widget: Widget) -> bool:
    """The mouse is over a link that Textual styles on hover: draw the rows fresh."""
    hover = widget.hover_style
    return bool(widget.auto_links and hover._link_id and hover._meta and "@click" in hover.meta)
