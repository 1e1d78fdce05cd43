"""``!command``: the person runs a shell line themselves, with no model request.

The line goes through ``execute_bash`` as if the model had called it, under the same policy,
with the person as the approver (they typed it): what would ask runs, what a deny rule or the
forbidden tier refuses does not (``sudo``, ``mkfs``... never run). The output streams as a tool
row; then the command and its output join the conversation as context for the next message
(a user message, merged into the next prompt), redacted of secrets and capped as a tool result.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any

from stoa.core import events as ev
from stoa.core.agent.typed_shell import PREFIX as PREFIX
from stoa.core.agent.typed_shell import shell_line as shell_line
from stoa.core.providers.types import StopReason, TextBlock, ToolUseBlock
from stoa.core.tools.base import ToolError, ToolOutput

if TYPE_CHECKING:
    from stoa.core.agent.loop import Agent


_OPENING = "<user-shell-command>\n"


def typed_line(text: str) -> str | None:
    """``!command`` for a context block ``context_text`` made (how the log shows it again)."""
    if not text.startswith(_OPENING):
        return None
    for line in text.splitlines()[2:3]:
        if line.startswith("$ "):
            return "!" + line[2:]
    return None


async def _checkpoint(agent: Agent, command: str, tool: str, effect: Any, accesses: list[Any]) -> None:
    """A checkpoint of this turn before the line runs, as for the model's own shell calls, so
    /undo and /rewind take back what it changed (and the context it added)."""
    hook = agent.checkpoints
    if hook is None or effect.read_only:
        return
    last = agent.history.last
    merges = last is not None and last.role == "user"  # the context joins the last user message
    index = len(agent.history) - 1 if merges else len(agent.history)
    offset = len(last.content) if merges and last is not None else 0
    await agent._checkpoint(hook.turn_started(prompt=f"!{command}", message_index=index, block_offset=offset))
    await agent._checkpoint(hook.before_call(tool, effect, accesses))


def context_text(command: str, output: str, *, refused: bool = False) -> str:
    """How the command and its output reach the model."""
    what = "tried to run (it was refused)" if refused else "ran"
    return (
        f"{_OPENING}The user {what} this shell command themselves:\n$ {command}\n"
        f"<output>\n{output}\n</output>\n</user-shell-command>"
    )


async def run_passthrough(agent: Agent, command: str, turn_id: str) -> None:
    """Run ``command`` for the person, inside ``Agent._turn`` (its events go to the turn)."""
    agent._emit(ev.TurnStarted(turn_id=turn_id, user_text=f"!{command}", model=agent.model.id, effort=agent.effort))
    tool = agent.tools.get("execute_bash")
    call = ToolUseBlock(id=f"user-{uuid.uuid4().hex[:12]}", name="execute_bash", input={"command": command})
    started = time.monotonic()
    agent._emit(ev.ToolCallStarted(call.id, call.name, dict(call.input), summary=command))
    ctx = agent.tool_calls.context(call)
    refused = False
    try:
        if tool is None:
            raise ToolError("execute_bash is not available in this session")
        args = tool.parse_args(call.input)
        accesses = tool.accesses(args, ctx)
        verdict = agent.policy.decide(tool.name, tool.effect_for(args, ctx), accesses)
        if verdict.action == "deny":
            refused = True
            output = ToolOutput.error(f"Denied: {verdict.reason}")
        else:
            # "ask": the person who typed the line is the one who would be asked.
            effect = tool.effect_for(args, ctx)
            agent.policy.will_run(tool.name, effect, accesses)
            await _checkpoint(agent, command, tool.name, effect, accesses)
            output = await tool.run(args, ctx)
    except ToolError as exc:
        output = ToolOutput.error(str(exc))
    except asyncio.CancelledError:
        cut = ctx.interrupted_output or ToolOutput.error("(interrupted before any output)")
        result = agent.tool_calls.result(call, cut, started, status="interrupted")
        await agent._add_user([TextBlock(text=context_text(command, result.text))])
        raise
    result = agent.tool_calls.result(call, output, started, status="denied" if refused else None)
    await agent._add_user([TextBlock(text=context_text(command, result.text, refused=refused))])
    agent._emit(ev.TurnFinished(stop_reason=StopReason.END_TURN, text="", iterations=0))
