"""Anthropic Messages API streaming over Stoa's thin HTTP client (``http.py``).

Owns the translation between the neutral conversation and the Messages wire format: signed
thinking carried forward only when Anthropic produced it, prompt-cache breakpoints, tool ids
sanitized for Anthropic's charset, web search as a server tool, and every stream and decoding
failure mapped to a ``ProviderError`` (``http.py`` maps the status and transport ones). The
``anthropic`` SDK is not imported at all: it cost 1.3-3.6 s of CPU before the first request
could leave; tests/integration/test_sdk_contract.py holds the requests to the SDK's types and
its wire, and parses the events through its event types.

The stream is read as raw events (Stoa's bulk SSE decoder, ``core/providers/sse.py``, over the
response's bytes) rather than through an accumulating helper, because the SDK's helper raises on
invalid tool-argument JSON (here a broken argument string becomes ``ToolUseBlock(input={},
input_error=...)`` for the agent to answer with an error result), and because the SDK's event
iterator silently drops events that arrive without an ``event:`` line. Events are handled as
plain dicts: unknown event, block and delta types are ignored, missing fields never crash.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from stoa.core.providers.base import (
    ProviderError,
    ProviderRequest,
    ServerToolActivity,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
    completed,
    joined,
    merge_deltas,
)
from stoa.core.providers.convert import (
    DEFAULT_CONNECT_TIMEOUT,
    PLACEHOLDER_TEXT,
    body_error_message,
    broken_stream,
    parse_tool_arguments,
    prepare_history,
    sanitize_tool_id,
    stream_error,
)
from stoa.core.providers.http import HttpProvider, anthropic_headers, model_ids
from stoa.core.providers.sse import ServerSentEvent, event_batches, loads_event
from stoa.core.providers.types import (
    CompactionBlock,
    ContentBlock,
    ImageBlock,
    Message,
    RedactedThinkingBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)

ORIGIN = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
MESSAGES_PATH = "/v1/messages"
MODELS_PATH = "/v1/models"
# The web search server tool. web_search_20250305 is the version every current model accepts
# (the newer 20260209 "dynamic filtering" version is for Opus 4.6+ / Sonnet 4.6 only, runs code
# execution on the server and streams its blocks too; 20260318 is in the SDK but not documented).
WEB_SEARCH_TOOL: dict[str, Any] = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
MAX_CACHE_BREAKPOINTS = 4
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
# The fields of a Messages request the count endpoint takes.
_COUNTED_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")
# Tool ids: ^[a-zA-Z0-9_-]+$.
TOOL_ID_MAX_LEN = 64
# A reply paused by the server (long server-tool turns) is resumed this many times in place.
MAX_PAUSE_CONTINUATIONS = 4
CONTINUE_TEXT = "Continue."

_EPHEMERAL = {"type": "ephemeral"}

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_USE,
    "max_tokens": StopReason.MAX_TOKENS,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
    "refusal": StopReason.REFUSAL,
    "pause_turn": StopReason.PAUSE_TURN,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "compaction": StopReason.COMPACTION,
}
# Server-side compaction (beta): on demand (the top-level ``compaction`` parameter, a request
# answered by the compaction block alone) and at a token threshold (``context_management``'s
# ``compact_20260112`` edit, the block first in an ordinary reply). Each needs its beta header.
COMPACT_ON_DEMAND_BETA = "compact-2026-09-04"
COMPACT_THRESHOLD_BETA = "compact-2026-01-12"
COMPACT_EDIT = "compact_20260112"
# The documented minimum of the threshold edit's ``trigger.value`` (input tokens).
COMPACT_MIN_TRIGGER = 50_000


# ---- neutral -> wire ----------------------------------------------------------------------


def _tool_id(raw: str) -> str:
    return sanitize_tool_id(raw, max_len=TOOL_ID_MAX_LEN)


def _image(block: ImageBlock) -> dict[str, Any] | None:
    if block.data is not None:
        source: dict[str, Any] = {
            "type": "base64",
            "media_type": block.media_type or "image/png",
            "data": block.data,
        }
    elif block.url:
        source = {"type": "url", "url": block.url}
    else:
        return None
    return {"type": "image", "source": source}


def _tool_result(block: ToolResultBlock) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for part in block.content:
        if isinstance(part, TextBlock):
            if part.text.strip():
                content.append({"type": "text", "text": part.text})
        else:
            image = _image(part)
            if image is not None:
                content.append(image)
    if not content:
        content = [{"type": "text", "text": "(no output)"}]
    wire: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": _tool_id(block.tool_use_id),
        "content": content,
    }
    if block.is_error:
        wire["is_error"] = True
    return wire


def block_to_wire(block: ContentBlock) -> dict[str, Any] | None:
    """One neutral block as an Anthropic content block, or None when it cannot cross."""
    if isinstance(block, TextBlock):
        # The API rejects empty and whitespace-only text blocks.
        return {"type": "text", "text": block.text} if block.text.strip() else None
    if isinstance(block, ThinkingBlock):
        if block.origin != ORIGIN or not block.signature:
            return None  # foreign reasoning (or unsigned) never crosses as signed thinking
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    if isinstance(block, RedactedThinkingBlock):
        return {"type": "redacted_thinking", "data": block.data} if block.origin == ORIGIN else None
    if isinstance(block, ImageBlock):
        return _image(block)
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": _tool_id(block.id), "name": block.name, "input": dict(block.input)}
    if isinstance(block, ToolResultBlock):
        return _tool_result(block)
    if isinstance(block, CompactionBlock):
        return compaction_to_wire(block)
    return None


def compaction_to_wire(block: CompactionBlock) -> dict[str, Any] | None:
    """A compaction block as Anthropic returned it (its fields unchanged, absent ones left
    out); None for another provider's, which can never cross."""
    if block.origin != ORIGIN:
        return None
    wire: dict[str, Any] = {"type": "compaction", "content": block.content}
    for name in ("encrypted_content", "signature", "tool_changes"):
        value = getattr(block, name)
        if value is not None:
            wire[name] = copy.deepcopy(value)
    return wire


def _results_first(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # tool_result blocks must lead a user message.
    return sorted(blocks, key=lambda b: 0 if b.get("type") == "tool_result" else 1)


def _bound_elsewhere(message: Message, model: str | None) -> bool:
    """Thinking is bound to the model that produced it: another Claude model's is dropped."""
    return model is not None and message.model is not None and message.model != model


def to_wire_messages(messages: list[Message], model: str | None = None) -> list[dict[str, Any]]:
    """Neutral history as Messages API ``messages``: roles alternate, nothing empty. With
    ``model``, thinking blocks another model produced are left out."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.content
        if _bound_elsewhere(message, model):
            content = [b for b in content if not isinstance(b, ThinkingBlock | RedactedThinkingBlock)]
        blocks = [w for w in (block_to_wire(b) for b in content) if w is not None]
        if out and out[-1]["role"] == message.role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": message.role, "content": blocks})
    for wire in out:
        if wire["role"] == "user":
            wire["content"] = _results_first(wire["content"])
        if not wire["content"]:
            wire["content"] = [{"type": "text", "text": PLACEHOLDER_TEXT}]
    if out and out[0]["role"] == "assistant" and not _starts_with_compaction(out[0]):
        # (A compaction block stands in for what came before it: it opens the conversation.)
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": PLACEHOLDER_TEXT}]})
    if out and out[-1]["role"] == "assistant":
        # A trailing assistant message would be read as a prefill; ask to continue instead.
        out.append({"role": "user", "content": [{"type": "text", "text": CONTINUE_TEXT}]})
    return out


def _starts_with_compaction(wire: dict[str, Any]) -> bool:
    content = wire["content"]
    return bool(content) and content[0].get("type") == "compaction"


def _tool_loop_without_thinking(wire_messages: list[dict[str, Any]]) -> bool:
    """True when the current tool loop's assistant message does not start with thinking."""
    for wire in reversed(wire_messages):
        if wire["role"] != "assistant":
            continue
        content = wire["content"]
        if not any(b.get("type") == "tool_use" for b in content):
            return False
        return content[0].get("type") not in ("thinking", "redacted_thinking")
    return False


def _thinking_must_be_off(request: ProviderRequest, wire_messages: list[dict[str, Any]]) -> bool:
    """Whether thinking has to be turned off for this request to be accepted.

    With thinking enabled, the API wants the assistant message of the tool loop being continued
    to begin with a thinking block. A message made by another provider cannot, and neither can
    one Claude made with thinking off (effort raised mid-loop); rather than fail the request,
    thinking is off until the loop ends. Adaptive thinking lets Claude skip thinking, so there
    only another provider's message counts.
    """
    if not _tool_loop_without_thinking(wire_messages):
        return False
    thinking = request.wire_options.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind in (None, "disabled"):
        return False
    if kind != "adaptive":
        return True
    last = next((m for m in reversed(request.messages) if m.role == "assistant"), None)
    return last is not None and (last.provider != ORIGIN or _bound_elsewhere(last, request.model))


def _mark_cache(block: dict[str, Any]) -> None:
    block["cache_control"] = dict(_EPHEMERAL)


def build_params(request: ProviderRequest) -> dict[str, Any]:
    """The request body (the keyword arguments of the SDK's ``messages.create``) for a neutral
    request, without ``stream`` (pure; unit-tested)."""
    declares_tools = bool(request.tools) or "web_search" in request.server_tools
    history = prepare_history(request.messages, declares_tools=declares_tools)
    messages = to_wire_messages(history, request.model)
    params: dict[str, Any] = {"model": request.model, "max_tokens": request.max_tokens, "messages": messages}
    breakpoints = 0
    if request.system.strip():
        params["system"] = [{"type": "text", "text": request.system, "cache_control": dict(_EPHEMERAL)}]
        breakpoints += 1
    tools: list[dict[str, Any]] = [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in request.tools
    ]
    if "web_search" in request.server_tools:
        tools.append(dict(WEB_SEARCH_TOOL))
    if tools:
        _mark_cache(tools[-1])
        breakpoints += 1
        params["tools"] = tools
        if request.tool_choice == "none":
            params["tool_choice"] = {"type": "none"}
        elif request.tool_choice == "any" and request.forced_tool_use:
            params["tool_choice"] = {"type": "any"}
    # Cache the conversation prefix: the last user message (this request) and the one before
    # it (the previous request's breakpoint, so this request reads what that one wrote).
    user_messages = [w for w in messages if w["role"] == "user" and w["content"]]
    for wire in user_messages[::-1][: min(2, MAX_CACHE_BREAKPOINTS - breakpoints)]:
        _mark_cache(wire["content"][-1])
    for key, value in request.wire_options.items():
        params[key] = copy.deepcopy(value)
    if _thinking_must_be_off(request, messages) and request.thinking_off is not None:
        # A model whose thinking cannot be turned off continues without it instead.
        params["thinking"] = copy.deepcopy(request.thinking_off)
        if request.thinking_off.get("type") == "disabled":
            params.pop("output_config", None)
    return params


# ---- wire -> neutral (stream accumulation) --------------------------------------------------


@dataclass
class _Block:
    kind: str
    # Deltas as they came, joined when read (base.joined).
    texts: list[str] = field(default_factory=list)
    signature: str | None = None
    data: str = ""
    id: str = ""
    name: str = ""
    jsons: list[str] = field(default_factory=list)
    start_input: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return joined(self.texts)

    @property
    def json(self) -> str:
        return joined(self.jsons)


def _field(value: Any, name: str) -> Any:
    """``value[name]`` for a dict, ``None`` when it is missing or ``value`` is no dict."""
    return value.get(name) if isinstance(value, dict) else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass
class _Accumulator:
    """Builds one assistant message from raw stream events (dicts, as decoded from the SSE
    ``data:`` lines; SDK event objects are converted). Unknown event, block and delta types are
    ignored, as the streaming docs ask; blocks are ordered by their ``index`` (gaps allowed)."""

    blocks: dict[int, _Block] = field(default_factory=dict)
    done: list[tuple[int, ContentBlock | None, dict[str, Any] | None]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None
    stopped: bool = False
    # The ``compaction`` entries of ``usage.iterations`` (not counted in the top-level usage).
    compaction_usage: Usage | None = None
    # An error event of the stream: raised once what came before it in its read is passed on.
    error: ProviderError | None = None

    def handle(self, event: Any) -> list[StreamEvent]:
        if not isinstance(event, dict):
            event = _to_dict(event)
        kind = event.get("type")
        index = event.get("index")
        if kind == "message_start":
            self._usage(_field(event.get("message"), "usage"))
        elif kind == "content_block_start" and isinstance(index, int):
            block = event.get("content_block")
            return self._start(index, block if isinstance(block, dict) else {})
        elif kind == "content_block_delta" and isinstance(index, int):
            delta = event.get("delta")
            return self._delta(index, delta if isinstance(delta, dict) else {})
        elif kind == "content_block_stop" and isinstance(index, int):
            return self._stop(index)
        elif kind == "message_delta":
            reason = _field(event.get("delta"), "stop_reason")
            if isinstance(reason, str) and reason:
                self.stop_reason = reason
            self._usage(event.get("usage"))
        elif kind == "message_stop":
            self.stopped = True
        return []

    def _usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        values = {
            "input_tokens": usage.get("input_tokens"),
            "output_tokens": usage.get("output_tokens"),
            "cache_write_tokens": usage.get("cache_creation_input_tokens"),
            "cache_read_tokens": usage.get("cache_read_input_tokens"),
            "reasoning_tokens": _field(usage.get("output_tokens_details"), "thinking_tokens"),
        }
        # Counts are cumulative (message_delta repeats and updates them): the latest value wins.
        self.usage = self.usage.model_copy(
            update={k: int(v) for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        )
        iterations = usage.get("iterations")
        if isinstance(iterations, list):
            spent = [_iteration_usage(i) for i in iterations if _field(i, "type") == "compaction"]
            if spent:
                self.compaction_usage = sum(spent, Usage())

    def _start(self, index: int, block: dict[str, Any]) -> list[StreamEvent]:
        kind = _str(block.get("type"))
        state = _Block(kind=kind)
        self.blocks[index] = state
        if kind == "text":
            text = _str(block.get("text"))
            state.texts.append(text)
            return [TextDelta(text)] if text else []
        if kind == "thinking":
            state.texts.append(_str(block.get("thinking")))
            state.signature = _str(block.get("signature")) or None
            return [ThinkingDelta(state.text)] if state.text else []
        if kind == "redacted_thinking":
            state.data = _str(block.get("data"))
            return []
        if kind == "compaction":
            state.raw = copy.deepcopy(block)
            return []
        if kind in ("tool_use", "server_tool_use"):
            state.id = _str(block.get("id"))
            state.name = _str(block.get("name"))
            start_input = block.get("input")
            state.start_input = start_input if isinstance(start_input, dict) else {}
            return [ToolCallStart(state.id, state.name)] if kind == "tool_use" else []
        # Server tool results (web search) and anything newer: kept raw for a paused turn.
        state.raw = copy.deepcopy(block)
        if kind.endswith("_tool_result"):
            return [ServerToolActivity(name=_server_tool_name(kind), summary=_result_summary(block))]
        return []

    def _delta(self, index: int, delta: dict[str, Any]) -> list[StreamEvent]:
        state = self.blocks.get(index)
        if state is None:
            return []
        kind = delta.get("type")
        if kind == "text_delta":
            text = _str(delta.get("text"))
            state.texts.append(text)
            return [TextDelta(text)] if text else []
        if kind == "thinking_delta":
            text = _str(delta.get("thinking"))
            state.texts.append(text)
            return [ThinkingDelta(text)] if text else []
        if kind == "signature_delta":
            state.signature = (state.signature or "") + _str(delta.get("signature"))
            return []
        if kind == "compaction_delta" and state.raw is not None:
            # As the SDK accumulates it: each delta carries the whole summary and replaces both.
            state.raw["content"] = delta.get("content")
            state.raw["encrypted_content"] = delta.get("encrypted_content")
            return []
        if kind == "input_json_delta":
            partial = _str(delta.get("partial_json"))
            state.jsons.append(partial)
            if state.kind == "tool_use" and partial:
                return [ToolCallDelta(state.id, partial)]
        return []

    def _stop(self, index: int) -> list[StreamEvent]:
        state = self.blocks.pop(index, None)
        if state is None:
            return []
        block, raw = _finish(state)
        self.done.append((index, block, raw))
        if state.kind == "server_tool_use":
            query = _field((raw or {}).get("input"), "query")
            summary = f"searching: {query}" if query else f"using {state.name}"
            return [ServerToolActivity(name=state.name, summary=summary)]
        return []

    def finish_open_blocks(self) -> None:
        for index in sorted(self.blocks):
            self.done.append((index, *_finish(self.blocks[index])))
        self.blocks.clear()

    def _ordered(self) -> list[tuple[int, ContentBlock | None, dict[str, Any] | None]]:
        return sorted(self.done, key=lambda entry: entry[0])  # stable: arrival order within an index

    def content(self) -> list[ContentBlock]:
        return [block for _, block, _ in self._ordered() if block is not None]

    def wire_content(self) -> list[dict[str, Any]]:
        """The assistant content as sent back when resuming a paused turn."""
        return [raw for _, _, raw in self._ordered() if raw is not None]


def _finish(state: _Block) -> tuple[ContentBlock | None, dict[str, Any] | None]:
    raw: dict[str, Any]
    if state.kind == "text":
        if not state.text:
            return None, None
        return TextBlock(text=state.text), {"type": "text", "text": state.text}
    if state.kind == "thinking":
        block = ThinkingBlock(thinking=state.text, signature=state.signature, origin=ORIGIN)
        raw = {"type": "thinking", "thinking": state.text, "signature": state.signature or ""}
        return block, raw
    if state.kind == "redacted_thinking":
        return RedactedThinkingBlock(data=state.data, origin=ORIGIN), {
            "type": "redacted_thinking",
            "data": state.data,
        }
    if state.kind == "compaction" and state.raw is not None:
        return _compaction_block(state.raw), state.raw
    if state.kind in ("tool_use", "server_tool_use"):
        if state.json.strip():
            arguments, error = parse_tool_arguments(state.json)
        else:
            arguments, error = dict(state.start_input), None
        raw = {"type": state.kind, "id": state.id, "name": state.name, "input": arguments}
        if state.kind == "server_tool_use":
            return None, raw
        return ToolUseBlock(id=state.id, name=state.name, input=arguments, input_error=error), raw
    return None, state.raw


def _compaction_block(raw: dict[str, Any]) -> CompactionBlock | None:
    """A streamed compaction block; None when the compaction failed (``content`` null: the
    server treats such a block as a no-op, so it is not kept)."""
    content = raw.get("content")
    if not isinstance(content, str) or not content:
        return None
    changes = raw.get("tool_changes")
    return CompactionBlock(
        origin=ORIGIN,
        content=content,
        encrypted_content=_str(raw.get("encrypted_content")) or None,
        signature=_str(raw.get("signature")) or None,
        tool_changes=[dict(c) for c in changes if isinstance(c, dict)] if isinstance(changes, list) else None,
    )


def _iteration_usage(entry: Any) -> Usage:
    def count(name: str) -> int:
        value = _field(entry, name)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0

    return Usage(
        input_tokens=count("input_tokens"),
        output_tokens=count("output_tokens"),
        cache_read_tokens=count("cache_read_input_tokens"),
        cache_write_tokens=count("cache_creation_input_tokens"),
    )


def _to_dict(value: Any) -> dict[str, Any]:
    """An SDK event / block object as a plain dict (what the wire carried)."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return dict(to_dict(exclude_none=True))
        except TypeError:
            return dict(to_dict())
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dict(dump(exclude_none=True))
    return dict(getattr(value, "__dict__", {}))


def _server_tool_name(kind: str) -> str:
    return kind.removesuffix("_tool_result")


def _result_summary(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        return f"{len(content)} result{'s' if len(content) != 1 else ''}"
    code = _field(content, "error_code")
    return f"search failed ({code})" if code else "search finished"


def _sse_event(sse: ServerSentEvent) -> dict[str, Any] | None:
    """One decoded SSE event as the event dict, or None for pings and empty events.

    The event's name comes from its ``event:`` line or, when a server leaves that line out,
    from the JSON ``type`` (the SDK's own iterator drops unnamed events, so it is not used).
    """
    name = sse.event
    if name == "ping" or not sse.data.strip():
        return None
    data = loads_event(sse.data)
    if not isinstance(data, dict):
        raise json.JSONDecodeError("an event's data is not a JSON object", sse.data, 0)
    if name and not isinstance(data.get("type"), str):
        data["type"] = name
    if name == "error" and data.get("type") != "error":
        data = {"type": "error", "error": data.get("error", data)}
    return None if data.get("type") == "ping" else data


# ---- the provider ---------------------------------------------------------------------------


class AnthropicProvider(HttpProvider):
    """Claude through the Messages API, over Stoa's thin HTTP client (``http.py``)."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        *,
        name: str = "anthropic",
        read_timeout: float | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        super().__init__(name, api_key, read_timeout=read_timeout, connect_timeout=connect_timeout)
        # Paths start with /v1/: a base URL typed with /v1 would double it.
        self._explicit_base_url = base_url.rstrip("/").removesuffix("/v1") if base_url else None

    @property
    def base_url(self) -> str:
        """Where requests go (for messages): explicit, else ANTHROPIC_BASE_URL, else the default."""
        return self._explicit_base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL

    def headers(self, api_key: str) -> dict[str, str]:
        return anthropic_headers(api_key)

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        self._require_key()
        params = build_params(request)
        history = params["messages"]
        extra = self._beta_headers(request.betas)
        usage = Usage()
        compaction_usage: Usage | None = None
        content: list[ContentBlock] = []
        resumed: list[dict[str, Any]] = []  # wire content of a paused turn, sent back to resume it
        stop = StopReason.END_TURN
        for attempt in range(MAX_PAUSE_CONTINUATIONS + 1):
            acc = _Accumulator()
            # aclosing: stopping this generator early closes the HTTP stream now, not at GC.
            async with aclosing(self._one_stream(params, request.model, acc, extra)) as events:
                async for event in events:
                    yield event
            acc.finish_open_blocks()
            usage = usage + acc.usage
            if acc.compaction_usage is not None:
                compaction_usage = (compaction_usage or Usage()) + acc.compaction_usage
            content.extend(acc.content())
            stop = _STOP_REASONS.get(acc.stop_reason or "", StopReason.END_TURN)
            if stop is not StopReason.PAUSE_TURN or attempt == MAX_PAUSE_CONTINUATIONS:
                break
            resumed = [*resumed, *acc.wire_content()]
            params = {**params, "messages": [*history, {"role": "assistant", "content": resumed}]}
        if stop is StopReason.END_TURN and any(isinstance(b, ToolUseBlock) for b in content):
            stop = StopReason.TOOL_USE
        yield completed(
            content, model=request.model, provider=self.name, stop=stop, usage=usage, compaction_usage=compaction_usage
        )

    def _beta_headers(self, betas: tuple[str, ...]) -> dict[str, str] | None:
        """The ``anthropic-beta`` header for ``betas``, added to any the endpoint already sends
        (ANTHROPIC_CUSTOM_HEADERS)."""
        if not betas:
            return None
        present = next((v for k, v in self._http().headers.items() if k.lower() == "anthropic-beta"), "")
        names = [n.strip() for n in present.split(",") if n.strip()]
        names += [b for b in betas if b not in names]
        return {"anthropic-beta": ",".join(names)}

    async def _one_stream(
        self, params: dict[str, Any], model: str, acc: _Accumulator, headers: dict[str, str] | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        http = self._http()
        async with http.stream(MESSAGES_PATH, {**params, "stream": True}, model=model, headers=headers) as chunks:
            try:
                async with aclosing(event_batches(chunks)) as batches:
                    async for batch in batches:
                        for out in self._handle_events(batch, acc):
                            yield out
                        if acc.error is not None:
                            # After the deltas read with it: a failed turn keeps what was said.
                            raise acc.error
                        if acc.stopped:
                            break
            except ValueError as exc:
                # A malformed event (JSONDecodeError) or bytes that are not UTF-8.
                raise broken_stream(self.name, self.base_url, exc, read_timeout=self.read_timeout) from exc
        if acc.stop_reason is None:
            raise ProviderError(
                "stream_broken",
                f"{self.name} reply from {self.base_url} ended before the message was complete",
            )

    def _handle_events(self, events: list[ServerSentEvent], acc: _Accumulator) -> list[StreamEvent]:
        """What the events one read completed add to the message (nothing after message_stop)."""
        out: list[StreamEvent] = []
        for sse in events:
            event = _sse_event(sse)
            if event is None:
                continue
            if event.get("type") == "error":
                error = event.get("error")
                acc.error = stream_error(
                    self.name,
                    _str(_field(error, "type")) or None,
                    _str(_field(error, "message")) or body_error_message(event) or "unknown error",
                )
                break
            out.extend(acc.handle(event))
            if acc.stopped:
                break
        return merge_deltas(out)

    async def list_models(self) -> list[str]:
        """Every page of the list (``after_id`` = the previous page's ``last_id``, as the
        catalogue reads it): the first 100 were all it returned."""
        self._require_key()
        ids: list[str] = []
        after: str | None = None
        for _ in range(50):
            page = await self._http().get_json(MODELS_PATH, {"limit": "1000", **({"after_id": after} if after else {})})
            ids += model_ids(page)
            last = page.get("last_id") if isinstance(page, dict) else None
            if not isinstance(page, dict) or not page.get("has_more") or not isinstance(last, str) or last == after:
                break
            after = last
        return ids

    async def count_tokens(self, request: ProviderRequest) -> int:
        """The request's input tokens as the Messages API counts them (``/v1/messages/count_tokens``,
        for ``/context``). Raises ``ProviderError``."""
        self._require_key()
        params = build_params(request)
        body = {key: params[key] for key in _COUNTED_FIELDS if key in params}
        answer = await self._http().post_json(
            COUNT_TOKENS_PATH, body, model=request.model, headers=self._beta_headers(request.betas)
        )
        count = answer.get("input_tokens") if isinstance(answer, dict) else None
        if not isinstance(count, int):
            raise ProviderError("other", f"{self.name} answered the token count without input_tokens")
        return count
