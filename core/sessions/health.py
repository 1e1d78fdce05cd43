"""Whether the session database is damaged, or only out of reach, and what to tell the person.

Moving the database aside hides every saved conversation from view, so it is done only for a
file confirmed as damaged by reading it (``inspect_file``): it does not start with the SQLite
header, or SQLite's ``PRAGMA quick_check`` reports damage. Every other failure (a full disk, a
read-only file or file system, permissions, a lock held by another program, I/O errors, a
folder where the file should be) leaves the file exactly where it is; ``explain`` says what
happened and what to do, and the conversation goes on in memory.

Damage inside an intact file (pages overwritten, a truncated file) may only show when a save
touches it. The store then checks the file, and a damaged one is remembered in a marker file
next to it (``sessions.db.damaged``), so that the next start confirms the damage and moves the
file aside before using it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import stat
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

SQLITE_HEADER = b"SQLite format 3\x00"
MARKER_SUFFIX = ".damaged"
# Lines of quick_check output kept in messages.
_REPORT_LINES = 3
# How long the damage check waits for another program's lock before it gives up (no verdict).
CHECK_TIMEOUT = 5.0

# SQLite primary result codes.
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


def primary_code(exc: BaseException) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def error_name(exc: BaseException) -> str:
    name = getattr(exc, "sqlite_errorname", None)
    return str(name) if name else type(exc).__name__


def may_be_damage(exc: BaseException) -> bool:
    """Errors that a damaged file can cause (worth reading the file to find out)."""
    return primary_code(exc) in (SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_IOERR)


def inspect_file(path: Path) -> str | None:
    """Why the file at ``path`` is damaged, read from the file itself; None when it is not
    damaged, or when it cannot be read to tell (a folder, no permission, an I/O error: those
    leave the file alone)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError:
        return None
    if not header:
        return None  # an empty file is an empty database
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        return "it is not an SQLite database (its first bytes are not the SQLite header)"
    page_size = int.from_bytes(header[16:18], "big")
    if page_size != 1 and (page_size < 512 or page_size > 32768 or page_size & (page_size - 1)):
        return f"its header is damaged (page size {page_size})"
    return _quick_check(path)


def _quick_check(path: Path) -> str | None:
    uri = f"file:{quote(os.fspath(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=CHECK_TIMEOUT, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check(20)").fetchall()]
    except sqlite3.Error as exc:
        if primary_code(exc) in (SQLITE_CORRUPT, SQLITE_NOTADB):
            return f"SQLite cannot read it ({exc})"
        return None
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
    if rows == ["ok"]:
        return None
    shown = "; ".join(rows[:_REPORT_LINES]) + ("; ..." if len(rows) > _REPORT_LINES else "")
    return f"SQLite's quick_check found damage: {shown}"


# ---- the marker ---------------------------------------------------------------------------------


def marker_path(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


def write_marker(path: Path, reason: str) -> bool:
    """Remember that ``path`` was found damaged (best effort: a full disk may refuse even this)."""
    body = json.dumps({"database": os.fsdecode(path), "reason": reason, "found_at": time.time()})
    try:
        marker_path(path).write_text(body + "\n", encoding="utf-8")
    except OSError:
        return False
    return True


def read_marker(path: Path) -> str | None:
    """The reason recorded by ``write_marker``, or None when there is no marker."""
    try:
        text = marker_path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text.strip() or "found damaged"
    return str(data.get("reason", "found damaged")) if isinstance(data, dict) else "found damaged"


def clear_marker(path: Path) -> None:
    with contextlib.suppress(OSError):
        marker_path(path).unlink()


# ---- what to tell the person --------------------------------------------------------------------


def explain(path: Path, exc: BaseException) -> str:
    """What made ``path`` unusable, and what to do, for an error that is not damage."""
    what, todo = _cause(path, exc)
    return f"{what} ({error_name(exc)}). {todo}"


def _cause(path: Path, exc: BaseException) -> tuple[str, str]:
    folder = path.parent
    code = primary_code(exc)
    elsewhere = "or set STOA_HOME to another folder"
    if path.is_dir():
        return (
            f"{path} is a folder, not a database",
            f"Move or rename that folder (Stoa leaves it alone), {elsewhere}.",
        )
    blocked = _not_a_folder(folder)
    if blocked is not None:
        return f"{blocked} is a file, where Stoa keeps the folder of its database", f"Move that file away, {elsewhere}."
    if code == SQLITE_FULL or _disk_full(folder):
        return f"the disk holding {folder} is full", "Free some space."
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return (
            f"{path} is locked by another program",
            "Close the program holding it (another Stoa still writing?), then send again.",
        )
    problem = _write_probe(path)
    if problem in (errno.EROFS,):
        return f"{path} is on a read-only file system", f"Make it writable, {elsewhere}."
    if problem in (errno.EACCES, errno.EPERM):
        return (
            f"Stoa may not write {path} or its folder (permission denied)",
            f"Fix the permissions (for example chmod u+rw on the file and its folder), {elsewhere}.",
        )
    if problem in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk holding {folder} is full (or your quota is used up)", "Free some space."
    if code == SQLITE_READONLY:
        return f"{path} is read-only", f"Make the file and its folder writable, {elsewhere}."
    if code == SQLITE_IOERR:
        return (
            f"reading or writing {path} failed",
            "Check the disk (free space, `dmesg` for hardware errors); the file was not moved or changed.",
        )
    if code == SQLITE_CANTOPEN:
        return (
            f"{path} cannot be opened",
            f"Check that it and its folder exist and are readable and writable, {elsewhere}.",
        )
    return f"{path} cannot be used: {exc}", f"Check the file and its folder, {elsewhere}."


def explain_folder(folder: Path, exc: OSError) -> str:
    """Why the database's folder could not be created, and what to do."""
    elsewhere = "or set STOA_HOME to another folder"
    blocked = _not_a_folder(folder)
    if blocked is not None:
        return f"{blocked} is a file, where Stoa keeps the folder of its database. Move that file away, {elsewhere}."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"Stoa may not create {folder} (permission denied). Fix the permissions of its parent, {elsewhere}."
    if exc.errno == errno.EROFS:
        return f"{folder} would be on a read-only file system. Make it writable, {elsewhere}."
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full: {folder} cannot be created. Free some space."
    return f"cannot create {folder} ({exc.strerror or exc}). Check its parent folders, {elsewhere}."


def _not_a_folder(folder: Path) -> Path | None:
    """The first existing part of ``folder`` that is not a folder (a file in the way), or None."""
    for part in (folder, *folder.parents):
        if part.exists() or part.is_symlink():
            return None if part.is_dir() else part
    return None


def _disk_full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def _write_probe(path: Path) -> int | None:
    """The errno of opening ``path`` for writing, or of creating a file next to it (SQLite's
    -wal and -shm files live there), or None when both work."""
    try:
        if path.exists():
            os.close(os.open(path, os.O_RDWR))
        fd, probe = tempfile.mkstemp(prefix=".stoa-probe-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.errno
    return None
