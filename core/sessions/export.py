"""``/export``: a conversation as the person saw it, from its display records
(``core.sessions.records``): Markdown for reading, JSON for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from stoa.core.sessions import records as rec

# Characters of a tool's result kept in the Markdown (the JSON keeps what the record holds).
TOOL_RESULT_CHARS = 4_000


def _fence(text: str) -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}\n{text.rstrip()}\n{ticks}"


def to_markdown(records: Sequence[tuple[str, dict[str, Any]]], *, title: str, session_id: str, model: str) -> str:
    """The conversation in Markdown: your messages, replies, tool calls with their results
    (long ones cut, saying so), notices, plans and compactions."""
    lines = [f"# {title or 'Stoa session'}", "", f"Session `{session_id}` · model `{model}` · exported "
             f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}", ""]  # fmt: skip
    for kind, data in records:
        if kind == rec.USER:
            label = "You (while the agent worked)" if data.get("steering") else "You"
            images = f" · {data['images']} image(s)" if data.get("images") else ""
            lines += [f"## {label}{images}", "", str(data.get("text", "")), ""]
        elif kind == rec.ASSISTANT:
            lines += ["## Stoa", "", str(data.get("text", "")), ""]
        elif kind == rec.THINKING:
            lines += ["<details><summary>Thinking</summary>", "", str(data.get("text", "")), "", "</details>", ""]
        elif kind == rec.TOOL:
            mark = {"ok": "✓", "error": "✗", "denied": "⊘", "interrupted": "⏹"}.get(str(data.get("status")), "·")
            summary = data.get("summary") or ""
            lines += [f"**{mark} {data.get('name', 'tool')}** `{summary}`" if summary else f"**{mark} {data.get('name')}**", ""]
            result = str(data.get("result_text") or "")
            if result:
                if len(result) > TOOL_RESULT_CHARS:
                    result = result[:TOOL_RESULT_CHARS] + f"\n[... {len(result) - TOOL_RESULT_CHARS:,} more characters]"
                lines += [_fence(result), ""]
        elif kind == rec.NOTICE:
            head = f"**{data['title']}:** " if data.get("title") else ""
            lines += [f"> {data.get('level', 'info')}: {head}{data.get('text', '')}", ""]
        elif kind == rec.PLAN:
            lines += ["**Plan**", ""]
            lines += [f"- [{'x' if s.get('status') == 'completed' else ' '}] {s.get('step', '')}" for s in data.get("steps", [])]
            lines.append("")
        elif kind == rec.SERVER_TOOL:
            lines += [f"**{data.get('name', 'server tool')}** {data.get('summary', '')}", ""]
        elif kind == rec.COMPACTION:
            lines += ["---", "", "*Earlier conversation compacted into this summary:*", "", str(data.get("summary", "")), "", "---", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_json(records: Sequence[tuple[str, dict[str, Any]]], *, title: str, session_id: str, model: str) -> str:
    payload = {
        "session_id": session_id,
        "title": title,
        "model": model,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "records": [{"kind": kind, **data} for kind, data in records],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
