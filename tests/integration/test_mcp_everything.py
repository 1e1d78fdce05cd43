"""The MCP reference server ``@modelcontextprotocol/server-everything`` (npm, TypeScript SDK),
over stdio and streamable HTTP: a server written by someone else, with its own schemas,
images, structured content, resources and long-running operations.

tests/mcp_servers/install_everything.sh (run by scripts/test) installs it into tests/.npm/;
without npm or the registry these tests are skipped, saying so.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stoa.core.mcp.manager import McpManager, ServerStatus
from stoa.core.providers.types import ImageBlock
from tests.mcp_servers.helpers import EVERYTHING_BIN, make_config, make_manager

pytestmark = pytest.mark.skipif(
    not EVERYTHING_BIN.exists(),
    reason=(
        "@modelcontextprotocol/server-everything is not installed in tests/.npm "
        "(run tests/mcp_servers/install_everything.sh; it needs npm and the npm registry)"
    ),
)


@pytest.fixture
async def everything(tmp_path: Path):
    manager, _, _ = make_manager(make_config(tmp_path, {"ev": {"command": str(EVERYTHING_BIN), "args": ["stdio"]}}))
    await manager.start_all()
    await manager.wait_started()
    try:
        yield manager
    finally:
        await manager.close()


async def test_connects_lists_tools_and_instructions(everything: McpManager) -> None:
    state = everything.states["ev"]
    assert state.status is ServerStatus.CONNECTED, state.status_text
    assert "everything" in state.server_info
    for name in ("ev___echo", "ev___get-sum", "ev___get-tiny-image", "ev___get-structured-content"):
        assert name in everything.registry
    assert state.instructions and "Everything Server" in state.instructions
    assert any("MCP server ev" in label for label, _ in everything.prompt_sections)


async def test_calls_and_result_kinds(everything: McpManager) -> None:
    out = await everything.call_tool("ev", "echo", {"message": "hello everything"})
    assert not out.is_error and "hello everything" in out.text_content
    out = await everything.call_tool("ev", "get-sum", {"a": 2, "b": 3})
    assert "5" in out.text_content
    out = await everything.call_tool("ev", "get-tiny-image", {})
    assert any(isinstance(b, ImageBlock) for b in out.content)
    out = await everything.call_tool("ev", "get-structured-content", {"location": "Chicago"})
    assert not out.is_error and "temperature" in out.text_content
    out = await everything.call_tool("ev", "get-resource-reference", {"resourceType": "Text", "resourceId": 1})
    assert "[resource " in out.text_content
    out = await everything.call_tool("ev", "get-resource-links", {"count": 2})
    assert out.text_content.count("[resource link:") == 2


async def test_schema_is_checked_before_the_call(everything: McpManager) -> None:
    from stoa.core.tools.base import ToolError

    tool = everything.registry.get("ev___get-structured-content")
    assert tool is not None
    with pytest.raises(ToolError, match="location"):
        tool.parse_args({"location": "Atlantis"})


async def test_long_running_operation_reports_progress(everything: McpManager, tmp_path: Path) -> None:
    from stoa.core import events as ev
    from stoa.core.tools.base import ToolContext

    tool = everything.registry.get("ev___trigger-long-running-operation")
    assert tool is not None
    seen: list[ev.Event] = []
    ctx = ToolContext(workspace=tmp_path, call_id="c1", emit=seen.append)
    out = await tool.run(tool.parse_args({"duration": 1, "steps": 2}), ctx)
    assert not out.is_error
    progress = [e.text for e in seen if isinstance(e, ev.ToolCallOutput)]
    assert len(progress) == 2 and "2/2" in progress[-1]


async def test_long_running_operation_hits_the_tool_timeout(tmp_path: Path) -> None:
    manager, _, _ = make_manager(
        make_config(
            tmp_path,
            {"ev": {"command": str(EVERYTHING_BIN), "args": ["stdio"], "tool_timeout_seconds": 1}},
        )
    )
    await manager.start_all()
    await manager.wait_started()
    try:
        out = await manager.call_tool("ev", "trigger-long-running-operation", {"duration": 30, "steps": 3})
        assert out.is_error and "did not answer within 1 s" in out.text_content
        assert (await manager.call_tool("ev", "echo", {"message": "after"})).text_content.endswith("after")
    finally:
        await manager.close()


@contextmanager
def everything_over_http(transport: str) -> Iterator[int]:
    """server-everything listening on a free port with ``transport`` (streamableHttp or sse)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [str(EVERYTHING_BIN), transport],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"server-everything did not start listening ({transport})")
                time.sleep(0.05)
        yield port
    finally:
        process.kill()
        process.wait(10)


@pytest.fixture
def everything_http() -> Iterator[str]:
    with everything_over_http("streamableHttp") as port:
        yield f"http://127.0.0.1:{port}/mcp"


async def test_old_sse_endpoint_fails_with_a_hint(tmp_path: Path) -> None:
    with everything_over_http("sse") as port:
        manager, _, _ = make_manager(make_config(tmp_path, {"old": {"url": f"http://127.0.0.1:{port}/sse"}}))
        await manager.start_all()
        await manager.wait_started()
        try:
            state = manager.states["old"]
            assert state.status is ServerStatus.FAILED
            assert "older HTTP+SSE transport" in state.message and "/mcp" in state.message
        finally:
            await manager.close()


async def test_over_streamable_http(tmp_path: Path, everything_http: str) -> None:
    manager, _, _ = make_manager(make_config(tmp_path, {"evh": {"url": everything_http}}))
    await manager.start_all()
    await manager.wait_started()
    try:
        assert manager.states["evh"].status is ServerStatus.CONNECTED, manager.states["evh"].status_text
        out = await manager.call_tool("evh", "get-sum", {"a": 20, "b": 22})
        assert "42" in out.text_content
    finally:
        await manager.close()
