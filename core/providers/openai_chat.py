"""OpenAI-compatible Chat Completions streaming (Ollama, LM Studio, vLLM, OpenRouter, generic).

Owns the translation between the neutral conversation and Chat Completions messages: the
system prompt as a system message, tool calls as ``tool_calls``, tool results as ``tool``
messages (images a tool returned follow in a user message, since ``tool`` messages carry text
only), tool-call deltas accumulated by index, and ``reasoning_content`` / ``reasoning`` deltas
shown as thinking but never sent back. Requests go through Stoa's thin HTTP client (``http.py``),
not the ``openai`` SDK.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from stoa.core.config import DEFAULT_BASE_URLS, KEYLESS_PROVIDERS
from stoa.core.providers.base import (
    ProviderError,
    ProviderRequest,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
    completed,
    joined,
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
)
from stoa.core.providers.http import HttpProvider, openai_headers
from stoa.core.providers.openai_responses import read_openai_stream, wire_field
from stoa.core.providers.types import (
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

# OpenAI's own Chat API caps tool_call ids at 40 characters; compatible servers follow it.
TOOL_ID_MAX_LEN = 40
NO_KEY = "not-needed"
CHAT_PATH = "/chat/completions"
MODELS_PATH = "/models"
NO_TOOLS_HINT = "this model does not support tools; pick a model that does (/model)"

_FINISH_REASONS: dict[str, StopReason] = {
    "stop": StopReason.END_TURN,
    "length": StopReason.MAX_TOKENS,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "content_filter": StopReason.REFUSAL,
}


# ---- neutral -> wire ----------------------------------------------------------------------


def _call_id(raw: str) -> str:
    return sanitize_tool_id(raw, max_len=TOOL_ID_MAX_LEN)


def _image_part(block: ImageBlock) -> dict[str, Any] | None:
    url = image_url(block)
    return {"type": "image_url", "image_url": {"url": url}} if url else None


def _user_messages(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if not isinstance(block, ToolResultBlock):
            continue
        text = block.text
        if block.is_error and text:
            text = f"Error: {text}"
        out.append(
            {"role": "tool", "tool_call_id": _call_id(block.tool_use_id), "content": text or "(no output)"}
        )
        images = [p for p in (_image_part(b) for b in block.content if isinstance(b, ImageBlock)) if p]
        if images:
            # tool messages carry text only: the images follow in a user message.
            parts.append(
                {"type": "text", "text": f"Image(s) returned by tool call {_call_id(block.tool_use_id)}:"}
            )
            parts.extend(images)
    for block in message.content:
        if isinstance(block, TextBlock) and block.text:
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            image = _image_part(block)
            if image is not None:
                parts.append(image)
    if parts:
        if all(p["type"] == "text" for p in parts):
            # Plain strings are what the simplest compatible servers understand.
            out.append({"role": "user", "content": "\n\n".join(p["text"] for p in parts)})
        else:
            out.append({"role": "user", "content": parts})
    elif not out:
        out.append({"role": "user", "content": PLACEHOLDER_TEXT})
    return out


def _assistant_message(message: Message) -> dict[str, Any]:
    text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
    calls = [
        {
            "id": _call_id(b.id),
            "type": "function",
            "function": {"name": b.name, "arguments": dumps_arguments(b.input)},
        }
        for b in message.content
        if isinstance(b, ToolUseBlock)
    ]
    wire: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else PLACEHOLDER_TEXT)}
    if calls:
        wire["tool_calls"] = calls
    return wire


def to_wire_messages(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    """Neutral history as Chat Completions ``messages`` (thinking is never sent back)."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system.strip() else []
    for message in messages:
        if message.role == "user":
            out.extend(_user_messages(message))
        else:
            out.append(_assistant_message(message))
    return out


def build_params(request: ProviderRequest) -> dict[str, Any]:
    """The keyword arguments of the SDK's ``chat.completions.create`` (pure; unit-tested);
    ``wire_body`` makes the request body of them."""
    params: dict[str, Any] = {
        "model": request.model,
        "messages": to_wire_messages(
            request.system, prepare_history(request.messages, declares_tools=bool(request.tools))
        ),
        "max_tokens": request.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
            }
            for t in request.tools
        ]
        params["tool_choice"] = "none" if request.tool_choice == "none" else "auto"
    if request.wire_options:
        # Server-specific fields go in the body as they are.
        params["extra_body"] = copy.deepcopy(dict(request.wire_options))
    return params


# ---- wire -> neutral (stream accumulation) --------------------------------------------------


@dataclass
class _Call:
    id: str
    wire_id: str = ""
    name: str = ""
    # Deltas as they came, joined when read (base.joined).
    argument_parts: list[str] = field(default_factory=list)
    started: bool = False

    @property
    def arguments(self) -> str:
        return joined(self.argument_parts)


@dataclass
class _Accumulator:
    texts: list[str] = field(default_factory=list)
    thinkings: list[str] = field(default_factory=list)
    calls: list[_Call] = field(default_factory=list)
    by_index: dict[int, _Call] = field(default_factory=dict)
    finish: str | None = None
    refused: bool = False
    usage: Usage = field(default_factory=Usage)

    @property
    def text(self) -> str:
        return joined(self.texts)

    @property
    def thinking(self) -> str:
        return joined(self.thinkings)

    def handle(self, chunk: Any) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        usage = wire_field(chunk, "usage", None)
        if usage is not None:
            self._usage(usage)
        for choice in wire_field(chunk, "choices", None) or []:
            if wire_field(choice, "index", 0) != 0:
                continue
            delta = wire_field(choice, "delta", None)
            if delta is not None:
                out.extend(self._delta(delta))
            if wire_field(choice, "finish_reason", None):
                self.finish = wire_field(choice, "finish_reason")
        return out

    def _delta(self, delta: Any) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        reasoning = wire_field(delta, "reasoning_content", None) or wire_field(delta, "reasoning", None)
        if isinstance(reasoning, str) and reasoning:
            self.thinkings.append(reasoning)
            out.append(ThinkingDelta(reasoning))
        content = wire_field(delta, "content", None)
        if isinstance(content, str) and content:
            self.texts.append(content)
            out.append(TextDelta(content))
        refusal = wire_field(delta, "refusal", None)
        if isinstance(refusal, str) and refusal:
            self.refused = True
            self.texts.append(refusal)
            out.append(TextDelta(refusal))
        for raw in wire_field(delta, "tool_calls", None) or []:
            out.extend(self._tool_delta(raw))
        return out

    def _tool_delta(self, raw: Any) -> list[StreamEvent]:
        index = wire_field(raw, "index", None)
        call_id = wire_field(raw, "id", None)
        if not isinstance(index, int):
            # Some servers leave "index" out: a piece without a new id continues the last call.
            last = self.calls[-1] if self.calls else None
            if last is not None and (not call_id or call_id == last.wire_id):
                index = next(k for k, c in self.by_index.items() if c is last)
            else:
                index = -1 - len(self.calls)
        call = self.by_index.get(index)
        # Some servers reuse index 0 for every call; a new id means a new call.
        if call is None or (call_id and call.started and call_id != call.wire_id):
            wire_id = call_id or f"call_{uuid.uuid4().hex[:24]}"
            unique, n = wire_id, 1
            while any(c.id == unique for c in self.calls):  # two calls, one id: keep both apart
                n += 1
                unique = f"{wire_id}_{n}"
            call = _Call(id=unique, wire_id=wire_id)
            self.by_index[index] = call
            self.calls.append(call)
        function = wire_field(raw, "function", None)
        name = wire_field(function, "name", None)
        if name and not call.name:
            call.name = name
        out: list[StreamEvent] = []
        if not call.started and call.name:
            call.started = True
            out.append(ToolCallStart(call.id, call.name))
            if call.arguments:
                out.append(ToolCallDelta(call.id, call.arguments))
        arguments = wire_field(function, "arguments", None)
        if isinstance(arguments, dict):
            arguments = dumps_arguments(arguments)  # some servers send the object itself
        if isinstance(arguments, str) and arguments:
            call.argument_parts.append(arguments)
            if call.started:
                out.append(ToolCallDelta(call.id, arguments))
        return out

    def _usage(self, usage: Any) -> None:
        prompt = wire_field(usage, "prompt_tokens", 0) or 0
        details = wire_field(usage, "prompt_tokens_details", None)
        cached = wire_field(details, "cached_tokens", 0) or 0
        out_details = wire_field(usage, "completion_tokens_details", None)
        self.usage = Usage(
            input_tokens=max(prompt - cached, 0),
            output_tokens=wire_field(usage, "completion_tokens", 0) or 0,
            cache_read_tokens=cached,
            reasoning_tokens=wire_field(out_details, "reasoning_tokens", 0) or 0,
        )

    def content(self, origin: str) -> list[ContentBlock]:
        blocks: list[ContentBlock] = []
        if self.thinking:
            # Shown and saved, never sent back (origin names a provider that takes none).
            blocks.append(ThinkingBlock(thinking=self.thinking, origin=origin))
        if self.text:
            blocks.append(TextBlock(text=self.text))
        for call in self.calls:
            parsed, error = parse_tool_arguments(call.arguments)
            if not call.name:
                error = error or "the server sent a tool call without a name"
            blocks.append(ToolUseBlock(id=call.id, name=call.name, input=parsed, input_error=error))
        return blocks

    def stop_reason(self) -> StopReason:
        stop = _FINISH_REASONS.get(self.finish or "", StopReason.END_TURN)
        if self.calls and stop is StopReason.END_TURN:
            stop = StopReason.TOOL_USE  # some servers say "stop" after tool calls
        if self.refused and stop is StopReason.END_TURN:
            stop = StopReason.REFUSAL
        return stop


# ---- the provider ---------------------------------------------------------------------------


class OpenAIChatProvider(HttpProvider):
    """Any OpenAI-compatible Chat Completions server, over Stoa's thin HTTP client (``http.py``)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str | None = None,
        *,
        read_timeout: float | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        # A local server needs no key; the header still goes (as the SDK sent it).
        super().__init__(name, api_key or NO_KEY, read_timeout=read_timeout, connect_timeout=connect_timeout)
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        return self._base_url

    def headers(self, api_key: str) -> dict[str, str]:
        return openai_headers(api_key)

    @classmethod
    def for_provider(
        cls, name: str, api_key: str | None = None, base_url: str | None = None, **kwargs: Any
    ) -> OpenAIChatProvider:
        url = base_url or DEFAULT_BASE_URLS.get(name)
        if not url:
            raise ProviderError(
                "bad_request",
                f"no base URL for {name}",
                hint="pass --base-url URL (e.g. http://localhost:8080/v1) or set base-url in the config",
            )
        return cls(name, url, api_key, **kwargs)

    def _explained(self, error: ProviderError, request: ProviderRequest | None) -> ProviderError:
        """The error with what a compatible server's failures usually mean."""
        if (
            error.kind == "bad_request"
            and request is not None
            and request.tools
            and "tool" in error.message.lower()
        ):
            error.hint = NO_TOOLS_HINT
        elif error.kind == "connection" and self.name in KEYLESS_PROVIDERS:
            error.hint = f"is the {self.name} server running? Start it, or point --base-url at it"
        elif error.kind == "auth" and self.api_key == NO_KEY:
            error.message = f"{self.name} at {self.base_url} wants an API key ({error.status})"
        elif error.kind == "not_found" and not self.base_url.rstrip("/").endswith("/v1"):
            error.hint = (
                f"{error.hint}; OpenAI-compatible servers usually answer under /v1 "
                f"(try --base-url {self.base_url.rstrip('/')}/v1)"
            )
        return error

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        acc = _Accumulator()
        try:
            async with self._http().stream(CHAT_PATH, wire_body(build_params(request)), model=request.model) as chunks:
                try:
                    async with aclosing(read_openai_stream(chunks, acc.handle, self.name)) as events:
                        async for out in events:
                            yield out
                except ValueError as exc:
                    # A malformed chunk (JSONDecodeError) or bytes that are not UTF-8.
                    raise broken_stream(self.name, self.base_url, exc, read_timeout=self.read_timeout) from exc
        except ProviderError as error:
            raise self._explained(error, request) from error.__cause__
        if acc.finish is None:
            raise ProviderError(
                "stream_broken",
                f"{self.name} reply from {self.base_url} ended before the message was complete",
            )
        content = acc.content(self.name)
        stop = acc.stop_reason()
        yield completed(content, model=request.model, provider=self.name, stop=stop, usage=acc.usage)

    async def list_models(self) -> list[str]:
        try:
            return await self._model_ids(MODELS_PATH)
        except ProviderError as error:
            raise self._explained(error, None) from error.__cause__


def wire_body(params: dict[str, Any]) -> dict[str, Any]:
    """The request body of ``build_params``: ``extra_body`` merged in, as the SDK merges it."""
    body = {k: v for k, v in params.items() if k != "extra_body"}
    return {**body, **params.get("extra_body", {})}
