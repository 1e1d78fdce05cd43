"""Compaction through the real agent loop, the real SDKs and the fake provider server: a model
with a 24k-token window that exists only in these tests, a fake model that summarises what it
is sent (it keeps the lines holding "FACT"), the archive in a real SQLite session database.

The done-when test of issue 15 runs 200 scripted turns on that window: no request over the
window, every request protocol-valid (the autouse checker), the early facts in the summary.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stoa.core import events as ev
from stoa.core.agent.compaction import SUMMARY_HEADER, SUMMARY_SYSTEM, CompactionError, is_summary
from stoa.core.agent.loop import Agent, RetryPolicy
from stoa.core.config import load_config
from stoa.core.runtime import Choices, Runtime, build_runtime
from stoa.core.sessions import close_session, open_session
from stoa.core.sessions.archive import list_compactions, load_compaction
from tests.fake_server import FakeServer, ModelSpec, fault, reply, respond, tool_call
from tests.fake_server.rules import _prompt_tokens

WINDOW = 24_000
TINY = ModelSpec(
    id="claude-tiny-1",
    provider="anthropic",
    context_window=WINDOW,
    max_output=8_000,
    thinking_types=("adaptive", "disabled"),
    efforts=("low", "high"),
)
TINY_GPT = ModelSpec(id="gpt-tiny-1", provider="openai", context_window=WINDOW, max_output=8_000, thinking_types=(), efforts=())

GPT_TINY_CONFIG = '[models."gpt-tiny-1"]\nprovider = "openai"\ncontext-window = 24000\nmax-output = 8000\n'


def is_summary_request(request: Any) -> bool:
    return SUMMARY_SYSTEM[:40] in request.system


def summarise(request: Any) -> Any:
    """A fake model's summary: the lines of the transcript that state a FACT, kept once each."""
    text = "\n".join(request.user_texts)
    facts = list(dict.fromkeys(re.findall(r"FACT[^\n.]*", text)))
    return reply(text="## Goal\nKeep going.\n## User's preferences and corrections\n" + "\n".join(f"- {f}" for f in facts))


def agent_reply(request: Any) -> Any:
    """The fake model of the conversation: reads a file when asked to, else answers at length."""
    last = request.body["messages"][-1] if request.format == "anthropic" else None
    asked = request.user_texts[-1] if request.user_texts else ""
    results = request.tool_results
    if last is not None and any(b.get("type") == "tool_result" for b in last.get("content", [])):
        return reply(text=f"The file holds {len(results[-1].text)} characters.", chunk_size=None)
    if request.format != "anthropic" and results and not asked.startswith("turn"):
        return reply(text="Read it.", chunk_size=None)
    if "read" in asked:
        return reply(tool_calls=[tool_call("read_file", {"path": "big.txt"})], chunk_size=None)
    return reply(text="Noted. " + "An answer that takes some room in the window. " * 30, chunk_size=None)


class World:
    def __init__(self, tmp_path: Path, server: FakeServer) -> None:
        self.server = server
        self.workspace = tmp_path / "project"
        self.workspace.mkdir()
        (self.workspace / "big.txt").write_text("a line of a big file\n" * 400)
        self.env = {
            "HOME": str(tmp_path),
            "STOA_HOME": str(tmp_path / "stoa-home"),
            "ANTHROPIC_API_KEY": "test-key",
            "OPENAI_API_KEY": "test-key",
            "ANTHROPIC_BASE_URL": server.base_url,
            "OPENAI_BASE_URL": server.openai_base_url,
        }

    def runtime(self, model: str = "claude-tiny-1", config_text: str | None = None) -> Runtime:
        if config_text is not None:
            (self.workspace / ".stoa").mkdir(exist_ok=True)
            (self.workspace / ".stoa" / "config.toml").write_text(config_text)
        config = load_config(self.workspace, env=dict(self.env))
        return build_runtime(config, Choices(model=model), retry=RetryPolicy(max_attempts=1))


@pytest.fixture
def world(tmp_path: Path) -> Any:
    server = FakeServer(models=[TINY, TINY_GPT, "claude-sonnet-4-6", "gpt-5.5"]).start()
    try:
        yield World(tmp_path, server)
    finally:
        server.stop()


async def turn(agent: Agent, text: str) -> list[ev.Event]:
    return [e async for e in agent.run_turn(text)]


def over_window(server: FakeServer) -> list[int]:
    return [r.index for r in server.model_requests() if _prompt_tokens(r.body) > WINDOW or r.rejection]


@pytest.mark.parametrize("model", ["claude-tiny-1", "gpt-tiny-1"])
async def test_auto_compaction_keeps_requests_inside_the_window(world: World, model: str) -> None:
    world.server.add_rule(respond(summarise), match=is_summary_request)
    world.server.default_reply = respond(agent_reply)
    # OpenAI's list names its models only: the window of one it does not describe is configured.
    runtime = world.runtime(model, config_text=GPT_TINY_CONFIG)
    agent = runtime.agent
    events: list[ev.Event] = []
    events += await turn(agent, "turn 0. FACT: the deploy target is staging-7")
    for n in range(1, 16):
        events += await turn(agent, f"turn {n}: please read big.txt" if n % 3 == 0 else f"turn {n}: go on")
    assert not [e for e in events if isinstance(e, ev.TurnFailed)]
    compacted = [e for e in events if isinstance(e, ev.ContextCompacted)]
    assert compacted, "a 24k window fills within 16 turns"
    assert all(c.trigger == "auto" and c.tokens_after < c.tokens_before for c in compacted)
    assert over_window(world.server) == []
    first = agent.history.messages[0]
    assert is_summary(first) and "FACT: the deploy target is staging-7" in first.content[0].text  # type: ignore[union-attr]
    # The verbatim user message travels too.
    assert any("staging-7" in getattr(b, "text", "") for b in first.content[1:])
    # The summary's cost is in the session's totals: one ledger entry per request, summaries too.
    summaries = [r for r in world.server.model_requests() if is_summary_request(r)]
    assert agent.ledger.by_model[model].requests == len(world.server.model_requests()) == (
        len(summaries) + len([r for r in world.server.model_requests() if not is_summary_request(r)])
    )
    # Summary requests carry no tools (so no schema is needed for tool_use blocks) and fit too.
    assert all(not r.body.get("tools") for r in summaries)


async def test_a_failed_summary_leaves_the_history_as_it_was(world: World) -> None:
    world.server.script(reply(text="one"), reply(text="two"), fault("overloaded"))
    runtime = world.runtime()
    agent = runtime.agent
    await turn(agent, "first question")
    await turn(agent, "second question")
    before = [m.model_dump() for m in agent.history.messages]
    with pytest.raises(CompactionError, match="the summary request failed"):
        await agent.compact()
    assert [m.model_dump() for m in agent.history.messages] == before
    assert agent.ledger.by_model["claude-tiny-1"].requests == 2


async def test_an_empty_summary_is_refused(world: World) -> None:
    world.server.script(reply(text="one"), reply(text="two"), reply(text=""))
    agent = world.runtime().agent
    await turn(agent, "first")
    await turn(agent, "second")
    with pytest.raises(CompactionError, match="empty summary"):
        await agent.compact()
    assert len(agent.history.messages) == 4


async def test_a_conversation_too_short_to_compact(world: World) -> None:
    agent = world.runtime().agent
    with pytest.raises(CompactionError, match="too short"):
        await agent.compact()
    assert world.server.model_requests() == []


async def test_manual_compaction_with_a_focus_archives_the_originals(world: World) -> None:
    world.server.add_rule(respond(summarise), match=is_summary_request)
    world.server.script(
        reply(text="Looking.", tool_calls=[tool_call("read_file", {"path": "big.txt"})]),
        reply(text="It is big."),
        reply(text="Again.", tool_calls=[tool_call("read_file", {"path": "big.txt"})]),
        reply(text="Still big."),
        reply(text="Yes."),
    )
    runtime = world.runtime()
    handle = await open_session(runtime, titles=False)
    agent = runtime.agent
    await turn(agent, "read big.txt. FACT: tabs, never spaces")
    await turn(agent, "read it again")
    await turn(agent, "and now?")
    old = list(agent.history.messages)
    result = await agent.compact("the indentation rule")
    summary_request = [r for r in world.server.model_requests() if is_summary_request(r)][-1]
    assert "focus on: the indentation rule" in summary_request.user_texts[-1]
    assert "USER: read big.txt. FACT: tabs, never spaces" in summary_request.user_texts[-1]
    # The recent exchanges stay as they were, the tool call with its result.
    assert result.archived == old[: len(result.archived)]
    assert is_summary(agent.history.messages[0])
    assert agent.history.messages[-1] == old[-1]
    await close_session(runtime)
    # The saved history is the compacted one; the originals are in the archive.
    runtime2 = world.runtime()
    again = await open_session(runtime2, resume=handle.session_id, titles=False)
    try:
        assert [m.model_dump() for m in runtime2.agent.history.messages] == [
            m.model_dump() for m in agent.history.messages
        ]
        store = runtime2.session.store  # type: ignore[union-attr]
        listed = await list_compactions(store, handle.session_id)
        assert [(c.trigger, c.summary) for c in listed] == [("manual", result.summary)]
        archive = await load_compaction(store, listed[0].id)
        assert archive is not None and archive.messages == result.archived
        compaction = [r for r in again.records if r.kind == "compaction"]
        assert compaction and compaction[0].data["archive_id"] == listed[0].id
        assert compaction[0].data["tokens_before"] > compaction[0].data["tokens_after"]
    finally:
        await close_session(runtime2)


async def test_staged_summaries_when_the_part_to_summarise_exceeds_the_window(world: World) -> None:
    """A history far larger than the window (say, resumed on a smaller model): the transcript
    goes in parts, each summary request inside the window, each carrying the summary so far."""
    world.server.add_rule(respond(summarise), match=is_summary_request)
    runtime = world.runtime("claude-sonnet-4-6")
    agent = runtime.agent
    world.server.default_reply = respond(agent_reply)
    await turn(agent, "turn 0. FACT: the answer is 42")
    for n in range(1, 12):
        await turn(agent, f"turn {n}: please read big.txt, and mind this long note: " + "words " * 1_200)
    tiny = runtime.catalog.resolve("claude-tiny-1")
    result = await agent.compact(model=tiny)
    summaries = [r for r in world.server.model_requests() if is_summary_request(r)]
    assert result.stages == len(summaries) > 1
    assert all(_prompt_tokens(r.body) <= WINDOW for r in summaries)
    assert all("SUMMARY SO FAR" in r.user_texts[-1] for r in summaries[1:])
    assert "FACT: the answer is 42" in result.summary


async def test_auto_compaction_can_be_turned_off(world: World) -> None:
    world.server.default_reply = respond(agent_reply)
    runtime = world.runtime(config_text="[context]\nauto-compact = false\n")
    agent = runtime.agent
    assert agent.context.threshold is None
    events: list[ev.Event] = []
    for n in range(12):
        events += await turn(agent, f"turn {n}: please read big.txt")
        if any(isinstance(e, ev.TurnFailed) for e in events):
            break
    assert not [e for e in events if isinstance(e, ev.ContextCompacted)]
    failed = [e for e in events if isinstance(e, ev.TurnFailed)]
    assert failed and failed[0].kind == "context_length" and "/compact" in (failed[0].hint or "")


def test_a_bad_auto_compact_value_is_a_warning(world: World) -> None:
    runtime = world.runtime(config_text="[context]\nauto-compact = 7000\n")
    assert runtime.agent.context.threshold == 0.85
    assert any("auto-compact = 7000" in w and "0.85" in w for w in runtime.config.warnings)


async def test_a_context_length_refusal_compacts_and_resends(world: World) -> None:
    """The provider counts more than the estimate: its refusal compacts once and resends."""
    world.server.add_rule(respond(summarise), match=is_summary_request)
    world.server.script(reply(text="one"), reply(text="two"), fault("context_length"), reply(text="three"))
    agent = world.runtime().agent
    await turn(agent, "first. FACT: blue")
    await turn(agent, "second")
    events = await turn(agent, "third")
    assert isinstance(events[-1], ev.TurnFinished) and events[-1].text == "three"
    assert [e.trigger for e in events if isinstance(e, ev.ContextCompacted)] == ["auto"]
    assert "FACT: blue" in json.dumps(world.server.model_requests()[-1].body)


@pytest.mark.parametrize("model", ["claude-tiny-1", "gpt-tiny-1"])
async def test_a_200_turn_session_on_a_24k_window(world: World, model: str) -> None:
    """Issue 15's done-when: 200 scripted turns (a third of them with a tool call) on a model
    with a 24k-token window: every turn finishes, no request passes the window (as the fake
    server counts it, and it refuses what does), every request is protocol-valid (the autouse
    checker), and the facts stated early are in the summary at the end."""
    world.server.add_rule(respond(summarise), match=is_summary_request)
    world.server.default_reply = respond(agent_reply)
    runtime = world.runtime(model, config_text=GPT_TINY_CONFIG)
    handle = await open_session(runtime, titles=False)
    agent = runtime.agent
    facts = ["FACT: the service is called heron", "FACT: never touch the vendor folder", "FACT: tests run with make check"]
    compactions = 0
    for n in range(200):
        prompt = f"turn {n}: please read big.txt" if n % 3 == 2 else f"turn {n}: go on"
        if n < len(facts):
            prompt += ". " + facts[n]
        events = await turn(agent, prompt)
        assert isinstance(events[-1], ev.TurnFinished), (n, events[-1])
        compactions += sum(isinstance(e, ev.ContextCompacted) for e in events)
    assert over_window(world.server) == []
    assert compactions >= 5
    first = agent.history.messages[0]
    assert is_summary(first)
    summary = first.content[0].text  # type: ignore[union-attr]
    assert summary.startswith(SUMMARY_HEADER)
    for fact in facts:
        assert fact in summary
    store = runtime.session.store  # type: ignore[union-attr]
    assert len(await list_compactions(store, handle.session_id)) == compactions
    await close_session(runtime)


# ---- headless ------------------------------------------------------------------------------------


def reread(request: Any) -> Any:
    """Reads big.txt again and again (10 times), then answers: one turn that fills the window."""
    if len(request.tool_results) < 10 or not request.tool_results:
        return reply(text="Once more.", tool_calls=[tool_call("read_file", {"path": "big.txt"})], chunk_size=None)
    return reply(text="Read it ten times.", chunk_size=None)


def test_headless_auto_compaction_tells_stderr_and_stream_json(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    from tests.integration.test_headless import stoa

    fake_server.models = [*fake_server.models, TINY]
    fake_server.add_rule(respond(summarise), match=is_summary_request)
    fake_server.default_reply = respond(reread)
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "big.txt").write_text("a line of a big file\n" * 400)
    result = stoa(
        ["-p", "read big.txt ten times. FACT: it is big", "-m", "claude-tiny-1", "--output-format", "stream-json"],
        stoa_env,
        workspace,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    compacted = [e for e in events if e["type"] == "ContextCompacted"]
    assert compacted and compacted[0]["trigger"] == "auto" and "FACT: it is big" in compacted[0]["summary"]
    assert compacted[0]["tokens_before"] > compacted[0]["tokens_after"]
    assert "notice: compacted " in result.stderr and "(auto; the originals are archived in the session)" in result.stderr
    assert events[-1]["type"] == "result" or any(e["type"] == "TurnFinished" for e in events)
    assert [r for r in fake_server.model_requests() if r.rejection] == []


def test_headless_compaction_runs_the_pre_compact_and_session_start_hooks(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    from tests.integration.test_headless import stoa

    log = tmp_path / "hooks.jsonl"
    (Path(stoa_env["STOA_HOME"]) / "config.toml").write_text(
        f'[[hooks.PreCompact]]\nmatcher = "auto"\ncommand = "cat >> {log}"\n'
        f'[[hooks.PreCompact]]\nmatcher = "manual"\ncommand = "echo never >> {log}"\n'
        f'[[hooks.SessionStart]]\nmatcher = "compact"\ncommand = "cat >> {log}"\n'
    )
    fake_server.models = [*fake_server.models, TINY]
    fake_server.add_rule(respond(summarise), match=is_summary_request)
    fake_server.default_reply = respond(reread)
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "big.txt").write_text("a line of a big file\n" * 400)
    result = stoa(["-p", "read big.txt ten times", "-m", "claude-tiny-1"], stoa_env, workspace, timeout=120)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events[0]["hook_event_name"] == "PreCompact" and events[0]["trigger"] == "auto"
    assert events[1]["hook_event_name"] == "SessionStart" and events[1]["source"] == "compact"
    assert "never" not in log.read_text()


async def test_the_newest_tool_output_is_cut_when_it_alone_overflows_the_window(world: World) -> None:
    """Three reads of a 29k-character file in one reply: the results alone pass the 24k window.
    The earlier part is summarised, and the newest output is cut to fit (with a note), rather
    than a request the provider refuses."""
    (world.workspace / "huge.txt").write_text("a line of a huge file\n" * 1_340)
    world.server.add_rule(respond(summarise), match=is_summary_request)
    calls = [tool_call("read_file", {"path": "huge.txt"}, id=f"call_{i}") for i in range(3)]
    world.server.script(reply(text="one"), reply(tool_calls=calls), reply(text="Read them."))
    agent = world.runtime().agent
    await turn(agent, "first. FACT: green")
    events = await turn(agent, "read huge.txt three times")
    assert isinstance(events[-1], ev.TurnFinished), events[-1]
    assert over_window(world.server) == []
    last = world.server.model_requests()[-1]
    assert len(last.tool_results) == 3 and all("cut to fit the context window" in r.text for r in last.tool_results)
    assert [e.trigger for e in events if isinstance(e, ev.ContextCompacted)] == ["auto", "auto"]


async def test_summary_parts_get_smaller_when_the_provider_counts_more(world: World) -> None:
    """A provider that counts three times what Stoa estimates refuses the first summary request as too
    long: the transcript goes again in smaller parts, and the compaction succeeds."""
    from tests.fake_server import fault

    def strict(request: Any) -> Any:
        if _prompt_tokens(request.body) * 3 > WINDOW:
            return fault("context_length")
        return summarise(request)

    world.server.add_rule(respond(strict), match=is_summary_request)
    runtime = world.runtime("claude-sonnet-4-6")
    agent = runtime.agent
    world.server.default_reply = respond(agent_reply)
    await turn(agent, "turn 0. FACT: the answer is 42")
    for n in range(1, 8):
        await turn(agent, f"turn {n}: go on, and mind this long note: " + "words " * 1_200)
    result = await agent.compact(model=runtime.catalog.resolve("claude-tiny-1"))
    refused = [r for r in world.server.model_requests() if is_summary_request(r) and getattr(r.answer, "kind", None)]
    assert refused and result.stages >= 2
    assert "FACT: the answer is 42" in result.summary
