"""Display records: what the person saw, saved so a resumed session replays without the model.

Each record is a ``kind`` and a plain JSON ``data`` dict. The kinds and their fields match the
chat log's own records (``widgets/records.py``) so the TUI can rebuild its entries directly:

``user``        ``text``, ``steering`` (typed mid-turn), ``images`` (count of attached images)
``assistant``   ``text``, ``model``
``thinking``    ``text``
``tool``        ``call_id``, ``name``, ``arguments``, ``summary``, ``server``, ``status``
                (running / ok / error / denied / interrupted / skipped), ``result_text``,
                ``display`` (the tool's display payload: diff, text, image), ``elapsed``
``notice``      ``level`` (info / warning / error), ``text``, ``hint``, ``title``
                (errors carry ``failure_title(kind)``; interrupted turns ``title="Interrupted"``)
``plan``        ``steps`` (list of ``{"step", "status"}``), ``explanation``
``server_tool`` ``name``, ``summary`` (a provider-run tool such as web search)
``compaction``  ``trigger`` (auto / manual / switch), ``summary``, ``tokens_before``,
                ``tokens_after``, ``archived`` (messages), ``archive_id`` (``core.sessions.archive``):
                the records before it are what the summary replaced

A ``tool`` record is written when the call starts (status ``running``) and rewritten when it
finishes, so a crash mid-tool still shows the call; on resume a call still ``running`` is
shown as ``interrupted``.
"""

from __future__ import annotations

from typing import Any

from stoa.core import events as ev
from stoa.core.providers.types import ImageBlock, Message, TextBlock, ThinkingBlock, ToolResultBlock

USER = "user"
ASSISTANT = "assistant"
THINKING = "thinking"
TOOL = "tool"
NOTICE = "notice"
PLAN = "plan"
SERVER_TOOL = "server_tool"
COMPACTION = "compaction"

KINDS: frozenset[str] = frozenset({USER, ASSISTANT, THINKING, TOOL, NOTICE, PLAN, SERVER_TOOL, COMPACTION})

INTERRUPTED_TITLE = "Interrupted"


def user_records(content: list[Any], *, steering: bool, skip_texts: frozenset[str] = frozenset()) -> list[
    tuple[str, dict[str, Any]]
]:
    """The ``user`` record for the typed part of a user message (tool results are not shown here)."""
    texts = [shown for b in content if isinstance(b, TextBlock) and b.text not in skip_texts
             and (shown := _shown(b)) is not None]  # fmt: skip
    images = sum(1 for b in content if isinstance(b, ImageBlock))
    if not texts and not images:
        return []
    data: dict[str, Any] = {"text": "\n".join(texts), "steering": steering}
    if images:
        data["images"] = images
    return [(USER, data)]


def _shown(block: TextBlock) -> str | None:
    """What the log shows of a typed block: not what an @ mention attached, and a ``!command``'s
    context as the line that was typed."""
    from stoa.core.agent.passthrough import typed_line
    from stoa.core.mentions import is_attachment

    if is_attachment(block):
        return None
    return typed_line(block.text) or block.text


def has_tool_results(content: list[Any]) -> bool:
    return any(isinstance(b, ToolResultBlock) for b in content)


def assistant_records(message: Message) -> list[tuple[str, dict[str, Any]]]:
    """Thinking summaries, then the reply text, of one finished assistant message."""
    out: list[tuple[str, dict[str, Any]]] = []
    for block in message.content:
        if isinstance(block, ThinkingBlock) and block.thinking.strip():
            out.append((THINKING, {"text": block.thinking}))
    text = message.text
    if text.strip():
        out.append((ASSISTANT, {"text": text, "model": message.model}))
    return out


def tool_started(event: ev.ToolCallStarted) -> dict[str, Any]:
    return {
        "call_id": event.call_id,
        "name": event.name,
        "arguments": event.arguments,
        "summary": event.summary,
        "server": event.server,
        "status": "running",
        "result_text": "",
        "display": None,
        "elapsed": None,
    }


def tool_finished(started: dict[str, Any] | None, event: ev.ToolCallFinished) -> dict[str, Any]:
    data = dict(started) if started else {
        "call_id": event.call_id,
        "name": event.name,
        "arguments": {},
        "summary": "",
        "server": None,
    }
    data.update(
        status=event.status or ("error" if event.is_error else "ok"),
        result_text=event.result_text,
        display=event.display,
        elapsed=round(event.elapsed, 3),
    )
    return data


def notice(level: str, text: str, *, title: str | None = None, hint: str | None = None) -> dict[str, Any]:
    return {"level": level, "text": text, "hint": hint, "title": title}


def failure_title(kind: str) -> str:
    """The title of a failed turn's error notice (``TurnFailed.kind``), live and on resume."""
    return {
        "auth": "Authentication failed",
        "not_found": "Not found",
        "rate_limit": "Rate limited",
        "overloaded": "Provider overloaded",
        "connection": "Connection failed",
        "stream_broken": "The reply broke off",
        "context_length": "Conversation too long",
        "bad_request": "Request rejected",
        "usage": "Nothing sent",
        "internal": "Internal error",
    }.get(kind, "Error")


def interrupted_notice(reason: str = "interrupted by the user") -> dict[str, Any]:
    """The notice that closes an interrupted turn (the TUI shows the same one live)."""
    if reason == "interrupted":  # TurnInterrupted's default: Esc or Ctrl+C
        reason = "interrupted by the user"
    text = reason[:1].upper() + reason[1:]
    if not text.endswith("."):
        text += "."
    return notice("warning", text, title=INTERRUPTED_TITLE)


def plan(event: ev.PlanUpdated) -> dict[str, Any]:
    return {
        "steps": [{"step": s.step, "status": s.status} for s in event.steps],
        "explanation": event.explanation,
    }


def first_line(text: str, limit: int = 120) -> str:
    """The first non-empty line, shortened to ``limit`` characters."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""
