"""Red team of the MCP client against servers that do unusual but legal things, rude things,
and servers written by others.

Servers: tests/mcp_servers/redteam_server.py (the SDK's low-level API: odd schemas and names,
100+ tools, every content kind, requests to the client, rude start-ups, HTTP variants),
mcpserver_server.py (the SDK's MCPServer, as most Python servers are written), raw_server.py
(hand-written JSON-RPC, for what SDK servers cannot send), and from the registries
@modelcontextprotocol/server-filesystem and server-memory (npm), mcp-server-time and
mcp-server-git (PyPI), installed by tests/mcp_servers/install_external.sh (run by scripts/test;
skipped with the reason when they are not installed). Through the manager, through the agent
loop with the fake provider, and through ``stoa -p`` subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stoa.core import events as ev
from stoa.core.config import load_config
from stoa.core.mcp import attach
from stoa.core.mcp.manager import MARKER_ENV, McpManager, ServerStatus
from stoa.core.mcp.tool import McpTool
from stoa.core.providers.types import ImageBlock
from stoa.core.runtime import Choices, build_runtime
from stoa.core.tools.base import ToolContext, ToolError
from tests.fake_server import FakeServer, reply, tool_call
from tests.mcp_servers.helpers import REPO_ROOT, isolated_env, make_config, make_manager, write_servers
from tests.mcp_servers.raw_server import GOOD as RAW_GOOD
from tests.mcp_servers.redteam_server import LONG_DESCRIPTION, ODD_TOOLS

SERVERS = REPO_ROOT / "tests" / "mcp_servers"
REDTEAM = SERVERS / "redteam_server.py"
MCPSERVER = SERVERS / "mcpserver_server.py"
RAW = SERVERS / "raw_server.py"
NPM_BIN = REPO_ROOT / "tests" / ".npm" / "node_modules" / ".bin"
MCP_VENV_BIN = REPO_ROOT / "tests" / ".mcp-venv" / "bin"
NOT_INSTALLED = "not installed (run tests/mcp_servers/install_external.sh; it needs {} and its registry)"


def entry(script: Path, *flags: str, **extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(script), *flags], **extra}


async def started(tmp_path: Path, servers: dict[str, dict[str, Any]]) -> McpManager:
    manager, _, _ = make_manager(make_config(tmp_path, servers))
    await manager.start_all()
    await manager.wait_started()
    return manager


def tool_named(manager: McpManager, server: str, tool: str) -> McpTool:
    for name in manager.states[server].tools:
        found = manager.registry.get(name)
        if isinstance(found, McpTool) and found.tool_name == tool:
            return found
    raise AssertionError(f"{server} has no tool {tool!r}: {manager.states[server].tools}")


async def call(manager: McpManager, server: str, tool: str, args: dict[str, Any] | None = None) -> Any:
    """Check the arguments like the agent does, then call."""
    found = tool_named(manager, server, tool)
    found.parse_args(args or {})
    return await asyncio.wait_for(manager.call_tool(server, tool, args or {}), 60)


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan killed here may wait for a reaper that never comes)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def marked_pids(workspace: Path) -> list[int]:
    """Live processes started for an MCP server (they carry the marker variable) in ``workspace``."""
    found = []
    for entry_name in os.listdir("/proc"):
        if not entry_name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry_name}/environ").read_bytes()
            cwd = Path(os.readlink(f"/proc/{entry_name}/cwd"))
        except OSError:
            continue
        if f"{MARKER_ENV}=".encode() in environ and cwd.is_relative_to(workspace) and running(int(entry_name)):
            found.append(int(entry_name))
    return found


class HttpServer:
    """One of the test servers over streamable HTTP, in a subprocess; ``url`` once it listens."""

    def __init__(self, script: Path, *flags: str, port: int = 0) -> None:
        self.script, self.flags = script, flags
        self.process = subprocess.Popen(
            [sys.executable, str(script), "--http", *(["--port", str(port)] if port else []), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"{script.name} did not start over HTTP")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def restart(self) -> HttpServer:
        """Kill it and start a new one on the same port (it forgets every session)."""
        self.stop()
        return HttpServer(self.script, *self.flags, port=self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture
def http_servers() -> Iterator[list[HttpServer]]:
    servers: list[HttpServer] = []
    yield servers
    for server in servers:
        server.stop()


# ---- odd schemas, names and many tools ----------------------------------------------------------


async def test_odd_schemas_names_and_120_extra_tools(tmp_path: Path) -> None:
    manager = await started(tmp_path, {"rt": entry(REDTEAM, "--many", "120")})
    try:
        state = manager.states["rt"]
        assert state.status is ServerStatus.CONNECTED, state.status_text
        assert state.skipped_tools == []
        assert state.tool_count == len(ODD_TOOLS) + 120
        names = set(state.tools)
        # Provider-safe names: dots become _, accents are dropped, a.b and a_b are both kept.
        assert {"rt___dotted_name", "rt___dash-name", "rt___unicode", "rt___a_b", "rt___tool_119"} <= names
        # The tool really named a_b keeps its name; a.b gets one with a hash of its own.
        assert tool_named(manager, "rt", "a_b").name == "rt___a_b"
        assert tool_named(manager, "rt", "a.b").name.startswith("rt___a_b_")
        assert all(len(n) <= 64 for n in names)
        assert (await call(manager, "rt", "ünïcode")).text_content == "ünïcode ran with []"
        assert (await call(manager, "rt", "a.b")).text_content == "a.b ran with []"
        assert (await call(manager, "rt", "a_b")).text_content == "a_b ran with []"
        assert (await call(manager, "rt", "tool_119", {"x": 1})).text_content == "tool_119 ran with ['x']"
        # A very long description is capped.
        long = tool_named(manager, "rt", "long_description").spec().description
        assert len(LONG_DESCRIPTION) > 50_000 and len(long) <= 4000
        # No properties key: any object goes.
        assert (await call(manager, "rt", "bare", {"anything": 1})).text_content == "bare ran with ['anything']"
        # $defs/$ref and draft-07 definitions are resolved when checking arguments.
        assert (await call(manager, "rt", "refs", {"point": {"x": 1, "y": 2}})).text_content == "point 1,2"
        with pytest.raises(ToolError, match="'y' is a required property"):
            tool_named(manager, "rt", "refs").parse_args({"point": {"x": 1}})
        with pytest.raises(ToolError, match="should be non-empty"):
            tool_named(manager, "rt", "draft7_refs").parse_args({"name": ""})
        with pytest.raises(ToolError, match="Additional properties"):
            tool_named(manager, "rt", "draft7_refs").parse_args({"name": "a", "extra": 1})
        # anyOf / oneOf / enum / nullable properties.
        union = tool_named(manager, "rt", "union")
        union.parse_args({"value": "s", "shape": {"r": 1}, "color": "red", "note": None})
        with pytest.raises(ToolError, match="not one of"):
            union.parse_args({"value": 1, "color": "pink"})
        with pytest.raises(ToolError, match="not valid under any"):
            union.parse_args({"value": 1.5})
    finally:
        await manager.close()


async def test_top_level_combinators_are_kept_from_providers_but_still_checked(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    """Anthropic refuses a tool whose input schema has anyOf/oneOf/allOf at the top level, and
    one such tool fails every request of the session: the model gets a schema without them."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    write_servers(
        workspace,
        {"rt": entry(REDTEAM, safe_mode="read_only"), "raw": entry(RAW, "--bad-tools", safe_mode="read_only")},
    )
    env = isolated_env(tmp_path, ANTHROPIC_API_KEY="k", ANTHROPIC_BASE_URL=fake_server.base_url)
    runtime = build_runtime(load_config(workspace, env=env), Choices(model="claude-sonnet-4-6", mode="auto"))
    manager = attach(runtime)
    await manager.start_all()
    await manager.wait_started()
    try:
        fake_server.script(
            reply(
                tool_calls=[
                    tool_call("rt___either_or", {}),
                    tool_call("rt___exactly_one", {"id": 1, "path": "p"}),
                    tool_call("rt___either_or", {"b": 2}),
                    tool_call("raw___untyped_union", {"path": "x"}),
                ]
            ),
            reply(text="done"),
        )
        events = [e async for e in runtime.agent.run_turn("go")]
        first = fake_server.model_requests()[0]
        sent = {t["name"]: t for t in first.body["tools"]}
        for name in ("rt___either_or", "rt___exactly_one", "rt___all_of", "raw___untyped_union"):
            schema = sent[name]["input_schema"]
            assert not {"anyOf", "oneOf", "allOf"} & set(schema), (name, schema)
            assert schema["type"] == "object"
        assert set(sent["rt___either_or"]["input_schema"]["properties"]) == {"a", "b"}
        assert "(a) | (b)" in sent["rt___either_or"]["description"]
        assert sent["rt___all_of"]["input_schema"]["required"] == ["x"]
        by_id = {e.call_id: e for e in events if isinstance(e, ev.ToolCallFinished)}
        finished = [by_id[c.id] for c in fake_server.model_requests()[1].tool_calls]  # in call order
        assert [e.is_error for e in finished] == [True, True, False, False]
        assert "Give at least one of these sets of arguments: (a) | (b)" in finished[0].result_text
        assert "exactly one" in finished[1].result_text
        assert finished[2].result_text == "either_or ran with ['b']"
        assert finished[3].result_text == 'found {"path": "x"}'
    finally:
        await manager.close()


async def test_a_tool_described_wrongly_does_not_take_its_server_down(tmp_path: Path) -> None:
    manager = await started(tmp_path, {"raw": entry(RAW, "--bad-tools"), "pages": entry(RAW, "--loop-pages")})
    try:
        # A tool listed twice, on pages that never end: each tool once.
        pages = manager.states["pages"]
        assert pages.status is ServerStatus.CONNECTED, pages.status_text
        assert sorted(pages.tools) == sorted(f"pages___{t['name']}" for t in RAW_GOOD), pages.tools
        state = manager.states["raw"]
        assert state.status is ServerStatus.CONNECTED, state.status_text
        assert "raw___echo" in state.tools and "raw___untyped_union" in state.tools
        skipped = "\n".join(state.skipped_tools)
        assert "no_schema: the server describes it wrongly (inputSchema: Field required)" in skipped
        assert "string_schema: its input schema has type 'string'" in skipped
        assert (await call(manager, "raw", "echo", {"text": "fine"})).text_content == "fine"
    finally:
        await manager.close()


# ---- results ----------------------------------------------------------------------------------


async def test_every_kind_of_result(tmp_path: Path) -> None:
    manager = await started(tmp_path, {"rt": entry(REDTEAM), "raw": entry(RAW)})
    try:
        out = await call(manager, "rt", "structured_only", {"n": 4})
        assert not out.is_error and json.loads(out.text_content) == {"n": 4, "square": 16}
        out = await call(manager, "rt", "wrapped")  # text + {"result": same}: said once
        assert out.text_content == "plain value"
        out = await call(manager, "rt", "link")
        assert out.text_content == "[resource link: report: file:///tmp/report.pdf (application/pdf) - the monthly report]"
        out = await call(manager, "rt", "audio")
        assert out.text_content.startswith("a sound") and "audio is not supported" in out.text_content
        out = await call(manager, "rt", "blobs")
        assert [type(b).__name__ for b in out.content] == ["TextBlock", "ImageBlock"]
        assert "[resource mem://doc.pdf (application/pdf)] binary content (2,009 bytes) not shown" in out.text_content
        assert (await call(manager, "rt", "empty_result")).text_content == "(no output)"
        # Structured content that breaks the tool's own output schema: kept, with a note, not an error
        # (the tool ran; calling it a failure could make the model run it again).
        out = await call(manager, "raw", "mismatch")
        assert not out.is_error and out.text_content.startswith("n is seven")
        assert "[note: Invalid structured content returned by tool mismatch" in out.text_content
        out = await call(manager, "raw", "text_only")
        assert not out.is_error and out.text_content.startswith("wrote the file")
        assert "did not return structured content" in out.text_content
        # Bytes that are not UTF-8, a response to an id never sent, a notification storm.
        assert (await call(manager, "raw", "latin1")).text_content.startswith("caf")
        assert (await call(manager, "raw", "stray")).text_content == "after the stray"
        assert (await call(manager, "raw", "storm", {"n": 300})).text_content == "stormed"
        assert (await call(manager, "raw", "echo", {"text": "still fine"})).text_content == "still fine"
        assert manager.states["raw"].status is ServerStatus.CONNECTED
    finally:
        await manager.close()


async def test_requests_from_the_server_get_a_clear_refusal(tmp_path: Path) -> None:
    manager = await started(
        tmp_path,
        {"rt": entry(REDTEAM), "asks": entry(REDTEAM, "--request-on-start", "roots/list")},
    )
    try:
        started_at = time.monotonic()
        assert (await call(manager, "rt", "sample")).text_content == "sampling refused: Sampling not supported"
        assert (await call(manager, "rt", "elicit")).text_content == "elicitation refused: Elicitation not supported"
        assert (await call(manager, "rt", "roots")).text_content == "roots refused: List roots not supported"
        assert (await call(manager, "rt", "custom_request")).text_content == "custom request refused: Method not found"
        assert (await call(manager, "rt", "ping_client")).text_content == "pong received"
        assert (await call(manager, "rt", "log")).text_content == "logged"
        assert time.monotonic() - started_at < 20  # answered, not timed out (the timeout is 120 s)
        # A server that asks as soon as it is initialized is refused and stays connected.
        assert manager.states["asks"].status is ServerStatus.CONNECTED
        assert (await call(manager, "asks", "echo", {"text": "ok"})).text_content == "ok"
        for _ in range(100):
            if "List roots not supported" in manager.stderr_tail("asks", 5):
                break
            await asyncio.sleep(0.05)
        assert "List roots not supported" in manager.stderr_tail("asks", 5)
    finally:
        await manager.close()


async def test_a_server_built_with_mcpserver(tmp_path: Path) -> None:
    manager = await started(tmp_path, {"fm": entry(MCPSERVER)})
    try:
        state = manager.states["fm"]
        assert state.status is ServerStatus.CONNECTED, state.status_text
        assert "fm___weird_name-u" in state.tools
        order = {"item": "tea", "quantity": 2, "ship_to": {"street": "1 rue", "city": "Paris"}}
        out = await call(manager, "fm", "place_order", {"order": order})
        assert json.loads(out.text_content) == {"ordered": "tea", "quantity": 2, "city": "Paris", "note": None}
        with pytest.raises(ToolError, match=r"order\.quantity: 20 is greater than the maximum of 10"):
            tool_named(manager, "fm", "place_order").parse_args({"order": {**order, "quantity": 20}})
        assert (await call(manager, "fm", "greet", {"name": "Ann"})).text_content == "Hello, Ann!"
        assert (await call(manager, "fm", "numbers", {"count": 2})).text_content == "0\n\n1"
        assert (await call(manager, "fm", "weird.name-ü")).text_content == "weird ran"
        out = await call(manager, "fm", "picture")
        assert [type(b) for b in out.content] == [ImageBlock]
        assert (await call(manager, "fm", "confirm")).text_content == "could not ask: Elicitation not supported"
        out = await call(manager, "fm", "explode")
        assert out.is_error
        seen: list[ev.Event] = []
        tool = tool_named(manager, "fm", "slow_steps")
        out = await tool.run(tool.parse_args({"steps": 2}), ToolContext(workspace=tmp_path, call_id="c", emit=seen.append))
        assert out.text_content == "2 steps done"
        assert [e.text for e in seen if isinstance(e, ev.ToolCallOutput)] == ["step 1 (1/2)\n", "step 2 (2/2)\n"]
        assert state.instructions == "A server built with MCPServer."
    finally:
        await manager.close()


# ---- rude servers -----------------------------------------------------------------------------


async def test_a_server_that_closes_stdout_mid_call_fails_the_call_at_once(tmp_path: Path) -> None:
    manager = await started(tmp_path, {"rt": entry(REDTEAM)})
    try:
        pid = int((await call(manager, "rt", "pid")).text_content)
        started_at = time.monotonic()
        out = await call(manager, "rt", "close_stdout")
        assert time.monotonic() - started_at < 10  # not the 120 s tool timeout
        assert out.is_error and "closed the connection during the call" in out.text_content
        assert manager.states["rt"].status is ServerStatus.DISCONNECTED
        out = await call(manager, "rt", "echo", {"text": "x"})
        assert out.is_error and "/mcp reconnect rt" in out.text_content
    finally:
        await manager.close()
    assert not running(pid)  # it was still alive (stdout closed, sleeping): it is stopped


async def test_rude_start_ups(tmp_path: Path) -> None:
    manager = await started(
        tmp_path,
        {
            "quits": entry(REDTEAM, "--exit-after-initialize"),
            "chatty": entry(REDTEAM, "--stderr-mb", "8"),
            "slow": entry(REDTEAM, "--slow-start", "3", startup_timeout_seconds=1.5),
            "late": entry(REDTEAM, "--slow-start", "3", startup_timeout_seconds=20),
        },
    )
    try:
        quits = manager.states["quits"]
        assert quits.status is ServerStatus.FAILED
        assert "exited or closed its stdout" in quits.message
        slow = manager.states["slow"]
        assert slow.status is ServerStatus.FAILED and "no answer to initialize within 1.5 s" in slow.message
        assert manager.states["late"].status is ServerStatus.CONNECTED
        chatty = manager.states["chatty"]
        assert chatty.status is ServerStatus.CONNECTED, chatty.status_text
        out = await call(manager, "chatty", "stderr_flood", {"mb": 8})
        assert out.text_content == "flooded"
        log = manager.log_dir / "chatty.log"
        assert log.stat().st_size > 16 * 1024 * 1024  # went to its log, not to a pipe that fills up
    finally:
        await manager.close()


async def test_processes_a_server_leaves_behind_are_stopped(tmp_path: Path) -> None:
    manager = await started(
        tmp_path,
        {"kid": entry(REDTEAM, "--child"), "stubborn": entry(REDTEAM, "--child", "--ignore-sigterm")},
    )
    pids: list[int] = []
    try:
        for name in ("kid", "stubborn"):
            pids += [int(p) for p in (await call(manager, name, "pid")).text_content.split()]
        assert len(pids) == 4 and all(running(p) for p in pids)
    finally:
        await manager.close()
    # "kid" exits when its stdin closes and leaves its child (sleep 600) running; "stubborn"
    # ignores SIGTERM, and so does its child (the disposition is inherited). Neither leaves
    # anything behind.
    assert [p for p in pids if running(p)] == []


# ---- streamable HTTP ----------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [(), ("--json-response",), ("--stateless",), ("--stateless", "--json-response")])
async def test_http_variants(tmp_path: Path, http_servers: list[HttpServer], flags: tuple[str, ...]) -> None:
    server = HttpServer(REDTEAM, *flags)
    http_servers.append(server)
    manager = await started(tmp_path, {"web": {"url": server.url, "tool_timeout_seconds": 1}})
    try:
        assert manager.states["web"].status is ServerStatus.CONNECTED, manager.states["web"].status_text
        assert (await call(manager, "web", "echo", {"text": "hi"})).text_content == "hi"
        sampled = (await call(manager, "web", "sample")).text_content
        assert sampled.startswith("sampling refused:")  # "not supported", or no back-channel to ask on
        out = await call(manager, "web", "hang")
        assert out.is_error and "did not answer within 1 s" in out.text_content
        assert (await call(manager, "web", "echo", {"text": "after"})).text_content == "after"
    finally:
        await manager.close()


async def test_http_500_mid_call_then_the_server_dies(tmp_path: Path, http_servers: list[HttpServer]) -> None:
    server = HttpServer(REDTEAM, "--http-500-on", "echo")
    http_servers.append(server)
    manager = await started(tmp_path, {"web": {"url": server.url}})
    try:
        out = await call(manager, "web", "echo", {"text": "x"})
        assert out.is_error and "HTTP 500 Internal Server Error" in out.text_content
        assert manager.states["web"].status is ServerStatus.CONNECTED
        assert (await call(manager, "web", "pid")).text_content.isdigit()
        server.stop()
        out = await call(manager, "web", "pid")
        assert out.is_error
        # The reason is the refused connection, not the earlier 500.
        assert "HTTP 500" not in out.text_content and "cannot connect" in out.text_content
        state = manager.states["web"]
        assert state.status is ServerStatus.DISCONNECTED and "cannot connect" in state.message
    finally:
        await manager.close()


@pytest.mark.parametrize("flags", [("--no-get",), ()])
async def test_http_server_restart_gets_a_new_session(
    tmp_path: Path, http_servers: list[HttpServer], flags: tuple[str, ...]
) -> None:
    """A restarted server forgets our session (HTTP 404 to its id): the client must open a new
    one. Before, every call failed with "Session not found" while /mcp said connected."""
    server = HttpServer(REDTEAM, *flags)
    http_servers.append(server)
    manager = await started(tmp_path, {"web": {"url": server.url}})
    try:
        before = (await call(manager, "web", "pid")).text_content
        http_servers.append(server.restart())
        pid, echo = await asyncio.gather(call(manager, "web", "pid"), call(manager, "web", "echo", {"text": "both"}))
        assert not pid.is_error and pid.text_content != before, pid.text_content
        assert echo.text_content == "both"
        assert manager.states["web"].status is ServerStatus.CONNECTED
    finally:
        await manager.close()


async def test_a_frozen_server_times_out_calls_and_does_not_hold_up_exit(
    tmp_path: Path, http_servers: list[HttpServer]
) -> None:
    server = HttpServer(REDTEAM)
    http_servers.append(server)
    manager = await started(
        tmp_path,
        {"web": {"url": server.url, "tool_timeout_seconds": 1}, "local": entry(REDTEAM, tool_timeout_seconds=1)},
    )
    local_pid = int((await call(manager, "local", "pid")).text_content)
    os.kill(server.process.pid, signal.SIGSTOP)  # alive, holding its sockets, answering nothing
    os.kill(local_pid, signal.SIGSTOP)
    try:
        for name in ("web", "local"):
            out = await call(manager, name, "echo", {"text": "x"})
            assert out.is_error and "did not answer within 1 s" in out.text_content
    finally:
        started_at = time.monotonic()
        await manager.close()
        closing = time.monotonic() - started_at
        os.kill(server.process.pid, signal.SIGCONT)
    # The HTTP session's DELETE is given 2 s, the stdio server its grace and the kill (about 4 s);
    # both at once, not 8 s or more.
    assert closing < 7.5, closing
    assert not running(local_pid)


async def test_mcpserver_over_http(tmp_path: Path, http_servers: list[HttpServer]) -> None:
    server = HttpServer(MCPSERVER, "--json-response")
    http_servers.append(server)
    manager = await started(tmp_path, {"fh": {"url": server.url}})
    try:
        assert manager.states["fh"].status is ServerStatus.CONNECTED, manager.states["fh"].status_text
        assert (await call(manager, "fh", "greet", {"name": "Bo"})).text_content == "Hello, Bo!"
        assert (await call(manager, "fh", "confirm")).text_content.startswith("could not ask:")
    finally:
        await manager.close()


# ---- config ---------------------------------------------------------------------------------


async def test_commands_that_cannot_run_say_why(tmp_path: Path) -> None:
    scripts = tmp_path / "bin"
    scripts.mkdir()
    shebang = scripts / "server"
    shebang.write_text("#!/no/such/interpreter\n")
    shebang.chmod(0o755)
    manager = await started(
        tmp_path,
        {
            "folder": {"command": str(scripts)},
            "script": {"command": str(shebang)},
            "echoes": {"command": "cat", "startup_timeout_seconds": 2},  # answers our requests with our requests
            "talks": {"command": "yes", "startup_timeout_seconds": 1},
        },
    )
    try:
        states = manager.states
        assert all(states[n].status is ServerStatus.FAILED for n in states), [s.status_text for s in states.values()]
        assert "is a folder, not a program" in states["folder"].message
        assert "interpreter (/no/such/interpreter, on its #! line) does not exist" in states["script"].message
        assert "are not MCP messages (first: 'y')" in states["talks"].message
    finally:
        await manager.close()



async def test_server_names_ending_with_underscore_are_refused(tmp_path: Path) -> None:
    """``a_`` + ``___`` + ``x`` reads as server ``a``'s tool ``_x``: an ``Mcp(a)`` allow rule would
    have covered server ``a_``."""
    manager = await started(tmp_path, {"rt_": entry(REDTEAM), "rt": entry(REDTEAM)})
    try:
        assert manager.states["rt_"].status is ServerStatus.FAILED
        assert "ends with '_'" in manager.states["rt_"].message
        assert manager.states["rt"].status is ServerStatus.CONNECTED
        assert not [n for n in manager.registry.names() if n.startswith("rt____")]
    finally:
        await manager.close()


# ---- stoa -p ------------------------------------------------------------------------------------


def stoa_p(
    env: dict[str, str], workspace: Path, mode: str, *, timeout: float = 90
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    result = subprocess.run(
        [sys.executable, "-m", "stoa.app.cli", "--mode", mode, "-p", "go", "--output-format", "stream-json"],
        env=env,
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result, [e for e in events if e["type"] == "ToolCallFinished"]


def config_toml(servers: dict[str, dict[str, Any]], extra: str = "") -> str:
    from stoa.core.mcp.commands import render_table

    return "\n".join(render_table(name, e) for name, e in servers.items()) + "\n" + extra


@pytest.mark.parametrize(
    ("mode", "extra", "expected"),
    [
        # Headless cannot ask: a mutating MCP tool runs only when a rule allows it.
        ("auto", "", {"rw___echo": "denied", "ro___echo": "ok"}),
        ("auto", '[permissions]\nallow = ["Mcp(rw)"]\n', {"rw___echo": "ok", "ro___echo": "ok"}),
        ("ask", '[permissions]\nallow = ["Mcp(rw___echo)"]\n', {"rw___echo": "ok", "ro___echo": "ok"}),
        ("auto", '[permissions]\ndeny = ["Mcp(ro)"]\n', {"rw___echo": "denied", "ro___echo": "denied"}),
        # Plan mode: safe_mode = "disabled" servers are not offered, read_only ones run.
        ("plan", '[permissions]\nallow = ["Mcp(rw)"]\n', {"rw___echo": "denied", "ro___echo": "ok"}),
    ],
)
def test_headless_permission_gates(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path, mode: str, extra: str, expected: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    (workspace / ".stoa").mkdir(parents=True)
    servers = {"rw": entry(REDTEAM), "ro": entry(REDTEAM, safe_mode="read_only")}
    (workspace / ".stoa" / "config.toml").write_text(config_toml(servers, extra))
    fake_server.script(
        reply(tool_calls=[tool_call("rw___echo", {"text": "rw"}), tool_call("ro___echo", {"text": "ro"})]),
        reply(text="done"),
    )
    result, finished = stoa_p(stoa_env, workspace, mode)
    assert result.returncode == 0, result.stderr
    outcome = {e["name"]: ("denied" if e["is_error"] else "ok") for e in finished}
    assert outcome == expected, finished
    offered = fake_server.model_requests()[0].tool_names
    assert ("rw___echo" in offered) is (mode != "plan")
    assert "ro___echo" in offered
    assert marked_pids(workspace) == []


def test_headless_with_a_hanging_a_crashing_and_a_broken_server(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    (workspace / ".stoa").mkdir(parents=True)
    servers = {
        "slow": entry(REDTEAM, "--child", safe_mode="read_only", tool_timeout_seconds=1),
        "dies": entry(REDTEAM, safe_mode="read_only"),
        "mute": entry(SERVERS / "stoa_test_server.py", "--never-initialize", startup_timeout_seconds=1),
        "bad_": entry(REDTEAM),
    }
    (workspace / ".stoa" / "config.toml").write_text(config_toml(servers))
    fake_server.script(
        reply(tool_calls=[tool_call("slow___pid", {}), tool_call("slow___hang", {}), tool_call("dies___close_stdout", {})]),
        reply(tool_calls=[tool_call("dies___echo", {"text": "again"}), tool_call("mute___echo", {})]),
        reply(text="done"),
    )
    started_at = time.monotonic()
    result, finished = stoa_p(stoa_env, workspace, "auto", timeout=60)
    elapsed = time.monotonic() - started_at
    assert result.returncode == 0, result.stderr
    assert elapsed < 45, elapsed  # bounded by the timeouts, not hung
    # Calls to MCP tools overlap, so they finish in any order.
    by_name = {e["name"]: (e["is_error"], e["result_text"]) for e in finished}
    assert len(by_name) == len(finished) == 5
    assert by_name["slow___pid"][0] is False
    pids = [int(p) for p in by_name["slow___pid"][1].split()]
    assert by_name["slow___hang"][0] and "did not answer within 1 s" in by_name["slow___hang"][1]
    assert by_name["dies___close_stdout"][0] and "closed the connection" in by_name["dies___close_stdout"][1]
    assert by_name["dies___echo"][0] and "/mcp reconnect dies" in by_name["dies___echo"][1]
    assert by_name["mute___echo"][0]  # never connected: no such tool
    assert "mcp: mute: failed: no answer to initialize within 1 s" in result.stderr
    assert "bad_" in result.stderr and "ends with '_'" in result.stderr
    assert [p for p in pids if running(p)] == []  # the server and its child
    assert marked_pids(workspace) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_headless_interrupted_or_killed_mid_call_leaves_no_server_behind(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path, signum: int
) -> None:
    """Ctrl-C, a SIGTERM, or the terminal closing (SIGHUP) while a call hangs: the server and the
    process it started are gone afterwards (SIGTERM and SIGHUP end Python without running any
    clean-up, so the MCP manager handles them)."""
    workspace = tmp_path / "ws"
    (workspace / ".stoa").mkdir(parents=True)
    (workspace / ".stoa" / "config.toml").write_text(config_toml({"rt": entry(REDTEAM, "--child", safe_mode="read_only")}))
    fake_server.script(reply(tool_calls=[tool_call("rt___pid", {})]), reply(tool_calls=[tool_call("rt___hang", {})]))
    process = subprocess.Popen(
        [sys.executable, "-m", "stoa.app.cli", "-p", "go", "--output-format", "stream-json"],
        env=stoa_env,
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        pids: list[int] = []
        for line in process.stdout:
            event = json.loads(line)
            if event["type"] == "ToolCallFinished" and event["name"] == "rt___pid":
                pids = [int(p) for p in event["result_text"].split()]
            if event["type"] == "ToolCallStarted" and event["name"] == "rt___hang":
                break
        assert len(pids) == 2
        process.send_signal(signum)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert [p for p in pids if running(p)] == []


# ---- servers written by others (npm, PyPI) ------------------------------------------------------


@pytest.mark.skipif(
    not (NPM_BIN / "mcp-server-filesystem").exists(), reason="server-filesystem " + NOT_INSTALLED.format("npm")
)
async def test_npm_server_filesystem_and_memory(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    manager = await started(
        tmp_path,
        {
            "fs": {"command": str(NPM_BIN / "mcp-server-filesystem"), "args": [str(allowed)]},
            "memory": {"command": str(NPM_BIN / "mcp-server-memory"), "env": {"MEMORY_FILE_PATH": str(tmp_path / "m.jsonl")}},
        },
    )
    try:
        for name in ("fs", "memory"):
            assert manager.states[name].status is ServerStatus.CONNECTED, manager.states[name].status_text
            assert manager.states[name].skipped_tools == []
        target = allowed / "a.txt"
        out = await call(manager, "fs", "write_file", {"path": str(target), "content": "hello"})
        assert not out.is_error and target.read_text() == "hello"
        # The server repeats its text as {"content": text}: the model reads it once.
        assert (await call(manager, "fs", "read_text_file", {"path": str(target)})).text_content == "hello"
        out = await call(manager, "fs", "read_text_file", {"path": "/etc/hostname"})
        assert out.is_error and "outside allowed directories" in out.text_content
        with pytest.raises(ToolError, match="'path' is a required property"):
            tool_named(manager, "fs", "read_text_file").parse_args({})
        entity = {"name": "stoa", "entityType": "project", "observations": ["red-teamed"]}
        out = await call(manager, "memory", "create_entities", {"entities": [entity]})
        assert not out.is_error
        graph = json.loads((await call(manager, "memory", "read_graph")).text_content)
        assert graph["entities"] == [entity]
    finally:
        await manager.close()


def make_repo(repo: Path) -> Path:
    repo.mkdir()
    names = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "f.txt").write_text("x")
    subprocess.run(["git", "-C", str(repo), "add", "f.txt"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "first commit"], check=True, env={**os.environ, **names})
    return repo


@pytest.mark.skipif(
    not (MCP_VENV_BIN / "mcp-server-time").exists(), reason="mcp-server-time " + NOT_INSTALLED.format("pip")
)
async def test_pypi_server_time_and_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    manager = await started(
        tmp_path,
        {
            "time": {"command": str(MCP_VENV_BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"]},
            "git": {"command": str(MCP_VENV_BIN / "mcp-server-git"), "args": ["--repository", str(repo)]},
        },
    )
    try:
        for name in ("time", "git"):
            assert manager.states[name].status is ServerStatus.CONNECTED, manager.states[name].status_text
        out = await call(manager, "time", "get_current_time", {"timezone": "Asia/Tokyo"})
        assert json.loads(out.text_content)["timezone"] == "Asia/Tokyo"
        out = await call(manager, "time", "get_current_time", {"timezone": "Not/AZone"})
        assert out.is_error and "Invalid timezone" in out.text_content
        out = await call(manager, "git", "git_log", {"repo_path": str(repo), "max_count": 1})
        assert "first commit" in out.text_content
        (repo / "f.txt").write_text("changed")
        out = await call(manager, "git", "git_diff_unstaged", {"repo_path": str(repo)})
        assert "+changed" in out.text_content
    finally:
        await manager.close()


def test_the_servers_screen_lists_tools_and_cuts_long_lists() -> None:
    from stoa.app.screens.mcp import tool_list

    assert tool_list("gh", ["gh___create_issue", "gh___search"]) == "create_issue, search"
    many = [f"rt___tool_{i:03d}" for i in range(146)]
    text = tool_list("rt", many)
    assert text.startswith("tool_000, tool_001") and text.endswith(" more") and len(text) < 330
    shown = text.split(" … and ")[0].count(",") + 1
    assert text.endswith(f"… and {146 - shown} more")
