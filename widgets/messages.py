"""Chat log entries that are plain text: user, thinking, notices, welcome.

Each widget is built from its record (``widgets.records``) and keeps it current, so the chat
log can drop the widget and rebuild it later. The assistant reply (Markdown) lives in
``widgets.assistant``, imported on first use: Markdown's parser costs start-up time.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from stoa.core import events as ev
from stoa.widgets.records import (
    CompactionRecord,
    NoticeRecord,
    ThinkingRecord,
    UserRecord,
    WelcomeRecord,
)


class UserMessage(Static):
    """What the person typed (or steered in while the agent worked)."""

    DEFAULT_CSS = """
    UserMessage {
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: thick $primary;
        background: $primary 10%;
        color: $text;
    }
    UserMessage.-steering {
        border-left: thick $secondary;
        background: $secondary 10%;
    }
    """

    def __init__(self, record: UserRecord) -> None:
        self.record = record
        super().__init__(self._content(), classes="-steering" if record.steering else "", markup=False)

    def _content(self) -> Text:
        text = Text(self.record.text)
        if self.record.steering:
            text = Text.assemble(("steer ▸ ", "italic"), text)
        return text


class ThinkingMessage(Vertical, can_focus=True):
    """The model's reasoning, dimmed; click the title (or Tab to it and press Enter) to fold it;
    Ctrl+O unfolds or folds every one with the tool calls."""

    BINDINGS = [Binding("enter,space", "toggle_fold", "Expand / collapse", show=False)]

    DEFAULT_CSS = """
    ThinkingMessage {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 1 0 2;
    }
    ThinkingMessage > .thinking-title {
        color: $text-muted;
        text-style: italic;
    }
    ThinkingMessage > .thinking-title:hover {
        color: $text;
    }
    ThinkingMessage:focus {
        background: $boost;
    }
    ThinkingMessage > .thinking-body {
        color: $text-muted;
        text-style: italic;
        padding: 0 0 0 2;
        max-height: 12;
        overflow-y: auto;
    }
    ThinkingMessage.-collapsed > .thinking-body {
        display: none;
    }
    """

    class Toggled(Message):
        pass

    def __init__(self, record: ThinkingRecord) -> None:
        self.record = record
        super().__init__(classes="" if record.expanded else "-collapsed")
        self._title = Static(self._title_text(), classes="thinking-title", markup=False)
        self._body = Static(record.text, classes="thinking-body", markup=False)

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._body

    def _title_text(self) -> Text:
        arrow = "▾" if self.record.expanded else "▸"
        label = "Thinking…" if not self.record.done else "Thought"
        lines = self.record.text.count("\n") + 1 if self.record.text else 0
        suffix = f" ({lines} line{'s' if lines != 1 else ''})" if self.record.done and not self.record.expanded else ""
        return Text(f"{arrow} {label}{suffix}")

    def append(self, text: str) -> None:
        self.record.text += text
        self._body.update(self.record.text)
        self._body.scroll_end(animate=False, immediate=False)

    def finish(self) -> None:
        """The reply that followed the thinking has started or ended: fold it away."""
        if self.record.done:
            return
        self.record.done = True
        self.record.expanded = False
        self._refresh_state()

    def toggle(self) -> None:
        self.record.expanded = not self.record.expanded
        self._refresh_state()

    def action_toggle_fold(self) -> None:
        self.toggle()

    def set_expanded(self, expanded: bool) -> None:
        if self.record.done and self.record.expanded != expanded:
            self.toggle()

    def _refresh_state(self) -> None:
        self.set_class(not self.record.expanded, "-collapsed")
        self._title.update(self._title_text())

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.toggle()


class NoticeMessage(Static):
    """An info / warning / error line, with the next step to take when there is one."""

    DEFAULT_CSS = """
    NoticeMessage {
        margin: 1 0 0 0;
        padding: 0 1 0 2;
        color: $text-muted;
    }
    NoticeMessage.-warning {
        color: $text-warning;
    }
    NoticeMessage.-error {
        color: $text-error;
        border-left: thick $error;
        background: $error 10%;
        padding: 0 1;
    }
    """

    def __init__(self, record: NoticeRecord) -> None:
        self.record = record
        super().__init__(self._content(), classes=f"-{record.level}", markup=False)

    def _content(self) -> Text:
        record = self.record
        icon = {"info": "·", "warning": "⚠", "error": "✗"}[record.level]
        text = Text(f"{icon} ")
        if title := ev.shown_title(record.title, record.text):
            text.append(f"{title}: ", style="bold")
        text.append(record.text)
        if record.hint:
            text.append(f"\n  → {record.hint}", style="italic")
        return text


class CompactionFold(Vertical):
    """A compaction in the log: ``▸ compacted 182k -> 9k tokens``; click to unfold the summary
    and, in a resumed session, the archived conversation it replaced."""

    DEFAULT_CSS = """
    CompactionFold {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: thick $accent;
    }
    CompactionFold > .fold-title {
        color: $text-muted;
    }
    CompactionFold > .fold-title:hover {
        color: $text;
    }
    CompactionFold > .fold-body {
        color: $text-muted;
        padding: 0 0 0 2;
        max-height: 30;
        overflow-y: auto;
    }
    CompactionFold.-collapsed > .fold-body {
        display: none;
    }
    """

    def __init__(self, record: CompactionRecord) -> None:
        self.record = record
        super().__init__(classes="" if record.expanded else "-collapsed")
        self._title = Static(self._title_text(), classes="fold-title", markup=False)
        self._body = Static(self._body_text(), classes="fold-body", markup=False)

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._body

    def _title_text(self) -> Text:
        arrow = "▾" if self.record.expanded else "▸"
        text = Text(f"{arrow} {self.record.line}")
        text.append(f"  ({self.record.trigger})", style="dim")
        return text

    def _body_text(self) -> Text:
        text = Text()
        if self.record.summary.strip():
            text.append("Summary\n", style="bold")
            text.append(self.record.summary.strip())
        if self.record.archived_text.strip():
            text.append("\n\nArchived conversation\n", style="bold")
            text.append(self.record.archived_text.strip())
        return text

    def toggle(self) -> None:
        self.record.expanded = not self.record.expanded
        self.set_class(not self.record.expanded, "-collapsed")
        self._title.update(self._title_text())

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.toggle()


class WelcomeBanner(Static):
    """The first entry of an empty conversation: what runs where, and how to start."""

    DEFAULT_CSS = """
    WelcomeBanner {
        margin: 1 0 0 0;
        padding: 0 2;
        border: round $primary 50%;
        height: auto;
    }
    """

    def __init__(self, record: WelcomeRecord) -> None:
        self.record = record
        super().__init__(self._content(), markup=False)

    def _content(self) -> Text:
        record = self.record
        text = Text()
        text.append("Stoa", style="bold")
        text.append(f"  ·  {record.model}  ·  {record.workspace}\n", style="dim")
        text.append("Type a message and press Enter. ", style="")
        text.append("/", style="bold")
        text.append(" for commands, ")
        text.append("Ctrl+P", style="bold")
        text.append(" for the palette, ")
        text.append("/help", style="bold")
        text.append(" for every key.")
        for line in record.lines:
            text.append(f"\n{line}")
        return text
