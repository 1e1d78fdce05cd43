"""The diffs ``/diff`` shows and ``/review`` sends: the working tree's changes in the
workspace's own git repository (``git diff`` against HEAD, untracked files included), a ref or
range of it, and the changes of each turn of this session (from their checkpoints).

Untracked files are shown by marking them intent-to-add in a *copy* of the repository's index
(``GIT_INDEX_FILE``), so ``git diff`` shows them as new files and the real index is never
touched. Everything is git's own output; nothing here computes a diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from stoa.core.checkpoints.manager import Checkpoints
from stoa.core.checkpoints.shadow import EMPTY_TREE, CheckpointError
from stoa.core.checkpoints.states import inside
from stoa.core.checkpoints.turn import Turn

# The most diff text one section holds (a screen of a huge diff helps nobody).
MAX_DIFF_CHARS = 2_000_000
GIT_TIMEOUT = 120.0


class DiffError(Exception):
    """A diff could not be made; the message says why and what to do."""


@dataclass
class DiffSection:
    title: str
    diff: str
    notes: list[str] = field(default_factory=list)
    # The files it touches, with (added, removed) line counts.
    files: list[tuple[str, int, int]] = field(default_factory=list)


def _git(workspace: Path, args: list[str], *, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(workspace), *args],
            capture_output=True,
            env=env,
            timeout=GIT_TIMEOUT,
        )
    except FileNotFoundError:
        raise DiffError("git is not installed (apt-get install git)") from None
    except subprocess.TimeoutExpired:
        raise DiffError(f"git {args[0]} took more than {GIT_TIMEOUT:.0f} s") from None
    if result.returncode not in ok:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiffError(message[-1] if message else f"git {args[0]} failed")
    return result.stdout.decode("utf-8", "surrogateescape")


def repository_root(workspace: Path) -> Path | None:
    """The git repository holding the workspace, or None (not in git, or no git)."""
    try:
        out = _git(workspace, ["rev-parse", "--show-toplevel"])
    except DiffError:
        return None
    return Path(out.strip()) if out.strip() else None


def _head_or_empty(workspace: Path) -> str:
    try:
        return _git(workspace, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).strip() or EMPTY_TREE
    except DiffError:
        return EMPTY_TREE


def working_tree(workspace: Path) -> DiffSection:
    """``git diff HEAD`` of the workspace's repository, untracked (not ignored) files shown as
    new; limited to the workspace folder. Raises ``DiffError`` outside a git repository."""
    if repository_root(workspace) is None:
        raise DiffError(f"{workspace} is not in a git repository; only this session's own changes can be shown")
    git_dir = Path(_git(workspace, ["rev-parse", "--absolute-git-dir"]).strip())
    with tempfile.TemporaryDirectory(prefix="stoa-diff-") as scratch:
        index = Path(scratch) / "index"
        real = git_dir / "index"
        if real.exists():
            shutil.copyfile(real, index)
        env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
        env["GIT_INDEX_FILE"] = str(index)
        env["GIT_OPTIONAL_LOCKS"] = "0"
        untracked = _git(workspace, ["ls-files", "-z", "-o", "--exclude-standard", "--", "."], env=env)
        names = [n for n in untracked.split("\0") if n and not n.endswith("/")]
        if names:
            subprocess.run(
                ["git", "-C", str(workspace), "add", "-N", "--pathspec-from-file=-", "--pathspec-file-nul"],
                input="\0".join(names).encode("utf-8", "surrogateescape"),
                env={**env, "GIT_LITERAL_PATHSPECS": "1"},
                capture_output=True,
                timeout=GIT_TIMEOUT,
            )
        base = _head_or_empty(workspace)
        diff = _git(
            workspace,
            ["diff", "--no-color", "--no-ext-diff", "--relative", base, "--", "."],
            env=env,
        )
    section = DiffSection(title="Working tree (git diff HEAD, untracked files included)", diff=_cap(diff))
    section.files = file_counts(section.diff)
    if not diff.strip():
        section.notes.append("no changes: the working tree matches HEAD")
    return section


def ref_range(workspace: Path, spec: str) -> DiffSection:
    """``git diff SPEC``: a ref (the working tree against it) or a range (``A..B``, ``A...B``).
    Raises ``DiffError`` naming a ref that does not exist."""
    if repository_root(workspace) is None:
        raise DiffError(f"{workspace} is not in a git repository, so there is no {spec!r} to compare with")
    if spec.startswith("-"):
        raise DiffError(f"{spec!r} is not a ref or range (e.g. HEAD~3, main, main..HEAD)")
    ends = [e for e in spec.replace("...", "..").split("..")]
    for end in ends:
        if not end:
            continue
        try:
            _git(workspace, ["rev-parse", "--verify", "--quiet", f"{end}^{{commit}}"])
        except DiffError:
            raise DiffError(
                f"{end!r} is not a commit, branch or tag of this repository; try HEAD~1, a branch name, or A..B"
            ) from None
    diff = _git(workspace, ["diff", "--no-color", "--no-ext-diff", "--relative", spec, "--", "."])
    what = f"changes in {spec}" if ".." in spec else f"the working tree against {spec}"
    section = DiffSection(title=f"git diff {spec} ({what})", diff=_cap(diff))
    section.files = file_counts(section.diff)
    if not diff.strip():
        section.notes.append(f"no changes in {spec}")
    return section


def turn_section(checkpoints: Checkpoints, turn: Turn) -> DiffSection:
    """What one turn changed, from its checkpoint."""
    state = {"undone": " · undone", "rewound": " · rewound"}.get(turn.state, "")
    section = DiffSection(title=f"Turn {turn.number} · “{turn.title}” · {turn.summary()}{state}", diff="")
    if turn.off is not None:
        section.notes.append(f"checkpoints were off for this turn: {turn.off}")
        return section
    if turn.dropped is not None:
        section.notes.append(f"its checkpoint was dropped: {turn.dropped}")
    if turn.pre_tree and turn.post_tree and turn.dropped is None:
        try:
            section.diff = _cap(checkpoints.repo.patch(turn.pre_tree, turn.post_tree))
        except CheckpointError as exc:
            section.notes.append(f"the diff could not be made: {exc}")
    for change in turn.changes:
        if not inside(change.path):
            section.notes.append(f"{change.path} (outside the workspace): {change.verb}")
        elif change.before.kind == "dir" or change.after.kind == "dir":
            if change.before.kind != change.after.kind:
                section.notes.append(f"folder {change.path}/ {change.verb}")
    section.notes += turn.notes
    section.files = file_counts(section.diff)
    return section


def turn_sections(checkpoints: Checkpoints) -> list[DiffSection]:
    return [turn_section(checkpoints, t) for t in checkpoints.turns if t.live and (t.changes or t.off)]


def file_counts(diff: str) -> list[tuple[str, int, int]]:
    """(path, added, removed) per file of a git diff."""
    from stoa.core.diffs import diff_counts

    files: list[tuple[str, int, int]] = []
    for chunk in ("\n" + diff).split("\ndiff --git ")[1:]:
        header = chunk.split("\n", 1)[0]
        parts = header.split(" b/", 1)
        files.append((parts[1] if len(parts) == 2 else header, *diff_counts(chunk)))
    return files


def _cap(diff: str) -> str:
    from stoa.core.escapes import escape_surrogates

    diff = escape_surrogates(diff)
    if len(diff) <= MAX_DIFF_CHARS:
        return diff
    return diff[:MAX_DIFF_CHARS] + f"\n[... the diff goes on; {len(diff) - MAX_DIFF_CHARS:,} more characters not shown]\n"


def as_text(sections: list[DiffSection]) -> str:
    """The sections as plain text (headless output)."""
    out: list[str] = []
    for section in sections:
        out.append(f"=== {section.title}")
        out += [f"  ({note})" for note in section.notes]
        if section.diff.strip():
            out.append(section.diff.rstrip("\n"))
    return "\n".join(out)
