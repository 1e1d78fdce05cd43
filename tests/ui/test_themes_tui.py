"""Themes: /theme NAME switches and saves it to the user's config file, the next start uses it;
a name that is no theme is refused (command) or warned about (config); /theme alone opens the
picker. Snapshot of the high-contrast theme: tests/ui/test_snapshots_composer.py."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.command import CommandPalette

from stoa.core.config import load_config, set_top_level_setting
from tests.fake_server import FakeServer
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for


def notices(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.text for r in app.chat.log_view.records if type(r).__name__ == "NoticeRecord"]


async def test_theme_command_switches_and_is_saved(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    env = make_env(tmp_path, fake_server)
    global_config = Path(env["STOA_HOME"]) / "config.toml"
    global_config.parent.mkdir(parents=True, exist_ok=True)
    global_config.write_text('# mine\nmodel = "sonnet"\n\n[web]\nsearch = true\n')
    app = app_factory(load_config(workspace, env=env))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("/theme stoa-high-contrast")
        await pilot.press("enter")
        await wait_for(lambda: app.theme == "stoa-high-contrast", what="the theme")
        await wait_for(lambda: "theme" in tomllib.loads(global_config.read_text()), what="the saved theme")
        text = global_config.read_text()
        assert text.startswith('theme = "stoa-high-contrast"\n# mine\nmodel = "sonnet"')  # the rest kept
        assert tomllib.loads(text)["web"] == {"search": True}
        app.chat.composer.set_text("/theme no-such-theme")
        await pilot.press("enter")
        await wait_for(lambda: any("there is no theme 'no-such-theme'" in n for n in notices(app)), what="error")
        assert app.theme == "stoa-high-contrast"
    again = app_factory(load_config(workspace, env=env))
    async with again.run_test(size=SIZE):
        assert again.theme == "stoa-high-contrast"


async def test_unknown_theme_in_config_is_warned(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    env = make_env(tmp_path, fake_server)
    set_top_level_setting(Path(env["STOA_HOME"]) / "config.toml", "theme", "pastel-dream")
    app = app_factory(load_config(workspace, env=env))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: any("'pastel-dream' in the config is not a theme" in n for n in notices(app)),
                       what="the warning")  # fmt: skip
        assert app.theme != "pastel-dream"
        app.chat.composer.set_text("/theme")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, CommandPalette), what="the theme picker")
