"""A streamed HTTP/1.1 response body read in bulk: the chunked framing decoded a read at a time.

A model's reply comes as server-sent events, and servers send each event as a chunk of its own
(``Transfer-Encoding: chunked``). httpx2 hands the body over a chunk at a time: h11 parses each
chunk's framing and every chunk climbs a dozen generator layers (httpcore2, httpx2). For a reply
of 20,000 events that cost 165 ms of CPU here, more than everything Stoa does with the events;
when a reply arrives faster than it is read (a fast server, a long reply after a pause), that
is the delay before its last line shows.

``bulk_body`` reads such a body from the connection itself, a socket read (up to 64 KB) at a
time, and strips the chunk framing with bytes operations: one piece of body per read, whatever
the number of chunks in it (20,000 events: 25 ms). It takes over only where it can hand the
connection back exactly as h11 expects it: once h11 has parsed the headers and every chunk it
has bytes for, with nothing left in its buffer; then it reads until the last chunk and gives h11
the closing bytes (``0``, any trailer lines, the blank line), so h11 ends the message and
httpcore2 can reuse the connection. It needs three of httpcore2's and h11's attributes (the
connection under the response, its h11 state, its socket stream); where they are not what it
expects (another version, HTTP/2, a content encoding), ``bulk_body`` returns None and the body is
read through httpx2 as before. tests/unit/test_http_client.py checks that the fake server's
streams take this path and that a broken framing, a cut connection and a stall fail as they do
through httpx2.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Any

# A chunk's size line: hex digits, optional extensions (h11 discards them too), optional spaces.
_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;[^\r\n]*)?[ \t]*")
# A size line longer than this is refused (h11's limit for a line is 64 KB too).
_MAX_LINE = 64 * 1024


class ChunkedDecoder:
    """Chunked framing in, body bytes out; ``feed`` a read at a time.

    ``footer``: the decoder starts inside a chunk's footer (the CRLF after its data; all of it or
    its LF) rather than at a size line. ``done`` is set once the last chunk and the trailer have come;
    ``closing`` then holds those bytes as they came (from the ``0`` size line on), ``extra``
    whatever followed them."""

    def __init__(self, *, footer: bytes = b"") -> None:
        self._pending = b""
        self._remaining = 0  # bytes of the current chunk's data still to come
        self._footer = footer  # the end of a chunk's CRLF footer still to come
        self.done = False
        self.closing = b""
        self.extra = b""

    def feed(self, data: bytes) -> bytes:
        """The body bytes ``data`` completes. Raises ``MalformedChunk``."""
        if self.done:
            self.extra += data
            return b""
        buffer = self._pending + data if self._pending else data
        size = len(buffer)
        pos = 0
        out: list[bytes] = []
        while True:
            if self._remaining:
                take = min(self._remaining, size - pos)
                out.append(buffer[pos : pos + take])
                pos += take
                self._remaining -= take
                if self._remaining:
                    break
                self._footer = b"\r\n"
            if self._footer:
                footer = self._footer
                if size - pos < len(footer):
                    if not footer.startswith(buffer[pos:]):
                        raise MalformedChunk(f"malformed chunk footer: {bytes(buffer[pos:])!r}")
                    break
                if not buffer.startswith(footer, pos):
                    raise MalformedChunk(f"malformed chunk footer: {bytes(buffer[pos : pos + len(footer)])!r}")
                pos += len(footer)
                self._footer = b""
            line_end = buffer.find(b"\r\n", pos)
            if line_end < 0:
                if size - pos > _MAX_LINE:
                    raise MalformedChunk("chunk size line too long")
                break
            match = _SIZE_LINE.fullmatch(buffer, pos, line_end)
            if match is None:
                raise MalformedChunk(f"illegal chunk header: {bytes(buffer[pos:line_end][:80])!r}")
            length = int(match.group(1), 16)
            if length == 0:
                # The last chunk: trailer lines (usually none), then a blank line.
                end = line_end if buffer.startswith(b"\r\n\r\n", line_end) else buffer.find(b"\r\n\r\n", line_end)
                if end < 0:
                    if size - pos > _MAX_LINE:
                        raise MalformedChunk("chunk trailer too long")
                    break
                self.done = True
                self.closing = bytes(buffer[pos : end + 4])
                self.extra = bytes(buffer[end + 4 :])
                pos = size
                break
            pos = line_end + 2
            self._remaining = length
        self._pending = buffer[pos:] if pos < size else b""
        return b"".join(out) if len(out) != 1 else out[0]


class MalformedChunk(ValueError):
    """The body's chunk framing is broken."""


def _connection(response: Any) -> Any:
    """httpcore2's HTTP/1.1 connection under an httpx2 response, or None."""
    stream = response.stream
    for name in ("_stream", "_httpcore_stream", "_stream", "_connection"):
        stream = getattr(stream, name, None)
        if stream is None:
            return None
    return stream


def bulk_body(response: Any, read_timeout: float | None) -> AsyncGenerator[bytes, None] | None:
    """The response's body a read at a time (see the module docstring), or None when it cannot be
    read this way. The generator raises httpx2's exceptions, as reading through httpx2 does."""
    import h11
    from httpcore2._async.http11 import AsyncHTTP11Connection

    headers = response.headers
    if response.http_version != "HTTP/1.1" or headers.get("content-encoding", "identity") != "identity":
        return None
    if "chunked" not in headers.get("transfer-encoding", "").lower():
        return None
    connection = _connection(response)
    if not isinstance(connection, AsyncHTTP11Connection):
        return None
    state = getattr(connection, "_h11_state", None)
    network = getattr(connection, "_network_stream", None)
    if not isinstance(state, h11.Connection) or network is None or state.their_state is not h11.SEND_BODY:
        return None
    return _read(state, network, read_timeout, getattr(connection, "READ_NUM_BYTES", 64 * 1024))


def _reader_state(state: Any) -> tuple[int, bytes] | None:
    """Where h11's chunked reader is: (data bytes left in its chunk, footer bytes it still
    expects), or None when it is not reading chunks (or not as this module knows it)."""
    reader = getattr(state, "_reader", None)
    if type(reader).__name__ != "ChunkedReader" or getattr(reader, "_reading_trailer", True):
        return None
    remaining = getattr(reader, "_bytes_in_chunk", None)
    discard = getattr(reader, "_bytes_to_discard", None)
    if isinstance(discard, int) and not isinstance(discard, bool) and 0 <= discard <= 2:
        discard = b"\r\n"[2 - discard :]  # h11 before 0.16 counted them
    if not isinstance(remaining, int) or remaining < 0 or discard not in (b"", b"\n", b"\r\n"):
        return None
    return remaining, discard


async def _read(state: Any, network: Any, read_timeout: float | None, read_size: int) -> AsyncGenerator[bytes, None]:
    import h11
    import httpcore2
    from httpx2._transports.default import map_httpcore_exceptions

    async def read() -> bytes:
        with map_httpcore_exceptions():
            data: bytes = await network.read(read_size, timeout=read_timeout)
        return data

    def h11_events() -> tuple[bytes, bool]:
        """The body bytes of every whole event h11 holds, and whether the message ended."""
        parts: list[bytes] = []
        while True:
            with map_httpcore_exceptions():
                try:
                    event = state.next_event()
                except h11.RemoteProtocolError as exc:
                    raise httpcore2.RemoteProtocolError(str(exc)) from exc
            if isinstance(event, h11.Data):
                parts.append(bytes(event.data))
            else:
                return b"".join(parts), isinstance(event, h11.EndOfMessage)

    decoder: ChunkedDecoder | None = None
    footer = b""
    first = b""  # bytes read that go to the decoder
    while decoder is None:
        body, ended = h11_events()
        if body:
            yield body
        if ended:
            return
        where = _reader_state(state) if state.trailing_data == (b"", False) else None
        data = await read()
        if where is None:
            state.receive_data(data)  # b"" (the peer closed) makes h11 raise, as through httpcore2
            continue
        remaining, footer = where
        if remaining and len(data) > remaining:
            # h11 gets the rest of its chunk; the decoder takes over at that chunk's footer.
            state.receive_data(data[:remaining])
            body, _ = h11_events()
            if body:
                yield body
            data, footer = data[remaining:], b"\r\n"
        elif remaining or not data:
            state.receive_data(data)
            continue
        decoder, first = ChunkedDecoder(footer=footer), data
    while True:
        try:
            body = decoder.feed(first)
        except MalformedChunk as exc:
            with map_httpcore_exceptions():
                raise httpcore2.RemoteProtocolError(str(exc)) from exc
        if body:
            yield body
        if decoder.done:
            break
        first = await read()
        if not first:
            with map_httpcore_exceptions():
                raise httpcore2.RemoteProtocolError(
                    "peer closed connection without sending complete message body (incomplete chunked read)"
                )
    # Back to h11 where it was left: the footer it expected, then the last chunk and trailer.
    state.receive_data(footer + decoder.closing + decoder.extra)
    h11_events()
