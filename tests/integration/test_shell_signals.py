"""Stoa ending, however it ends, ends the shell commands it started.

Headless Stoa (a real subprocess) runs ``execute_bash`` with a long ``sleep`` in the background
(a grandchild, in the command's process group) and another in the foreground, with and without
the bubblewrap sandbox. While they run, Stoa gets SIGTERM, SIGHUP (the terminal closed) or
SIGKILL; afterwards neither sleep may be left, and neither may the watchdog that did the job.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stoa.core.sandbox import detect
from tests.fake_server import FakeServer, reply, tool_call

SANDBOX = detect()
needs_bwrap = pytest.mark.skipif(not SANDBOX.available, reason=f"no working bubblewrap here: {SANDBOX.reason}")


@pytest.fixture
def place() -> Iterator[Path]:
    """A workspace outside /tmp (the sandbox gives commands an empty /tmp of their own)."""
    base = Path(tempfile.mkdtemp(prefix="stoa-signal-test-", dir=os.path.expanduser("~")))
    try:
        yield base.resolve()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def processes() -> dict[int, tuple[int, str, list[str]]]:
    """pid -> (ppid, state, argv) of every process (Linux /proc)."""
    table: dict[int, tuple[int, str, list[str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), fields[0], [a for a in argv if a])
    return table


def living(match: list[str]) -> list[int]:
    return [pid for pid, (_, state, argv) in processes().items() if argv == match and state != "Z"]


def wait_until(predicate, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.parametrize("sandbox", [False, pytest.param(True, marks=needs_bwrap)], ids=["plain", "bwrap"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=["TERM", "HUP", "KILL"])
def test_ending_stoa_ends_its_running_commands(
    stoa_env: dict[str, str], fake_server: FakeServer, place: Path, signum: int, sandbox: bool
) -> None:
    ws = place / "project"
    (ws / ".stoa").mkdir(parents=True)
    settings = '[permissions]\nallow = ["Bash"]\n' + ("" if sandbox else "[sandbox]\nenabled = false\n")
    (ws / ".stoa" / "config.toml").write_text(settings)
    seconds = random.randint(40_000, 49_999)  # unique: these sleeps are found by their argv
    background, foreground = ["sleep", str(seconds)], ["sleep", str(seconds + 1)]
    command = f"sleep {seconds} & sleep {seconds + 1}; echo never"
    fake_server.script(reply(tool_calls=[tool_call("execute_bash", {"command": command})]), reply(text="done"))
    stoa = subprocess.Popen(
        [sys.executable, "-m", "stoa.app.cli", "-p", "run it"],
        env=stoa_env, cwd=ws, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: living(background) and living(foreground), 60, "the sleeps never started")
        watchdogs = [
            pid for pid, (ppid, _, argv) in processes().items()
            if ppid == stoa.pid and "-c" in argv and any("groups = set()" in a for a in argv)
        ]
        assert len(watchdogs) == 1
        os.kill(stoa.pid, signum)
        stoa.communicate(timeout=30)
        # SIGTERM and SIGHUP interrupt the turn and save it first, then exit with the shell's code.
        assert stoa.returncode == (-signum if signum == signal.SIGKILL else 128 + signum)
        wait_until(lambda: not living(background) and not living(foreground), 30, "a sleep outlived Stoa")
        wait_until(lambda: watchdogs[0] not in processes() or processes()[watchdogs[0]][1] == "Z", 30, "the watchdog stayed")
    finally:
        if stoa.poll() is None:
            stoa.kill()
            stoa.communicate()
        for pid in living(background) + living(foreground):
            os.kill(pid, signal.SIGKILL)  # never leave them running, even when the test fails


def test_a_watchdog_that_was_killed_is_replaced_and_told_every_group() -> None:
    from stoa.core.tools.watchdog import Watchdog

    dog = Watchdog()
    first = subprocess.Popen(["sleep", "300"], start_new_session=True)
    second = subprocess.Popen(["sleep", "301"], start_new_session=True)
    done = subprocess.Popen(["true"], start_new_session=True)
    try:
        dog.track(first.pid)
        dog.track(done.pid)
        done.wait()
        dog.untrack(done.pid)
        old = dog.pid
        assert old is not None
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: dog.pid != old, 10, "the watchdog did not die")
        dog.track(second.pid)  # a new watchdog, told about both running groups
        assert dog.pid not in (None, old)
        dog.close()  # end of the pipe, as when Stoa ends
        assert first.wait(10) == -signal.SIGTERM and second.wait(10) == -signal.SIGTERM
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
