"""A full disk, permissions, a read-only file system: history is never hidden.

Headless Stoa (a real subprocess) against the fake provider, with its session database on a real
file system in trouble (see ``fs_faults``): a tmpfs filled to the last byte, a read-only bind
mount, file modes that apply (a user without capabilities), a file where the data folder should
be. In every case the database stays where it is, byte for byte (only a file confirmed as
damaged is ever moved aside, see test_sessions_store.py); the reply is still printed; stderr says
what went wrong and what to do; the exit code is 1 because the session could not be saved; and
once the trouble is gone, the earlier sessions resume as they were.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.fs_faults import jail_problem, run_jailed, stoa_step

STOA = [sys.executable, "-m", "stoa.app.cli"]
FIRST_PROMPT = "remember: the password is apples"

needs_jail = pytest.mark.skipif(jail_problem() is not None, reason=str(jail_problem()))


def stoa(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STOA, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    return ws


def data_dir(env: dict[str, str]) -> Path:
    return Path(env["STOA_HOME"]) / "data"


def earlier_session(env: dict[str, str], server: FakeServer, ws: Path) -> str:
    """Save one session the normal way; returns the database's sha256 afterwards."""
    server.script(reply(text="Noted."))
    result = stoa(["-p", FIRST_PROMPT], env, ws)
    assert result.returncode == 0, result.stderr
    return digest(data_dir(env) / "sessions.db")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_not_saved(run: dict[str, object] | subprocess.CompletedProcess[str], *needles: str) -> str:
    rc = run["rc"] if isinstance(run, dict) else run.returncode
    stdout = str(run["stdout"] if isinstance(run, dict) else run.stdout)
    stderr = str(run["stderr"] if isinstance(run, dict) else run.stderr)
    assert rc == 1, stderr
    assert stdout == "Still answered.\n"  # the reply is printed all the same
    assert "the session could not be saved" in stderr
    assert "moved aside" not in stderr and "Traceback" not in stderr
    for needle in needles:
        assert needle in stderr, (needle, stderr)
    return stderr


def assert_history_back(env: dict[str, str], server: FakeServer, ws: Path) -> None:
    """The earlier session resumes, its first prompt in the history sent to the model."""
    server.script(reply(text="Apples."))
    result = stoa(["-c", "-p", "what was the password?"], env, ws)
    assert result.returncode == 0, result.stderr
    assert FIRST_PROMPT in str(server.model_requests()[-1].body)
    assert not [p for p in data_dir(env).iterdir() if ".corrupt-" in p.name]


@needs_jail
def test_a_full_disk_at_start_leaves_the_database_in_place(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    before = earlier_session(stoa_env, fake_server, workspace)
    staged = tmp_path / "staged"
    shutil.copytree(data_dir(stoa_env), staged)
    data = data_dir(stoa_env)
    fake_server.script(reply(text="Still answered."), reply(text="Saved this time."))
    results = run_jailed(
        [
            {"op": "copy", "src": str(staged), "dst": str(data)},
            {"op": "fill", "dir": str(data)},
            stoa_step(["-p", "hello on a full disk"], stoa_env, workspace),
            {"op": "list", "dir": str(data)},
            {"op": "list", "dir": str(data / "code"), "missing_ok": True},
            {"op": "hash", "path": str(data / "sessions.db")},
            {"op": "unfill", "dir": str(data)},
            stoa_step(["-c", "-p", "and now?"], stoa_env, workspace),
        ],
        tmpfs=data,
    )
    full, names, code_files, after, _, freed = results[2:]
    stderr = assert_not_saved(full, "is full", "Free some space", "kept in memory")
    assert "notice: Sessions are not being saved" in stderr
    # Untouched, nothing moved aside (SQLite's own -wal/-shm companions may have appeared).
    assert after == before
    # The code cache (core/dataclass_cache.py) may have made its folder, but it left no
    # half-written file in it.
    assert [n for n in names if not n.endswith(("-wal", "-shm"))] in (
        [".fill", "locks", "sessions.db"], [".fill", "code", "locks", "sessions.db"]
    )
    assert not [n for n in code_files or [] if n.endswith(".tmp")], code_files
    # Space freed: the same database works again, and the earlier session is all there.
    assert freed["rc"] == 0, freed["stderr"]
    assert FIRST_PROMPT in str(fake_server.model_requests()[-1].body)


@needs_jail
def test_the_disk_filling_up_during_a_turn(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    earlier_session(stoa_env, fake_server, workspace)
    staged = tmp_path / "staged"
    shutil.copytree(data_dir(stoa_env), staged)
    data = data_dir(stoa_env)
    (workspace / ".stoa").mkdir()
    (workspace / ".stoa" / "config.toml").write_text("[sandbox]\nenabled = false\n")
    # The shell command says when it runs, then waits: the disk fills up in between, so the
    # saves after it (its result, the long reply) meet a full disk.
    wait = "touch ready && until [ -e gate ]; do sleep 0.05; done"
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": wait})]),
        reply(text="Still answered."),
        reply(text="Back."),
    )
    results = run_jailed(
        [
            {"op": "copy", "src": str(staged), "dst": str(data)},
            stoa_step(["-c", "-p", "fill it up"], stoa_env, workspace, background=True),
            {"op": "wait_file", "path": str(workspace / "ready")},
            {"op": "fill", "dir": str(data)},
            {"op": "touch", "path": str(workspace / "gate")},
            {"op": "stoa_wait"},
            {"op": "list", "dir": str(data)},
            {"op": "unfill", "dir": str(data)},
            stoa_step(["-c", "-p", "still there?"], stoa_env, workspace),
        ],
        tmpfs=data,
        size=8 << 20,
    )
    run, names, freed = results[5], results[6], results[8]
    assert_not_saved(run, "could not save the session", "is full", "Free some space")
    assert "sessions.db" in names and not [n for n in names if ".corrupt-" in n]
    assert freed["rc"] == 0, freed["stderr"]
    body = str(fake_server.model_requests()[-1].body)
    # What was saved before the disk filled up is there: the earlier session and this prompt.
    assert FIRST_PROMPT in body and "fill it up" in body


@needs_jail
@pytest.mark.parametrize(
    ("what", "mode", "needles"),
    [
        ("file", 0o000, ("permission denied", "chmod")),
        ("file", 0o444, ("permission denied", "chmod")),
        ("folder", 0o555, ("permission denied", "chmod")),
    ],
)
def test_permissions_leave_the_database_in_place(
    stoa_env: dict[str, str],
    fake_server: FakeServer,
    workspace: Path,
    what: str,
    mode: int,
    needles: tuple[str, ...],
) -> None:
    before = earlier_session(stoa_env, fake_server, workspace)
    data = data_dir(stoa_env)
    target = data / "sessions.db" if what == "file" else data
    fake_server.script(reply(text="Still answered."))
    os.chmod(target, mode)
    try:
        (run,) = run_jailed([stoa_step(["-p", "hello"], stoa_env, workspace)], unprivileged=True)
    finally:
        os.chmod(target, 0o644 if what == "file" else 0o755)
    assert_not_saved(run, *needles)
    assert digest(data / "sessions.db") == before
    assert_history_back(stoa_env, fake_server, workspace)


@needs_jail
def test_a_read_only_file_system_leaves_the_database_in_place(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    before = earlier_session(stoa_env, fake_server, workspace)
    data = data_dir(stoa_env)
    fake_server.script(reply(text="Still answered."))
    (run,) = run_jailed([stoa_step(["-p", "hello"], stoa_env, workspace)], read_only=data)
    assert_not_saved(run, "read-only file system", "Make it writable")
    assert digest(data / "sessions.db") == before
    assert_history_back(stoa_env, fake_server, workspace)


def test_a_file_where_the_data_folder_should_be(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    data = data_dir(stoa_env)
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("not a folder\n")
    fake_server.script(reply(text="Still answered."))
    run = stoa(["-p", "hello"], stoa_env, workspace)
    assert_not_saved(run, f"{data} is a file, where Stoa keeps the folder", "Move that file away")
    assert data.read_text() == "not a folder\n"


@needs_jail
def test_a_disk_too_full_for_a_checkpoint_still_runs_the_turn(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    """Checkpoints live in the data folder: when it is full, the turn's shell command runs all
    the same and stderr says checkpoints are off for that turn (issue 16, bad input)."""
    earlier_session(stoa_env, fake_server, workspace)
    (workspace / "app.py").write_text("print('hello')\n")
    staged = tmp_path / "staged"
    shutil.copytree(data_dir(stoa_env), staged)
    data = data_dir(stoa_env)
    (workspace / ".stoa").mkdir()
    (workspace / ".stoa" / "config.toml").write_text('[sandbox]\nenabled = false\n[permissions]\nallow = ["Bash"]\n')
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "sed -i s/hello/bye/ app.py && echo made > made.txt"})]),
        reply(text="Still answered."),
    )
    results = run_jailed(
        [
            {"op": "copy", "src": str(staged), "dst": str(data)},
            {"op": "fill", "dir": str(data)},
            stoa_step(["-p", "change it"], stoa_env, workspace),
            {"op": "unfill", "dir": str(data)},
        ],
        tmpfs=data,
    )
    run = results[2]
    stderr = assert_not_saved(run, "is full")
    assert "checkpoints are off for this turn" in stderr and "/undo cannot restore" in stderr, stderr
    # The turn ran: the command's changes are there.
    assert (workspace / "app.py").read_text() == "print('bye')\n"
    assert (workspace / "made.txt").read_text() == "made\n"
