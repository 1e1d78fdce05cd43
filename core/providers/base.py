"""The provider port: one streaming request, provider-neutral in and out.

A provider turns a ``ProviderRequest`` into a stream of ``StreamEvent``s and ends the stream
with exactly one ``MessageComplete`` (the whole assistant message, usage, stop reason), or
raises ``ProviderError``. Transport and decoding exceptions never escape a provider: ``http.py`` and
each module map them to a ``ProviderError`` whose ``kind`` says what happened and whether
retrying can help.

No provider imports the ``anthropic`` or ``openai`` SDK (a second or more of CPU each): they
speak the wire through ``http.py``, which imports httpx2 on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from stoa.core.providers.types import ContentBlock, Message, StopReason, ToolSpec, Usage

ErrorKind = Literal[
    "auth",  # missing/invalid key (401/403)
    "not_found",  # unknown model or endpoint (404)
    "bad_request",  # the request was rejected (400/422); retrying will not help
    "rate_limit",  # 429
    "overloaded",  # 529/503/500/502/504
    "connection",  # could not connect / timed out before the stream started
    "stream_broken",  # the stream started and then broke (disconnect, malformed event, stall)
    "context_length",  # the conversation is too long for the model
    "other",
]

RETRYABLE_KINDS: frozenset[str] = frozenset({"rate_limit", "overloaded", "connection", "stream_broken"})


def joined(parts: list[str]) -> str:
    """Text that arrived in pieces, joined once (and kept joined) when it is read.

    Stream accumulators keep deltas as a list: adding each to a string attribute copies the
    whole string every time, quadratic in a long reply or a large tool argument."""
    if len(parts) > 1:
        parts[:] = ["".join(parts)]
    return parts[0] if parts else ""


class ProviderError(Exception):
    """A failed provider request, with a message a person can act on."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.hint = hint

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


@dataclass(frozen=True)
class ProviderRequest:
    model: str  # the wire model id
    system: str
    messages: list[Message]
    tools: list[ToolSpec]
    max_tokens: int
    # Effort level name (off/low/medium/high/xhigh/max) or None for the model's default.
    effort: str | None = None
    # Extra provider-specific request fields computed by the registry (thinking config,
    # reasoning config, ...). Providers merge these into the request body.
    wire_options: dict[str, Any] = field(default_factory=dict)
    # Provider-native server tools to declare (e.g. web search), by neutral name.
    server_tools: tuple[str, ...] = ()
    # "auto" (default) or "none": the final summary request forbids tool calls but must still
    # declare the tools, because the history contains tool_use blocks.
    tool_choice: str = "auto"
    # Anthropic: the ``thinking`` field that turns thinking off for this model (disabled or
    # between_tools), or None where it cannot be turned off (Opus 5.5, Fable 5.x).
    thinking_off: dict[str, Any] | None = field(default_factory=lambda: {"type": "disabled"})
    # Whether the model accepts a forced tool_choice (any / tool).
    forced_tool_use: bool = True
    # OpenAI ``prompt_cache_key``: one per session, so its requests land on the same cache.
    cache_key: str | None = None
    # Anthropic beta names the request needs (the ``anthropic-beta`` header), e.g. compaction's.
    betas: tuple[str, ...] = ()


# ---- stream events (provider -> agent) ----------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True)
class ToolCallStart:
    id: str
    name: str


@dataclass(frozen=True)
class ToolCallDelta:
    id: str
    arguments_delta: str


@dataclass(frozen=True)
class ServerToolActivity:
    """A provider-run tool (web search) did something worth showing."""

    name: str
    summary: str


@dataclass(frozen=True)
class MessageComplete:
    message: Message
    usage: Usage
    stop_reason: StopReason
    # What a compaction on the server cost, when the provider reports it apart from ``usage``
    # (Anthropic's ``usage.iterations`` entries of type ``compaction``).
    compaction_usage: Usage | None = None


def completed(
    content: list[ContentBlock],
    *,
    model: str,
    provider: str,
    stop: StopReason,
    usage: Usage,
    compaction_usage: Usage | None = None,
) -> MessageComplete:
    """The end of every stream: the whole assistant message, with its usage and stop reason."""
    message = Message(
        role="assistant", content=content, model=model, provider=provider, stop_reason=stop, usage=usage
    )
    return MessageComplete(message=message, usage=usage, stop_reason=stop, compaction_usage=compaction_usage)


StreamEvent = TextDelta | ThinkingDelta | ToolCallStart | ToolCallDelta | ServerToolActivity | MessageComplete


def merge_deltas(events: list[StreamEvent]) -> list[StreamEvent]:
    """Consecutive deltas of one stream (reply text, thinking, one tool call's arguments) as one.

    A provider merges what one read of the body brought: a reply that arrives faster than it
    is read (a fast server, or a backlog after a pause) then costs the agent and the screen an
    event per read, not one per token. Order and text are unchanged."""
    if len(events) < 2:
        return events
    out: list[StreamEvent] = []
    run: list[str] = []  # the texts of the deltas merged into out[-1]
    run_key: object = None
    for event in events:
        key, text = _delta_part(event)
        if key is not None and key == run_key:
            run.append(text)
            continue
        if len(run) > 1:
            out[-1] = _joined(out[-1], run)
        out.append(event)
        run, run_key = [text], key
    if len(run) > 1:
        out[-1] = _joined(out[-1], run)
    return out


def _delta_part(event: StreamEvent) -> tuple[object, str]:
    if isinstance(event, TextDelta):
        return "text", event.text
    if isinstance(event, ThinkingDelta):
        return "thinking", event.text
    if isinstance(event, ToolCallDelta):
        return ("tool", event.id), event.arguments_delta
    return None, ""


def _joined(event: StreamEvent, parts: list[str]) -> StreamEvent:
    text = "".join(parts)
    if isinstance(event, ToolCallDelta):
        return ToolCallDelta(event.id, text)
    if isinstance(event, ThinkingDelta):
        return ThinkingDelta(text)
    return TextDelta(text)


class Provider(Protocol):
    """One configured provider endpoint."""

    name: str

    def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        """Stream one assistant message. Raises ``ProviderError``."""
        ...

    async def list_models(self) -> list[str]:
        """Model ids the endpoint offers (used by compatible/local providers and checks)."""
        ...

    async def aclose(self) -> None: ...
