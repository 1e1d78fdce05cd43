"""The fake provider server: a loopback HTTP/1.1 server that answers model requests from a script.

It runs an asyncio server on its own thread (its own event loop), so sync tests, async tests and
other processes (``python -m tests.fake_server``) can all talk to it. Each model request pops
the next scripted ``Reply`` or ``Fault`` and the server renders it in the wire format of the
endpoint that was hit. Every request is recorded for assertions and for the protocol checker.

Endpoints:

- ``POST /v1/messages`` (Anthropic), ``POST /v1/messages/count_tokens``
- ``POST /v1/responses`` (OpenAI Responses), ``POST /v1/chat/completions`` (Chat Completions)
- ``GET /v1/models`` (Anthropic format when the request carries ``anthropic-version``, else
  OpenAI's), ``GET /v1/models/{id}``, Ollama's ``GET /api/tags`` and ``POST /api/show``,
  ``GET /health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import traceback
import urllib.parse
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from tests.fake_server import compaction, rules, views
from tests.fake_server.caching import PromptCache
from tests.fake_server.rules import DEFAULT_MODELS, ModelSpec, Rejection, spec_for
from tests.fake_server.script import (
    STATUS_FAULTS,
    Fault,
    Match,
    Raw,
    Reply,
    Respond,
    ScriptItem,
)
from tests.fake_server.wire import WIRES, Ids, Issued, Wire

MODEL_ENDPOINTS = {
    "/v1/messages": "anthropic",
    "/v1/responses": "responses",
    "/v1/chat/completions": "chat",
}

_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    418: "I'm a teapot", 599: "Fake Server Error", 429: "Too Many Requests", 500: "Internal Server Error",
    503: "Service Unavailable", 529: "Overloaded",
}


@dataclass
class RecordedRequest:
    """One request the server received (recorded before it was answered)."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any  # the parsed JSON body, or None
    query: str = ""
    raw_body: bytes = b""
    # "anthropic" | "responses" | "chat" for model requests, else None.
    format: str | None = None
    # What answered it: the Reply / Fault, or None (script exhausted, or not a model request).
    answer: ScriptItem | None = None
    index: int = 0
    # The error body sent when the named model's rules refused the request (rules.py).
    rejection: dict[str, Any] | None = None

    @property
    def json(self) -> Any:
        return self.body

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def api_key(self) -> str | None:
        """The key the client sent (``x-api-key``, or ``Authorization: Bearer``)."""
        bearer = self.headers.get("authorization", "")
        return self.headers.get("x-api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else None)

    # Provider-neutral views of the body (see views.py); empty for non-model requests.

    def _view(self, fn: Any, empty: Any) -> Any:
        if self.format is None or not isinstance(self.body, dict):
            return empty
        return fn(self.format, self.body)

    @property
    def tool_calls(self) -> list[views.ToolCallView]:
        """Assistant tool calls in the history: ``.id``, ``.name``, ``.arguments``, ``.input``."""
        return self._view(views.tool_calls, [])

    @property
    def tool_results(self) -> list[views.ToolResultView]:
        """Tool results in the history: ``.id``, ``.text``, ``.is_error`` (None on OpenAI), ``.content``."""
        return self._view(views.tool_results, [])

    @property
    def system(self) -> str:
        return self._view(views.system_text, "")

    @property
    def user_texts(self) -> list[str]:
        return self._view(views.user_texts, [])

    @property
    def tool_names(self) -> list[str]:
        return self._view(views.tool_names, [])

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def __repr__(self) -> str:
        answer = type(self.answer).__name__ if self.answer is not None else None
        kind = f" {self.answer.kind}" if isinstance(self.answer, Fault) else ""
        return f"<RecordedRequest #{self.index} {self.method} {self.path} stream={self.stream} answer={answer}{kind}>"


def matches(match: Match, request: RecordedRequest) -> bool:
    if match is None:
        return True
    if callable(match):
        return bool(match(request))
    body = request.body if isinstance(request.body, dict) else {}
    for key, expected in match.items():
        if key == "path":
            actual: Any = request.path
        elif key == "method":
            actual = request.method
        elif key == "stream":
            actual = request.stream
        else:
            actual = body.get(key)
        if actual != expected:
            return False
    return True


@dataclass
class _Rule:
    item: ScriptItem
    match: Match


@dataclass
class _HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool = True


class _ClientGone(Exception):
    pass


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    written_events: int = 0
    headers_sent: bool = False

    def gone(self) -> bool:
        return self.writer.is_closing() or self.reader.at_eof() or self.reader.exception() is not None

    def abort(self) -> None:
        transport = self.writer.transport
        if transport is not None:
            transport.abort()


class FakeServer:
    """A scripted fake of the Anthropic and OpenAI (and OpenAI-compatible) HTTP APIs.

    Use as a context manager (sync or async) or call ``start()`` / ``stop()``.
    """

    # Every server ever started in this process (the test fixtures check the ones a test made).
    started: ClassVar[weakref.WeakSet[FakeServer]] = weakref.WeakSet()

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default_reply: ScriptItem | None = None,
        instant: bool = False,
        loop_script: bool = False,
        api_key: str | None = None,
        chat_reasoning_field: str = "reasoning_content",
        models: list[str | ModelSpec] | None = None,
        enforce_rules: bool = True,
        cache: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        # What to answer when the script is empty; None = a loud 418 "script exhausted" error.
        self.default_reply: ScriptItem | None = default_reply
        # Send every block in one delta with no delays (benchmarks of everything but streaming).
        self.instant = instant
        # Re-queue each consumed item at the end (endless demo sessions).
        self.loop_script = loop_script
        # When set, requests must carry this key (x-api-key or Bearer), else a 401.
        self.api_key = api_key
        # The models it lists and serves: ids (known ones get their real rules) or ModelSpecs.
        self.models: list[str | ModelSpec] = list(models or DEFAULT_MODELS)
        # Reject what the named model's API would reject (rules.py); 404 for unlisted models.
        self.enforce_rules = enforce_rules
        # Simulate prompt caching (caching.py): unscripted usage reports cache reads and writes.
        self.cache = PromptCache() if cache else None
        # The largest page GET /v1/models (Anthropic) returns, whatever the limit asked.
        self.max_page = 1000
        self.ollama_context_length = 32768
        self.requests: list[RecordedRequest] = []
        # Exceptions raised while answering (server bugs, unrenderable scripts); the test
        # fixtures fail a test that left any.
        self.errors: list[str] = []
        self._queue: list[ScriptItem] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ids = Ids()
        # Thinking blocks and reasoning items handed out, for carry-forward checks.
        self.issued = Issued()
        self._wires: dict[str, Wire] = {
            name: cls(self._ids, chat_reasoning_field, self.issued) for name, cls in WIRES.items()
        }
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The Anthropic SDK base URL (no /v1)."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """The OpenAI SDK base URL (with /v1); also what OpenAI-compatible servers use."""
        return f"{self.base_url}/v1"

    def start(self) -> FakeServer:
        if self._thread is not None:
            return self
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name=f"fake-provider-{id(self):x}", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake provider server did not start within 10 s")
        if self._start_error is not None:
            raise RuntimeError(f"the fake provider server failed to start: {self._start_error}") from self._start_error
        FakeServer.started.add(self)
        return self

    def stop(self) -> None:
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None or loop is None or stop_event is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(stop_event.set)
        thread.join(10)
        self._thread = None

    def serve_forever(self) -> None:
        """Block until interrupted (for ``python -m tests.fake_server``)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeServer:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by start()
            self._start_error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        try:
            server = await asyncio.start_server(self._serve_connection, self.host, self.port)
        except OSError as exc:
            self._start_error = exc
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop_event.wait()
            server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=2)

    # ---- scripting ------------------------------------------------------------------------

    def script(self, *items: ScriptItem) -> FakeServer:
        """Queue replies/faults; each model request consumes the first one it matches."""
        for item in items:
            if not isinstance(item, Reply | Fault | Raw | Respond):
                raise TypeError(
                    f"script() takes reply(...), fault(...), raw(...) or respond(...) items, not {type(item).__name__}"
                )
        with self._lock:
            self._queue.extend(items)
        return self

    def add_rule(self, item: ScriptItem, match: Match = None) -> FakeServer:
        """Answer every request that ``match`` accepts with ``item`` (checked before the queue,
        never consumed), e.g. ``add_rule(reply(text="A title"), match={"stream": False})``."""
        with self._lock:
            self._rules.append(_Rule(item, match if match is not None else item.match))
        return self

    @property
    def pending(self) -> list[ScriptItem]:
        """Items still queued."""
        with self._lock:
            return list(self._queue)

    def clear(self) -> None:
        """Forget queued items, rules and recorded requests."""
        with self._lock:
            self._queue.clear()
            self._rules.clear()
            self.requests.clear()
            self.errors.clear()
            self.issued.anthropic_thinking.clear()
            self.issued.responses_reasoning.clear()

    def discard_pending(self) -> list[ScriptItem]:
        """Forget queued items no request took (a turn that ended early, e.g. on a "no"); the
        recorded requests stay. Returns what was dropped."""
        with self._lock:
            dropped = list(self._queue)
            self._queue.clear()
        return dropped

    def assert_script_consumed(self) -> None:
        left = self.pending
        assert not left, f"{len(left)} scripted item(s) were never requested: {left}"

    def model_requests(self, format: str | None = None) -> list[RecordedRequest]:
        """Recorded model requests (optionally only one format: anthropic/responses/chat)."""
        with self._lock:
            return [r for r in self.requests if r.format and (format is None or r.format == format)]

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self.requests:
                raise AssertionError("the fake server has received no request")
            return self.requests[-1]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests were recorded (from sync code or threads)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} request(s) within {timeout} s, got {len(self.requests)}: {self.requests}"
                    )
                self._changed.wait(remaining)
            return list(self.requests)

    async def wait_for_requests_async(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:  # noqa: ASYNC109
        """Like ``wait_for_requests`` without blocking the caller's event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
                got = list(self.requests)
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} request(s) within {timeout} s, got {len(got)}: {got}")
            await asyncio.sleep(0.005)

    def assert_protocol_valid(self) -> None:
        """Check every recorded model request with the protocol checker."""
        from tests.fake_server.protocol import assert_requests_valid

        with self._lock:
            recorded = list(self.requests)
        assert_requests_valid(recorded, self.issued)

    def assert_no_errors(self) -> None:
        """Fail if answering any request raised (a fake-server bug or an unrenderable script)."""
        assert not self.errors, "the fake server failed while answering:\n" + "\n".join(self.errors)

    def _take(self, request: RecordedRequest) -> ScriptItem | None:
        with self._lock:
            for rule in self._rules:
                if matches(rule.match, request):
                    return rule.item
            for i, item in enumerate(self._queue):
                if matches(item.match, request):
                    del self._queue[i]
                    if self.loop_script:
                        self._queue.append(item)
                    return item
            return self.default_reply

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            request.index = len(self.requests)
            self.requests.append(request)
            self._changed.notify_all()

    # ---- HTTP -----------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        conn = _Conn(reader, writer)
        try:
            while True:
                http = await self._read_request(reader)
                if http is None:
                    break
                keep = await self._dispatch(http, conn)
                if not keep or not http.keep_alive:
                    break
        except (_ClientGone, ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            conn.abort()
            return
        except Exception as exc:  # a bug in the fake server or a script it cannot render
            self.errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            with contextlib.suppress(Exception):
                if conn.written_events == 0 and not conn.headers_sent:
                    data = json.dumps({"error": {"message": f"fake server error: {exc!r}", "type": "fake_server"}})
                    writer.write(self._head(599, {"content-type": "application/json",
                                                  "content-length": str(len(data)), "x-should-retry": "false"}))
                    writer.write(data.encode())
                    await writer.drain()
            conn.abort()
            return
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
        with contextlib.suppress(Exception):
            writer.close()
            await writer.wait_closed()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> _HttpRequest | None:
        line = await reader.readline()
        while line in (b"\r\n", b"\n"):
            line = await reader.readline()
        if not line:
            return None
        parts = line.decode("latin-1").strip().split()
        if len(parts) < 2:
            return None
        method, target = parts[0], parts[1]
        version = parts[2] if len(parts) > 2 else "HTTP/1.1"
        headers: dict[str, str] = {}
        while True:
            hline = await reader.readline()
            if hline in (b"\r\n", b"\n", b""):
                break
            name, _, value = hline.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readline()).strip().split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                body += await reader.readexactly(size)
                await reader.readline()
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and not (version == "HTTP/1.0" and connection != "keep-alive")
        return _HttpRequest(method.upper(), target, headers, body, keep_alive)

    async def _dispatch(self, http: _HttpRequest, conn: _Conn) -> bool:
        path, _, query = http.target.partition("?")
        body: Any = None
        if http.body:
            try:
                body = json.loads(http.body)
            except ValueError:
                body = None
        fmt = MODEL_ENDPOINTS.get(path) if http.method == "POST" else None
        request = RecordedRequest(http.method, path, http.headers, body, query, http.body, fmt)
        if fmt is None:
            self._record(request)
            if self.api_key is not None and path.startswith("/v1/") and not self._key_ok(request):
                # The real APIs authenticate the model list too (connection checks rely on it).
                wire = self._wires["anthropic" if request.header("anthropic-version") else "chat"]
                status, payload = wire.error("auth", f"The fake server expected API key {self.api_key!r}.")
                await self._send_json(conn, status, payload)
                return True
            status, payload = self._info_endpoint(request)
            await self._send_json(conn, status, payload)
            return True
        wire = self._wires[fmt]
        if self.api_key is not None and not self._key_ok(request):
            self._record(request)
            status, payload = wire.error("auth", f"The fake server expected API key {self.api_key!r}.")
            await self._send_json(conn, status, payload)
            return True
        if not isinstance(body, dict):
            self._record(request)
            status, payload = wire.error("bad_request", "The request body is not a JSON object.")
            await self._send_json(conn, status, payload)
            return True
        if self.enforce_rules:
            try:
                rules.check_request(fmt, self.specs(), body)
                self._check_compaction(fmt, body, request)
            except Rejection as rejection:
                request.rejection = rejection.body
                self._record(request)
                await self._send_json(conn, rejection.status, rejection.body)
                return True
        compacted = self._compaction(fmt, body)
        if compacted is not None and fmt == "anthropic" and "compaction" in body:
            # On demand: the server answers with the compaction alone (no script item is used).
            item: ScriptItem | None = Reply(
                compaction=compacted.block, stop="compaction", chunk_size=None,
                usage={"input_tokens": 0, "output_tokens": 0}, compaction_usage=compacted.usage,
            )
        else:
            item = self._take(request)
        if isinstance(item, Respond):
            item = item.fn(request)
        if compacted is None and isinstance(item, Reply) and item.usage is None and "context_management" in body:
            # The input it reports is the count it held against the threshold.
            # The input it reports is also what the prompt cache splits (with caching on).
            prompt_tokens = compaction.input_tokens(fmt, body)
            usage = {"input_tokens": prompt_tokens, "output_tokens": max(1, len(item.text or "") // 4)}
            if self.cache is not None:
                usage.update(self.cache.usage(fmt, body, prompt_tokens))
            item = replace(item, usage=usage)
        if compacted is not None and isinstance(item, Reply) and item.compaction is None:
            usage = item.usage or {
                "input_tokens": compacted.tokens_after,
                "output_tokens": max(1, len(item.text or "") // 4),
            }
            if self.cache is not None and item.usage is None:
                # A compacted context is a new prefix: nothing of it is read from the cache.
                usage |= {"cache_read_tokens": 0, "cache_write_tokens": 0}
            item = replace(
                item,
                compaction=compacted.block,
                compaction_usage=compacted.usage if fmt == "anthropic" else None,
                usage=usage,
            )
        if isinstance(item, Reply) and self.cache is not None and item.usage is None:
            item = replace(item, usage=self._cached_usage(item, fmt, body))
        request.answer = item
        self._record(request)
        if item is None:
            status, payload = wire.script_exhausted(
                f"fake server: the script ran out at request #{request.index} ({http.method} {path}); "
                "queue more replies with server.script(...) or set server.default_reply"
            )
            await self._send_json(conn, status, payload)
            return True
        if isinstance(item, Raw):
            return await self._answer_raw(conn, item)
        if isinstance(item, Reply):
            return await self._answer_reply(conn, wire, self._effective(item), body, request.stream)
        return await self._answer_fault(conn, wire, item, body, request.stream)

    def _check_compaction(self, fmt: str, body: dict[str, Any], request: RecordedRequest) -> None:
        """The server-compaction rules (compaction.py) of the model the request names."""
        if fmt not in ("anthropic", "responses") or not isinstance(body.get("model"), str):
            return
        spec = self.specs().get(body["model"])
        caps = spec.compaction if spec is not None else ()
        try:
            if fmt == "anthropic":
                compaction.check_anthropic(caps, body, request.headers)
            else:
                compaction.check_responses(caps, body)
        except compaction.CompactionRefused as refused:
            if fmt == "anthropic":
                raise rules._anthropic_error(refused.message) from None
            raise rules._openai_error(refused.message, refused.param, "invalid_request_error") from None

    def _compaction(self, fmt: str, body: dict[str, Any]) -> compaction.Compacted | None:
        if fmt == "anthropic":
            return compaction.compact(fmt, body, "", force="compaction" in body)
        if fmt == "responses":
            return compaction.compact(fmt, body, self._ids.new("cmp"))
        return None

    def _cached_usage(self, item: Reply, fmt: str, body: dict[str, Any]) -> dict[str, int]:
        from tests.fake_server.wire import neutral_usage

        assert self.cache is not None
        usage = neutral_usage(item, body)
        usage.update(self.cache.usage(fmt, body, usage["input_tokens"]))
        return usage

    def _effective(self, item: Reply) -> Reply:
        return replace(item, chunk_size=None, delay_per_event=0.0) if self.instant else item

    def _key_ok(self, request: RecordedRequest) -> bool:
        return request.api_key == self.api_key

    # ---- answers --------------------------------------------------------------------------

    async def _answer_reply(self, conn: _Conn, wire: Wire, item: Reply, body: dict[str, Any], stream: bool) -> bool:
        if not stream:
            await self._send_json(conn, 200, wire.json_body(item, body))
            return True
        await self._start_sse(conn)
        await self._send_events(conn, wire.stream(item, body), item.delay_per_event)
        await self._end_sse(conn)
        return True

    async def _answer_raw(self, conn: _Conn, item: Raw) -> bool:
        extra = dict(item.headers)
        if not item.content_type.startswith("text/event-stream"):
            await self._send_raw_json(conn, item.status, item.body, {"content-type": item.content_type, **extra})
            return True
        headers = {
            "content-type": item.content_type,
            "cache-control": "no-cache",
            "transfer-encoding": "chunked",
            **self._common_headers(),
            **extra,
        }
        conn.headers_sent = True
        conn.writer.write(self._head(item.status, headers))
        await conn.writer.drain()
        await self._send_events(conn, iter(item.chunks), 0.0)
        await self._end_sse(conn)
        return True

    async def _answer_fault(self, conn: _Conn, wire: Wire, item: Fault, body: dict[str, Any], stream: bool) -> bool:
        kind = item.kind
        base = self._effective(item.base_reply)
        if kind in STATUS_FAULTS and (item.after_events is None or not stream):
            status, payload = wire.error(kind, item.message)
            headers = {}
            if kind == "rate_limit":
                retry = 0.01 if item.retry_after is None else item.retry_after
                headers = {"retry-after": _seconds(retry), "retry-after-ms": str(int(retry * 1000))}
            await self._send_json(conn, status, payload, headers)
            return True
        if kind == "disconnect" and item.after_events is None:
            conn.abort()
            return False
        if kind == "hang":
            await self._stall(conn, item.seconds)
            return await self._answer_reply(conn, wire, base, body, stream)
        if not stream:
            return await self._fault_json(conn, wire, item, base, body)
        after = item.after_events or 0
        events = wire.stream(base, body)
        await self._start_sse(conn)
        await self._send_events(conn, _take(events, after), base.delay_per_event)
        if kind == "disconnect":
            await conn.writer.drain()
            conn.abort()
            return False
        if kind == "malformed":
            await self._send_events(conn, iter([wire.malformed()]), 0.0)
            await self._end_sse(conn)
            return True
        if kind == "stall":
            await self._stall(conn, item.seconds)
            await self._send_events(conn, events, base.delay_per_event)
            await self._end_sse(conn)
            return True
        # A status fault inside a started stream: the provider's error event, then the end.
        await self._send_events(conn, iter(wire.stream_error(kind, item.message)), 0.0)
        await self._end_sse(conn)
        return True

    async def _fault_json(self, conn: _Conn, wire: Wire, item: Fault, base: Reply, body: dict[str, Any]) -> bool:
        data = json.dumps(wire.json_body(base, body)).encode()
        if item.kind == "stall":
            await self._stall(conn, item.seconds)
            await self._send_raw_json(conn, 200, data)
            return True
        if item.kind == "malformed":
            await self._send_raw_json(conn, 200, data[: len(data) // 2] + b"\x00 not json")
            return True
        # disconnect: headers promise the whole body, half of it arrives.
        head = self._head(200, {"content-type": "application/json", "content-length": str(len(data))})
        conn.headers_sent = True
        conn.writer.write(head + data[: len(data) // 2])
        await conn.writer.drain()
        conn.abort()
        return False

    async def _stall(self, conn: _Conn, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if conn.gone():
                raise _ClientGone
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    # ---- low-level writing ----------------------------------------------------------------

    @staticmethod
    def _head(status: int, headers: Mapping[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _common_headers(self) -> dict[str, str]:
        return {"request-id": self._ids.new("req"), "x-request-id": self._ids.new("req"), "connection": "keep-alive"}

    async def _send_json(self, conn: _Conn, status: int, payload: Any, extra: Mapping[str, str] | None = None) -> None:
        await self._send_raw_json(conn, status, json.dumps(payload).encode(), extra)

    async def _send_raw_json(self, conn: _Conn, status: int, data: bytes, extra: Mapping[str, str] | None = None) -> None:
        headers = {
            "content-type": "application/json",
            "content-length": str(len(data)),
            **self._common_headers(),
            **(extra or {}),
        }
        if status == 418 or status < 400:
            headers["x-should-retry"] = "false"
        conn.headers_sent = True
        conn.writer.write(self._head(status, headers) + data)
        await conn.writer.drain()

    async def _start_sse(self, conn: _Conn) -> None:
        headers = {
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            "transfer-encoding": "chunked",
            **self._common_headers(),
        }
        conn.headers_sent = True
        conn.writer.write(self._head(200, headers))
        await conn.writer.drain()

    async def _send_events(self, conn: _Conn, events: Iterator[bytes], delay: float) -> None:
        pending = 0
        for event in events:
            if delay > 0:
                await conn.writer.drain()
                await asyncio.sleep(delay)
            if conn.gone():
                raise _ClientGone
            conn.writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            conn.written_events += 1
            pending += 1
            if pending >= 32:
                pending = 0
                await conn.writer.drain()
        await conn.writer.drain()

    @staticmethod
    async def _end_sse(conn: _Conn) -> None:
        conn.writer.write(b"0\r\n\r\n")
        await conn.writer.drain()

    # ---- informational endpoints ----------------------------------------------------------

    def specs(self) -> dict[str, ModelSpec]:
        """The listed models with their rules, by id."""
        out: dict[str, ModelSpec] = {}
        for model in self.models:
            spec = spec_for(model)
            out[spec.id] = spec
        return out

    def _info_endpoint(self, request: RecordedRequest) -> tuple[int, Any]:
        path = request.path
        if request.method == "GET" and path in ("/", "/health"):
            return 200, {"status": "ok"}
        specs = self.specs()
        if request.method == "GET" and path == "/v1/models":
            if request.header("anthropic-version"):
                query = dict(urllib.parse.parse_qsl(request.query))
                return 200, rules.anthropic_page(list(specs.values()), query, self.max_page)
            # OpenAI's list (and a local server's) never holds Claude models.
            listed = [s.openai_info() for s in specs.values() if s.provider != "anthropic"]
            return 200, {"object": "list", "data": listed}
        if request.method == "GET" and path.startswith("/v1/models/"):
            model = urllib.parse.unquote(path.removeprefix("/v1/models/"))
            if model not in specs:
                wire = self._wires["anthropic" if request.header("anthropic-version") else "chat"]
                return wire.error("not_found", f"model: {model}")
            if request.header("anthropic-version"):
                return 200, specs[model].anthropic_info()
            return 200, specs[model].openai_info()
        if request.method == "POST" and path == "/v1/messages/count_tokens":
            return 200, {"input_tokens": max(1, len(request.raw_body) // 4)}
        if request.method == "GET" and path == "/api/tags":
            # Ollama serves local models only.
            return 200, {"models": [self._ollama_model(m) for m, spec in specs.items() if spec.provider == "local"]}
        if request.method == "POST" and path == "/api/show":
            return 200, {
                "modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
                "details": self._ollama_model("x")["details"],
                "model_info": {"general.architecture": "llama", "llama.context_length": self.ollama_context_length},
                "capabilities": ["completion", "tools", "thinking"],
            }
        if path in MODEL_ENDPOINTS:
            return 405, {"error": {"message": f"use POST for {path}", "type": "invalid_request_error"}}
        return 404, {"error": {"message": f"fake server: no endpoint {request.method} {path}", "type": "not_found"}}

    @staticmethod
    def _ollama_model(model: str) -> dict[str, Any]:
        return {
            "name": model, "model": model, "modified_at": "2025-01-01T00:00:00Z", "size": 1000, "digest": "0" * 64,
            "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                        "parameter_size": "8B", "quantization_level": "Q4_K_M"},
        }


def _take(events: Iterator[bytes], n: int) -> Iterator[bytes]:
    for _ in range(n):
        event = next(events, None)
        if event is None:
            return
        yield event


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


__all__ = ["FakeServer", "RecordedRequest", "matches"]
