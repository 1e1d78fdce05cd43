"""MCP tools through the real agent loop: the fake provider calls ``srv___echo`` and the call
reaches the real MCP test server; the tool spec, the server name on ToolCallStarted, the
labelled instructions in the system prompt, error results, permissions (Mcp(...) rules) and
plan mode filtering."""

from __future__ import annotations

from pathlib import Path

import pytest

from stoa.core import events as ev
from stoa.core.config import load_config
from stoa.core.mcp import attach
from stoa.core.mcp.manager import McpManager, ServerStatus
from stoa.core.permissions.approver import PermissionDecision, PermissionRequest
from stoa.core.runtime import Choices, Runtime, build_runtime
from tests.fake_server import FakeServer, reply, tool_call
from tests.mcp_servers.helpers import isolated_env, stdio_entry, write_servers


class Approving:
    """The person at the keyboard: approves once, and remembers what was asked."""

    def __init__(self) -> None:
        self.requests: list[PermissionRequest] = []

    async def approve(self, request: PermissionRequest) -> PermissionDecision:
        self.requests.append(request)
        return PermissionDecision(outcome="once")


def runtime_for(
    tmp_path: Path,
    server: FakeServer,
    servers: dict,
    mode: str = "auto",
    extra: str = "",
    approver: Approving | None = None,
) -> Runtime:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    path = write_servers(workspace, servers)
    if extra:
        path.write_text(path.read_text() + "\n" + extra)
    env = isolated_env(
        tmp_path,
        ANTHROPIC_API_KEY="test-key",
        ANTHROPIC_BASE_URL=server.base_url,
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=server.openai_base_url,
    )
    return build_runtime(
        load_config(workspace, env=env),
        Choices(model="claude-sonnet-4-6", mode=mode),
        approver=approver or Approving(),
    )


async def started(runtime: Runtime) -> McpManager:
    manager = attach(runtime)
    await manager.start_all()
    await manager.wait_started()
    return manager


async def run(runtime: Runtime, text: str) -> list[ev.Event]:
    return [e async for e in runtime.agent.run_turn(text)]


async def test_model_calls_an_mcp_tool_through_the_agent_loop(tmp_path: Path, fake_server: FakeServer) -> None:
    approver = Approving()
    runtime = runtime_for(
        tmp_path, fake_server, {"srv": stdio_entry("--instructions", "Always echo politely.")}, approver=approver
    )
    manager = await started(runtime)
    try:
        assert manager.states["srv"].status is ServerStatus.CONNECTED
        assert runtime.mcp is manager
        fake_server.script(reply(tool_calls=[tool_call("srv___echo", {"text": "hi"})]), reply(text="done"))
        events = await run(runtime, "say hi through the server")
        started_events = [e for e in events if isinstance(e, ev.ToolCallStarted)]
        assert [(e.name, e.server, e.summary) for e in started_events] == [("srv___echo", "srv", "hi")]
        finished = [e for e in events if isinstance(e, ev.ToolCallFinished)]
        assert len(finished) == 1 and not finished[0].is_error and finished[0].result_text == "hi"
        assert isinstance(events[-1], ev.TurnFinished) and events[-1].text == "done"
        first, second = fake_server.model_requests()
        assert "srv___echo" in first.tool_names
        tools = {t["name"]: t for t in first.body["tools"]}
        assert tools["srv___echo"]["input_schema"]["properties"] == {"text": {"type": "string"}}
        assert '<instructions source="MCP server srv' in first.system
        assert "Always echo politely." in first.system
        assert [r.text for r in second.tool_results] == ["hi"]
        # A mutating MCP tool is approved like a native one, naming the tool and its server.
        (request,) = approver.requests
        assert (request.kind, request.target, request.suggested_rule) == ("mcp", "srv___echo", "Mcp(srv___echo)")
    finally:
        await manager.close()


async def test_tool_errors_and_timeouts_reach_the_model_as_errors(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(tmp_path, fake_server, {"srv": stdio_entry(tool_timeout_seconds=0.5)})
    manager = await started(runtime)
    try:
        fake_server.script(
            reply(
                tool_calls=[
                    tool_call("srv___fail", {"message": "quota exceeded"}),
                    tool_call("srv___hang", {"seconds": 30}),
                    tool_call("srv___add", {"a": "not a number"}),
                ]
            ),
            reply(text="they failed"),
        )
        events = await run(runtime, "try things")
        finished = {e.name: e for e in events if isinstance(e, ev.ToolCallFinished)}
        assert finished["srv___fail"].is_error and finished["srv___fail"].result_text == "quota exceeded"
        assert finished["srv___hang"].is_error and "did not answer within 0.5 s" in finished["srv___hang"].result_text
        assert finished["srv___add"].is_error and "invalid arguments for srv___add" in finished["srv___add"].result_text
        results = fake_server.model_requests()[1].tool_results
        assert all(r.is_error for r in results)
        assert isinstance(events[-1], ev.TurnFinished)
    finally:
        await manager.close()


async def test_a_crash_mid_turn_does_not_stop_the_agent(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(tmp_path, fake_server, {"srv": stdio_entry()})
    manager = await started(runtime)
    try:
        fake_server.script(
            reply(tool_calls=[tool_call("srv___crash", {})]),
            reply(tool_calls=[tool_call("srv___echo", {"text": "again"})]),
            reply(text="the server is gone"),
        )
        events = await run(runtime, "crash it")
        finished = [e for e in events if isinstance(e, ev.ToolCallFinished)]
        assert [e.is_error for e in finished] == [True, True]
        assert "closed the connection" in finished[0].result_text
        assert "/mcp reconnect srv" in finished[1].result_text
        assert isinstance(events[-1], ev.TurnFinished) and events[-1].text == "the server is gone"
        assert manager.states["srv"].status is ServerStatus.DISCONNECTED
    finally:
        await manager.close()


async def test_deny_rule_blocks_an_mcp_tool(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(
        tmp_path, fake_server, {"srv": stdio_entry()}, extra='[permissions]\ndeny = ["Mcp(srv___touch)"]\n'
    )
    manager = await started(runtime)
    flag = tmp_path / "touched"
    try:
        fake_server.script(reply(tool_calls=[tool_call("srv___touch", {"path": str(flag)})]), reply(text="ok"))
        events = await run(runtime, "touch it")
        (finished,) = [e for e in events if isinstance(e, ev.ToolCallFinished)]
        assert finished.is_error and finished.status == "denied"
        assert "Mcp(srv___touch)" in finished.result_text
        assert not flag.exists()
    finally:
        await manager.close()


async def test_allow_rule_for_a_server_runs_its_tools_without_asking(tmp_path: Path, fake_server: FakeServer) -> None:
    approver = Approving()
    runtime = runtime_for(
        tmp_path,
        fake_server,
        {"srv": stdio_entry()},
        extra='[permissions]\nallow = ["Mcp(srv)"]\n',
        approver=approver,
    )
    manager = await started(runtime)
    try:
        fake_server.script(reply(tool_calls=[tool_call("srv___echo", {"text": "free"})]), reply(text="ok"))
        events = await run(runtime, "go")
        (finished,) = [e for e in events if isinstance(e, ev.ToolCallFinished)]
        assert finished.result_text == "free"
        assert approver.requests == []
    finally:
        await manager.close()


@pytest.mark.parametrize(("safe_mode", "offered"), [("disabled", False), ("read_only", True)])
async def test_plan_mode_offers_mcp_tools_per_safe_mode(
    tmp_path: Path, fake_server: FakeServer, safe_mode: str, offered: bool
) -> None:
    runtime = runtime_for(tmp_path, fake_server, {"srv": stdio_entry(safe_mode=safe_mode)}, mode="plan")
    manager = await started(runtime)
    try:
        fake_server.script(reply(tool_calls=[tool_call("srv___echo", {"text": "plan"})]), reply(text="ok"))
        events = await run(runtime, "look")
        assert ("srv___echo" in fake_server.model_requests()[0].tool_names) is offered
        (finished,) = [e for e in events if isinstance(e, ev.ToolCallFinished)]
        assert finished.is_error is (not offered)
        if offered:
            assert finished.result_text == "plan"
            assert manager.plan_mode_note() == ""
        else:
            assert "plan mode" in finished.result_text
            assert "srv" in manager.plan_mode_note()
    finally:
        await manager.close()


async def test_plan_mode_with_safe_mode_allow_asks_instead_of_refusing(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    """safe_mode = "allow": the server's tools are offered in plan mode and go through approval."""
    approver = Approving()
    runtime = runtime_for(tmp_path, fake_server, {"srv": stdio_entry(safe_mode="allow")}, mode="plan", approver=approver)
    manager = await started(runtime)
    try:
        tool = runtime.registry.get("srv___echo")
        assert tool is not None and getattr(tool, "offered_in_plan", False)
        probe = tool.accesses(tool.parse_args({"text": "x"}), None)  # type: ignore[arg-type]
        if runtime.policy.decide("srv___echo", tool.effect, probe).action == "deny":
            pytest.skip(
                'core/permissions denies every mutation in plan mode; safe_mode = "allow" needs it to ask '
                'for MCP accesses whose facts say safe_mode == "allow" (reported to the permissions owner)'
            )
        fake_server.script(reply(tool_calls=[tool_call("srv___echo", {"text": "planned"})]), reply(text="ok"))
        events = await run(runtime, "look")
        assert "srv___echo" in fake_server.model_requests()[0].tool_names
        (finished,) = [e for e in events if isinstance(e, ev.ToolCallFinished)]
        assert finished.result_text == "planned"
        assert [r.target for r in approver.requests] == ["srv___echo"]
    finally:
        await manager.close()


async def test_calls_to_two_servers_in_one_reply_overlap_and_one_servers_calls_keep_order(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    runtime = runtime_for(tmp_path, fake_server, {"a": stdio_entry(), "b": stdio_entry()})
    manager = await started(runtime)
    flag, other = tmp_path / "flag", tmp_path / "other"
    try:
        fake_server.script(
            reply(
                tool_calls=[
                    # a waits for a file only b's call creates: run one after the other, a would fail.
                    tool_call("a___wait_for_file", {"path": str(flag), "timeout": 20}),
                    tool_call("b___touch", {"path": str(flag)}),
                    # Two calls to the same server run in order: the wait ends before the touch.
                    tool_call("b___wait_for_file", {"path": str(other), "timeout": 0.5}),
                    tool_call("b___touch", {"path": str(other)}),
                ]
            ),
            reply(text="done"),
        )
        events = await run(runtime, "go")
        finished = {e.call_id: e for e in events if isinstance(e, ev.ToolCallFinished)}
        results = [finished[c.id] for c in fake_server.model_requests()[1].tool_calls]
        assert [r.result_text for r in results] == [
            "the file appeared",
            "touched",
            "the file never appeared",
            "touched",
        ]
    finally:
        await manager.close()
