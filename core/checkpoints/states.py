"""What one path held at one moment: absent, a file (content and mode), a symlink, a folder.

A ``FileState`` is what a checkpoint records of a path before a turn changed it and when the
turn ended. File contents live in the shadow repository (``oid``, a git blob id); a file too
large to keep has no ``oid`` and says why in ``note``. Paths are keyed relative to the
workspace (``src/app.py``), or absolute when outside it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from stoa.core.checkpoints.shadow import MODE_EXEC, MODE_FILE, MODE_LINK, ShadowRepo

Kind = Literal["absent", "file", "link", "dir", "other"]


@dataclass(frozen=True)
class FileState:
    kind: Kind
    # Permission bits (files and folders): st_mode & 0o7777.
    mode: int = 0
    # Blob id of a file's content; None when it was not kept (see ``note``).
    oid: str | None = None
    size: int = 0
    # A symlink's target.
    link: str | None = None
    # Why the content was not kept ("12.0 MB, over the 10.0 MB limit per file").
    note: str | None = None

    @property
    def exists(self) -> bool:
        return self.kind != "absent"

    @property
    def captured(self) -> bool:
        """Whether the state can be put back (a file's content is kept, or nothing is needed)."""
        return self.kind in ("absent", "dir", "link") or (self.kind == "file" and self.oid is not None)

    def same_as(self, other: FileState) -> bool:
        """Equal for undo's purposes: same kind, same content (and executable bit), same link."""
        if self.kind != other.kind:
            return False
        if self.kind == "file":
            if self.oid is None or other.oid is None:
                return self.oid is None and other.oid is None and self.size == other.size
            return self.oid == other.oid and bool(self.mode & 0o111) == bool(other.mode & 0o111)
        if self.kind == "link":
            return self.link == other.link
        return True

    def describe(self) -> str:
        return {"absent": "not there", "file": "a file", "link": "a symlink", "dir": "a folder"}.get(
            self.kind, "a special file"
        )

    def git_entry(self) -> tuple[int, str] | None:
        """(mode, oid) as a tree entry, for files with kept content."""
        if self.kind == "file" and self.oid is not None:
            return (MODE_EXEC if self.mode & 0o111 else MODE_FILE, self.oid)
        return None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for name in ("mode", "oid", "size", "link", "note"):
            value = getattr(self, name)
            if value:
                data[name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileState:
        return cls(
            kind=data.get("kind", "absent"),
            mode=int(data.get("mode", 0)),
            oid=data.get("oid"),
            size=int(data.get("size", 0)),
            link=data.get("link"),
            note=data.get("note"),
        )

    @classmethod
    def from_tree(cls, mode: int, oid: str, link: str | None = None) -> FileState:
        """A state from a tree entry (mode 0: not in the tree)."""
        if mode == 0:
            return ABSENT
        if mode == MODE_LINK:
            return cls(kind="link", oid=oid, link=link)
        return cls(kind="file", mode=0o755 if mode & 0o111 else 0o644, oid=oid)


ABSENT = FileState(kind="absent")


def key_for(path: str | Path, workspace: Path) -> str:
    """How a path is keyed: relative to the workspace (posix), or absolute outside it."""
    text = os.fspath(path)
    root = os.fspath(workspace).rstrip(os.sep)
    if text == root:
        return "."
    if text.startswith(root + os.sep):
        return text[len(root) + 1 :].replace(os.sep, "/")
    return text


def abs_path(key: str, workspace: Path) -> str:
    return key if os.path.isabs(key) else os.path.join(workspace, key)


def inside(key: str) -> bool:
    return not os.path.isabs(key)


def capture(
    repo: ShadowRepo, paths: Sequence[str], *, max_file: int, write: bool = True
) -> dict[str, FileState]:
    """The current state of each absolute path; regular files' contents are stored (``write``)
    unless larger than ``max_file``."""
    states: dict[str, FileState] = {}
    to_hash: list[tuple[str, os.stat_result]] = []
    for path in paths:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            states[path] = ABSENT
            continue
        except NotADirectoryError:
            states[path] = ABSENT
            continue
        except OSError as exc:
            states[path] = FileState(kind="other", note=f"could not be read ({exc.strerror or exc})")
            continue
        mode = st.st_mode & 0o7777
        if stat.S_ISLNK(st.st_mode):
            try:
                states[path] = FileState(kind="link", link=os.readlink(path))
            except OSError as exc:
                states[path] = FileState(kind="other", note=f"could not be read ({exc.strerror or exc})")
        elif stat.S_ISDIR(st.st_mode):
            states[path] = FileState(kind="dir", mode=mode)
        elif stat.S_ISREG(st.st_mode):
            if st.st_size > max_file:
                from stoa.core.tools.files import human_size

                note = f"{human_size(st.st_size)}, over the {human_size(max_file)} limit per file"
                states[path] = FileState(kind="file", mode=mode, size=st.st_size, note=note)
            else:
                to_hash.append((path, st))
        else:
            states[path] = FileState(kind="other", mode=mode, note="not a regular file")
    if to_hash:
        readable: list[tuple[str, os.stat_result]] = []
        for path, st in to_hash:
            if os.access(path, os.R_OK):
                readable.append((path, st))
            else:
                states[path] = FileState(
                    kind="file", mode=st.st_mode & 0o7777, size=st.st_size, note="not readable"
                )
        oids = repo.hash_files([p for p, _ in readable], write=write)
        for (path, st), oid in zip(readable, oids, strict=True):
            states[path] = FileState(kind="file", mode=st.st_mode & 0o7777, oid=oid, size=st.st_size)
    return {p: states[p] for p in paths}
