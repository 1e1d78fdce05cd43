"""A sub-agent's events as the lines shown under its task row (``ToolRecord.nested``)."""

from __future__ import annotations

from typing import Any

from stoa.core import events as ev
from stoa.widgets.records import ToolRecord

# Lines kept per task row (the oldest go first).
MAX_NESTED = 200


def apply_subagent_event(record: ToolRecord, event: ev.SubagentEvent) -> bool:
    """Add what ``event`` says to the record's nested lines; True when something changed."""
    inner = event.event
    tag = f"{event.agent_id}"
    key: str | None = None
    line: str | None = None
    if isinstance(inner, ev.ToolCallStarted):
        key, line = f"{tag}:{inner.call_id}", f"⋯ {inner.name}  {inner.summary}".rstrip()
    elif isinstance(inner, ev.ToolCallFinished):
        mark = "✓" if not inner.is_error else ("⊘" if inner.status in ("denied", "interrupted") else "✗")
        started = record.nested.get(f"{tag}:{inner.call_id}", f"⋯ {inner.name}")
        key, line = f"{tag}:{inner.call_id}", f"{mark}{started[1:]}"
    elif isinstance(inner, ev.AssistantMessageCompleted) and inner.message.text.strip():
        first = inner.message.text.strip().splitlines()[0]
        key, line = f"{tag}:text:{len(record.nested)}", f"› {first[:160]}"
    elif isinstance(inner, ev.Notice):
        key, line = f"{tag}:notice:{len(record.nested)}", f"{event.agent} ({event.agent_id}) · {inner.text}"
    elif isinstance(inner, ev.TurnFailed):
        key, line = f"{tag}:failed", f"✗ failed: {inner.error}"
    elif isinstance(inner, ev.TurnInterrupted):
        key, line = f"{tag}:stopped", "⊘ stopped"
    elif isinstance(inner, ev.SubagentEvent):
        # A sub-agent's own sub-agent (max-depth above 1): its calls, marked.
        return apply_subagent_event(record, ev.SubagentEvent(event.call_id, inner.agent_id, inner.agent, inner.event))
    if key is None or line is None:
        return False
    record.nested[key] = line
    while len(record.nested) > MAX_NESTED:
        del record.nested[next(iter(record.nested))]
    return True


async def show_subagent_event(log_view: Any, record: ToolRecord | None, event: ev.SubagentEvent) -> None:
    """A sub-agent's call or message, under its task row (``log_view``: the chat log)."""
    from stoa.widgets.tool_call import ToolCallView

    if record is None or not apply_subagent_event(record, event):
        return
    view = log_view.widget_of(record)
    if isinstance(view, ToolCallView):
        await view.refresh_nested()
    elif record.status == "running":
        record.expanded = True


def nested_from_display(record: ToolRecord) -> None:
    """A saved task row (a resumed session): its sub-agent's calls from the result's display."""
    display = record.display or {}
    calls = display.get("calls")
    if not isinstance(calls, list) or not calls:
        return
    record.nested[f"{display.get('agent_id')}:head"] = f"{display.get('agent')} ({display.get('agent_id')})"
    marks = {"ok": "✓", "running": "⊘", "interrupted": "⊘", "denied": "⊘"}
    for index, call in enumerate(calls[:MAX_NESTED]):
        if isinstance(call, dict):
            mark = marks.get(str(call.get("status")), "✗")
            record.nested[f"saved:{index}"] = f"{mark} {call.get('name', '')}  {call.get('summary', '')}".rstrip()
