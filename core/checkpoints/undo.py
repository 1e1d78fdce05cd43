"""Putting files back as they were before one or more turns (``/undo``, ``/rewind``).

``plan_undo`` composes the turns' changes (for each path: the state before the earliest of
them, and the state the latest of them left) and compares it with the files now. A path as the
turns left it is restored; one already back is left alone; one changed since by someone else
(edited, deleted, replaced by a folder...) is a *conflict*: ``apply_undo`` skips it unless
told to overwrite it (the version it overwrites is kept in the shadow repository). A path
whose earlier content was not kept (too large) is never touched. Removals go deepest first,
creations shallowest first; a folder the turn created is removed only once empty (never with
anything in it that the turn did not make).
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from stoa.core.checkpoints.shadow import CheckpointError, ShadowRepo
from stoa.core.checkpoints.states import FileState, abs_path, capture
from stoa.core.checkpoints.turn import Turn

Action = Literal["restore", "in_place", "conflict", "lost"]


@dataclass
class PathPlan:
    path: str
    target: FileState
    expected: FileState
    current: FileState
    action: Action
    reason: str = ""


@dataclass
class UndoPlan:
    turns: list[Turn]
    paths: list[PathPlan]

    @property
    def conflicts(self) -> list[PathPlan]:
        return [p for p in self.paths if p.action == "conflict"]

    @property
    def lost(self) -> list[PathPlan]:
        return [p for p in self.paths if p.action == "lost"]

    @property
    def to_restore(self) -> list[PathPlan]:
        return [p for p in self.paths if p.action == "restore"]


@dataclass
class UndoResult:
    restored: list[tuple[str, str]] = field(default_factory=list)  # (path, what was done)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    overwritten: dict[str, str] = field(default_factory=dict)  # path -> blob id of what was replaced

    def to_json(self) -> dict[str, object]:
        return {
            "restored": self.restored,
            "skipped": self.skipped,
            "failed": self.failed,
            "overwritten": self.overwritten,
        }


def plan_undo(repo: ShadowRepo, turns: Sequence[Turn], workspace: Path, *, max_file: int) -> UndoPlan:
    target: dict[str, FileState] = {}
    expected: dict[str, FileState] = {}
    for turn in sorted(turns, key=lambda t: t.number):
        for change in turn.changes:
            target.setdefault(change.path, change.before)
            expected[change.path] = change.after
    keys = sorted(target, key=lambda k: (k.count("/"), k))
    now = capture(repo, [abs_path(k, workspace) for k in keys], max_file=max_file, write=False)
    paths: list[PathPlan] = []
    for key in keys:
        want, left, current = target[key], expected[key], now[abs_path(key, workspace)]
        if want.same_as(left):
            continue  # a later turn put it back: nothing to do
        if current.same_as(want):
            paths.append(PathPlan(key, want, left, current, "in_place"))
        elif want.exists and not want.captured:
            paths.append(
                PathPlan(key, want, left, current, "lost", f"its earlier content was not kept ({want.note})")
            )
        elif current.same_as(left):
            paths.append(PathPlan(key, want, left, current, "restore"))
        else:
            paths.append(PathPlan(key, want, left, current, "conflict", _conflict_reason(left, current)))
    return UndoPlan(turns=sorted(turns, key=lambda t: -t.number), paths=paths)


def _conflict_reason(left: FileState, current: FileState) -> str:
    if left.exists and not current.exists:
        return f"deleted after the turn (the turn left {left.describe()} there)"
    if not left.exists:
        return f"created after the turn (now {current.describe()})"
    if current.kind != left.kind:
        return f"now {current.describe()} (the turn left {left.describe()} there)"
    return "changed after the turn (by you or another program)"


def apply_undo(repo: ShadowRepo, plan: UndoPlan, workspace: Path, *, overwrite: bool = False) -> UndoResult:
    """Restore the plan's paths (conflicts too when ``overwrite``); report what was done."""
    result = UndoResult()
    chosen: list[PathPlan] = []
    for item in plan.paths:
        if item.action == "restore" or (item.action == "conflict" and overwrite):
            chosen.append(item)
        elif item.action == "conflict":
            result.skipped.append((item.path, item.reason))
        elif item.action == "lost":
            result.skipped.append((item.path, item.reason))
    if overwrite:
        replaced = [
            abs_path(p.path, workspace) for p in chosen if p.action == "conflict" and p.current.kind == "file"
        ]
        if replaced:
            kept = capture(repo, replaced, max_file=1 << 62)
            for item in chosen:
                state = kept.get(abs_path(item.path, workspace))
                if state is not None and state.oid:
                    result.overwritten[item.path] = state.oid
    blobs = repo.read_blobs([p.target.oid for p in chosen if p.target.kind == "file" and p.target.oid])
    removed: set[str] = set()
    # Removals, deepest first: what is there and must go (or be replaced by another kind).
    for item in sorted(chosen, key=lambda p: (-p.path.count("/"), p.path)):
        if not item.current.exists:
            continue
        if item.target.exists and item.target.kind == item.current.kind and item.current.kind != "link":
            continue
        path = abs_path(item.path, workspace)
        try:
            if item.current.kind == "dir":
                os.rmdir(path)
            else:
                os.unlink(path)
            removed.add(item.path)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                why = "a folder that still holds files the turn did not make; it was kept"
            else:
                why = f"could not be removed ({exc.strerror or exc})"
            result.failed.append((item.path, why))
            continue
        if not item.target.exists:
            result.restored.append((item.path, "removed (the turn made it)"))
    # Creations, shallowest first.
    failed = {p for p, _ in result.failed}
    for item in sorted(chosen, key=lambda p: (p.path.count("/"), p.path)):
        if not item.target.exists or item.path in failed:
            continue
        path = abs_path(item.path, workspace)
        try:
            _put_back(path, item.target, blobs)
        except (OSError, CheckpointError) as exc:
            why = (
                str(exc)
                if isinstance(exc, CheckpointError)
                else f"could not be written ({exc.strerror or exc})"
            )
            result.failed.append((item.path, why))
            continue
        verb = (
            "recreated (the turn deleted it)"
            if not item.current.exists or item.path in removed
            else "restored"
        )
        if item.action == "conflict":
            verb += ", overwriting the later change"
        result.restored.append((item.path, verb))
    return result


def _put_back(path: str, state: FileState, blobs: dict[str, bytes]) -> None:
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    if state.kind == "dir":
        os.makedirs(path, exist_ok=True)
        if state.mode:
            os.chmod(path, state.mode & 0o7777)
        return
    if state.kind == "link":
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(state.link or "", path)
        return
    if state.kind != "file" or state.oid is None:
        raise CheckpointError(f"{state.describe()} cannot be put back")
    data = blobs.get(state.oid)
    if data is None:
        raise CheckpointError("its saved content is missing from the checkpoint store")
    fd, tmp = tempfile.mkstemp(
        prefix="." + os.path.basename(path)[:80] + ".", suffix=".stoa-tmp", dir=parent or "."
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, (state.mode or 0o644) & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def describe_result(result: UndoResult, turns: Sequence[Turn]) -> list[str]:
    """The lines that tell the person what was done."""
    names = ", ".join(f"{t.number} (“{t.title}”)" for t in sorted(turns, key=lambda t: t.number))
    which = f"turn {names}" if len(turns) == 1 else f"turns {names}"
    lines: list[str] = []
    if result.restored:
        count = len(result.restored)
        lines.append(f"Undid the file changes of {which}: {count} path{'s' if count != 1 else ''} put back")
        lines += [f"  {path}: {what}" for path, what in result.restored]
    else:
        lines.append(f"Nothing was put back for {which}")
    if result.skipped:
        lines.append("Left as they are:")
        lines += [f"  {path}: {why}" for path, why in result.skipped]
    if result.failed:
        lines.append("Could not be put back:")
        lines += [f"  {path}: {why}" for path, why in result.failed]
    if result.overwritten:
        lines.append(
            f"The {len(result.overwritten)} later version(s) overwritten are kept in the checkpoint store."
        )
    return lines
