"""/rename, /export, /fork and /copy in the TUI, with the session store: a real database, real
files, a real X clipboard for /copy (Xvfb + xclip, skipped with a reason when absent)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

from stoa.core.config import load_config
from stoa.widgets.records import NoticeRecord, UserRecord
from tests.fake_server import FakeServer, reply
from tests.integration.test_clipboard import NEEDS_X, x_display  # noqa: F401  (fixture)
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for, wait_idle


def CONVERSATION(request: Any) -> bool:
    """The conversation's requests, not the session's title request (left unanswered)."""
    return "Title:" not in json.dumps(request.body)


def notices(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.text for r in app.chat.log_view.records if isinstance(r, NoticeRecord)]


def _clipboard(env: dict[str, str]) -> bytes:
    return subprocess.run(["xclip", "-selection", "clipboard", "-o"], env=env, capture_output=True, timeout=5).stdout


async def run(app, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    app.chat.composer.set_text(text)
    await pilot.press("enter")


async def test_rename_export_and_fork(app_factory: AppFactory, fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(
        reply(text="First answer.", match=CONVERSATION), reply(text="Answer in the fork.", match=CONVERSATION)
    )
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await run(app, pilot, "hello there")
        await wait_idle(app)
        original = str(app.runtime.session_id)
        await run(app, pilot, "/rename Greeting test")
        await wait_for(lambda: any("now titled “Greeting test”" in n for n in notices(app)), what="the rename")
        assert app.runtime.session.title == "Greeting test"
        await run(app, pilot, "/export chat.md")
        await wait_for(lambda: (workspace / "chat.md").exists(), what="the export")
        text = (workspace / "chat.md").read_text()
        assert text.startswith("# Greeting test") and "hello there" in text and "First answer." in text
        await run(app, pilot, "/fork")
        await wait_for(lambda: str(app.runtime.session_id) != original, what="the fork")
        await wait_for(lambda: any(isinstance(r, UserRecord) for r in app.chat.log_view.records), what="replay")
        assert [r.text for r in app.chat.log_view.records if isinstance(r, UserRecord)] == ["hello there"]
        await run(app, pilot, "go on")
        await wait_idle(app)
        history = fake_server.model_requests()[-1].json["messages"]
        assert [m["role"] for m in history] == ["user", "assistant", "user"]


@NEEDS_X
async def test_copy_puts_the_reply_on_the_clipboard(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, tmp_path: Path,
    x_display: dict[str, str],  # noqa: F811
) -> None:  # fmt: skip
    env = {**make_env(tmp_path, fake_server), "DISPLAY": x_display["DISPLAY"], "PATH": x_display["PATH"]}
    app = app_factory(load_config(workspace, env=env), sessions=True)
    fake_server.script(reply(text="Reply one.", match=CONVERSATION), reply(text="Reply two.", match=CONVERSATION))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await run(app, pilot, "a")
        await wait_idle(app)
        await run(app, pilot, "b")
        await wait_idle(app)
        await run(app, pilot, "/copy 2")
        await wait_for(lambda: any("copied" in n for n in notices(app)), what="the copy")
        assert any("with xclip" in n for n in notices(app)), notices(app)
        assert await asyncio.to_thread(_clipboard, x_display) == b"Reply one."
        await run(app, pilot, "/copy 5")
        await wait_for(lambda: any("there are only 2 replies" in n for n in notices(app)), what="the error")
