"""The provider-neutral script vocabulary: replies, tool calls and faults.

A test queues these on a ``FakeServer``; each request pops the next one and the server renders
it in the wire format of the endpoint that was hit (Anthropic Messages, OpenAI Responses or
Chat Completions). The same objects load from JSON scenario files (``load_scenario``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

# Stop reasons in the neutral vocabulary (core.providers.types.StopReason values).
StopName = Literal["end_turn", "tool_use", "max_tokens", "refusal", "pause_turn", "stop_sequence", "compaction"]
STOP_NAMES = ("end_turn", "tool_use", "max_tokens", "refusal", "pause_turn", "stop_sequence")

FaultKind = Literal[
    "overloaded",  # 529 Anthropic / 503 OpenAI
    "server_error",  # 500
    "rate_limit",  # 429 with retry-after
    "auth",  # 401
    "permission",  # 403
    "not_found",  # 404
    "bad_request",  # 400
    "context_length",  # 400 saying the prompt is too long
    "disconnect",  # the connection is cut (after N events, or before any response)
    "malformed",  # a garbage SSE data line mid stream
    "stall",  # the stream goes silent for S seconds, then carries on
    "hang",  # no response at all for S seconds (not even headers), then the reply
]

STATUS_FAULTS = frozenset(
    {"overloaded", "server_error", "rate_limit", "auth", "permission", "not_found", "bad_request", "context_length"}
)
STREAM_FAULTS = frozenset({"disconnect", "malformed", "stall", "hang"})
FAULT_KINDS = STATUS_FAULTS | STREAM_FAULTS

USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")

# A request matcher: a callable on the RecordedRequest, or a dict of expected values where the
# keys "path" and "method" test the request line and any other key tests the JSON body's
# top-level field (e.g. {"stream": False} or {"model": "claude-haiku-4-5"}).
Match = Callable[[Any], bool] | Mapping[str, Any] | None


@dataclass(frozen=True)
class ToolCall:
    name: str
    # A dict is sent as JSON; a str is sent verbatim (so a test can send invalid JSON).
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class WebSearch:
    """A provider-run web search inside a reply (Anthropic server_tool_use + result block,
    OpenAI web_search_call item; Chat Completions has none and skips it)."""

    query: str
    results: tuple[tuple[str, str], ...] = ()  # (title, url)


@dataclass(frozen=True)
class Reply:
    """One scripted assistant message."""

    text: str | None = None
    thinking: str | None = None
    # Anthropic only: a redacted_thinking block with this opaque data (other formats skip it).
    redacted_thinking: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    web_searches: tuple[WebSearch, ...] = ()
    # Neutral usage (see USAGE_FIELDS); None = estimated from request and reply sizes.
    usage: Mapping[str, int] | None = None
    stop: StopName | None = None  # None = "tool_use" if tool_calls else "end_turn"
    chunk_size: int | None = 16  # characters per delta; None = one delta per block (instant)
    delay_per_event: float = 0.0  # seconds slept before each SSE event
    model: str | None = None  # model id to report; None = echo the request's model
    match: Match = None  # only answer requests this matches (None = any)
    # Server compaction (set by the server, compaction.py): the wire block / item that opens
    # the reply, and its usage (Anthropic's ``usage.iterations`` entry).
    compaction: Mapping[str, Any] | None = None
    compaction_usage: Mapping[str, int] | None = None

    @property
    def stop_reason(self) -> str:
        if self.stop:
            return self.stop
        return "tool_use" if self.tool_calls else "end_turn"


@dataclass(frozen=True)
class Fault:
    """A scripted failure."""

    kind: FaultKind
    # For stream faults (and status faults sent as an in-stream error event): how many SSE
    # events go out before the fault. None for a status fault = plain HTTP error response.
    after_events: int | None = None
    seconds: float = 0.0  # stall length
    retry_after: float | None = None  # rate_limit: retry-after header (seconds)
    message: str | None = None  # error message override
    # The content streamed before a stream fault hits.
    reply: Reply | None = None
    match: Match = None

    @property
    def base_reply(self) -> Reply:
        if self.reply is not None:
            return self.reply
        return Reply(text="This reply is cut short by a scripted fault, part way through.", chunk_size=8)


@dataclass(frozen=True)
class Raw:
    """A hand-written response sent exactly as given: an SSE stream (``chunks`` are written one
    by one, in order, as separate HTTP chunks) or any other body. For feeding clients wire
    variants the neutral renderers never produce (missing ``event:`` lines, pings, index gaps,
    unknown event types, ...)."""

    chunks: tuple[bytes, ...]
    status: int = 200
    content_type: str = "text/event-stream; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    match: Match = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(frozen=True)
class Respond:
    """An answer computed from the request: ``fn(RecordedRequest)`` returns the ``Reply``,
    ``Fault`` or ``Raw`` to send (a fake model that reads what it is sent, e.g. a summariser)."""

    fn: Callable[[Any], Reply | Fault | Raw]
    match: Match = None


def respond(fn: Callable[[Any], Reply | Fault | Raw], *, match: Match = None) -> Respond:
    """``respond(lambda request: reply(text=...), match=...)``: computed per request."""
    return Respond(fn=fn, match=match)


ScriptItem = Reply | Fault | Raw | Respond


def _usage_dict(usage: Any, kwargs: Mapping[str, int]) -> dict[str, int] | None:
    if usage is None and not kwargs:
        return None
    merged: dict[str, int] = {}
    if usage is not None:
        if hasattr(usage, "model_dump"):
            usage = usage.model_dump()
        merged.update({k: int(v) for k, v in dict(usage).items()})
    merged.update({k: int(v) for k, v in kwargs.items()})
    unknown = set(merged) - set(USAGE_FIELDS)
    if unknown:
        raise ValueError(f"unknown usage field(s) {sorted(unknown)}; use {', '.join(USAGE_FIELDS)}")
    return merged


def tool_call(name: str, arguments: Mapping[str, Any] | str | None = None, id: str | None = None) -> ToolCall:
    """A tool call in a reply. ``arguments`` as a dict (sent as JSON) or a raw string."""
    return ToolCall(name=name, arguments={} if arguments is None else arguments, id=id)


def web_search(query: str, results: Iterable[tuple[str, str]] = ()) -> WebSearch:
    """A server-side web search in a reply: ``web_search("textual", [("Textual", "https://textual.textualize.io")])``."""
    return WebSearch(query=query, results=tuple((str(t), str(u)) for t, u in results))


def reply(
    text: str | None = None,
    thinking: str | None = None,
    tool_calls: Iterable[ToolCall] = (),
    usage: Any = None,
    stop: StopName | None = None,
    chunk_size: int | None = 16,
    delay_per_event: float = 0.0,
    *,
    redacted_thinking: str | None = None,
    web_searches: Iterable[WebSearch] = (),
    instant: bool = False,
    model: str | None = None,
    match: Match = None,
    **usage_kwargs: int,
) -> Reply:
    """An assistant message. Usage as a dict / core Usage, or as keyword arguments
    (``input_tokens=``, ``output_tokens=``, ``cache_read_tokens=``, ``cache_write_tokens=``,
    ``reasoning_tokens=``). ``instant=True`` sends each block in one delta."""
    if stop is not None and stop not in STOP_NAMES:
        raise ValueError(f"unknown stop {stop!r}; use one of {', '.join(STOP_NAMES)}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError("chunk_size must be a positive number of characters, or None for one delta")
    tool_calls = tuple(tool_calls)
    for call in tool_calls:
        if not isinstance(call, ToolCall):
            raise TypeError(f"tool_calls takes tool_call(...) items, not {call!r}")
    return Reply(
        text=text,
        thinking=thinking,
        redacted_thinking=redacted_thinking,
        tool_calls=tool_calls,
        web_searches=tuple(web_searches),
        usage=_usage_dict(usage, usage_kwargs),
        stop=stop,
        chunk_size=None if instant else chunk_size,
        delay_per_event=delay_per_event,
        model=model,
        match=match,
    )


def fault(
    kind: FaultKind,
    *,
    after_events: int | None = None,
    seconds: float = 0.0,
    retry_after: float | None = None,
    message: str | None = None,
    reply: Reply | None = None,
    match: Match = None,
) -> Fault:
    """A failure. Status kinds answer with the provider's HTTP error (or, with ``after_events``,
    an in-stream error event); ``disconnect``/``malformed``/``stall`` break a started stream
    (``disconnect`` with ``after_events=None`` closes the connection without any response);
    ``hang`` sends nothing for ``seconds`` and then answers with ``reply`` (a timeout before the
    response starts)."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(sorted(FAULT_KINDS))}")
    if kind in ("malformed", "stall") and after_events is None:
        after_events = 2
    return Fault(
        kind=kind,
        after_events=after_events,
        seconds=seconds,
        retry_after=retry_after,
        message=message,
        reply=reply,
        match=match,
    )


def sse_chunk(data: Any, event: str | None = None) -> bytes:
    """One SSE event: ``event: NAME`` (when given) and one ``data:`` line with ``data`` as JSON
    (a str is sent as it is)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def raw(
    events: Iterable[Any] = (),
    *,
    body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    event_lines: bool = True,
    content_type: str | None = None,
    match: Match = None,
) -> Raw:
    """A response written by hand.

    ``events`` (an SSE stream), each one of: a dict, sent as ``data:`` JSON with an ``event:``
    line naming its ``"type"`` (unless ``event_lines=False`` or it has no type); a
    ``(name, data)`` pair, with that event name (``None`` = no event line); a str or bytes,
    written verbatim (include the blank line that ends an event, e.g. ``"data: [DONE]\\n\\n"``).

    ``body`` instead sends one non-streaming body (a dict/list as JSON, str/bytes verbatim),
    ``application/json`` unless ``content_type`` says otherwise. ``status`` and ``headers``
    apply to both.
    """
    chunks: list[bytes] = []
    if body is not None:
        if events:
            raise ValueError("raw() takes events or body, not both")
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        chunks = [data]
        kind = content_type or "application/json"
    else:
        for event in events:
            if isinstance(event, bytes):
                chunks.append(event)
            elif isinstance(event, str):
                chunks.append(event.encode())
            elif isinstance(event, tuple) and len(event) == 2:
                chunks.append(sse_chunk(event[1], event[0]))
            elif isinstance(event, Mapping):
                name = event.get("type") if event_lines else None
                chunks.append(sse_chunk(dict(event), name if isinstance(name, str) else None))
            else:
                raise TypeError(f"raw() events are dicts, (name, data) pairs, str or bytes; not {event!r}")
        kind = content_type or "text/event-stream; charset=utf-8"
    return Raw(
        chunks=tuple(chunks),
        status=status,
        content_type=kind,
        headers=tuple((headers or {}).items()),
        match=match,
    )


def with_match(item: ScriptItem, match: Match) -> ScriptItem:
    return replace(item, match=match)


# ---- JSON scenarios ------------------------------------------------------------------------


def item_from_json(data: Mapping[str, Any]) -> ScriptItem:
    """One scenario entry: {"text": ..., "tool_calls": [{"name", "arguments", "id"}], ...} or
    {"fault": "overloaded", "after_events": 3, ...}. Keys are ``reply()``'s and ``fault()``'s
    keyword arguments, plus "repeat" (the text repeated N times), "web_searches" as
    [{"query", "results": [[title, url]]}] and "match" as a dict."""
    data = dict(data)
    match = data.pop("match", None)
    if "fault" in data:
        kind = data.pop("fault")
        base = data.pop("reply", None)
        return fault(kind, reply=item_from_json(base) if base else None, match=match, **data)  # type: ignore[arg-type]
    calls = [
        tool_call(c["name"], c.get("arguments"), c.get("id")) for c in data.pop("tool_calls", [])
    ]
    repeat = int(data.pop("repeat", 1))  # "text" repeated N times (long answers for benchmarks)
    if repeat != 1 and isinstance(data.get("text"), str):
        data["text"] = data["text"] * repeat
    searches = [web_search(w["query"], [tuple(r) for r in w.get("results", [])]) for w in data.pop("web_searches", [])]
    data["web_searches"] = searches
    unknown = set(data) - {"web_searches",
        "text", "thinking", "redacted_thinking", "usage", "stop", "chunk_size", "delay_per_event", "instant", "model"
    }
    if unknown:
        raise ValueError(f"unknown scenario key(s) {sorted(unknown)} in {data}")
    return reply(tool_calls=calls, match=match, **data)


@dataclass
class Scenario:
    items: list[ScriptItem]
    default: ScriptItem | None = None
    loop: bool = False
    rules: list[ScriptItem] = field(default_factory=list)  # standing answers (each with a "match")


def load_scenario(source: str | Path | list[Any] | Mapping[str, Any]) -> Scenario:
    """A scenario from a JSON file path or parsed JSON: either a list of entries, or
    {"replies": [...], "default": {...}, "loop": bool, "rules": [{..., "match": {...}}]}."""
    if isinstance(source, str | Path):
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    else:
        data = source
    if isinstance(data, list):
        return Scenario(items=[item_from_json(d) for d in data])
    items = [item_from_json(d) for d in data.get("replies", [])]
    default = item_from_json(data["default"]) if data.get("default") else None
    unknown = set(data) - {"replies", "default", "loop", "rules"}
    if unknown:
        raise ValueError(f"unknown scenario key(s) {sorted(unknown)}; use replies, default, loop, rules")
    rules = [item_from_json(d) for d in data.get("rules", [])]
    return Scenario(items=items, default=default, loop=bool(data.get("loop", False)), rules=rules)
