"""The scrolling conversation: one widget per record, anchored to the bottom, bounded in height.

Only a contiguous tail of the records is mounted as widgets. When the mounted tail grows past
a height budget while the view follows the bottom, the oldest widgets are unmounted (their
records stay). Scrolling to the top mounts earlier records again in batches, keeping the view
where it was. A long conversation therefore costs the same to draw as a short one.

A resumed conversation holds only its last records in memory: ``load(..., earlier=...)`` gives
an ``EarlierRecords`` that reads the ones before from the session store, a page at a time, when
the view reaches the top; pages read that way are let go again once their widgets are
unmounted (the store still has them), so memory stays bounded by what is mounted and not by
the length of the conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from stoa.widgets.messages import CompactionFold, NoticeMessage, ThinkingMessage, UserMessage, WelcomeBanner
from stoa.widgets.records import (
    AssistantRecord,
    CompactionRecord,
    NoticeRecord,
    Record,
    ThinkingRecord,
    ToolRecord,
    UserRecord,
    WelcomeRecord,
)
from stoa.widgets.row_cache import RowCache
from stoa.widgets.tool_call import ToolCallView

DEFAULT_BUDGET_LINES = 1_500
RESTORE_BATCH = 20
# Never unmount below this many entries, whatever their height.
MIN_MOUNTED = 8
# How many entries a loaded (resumed) conversation mounts at first.
INITIAL_TAIL = 40


class EarlierRecords(Protocol):
    """Records before the first one the log holds, read on demand (a resumed session's store)."""

    @property
    def more(self) -> bool:
        """Whether there are records before those given so far."""
        ...

    async def before(self, count: int) -> list[Record]:
        """About ``count`` records before those given so far, oldest first ([] when none)."""
        ...

    def forget_first_page(self) -> None:
        """The oldest page ``before`` gave was let go: give it again when asked."""
        ...


class EarlierIndicator(Static):
    DEFAULT_CSS = """
    EarlierIndicator {
        color: $text-muted;
        text-style: italic;
        content-align: center middle;
        width: 100%;
        display: none;
    }
    """


class ChatLog(VerticalScroll, can_focus=True):
    """The conversation. ``add`` appends a record and returns its widget."""

    # Set only by Textual's layout, which has just placed everything for it: the layout (and
    # full repaint) that Widget's reactive would ask for again is a second frame per new line.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=False)
    DEFAULT_CSS = """
    ChatLog {
        height: 1fr;
        padding: 0 1 1 1;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(
        self,
        *,
        budget_lines: int = DEFAULT_BUDGET_LINES,
        restore_batch: int = RESTORE_BATCH,
        clock: Callable[[], float] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.records: list[Record] = []
        self.budget_lines = budget_lines
        self.restore_batch = restore_batch
        self._clock = clock
        self._widgets: dict[int, Widget] = {}
        # records[_first:] are mounted.
        self._first = 0
        self._restoring = False
        # Bumped by clear(): a restore that started before it must not mount anything.
        self._generation = 0
        self._indicator = EarlierIndicator()
        # Where records before records[0] come from, and the sizes of the pages read from it
        # that are at the front of ``records`` (oldest first).
        self._earlier: EarlierRecords | None = None
        self._pages: list[int] = []
        # The log's own rows (background, padding): Textual draws them anew whenever the
        # virtual size changes, i.e. with every line a streaming reply adds.
        self._rows = RowCache()

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._indicator

    def on_mount(self) -> None:
        self.anchor()

    def render_lines(self, crop: Region) -> list[Strip]:
        return self._rows.render(self, crop, super().render_lines)

    def notify_style_update(self) -> None:
        self._rows.clear()
        super().notify_style_update()

    # ---- queries -----------------------------------------------------------------------------

    @property
    def mounted_records(self) -> list[Record]:
        return self.records[self._first :]

    @property
    def unmounted_count(self) -> int:
        """Entries above the mounted ones that the log holds (more may be in the store)."""
        return self._first

    @property
    def more_earlier(self) -> bool:
        """Whether entries before those the log holds are still in the store."""
        return self._earlier is not None and self._earlier.more

    def widget_of(self, record: Record) -> Widget | None:
        return self._widgets.get(id(record))

    # ---- building ----------------------------------------------------------------------------

    def _build(self, record: Record, index: int) -> Widget:
        widget: Widget
        if isinstance(record, UserRecord):
            widget = UserMessage(record)
        elif isinstance(record, AssistantRecord):
            from stoa.widgets.assistant import AssistantMessage

            widget = AssistantMessage(record)
        elif isinstance(record, ThinkingRecord):
            widget = ThinkingMessage(record)
        elif isinstance(record, ToolRecord):
            widget = ToolCallView(record, clock=self._clock)
            previous = self.records[index - 1] if index > 0 else None
            widget.set_class(not isinstance(previous, ToolRecord), "-first")
        elif isinstance(record, NoticeRecord):
            widget = NoticeMessage(record)
        elif isinstance(record, WelcomeRecord):
            widget = WelcomeBanner(record)
        elif isinstance(record, CompactionRecord):
            widget = CompactionFold(record)
        else:  # pragma: no cover - a new record type without a widget is a programming error
            raise TypeError(f"no widget for {type(record).__name__}")
        self._widgets[id(record)] = widget
        return widget

    # ---- changes -----------------------------------------------------------------------------

    async def add(self, record: Record) -> Widget:
        """Append a record and mount its widget at the bottom."""
        self.records.append(record)
        widget = self._build(record, len(self.records) - 1)
        await self.mount(widget)
        self.call_after_refresh(self.prune)
        return widget

    async def remove_record(self, record: Record) -> None:
        widget = self._widgets.pop(id(record), None)
        index = next((i for i, r in enumerate(self.records) if r is record), None)
        if index is not None:
            del self.records[index]
            if index < self._first:
                self._first -= 1
            start = 0
            for page, size in enumerate(self._pages):  # one of a page read from the store
                if index < start + size:
                    self._pages[page] -= 1
                    break
                start += size
        if widget is not None:
            await widget.remove()
        self._update_indicator()

    async def clear(self) -> None:
        # Forget the records before awaiting the removal: removing scrolls to the top, and a
        # restore of earlier records running meanwhile would mount them again.
        self._generation += 1
        widgets = [w for w in self.children if w is not self._indicator]
        self.records = []
        self._widgets.clear()
        self._first = 0
        self._earlier, self._pages = None, []
        self._update_indicator()
        await self.remove_children(widgets)
        self.anchor()

    async def load(
        self, records: Iterable[Record], *, tail: int = INITIAL_TAIL, earlier: EarlierRecords | None = None
    ) -> None:
        """Replace the conversation; mount only its last ``tail`` entries. ``earlier`` reads
        the entries before ``records`` when the view reaches them."""
        await self.clear()
        self._earlier = earlier
        self.records = list(records)
        self._first = max(0, len(self.records) - tail)
        widgets = [self._build(r, i) for i, r in enumerate(self.records) if i >= self._first]
        if widgets:
            await self.mount_all(widgets)
        self._update_indicator()
        self.anchor()

    # ---- height budget -------------------------------------------------------------------------

    def _following_bottom(self) -> bool:
        return self.max_scroll_y - self.scroll_y <= 1 and not self._anchor_released

    def prune(self) -> None:
        """Unmount the oldest widgets while the mounted tail is taller than the budget."""
        if not self.is_mounted or not self._following_bottom():
            return
        height = self.virtual_size.height
        if height <= self.budget_lines:
            return
        drop: list[Widget] = []
        first = self._first
        mounted = len(self.records) - first
        while height > self.budget_lines and mounted - len(drop) > MIN_MOUNTED:
            record = self.records[first]
            if not record.finished:
                break
            widget = self._widgets.get(id(record))
            if widget is None:
                break
            height -= widget.outer_size.height + widget.styles.margin.top
            drop.append(widget)
            first += 1
        if not drop:
            return
        for record in self.records[self._first : first]:
            self._widgets.pop(id(record), None)
        self._first = first
        self._let_go_pages()
        self.remove_children(drop)
        self._update_indicator()

    def _let_go_pages(self) -> None:
        """Pages read from the store whose entries are all unmounted go (it still has them)."""
        earlier = self._earlier
        while earlier is not None and self._pages and self._first >= self._pages[0]:
            size = self._pages.pop(0)
            del self.records[:size]
            self._first -= size
            earlier.forget_first_page()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 and (self._first > 0 or self.more_earlier) and not self._restoring and self.is_mounted:
            self._restoring = True
            self.call_later(self.restore_earlier)
        elif new_value >= self.max_scroll_y - 1 and self.virtual_size.height > self.budget_lines and self.is_mounted:
            # Back at the bottom after reading far back: unmount (and let go) the top again.
            self.call_after_refresh(self.prune)

    async def restore_earlier(self, count: int | None = None) -> int:
        """Mount up to ``count`` earlier records above the view, keeping the view still."""
        try:
            count = self.restore_batch if count is None else count
            if self._first < count and self._earlier is not None and self._earlier.more:
                generation = self._generation
                page = await self._earlier.before(max(count, self.restore_batch))
                if generation != self._generation:
                    return 0
                if page:
                    self.records[:0] = page
                    self._first += len(page)
                    self._pages.insert(0, len(page))
            start = max(0, self._first - count)
            if start == self._first:
                return 0
            anchor = self._widgets.get(id(self.records[self._first])) if self._first < len(self.records) else None
            before_y = anchor.virtual_region.y if anchor is not None else 0
            widgets = [self._build(self.records[i], i) for i in range(start, self._first)]
            added = self._first - start
            self._first = start
            generation = self._generation
            await self.mount_all(widgets, after=self._indicator)
            if generation != self._generation:
                return 0
            self._update_indicator()
            if anchor is not None:

                def keep_view() -> None:
                    shift = anchor.virtual_region.y - before_y
                    self.scroll_to(y=self.scroll_y + shift, animate=False, immediate=True)

                self.call_after_refresh(keep_view)
            return added
        finally:
            self._restoring = False

    def _update_indicator(self) -> None:
        count = self._first
        more = self.more_earlier
        self._indicator.display = count > 0 or more
        if more:
            self._indicator.update("▲ earlier entries · scroll up to show")
        elif count:
            self._indicator.update(f"▲ {count} earlier entr{'ies' if count != 1 else 'y'} · scroll up to show")
