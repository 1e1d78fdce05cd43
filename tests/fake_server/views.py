"""Provider-neutral views of a captured request body, so one assertion works on every format.

    request = fake_server.model_requests()[1]
    assert request.tool_results[0].text == "hello"       # Anthropic, Responses or Chat alike
    assert request.tool_calls[0].name == "read_file"
    assert "AGENTS.md" in request.system
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolCallView:
    id: str
    name: str
    arguments: str  # as sent (JSON text)

    @property
    def input(self) -> Any:
        """The parsed arguments, or None when they are not valid JSON."""
        try:
            return json.loads(self.arguments) if self.arguments else {}
        except ValueError:
            return None


@dataclass(frozen=True)
class ToolResultView:
    id: str  # the tool_use id / call_id it answers
    text: str
    is_error: bool | None  # None where the format has no error flag (OpenAI)
    content: Any  # as sent


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "\n".join(parts)
    return str(content)


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def tool_calls(fmt: str, body: Mapping[str, Any]) -> list[ToolCallView]:
    """Every assistant tool call in the request's history, in order."""
    out: list[ToolCallView] = []
    if fmt == "anthropic":
        for msg in body.get("messages") or []:
            for b in _blocks(msg.get("content")):
                if b.get("type") == "tool_use":
                    args = b.get("input")
                    out.append(ToolCallView(str(b.get("id")), str(b.get("name")),
                                            args if isinstance(args, str) else json.dumps(args)))
    elif fmt == "responses":
        items = body.get("input")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("type") == "function_call":
                out.append(ToolCallView(str(item.get("call_id")), str(item.get("name")), str(item.get("arguments", ""))))
    elif fmt == "chat":
        for msg in body.get("messages") or []:
            for call in msg.get("tool_calls") or []:
                fn = call.get("function") or {}
                args = fn.get("arguments", "")
                out.append(ToolCallView(str(call.get("id")), str(fn.get("name")),
                                        args if isinstance(args, str) else json.dumps(args)))
    return out


def tool_results(fmt: str, body: Mapping[str, Any]) -> list[ToolResultView]:
    """Every tool result in the request's history, in order."""
    out: list[ToolResultView] = []
    if fmt == "anthropic":
        for msg in body.get("messages") or []:
            for b in _blocks(msg.get("content")):
                if b.get("type") == "tool_result":
                    out.append(ToolResultView(str(b.get("tool_use_id")), _text_of(b.get("content")),
                                              bool(b.get("is_error", False)), b.get("content")))
    elif fmt == "responses":
        items = body.get("input")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("type") == "function_call_output":
                out.append(ToolResultView(str(item.get("call_id")), _text_of(item.get("output")), None, item.get("output")))
    elif fmt == "chat":
        for msg in body.get("messages") or []:
            if msg.get("role") == "tool":
                out.append(ToolResultView(str(msg.get("tool_call_id")), _text_of(msg.get("content")), None,
                                          msg.get("content")))
    return out


def system_text(fmt: str, body: Mapping[str, Any]) -> str:
    """The system prompt / instructions, as one string."""
    if fmt == "anthropic":
        return _text_of(body.get("system"))
    parts: list[str] = []
    if fmt == "responses":
        if body.get("instructions"):
            parts.append(_text_of(body["instructions"]))
        items = body.get("input")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("role") in ("system", "developer"):
                parts.append(_text_of(item.get("content")))
    elif fmt == "chat":
        for msg in body.get("messages") or []:
            if msg.get("role") in ("system", "developer"):
                parts.append(_text_of(msg.get("content")))
    return "\n".join(parts)


def user_texts(fmt: str, body: Mapping[str, Any]) -> list[str]:
    """The text of each user message (tool results excluded), in order."""
    out: list[str] = []
    if fmt == "anthropic":
        for msg in body.get("messages") or []:
            if msg.get("role") == "user":
                text = "\n".join(b.get("text", "") for b in _blocks(msg.get("content")) if b.get("type") == "text")
                if text:
                    out.append(text)
    elif fmt == "responses":
        items = body.get("input")
        if isinstance(items, str):
            return [items]
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("role") == "user":
                out.append(_text_of(item.get("content")))
    elif fmt == "chat":
        for msg in body.get("messages") or []:
            if msg.get("role") == "user":
                out.append(_text_of(msg.get("content")))
    return out


def tool_names(fmt: str, body: Mapping[str, Any]) -> list[str]:
    """Names of the declared tools (function tools and named server tools)."""
    names = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if fmt == "chat" or (fmt != "anthropic" and isinstance(tool.get("function"), dict)):
            name = (tool.get("function") or {}).get("name")
        else:
            name = tool.get("name") or tool.get("type")
        if name:
            names.append(str(name))
    return names
