"""The activity bar above the status bar: running background jobs and sub-agents, one entry
each (id, what, last action, age). Hidden while nothing runs; the chat screen feeds it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

from stoa.core.activity import ActivityItem, age_text, running

MAX_WHAT = 40
MAX_LAST = 40


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ActivityBar(Static):
    DEFAULT_CSS = """
    ActivityBar {
        height: auto;
        max-height: 4;
        padding: 0 1;
        color: $text-muted;
        background: $surface;
        display: none;
    }
    ActivityBar.-active {
        display: block;
    }
    """

    def __init__(self, source: Callable[[], tuple[Any, Any] | None] | None = None) -> None:
        """``source``: the conversation's (background jobs, sub-agents), polled each second
        (None while there is no conversation yet)."""
        super().__init__(markup=False)
        self.items: list[ActivityItem] = []
        self._source = source

    def on_mount(self) -> None:
        if self._source is not None:
            self.set_interval(1.0, self.poll)

    def poll(self) -> None:
        found = self._source() if self._source is not None else None
        if found is not None:
            self.set_items(running(*found))

    def set_items(self, items: Sequence[ActivityItem]) -> None:
        if not items and not self.items:
            return  # nothing ran and nothing runs: no repaint each second
        self.items = list(items)
        self.set_class(bool(self.items), "-active")
        if not self.items:
            self.update("")
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        for index, item in enumerate(self.items):
            if index:
                text.append("\n")
            icon = "⚙" if item.kind == "job" else "◆"
            text.append(f"{icon} {item.id} ", style="bold")
            text.append(_cut(item.what, MAX_WHAT))
            if item.last:
                text.append(f" · {_cut(item.last, MAX_LAST)}", style="italic")
            text.append(f" · {age_text(item.age)}")
        if len(self.items) > 1:
            text.append("   /ps lists them, /kill ID stops one", style="dim")
        self.update(text)
