"""The events the agent emits: its only outbound port.

``Agent.run_turn`` yields these, in order, as facts. The TUI hands them to its pacer
(``app/pacing.py``), which passes them on to the chat screen in order, headless mode prints
them, and nothing else reaches into the agent's state. They are immutable; payloads are plain
values (strings, dicts, the conversation types of ``core/providers/types.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    # Types only: the chat screen imports this module before its first frame, and the
    # conversation types are built after it.
    from stoa.core.permissions.approver import PermissionDecision, PermissionRequest
    from stoa.core.providers.types import Message, StopReason, Usage


def _no_usage() -> Usage:
    from stoa.core.providers.types import Usage

    return Usage()


@dataclass(frozen=True)
class TurnStarted:
    turn_id: str
    user_text: str
    model: str
    effort: str


@dataclass(frozen=True)
class RequestStarted:
    """A provider request went out (one per loop iteration and per retry)."""

    iteration: int
    attempt: int


@dataclass(frozen=True)
class AssistantTextDelta:
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True)
class AssistantMessageCompleted:
    message: Message


@dataclass(frozen=True)
class ToolCallStarted:
    call_id: str
    name: str
    arguments: dict[str, Any]
    # A short human label for the key argument (path, command, pattern, ...).
    summary: str = ""
    # MCP server name for MCP tools, else None.
    server: str | None = None


@dataclass(frozen=True)
class ToolCallOutput:
    """Streamed output of a running tool (shell lines)."""

    call_id: str
    text: str
    stream: Literal["stdout", "stderr"] = "stdout"


@dataclass(frozen=True)
class ToolCallFinished:
    call_id: str
    name: str
    is_error: bool
    # What the model receives (already capped).
    result_text: str
    # What the UI shows: {"kind": "diff", "diff": ...}, {"kind": "text", "text": ...},
    # {"kind": "image", "width": .., "height": .., "bytes": ..}, or None.
    display: dict[str, Any] | None = None
    elapsed: float = 0.0
    # "denied" / "skipped" / "interrupted" / None
    status: str | None = None


@dataclass(frozen=True)
class PermissionRequested:
    """The agent waits on ``future``; the UI (or headless policy) sets its result."""

    request: PermissionRequest
    future: asyncio.Future[PermissionDecision] = field(compare=False)


@dataclass(frozen=True)
class PlanStep:
    step: str
    status: Literal["pending", "in_progress", "completed"]


@dataclass(frozen=True)
class PlanUpdated:
    steps: tuple[PlanStep, ...]
    explanation: str | None = None


@dataclass(frozen=True)
class UsageUpdated:
    """Usage of the last request, the session totals, and the session's cost so far."""

    usage: Usage
    total: Usage
    cost_usd: float
    context_tokens: int
    context_window: int


@dataclass(frozen=True)
class Notice:
    level: Literal["info", "warning", "error"]
    text: str


def shown_title(title: str | None, text: str) -> str | None:
    """The title to put before a notice's text, or None when the text already opens with it
    ("Interrupted by the user." under the title "Interrupted" reads once, not twice)."""
    if not title or text[: len(title)].casefold() == title.casefold():
        return None
    return title


@dataclass(frozen=True)
class Retrying:
    attempt: int
    max_attempts: int
    delay: float
    reason: str


@dataclass(frozen=True)
class SteeringDelivered:
    text: str


@dataclass(frozen=True)
class ServerToolUsed:
    name: str
    summary: str


@dataclass(frozen=True)
class CompactionStarted:
    """The conversation is being compacted (``trigger``: auto, manual, switch)."""

    trigger: str
    tokens: int
    context_window: int


@dataclass(frozen=True)
class ContextCompacted:
    """The earlier part of the conversation was replaced by a summary (or old tool output was
    cleared): ``compacted 182k -> 9k tokens``. Its cost is in the session's totals."""

    trigger: str
    tokens_before: int
    tokens_after: int
    context_window: int
    summary: str
    # Messages taken out of the live history (archived with the session).
    archived: int
    stages: int = 0
    cleared: int = 0
    usage: Usage = field(default_factory=_no_usage)
    cost_usd: float = 0.0
    # The archive's id in the session database, once saved (None without a session).
    archive_id: int | None = None
    # Compacted by the model's provider on its server (the originals stay in the history).
    on_server: bool = False


@dataclass(frozen=True)
class TurnFinished:
    stop_reason: StopReason | None
    text: str
    iterations: int
    # The person rejected a tool call: the turn stopped there and waits for their next message.
    rejected: bool = False
    # The turn reached its bound of tool iterations (--max-turns) and ended with a summary.
    limited: bool = False


@dataclass(frozen=True)
class TurnInterrupted:
    reason: str = "interrupted"
    # The reply text streamed before the interrupt (kept in the history and the session).
    partial_text: str = ""


@dataclass(frozen=True)
class TurnFailed:
    error: str
    hint: str | None = None
    kind: str = "other"


@dataclass(frozen=True)
class SubagentEvent:
    """An event of a sub-agent, run by the parent's ``task`` call ``call_id`` (its streamed
    deltas and shell output are not passed on; the nested view shows calls and messages)."""

    call_id: str
    agent_id: str
    agent: str
    event: Event


Event = (
    TurnStarted
    | RequestStarted
    | AssistantTextDelta
    | ThinkingDelta
    | AssistantMessageCompleted
    | ToolCallStarted
    | ToolCallOutput
    | ToolCallFinished
    | PermissionRequested
    | PlanUpdated
    | UsageUpdated
    | Notice
    | Retrying
    | SteeringDelivered
    | ServerToolUsed
    | CompactionStarted
    | ContextCompacted
    | TurnFinished
    | TurnInterrupted
    | TurnFailed
    | SubagentEvent
)


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict of an event (stream-json output, logs). Futures are left out."""
    from dataclasses import fields

    def plain(value: Any) -> Any:
        # The conversation types, and any pydantic model a payload holds.
        if hasattr(value, "model_dump") and not isinstance(value, type):
            return value.model_dump(mode="json", exclude_none=True)
        if isinstance(value, asyncio.Future):
            return None
        if hasattr(value, "__dataclass_fields__"):
            return {f.name: plain(getattr(value, f.name)) for f in fields(value) if f.name != "future"}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
            return value.value
        return value

    data: dict[str, Any] = {"type": type(event).__name__}
    data.update({f.name: plain(getattr(event, f.name)) for f in fields(event) if f.name != "future"})
    if isinstance(event, SubagentEvent):
        data["event"] = event_to_dict(event.event)  # typed like any other event
    return data
