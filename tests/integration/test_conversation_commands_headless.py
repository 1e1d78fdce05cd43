"""/rename, /export, /fork and /copy from the shell on a resumed session (`stoa -c -p "/export"`):
the installed CLI, a real session database, the fake provider server for the turns before."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.test_headless import stoa


def _session(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "notes.txt").write_text("alpha\n")
    fake_server.script(
        reply(text="Looking.", tool_calls=[tool_call("read_file", {"path": "notes.txt"})]),
        reply(text="It says **alpha**."),
        reply(text="Second reply."),
    )
    assert stoa(["-p", "what is in @notes.txt?"], stoa_env, ws).returncode == 0
    assert stoa(["-c", "-p", "and again"], stoa_env, ws).returncode == 0
    return ws


def _db(stoa_env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(Path(stoa_env["STOA_HOME"]) / "data" / "sessions.db")


def test_export_markdown_and_json(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _session(stoa_env, fake_server, tmp_path)
    result = stoa(["-c", "-p", "/export out/chat.md"], stoa_env, ws)
    assert result.returncode == 1 and "cannot write out/chat.md" in result.stderr  # no folder out/
    (ws / "out").mkdir()
    result = stoa(["-c", "-p", "/export out/chat.md"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    text = (ws / "out" / "chat.md").read_text()
    assert "## You\n\nwhat is in @notes.txt?" in text  # as typed: the attachment is not shown
    assert "<attachment" not in text
    assert "## Stoa\n\nIt says **alpha**." in text and "**✓ read_file** `notes.txt`" in text
    assert "## You\n\nand again" in text and "Second reply." in text
    again = stoa(["-c", "-p", "/export out/chat.md"], stoa_env, ws)
    assert again.returncode == 2 and "already exists; nothing was written" in again.stderr
    as_json = stoa(["-c", "-p", "/export --json data.json"], stoa_env, ws)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads((ws / "data.json").read_text())
    kinds = [r["kind"] for r in data["records"]]
    assert kinds[0] == "user" and "tool" in kinds and data["records"][0]["text"] == "what is in @notes.txt?"


def test_rename_is_saved(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _session(stoa_env, fake_server, tmp_path)
    result = stoa(["-c", "-p", "/rename  Notes   review "], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "is now titled “Notes review”" in result.stdout
    rows = _db(stoa_env).execute("SELECT title, title_source FROM sessions").fetchall()
    assert rows == [("Notes review", "user")]
    empty = stoa(["-c", "-p", "/rename"], stoa_env, ws)
    assert empty.returncode == 2 and "give the new title" in empty.stderr


def test_fork_copies_and_leaves_the_original(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _session(stoa_env, fake_server, tmp_path)
    result = stoa(["-c", "-p", "/fork"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "forked session" in result.stdout and "stoa -r" in result.stdout
    db = _db(stoa_env)
    rows = db.execute("SELECT id, title, message_count FROM sessions ORDER BY created_at").fetchall()
    assert len(rows) == 2 and rows[1][1].endswith("(fork)") and rows[0][2] == rows[1][2]


def test_copy_prints_the_nth_last_reply(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _session(stoa_env, fake_server, tmp_path)
    last = stoa(["-c", "-p", "/copy"], stoa_env, ws)
    assert last.returncode == 0 and last.stdout == "Second reply.\n", last.stderr
    second = stoa(["-c", "-p", "/copy 2"], stoa_env, ws)
    assert second.stdout == "It says **alpha**.\n"
    too_far = stoa(["-c", "-p", "/copy 9"], stoa_env, ws)
    assert too_far.returncode == 1 and "there are only 3 replies" in too_far.stderr
