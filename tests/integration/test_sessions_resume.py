"""Save and resume through the real agent, real providers and the fake server.

Each "process" is a fresh config + runtime + store on the same STOA_HOME, as a new `stoa`
would build them.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from stoa.core import events as ev
from stoa.core.agent.history import repair_messages
from stoa.core.config import load_config
from stoa.core.providers.types import Message, TextBlock, ToolUseBlock, user_text
from stoa.core.runtime import Choices, Runtime, build_runtime
from stoa.core.sessions import (
    AmbiguousSessionError,
    NoSessionToContinueError,
    SessionHandle,
    SessionStore,
    clear_session,
    close_session,
    open_session,
    switch_to,
)
from stoa.core.sessions.store import SessionSeed
from stoa.core.tools.base import Effect, Tool, ToolContext, ToolOutput
from stoa.core.tools.registry import ToolRegistry, default_registry
from tests.fake_server import FakeServer, reply, tool_call


class Env:
    def __init__(self, tmp_path: Path, server: FakeServer) -> None:
        self.workspace = tmp_path / "project"
        self.workspace.mkdir()
        (self.workspace / "a.txt").write_text("hello from a\n")
        self.vars = {
            "STOA_HOME": str(tmp_path / "stoa-home"),
            "HOME": str(tmp_path),
            "ANTHROPIC_API_KEY": "test-key",
            "OPENAI_API_KEY": "test-key",
            "ANTHROPIC_BASE_URL": server.base_url,
            "OPENAI_BASE_URL": server.openai_base_url,
        }
        self.server = server

    def runtime(self, choices: Choices | None = None, *, without: tuple[str, ...] = (), registry: ToolRegistry | None = None) -> Runtime:
        env = {k: v for k, v in self.vars.items() if k not in without}
        return build_runtime(load_config(self.workspace, env=env), choices or Choices(), registry=registry)


@pytest.fixture
def env(tmp_path: Path, fake_server: FakeServer) -> Env:
    return Env(tmp_path, fake_server)


async def run(runtime: Runtime, prompt: str) -> list[ev.Event]:
    return [e async for e in runtime.agent.run_turn(prompt)]


async def first_session(env: Env) -> tuple[str, list[Message]]:
    """One process: a tool turn and a plain turn, then quit."""
    runtime = env.runtime(Choices(model="claude-opus-4-7", effort="low", mode="ask"))
    handle = await open_session(runtime, titles=False)
    env.server.script(
        reply(text="Let me look.", thinking="Read the file first.", tool_calls=[tool_call("read_file", {"path": "a.txt"})],
              usage={"input_tokens": 1200, "output_tokens": 40, "cache_read_tokens": 3000}),
        reply(text="It says hello.", usage={"input_tokens": 100, "output_tokens": 10, "cache_read_tokens": 4200}),
        reply(text="Done again.", usage={"input_tokens": 50, "output_tokens": 5}),
    )
    await run(runtime, "what is in a.txt?")
    await run(runtime, "thanks")
    history = list(runtime.agent.history.messages)
    await close_session(runtime)
    return handle.session_id, history


async def test_resume_restores_history_model_mode_costs_and_records(env: Env) -> None:
    session_id, history = await first_session(env)
    first_ledger_total: Any = None

    runtime = env.runtime()  # a new process with default choices
    assert runtime.agent.model.id == "claude-sonnet-5-5"
    handle = await open_session(runtime, resume=session_id[:6], titles=False)
    try:
        agent = runtime.agent
        assert handle.resumed and handle.session_id == session_id and not handle.read_only
        assert agent.history.messages == history
        assert (agent.model.id, agent.effort, runtime.policy.mode) == ("claude-opus-4-7", "low", "ask")
        first_ledger_total = agent.ledger.total
        assert first_ledger_total.cache_read_tokens == 7200
        assert agent.ledger.by_model["claude-opus-4-7"].requests == 3
        kinds = [(r.kind, r.data.get("text") or r.data.get("name")) for r in handle.records]
        assert kinds == [
            ("user", "what is in a.txt?"),
            ("thinking", "Read the file first."),
            ("assistant", "Let me look."),
            ("tool", "read_file"),
            ("assistant", "It says hello."),
            ("user", "thanks"),
            ("assistant", "Done again."),
        ]
        assert handle.records[3].data["status"] == "ok"
        away = handle.away
        assert away is not None
        assert (away.messages, away.prompts, away.tool_calls) == (6, 2, 1)
        assert away.tokens == first_ledger_total.prompt_tokens + first_ledger_total.output_tokens
        assert not away.interrupted and away.banner is None
        assert away.title == "what is in a.txt?"

        env.server.script(reply(text="Still here."))
        await run(runtime, "are you there?")
        sent = env.server.model_requests("anthropic")[-1].body
        assert sent["model"] == "claude-opus-4-7"
        assert len(sent["messages"]) == 7
        assert sent["messages"][0]["content"][0]["text"] == "what is in a.txt?"
        assert agent.ledger.by_model["claude-opus-4-7"].requests == 4
    finally:
        await close_session(runtime)

    store = await SessionStore.open(Path(env.vars["STOA_HOME"]) / "data" / "sessions.db")
    try:
        info = await store.get(session_id)
        assert info is not None and info.message_count == 8
        assert len(await store.list_sessions(env.workspace)) == 1  # resumed, not duplicated
    finally:
        await store.aclose()


async def test_command_line_choices_win_over_the_saved_ones(env: Env) -> None:
    session_id, _ = await first_session(env)
    runtime = env.runtime(Choices(model="claude-haiku-4-5", mode="plan"))
    await open_session(runtime, resume=session_id, titles=False)
    try:
        assert runtime.agent.model.id == "claude-haiku-4-5"
        assert runtime.policy.mode == "plan"
    finally:
        await close_session(runtime)


async def test_continue_takes_the_latest_session_of_this_project(env: Env) -> None:
    runtime = env.runtime()
    with pytest.raises(NoSessionToContinueError, match="no saved session"):
        await open_session(runtime, continue_latest=True)
    await close_session(runtime)
    older, _ = await first_session(env)
    newer, _ = await first_session(env)
    assert older != newer
    runtime = env.runtime()
    handle = await open_session(runtime, continue_latest=True, titles=False)
    assert handle.session_id == newer
    await close_session(runtime)


async def test_ambiguous_and_bad_prefixes_say_what_to_do(env: Env) -> None:
    runtime = env.runtime()
    store = await SessionStore.open(runtime.config.paths.database)
    for suffix in ("1", "2"):
        seed = SessionSeed(f"abcd{suffix}000-0000-4000-8000-000000000000", str(env.workspace), "claude-sonnet-4-6", "anthropic", "auto", "medium")
        await store.save_message(seed, user_text("x"), title=f"session {suffix}")
    await store.aclose()
    with pytest.raises(AmbiguousSessionError, match="give more of the id") as caught:
        await open_session(runtime, resume="abcd")
    assert len(caught.value.candidates) == 2
    with pytest.raises(ValueError, match="not a session id"):
        await open_session(runtime, resume="../../etc")
    await close_session(runtime)


async def test_a_session_without_a_key_resumes_read_only(env: Env) -> None:
    session_id, history = await first_session(env)
    runtime = env.runtime(without=("ANTHROPIC_API_KEY",))
    handle = await open_session(runtime, resume=session_id, titles=False)
    try:
        assert handle.read_only
        assert handle.read_only_reason is not None and "ANTHROPIC_API_KEY" in handle.read_only_reason
        assert runtime.agent.history.messages == history  # still shown in full
    finally:
        await close_session(runtime)


async def test_an_interrupted_turn_is_marked_and_the_next_request_is_valid(env: Env) -> None:
    runtime = env.runtime()
    handle = await open_session(runtime, titles=False)
    env.server.script(reply(text="a slow answer " * 50, chunk_size=4, delay_per_event=0.02))
    seen: list[ev.Event] = []
    agen = runtime.agent.run_turn("tell me a long story")
    async for event in agen:
        seen.append(event)
        if isinstance(event, ev.AssistantTextDelta):
            break
    await agen.aclose()  # the consumer stops and the turn is cancelled
    assert not handle.recorder.turn_open  # the agent's TurnInterrupted reached the recorder
    await close_session(runtime)

    runtime = env.runtime()
    handle = await open_session(runtime, resume=handle.session_id, titles=False)
    try:
        assert handle.away is not None and handle.away.interrupted and not handle.away.crashed
        assert handle.away.banner is not None and "interrupted" in handle.away.banner
        # The user's message and the half-streamed reply were kept, then the marker.
        messages = runtime.agent.history.messages
        assert [m.role for m in messages] == ["user", "assistant", "user"]
        partial = messages[1].text
        assert partial and ("a slow answer " * 50).startswith(partial)
        assert messages[2].text == "[interrupted by the user]"
        assert [r.kind for r in handle.records] == ["user", "assistant", "notice"]
        assert handle.records[1].data["text"] == partial
        assert handle.records[-1].data["title"] == "Interrupted"
        assert handle.records[-1].data["text"] == "Interrupted by the user."
        env.server.script(reply(text="Here it is."))
        events = await run(runtime, "try again")
        assert isinstance(events[-1], ev.TurnFinished)
        sent = env.server.model_requests("anthropic")[-1].body["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        assert [b["text"] for b in sent[0]["content"]] == ["tell me a long story"]
        assert [b["text"] for b in sent[1]["content"]] == [partial]
        assert [b["text"] for b in sent[2]["content"]] == ["[interrupted by the user]", "try again"]
    finally:
        await close_session(runtime)


async def test_a_crash_between_tool_call_and_result_is_repaired_on_resume(env: Env) -> None:
    """What a kill -9 during a tool leaves behind: a saved call without a result, turn open."""
    runtime = env.runtime()
    store = await SessionStore.open(runtime.config.paths.database)
    session_id = str(uuid.uuid4())
    seed = SessionSeed(session_id, str(env.workspace), "claude-sonnet-4-6", "anthropic", "auto", "medium")
    await store.save_message(seed, user_text("list it"), records=[(1, "user", {"text": "list it", "steering": False})], title="list it")
    call = Message(role="assistant", content=[TextBlock(text="Listing."), ToolUseBlock(id="toolu_x1", name="list_directory", input={"path": "."})])
    await store.save_message(seed, call, records=[(2, "assistant", {"text": "Listing."})])
    await store.add_record(seed, 3, "tool", {"call_id": "toolu_x1", "name": "list_directory", "status": "running"})
    await store.update_session(session_id, turn_open=True)
    await store.aclose()

    handle = await open_session(runtime, resume=session_id, titles=False)
    try:
        messages = runtime.agent.history.messages
        assert messages == repair_messages(messages)
        assert messages[-1].tool_results[0].tool_use_id == "toolu_x1"
        assert handle.away is not None and handle.away.interrupted and handle.away.crashed
        assert "Stoa stopped" in (handle.away.banner or "")
        tool = next(r for r in handle.records if r.kind == "tool")
        assert tool.data["status"] == "interrupted"
        # The banner says it this time; the marker is saved for later replays.
        assert not any(r.data.get("title") == "Interrupted" for r in handle.records)
        env.server.script(reply(text="Sorry, here is the listing."))
        await run(runtime, "go on")
    finally:
        await close_session(runtime)
    store = await SessionStore.open(runtime.config.paths.database)
    try:
        saved = await store.load_messages(session_id)
        assert saved == repair_messages(saved)
        assert [m.role for m in saved] == ["user", "assistant", "user", "assistant"]
        info = await store.get(session_id)
        assert info is not None and not info.turn_open and not info.interrupted
        records = await store.load_records(session_id)
        assert sum(1 for r in records if r.data.get("title") == "Interrupted") == 1
        marker = next(i for i, r in enumerate(records) if r.data.get("title") == "Interrupted")
        assert records[marker - 1].kind == "tool" and records[marker + 1].data.get("text") == "go on"
    finally:
        await store.aclose()


class SlowTool(Tool):
    name = "slow_tool"
    description = "Waits a while."
    effect = Effect.READ
    started: ClassVar[asyncio.Event | None] = None

    class Args(BaseModel):
        seconds: float = 5.0

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        if SlowTool.started is not None:
            SlowTool.started.set()
        await asyncio.sleep(args.seconds)
        return ToolOutput.text("slept")


async def test_cancelling_mid_tool_saves_synthetic_results(env: Env) -> None:
    registry = default_registry()
    registry.register(SlowTool())
    runtime = env.runtime(registry=registry)
    handle = await open_session(runtime, titles=False)
    SlowTool.started = asyncio.Event()
    env.server.script(reply(text="Waiting.", tool_calls=[tool_call("slow_tool", {"seconds": 30})]))

    async def consume() -> None:
        async for _ in runtime.agent.run_turn("wait please"):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(SlowTool.started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await close_session(runtime)

    runtime = env.runtime(registry=registry)
    resumed = await open_session(runtime, resume=handle.session_id, titles=False)
    try:
        messages = runtime.agent.history.messages
        assert [m.role for m in messages] == ["user", "assistant", "user"]
        assert messages[-1].tool_results[0].is_error
        tool = next(r for r in resumed.records if r.kind == "tool")
        assert tool.data["status"] == "interrupted"
        assert resumed.away is not None and resumed.away.interrupted
    finally:
        await close_session(runtime)


async def test_clear_starts_a_fresh_session(env: Env) -> None:
    runtime = env.runtime()
    first = await open_session(runtime, titles=False)
    env.server.script(reply(text="one"), reply(text="two"))
    await run(runtime, "first")
    second = await clear_session(runtime)
    assert second.session_id != first.session_id
    assert runtime.agent.history.messages == [] and runtime.agent.ledger.total.output_tokens == 0
    assert runtime.agent.observer is second.recorder
    await run(runtime, "second")
    await close_session(runtime)
    store = await SessionStore.open(runtime.config.paths.database)
    try:
        listed = await store.list_sessions(env.workspace)
        assert {s.id for s in listed} == {first.session_id, second.session_id}
        assert all(s.message_count == 2 for s in listed)
    finally:
        await store.aclose()


async def test_switching_sessions_inside_the_app(env: Env) -> None:
    one, history = await first_session(env)
    runtime = env.runtime()
    current = await open_session(runtime, titles=False)
    env.server.script(reply(text="fresh"))
    await run(runtime, "new one")
    switched: SessionHandle = await switch_to(runtime, one)
    try:
        assert switched.session_id == one
        assert runtime.agent.history.messages == history
        assert runtime.session is switched
        assert current.session_id != one
    finally:
        await close_session(runtime)


async def test_model_title_is_saved_after_the_first_exchange(env: Env) -> None:
    runtime = env.runtime()
    handle = await open_session(runtime)
    env.server.script(
        reply(text="Sure, profiling now.", match={"model": "claude-sonnet-5-5"}),
        reply(text="Profile slow tests", match={"model": "claude-haiku-5-5"}),
    )
    await run(runtime, "why are the tests slow?")
    await close_session(runtime)
    assert handle.title == "Profile slow tests"
    assert "claude-haiku-5-5" in runtime.agent.ledger.by_model
    store = await SessionStore.open(runtime.config.paths.database)
    try:
        info = await store.get(handle.session_id)
        assert info is not None and (info.title, info.title_source) == ("Profile slow tests", "model")
        assert "claude-haiku-5-5" in info.ledger
    finally:
        await store.aclose()
    assert "stoa -r " + handle.session_id[:8] in handle.quit_summary(runtime.agent.ledger)


def test_cli_resume_errors_say_what_to_do(stoa_env: dict[str, str], tmp_path: Path) -> None:
    import subprocess
    import sys

    workspace = tmp_path / "cli-ws"
    workspace.mkdir()

    def stoa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stoa.app.cli", *args], cwd=workspace, env=stoa_env, capture_output=True, text=True, timeout=60
        )

    junk = stoa("-r", "../../etc/passwd", "-p", "hi")
    assert junk.returncode == 2 and "not a session id" in junk.stderr and "stoa -r" in junk.stderr
    missing = stoa("-r", "ffff", "-p", "hi")
    assert missing.returncode == 2 and "no saved session starts with 'ffff'" in missing.stderr
    nothing = stoa("-c", "-p", "hi")
    assert nothing.returncode == 1 and "no saved session for" in nothing.stderr


async def test_disk_full_mid_conversation_is_shown_once_and_nothing_is_lost(env: Env) -> None:
    runtime = env.runtime()
    handle = await open_session(runtime, titles=False)
    store = handle.store
    try:
        env.server.script(reply(text="first answer"))
        await run(runtime, "first")
        pages = (await store._read("PRAGMA page_count"))[0][0]
        await store._db.execute(f"PRAGMA max_page_count = {pages}")  # a real SQLITE_FULL from here on
        env.server.script(
            reply(text="Reading it.", tool_calls=[tool_call("read_file", {"path": "a.txt"})]),
            reply(text="A long answer. " * 3000),
        )
        events = await run(runtime, "second " + "x" * 50_000)
        notices = [e.text for e in events if isinstance(e, ev.Notice) and e.level == "error"]
        assert len(notices) == 1, notices
        assert "could not save the session" in notices[0] and "is full" in notices[0]
        assert isinstance(events[-1], ev.TurnFinished)  # the conversation went on
        assert handle.recorder.pending_writes > 0
        await store._db.execute("PRAGMA max_page_count = 1073741823")
        env.server.script(reply(text="third answer"))
        events = await run(runtime, "third")
        assert not [e for e in events if isinstance(e, ev.Notice) and e.level == "error"]
        assert handle.recorder.pending_writes == 0
        assert await store.load_messages(handle.session_id) == runtime.agent.history.messages
        sent = env.server.model_requests("anthropic")[-1].body["messages"]
        assert len(sent) == len(runtime.agent.history.messages) - 1
    finally:
        await close_session(runtime)
