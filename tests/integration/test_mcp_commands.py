"""/mcp commands against a running manager: add (the server starts), list, add-http, remove
(the server stops and its tools leave), reconnect, and errors that change nothing."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from stoa.core.mcp.commands import run_command
from stoa.core.mcp.manager import ServerStatus
from tests.mcp_servers.helpers import SERVER_SCRIPT, HttpTestServer, make_config, make_manager, stdio_entry
from tests.mcp_servers.stoa_test_server import STATIC_TOOLS


async def test_add_list_remove_reconnect(tmp_path: Path) -> None:
    manager, registry, _ = make_manager(make_config(tmp_path, {"base": stdio_entry()}))
    local = manager.config.workspace / ".stoa" / "config.local.toml"
    try:
        await manager.start_all()
        await manager.wait_started()

        result = await run_command(f"add extra {sys.executable} {SERVER_SCRIPT} --instructions 'be nice'", manager)
        assert result.ok, result.message
        assert "added extra" in result.message and "started extra" in result.message
        assert tomllib.loads(local.read_text())["mcp-servers"]["extra"]["args"][-2:] == ["--instructions", "be nice"]
        await manager.wait_started()
        assert manager.states["extra"].status is ServerStatus.CONNECTED
        assert "extra___echo" in registry

        listing = await run_command("", manager)
        assert listing.ok and [r.name for r in listing.rows] == ["base", "extra"]
        assert "extra  stdio  connected" in listing.message and f"{len(STATIC_TOOLS)} tools" in listing.message

        reconnect = await run_command("reconnect extra", manager)
        assert reconnect.ok and "reconnecting extra" in reconnect.message
        await manager.wait_started()
        assert manager.states["extra"].status is ServerStatus.CONNECTED

        removed = await run_command("remove extra", manager)
        assert removed.ok and "removed extra" in removed.message
        assert "extra" not in manager.states and "extra___echo" not in registry
        assert "base___echo" in registry  # the other server is untouched
    finally:
        await manager.close()


async def test_removing_a_server_defined_in_the_shared_config_says_where(tmp_path: Path) -> None:
    manager, _, _ = make_manager(make_config(tmp_path, {"shared": stdio_entry()}))
    try:
        result = await run_command("remove shared", manager)
        assert not result.ok and "shared is defined in" in result.message and "enabled = false" in result.message
        result = await run_command("remove ghost", manager)
        assert not result.ok and "ghost is not in" in result.message
        result = await run_command("reconnect nobody", manager)
        assert not result.ok and "no MCP server named 'nobody'" in result.message
        result = await run_command("add shared-too", manager)
        assert not result.ok and "usage" in result.message
    finally:
        await manager.close()


async def test_add_http_with_a_secret_header(tmp_path: Path) -> None:
    server = HttpTestServer("--require-token", "tok")
    manager, registry, _ = make_manager(make_config(tmp_path, {}, WEB_TOKEN="tok"))
    try:
        result = await run_command(f"add-http web {server.url} --header 'Authorization=Bearer ${{WEB_TOKEN}}'", manager)
        assert result.ok, result.message
        local = (manager.config.workspace / ".stoa" / "config.local.toml").read_text()
        assert "${WEB_TOKEN}" in local and "Bearer tok" not in local  # the secret stays out of the file
        await manager.wait_started()
        assert manager.states["web"].status is ServerStatus.CONNECTED, manager.states["web"].status_text
        assert "web___echo" in registry
    finally:
        await manager.close()
        server.stop()


async def test_reload_restarts_only_what_changed(tmp_path: Path) -> None:
    servers = {"keep": stdio_entry(), "off": stdio_entry(enabled=False), "bad": {"command": 1}}
    manager, _, _ = make_manager(make_config(tmp_path, servers))
    try:
        await manager.start_all()
        await manager.wait_started()
        kept = manager.states["keep"]
        assert await manager.reload() == []
        assert manager.states["keep"] is kept and kept.status is ServerStatus.CONNECTED
    finally:
        await manager.close()
