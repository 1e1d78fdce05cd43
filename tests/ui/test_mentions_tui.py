"""The @ picker in the TUI: a real workspace (git-ignored and deny-ruled files), the real chat
screen and agent, the fake provider server. Snapshot: tests/ui/test_snapshots_composer.py."""

from __future__ import annotations

import json
from pathlib import Path

from stoa.core.config import load_config
from tests.fake_server import FakeServer, reply
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for, wait_idle


def make_project(workspace: Path) -> None:
    (workspace / ".git").mkdir()
    (workspace / ".gitignore").write_text("build/\n")
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("print('from app')\n")
    (workspace / "src" / "application.md").write_text("# notes\n")
    (workspace / "build").mkdir()
    (workspace / "build" / "app_built.py").write_text("x = 1\n")
    (workspace / "secrets").mkdir()
    (workspace / "secrets" / "app_key.txt").write_text("hunter2\n")
    (workspace / ".stoa").mkdir()
    (workspace / ".stoa" / "config.local.toml").write_text('[permissions]\ndeny = ["Read(secrets/**)"]\n')


async def test_at_opens_the_picker_and_tab_completes(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    make_project(workspace)
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)))
    fake_server.script(reply(text="It prints."))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.chat.composer
        await wait_for(lambda: composer.input.has_focus, what="focus")
        await pilot.press(*"explain ", "@", "a", "p", "p")
        picker = composer.mention_list
        await wait_for(lambda: "src/app.py" in picker.paths, what="the picker's candidates")
        # git-ignored and deny-ruled files are never offered
        assert not any("build" in p or "secrets" in p for p in picker.paths), picker.paths
        assert picker.current == "src/app.py"
        await pilot.press("tab")
        assert composer.text == "explain @src/app.py "
        assert not picker.is_open
        await pilot.press("enter")
        await wait_idle(app)
        body = json.dumps(fake_server.model_requests()[0].json)
        assert "from app" in body
        notices = [r for r in app.chat.log_view.records if type(r).__name__ == "NoticeRecord"]
        assert any("attached: src/app.py" in r.text for r in notices)


async def test_folder_completion_keeps_the_picker_open_and_esc_closes(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    make_project(workspace)
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.chat.composer
        await wait_for(lambda: composer.input.has_focus, what="focus")
        await pilot.press("@", "s", "r", "c")
        picker = composer.mention_list
        await wait_for(lambda: picker.current == "src/", what="the folder first")
        await pilot.press("enter")
        assert composer.text == "@src/"
        assert picker.is_open and all(p.startswith("src/") for p in picker.paths)
        await pilot.press("escape")
        assert not picker.is_open and composer.text == "@src/"
        await pilot.press("x")
        assert picker.is_open  # the text changed: the picker comes back


async def test_tab_in_a_burst_puts_in_what_matches_the_typed_word_not_the_stale_top(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    from textual import events

    make_project(workspace)
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.chat.composer
        await wait_for(lambda: composer.input.has_focus, what="focus")
        await pilot.press("@", "a", "p", "p")
        picker = composer.mention_list
        await wait_for(lambda: picker.current == "src/app.py", what="the picker's candidates")
        for character in "lication":  # typed on, with Tab in the same burst
            app.post_message(events.Key(character, character))
        app.post_message(events.Key("tab", None))
        await wait_for(lambda: not picker.is_open, what="the completion")
        assert composer.text == "@src/application.md "


async def test_at_inside_a_word_does_not_open_the_picker(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        composer = app.chat.composer
        await wait_for(lambda: composer.input.has_focus, what="focus")
        await pilot.press(*"ann", "@", "x")
        assert not composer.mention_list.is_open


async def test_a_mention_in_a_steering_message_is_attached(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    from tests.fake_server import fault, tool_call

    make_project(workspace)
    fake_server.script(
        fault("stall", after_events=4, seconds=2.0,
              reply=reply(text="Reading first.", chunk_size=4, tool_calls=[tool_call("list_directory", {"path": "."})])),
        reply(text="Compared."),
    )  # fmt: skip
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"look", "enter")
        await wait_for(lambda: app.chat.busy, what="the turn")
        app.chat.composer.set_text("also see @src/app.py")
        await pilot.press("enter")
        assert app.chat.queued == ["also see @src/app.py"]
        await wait_idle(app)
        second = json.dumps(fake_server.model_requests()[1].json)
        assert "also see @src/app.py" in second and "from app" in second
