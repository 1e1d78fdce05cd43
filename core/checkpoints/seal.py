"""Sealing a turn's checkpoint: from what was captured during the turn to what it changed.

For every path the turn may have touched, the state before the turn is the *earliest* capture
of it: a file tool's pre-image taken before the base snapshot, else the base snapshot (when
the path is one the snapshots cover: tracked or untracked, not ignored), else a later
pre-image (a path the snapshots leave out, e.g. an ignored build file). The state after is the
file as the turn left it. Paths whose two states are the same did not change. A folder that
was created by the turn (a file tool's target, or found by comparing the snapshots) brings
every entry in it as created too, so undoing removes all of it.

Runs in a thread (``asyncio.to_thread``): it reads files and runs git.
"""

from __future__ import annotations

import os
from pathlib import Path

from stoa.core.checkpoints.shadow import MODE_GITLINK, MODE_LINK, MODE_TREE, ShadowRepo, TreeChange
from stoa.core.checkpoints.states import ABSENT, FileState, abs_path, capture, inside, key_for
from stoa.core.checkpoints.turn import Change, Turn

# A folder created by a turn with more entries than this is not listed entry by entry.
MAX_EXPANDED = 20_000


def seal_turn(
    repo: ShadowRepo, turn: Turn, workspace: Path, index_name: str, *, max_file: int, max_total: int
) -> None:
    """Fill ``turn.changes``, its trees and byte count from its captures (see the module doc)."""
    before: dict[str, FileState] = {}
    tree_after: dict[str, FileState] = {}
    covered: set[str] = set()  # paths the snapshots cover (in the base or the end tree)
    if turn.base is not None:
        end = repo.snapshot(index_name, max_file=max_file, max_total=max_total)
        _note_skipped(turn, end.skipped, workspace)
        diffs = repo.diff_trees(turn.base.tree, end.tree)
        links = _link_targets(repo, diffs)
        late = [k for k, c in turn.captures.items() if c.seq > turn.base.seq and inside(k)]
        if late:
            covered.update(repo.ls_tree(turn.base.tree, late))
            covered.update(repo.ls_tree(end.tree, late))
        for change in diffs:
            if change.before[0] == MODE_GITLINK or change.after[0] == MODE_GITLINK:
                continue
            before[change.path] = _tree_state(change.before, links, workspace, change.path, side="before")
            tree_after[change.path] = _tree_state(change.after, links, workspace, change.path, side="after")
            covered.add(change.path)
    for key, cap in turn.captures.items():
        early = turn.base is None or cap.seq < turn.base.seq
        if early or key not in covered:
            before[key] = cap.state
    # The state after: the files now (captured paths), or the end snapshot (the rest).
    keys = sorted(before)
    captured_now = [k for k in keys if k in turn.captures or k not in tree_after]
    after_states = capture(repo, [abs_path(k, workspace) for k in captured_now], max_file=max_file)
    after: dict[str, FileState] = {k: after_states[abs_path(k, workspace)] for k in captured_now}
    for key in keys:
        if key not in after:
            after[key] = tree_after[key]
    _expand_new_folders(repo, turn, workspace, before, after, max_file)
    changes = [
        Change(path=k, before=before[k], after=after[k])
        for k in sorted(before, key=_depth_order)
        if not before[k].same_as(after[k])
    ]
    for item in changes:
        if item.before.exists and not item.before.captured:
            turn.notes.append(f"{item.path}: its content before the turn was not kept ({item.before.note})")
    turn.changes = changes
    turn.bytes = sum(c.before.size + c.after.size for c in changes)
    _make_trees(repo, turn)


def _depth_order(key: str) -> tuple[int, str]:
    return (key.count("/"), key)


def _tree_state(
    entry: tuple[int, str], links: dict[str, str], workspace: Path, path: str, *, side: str
) -> FileState:
    mode, oid = entry
    if mode == 0:
        return ABSENT
    if mode == MODE_TREE:
        if side == "after":
            try:
                return FileState(kind="dir", mode=os.lstat(os.path.join(workspace, path)).st_mode & 0o7777)
            except OSError:
                pass
        return FileState(kind="dir", mode=0o755)
    if mode == MODE_LINK:
        return FileState(kind="link", link=links.get(oid, ""), oid=oid)
    return FileState.from_tree(mode, oid)


def _link_targets(repo: ShadowRepo, diffs: list[TreeChange]) -> dict[str, str]:
    oids = [e[1] for d in diffs for e in (d.before, d.after) if e[0] == MODE_LINK]
    blobs = repo.read_blobs(oids)
    return {oid: os.fsdecode(data) for oid, data in blobs.items()}


def _note_skipped(turn: Turn, end_skipped: dict[str, str], workspace: Path) -> None:
    """Files the snapshots left out are named when the turn changed them (or made them)."""
    base = turn.base
    assert base is not None
    for path, reason in end_skipped.items():
        try:
            st = os.lstat(os.path.join(workspace, path))
            signature = (st.st_size, st.st_mtime_ns)
        except OSError:
            signature = (-1, -1)
        earlier = base.skipped.get(path)
        if earlier is None or (earlier[1], earlier[2]) != signature:
            if path not in turn.captures:
                turn.notes.append(f"{path} was not captured ({reason}); /undo leaves it as it is")
    for path, (reason, _size, _mtime) in base.skipped.items():
        if path not in end_skipped and path not in turn.captures:
            turn.notes.append(f"{path} was not captured ({reason}); /undo leaves it as it is")


def _expand_new_folders(
    repo: ShadowRepo,
    turn: Turn,
    workspace: Path,
    before: dict[str, FileState],
    after: dict[str, FileState],
    max_file: int,
) -> None:
    """A folder that is there now but was not before: everything in it is new too."""
    new = [k for k in list(before) if after[k].kind == "dir" and before[k].kind != "dir"]
    found: list[str] = []
    for key in new:
        root = abs_path(key, workspace)
        for current, dirnames, filenames in os.walk(root, followlinks=False):
            for name in [*dirnames, *filenames]:
                entry = os.path.join(current, name)
                entry_key = key_for(entry, workspace)
                if entry_key not in before:
                    found.append(entry)
                    before[entry_key] = ABSENT
            if len(found) > MAX_EXPANDED:
                turn.notes.append(
                    f"{key} was created with more than {MAX_EXPANDED:,} entries; they are not all recorded"
                )
                break
    if found:
        states = capture(repo, found, max_file=max_file)
        for path, state in states.items():
            after[key_for(path, workspace)] = state


def _make_trees(repo: ShadowRepo, turn: Turn) -> None:
    """Trees of the changed paths inside the workspace (before / after, for /diff), and one
    tree keeping every blob of the checkpoint (outside paths and symlinks included). A turn
    that changed nothing has none (and never creates the shadow repository)."""
    if not turn.changes:
        return
    sides: dict[str, dict[str, tuple[int, str]]] = {"before": {}, "after": {}}
    extra: dict[str, tuple[int, str, str]] = {}
    for change in turn.changes:
        for side, state in (("before", change.before), ("after", change.after)):
            entry = state.git_entry()
            if state.kind == "link" and state.link is not None:
                oid = state.oid or repo.store_blob(os.fsencode(state.link))
                entry = (MODE_LINK, oid)
            if entry is None:
                continue
            if inside(change.path):
                sides[side][change.path] = entry
            else:
                extra[f"{len(extra)}"] = (entry[0], "blob", entry[1])
    turn.pre_tree = repo.make_tree(sides["before"])
    turn.post_tree = repo.make_tree(sides["after"])
    top = {
        "before": (MODE_TREE, "tree", turn.pre_tree),
        "after": (MODE_TREE, "tree", turn.post_tree),
    }
    if extra:
        top["outside"] = (MODE_TREE, "tree", repo.mktree(extra))
    turn.keep = repo.mktree(top)
