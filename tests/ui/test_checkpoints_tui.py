"""Checkpoints in the TUI: /undo after turns that change files through tools and the shell,
the conflict question, /rewind (and Esc twice) with its picker and choices, /diff's view, and
/review's read-only turn. Real files, git and SQLite; the model is the fake server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stoa.app.screens.checkpoints import (
    DiffScreen,
    RewindChoiceScreen,
    RewindPickerScreen,
    UndoConflictScreen,
)
from stoa.widgets.records import NoticeRecord, UserRecord
from tests.fake_server import FakeServer, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, answer_question, wait_for, wait_idle

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="checkpoints need git (apt-get install git)")


def notices(app: Any, title: str) -> list[str]:
    return [r.text for r in app.chat.log_view.records if isinstance(r, NoticeRecord) and r.title == title]


async def send(app: Any, pilot: Any, text: str) -> None:
    await pilot.press(*text, "enter")
    await wait_idle(app)


async def slash(app: Any, pilot: Any, text: str) -> None:
    app.chat.run_slash(text)
    await pilot.pause()


@pytest.fixture(autouse=True)
def titles(fake_server: FakeServer) -> None:
    """The session title's request gets its own answer, not the script's."""
    fake_server.add_rule(reply(text="A title"), match=lambda request: "Title:" in str(request.body))


@pytest.fixture
def project(workspace: Path) -> Path:
    (workspace / "app.py").write_text("print('hello')\n")
    (workspace / "old.txt").write_text("old\n")
    return workspace


def git_init(project: Path) -> None:
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


def allow_bash(config: Any) -> None:
    """Shell commands that change files run without a question (the test answers none)."""
    path = Path(config.env["STOA_HOME"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[permissions]\nallow = ["Bash"]\n')


async def test_undo_in_the_tui_reverts_tools_and_shell_and_asks_about_a_conflict(
    app_factory: AppFactory, fake_server: FakeServer, project: Path, config: Any
) -> None:
    from stoa.core.config import load_config

    allow_bash(config)
    cfg = load_config(project, env=config.env)
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("write_file", {"path": "src/new.py", "content": "NEW = 1\n"}),
                tool_call("edit_file", {"path": "app.py", "old_string": "hello", "new_string": "bye"}),
            ]
        ),
        reply(tool_calls=[tool_call("execute_bash", {"command": "mv old.txt moved.txt && echo x >> app.py"})]),
        reply(text="done"),
    )
    app = app_factory(cfg, sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await send(app, pilot, "change things")
        assert (project / "moved.txt").exists() and (project / "src/new.py").exists()
        (project / "moved.txt").write_text("mine now\n")  # changed after the turn

        await slash(app, pilot, "/undo")
        await wait_for(lambda: isinstance(app.screen, UndoConflictScreen), what="the conflict question")
        await answer_question(app, pilot, "2")  # skip that file, undo the rest
        await wait_for(lambda: notices(app, "Undo"), what="the undo report")
        await app.workers.wait_for_complete()
        assert (project / "app.py").read_text() == "print('hello')\n"
        assert not (project / "src").exists()
        # The move is two changes: old.txt comes back; moved.txt, changed since, is skipped.
        assert (project / "old.txt").read_text() == "old\n"
        assert (project / "moved.txt").read_text() == "mine now\n"
        report = notices(app, "Undo")[0]
        assert "moved.txt: changed after the turn" in report and "src/new.py: removed" in report


async def test_rewind_picker_goes_back_in_conversation_and_files(
    app_factory: AppFactory, fake_server: FakeServer, project: Path, snap_compare: Any
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "one.txt", "content": "1\n"})]),
        reply(text="made one"),
        reply(tool_calls=[tool_call("write_file", {"path": "two.txt", "content": "2\n"})]),
        reply(text="made two"),
        reply(text="fresh answer"),
    )
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await send(app, pilot, "make one")
        await send(app, pilot, "make two")
        await pilot.press("escape", "escape")  # twice on an empty composer
        await wait_for(lambda: isinstance(app.screen, RewindPickerScreen), what="the rewind picker")
        await pilot.press("enter")  # the newest message: "make two"
        await wait_for(lambda: isinstance(app.screen, RewindChoiceScreen), what="what to rewind")
        await answer_question(app, pilot, "1")  # the conversation and the files
        await wait_for(lambda: notices(app, "Rewind"), what="the rewind report")
        await app.workers.wait_for_complete()
        assert (project / "one.txt").exists() and not (project / "two.txt").exists()
        users = [r.text for r in app.chat.log_view.records if isinstance(r, UserRecord)]
        assert users == ["make one"]
        assert app.chat.composer.text == "make two"
        app.chat.composer.set_text("")
        await send(app, pilot, "something else")
        messages = fake_server.model_requests()[-1].body["messages"]
        assert "make two" not in str(messages) and "make one" in str(messages)


def test_rewind_picker_snapshot(app_factory: AppFactory, fake_server: FakeServer, project: Path, snap_compare: Any) -> None:
    """The rewind picker over a conversation of three messages: newest first, each with what
    its turn changed in the files (2 files created; no file changes; 1 file changed)."""
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("write_file", {"path": "a.txt", "content": "a\n"}),
                tool_call("write_file", {"path": "b.txt", "content": "b\n"}),
            ]
        ),
        reply(text="made them"),
        reply(text="just an answer"),
        reply(tool_calls=[tool_call("edit_file", {"path": "app.py", "old_string": "hello", "new_string": "hi"})]),
        reply(text="edited"),
    )

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(lambda: app.chat.ready, what="the session")
        for text in ("create a and b", "what is this project?", "say hi instead"):
            await send(app, pilot, text)
        await slash(app, pilot, "/rewind")
        await wait_for(lambda: isinstance(app.screen, RewindPickerScreen), what="the picker")
        await pilot.pause()

    assert snap_compare(app_factory(sessions=True), terminal_size=SIZE, run_before=run_before)


def test_diff_view_snapshot(app_factory: AppFactory, fake_server: FakeServer, project: Path, snap_compare: Any) -> None:
    """/diff in a git repository: the working tree's diff (app.py edited, notes.md untracked and
    shown as new), then the one turn of the session, which made notes.md."""
    git_init(project)
    (project / "app.py").write_text("print('hello, world')\n")
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "notes.md", "content": "# Notes\nfirst\n"})]),
        reply(text="noted"),
    )

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(lambda: app.chat.ready, what="the session")
        await send(app, pilot, "take notes")
        await slash(app, pilot, "/diff")
        await wait_for(lambda: isinstance(app.screen, DiffScreen), what="the diff view")
        await pilot.pause()

    assert snap_compare(app_factory(sessions=True), terminal_size=SIZE, run_before=run_before)


async def test_review_runs_read_only_and_restores_the_mode(
    app_factory: AppFactory, fake_server: FakeServer, project: Path
) -> None:
    git_init(project)
    (project / "app.py").write_text("print('hello' + 1)\n")
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "fix.py", "content": "x\n"})]),
        reply(text="bug: app.py:1 adds a str and an int"),
    )
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await slash(app, pilot, "/review")
        await wait_for(lambda: len(fake_server.model_requests()) >= 2, what="the review turn")
        await wait_idle(app)
        first = fake_server.model_requests()[0].body
        tools = [t["name"] for t in first.get("tools", [])]
        assert "write_file" not in tools and "read_file" in tools  # plan mode's tools
        assert "print('hello' + 1)" in str(first["messages"])
        assert not (project / "fix.py").exists()  # a write asked for anyway is refused
        assert app.runtime.policy.mode == "auto"
