"""Vim mode in the composer: normal/insert, motions, operators with motions and counts, put,
undo; Esc in normal mode still reaches the screen; /vim toggles it and saves it. The composer on
its own (Pilot), and the real app for /vim."""

from __future__ import annotations

import tomllib
from pathlib import Path

from stoa.core.config import load_config
from tests.fake_server import FakeServer
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for
from tests.ui.test_composer import ComposerApp


async def test_motions_and_operators() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        composer = app.composer
        composer.set_vim(True)
        await pilot.press(*"one two three", "escape")
        assert composer.vim.mode == "normal" and composer.input.border_title == "-- NORMAL --"
        await pilot.press("0", "d", "w")
        assert composer.text == "two three"
        await pilot.press("c", "w", *"2", "escape")
        assert composer.text == "2 three"
        await pilot.press("$", "x")
        assert composer.text == "2 thre"
        await pilot.press("u")
        assert composer.text == "2 three"
        await pilot.press("0", "y", "w", "$", "p")
        assert composer.text == "2 three2 "
        await pilot.press("d", "d")
        assert composer.text == ""
        await pilot.press("i", *"alpha beta", "escape", "b", "D")
        assert composer.text == "alpha "
        await pilot.press("A", *"gamma", "escape")
        assert composer.text == "alpha gamma"


async def test_lines_counts_and_put() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        composer = app.composer
        composer.set_vim(True)
        composer.set_text("a\nb\nc\nd")
        await pilot.press("escape", "g", "g")
        assert composer.input.cursor_location == (0, 0)
        await pilot.press("2", "d", "d")
        assert composer.text == "c\nd"
        await pilot.press("p")
        assert composer.text == "c\na\nb\nd"
        await pilot.press("G", "o", *"e", "escape")
        assert composer.text == "c\na\nb\nd\ne"
        await pilot.press("g", "g", "3", "j", "r", "D")
        assert composer.text == "c\na\nb\nD\ne"


async def test_enter_sends_from_normal_mode_and_esc_reaches_the_screen() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        composer = app.composer
        composer.set_vim(True)
        await pilot.press(*"hello", "escape", "enter")
        await pilot.pause()
        assert app.submitted == [("hello", "hello")]
        assert composer.vim.mode == "insert"  # a new message starts in insert mode
        await pilot.press("escape")
        assert not composer.vim_key("escape", None)  # normal mode: Esc is the screen's


async def test_vim_command_toggles_and_saves(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    env = make_env(tmp_path, fake_server)
    app = app_factory(load_config(workspace, env=env))
    saved = Path(env["STOA_HOME"]) / "config.toml"
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("/vim")
        await pilot.press("enter")
        await wait_for(lambda: app.chat.composer.vim is not None, what="vim mode")
        await wait_for(lambda: saved.exists() and tomllib.loads(saved.read_text()).get("vim") is True, what="saved")
    again = app_factory(load_config(workspace, env=env))
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(lambda: again.chat.composer.vim is not None, what="vim mode at start")
        again.chat.composer.set_text("/vim")
        await pilot.press("enter")
        await wait_for(lambda: again.chat.composer.vim is None, what="vim mode off")
        await wait_for(lambda: tomllib.loads(saved.read_text()).get("vim") is False, what="saved off")
