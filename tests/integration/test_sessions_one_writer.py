"""One writer per session, with real concurrent processes.

Process A (headless Stoa, a real subprocess) is in the middle of a turn on a session: its shell
command waits for a gate file. Meanwhile process B resumes the same session:

- headless B stops at once with exit code 1 and names A's pid; nothing of B reaches the session;
- the TUI offers to fork it: the fork is a new session with a copy of the history, and A goes
  on writing the original, untouched by the fork;
- a lock left by a process killed with SIGKILL is taken over.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from stoa.core.config import StoaPaths
from tests.fake_server import FakeServer, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]
WAIT = "touch ready && until [ -e gate ]; do sleep 0.05; done"


def stoa(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STOA, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".stoa" / "config.toml").write_text("[sandbox]\nenabled = false\n")
    return ws


def first_session(env: dict[str, str], server: FakeServer, ws: Path) -> str:
    server.script(reply(text="Noted."))
    result = stoa(["-p", "first prompt", "--output-format", "json"], env, ws)
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["session_id"])


def start_holder(env: dict[str, str], server: FakeServer, ws: Path) -> subprocess.Popen[str]:
    """Process A: continues the session and stops inside its turn until ``gate`` exists."""
    server.script(reply(tool_calls=[tool_call("execute_bash", {"command": WAIT})]), reply(text="A is done."))
    proc = subprocess.Popen(
        [*STOA, "-c", "-p", "prompt from A"], env=env, cwd=ws, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not (ws / "ready").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "process A never reached its shell command"
        time.sleep(0.02)
    return proc


def user_texts(env: dict[str, str], session_id: str) -> list[str]:
    with sqlite3.connect(StoaPaths.from_env(env).database) as db:
        rows = db.execute(
            "SELECT data FROM records WHERE session_id = ? AND kind = 'user' ORDER BY seq", (session_id,)
        ).fetchall()
    return [json.loads(row[0])["text"] for row in rows]


def test_headless_refuses_a_session_another_process_is_writing(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    session_id = first_session(stoa_env, fake_server, workspace)
    holder = start_holder(stoa_env, fake_server, workspace)
    try:
        second = stoa(["-c", "-p", "prompt from B"], stoa_env, workspace)
        assert second.returncode == 1
        assert f"session {session_id[:8]} is open in another Stoa (pid {holder.pid}" in second.stderr
        by_prefix = stoa(["-r", session_id[:8], "-p", "prompt from B"], stoa_env, workspace)
        assert by_prefix.returncode == 1 and f"pid {holder.pid}" in by_prefix.stderr
    finally:
        (workspace / "gate").touch()
        out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    assert out == "A is done.\n"
    # A's turn is whole; nothing of B got in.
    assert user_texts(stoa_env, session_id) == ["first prompt", "prompt from A"]
    # A has finished: the session is free again.
    fake_server.script(reply(text="B now."))
    third = stoa(["-c", "-p", "prompt from B"], stoa_env, workspace)
    assert third.returncode == 0, third.stderr
    assert user_texts(stoa_env, session_id) == ["first prompt", "prompt from A", "prompt from B"]


def test_a_lock_left_by_a_killed_process_is_taken_over(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    session_id = first_session(stoa_env, fake_server, workspace)
    holder = start_holder(stoa_env, fake_server, workspace)
    holder.kill()  # SIGKILL: no clean-up of any kind
    holder.communicate(timeout=30)
    (workspace / "gate").touch()  # let the orphaned shell loop end too
    fake_server.clear()
    fake_server.script(reply(text="Resumed."))
    result = stoa(["-c", "-p", "after the crash"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Resumed.\n"
    assert user_texts(stoa_env, session_id)[-1] == "after the crash"


async def test_the_tui_offers_a_fork_and_leaves_the_original_to_its_writer(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    from stoa.app.screens.resume import ForkOfferScreen
    from stoa.app.tui import make_app
    from stoa.core.config import load_config
    from stoa.core.runtime import Choices, build_runtime
    from stoa.widgets.records import UserRecord
    from tests.ui.conftest import fixed_clock, wait_for, wait_idle

    session_id = await asyncio.to_thread(first_session, stoa_env, fake_server, workspace)
    holder = await asyncio.to_thread(start_holder, stoa_env, fake_server, workspace)
    try:
        config = load_config(workspace, env=stoa_env)
        runtime = build_runtime(config, Choices())
        app: Any = make_app(
            config, runtime=runtime, clock=fixed_clock, animations=False, cursor_blink=False,
            sessions=True, continue_latest=True, detect_sandbox=False,
        )
        fake_server.script(reply(text="Answer in the fork."))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(lambda: isinstance(app.screen, ForkOfferScreen), what="the fork offer")
            offer = app.screen
            assert f"pid {holder.pid}" in str(offer.error) and offer.info.id == session_id
            await pilot.press("enter")  # typed ahead: nothing is highlighted, so it chooses nothing
            await pilot.pause()
            assert app.screen is offer
            await pilot.press("down", "enter")
            await wait_for(lambda: app.chat.ready, what="the fork")
            fork_id = app.runtime.session_id
            assert fork_id != session_id
            shown = [r.text for r in app.chat.log_view.records if isinstance(r, UserRecord)]
            assert shown == ["first prompt", "prompt from A"]
            await pilot.press(*"prompt in the fork", "enter")
            await wait_idle(app)
            await pilot.press("ctrl+d")
            await pilot.pause()
    finally:
        (workspace / "gate").touch()
        _out, err = await asyncio.to_thread(holder.communicate, timeout=60)
    assert holder.returncode == 0, err
    assert user_texts(stoa_env, fork_id) == ["first prompt", "prompt from A", "prompt in the fork"]
    assert user_texts(stoa_env, session_id) == ["first prompt", "prompt from A"]
    with sqlite3.connect(StoaPaths.from_env(stoa_env).database) as db:
        titles = dict(db.execute("SELECT id, title FROM sessions").fetchall())
    assert titles[fork_id] == f"{titles[session_id]} (fork)"


async def test_resume_inside_the_tui_offers_a_fork_or_stays(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    # The lock is held here by a second open file description: to the app it is another writer.
    from stoa.app.screens.resume import ForkOfferScreen
    from stoa.app.tui import make_app
    from stoa.core.config import load_config
    from stoa.core.runtime import Choices, build_runtime
    from stoa.core.sessions.lock import SessionLock
    from tests.ui.conftest import fixed_clock, wait_for

    busy = await asyncio.to_thread(first_session, stoa_env, fake_server, workspace)
    mine = await asyncio.to_thread(first_session, stoa_env, fake_server, workspace)
    lock = SessionLock.acquire(StoaPaths.from_env(stoa_env).database.parent, busy)
    assert lock is not None
    try:
        config = load_config(workspace, env=stoa_env)
        app: Any = make_app(
            config, runtime=build_runtime(config, Choices()), clock=fixed_clock, animations=False,
            cursor_blink=False, sessions=True, resume=mine[:8], detect_sandbox=False,
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(lambda: app.chat.ready and app.runtime.session_id == mine, what="my session")
            await pilot.press(*f"/resume {busy[:8]}", "enter")
            await wait_for(lambda: isinstance(app.screen, ForkOfferScreen), what="the fork offer")
            await pilot.press("escape")
            await wait_for(lambda: not isinstance(app.screen, ForkOfferScreen), what="the offer to close")
            await pilot.pause()
            assert app.runtime.session_id == mine  # declined: still in my session
            await pilot.press(*f"/resume {busy[:8]}", "enter")
            await wait_for(lambda: isinstance(app.screen, ForkOfferScreen), what="the fork offer again")
            await pilot.press("down", "enter")
            await wait_for(lambda: app.runtime.session_id not in (mine, busy), what="the fork")
            fork_id = app.runtime.session_id
            await pilot.press("ctrl+d")
            await pilot.pause()
    finally:
        lock.release()
    assert user_texts(stoa_env, fork_id) == user_texts(stoa_env, busy) == ["first prompt"]
