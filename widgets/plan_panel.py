"""The plan panel: the steps of the model's latest ``update_plan``, docked beside the log."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from stoa.core.events import PlanStep

_MARKS = {"pending": "○", "in_progress": "◐", "completed": "●"}


def plan_counts(steps: Sequence[PlanStep]) -> tuple[int, int, int]:
    """(completed, in progress, pending)."""
    done = sum(1 for s in steps if s.status == "completed")
    active = sum(1 for s in steps if s.status == "in_progress")
    return done, active, len(steps) - done - active


class PlanPanel(VerticalScroll):
    """Hidden until the first plan arrives; then toggled by the user (the chat screen's key)."""

    COMPONENT_CLASSES = {"plan--pending", "plan--in_progress", "plan--completed"}

    DEFAULT_CSS = """
    PlanPanel {
        width: 40;
        max-width: 45%;
        height: 1fr;
        border: round $primary 60%;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        display: none;
    }
    PlanPanel.-visible {
        display: block;
    }
    PlanPanel > #plan-steps {
        height: auto;
    }
    PlanPanel > #plan-explanation {
        height: auto;
        color: $text-muted;
        text-style: italic;
        margin: 1 0 0 0;
    }
    PlanPanel > .plan--pending { color: $text-muted; }
    PlanPanel > .plan--in_progress { color: $text-accent; text-style: bold; }
    PlanPanel > .plan--completed { color: $text-success; }
    """

    def __init__(self, id: str | None = "plan") -> None:
        super().__init__(id=id)
        self.steps: tuple[PlanStep, ...] = ()
        self.explanation: str | None = None
        self._steps = Static(id="plan-steps", markup=False)
        self._explanation = Static(id="plan-explanation", markup=False)
        self.can_focus = False

    def compose(self) -> ComposeResult:
        yield self._steps
        yield self._explanation

    @property
    def has_plan(self) -> bool:
        return bool(self.steps)

    @property
    def shown(self) -> bool:
        return self.has_class("-visible")

    def show(self, visible: bool = True) -> None:
        self.set_class(visible, "-visible")

    def update_plan(self, steps: Sequence[PlanStep], explanation: str | None = None) -> None:
        self.steps = tuple(steps)
        self.explanation = explanation
        done, active, _pending = plan_counts(self.steps)
        self.border_title = "Plan"
        self.border_subtitle = f"{done}/{len(self.steps)} done" + (f" · {active} active" if active else "")
        text = Text()
        for index, step in enumerate(self.steps):
            if index:
                text.append("\n")
            style = self.get_component_rich_style(f"plan--{step.status}")
            text.append(f"{_MARKS.get(step.status, '○')} ", style=style)
            text.append(step.step, style=style)
        self._steps.update(text)
        self._explanation.update(explanation or "")
        self._explanation.display = bool(explanation)

    def clear_plan(self) -> None:
        self.steps = ()
        self.explanation = None
        self._steps.update("")
        self._explanation.update("")
        self.show(False)
