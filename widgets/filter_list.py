"""The list of a filter-list picker (model, effort, resume): rows built only when they are drawn.

Textual's ``OptionList`` builds every option's prompt up front and measures every one of them
(``Content.get_height``, which wraps the text) to lay the list out, again whenever its options
are set, and for ``height: auto`` at every layout. With a thousand saved sessions that was most
of what opening the resume picker cost. Here a ``Row`` knows its height and makes its prompt
the first time it is drawn, so setting a thousand rows costs a list of small objects and a
paint costs the rows on screen. Drawing is ``OptionList``'s own (same styles, same strips), so
a picker looks exactly as before.

``FilterList`` also carries what every picker did for itself: put in the rows that match the
filter, keep the highlighted row if it is still there (else the first one that can be chosen),
move and page from the filter box, and say which row is chosen. ``FilterBox`` is the filter
input; with nothing typed, its ``shortcut`` key (``k`` for a key, ``d`` to delete) becomes a
``FilterBox.Shortcut`` message instead of text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from textual.css.styles import RulesMap
from textual.events import Key
from textual.geometry import Size
from textual.message import Message
from textual.visual import VisualType
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option


class Row(Option):
    """An option whose prompt is made when it is first drawn, and whose height is known.

    ``height`` is the number of lines the prompt takes (1 for a one-line row); the list does
    not measure it, so a prompt that would wrap must be cut to fit (``text-wrap: nowrap``).
    """

    def __init__(
        self, make: Callable[[], VisualType], *, id: str | None = None, disabled: bool = False, height: int = 1
    ) -> None:
        super().__init__("", id=id, disabled=disabled)
        self._make: Callable[[], VisualType] | None = make
        self.height = height

    @property
    def prompt(self) -> VisualType:
        if self._make is not None:
            self._prompt, self._make = self._make(), None
        return self._prompt

    def _set_prompt(self, prompt: VisualType) -> None:
        self._make = None
        super()._set_prompt(prompt)


class FilterList(OptionList):
    """An ``OptionList`` that lays out ``Row``s by their known heights (other options are
    measured as usual) and shows a picker's filtered rows."""

    def _option_height(self, option: Option, width: int) -> int:
        if isinstance(option, Row):
            return option.height
        return self._get_visual(option).get_height(cast(RulesMap, self.styles), width)

    def _update_lines(self) -> None:
        # OptionList._update_lines, with a Row's height taken as given (its prompt not made).
        if not self.scrollable_content_region:
            return
        cache = self._line_cache
        lines = cache.lines
        next_index = lines[-1][0] + 1 if lines else 0
        width = self.scrollable_content_region.width - self._get_left_gutter_width()
        if next_index < len(self.options):
            padding = self.get_component_styles("option-list--option").padding
            for index, option in enumerate(self.options[next_index:], next_index):
                cache.index_to_line[index] = len(lines)
                count = self._option_height(option, width - padding.width) + option._divider
                cache.heights[index] = count
                lines.extend((index, line) for line in range(count))
        last_divider = self.options and self.options[-1]._divider
        virtual_size = Size(width, len(lines) - (1 if last_divider else 0))
        if virtual_size != self.virtual_size:
            self.virtual_size = virtual_size
            self._scroll_update(virtual_size)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        padding = self.get_component_styles("option-list--option").padding.width
        options = self.options
        return sum(self._option_height(option, width - padding) + option._divider for option in options) - (
            1 if options and options[-1]._divider else 0
        )

    # ---- a picker's rows -----------------------------------------------------------------------

    def show(self, rows: Iterable[Option], keep: str | None = None) -> None:
        """Put in ``rows``, highlighting the one whose id is ``keep`` (by default the highlighted
        one) if it can be chosen, else the first that can."""
        if keep is None and (previous := self.highlighted_option) is not None:
            keep = previous.id
        self.set_options(rows)
        options = self.options
        target = None
        if keep is not None:
            target = next((i for i, o in enumerate(options) if o.id == keep and not o.disabled), None)
        if target is None:
            target = next((i for i, o in enumerate(options) if not o.disabled), None)
        self.highlighted = target

    def move(self, step: int) -> None:
        if step > 0:
            self.action_cursor_down()
        else:
            self.action_cursor_up()

    def page(self, step: int) -> None:
        if step > 0:
            self.action_page_down()
        else:
            self.action_page_up()

    def chosen(self) -> str | None:
        """The id of the highlighted row, if it can be chosen."""
        option = self.highlighted_option
        if option is None or option.disabled:
            return None
        return option.id


class FilterBox(Input):
    """A picker's filter box. With nothing typed, the ``shortcut`` key is a command, not text."""

    class Shortcut(Message):
        """The shortcut key was pressed in the empty box."""

    def __init__(self, *, shortcut: str | None = None, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id, select_on_focus=False)
        self.shortcut = shortcut

    async def _on_key(self, event: Key) -> None:
        if self.shortcut is not None and event.character == self.shortcut and not self.value:
            event.stop()
            event.prevent_default()
            self.post_message(self.Shortcut())
            return
        await super()._on_key(event)
