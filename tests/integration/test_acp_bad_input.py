"""``stoa acp`` given bad input: lines that are not JSON-RPC, requests it cannot serve, a
second prompt while one runs, and a client that goes away mid-turn. Each gets a clear error
(or, for the disconnect, a saved session) and the connection stays usable."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from acp import PROTOCOL_VERSION
from acp import schema as s

from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.acp_client import STOA_ACP, RecordingClient, acp_agent, client_capabilities

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    return ws


class Raw:
    """``stoa acp`` spoken to line by line, bytes as they are."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.next_id = 100

    async def write(self, line: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line)
        await self.process.stdin.drain()

    async def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        assert line, "stoa acp closed its stdout"
        return json.loads(line)

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send a request; return its response (notifications before it are skipped)."""
        self.next_id += 1
        request_id = self.next_id
        await self.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode() + b"\n")
        while True:
            message = await self.read()
            if message.get("id") == request_id and "method" not in message:
                return message


@asynccontextmanager
async def raw_agent(env: dict[str, str], cwd: Path) -> AsyncIterator[Raw]:
    with open(cwd.parent / "acp-stderr.log", "ab") as err:  # noqa: ASYNC230 (before the process starts)
        process = await asyncio.create_subprocess_exec(
            *STOA_ACP, env=env, cwd=cwd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err
        )
        try:
            yield Raw(process)
        finally:
            if process.returncode is None:
                assert process.stdin is not None
                process.stdin.close()
                try:
                    await asyncio.wait_for(process.wait(), 60)
                except TimeoutError:
                    process.kill()
                    await process.wait()


INITIALIZE = {"protocolVersion": PROTOCOL_VERSION, "clientCapabilities": {}}


async def test_lines_that_are_not_json_rpc_get_errors_and_the_connection_stays(
    stoa_env: dict[str, str], workspace: Path
) -> None:
    async with raw_agent(stoa_env, workspace) as agent:
        await agent.write(b"this is not json\n")
        parse = await agent.read()
        assert parse["id"] is None and parse["error"]["code"] == -32700
        assert "not JSON" in parse["error"]["message"]
        await agent.write(b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": \n')  # cut short
        assert (await agent.read())["error"]["code"] == -32700
        for junk in (b"[1, 2]\n", b"42\n", b'"initialize"\n', b'{"jsonrpc": "2.0"}\n'):
            await agent.write(junk)
            error = await agent.read()
            assert error["id"] is None and error["error"]["code"] == -32600, (junk, error)
        await agent.write(b'{"jsonrpc": "2.0", "id": 7, "method": 12}\n')
        assert (await agent.read()) == {
            "jsonrpc": "2.0", "id": 7, "error": {"code": -32600, "message": "Invalid Request: method must be a non-empty string"}
        }
        await agent.write(b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "initialize"}\n')
        assert (await agent.read())["error"]["code"] == -32600
        unknown = await agent.request("no/such_method", {})
        assert unknown["error"]["code"] == -32601
        bad_params = await agent.request("initialize", {"clientCapabilities": {}})  # no protocolVersion
        assert bad_params["error"]["code"] == -32602
        # Still connected: a real request is answered.
        init = await agent.request("initialize", INITIALIZE)
        assert init["result"]["agentCapabilities"]["loadSession"] is True


async def test_requests_it_cannot_serve_say_what_to_send_instead(stoa_env: dict[str, str], workspace: Path) -> None:
    async with raw_agent(stoa_env, workspace) as agent:
        await agent.request("initialize", INITIALIZE)
        prompt = {"sessionId": "no-such-session", "prompt": [{"type": "text", "text": "hi"}]}
        unknown = (await agent.request("session/prompt", prompt))["error"]
        assert unknown["code"] == -32002
        assert "unknown session 'no-such-session'" in unknown["message"] and "session/new" in unknown["message"]
        relative = (await agent.request("session/new", {"cwd": "project", "mcpServers": []}))["error"]
        assert relative["code"] == -32602 and "absolute path" in relative["message"]
        missing = (await agent.request("session/new", {"cwd": str(workspace / "gone"), "mcpServers": []}))["error"]
        assert missing["code"] == -32602 and "existing folder" in missing["message"]
        load = {"cwd": str(workspace), "sessionId": "0123abcd-0000-4000-8000-000000000000", "mcpServers": []}
        not_saved = (await agent.request("session/load", load))["error"]
        assert not_saved["code"] == -32002 and "session/list" in not_saved["message"]
        bad_id = (await agent.request("session/load", {**load, "sessionId": "../../etc"}))["error"]
        assert bad_id["code"] == -32602
        session = (await agent.request("session/new", {"cwd": str(workspace), "mcpServers": []}))["result"]
        session_id = session["sessionId"]
        mode = (await agent.request("session/set_mode", {"sessionId": session_id, "modeId": "yolo"}))["error"]
        assert mode["code"] == -32602 and "plan, ask, auto" in mode["message"].replace("ask, auto, plan", "plan, ask, auto")
        audio = {"sessionId": session_id, "prompt": [{"type": "audio", "data": "AAAA", "mimeType": "audio/wav"}]}
        assert "does not take" in (await agent.request("session/prompt", audio))["error"]["message"]
        empty = {"sessionId": session_id, "prompt": [{"type": "text", "text": "   "}]}
        assert "empty" in (await agent.request("session/prompt", empty))["error"]["message"]
        image = {"sessionId": session_id, "prompt": [{"type": "image", "data": "not base64!", "mimeType": "image/png"}]}
        assert "base64" in (await agent.request("session/prompt", image))["error"]["message"]
        # The session is still fine: switching mode works.
        assert "result" in await agent.request("session/set_mode", {"sessionId": session_id, "modeId": "plan"})


async def test_a_client_that_goes_away_mid_turn_leaves_the_session_saved(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    words = " ".join(f"word{i}" for i in range(400))
    fake_server.script(reply(text=words, chunk_size=8, delay_per_event=0.05))
    async with raw_agent(stoa_env, workspace) as agent:
        await agent.request("initialize", INITIALIZE)
        session_id = (await agent.request("session/new", {"cwd": str(workspace), "mcpServers": []}))["result"]["sessionId"]
        agent.next_id += 1
        prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "say many words"}]}
        await agent.write(json.dumps({"jsonrpc": "2.0", "id": agent.next_id, "method": "session/prompt", "params": prompt}).encode() + b"\n")
        seen = ""
        while "word3 " not in seen:  # the reply is streaming
            message = await agent.read()
            update = message.get("params", {}).get("update", {})
            if update.get("sessionUpdate") == "agent_message_chunk":
                seen += update["content"]["text"]
        busy = await agent.request("session/prompt", {**prompt, "prompt": [{"type": "text", "text": "and more"}]})
        assert busy["error"]["code"] == -32600 and "already running" in busy["error"]["message"]
        assert agent.process.stdin is not None
        agent.process.stdin.close()  # the editor quits
        assert await asyncio.wait_for(agent.process.wait(), 60) == 0

    replayed = RecordingClient()
    async with acp_agent(replayed, stoa_env, workspace) as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        await conn.load_session(cwd=str(workspace), session_id=session_id, mcp_servers=[])
        assert [u.content.text for u in replayed.of(s.UserMessageChunk)] == ["say many words"]
        assert "word3" in replayed.text()  # what was said before the client left is kept
        assert "word399" not in replayed.text()
        listed = await conn.list_sessions(cwd=str(workspace))
        assert [x.session_id for x in listed.sessions] == [session_id]


async def test_a_client_that_reads_slowly_gets_the_whole_reply_in_order(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    """Backpressure: while the client does not read, deltas wait (merged); nothing is lost or
    reordered (200 KB of reply in 16-character deltas, more than the pipe holds)."""
    words = " ".join(f"w{i}" for i in range(30_000))
    fake_server.script(reply(text=words, chunk_size=16))
    async with raw_agent(stoa_env, workspace) as agent:
        await agent.request("initialize", INITIALIZE)
        session_id = (await agent.request("session/new", {"cwd": str(workspace), "mcpServers": []}))["result"]["sessionId"]
        agent.next_id += 1
        prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "talk a lot"}]}
        await agent.write(json.dumps({"jsonrpc": "2.0", "id": agent.next_id, "method": "session/prompt", "params": prompt}).encode() + b"\n")
        await fake_server.wait_for_requests_async(1, timeout=60)  # not reading meanwhile
        chunks: list[str] = []
        while True:
            message = await agent.read()
            if message.get("id") == agent.next_id:
                assert message["result"]["stopReason"] == "end_turn"
                break
            update = message.get("params", {}).get("update", {})
            if update.get("sessionUpdate") == "agent_message_chunk":
                chunks.append(update["content"]["text"])
    assert "".join(chunks) == words  # and every update fit the reader's 64 KB line limit


async def test_a_reply_sent_in_one_delta_reaches_the_client_in_lines_it_can_read(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    """300 KB of reply in one delta (or in one read of the body, which a provider passes on as
    one delta) goes out in updates that each fit a 64 KB line reader."""
    words = " ".join(f"wörd{i}" for i in range(40_000))
    fake_server.script(reply(text=words, instant=True))
    async with raw_agent(stoa_env, workspace) as agent:
        await agent.request("initialize", INITIALIZE)
        session_id = (await agent.request("session/new", {"cwd": str(workspace), "mcpServers": []}))["result"]["sessionId"]
        agent.next_id += 1
        prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "talk a lot"}]}
        await agent.write(json.dumps({"jsonrpc": "2.0", "id": agent.next_id, "method": "session/prompt", "params": prompt}).encode() + b"\n")
        chunks: list[str] = []
        while True:
            message = await agent.read()
            if message.get("id") == agent.next_id:
                assert message["result"]["stopReason"] == "end_turn"
                break
            update = message.get("params", {}).get("update", {})
            if update.get("sessionUpdate") == "agent_message_chunk":
                chunks.append(update["content"]["text"])
    assert "".join(chunks) == words and len(chunks) > 1


async def test_a_client_that_goes_away_during_a_question_leaves_a_valid_saved_session(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(reply(text="Writing.", tool_calls=[tool_call("write_file", {"path": "x.txt", "content": "x\n"}, id="w1")]))
    async with raw_agent(stoa_env, workspace) as agent:
        await agent.request("initialize", INITIALIZE)
        new = {"cwd": str(workspace), "mcpServers": []}
        session_id = (await agent.request("session/new", new))["result"]["sessionId"]
        await agent.request("session/set_mode", {"sessionId": session_id, "modeId": "ask"})
        agent.next_id += 1
        prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "write x"}]}
        await agent.write(json.dumps({"jsonrpc": "2.0", "id": agent.next_id, "method": "session/prompt", "params": prompt}).encode() + b"\n")
        while (await agent.read()).get("method") != "session/request_permission":
            pass
        assert agent.process.stdin is not None
        agent.process.stdin.close()  # the editor quits with the question open
        assert await asyncio.wait_for(agent.process.wait(), 60) == 0
    assert not (workspace / "x.txt").exists()
    assert len(fake_server.model_requests()) == 1  # no request went out after the client left

    fake_server.script(reply(text="Back."))
    replayed = RecordingClient()
    async with acp_agent(replayed, stoa_env, workspace) as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        await conn.load_session(cwd=str(workspace), session_id=session_id, mcp_servers=[])
        tools = {u.tool_call_id: u for u in replayed.of(s.ToolCallStart)}
        assert tools["w1"].status == "failed"
        answer = await conn.prompt(session_id=session_id, prompt=[s.TextContentBlock(type="text", text="again")])
        assert answer.stop_reason == "end_turn"
    # The fake server checks the resumed history: w1 has its result.
    assert any(r.id == "w1" for r in fake_server.model_requests()[-1].tool_results)


def test_requests_from_a_file_and_answers_to_a_file(stoa_env: dict[str, str], workspace: Path) -> None:
    """Not only pipes: `stoa acp < requests.jsonl > answers.jsonl` works (a script's way)."""
    requests = workspace.parent / "requests.jsonl"
    answers = workspace.parent / "answers.jsonl"
    requests.write_text(
        "garbage\n"
        + json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INITIALIZE}) + "\n"
        + json.dumps({"jsonrpc": "2.0", "id": 2, "method": "session/new", "params": {"cwd": str(workspace), "mcpServers": []}}) + "\n"
    )
    with requests.open("rb") as stdin, answers.open("wb") as stdout:
        done = subprocess.run(STOA_ACP, env=stoa_env, cwd=workspace, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in answers.read_text().splitlines()]
    assert lines[0]["error"]["code"] == -32700
    by_id = {m.get("id"): m for m in lines if "id" in m}
    assert by_id[1]["result"]["agentCapabilities"]["loadSession"] is True
    assert by_id[2]["result"]["sessionId"]
