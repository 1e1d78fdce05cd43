"""Compaction on the provider's server, through the real agent loop and the fake server speaking
Anthropic's and OpenAI's compaction (tests/fake_server/compaction.py): models that exist only in
these tests, whose capabilities (Anthropic: the live model list; OpenAI: ``[models."ID"]
server-compaction``) offer it.

The done-when of issue 15 again, on each wire, with the server compacting: 200 turns in a
24k window, no request over the window, every request protocol-valid (the autouse checker) and
held to the SDK's (beta) request types, the early facts in the server's compaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stoa.core import events as ev
from stoa.core.agent.compaction import SUMMARY_HEADER, is_summary
from stoa.core.providers.types import CompactionBlock
from stoa.core.sessions import close_session, open_session
from stoa.core.switching import switch_model
from tests.fake_server import FakeServer, ModelSpec, respond
from tests.fake_server.compaction import unseal
from tests.integration.test_compaction import (
    GPT_TINY_CONFIG,
    TINY_GPT,
    WINDOW,
    World,
    agent_reply,
    is_summary_request,
    over_window,
    summarise,
    turn,
)

SRV = ModelSpec(
    id="claude-tiny-srv",
    provider="anthropic",
    context_window=WINDOW,
    max_output=8_000,
    thinking_types=("adaptive", "disabled"),
    efforts=("low", "high"),
    compaction=("summarize", "compact_20260112"),
)
# Only the threshold edit, in a window where its trigger reaches the documented 50,000 minimum.
EDIT = ModelSpec(
    id="claude-edit-srv",
    provider="anthropic",
    context_window=64_000,
    max_output=8_000,
    thinking_types=("adaptive", "disabled"),
    efforts=("low", "high"),
    compaction=("compact_20260112",),
)
# Only the threshold edit in a 24k window: under the minimum, so Stoa summarises itself.
EDIT_SMALL = ModelSpec(
    id="claude-edit-small", provider="anthropic", context_window=WINDOW, max_output=8_000,
    thinking_types=("adaptive", "disabled"), efforts=("low", "high"), compaction=("compact_20260112",),
)
GPT_SRV = ModelSpec(
    id="gpt-tiny-srv", provider="openai", context_window=WINDOW, max_output=8_000, thinking_types=(), efforts=(),
    compaction=("compaction",),
)
# Stoa is told the model compacts on the server; the server refuses context_management.
GPT_REFUSES = ModelSpec(id="gpt-tiny-no", provider="openai", context_window=WINDOW, max_output=8_000,
                        thinking_types=(), efforts=())

CONFIG = GPT_TINY_CONFIG + "".join(
    f'[models."{m}"]\nprovider = "openai"\ncontext-window = 24000\nmax-output = 8000\nserver-compaction = true\n'
    for m in ("gpt-tiny-srv", "gpt-tiny-no")
)
FACTS = ["FACT: the service is called heron", "FACT: never touch the vendor folder", "FACT: tests run with make check"]


@pytest.fixture
def world(tmp_path: Path) -> Any:
    server = FakeServer(models=[SRV, EDIT, EDIT_SMALL, GPT_SRV, GPT_REFUSES, TINY_GPT]).start()
    server.add_rule(respond(summarise), match=is_summary_request)
    server.default_reply = respond(agent_reply)
    try:
        yield World(tmp_path, server)
    finally:
        server.stop()


def prompt(n: int) -> str:
    text = f"turn {n}: please read big.txt" if n % 3 == 2 else f"turn {n}: go on"
    return text + (f". {FACTS[n]}" if n < len(FACTS) else "")


def server_summary(block: CompactionBlock) -> str:
    """What a compaction block carries: Anthropic's readable content, OpenAI's sealed one."""
    if block.content:
        return block.content
    opened = unseal(block.encrypted_content)
    assert opened is not None
    return opened[1]


def first_sent(request: Any) -> dict[str, Any]:
    return request.body["messages"][0] if request.format == "anthropic" else request.body["input"][0]


@pytest.mark.parametrize("model", ["claude-tiny-srv", "gpt-tiny-srv"])
async def test_a_200_turn_session_compacted_on_the_server(world: World, model: str) -> None:
    runtime = world.runtime(model, config_text=CONFIG)
    handle = await open_session(runtime, titles=False)
    agent = runtime.agent
    compacted: list[ev.ContextCompacted] = []
    for n in range(200):
        events = await turn(agent, prompt(n))
        assert isinstance(events[-1], ev.TurnFinished), (n, events[-1])
        compacted += [e for e in events if isinstance(e, ev.ContextCompacted)]
    requests = world.server.model_requests()
    assert over_window(world.server) == []
    assert len(compacted) >= 5 and all(c.on_server for c in compacted)
    assert all(c.tokens_after < c.tokens_before for c in compacted)
    # Stoa wrote no summary of its own: the server did every compaction.
    assert not [r for r in requests if is_summary_request(r)]
    if model.startswith("claude"):
        on_demand = [r for r in requests if "compaction" in r.body]
        assert len(on_demand) == len(compacted)
        assert all("compact-2026-09-04" in (r.header("anthropic-beta") or "") for r in on_demand)
    else:
        assert all(r.body["context_management"] == [{"type": "compaction", "compact_threshold": 20_400}] for r in requests)
    # The latest compaction carries the early facts; the last request opens with it.
    block = next(b for m in reversed(agent.history.messages) if (b := m.compaction) is not None)
    for fact in FACTS:
        assert fact in server_summary(block)
    assert first_sent(requests[-1])["type" if model.startswith("gpt") else "role"] in ("compaction", "assistant")
    # The costs of the compactions are in the totals (Anthropic reports them as usage iterations).
    assert sum(c.cost_usd for c in compacted) >= 0 and agent.ledger.total.prompt_tokens > 0
    if model.startswith("claude"):
        assert all(c.usage.prompt_tokens > 0 for c in compacted)
    # Nothing left the saved history: every message is still in the session.
    assert len(agent.history.messages) > 400
    await close_session(runtime)

    # Resumed, the next request sends the block back exactly as the server made it.
    runtime2 = world.runtime(model, config_text=CONFIG)
    again = await open_session(runtime2, resume=handle.session_id, titles=False)
    try:
        # Each compaction is saved as a fold of the log (the resumed one holds the latest
        # records; the rest are read from the store), and the whole history came back.
        from stoa.core.sessions.archive import list_compactions

        saved = await list_compactions(runtime2.session.store, handle.session_id)  # type: ignore[union-attr]
        assert len(saved) == len(compacted) and all(c.detail["on_server"] and c.messages == [] for c in saved)
        folds = [r for r in again.records if r.kind == "compaction"]
        assert folds and all(f.data["on_server"] for f in folds)
        assert len(runtime2.agent.history.messages) == len(agent.history.messages)
        events = await turn(runtime2.agent, "turn 200: go on")
        assert isinstance(events[-1], ev.TurnFinished)
        sent = world.server.model_requests()[-1].body
        wire = sent["messages"][0]["content"][0] if model.startswith("claude") else sent["input"][0]
        assert wire["type"] == "compaction"
        assert wire["encrypted_content"] == block.encrypted_content
        if model.startswith("claude"):
            assert (wire["content"], wire["signature"]) == (block.content, block.signature)
    finally:
        await close_session(runtime2)


async def test_the_threshold_edit_compacts_inside_a_reply(world: World) -> None:
    runtime = world.runtime("claude-edit-srv", config_text=CONFIG)
    agent = runtime.agent
    compacted: list[ev.ContextCompacted] = []
    for n in range(60):
        events = await turn(agent, f"turn {n}: please read big.txt" + (f". {FACTS[n]}" if n < 3 else ""))
        assert isinstance(events[-1], ev.TurnFinished), (n, events[-1])
        compacted += [e for e in events if isinstance(e, ev.ContextCompacted)]
    requests = world.server.model_requests()
    assert compacted and all(c.on_server and c.trigger == "auto" for c in compacted)
    assert all(r.body["context_management"]["edits"][0]["trigger"] == {"type": "input_tokens", "value": 54_400}
               for r in requests)
    assert all("compact-2026-01-12" in (r.header("anthropic-beta") or "") for r in requests)
    assert not [r for r in requests if is_summary_request(r) or r.rejection]
    # Its cost came as a usage iteration and is in the totals.
    assert all(c.usage.prompt_tokens > 0 and c.usage.output_tokens > 0 for c in compacted)
    block = next(b for m in reversed(agent.history.messages) if (b := m.compaction) is not None)
    assert all(fact in (block.content or "") for fact in FACTS)
    assert requests[-1].body["messages"][0]["content"][0]["type"] == "compaction"


async def test_a_threshold_under_the_documented_minimum_stays_client_side(world: World) -> None:
    runtime = world.runtime("claude-edit-small", config_text=CONFIG)
    agent = runtime.agent
    events: list[ev.Event] = []
    for n in range(16):
        events += await turn(agent, prompt(n))
    requests = world.server.model_requests()
    assert not [r for r in requests if "context_management" in r.body or r.rejection]
    compacted = [e for e in events if isinstance(e, ev.ContextCompacted)]
    assert compacted and not any(c.on_server for c in compacted)
    assert is_summary(agent.history.messages[0])


async def test_switching_from_anthropic_to_openai_after_a_server_compaction(world: World) -> None:
    runtime = world.runtime("claude-tiny-srv", config_text=CONFIG)
    agent = runtime.agent
    n = 0
    while not any(m.compaction for m in agent.history.messages):
        await turn(agent, prompt(n))
        n += 1
    switch_model(agent, "gpt-tiny-1", catalog=runtime.catalog)
    events = await turn(agent, "and now on another model?")
    assert isinstance(events[-1], ev.TurnFinished)
    sent = world.server.model_requests()[-1]
    assert sent.format == "responses"
    # The Anthropic block crossed as Stoa's own summary message, never as a compaction item.
    assert not [i for i in sent.body["input"] if i.get("type") == "compaction"]
    first = sent.body["input"][0]
    assert first["role"] == "user" and first["content"][0]["text"].startswith(SUMMARY_HEADER)
    assert all(fact in first["content"][0]["text"] for fact in FACTS[:1])


@pytest.mark.parametrize("target", ["claude-edit-small", "claude-tiny-srv"])
async def test_switching_from_openai_to_anthropic_compacts_the_history_client_side(world: World, target: str) -> None:
    runtime = world.runtime("gpt-tiny-srv", config_text=CONFIG)
    agent = runtime.agent
    n = 0
    while not any(m.compaction for m in agent.history.messages):
        await turn(agent, prompt(n))
        n += 1
    for more in range(n, n + 6):  # more than one window of history behind the compaction
        await turn(agent, prompt(more))
    switch_model(agent, target, catalog=runtime.catalog)
    events = await turn(agent, "and now on Claude?")
    assert isinstance(events[-1], ev.TurnFinished)
    # The opaque OpenAI compaction cannot cross: Stoa summarised the whole history itself.
    assert [e for e in events if isinstance(e, ev.ContextCompacted) and not e.on_server]
    sent = world.server.model_requests()[-1]
    assert "compaction" not in json.dumps(sent.body["messages"])
    assert over_window(world.server) == []
    assert is_summary(agent.history.messages[0]) and FACTS[0] in agent.history.messages[0].content[0].text  # type: ignore[union-attr]


async def test_a_server_that_refuses_context_management_falls_back_to_client_side(world: World) -> None:
    runtime = world.runtime("gpt-tiny-no", config_text=CONFIG)
    agent = runtime.agent
    events: list[ev.Event] = []
    for n in range(16):
        events += await turn(agent, prompt(n))
    finished = [e for e in events if isinstance(e, ev.TurnFinished)]
    assert len(finished) == 16 and not [e for e in events if isinstance(e, ev.TurnFailed)]
    notices = [e.text for e in events if isinstance(e, ev.Notice) and "refused compaction on the server" in e.text]
    assert len(notices) == 1
    refused = [r for r in world.server.model_requests() if r.rejection]
    assert len(refused) == 1 and "context_management" in refused[0].rejection["error"]["message"]  # type: ignore[index]
    compacted = [e for e in events if isinstance(e, ev.ContextCompacted)]
    assert compacted and not any(c.on_server for c in compacted)
    # Only the refused request is flagged: none passed the window.
    assert over_window(world.server) == [refused[0].index]


def test_headless_tells_a_server_compaction_on_stderr_and_in_stream_json(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    from tests.integration.test_compaction import reread
    from tests.integration.test_headless import stoa

    fake_server.models = [*fake_server.models, SRV]
    fake_server.default_reply = respond(reread)
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "big.txt").write_text("a line of a big file\n" * 400)
    result = stoa(
        ["-p", "read big.txt ten times. FACT: it is big", "-m", "claude-tiny-srv", "--output-format", "stream-json"],
        stoa_env,
        workspace,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    compacted = [e for e in events if e["type"] == "ContextCompacted"]
    assert compacted and compacted[0]["on_server"] is True and compacted[0]["trigger"] == "auto"
    assert "FACT: it is big" in compacted[0]["summary"]
    assert compacted[0]["tokens_before"] > compacted[0]["tokens_after"]
    assert "notice: compacted on the server " in result.stderr
    assert "(auto; the originals are kept in the session)" in result.stderr
    assert [r for r in fake_server.model_requests() if r.rejection] == []
    assert [r for r in fake_server.model_requests() if "compaction" in r.body]


async def test_acp_tells_the_editor_of_a_compaction(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    from acp import PROTOCOL_VERSION

    from tests.integration.acp_client import RecordingClient, acp_agent, client_capabilities, text_prompt
    from tests.integration.test_compaction import reread

    fake_server.models = [*fake_server.models, SRV]
    fake_server.default_reply = respond(reread)
    workspace = tmp_path / "project"
    (workspace / ".stoa").mkdir(parents=True)
    (workspace / ".stoa" / "config.toml").write_text('model = "claude-tiny-srv"\n')
    (workspace / "big.txt").write_text("a line of a big file\n" * 400)
    client = RecordingClient()
    async with acp_agent(client, stoa_env, workspace) as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        await conn.prompt(session_id=session.session_id, prompt=text_prompt("read big.txt ten times"))
    assert [r for r in fake_server.model_requests() if "compaction" in r.body]
    assert "compacted on the server " in client.text() and "(auto)" in client.text()


async def test_compact_with_a_focus_asks_the_server(world: World) -> None:
    runtime = world.runtime("claude-tiny-srv", config_text=CONFIG)
    agent = runtime.agent
    for n in range(4):
        await turn(agent, prompt(n))
    result = await agent.compact("the service name")
    asked = [r for r in world.server.model_requests() if "compaction" in r.body]
    assert len(asked) == 1 and result.on_server and result.archived == []
    assert "focus on: the service name" in asked[0].body["compaction"]["instructions"]
    assert "## Goal" in asked[0].body["compaction"]["instructions"]  # Stoa's structured summary
    # The recent exchanges are kept after the block (from a prompt the person typed), the
    # earlier ones summarised; the next request opens with the block.
    block_at = next(i for i, m in enumerate(agent.history.messages) if m.compaction is not None)
    kept = agent.history.messages[block_at + 1]
    assert kept.role == "user" and kept.text.startswith("turn ") and not kept.text.startswith("turn 0")
    assert FACTS[0] in (agent.history.messages[block_at].compaction.content or "")  # type: ignore[union-attr]
    await turn(agent, "turn 4: go on")
    sent = world.server.model_requests()[-1].body["messages"]
    assert sent[0]["content"][0]["type"] == "compaction" and sent[1]["content"][0]["text"] == kept.text


async def test_a_server_that_ignores_the_threshold_gets_stoas_compaction(world: World) -> None:
    """A compatible server that accepts context_management and never compacts: once a reply
    says it read past the threshold, Stoa compacts itself; no request passes the window."""
    world.server._compaction = lambda fmt, body: None  # type: ignore[method-assign]
    runtime = world.runtime("gpt-tiny-srv", config_text=CONFIG)
    agent = runtime.agent
    events: list[ev.Event] = []
    for n in range(24):
        events += await turn(agent, prompt(n))
    assert len([e for e in events if isinstance(e, ev.TurnFinished)]) == 24
    notices = [e.text for e in events if isinstance(e, ev.Notice) and "without compacting" in e.text]
    assert len(notices) == 1
    compacted = [e for e in events if isinstance(e, ev.ContextCompacted)]
    assert compacted and not any(c.on_server for c in compacted)
    assert over_window(world.server) == []
    assert "context_management" not in world.server.model_requests()[-1].body
