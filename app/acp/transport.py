"""The JSON-RPC line transport of ``stoa acp``: newline-delimited JSON over stdin/stdout.

The SDK's own stdio transport drops a line that is not JSON without a word, and a line that is
JSON but not an object takes its reader down. This one answers every bad line with a JSON-RPC
error (-32700 parse error, -32600 invalid request; ``id`` null when the line has none) and keeps
reading, so a client's mistake never costs the connection.

It also owns stdout: ``protocol_streams`` moves the protocol onto a private copy of file
descriptor 1 and points descriptor 1 (and ``sys.stdout``) at stderr, so nothing printed by
Stoa, a library or a child process can corrupt the JSON-RPC stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, BinaryIO, Protocol

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
# The largest line read (an image in a prompt can be megabytes).
LINE_LIMIT = 64 * 1024 * 1024


def error_response(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def check_message(line: bytes) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(message, None) for a usable JSON-RPC message, else (None, the error response to send).
    A blank line gives (None, None): nothing to do."""
    text = line.strip()
    if not text:
        return None, None
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, error_response(
            None, PARSE_ERROR, f"Parse error: the line is not JSON ({exc}); send one JSON-RPC object per line"
        )
    if not isinstance(message, dict):
        kind = "a batch (array)" if isinstance(message, list) else type(message).__name__
        return None, error_response(
            None, INVALID_REQUEST, f"Invalid Request: got {kind}; send one JSON-RPC object per line (batches are not supported)"
        )
    request_id = message.get("id")
    has_id = "id" in message
    if has_id and not (request_id is None or (isinstance(request_id, (str, int)) and not isinstance(request_id, bool))):
        return None, error_response(None, INVALID_REQUEST, "Invalid Request: id must be a string, a number or null")
    method = message.get("method")
    if "method" in message:
        if not isinstance(method, str) or not method:
            return None, _invalid(message, "method must be a non-empty string")
        params = message.get("params")
        if params is not None and not isinstance(params, (dict, list)):
            return None, _invalid(message, "params must be an object")
        return message, None
    if not has_id:
        return None, error_response(None, INVALID_REQUEST, "Invalid Request: a message needs a method (a request or notification) or an id (a response)")
    if "result" not in message and "error" not in message:
        return None, None  # a response without a result: nothing to answer (answering a response loops)
    return message, None


def _invalid(message: dict[str, Any], why: str) -> dict[str, Any] | None:
    if "id" not in message:
        return None  # a notification gets no answer, even a bad one
    return error_response(message.get("id"), INVALID_REQUEST, f"Invalid Request: {why}")


class LineTransport:
    """The SDK's message-level ``Transport`` over a byte reader and writer.

    ``after_send`` runs after each message is written (the server uses it to send a new
    session's first updates right after the response that names the session)."""

    def __init__(self, reader: asyncio.StreamReader, writer: Sink) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._closed = False
        self.after_send: Callable[[dict[str, Any]], None] | None = None
        # Requests received and not answered yet: id -> method.
        self._open: dict[Any, str] = {}
        self._answered = asyncio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        if self._closed:
            raise ConnectionError("the ACP client has disconnected")
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogateescape")
        async with self._lock:
            self._writer.write(data + b"\n")
            await self._writer.drain()
        if "method" not in message and self._open.pop(message.get("id"), None) is not None:
            self._answered.set()
        if self.after_send is not None:
            self.after_send(message)

    async def receive(self) -> dict[str, Any] | None:
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                line = exc.partial
                if not line.strip():
                    return None
            except asyncio.LimitOverrunError:
                await self._skip_long_line()
                await self._answer(error_response(None, INVALID_REQUEST, f"Invalid Request: a line over {LINE_LIMIT // (1024 * 1024)} MB; send smaller messages"))
                continue
            message, error = check_message(line)
            if error is not None:
                await self._answer(error)
            if message is not None:
                if "method" in message and "id" in message:
                    self._open[message["id"]] = message["method"]
                return message

    async def settle(self, within: float, *, leaving: frozenset[str] = frozenset()) -> None:
        """Wait (at most ``within`` seconds) until every request received has been answered,
        except those of the ``leaving`` methods: the client closed its end after sending them,
        and it may still read the answers."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while any(method not in leaving for method in self._open.values()):
            self._answered.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._answered.wait(), remaining)
            except TimeoutError:
                return

    async def _skip_long_line(self) -> None:
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self._reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                return

    async def _answer(self, error: dict[str, Any]) -> None:
        try:
            await self.send(error)
        except (ConnectionError, OSError):
            pass

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._writer.close()
        except Exception:  # the pipe may already be gone
            pass


async def protocol_streams() -> tuple[asyncio.StreamReader, Sink]:
    """stdin as a reader, a private copy of stdout as the writer; fd 1 now goes to stderr.
    Pipes and sockets (what editors use) are read and written by the event loop; a regular
    file or terminal (``stoa acp < requests.jsonl > out``) by a thread and plain writes."""
    loop = asyncio.get_running_loop()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    except ValueError:
        threading.Thread(target=_feed, args=(loop, reader), name="stoa-acp-stdin", daemon=True).start()
    out = os.fdopen(protocol_fd, "wb", buffering=0)
    try:
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, out)
    except ValueError:
        return reader, FileSink(out)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


class FileSink:
    """stdout that is a file or a terminal: written as it comes (such writes do not block long)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out

    def write(self, data: bytes) -> None:
        self.out.write(data)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.out.close()


def _feed(loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader) -> None:
    while chunk := os.read(sys.stdin.fileno(), 65536):
        loop.call_soon_threadsafe(reader.feed_data, chunk)
    loop.call_soon_threadsafe(reader.feed_eof)
