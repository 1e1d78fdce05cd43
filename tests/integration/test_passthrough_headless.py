"""`!command` from the shell (`stoa -p "!ls"`): the person's own shell line through execute_bash
and the policy, no model request, its output kept as context for the next message."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fake_server import FakeServer, reply
from tests.integration.test_headless import stoa


def _project(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "alpha.txt").write_text("a\n")
    return ws


def test_output_goes_to_stdout_and_no_request_is_made(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = _project(tmp_path)
    env = {k: v for k, v in stoa_env.items() if not k.endswith("_API_KEY")}  # no key needed
    result = stoa(["-p", "!echo marker-42 && ls"], env, ws)
    assert result.returncode == 0, result.stderr
    assert "marker-42" in result.stdout and "alpha.txt" in result.stdout
    assert fake_server.model_requests() == []


def test_the_next_message_carries_command_and_output(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = _project(tmp_path)
    assert stoa(["-p", "!echo marker-43"], stoa_env, ws).returncode == 0
    fake_server.script(reply(text="You echoed a marker."))
    result = stoa(["-c", "-p", "what did I run?"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    body = json.dumps(fake_server.model_requests()[0].json)
    assert "$ echo marker-43" in body and "marker-43\\n" in body and "what did I run?" in body


def test_forbidden_and_denied_lines_never_run(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = _project(tmp_path)
    (ws / ".stoa").mkdir()
    (ws / ".stoa" / "config.local.toml").write_text('[permissions]\ndeny = ["Bash(touch:*)"]\n')
    forbidden = stoa(["-p", "!sudo touch /tmp/never"], stoa_env, ws)
    assert forbidden.returncode == 1
    assert "Denied: forbidden" in forbidden.stdout
    denied = stoa(["-p", "!touch made.txt"], stoa_env, ws)
    assert denied.returncode == 1 and "Denied" in denied.stdout
    assert not (ws / "made.txt").exists()
    # Outside the workspace asks for the model; the person typed it, so it runs.
    outside = tmp_path / "outside.txt"
    ok = stoa(["-p", f"!cat {outside}"], stoa_env, ws) if outside.write_text("out-words\n") else None
    assert ok is not None and ok.returncode == 0 and "out-words" in ok.stdout, ok and ok.stderr
    assert fake_server.model_requests() == []


def test_double_bang_is_a_prompt(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "!!important"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert fake_server.model_requests()[0].user_texts[-1] == "!!important"


def test_undo_takes_back_what_a_bang_line_changed(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        import pytest

        pytest.skip("checkpoints need git (apt-get install git)")
    ws = _project(tmp_path)
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    made = stoa(["-p", "!echo new > made.txt && echo changed > alpha.txt"], stoa_env, ws)
    assert made.returncode == 0, made.stderr
    assert (ws / "made.txt").read_text() == "new\n" and (ws / "alpha.txt").read_text() == "changed\n"
    undone = stoa(["-c", "-p", "/undo"], stoa_env, ws)
    assert undone.returncode == 0, undone.stderr + undone.stdout
    assert not (ws / "made.txt").exists() and (ws / "alpha.txt").read_text() == "a\n"
    assert fake_server.model_requests() == []
