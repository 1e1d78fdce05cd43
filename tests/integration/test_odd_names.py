"""File names that are not UTF-8 (b'bad\\xff.txt', common in test fixtures), end to end.

Real files with such names in a real workspace; headless Stoa (a subprocess) against the fake
provider. Every name reaches the model, the screen, stdout/stderr and the session store in the
escape form (``bad\\xff.txt``), and the model can hand that form back to any file tool.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.fake_server import FakeServer, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]


def stoa(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STOA, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90
    )


def odd_workspace(root: Path) -> Path:
    ws = root / "project"
    ws.mkdir()
    raw = os.fsencode(ws)
    os.mkdir(raw + b"/dir\xfe")
    with open(raw + b"/bad\xff.txt", "wb") as handle:
        handle.write(b"first line\nneedle in a bad\xff file\n")
    with open(raw + b"/dir\xfe/caf\xe9.py", "wb") as handle:
        handle.write(b"needle = 1\n")
    return ws


def test_odd_names_through_every_tool(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = odd_workspace(tmp_path)
    raw = os.fsencode(ws)
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("list_directory", {"path": "."}),
                tool_call("list_directory", {"path": "dir\\xfe"}),
                tool_call("glob_files", {"pattern": "**/*"}),
                tool_call("search_code", {"pattern": "needle"}),
            ]
        ),
        reply(
            tool_calls=[
                tool_call("read_file", {"path": "bad\\xff.txt"}),
                tool_call("read_file", {"path": "dir\\xfe/caf\\xe9.py"}),
            ]
        ),
        reply(tool_calls=[tool_call("write_file", {"path": "dir\\xfe/new.txt", "content": "made\n"})]),
        reply(tool_calls=[tool_call("copy_file", {"source": "bad\\xff.txt", "destination": "copy\\xff.txt"})]),
        reply(tool_calls=[tool_call("move_file", {"source": "copy\\xff.txt", "destination": "dir\\xfe/moved.txt"})]),
        reply(tool_calls=[tool_call("execute_bash", {"command": "ls; printf 'out\\377put\\n'"})]),
        # Headless refuses a delete (nobody to ask); the refusal names the file in escape form.
        reply(tool_calls=[tool_call("delete_file", {"path": "dir\\xfe/moved.txt"})]),
        reply(text="All done with bad\\xff.txt."),
    )
    result = stoa(["-p", "look around"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr.lower()
    assert result.stdout == "All done with bad\\xff.txt.\n"
    requests = fake_server.model_requests()
    assert len(requests) == 8
    every = requests[-1].tool_results  # the whole history goes with the last request
    results = [r.text for r in every]
    listing, sub, globbed, searched = results[:4]
    assert "bad\\xff.txt" in listing and "dir\\xfe/" in listing
    assert "caf\\xe9.py" in sub
    assert "dir\\xfe/caf\\xe9.py" in globbed and "bad\\xff.txt" in globbed
    assert "bad\\xff.txt" in searched and "dir\\xfe/caf\\xe9.py" in searched
    read_bad, read_py = results[4:6]
    assert "needle in a bad" in read_bad and "needle = 1" in read_py
    # The files the model named in escape form are the real ones.
    assert open(raw + b"/dir\xfe/new.txt", "rb").read() == b"made\n"
    assert open(raw + b"/dir\xfe/moved.txt", "rb").read() == open(raw + b"/bad\xff.txt", "rb").read()
    assert not os.path.exists(raw + b"/copy\xff.txt")
    shell, refused = results[-2:]
    assert every[-1].is_error and "dir\\xfe/moved.txt" in refused
    assert "bad\\xff.txt" in shell and "out\\xffput" in shell
    # Every tool succeeded, and the escape form is what stderr shows too.
    assert len(results) == 11 and not any(r.is_error for r in every[:-1]), results
    for body in (req.raw_body for req in requests):
        json.loads(body)  # valid JSON, valid UTF-8
    # The session was saved whole, with the same text.
    db = Path(stoa_env["STOA_HOME"]) / "data" / "sessions.db"
    with sqlite3.connect(db) as conn:
        data = "\n".join(row[0] for row in conn.execute("SELECT data FROM records"))
        count = conn.execute("SELECT message_count FROM sessions").fetchone()[0]
    assert count == 16
    assert "bad\\\\xff.txt" in data
    assert "bad\\xff.txt" in result.stderr  # tool activity on stderr
    # Resuming sends the saved history back exactly as the model first saw it.
    fake_server.script(reply(text="Still here."))
    resumed = stoa(["-c", "-p", "and now?"], stoa_env, ws)
    assert resumed.returncode == 0, resumed.stderr
    assert [r.text for r in fake_server.model_requests()[-1].tool_results] == results
