"""The agent's hook for context added as a turn goes (``core.instructions.NestedInstructions``
implements it: a sub-folder's ``AGENTS.md`` once the agent works on files there).

The loop calls ``after_call`` when a tool call has run without error (its context holds the
paths its check resolved), and ``take`` just before the tool results go back: the texts it
returns follow the results in that user message, the notices are shown to the person. A failing
hook never fails the turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from stoa.core.providers.types import Message
from stoa.core.tools.base import ToolContext


class ContextHook(Protocol):
    def after_call(self, ctx: ToolContext) -> None: ...

    def take(self, history: Sequence[Message]) -> tuple[list[str], list[str]]: ...
