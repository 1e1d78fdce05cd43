"""The plain state behind every entry of the chat log.

A record holds everything needed to (re)build its widget, so the chat log can unmount old
widgets to stay fast and rebuild them from their records when the user scrolls back. Records
are mutable: the chat screen updates them as events arrive and the live widget (if any)
re-renders from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(eq=False)
class Record:
    """Base class; identity equality (two identical messages are still two entries)."""

    @property
    def finished(self) -> bool:
        return True


@dataclass(eq=False)
class UserRecord(Record):
    text: str
    # Delivered mid-turn as steering (shown with a marker).
    steering: bool = False


@dataclass(eq=False)
class AssistantRecord(Record):
    text: str = ""
    done: bool = False

    @property
    def finished(self) -> bool:
        return self.done


@dataclass(eq=False)
class ThinkingRecord(Record):
    text: str = ""
    done: bool = False
    expanded: bool = True

    @property
    def finished(self) -> bool:
        return self.done


ToolStatus = Literal["running", "ok", "error", "denied", "interrupted", "skipped"]


@dataclass(eq=False)
class ToolRecord(Record):
    call_id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    server: str | None = None
    status: ToolStatus = "running"
    result_text: str = ""
    display: dict[str, Any] | None = None
    # Streamed output lines (execute_bash), bounded by the view.
    output: list[str] = field(default_factory=list)
    started_at: float = 0.0
    elapsed: float | None = None
    expanded: bool = False
    # The permission prompt for this call is open.
    awaiting_approval: bool = False
    # A task call: its sub-agent's calls and messages, one line each (keyed, so a finished
    # call replaces its started line), shown under the row.
    nested: dict[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status != "running"

    @property
    def is_error(self) -> bool:
        return self.status in ("error", "denied", "interrupted")


NoticeLevel = Literal["info", "warning", "error"]


@dataclass(eq=False)
class NoticeRecord(Record):
    level: NoticeLevel
    text: str
    hint: str | None = None
    # A short title shown before the text ("Error", "Interrupted", ...).
    title: str | None = None


@dataclass(eq=False)
class CompactionRecord(Record):
    """A compaction: the fold that stands for the part of the conversation it summarised."""

    # "compacted 182k -> 9k tokens"
    line: str
    trigger: str = "auto"
    summary: str = ""
    # The archived conversation as text (a resumed session's records before the compaction).
    archived_text: str = ""
    expanded: bool = False


@dataclass(eq=False)
class WelcomeRecord(Record):
    """The banner of an empty conversation."""

    model: str
    workspace: str
    lines: tuple[str, ...] = ()
