"""Hooks in the TUI: a project's shared hooks wait for the person's approval (a modal showing the
commands), SessionStart runs at start-up and on /clear, /hooks lists what is active."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from stoa.core.config import load_config
from stoa.widgets.records import NoticeRecord
from tests.fake_server import FakeServer, reply
from tests.ui.conftest import SIZE, AppFactory, answer_question, make_env, wait_for, wait_idle


def project_config(tmp_path: Path, workspace: Path, log: Path) -> Any:
    (workspace / ".stoa").mkdir(exist_ok=True)
    (workspace / ".stoa" / "config.toml").write_text(
        "[[hooks.PostToolUse]]\n"
        'matcher = "write_file|edit_file"\n'
        'command = "ruff format --quiet ."\n'
        "[[hooks.SessionStart]]\n"
        f'command = "cat >> {log}; echo Sprint goal: ship hooks"\n'
    )
    return load_config(workspace, env=make_env(tmp_path, None))


def notices(app: Any) -> list[str]:
    return [r.text for r in app.chat.log_view.records if isinstance(r, NoticeRecord)]


def test_project_hooks_question(snap_compare: Any, app_factory: AppFactory, tmp_path: Path, workspace: Path) -> None:
    """At start-up, a project's shared hooks: a centred box with a warning border naming
    .stoa/config.toml, a table of event, matcher and command (a PostToolUse ruff format on
    write_file|edit_file, a SessionStart cat), a note that the answer is remembered for this
    set, and the numbered answers "1 Do not run them" and "2 Run them" (nothing highlighted)."""
    config = project_config(tmp_path, workspace, Path("/tmp/hooks.log"))

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(lambda: type(pilot.app.screen).__name__ == "HooksTrustScreen", what="the question")
        await pilot.pause()

    assert snap_compare(app_factory(config), terminal_size=SIZE, run_before=run_before)


async def test_approving_runs_them_and_is_remembered(
    app_factory: AppFactory, tmp_path: Path, workspace: Path, fake_server: FakeServer
) -> None:
    log = tmp_path / "start.jsonl"
    config = project_config(tmp_path, workspace, log)
    config.env.update(make_env(tmp_path, fake_server))
    fake_server.script(reply(text="ok"))
    app = app_factory(config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: type(app.screen).__name__ == "HooksTrustScreen", what="the question")
        await answer_question(app, pilot, "2")
        await wait_for(lambda: log.exists(), what="SessionStart")
        assert json.loads(log.read_text())["source"] == "startup"
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("hello")
        await pilot.press("enter")
        await wait_idle(app)
        assert "Sprint goal: ship hooks" in "\n".join(fake_server.model_requests()[0].user_texts)
        app.chat.composer.set_text("/hooks")
        await pilot.press("enter")
        await wait_for(lambda: any("active hook(s)" in n for n in notices(app)), what="/hooks")
        listed = next(n for n in notices(app) if "active hook(s)" in n)
        assert "ruff format --quiet ." in listed and "project, approved" in listed
    # The next start does not ask: the same set was approved.
    again = app_factory(load_config(workspace, env=config.env))
    async with again.run_test(size=SIZE):
        await wait_for(lambda: len(log.read_text().splitlines()) == 2, what="SessionStart again")
        assert type(again.screen).__name__ != "HooksTrustScreen"


async def test_typing_at_start_up_never_answers_the_hooks_question(
    app_factory: AppFactory, tmp_path: Path, workspace: Path, fake_server: FakeServer
) -> None:
    """The question opens while the person already types: "yes 2 fix it" and Enter (a letter
    and a digit that were answers) go to the message; nothing runs until they answer."""
    from textual import events

    log = tmp_path / "start.jsonl"
    config = project_config(tmp_path, workspace, log)
    config.env.update(make_env(tmp_path, fake_server))
    app = app_factory(config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: type(app.screen).__name__ == "HooksTrustScreen", what="the question")
        for character in "yes 2 fix it":
            app.post_message(events.Key("space" if character == " " else character, character))
            await pilot.pause(0.05)  # a person typing: each key restarts the grace period
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert type(app.screen).__name__ == "HooksTrustScreen" and not log.exists()
        assert app.chat.composer.text == "yes 2 fix it"  # kept, not sent
        assert fake_server.model_requests() == []
        await answer_question(app, pilot, "1")
        await wait_for(lambda: any("do not run this session" in n for n in notices(app)), what="the notice")
        assert not log.exists() and app.chat.composer.text == "yes 2 fix it"


async def test_refusing_leaves_them_off(app_factory: AppFactory, tmp_path: Path, workspace: Path) -> None:
    log = tmp_path / "start.jsonl"
    app = app_factory(project_config(tmp_path, workspace, log))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: type(app.screen).__name__ == "HooksTrustScreen", what="the question")
        await answer_question(app, pilot, "1")
        await wait_for(lambda: any("do not run this session" in n for n in notices(app)), what="the notice")
        assert not log.exists()
        assert app.runtime.hooks is not None and app.runtime.hooks.active == []


async def test_a_blocked_prompt_comes_back_to_the_editor(
    app_factory: AppFactory, tmp_path: Path, workspace: Path, fake_server: FakeServer
) -> None:
    home = tmp_path / "stoa-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        '[[hooks.UserPromptSubmit]]\ncommand = "grep -q password && { echo no passwords here >&2; exit 2; } || true"\n'
    )
    config = load_config(workspace, env=make_env(tmp_path, fake_server))
    app = app_factory(config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("my password is hunter2")
        await pilot.press("enter")
        await wait_idle(app)
        await wait_for(lambda: any("blocked this prompt: no passwords here" in n for n in notices(app)), what="why")
        assert app.chat.composer.text == "my password is hunter2"
        assert fake_server.model_requests() == [] and app.runtime.agent.history.messages == []


async def test_session_start_on_startup_and_clear(
    app_factory: AppFactory, tmp_path: Path, workspace: Path, fake_server: FakeServer
) -> None:
    log = tmp_path / "sources.txt"
    home = tmp_path / "stoa-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(f'[[hooks.SessionStart]]\ncommand = "jq -r .source >> {log}"\n')
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: log.exists(), what="SessionStart at start-up")
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("/clear")
        await pilot.press("enter")
        await wait_for(lambda: log.read_text().split() == ["startup", "clear"], what="SessionStart on /clear")
