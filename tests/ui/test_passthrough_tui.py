"""`!command` in the TUI: runs as a turn of its own through execute_bash (a tool row with the
output), no model request; the next message carries command and output. The fake provider
server answers the next message."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fake_server import FakeServer, reply
from tests.ui.conftest import SIZE, AppFactory, wait_for, wait_idle


def records(app, name):  # type: ignore[no-untyped-def]
    return [r for r in app.chat.log_view.records if type(r).__name__ == name]


async def test_bang_runs_the_line_and_the_next_message_carries_it(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "alpha.txt").write_text("a\n")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("!ls && echo marker-7")
        await pilot.press("enter")
        await wait_for(lambda: records(app, "ToolRecord") and records(app, "ToolRecord")[0].status == "ok",
                       what="the command's row")  # fmt: skip
        await wait_idle(app)
        tool = records(app, "ToolRecord")[0]
        assert tool.name == "execute_bash" and "marker-7" in tool.result_text and "alpha.txt" in tool.result_text
        assert [u.text for u in records(app, "UserRecord")] == ["!ls && echo marker-7"]
        assert fake_server.model_requests() == []
        fake_server.script(reply(text="You listed the folder."))
        app.chat.composer.set_text("what did that show?")
        await pilot.press("enter")
        await wait_idle(app)
        body = json.dumps(fake_server.model_requests()[0].json)
        assert "$ ls && echo marker-7" in body and "alpha.txt" in body and "what did that show?" in body


async def test_a_forbidden_line_is_refused(app_factory: AppFactory, fake_server: FakeServer) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("!sudo true")
        await pilot.press("enter")
        await wait_idle(app)
        tool = records(app, "ToolRecord")[0]
        assert tool.status in ("error", "denied") and "forbidden" in tool.result_text
        assert fake_server.model_requests() == []
