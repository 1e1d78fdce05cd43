"""Wire variants written by hand from the API documentation, fed through the real providers.

The fake server's renderers produce one tidy shape per API. The real APIs (and a stricter fake
server written by someone else from the docs) send more: SSE ``ping`` events, content block
indexes with gaps, ``error`` events mid-stream, thinking blocks whose text is omitted, tool calls
with no argument deltas at all, Responses events in other orders with ``sequence_number``s and
annotation events, Chat chunks with empty ``choices``, and event types nobody knew about when this
was written. Each stream here is a ``raw(...)`` script item sent byte for byte, read by the
provider through its SDK, and checked against the neutral result it must give.

The second half runs whole ``stoa -p`` conversations (multi-step tool loops, parallel calls,
thinking interleaved with tools, redacted thinking, Claude -> GPT -> Claude through ``-r``) and
checks every captured request with the protocol checker and field by field (the effort mapping
for every model and level).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from stoa.core.providers.anthropic import AnthropicProvider
from stoa.core.providers.base import (
    MessageComplete,
    Provider,
    ProviderError,
    ProviderRequest,
    ServerToolActivity,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
)
from stoa.core.providers.openai_chat import OpenAIChatProvider
from stoa.core.providers.openai_responses import OpenAIResponsesProvider
from stoa.core.providers.types import (
    Message,
    RedactedThinkingBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    user_text,
)
from tests.fake_server import (
    FakeServer,
    RecordedRequest,
    assert_valid,
    encrypted_reasoning,
    raw,
    reply,
    thinking_signature,
    tool_call,
)

READ_FILE = ToolSpec(
    name="read_file",
    description="Read a file",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


def make_provider(fmt: str, server: FakeServer) -> Provider:
    if fmt == "anthropic":
        return AnthropicProvider("test-key", server.base_url, read_timeout=10.0)
    if fmt == "responses":
        return OpenAIResponsesProvider("test-key", server.openai_base_url, read_timeout=10.0)
    return OpenAIChatProvider("ollama", server.openai_base_url, read_timeout=10.0)


@pytest.fixture
async def providers(fake_server: FakeServer) -> AsyncIterator[dict[str, Provider]]:
    made = {fmt: make_provider(fmt, fake_server) for fmt in ("anthropic", "responses", "chat")}
    yield made
    for provider in made.values():
        await provider.aclose()


def request(model: str, messages: list[Message] | None = None, *, tools: bool = True) -> ProviderRequest:
    return ProviderRequest(
        model=model,
        system="You are terse.",
        messages=messages or [user_text("go")],
        tools=[READ_FILE] if tools else [],
        max_tokens=4096,
    )


async def collect(provider: Provider, req: ProviderRequest) -> tuple[list[StreamEvent], MessageComplete]:
    events = [e async for e in provider.stream(req)]
    assert isinstance(events[-1], MessageComplete), events
    assert sum(isinstance(e, MessageComplete) for e in events) == 1
    return events[:-1], events[-1]


def texts(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def thinking_text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, ThinkingDelta))


# ---- Anthropic Messages: event builders (shapes from the streaming docs) ----------------------


def a_start(input_tokens: int = 25, output_tokens: int = 1, **usage: int) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-6",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens, **usage},
        },
    }


def a_block(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def a_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def a_text(index: int, text: str) -> dict[str, Any]:
    return a_delta(index, {"type": "text_delta", "text": text})


def a_json(index: int, partial: str) -> dict[str, Any]:
    return a_delta(index, {"type": "input_json_delta", "partial_json": partial})


def a_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def a_end(stop_reason: str = "end_turn", **usage: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": usage or {"output_tokens": 15},
        },
        {"type": "message_stop"},
    ]


PING = {"type": "ping"}


async def test_anthropic_without_event_lines(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    # SSE events whose only name is the JSON "type" (no `event:` line): still read.
    fake_server.script(
        raw(
            [a_start(), a_block(0, {"type": "text", "text": ""}), a_text(0, "Hello"), a_text(0, " there"),
             a_stop(0), *a_end()],
            event_lines=False,
        )
    )
    events, done = await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    assert texts(events) == "Hello there"
    assert done.message.content == [TextBlock(text="Hello there")]
    assert done.stop_reason is StopReason.END_TURN


async def test_anthropic_pings_index_gaps_and_parallel_calls(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    # Text at 0, then two tool_use blocks at 2 and 5 (gaps), one with its input only in
    # content_block_start and no delta at all, one streamed after an empty partial_json; pings
    # everywhere; usage in message_delta is cumulative (the latest value wins).
    fake_server.script(
        raw(
            [
                a_start(input_tokens=472, output_tokens=2, cache_read_input_tokens=100,
                        cache_creation_input_tokens=7),
                PING,
                a_block(0, {"type": "text", "text": ""}),
                a_text(0, "Reading both."),
                PING,
                a_stop(0),
                a_block(2, {"type": "tool_use", "id": "toolu_A", "name": "read_file", "input": {}}),
                a_json(2, ""),
                a_json(2, '{"pa'),
                PING,
                a_json(2, 'th": "a.txt"}'),
                a_stop(2),
                a_block(5, {"type": "tool_use", "id": "toolu_B", "name": "read_file", "input": {}}),
                a_stop(5),
                {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                 "usage": {"output_tokens": 40}},
                {"type": "message_delta", "delta": {"stop_reason": None, "stop_sequence": None},
                 "usage": {"output_tokens": 89}},
                PING,
                {"type": "message_stop"},
            ]
        )
    )
    events, done = await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    assert [e for e in events if isinstance(e, ToolCallStart)] == [
        ToolCallStart("toolu_A", "read_file"),
        ToolCallStart("toolu_B", "read_file"),
    ]
    assert "".join(e.arguments_delta for e in events if isinstance(e, ToolCallDelta)) == '{"path": "a.txt"}'
    assert done.message.content == [
        TextBlock(text="Reading both."),
        ToolUseBlock(id="toolu_A", name="read_file", input={"path": "a.txt"}),
        ToolUseBlock(id="toolu_B", name="read_file", input={}),
    ]
    assert done.stop_reason is StopReason.TOOL_USE
    assert (done.usage.input_tokens, done.usage.output_tokens) == (472, 89)
    assert (done.usage.cache_read_tokens, done.usage.cache_write_tokens) == (100, 7)


async def test_anthropic_omitted_thinking_and_redacted_thinking_carry_forward(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    # display "omitted" (Opus 4.7's default): a thinking block with no text, only a signature;
    # the docs' content_block_start for thinking has no signature field at all.
    fake_server.script(
        raw(
            [
                a_start(),
                a_block(0, {"type": "thinking", "thinking": ""}),
                a_delta(0, {"type": "signature_delta", "signature": "SIG-omitted=="}),
                a_stop(0),
                a_block(1, {"type": "redacted_thinking", "data": "ENCRYPTED-redacted"}),
                a_stop(1),
                a_block(2, {"type": "thinking", "thinking": ""}),
                a_delta(2, {"type": "thinking_delta", "thinking": "Let me "}),
                a_delta(2, {"type": "thinking_delta", "thinking": "check."}),
                a_delta(2, {"type": "signature_delta", "signature": "SIG-2"}),
                a_stop(2),
                a_block(3, {"type": "tool_use", "id": "toolu_T", "name": "read_file", "input": {}}),
                a_json(3, '{"path": "x"}'),
                a_stop(3),
                *a_end("tool_use"),
            ]
        ),
        reply(text="Done."),
    )
    events, done = await collect(providers["anthropic"], request("claude-opus-4-7"))
    assert thinking_text(events) == "Let me check."
    assert done.message.content == [
        ThinkingBlock(thinking="", signature="SIG-omitted==", origin="anthropic"),
        RedactedThinkingBlock(data="ENCRYPTED-redacted"),
        ThinkingBlock(thinking="Let me check.", signature="SIG-2", origin="anthropic"),
        ToolUseBlock(id="toolu_T", name="read_file", input={"path": "x"}),
    ]
    # Sent back unchanged, first in the assistant message, with thinking on.
    history = [
        user_text("go"),
        done.message,
        Message(role="user", content=[ToolResultBlock(tool_use_id="toolu_T", content=[TextBlock(text="hi")])]),
    ]
    req = request("claude-opus-4-7", history)
    req = ProviderRequest(**{**req.__dict__, "wire_options": {"thinking": {"type": "adaptive"}}})
    await collect(providers["anthropic"], req)
    sent = fake_server.model_requests()[1].json
    assert sent["thinking"]["type"] == "adaptive"
    assert sent["messages"][1]["content"][:3] == [
        {"type": "thinking", "thinking": "", "signature": "SIG-omitted=="},
        {"type": "redacted_thinking", "data": "ENCRYPTED-redacted"},
        {"type": "thinking", "thinking": "Let me check.", "signature": "SIG-2"},
    ]


@pytest.mark.parametrize("after", [0, 3])
async def test_anthropic_error_event_mid_stream(
    after: int, fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    head = [a_start(), a_block(0, {"type": "text", "text": ""}), a_text(0, "Partial")][:after]
    fake_server.script(
        raw([*head, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}])
    )
    with pytest.raises(ProviderError) as caught:
        await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    assert caught.value.kind == "overloaded" and caught.value.retryable
    assert "Overloaded" in str(caught.value)


async def test_anthropic_unknown_events_and_blocks_are_ignored(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(
        raw(
            [
                a_start(),
                {"type": "brand_new_event", "detail": {"x": 1}},
                a_block(0, {"type": "text", "text": "", "citations": []}),
                a_text(0, "Per the docs"),
                a_delta(0, {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x",
                                                                    "document_index": 0, "start_char_index": 0,
                                                                    "end_char_index": 1}}),
                a_delta(0, {"type": "some_future_delta", "stuff": True}),
                a_stop(0),
                a_block(1, {"type": "future_block", "payload": "?"}),
                a_delta(1, {"type": "future_delta", "payload": "?"}),
                a_stop(1),
                *a_end(),
            ]
        )
    )
    events, done = await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    assert texts(events) == "Per the docs"
    assert done.message.content == [TextBlock(text="Per the docs")]


async def test_anthropic_web_search_blocks(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    # The web search docs' stream: server_tool_use (input streamed), its result in one
    # content_block_start, then cited text. Server blocks are shown, not carried into history.
    result = {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_1",
        "content": [{"type": "web_search_result", "title": "Textual", "url": "https://textual.textualize.io",
                     "encrypted_content": "EqgfCio", "page_age": None}],
    }
    fake_server.script(
        raw(
            [
                a_start(),
                a_block(0, {"type": "text", "text": ""}),
                a_text(0, "Searching."),
                a_stop(0),
                a_block(1, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}),
                a_json(1, ""),
                a_json(1, '{"query": "textual tui"}'),
                a_stop(1),
                a_block(2, result),
                a_stop(2),
                a_block(3, {"type": "text", "text": ""}),
                a_text(3, "Textual is a TUI framework."),
                a_stop(3),
                *a_end(output_tokens=30, input_tokens=2000,
                       server_tool_use={"web_search_requests": 1}),  # type: ignore[arg-type]
            ]
        )
    )
    events, done = await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    activity = [e for e in events if isinstance(e, ServerToolActivity)]
    assert [a.name for a in activity] == ["web_search", "web_search"]
    assert "textual tui" in activity[0].summary and "1 result" in activity[1].summary
    assert done.message.content == [TextBlock(text="Searching."), TextBlock(text="Textual is a TUI framework.")]
    assert done.stop_reason is StopReason.END_TURN


async def test_anthropic_pause_turn_is_resumed_with_the_server_blocks(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(
        raw(
            [
                a_start(),
                a_block(0, {"type": "server_tool_use", "id": "srvtoolu_9", "name": "web_search",
                            "input": {"query": "q"}}),
                a_stop(0),
                a_block(1, {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_9", "content": []}),
                a_stop(1),
                *a_end("pause_turn"),
            ]
        ),
        reply(text="Resumed."),
    )
    _events, done = await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    assert done.message.text == "Resumed." and done.stop_reason is StopReason.END_TURN
    second = fake_server.model_requests()[1].json
    assert second["messages"][-1]["role"] == "assistant"
    assert [b["type"] for b in second["messages"][-1]["content"]] == ["server_tool_use", "web_search_tool_result"]
    assert second["messages"][-1]["content"][0]["input"] == {"query": "q"}


@pytest.mark.parametrize(
    ("stop", "expected"),
    [("refusal", StopReason.REFUSAL), ("max_tokens", StopReason.MAX_TOKENS),
     ("model_context_window_exceeded", StopReason.MAX_TOKENS), ("stop_sequence", StopReason.STOP_SEQUENCE)],
)
async def test_anthropic_stop_reasons(
    stop: str, expected: StopReason, fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(
        raw([a_start(), a_block(0, {"type": "text", "text": ""}), a_text(0, "I can"), a_stop(0), *a_end(stop)])
    )
    _, done = await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    assert done.stop_reason is expected


async def test_anthropic_tool_call_cut_at_max_tokens(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    fake_server.script(
        raw(
            [
                a_start(),
                a_block(0, {"type": "tool_use", "id": "toolu_cut", "name": "read_file", "input": {}}),
                a_json(0, '{"path": "a'),
                *a_end("max_tokens"),
            ]
        )
    )
    _, done = await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    assert done.stop_reason is StopReason.MAX_TOKENS
    (call,) = done.message.tool_uses
    assert call.id == "toolu_cut" and call.input_error


# ---- OpenAI Responses -----------------------------------------------------------------------


class Seq:
    """Responses events carry a growing ``sequence_number``."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.n += 1
        return {"type": kind, "sequence_number": self.n, **fields}


def r_response(status: str, output: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1_760_000_000,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": "gpt-5.5",
        "output": output or [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": None,
        **extra,
    }


R_USAGE = {
    "input_tokens": 1200,
    "input_tokens_details": {"cached_tokens": 1000},
    "output_tokens": 300,
    "output_tokens_details": {"reasoning_tokens": 200},
    "total_tokens": 1500,
}


def reasoning_item(summary: list[str], encrypted: str | None = "gAAAA-enc") -> dict[str, Any]:
    return {
        "id": "rs_1",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": s} for s in summary],
        "encrypted_content": encrypted,
    }


def message_item(text: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def call_item(n: int, arguments: str) -> dict[str, Any]:
    return {
        "id": f"fc_{n}",
        "type": "function_call",
        "status": "completed",
        "call_id": f"call_{n}",
        "name": "read_file",
        "arguments": arguments,
    }


async def test_responses_full_turn_in_docs_order(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    # Reasoning with two summary parts, a message with an annotation event, two function calls
    # (one streamed, one whose arguments only arrive in .done), an unknown event type, every
    # event with a sequence_number.
    ev = Seq()
    rs, msg = reasoning_item(["First idea.", "Second idea."]), message_item("I'll read both.")
    c1, c2 = call_item(1, '{"path":"a.txt"}'), call_item(2, '{"path":"b.txt"}')
    fake_server.script(
        raw(
            [
                ev("response.created", response=r_response("in_progress")),
                ev("response.in_progress", response=r_response("in_progress")),
                ev("response.output_item.added", output_index=0,
                   item={**rs, "summary": [], "encrypted_content": None}),
                ev("response.reasoning_summary_part.added", item_id="rs_1", output_index=0, summary_index=0,
                   part={"type": "summary_text", "text": ""}),
                ev("response.reasoning_summary_text.delta", item_id="rs_1", output_index=0, summary_index=0,
                   delta="First idea."),
                ev("response.reasoning_summary_text.done", item_id="rs_1", output_index=0, summary_index=0,
                   text="First idea."),
                ev("response.reasoning_summary_part.done", item_id="rs_1", output_index=0, summary_index=0,
                   part={"type": "summary_text", "text": "First idea."}),
                ev("response.reasoning_summary_part.added", item_id="rs_1", output_index=0, summary_index=1,
                   part={"type": "summary_text", "text": ""}),
                ev("response.reasoning_summary_text.delta", item_id="rs_1", output_index=0, summary_index=1,
                   delta="Second idea."),
                ev("response.output_item.done", output_index=0, item=rs),
                ev("response.output_item.added", output_index=1,
                   item={**msg, "status": "in_progress", "content": []}),
                ev("response.content_part.added", item_id="msg_1", output_index=1, content_index=0,
                   part={"type": "output_text", "text": "", "annotations": []}),
                ev("response.output_text.delta", item_id="msg_1", output_index=1, content_index=0,
                   delta="I'll read ", logprobs=[]),
                ev("response.output_text.annotation.added", item_id="msg_1", output_index=1, content_index=0,
                   annotation_index=0, annotation={"type": "url_citation", "url": "https://x", "title": "x",
                                                   "start_index": 0, "end_index": 1}),
                ev("response.output_text.delta", item_id="msg_1", output_index=1, content_index=0,
                   delta="both.", logprobs=[]),
                ev("response.output_text.done", item_id="msg_1", output_index=1, content_index=0,
                   text="I'll read both.", logprobs=[]),
                ev("response.content_part.done", item_id="msg_1", output_index=1, content_index=0,
                   part=msg["content"][0]),
                ev("response.output_item.done", output_index=1, item=msg),
                ev("response.something_new", output_index=1, payload={"a": 1}),
                ev("response.output_item.added", output_index=2, item={**c1, "arguments": "", "status": "in_progress"}),
                ev("response.function_call_arguments.delta", item_id="fc_1", output_index=2, delta='{"path":'),
                ev("response.function_call_arguments.delta", item_id="fc_1", output_index=2, delta='"a.txt"}'),
                ev("response.function_call_arguments.done", item_id="fc_1", output_index=2,
                   arguments=c1["arguments"], name="read_file"),
                ev("response.output_item.done", output_index=2, item=c1),
                ev("response.output_item.added", output_index=3, item={**c2, "arguments": "", "status": "in_progress"}),
                ev("response.function_call_arguments.done", item_id="fc_2", output_index=3,
                   arguments=c2["arguments"], name="read_file"),
                ev("response.output_item.done", output_index=3, item=c2),
                ev("response.completed", response=r_response("completed", [rs, msg, c1, c2], usage=R_USAGE)),
            ]
        )
    )
    events, done = await collect(providers["responses"], request("gpt-5.5"))
    assert thinking_text(events) == "First idea.\n\nSecond idea."
    assert texts(events) == "I'll read both."
    assert [e for e in events if isinstance(e, ToolCallStart)] == [
        ToolCallStart("call_1", "read_file"),
        ToolCallStart("call_2", "read_file"),
    ]
    assert done.message.content == [
        ThinkingBlock(thinking="First idea.\n\nSecond idea.", origin="openai", item_id="rs_1",
                      encrypted_content="gAAAA-enc"),
        TextBlock(text="I'll read both."),
        ToolUseBlock(id="call_1", name="read_file", input={"path": "a.txt"}, item_id="fc_1"),
        ToolUseBlock(id="call_2", name="read_file", input={"path": "b.txt"}, item_id="fc_2"),
    ]
    assert done.stop_reason is StopReason.TOOL_USE
    assert (done.usage.input_tokens, done.usage.cache_read_tokens) == (200, 1000)
    assert (done.usage.output_tokens, done.usage.reasoning_tokens) == (300, 200)


async def test_responses_minimal_stream_without_item_done_events(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    # No output_item.done at all, no event lines: the finished items (with the encrypted
    # reasoning) only arrive in response.completed's output.
    ev = Seq()
    rs, c1 = reasoning_item(["Plan."]), call_item(7, '{"path":"z"}')
    fake_server.script(
        raw(
            [
                ev("response.created", response=r_response("in_progress")),
                ev("response.output_item.added", output_index=0, item={**rs, "summary": [], "encrypted_content": None}),
                ev("response.output_item.added", output_index=1, item={**c1, "arguments": ""}),
                ev("response.function_call_arguments.delta", item_id="fc_7", output_index=1, delta='{"path":"z"}'),
                ev("response.completed", response=r_response("completed", [rs, c1], usage=R_USAGE)),
            ],
            event_lines=False,
        )
    )
    _, done = await collect(providers["responses"], request("gpt-5.5"))
    assert done.message.content == [
        ThinkingBlock(thinking="Plan.", origin="openai", item_id="rs_1", encrypted_content="gAAAA-enc"),
        ToolUseBlock(id="call_7", name="read_file", input={"path": "z"}, item_id="fc_7"),
    ]


async def test_responses_output_items_in_another_order(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    # A function call before the message, reasoning between: content follows output_index.
    ev = Seq()
    c1, rs, msg = call_item(1, "{}"), reasoning_item([]), message_item("after")
    fake_server.script(
        raw(
            [
                ev("response.created", response=r_response("in_progress")),
                ev("response.output_item.added", output_index=0, item={**c1, "arguments": ""}),
                ev("response.output_item.done", output_index=0, item=c1),
                ev("response.output_item.added", output_index=1, item={**rs, "encrypted_content": None}),
                ev("response.output_item.done", output_index=1, item=rs),
                ev("response.output_item.added", output_index=2, item={**msg, "content": []}),
                ev("response.output_text.delta", item_id="msg_1", output_index=2, content_index=0, delta="after"),
                ev("response.output_item.done", output_index=2, item=msg),
                ev("response.completed", response=r_response("completed", [c1, rs, msg])),
            ]
        )
    )
    _, done = await collect(providers["responses"], request("gpt-5.5"))
    assert [type(b).__name__ for b in done.message.content] == ["ToolUseBlock", "ThinkingBlock", "TextBlock"]
    assert done.usage.input_tokens == 0  # no usage sent: zeros, not a crash


@pytest.mark.parametrize(
    ("terminal", "kind"),
    [
        ({"type": "error", "code": "server_error", "message": "The server had an error", "param": None},
         "overloaded"),
        ({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None}, "rate_limit"),
        ({"type": "response.failed", "response": r_response(
            "failed", error={"code": "server_error", "message": "Something went wrong"})}, "overloaded"),
        ({"type": "response.failed", "response": r_response(
            "failed", error={"code": "invalid_prompt", "message": "Bad prompt"})}, "bad_request"),
    ],
)
async def test_responses_error_events(
    terminal: dict[str, Any], kind: str, fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    ev = Seq()
    fake_server.script(
        raw(
            [
                ev("response.created", response=r_response("in_progress")),
                ev("response.output_item.added", output_index=0, item={**message_item(""), "content": []}),
                ev("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0, delta="Hal"),
                ev(terminal.pop("type"), **terminal),
            ]
        )
    )
    with pytest.raises(ProviderError) as caught:
        await collect(providers["responses"], request("gpt-5.5"))
    assert caught.value.kind == kind


@pytest.mark.parametrize(
    ("reason", "expected"), [("max_output_tokens", StopReason.MAX_TOKENS), ("content_filter", StopReason.REFUSAL)]
)
async def test_responses_incomplete(
    reason: str, expected: StopReason, fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    ev = Seq()
    msg = {**message_item("Half"), "status": "incomplete"}
    fake_server.script(
        raw(
            [
                ev("response.created", response=r_response("in_progress")),
                ev("response.output_item.added", output_index=0, item={**msg, "content": []}),
                ev("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0, delta="Half"),
                ev("response.output_item.done", output_index=0, item=msg),
                ev("response.incomplete", response=r_response("incomplete", [msg],
                                                             incomplete_details={"reason": reason})),
            ]
        )
    )
    _, done = await collect(providers["responses"], request("gpt-5.5"))
    assert done.stop_reason is expected and done.message.text == "Half"


async def test_responses_refusal(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    ev = Seq()
    item = {"id": "msg_r", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "refusal", "refusal": "I can't help with that."}]}
    fake_server.script(
        raw(
            [
                ev("response.output_item.added", output_index=0, item={**item, "content": []}),
                ev("response.content_part.added", item_id="msg_r", output_index=0, content_index=0,
                   part={"type": "refusal", "refusal": ""}),
                ev("response.refusal.delta", item_id="msg_r", output_index=0, content_index=0,
                   delta="I can't help with that."),
                ev("response.refusal.done", item_id="msg_r", output_index=0, content_index=0,
                   refusal="I can't help with that."),
                ev("response.output_item.done", output_index=0, item=item),
                ev("response.completed", response=r_response("completed", [item])),
            ]
        )
    )
    events, done = await collect(providers["responses"], request("gpt-5.5"))
    assert texts(events) == "I can't help with that."
    assert done.stop_reason is StopReason.REFUSAL


# ---- Chat Completions -------------------------------------------------------------------------


def c_chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "qwen3:8b",
            "choices": choices, **extra}


def c_call(index: int, *, id: str | None = None, name: str | None = None, args: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index}
    if id is not None:
        call.update(id=id, type="function")
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if args is not None:
        function["arguments"] = args
    call["function"] = function
    return {"tool_calls": [call]}


DONE = "data: [DONE]\n\n"


async def test_chat_interleaved_tool_calls_and_usage_chunk(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(
        raw(
            [
                c_chunk({"role": "assistant", "content": None, "reasoning_content": "Two files."}),
                c_chunk({"content": "Reading."}),
                c_chunk(c_call(0, id="call_a", name="read_file", args="")),
                c_chunk(c_call(1, id="call_b", name="read_file")),
                c_chunk(c_call(0, args='{"path":')),
                c_chunk(c_call(1, args='{"path":"b"}')),
                c_chunk(c_call(0, args='"a"}')),
                c_chunk({}, "stop"),  # some servers say "stop" after tool calls
                c_chunk(None, usage={"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59,
                                     "prompt_tokens_details": {"cached_tokens": 20}}),
                DONE,
            ],
            event_lines=False,
        )
    )
    events, done = await collect(providers["chat"], request("qwen3:8b"))
    assert thinking_text(events) == "Two files." and texts(events) == "Reading."
    calls = done.message.tool_uses
    assert [(c.id, c.input) for c in calls] == [("call_a", {"path": "a"}), ("call_b", {"path": "b"})]
    assert done.stop_reason is StopReason.TOOL_USE
    assert (done.usage.input_tokens, done.usage.cache_read_tokens, done.usage.output_tokens) == (30, 20, 9)


async def test_chat_without_usage_and_with_finish_tool_calls(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(
        raw(
            [
                c_chunk({"role": "assistant", "tool_calls": [
                    {"index": 0, "id": "call_x", "type": "function",
                     "function": {"name": "read_file", "arguments": '{"path":"q"}'}}]}),
                c_chunk({}, "tool_calls"),
                DONE,
            ],
            event_lines=False,
        )
    )
    _, done = await collect(providers["chat"], request("qwen3:8b"))
    assert done.message.tool_uses == [ToolUseBlock(id="call_x", name="read_file", input={"path": "q"})]
    assert done.stop_reason is StopReason.TOOL_USE and done.usage.output_tokens == 0


async def test_chat_tool_call_deltas_without_index(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    # Some compatible servers omit "index": the id starts a call, later pieces continue it.
    fake_server.script(
        raw(
            [
                c_chunk({"tool_calls": [{"id": "call_1", "type": "function",
                                         "function": {"name": "read_file", "arguments": ""}}]}),
                c_chunk({"tool_calls": [{"function": {"arguments": '{"path":'}}]}),
                c_chunk({"tool_calls": [{"function": {"arguments": '"n"}'}}]}),
                c_chunk({}, "tool_calls"),
                DONE,
            ],
            event_lines=False,
        )
    )
    _, done = await collect(providers["chat"], request("qwen3:8b"))
    assert done.message.tool_uses == [ToolUseBlock(id="call_1", name="read_file", input={"path": "n"})]


async def test_chat_error_mid_stream(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    fake_server.script(
        raw(
            [c_chunk({"content": "Hi"}), {"error": {"message": "model crashed", "type": "server_error", "code": None}}],
            event_lines=False,
        )
    )
    with pytest.raises(ProviderError) as caught:
        await collect(providers["chat"], request("qwen3:8b"))
    assert "model crashed" in str(caught.value)


async def test_responses_error_wrapped_in_an_error_object(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    # The other error shape some servers stream: {"type": "error", "error": {...}}.
    ev = Seq()
    fake_server.script(
        raw(
            [
                ev("response.created", response=r_response("in_progress")),
                {"type": "error", "error": {"type": "server_error", "code": "server_error",
                                            "message": "Upstream hiccup"}, "sequence_number": 2},
            ]
        )
    )
    with pytest.raises(ProviderError) as caught:
        await collect(providers["responses"], request("gpt-5.5"))
    assert caught.value.kind == "overloaded" and "Upstream hiccup" in str(caught.value)


# ---- whole `stoa -p` conversations ------------------------------------------------------------

STOA = [sys.executable, "-m", "stoa.app.cli"]


def stoa(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STOA, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )


def run_json(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    result = stoa([*args, "--output-format", "json"], env, cwd)
    assert result.returncode == 0, result.stderr + result.stdout
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["success"] is True, data
    return data


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "a.txt").write_text("AAA\n")
    (ws / "b.txt").write_text("BBB\n")
    return ws


def blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def result_texts(message: dict[str, Any]) -> list[str]:
    out = []
    for block in blocks(message):
        if block["type"] == "tool_result":
            content = block["content"]
            out.append(content if isinstance(content, str) else "".join(c.get("text", "") for c in content))
    return out


def check_all(server: FakeServer) -> list[RecordedRequest]:
    """Every model request the server saw, each checked by the protocol checker."""
    requests = server.model_requests()
    for r in requests:
        assert_valid(r.format or "", r.json, f"request #{r.index}", issued=server.issued)
    return requests


def test_claude_tool_loop_with_parallel_calls_thinking_and_redacted_thinking(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(thinking="Both files matter.", text="Reading both.",
              tool_calls=[tool_call("read_file", {"path": "a.txt"}), tool_call("read_file", {"path": "b.txt"})]),
        reply(thinking="Now the folder.", redacted_thinking="UkVEQUNURUQ=",
              tool_calls=[tool_call("list_directory", {"path": "."})]),
        reply(text="a says AAA, b says BBB."),
    )
    data = run_json(["-m", "claude-sonnet-4-6", "-e", "high", "-p", "compare a and b"], stoa_env, workspace)
    assert data["response"] == "a says AAA, b says BBB."
    first, second, third = check_all(fake_server)
    for body in (first.json, second.json, third.json):
        assert body["model"] == "claude-sonnet-4-6" and body["stream"] is True
        assert body["thinking"] == {"type": "adaptive"} and body["output_config"] == {"effort": "high"}
        assert body["max_tokens"] == 32_000 and "temperature" not in body and "tool_choice" not in body
        names = [t["name"] for t in body["tools"]]
        assert "read_file" in names and names.count("web_search") == 1
        assert {"type": "web_search_20250305", "name": "web_search"}.items() <= body["tools"][-1].items()
    # Step 2: the assistant message comes back whole (signed thinking first), both results
    # together and in call order in the next user message.
    assistant, results = second.json["messages"][-2:]
    kinds = [b["type"] for b in blocks(assistant)]
    assert kinds == ["thinking", "text", "tool_use", "tool_use"]
    assert blocks(assistant)[0] == {"type": "thinking", "thinking": "Both files matter.",
                                    "signature": thinking_signature("Both files matter.")}
    ids = [b["id"] for b in blocks(assistant) if b["type"] == "tool_use"]
    assert [b["tool_use_id"] for b in blocks(results) if b["type"] == "tool_result"] == ids
    texts_ = result_texts(results)
    assert "AAA" in texts_[0] and "BBB" in texts_[1]
    # Step 3: thinking and redacted thinking first, unchanged.
    assistant = third.json["messages"][-2]
    assert [b["type"] for b in blocks(assistant)] == ["thinking", "redacted_thinking", "tool_use"]
    assert blocks(assistant)[1] == {"type": "redacted_thinking", "data": "UkVEQUNURUQ="}
    assert "a.txt" in result_texts(third.json["messages"][-1])[0]


def test_gpt_tool_loop_carries_encrypted_reasoning(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(thinking="Read both.", text="On it.",
              tool_calls=[tool_call("read_file", {"path": "a.txt"}), tool_call("read_file", {"path": "b.txt"})]),
        reply(thinking="Compare.", tool_calls=[tool_call("read_file", {"path": "a.txt"})]),
        reply(text="Same as before."),
    )
    data = run_json(["-m", "gpt-5.5", "-e", "high", "-p", "compare"], stoa_env, workspace)
    assert data["response"] == "Same as before."
    requests = check_all(fake_server)
    assert len(requests) == 3
    for r in requests:
        body = r.json
        assert r.format == "responses" and body["model"] == "gpt-5.5"
        assert body["reasoning"] == {"effort": "high", "summary": "auto"}
        assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]
        assert body["max_output_tokens"] == 32_000 and body["tool_choice"] == "auto"
        assert {"type": "web_search"} in body["tools"]
        for tool in body["tools"]:
            if tool["type"] == "function":
                assert set(tool) == {"type", "name", "description", "parameters", "strict"}
    items = requests[2].json["input"]
    kinds = [i.get("type", "message:" + i.get("role", "?")) if i.get("type") != "message" else "message:" + i["role"]
             for i in items]
    assert kinds == [
        "message:user", "reasoning", "message:assistant", "function_call", "function_call",
        "function_call_output", "function_call_output", "reasoning", "function_call", "function_call_output",
    ]
    reasoning = [i for i in items if i.get("type") == "reasoning"]
    assert [r["encrypted_content"] for r in reasoning] == [encrypted_reasoning("Read both."),
                                                           encrypted_reasoning("Compare.")]
    assert all("id" not in i for i in items)
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    assert "AAA" in outputs[0]["output"] and "BBB" in outputs[1]["output"]


def test_claude_then_gpt_then_claude_through_resume(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(thinking="Claude plans.", redacted_thinking="U0VDUkVU",
              tool_calls=[tool_call("read_file", {"path": "a.txt"}, id="toolu_01ABC")]),
        reply(text="a.txt holds AAA."),
    )
    first = run_json(["-m", "claude-sonnet-4-6", "-e", "high", "-p", "read a.txt"], stoa_env, workspace)
    session = first["session_id"]
    seen = len(fake_server.model_requests())

    fake_server.script(
        reply(thinking="GPT plans.", tool_calls=[tool_call("read_file", {"path": "b.txt"}, id="call_gpt1")]),
        reply(text="b.txt holds BBB."),
    )
    second = run_json(["-r", session[:8], "-m", "gpt-5.5", "-e", "low", "-p", "now b.txt"], stoa_env, workspace)
    assert second["session_id"] == session and second["model"] == "gpt-5.5"
    gpt = fake_server.model_requests()[seen:]
    seen += len(gpt)
    assert [r.format for r in gpt] == ["responses", "responses"]
    for r in gpt:
        body = r.json
        assert body["reasoning"] == {"effort": "low", "summary": "auto"}
        dumped = json.dumps(body)
        # Claude's thinking, signature and redacted data never cross to OpenAI.
        assert "Claude plans." not in dumped and "U0VDUkVU" not in dumped
        assert thinking_signature("Claude plans.") not in dumped
    items = gpt[0].json["input"]
    calls = [i for i in items if i.get("type") == "function_call"]
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    assert [c["call_id"] for c in calls] == ["toolu_01ABC"] and [o["call_id"] for o in outputs] == ["toolu_01ABC"]
    assert json.loads(calls[0]["arguments"]) == {"path": "a.txt"} and "AAA" in outputs[0]["output"]

    fake_server.script(
        reply(thinking="Back on Claude.", tool_calls=[tool_call("read_file", {"path": "a.txt"})]),
        reply(text="Both read."),
    )
    third = run_json(["-r", session[:8], "-m", "claude-sonnet-4-6", "-e", "medium", "-p", "and both?"], stoa_env,
                     workspace)
    assert third["model"] == "claude-sonnet-4-6" and third["response"] == "Both read."
    claude = fake_server.model_requests()[seen:]
    assert [r.format for r in claude] == ["anthropic", "anthropic"]
    for r in claude:
        body = r.json
        assert body["thinking"] == {"type": "adaptive"} and body["output_config"] == {"effort": "medium"}
        dumped = json.dumps(body)
        # GPT's encrypted reasoning never reaches Anthropic; its call and result do, as tool blocks.
        assert encrypted_reasoning("GPT plans.") not in dumped and "GPT plans." not in dumped
        uses = [b for m in body["messages"] for b in blocks(m) if b["type"] == "tool_use"]
        assert "call_gpt1" in [u["id"] for u in uses]
        # Claude's own signed thinking from the first run comes back unchanged.
        thinking = [b for m in body["messages"] for b in blocks(m) if b["type"] == "thinking"]
        assert {"type": "thinking", "thinking": "Claude plans.",
                "signature": thinking_signature("Claude plans.")} in thinking
    check_all(fake_server)


# ---- the effort mapping, field by field, for every model and level ---------------------------

# What the docs say each (model, level) must put on the wire, written out by hand.
CLAUDE_MAX_TOKENS = 32_000
HAIKU_BUDGETS = {"low": 4_000, "medium": 10_000, "high": 24_000, "max": 32_000}


# Thinking cannot be turned off (no "off"): Opus 5.5 and the Fable line.
ALWAYS_ON = ("claude-fable-5-2", "claude-opus-5-5", "claude-fable-5-1", "claude-fable-5")
# Thinking is turned off with between_tools (disabled is refused).
BETWEEN_TOOLS = ("claude-sonnet-5-5",)
# Models that omit the thinking text unless asked: display "summarized" keeps progress visible.
SUMMARIZED = (*ALWAYS_ON, "claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5", "claude-opus-4-8", "claude-opus-4-7")
# The OpenAI models that refuse reasoning.effort "none": off is sent as "low".
OPENAI_LOW_FLOOR = ("gpt-6.2-astra", "gpt-6.2-sol", "gpt-6.1-sol", "gpt-6-astra", "gpt-5.3-codex")
ALL_LEVELS = ("off", "low", "medium", "high", "xhigh", "max")


def expected_anthropic(model: str, effort: str) -> dict[str, Any]:
    if effort == "off":
        kind = "between_tools" if model in BETWEEN_TOOLS else "disabled"
        return {"thinking": {"type": kind}, "max_tokens": CLAUDE_MAX_TOKENS}
    if model == "claude-haiku-4-5":
        budget = HAIKU_BUDGETS[effort]
        return {"thinking": {"type": "enabled", "budget_tokens": budget},
                "max_tokens": max(CLAUDE_MAX_TOKENS, budget + 8_192)}
    thinking: dict[str, Any] = {"type": "adaptive"}
    if model in SUMMARIZED:
        thinking["display"] = "summarized"
    return {"thinking": thinking, "output_config": {"effort": effort}, "max_tokens": CLAUDE_MAX_TOKENS}


def expected_openai(model: str, effort: str) -> dict[str, Any]:
    if effort == "off":
        # The lowest effort the model accepts, and no summary.
        return {"reasoning": {"effort": "low" if model in OPENAI_LOW_FLOOR else "none"}}
    return {"reasoning": {"effort": effort, "summary": "auto"}}


EFFORT_CASES = (
    [(m, e) for m in ALWAYS_ON for e in ALL_LEVELS[1:]]
    + [(m, e) for m in ("claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5", "claude-sonnet-5",
                        "claude-opus-4-8", "claude-opus-4-7") for e in ALL_LEVELS]
    + [("claude-sonnet-4-6", e) for e in ("off", "low", "medium", "high", "max")]
    + [("claude-haiku-4-5", e) for e in ("off", "low", "medium", "high", "max")]
    + [(m, e) for m in ("gpt-6.2-astra", "gpt-6.2-sol", "gpt-6-luna", "gpt-6.1-sol", "gpt-6-astra", "gpt-6-sol")
       for e in ALL_LEVELS]
    + [(m, e) for m in ("gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna", "gpt-5.5", "gpt-5.4", "gpt-5.4-mini",
                        "gpt-5.3-codex") for e in ALL_LEVELS[:-1]]
)
DEFAULT_EFFORTS = {
    "claude-fable-5-2": "high", "claude-opus-5-5": "medium", "claude-sonnet-5-5": "high", "claude-haiku-5-5": "medium",
    "claude-fable-5-1": "high", "claude-fable-5": "high", "claude-opus-5": "high", "claude-sonnet-5": "high",
    "claude-opus-4-8": "high", "claude-opus-4-7": "high", "claude-sonnet-4-6": "medium", "claude-haiku-4-5": "off",
    **{m: "medium" for m in ("gpt-6.2-astra", "gpt-6.2-sol", "gpt-6-luna", "gpt-6.1-sol", "gpt-6-astra", "gpt-6-sol",
                             "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna", "gpt-5.5", "gpt-5.4", "gpt-5.4-mini",
                             "gpt-5.3-codex")},
}


def test_the_registry_covers_exactly_these_cases() -> None:
    from stoa.core.models import MODELS

    assert sorted(EFFORT_CASES) == sorted((m.id, e) for m in MODELS for e in m.efforts)
    assert DEFAULT_EFFORTS == {m.id: m.default_effort for m in MODELS}


def check_effort_fields(model: str, effort: str | None, body: dict[str, Any]) -> None:
    level = effort or DEFAULT_EFFORTS[model]
    where = f"-m {model} -e {effort}"
    assert body["model"] == model, where
    assert body["stream"] is True, where
    if model.startswith("claude"):
        want = expected_anthropic(model, level)
        assert body["thinking"] == want["thinking"], where
        assert body.get("output_config") == want.get("output_config"), where
        assert body["max_tokens"] == want["max_tokens"], where
        thinking = body["thinking"]
        if thinking["type"] == "enabled":
            assert 1_024 <= thinking["budget_tokens"] < body["max_tokens"] <= 64_000, where
        for banned in ("temperature", "top_p", "top_k", "reasoning"):
            assert banned not in body, where
    else:
        want = expected_openai(model, level)
        assert body["reasoning"] == want["reasoning"], where
        assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"], where
        assert body["max_output_tokens"] == 32_000, where
        for banned in ("thinking", "output_config", "max_tokens", "temperature", "previous_response_id"):
            assert banned not in body, where


def requests_by_case(server: FakeServer, runs: list[tuple[str, str | None]]) -> dict[tuple[str, str | None], Any]:
    by_case: dict[tuple[str, str | None], Any] = {}
    for r in server.model_requests():
        prompt = json.dumps(r.json)
        matched = [c for c in runs if f"case {c[0]} {c[1]}." in prompt]
        assert len(matched) == 1, prompt[:300]
        by_case[matched[0]] = r.json
    assert set(by_case) == set(runs)
    return by_case


def test_every_model_and_effort_on_the_wire(
    use_stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``stoa -m MODEL -e LEVEL -p`` for every pair (and each model with no -e), through the CLI's
    own ``main`` in this process (the subprocess test below proves the console script), checked
    field by field against what the docs ask for."""
    from stoa.app.cli import main

    monkeypatch.chdir(workspace)
    fake_server.default_reply = reply(text="ok", instant=True)
    runs: list[tuple[str, str | None]] = [*EFFORT_CASES, *((m, None) for m in DEFAULT_EFFORTS)]
    for model, effort in runs:
        code = main(["-m", model, *(["-e", effort] if effort else []), "-p", f"case {model} {effort}."])
        assert code == 0, (model, effort, capsys.readouterr().err)
    for (model, effort), body in requests_by_case(fake_server, runs).items():
        check_effort_fields(model, effort, body)


def test_efforts_through_the_console_script(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    """A subprocess per model (the real ``stoa -p`` path), its top or lowest level."""
    fake_server.default_reply = reply(text="ok", instant=True)
    runs: list[tuple[str, str | None]] = [
        ("claude-opus-4-7", "xhigh"), ("claude-sonnet-4-6", "off"), ("claude-haiku-4-5", "max"),
        ("gpt-5.5", "off"), ("gpt-5.3-codex", "off"), ("gpt-5.4-mini", None),
    ]

    def one(case: tuple[str, str | None]) -> subprocess.CompletedProcess[str]:
        model, effort = case
        return stoa(["-m", model, *(["-e", effort] if effort else []), "-p", f"case {model} {effort}."], stoa_env,
                    workspace)

    with ThreadPoolExecutor(max_workers=3) as pool:
        for case, result in zip(runs, pool.map(one, runs), strict=True):
            assert result.returncode == 0, (case, result.stderr)
    for (model, effort), body in requests_by_case(fake_server, runs).items():
        check_effort_fields(model, effort, body)


def test_max_tokens_is_raised_above_a_thinking_budget(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(reply(text="ok"), reply(text="ok"), reply(text="ok"))
    for args in (["-m", "claude-haiku-4-5", "-e", "high", "--max-tokens", "2000"],
                 ["-m", "claude-haiku-4-5", "-e", "low", "--max-tokens", "900000"],
                 ["-m", "opus", "-e", "max", "--max-tokens", "900000"]):
        result = stoa([*args, "-p", "hi"], stoa_env, workspace)
        assert result.returncode == 0, result.stderr
    high, low, opus = (r.json for r in fake_server.model_requests())
    assert high["thinking"] == {"type": "enabled", "budget_tokens": 24_000} and high["max_tokens"] == 32_192
    # Clamped to the model's output limit, the budget still below it.
    assert low["thinking"] == {"type": "enabled", "budget_tokens": 4_000} and low["max_tokens"] == 64_000
    assert opus["max_tokens"] == 128_000


# ---- whole conversations over hand-written streams -------------------------------------------


def test_stoa_over_raw_anthropic_streams(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    """Omitted thinking (empty text, only a signature), a whitespace text block, parallel calls at
    index gaps, no `event:` lines, pings: the next request sends it all back as the API wants."""
    fake_server.script(
        raw(
            [
                a_start(),
                PING,
                a_block(0, {"type": "thinking", "thinking": ""}),
                a_delta(0, {"type": "signature_delta", "signature": "RXFvbWl0dGVk"}),
                a_stop(0),
                a_block(1, {"type": "text", "text": ""}),
                a_text(1, "\n\n"),
                a_stop(1),
                a_block(3, {"type": "tool_use", "id": "toolu_P1", "name": "read_file", "input": {}}),
                a_json(3, ""),
                a_json(3, '{"path": "a.txt"}'),
                a_stop(3),
                a_block(4, {"type": "tool_use", "id": "toolu_P2", "name": "read_file", "input": {"path": "b.txt"}}),
                a_stop(4),
                *a_end("tool_use"),
            ],
            event_lines=False,
        ),
        raw([a_start(), a_block(0, {"type": "text", "text": ""}), a_text(0, "Both read."), a_stop(0), *a_end()]),
    )
    data = run_json(["-m", "opus", "-e", "high", "-p", "read both"], stoa_env, workspace)
    assert data["response"] == "Both read."
    _, second = check_all(fake_server)
    assistant, results = second.json["messages"][-2:]
    assert blocks(assistant) == [
        {"type": "thinking", "thinking": "", "signature": "RXFvbWl0dGVk"},
        {"type": "tool_use", "id": "toolu_P1", "name": "read_file", "input": {"path": "a.txt"}},
        {"type": "tool_use", "id": "toolu_P2", "name": "read_file", "input": {"path": "b.txt"}},
    ]
    assert [b["tool_use_id"] for b in blocks(results)] == ["toolu_P1", "toolu_P2"]
    assert second.json["thinking"] == {"type": "adaptive", "display": "summarized"}

    # Resumed from the session store, the omitted thinking block is still there, signature and all.
    fake_server.script(reply(text="Still here."))
    run_json(["-c", "-p", "again"], stoa_env, workspace)
    third = fake_server.model_requests()[-1].json
    sent = [b for m in third["messages"] for b in blocks(m) if b["type"] == "thinking"]
    assert sent == [{"type": "thinking", "thinking": "", "signature": "RXFvbWl0dGVk"}]


def test_stoa_over_raw_responses_streams(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    ev = Seq()
    rs, c1, c2 = reasoning_item(["Two reads."], "gAAAA-raw"), call_item(1, '{"path":"a.txt"}'), call_item(2, "")
    c2 = {**c2, "arguments": '{"path":"b.txt"}'}
    fake_server.script(
        raw(
            [
                ev("response.created", response=r_response("in_progress")),
                ev("response.output_item.added", output_index=0, item={**rs, "summary": [], "encrypted_content": None}),
                ev("response.reasoning_summary_text.delta", item_id="rs_1", output_index=0, summary_index=0,
                   delta="Two reads."),
                ev("response.output_item.done", output_index=0, item=rs),
                ev("response.output_item.added", output_index=1, item={**c1, "arguments": ""}),
                ev("response.function_call_arguments.delta", item_id="fc_1", output_index=1, delta=c1["arguments"]),
                ev("response.output_item.done", output_index=1, item=c1),
                ev("response.output_item.added", output_index=2, item={**c2, "arguments": ""}),
                ev("response.function_call_arguments.done", item_id="fc_2", output_index=2,
                   arguments=c2["arguments"]),
                ev("response.output_item.done", output_index=2, item=c2),
                ev("response.completed", response=r_response("completed", [rs, c1, c2], usage=R_USAGE)),
            ],
            event_lines=False,
        ),
        reply(text="Both read."),
    )
    data = run_json(["-m", "gpt-5.4", "-e", "medium", "-p", "read both"], stoa_env, workspace)
    assert data["response"] == "Both read."
    assert data["usage"]["cache_read_tokens"] >= 1000
    _, second = check_all(fake_server)
    items = second.json["input"]
    assert items[1:] == [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Two reads."}],
         "encrypted_content": "gAAAA-raw"},
        {"type": "function_call", "call_id": "call_1", "name": "read_file", "arguments": '{"path":"a.txt"}'},
        {"type": "function_call", "call_id": "call_2", "name": "read_file", "arguments": '{"path":"b.txt"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": items[4]["output"]},
        {"type": "function_call_output", "call_id": "call_2", "output": items[5]["output"]},
    ]
    assert "AAA" in items[4]["output"] and "BBB" in items[5]["output"]


def test_stoa_over_raw_chat_streams(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(
        raw(
            [
                c_chunk({"role": "assistant", "content": ""}),
                c_chunk({"reasoning": "need both"}),
                c_chunk(c_call(0, id="call_0", name="read_file")),
                c_chunk(c_call(1, id="call_1", name="read_file", args='{"path"')),
                c_chunk(c_call(0, args='{"path":"a.txt"}')),
                c_chunk(c_call(1, args=':"b.txt"}')),
                c_chunk({}, "tool_calls"),
                DONE,
            ],
            event_lines=False,
        ),
        raw([c_chunk({"content": "Both read."}), c_chunk({}, "stop"), DONE], event_lines=False),
    )
    args = ["--provider", "ollama", "--base-url", fake_server.openai_base_url, "-m", "qwen3:8b", "-p", "read both"]
    data = run_json(args, stoa_env, workspace)
    assert data["response"] == "Both read."
    _, second = check_all(fake_server)
    messages = second.json["messages"]
    assert messages[-3]["tool_calls"] == [
        {"id": "call_0", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"a.txt"}'}},
        {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"b.txt"}'}},
    ]
    assert [m["role"] for m in messages[-2:]] == ["tool", "tool"]
    assert "need both" not in json.dumps(second.json)


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "opus", "fable", "gpt-5.5", "gpt"])
def test_iteration_limit_summary_request_forbids_tools_but_declares_them(
    model: str, stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / ".stoa").mkdir()
    (workspace / ".stoa" / "config.toml").write_text("max-iterations = 2\n")
    fake_server.script(
        reply(thinking="one", tool_calls=[tool_call("read_file", {"path": "a.txt"})]),
        reply(thinking="two", tool_calls=[tool_call("read_file", {"path": "b.txt"})]),
        # The summary request: the model calls a tool anyway; it is answered, never run.
        reply(text="Summary so far.", tool_calls=[tool_call("read_file", {"path": "a.txt"})]),
    )
    data = run_json(["-m", model, "-e", "high", "-p", "loop"], stoa_env, workspace)
    assert "Summary so far." in data["response"]
    requests = check_all(fake_server)
    assert len(requests) == 3
    last = requests[-1].json
    if requests[-1].format == "anthropic":
        # Never a forced choice (any / tool): Opus 5.5 and Fable refuse it (the fake enforces it).
        assert last["tool_choice"] == {"type": "none"} and last["tools"]
        assert last["thinking"]["type"] == "adaptive"  # tool_choice none is allowed with thinking
    else:
        assert last["tool_choice"] == "none" and last["tools"]
    for r in requests[:2]:
        assert "tool_choice" not in r.json or r.json["tool_choice"] == "auto"


def test_stoa_retries_after_an_error_event_mid_stream(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    ev = Seq()
    fake_server.script(
        raw([a_start(), a_block(0, {"type": "text", "text": ""}), a_text(0, "Hal"),
             {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]),
        reply(text="Claude, whole."),
        raw([ev("response.created", response=r_response("in_progress")),
             ev("error", code="server_error", message="The server had an error", param=None)]),
        reply(text="GPT, whole."),
    )
    for model, answer in (("sonnet", "Claude, whole."), ("gpt-5.5", "GPT, whole.")):
        result = stoa(["-m", model, "-p", "hi"], stoa_env, workspace)
        assert result.returncode == 0, result.stderr
        assert result.stdout == answer + "\n"
        assert "retrying" in result.stderr
    first, second, third, fourth = check_all(fake_server)
    # The retried request is the same request: nothing of the broken reply, the prompt kept.
    assert first.json == second.json and third.json == fourth.json


async def test_responses_items_complete_in_output_item_added(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    # A server that sends each item whole in output_item.added, with no deltas, no .done events
    # and an empty output in response.completed.
    ev = Seq()
    fake_server.script(
        raw(
            [
                ev("response.output_item.added", output_index=0, item=message_item("Whole text.")),
                ev("response.output_item.added", output_index=1, item=call_item(3, '{"path":"w"}')),
                ev("response.completed", response=r_response("completed", [])),
            ]
        )
    )
    _, done = await collect(providers["responses"], request("gpt-5.5"))
    assert done.message.content == [
        TextBlock(text="Whole text."),
        ToolUseBlock(id="call_3", name="read_file", input={"path": "w"}, item_id="fc_3"),
    ]
    assert done.stop_reason is StopReason.TOOL_USE


async def test_anthropic_message_delta_without_usage(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    fake_server.script(
        raw(
            [
                a_start(input_tokens=10, output_tokens=1),
                a_block(0, {"type": "text", "text": "Hi"}),
                a_stop(0),
                {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}},
                {"type": "message_stop"},
            ]
        )
    )
    events, done = await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    assert texts(events) == "Hi" and done.message.text == "Hi"
    assert (done.usage.input_tokens, done.usage.output_tokens) == (10, 1)


async def test_chat_tool_arguments_sent_as_an_object(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    fake_server.script(
        raw(
            [
                c_chunk({"role": "assistant", "tool_calls": [
                    {"index": 0, "id": "call_o", "type": "function",
                     "function": {"name": "read_file", "arguments": {"path": "obj.txt"}}}]}),
                c_chunk({}, "tool_calls"),
                DONE,
            ],
            event_lines=False,
        )
    )
    _, done = await collect(providers["chat"], request("qwen3:8b"))
    assert done.message.tool_uses == [ToolUseBlock(id="call_o", name="read_file", input={"path": "obj.txt"})]


async def test_raw_error_bodies_with_status_and_headers(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(
        raw(body={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, status=529),
        raw(body={"error": {"message": "Slow down", "type": "requests", "code": "rate_limit_exceeded"}},
            status=429, headers={"retry-after": "7"}),
    )
    with pytest.raises(ProviderError) as caught:
        await collect(providers["anthropic"], request("claude-sonnet-4-6"))
    assert caught.value.kind == "overloaded" and caught.value.status == 529
    with pytest.raises(ProviderError) as caught:
        await collect(providers["responses"], request("gpt-5.5"))
    assert caught.value.kind == "rate_limit" and caught.value.retry_after == 7.0
