"""Custom slash commands in the TUI: listed in the slash list, /help and the palette with their
description (a broken file with its error), run as a turn with the expanded prompt, the front
matter's allowed-tools allowed for that turn only. Real files, the fake provider server."""

from __future__ import annotations

from pathlib import Path

from stoa.app.screens.permission import PermissionScreen
from stoa.core.config import load_config
from tests.fake_server import FakeServer, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, answer_permission, make_env, wait_for, wait_idle


def make_commands(workspace: Path) -> None:
    folder = workspace / ".stoa" / "commands"
    folder.mkdir(parents=True)
    (folder / "greet.md").write_text("---\ndescription: Greet someone\nargument-hint: NAME\n---\nSay hello to $1.\n")
    (folder / "stamp.md").write_text("---\ndescription: Make the stamp\nallowed-tools: Bash(touch stamp.txt)\n---\nStamp it.\n")
    (folder / "broken.md").write_text("---\nthis line is no key\n---\nHi\n")
    claude = workspace / ".claude" / "commands"
    claude.mkdir(parents=True)
    (claude / "legacy.md").write_text("An old command from Claude Code.\n")


async def test_slash_list_help_and_palette_list_them(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    make_commands(workspace)
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.chat.composer
        await wait_for(lambda: composer.input.has_focus, what="focus")
        await pilot.press("slash", "g", "r")
        names = [item.name for item in composer.slash_list.items]
        assert names[0] == "greet"
        assert composer.slash_list.items[0].description == "Greet someone (project)"
        assert composer.slash_list.items[0].args == "[NAME]"
        items = {item.name: item for item in app.chat.commands.slash_items()}
        assert "front matter line 2 is not 'key: value'" in items["broken"].description
        assert items["legacy"].description == "An old command from Claude Code. (project (.claude))"
        await pilot.press("escape")
        composer.set_text("")
        composer.set_text("/broken")
        await pilot.press("enter")
        await wait_for(
            lambda: any("/broken cannot run" in getattr(r, "text", "") for r in app.chat.log_view.records),
            what="the broken command's error",
        )
        assert fake_server.model_requests() == []


async def test_custom_command_runs_as_a_turn(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    make_commands(workspace)
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)))
    fake_server.script(reply(text="Hello, Bob!"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("/greet Bob")
        await pilot.press("enter")
        await wait_for(lambda: len(fake_server.model_requests()) == 1, what="the request")
        await wait_idle(app)
        assert fake_server.model_requests()[0].user_texts[-1] == "Say hello to Bob."
        users = [r.text for r in app.chat.log_view.records if type(r).__name__ == "UserRecord"]
        assert users == ["/greet Bob"]


async def test_allowed_tools_hold_for_the_command_turn_only(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    make_commands(workspace)
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)), mode="ask")
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "touch stamp.txt"})]),
        reply(text="Stamped."),
        reply(tool_calls=[tool_call("execute_bash", {"command": "touch stamp.txt"})]),
        reply(text="Asked."),
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("/stamp")
        await pilot.press("enter")
        await wait_for(lambda: len(fake_server.model_requests()) == 2, what="the command's turn")
        await wait_idle(app)
        assert (workspace / "stamp.txt").exists()
        (workspace / "stamp.txt").unlink()
        app.chat.composer.set_text("stamp it again")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the question")
        await answer_permission(app, pilot, "escape")
        await wait_idle(app)
        assert not (workspace / "stamp.txt").exists()
