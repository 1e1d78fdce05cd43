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

    def show_queue(self, items: Sequence[str]) -> None:
        self.set_class(bool(items), "-visible")
        if not items:
            self.update("")
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"▸ {len(items)} queued", style="bold")
        text.append(" · sent at the next tool result or when the turn ends · ↑ edits the last", style="dim")
        for item in list(items)[-MAX_SHOWN:]:
            first = item.strip().splitlines()[0] if item.strip() else ""
            text.append(f"\n  › {first}")
        self.update(text)
