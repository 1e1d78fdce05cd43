"""``git stash``: which forms discard or rewrite the working tree (issue 11, item 5).

A stash is kept in the repository, but the forms that make one (bare ``git stash``, ``push``,
``save``, ``-u``/``--include-untracked``, ``-a``/``--all``, ``-p``, ``-k``, pathspecs) take
the changes out of the working tree (``--all`` also ignored files: build output, virtual
environments), and ``drop``/``clear`` delete stashed work; they ask like ``git checkout -- .``.
``pop``/``apply``/``branch`` merge a stash into the tree: onto a tree with uncommitted changes
to tracked files (or when that cannot be checked) they ask too; onto a clean tree they are
ordinary changes. ``list``/``show`` read; ``create``/``store`` only write objects and refs.

The shell analysis calls ``stash_kind`` with the folder git would run in.
"""

from __future__ import annotations

import os
import subprocess

# Stash subcommands and what they do to the working tree.
_READ = frozenset({"list", "show"})
_OBJECTS_ONLY = frozenset({"create", "store"})
_DISCARD_STASHED = frozenset({"drop", "clear"})
_MAKE = frozenset({"push", "save"})
_MERGE_IN = frozenset({"pop", "apply", "branch"})

DIRTY_CHECK_SECONDS = 3.0


def stash_kind(rest: list[str], repo_dir: str | None) -> tuple[str, list[str]]:
    """The analysis kind (``read``/``write``/``destructive``/``unknown``) and reasons for
    ``git stash REST...`` run in ``repo_dir`` (None: not known statically)."""
    action = rest[0] if rest and not rest[0].startswith("-") else "push"
    if rest[:1] == ["--"]:
        action = "push"
    if action in _READ:
        return "read", []
    if action in _OBJECTS_ONLY:
        return "write", []
    if action in _DISCARD_STASHED:
        return "destructive", [f"git stash {action} deletes stashed changes"]
    if action in _MAKE:
        options = [r for r in rest if r.startswith("-")]
        if any(o in ("-a", "--all") for o in options):
            what = "uncommitted changes, untracked and ignored files too,"
        elif any(o in ("-u", "--include-untracked") for o in options):
            what = "uncommitted changes and untracked files"
        else:
            what = "uncommitted changes"
        return "destructive", [f"git stash takes {what} out of the working tree (like git checkout -- .)"]
    if action in _MERGE_IN:
        dirty = tree_has_changes(repo_dir)
        if dirty is False:
            return "write", []
        why = "has uncommitted changes" if dirty else "could not be checked for uncommitted changes"
        return "destructive", [f"git stash {action} merges into a working tree that {why}, rewriting them"]
    return "unknown", [f"git stash {action} is not a stash command Stoa knows"]


def tree_has_changes(repo_dir: str | None) -> bool | None:
    """Whether tracked files in the repository at ``repo_dir`` have uncommitted changes (staged
    or not); None when that cannot be told (no folder, not a repository, git failed or hung).

    git runs with no hooks or helpers that could run programs (fsmonitor off, submodules not
    entered) and without taking the index lock, so checking changes nothing."""
    if repo_dir is None or not os.path.isdir(repo_dir):
        return None
    from stoa.core.sandbox.env import scrub_env

    env = {
        key: value
        for key, value in scrub_env(os.environ).items()
        if not key.startswith("GIT_") and key not in ("LD_PRELOAD", "LD_LIBRARY_PATH")
    }
    env.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    argv = [
        "git", "-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false", "-C", repo_dir,
        "status", "--porcelain=v1", "-z", "--untracked-files=no", "--ignore-submodules=all",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=DIRTY_CHECK_SECONDS, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return bool(done.stdout.strip(b"\0 \n"))
