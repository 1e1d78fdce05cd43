"""Path resolution and workspace classification: the one place that turns a path a model (or a
shell command) names into the canonical path that permissions are judged on.

Rules, in order:

1. Reject what cannot be a path: empty or blank strings, NUL bytes, non-strings.
2. Expand ``~`` and ``~user``; join relative paths onto the base (the workspace by default).
   A name that does not exist as written but does with its ``\\xNN`` escapes read as bytes
   is that file (names that are not UTF-8 are shown that way; see ``core.escapes``).
3. Canonicalize through the file system: every symlink is followed (chains included), ``..`` is
   applied after the symlink before it is resolved (as the kernel does), and the part of the
   path that does not exist yet is kept as written under its nearest existing, canonical
   ancestor. So a write target is judged by where the file will really land.
4. On file systems or directories that fold case, existing components take their on-disk
   spelling, so ``.ENV`` and ``.env`` produce the same canonical path.
5. Inside / outside is decided on canonical forms only. A symlink in the workspace that points
   outside is outside; ``..`` that climbs out is outside.

The public API (also used by the permission policy and the shell analysis):

- ``resolve(path, workspace, *, base=None, follow_final=True) -> ResolvedPath``
- ``is_inside(canonical, root) -> bool``
- ``canonical_root(workspace) -> Path``
- ``display_path(canonical, workspace) -> str``
- ``PathError`` (a ``ToolError``: its message is meant for the model)
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from stoa.core.escapes import has_byte_escapes, unescape_bytes
from stoa.core.tools.base import ToolError


class PathError(ToolError):
    """A path that cannot be used; the message says why and what to pass instead."""


@dataclass(frozen=True)
class ResolvedPath:
    """A path as the model wrote it and as the file system sees it.

    ``canonical`` is absolute, free of ``.``/``..`` and of symlinks in every existing component
    (with ``follow_final=False`` the last component is kept as a name, not followed).
    ``exists`` is true when something (file, directory, or with ``follow_final=False`` a
    dangling link) is there now. ``inside_workspace`` is decided on ``canonical`` only.
    """

    original: str
    canonical: Path
    exists: bool
    inside_workspace: bool
    workspace: Path
    # The last component is a symlink (only known when follow_final=False, or when the path
    # as written ended in a link that was followed).
    via_symlink: bool = False

    @property
    def display(self) -> str:
        """Workspace-relative when inside, absolute otherwise: what messages show."""
        return display_path(self.canonical, self.workspace)

    @property
    def target(self) -> str:
        """The string the permission policy matches rules against."""
        return str(self.canonical)

    def outside_reason(self, verb: str = "touches") -> str:
        how = " (through a symlink)" if self.via_symlink else ""
        return f"{verb} a path outside the workspace{how}: {self.canonical}"


def canonical_root(workspace: Path | str) -> Path:
    """The canonical form of the workspace (it must exist to be a workspace)."""
    return Path(_true_case(os.path.realpath(os.fspath(workspace))))


def is_inside(canonical: Path | str, root: Path | str) -> bool:
    """True when ``canonical`` is ``root`` or below it. Both must already be canonical.

    A purely textual check comes first; when it fails, the nearest existing ancestor of
    ``canonical`` is compared with ``root`` by device and inode, which catches aliases the
    text cannot see (bind mounts, case-folding file systems).
    """
    path = os.fspath(canonical)
    top = os.fspath(root)
    if path == top:
        return True
    prefix = top if top.endswith(os.sep) else top + os.sep
    if path.startswith(prefix):
        return True
    try:
        root_stat = os.stat(top)
    except OSError:
        return False
    probe = path
    while True:
        try:
            here = os.lstat(probe)
        except OSError:
            here = None
        if here is not None and os.path.samestat(here, root_stat):
            return True
        parent = os.path.dirname(probe)
        if parent == probe:
            return False
        probe = parent


def display_path(canonical: Path | str, workspace: Path | str) -> str:
    path = os.fspath(canonical)
    root = os.fspath(workspace)
    if path == root:
        return "."
    prefix = root if root.endswith(os.sep) else root + os.sep
    if path.startswith(prefix):
        return path[len(prefix) :]
    return path


def check_path_text(path: object, what: str = "path") -> str:
    """Validate the text of a path argument; returns it unchanged or raises PathError."""
    if isinstance(path, Path):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise PathError(f"{what} must be a string, got {type(path).__name__}")
    if "\x00" in path:
        raise PathError(f"{what} contains a NUL byte, which no file name can hold; pass the path without it")
    if not path.strip():
        raise PathError(
            f"{what} is empty; pass a file or directory path (relative to the workspace, e.g. "
            f"'src/main.py', or '.' for the workspace root)"
        )
    return path


def resolve(
    path: str | Path,
    workspace: Path | str,
    *,
    base: Path | str | None = None,
    follow_final: bool = True,
    what: str = "path",
) -> ResolvedPath:
    """Resolve ``path`` for use, relative to ``base`` (default: the workspace).

    ``follow_final=False`` is for operations on a directory entry itself (deleting or moving a
    symlink acts on the link, not on what it points to): the parent is canonicalized and the
    last name kept as written.
    """
    text = check_path_text(path, what)
    root = canonical_root(workspace)
    expanded = os.path.expanduser(text) if text.startswith("~") else text
    if expanded.startswith("~"):
        raise PathError(
            f"{what} {text!r}: cannot expand {expanded.split(os.sep)[0]!r} (no such user); for a file whose "
            f"name starts with '~', write './{text}'"
        )
    anchor = os.fspath(base) if base is not None else os.fspath(root)
    absolute = os.path.join(anchor, expanded)
    if has_byte_escapes(absolute):
        absolute = _with_escaped_names(absolute)
    last = os.path.basename(absolute.rstrip(os.sep)) if absolute.rstrip(os.sep) else ""
    keep_last = not follow_final and last not in ("", ".", "..") and not absolute.endswith(os.sep)
    try:
        if keep_last:
            parent = _true_case(os.path.realpath(os.path.dirname(absolute)))
            canonical = os.path.join(parent, last)
            try:
                mode = os.lstat(canonical).st_mode
                exists, via_link = True, stat.S_ISLNK(mode)
            except OSError:
                exists, via_link = False, False
        else:
            canonical = _true_case(os.path.realpath(absolute))
            exists = os.path.exists(canonical)
            # Anything but a purely lexical difference means a symlink was followed.
            via_link = os.path.normpath(absolute) != canonical
    except (OSError, ValueError) as exc:
        raise PathError(f"cannot resolve {what} {text!r}: {exc}") from None
    return ResolvedPath(
        original=text,
        canonical=Path(canonical),
        exists=exists,
        inside_workspace=is_inside(canonical, root),
        workspace=root,
        via_symlink=via_link,
    )


def _with_escaped_names(path: str) -> str:
    """``path`` where each name that does not exist as written, but does with its ``\\xNN``
    escapes read as bytes, takes that byte form: the names tools show for files whose names are
    not UTF-8 (see ``core.escapes``) lead back to those files. A name that exists as written
    (a real backslash in it) always wins."""
    parts = path.split(os.sep)
    current = os.sep if path.startswith(os.sep) else ""
    out: list[str] = []
    for name in parts:
        if not name:
            continue
        here = os.path.join(current, name)
        if has_byte_escapes(name) and not os.path.lexists(here):
            raw = unescape_bytes(name)
            if os.path.lexists(os.path.join(current, raw)):
                name, here = raw, os.path.join(current, raw)
        out.append(name)
        current = here
    joined = os.sep.join(out)
    if path.startswith(os.sep):
        joined = os.sep + joined
    return joined + os.sep if path.endswith(os.sep) and not joined.endswith(os.sep) else joined


def _true_case(path: str) -> str:
    """Give each existing component its on-disk spelling where the directory folds case.

    On case-sensitive directories (the usual Linux case) this costs one failed lstat per
    component whose name has letters.
    """
    parts = path.split(os.sep)
    current = os.sep if path.startswith(os.sep) else ""
    out: list[str] = []
    exists = True
    for name in parts:
        if not name:
            continue
        here = os.path.join(current, name)
        if exists:
            fixed = _on_disk_name(current, name)
            if fixed is None:
                exists = False
            else:
                name = fixed
                here = os.path.join(current, name)
        out.append(name)
        current = here
    result = os.sep + os.sep.join(out) if path.startswith(os.sep) else os.sep.join(out)
    return result or path


def _on_disk_name(parent: str, name: str) -> str | None:
    """The spelling of ``name`` stored in ``parent``; None when nothing by that name exists."""
    full = os.path.join(parent, name)
    try:
        st = os.lstat(full)
    except OSError:
        return None
    swapped = name.swapcase()
    if swapped == name:
        return name
    try:
        other = os.lstat(os.path.join(parent, swapped))
    except OSError:
        return name  # case-sensitive here: the name as given is the stored one
    if not os.path.samestat(st, other):
        return name
    try:
        with os.scandir(parent or ".") as entries:
            for entry in entries:
                if entry.name.casefold() == name.casefold():
                    try:
                        if os.path.samestat(entry.stat(follow_symlinks=False), st):
                            return entry.name
                    except OSError:
                        continue
    except OSError:
        pass
    return name
