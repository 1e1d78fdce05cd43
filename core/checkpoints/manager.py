"""Per-turn checkpoints of one session: the agent's hook, and the verbs /undo and /rewind use.

``Checkpoints`` is attached to the runtime with the session (``core.sessions.resume``) and
set as the agent's ``checkpoints`` hook (``core.agent.checkpoint_hook``). During a turn:

- a native file tool about to change paths (write, edit, apply_patch, create a folder, move,
  copy, delete) has their states captured first: content and mode, or absence (a folder
  target brings everything in it; a missing target its missing parent folders);
- a shell command or an MCP tool that may change files (not read-only) makes a snapshot of
  the whole workspace first, once per turn (``core.checkpoints.shadow``);
- when the turn ends its checkpoint is sealed (``core.checkpoints.seal``) and saved.

A capture that fails (a full disk, git missing) turns checkpoints off for that turn only: the
turn goes on, and a notice says its changes cannot be undone. Each session keeps its
checkpoints within ``[checkpoints] budget-mb``: past it, the oldest turns' checkpoints are
dropped (the turns themselves stay for /rewind). File contents nobody refers to any more are
pruned from the shadow repository now and then (``maintain``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stoa.core.checkpoints import saved
from stoa.core.checkpoints.seal import seal_turn
from stoa.core.checkpoints.shadow import CheckpointError, ShadowRepo, git_executable
from stoa.core.checkpoints.states import ABSENT, FileState, abs_path, capture, inside, key_for
from stoa.core.checkpoints.turn import Base, Capture, Turn
from stoa.core.checkpoints.undo import UndoPlan, UndoResult, apply_undo, plan_undo
from stoa.core.tools.base import Access, Effect

MB = 1024 * 1024
# How often the shadow repository is pruned (seconds), besides after a budget drop.
PRUNE_EVERY = 24 * 3600.0
# A folder a file tool changes (move, delete) with more entries than this is captured as a
# folder only; its entries are named as not captured.
MAX_TREE_CAPTURE = 20_000


@dataclass(frozen=True)
class CheckpointSettings:
    enabled: bool = True
    budget_mb: float = 500.0
    max_file_mb: float = 20.0

    @property
    def budget(self) -> int:
        return int(self.budget_mb * MB)

    @property
    def max_file(self) -> int:
        return int(self.max_file_mb * MB)


def settings_from_config(config: Any) -> tuple[CheckpointSettings, list[str]]:
    """The merged ``[checkpoints]`` table (later layers win per key), and what was wrong in it."""
    merged: dict[str, Any] = {}
    problems: list[str] = []
    for layer, raw in config.section("checkpoints") if config is not None else []:
        if not isinstance(raw, dict):
            problems.append(f"{layer.path}: [checkpoints] must be a table; ignored")
            continue
        for key, value in raw.items():
            if key == "enabled":
                if isinstance(value, bool):
                    merged["enabled"] = value
                else:
                    problems.append(f"{layer.path}: [checkpoints] enabled must be true or false; ignored")
            elif key in ("budget-mb", "max-file-mb"):
                if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                    merged[key.replace("-", "_")] = float(value)
                else:
                    problems.append(f"{layer.path}: [checkpoints] {key} must be a number above 0; ignored")
    return CheckpointSettings(**merged), problems


def needs_snapshot(accesses: Sequence[Access]) -> bool:
    """A call whose effect no path list describes (a shell command, an MCP tool)."""
    return any(a.scope in ("bash", "mcp") for a in accesses) or not any(a.scope == "write" for a in accesses)


class Checkpoints:
    """The checkpoints of one session (see the module doc)."""

    def __init__(
        self,
        workspace: Path,
        data_dir: Path,
        settings: CheckpointSettings | None = None,
        *,
        session_id: str,
        store: Any = None,
        record_seq: Callable[[], int] = lambda: 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.workspace = Path(os.path.realpath(workspace))
        self.settings = settings or CheckpointSettings()
        self.session_id = session_id
        self.store = store
        self.record_seq = record_seq
        self.clock = clock
        self.repo = ShadowRepo.for_workspace(data_dir, self.workspace)
        self.turns: list[Turn] = []
        self.current: Turn | None = None
        self._loaded = store is None
        self._load_lock = asyncio.Lock()
        self._prune_due = False
        self._maintained = False
        self._said_no_git = False
        self._maintenance: asyncio.Task[None] | None = None

    # ---- loading and saving -------------------------------------------------------------------

    async def load(self) -> list[Turn]:
        """The session's turns (read from the database once); a turn a crashed process left
        open is sealed now, against the files as they are."""
        async with self._load_lock:
            if self._loaded:
                return self.turns
            self._loaded = True
            try:
                turns = await saved.load_turns(self.store, self.session_id)
            except Exception:
                return self.turns  # a database out of reach: this process's turns only
            known = {t.number for t in self.turns}
            self.turns = sorted(
                [t for t in turns if t.number not in known] + self.turns, key=lambda t: t.number
            )
            for turn in self.turns:
                if turn.state == "open" and turn is not self.current:
                    turn.notes.append(
                        "Stoa stopped before this turn ended; its changes are counted up to when it was resumed"
                    )
                    await self._seal(turn)
            return self.turns

    async def _save(self, turn: Turn) -> None:
        if self.store is None:
            return
        try:
            await saved.save_turn(self.store, self.session_id, turn)
        except Exception:
            pass  # kept in memory; the next save of this turn writes it whole

    # ---- the agent's hook ---------------------------------------------------------------------

    async def turn_started(self, *, prompt: str, message_index: int, block_offset: int) -> list[str]:
        await self.load()
        notices: list[str] = []
        number = max((t.number for t in self.turns), default=0) + 1
        turn = Turn(
            number=number,
            prompt=prompt,
            message_index=message_index,
            block_offset=block_offset,
            record_seq=self.record_seq(),
            started_at=self.clock(),
        )
        if not self.settings.enabled:
            turn.off = "checkpoints are turned off in the config ([checkpoints] enabled = false)"
        elif git_executable() is None:
            turn.off = "git is not installed (apt-get install git)"
            if not self._said_no_git:
                self._said_no_git = True
                notices.append(f"checkpoints are off: {turn.off}; /undo cannot restore what turns change")
        self.turns.append(turn)
        self.current = turn
        await self._save(turn)
        return notices

    async def before_call(self, tool_name: str, effect: Effect, accesses: Sequence[Access]) -> list[str]:
        turn = self.current
        if turn is None or turn.off is not None or effect.read_only:
            return []
        try:
            if needs_snapshot(accesses):
                if turn.base is None:
                    snap = await asyncio.to_thread(
                        self.repo.snapshot,
                        self.session_id,
                        max_file=self.settings.max_file,
                        max_total=self.settings.budget,
                    )
                    skipped = {p: (why, *_signature(self.workspace / p)) for p, why in snap.skipped.items()}
                    turn.base = Base(tree=snap.tree, seq=turn.next_seq(), skipped=skipped)
            else:
                paths = [a.target for a in accesses if a.scope == "write"]
                await asyncio.to_thread(self._capture, turn, paths)
        except (CheckpointError, OSError) as exc:
            return [self._turn_off(turn, exc)]
        await self._save(turn)
        return []

    async def turn_ended(self) -> list[str]:
        turn, self.current = self.current, None
        if turn is None:
            return []
        notices: list[str] = []
        if turn.off is None:
            notices += await self._seal(turn)
            notices += await self._keep_within_budget()
        else:
            turn.state = "done"
            turn.ended_at = self.clock()
            await self._save(turn)
        if turn.notes and turn.off is None:
            notices.append("the checkpoint of this turn is incomplete: " + "; ".join(turn.notes[:5]))
        if (not self._maintained or self._prune_due) and self._maintenance is None:
            self._maintained = True
            self._maintenance = asyncio.create_task(self.maintain(), name="stoa-checkpoint-prune")
            self._maintenance.add_done_callback(lambda _task: setattr(self, "_maintenance", None))
        return notices

    async def aclose(self, wait: float = 5.0) -> None:
        """Let a running prune finish (bounded); it is harmless to cut it short."""
        task = self._maintenance
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=wait)
            if not done:
                task.cancel()

    def _turn_off(self, turn: Turn, exc: BaseException) -> str:
        reason = str(exc) if isinstance(exc, CheckpointError) else f"{exc.strerror or exc}"  # type: ignore[attr-defined]
        turn.off = reason
        return f"checkpoints are off for this turn: {reason}. /undo cannot restore what it changes"

    async def _seal(self, turn: Turn) -> list[str]:
        try:
            if turn.off is None:
                await asyncio.to_thread(
                    seal_turn,
                    self.repo,
                    turn,
                    self.workspace,
                    self.session_id,
                    max_file=self.settings.max_file,
                    max_total=self.settings.budget,
                )
            notices: list[str] = []
        except (CheckpointError, OSError) as exc:
            notices = [self._turn_off(turn, exc)]
        turn.state = "done"
        turn.ended_at = turn.ended_at or self.clock()
        await self._save(turn)
        return notices

    # ---- captures -----------------------------------------------------------------------------

    def _capture(self, turn: Turn, targets: Sequence[str]) -> None:
        """Pre-images of paths a file tool is about to change (first capture of a path wins)."""
        wanted: list[str] = []
        for target in targets:
            for path in self._expand(target):
                key = key_for(path, self.workspace)
                if key != "." and key not in turn.captures and path not in wanted:
                    wanted.append(path)
        if not wanted:
            return
        states = capture(self.repo, wanted, max_file=self.settings.max_file)
        seq = turn.next_seq()
        for path in wanted:
            state = states[path]
            key = key_for(path, self.workspace)
            turn.captures[key] = Capture(seq, state)
            if state.kind == "file" and state.oid is None:
                turn.notes.append(f"{key} was not captured ({state.note}); /undo leaves it as it is")

    def _expand(self, target: str) -> list[str]:
        """A folder brings its entries; a missing path its missing parent folders (which the
        tool may create)."""
        out = [target]
        if os.path.isdir(target) and not os.path.islink(target):
            for current, dirnames, filenames in os.walk(target, followlinks=False):
                out += [os.path.join(current, n) for n in [*dirnames, *filenames]]
                if len(out) > MAX_TREE_CAPTURE:
                    raise CheckpointError(
                        f"{key_for(target, self.workspace)} holds more than {MAX_TREE_CAPTURE:,} entries"
                    )
        elif not os.path.lexists(target):
            parent = os.path.dirname(target)
            while parent and parent != os.path.dirname(parent) and not os.path.lexists(parent):
                out.append(parent)
                parent = os.path.dirname(parent)
        return out

    # ---- budget and pruning -------------------------------------------------------------------

    async def _keep_within_budget(self) -> list[str]:
        budget = self.settings.budget
        kept = [t for t in self.turns if t.keep and t.dropped is None and t.state in ("done", "undone")]
        total = sum(t.bytes for t in kept)
        dropped: list[Turn] = []
        for turn in kept:
            if total <= budget or turn is kept[-1]:
                break
            turn.dropped = (
                f"the session's checkpoints passed [checkpoints] budget-mb = {self.settings.budget_mb:g}"
            )
            turn.keep = None
            total -= turn.bytes
            dropped.append(turn)
        if not dropped:
            return []
        self._prune_due = True
        for turn in dropped:
            await self._save(turn)
        numbers = ", ".join(str(t.number) for t in dropped)
        return [f"dropped the checkpoints of turn {numbers} to stay within [checkpoints] budget-mb"]

    async def maintain(self, *, force: bool = False) -> None:
        """Prune the shadow repository of what no saved turn refers to (at most once a day,
        unless a budget drop or ``force``); forget index files of deleted sessions."""
        if self.store is None or not (self.repo.git_dir / "HEAD").exists():
            return
        stamp = self.repo.git_dir / "last-prune"
        try:
            age = self.clock() - stamp.stat().st_mtime
        except OSError:
            age = PRUNE_EVERY
        if not (force or self._prune_due or age >= PRUNE_EVERY):
            return
        self._prune_due = False
        try:
            keep, sessions = await saved.kept_objects(self.store, self.workspace)
            keep.update(o for t in self.turns for o in t.kept_objects())
            sessions.add(self.session_id)
            await asyncio.to_thread(self._prune, keep, sessions, stamp)
        except Exception:
            pass  # pruning is housekeeping: try again next time

    def _prune(self, keep: set[str], sessions: set[str], stamp: Path) -> None:
        folder = self.repo.git_dir / "indexes"
        if folder.is_dir():
            for index in folder.iterdir():
                if index.is_file() and index.name not in sessions and not index.name.endswith(".lock"):
                    self.repo.forget_index(index.name)
        self.repo.prune(keep)
        stamp.touch()

    # ---- undo ---------------------------------------------------------------------------------

    @property
    def live_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.live]

    def last_undoable(self) -> tuple[Turn | None, list[Turn]]:
        """The latest turn /undo would revert, and the later live turns it passes over (turns
        that changed nothing, or whose checkpoint was off or dropped)."""
        passed: list[Turn] = []
        for turn in reversed(self.live_turns):
            if turn.state == "undone":
                continue
            if turn.undoable:
                return turn, passed
            passed.append(turn)
        return None, passed

    async def plan(self, turns: Sequence[Turn]) -> UndoPlan:
        return await asyncio.to_thread(
            plan_undo, self.repo, list(turns), self.workspace, max_file=self.settings.max_file
        )

    async def apply(self, plan: UndoPlan, *, overwrite: bool = False, why: str = "undo") -> UndoResult:
        result = await asyncio.to_thread(apply_undo, self.repo, plan, self.workspace, overwrite=overwrite)
        now = self.clock()
        for turn in plan.turns:
            turn.state = "undone"
            turn.undo = {"at": now, "by": why, **result.to_json()}
            await self._save(turn)
        return result

    def restored_paths(self, result: UndoResult) -> list[str]:
        return [abs_path(p, self.workspace) for p, _ in result.restored]

    async def mark_rewound(self, turns: Sequence[Turn]) -> None:
        for turn in turns:
            turn.state = "rewound"
            await self._save(turn)

    def find(self, number: int) -> Turn | None:
        return next((t for t in self.turns if t.number == number), None)


def _signature(path: Path) -> tuple[int, int]:
    try:
        st = os.lstat(path)
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


__all__ = [
    "ABSENT",
    "CheckpointSettings",
    "Checkpoints",
    "FileState",
    "inside",
    "settings_from_config",
]
