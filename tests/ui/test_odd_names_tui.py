"""File names that are not UTF-8 in the real TUI: listed, shown in a permission prompt, run
through the shell, saved and replayed on resume, always in the escape form ``bad\\xff.txt``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stoa.app.screens.permission import PermissionScreen
from tests.fake_server import reply, tool_call

# What the expanded tool calls show: the listing, the shell's ls, the delete's result.
EXPECTED = ("│dir\\xfe/│bad\\xff.txt  (6 B)", "│bad\\xff.txt│dir\\xfe", "Deleted file (6 B) bad\\xff.txt")


async def test_odd_names_on_screen_in_a_prompt_and_after_resume(
    app_factory: Any, fake_server: Any, workspace: Path
) -> None:
    from tests.ui.conftest import wait_for, wait_idle
    from tests.ui.test_pickers import screen_text

    bad = workspace / os.fsdecode(b"bad\xff.txt")
    bad.write_bytes(b"bytes\n")
    (workspace / os.fsdecode(b"dir\xfe")).mkdir()
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("list_directory", {"path": "."}),
                tool_call("execute_bash", {"command": "ls"}),
            ]
        ),
        reply(tool_calls=[tool_call("delete_file", {"path": "bad\\xff.txt"})]),
        reply(text="Deleted bad\\xff.txt."),
    )
    app = app_factory(sessions=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await pilot.press(*"clean up", "enter")
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the delete prompt")
        request = app.screen.request  # type: ignore[attr-defined]
        assert request.target.endswith("/bad\\xff.txt")
        assert "bad\\xff.txt" in screen_text(app)
        await wait_for(lambda: app.screen.accepting_answers, what="the prompt to take answers")  # type: ignore[attr-defined]
        await pilot.press("1")  # yes, once
        await wait_idle(app)
        assert not bad.exists()
        await pilot.press("ctrl+o")
        await pilot.pause()
        shown = screen_text(app)
        for piece in EXPECTED:
            assert piece in shown, (piece, shown)
        assert "dir\\xfe" in screen_text(app)
        session_id = app.runtime.session_id

    resumed = app_factory(sessions=True, continue_latest=True)
    async with resumed.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: resumed.chat.ready, what="the resumed session")
        assert resumed.runtime.session_id == session_id
        await pilot.press("ctrl+o")
        await pilot.pause()
        replayed = screen_text(resumed)
        for piece in EXPECTED:
            assert piece in replayed, (piece, replayed)
