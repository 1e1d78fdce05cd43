"""Stoa's bulk SSE decoder (core/providers/sse.py) against the SDK's line-by-line one.

The Anthropic provider used the SDK's decoder (``AsyncStream.raw_events``); the bulk decoder
replaced it for speed and must read every stream the same way: the same events (name and data),
whatever the line endings and wherever the body's reads are cut (inside a CRLF, inside a
multi-byte character), and the same failure on bytes that are not UTF-8.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random

import pytest
from anthropic._streaming import SSEDecoder as SdkDecoder

from stoa.core.providers.sse import ServerSentEvent, SSEDecoder, loads_event

EVENTS = [
    ("message_start", '{"type":"message_start","message":{"id":"m1"}}'),
    (None, '{"type":"content_block_delta","delta":{"text":"naïve café ✓ 漢字 🙂"}}'),
    ("content_block_delta", '{"type":"content_block_delta","delta":{"text":"a\\nb"}}'),
    ("ping", "{}"),
    ("error", '{"error":{"type":"overloaded_error","message":"busy"}}'),
]


def _sdk(body: bytes, cuts: list[int]) -> list[tuple[str | None, str]]:
    async def chunks():  # type: ignore[no-untyped-def]
        for piece in _split(body, cuts):
            yield piece

    async def collect() -> list[tuple[str | None, str]]:
        return [(e.event, e.data) async for e in SdkDecoder().aiter_bytes(chunks())]

    # The SDK also dispatches events without data; they carry nothing (the provider skips them).
    return [e for e in asyncio.run(collect()) if e[1]]


def _ours(body: bytes, cuts: list[int]) -> list[tuple[str | None, str]]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for piece in _split(body, cuts):
        events.extend(decoder.feed(piece))
    events.extend(decoder.close())
    return [(e.event, e.data) for e in events if e.data]


def _split(body: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *sorted(set(cuts)), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges) if b > a]


def _render(rng: random.Random, eol: bytes) -> bytes:
    out = []
    for name, data in EVENTS:
        lines = []
        if rng.random() < 0.3:
            lines.append(b": keep-alive comment")
        if name is not None:
            lines.append(b"event:" + (b" " if rng.random() < 0.8 else b"") + name.encode())
        for part in data.split("\n") if rng.random() < 0.5 else [data]:
            lines.append(b"data: " + part.encode())
        if rng.random() < 0.2:
            lines.append(b"id: 7")
        if rng.random() < 0.2:
            lines.append(b"retry: 100")
        out.append(eol.join(lines) + eol + eol)
        if rng.random() < 0.2:
            out.append(eol)  # an extra blank line: nothing to dispatch
    return b"".join(out)


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_same_events_as_the_sdk_wherever_the_reads_are_cut(eol: bytes) -> None:
    rng = random.Random(14)
    for _ in range(150):
        body = _render(rng, eol)
        cuts = [rng.randrange(1, len(body)) for _ in range(rng.randrange(0, 40))]
        expected = _sdk(body, cuts)
        assert _ours(body, cuts) == expected
        assert [d for _, d in expected] == [d for _, d in expected if d]
    # Every byte its own read: CRLF and multi-byte characters are cut everywhere.
    body = _render(random.Random(3), eol)
    assert _ours(body, list(range(1, len(body)))) == _sdk(body, [])


def test_multi_line_data_joins_with_newlines_and_fields_without_colon() -> None:
    body = b"event: x\ndata: one\ndata\ndata:  two\n\n"
    assert _ours(body, []) == [("x", "one\n\n two")] == _sdk(body, [])


def test_an_event_cut_off_by_the_end_of_the_body_is_dropped() -> None:
    body = b"data: {\"a\": 1}\n\ndata: {\"b\": 2}\n"
    assert _ours(body, []) == [(None, '{"a": 1}')] == _sdk(body, [])


def test_a_final_cr_ends_the_last_event() -> None:
    body = b"data: last\r\r"
    assert _ours(body, [len(body) - 1]) == [(None, "last")]


def test_a_byte_order_mark_at_the_start_is_skipped() -> None:
    body = b"\xef\xbb\xbfevent: x\ndata: 1\n\n"
    assert _ours(body, [1, 2]) == [("x", "1")]


def test_bytes_that_are_not_utf8_raise_a_value_error() -> None:
    with pytest.raises(ValueError):
        _ours(b"data: \xff\xfe\n\n", [])


def test_events_come_out_of_the_read_that_completes_them() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\n\nda") == [ServerSentEvent(None, "1")]
    assert decoder.feed(b"ta: 2\r") == []
    assert decoder.feed(b"\n\r\n") == [ServerSentEvent(None, "2")]
    assert decoder.close() == []


@pytest.mark.parametrize(
    "data",
    [
        '{"type":"content_block_delta","delta":{"text":"a\\u00e9\\n"}}',
        ' {"a": 1} ',
        '{"a": 1}\n',
        '{"a": NaN, "b": -Infinity}',
        "[1, 2]",
        '"text"',
        "12",
        "",
        "   ",
        '{"a": 1} {"b": 2}',
        '{"a": 1',
        "{'a': 1}",
        '{"a": "\\ud800"}',
        "[DONE]",
    ],
)
def test_an_event_is_read_as_json_loads_reads_it(data: str) -> None:
    try:
        expected: object = json.loads(data)
    except json.JSONDecodeError as exc:
        with pytest.raises(json.JSONDecodeError) as info:
            loads_event(data)
        assert (info.value.msg, info.value.pos) == (exc.msg, exc.pos)
        return
    got = loads_event(data)
    assert got == expected or (got != got and expected != expected)  # NaN
    assert type(got) is type(expected)
