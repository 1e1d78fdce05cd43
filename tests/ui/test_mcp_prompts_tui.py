"""MCP prompts and resources in the TUI: once the test MCP server connects, /docs:review is in
the slash list and runs as a turn; the @ picker offers docs:stoa://... resources, attached when
sent. The real test server over stdio, the fake provider server."""

from __future__ import annotations

import json
from pathlib import Path

from stoa.core.config import load_config
from stoa.core.mcp.manager import ServerStatus
from tests.fake_server import FakeServer, reply
from tests.mcp_servers.helpers import stdio_entry, write_servers
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for, wait_idle


async def test_prompt_command_and_resource_mention(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    write_servers(workspace, {"docs": stdio_entry()})
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)))
    fake_server.script(reply(text="Reviewed."), reply(text="Read it."))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.runtime.mcp is not None, what="the MCP manager")
        manager = app.runtime.mcp
        await wait_for(lambda: manager.states["docs"].status is ServerStatus.CONNECTED, limit=60, what="docs")
        await wait_for(lambda: "docs:review" in app.chat.commands, what="the prompt command")
        composer = app.chat.composer
        await pilot.press("slash", "d", "o", "c")
        item = composer.slash_list.items[0]
        assert item.name == "docs:review" and item.args == "<path> [focus]" and "(MCP docs)" in item.description
        await pilot.press("escape")
        composer.set_text("/docs:review a.py speed")
        await pilot.press("enter")
        await wait_for(lambda: len(fake_server.model_requests()) == 1, what="the prompt's turn")
        await wait_idle(app)
        assert fake_server.model_requests()[0].user_texts[-1] == "Review a.py with a focus on speed."
        composer.set_text("")
        await pilot.press(*"see ", "@", *"readme")
        await wait_for(lambda: "docs:stoa://notes/readme" in composer.mention_list.paths, what="the resource")
        await pilot.press("tab")
        assert composer.text == "see @docs:stoa://notes/readme "
        await pilot.press("enter")
        await wait_idle(app)
        assert "The notes say: ship it." in json.dumps(fake_server.model_requests()[1].json)
