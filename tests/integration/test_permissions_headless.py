"""Permission decisions end to end in headless mode (``stoa -p`` as a real subprocess against the
fake provider): what runs, what is refused, and what the refusal tells the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]


def stoa(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STOA, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    (ws / "notes" / "old").mkdir(parents=True)
    (ws / "notes" / "todo.md").write_text("- keep me\n")
    (ws / "notes" / "old" / "a.md").write_text("a\n")
    (ws / ".stoa").mkdir()
    return ws


def test_a_write_rule_lets_headless_write_but_never_delete(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / ".stoa" / "config.local.toml").write_text('[permissions]\nallow = ["Write(notes/**)"]\n')
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("write_file", {"path": "notes/todo.md", "content": "- changed\n"}, id="w1"),
                tool_call("delete_file", {"path": "notes/todo.md"}, id="d1"),
                tool_call("delete_directory", {"path": "notes/old"}, id="d2"),
            ]
        ),
        reply(text="done"),
    )
    result = stoa(["--mode", "ask", "-p", "tidy the notes"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert (workspace / "notes" / "todo.md").read_text() == "- changed\n"  # the rule allowed the write
    assert (workspace / "notes" / "old" / "a.md").exists()
    results = {r.id: r.text for r in fake_server.model_requests()[1].tool_results}
    for call in ("d1", "d2"):
        text = results[call]
        assert text.startswith("Not run:") and "Headless mode cannot ask" in text, text
        assert "Write(" not in text and "allow list" not in text, text
    assert json.dumps(fake_server.model_requests()[1].json).count("Not run:") == 2
