"""Stoa's thin HTTP client (core/providers/http.py) held to the SDKs it replaced.

The providers no longer import ``anthropic`` or ``openai``; these tests keep them honest:
- the same neutral request sent through the SDK (the provider's params, ``create(stream=True)``)
  and through Stoa reaches the fake server as the same JSON body, encoded alike, with the same
  headers (the SDKs' x-stainless-* telemetry aside), the custom-header and organisation
  variables included;
- the version constants Stoa sends are the installed SDKs';
- every event of a reply with thinking, text and tool calls is parsed by the SDK's event types,
  and Stoa's message from that stream equals what the SDK's own accumulating helper makes;
- the conftest's check of every request Stoa sends (tests/sdk_contract.py) catches a field the
  SDK does not know.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from stoa.core.providers import anthropic as anthropic_provider
from stoa.core.providers import http, openai_chat, openai_responses
from stoa.core.providers.anthropic import AnthropicProvider
from stoa.core.providers.base import MessageComplete, Provider, ProviderRequest
from stoa.core.providers.openai_chat import OpenAIChatProvider
from stoa.core.providers.openai_responses import OpenAIResponsesProvider
from stoa.core.providers.sse import SSEDecoder
from stoa.core.providers.types import (
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    user_text,
)
from tests.fake_server import FakeServer, reply, tool_call
from tests.sdk_contract import parse_event, request_errors, sent_by_stoa

FORMATS = ("anthropic", "responses", "chat")
MODELS = {"anthropic": "claude-sonnet-4-6", "responses": "gpt-5.4", "chat": "qwen3:8b"}
READ_FILE = ToolSpec(
    name="read_file",
    description="Read a file",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
PNG = "iVBORw0KGgo="
# Headers only the SDKs send (their telemetry) or that depend on the body's length.
SDK_ONLY = ("x-stainless-",)
LENGTH = ("content-length",)


def history(fmt: str) -> list[Message]:
    origin = {"anthropic": "anthropic", "responses": "openai"}.get(fmt, "ollama")
    thinking = ThinkingBlock(
        thinking="Read it first.", signature="sig-1", origin=origin, item_id="rs_1", encrypted_content="enc-1"
    )
    return [
        Message(role="user", content=[TextBlock(text="What is in a.txt? Ünïcode ✓"), ImageBlock(media_type="image/png", data=PNG)]),
        Message(
            role="assistant",
            content=[thinking, TextBlock(text="Let me look."), ToolUseBlock(id="call_1", name="read_file", input={"path": "a.txt"})],
            model=MODELS[fmt],
            provider=origin,
        ),
        Message(role="user", content=[ToolResultBlock(tool_use_id="call_1", content=[TextBlock(text="hello")])]),
        Message(role="assistant", content=[TextBlock(text="It says hello.")], model=MODELS[fmt], provider=origin),
        user_text("Thanks; once more."),
    ]


def neutral_request(fmt: str, **kwargs: Any) -> ProviderRequest:
    base: dict[str, Any] = {
        "model": MODELS[fmt],
        "system": "You are Stoa.",
        "messages": history(fmt),
        "tools": [READ_FILE],
        "max_tokens": 2000,
        "cache_key": "session-1" if fmt == "responses" else None,
    }
    return ProviderRequest(**{**base, **kwargs})


def stoa_provider(fmt: str, server: FakeServer) -> Provider:
    if fmt == "anthropic":
        return AnthropicProvider("test-key", server.base_url)
    if fmt == "responses":
        return OpenAIResponsesProvider("test-key", server.openai_base_url)
    return OpenAIChatProvider("ollama", server.openai_base_url, "test-key")


async def sdk_send(fmt: str, server: FakeServer, request: ProviderRequest) -> None:
    """The request as the SDK sends it, the stream read to its end."""
    if fmt == "anthropic":
        async with anthropic.AsyncAnthropic(api_key="test-key", base_url=server.base_url, max_retries=0) as a:
            stream = await a.messages.create(stream=True, **anthropic_provider.build_params(request))
            async for _ in stream:
                pass
        return
    async with openai.AsyncOpenAI(api_key="test-key", base_url=server.openai_base_url, max_retries=0) as o:
        if fmt == "responses":
            events = await o.responses.create(stream=True, **openai_responses.build_params(request))
        else:
            events = await o.chat.completions.create(**openai_chat.build_params(request))
        async for _ in events:
            pass


async def stoa_send(fmt: str, server: FakeServer, request: ProviderRequest) -> list[Any]:
    provider = stoa_provider(fmt, server)
    try:
        return [event async for event in provider.stream(request)]
    finally:
        await provider.aclose()


def comparable_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not k.startswith(SDK_ONLY) and k not in LENGTH}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_stoa_sends_what_the_sdk_sends(fmt: str, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same body, same headers, for a conversation with images, thinking and tool calls."""
    monkeypatch.setenv("ANTHROPIC_CUSTOM_HEADERS", "X-Team: stoa\nX-Trace: 1")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "X-Team: stoa")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-1")
    wire: dict[str, Any] = {}
    if fmt == "anthropic":
        wire = {"thinking": {"type": "adaptive", "display": "summarized"}, "output_config": {"effort": "high"}}
    elif fmt == "responses":
        wire = {"reasoning": {"effort": "high", "summary": "auto"}}
    request = neutral_request(fmt, wire_options=wire, server_tools=("web_search",) if fmt != "chat" else ())
    fake_server.script(reply(text="Done."), reply(text="Done."))
    await sdk_send(fmt, fake_server, request)
    events = await stoa_send(fmt, fake_server, request)
    assert isinstance(events[-1], MessageComplete)
    sdk, stoa = fake_server.model_requests()
    # The same JSON, encoded alike (UTF-8 text, compact): only the key order differs (the SDK
    # orders by its method's arguments).
    assert stoa.body == sdk.body
    assert len(stoa.raw_body) == len(sdk.raw_body)
    assert stoa.path == sdk.path and stoa.query == sdk.query
    assert comparable_headers(stoa.headers) == comparable_headers(sdk.headers)
    assert stoa.header("x-team") == "stoa"
    assert request_errors(fmt, stoa.body) == []
    # The conftest checks Stoa's requests, told from the SDK's by its telemetry headers.
    assert sent_by_stoa(stoa) and not sent_by_stoa(sdk)


def test_the_constants_are_the_installed_sdks() -> None:
    from anthropic._constants import ANTHROPIC_API_VERSION

    assert http.ANTHROPIC_VERSION == ANTHROPIC_API_VERSION
    assert http.ANTHROPIC_USER_AGENT == f"AsyncAnthropic/Python {anthropic.__version__}"
    assert http.OPENAI_USER_AGENT == f"AsyncOpenAI/Python {openai.__version__}"


async def raw_events(fmt: str, server: FakeServer, body: dict[str, Any]) -> list[Any]:
    """The data of every event the server streams for a body, decoded as Stoa decodes them."""
    path = {"anthropic": "/v1/messages", "responses": "/v1/responses", "chat": "/v1/chat/completions"}[fmt]
    decoder, events = SSEDecoder(), []
    async with httpx2.AsyncClient() as client, client.stream("POST", server.base_url + path, json=body) as response:
        async for chunk in response.aiter_bytes():
            events.extend(decoder.feed(chunk))
    return [json.loads(e.data) for e in events if e.data != "[DONE]" and e.event != "ping"]


REPLY = {
    "thinking": "Plan: read both.",
    "text": "Reading two files.",
    "tool_calls": [tool_call("read_file", {"path": "a.txt"}), tool_call("read_file", {"path": "b/ü.txt"})],
}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_every_event_parses_with_the_sdk_types_and_stoa_reads_it_as_the_sdk(
    fmt: str, fake_server: FakeServer
) -> None:
    request = neutral_request(fmt, messages=[user_text("read a and b")])
    fake_server.add_rule(reply(**REPLY))
    body = {
        "anthropic": lambda: {**anthropic_provider.build_params(request), "stream": True},
        "responses": lambda: {**openai_responses.build_params(request), "stream": True},
        "chat": lambda: openai_chat.wire_body(openai_chat.build_params(request)),
    }[fmt]()
    events = await raw_events(fmt, fake_server, body)
    parsed = [parse_event(fmt, data) for data in events]  # raises on an event the SDK refuses
    assert len(parsed) > 5
    complete = (await stoa_send(fmt, fake_server, request))[-1]
    assert isinstance(complete, MessageComplete)
    stoa = complete.message
    calls = [(b.name, b.input) for b in stoa.tool_uses]
    text = "".join(b.text for b in stoa.content if isinstance(b, TextBlock))
    if fmt == "anthropic":
        async with anthropic.AsyncAnthropic(api_key="test-key", base_url=fake_server.base_url, max_retries=0) as a:
            params = anthropic_provider.build_params(request)
            async with a.messages.stream(**params) as stream:
                final = await stream.get_final_message()
        sdk_calls = [(b.name, b.input) for b in final.content if b.type == "tool_use"]
        sdk_text = "".join(b.text for b in final.content if b.type == "text")
        thinking = [b for b in final.content if b.type == "thinking"]
        ours = [b for b in stoa.content if isinstance(b, ThinkingBlock)]
        assert [(t.thinking, t.signature) for t in thinking] == [(t.thinking, t.signature) for t in ours]
        assert (final.usage.input_tokens, final.usage.output_tokens) == (stoa.usage.input_tokens, stoa.usage.output_tokens)
    elif fmt == "responses":
        async with openai.AsyncOpenAI(api_key="test-key", base_url=fake_server.openai_base_url, max_retries=0) as o:
            async with o.responses.stream(**openai_responses.build_params(request)) as stream:
                final = await stream.get_final_response()
        sdk_calls = [(i.name, json.loads(i.arguments)) for i in final.output if i.type == "function_call"]
        sdk_text = final.output_text
        reasoning = [i for i in final.output if i.type == "reasoning"]
        ours = [b for b in stoa.content if isinstance(b, ThinkingBlock)]
        assert [r.encrypted_content for r in reasoning] == [b.encrypted_content for b in ours]
        assert final.usage is not None and final.usage.output_tokens == stoa.usage.output_tokens
    else:
        chunks = parsed
        sdk_text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        arguments: dict[int, list[str]] = {}
        names: dict[int, str] = {}
        for c in chunks:
            for call in (c.choices[0].delta.tool_calls or []) if c.choices else []:
                if call.function and call.function.name:
                    names[call.index] = call.function.name
                arguments.setdefault(call.index, []).append((call.function.arguments or "") if call.function else "")
        sdk_calls = [(names[i], json.loads("".join(arguments[i]))) for i in sorted(arguments)]
    assert sdk_text == text == REPLY["text"]
    assert sdk_calls == calls == [("read_file", {"path": "a.txt"}), ("read_file", {"path": "b/ü.txt"})]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_the_suites_check_catches_a_field_the_sdk_does_not_know(fmt: str, fake_server: FakeServer) -> None:
    """What the conftest runs on every request Stoa sends fails for an unknown nested field
    (a top-level unknown field of a Chat body is the SDK's extra_body: allowed)."""
    fake_server.script(reply(text="ok"))
    await stoa_send(fmt, fake_server, neutral_request(fmt))
    body = json.loads(json.dumps(fake_server.last_request.body))
    assert request_errors(fmt, body) == []
    messages = body["input"] if fmt == "responses" else body["messages"]
    user = next(m for m in messages if m.get("role") == "user" and isinstance(m.get("content"), list))
    user["content"][0]["bogus"] = 1
    assert any("bogus" in error for error in request_errors(fmt, body))


@pytest.mark.parametrize("fmt", ["anthropic", "responses"])
def test_a_field_the_sdk_does_not_know_at_the_top_is_caught(fmt: str) -> None:
    body = {
        "anthropic": lambda r: anthropic_provider.build_params(r),
        "responses": lambda r: openai_responses.build_params(r),
    }[fmt](neutral_request(fmt, wire_options={"bogus_option": 1}))
    assert any("bogus_option" in error for error in request_errors(fmt, {**body, "stream": True}))


# ---- server compaction -----------------------------------------------------------------------


async def compaction_events(fmt: str, server: FakeServer, request: ProviderRequest, headers: dict[str, str]) -> list[Any]:
    path = "/v1/messages" if fmt == "anthropic" else "/v1/responses"
    build = anthropic_provider.build_params if fmt == "anthropic" else openai_responses.build_params
    decoder, events = SSEDecoder(), []
    async with httpx2.AsyncClient() as client, client.stream(
        "POST", server.base_url + path, json={**build(request), "stream": True}, headers=headers
    ) as response:
        async for chunk in response.aiter_bytes():
            events.extend(decoder.feed(chunk))
    return [json.loads(e.data) for e in events if e.data != "[DONE]" and e.event != "ping"]


async def test_anthropic_compaction_streams_parse_with_the_beta_types_and_read_as_the_sdk(fake_server: FakeServer) -> None:
    """On demand (the compaction block alone, stop_reason compaction) and at a threshold (the
    block first in a reply): every event is one of the SDK's beta events, and Stoa's block is
    the one the SDK's accumulating helper makes, its cost from usage.iterations."""
    from tests.fake_server import ModelSpec

    fake_server.models = [*fake_server.models, ModelSpec(id="claude-cmp", provider="anthropic",
                                                         compaction=("summarize", "compact_20260112"))]
    fake_server.default_reply = reply(text="Carrying on.")
    history = [user_text("FACT: the port is 8080"), Message(role="assistant", content=[TextBlock(text="Noted.")]),
               user_text("go on " + "x" * 240_000)]
    forms = {
        "compact-2026-09-04": {"compaction": {"type": "summarize"}},
        "compact-2026-01-12": {"context_management": {"edits": [
            {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50_000}}]}},
    }
    for beta, wire in forms.items():
        request = ProviderRequest(model="claude-cmp", system="s", messages=history, tools=[], max_tokens=1000,
                                  wire_options=wire, betas=(beta,))
        events = await compaction_events("anthropic", fake_server, request, {"anthropic-beta": beta})
        assert any(e.get("delta", {}).get("type") == "compaction_delta" for e in events)
        for data in events:
            parse_event("anthropic-beta", data)  # raises on an event the SDK refuses
        complete = (await stoa_send("anthropic", fake_server, request))[-1]
        assert isinstance(complete, MessageComplete)
        async with anthropic.AsyncAnthropic(api_key="test-key", base_url=fake_server.base_url, max_retries=0) as a:
            params = anthropic_provider.build_params(request)
            async with a.beta.messages.stream(**params, betas=[beta]) as stream:
                final = await stream.get_final_message()
        sdk = [b for b in final.content if b.type == "compaction"]
        ours = complete.message.compaction
        assert sdk and ours is not None and "FACT: the port is 8080" in (ours.content or "")
        assert (ours.content, ours.encrypted_content) == (sdk[0].content, sdk[0].encrypted_content)
        assert ours.signature == sdk[0].signature
        iterations = [i for i in final.usage.iterations or [] if i.type == "compaction"]
        assert complete.compaction_usage is not None
        assert complete.compaction_usage.input_tokens == iterations[0].input_tokens > 50_000
        if beta == "compact-2026-09-04":
            assert final.stop_reason == complete.stop_reason.value == "compaction"
            assert [b.type for b in final.content] == ["compaction"]
        else:
            assert [b.type for b in final.content] == ["compaction", "text"]
            assert complete.message.text == "Carrying on."


async def test_responses_compaction_stream_parses_with_the_sdk_types_and_reads_as_the_sdk(fake_server: FakeServer) -> None:
    fake_server.default_reply = reply(text="Carrying on.")
    history = [user_text("FACT: the port is 8080"), Message(role="assistant", content=[TextBlock(text="Noted.")]),
               user_text("go on " + "x" * 40_000)]
    request = ProviderRequest(model="gpt-5.4", system="s", messages=history, tools=[], max_tokens=1000,
                              wire_options={"context_management": [{"type": "compaction", "compact_threshold": 5_000}]})
    events = await compaction_events("responses", fake_server, request, {})
    assert "response.compaction.compacting" in [e["type"] for e in events]
    for data in events:
        parse_event("responses", data)
    complete = (await stoa_send("responses", fake_server, request))[-1]
    assert isinstance(complete, MessageComplete)
    async with openai.AsyncOpenAI(api_key="test-key", base_url=fake_server.openai_base_url, max_retries=0) as o:
        async with o.responses.stream(**openai_responses.build_params(request)) as stream:
            final = await stream.get_final_response()
    sdk = [i for i in final.output if i.type == "compaction"]
    ours = complete.message.compaction
    assert sdk and ours is not None and ours.content is None
    # (Each request gets a new item id.)
    assert ours.encrypted_content == sdk[0].encrypted_content and (ours.item_id or "").startswith("cmp_")
    assert complete.message.text == final.output_text == "Carrying on."
