"""update_plan: validation, the PlanUpdated event, and a short acknowledgement."""

from __future__ import annotations

from pathlib import Path

from stoa.core.events import Event, PlanStep, PlanUpdated
from stoa.core.tools.base import Effect, ToolContext
from tests.unit.tools_harness import call, tool


def _ctx(events: list[Event]) -> ToolContext:
    return ToolContext(workspace=Path("."), emit=events.append)


def test_effect_is_none_and_offered_in_plan_mode() -> None:
    assert tool("update_plan").effect is Effect.NONE
    schema = tool("update_plan").spec().input_schema
    assert set(schema["properties"]) == {"steps", "explanation"}


def test_plan_is_emitted_and_acknowledged_briefly() -> None:
    events: list[Event] = []
    ctx = _ctx(events)
    steps = [
        {"step": "Read the failing test", "status": "completed"},
        {"step": "Fix the parser", "status": "in_progress"},
        {"step": "Run the whole suite to be sure nothing else broke", "status": "pending"},
    ]
    result = call("update_plan", ctx, steps=steps, explanation="found the bug")
    assert result.text == "Plan updated: 1/3 steps completed; in progress: Fix the parser."
    assert "Run the whole suite" not in result.text  # never the whole plan back
    assert events == [
        PlanUpdated(
            steps=(
                PlanStep("Read the failing test", "completed"),
                PlanStep("Fix the parser", "in_progress"),
                PlanStep("Run the whole suite to be sure nothing else broke", "pending"),
            ),
            explanation="found the bug",
        )
    ]
    assert ctx.state.plan == events[0].steps  # type: ignore[union-attr]


def test_at_most_one_in_progress() -> None:
    events: list[Event] = []
    steps = [{"step": "a", "status": "in_progress"}, {"step": "b", "status": "in_progress"}]
    result = call("update_plan", _ctx(events), steps=steps)
    assert result.is_error and "at most one may be in_progress" in result.text
    assert events == []


def test_bad_steps() -> None:
    events: list[Event] = []
    ctx = _ctx(events)
    wrong_status = call("update_plan", ctx, steps=[{"step": "a", "status": "done"}])
    assert wrong_status.is_error and "status" in wrong_status.text and "in_progress" in wrong_status.text
    blank = call("update_plan", ctx, steps=[{"step": "   ", "status": "pending"}])
    assert blank.is_error and "needs text" in blank.text
    missing = call("update_plan", ctx, steps=[{"status": "pending"}])
    assert missing.is_error and "step" in missing.text
    not_a_list = call("update_plan", ctx, steps="do things")
    assert not_a_list.is_error and "steps" in not_a_list.text
    assert events == []


def test_empty_plan_clears() -> None:
    events: list[Event] = []
    result = call("update_plan", _ctx(events), steps=[])
    assert result.text == "Plan cleared." and events == [PlanUpdated(steps=())]
