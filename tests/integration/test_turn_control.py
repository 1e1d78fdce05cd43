"""How a turn ends and what it keeps, through the real agent, the real SDKs, real tools and a real
session database against the fake server (issue 11):

- a person's plain "no" ends the turn; "no, and say why" and headless refusals do not (item 6);
- the iteration bound and the cap on tool calls run from one reply (item 8);
- the user's message is saved before the first request, whatever fails after (item 10);
- an interrupt keeps what was said: the partial reply, a shell command's output so far, and a
  marker the model reads, all saved and replayed on resume (item 14).

Every request the fake server sees is checked by its protocol checker after each test
(tests/conftest.py), so each scenario also proves the history it leaves is one the provider
accepts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from stoa.core import events as ev
from stoa.core.agent.loop import Agent
from stoa.core.config import load_config
from stoa.core.permissions.approver import PermissionDecision, RefusingApprover
from stoa.core.providers.types import TextBlock, ThinkingBlock, ToolUseBlock
from stoa.core.runtime import Choices, Runtime, build_runtime
from stoa.core.sessions import SessionHandle, SessionStore, close_session, open_session
from tests.fake_server import FakeServer, fault, reply, tool_call
from tests.fake_server.script import Reply
from tests.fake_server.wire import AnthropicWire, ChatWire, Ids, ResponsesWire

PROVIDERS = ("anthropic", "openai", "ollama")
# The contract: the words the model reads after an interrupt, the calls run from one reply, and
# the default bound of model requests per turn.
INTERRUPTED_MARKER = "[interrupted by the user]"
MAX_TOOL_CALLS_PER_MESSAGE = 64
WIRES = {"anthropic": AnthropicWire, "openai": ResponsesWire, "ollama": ChatWire}


class World:
    """A project folder and a STOA_HOME; each ``runtime()`` is what a new `stoa` would build."""

    def __init__(self, tmp_path: Path, server: FakeServer) -> None:
        self.server = server
        self.workspace = tmp_path / "project"
        self.workspace.mkdir()
        self.env = {
            "HOME": str(tmp_path),
            "STOA_HOME": str(tmp_path / "stoa-home"),
            "ANTHROPIC_API_KEY": "test-key",
            "OPENAI_API_KEY": "test-key",
            "ANTHROPIC_BASE_URL": server.base_url,
            "OPENAI_BASE_URL": server.openai_base_url,
        }

    def choices(self, provider: str) -> Choices:
        if provider == "ollama":
            return Choices(model="qwen3:8b", provider="ollama", base_url=self.server.openai_base_url)
        return Choices(model={"anthropic": "claude-sonnet-4-6", "openai": "gpt-5.5"}[provider])

    def runtime(self, provider: str = "anthropic", **kwargs: Any) -> Runtime:
        config = load_config(self.workspace, env=dict(self.env))
        return build_runtime(config, self.choices(provider), **kwargs)

    async def session(self, provider: str = "anthropic", **kwargs: Any) -> tuple[Runtime, SessionHandle]:
        runtime = self.runtime(provider, **kwargs)
        return runtime, await open_session(runtime, titles=False)

    async def resumed(self, session_id: str, provider: str = "anthropic") -> tuple[Runtime, SessionHandle]:
        runtime = self.runtime(provider)
        return runtime, await open_session(runtime, resume=session_id, titles=False)


@pytest.fixture
def world(tmp_path: Path, fake_server: FakeServer) -> World:
    return World(tmp_path, fake_server)


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


Handler = Callable[[ev.Event, Agent], Awaitable[None] | None]


async def turn(agent: Agent, prompt: str, on_event: Handler | None = None) -> list[ev.Event]:
    events: list[ev.Event] = []
    async for event in agent.run_turn(prompt):
        events.append(event)
        if on_event is not None:
            result = on_event(event, agent)
            if result is not None:
                await result
    return events


def of(events: list[ev.Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def kinds_and_texts(records: list[Any]) -> list[tuple[str, str]]:
    return [(r.kind, str(r.data.get("text", r.data.get("status", "")))) for r in records]


# ---- item 6: "no" stops the turn ---------------------------------------------------------------


def answer_every_question(decision: PermissionDecision) -> Handler:
    def handle(event: ev.Event, agent: Agent) -> None:
        if isinstance(event, ev.PermissionRequested):
            event.future.set_result(decision)

    return handle


async def test_a_plain_no_ends_the_turn_and_answers_every_call(world: World, provider: str) -> None:
    ws = world.workspace
    (ws / "keep.txt").write_text("precious\n")
    (ws / "a.txt").write_text("a\n")
    world.server.script(
        reply(
            text="Tidying up.",
            tool_calls=[
                tool_call("write_file", {"path": "first.txt", "content": "1\n"}),
                tool_call("read_file", {"path": "a.txt"}),
                tool_call("delete_file", {"path": "keep.txt"}),
                tool_call("write_file", {"path": "after.txt", "content": "2\n"}),
            ],
        ),
        reply(text="Understood, nothing deleted."),
    )
    runtime, handle = await world.session(provider)
    asked: list[str] = []

    def no(event: ev.Event, agent: Agent) -> None:
        if isinstance(event, ev.PermissionRequested):
            asked.append(event.request.tool_name)
            event.future.set_result(PermissionDecision("reject"))

    events = await turn(runtime.agent, "tidy up", no)
    # The turn ended at the "no": no further request, the word is the person's.
    assert asked == ["delete_file"]
    assert len(world.server.model_requests()) == 1
    last = events[-1]
    assert isinstance(last, ev.TurnFinished) and last.rejected
    assert (ws / "keep.txt").exists() and (ws / "first.txt").exists() and not (ws / "after.txt").exists()
    status = {(f.name, f.call_id): f.status for f in of(events, ev.ToolCallFinished)}
    assert sorted(status.values(), key=str) == sorted([None, "skipped", "denied", "skipped"], key=str)
    # Every call of the reply has exactly one result, in call order.
    calls = runtime.agent.history.messages[1].tool_uses
    results = runtime.agent.history.messages[2].tool_results
    assert [r.tool_use_id for r in results] == [c.id for c in calls]
    texts = [r.text for r in results]
    assert texts[0].startswith("Created first.txt") and not results[0].is_error
    assert "Not run" in texts[1] and "delete_file" in texts[1]
    assert "rejected" in texts[2] and "stopped the turn" in texts[2]
    assert "Not run" in texts[3]
    assert any("rejected delete_file" in n.text for n in of(events, ev.Notice))

    # The next turn carries those results and the new message; the provider accepts it.
    events = await turn(runtime.agent, "leave it, thanks")
    assert isinstance(events[-1], ev.TurnFinished) and not events[-1].rejected
    second = world.server.model_requests()[1]
    assert len(second.tool_results) == 4 and "leave it, thanks" in second.user_texts[-1]
    session_id = handle.session_id
    saved = list(runtime.agent.history.messages)
    await close_session(runtime)
    resumed, _ = await world.resumed(session_id, provider)
    try:
        assert resumed.agent.history.messages == saved
    finally:
        await close_session(resumed)


async def test_no_with_feedback_continues_the_turn(world: World, provider: str) -> None:
    (world.workspace / "keep.txt").write_text("precious\n")
    world.server.script(
        reply(tool_calls=[tool_call("delete_file", {"path": "keep.txt"})]),
        reply(text="I will archive it instead."),
    )
    runtime = world.runtime(provider)
    decision = PermissionDecision("reject", feedback="archive it, do not delete")
    events = await turn(runtime.agent, "clean up", answer_every_question(decision))
    assert len(world.server.model_requests()) == 2
    last = events[-1]
    assert isinstance(last, ev.TurnFinished) and not last.rejected and last.text == "I will archive it instead."
    (result,) = world.server.model_requests()[1].tool_results
    assert result.text.endswith("The user rejected this tool call and said: archive it, do not delete")
    assert (world.workspace / "keep.txt").exists()


async def test_headless_refusals_are_not_user_rejections(world: World, provider: str) -> None:
    """RefusingApprover (headless) and a deny rule refuse with words the model reads; it goes on."""
    ws = world.workspace
    (ws / "keep.txt").write_text("precious\n")
    (ws / "secret.txt").write_text("hidden\n")
    (ws / ".stoa").mkdir()
    (ws / ".stoa" / "config.toml").write_text('[permissions]\ndeny = ["Read(./secret.txt)"]\n')
    world.server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "secret.txt"}), tool_call("delete_file", {"path": "keep.txt"})]),
        reply(text="Both were refused; here is what I can do instead."),
    )
    runtime = world.runtime(provider, approver=RefusingApprover())
    events = await turn(runtime.agent, "read the secret and delete keep.txt")
    last = events[-1]
    assert isinstance(last, ev.TurnFinished) and not last.rejected
    assert last.text.startswith("Both were refused")
    results = world.server.model_requests()[1].tool_results
    assert results[0].text.removeprefix("Error: ").startswith("Denied:")
    assert "Headless mode cannot ask" in results[1].text
    assert (ws / "keep.txt").exists()


# ---- item 8: bounds ----------------------------------------------------------------------------


async def test_the_default_bound_lets_a_long_turn_finish(world: World) -> None:
    """60 tool rounds (a 58-step turn was cut at the old bound of 50) end with the model's own
    answer, not a forced summary."""
    runtime = world.runtime()
    assert runtime.agent.max_iterations == 200
    (world.workspace / "a.txt").write_text("a\n")
    steps = 60
    world.server.script(
        *[reply(tool_calls=[tool_call("read_file", {"path": "a.txt"})], chunk_size=None) for _ in range(steps)],
        reply(text="All sixty steps done."),
    )
    events = await turn(runtime.agent, "a long refactor")
    last = events[-1]
    assert isinstance(last, ev.TurnFinished) and last.text == "All sixty steps done."
    assert last.iterations == steps + 1
    assert not any("maximum number of tool iterations" in str(r.json) for r in world.server.model_requests())


async def test_a_config_bound_still_applies(world: World) -> None:
    (world.workspace / ".stoa").mkdir()
    (world.workspace / ".stoa" / "config.toml").write_text("max-iterations = 7\n")
    assert world.runtime().agent.max_iterations == 7
    runtime = build_runtime(load_config(world.workspace, env=dict(world.env)), Choices(max_turns=3))
    assert runtime.agent.max_iterations == 3  # --max-turns wins over the config


async def test_at_most_64_calls_of_one_reply_run(world: World) -> None:
    """A runaway reply of 10,000 calls: 64 run; the others are dropped from the reply (never in
    the history, so no call goes without its result) and the model is told."""
    count = 10_000
    calls = [tool_call("write_file", {"path": f"out/{i}.txt", "content": f"{i}\n"}) for i in range(count)]
    world.server.script(reply(tool_calls=calls, chunk_size=None), reply(text="Done with what ran."))
    # 10,000 calls would fill a 1M window: this test is about the cap, not compaction.
    (world.workspace / ".stoa").mkdir()
    (world.workspace / ".stoa" / "config.toml").write_text("[context]\nauto-compact = false\n")
    runtime, handle = await world.session()
    events = await turn(runtime.agent, "make the files")
    assert isinstance(events[-1], ev.TurnFinished)
    written = sorted(int(p.stem) for p in (world.workspace / "out").iterdir())
    assert written == list(range(MAX_TOOL_CALLS_PER_MESSAGE))
    assert len(of(events, ev.ToolCallStarted)) == MAX_TOOL_CALLS_PER_MESSAGE
    assert any("10,000 tool calls" in n.text for n in of(events, ev.Notice))
    history = runtime.agent.history.messages
    assert len(history[1].tool_uses) == MAX_TOOL_CALLS_PER_MESSAGE
    assert [r.tool_use_id for r in history[2].tool_results] == [c.id for c in history[1].tool_uses]
    told = [b.text for b in history[2].content if isinstance(b, TextBlock)]
    assert len(told) == 1 and "10,000 tool calls" in told[0] and "other 9,936 were dropped" in told[0]
    sent = world.server.model_requests()[1]
    assert len(sent.tool_calls) == len(sent.tool_results) == MAX_TOOL_CALLS_PER_MESSAGE
    assert any("9,936 were dropped" in t for t in sent.user_texts)
    # The session keeps the capped reply: a resume sends the same valid history.
    session_id = handle.session_id
    await close_session(runtime)
    request, _ = await resume_and_go_on(world, session_id, "anthropic")
    assert len(request.tool_calls) == len(request.tool_results) == MAX_TOOL_CALLS_PER_MESSAGE


async def test_the_cap_on_every_wire_format(world: World, provider: str) -> None:
    count = 100
    calls = [tool_call("write_file", {"path": f"out/{i}.txt", "content": "x\n"}) for i in range(count)]
    world.server.script(reply(tool_calls=calls, chunk_size=None), reply(text="ok"))
    runtime = world.runtime(provider)
    await turn(runtime.agent, "go")
    assert len(list((world.workspace / "out").iterdir())) == MAX_TOOL_CALLS_PER_MESSAGE
    sent = world.server.model_requests()[1]
    # Only the calls that ran, each with its result (the protocol checker holds every request
    # to that too), and the note saying how many were dropped.
    assert len(sent.tool_calls) == len(sent.tool_results) == MAX_TOOL_CALLS_PER_MESSAGE
    assert {c.id for c in sent.tool_calls} == {r.id for r in sent.tool_results}
    assert any("other 36 were dropped" in t for t in sent.user_texts), sent.user_texts


# ---- item 10: the user's message is saved first ------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [fault("auth"), fault("bad_request"), fault("context_length")],
    ids=["auth", "bad_request", "context_length"],
)
async def test_the_message_is_saved_before_a_failed_request(world: World, provider: str, failure: Any) -> None:
    if provider == "ollama" and failure.kind == "auth":
        pytest.skip("local servers need no key; auth failures apply to cloud providers")
    world.server.script(failure)
    runtime, handle = await world.session(provider)
    events = await turn(runtime.agent, "a question worth keeping")
    assert isinstance(events[-1], ev.TurnFailed)
    session_id = handle.session_id
    await close_session(runtime)
    resumed, again = await world.resumed(session_id, provider)
    try:
        assert [m.text for m in resumed.agent.history.messages] == ["a question worth keeping"]
        assert [r.kind for r in again.records] == ["user", "notice"]
        assert again.records[0].data["text"] == "a question worth keeping"
    finally:
        await close_session(resumed)


async def test_a_prompt_with_lone_surrogates_is_saved_and_sent(world: World, provider: str) -> None:
    """Bytes that are not UTF-8 (kept by surrogateescape, as argv and stdin keep them) and a
    broken escape used to fail both the save and the request."""
    prompt = b"read caf\xe9.txt \xff".decode("utf-8", "surrogateescape") + " and \ud800 too"
    world.server.script(reply(text="Noted."))
    runtime, handle = await world.session(provider)
    events = await turn(runtime.agent, prompt)
    last = events[-1]
    assert isinstance(last, ev.TurnFinished), last
    sent = world.server.model_requests()[0].user_texts[-1]
    assert sent == "read caf\\xe9.txt \\xff and \\ud800 too"
    session_id = handle.session_id
    await close_session(runtime)
    resumed, again = await world.resumed(session_id, provider)
    try:
        assert resumed.agent.history.messages[0].text == sent
        assert again.records[0].data["text"] == sent
    finally:
        await close_session(resumed)


async def test_a_crash_in_the_request_path_keeps_the_message(world: World) -> None:
    runtime, handle = await world.session()
    agent = runtime.agent

    def broken_prompt() -> str:
        raise RuntimeError("the system prompt could not be built " + "x" * 5000)

    crashing = Agent(
        provider_for=agent.provider_for,
        model=agent.model,
        tools=agent.tools,
        workspace=agent.workspace,
        system_prompt=broken_prompt,
        policy=agent.policy,
        config=agent.config,
        observer=agent.observer,
    )
    events = await turn(crashing, "please keep me")
    failed = events[-1]
    assert isinstance(failed, ev.TurnFailed) and failed.kind == "internal"
    assert "could not be built" in failed.error and len(failed.error) < 600  # no request body dump
    assert not world.server.model_requests()
    session_id = handle.session_id
    await close_session(runtime)
    resumed, again = await world.resumed(session_id)
    try:
        assert [m.text for m in resumed.agent.history.messages] == ["please keep me"]
        assert again.records[0].data["text"] == "please keep me"
    finally:
        await close_session(resumed)


# ---- item 14: an interrupt keeps what was said -------------------------------------------------


def interrupt_when(predicate: Callable[[ev.Event], bool]) -> tuple[Handler, list[ev.Event]]:
    """Interrupt (as Esc does) at the first event matching ``predicate``; the stream runs on to
    TurnInterrupted, so the returned list holds everything a screen would have shown."""
    seen: list[ev.Event] = []

    def handle(event: ev.Event, agent: Agent) -> None:
        seen.append(event)
        if predicate(event) and agent.busy:
            agent.interrupt()

    return handle, seen


def nth(kind: type, n: int) -> Callable[[ev.Event], bool]:
    count = 0

    def match(event: ev.Event) -> bool:
        nonlocal count
        if isinstance(event, kind):
            count += 1
            return count == n
        return False

    return match


async def resume_and_go_on(world: World, session_id: str, provider: str) -> tuple[Any, list[Any]]:
    """A new process resumes the session and sends a message; returns its request and records."""
    world.server.script(reply(text="Carrying on."))
    runtime, handle = await world.resumed(session_id, provider)
    try:
        events = await turn(runtime.agent, "go on")
        assert isinstance(events[-1], ev.TurnFinished), events[-1]
    finally:
        await close_session(runtime)
    return world.server.model_requests()[-1], handle.records


async def test_interrupt_mid_reply_keeps_the_partial_text(world: World, provider: str) -> None:
    story = "Once upon a time " * 60
    world.server.script(reply(text=story, chunk_size=6, delay_per_event=0.02))
    runtime, handle = await world.session(provider)
    on_event, seen = interrupt_when(nth(ev.AssistantTextDelta, 5))
    events = await turn(runtime.agent, "tell me a story", on_event)
    shown = "".join(e.text for e in of(seen, ev.AssistantTextDelta))
    assert len(shown) >= 5 * 6 and story.startswith(shown) and shown != story
    interrupted = events[-1]
    assert isinstance(interrupted, ev.TurnInterrupted) and interrupted.partial_text == shown
    history = runtime.agent.history.messages
    assert [m.role for m in history] == ["user", "assistant", "user"]
    assert history[1].text == shown and history[2].text == INTERRUPTED_MARKER
    session_id = handle.session_id
    await close_session(runtime)

    request, records = await resume_and_go_on(world, session_id, provider)
    assert kinds_and_texts(records) == [
        ("user", "tell me a story"),
        ("assistant", shown),
        ("notice", "Interrupted by the user."),
    ]
    assert request.user_texts[-1].endswith("go on")
    assert shown.strip() in str(request.json) and INTERRUPTED_MARKER in str(request.json)


async def test_interrupt_mid_thinking_leaves_a_valid_history(world: World, provider: str) -> None:
    thought = "Let me weigh every option carefully. " * 30
    world.server.script(reply(thinking=thought, text="The answer.", chunk_size=8, delay_per_event=0.02))
    runtime, handle = await world.session(provider)
    if "high" in runtime.agent.model.efforts:  # local models stream their reasoning anyway
        runtime.agent.set_effort("high")
    on_event, seen = interrupt_when(nth(ev.ThinkingDelta, 3))
    events = await turn(runtime.agent, "think hard", on_event)
    thinking = "".join(e.text for e in of(seen, ev.ThinkingDelta))
    assert thinking and isinstance(events[-1], ev.TurnInterrupted) and events[-1].partial_text == ""
    assert not of(seen, ev.AssistantTextDelta)
    history = runtime.agent.history.messages
    assert [m.role for m in history] == ["user", "assistant", "user"]
    (block,) = history[1].content
    assert isinstance(block, ThinkingBlock) and block.thinking == thinking and block.signature is None
    session_id = handle.session_id
    await close_session(runtime)

    request, records = await resume_and_go_on(world, session_id, provider)
    assert kinds_and_texts(records) == [
        ("user", "think hard"),
        ("thinking", thinking),
        ("notice", "Interrupted by the user."),
    ]
    # Unsigned reasoning is never sent back; the request is still valid (protocol checker).
    assert thinking[:40] not in str(request.json)


async def test_interrupt_while_waiting_to_retry_keeps_no_broken_text(world: World, provider: str) -> None:
    """A reply that broke off is dropped from the screen when the retry is announced; an
    interrupt during the wait must not bring it back into the history."""
    broken = reply(text="This answer breaks off half way through its", chunk_size=6)
    world.server.script(fault("disconnect", after_events=8, reply=broken), reply(text="unused"))
    runtime, handle = await world.session(provider)
    on_event, seen = interrupt_when(lambda e: isinstance(e, ev.Retrying))
    events = await turn(runtime.agent, "answer me", on_event)
    assert of(seen, ev.AssistantTextDelta) and isinstance(events[-1], ev.TurnInterrupted)
    assert events[-1].partial_text == ""
    history = runtime.agent.history.messages
    assert [m.role for m in history] == ["user"]
    assert [b.text for b in history[0].content if isinstance(b, TextBlock)] == ["answer me", INTERRUPTED_MARKER]
    session_id = handle.session_id
    await close_session(runtime)
    request, records = await resume_and_go_on(world, session_id, provider)
    assert [r.kind for r in records] == ["user", "notice"]
    assert "breaks off" not in str(request.json)


def mid_arguments(provider: str, item: Reply, needle: bytes) -> int:
    """How many SSE events to send so the stream stops inside the tool call's arguments."""
    for index, event in enumerate(WIRES[provider](Ids()).stream(item, {"model": "m", "messages": []})):
        if needle in event:
            return index + 3
    raise AssertionError("the needle is not in the stream")


async def test_interrupt_mid_tool_call_arguments_runs_nothing(world: World, provider: str) -> None:
    content = "Q" * 2000
    item = reply(text="Writing it now.", tool_calls=[tool_call("write_file", {"path": "big.txt", "content": content})], chunk_size=16)
    world.server.script(fault("stall", after_events=mid_arguments(provider, item, b"QQQQ"), seconds=30, reply=item))
    runtime, handle = await world.session(provider)
    started = asyncio.Event()

    def on_event(event: ev.Event, agent: Agent) -> None:
        if isinstance(event, ev.AssistantTextDelta):
            started.set()

    async def interrupt_once_stalled() -> None:
        await started.wait()
        await asyncio.sleep(1.0)  # let the client read up to the stall, inside the arguments
        runtime.agent.interrupt()

    interrupter = asyncio.create_task(interrupt_once_stalled())
    events = await turn(runtime.agent, "write big.txt", on_event)
    await interrupter
    assert isinstance(events[-1], ev.TurnInterrupted) and events[-1].partial_text == "Writing it now."
    assert not of(events, ev.ToolCallStarted) and not (world.workspace / "big.txt").exists()
    history = runtime.agent.history.messages
    assert [m.role for m in history] == ["user", "assistant", "user"]
    assert not any(isinstance(b, ToolUseBlock) for m in history for b in m.content)
    session_id = handle.session_id
    await close_session(runtime)
    request, records = await resume_and_go_on(world, session_id, provider)
    assert [k for k, _ in kinds_and_texts(records)] == ["user", "assistant", "notice"]
    assert not request.tool_calls


async def test_interrupt_mid_shell_command_keeps_its_output(world: World, provider: str) -> None:
    marker = "27.1828"
    command = f"echo first line; echo second line >&2; echo third line; sleep {marker}"
    world.server.script(reply(text="Running it.", tool_calls=[tool_call("execute_bash", {"command": command})]))
    runtime, handle = await world.session(provider)
    printed: list[str] = []

    def on_event(event: ev.Event, agent: Agent) -> None:
        if isinstance(event, ev.ToolCallOutput):
            printed.append(event.text)
            if len(printed) == 3:
                agent.interrupt()

    events = await turn(runtime.agent, "run the slow thing", on_event)
    assert isinstance(events[-1], ev.TurnInterrupted)
    (finished,) = of(events, ev.ToolCallFinished)
    assert finished.status == "interrupted" and finished.is_error
    text = finished.result_text
    assert text.startswith("first line\nthird line\n[stderr]\nsecond line\n")
    assert "[interrupted by the user" in text and "stopped" in text
    assert finished.display is not None and finished.display["interrupted"] is True
    assert not _processes_with(marker)
    history = runtime.agent.history.messages
    (result,) = history[2].tool_results
    assert result.text == text and result.is_error
    assert history[2].content[-1] == TextBlock(text=INTERRUPTED_MARKER)
    session_id = handle.session_id
    await close_session(runtime)

    request, records = await resume_and_go_on(world, session_id, provider)
    tool = next(r for r in records if r.kind == "tool")
    assert tool.data["status"] == "interrupted" and tool.data["result_text"] == text
    assert [r.kind for r in records] == ["user", "assistant", "tool", "notice"]
    (sent,) = request.tool_results
    assert "first line" in sent.text and "third line" in sent.text and "interrupted by the user" in sent.text


async def test_interrupt_during_a_permission_prompt(world: World, provider: str) -> None:
    (world.workspace / "keep.txt").write_text("precious\n")
    world.server.script(reply(tool_calls=[tool_call("delete_file", {"path": "keep.txt"})]))
    runtime, handle = await world.session(provider)
    on_event, _ = interrupt_when(lambda e: isinstance(e, ev.PermissionRequested))
    events = await turn(runtime.agent, "delete it", on_event)
    assert isinstance(events[-1], ev.TurnInterrupted)
    assert (world.workspace / "keep.txt").exists()
    (result,) = runtime.agent.history.messages[2].tool_results
    assert result.is_error and "Interrupted" in result.text
    session_id = handle.session_id
    await close_session(runtime)
    request, records = await resume_and_go_on(world, session_id, provider)
    assert [r.kind for r in records] == ["user", "tool", "notice"]
    assert len(request.tool_results) == 1


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry))
    return found


# ---- headless ----------------------------------------------------------------------------------

STOA = ["-m", "stoa.app.cli"]


def _stoa(stoa_env: dict[str, str], cwd: Path, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    import sys

    return subprocess.Popen(
        [sys.executable, *STOA, *args],
        env=stoa_env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def test_headless_refusal_carries_on_in_stream_json(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    import json

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "keep.txt").write_text("precious\n")
    fake_server.script(reply(tool_calls=[tool_call("delete_file", {"path": "keep.txt"})]), reply(text="I left it alone."))
    proc = _stoa(stoa_env, ws, "-p", "delete keep.txt", "--output-format", "stream-json")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    events = [json.loads(line) for line in out.decode().splitlines()]
    finished = [e for e in events if e["type"] == "ToolCallFinished"]
    assert finished[0]["status"] == "denied" and "Headless mode cannot ask" in finished[0]["result_text"]
    assert [e["iteration"] for e in events if e["type"] == "RequestStarted"] == [1, 2]
    assert events[-2]["type"] == "TurnFinished" and events[-2]["rejected"] is False
    assert events[-2]["text"] == "I left it alone." and events[-1]["type"] == "result"
    assert (ws / "keep.txt").exists()


def test_max_turns_bounds_a_headless_turn(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("a\n")
    fake_server.script(
        *[reply(tool_calls=[tool_call("read_file", {"path": "a.txt"})]) for _ in range(2)],
        reply(text="Summary: read a.txt twice, stopped at the bound."),
    )
    proc = _stoa(stoa_env, ws, "-p", "keep reading", "--max-turns", "2")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert out.decode() == "Summary: read a.txt twice, stopped at the bound.\n"
    assert "limit of 2 tool iterations" in err.decode()
    requests = fake_server.model_requests()
    assert len(requests) == 3 and "maximum number of tool iterations" in str(requests[-1].json)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "2.5", ""])
def test_max_turns_takes_a_positive_whole_number(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path, value: str
) -> None:
    proc = _stoa(stoa_env, tmp_path, "-p", "hi", "--max-turns", value)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "--max-turns" in err.decode() and "positive whole number" in err.decode()
    assert not fake_server.model_requests()


def test_headless_prompt_with_bytes_that_are_not_utf8(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    fake_server.script(reply(text="Seen."), reply(text="Still here."))
    prompt = os.fsdecode(b"what about na\xefve.txt?")  # a Latin-1 name on a UTF-8 command line
    proc = _stoa(stoa_env, ws, "-p", prompt)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert out.decode() == "Seen.\n"
    assert fake_server.model_requests()[0].user_texts[-1] == "what about na\\xefve.txt?"
    # Saved: the next run continues the session with it.
    proc = _stoa(stoa_env, ws, "-c", "-p", "and then?")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    texts = fake_server.model_requests()[1].user_texts
    assert texts[0] == "what about na\\xefve.txt?" and texts[-1] == "and then?"


def test_ctrl_c_in_headless_keeps_the_partial_reply(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    import json

    ws = tmp_path / "ws"
    ws.mkdir()
    fake_server.script(reply(text="word " * 400, chunk_size=5, delay_per_event=0.02), reply(text="Continuing."))
    proc = _stoa(stoa_env, ws, "-p", "say a lot", "--output-format", "stream-json")
    assert proc.stdout is not None
    lines: list[dict[str, Any]] = []
    for raw in proc.stdout:
        lines.append(json.loads(raw))
        if sum(1 for e in lines if e["type"] == "AssistantTextDelta") == 5:
            break
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    lines += [json.loads(line) for line in rest.decode().splitlines()]
    assert proc.returncode == 1, err.decode()
    printed = "".join(e["text"] for e in lines if e["type"] == "AssistantTextDelta")
    assert lines[-2]["type"] == "TurnInterrupted" and lines[-2]["partial_text"] == printed
    assert lines[-1]["type"] == "result" and lines[-1]["success"] is False
    assert printed and ("word " * 400).startswith(printed)
    proc = _stoa(stoa_env, ws, "-c", "-p", "go on")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    sent = fake_server.model_requests()[-1]
    assert printed.strip() in str(sent.json)
    assert sent.user_texts[-1].startswith(INTERRUPTED_MARKER) and sent.user_texts[-1].endswith("go on")


async def test_store_keeps_the_resent_message_once(world: World) -> None:
    """A front-end that takes a failed message back to edit it (the TUI) and sends it again:
    the saved history holds the new one in its place, not both."""
    world.server.script(fault("bad_request"), reply(text="Now it works."))
    runtime, handle = await world.session()
    agent = runtime.agent
    events = await turn(agent, "frist try")
    assert isinstance(events[-1], ev.TurnFailed)
    agent.history.messages.pop()  # what ChatScreen._restore_failed_input does
    await turn(agent, "first try")
    session_id = handle.session_id
    await close_session(runtime)
    store = await SessionStore.open(Path(world.env["STOA_HOME"]) / "data" / "sessions.db")
    try:
        messages = await store.load_messages(session_id)
        records = await store.load_records(session_id)
    finally:
        await store.aclose()
    assert [m.text for m in messages] == ["first try", "Now it works."]
    assert [r.kind for r in records] == ["user", "notice", "user", "assistant"]
