"""Server-sent events from a response body, decoded in bulk: the hot loop of a streamed reply.

A reply of 20,000 tokens is 20,000 events. The SDKs' decoders walk each event line by line in
Python and build an object per line; this one splits what each read brings at blank lines and
parses an event's few lines at once, by the rules of the WHATWG event-stream format: lines end
in LF, CRLF or CR (a CR at the end of a read waits for the next one, which may bring its LF),
a leading byte-order mark is skipped, ``:`` starts a comment, a field's value loses one leading
space, ``data`` lines join with LF, an event without data is not dispatched, and an event the
stream ends before finishing (no blank line after it) is dropped. ``id`` and ``retry`` are not
used here and are ignored. Bytes that are not UTF-8 raise ``UnicodeDecodeError`` (a
``ValueError``), as the SDKs' decoders do.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, NamedTuple

_BOM = b"\xef\xbb\xbf"
# json's own C scanner: ``json.loads`` without its per-call wrapping (a third of its cost on an
# event of a few dozen bytes, and a reply of 20,000 tokens is 20,000 events).
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class ServerSentEvent(NamedTuple):
    event: str | None
    data: str


class SSEDecoder:
    """Feed it the body's bytes as they come; it returns the events each piece completes."""

    def __init__(self) -> None:
        self._buffer = b""
        self._started = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        held = b""
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):
                # Its LF may come with the next read: one line end, not two.
                buffer, held = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = buffer.rfind(b"\n\n")
        if end < 0:
            self._buffer = buffer + held
            return []
        self._buffer = buffer[end + 2 :] + held
        try:
            # One decode for every event the read completes ("\n" is never part of a multi-byte
            # character, so the events split the same way in text as in bytes).
            blocks = buffer[:end].decode("utf-8").split("\n\n")
        except UnicodeDecodeError:
            return _parse_blocks(buffer[:end].split(b"\n\n"))  # the events before the bad bytes first
        events = []
        for block in blocks:
            # The common shapes first: "event: NAME\ndata: DATA" and "data: DATA".
            if block.startswith("event: "):
                line_end = block.find("\n")
                if line_end > 0 and block.startswith("data: ", line_end + 1) and block.find("\n", line_end + 1) < 0:
                    events.append(ServerSentEvent(block[7:line_end], block[line_end + 7 :]))
                    continue
            elif block.startswith("data: ") and "\n" not in block:
                events.append(ServerSentEvent(None, block[6:]))
                continue
            event = _parse_text(block)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """The body ended: events that a held CR completes (an unfinished event is dropped)."""
        if not self._buffer.endswith(b"\r"):
            return []
        return self.feed(b"\n")


async def event_batches(chunks: AsyncIterator[bytes]) -> AsyncGenerator[list[ServerSentEvent], None]:
    """The events of a streamed body: a batch per read (the decoder's bulk), then what the
    body's end completes. Every provider's stream reads its events this way; stop iterating
    (inside ``aclosing``) to leave the rest unread."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        events = decoder.feed(chunk)
        if events:
            yield events
    tail = decoder.close()
    if tail:
        yield tail


def loads_event(data: str) -> Any:
    """An event's data as JSON, exactly as ``json.loads`` reads it (and fails)."""
    try:
        value, end = _scan(data, 0)
    except StopIteration:
        return json.loads(data)  # raises the JSONDecodeError json.loads raises
    if end != len(data):
        return json.loads(data)  # white space around it, or what follows: json.loads decides
    return value


def _parse_blocks(blocks: list[bytes]) -> list[ServerSentEvent]:
    """Events block by block (bytes that are not UTF-8 raise at their own event)."""
    events = []
    for block in blocks:
        event = _parse_text(block.decode("utf-8"))
        if event is not None:
            events.append(event)
    return events


def _parse_text(block: str) -> ServerSentEvent | None:
    event: str | None = None
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line[0] == ":":
            continue
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if not data:
        return None
    return ServerSentEvent(event, data[0] if len(data) == 1 else "\n".join(data))
