"""Images in the composer: a pasted image path and Ctrl+V (a real X clipboard: Xvfb + xclip)
become [Image #N] markers, sent as image blocks; a missing clipboard tool is named; a model
without image input is told at once. The fake provider server answers."""

from __future__ import annotations

import json
from pathlib import Path

from stoa.core.config import load_config
from tests.fake_server import FakeServer, reply
from tests.integration.test_clipboard import NEEDS_X, _put, x_display  # noqa: F401  (fixture)
from tests.integration.test_mentions_headless import _png
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for, wait_idle


def notices(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.text for r in app.chat.log_view.records if type(r).__name__ == "NoticeRecord"]


async def test_a_pasted_image_path_becomes_a_marker(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "shot one.png").write_bytes(_png(7, 5))
    fake_server.script(reply(text="A red rectangle."))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        composer = app.chat.composer
        await wait_for(lambda: composer.input.has_focus, what="focus")
        await pilot.press(*"what is ")
        composer.insert_paste(f"'{workspace / 'shot one.png'}'")
        assert composer.text == "what is [Image #1] "
        await pilot.press("enter")
        await wait_idle(app)
        content = fake_server.model_requests()[0].json["messages"][-1]["content"]
        assert [b["type"] for b in content] == ["text", "text", "image"]
        assert "7×5 PNG" in content[1]["text"]


@NEEDS_X
async def test_ctrl_v_pastes_the_clipboard_image(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path,
    x_display: dict[str, str],  # noqa: F811
) -> None:  # fmt: skip
    _put(x_display, _png(9, 9), "image/png")
    env = {**make_env(tmp_path, fake_server), "DISPLAY": x_display["DISPLAY"], "PATH": x_display["PATH"]}
    app = app_factory(load_config(workspace, env=env))
    fake_server.script(reply(text="A square."))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.chat.composer
        await wait_for(lambda: composer.input.has_focus, what="focus")
        await pilot.press(*"see ", "ctrl+v")
        await wait_for(lambda: "[Image #1]" in composer.text, what="the marker")
        await pilot.press("enter")
        await wait_idle(app)
        content = fake_server.model_requests()[0].json["messages"][-1]["content"]
        assert content[0]["text"].strip() == "see [Image #1]"
        assert "[Image #1]: clipboard" in content[1]["text"] and "9×9 PNG" in content[1]["text"]
        assert content[2]["type"] == "image"


async def test_ctrl_v_without_a_clipboard_tool_says_what_to_install(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    env = {**make_env(tmp_path, fake_server), "PATH": str(tmp_path / "no-tools"), "DISPLAY": ":0"}
    app = app_factory(load_config(workspace, env=env))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        await pilot.press("ctrl+v")
        await wait_for(lambda: any("install xclip" in n for n in notices(app)), what="the notice")
        assert app.chat.composer.text == ""


async def test_a_model_without_images_is_told_at_paste(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    from tests.fake_server.rules import ModelSpec

    fake_server.models.append(ModelSpec(id="claude-blind-1", provider="anthropic", image_input=False))
    (workspace / "a.png").write_bytes(_png(2, 2))
    fake_server.script(reply(text="ok"))
    app = app_factory(model="claude-blind-1")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.insert_paste(str(workspace / "a.png"))
        await wait_for(lambda: any("does not take images" in n for n in notices(app)), what="the notice")
        await pilot.press("enter")
        await wait_idle(app)
        body = json.dumps(fake_server.model_requests()[0].json)
        assert '"image"' not in body
