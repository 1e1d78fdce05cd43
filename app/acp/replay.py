"""A saved Stoa session as ACP updates (``session/load``): the display records, what the person
saw, in order, so the editor shows the conversation as it was."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from acp import schema as s

from stoa.app.acp import updates as up
from stoa.core import events as ev

_FAILED = frozenset({"error", "denied", "interrupted", "skipped", "running"})


def replay(records: Iterable[Any], workspace: Path) -> list[Any]:
    out: list[Any] = []
    for number, record in enumerate(records):
        kind, data = record.kind, record.data
        if kind == "user":
            text = str(data.get("text", ""))
            images = int(data.get("images") or 0)
            if images:
                text += f"\n[{images} image{'s' if images != 1 else ''} attached]"
            out.append(up.user_text(text))
        elif kind == "assistant":
            out.append(up.agent_text(str(data.get("text", ""))))
        elif kind == "thinking":
            out.append(up.thought(str(data.get("text", ""))))
        elif kind == "tool":
            out.append(_tool(data, workspace))
        elif kind == "server_tool":
            out.append(
                s.ToolCallStart(
                    session_update="tool_call",
                    tool_call_id=f"server-{number}",
                    title=f"{data.get('name', '')} {data.get('summary', '')}".strip(),
                    kind="fetch",
                    status="completed",
                )
            )
        elif kind == "notice":
            title = data.get("title")
            body = str(data.get("text", ""))
            text = f"{shown}: {body}" if (shown := ev.shown_title(title, body)) else body
            out.append(up.agent_text(up.notice_text(str(data.get("level", "info")), text, data.get("hint"))))
        elif kind == "plan":
            steps = data.get("steps") or []
            out.append(up.plan_entries([(str(x.get("step", "")), str(x.get("status", "pending"))) for x in steps]))
    return out


def _tool(data: dict[str, Any], workspace: Path) -> s.ToolCallStart:
    name = str(data.get("name", ""))
    arguments = dict(data.get("arguments") or {})
    status = str(data.get("status", "ok"))
    content: list[up.ToolContent] = []
    display = data.get("display") or {}
    if isinstance(display, dict) and display.get("kind") == "diff" and display.get("diff"):
        edit = up.diff_content(str(display["diff"]), str(display.get("path") or ""), workspace, applied=True)
        if edit is not None:
            content.append(edit)
    if not content and data.get("result_text"):
        content.append(up.text_content(str(data["result_text"])))
    return s.ToolCallStart(
        session_update="tool_call",
        tool_call_id=str(data.get("call_id") or ""),
        title=up.tool_title(name, str(data.get("summary") or ""), data.get("server")),
        kind=up.tool_kind(name),
        status="failed" if status in _FAILED else "completed",
        content=content or None,
        locations=up.tool_locations(arguments, workspace) or None,
        raw_input=arguments,
    )
