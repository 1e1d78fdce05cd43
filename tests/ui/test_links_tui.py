"""Links in replies: URLs are OSC 8 hyperlinks, path:line references open $EDITOR at that line
when clicked. The real chat screen, a reply from the fake provider server, a real editor
process ($EDITOR: a small shell script that records how it was called)."""

from __future__ import annotations

from pathlib import Path

from textual.geometry import Region

from stoa.app.open_editor import editor_command
from stoa.core.config import load_config
from stoa.widgets.markdown_view import MarkdownView
from tests.fake_server import FakeServer, reply
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for, wait_idle

REPLY = "See https://example.com/docs?x=1 and the bug at src/app.py:3 (not a link: v1.2:3)."


def _segments(view: MarkdownView) -> list:  # type: ignore[type-arg]
    """What the reply draws (its rows as the screen gets them)."""
    region = view.region
    return [seg for strip in view.render_lines(Region(0, 0, region.width, region.height)) for seg in strip]


async def test_urls_link_and_path_lines_open_the_editor(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("a\nb\nc\n")
    calls = tmp_path / "editor-calls.txt"
    editor = tmp_path / "fake-editor.sh"
    editor.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    editor.chmod(0o755)
    env = {**make_env(tmp_path, fake_server), "EDITOR": str(editor)}
    app = app_factory(load_config(workspace, env=env))
    fake_server.script(reply(text=REPLY))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"where?", "enter")
        await wait_idle(app)
        view = app.chat.query(MarkdownView).last()
        await wait_for(lambda: any("example" in seg.text for seg in _segments(view)), what="the rendered reply")
        segments = _segments(view)
        links = {seg.text: seg.style.link for seg in segments if seg.style is not None and seg.style.link}
        assert links == {"https://example.com/docs?x=1": "https://example.com/docs?x=1"}
        clickable = [seg for seg in segments if seg.style is not None and "@click" in seg.style.meta]
        assert [seg.text for seg in clickable] == ["src/app.py:3"]
        assert not any("v1.2" in seg.text for seg in clickable)
        await app.run_action(clickable[0].style.meta["@click"])
        await wait_for(lambda: calls.exists(), what="the editor")
        assert calls.read_text().split() == ["+3", str(workspace / "src" / "app.py")]
        calls.unlink()
        await pilot.press("ctrl+g")  # the last path:line of the replies, from the keyboard
        await wait_for(lambda: calls.exists(), what="the editor again")
        assert calls.read_text().split() == ["+3", str(workspace / "src" / "app.py")]
        await app.run_action("app.open_path('nope.py', 1)")
        await wait_for(
            lambda: any("nope.py:1: there is no such file" in getattr(r, "text", "") for r in app.chat.log_view.records),
            what="the notice",
        )


def test_editor_commands() -> None:
    path = Path("/w/a.py")
    assert editor_command("vim", path, 4) == ["vim", "+4", "/w/a.py"]
    assert editor_command("code --wait", path, 4) == ["code", "--wait", "-g", "/w/a.py:4"]
    assert editor_command("subl", path, 4) == ["subl", "/w/a.py:4"]
