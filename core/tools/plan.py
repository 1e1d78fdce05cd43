"""update_plan: the model's visible to-do list for the current task.

The tool validates the steps, emits ``core.events.PlanUpdated`` (the UI's plan panel shows
it), keeps the latest plan in ``ctx.state.plan``, and answers the model with a one-line
acknowledgement, never the whole plan back.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from stoa.core.events import PlanStep, PlanUpdated
from stoa.core.tools.base import ARGS_CONFIG, Effect, Tool, ToolContext, ToolOutput

MAX_STEPS = 50
MAX_STEP_CHARS = 500

Status = Literal["pending", "in_progress", "completed"]


class PlanStepArg(BaseModel):
    model_config = ARGS_CONFIG

    step: str = Field(description="What to do, in a short imperative sentence.")
    status: Status = Field(description="pending, in_progress (at most one step at a time) or completed.")

    @field_validator("step")
    @classmethod
    def _step_text(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a step needs text saying what to do")
        if len(value) > MAX_STEP_CHARS:
            raise ValueError(f"a step is at most {MAX_STEP_CHARS} characters; keep steps short")
        return value


class UpdatePlanArgs(BaseModel):
    model_config = ARGS_CONFIG

    steps: list[PlanStepArg] = Field(
        description=(
            "The whole plan, in order (each call replaces the previous plan). Mark the step you are "
            "working on in_progress and finished ones completed."
        ),
        max_length=MAX_STEPS,
    )
    explanation: str | None = Field(
        default=None, description="Optional: why the plan changed, in one sentence."
    )

    @model_validator(mode="after")
    def _one_in_progress(self) -> UpdatePlanArgs:
        working = [s.step for s in self.steps if s.status == "in_progress"]
        if len(working) > 1:
            raise ValueError(
                f"{len(working)} steps are in_progress; at most one may be in_progress at a time "
                "(mark the others pending or completed)"
            )
        return self


class UpdatePlan(Tool):
    name = "update_plan"
    description = (
        "Show and update your plan for a multi-step task as a checklist the user sees. Send the whole "
        "list each time with each step's status; keep exactly one step in_progress while working. "
        "Skip it for simple one-step requests."
    )
    Args = UpdatePlanArgs
    effect = Effect.NONE

    def summary(self, args: Any) -> str:
        return f"{len(args.steps)} steps"

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        steps = tuple(PlanStep(step=s.step, status=s.status) for s in args.steps)
        explanation = (args.explanation or "").strip() or None
        ctx.state.plan = steps
        ctx.emit(PlanUpdated(steps=steps, explanation=explanation))
        done = sum(1 for s in steps if s.status == "completed")
        if not steps:
            return ToolOutput.text("Plan cleared.")
        current = next((s.step for s in steps if s.status == "in_progress"), None)
        text = f"Plan updated: {done}/{len(steps)} steps completed"
        text += f"; in progress: {current}" if current else ""
        return ToolOutput.text(text + ".")
