"""The turn loop against the fake provider server, through the real providers, on all three wire
formats: tool round trips, concurrency, bad tool calls, faults and retries, cancellation mid
stream and mid tool, the iteration bound, steering, and max-token cut-offs.

Every conversation sent is checked by the fake server's protocol checker after each test
(tests/conftest.py)."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from stoa.core import events as ev
from stoa.core.agent.loop import Agent, RetryPolicy
from stoa.core.config import load_config
from stoa.core.models import ModelInfo, resolve_model
from stoa.core.permissions.approver import RefusingApprover
from stoa.core.providers.factory import ProviderPool
from stoa.core.providers.types import StopReason, TextBlock, ToolResultBlock
from stoa.core.tools.base import Effect, Tool, ToolContext, ToolOutput
from stoa.core.tools.registry import ToolRegistry, default_registry
from tests.fake_server import FakeServer, fault, reply, tool_call

PROVIDERS = {
    "anthropic": ("claude-sonnet-4-6", None),
    "openai": ("gpt-5.5", None),
    "ollama": ("qwen3:8b", "openai"),  # Chat Completions at the fake server's /v1
}


class SleepArgs(BaseModel):
    seconds: float = 5.0


class SlowTool(Tool):
    """A real tool that takes its time (to interrupt mid tool)."""

    name = "slow_tool"
    description = "Waits, then answers."
    Args = SleepArgs
    effect = Effect.READ

    def __init__(self) -> None:
        self.running = asyncio.Event()

    async def run(self, args: SleepArgs, ctx: ToolContext) -> ToolOutput:
        self.running.set()
        await asyncio.sleep(args.seconds)
        return ToolOutput.text("slept")


def make_agent(
    tmp_path: Path,
    server: FakeServer,
    provider: str = "anthropic",
    *,
    registry: ToolRegistry | None = None,
    mode: str = "auto",
    read_timeout: float | None = None,
    **kwargs: Any,
) -> Agent:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    env = {
        "HOME": str(tmp_path / "home"),
        "STOA_HOME": str(tmp_path / "stoa-home"),
        "ANTHROPIC_API_KEY": "test-key",
        "OPENAI_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
        "OPENAI_BASE_URL": server.openai_base_url,
    }
    config = load_config(workspace, env=env)
    model_id, _ = PROVIDERS[provider]
    model: ModelInfo = resolve_model(model_id, provider if provider == "ollama" else None)
    pool = ProviderPool(
        config,
        lambda p: server.openai_base_url if p == "ollama" else None,
        read_timeout=read_timeout,
    )
    from stoa.core.permissions.setup import make_policy

    return Agent(
        provider_for=pool,
        model=model,
        tools=registry or default_registry(),
        workspace=config.workspace,
        system_prompt="You are a test agent.",
        policy=make_policy(config, mode),
        config=config,
        retry=RetryPolicy(max_attempts=3, base_delay=0.01),
        **kwargs,
    )


async def run(agent: Agent, text: str) -> list[ev.Event]:
    return [event async for event in agent.run_turn(text)]


def of(events: list[ev.Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture(params=list(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_plain_text_turn(tmp_path: Path, fake_server: FakeServer, provider: str) -> None:
    fake_server.script(reply(text="Hello there."))
    agent = make_agent(tmp_path, fake_server, provider)
    events = await run(agent, "hi")
    assert isinstance(events[-1], ev.TurnFinished)
    assert events[-1].text == "Hello there."
    assert "".join(e.text for e in of(events, ev.AssistantTextDelta)) == "Hello there."
    assert [m.role for m in agent.history.messages] == ["user", "assistant"]
    assert len(fake_server.requests) == 1


async def test_read_file_round_trip(tmp_path: Path, fake_server: FakeServer, provider: str) -> None:
    fake_server.script(
        reply(text="Let me look.", tool_calls=[tool_call("read_file", {"path": "notes.txt"})]),
        reply(text="It says hello."),
    )
    agent = make_agent(tmp_path, fake_server, provider)
    (agent.workspace / "notes.txt").write_text("hello from the file\n")
    events = await run(agent, "what does notes.txt say?")
    finished = of(events, ev.ToolCallFinished)
    assert len(finished) == 1 and not finished[0].is_error
    assert "hello from the file" in finished[0].result_text
    # The second request carries the file's content back to the model.
    second = fake_server.model_requests()[1]
    assert "hello from the file" in str(second.json)
    assert events[-1] == ev.TurnFinished(stop_reason=StopReason.END_TURN, text="It says hello.", iterations=2)


async def test_independent_reads_run_and_return_in_order(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": f"f{i}.txt"}) for i in range(3)]),
        reply(text="done"),
    )
    agent = make_agent(tmp_path, fake_server, provider)
    for i in range(3):
        (agent.workspace / f"f{i}.txt").write_text(f"content {i}\n")
    await run(agent, "read them")
    results = agent.history.messages[2].tool_results
    calls = agent.history.messages[1].tool_uses
    assert [r.tool_use_id for r in results] == [c.id for c in calls]
    assert [f"content {i}" in r.text for i, r in enumerate(results)] == [True, True, True]


async def test_bad_tool_calls_become_error_results(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("read_file", '{"path": "a.txt"'),  # invalid JSON
                tool_call("read_file", {"offset": 3}),  # missing required path
                tool_call("no_such_tool", {"x": 1}),
            ]
        ),
        reply(text="sorry"),
    )
    agent = make_agent(tmp_path, fake_server, provider)
    events = await run(agent, "go")
    finished = of(events, ev.ToolCallFinished)
    assert [f.is_error for f in finished] == [True, True, True]
    assert "JSON" in finished[0].result_text
    assert "path" in finished[1].result_text
    assert "unknown tool" in finished[2].result_text and "read_file" in finished[2].result_text
    assert isinstance(events[-1], ev.TurnFinished)


@pytest.mark.parametrize(
    "failure",
    [
        fault("overloaded"),
        fault("server_error"),
        fault("rate_limit", retry_after=0.01),
        fault("disconnect", after_events=3),
        fault("malformed", after_events=3),
    ],
    ids=["overloaded", "server_error", "rate_limit", "disconnect", "malformed"],
)
@pytest.mark.protocol_invalid_ok  # the broken attempts are recorded too; the retried one is checked below
async def test_transient_faults_are_retried(
    tmp_path: Path, fake_server: FakeServer, provider: str, failure: Any
) -> None:
    fake_server.script(failure, reply(text="recovered"))
    agent = make_agent(tmp_path, fake_server, provider)
    events = await run(agent, "hi")
    assert len(of(events, ev.Retrying)) == 1
    assert isinstance(events[-1], ev.TurnFinished) and events[-1].text == "recovered"
    fake_server.assert_protocol_valid()


async def test_stall_times_out_and_retries(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(fault("stall", seconds=3.0, after_events=2), reply(text="back"))
    agent = make_agent(tmp_path, fake_server, "anthropic", read_timeout=0.5)
    events = await run(agent, "hi")
    assert of(events, ev.Retrying)
    assert events[-1].text == "back"  # type: ignore[union-attr]


async def test_auth_failure_is_not_retried_and_keeps_the_message(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    if provider == "ollama":
        pytest.skip("local servers need no key; auth failures apply to cloud providers")
    fake_server.script(fault("auth"), reply(text="second try works"))
    agent = make_agent(tmp_path, fake_server, provider)
    events = await run(agent, "my precious question")
    failed = events[-1]
    assert isinstance(failed, ev.TurnFailed) and failed.kind == "auth"
    assert not of(events, ev.Retrying)
    assert agent.history.messages[-1].text == "my precious question"
    # The next turn carries the first message along (merged, never lost).
    events = await run(agent, "again")
    assert events[-1].text == "second try works"  # type: ignore[union-attr]
    sent = str(fake_server.model_requests()[-1].json)
    assert "my precious question" in sent and "again" in sent


async def test_retries_give_up_with_a_clear_error(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(fault("overloaded"), fault("overloaded"), fault("overloaded"))
    agent = make_agent(tmp_path, fake_server, "anthropic")
    events = await run(agent, "hi")
    assert len(of(events, ev.Retrying)) == 2
    assert isinstance(events[-1], ev.TurnFailed) and events[-1].hint


async def test_interrupt_mid_stream_leaves_valid_history(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    fake_server.script(reply(text="word " * 200, chunk_size=5, delay_per_event=0.02), reply(text="fresh"))
    agent = make_agent(tmp_path, fake_server, provider)

    async def consume() -> None:
        async with aclosing(agent.run_turn("write a lot")) as stream:
            async for event in stream:
                if isinstance(event, ev.AssistantTextDelta):
                    raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await consume()
    assert agent.last_turn_interrupted
    # What was streamed is kept, then the marker (see test_turn_control.py for the details).
    assert [m.role for m in agent.history.messages] == ["user", "assistant", "user"]
    assert ("word " * 200).startswith(agent.history.messages[1].text)
    events = await run(agent, "next")
    assert events[-1].text == "fresh"  # type: ignore[union-attr]


async def test_interrupt_mid_tool_answers_every_call(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    slow = SlowTool()
    registry = default_registry()
    registry.register(slow)
    fake_server.script(
        reply(
            tool_calls=[tool_call("read_file", {"path": "a.txt"}), tool_call("slow_tool", {"seconds": 30})]
        ),
        reply(text="after"),
    )
    agent = make_agent(tmp_path, fake_server, provider, registry=registry)
    (agent.workspace / "a.txt").write_text("a\n")
    read_done = asyncio.Event()

    async def consume() -> None:
        async with aclosing(agent.run_turn("go")) as stream:
            async for event in stream:
                if isinstance(event, ev.ToolCallFinished) and event.name == "read_file":
                    read_done.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(asyncio.gather(slow.running.wait(), read_done.wait()), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    last = agent.history.messages[-1]
    assert last.role == "user" and len(last.tool_results) == 2
    assert not last.tool_results[0].is_error and last.tool_results[1].is_error
    events = await run(agent, "carry on")
    assert events[-1].text == "after"  # type: ignore[union-attr]


async def test_iteration_limit_asks_for_a_summary(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    fake_server.script(
        *[reply(tool_calls=[tool_call("read_file", {"path": "a.txt"})]) for _ in range(2)],
        reply(text="Summary: I read a.txt twice."),
    )
    agent = make_agent(tmp_path, fake_server, provider, max_iterations=2)
    (agent.workspace / "a.txt").write_text("a\n")
    events = await run(agent, "loop")
    assert events[-1].text == "Summary: I read a.txt twice."  # type: ignore[union-attr]
    last_request = fake_server.model_requests()[-1].json
    assert "maximum number of tool iterations" in str(last_request)
    choice = last_request.get("tool_choice")
    assert choice in ({"type": "none"}, "none")


async def test_steering_is_delivered_with_tool_results(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    slow = SlowTool()
    registry = default_registry()
    registry.register(slow)
    fake_server.script(
        reply(tool_calls=[tool_call("slow_tool", {"seconds": 0.3})]), reply(text="ok, steered")
    )
    agent = make_agent(tmp_path, fake_server, provider, registry=registry)
    events: list[ev.Event] = []
    async for event in agent.run_turn("start"):
        events.append(event)
        if isinstance(event, ev.ToolCallStarted):
            agent.steer("also check the tests")
    assert of(events, ev.SteeringDelivered)[0].text == "also check the tests"
    tool_turn = agent.history.messages[2]
    assert isinstance(tool_turn.content[0], ToolResultBlock)
    assert tool_turn.content[-1] == TextBlock(text="also check the tests")
    assert agent.take_pending_steering() == []


async def test_half_formed_tool_call_at_max_tokens_is_not_run(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    fake_server.script(
        reply(
            text="I will write",
            tool_calls=[tool_call("write_file", {"path": "x.txt", "content": "y"})],
            stop="max_tokens",
        )
    )
    agent = make_agent(tmp_path, fake_server, provider)
    events = await run(agent, "write x")
    assert not (agent.workspace / "x.txt").exists()
    assert not of(events, ev.ToolCallStarted)
    assert any("output token limit" in n.text for n in of(events, ev.Notice))
    assert agent.history.messages[-1].tool_uses == []


async def test_plan_mode_refuses_writes(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "x.txt", "content": "y"})]), reply(text="ok")
    )
    agent = make_agent(tmp_path, fake_server, "anthropic", mode="plan")
    events = await run(agent, "write x")
    assert not (agent.workspace / "x.txt").exists()
    finished = of(events, ev.ToolCallFinished)[0]
    assert finished.is_error and finished.status == "denied"
    offered = [t["name"] for t in fake_server.model_requests()[0].json["tools"]]
    assert "read_file" in offered and "write_file" not in offered


async def test_refusing_approver_explains_how_to_allow(tmp_path: Path, fake_server: FakeServer) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": str(outside)})]), reply(text="ok"))
    agent = make_agent(tmp_path, fake_server, "anthropic", approver=RefusingApprover())
    events = await run(agent, "read outside")
    finished = of(events, ev.ToolCallFinished)[0]
    assert finished.is_error and "secret" not in finished.result_text
    assert "Headless" in finished.result_text


async def test_permission_request_future_is_awaited(tmp_path: Path, fake_server: FakeServer) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("visible after approval\n")
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": str(outside)})]), reply(text="ok"))
    agent = make_agent(tmp_path, fake_server, "anthropic")
    from stoa.core.permissions.approver import PermissionDecision

    events: list[ev.Event] = []
    async for event in agent.run_turn("read outside"):
        events.append(event)
        if isinstance(event, ev.PermissionRequested):
            assert event.request.kind == "read"
            event.future.set_result(PermissionDecision("once"))
    finished = of(events, ev.ToolCallFinished)[0]
    assert not finished.is_error and "visible after approval" in finished.result_text


async def test_a_call_is_timed_from_its_run_not_from_the_wait_for_approval(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("read after a long think\n")
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": str(outside)})]), reply(text="ok"))
    agent = make_agent(tmp_path, fake_server, "anthropic")
    from stoa.core.permissions.approver import PermissionDecision

    async def answer_later(future: Any) -> None:
        await asyncio.sleep(3.0)  # the person thinks it over; reading a small file takes far less
        future.set_result(PermissionDecision("once"))

    events: list[ev.Event] = []
    waits: list[asyncio.Task[None]] = []
    async for event in agent.run_turn("read outside"):
        events.append(event)
        if isinstance(event, ev.PermissionRequested):
            waits.append(asyncio.create_task(answer_later(event.future)))
    finished = of(events, ev.ToolCallFinished)[0]
    assert not finished.is_error and "long think" in finished.result_text
    assert finished.elapsed < 3.0, finished.elapsed


async def test_usage_and_cost_are_accounted(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(
        reply(text="hi", input_tokens=1000, output_tokens=100, cache_read_tokens=4000, cache_write_tokens=200)
    )
    agent = make_agent(tmp_path, fake_server, "anthropic")
    events = await run(agent, "hi")
    usage = of(events, ev.UsageUpdated)[-1]
    assert usage.total.input_tokens == 1000 and usage.total.cache_read_tokens == 4000
    expected = (1000 * 3.0 + 100 * 15.0 + 4000 * 0.30 + 200 * 3.75) / 1_000_000
    assert usage.cost_usd == pytest.approx(expected)


async def test_interrupt_method_ends_the_stream(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="word " * 200, chunk_size=5, delay_per_event=0.02), reply(text="fresh"))
    agent = make_agent(tmp_path, fake_server, "anthropic")
    events: list[ev.Event] = []
    async for event in agent.run_turn("write a lot"):
        events.append(event)
        if isinstance(event, ev.AssistantTextDelta):
            assert agent.busy and agent.interrupt()
    assert isinstance(events[-1], ev.TurnInterrupted)
    assert not agent.busy and agent.last_turn_interrupted
    events = await run(agent, "next")
    assert events[-1].text == "fresh"  # type: ignore[union-attr]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_web_search_is_declared_for_models_that_support_it(tmp_path: Path, fake_server: FakeServer, provider: str) -> None:
    fake_server.script(reply(text="ok"))
    agent = make_agent(tmp_path, fake_server, provider)
    await run(agent, "search the web")
    tools = fake_server.model_requests()[0].json["tools"]
    assert any(str(t.get("type", "")).startswith("web_search") for t in tools), tools


async def test_web_search_can_be_turned_off(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="ok"))
    agent = make_agent(tmp_path, fake_server, "anthropic")
    (agent.workspace / ".stoa").mkdir()
    (agent.workspace / ".stoa" / "config.toml").write_text("[web]\nsearch = false\n")
    agent.config = load_config(agent.workspace, env=agent.config.env)
    await run(agent, "no web")
    tools = fake_server.model_requests()[0].json["tools"]
    assert not any(str(t.get("type", "")).startswith("web_search") for t in tools)
