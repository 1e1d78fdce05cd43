"""What ``/undo`` and ``/rewind`` do, for every front end (the TUI and headless mode).

Each front end asks the person its own way (a modal, or an argument on the command line); the
steps and the words are here: find what to undo, list the conflicts, apply, and say what was
done. After files are put back, the agent's read stamps of those files are marked stale, so an
edit based on what the model read before the undo is refused until it reads them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stoa.core.checkpoints.manager import Checkpoints
from stoa.core.checkpoints.turn import Turn
from stoa.core.checkpoints.undo import UndoPlan, UndoResult, describe_result

if TYPE_CHECKING:
    from stoa.core.runtime import Runtime

Choice = str  # "overwrite" | "skip"


@dataclass
class UndoTarget:
    """What /undo would revert: a plan, or the reason there is nothing to undo."""

    plan: UndoPlan | None
    lines: list[str] = field(default_factory=list)


async def find_undo(checkpoints: Checkpoints) -> UndoTarget:
    await checkpoints.load()
    turn, passed = checkpoints.last_undoable()
    if turn is None:
        return UndoTarget(None, [nothing_to_undo(checkpoints, passed)])
    plan = await checkpoints.plan([turn])
    lines: list[str] = []
    if passed:
        later = ", ".join(f"{t.number} ({t.why_not_undoable() or 'nothing to undo'})" for t in passed[:3])
        lines.append(f"The later turn{'s' if len(passed) != 1 else ''} {later}: undoing turn {turn.number} instead.")
    return UndoTarget(plan, lines)


def nothing_to_undo(checkpoints: Checkpoints, passed: Sequence[Turn]) -> str:
    live = checkpoints.live_turns
    if not live:
        return "Nothing to undo: this session has no turns yet."
    if passed:
        return "Nothing to undo: " + "; ".join(t.why_not_undoable() for t in passed[:4] if t.why_not_undoable()) + "."
    return "Nothing to undo: every turn of this session was already undone."


def conflict_lines(plan: UndoPlan) -> list[str]:
    """Why some paths cannot simply be put back (the question's text)."""
    lines = [f"  {p.path}: {p.reason}" for p in plan.conflicts]
    return lines


async def apply(
    runtime: Runtime, checkpoints: Checkpoints, plan: UndoPlan, *, overwrite: bool, why: str = "undo"
) -> tuple[UndoResult, list[str]]:
    result = await checkpoints.apply(plan, overwrite=overwrite, why=why)
    mark_stale(runtime, checkpoints.restored_paths(result))
    lines = describe_result(result, plan.turns)
    if result.restored:
        # The model saw (or made) the versions that are gone: it hears so with the next message.
        # A rewind of the conversation too takes this note back with the rest.
        done = "; ".join(line.strip() for line in lines)
        await runtime.agent.tell(
            f"the person used /{why}. {done}. Those files are as they were before; read them again "
            "before relying on what you saw or wrote of them."
        )
    return result, lines


def mark_stale(runtime: Runtime, paths: Sequence[str]) -> None:
    from stoa.core.tools.files import mark_stale as stale

    stale(runtime.agent.tool_state, paths)


async def tell_files_kept(runtime: Runtime, taken_back: Sequence[Turn]) -> None:
    """After a rewind of the conversation only: the model no longer sees the turns that changed
    files still changed, so it hears which (with the next message)."""
    changed: dict[str, str] = {}
    for turn in taken_back:
        if turn.state != "undone":
            for change in turn.changes:
                changed[change.path] = change.verb
    if changed:
        listed = ", ".join(f"{path} ({verb})" for path, verb in list(changed.items())[:40])
        more = f" and {len(changed) - 40} more" if len(changed) > 40 else ""
        await runtime.agent.tell(
            "the person rewound the conversation but kept the files: the turns taken back had changed "
            f"{listed}{more}, and those changes are still in the workspace. Read a file again before "
            "relying on what it holds."
        )


def rewind_turns(checkpoints: Checkpoints, turn: Turn) -> list[Turn]:
    """The live turns from ``turn`` on (what a rewind to its message takes away)."""
    return [t for t in checkpoints.live_turns if t.number >= turn.number]


async def plan_files(checkpoints: Checkpoints, turn: Turn) -> tuple[UndoPlan | None, list[str]]:
    """The plan that puts the files back as they were before ``turn``, and notes on turns in
    that range whose changes cannot be undone."""
    turns = rewind_turns(checkpoints, turn)
    notes = [
        t.why_not_undoable()
        for t in turns
        if t.state == "done" and t.changes and not t.undoable and t.why_not_undoable()
    ]
    undoable = [t for t in turns if t.undoable]
    if not undoable:
        return None, notes
    return await checkpoints.plan(undoable), notes
