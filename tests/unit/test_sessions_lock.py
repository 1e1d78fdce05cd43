"""The one-writer lock of a session on real files, with real processes; and forks in the store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from stoa.core.providers.types import user_text
from stoa.core.sessions.lock import SessionLock, SessionLockedError, holder_of
from stoa.core.sessions.store import SessionNotFoundError, SessionSeed, SessionStore

HOLD = """
import sys, time
from pathlib import Path
from stoa.core.sessions.lock import SessionLock
lock = SessionLock.acquire(Path(sys.argv[1]), sys.argv[2])
print("held" if lock else "none", flush=True)
time.sleep(120)
"""


def hold_in_child(folder: Path, session_id: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder), session_id], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_a_second_holder_is_refused_and_told_who_holds_it(tmp_path: Path) -> None:
    sid = str(uuid.uuid4())
    lock = SessionLock.acquire(tmp_path, sid)
    assert lock is not None and lock.held
    with pytest.raises(SessionLockedError) as caught:
        SessionLock.acquire(tmp_path, sid)  # even from the same process: one writer
    assert caught.value.holder is not None and caught.value.holder.pid == os.getpid()
    assert f"pid {os.getpid()}" in str(caught.value) and sid[:8] in str(caught.value)
    lock.release()
    assert not (tmp_path / "locks" / f"{sid}.lock").exists()  # nothing left behind
    again = SessionLock.acquire(tmp_path, sid)
    assert again is not None
    again.release()


def test_a_lock_held_by_another_process_and_taken_over_when_it_is_killed(tmp_path: Path) -> None:
    sid = str(uuid.uuid4())
    child = hold_in_child(tmp_path, sid)
    try:
        holder = holder_of(tmp_path, sid)
        assert holder is not None and holder.pid == child.pid
        assert holder.started_at is not None and abs(holder.started_at - time.time()) < 600
        with pytest.raises(SessionLockedError, match=f"pid {child.pid}"):
            SessionLock.acquire(tmp_path, sid)
    finally:
        child.kill()  # SIGKILL: the kernel drops the lock with the process
        child.wait()
    lock = SessionLock.acquire(tmp_path, sid)
    assert lock is not None
    lock.release()
    assert holder_of(tmp_path, sid) is None


def test_commands_started_while_holding_a_lock_do_not_keep_it(tmp_path: Path) -> None:
    sid = str(uuid.uuid4())
    lock = SessionLock.acquire(tmp_path, sid)
    assert lock is not None
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        lock.release()
        taken = SessionLock.acquire(tmp_path, sid)  # the child did not inherit the descriptor
        assert taken is not None
        taken.release()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_no_place_for_locks_means_no_lock_not_no_session(tmp_path: Path) -> None:
    (tmp_path / "locks").write_text("a file where the folder should be")
    assert SessionLock.acquire(tmp_path, str(uuid.uuid4())) is None


async def test_a_fork_copies_the_history_and_leaves_the_original(tmp_path: Path) -> None:
    store = await SessionStore.open(tmp_path / "sessions.db")
    try:
        seed = SessionSeed(str(uuid.uuid4()), "/p", "claude-sonnet-4-6", "anthropic", "auto", "medium", "Title")
        await store.save_message(seed, user_text("one"), records=[(1, "user", {"text": "one"})])
        await store.add_record(seed, 2, "notice", {"text": "n"})
        new_id = str(uuid.uuid4())
        fork = await store.copy_session(seed.id, new_id, title="Title (fork)")
        assert (fork.id, fork.title, fork.title_source, fork.message_count) == (new_id, "Title (fork)", "fork", 1)
        assert fork.model == "claude-sonnet-4-6" and fork.project == "/p"
        assert await store.load_messages(new_id) == [user_text("one")]
        assert [r.kind for r in await store.load_records(new_id)] == ["user", "notice"]
        await store.save_message(
            SessionSeed(new_id, "/p", "m", "anthropic", "auto", "off"), user_text("two")
        )
        assert await store.load_messages(seed.id) == [user_text("one")]  # the original is untouched
        with pytest.raises(SessionNotFoundError):
            await store.copy_session(str(uuid.uuid4()), str(uuid.uuid4()), title="x")
    finally:
        await store.aclose()


async def test_deleting_a_session_another_process_writes_is_refused(tmp_path: Path) -> None:
    from stoa.core.sessions import delete_session

    store = await SessionStore.open(tmp_path / "sessions.db")
    try:
        seed = SessionSeed(str(uuid.uuid4()), "/p", "claude-sonnet-4-6", "anthropic", "auto", "medium")
        await store.save_message(seed, user_text("keep me"))
        child = hold_in_child(tmp_path, seed.id)
        try:
            with pytest.raises(SessionLockedError, match=f"pid {child.pid}"):
                await delete_session(store, seed.id)
            assert await store.get(seed.id) is not None
        finally:
            child.kill()
            child.wait()
        assert await delete_session(store, seed.id)
        assert await store.get(seed.id) is None
    finally:
        await store.aclose()
