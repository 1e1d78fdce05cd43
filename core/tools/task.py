"""task: run a sub-agent for one task (``core/agents/subagents.py`` runs it).

The tool's description lists the agents the model may choose (built-in and custom, with their
descriptions), so it is built per instance from the definitions it was given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from stoa.core.tools.base import ARGS_CONFIG, Effect, Tool, ToolContext, ToolOutput

if TYPE_CHECKING:
    from stoa.core.agents.subagents import Subagents

BASE_DESCRIPTION = (
    "Run a sub-agent for one self-contained task: it works on its own with a fresh context (it "
    "does not see this conversation, so the prompt must say everything it needs), and its final "
    "report comes back as this call's result. Use it for broad searches, independent pieces of "
    "work and anything that would fill this conversation with output. Several task calls in one "
    "reply run at the same time. Agents:"
)


class TaskArgs(BaseModel):
    model_config = ARGS_CONFIG

    description: str = Field(description="A short (3-5 word) label for the task, shown to the user.", min_length=1)
    prompt: str = Field(
        description="The complete task for the sub-agent: what to do, what to report, any context it needs.",
        min_length=1,
    )
    agent: str | None = Field(default=None, description="Which agent runs it (default: general).")


class TaskTool(Tool):
    name = "task"
    description = BASE_DESCRIPTION
    Args = TaskArgs
    # Its sub-agent's calls are judged one by one; the task itself changes nothing.
    effect = Effect.NONE

    def __init__(self, subagents: Subagents) -> None:
        self.subagents = subagents
        agents = subagents.definitions().agents.values()
        listed = "".join(f"\n- {a.name}: {a.description}" for a in agents)
        self.description = BASE_DESCRIPTION + listed  # type: ignore[misc]

    def summary(self, args: BaseModel) -> str:
        agent = getattr(args, "agent", None) or "general"
        return f"{agent}: {getattr(args, 'description', '')}"

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        assert isinstance(args, TaskArgs)
        return await self.subagents.run(args.description, args.prompt, args.agent, call_id=ctx.call_id, emit=ctx.emit)
