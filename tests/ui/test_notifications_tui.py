"""Notifications while the terminal is not focused (the terminal's focus report: App.app_focus):
a finished turn and a permission prompt ring the bell or send OSC 9 / OSC 777, as
``[notifications] method`` says; nothing while focused, nothing when off."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events

from stoa.app.notify import sequence
from stoa.app.screens.permission import PermissionScreen
from stoa.core.config import load_config
from tests.fake_server import FakeServer, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, answer_permission, make_env, wait_for, wait_idle


def _config(workspace: Path, tmp_path: Path, server: FakeServer, method: str | None, **env: str):  # type: ignore[no-untyped-def]
    if method is not None:
        (workspace / ".stoa").mkdir(exist_ok=True)
        (workspace / ".stoa" / "config.toml").write_text(f'[notifications]\nmethod = "{method}"\n')
    return load_config(workspace, env={**make_env(tmp_path, server), **env})


async def _turn_while_away(app, pilot, text: str = "hi") -> None:  # type: ignore[no-untyped-def]
    await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
    app.post_message(events.AppBlur())
    await wait_for(lambda: not app.app_focus, what="the blur")
    app.chat.composer.set_text(text)
    app.chat.composer.submit()  # not a key press: a key tells Textual the terminal has focus again
    await wait_for(lambda: any(type(r).__name__ == "AssistantRecord" for r in app.chat.log_view.records), what="reply")
    await wait_idle(app)


@pytest.mark.parametrize(
    ("method", "env", "expected"),
    [
        ("bell", {}, "\x07"),
        ("osc9", {}, "\x1b]9;Stoa: the agent is done: your turn\x07"),
        ("osc777", {}, "\x1b]777;notify;Stoa;the agent is done: your turn\x07"),
        (None, {"TERM_PROGRAM": "iTerm.app"}, "\x1b]9;Stoa: the agent is done: your turn\x07"),
        (None, {"TERM": "foot"}, "\x1b]777;notify;Stoa;the agent is done: your turn\x07"),
        (None, {"TERM": "xterm-256color"}, "\x07"),
    ],
)
async def test_a_finished_turn_notifies_when_unfocused(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path,
    method: str | None, env: dict[str, str], expected: str,
) -> None:  # fmt: skip
    fake_server.script(reply(text="done"))
    app = app_factory(_config(workspace, tmp_path, fake_server, method, **env))
    async with app.run_test(size=SIZE) as pilot:
        await _turn_while_away(app, pilot)
        assert getattr(app, "notifications_sent", []) == [expected]


async def test_nothing_while_focused_or_off(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    fake_server.script(reply(text="one"), reply(text="two"))
    app = app_factory(_config(workspace, tmp_path, fake_server, None))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        await pilot.press(*"hi", "enter")
        await wait_idle(app)
        assert getattr(app, "notifications_sent", []) == []
    off = app_factory(_config(workspace, tmp_path, fake_server, "off"))
    async with off.run_test(size=SIZE) as pilot:
        await _turn_while_away(off, pilot)
        assert getattr(off, "notifications_sent", []) == []


async def test_a_permission_prompt_notifies(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "a.txt", "content": "x"})]),
        reply(text="ok"),
    )
    app = app_factory(_config(workspace, tmp_path, fake_server, "osc9"), mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.post_message(events.AppBlur())
        await wait_for(lambda: not app.app_focus, what="the blur")
        app.chat.composer.set_text("write it")
        app.chat.composer.submit()
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the question")
        assert getattr(app, "notifications_sent", [])[0] == "\x1b]9;Stoa needs you: approve write_file?\x07"
        await answer_permission(app, pilot, "escape")
        await wait_idle(app)


def test_text_cannot_end_the_sequence_early() -> None:
    assert sequence("osc777", "a;b", "line\x1b]x\x07end", {}) == "\x1b]777;notify;a,b;line]xend\x07"
