"""The fake provider server speaks each wire format well enough for the real SDKs to parse it,
its faults break the SDKs the way real outages do, and the protocol checker catches broken
conversations."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from tests.fake_server import (
    FakeServer,
    check,
    encrypted_reasoning,
    fault,
    load_scenario,
    reply,
    thinking_signature,
    tool_call,
    web_search,
)
from tests.fake_server.protocol import assert_valid

REPO_ROOT = Path(__file__).resolve().parents[2]


_open_clients: list[Any] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> Any:
    """Close the async SDK clients a test made while its event loop still runs."""
    yield
    while _open_clients:
        await _open_clients.pop().close()


def anthropic_client(server: FakeServer, *, api_key: str = "test-key", max_retries: int = 0,
                     **kwargs: Any) -> anthropic.AsyncAnthropic:
    client = anthropic.AsyncAnthropic(base_url=server.base_url, api_key=api_key, max_retries=max_retries, **kwargs)
    _open_clients.append(client)
    return client


def openai_client(server: FakeServer, **kwargs: Any) -> openai.AsyncOpenAI:
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test-key", max_retries=0, **kwargs)
    _open_clients.append(client)
    return client


USER_HI = [{"role": "user", "content": "hi"}]


async def anthropic_final(server: FakeServer, **kwargs: Any) -> anthropic.types.Message:
    params: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 1000, "messages": USER_HI, **kwargs}
    async with anthropic_client(server) as client, client.messages.stream(**params) as stream:
        return await stream.get_final_message()


async def responses_events(server: FakeServer, **kwargs: Any) -> tuple[list[Any], Any]:
    params: dict[str, Any] = {"model": "gpt-5.5", "input": "hi", **kwargs}
    events = []
    async with openai_client(server) as client, client.responses.stream(**params) as stream:
        async for event in stream:
            events.append(event)
        final = stream._state._completed_response
    return events, final


async def chat_chunks(server: FakeServer, **kwargs: Any) -> list[Any]:
    params: dict[str, Any] = {
        "model": "qwen3:8b", "messages": USER_HI, "stream": True, "stream_options": {"include_usage": True}, **kwargs
    }
    async with openai_client(server) as client:
        stream = await client.chat.completions.create(**params)
        return [chunk async for chunk in stream]


def chat_accumulate(chunks: list[Any]) -> dict[str, Any]:
    """What a Chat Completions client assembles from the chunks."""
    text, reasoning, calls, finish, usage = "", "", {}, None, None
    for chunk in chunks:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta
            text += delta.content or ""
            reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
            for tc in delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                slot["id"] = tc.id or slot["id"]
                if tc.function:
                    slot["name"] += tc.function.name or ""
                    slot["arguments"] += tc.function.arguments or ""
            finish = choice.finish_reason or finish
    return {"text": text, "reasoning": reasoning, "calls": [calls[i] for i in sorted(calls)],
            "finish": finish, "usage": usage}


# ---- Anthropic Messages --------------------------------------------------------------------


async def test_anthropic_text_thinking_tool_use_and_usage(fake_server: FakeServer) -> None:
    fake_server.script(
        reply(
            text="I will read the file now.",
            thinking="The user wants the file.",
            tool_calls=[tool_call("read_file", {"path": "a.txt", "limit": 20}, id="toolu_1"),
                        tool_call("list_directory", {"path": "."})],
            input_tokens=120, output_tokens=45, cache_read_tokens=1000, cache_write_tokens=300,
        )
    )
    message = await anthropic_final(fake_server)
    kinds = [b.type for b in message.content]
    assert kinds == ["thinking", "text", "tool_use", "tool_use"]
    thinking, text, use1, use2 = message.content
    assert thinking.thinking == "The user wants the file."
    assert thinking.signature == thinking_signature("The user wants the file.")
    assert text.text == "I will read the file now."
    assert (use1.id, use1.name, use1.input) == ("toolu_1", "read_file", {"path": "a.txt", "limit": 20})
    assert use2.name == "list_directory" and use2.input == {"path": "."} and use2.id.startswith("toolu_")
    assert message.stop_reason == "tool_use"
    assert message.model == "claude-sonnet-4-6"
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (120, 45)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (1000, 300)
    request = fake_server.last_request
    assert request.path == "/v1/messages" and request.format == "anthropic" and request.stream
    assert request.api_key == "test-key" and request.header("anthropic-version")
    assert request.body["messages"] == USER_HI


async def test_anthropic_stream_events_are_real_sdk_events(fake_server: FakeServer) -> None:
    """Text deltas arrive in chunks, tool input in several input_json deltas, signature last."""
    long_text = "word " * 50
    fake_server.script(reply(text=long_text, thinking="think " * 5, redacted_thinking="opaque-blob",
                             tool_calls=[tool_call("write_file", {"path": "x", "content": "y" * 40})], chunk_size=10))
    client = anthropic_client(fake_server)
    seen: list[str] = []
    json_deltas = 0
    async with client.messages.stream(model="claude-sonnet-4-6", max_tokens=10, messages=USER_HI) as stream:
        async for event in stream:
            seen.append(event.type)
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                json_deltas += 1
        message = await stream.get_final_message()
    assert seen.count("text") == len(long_text) // 10
    assert json_deltas >= 3
    assert [b.type for b in message.content] == ["thinking", "redacted_thinking", "text", "tool_use"]
    assert message.content[1].data == "opaque-blob"
    assert message.content[2].text == long_text
    assert message.content[3].input == {"path": "x", "content": "y" * 40}


async def test_anthropic_non_streaming_json(fake_server: FakeServer) -> None:
    fake_server.script(reply(text="A short title", input_tokens=7, output_tokens=3))
    client = anthropic_client(fake_server)
    message = await client.messages.create(model="claude-haiku-4-5", max_tokens=20, messages=USER_HI)
    assert message.content[0].text == "A short title"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 3)
    assert fake_server.last_request.stream is False


async def test_anthropic_max_tokens_with_partial_tool_json(fake_server: FakeServer) -> None:
    fake_server.script(reply(tool_calls=[tool_call("write_file", '{"path": "a.txt", "content": "hal')],
                             stop="max_tokens"))
    message = await anthropic_final(fake_server)
    assert message.stop_reason == "max_tokens"
    # The SDK's partial JSON parser shows the half-formed input; the agent must not run it.
    assert message.content[0].input == {"path": "a.txt"}


async def test_anthropic_models_list(fake_server: FakeServer) -> None:
    fake_server.models = ["claude-sonnet-4-6", "claude-haiku-4-5"]
    page = await anthropic_client(fake_server).models.list()
    assert [m.id for m in page.data] == ["claude-sonnet-4-6", "claude-haiku-4-5"]


# ---- OpenAI Responses ----------------------------------------------------------------------


async def test_responses_text_reasoning_function_calls_and_usage(fake_server: FakeServer) -> None:
    fake_server.script(
        reply(
            text="Reading it.",
            thinking="Need the file first.",
            tool_calls=[tool_call("read_file", {"path": "a.txt"}, id="call_A"), tool_call("glob_files", {"pattern": "*.py"})],
            input_tokens=100, output_tokens=40, cache_read_tokens=900, reasoning_tokens=25,
        )
    )
    events, _ = await responses_events(fake_server, tools=[{"type": "function", "name": "read_file", "parameters": {}}])
    client = openai_client(fake_server)
    fake_server.script(reply(text="again", thinking="summary"))
    async with client.responses.stream(model="gpt-5.5", input="hi") as stream:
        final2 = await stream.get_final_response()
    assert final2.output_text == "again"

    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    for expected in ("response.reasoning_summary_text.delta", "response.output_text.delta",
                     "response.function_call_arguments.delta", "response.content_part.added"):
        assert expected in types
    final = events[-1].response
    kinds = [item.type for item in final.output]
    assert kinds == ["reasoning", "message", "function_call", "function_call"]
    reasoning, _message, call1, call2 = final.output
    assert reasoning.summary[0].text == "Need the file first."
    assert reasoning.encrypted_content == encrypted_reasoning("Need the file first.")
    assert final.output_text == "Reading it."
    assert (call1.call_id, call1.name, json.loads(call1.arguments)) == ("call_A", "read_file", {"path": "a.txt"})
    assert call2.name == "glob_files" and call2.call_id.startswith("call_") and call2.id.startswith("fc_")
    usage = final.usage
    # OpenAI counts cached tokens inside input_tokens.
    assert usage.input_tokens == 1000 and usage.input_tokens_details.cached_tokens == 900
    assert usage.output_tokens == 40 and usage.output_tokens_details.reasoning_tokens == 25
    assert final.status == "completed"


async def test_responses_incomplete_at_max_output_tokens(fake_server: FakeServer) -> None:
    fake_server.script(reply(text="cut sho", stop="max_tokens"))
    client = openai_client(fake_server)
    events = []
    async with client.responses.stream(model="gpt-5.5", input="hi", max_output_tokens=5) as stream:
        events = [e async for e in stream]
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            await stream.get_final_response()
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.status == "incomplete"
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert last.response.output[0].content[0].text == "cut sho"


async def test_responses_non_streaming(fake_server: FakeServer) -> None:
    fake_server.script(reply(text="plain", input_tokens=3, output_tokens=1))
    response = await openai_client(fake_server).responses.create(model="gpt-5.4-mini", input="hi")
    assert response.output_text == "plain"
    assert response.usage is not None and response.usage.input_tokens == 3


# ---- Chat Completions ----------------------------------------------------------------------


async def test_chat_stream_text_reasoning_tool_calls_usage(fake_server: FakeServer) -> None:
    fake_server.script(
        reply(text="Let me see.", thinking="hmm",
              tool_calls=[tool_call("read_file", {"path": "a.txt"}, id="call_1"), tool_call("list_directory", {"path": "."})],
              input_tokens=50, output_tokens=12, cache_read_tokens=8, chunk_size=3)
    )
    result = chat_accumulate(await chat_chunks(fake_server))
    assert result["text"] == "Let me see."
    assert result["reasoning"] == "hmm"
    assert result["calls"][0] == {"id": "call_1", "name": "read_file", "arguments": '{"path": "a.txt"}'}
    assert result["calls"][1]["name"] == "list_directory" and json.loads(result["calls"][1]["arguments"]) == {"path": "."}
    assert result["finish"] == "tool_calls"
    usage = result["usage"]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.prompt_tokens_details.cached_tokens) == (58, 12, 8)


async def test_chat_without_include_usage_and_length_finish(fake_server: FakeServer) -> None:
    fake_server.script(reply(text="abc", stop="max_tokens"))
    chunks = await chat_chunks(fake_server, stream_options=None)
    result = chat_accumulate(chunks)
    assert result["finish"] == "length" and result["usage"] is None


async def test_chat_non_streaming_and_model_lists(fake_server: FakeServer) -> None:
    fake_server.script(reply(text="ok", tool_calls=[tool_call("t", {})]))
    client = openai_client(fake_server)
    completion = await client.chat.completions.create(model="qwen3:8b", messages=USER_HI)
    assert completion.choices[0].message.content == "ok"
    assert completion.choices[0].message.tool_calls[0].function.name == "t"
    assert completion.choices[0].finish_reason == "tool_calls"
    models = await client.models.list()
    assert "qwen3:8b" in [m.id for m in models.data]
    async with httpx2.AsyncClient() as http:
        tags = (await http.get(f"{fake_server.base_url}/api/tags")).json()
    assert "qwen3:8b" in [m["name"] for m in tags["models"]]


# ---- faults --------------------------------------------------------------------------------

STATUS_CASES = [
    ("overloaded", anthropic.OverloadedError, 529, openai.InternalServerError, 503),
    ("server_error", anthropic.InternalServerError, 500, openai.InternalServerError, 500),
    ("rate_limit", anthropic.RateLimitError, 429, openai.RateLimitError, 429),
    ("auth", anthropic.AuthenticationError, 401, openai.AuthenticationError, 401),
    ("bad_request", anthropic.BadRequestError, 400, openai.BadRequestError, 400),
    ("context_length", anthropic.BadRequestError, 400, openai.BadRequestError, 400),
    ("not_found", anthropic.NotFoundError, 404, openai.NotFoundError, 404),
]


@pytest.mark.parametrize(("kind", "a_error", "a_status", "o_error", "o_status"), STATUS_CASES)
async def test_status_faults_raise_the_sdk_error(
    fake_server: FakeServer, kind: str, a_error: type, a_status: int, o_error: type, o_status: int
) -> None:
    fake_server.script(fault(kind), fault(kind), fault(kind))
    with pytest.raises(a_error) as a_info:
        await anthropic_final(fake_server)
    assert a_info.value.status_code == a_status
    with pytest.raises(o_error) as r_info:
        await responses_events(fake_server)
    assert r_info.value.status_code == o_status
    with pytest.raises(o_error):
        await chat_chunks(fake_server)
    if kind == "context_length":
        assert "prompt is too long" in str(a_info.value)
        assert r_info.value.code == "context_length_exceeded"


async def test_rate_limit_retry_after_is_honoured_by_sdk_retries(fake_server: FakeServer) -> None:
    fake_server.script(fault("rate_limit", retry_after=0.01), reply(text="after retry"))
    client = anthropic_client(fake_server, max_retries=1)
    started = time.monotonic()
    async with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI) as stream:
        message = await stream.get_final_message()
    assert message.content[0].text == "after retry"
    assert time.monotonic() - started < 5  # the SDK slept ~10 ms, not its default backoff
    assert [r.answer.kind if hasattr(r.answer, "kind") else "reply" for r in fake_server.requests] == [
        "rate_limit", "reply"
    ]
    assert fake_server.requests[0].answer is not None


async def test_disconnect_mid_stream_breaks_every_sdk(fake_server: FakeServer) -> None:
    fake_server.script(*[fault("disconnect", after_events=4) for _ in range(3)])
    with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)):
        await anthropic_final(fake_server)
    with pytest.raises((httpx2.RemoteProtocolError, openai.APIConnectionError)):
        await responses_events(fake_server)
    with pytest.raises((httpx2.RemoteProtocolError, openai.APIConnectionError)):
        await chat_chunks(fake_server)


async def test_disconnect_before_response_is_a_connection_error(fake_server: FakeServer) -> None:
    fake_server.script(fault("disconnect"), fault("disconnect"))
    with pytest.raises(anthropic.APIConnectionError):
        await anthropic_final(fake_server)
    with pytest.raises(openai.APIConnectionError):
        await openai_client(fake_server).chat.completions.create(model="m", messages=USER_HI)


async def test_malformed_event_mid_stream(fake_server: FakeServer) -> None:
    fake_server.script(*[fault("malformed", after_events=3) for _ in range(3)])
    with pytest.raises(json.JSONDecodeError):
        await anthropic_final(fake_server)
    with pytest.raises(json.JSONDecodeError):
        await responses_events(fake_server)
    with pytest.raises(json.JSONDecodeError):
        await chat_chunks(fake_server)


async def test_in_stream_error_events(fake_server: FakeServer) -> None:
    fake_server.script(fault("overloaded", after_events=3), fault("server_error", after_events=3),
                       fault("overloaded", after_events=3))
    with pytest.raises(anthropic.APIStatusError) as a_info:
        await anthropic_final(fake_server)
    assert "overloaded_error" in str(a_info.value)
    events, final = await responses_events(fake_server)
    assert events[-1].type == "error" and events[-1].code == "server_error" and final is None
    with pytest.raises(openai.APIError, match="overloaded"):
        await chat_chunks(fake_server)


async def test_stall_times_out_a_client_with_a_read_timeout(fake_server: FakeServer) -> None:
    fake_server.script(fault("stall", seconds=2.0, after_events=3))
    client = anthropic_client(fake_server, timeout=httpx2.Timeout(0.2))
    started = time.monotonic()
    with pytest.raises((anthropic.APITimeoutError, httpx2.ReadTimeout)):
        async with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI) as stream:
            await stream.get_final_message()
    assert time.monotonic() - started < 1.5


async def test_stall_then_the_stream_carries_on(fake_server: FakeServer) -> None:
    fake_server.script(fault("stall", seconds=0.1, after_events=3, reply=reply(text="slow but whole")))
    _events, final = await responses_events(fake_server)
    assert final is not None and final.output_text == "slow but whole"


async def test_script_exhausted_fails_loudly(fake_server: FakeServer) -> None:
    with pytest.raises(anthropic.APIStatusError, match="script ran out") as info:
        await anthropic_final(fake_server)
    assert info.value.status_code == 418
    fake_server.default_reply = reply(text="default")
    assert (await anthropic_final(fake_server)).content[0].text == "default"


async def test_matching_rules_answer_side_requests_out_of_order(fake_server: FakeServer) -> None:
    fake_server.add_rule(reply(text="Title"), match={"stream": False})
    fake_server.script(reply(text="for haiku only", match={"model": "claude-haiku-4-5"}), reply(text="main answer"))
    async with anthropic_client(fake_server) as client:
        title = await client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI)
    assert title.content[0].text == "Title"
    # The sonnet request skips the item that only answers haiku.
    assert (await anthropic_final(fake_server)).content[0].text == "main answer"
    assert (await anthropic_final(fake_server, model="claude-haiku-4-5")).content[0].text == "for haiku only"
    fake_server.assert_script_consumed()


async def test_instant_and_delayed_streaming(fake_server: FakeServer) -> None:
    big = "x" * 20_000
    fake_server.instant = True
    fake_server.script(reply(text=big, chunk_size=4))
    client = anthropic_client(fake_server)
    deltas = 0
    async with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI) as stream:
        async for event in stream:
            deltas += event.type == "text"
        assert (await stream.get_final_message()).content[0].text == big
    assert deltas == 1
    fake_server.instant = False
    fake_server.script(reply(text="abcdef", chunk_size=2, delay_per_event=0.03))
    started = time.monotonic()
    await anthropic_final(fake_server)
    assert time.monotonic() - started >= 0.03 * 8  # 10 events, each delayed


async def test_long_text_streams_in_many_chunks(fake_server: FakeServer) -> None:
    big = "lorem ipsum " * 1_500
    fake_server.script(reply(text=big, chunk_size=4))
    message = await anthropic_final(fake_server)
    assert message.content[0].text == big


async def test_client_cancel_mid_stream_leaves_server_healthy(fake_server: FakeServer) -> None:
    fake_server.script(fault("stall", seconds=30, after_events=3), reply(text="next"))
    client = anthropic_client(fake_server)

    async def consume() -> None:
        async with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI) as stream:
            async for _ in stream:
                pass

    task = asyncio.create_task(consume())
    await fake_server.wait_for_requests_async(1)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await anthropic_final(fake_server)).content[0].text == "next"


def test_sync_clients_work_too(fake_server: FakeServer) -> None:
    fake_server.script(reply(text="sync anthropic"), reply(text="sync openai"))
    client = anthropic.Anthropic(base_url=fake_server.base_url, api_key="k", max_retries=0)
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI) as stream:
        assert stream.get_final_message().content[0].text == "sync anthropic"
    oclient = openai.OpenAI(base_url=fake_server.openai_base_url, api_key="k", max_retries=0)
    with oclient.responses.stream(model="gpt-5.5", input="x") as rstream:
        assert rstream.get_final_response().output_text == "sync openai"
    assert len(fake_server.wait_for_requests(2)) == 2


async def test_api_key_enforcement(fake_server: FakeServer) -> None:
    fake_server.api_key = "right"
    fake_server.script(reply(text="ok"))
    with pytest.raises(anthropic.AuthenticationError):
        await anthropic_final(fake_server)
    client = anthropic_client(fake_server, api_key="right")
    async with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI) as stream:
        assert (await stream.get_final_message()).content[0].text == "ok"


async def test_hang_before_headers_times_out_then_answers(fake_server: FakeServer) -> None:
    fake_server.script(fault("hang", seconds=2.0), fault("hang", seconds=0.05, reply=reply(text="late")))
    client = anthropic_client(fake_server, timeout=httpx2.Timeout(0.2))
    with pytest.raises(anthropic.APITimeoutError):
        async with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI) as stream:
            await stream.get_final_message()
    assert (await anthropic_final(fake_server)).content[0].text == "late"


async def test_web_search_blocks_and_items(fake_server: FakeServer) -> None:
    search = web_search("textual markdown stream", [("Textual", "https://textual.textualize.io/")])
    fake_server.script(reply(text="Found it.", web_searches=[search]), reply(text="Found it.", web_searches=[search]))
    message = await anthropic_final(fake_server, tools=[{"type": "web_search_20250305", "name": "web_search"}])
    use, result, text = message.content
    assert use.type == "server_tool_use" and use.name == "web_search"
    assert use.input == {"query": "textual markdown stream"}
    assert result.type == "web_search_tool_result" and result.tool_use_id == use.id
    assert result.content[0].url == "https://textual.textualize.io/"
    assert text.text == "Found it."
    assert message.usage.server_tool_use is not None and message.usage.server_tool_use.web_search_requests == 1
    events, final = await responses_events(fake_server, tools=[{"type": "web_search"}])
    assert "response.web_search_call.searching" in [e.type for e in events]
    call = final.output[0]
    assert call.type == "web_search_call" and call.action.query == "textual markdown stream"
    assert final.output_text == "Found it."


async def test_empty_reply_is_an_empty_message(fake_server: FakeServer) -> None:
    fake_server.script(reply(), reply(), reply())
    assert (await anthropic_final(fake_server)).content == []
    _, final = await responses_events(fake_server)
    assert final.output == []
    assert chat_accumulate(await chat_chunks(fake_server))["text"] == ""


async def test_neutral_views_read_every_format(fake_server: FakeServer) -> None:
    fake_server.script(reply(text="a"), reply(text="b"), reply(text="c"))
    await anthropic_final(fake_server, system="SYS", messages=GOOD_ANTHROPIC["messages"], tools=TOOLS)
    await responses_events(fake_server, instructions="SYS", input=GOOD_RESPONSES["input"], store=False,
                           tools=[{"type": "function", "name": "read_file", "parameters": {}}])
    await chat_chunks(fake_server, messages=GOOD_CHAT["messages"])
    anth, resp, chat = fake_server.model_requests()
    assert [c.id for c in anth.tool_calls] == ["t1", "t2"] and anth.tool_calls[0].input == {"path": "a"}
    assert [(r.id, r.text, r.is_error) for r in anth.tool_results] == [("t1", "ok", False), ("t2", "ok", False)]
    assert anth.system == "SYS" and anth.user_texts == ["read a", "also this", "thanks"]
    assert anth.tool_names == ["read_file"]
    assert [c.id for c in resp.tool_calls] == ["c1", "c2"] and [r.id for r in resp.tool_results] == ["c1", "c2"]
    assert resp.tool_results[0].is_error is None and resp.system == "SYS" and resp.tool_names == ["read_file"]
    assert [c.name for c in chat.tool_calls] == ["read_file", "read_file"]
    assert [r.text for r in chat.tool_results] == ["ok", "ok"] and chat.system == "s" and chat.user_texts == ["a"]


async def test_carry_forward_of_thinking_in_a_tool_loop_is_checked(fake_server: FakeServer) -> None:
    fake_server.script(reply(thinking="plan", tool_calls=[tool_call("read_file", {"path": "a"}, id="tu1")]),
                       reply(text="ok"), reply(text="ok"))
    thinking = {"type": "enabled", "budget_tokens": 1024}
    first = await anthropic_final(fake_server, thinking=thinking, max_tokens=2000, tools=TOOLS)
    kept = [b.model_dump(include={"type", "thinking", "signature", "id", "name", "input"}) for b in first.content]
    loop = [*USER_HI, {"role": "assistant", "content": kept}, {"role": "user", "content": [result("tu1")]}]
    await anthropic_final(fake_server, thinking=thinking, max_tokens=2000, tools=TOOLS, messages=loop)
    fake_server.assert_protocol_valid()
    dropped = [*USER_HI, {"role": "assistant", "content": kept[1:]}, {"role": "user", "content": [result("tu1")]}]
    await anthropic_final(fake_server, thinking=thinking, max_tokens=2000, tools=TOOLS, messages=dropped)
    with pytest.raises(AssertionError, match="must start with the 1 thinking block"):
        fake_server.assert_protocol_valid()
    fake_server.clear()


async def test_reasoning_item_must_precede_its_function_call_id(fake_server: FakeServer) -> None:
    fake_server.script(reply(thinking="why", tool_calls=[tool_call("read_file", {"path": "a"}, id="c9")]), reply(text="ok"))
    _, first = await responses_events(fake_server)
    reasoning, call = first.output
    output = {"type": "function_call_output", "call_id": "c9", "output": "contents"}
    call_item = {"type": "function_call", "id": call.id, "call_id": "c9", "name": "read_file", "arguments": call.arguments}
    await responses_events(fake_server, input=[{"role": "user", "content": "hi"}, call_item, output])
    with pytest.raises(AssertionError, match=f"without its reasoning item {reasoning.id}"):
        fake_server.assert_protocol_valid()
    fake_server.clear()


async def test_faults_on_non_streaming_requests(fake_server: FakeServer) -> None:
    fake_server.script(fault("malformed"), fault("disconnect", after_events=1),
                       fault("stall", seconds=0.05, reply=reply(text="slow")), fault("overloaded", after_events=2))
    client = anthropic_client(fake_server)

    async def create() -> anthropic.types.Message:
        return await client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI)

    with pytest.raises(json.JSONDecodeError):
        await create()
    with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)):
        await create()
    assert (await create()).content[0].text == "slow"
    with pytest.raises(anthropic.OverloadedError):  # a status fault without a stream is a plain error
        await create()


def test_loop_script_and_unknown_paths(fake_server: FakeServer) -> None:
    fake_server.loop_script = True
    fake_server.script(reply(text="one"), reply(text="two"))
    client = anthropic.Anthropic(base_url=fake_server.base_url, api_key="k", max_retries=0)
    texts = [client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI).content[0].text for _ in range(3)]
    assert texts == ["one", "two", "one"]
    assert len(fake_server.pending) == 2
    broken = openai.OpenAI(base_url=fake_server.base_url, api_key="k", max_retries=0)  # forgot the /v1
    with pytest.raises(openai.NotFoundError, match="no endpoint POST /chat/completions"):
        broken.chat.completions.create(model="m", messages=USER_HI)


# ---- protocol checker ----------------------------------------------------------------------

TOOLS = [{"name": "read_file", "description": "d", "input_schema": {"type": "object"}}]


def anthropic_body(messages: list[dict[str, Any]], tools: list[Any] | None = TOOLS) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": messages}
    if tools is not None:
        body["tools"] = tools
    return body


def use(tid: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": tid, "name": "read_file", "input": {"path": "a"}}


def result(tid: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tid, "content": "ok"}


GOOD_ANTHROPIC = anthropic_body([
    {"role": "user", "content": "read a"},
    {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "hm", "signature": thinking_signature("hm")},
        {"type": "text", "text": "reading"}, use("t1"), use("t2")]},
    {"role": "user", "content": [result("t1"), result("t2"), {"type": "text", "text": "also this"}]},
    {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
    {"role": "user", "content": "thanks"},
])


def test_protocol_accepts_a_valid_anthropic_conversation() -> None:
    assert check("anthropic", GOOD_ANTHROPIC) == []


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([{"role": "user", "content": "a"}, {"role": "assistant", "content": [use("t1")]},
          {"role": "user", "content": "no result"}], "no tool_result for tool_use t1"),
        ([{"role": "user", "content": "a"}, {"role": "assistant", "content": [use("t1")]},
          {"role": "user", "content": [result("t1"), result("t1")]}], "2 tool_results for tool_use t1"),
        ([{"role": "user", "content": [result("zz")]}], "orphan tool_result zz"),
        ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], "two consecutive user messages"),
        ([{"role": "user", "content": "a"}, {"role": "assistant", "content": [use("t1")]}], "not answered"),
        ([{"role": "user", "content": "a"},
          {"role": "assistant", "content": [{"type": "thinking", "thinking": "x", "signature": ""}]},
          {"role": "user", "content": "b"}], "thinking block without a signature"),
        ([{"role": "user", "content": "a"},
          {"role": "assistant", "content": [{"type": "thinking", "thinking": "edited",
                                             "signature": thinking_signature("original")}]},
          {"role": "user", "content": "b"}], "was modified"),
        ([{"role": "user", "content": "a"}, {"role": "assistant", "content": [use("t1")]},
          {"role": "user", "content": [{"type": "text", "text": "x"}, result("t1")]}], "must come before"),
        ([{"role": "assistant", "content": "hi"}, {"role": "user", "content": "a"}], "first message"),
        ([{"role": "user", "content": ""}], "empty"),
        ([{"role": "user", "content": "a"},
          {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "x", "input": "{bad"}]},
          {"role": "user", "content": [result("t1")]}], "input is not an object"),
    ],
)
def test_protocol_rejects_broken_anthropic_conversations(messages: list[dict[str, Any]], problem: str) -> None:
    problems = check("anthropic", anthropic_body(messages))
    assert any(problem in str(p) for p in problems), problems


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"max_tokens": 0}, "`max_tokens` must be a positive integer"),
        ({"thinking": {"type": "enabled", "budget_tokens": 500}}, "budget_tokens must be >= 1024"),
        ({"max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 4000}}, "must be greater than"),
        ({"tools": [*TOOLS, *TOOLS]}, "declared twice"),
        ({"tools": [{"name": "github.search", "input_schema": {}}]}, "is not accepted"),
        ({"system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}] * 5}, "5 cache_control"),
    ],
)
def test_protocol_checks_request_fields(changes: dict[str, Any], problem: str) -> None:
    body = {**GOOD_ANTHROPIC, **changes}
    assert any(problem in str(p) for p in check("anthropic", body)), check("anthropic", body)


def test_protocol_openai_tool_names() -> None:
    long_name = "m" * 65
    body = {**GOOD_RESPONSES, "tools": [{"type": "function", "name": long_name, "parameters": {}}]}
    assert any("is not accepted" in str(p) for p in check("responses", body))
    chat = {**GOOD_CHAT, "tools": [{"type": "function", "function": {"name": "a b"}}]}
    assert any("is not accepted" in str(p) for p in check("chat", chat))


def test_protocol_server_tool_use_needs_its_result() -> None:
    msgs = [{"role": "user", "content": "a"},
            {"role": "assistant", "content": [{"type": "server_tool_use", "id": "s1", "name": "web_search",
                                               "input": {"query": "q"}}, {"type": "text", "text": "x"}]},
            {"role": "user", "content": "b"}]
    assert any("without its result" in str(p) for p in check("anthropic", anthropic_body(msgs)))


def test_protocol_requires_tools_when_history_has_tool_blocks() -> None:
    body = dict(GOOD_ANTHROPIC)
    del body["tools"]
    assert any("`tools` is missing" in str(p) for p in check("anthropic", body))


def test_protocol_error_message_outlines_the_conversation() -> None:
    body = anthropic_body([{"role": "user", "content": "a"}, {"role": "assistant", "content": [use("t9")]},
                           {"role": "user", "content": "forgot"}])
    with pytest.raises(AssertionError) as info:
        assert_valid("/v1/messages", body)
    text = str(info.value)
    assert "no tool_result for tool_use t9" in text
    assert ">> [2] user: text(forgot)" in text
    assert "   [1] assistant: tool_use(t9 read_file)" in text


GOOD_RESPONSES = {
    "model": "gpt-5.5",
    "store": False,
    "input": [
        {"role": "user", "content": "read a"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": encrypted_reasoning("s")},
        {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "read_file", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "ok"},
        {"type": "function_call_output", "call_id": "c2", "output": "ok"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]},
        {"role": "user", "content": "thanks"},
    ],
}


def test_protocol_responses_valid_and_broken() -> None:
    assert check("responses", GOOD_RESPONSES) == []
    items = GOOD_RESPONSES["input"]
    missing = {**GOOD_RESPONSES, "input": [i for i in items if i.get("call_id") != "c2" or i["type"] != "function_call_output"]}
    assert any("no function_call_output for call_id c2" in str(p) for p in check("responses", missing))
    orphan = {**GOOD_RESPONSES, "input": [*items, {"type": "function_call_output", "call_id": "zz", "output": "x"}]}
    assert any("orphan function_call_output zz" in str(p) for p in check("responses", orphan))
    late = {**GOOD_RESPONSES, "input": [items[0], items[2], {"role": "user", "content": "steer"},
                                        {"type": "function_call_output", "call_id": "c1", "output": "ok"}]}
    assert any("before the next message" in str(p) for p in check("responses", late))
    tampered = {**GOOD_RESPONSES, "input": [{**items[1], "encrypted_content": items[1]["encrypted_content"] + "x"}]}
    assert any("modified" in str(p) for p in check("responses", tampered))
    no_enc = {**GOOD_RESPONSES, "input": [{**items[1], "encrypted_content": None}]}
    assert any("encrypted_content while store=false" in str(p) for p in check("responses", no_enc))


GOOD_CHAT = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}},
            {"id": "c2", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        {"role": "tool", "tool_call_id": "c2", "content": "ok"},
        {"role": "assistant", "content": "done"},
    ],
}


def test_protocol_chat_valid_and_broken() -> None:
    assert check("chat", GOOD_CHAT) == []
    msgs = GOOD_CHAT["messages"]
    missing = {**GOOD_CHAT, "messages": [*msgs[:4], msgs[5]]}
    assert any("tool_call c2 has no tool message" in str(p) for p in check("chat", missing))
    late = {**GOOD_CHAT, "messages": [*msgs[:3], {"role": "user", "content": "x"}, msgs[3], msgs[4]]}
    assert any("orphan tool message c1" in str(p) for p in check("chat", late))
    double = {**GOOD_CHAT, "messages": [*msgs[:5], msgs[4]]}
    assert any("second tool message for tool_call c2" in str(p) for p in check("chat", double))
    bad_args = {**GOOD_CHAT, "messages": [msgs[1], {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "x", "arguments": {}}}]}, msgs[3]]}
    assert any("must be a JSON string" in str(p) for p in check("chat", bad_args))


def test_server_checks_every_recorded_request() -> None:
    with FakeServer() as server:
        server.script(reply(text="a"))
        client = anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0)
        bad = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
        client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=bad)
        with pytest.raises(AssertionError, match="two consecutive user messages"):
            server.assert_protocol_valid()
        server.clear()  # so the autouse check after this test passes


@pytest.mark.protocol_invalid_ok
def test_protocol_invalid_ok_marker_skips_the_autouse_check(fake_server: FakeServer) -> None:
    fake_server.script(reply(text="a"))
    client = anthropic.Anthropic(base_url=fake_server.base_url, api_key="k", max_retries=0)
    client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "assistant", "content": "first"}])
    assert fake_server.last_request.body["messages"][0]["role"] == "assistant"


# ---- environment, scenarios, standalone ----------------------------------------------------


def test_stoa_env_is_isolated(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    assert stoa_env["ANTHROPIC_BASE_URL"] == fake_server.base_url
    assert stoa_env["OPENAI_BASE_URL"] == fake_server.base_url + "/v1"
    assert stoa_env["ANTHROPIC_API_KEY"] == stoa_env["OPENAI_API_KEY"] == "test-key"
    assert Path(stoa_env["HOME"]).is_relative_to(tmp_path)
    assert Path(stoa_env["STOA_HOME"]).is_relative_to(tmp_path)
    allowed = {"PATH", "HOME", "STOA_HOME", "LANG", "LC_ALL", "TERM", "PYTHONPATH",
               "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"}
    assert set(stoa_env) - allowed <= {k for k in stoa_env if k.startswith("XDG_")}


def test_real_keys_and_hosts_are_guarded() -> None:
    import os
    import socket

    assert "ANTHROPIC_API_KEY" not in os.environ and "OPENAI_API_KEY" not in os.environ
    assert os.environ["STOA_HOME"].startswith(tempfile_root())
    with pytest.raises(OSError, match="must not reach the real provider"):
        socket.getaddrinfo("api.anthropic.com", 443)


def tempfile_root() -> str:
    import tempfile

    return tempfile.gettempdir()


def test_scenario_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "replies": [
            {"text": "a", "tool_calls": [{"name": "read_file", "arguments": {"path": "x"}, "id": "t1"}],
             "usage": {"input_tokens": 3}},
            {"fault": "disconnect", "after_events": 2},
            {"text": "title", "match": {"stream": False}},
        ],
        "default": {"text": "fallback"},
        "loop": True,
    }))
    scenario = load_scenario(path)
    first, second, third = scenario.items
    assert first.tool_calls[0].arguments == {"path": "x"} and first.usage == {"input_tokens": 3}
    assert second.kind == "disconnect" and second.after_events == 2
    assert third.match == {"stream": False}
    assert scenario.default.text == "fallback" and scenario.loop
    with pytest.raises(ValueError, match="unknown scenario key"):
        load_scenario([{"txt": "typo"}])
    with pytest.raises(ValueError, match="unknown fault"):
        load_scenario([{"fault": "meteor"}])


def test_standalone_process_serves_a_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "demo.json"
    scenario.write_text(json.dumps([{"text": "from the scenario"}]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_server", "--port", "0", "--scenario", str(scenario),
         "--default-text", "looping default", "--quiet"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + (proc.stderr.read() if proc.poll() else "")
        url = line.strip().rsplit(" ", 1)[-1]
        client = anthropic.Anthropic(base_url=url, api_key="k", max_retries=0)
        title = client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI).content[0].text
        assert title == "Fake session title"  # non-streaming side calls leave the script alone
        texts = []
        for _ in range(2):
            with client.messages.stream(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI) as stream:
                texts.append(stream.get_final_message().content[0].text)
        assert texts == ["from the scenario", "looping default"]
    finally:
        proc.terminate()
        proc.wait(5)


TEARDOWN_PROBE = """
import anthropic
from tests.fake_server import reply

BAD = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]

def test_sends_junk(fake_server):
    fake_server.script(reply(text="a"))
    anthropic.Anthropic(base_url=fake_server.base_url, api_key="k", max_retries=0).messages.create(
        model="claude-haiku-4-5", max_tokens=5, messages=BAD)
"""


@pytest.mark.slow
def test_autouse_check_fails_a_test_that_sent_an_invalid_conversation(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(TEARDOWN_PROBE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-q", str(probe)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed, 1 error" in done.stdout
    assert "two consecutive user messages" in done.stdout


@pytest.mark.parametrize("name", ["demo.json", "long_answer.json"])
def test_shipped_scenarios_load(name: str) -> None:
    scenario = load_scenario(REPO_ROOT / "tests" / "fake_server" / "scenarios" / name)
    assert scenario.items or scenario.default is not None


async def test_concurrent_requests_are_served_in_parallel(fake_server: FakeServer) -> None:
    """A slow main stream and a quick title call at the same time: each gets its own answer."""
    fake_server.add_rule(reply(text="Title"), match={"stream": False})
    fake_server.script(reply(text="m" * 40, chunk_size=4, delay_per_event=0.02))
    client = anthropic_client(fake_server)

    async def title() -> str:
        await fake_server.wait_for_requests_async(1)
        message = await client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=USER_HI)
        return message.content[0].text

    main, side = await asyncio.gather(anthropic_final(fake_server), title())
    assert main.content[0].text == "m" * 40 and side == "Title"


async def test_a_server_side_failure_is_reported_not_swallowed(fake_server: FakeServer) -> None:
    def broken_match(request: Any) -> bool:
        raise ZeroDivisionError("bad matcher")

    fake_server.script(reply(text="never", match=broken_match))
    with pytest.raises(anthropic.APIStatusError, match="fake server error") as info:
        await anthropic_final(fake_server)
    assert info.value.status_code == 599
    with pytest.raises(AssertionError, match="ZeroDivisionError: bad matcher"):
        fake_server.assert_no_errors()
    fake_server.clear()


def test_reply_rejects_unknown_stop_and_bad_chunks() -> None:
    with pytest.raises(ValueError, match="unknown stop"):
        reply(text="x", stop="stop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_size"):
        reply(text="x", chunk_size=0)
    with pytest.raises(ValueError, match="unknown usage field"):
        reply(text="x", prompt_tokens=3)
    with pytest.raises(TypeError, match="tool_call"):
        reply(tool_calls=[("read_file", {})])  # type: ignore[list-item]
