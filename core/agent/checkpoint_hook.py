"""The agent's hook for per-turn checkpoints (``core.checkpoints.Checkpoints`` implements it).

The loop calls it at three moments: the turn's user message is in the history
(``turn_started``), a call that may change something is about to run (``before_call``, after
its approval), and the turn has ended however it ended (``turn_ended``). Each returns notices
for the person. A failing hook never fails the turn: ``guarded`` turns its error into a notice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol

from stoa.core.tools.base import Access, Effect


class CheckpointHook(Protocol):
    async def turn_started(self, *, prompt: str, message_index: int, block_offset: int) -> list[str]: ...

    async def before_call(self, tool_name: str, effect: Effect, accesses: Sequence[Access]) -> list[str]: ...

    async def turn_ended(self) -> list[str]: ...


async def guarded(call: Awaitable[list[str]]) -> list[str]:
    try:
        return await call
    except Exception as exc:  # a checkpoint bug must not end the turn
        return [f"checkpoints are off for this turn: {exc!r}. /undo cannot restore what it changes"]
