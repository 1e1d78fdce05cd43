"""The recorder (the agent's TurnObserver) on a real SQLite file, fed messages and events directly."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from stoa.core import events as ev
from stoa.core.agent.loop import MAX_ITERATIONS_NOTE
from stoa.core.cost import UsageLedger
from stoa.core.models import find_model
from stoa.core.providers.types import (
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    error_result,
    user_text,
)
from stoa.core.sessions.recorder import SessionRecorder, SessionState
from stoa.core.sessions.store import SaveError, SessionSeed, SessionStore


@pytest.fixture
async def store(tmp_path: Path):
    s = await SessionStore.open(tmp_path / "sessions.db")
    yield s
    await s.aclose()


def new_recorder(store: SessionStore, **kwargs) -> SessionRecorder:
    seed = SessionSeed(str(uuid.uuid4()), "/proj", "claude-sonnet-4-6", "anthropic", "auto", "medium")
    return SessionRecorder(store, seed, **kwargs)


def assistant(*blocks, usage: Usage | None = None) -> Message:
    return Message(role="assistant", content=list(blocks), model="claude-sonnet-4-6", usage=usage)


async def play_tool_turn(r: SessionRecorder) -> None:
    await r.message_added(user_text("read a.txt please"), replaces_last=False)
    await r.event(ev.TurnStarted("t1", "read a.txt please", "claude-sonnet-4-6", "medium"))
    call = ToolUseBlock(id="c1", name="read_file", input={"path": "a.txt"})
    await r.message_added(
        assistant(ThinkingBlock(thinking="I should read it"), TextBlock(text="Reading."), call), replaces_last=False
    )
    await r.event(ev.ToolCallStarted("c1", "read_file", {"path": "a.txt"}, summary="a.txt"))
    await r.event(ev.ToolCallOutput("c1", "streamed line"))
    await r.event(ev.ToolCallFinished("c1", "read_file", False, "1\thello", display={"kind": "text", "text": "hello"}, elapsed=0.01))
    await r.message_added(
        Message(role="user", content=[ToolResultBlock(tool_use_id="c1", content=[TextBlock(text="1\thello")])]),
        replaces_last=False,
    )


async def test_a_turn_becomes_messages_and_display_records(store: SessionStore) -> None:
    r = new_recorder(store)
    await play_tool_turn(r)
    await r.message_added(assistant(TextBlock(text="It says hello.\nMore detail.")), replaces_last=False)
    await r.event(ev.PlanUpdated((ev.PlanStep("read", "completed"),), "done"))
    await r.event(ev.TurnFinished(None, "It says hello.", 2))

    messages = await store.load_messages(r.session_id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    records = await store.load_records(r.session_id)
    assert [(x.kind, x.data.get("text") or x.data.get("name") or x.data.get("steps")) for x in records] == [
        ("user", "read a.txt please"),
        ("thinking", "I should read it"),
        ("assistant", "Reading."),
        ("tool", "read_file"),
        ("assistant", "It says hello.\nMore detail."),
        ("plan", [{"step": "read", "status": "completed"}]),
    ]
    tool = records[3].data
    assert tool["status"] == "ok" and tool["display"] == {"kind": "text", "text": "hello"}
    assert tool["result_text"] == "1\thello" and tool["summary"] == "a.txt"
    info = await store.get(r.session_id)
    assert info is not None
    assert info.title == "read a.txt please"
    assert info.preview == "It says hello."
    assert not info.turn_open and not info.interrupted
    assert info.message_count == 4


async def test_a_tool_still_running_is_saved_as_running(store: SessionStore) -> None:
    r = new_recorder(store)
    await r.message_added(user_text("run it"), replaces_last=False)
    await r.event(ev.TurnStarted("t", "run it", "m", "off"))
    await r.message_added(assistant(ToolUseBlock(id="c9", name="execute_bash", input={"command": "sleep 9"})), replaces_last=False)
    await r.event(ev.ToolCallStarted("c9", "execute_bash", {"command": "sleep 9"}))
    records = await store.load_records(r.session_id)
    assert records[-1].data["status"] == "running"
    info = await store.get(r.session_id)
    assert info is not None and info.turn_open  # a crash now is detectable on resume


async def test_merged_user_message_records_only_the_new_text(store: SessionStore) -> None:
    r = new_recorder(store)
    first = user_text("first try")
    await r.message_added(first, replaces_last=False)
    await r.event(ev.TurnStarted("t", "first try", "m", "off"))
    await r.event(ev.TurnFailed("overloaded", hint="send again"))
    merged = Message(role="user", content=[*first.content, TextBlock(text="second try")])
    await r.message_added(merged, replaces_last=True)
    assert await store.load_messages(r.session_id) == [merged]
    records = await store.load_records(r.session_id)
    assert [(x.kind, x.data["text"]) for x in records] == [
        ("user", "first try"),
        ("notice", "overloaded"),
        ("user", "second try"),
    ]
    assert records[1].data["title"] == "Error" and records[1].data["hint"] == "send again"


async def test_steering_and_the_iteration_limit_note(store: SessionStore) -> None:
    r = new_recorder(store)
    await r.message_added(user_text("go"), replaces_last=False)
    await r.event(ev.TurnStarted("t", "go", "m", "off"))
    await r.message_added(assistant(ToolUseBlock(id="c", name="x")), replaces_last=False)
    await r.message_added(
        Message(role="user", content=[error_result("c", "failed"), TextBlock(text="also check b")]),
        replaces_last=False,
    )
    await r.message_added(assistant(ToolUseBlock(id="d", name="x")), replaces_last=False)
    await r.message_added(
        Message(role="user", content=[error_result("d", "failed")]), replaces_last=False
    )
    await r.message_added(user_text(MAX_ITERATIONS_NOTE), replaces_last=True)
    users = [x.data for x in await store.load_records(r.session_id) if x.kind == "user"]
    assert users == [{"text": "go", "steering": False}, {"text": "also check b", "steering": True}]


async def test_a_turn_never_finished_is_marked_before_the_next_prompt(store: SessionStore) -> None:
    r = new_recorder(store)
    await r.message_added(user_text("one"), replaces_last=False)
    await r.event(ev.TurnStarted("t1", "one", "m", "off"))
    await r.message_added(assistant(ToolUseBlock(id="c", name="execute_bash")), replaces_last=False)
    await r.event(ev.ToolCallStarted("c", "execute_bash", {}))
    # Cancelled: the agent repairs the history; no TurnFinished ever comes.
    await r.message_added(Message(role="user", content=[error_result("c", "Interrupted")]), replaces_last=False)
    info = await store.get(r.session_id)
    assert info is not None and info.turn_open
    merged = Message(role="user", content=[error_result("c", "Interrupted"), TextBlock(text="two")])
    await r.message_added(merged, replaces_last=True)
    records = await store.load_records(r.session_id)
    kinds = [(x.kind, x.data.get("title"), x.data.get("status"), x.data.get("text")) for x in records]
    assert kinds == [
        ("user", None, None, "one"),
        ("tool", None, "interrupted", None),
        ("notice", "Interrupted", None, "Interrupted by the user."),
        ("user", None, None, "two"),
    ]
    info = await store.get(r.session_id)
    assert info is not None and info.interrupted and not info.turn_open


async def test_explicit_interrupt_then_a_finished_turn_clears_the_flag(store: SessionStore) -> None:
    r = new_recorder(store)
    await r.message_added(user_text("one"), replaces_last=False)
    await r.event(ev.TurnStarted("t1", "one", "m", "off"))
    await r.event(ev.TurnInterrupted("stopped with Esc"))
    info = await store.get(r.session_id)
    assert info is not None and info.interrupted and info.last_turn_interrupted
    await r.message_added(user_text("two"), replaces_last=True)
    await r.event(ev.TurnStarted("t2", "two", "m", "off"))
    await r.event(ev.TurnFinished(None, "", 1))
    info = await store.get(r.session_id)
    assert info is not None and not info.interrupted and not info.last_turn_interrupted


async def test_usage_and_state_are_saved_from_the_agent_state(store: SessionStore) -> None:
    ledger = UsageLedger()
    usage = Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=3000, cache_write_tokens=100)
    ledger.add("claude-sonnet-4-6", usage, find_model("claude-sonnet-4-6"))
    state = SessionState("claude-opus-4-7", "anthropic", "high", "plan", ledger)
    r = new_recorder(store, state=lambda: state)
    await r.message_added(user_text("q"), replaces_last=False)
    await r.event(ev.TurnStarted("t", "q", "claude-opus-4-7", "high"))
    await r.event(ev.UsageUpdated(usage, ledger.total, ledger.cost_usd, 4300, 1_000_000))
    info = await store.get(r.session_id)
    assert info is not None
    assert (info.model, info.effort, info.mode) == ("claude-opus-4-7", "high", "plan")
    assert info.usage == ledger.total
    assert info.cost_usd == pytest.approx(ledger.cost_usd)
    assert info.peak_prompt_tokens == 4100
    assert UsageLedger.from_dict(info.ledger).to_dict() == ledger.to_dict()


async def test_events_before_any_message_write_nothing(store: SessionStore) -> None:
    r = new_recorder(store)
    await r.event(ev.TurnFailed("empty prompt", kind="usage"))
    await r.aclose()
    assert await store.get(r.session_id) is None
    assert await store.list_sessions() == []


async def test_disk_full_is_reported_once_and_nothing_is_lost(store: SessionStore) -> None:
    notes: list[tuple[str, str]] = []
    r = new_recorder(store, on_notice=lambda level, text: notes.append((level, text)))
    await r.message_added(user_text("before"), replaces_last=False)
    pages = (await store._read("PRAGMA page_count"))[0][0]
    await store._db.execute(f"PRAGMA max_page_count = {pages}")
    big = "z" * 100_000
    with pytest.raises(SaveError) as caught:
        await r.message_added(assistant(TextBlock(text=big)), replaces_last=False)
    assert caught.value.disk_full
    # Later writes queue quietly behind the failed one (the agent would show one notice, not ten).
    await r.event(ev.ToolCallStarted("c", "read_file", {}))
    await r.message_added(user_text("after " + big), replaces_last=False)
    assert r.pending_writes == 3
    assert len(await store.load_messages(r.session_id)) == 1
    assert not await r.flush()
    await store._db.execute("PRAGMA max_page_count = 1073741823")
    await r.event(ev.Notice("info", "space again"))
    assert r.pending_writes == 0
    messages = await store.load_messages(r.session_id)
    assert [m.text[:6] for m in messages] == ["before", "zzzzzz", "after "]
    kinds = [x.kind for x in await store.load_records(r.session_id)]
    assert kinds == ["user", "assistant", "tool", "user", "notice"]
    assert notes and "works again" in notes[0][1]


async def test_model_title_after_the_first_exchange(store: SessionStore) -> None:
    asked: list[tuple[str, str]] = []

    async def titler(prompt: str, reply: str) -> str | None:
        asked.append((prompt, reply))
        return "Read the greeting file"

    r = new_recorder(store, titler=titler)
    await play_tool_turn(r)
    await r.message_added(assistant(TextBlock(text="It says hello.")), replaces_last=False)
    await r.event(ev.TurnFinished(None, "It says hello.", 2))
    await r.aclose()
    assert asked == [("read a.txt please", "It says hello.")]
    info = await store.get(r.session_id)
    assert info is not None and (info.title, info.title_source) == ("Read the greeting file", "model")
    # Only once per session.
    await r.message_added(user_text("again"), replaces_last=False)
    await r.event(ev.TurnStarted("t", "again", "m", "off"))
    await r.event(ev.TurnFinished(None, "ok", 1))
    await r.aclose()
    assert len(asked) == 1


async def test_a_failing_titler_keeps_the_first_line_title(store: SessionStore) -> None:
    async def titler(prompt: str, reply: str) -> str | None:
        raise RuntimeError("no network")

    r = new_recorder(store, titler=titler)
    await r.message_added(user_text("  \n  Fix the parser bug\nin detail"), replaces_last=False)
    await r.event(ev.TurnStarted("t", "x", "m", "off"))
    await r.event(ev.TurnFinished(None, "done", 1))
    await r.aclose()
    info = await store.get(r.session_id)
    assert info is not None and (info.title, info.title_source) == ("Fix the parser bug", "prompt")


async def test_closing_mid_turn_marks_it_interrupted(store: SessionStore) -> None:
    r = new_recorder(store)
    await r.message_added(user_text("q"), replaces_last=False)
    await r.event(ev.TurnStarted("t", "q", "m", "off"))
    await r.aclose()
    info = await store.get(r.session_id)
    assert info is not None and info.interrupted and not info.turn_open
    last = (await store.load_records(r.session_id))[-1]
    assert last.kind == "notice" and last.data["title"] == "Interrupted"


async def test_an_early_interrupt_mark_and_the_agents_late_tool_result_make_one_record(store: SessionStore) -> None:
    r = new_recorder(store)
    await r.message_added(user_text("run"), replaces_last=False)
    await r.event(ev.TurnStarted("t", "run", "m", "off"))
    await r.message_added(assistant(ToolUseBlock(id="c1", name="execute_bash")), replaces_last=False)
    await r.event(ev.ToolCallStarted("c1", "execute_bash", {"command": "sleep 9"}))
    await r.mark_interrupted()  # the UI marks the turn at once...
    await r.event(ev.ToolCallFinished("c1", "execute_bash", True, "Interrupted", status="interrupted"))  # ...the agent after
    tools = [x for x in await store.load_records(r.session_id) if x.kind == "tool"]
    assert len(tools) == 1
    assert tools[0].data["status"] == "interrupted" and tools[0].data["result_text"] == "Interrupted"
