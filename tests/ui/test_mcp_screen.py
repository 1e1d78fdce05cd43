"""/mcp in the real app (Pilot): the servers screen with mixed statuses (connected, starting,
failed, disconnected, disabled), live updates, reconnect from the screen, /mcp add and remove
from the composer, the status bar count, and a snapshot of the screen.

The servers are real: the MCP test server over stdio, started by the app after its first
paint. Commands are written relative to the workspace (``./srv``, a wrapper script) so the
picture is the same on every machine.
"""

from __future__ import annotations

import asyncio
import stat
import sys
from pathlib import Path
from typing import Any

from stoa.app.screens.mcp import McpServersScreen
from stoa.app.tui import StoaApp
from stoa.core.config import StoaConfig, load_config
from stoa.core.mcp.commands import render_table
from stoa.core.mcp.manager import McpManager, ServerStatus
from tests.fake_server import FakeServer
from tests.mcp_servers.helpers import SERVER_SCRIPT
from tests.mcp_servers.stoa_test_server import STATIC_TOOLS
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for


def mixed_config(tmp_path: Path, workspace: Path, server: FakeServer) -> StoaConfig:
    wrapper = workspace / "srv"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SERVER_SCRIPT}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    servers = {
        "alpha": {"command": "./srv", "args": ["--instructions", "alpha rules"], "safe_mode": "read_only"},
        "beta": {"command": "./srv"},
        "gamma": {"command": "no-such-mcp-server"},
        "delta": {"command": "./srv", "args": ["--never-initialize"], "startup_timeout_seconds": 120},
        "omega": {"command": "./srv", "enabled": False},
    }
    config_file = workspace / ".stoa" / "config.toml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text("\n".join(render_table(name, entry) for name, entry in servers.items()))
    return load_config(workspace, env=make_env(tmp_path, server))


async def settle(app: StoaApp) -> McpManager:
    """Until the servers that can connect have, and beta has crashed (disconnected)."""
    await wait_for(lambda: app.runtime.mcp is not None, what="the MCP manager")
    manager = app.runtime.mcp
    assert manager is not None
    await wait_for(
        lambda: all(manager.states.get(n) and manager.states[n].status is not ServerStatus.STARTING
                    for n in ("alpha", "beta", "gamma")),
        limit=30,
        what="servers to start",
    )
    await manager.call_tool("beta", "crash", {})
    await wait_for(lambda: manager.states["beta"].status is ServerStatus.DISCONNECTED, what="beta to disconnect")
    return manager


async def open_mcp(pilot: Any) -> McpServersScreen:
    await pilot.press(*"/mcp")
    await pilot.press("enter")
    await wait_for(lambda: isinstance(pilot.app.screen, McpServersScreen), what="the /mcp screen")
    await pilot.pause()
    return pilot.app.screen


def table_rows(screen: McpServersScreen) -> dict[str, list[str]]:
    from textual.widgets import DataTable

    table = screen.query_one("#mcp-table", DataTable)
    return {
        str(table.get_row_at(i)[0]): [str(cell) for cell in table.get_row_at(i)]
        for i in range(table.row_count)
    }


async def test_mcp_screen_shows_mixed_statuses_and_reconnects(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    app = app_factory(mixed_config(tmp_path, workspace, fake_server))
    async with app.run_test(size=SIZE) as pilot:
        manager = await settle(app)
        assert app.chat.status_bar.info.mcp == "MCP 1/4"  # omega is disabled
        screen = await open_mcp(pilot)
        rows = table_rows(screen)
        assert set(rows) == {"alpha", "beta", "gamma", "delta", "omega"}, rows
        assert [rows[n][2] for n in ("alpha", "beta", "delta", "gamma", "omega")] == [
            "connected", "disconnected", "starting", "failed", "disabled",
        ]
        assert rows["alpha"][1] == "stdio" and rows["alpha"][3] == str(len(STATIC_TOOLS))
        assert rows["alpha"][4] == "offered" and rows["beta"][4] == "hidden"
        assert "command not found" in rows["gamma"][5]
        # Highlight beta (second row) and reconnect it from the screen.
        await pilot.press("down")
        await pilot.press("r")
        await wait_for(lambda: manager.states["beta"].status is ServerStatus.CONNECTED, limit=30, what="beta back")
        await pilot.pause()
        assert table_rows(screen)["beta"][2] == "connected"
        assert app.chat.status_bar.info.mcp == "MCP 2/4"
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, McpServersScreen), what="the screen to close")


async def test_mcp_add_and_remove_from_the_composer(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    config = load_config(workspace, env=make_env(tmp_path, fake_server))  # no servers configured
    app = app_factory(config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*f"/mcp add later {sys.executable} {SERVER_SCRIPT}")
        await pilot.press("enter")
        await wait_for(lambda: app.runtime.mcp is not None, what="the manager")
        manager = app.runtime.mcp
        assert manager is not None
        await wait_for(
            lambda: "later" in manager.states and manager.states["later"].status is ServerStatus.CONNECTED,
            limit=30,
            what="the added server",
        )
        assert "later___echo" in app.runtime.registry
        assert "[mcp-servers.later]" in (workspace / ".stoa" / "config.local.toml").read_text()
        await wait_for(lambda: app.chat.status_bar.info.mcp == "MCP 1/1", what="the status bar")
        await pilot.press(*"/mcp remove later")
        await pilot.press("enter")
        await wait_for(lambda: "later" not in manager.states, what="the server to go")
        assert "later___echo" not in app.runtime.registry
        await pilot.press(*"/mcp frobnicate")
        await pilot.press("enter")
        await asyncio.sleep(0.2)  # the error is a notice in the log; the app keeps going
        assert app.is_running


def test_snapshot_mcp_screen_mixed_statuses(
    snap_compare: Any, tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    """/mcp over the chat with five servers, one per status: alpha connected (16 tools, offered
    in plan mode), beta disconnected after a crash, delta still starting, gamma failed with
    "command not found: 'no-such-mcp-server'", omega disabled. The first row (alpha) is
    highlighted and its details (./srv, from ./.stoa/config.toml, server stoa-test) show below;
    the status bar says MCP 1/4."""
    app = app_factory(mixed_config(tmp_path, workspace, fake_server))

    async def run_before(pilot: Any) -> None:
        await settle(pilot.app)
        await open_mcp(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_servers_start_while_the_resume_picker_waits(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    """Servers start with the app, not after the session opens: with ``-r`` the picker waits for
    the person while they connect. A server that failed meanwhile is reported in the log once
    the session is on screen (loading the session replaces the log)."""
    from stoa.app.screens.resume import ResumePickerScreen
    from stoa.widgets.records import NoticeRecord

    config_file = workspace / ".stoa" / "config.toml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    servers = {"ok": {"command": sys.executable, "args": [str(SERVER_SCRIPT)]}, "gone": {"command": "no-such-mcp-server"}}
    config_file.write_text("\n".join(render_table(name, entry) for name, entry in servers.items()))
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)), sessions=True, resume="")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, ResumePickerScreen), what="the picker")

        def connected() -> bool:
            manager = app.runtime.mcp
            state = manager.states.get("ok") if manager is not None else None
            return state is not None and state.status is ServerStatus.CONNECTED

        await wait_for(connected, limit=30, what="the server to connect while the picker is open")
        assert isinstance(app.screen, ResumePickerScreen)
        await pilot.press("escape")
        await wait_for(lambda: app.chat.ready, what="the new session")

        def failure_shown() -> bool:
            return any(
                isinstance(r, NoticeRecord) and "MCP server gone" in r.text and "command not found" in r.text
                for r in app.chat.log_view.records
            )

        await wait_for(failure_shown, what="the notice about the failed server")
        await wait_for(lambda: app.chat.status_bar.info.mcp == "MCP 1/2", what="the status bar")
