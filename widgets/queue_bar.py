"""The queue bar: messages typed while the agent works, waiting to be delivered."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

MAX_SHOWN = 3


class QueueBar(Static):
    DEFAULT_CSS = """
    QueueBar {
        height: auto;
        max-height: 5;
        padding: 0 1;
        color: $text-warning;
        display: none;
    }
    QueueBar.-visible {
        display: block;
    }
    """

    def __init__(self, id: str | None = "queue") -> None:
        super().__init__(id=id, markup=False)

    def show_queue(self, items: Sequence[str], after: Sequence[str] = ()) -> None:
        """``items``: messages for the running turn (delivered at its next tool result);
        ``after``: messages queued for after it (Tab while the agent works)."""
        self.set_class(bool(items) or bool(after), "-visible")
        if not items and not after:
            self.update("")
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        parts = []
        if items:
            parts.append((f"▸ {len(items)} for this turn", "at its next tool result"))
        if after:
            parts.append((f"⏭ {len(after)} after it", "sent when the turn ends"))
        for index, (head, when) in enumerate(parts):
            if index:
                text.append(" · ")
            text.append(head, style="bold")
            text.append(f" ({when})", style="dim")
        text.append(" · ↑ edits the last · Ctrl+X takes them all back", style="dim")
        shown = [("›", item) for item in items] + [("⏭", item) for item in after]
        for mark, item in shown[-MAX_SHOWN:]:
            first = item.strip().splitlines()[0] if item.strip() else ""
            text.append(f"\n  {mark} {first}")
        self.update(text)
