"""Switching model and effort mid-conversation, across Anthropic, OpenAI and an OpenAI-compatible
server and back, through the real agent loop, the real SDKs and the fake provider server.

Every captured request is checked by the protocol checker (the autouse fixture in
tests/conftest.py), and field by field here for the effort mapping of the model it went to.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from stoa.core import events as ev
from stoa.core.agent.loop import Agent, RetryPolicy
from stoa.core.config import StoaConfig, load_config
from stoa.core.models import COMPATIBLE_PROVIDERS
from stoa.core.providers.factory import ProviderPool
from stoa.core.runtime import Choices, build_runtime
from stoa.core.switching import ContextTooLargeError, switch_effort, switch_model
from tests.fake_server import FakeServer
from tests.fake_server.script import reply, tool_call

ANTHROPIC_ONLY_FIELDS = ("thinking", "output_config")


def make_config(tmp_path: Path, server: FakeServer) -> StoaConfig:
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("the launch code is 1234\n")
    env = {
        "HOME": str(tmp_path),
        "STOA_HOME": str(tmp_path / "stoa-home"),
        "ANTHROPIC_API_KEY": "test-key",
        "OPENAI_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
        "OPENAI_BASE_URL": server.openai_base_url,
    }
    return load_config(workspace, env=env)


def make_agent(config: StoaConfig, server: FakeServer, compatible_url: str | None = None, **choices: Any) -> Agent:
    url = compatible_url or server.openai_base_url
    pool = ProviderPool(config, lambda provider: url if provider in COMPATIBLE_PROVIDERS else None)
    runtime = build_runtime(
        config,
        Choices(**choices),
        provider_for=pool,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02),
    )
    return runtime.agent


async def run(agent: Agent, text: str) -> list[ev.Event]:
    events = [e async for e in agent.run_turn(text)]
    failed = [e for e in events if isinstance(e, ev.TurnFailed)]
    assert not failed or text.startswith("expect-failure"), failed
    return events


def finished(events: list[ev.Event]) -> ev.TurnFinished:
    last = [e for e in events if isinstance(e, ev.TurnFinished)]
    assert last, events
    return last[-1]


def new_requests(server: FakeServer, seen: int) -> list[Any]:
    return server.model_requests()[seen:]


SUMMARIZED = ("claude-opus-4-7", "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-fable-5-2")


def assert_anthropic_adaptive(body: dict[str, Any], effort: str, off: str = "disabled") -> None:
    if effort == "off":
        assert body["thinking"] == {"type": off}
        assert "output_config" not in body
    else:
        # Opus 4.7 and the 5.x models would omit the thinking text unless asked for a summary.
        display = {"display": "summarized"} if body["model"] in SUMMARIZED else {}
        assert body["thinking"] == {"type": "adaptive", **display}
        assert body["output_config"] == {"effort": effort}
    assert "reasoning" not in body


def assert_anthropic_budget(body: dict[str, Any], budget: int) -> None:
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] > budget  # raised above the budget
    assert "output_config" not in body


def assert_responses(body: dict[str, Any], effort: str, floor: str = "none") -> None:
    if effort == "off":
        assert body["reasoning"] == {"effort": floor}  # no summary: suppressed
    else:
        assert body["reasoning"] == {"effort": effort, "summary": "auto"}
    for field in ANTHROPIC_ONLY_FIELDS:
        assert field not in body


def assert_chat_plain(body: dict[str, Any]) -> None:
    for field in (*ANTHROPIC_ONLY_FIELDS, "reasoning", "reasoning_effort"):
        assert field not in body


async def test_one_conversation_across_three_providers_and_back(tmp_path: Path, fake_server: FakeServer) -> None:
    config = make_config(tmp_path, fake_server)
    agent = make_agent(config, fake_server, model="claude-sonnet-4-6", effort="high")
    seen = 0

    # 1. Claude Sonnet, adaptive thinking at "high": thinks, reads a file, answers.
    fake_server.script(
        reply(thinking="I should read the notes.", tool_calls=[tool_call("read_file", {"path": "notes.txt"})]),
        reply(text="The notes say the launch code is 1234."),
    )
    events = await run(agent, "What do my notes say?")
    assert "1234" in finished(events).text
    requests = new_requests(fake_server, seen)
    seen += len(requests)
    assert [r.format for r in requests] == ["anthropic", "anthropic"]
    for request in requests:
        assert request.model == "claude-sonnet-4-6"
        assert_anthropic_adaptive(request.body, "high")

    # 2. Switch to GPT-5.5 (effort "high" carries over); the Claude tool call and result are
    #    remapped to function_call / function_call_output; Claude's signed thinking cannot cross.
    result = switch_model(agent, "gpt-5.5")
    assert result.divider == "switched to gpt-5.5 (high)"
    fake_server.script(
        reply(thinking="Check the file again.", tool_calls=[tool_call("read_file", {"path": "notes.txt"})]),
        reply(text="Still 1234."),
    )
    events = await run(agent, "Check it once more, please.")
    assert finished(events).text == "Still 1234."
    requests = new_requests(fake_server, seen)
    seen += len(requests)
    assert [r.format for r in requests] == ["responses", "responses"]
    for request in requests:
        assert request.model == "gpt-5.5"
        assert_responses(request.body, "high")
    items = requests[0].body["input"]
    kinds = [item.get("type", "message") for item in items]
    assert "function_call" in kinds and "function_call_output" in kinds
    assert "signature" not in str(items)  # Anthropic signatures never reach OpenAI

    # 3. Effort off on GPT-5.5: the lowest reasoning effort, summaries suppressed.
    assert switch_effort(agent, "off").divider == "switched to gpt-5.5 (off)"
    fake_server.script(reply(text="Done thinking less."))
    await run(agent, "Short answer now.")
    (request,) = new_requests(fake_server, seen)
    seen += 1
    assert_responses(request.body, "off")

    # 4. A local model over Chat Completions: no reasoning fields; tool calls still work, and
    #    the earlier calls (Claude's and GPT's) arrive as assistant tool_calls + tool messages.
    result = switch_model(agent, "ollama/qwen3:8b")
    assert (agent.model.provider, agent.effort) == ("ollama", "off")
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "notes.txt"})]),
        reply(text="Local model agrees: 1234."),
    )
    events = await run(agent, "And you, local model?")
    assert "1234" in finished(events).text
    requests = new_requests(fake_server, seen)
    seen += len(requests)
    assert [r.format for r in requests] == ["chat", "chat"]
    for request in requests:
        assert request.model == "qwen3:8b"
        assert_chat_plain(request.body)
    messages = requests[0].body["messages"]
    assert sum(1 for m in messages if m.get("role") == "tool") == 2
    assert sum(len(m.get("tool_calls") or []) for m in messages if m.get("role") == "assistant") == 2

    # 5. Back to Claude: Haiku with budget thinking at "medium" (older style), then Opus at max.
    result = switch_model(agent, "claude-haiku-4-5", "medium")
    assert result.divider == "switched to claude-haiku-4-5 (medium)"
    fake_server.script(reply(thinking="All three agree.", text="Everyone says 1234."))
    await run(agent, "Summarise what everyone said.")
    (request,) = new_requests(fake_server, seen)
    seen += 1
    assert request.model == "claude-haiku-4-5"
    assert_anthropic_budget(request.body, 10_000)
    anthropic_messages = request.body["messages"]
    tool_uses = [b for m in anthropic_messages if isinstance(m["content"], list) for b in m["content"] if b["type"] == "tool_use"]
    tool_results = [b for m in anthropic_messages if isinstance(m["content"], list) for b in m["content"] if b["type"] == "tool_result"]
    assert len(tool_uses) == len(tool_results) == 3  # Claude's, GPT's and the local model's calls

    switch_model(agent, "claude-opus-4-7", "max")
    fake_server.script(reply(text="Final word: 1234."))
    await run(agent, "Final word?")
    (request,) = new_requests(fake_server, seen)
    assert request.model == "claude-opus-4-7"
    assert_anthropic_adaptive(request.body, "max")

    # Token counts and cost stay per model.
    by_model = agent.ledger.by_model
    assert set(by_model) == {"claude-sonnet-4-6", "gpt-5.5", "qwen3:8b", "claude-haiku-4-5", "claude-opus-4-7"}
    assert by_model["claude-sonnet-4-6"].requests == 2 and by_model["gpt-5.5"].requests == 3
    assert by_model["qwen3:8b"].cost_usd == 0.0 and by_model["claude-sonnet-4-6"].cost_usd > 0


@pytest.mark.parametrize(
    ("model", "effort", "check"),
    [
        ("claude-opus-4-7", "off", lambda b: assert_anthropic_adaptive(b, "off")),
        ("claude-opus-4-7", "xhigh", lambda b: assert_anthropic_adaptive(b, "xhigh")),
        ("claude-sonnet-4-6", "low", lambda b: assert_anthropic_adaptive(b, "low")),
        ("claude-haiku-4-5", "off", lambda b: b["thinking"] == {"type": "disabled"} or pytest.fail(str(b["thinking"]))),
        ("claude-haiku-4-5", "max", lambda b: assert_anthropic_budget(b, 32_000)),
        ("opus", "low", lambda b: assert_anthropic_adaptive(b, "low")),
        ("fable", "max", lambda b: assert_anthropic_adaptive(b, "max")),
        ("sonnet", "off", lambda b: assert_anthropic_adaptive(b, "off", off="between_tools")),
        ("haiku", "off", lambda b: assert_anthropic_adaptive(b, "off")),
        ("gpt", "off", lambda b: assert_responses(b, "off", floor="low")),
        ("astra", "max", lambda b: assert_responses(b, "max")),
        ("luna", "off", lambda b: assert_responses(b, "off", floor="none")),
        ("gpt-5.5", "xhigh", lambda b: assert_responses(b, "xhigh")),
        ("gpt-5.4-mini", "low", lambda b: assert_responses(b, "low")),
        ("codex", "off", lambda b: assert_responses(b, "off", floor="low")),
    ],
)
async def test_each_effort_reaches_the_wire(
    tmp_path: Path, fake_server: FakeServer, model: str, effort: str, check: Any
) -> None:
    config = make_config(tmp_path, fake_server)
    agent = make_agent(config, fake_server, model="claude-sonnet-4-6")
    switch_model(agent, model, effort)
    fake_server.script(reply(text="ok"))
    await run(agent, "hi")
    (request,) = fake_server.model_requests()
    check(request.body)
    assert request.body.get("max_tokens", request.body.get("max_output_tokens")) <= agent.model.max_output


async def test_switch_to_a_smaller_window_is_refused_and_the_conversation_goes_on(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    config = make_config(tmp_path, fake_server)
    agent = make_agent(config, fake_server, model="claude-opus-4-7", effort="low")
    fake_server.script(reply(text="A long conversation so far.", input_tokens=240_000, output_tokens=500))
    await run(agent, "Here is a huge document.")
    assert agent.last_context_tokens == 240_500
    with pytest.raises(ContextTooLargeError) as info:
        switch_model(agent, "claude-haiku-4-5")
    assert "240,500" in str(info.value) and "200,000" in str(info.value)
    assert agent.model.id == "claude-opus-4-7"
    fake_server.script(reply(text="Still here."))
    await run(agent, "Carry on.")
    assert fake_server.model_requests()[-1].model == "claude-opus-4-7"


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def test_a_dead_local_server_fails_clearly_and_the_conversation_survives(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    config = make_config(tmp_path, fake_server)
    agent = make_agent(config, fake_server, compatible_url=_dead_url(), model="claude-sonnet-4-6", effort="low")
    fake_server.script(reply(text="Hello from Claude."))
    await run(agent, "Hi Claude.")
    switch_model(agent, "ollama/qwen3:8b")
    events = await run(agent, "expect-failure: hi local model")
    failures = [e for e in events if isinstance(e, ev.TurnFailed)]
    assert failures and failures[-1].kind == "connection"
    assert failures[-1].hint  # says what to do
    # Back to Claude: the whole conversation is intact and valid.
    switch_model(agent, "sonnet")
    fake_server.script(reply(text="Welcome back."))
    await run(agent, "Back to you, Claude.")
    body = fake_server.model_requests()[-1].body
    texts = str(body["messages"])
    assert "Hi Claude." in texts and "Back to you, Claude." in texts
