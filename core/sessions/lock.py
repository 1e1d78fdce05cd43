"""One writer per session: a lock file per session, held (``flock``) by the process writing it.

Two processes resuming one session used to interleave their turns into one history. Now the
process that starts or resumes a session holds ``<data>/locks/<session id>.lock`` until it
leaves the session; a second process finds it held and is told who holds it (pid, host, since
when), so the TUI can offer a fork (a copy of the history) and headless mode can stop.

The kernel drops an ``flock`` when its process ends, however it ends (``kill -9`` included), so
a lock left by a dead process is simply taken over: there is never a stale lock to clean up.
The descriptor is close-on-exec, so the shell commands Stoa starts never hold it. A folder where
locks cannot be kept (read-only, a file system without locks) means no lock, not no session.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from stoa.core.sessions.store import SessionStoreError

LOCK_DIR = "locks"


@dataclass(frozen=True)
class LockHolder:
    """The process holding a session, as it wrote itself into the lock file."""

    pid: int
    host: str
    started_at: float | None

    def describe(self) -> str:
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        since = ""
        if self.started_at:
            since = f", running since {time.strftime('%Y-%m-%d %H:%M', time.localtime(self.started_at))}"
        return f"pid {self.pid}{where}{since}"


class SessionLockedError(SessionStoreError):
    """Another process is writing this session."""

    def __init__(self, session_id: str, holder: LockHolder | None) -> None:
        who = f"another Stoa ({holder.describe()})" if holder else "another Stoa process"
        super().__init__(
            f"session {session_id[:8]} is open in {who}; two processes writing one session would "
            "interleave their turns. Finish or quit it there first, or resume it in the TUI, which "
            "offers to fork it into a new session (a copy of its history)."
        )
        self.session_id = session_id
        self.holder = holder


class SessionLock:
    """A held session lock; ``release`` (or the end of the process) lets it go."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, folder: Path, session_id: str) -> SessionLock | None:
        """Take the lock of ``session_id`` under ``folder`` (the database's folder).

        Raises ``SessionLockedError`` when another process holds it; returns None when locks
        cannot be kept there (the session then goes on unlocked)."""
        path = folder / LOCK_DIR / f"{session_id}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        for _ in range(10):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise SessionLockedError(session_id, holder) from None
            except OSError:
                os.close(fd)
                return None
            # The previous holder unlinks the file as it releases it: a lock on a file that is
            # no longer at ``path`` locks nothing anyone else will see. Open the new one.
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            _write_holder(fd)
            return cls(path, fd)
        return None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # still locked here, so nobody holds the name we remove
        finally:
            os.close(fd)


def holder_of(folder: Path, session_id: str) -> LockHolder | None:
    """Who holds ``session_id`` now (None when nobody does), without taking the lock."""
    path = folder / LOCK_DIR / f"{session_id}.lock"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or LockHolder(pid=0, host="?", started_at=None)
        except OSError:
            return None
        return None
    finally:
        os.close(fd)


def _write_holder(fd: int) -> None:
    data = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": _process_start(), "locked_at": time.time()}
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(data).encode() + b"\n", 0)


def _read_holder(fd: int) -> LockHolder | None:
    try:
        raw = os.pread(fd, 4096, 0)
        data = json.loads(raw.decode("utf-8", "replace"))
        return LockHolder(pid=int(data["pid"]), host=str(data["host"]), started_at=data.get("started_at"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _process_start() -> float | None:
    """When this process started (Linux /proc), as a Unix time."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])
        with open("/proc/stat", "rb") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith(b"btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
