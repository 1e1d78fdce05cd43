"""The API rules of current models, end to end: the real agent loop and SDKs against the fake
server, which refuses what each model's API refuses (tests/fake_server/rules.py). A model that
disappears from the list, a 400 naming a parameter, thinking bound to the model that made it,
and the OpenAI prompt cache key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stoa.core import events as ev
from stoa.core.agent.loop import Agent, RetryPolicy
from stoa.core.config import StoaConfig, load_config
from stoa.core.providers.types import ThinkingBlock
from stoa.core.runtime import Choices, Runtime, build_runtime
from stoa.core.switching import switch_model
from tests.fake_server import FakeServer, ModelSpec, fault, reply, tool_call

ZEPHYR = ModelSpec(
    id="claude-zephyr-7", provider="anthropic", context_window=300_000, max_output=24_000,
    thinking_types=("adaptive",), efforts=("low", "high"), display_name="Claude Zephyr 7",
)


def make_config(tmp_path: Path, server: FakeServer) -> StoaConfig:
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "a.txt").write_text("AAA\n")
    env = {
        "HOME": str(tmp_path),
        "STOA_HOME": str(tmp_path / "stoa-home"),
        "ANTHROPIC_API_KEY": "test-key",
        "OPENAI_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
        "OPENAI_BASE_URL": server.openai_base_url,
    }
    return load_config(workspace, env=env)


def make_runtime(tmp_path: Path, server: FakeServer, **choices: Any) -> Runtime:
    return build_runtime(
        make_config(tmp_path, server), Choices(**choices), retry=RetryPolicy(max_attempts=1, base_delay=0.01)
    )


async def run(agent: Agent, text: str) -> list[ev.Event]:
    return [e async for e in agent.run_turn(text)]


def failure(events: list[ev.Event]) -> ev.TurnFailed:
    failed = [e for e in events if isinstance(e, ev.TurnFailed)]
    assert failed, events
    return failed[-1]


async def test_a_model_only_the_list_knows_is_used_with_its_rules(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.models = [*fake_server.models, ZEPHYR]
    runtime = make_runtime(tmp_path, fake_server, model="claude-zephyr-7", effort="high", max_tokens=100_000)
    fake_server.script(reply(text="Hello from a model released today."))
    events = await run(runtime.agent, "hi")
    assert not [e for e in events if isinstance(e, ev.TurnFailed)], events
    (request,) = fake_server.model_requests()
    body = request.body
    assert body["model"] == "claude-zephyr-7" and body["max_tokens"] == 24_000  # capped at the listed max
    assert body["thinking"]["type"] == "adaptive" and body["output_config"] == {"effort": "high"}
    assert runtime.agent.ledger.cost_usd == 0.0  # price unknown, never a guess


async def test_a_model_that_disappears_mid_session_names_the_alternatives(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.models = [*fake_server.models, ZEPHYR]
    runtime = make_runtime(tmp_path, fake_server, model="claude-zephyr-7", effort="low")
    agent = runtime.agent
    fake_server.script(reply(text="First answer."))
    await run(agent, "first question")
    fake_server.models = [m for m in fake_server.models if m is not ZEPHYR]  # withdrawn by the provider
    failed = failure(await run(agent, "second question"))
    assert "claude-zephyr-7 is no longer offered by anthropic" in failed.error
    assert failed.hint is not None and "/model" in failed.hint and "claude-sonnet-5-5" in failed.hint
    assert "conversation is kept" in failed.hint
    # Nothing lost: both questions and the first answer are in the history.
    texts = [b.text for m in agent.history.messages for b in m.content if hasattr(b, "text")]
    assert "first question" in texts and "First answer." in texts and "second question" in texts
    switch_model(agent, "sonnet", catalog=runtime.catalog)
    fake_server.script(reply(text="Carrying on."))
    events = await run(agent, "go on")
    assert not [e for e in events if isinstance(e, ev.TurnFailed)]
    assert "second question" in str(fake_server.model_requests()[-1].body)


@pytest.mark.parametrize(
    ("spec", "choices", "in_error", "in_hint"),
    [
        # The list says 10K output tokens at most; the person asked for 20K.
        (ModelSpec(id="claude-sonnet-5-5", provider="anthropic", max_output=10_000,
                   thinking_types=("adaptive", "between_tools")),
         {"max_tokens": 20_000}, "max_tokens: 20000 > 10000", "--max-tokens"),
        # The model dropped xhigh since the table was written.
        (ModelSpec(id="claude-sonnet-5-5", provider="anthropic", max_output=128_000,
                   thinking_types=("adaptive", "between_tools"), efforts=("low", "medium", "high")),
         {"effort": "xhigh"}, "output_config.effort: 'xhigh'", "/effort"),
        (ModelSpec(id="gpt-6.2-sol", provider="openai", max_output=128_000, thinking_types=(),
                   efforts=("medium", "high")),
         {"model": "gpt", "effort": "low"}, "'reasoning.effort' does not support 'low'", "/effort"),
    ],
)
async def test_a_400_naming_a_parameter_says_which_setting_to_change(
    tmp_path: Path, fake_server: FakeServer, spec: ModelSpec, choices: dict[str, Any], in_error: str, in_hint: str
) -> None:
    fake_server.models = [spec]
    runtime = make_runtime(tmp_path, fake_server, **{"model": "sonnet", **choices})
    failed = failure(await run(runtime.agent, "hi"))
    assert in_error in failed.error
    assert failed.hint is not None and in_hint in failed.hint
    assert runtime.agent.history.messages[-1].role == "user"  # the message is kept for a retry


async def test_thinking_is_dropped_when_switching_between_claude_models(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = make_runtime(tmp_path, fake_server, model="claude-sonnet-4-6", effort="high")
    agent = runtime.agent
    fake_server.script(
        reply(thinking="Sonnet plans.", tool_calls=[tool_call("read_file", {"path": "a.txt"})]),
        reply(text="It says AAA."),
    )
    await run(agent, "read a.txt")
    assert any(isinstance(b, ThinkingBlock) for m in agent.history.messages for b in m.content)
    switch_model(agent, "opus", catalog=runtime.catalog)
    fake_server.script(reply(text="Opus here."))
    events = await run(agent, "and now?")
    assert not [e for e in events if isinstance(e, ev.TurnFailed)], events
    body = fake_server.model_requests()[-1].body
    assert body["model"] == "claude-opus-5-5"
    assert "Sonnet plans." not in str(body)
    assert not [b for m in body["messages"] for b in m["content"] if b.get("type") in ("thinking", "redacted_thinking")]
    # Back on the model that produced it, the signed thinking returns.
    switch_model(agent, "claude-sonnet-4-6", catalog=runtime.catalog)
    fake_server.script(reply(text="Sonnet again."))
    await run(agent, "back")
    assert "Sonnet plans." in str(fake_server.model_requests()[-1].body)


async def test_a_switch_to_an_always_thinking_model_mid_tool_loop(tmp_path: Path, fake_server: FakeServer) -> None:
    """GPT starts a tool loop; Opus 5.5 (thinking cannot be turned off) continues it: thinking
    stays adaptive instead of the 'disabled' the fake would refuse."""
    runtime = make_runtime(tmp_path, fake_server, model="gpt", effort="low")
    agent = runtime.agent
    # GPT calls a tool; the request that would carry its result fails: the loop is left open.
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": "a.txt"})]), fault("server_error"))
    failure(await run(agent, "read it"))
    switch_model(agent, "opus", catalog=runtime.catalog)
    fake_server.script(reply(text="Opus continues."))
    events = await run(agent, "continue")
    assert not [e for e in events if isinstance(e, ev.TurnFailed)], events
    body = fake_server.model_requests()[-1].body
    assert body["model"] == "claude-opus-5-5" and body["thinking"]["type"] == "adaptive"
    assert any(b.get("type") == "tool_result" for m in body["messages"] for b in m["content"])


async def test_openai_requests_of_one_session_share_a_prompt_cache_key(tmp_path: Path, fake_server: FakeServer) -> None:
    from stoa.core.sessions import close_session, open_session

    runtime = make_runtime(tmp_path, fake_server, model="gpt", effort="low")
    handle = await open_session(runtime, titles=False)
    try:
        fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": "a.txt"})]), reply(text="done"))
        await run(runtime.agent, "read it")
    finally:
        await close_session(runtime)
    keys = {r.body.get("prompt_cache_key") for r in fake_server.model_requests("responses")}
    assert keys == {handle.session_id}


@pytest.mark.parametrize(
    ("spec", "effort", "thinking"),
    [
        # Adaptive thinking without an effort parameter: no output_config may be sent.
        (ModelSpec(id="claude-mistral-1", provider="anthropic", max_output=16_000,
                   thinking_types=("adaptive", "disabled"), efforts=()), "high", "adaptive"),
        # Manual budgets only, and a small output limit: the budget stays below max_tokens.
        (ModelSpec(id="claude-breeze-2", provider="anthropic", max_output=6_000,
                   thinking_types=("enabled", "disabled"), efforts=()), "max", "enabled"),
        # Thinking turned off only with between_tools.
        (ModelSpec(id="claude-gale-3", provider="anthropic", thinking_types=("adaptive", "between_tools"),
                   efforts=("medium",)), "off", "between_tools"),
    ],
)
async def test_made_up_models_are_served_within_their_listed_rules(
    tmp_path: Path, fake_server: FakeServer, spec: ModelSpec, effort: str, thinking: str
) -> None:
    fake_server.models = [*fake_server.models, spec]
    runtime = make_runtime(tmp_path, fake_server, model=spec.id, effort=effort)
    fake_server.script(reply(text="ok"))
    events = await run(runtime.agent, "hi")
    assert not [e for e in events if isinstance(e, ev.TurnFailed)], events
    body = fake_server.model_requests()[-1].body
    assert body["thinking"]["type"] == thinking and body["max_tokens"] <= spec.max_output


@pytest.mark.parametrize(("effort", "reasoning"), [("high", {"effort": "high", "summary": "auto"}), ("off", None)])
async def test_a_new_gpt_generation_is_served_with_the_efforts_every_reasoning_model_takes(
    tmp_path: Path, fake_server: FakeServer, effort: str, reasoning: dict[str, str] | None
) -> None:
    fake_server.models = [*fake_server.models, ModelSpec(id="gpt-7-nova", provider="openai", thinking_types=(),
                                                         efforts=("low", "medium", "high"), max_output=32_000)]
    runtime = make_runtime(tmp_path, fake_server, model="gpt-7-nova", effort=effort)
    fake_server.script(reply(text="ok"))
    events = await run(runtime.agent, "hi")
    assert not [e for e in events if isinstance(e, ev.TurnFailed)], events
    body = fake_server.model_requests()[-1].body
    assert body["model"] == "gpt-7-nova" and body.get("reasoning") == reasoning
