"""``kill -TERM`` / ``kill -HUP`` of a running ``stoa`` in a real terminal (tmux): the terminal is
given back as it was (no alternate screen, cursor shown, no mouse or bracketed-paste reporting,
cooked tty), the partial reply of the running turn is saved with the interrupt marker and shown
by ``stoa -c``, the session's background jobs end, and the exit code is the shell's for the
signal (143, 129)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.bench.tui_harness import TmuxStoa, _quote, tmux
from tests.fake_server import FakeServer, reply, tool_call

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux to run the app in a terminal")

WAIT = 60.0
PARTIAL = "Counting sheep slowly: one sheep, two sheep, three sheep, four sheep, five sheep"
# Long enough that the reply is still streaming when the signal comes.
SLOW_TEXT = PARTIAL + ", " + ", ".join(f"sheep number {n}" for n in range(6, 400)) + "."


def pane_flags(app: TmuxStoa) -> dict[str, str]:
    names = ("alternate_on", "cursor_flag", "mouse_any_flag", "mouse_all_flag", "mouse_button_flag",
             "mouse_standard_flag", "mouse_sgr_flag", "keypad_cursor_flag")
    out = tmux("display-message", "-p", "-t", app.session, " ".join(f"#{{{n}}}" for n in names), socket=app.socket)
    return dict(zip(names, out.split(), strict=True))


def job_alive(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_restores_the_terminal_and_saves_the_partial_reply(
    tmp_path: Path, fake_server: FakeServer, signum: int, code: int
) -> None:
    seconds = 4300 + code  # a background job to be ended with the app, told apart by its length
    main = {"model": "claude-sonnet-5-5"}  # the session's title goes to a cheaper model
    fake_server.default_reply = reply(text="Sheep")
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": f"sleep {seconds}", "background": True})], match=main),
        reply(text="The job runs.", match=main),
        reply(text=SLOW_TEXT, chunk_size=8, delay_per_event=0.15, match=main),
    )
    stty, pasted = tmp_path / "stty.txt", tmp_path / "pasted.txt"
    after = f"stty -a > {_quote(str(stty))}; echo \"[exited $code]\"; cat -v > {_quote(str(pasted))}"
    app = TmuxStoa(tmp_path, fake_server.base_url, hold=True, after=after)
    app.start()
    try:
        app.wait_for_text("Message Stoa", timeout=WAIT)
        app.send_keys("start the job", literal=True)
        app.send_keys("Enter")
        app.wait_for_text("The job runs.", timeout=WAIT)
        deadline = time.monotonic() + WAIT
        while not job_alive(f"sleep {seconds}"):
            assert time.monotonic() < deadline, "the background job did not start"
            time.sleep(0.1)
        app.send_keys("count sheep", literal=True)
        app.send_keys("Enter")
        app.wait_for_text("five sheep", timeout=WAIT)
        assert pane_flags(app)["alternate_on"] == "1"
        os.kill(app.app_pid(), signum)
        app.wait_for_text(f"[exited {code}]", timeout=WAIT)
        flags = pane_flags(app)
        assert flags == dict.fromkeys(flags, "0") | {"cursor_flag": "1"}, flags
        modes = stty.read_text().split()
        assert "icanon" in modes and "echo" in modes and "-icanon" not in modes, modes
        # Bracketed paste is off: a paste reaches the next program without ESC[200~ around it.
        tmux("set-buffer", "-b", "probe", "pasted words", socket=app.socket)
        tmux("paste-buffer", "-p", "-b", "probe", "-t", app.session, socket=app.socket)
        app.send_keys("Enter")
        app.send_keys("C-d")
        app.wait_for_text(f"[exit {code}]", timeout=WAIT)
        assert pasted.read_text() == "pasted words\n"
        assert not job_alive(f"sleep {seconds}"), "the background job outlived Stoa"
    finally:
        app.stop()
    # The partial reply, saved with the marker, is there when the session is continued.
    again = TmuxStoa(tmp_path, fake_server.base_url, args=("-c",), hold=True)
    again.start()
    try:
        screen_text = again.wait_for_text("five sheep", timeout=WAIT) and again.screen()
        assert "interrupted" in screen_text, screen_text
    finally:
        again.stop()


def test_a_terminal_that_goes_away_ends_stoa(tmp_path: Path, fake_server: FakeServer) -> None:
    """The terminal is closed under a running turn (its window closed, ssh dropped: tmux's server
    killed here). Stoa gets SIGHUP and writes to a terminal that is gone; it must still end,
    with the partial reply saved, never linger as an orphan that ignores SIGTERM."""
    fake_server.default_reply = reply(text="Sheep")
    fake_server.script(reply(text=SLOW_TEXT, chunk_size=8, delay_per_event=0.15, match={"model": "claude-sonnet-5-5"}))
    app = TmuxStoa(tmp_path, fake_server.base_url)
    app.start()
    try:
        app.wait_for_text("Message Stoa", timeout=WAIT)
        app.send_keys("count sheep", literal=True)
        app.send_keys("Enter")
        app.wait_for_text("five sheep", timeout=WAIT)
        pid = app.app_pid()
        tmux("kill-server", socket=app.socket)
        # Well before the last resort (signals.TURN_GRACE_SECONDS + SHUTDOWN_SECONDS = 15 s),
        # which ended it when Textual's writes blocked on the dead terminal (textual_fixes.py).
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
            assert time.monotonic() < deadline, "Stoa outlived its terminal by 10 s"
            time.sleep(0.1)
    finally:
        app.stop()
    again = TmuxStoa(tmp_path, fake_server.base_url, args=("-c",), hold=True)
    again.start()
    try:
        screen_text = again.wait_for_text("five sheep", timeout=WAIT) and again.screen()
        assert "interrupted" in screen_text, screen_text
    finally:
        again.stop()


def test_a_hung_shutdown_after_a_signal_still_ends_the_process() -> None:
    """The last resort: when the clean exit after a signal never finishes (a shutdown stuck on a
    terminal that is gone), the process ends with the signal's code anyway."""
    import subprocess
    import sys

    script = (
        "import threading, time\n"
        "from stoa.app import signals\n"
        "signals.TURN_GRACE_SECONDS, signals.SHUTDOWN_SECONDS = 0.0, 0.2\n"
        "signals._last_resort(129)\n"
        "threading.Event().wait(60)  # a shutdown that never returns\n"
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=30, capture_output=True, text=True)
    assert done.returncode == 129, done.stderr
