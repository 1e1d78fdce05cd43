"""The three providers against the fake provider server, through Stoa's own HTTP client (held to
the SDKs by test_sdk_contract.py).

Text, thinking and its carry-forward (Anthropic signatures, OpenAI encrypted reasoning), tool
calls with streamed and with broken arguments, usage with cache tokens, every scripted fault
mapped to the right ``ProviderError`` kind, a resumed ``pause_turn``, and one conversation that
moves Claude -> GPT -> a local Chat server -> Claude. Every request the server saw is checked by
its protocol checker after each test (tests/conftest.py), and explicitly where it matters.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from stoa.core.config import StoaConfig, StoaPaths
from stoa.core.models import compatible_model, effort_wire_options, resolve_model
from stoa.core.providers.anthropic import AnthropicProvider
from stoa.core.providers.base import (
    MessageComplete,
    Provider,
    ProviderError,
    ProviderRequest,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
)
from stoa.core.providers.factory import ProviderPool, check_connection
from stoa.core.providers.openai_chat import OpenAIChatProvider
from stoa.core.providers.openai_responses import OpenAIResponsesProvider
from stoa.core.providers.types import (
    ContentBlock,
    ImageBlock,
    Message,
    RedactedThinkingBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
    user_text,
)
from tests.fake_server import FakeServer, encrypted_reasoning, fault, reply, thinking_signature, tool_call

FORMATS = ("anthropic", "responses", "chat")
READ_FILE = ToolSpec(
    name="read_file",
    description="Read a file",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
PNG = "iVBORw0KGgo="
SHORT_READ_TIMEOUT = 0.5


def make_provider(
    fmt: str, server: FakeServer, *, read_timeout: float = 10.0, base_url: str | None = None
) -> Provider:
    if fmt == "anthropic":
        return AnthropicProvider("test-key", base_url or server.base_url, read_timeout=read_timeout)
    if fmt == "responses":
        return OpenAIResponsesProvider(
            "test-key", base_url or server.openai_base_url, read_timeout=read_timeout
        )
    return OpenAIChatProvider("ollama", base_url or server.openai_base_url, read_timeout=read_timeout)


@pytest.fixture
async def providers(fake_server: FakeServer) -> AsyncIterator[dict[str, Provider]]:
    made = {fmt: make_provider(fmt, fake_server) for fmt in FORMATS}
    yield made
    for provider in made.values():
        await provider.aclose()


@pytest.fixture(params=FORMATS)
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def request_for(messages: list[Message], **kwargs: Any) -> ProviderRequest:
    base: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "system": "You are a test agent.",
        "messages": messages,
        "tools": [READ_FILE],
        "max_tokens": 2000,
    }
    base.update(kwargs)
    return ProviderRequest(**base)


MODEL_FOR = {"anthropic": "claude-sonnet-4-6", "responses": "gpt-5.5", "chat": "qwen3:8b"}


async def collect(provider: Provider, request: ProviderRequest) -> tuple[list[StreamEvent], MessageComplete]:
    events = [event async for event in provider.stream(request)]
    completes = [e for e in events if isinstance(e, MessageComplete)]
    assert len(completes) == 1 and events[-1] is completes[0], "exactly one MessageComplete, last"
    return events, completes[0]


async def failure(provider: Provider, request: ProviderRequest) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await collect(provider, request)
    return info.value


def results_for(message: Message, image: ImageBlock | None = None) -> Message:
    """One result per call of ``message``; ``image`` goes inside each result, as view_image does."""
    results: list[ContentBlock] = []
    for use in message.tool_uses:
        parts: list[TextBlock | ImageBlock] = [TextBlock(text=f"contents of {use.input.get('path')}")]
        if image is not None:
            parts.append(image)
        results.append(ToolResultBlock(tool_use_id=use.id, content=parts))
    return Message(role="user", content=results)


# ---- text, thinking, tools ----------------------------------------------------------------------


async def test_text_reply(fake_server: FakeServer, providers: dict[str, Provider], fmt: str) -> None:
    # Deltas 20 ms apart arrive in reads of their own: each is passed on as it comes.
    fake_server.script(reply(text="Hello there, from the fake server.", chunk_size=5, delay_per_event=0.02))
    events, done = await collect(providers[fmt], request_for([user_text("hi")], model=MODEL_FOR[fmt]))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1 and "".join(deltas) == "Hello there, from the fake server."
    assert done.message.role == "assistant" and done.message.text == "Hello there, from the fake server."
    assert done.stop_reason is StopReason.END_TURN and done.message.stop_reason is StopReason.END_TURN
    assert done.message.provider == providers[fmt].name
    assert done.usage.output_tokens > 0 and done.usage.input_tokens > 0
    body = fake_server.last_request.body
    assert body["stream"] is True


async def test_deltas_one_read_brings_are_passed_on_as_one(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str
) -> None:
    """A reply that arrives faster than it is read (here 2,000 deltas sent at once) costs the
    agent an event per read of the body, not one per delta; the text is the same."""
    text = "".join(f"word{i} " for i in range(2_000))
    fake_server.script(reply(text=text, chunk_size=4))
    events, done = await collect(providers[fmt], request_for([user_text("hi")], model=MODEL_FOR[fmt]))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == text == done.message.text
    wire_deltas = -(-len(text) // 4)
    assert len(deltas) < wire_deltas / 10, f"{len(deltas)} events for {wire_deltas} deltas"


async def test_anthropic_thinking_signature_comes_back_unchanged(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    thought = "Let me think about the file first."
    fake_server.script(
        reply(thinking=thought, redacted_thinking="opaque-bytes", text="Done."), reply(text="Again.")
    )
    provider = providers["anthropic"]
    model = resolve_model("claude-sonnet-4-6")
    wire, max_tokens = effort_wire_options(model, "high", 4000)
    first = request_for([user_text("think")], wire_options=wire, max_tokens=max_tokens)
    events, done = await collect(provider, first)
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == thought
    thinking = done.message.content[0]
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.signature == thinking_signature(thought) and thinking.origin == "anthropic"
    assert isinstance(done.message.content[1], RedactedThinkingBlock)
    # The first request carried the effort wire options.
    assert fake_server.requests[0].body["thinking"] == {"type": "adaptive"}
    assert fake_server.requests[0].body["output_config"] == {"effort": "high"}
    # The next request sends the thinking back, signature intact.
    await collect(
        provider, request_for([user_text("think"), done.message, user_text("again")], wire_options=wire)
    )
    sent = fake_server.last_request.body["messages"][1]["content"]
    assert sent[0] == {"type": "thinking", "thinking": thought, "signature": thinking_signature(thought)}
    assert sent[1] == {"type": "redacted_thinking", "data": "opaque-bytes"}
    fake_server.assert_protocol_valid()


async def test_openai_reasoning_is_carried_forward_encrypted(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    summary = "Checking the file layout."
    fake_server.script(
        reply(thinking=summary, tool_calls=[tool_call("read_file", {"path": "a.txt"})]), reply(text="ok")
    )
    provider = providers["responses"]
    model = resolve_model("gpt")
    wire, _ = effort_wire_options(model, "high", 4000)
    events, done = await collect(provider, request_for([user_text("go")], model=model.id, wire_options=wire))
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == summary
    reasoning, call = done.message.content
    assert isinstance(reasoning, ThinkingBlock) and reasoning.origin == "openai"
    assert reasoning.thinking == summary and reasoning.encrypted_content == encrypted_reasoning(summary)
    assert reasoning.item_id and reasoning.item_id.startswith("rs_")
    assert isinstance(call, ToolUseBlock) and call.item_id and call.item_id.startswith("fc_")
    first = fake_server.requests[0].body
    assert first["store"] is False and first["include"] == ["reasoning.encrypted_content"]
    assert first["reasoning"] == {"effort": "high", "summary": "auto"}
    history = [user_text("go"), done.message, results_for(done.message)]
    await collect(provider, request_for(history, model=model.id, wire_options=wire))
    items = fake_server.last_request.body["input"]
    assert [i.get("type") for i in items] == [None, "reasoning", "function_call", "function_call_output"]
    assert items[1]["encrypted_content"] == encrypted_reasoning(summary)
    fake_server.assert_protocol_valid()


async def test_chat_reasoning_is_shown_but_not_sent_back(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(reply(thinking="local musings", text="Answer."), reply(text="ok"))
    provider = providers["chat"]
    events, done = await collect(provider, request_for([user_text("q")], model="qwen3:8b"))
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "local musings"
    assert isinstance(done.message.content[0], ThinkingBlock)
    await collect(provider, request_for([user_text("q"), done.message, user_text("more")], model="qwen3:8b"))
    assert "local musings" not in str(fake_server.last_request.body)


async def test_tool_calls_stream_their_arguments(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str
) -> None:
    calls = [tool_call("read_file", {"path": "src/main.py"}), tool_call("read_file", {"path": "README.md"})]
    fake_server.script(reply(text="Reading both.", tool_calls=calls, chunk_size=4), reply(text="Both read."))
    provider = providers[fmt]
    events, done = await collect(provider, request_for([user_text("read")], model=MODEL_FOR[fmt]))
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [s.name for s in starts] == ["read_file", "read_file"]
    for start, path in zip(starts, ("src/main.py", "README.md"), strict=True):
        streamed = "".join(
            e.arguments_delta for e in events if isinstance(e, ToolCallDelta) and e.id == start.id
        )
        assert path in streamed
    uses = done.message.tool_uses
    assert [u.input for u in uses] == [{"path": "src/main.py"}, {"path": "README.md"}]
    assert [u.id for u in uses] == [s.id for s in starts]
    assert all(u.input_error is None for u in uses)
    assert done.stop_reason is StopReason.TOOL_USE
    history = [user_text("read"), done.message, results_for(done.message)]
    _, second = await collect(provider, request_for(history, model=MODEL_FOR[fmt]))
    assert second.message.text == "Both read."
    fake_server.assert_protocol_valid()


async def test_invalid_tool_arguments_become_an_input_error(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str
) -> None:
    fake_server.script(reply(tool_calls=[tool_call("read_file", '{"path": "a.txt", ')]), reply(text="sorry"))
    provider = providers[fmt]
    _, done = await collect(provider, request_for([user_text("read")], model=MODEL_FOR[fmt]))
    (use,) = done.message.tool_uses
    assert use.name == "read_file" and use.input == {}
    assert use.input_error is not None and "not valid JSON" in use.input_error
    # The broken call can be answered (with an error result) and the conversation goes on.
    answer = Message(
        role="user",
        content=[
            ToolResultBlock(tool_use_id=use.id, content=[TextBlock(text="invalid arguments")], is_error=True)
        ],
    )
    await collect(provider, request_for([user_text("read"), done.message, answer], model=MODEL_FOR[fmt]))
    fake_server.assert_protocol_valid()


USAGE = {
    "input_tokens": 10,
    "output_tokens": 5,
    "cache_read_tokens": 100,
    "cache_write_tokens": 20,
    "reasoning_tokens": 3,
}
EXPECTED_USAGE = {
    "anthropic": Usage(input_tokens=10, output_tokens=5, cache_read_tokens=100, cache_write_tokens=20),
    "responses": Usage(
        input_tokens=10, output_tokens=5, cache_read_tokens=100, cache_write_tokens=20, reasoning_tokens=3
    ),
    # Chat Completions has no cache-write count: written tokens are plain input there.
    "chat": Usage(input_tokens=30, output_tokens=5, cache_read_tokens=100, reasoning_tokens=3),
}


async def test_usage_with_cache_tokens(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str
) -> None:
    fake_server.script(reply(text="cached", **USAGE))
    _, done = await collect(providers[fmt], request_for([user_text("hi")], model=MODEL_FOR[fmt]))
    assert done.usage == EXPECTED_USAGE[fmt]
    assert done.message.usage == done.usage
    assert done.usage.prompt_tokens == 130


async def test_anthropic_request_marks_cache_breakpoints(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(reply(text="one"))
    history = [user_text("a"), Message(role="assistant", content=[TextBlock(text="b")]), user_text("c")]
    await collect(providers["anthropic"], request_for(history))
    body = fake_server.last_request.body
    marks = [b for b in body["system"] if "cache_control" in b] + [
        t for t in body["tools"] if "cache_control" in t
    ]
    marks += [b for m in body["messages"] for b in m["content"] if "cache_control" in b]
    assert len(marks) == 4


# The fake Responses wire renders no refusal content, so refusal is checked on the other two.
STOP_CASES = [
    (fmt, stop, expected)
    for fmt in FORMATS
    for stop, expected in (("max_tokens", StopReason.MAX_TOKENS), ("refusal", StopReason.REFUSAL))
    if not (fmt == "responses" and stop == "refusal")
]


@pytest.mark.parametrize(("fmt_name", "stop", "expected"), STOP_CASES)
async def test_stop_reasons(
    fake_server: FakeServer, providers: dict[str, Provider], fmt_name: str, stop: str, expected: StopReason
) -> None:
    fake_server.script(reply(text="cut here", stop=stop))  # type: ignore[arg-type]
    _, done = await collect(providers[fmt_name], request_for([user_text("hi")], model=MODEL_FOR[fmt_name]))
    assert done.stop_reason is expected


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_chat_reasoning_fields_of_different_servers(field: str) -> None:
    with FakeServer(chat_reasoning_field=field) as server:
        server.script(reply(thinking="hmm", text="ok"))
        provider = make_provider("chat", server)
        try:
            events, done = await collect(provider, request_for([user_text("q")], model="qwen3:8b"))
        finally:
            await provider.aclose()
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "hmm"
    assert done.message.text == "ok"


async def test_anthropic_pause_turn_is_resumed_in_place(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(
        reply(text="Searching, part one.", stop="pause_turn", input_tokens=50, output_tokens=7),
        reply(text=" Part two.", input_tokens=60, output_tokens=5),
    )
    _, done = await collect(providers["anthropic"], request_for([user_text("search")]))
    assert done.stop_reason is StopReason.END_TURN
    assert done.message.text == "Searching, part one. Part two."
    assert len(fake_server.model_requests()) == 2
    resumed = fake_server.last_request.body["messages"]
    assert resumed[-1] == {"role": "assistant", "content": [{"type": "text", "text": "Searching, part one."}]}
    assert (done.usage.input_tokens, done.usage.output_tokens) == (110, 12)


# ---- faults -------------------------------------------------------------------------------------------

STATUS_FAULTS = {
    "overloaded": "overloaded",
    "server_error": "overloaded",
    "rate_limit": "rate_limit",
    "auth": "auth",
    "permission": "auth",
    "not_found": "not_found",
    "bad_request": "bad_request",
    "context_length": "context_length",
}
KEY_VARS = {"anthropic": "ANTHROPIC_API_KEY", "responses": "OPENAI_API_KEY", "chat": "OLLAMA_API_KEY"}


@pytest.mark.parametrize("kind", sorted(STATUS_FAULTS))
async def test_status_faults_map_to_error_kinds(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str, kind: str
) -> None:
    fake_server.script(fault(kind, retry_after=3))  # type: ignore[arg-type]
    error = await failure(providers[fmt], request_for([user_text("hi")], model=MODEL_FOR[fmt]))
    assert error.kind == STATUS_FAULTS[kind], str(error)
    assert error.status is not None and error.status >= 400
    if kind == "rate_limit":
        assert error.retry_after == pytest.approx(3.0)
    if kind == "auth" and fmt != "chat":
        assert KEY_VARS[fmt] in str(error)
    if kind == "not_found":
        assert fake_server.base_url in error.message


@pytest.mark.parametrize("kind", ["overloaded", "rate_limit"])
async def test_errors_inside_a_started_stream(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str, kind: str
) -> None:
    fake_server.script(fault(kind, after_events=3))  # type: ignore[arg-type]
    error = await failure(providers[fmt], request_for([user_text("hi")], model=MODEL_FOR[fmt]))
    assert error.kind == kind, str(error)
    assert error.retryable


async def test_disconnect_mid_stream_is_a_broken_stream(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str
) -> None:
    fake_server.script(fault("disconnect", after_events=4))
    error = await failure(providers[fmt], request_for([user_text("hi")], model=MODEL_FOR[fmt]))
    assert error.kind == "stream_broken", str(error)
    assert error.retryable


async def test_disconnect_before_any_response_is_a_connection_error(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str
) -> None:
    fake_server.script(fault("disconnect"))
    error = await failure(providers[fmt], request_for([user_text("hi")], model=MODEL_FOR[fmt]))
    assert error.kind == "connection", str(error)


async def test_malformed_event_is_a_broken_stream(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str
) -> None:
    fake_server.script(fault("malformed", after_events=3))
    error = await failure(providers[fmt], request_for([user_text("hi")], model=MODEL_FOR[fmt]))
    assert error.kind == "stream_broken", str(error)
    assert "malformed" in error.message


async def test_a_silent_stream_ends_after_the_read_timeout(fake_server: FakeServer, fmt: str) -> None:
    fake_server.script(fault("stall", after_events=3, seconds=30))
    provider = make_provider(fmt, fake_server, read_timeout=SHORT_READ_TIMEOUT)
    try:
        error = await asyncio.wait_for(
            failure(provider, request_for([user_text("hi")], model=MODEL_FOR[fmt])), timeout=20
        )
    finally:
        await provider.aclose()
    assert error.kind == "stream_broken", str(error)
    assert "stalled" in error.message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_server_names_the_base_url(fake_server: FakeServer, fmt: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}" + ("" if fmt == "anthropic" else "/v1")
    provider = make_provider(fmt, fake_server, base_url=url)
    try:
        error = await failure(provider, request_for([user_text("hi")], model=MODEL_FOR[fmt]))
    finally:
        await provider.aclose()
    assert error.kind == "connection"
    assert url in error.message
    if fmt == "chat":
        assert error.hint and "running" in error.hint


async def test_chat_model_without_tools_gets_a_hint(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    fake_server.script(
        fault("bad_request", message="registry.ollama.ai/library/gemma:2b does not support tools")
    )
    error = await failure(providers["chat"], request_for([user_text("hi")], model="gemma:2b"))
    assert error.kind == "bad_request"
    assert error.hint == "this model does not support tools; pick a model that does (/model)"


async def test_missing_key_is_reported_before_any_request(fake_server: FakeServer) -> None:
    provider = AnthropicProvider(None, fake_server.base_url)
    error = await failure(provider, request_for([user_text("hi")]))
    assert error.kind == "auth" and "ANTHROPIC_API_KEY" in str(error)
    assert fake_server.model_requests() == []


async def test_stopping_mid_stream_leaves_the_provider_usable(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str
) -> None:
    fake_server.script(
        reply(text="a long reply " * 20, chunk_size=3, delay_per_event=0.01), reply(text="next")
    )
    provider = providers[fmt]
    async with aclosing(provider.stream(request_for([user_text("hi")], model=MODEL_FOR[fmt]))) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                break
    _, done = await collect(provider, request_for([user_text("hi again")], model=MODEL_FOR[fmt]))
    assert done.message.text == "next"


# ---- models and connection checks -----------------------------------------------------------------


async def test_list_models_and_check_connection(
    fake_server: FakeServer, providers: dict[str, Provider], fmt: str
) -> None:
    models = await providers[fmt].list_models()
    # Anthropic's list holds only Claude models; the OpenAI-shaped lists everything else served.
    assert ("claude-sonnet-5-5" in models) == (fmt == "anthropic")
    assert ("qwen3:8b" in models) == (fmt != "anthropic")
    ok, latency, message = await check_connection(providers[fmt], MODEL_FOR[fmt])
    assert ok and latency >= 0 and providers[fmt].name in message


async def test_anthropic_model_list_follows_every_page(fake_server: FakeServer, providers: dict[str, Provider]) -> None:
    """As the catalogue does: after_id = the previous page's last_id, until has_more is false."""
    from tests.fake_server import ModelSpec

    fake_server.models = [ModelSpec(id=f"claude-made-up-{i}", provider="anthropic") for i in range(7)]
    fake_server.max_page = 3
    models = await providers["anthropic"].list_models()
    assert models == [f"claude-made-up-{i}" for i in range(7)]
    pages = [r for r in fake_server.requests if r.method == "GET" and r.path.startswith("/v1/models")]
    assert len(pages) == 3 and "after_id=claude-made-up-5" in pages[-1].query


async def test_check_connection_reports_a_bad_key(fmt: str) -> None:
    with FakeServer(api_key="the-right-key") as server:
        provider = make_provider(fmt, server)
        try:
            ok, _, message = await check_connection(provider)
        finally:
            await provider.aclose()
    assert not ok
    if fmt != "chat":
        assert KEY_VARS[fmt] in message


async def test_pool_streams_through_the_configured_endpoints(tmp_path: Path, fake_server: FakeServer) -> None:
    env = {
        "STOA_HOME": str(tmp_path / "home"),
        "ANTHROPIC_API_KEY": "test-key",
        "OPENAI_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": fake_server.base_url,
    }
    config = StoaConfig(paths=StoaPaths.from_env(env), workspace=tmp_path, env=env)
    urls = {"openai": fake_server.openai_base_url, "lmstudio": fake_server.openai_base_url}
    pool = ProviderPool(config, urls.get, read_timeout=5)
    try:
        fake_server.script(reply(text="from claude"), reply(text="from gpt"), reply(text="from lm studio"))
        for model, expected in (
            (resolve_model("claude-sonnet-4-6"), "from claude"),
            (resolve_model("gpt"), "from gpt"),
            (compatible_model("qwen3:8b", "lmstudio"), "from lm studio"),
        ):
            _, done = await collect(pool(model), request_for([user_text("hi")], model=model.id))
            assert done.message.text == expected
        assert [r.format for r in fake_server.model_requests()] == ["anthropic", "responses", "chat"]
    finally:
        await pool.aclose()


# ---- one conversation across providers ------------------------------------------------------------


async def test_conversation_moves_between_providers_and_back(
    fake_server: FakeServer, providers: dict[str, Provider]
) -> None:
    """Claude thinks and calls a tool; GPT reasons and calls one with an id Claude would reject;
    a local Chat model calls one more; Claude finishes. Every request must be one the real API
    accepts: the protocol checker judges each, and the carry-forward rules are checked here."""
    thought = "The user wants the file."
    fake_server.script(
        reply(
            thinking=thought,
            text="Reading it.",
            tool_calls=[tool_call("read_file", {"path": "a.txt"}, id="toolu_01A")],
        ),
        reply(
            thinking="gpt reasoning", tool_calls=[tool_call("read_file", {"path": "b.txt"}, id="call.b:1")]
        ),
        reply(
            thinking="local reasoning",
            text="One more.",
            tool_calls=[tool_call("read_file", {"path": "c.txt"})],
        ),
        reply(thinking="Wrapping up.", text="All three files read."),
    )
    history: list[Message] = [user_text("read a, b and c")]
    image = ImageBlock(media_type="image/png", data=PNG)
    steps = [
        ("anthropic", "claude-sonnet-4-6", resolve_model("claude-sonnet-4-6")),
        ("responses", "gpt-5.5", resolve_model("gpt")),
        ("chat", "qwen3:8b", None),
        ("anthropic", "claude-sonnet-4-6", resolve_model("claude-sonnet-4-6")),
    ]
    for fmt, model_id, model in steps:
        wire: dict[str, Any] = {}
        if model is not None:
            wire, _ = effort_wire_options(model, "high", 4000)
        _, done = await collect(providers[fmt], request_for(list(history), model=model_id, wire_options=wire))
        history.append(done.message)
        if done.message.tool_uses:
            history.append(results_for(done.message, image if fmt == "responses" else None))
    assert history[-1].text == "All three files read."
    fake_server.assert_protocol_valid()
    bodies = [r.body for r in fake_server.model_requests()]
    # GPT never sees Claude's signed thinking; Claude never sees GPT's encrypted reasoning.
    assert thinking_signature(thought) not in str(bodies[1]) and thinking_signature(thought) not in str(
        bodies[2]
    )
    assert encrypted_reasoning("gpt reasoning") not in str(bodies[2]) and encrypted_reasoning(
        "gpt reasoning"
    ) not in str(bodies[3])
    assert "local reasoning" not in str(bodies[3])
    # Claude gets its own signed thinking back in the last request.
    first_reply = bodies[3]["messages"][1]["content"]
    assert first_reply[0] == {
        "type": "thinking",
        "thinking": thought,
        "signature": thinking_signature(thought),
    }
    # GPT's call id has characters Claude rejects: rewritten the same way for call and result.
    ids = [b["id"] for m in bodies[3]["messages"] for b in m["content"] if b["type"] == "tool_use"]
    results = [
        b["tool_use_id"] for m in bodies[3]["messages"] for b in m["content"] if b["type"] == "tool_result"
    ]
    assert ids == results and "call.b:1" not in ids
    assert all(c.isalnum() or c in "_-" for i in ids for c in i)
    # The image GPT's tool returned reached each later provider in its own shape.
    chat_user_parts = [
        p
        for m in bodies[2]["messages"]
        if m["role"] == "user" and isinstance(m["content"], list)
        for p in m["content"]
    ]
    assert {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}} in chat_user_parts
    tool_results = [b for m in bodies[3]["messages"] for b in m["content"] if b["type"] == "tool_result"]
    assert any(part["type"] == "image" for r in tool_results for part in r["content"])
    # The last tool loop began on the Chat model (no thinking): Claude's thinking is off for it.
    assert bodies[3]["thinking"] == {"type": "disabled"}
    # And GPT got the loop Claude began, with its own reasoning carried to the step after.
    assert bodies[1]["input"][1] == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Reading it."}],
    }


async def test_anthropic_base_url_typed_with_v1_still_works(fake_server: FakeServer) -> None:
    fake_server.script(reply(text="ok"))
    provider = AnthropicProvider("test-key", fake_server.base_url + "/v1/")
    try:
        _, done = await collect(provider, request_for([user_text("hi")]))
    finally:
        await provider.aclose()
    assert done.message.text == "ok" and fake_server.last_request.path == "/v1/messages"


async def test_chat_base_url_without_v1_gets_a_hint(fake_server: FakeServer) -> None:
    provider = OpenAIChatProvider("vllm", fake_server.base_url)  # missing /v1: the server answers 404
    try:
        error = await failure(provider, request_for([user_text("hi")], model="qwen3:8b"))
    finally:
        await provider.aclose()
    assert error.kind == "not_found", str(error)
    assert f"--base-url {fake_server.base_url}/v1" in str(error)
