"""Core events and saved display records as ACP session updates (pure functions, no I/O).

One place decides how a Stoa tool call looks in an editor: its kind (read, edit, execute...),
its title, the files it touches (locations, for follow-along), and its content (text, or a diff
for edits: ACP wants the old and new text of the file, which ``diff_texts`` recovers from the
unified diff the tool reported and, when it can, the file itself: ``core.diffs.diff_sides``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from acp import schema as s

from stoa.core import events as ev
from stoa.core.diffs import diff_sides

ToolContent = s.ContentToolCallContent | s.FileEditToolCallContent | s.TerminalToolCallContent

_KINDS: dict[str, str] = {
    "read_file": "read",
    "list_directory": "read",
    "view_image": "read",
    "glob_files": "search",
    "search_code": "search",
    "write_file": "edit",
    "edit_file": "edit",
    "apply_patch": "edit",
    "create_directory": "edit",
    "copy_file": "edit",
    "move_file": "move",
    "delete_file": "delete",
    "delete_directory": "delete",
    "execute_bash": "execute",
    "bash_output": "execute",
    "bash_kill": "execute",
    "web_fetch": "fetch",
    "web_search": "fetch",
    "update_plan": "think",
    "task": "think",
}

_VERBS: dict[str, str] = {
    "read_file": "Read",
    "list_directory": "List",
    "view_image": "View",
    "glob_files": "Find",
    "search_code": "Search",
    "write_file": "Write",
    "edit_file": "Edit",
    "apply_patch": "Patch",
    "create_directory": "Create folder",
    "copy_file": "Copy",
    "move_file": "Move",
    "delete_file": "Delete",
    "delete_directory": "Delete folder",
    "execute_bash": "Run",
    "web_fetch": "Fetch",
    "update_plan": "Update plan",
    "task": "Task",
}

# What a running shell call shows of its output (the last part; the result has the rest).
OUTPUT_TAIL_CHARS = 20_000


def tool_kind(name: str) -> Any:
    return _KINDS.get(name, "other")


def tool_title(name: str, summary: str, server: str | None = None) -> str:
    if server:
        return f"{name} [{server}]" + (f" {summary}" if summary else "")
    verb = _VERBS.get(name, name)
    if name == "execute_bash" and summary:
        return f"Run `{summary}`"
    return f"{verb} {summary}".strip()


def tool_locations(arguments: dict[str, Any], workspace: Path) -> list[s.ToolCallLocation]:
    """The files a call touches, as absolute paths (follow-along in the editor)."""
    out: list[s.ToolCallLocation] = []
    for key in ("path", "source", "destination"):
        value = arguments.get(key)
        if not isinstance(value, str) or not value or "\x00" in value:
            continue
        path = Path(os.path.expanduser(value))
        absolute = str(path if path.is_absolute() else workspace / path)
        line = arguments.get("offset") if key == "path" else None
        out.append(s.ToolCallLocation(path=absolute, line=line if isinstance(line, int) and line > 0 else None))
    return out


def text_content(text: str) -> s.ContentToolCallContent:
    return s.ContentToolCallContent(type="content", content=s.TextContentBlock(type="text", text=text))


def started(event: ev.ToolCallStarted, workspace: Path) -> s.ToolCallStart:
    return s.ToolCallStart(
        session_update="tool_call",
        tool_call_id=event.call_id,
        title=tool_title(event.name, event.summary, event.server),
        kind=tool_kind(event.name),
        status="in_progress",
        locations=tool_locations(event.arguments, workspace) or None,
        raw_input=event.arguments,
    )


def finished(event: ev.ToolCallFinished, workspace: Path) -> s.ToolCallProgress:
    content: list[ToolContent] = []
    display = event.display or {}
    if display.get("kind") == "diff" and display.get("diff"):
        edit = diff_content(str(display["diff"]), str(display.get("path") or ""), workspace, applied=True)
        if edit is not None:
            content.append(edit)
    if not content and event.result_text:
        content.append(text_content(event.result_text))
    return s.ToolCallProgress(
        session_update="tool_call_update",
        tool_call_id=event.call_id,
        status="failed" if event.is_error else "completed",
        content=content or None,
        raw_output={"status": event.status} if event.status else None,
    )


def output(call_id: str, text: str) -> s.ToolCallProgress:
    shown = text if len(text) <= OUTPUT_TAIL_CHARS else "[…]\n" + text[-OUTPUT_TAIL_CHARS:]
    return s.ToolCallProgress(
        session_update="tool_call_update", tool_call_id=call_id, status="in_progress", content=[text_content(shown)]
    )


def plan(event: ev.PlanUpdated) -> s.AgentPlanUpdate:
    return plan_entries([(step.step, step.status) for step in event.steps])


def plan_entries(steps: list[tuple[str, str]]) -> s.AgentPlanUpdate:
    entries = [
        s.PlanEntry(content=text, priority="medium", status=status if status in ("pending", "in_progress", "completed") else "pending")  # type: ignore[arg-type]
        for text, status in steps
    ]
    return s.AgentPlanUpdate(session_update="plan", entries=entries)


def agent_text(text: str) -> s.AgentMessageChunk:
    return s.AgentMessageChunk(session_update="agent_message_chunk", content=s.TextContentBlock(type="text", text=text))


def thought(text: str) -> s.AgentThoughtChunk:
    return s.AgentThoughtChunk(session_update="agent_thought_chunk", content=s.TextContentBlock(type="text", text=text))


def user_text(text: str) -> s.UserMessageChunk:
    return s.UserMessageChunk(session_update="user_message_chunk", content=s.TextContentBlock(type="text", text=text))


def compaction_text(event: ev.ContextCompacted) -> str:
    """A compaction as the editor is told it (ACP has no compaction update: a notice in the
    agent's message, as the TUI's fold and headless's stderr line word it)."""
    from stoa.core.agent.compaction import compacted_line

    line = compacted_line(
        event.tokens_before, event.tokens_after, cleared=event.cleared, summarised=event.stages > 0,
        on_server=event.on_server,
    )
    return f"{line} ({event.trigger})"


def notice_text(level: str, text: str, hint: str | None = None) -> str:
    """A notice inside the agent's message (ACP has no notice update): its own paragraph."""
    label = {"error": "Error", "warning": "Warning"}.get(level, "Note")
    return f"\n\n> **{label}:** {text}" + (f"\n> {hint}" if hint else "") + "\n\n"


# ---- diffs ------------------------------------------------------------------------------------

def diff_content(diff: str, display: str, workspace: Path, *, applied: bool) -> s.FileEditToolCallContent | None:
    """A unified diff of ``display`` as ACP diff content (absolute path, old and new text).

    ``applied``: the file now holds the new side (a finished edit), else the old (a question
    before the edit). The other side is rebuilt by applying the diff to the file's text; when
    the file cannot be read or does not match, the changed parts alone are shown."""
    if not display:
        return None
    path = Path(display) if os.path.isabs(display) else workspace / display
    texts = diff_sides(diff, _read_text(path), applied=applied)
    if texts is None:
        return None
    old, new = texts
    return s.FileEditToolCallContent(type="diff", path=str(path), old_text=old, new_text=new)


def _read_text(path: Path) -> str | None:
    try:
        if path.stat().st_size > 2 * 1024 * 1024:
            return None
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
