"""No shell command outlives Stoa: a watchdog process ends their process groups when Stoa ends.

Each ``execute_bash`` command runs in a process group of its own (its own session, so a
terminal's Ctrl+C reaches Stoa, not the command). Esc, Ctrl+C, a timeout and the end of the
command kill that group from inside Stoa. But SIGTERM and SIGHUP (the terminal window closed)
end Python at once, and ``kill -9`` ends it without any clean-up at all: the commands' groups
(a long ``sleep``, a dev server, their children, a bubblewrap sandbox) would run on, orphaned.

So the first command starts one small watchdog process. Stoa tells it, through a pipe, which
groups are running (``+PGID`` when one starts, ``-PGID`` when it is over). The pipe's only
writer is Stoa: however Stoa ends, the kernel closes it, the watchdog reads end-of-file, and it
signals every group still listed (SIGTERM, then SIGKILL after a short grace) before it exits,
and every process that detached from one (found by its ``STOA_RUN=<Stoa's pid>.N`` variable,
core/processes.py).
The watchdog sits in a session of its own (the terminal's signals do not reach it) and holds
none of Stoa's files (its output goes to /dev/null; nothing else is inherited), so it never keeps
a caller waiting on Stoa's output. Registering is a few bytes written to a pipe.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading

# Seconds between SIGTERM and SIGKILL when Stoa is gone.
GRACE_SECONDS = 0.5

_SCRIPT = f"""
import os, signal, sys, time
for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTSTP, signal.SIGPIPE):
    signal.signal(sig, signal.SIG_IGN)
groups = set()
for line in sys.stdin.buffer:
    line = line.strip()
    if line[:1] == b"+" and line[1:].isdigit():
        groups.add(int(line[1:]))
    elif line[:1] == b"-" and line[1:].isdigit():
        groups.discard(int(line[1:]))
def alive(pgid):
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True
# What detached from the groups (setsid, double fork, nohup ... &) carries STOA_RUN=<Stoa's pid>.N.
needle = ("STOA_RUN=" + sys.argv[1] + ".").encode()
def marked():
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/" + entry + "/environ", "rb") as handle:
                    environ = handle.read()
            except OSError:
                continue
            if any(v.startswith(needle) for v in environ.split(bytes(1))):
                found.add(int(entry))
    return found
for sig in (signal.SIGTERM, signal.SIGKILL):
    groups = {{g for g in groups if alive(g)}}
    strays = marked()
    for pgid in groups:
        try:
            os.killpg(pgid, sig)
        except OSError:
            pass
    for pid in strays:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    if (groups or strays) and sig == signal.SIGTERM:
        time.sleep({GRACE_SECONDS})
"""


class Watchdog:
    """The watchdog of this process (see the module docstring). Thread-safe; started lazily."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._groups: set[int] = set()

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def track(self, pgid: int) -> None:
        """A command's process group started: end it if Stoa ends first."""
        with self._lock:
            self._groups.add(pgid)
            self._send(f"+{pgid}\n")

    def untrack(self, pgid: int) -> None:
        """The group is over (or was killed by Stoa itself)."""
        with self._lock:
            self._groups.discard(pgid)
            if self.pid is not None:  # a dead one is replaced at the next track, told everything
                self._send(f"-{pgid}\n")

    def _send(self, line: str) -> None:
        for _ in range(2):
            proc, fresh = self._running()
            if proc is None or proc.stdin is None:
                return  # no watchdog could be started: Stoa's own clean-up still runs
            # A new watchdog (the first, or one started after the last was killed) hears of
            # every running group, not just this change.
            payload = "".join(f"+{g}\n" for g in self._groups) if fresh else line
            try:
                proc.stdin.write(payload.encode())
                proc.stdin.flush()
                return
            except OSError:  # it died under us (killed by someone): start another
                self._proc = None

    def _running(self) -> tuple[subprocess.Popen[bytes] | None, bool]:
        """The live watchdog, and whether it was just started."""
        proc = self._proc
        if proc is not None and self._owner_pid == os.getpid() and proc.poll() is None:
            return proc, False
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _SCRIPT, str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                cwd="/",
            )
        except OSError:
            return None, False
        self._proc, self._owner_pid = proc, os.getpid()
        return proc, True

    def close(self) -> None:
        """Stop the watchdog (tests; a normal exit closes the pipe anyway). Groups still listed
        are ended by it, as on any exit."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


WATCHDOG = Watchdog()
