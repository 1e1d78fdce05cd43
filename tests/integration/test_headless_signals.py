"""``stoa -p`` stopped by SIGTERM (``timeout`` in CI) or SIGHUP mid-reply: the turn is
interrupted as Ctrl+C interrupts it, the partial reply is saved with the interrupt marker,
the stream-json output still ends with its result line, and the exit code is the shell's for
the signal (143, 129). ``stoa -c`` then carries the partial reply on.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stoa.core.agent.history import INTERRUPTED_MARKER
from tests.fake_server import FakeServer, reply

STOA = [sys.executable, "-m", "stoa.app.cli"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    return ws


SLOW = "Counting slowly: one, two, three, four, five, " + ", ".join(str(n) for n in range(6, 600)) + "."


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_interrupts_the_turn_saves_it_and_exits_with_its_code(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, signum: int, code: int
) -> None:
    main = {"model": "claude-sonnet-5-5"}
    fake_server.default_reply = reply(text="Counting")  # the session title, on a cheaper model
    fake_server.script(reply(text=SLOW, chunk_size=6, delay_per_event=0.05, match=main))
    stoa = subprocess.Popen(
        [*STOA, "-p", "count", "--output-format", "stream-json"], env=stoa_env, cwd=workspace,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[dict] = []  # type: ignore[type-arg]
    try:
        assert stoa.stdout is not None
        shown = ""
        for raw in stoa.stdout:
            lines.append(json.loads(raw))
            if lines[-1]["type"] == "AssistantTextDelta":
                shown += lines[-1]["text"]
                if "five" in shown:
                    stoa.send_signal(signum)
                    break
        rest, err = stoa.communicate(timeout=60)
    finally:
        if stoa.poll() is None:
            stoa.kill()
            stoa.communicate()
    lines += [json.loads(raw) for raw in rest.splitlines()]
    assert stoa.returncode == code, err[-2000:]
    kinds = [line["type"] for line in lines]
    assert "TurnInterrupted" in kinds and kinds[-1] == "result", kinds[-5:]
    partial = next(line for line in lines if line["type"] == "TurnInterrupted")["partial_text"]
    assert partial.startswith("Counting slowly: one, two, three, four, five") and partial != SLOW

    fake_server.script(reply(text="Carrying on.", match=main))
    again = subprocess.run(
        [*STOA, "-c", "-p", "go on"], env=stoa_env, cwd=workspace, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    sent = [r for r in fake_server.model_requests() if r.body.get("model") == "claude-sonnet-5-5"][-1]
    messages = sent.body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"][0]["text"] == partial
    assert [b["text"] for b in messages[2]["content"]] == [INTERRUPTED_MARKER, "go on"]


def test_a_signal_between_two_stdin_messages_ends_the_run_at_once(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    """--input-format stream-json waiting for the next message (stdin still open): SIGTERM ends
    the run with its result line and 143, no traceback, without waiting for a line."""
    fake_server.default_reply = reply(text="ok")
    stoa = subprocess.Popen(
        [*STOA, "--input-format", "stream-json", "--output-format", "stream-json"], env=stoa_env, cwd=workspace,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert stoa.stdin is not None and stoa.stdout is not None
        stoa.stdin.write(json.dumps({"type": "user", "message": {"role": "user", "content": "hi"}}) + "\n")
        stoa.stdin.flush()
        for raw in stoa.stdout:
            if json.loads(raw)["type"] == "TurnFinished":
                break
        stoa.send_signal(signal.SIGTERM)
        assert stoa.wait(timeout=60) == 143  # stdin is still open: nothing waits for it
        rest = stoa.stdout.read()
        err = stoa.stderr.read() if stoa.stderr is not None else ""
        assert "Traceback" not in err, err
        assert json.loads(rest.splitlines()[-1])["type"] == "result"
    finally:
        if stoa.poll() is None:
            stoa.kill()
        stoa.communicate()
