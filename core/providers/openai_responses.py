"""OpenAI Responses API streaming over Stoa's thin HTTP client (``http.py``).

Owns the translation between the neutral conversation and Responses input items: user
messages, assistant ``output_text`` messages, ``function_call`` / ``function_call_output``
items, and reasoning items carried forward (``store=False`` plus encrypted reasoning) only when
OpenAI produced them. The stream is read as raw events (the bulk SSE decoder, events as plain
dicts) so that a tool call with broken argument JSON becomes ``ToolUseBlock(input_error=...)``
instead of an exception. The ``openai`` SDK is not imported (it cost 0.5-1.7 s of CPU before the
first request); tests/integration/test_sdk_contract.py holds the requests and events to its types.

How an OpenAI stream's events are read (``openai_event``: ``[DONE]``, error objects) lives here
too; the Chat Completions provider reuses it.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
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
    broken_stream,
    dumps_arguments,
    image_url,
    parse_tool_arguments,
    prepare_history,
    sanitize_tool_id,
    stream_error,
)
from stoa.core.providers.http import HttpProvider, openai_headers
from stoa.core.providers.sse import ServerSentEvent, event_batches, loads_event
from stoa.core.providers.types import (
    CompactionBlock,
    ContentBlock,
    ImageBlock,
    Message,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)

ORIGIN = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
RESPONSES_PATH = "/responses"
MODELS_PATH = "/models"
TOOL_ID_MAX_LEN = 64
WEB_SEARCH_TOOL: dict[str, Any] = {"type": "web_search"}
MIN_OUTPUT_TOKENS = 16


# ---- neutral -> wire ----------------------------------------------------------------------


def _call_id(raw: str) -> str:
    return sanitize_tool_id(raw, max_len=TOOL_ID_MAX_LEN)


def _input_image(block: ImageBlock) -> dict[str, Any] | None:
    url = image_url(block)
    return {"type": "input_image", "image_url": url, "detail": "auto"} if url else None


def _function_output(block: ToolResultBlock) -> dict[str, Any]:
    images = [i for i in (_input_image(b) for b in block.content if isinstance(b, ImageBlock)) if i]
    text = block.text
    if block.is_error and text:
        text = f"Error: {text}"
    output: str | list[dict[str, Any]]
    if images:
        # function_call_output accepts a list of input_text / input_image parts.
        parts: list[dict[str, Any]] = [{"type": "input_text", "text": text}] if text else []
        output = [*parts, *images]
    else:
        output = text or "(no output)"
    return {"type": "function_call_output", "call_id": _call_id(block.tool_use_id), "output": output}


def _user_items(message: Message) -> list[dict[str, Any]]:
    items = [_function_output(b) for b in message.content if isinstance(b, ToolResultBlock)]
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock) and block.text:
            parts.append({"type": "input_text", "text": block.text})
        elif isinstance(block, ImageBlock):
            image = _input_image(block)
            if image is not None:
                parts.append(image)
    if parts:
        items.append({"role": "user", "content": parts})
    elif not items:
        items.append({"role": "user", "content": [{"type": "input_text", "text": PLACEHOLDER_TEXT}]})
    return items


def _assistant_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


def _assistant_items(message: Message) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, CompactionBlock):
            # Server compaction: its encrypted content goes back unchanged (another provider's
            # block never crosses). Without its id, as every item here (store=False).
            if block.origin == ORIGIN and block.encrypted_content:
                items.append({"type": "compaction", "encrypted_content": block.encrypted_content})
        elif isinstance(block, ThinkingBlock):
            # Only OpenAI's own reasoning can be carried forward, and only with its
            # encrypted content (store=False keeps nothing on the server). No item ids are sent,
            # on reasoning, messages or calls alike (as Codex does): with store=False an id makes
            # the API look the item up ("not found"), and a reasoning id without the ids of the
            # items that followed it is rejected ("provided without its required following item").
            if block.origin == ORIGIN and block.encrypted_content:
                summary = [{"type": "summary_text", "text": block.thinking}] if block.thinking else []
                items.append(
                    {
                        "type": "reasoning",
                        "summary": summary,
                        "encrypted_content": block.encrypted_content,
                    }
                )
        elif isinstance(block, TextBlock):
            if not block.text:
                continue
            last = items[-1] if items else None
            if last is not None and last.get("type") == "message":
                last["content"].append({"type": "output_text", "text": block.text})
            else:
                items.append(_assistant_text(block.text))
        elif isinstance(block, ToolUseBlock):
            # No item id (see the reasoning items above); call_id pairs it with its output.
            items.append(
                {
                    "type": "function_call",
                    "call_id": _call_id(block.id),
                    "name": block.name,
                    "arguments": dumps_arguments(block.input),
                }
            )
    # A reasoning item must be followed by the output it led to.
    while items and items[-1].get("type") == "reasoning":
        items.pop()
    if items and all(i.get("type") == "compaction" for i in items):
        return items  # a compaction alone (the reply was cut): nothing to add to it
    return items or [_assistant_text(PLACEHOLDER_TEXT)]


def to_input_items(messages: list[Message]) -> list[dict[str, Any]]:
    """Neutral history as Responses ``input`` items."""
    items: list[dict[str, Any]] = []
    for message in messages:
        items.extend(_user_items(message) if message.role == "user" else _assistant_items(message))
    return items


def build_params(request: ProviderRequest) -> dict[str, Any]:
    """The request body (the keyword arguments of the SDK's ``responses.create``) for a neutral
    request, without ``stream`` (pure; unit-tested)."""
    params: dict[str, Any] = {
        "model": request.model,
        "input": to_input_items(prepare_history(request.messages, declares_tools=bool(request.tools))),
        # The Responses API rejects max_output_tokens below 16.
        "max_output_tokens": max(request.max_tokens, MIN_OUTPUT_TOKENS),
        "store": False,
        "include": ["reasoning.encrypted_content"],
    }
    if request.system.strip():
        params["instructions"] = request.system
    if request.cache_key:
        # Requests of one session share a key, so they reach the same prompt cache.
        params["prompt_cache_key"] = request.cache_key
    tools: list[dict[str, Any]] = [
        {
            "type": "function",
            "name": t.name,
            "description": t.description,
            "parameters": t.input_schema,
            "strict": False,
        }
        for t in request.tools
    ]
    if "web_search" in request.server_tools:
        tools.append(dict(WEB_SEARCH_TOOL))
    if tools:
        params["tools"] = tools
        params["tool_choice"] = "none" if request.tool_choice == "none" else "auto"
    for key, value in request.wire_options.items():
        params[key] = copy.deepcopy(value)
    return params


# ---- the stream's events (Chat Completions reads them the same way) ---------------------------


class StreamDone(Exception):
    """The ``data: [DONE]`` line: the stream is over."""


def wire_field(value: Any, name: str, default: Any = None) -> Any:
    """A field of an event part: a dict key, or an attribute of an SDK object (unit tests parse
    their events through the SDK's types)."""
    if isinstance(value, dict):
        return value.get(name, default)
    return getattr(value, name, default)


def openai_event(sse: ServerSentEvent, provider: str) -> dict[str, Any] | None:
    """One decoded SSE event of an OpenAI stream as its data dict, None for an empty one; raises
    ``StreamDone`` at ``[DONE]`` and ``ProviderError`` for an ``error`` object, as the ``openai``
    SDK's stream does (a malformed event raises ``ValueError``)."""
    data = sse.data
    if data.startswith("[DONE]"):
        raise StreamDone
    if not data.strip():
        return None
    event = loads_event(data)
    if not isinstance(event, dict):
        raise json.JSONDecodeError("an event's data is not a JSON object", data, 0)
    error = event.get("error")
    if error:
        # An error object sent inside the stream (not a Responses ``error`` event: that one
        # carries code and message at the top).
        body = error if isinstance(error, dict) else {}
        code = body.get("code") or body.get("type")
        message = body.get("message")
        if not isinstance(message, str) or not message:
            message = "An error occurred during streaming"
        raise stream_error(provider, str(code) if code else None, message)
    return event


# ---- wire -> neutral (stream accumulation) --------------------------------------------------


@dataclass
class _Item:
    type: str
    item_id: str = ""
    call_id: str = ""
    name: str = ""
    # Deltas as they came, joined when read (base.joined).
    argument_parts: list[str] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)
    summary_parts: set[int] = field(default_factory=set)
    done: Any = None
    # What output_item.added already carried (used only when nothing later says more).
    added_arguments: str = ""
    added_text: str = ""

    @property
    def arguments(self) -> str:
        return joined(self.argument_parts)

    @property
    def text(self) -> str:
        return joined(self.text_parts)


_INCOMPLETE_STOPS: dict[str, StopReason] = {
    "max_output_tokens": StopReason.MAX_TOKENS,
    "content_filter": StopReason.REFUSAL,
}


@dataclass
class _Accumulator:
    provider: str
    items: dict[int, _Item] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    status: str | None = None
    incomplete_reason: str | None = None
    refused: bool = False

    def _item(self, event: Any) -> _Item | None:
        index = wire_field(event, "output_index", None)
        if index is None:
            return None
        return self.items.get(index)

    def handle(self, event: Any) -> list[StreamEvent]:
        kind = wire_field(event, "type", "")
        delta = wire_field(event, "delta", None)
        if not isinstance(delta, str):
            delta = ""
        if kind == "response.output_item.added":
            index = wire_field(event, "output_index", None)
            return self._added(index, wire_field(event, "item", None)) if isinstance(index, int) else []
        if kind == "response.output_text.delta":
            item = self._item(event)
            if item is not None:
                item.text_parts.append(delta)
            return [TextDelta(delta)] if delta else []
        if kind == "response.refusal.delta":
            self.refused = True
            return [TextDelta(delta)] if delta else []
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            item = self._item(event)
            text = delta
            part = wire_field(event, "summary_index", None)
            if item is not None and part is not None and part not in item.summary_parts:
                if item.summary_parts:
                    text = "\n\n" + text
                item.summary_parts.add(part)
            if item is not None:
                item.text_parts.append(text)
            return [ThinkingDelta(text)] if text else []
        if kind == "response.function_call_arguments.delta":
            item = self._item(event)
            if item is None:
                return []
            item.argument_parts.append(delta)
            return [ToolCallDelta(item.call_id, delta)] if delta else []
        if kind == "response.function_call_arguments.done":
            # The whole argument string (also when no delta came before it).
            item = self._item(event)
            arguments = wire_field(event, "arguments", None)
            if item is None or not isinstance(arguments, str):
                return []
            missing = arguments[len(item.arguments) :] if arguments.startswith(item.arguments) else ""
            item.argument_parts[:] = [arguments]
            return [ToolCallDelta(item.call_id, missing)] if missing else []
        if kind == "response.output_item.done":
            index = wire_field(event, "output_index", None)
            return self._done(index, wire_field(event, "item", None)) if isinstance(index, int) else []
        if kind in ("response.completed", "response.incomplete"):
            self._finish(wire_field(event, "response", None))
        elif kind == "response.failed":
            error = wire_field(wire_field(event, "response", None), "error", None)
            code = wire_field(error, "code", None)
            raise stream_error(self.provider, code, wire_field(error, "message", None) or "the response failed")
        elif kind == "error":
            raise stream_error(
                self.provider, wire_field(event, "code", None), wire_field(event, "message", "") or ""
            )
        return []

    def _added(self, index: int, raw: Any) -> list[StreamEvent]:
        kind = wire_field(raw, "type", "")
        item = _Item(type=kind, item_id=wire_field(raw, "id", "") or "")
        self.items[index] = item
        if kind == "message":
            parts = wire_field(raw, "content", None) or []
            item.added_text = "".join(t for t in (wire_field(p, "text", None) for p in parts) if isinstance(t, str))
        if kind == "function_call":
            item.call_id = wire_field(raw, "call_id", "") or item.item_id
            item.name = wire_field(raw, "name", "") or ""
            arguments = wire_field(raw, "arguments", None)
            item.added_arguments = arguments if isinstance(arguments, str) else ""
            return [ToolCallStart(item.call_id, item.name)]
        if kind == "web_search_call":
            return [ServerToolActivity(name="web_search", summary="searching the web")]
        return []

    def _done(self, index: int, raw: Any) -> list[StreamEvent]:
        item = self.items.get(index)
        if item is None:
            item = _Item(type=wire_field(raw, "type", ""), item_id=wire_field(raw, "id", "") or "")
            self.items[index] = item
        item.done = raw
        if item.type == "web_search_call":
            action = wire_field(raw, "action", None)
            query = wire_field(action, "query", None)
            return [
                ServerToolActivity(name="web_search", summary=f"searched: {query}" if query else "searched")
            ]
        return []

    def _finish(self, response: Any) -> None:
        self.status = wire_field(response, "status", None) or "completed"
        # The finished items also arrive here: fill in any whose output_item.done never came
        # (a minimal stream), so encrypted reasoning and final arguments are not lost.
        for index, raw in enumerate(wire_field(response, "output", None) or []):
            item = self.items.get(index)
            if item is None:
                self._done(index, raw)
            elif item.done is None and wire_field(raw, "type", "") == item.type:
                item.done = raw
        details = wire_field(response, "incomplete_details", None)
        self.incomplete_reason = wire_field(details, "reason", None)
        usage = wire_field(response, "usage", None)
        if usage is None:
            return
        total_in = wire_field(usage, "input_tokens", 0) or 0
        in_details = wire_field(usage, "input_tokens_details", None)
        cached = wire_field(in_details, "cached_tokens", 0) or 0
        written = wire_field(in_details, "cache_write_tokens", 0) or 0
        out_details = wire_field(usage, "output_tokens_details", None)
        self.usage = Usage(
            input_tokens=max(total_in - cached - written, 0),
            output_tokens=wire_field(usage, "output_tokens", 0) or 0,
            cache_read_tokens=cached,
            cache_write_tokens=written,
            reasoning_tokens=wire_field(out_details, "reasoning_tokens", 0) or 0,
        )

    def content(self) -> list[ContentBlock]:
        blocks: list[ContentBlock] = []
        for index in sorted(self.items):
            item = self.items[index]
            raw = item.done
            if item.type == "message":
                parts = wire_field(raw, "content", None) if raw is not None else None
                if not parts:
                    if item.text or item.added_text:
                        blocks.append(TextBlock(text=item.text or item.added_text))
                    continue
                for part in parts:
                    ptype = wire_field(part, "type", "")
                    text = wire_field(part, "text", None)
                    refusal = wire_field(part, "refusal", None)
                    if ptype == "output_text" and isinstance(text, str) and text:
                        blocks.append(TextBlock(text=text))
                    elif ptype == "refusal" and isinstance(refusal, str) and refusal:
                        self.refused = True
                        blocks.append(TextBlock(text=refusal))
            elif item.type == "reasoning":
                summary = wire_field(raw, "summary", None) or []
                text = "\n\n".join(wire_field(s, "text", None) or "" for s in summary) or item.text
                if not text:
                    content = wire_field(raw, "content", None) or []
                    text = "\n\n".join(wire_field(c, "text", None) or "" for c in content)
                blocks.append(
                    ThinkingBlock(
                        thinking=text,
                        origin=ORIGIN,
                        item_id=wire_field(raw, "id", None) or item.item_id or None,
                        encrypted_content=wire_field(raw, "encrypted_content", None),
                    )
                )
            elif item.type == "compaction":
                encrypted = wire_field(raw, "encrypted_content", None) if raw is not None else None
                if isinstance(encrypted, str) and encrypted:
                    blocks.append(
                        CompactionBlock(
                            origin=ORIGIN,
                            encrypted_content=encrypted,
                            item_id=wire_field(raw, "id", None) or item.item_id or None,
                        )
                    )
            elif item.type == "function_call":
                arguments = wire_field(raw, "arguments", None) if raw is not None else None
                if not isinstance(arguments, str) or not arguments:
                    arguments = item.arguments or item.added_arguments
                call_id = (wire_field(raw, "call_id", None) if raw is not None else None) or item.call_id
                name = (wire_field(raw, "name", None) if raw is not None else None) or item.name
                parsed, error = parse_tool_arguments(arguments)
                blocks.append(
                    ToolUseBlock(
                        id=call_id,
                        name=name,
                        input=parsed,
                        input_error=error,
                        item_id=(wire_field(raw, "id", None) if raw is not None else None)
                        or item.item_id
                        or None,
                    )
                )
        return blocks

    def stop_reason(self, content: list[ContentBlock]) -> StopReason:
        if self.status == "incomplete":
            return _INCOMPLETE_STOPS.get(self.incomplete_reason or "", StopReason.MAX_TOKENS)
        if any(isinstance(b, ToolUseBlock) for b in content):
            return StopReason.TOOL_USE
        if self.refused:
            return StopReason.REFUSAL
        return StopReason.END_TURN


# ---- the provider ---------------------------------------------------------------------------


class OpenAIResponsesProvider(HttpProvider):
    """OpenAI models through the Responses API, over Stoa's thin HTTP client (``http.py``)."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        *,
        name: str = "openai",
        read_timeout: float | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        super().__init__(name, api_key, read_timeout=read_timeout, connect_timeout=connect_timeout)
        self._explicit_base_url = base_url

    @property
    def base_url(self) -> str:
        return self._explicit_base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL

    def headers(self, api_key: str) -> dict[str, str]:
        return openai_headers(api_key)

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        self._require_key()
        params = build_params(request)
        acc = _Accumulator(self.name)
        async with self._http().stream(RESPONSES_PATH, {**params, "stream": True}, model=request.model) as chunks:
            try:
                async with aclosing(read_openai_stream(chunks, acc.handle, self.name, lambda: acc.status is not None)) as events:
                    async for out in events:
                        yield out
            except ValueError as exc:
                # A malformed event (JSONDecodeError) or bytes that are not UTF-8.
                raise broken_stream(self.name, self.base_url, exc, read_timeout=self.read_timeout) from exc
        if acc.status is None:
            raise ProviderError(
                "stream_broken",
                f"{self.name} reply from {self.base_url} ended before the response was complete",
            )
        content = acc.content()
        stop = acc.stop_reason(content)
        yield completed(content, model=request.model, provider=self.name, stop=stop, usage=acc.usage)

    async def list_models(self) -> list[str]:
        return await self._model_ids(MODELS_PATH)


async def read_openai_stream(
    chunks: AsyncIterator[bytes],
    handle: Callable[[dict[str, Any]], Iterable[StreamEvent]],
    provider: str,
    finished: Callable[[], bool] = lambda: False,
) -> AsyncGenerator[StreamEvent, None]:
    """The neutral events of an OpenAI stream (Responses or Chat Completions): each event's
    data through ``handle``, until ``[DONE]``, the body's end or ``finished()``."""
    async with aclosing(event_batches(chunks)) as batches:
        async for batch in batches:
            # What one read brought, its deltas merged (base.merge_deltas), then passed on.
            out: list[StreamEvent] = []
            ended = False
            failure: Exception | None = None
            for sse in batch:
                try:
                    event = openai_event(sse, provider)
                    if event is not None:
                        out.extend(handle(event))
                except StreamDone:
                    ended = True
                    break
                except Exception as exc:  # the events before it go first, as one by one
                    failure = exc
                    break
                if finished():
                    ended = True
                    break
            for item in merge_deltas(out):
                yield item
            if failure is not None:
                raise failure
            if ended:
                return
