"""Snapshots of the composer's popups (issue 17): the @ file picker. 120x40, deterministic
(fixed clock, no animation, a fixed workspace). SVGs in snapshots/test_snapshots_composer/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from stoa.core.config import load_config
from tests.fake_server import FakeServer
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for
from tests.ui.test_mentions_tui import make_project


def test_mention_picker(
    snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    """"explain @ap" typed: the picker above the prompt lists the matching files of the
    workspace (file name matches first, the folder part dimmed); git-ignored build/ and the
    deny-ruled secrets/ are not offered."""
    make_project(workspace)
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)))

    async def run_before(pilot: Pilot[Any]) -> None:
        chat: Any = app.chat
        await wait_for(lambda: chat.is_mounted and chat.composer.input.has_focus, what="focus")
        await pilot.press(*"explain ", "@", "a", "p")
        await wait_for(lambda: "src/app.py" in chat.composer.mention_list.paths, what="candidates")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_slash_list_with_custom_commands(
    snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    """"/" typed in a project with custom commands: they are listed with the built-ins, each
    with its description and where it comes from; the broken file shows its error."""
    from tests.ui.test_custom_commands_tui import make_commands

    make_commands(workspace)
    app = app_factory(load_config(workspace, env=make_env(tmp_path, fake_server)))

    async def run_before(pilot: Pilot[Any]) -> None:
        chat: Any = app.chat
        await wait_for(lambda: chat.is_mounted and chat.composer.input.has_focus, what="focus")
        await pilot.press("slash", "b")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_high_contrast_theme(
    snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    """theme = "stoa-high-contrast": black background, white text, yellow accents; the tool
    calls expanded (the edit's diff in bright green and red, the read's preview, shell output)."""
    from stoa.core.config import set_top_level_setting
    from tests.ui.test_snapshots import _tool_turn, send

    env = make_env(tmp_path, fake_server)
    set_top_level_setting(Path(env["STOA_HOME"]) / "config.toml", "theme", "stoa-high-contrast")
    _tool_turn(fake_server, workspace)
    app = app_factory(load_config(workspace, env=env))

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "Move the server to port 8080 and run the checks.")
        await pilot.press("ctrl+o")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
