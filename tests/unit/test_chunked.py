"""The bulk reader of chunked bodies (core/providers/chunked.py): the decoder against the framing
it undoes, and the reader on real sockets against a server whose bytes each test writes: the
same body wherever the reads are cut, the connection reused afterwards (h11 handed back where it
expects), and a broken framing, a cut connection or a stall failing as through httpx2."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from stoa.core.providers.base import ProviderError
from stoa.core.providers.chunked import ChunkedDecoder, MalformedChunk
from stoa.core.providers.http import Endpoint


def frame(pieces: list[bytes], rng: random.Random, *, trailer: bytes = b"") -> bytes:
    out = []
    for piece in pieces:
        size = b"%x" % len(piece) if rng.random() < 0.5 else b"%X" % len(piece)
        extension = b";name=value" if rng.random() < 0.1 else b""
        space = b" " if rng.random() < 0.1 else b""
        out.append(size + extension + space + b"\r\n" + piece + b"\r\n")
    out.append(b"0\r\n" + trailer + b"\r\n")
    return b"".join(out)


def cut(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    edges = sorted({0, len(data), *(rng.randrange(1, len(data)) for _ in range(count))})
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def test_the_body_comes_out_whole_wherever_the_reads_are_cut() -> None:
    rng = random.Random(14)
    for _ in range(300):
        pieces = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) for _ in range(rng.randrange(0, 30))]
        trailer = b"x-trailer: 1\r\n" if rng.random() < 0.2 else b""
        wire = frame(pieces, rng, trailer=trailer)
        extra = b"HTTP/1.1 200" if rng.random() < 0.1 else b""
        decoder = ChunkedDecoder()
        body = b"".join(decoder.feed(read) for read in cut(wire + extra, rng, rng.randrange(0, 60)))
        assert body == b"".join(pieces)
        assert decoder.done and decoder.closing == b"0\r\n" + trailer + b"\r\n" and decoder.extra == extra


@pytest.mark.parametrize("footer", [b"\r\n", b"\n"])
def test_it_can_start_inside_a_chunk_footer(footer: bytes) -> None:
    decoder = ChunkedDecoder(footer=footer)
    assert decoder.feed(footer[:1]) == b""
    assert decoder.feed(footer[1:] + b"3\r\nabc\r\n0\r\n\r\n") == b"abc" and decoder.done


@pytest.mark.parametrize(
    ("wire", "words"),
    [
        (b"3\r\nabcX\r\n", "malformed chunk footer"),
        (b"3\r\nabc\r", None),  # not yet wrong: the LF may come
        (b"zz\r\nabc\r\n", "illegal chunk header"),
        (b"3 3\r\nabc\r\n", "illegal chunk header"),
        (b"1" * 70_000, "chunk size line too long"),
    ],
)
def test_a_broken_framing_is_refused(wire: bytes, words: str | None) -> None:
    decoder = ChunkedDecoder()
    if words is None:
        assert decoder.feed(wire) == b"abc" and not decoder.done
        with pytest.raises(MalformedChunk, match="malformed chunk footer"):
            decoder.feed(b"X")
        return
    with pytest.raises(MalformedChunk, match=words):
        decoder.feed(wire)


# ---- on a socket -----------------------------------------------------------------------------

class RawServer:
    """Answers each request on a connection with the next scripted list of writes (bytes are
    written and flushed; a float is a pause); counts the connections it accepted."""

    def __init__(self, replies: list[list[bytes | float]]) -> None:
        self.replies = replies
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            while self.replies:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
                    0,
                )
                await reader.readexactly(length)
                for step in self.replies.pop(0):
                    if isinstance(step, float):
                        await asyncio.sleep(step)
                    elif step == b"CLOSE":
                        writer.close()
                        return
                    else:
                        writer.write(step)
                        await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def events(count: int) -> list[bytes]:
    return [b"event: delta\ndata: {\"n\": %d}\n\n" % i for i in range(count)]


async def body_of(endpoint: Endpoint) -> tuple[bytes, int]:
    pieces = []
    async with endpoint.stream("/v1/messages", {"a": 1}, model="m") as chunks:
        async for piece in chunks:
            pieces.append(piece)
    return b"".join(pieces), len(pieces)


def endpoint_for(server: RawServer, read_timeout: float = 10) -> Endpoint:
    return Endpoint("anthropic", server.url, {}, read_timeout=read_timeout, connect_timeout=5)


@pytest.mark.parametrize("start", ["headers alone", "with the body", "inside a chunk", "inside a size line"])
async def test_a_body_is_read_whole_and_the_connection_is_reused(start: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fed: list[int] = []
    feed = ChunkedDecoder.feed

    def counted(self: ChunkedDecoder, data: bytes) -> bytes:
        fed.append(len(data))
        return feed(self, data)

    monkeypatch.setattr(ChunkedDecoder, "feed", counted)
    rng = random.Random(7)
    pieces = events(2_000)
    wire = frame(pieces, rng)
    first = {"headers alone": 0, "with the body": 300, "inside a chunk": 31, "inside a size line": 1}[start]
    writes: list[bytes | float] = [HEAD + wire[:first], 0.05] if first or start == "headers alone" else []
    writes += [wire[first : len(wire) // 2], 0.05, wire[len(wire) // 2 :]]
    async with RawServer([writes, [HEAD, frame([b"again"], rng)]]) as server:
        endpoint = endpoint_for(server)
        body, reads = await body_of(endpoint)
        assert body == b"".join(pieces)
        assert reads < 50, f"{reads} pieces for {len(pieces)} chunks: not read in bulk"
        # Not only in bulk (h11 alone gives a piece per read too): the framing was decoded here.
        assert sum(fed) > len(wire) // 3, "the decoder did not take over from h11 (httpcore2 or h11 changed?)"
        assert (await body_of(endpoint))[0] == b"again"
        assert server.connections == 1, "the connection was not handed back for the next request"
        await endpoint.aclose()


async def test_a_connection_cut_mid_body_is_a_broken_stream() -> None:
    wire = frame(events(50), random.Random(1))
    async with RawServer([[HEAD, 0.02, wire[:700], 0.02, b"CLOSE"]]) as server:
        endpoint = endpoint_for(server)
        with pytest.raises(ProviderError) as info:
            await body_of(endpoint)
        assert info.value.kind == "stream_broken" and "incomplete chunked read" in info.value.message
        await endpoint.aclose()


async def test_a_broken_chunk_header_is_a_broken_stream() -> None:
    async with RawServer([[HEAD, 0.02, b"5\r\nhello\r\nqq\r\nxx\r\n0\r\n\r\n"]]) as server:
        endpoint = endpoint_for(server)
        with pytest.raises(ProviderError) as info:
            await body_of(endpoint)
        assert info.value.kind == "stream_broken" and "illegal chunk header" in info.value.message
        await endpoint.aclose()


async def test_a_stall_is_a_broken_stream_after_the_read_timeout() -> None:
    async with RawServer([[HEAD, 0.02, b"5\r\nhello\r\n", 3.0]]) as server:
        endpoint = endpoint_for(server, read_timeout=0.5)
        with pytest.raises(ProviderError) as info:
            await body_of(endpoint)
        assert info.value.kind == "stream_broken" and "stalled" in info.value.message
        await endpoint.aclose()


async def test_a_body_with_a_length_is_read_through_httpx() -> None:
    body = b"data: {}\n\n" * 100
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n" % len(body)
    async with RawServer([[head, 0.02, body], [head, body]]) as server:
        endpoint = endpoint_for(server)
        assert (await body_of(endpoint))[0] == body
        assert (await body_of(endpoint))[0] == body and server.connections == 1
        await endpoint.aclose()
