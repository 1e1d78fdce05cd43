"""``stoa acp`` end to end: a real subprocess driven through the ACP SDK's client side against
the fake provider server. Initialize, a new session, a prompt whose tool call needs permission
(streamed updates, the question, the edit as a diff), a cancel during a question, and a load
of the saved session in a new process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from acp import PROTOCOL_VERSION
from acp import schema as s

from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.acp_client import RecordingClient, acp_agent, client_capabilities

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "notes.md").write_text("- keep me\n")
    return ws


async def test_a_session_prompts_asks_cancels_and_loads(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(
            text="I will write the greeting file now.",
            tool_calls=[tool_call("write_file", {"path": "hello.txt", "content": "hi\n"}, id="w1")],
            delay_per_event=0.02,  # deltas in reads of their own (one read's deltas come merged)
        ),
        reply(text="Done: hello.txt says hi."),
        reply(text="Deleting it.", tool_calls=[tool_call("delete_file", {"path": "notes.md"}, id="d1")]),
        reply(text="Fine, nothing was deleted."),
    )
    client = RecordingClient(answer="allow_once")
    async with acp_agent(client, stoa_env, workspace, "--mode", "ask") as (conn, _process):
        init = await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        assert init.agent_capabilities.load_session is True
        assert init.agent_capabilities.prompt_capabilities.image is True
        assert init.agent_capabilities.prompt_capabilities.embedded_context is True
        assert init.agent_capabilities.mcp_capabilities.http is True

        new = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        session_id = new.session_id
        assert new.modes.current_mode_id == "ask"
        assert {m.id for m in new.modes.available_modes} == {"plan", "ask", "auto"}
        assert {o.id for o in new.config_options} >= {"mode", "model", "effort"}

        # A prompt whose tool call needs permission: asked, allowed once, run, shown as a diff.
        answer = await conn.prompt(session_id=session_id, prompt=[s.TextContentBlock(type="text", text="write a greeting")])
        assert answer.stop_reason == "end_turn"
        assert (workspace / "hello.txt").read_text() == "hi\n"
        chunks = client.of(s.AgentMessageChunk)
        assert len(chunks) > 2  # streamed, not one block at the end
        assert "I will write the greeting file now." in client.text()
        assert "Done: hello.txt says hi." in client.text()
        (question, options), = client.questions
        assert question.tool_call_id == "w1" and question.status == "pending"
        assert [o.kind for o in options] == ["allow_once", "allow_always", "reject_once"]
        assert any(isinstance(c, s.FileEditToolCallContent) and c.new_text == "hi\n" for c in question.content or [])
        start = next(u for u in client.of(s.ToolCallStart) if u.tool_call_id == "w1")
        assert start.kind == "edit" and "hello.txt" in start.title
        assert start.locations[0].path == str(workspace / "hello.txt")
        done = [u for u in client.of(s.ToolCallProgress) if u.tool_call_id == "w1" and u.status == "completed"]
        assert len(done) == 1
        edit = next(c for c in done[0].content if isinstance(c, s.FileEditToolCallContent))
        assert (edit.path, edit.old_text, edit.new_text) == (str(workspace / "hello.txt"), None, "hi\n")
        commands = client.of(s.AvailableCommandsUpdate)
        assert commands and {"undo", "diff"} <= {c.name for c in commands[0].available_commands}

        # A cancel while the client has not answered the question: the turn ends "cancelled".
        client.answer = None
        client.asked.clear()
        turn = asyncio.create_task(
            conn.prompt(session_id=session_id, prompt=[s.TextContentBlock(type="text", text="delete the notes")])
        )
        await asyncio.wait_for(client.asked.wait(), 60)
        await conn.cancel(session_id=session_id)
        cancelled = await asyncio.wait_for(turn, 60)
        assert cancelled.stop_reason == "cancelled"
        assert (workspace / "notes.md").exists()

        # The history stays valid: the next prompt goes out (the fake server checks every request).
        client.answer = "allow_once"
        after = await conn.prompt(session_id=session_id, prompt=[s.TextContentBlock(type="text", text="ok, leave it")])
        assert after.stop_reason == "end_turn"
    last = fake_server.model_requests()[-1]
    assert any(r.id == "d1" for r in last.tool_results)

    # A new process loads the saved session and replays it as updates.
    replayed = RecordingClient()
    async with acp_agent(replayed, stoa_env, workspace) as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        loaded = await conn.load_session(cwd=str(workspace), session_id=session_id, mcp_servers=[])
        assert loaded.modes.current_mode_id == "ask"
        users = [u.content.text for u in replayed.of(s.UserMessageChunk)]
        assert users[:2] == ["write a greeting", "delete the notes"]
        assert "Done: hello.txt says hi." in replayed.text()
        tools = {u.tool_call_id: u for u in replayed.of(s.ToolCallStart)}
        assert tools["w1"].status == "completed" and tools["w1"].kind == "edit"
        assert tools["d1"].status == "failed"
        fake_server.script(reply(text="Still here."))
        again = await conn.prompt(session_id=session_id, prompt=[s.TextContentBlock(type="text", text="still there?")])
        assert again.stop_reason == "end_turn"
    assert "write a greeting" in str(fake_server.model_requests()[-1].json)
