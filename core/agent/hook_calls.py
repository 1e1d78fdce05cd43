"""Where the turn loop meets the person's hooks (``core.hooks``), for one turn.

The loop asks at four moments: a prompt is about to be sent (``prompt``: SessionStart's
waiting context and UserPromptSubmit), a call is about to be judged (``pre_tool``), a call has
a result (``post_tool``), the model is done (``stop``). Notices the hooks produce go out as
``Notice`` events; a hook's ``continue: false`` is kept in ``stopped`` and ends the turn once
the calls of the reply are answered.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stoa.core import events as ev
from stoa.core.hooks import Hooks, HookVerdict, context_block
from stoa.core.providers.types import ContentBlock, TextBlock, ToolUseBlock
from stoa.core.tools.base import ReadStamp, ToolOutput, ToolState


@dataclass(frozen=True)
class PreToolAnswer:
    blocked: str | None  # the tool error the model reads, when the call is not run
    permission: str | None  # "allow" (no question), "ask" (always ask), or None


class HookCalls:
    def __init__(self, hooks: Hooks, emit: Callable[[ev.Event], None], state: ToolState | None = None) -> None:
        self.hooks = hooks
        self._emit = emit
        self._state = state
        # A hook answered ``continue: false`` during this turn: why the turn stops.
        self.stopped: str | None = None

    def _notices(self, verdict: HookVerdict) -> None:
        for level, text in verdict.notices:
            self._emit(ev.Notice(level, text))

    async def prompt(self, prompt: str, content: list[ContentBlock]) -> list[ContentBlock] | None:
        """The prompt with the hooks' context for the model; None when a hook blocked it (the
        person is told why with ``TurnFailed``)."""
        hooks = self.hooks
        extra = [context_block("SessionStart", c) for c in hooks.pending_context]
        if hooks.configured("UserPromptSubmit"):
            verdict = await hooks.user_prompt_submit(prompt)
            self._notices(verdict)
            if verdict.blocked or verdict.stop is not None:
                why = verdict.reason or verdict.stop or "no reason given"
                self._emit(
                    ev.TurnFailed(
                        error=f"a UserPromptSubmit hook blocked this prompt: {why}",
                        hint="the prompt was not sent",
                        kind="hook",
                    )
                )
                return None
            extra += [context_block("UserPromptSubmit", c) for c in verdict.context]
        hooks.take_context()
        return [*content, *(TextBlock(text=text) for text in extra)]

    async def stop(self, last_text: str, active: bool) -> str | None:
        """What the agent is told to do next when a Stop hook blocks the end of the turn."""
        if not self.hooks.configured("Stop"):
            return None
        verdict = await self.hooks.stop(last_text, active=active)
        self._notices(verdict)
        if not verdict.blocked or verdict.stop is not None:
            return None
        reason = verdict.reason
        shown = reason if len(reason) <= 300 else reason[:299] + "…"
        self._emit(ev.Notice("info", f"a Stop hook keeps the agent going: {shown}"))
        return f"A Stop hook did not let you finish yet. Its instruction:\n{reason}"

    async def pre_tool(self, call: ToolUseBlock) -> PreToolAnswer | None:
        if not self.hooks.configured("PreToolUse"):
            return None
        verdict = await self.hooks.pre_tool_use(call.name, dict(call.input), call.id)
        self._notices(verdict)
        if verdict.stop is not None:
            self.stopped = verdict.stop
            return PreToolAnswer(f"Not run: a PreToolUse hook stopped the turn: {verdict.stop}", None)
        if verdict.blocked or verdict.permission == "deny":
            return PreToolAnswer(f"Blocked by a PreToolUse hook: {verdict.reason or 'no reason given'}", None)
        return PreToolAnswer(None, verdict.permission)

    async def post_tool(self, call: ToolUseBlock, output: ToolOutput) -> None:
        """PostToolUse hooks see the result; what they say back is added to it for the model."""
        if not self.hooks.configured("PostToolUse"):
            return
        stamps = dict(self._state.read_stamps) if self._state is not None else {}
        verdict = await self.hooks.post_tool_use(
            call.name, dict(call.input), call.id, output.text_content, output.is_error
        )
        self._notices(verdict)
        changed = _changed_since(stamps, self.hooks.workspace) if verdict.ran else []
        if changed:  # a formatter rewrote what the model wrote: its copy is stale now
            output.content.append(
                TextBlock(
                    text=f"A PostToolUse hook changed {', '.join(changed)} after this call (a formatter, say); "
                    "read it again before you edit it."
                )
            )
        if verdict.stop is not None:
            self.stopped = verdict.stop
        notes = [context_block("PostToolUse", c) for c in verdict.context]
        if verdict.blocked:
            notes.insert(0, f"PostToolUse hook feedback:\n{verdict.reason}")
        output.content.extend(TextBlock(text=note) for note in notes)


def _changed_since(stamps: dict[str, ReadStamp], workspace: Path) -> list[str]:
    """The files the model read or wrote whose size or time changed on disk since ``stamps``."""
    changed: list[str] = []
    for path, stamp in stamps.items():
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stamp.size >= 0 and (st.st_mtime_ns, st.st_size) != (stamp.mtime_ns, stamp.size):
            shown = Path(path)
            changed.append(str(shown.relative_to(workspace)) if shown.is_relative_to(workspace) else path)
    return changed
