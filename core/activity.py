"""What runs beside the conversation: background shell jobs and sub-agents, as one list.

The activity bar, ``/ps`` and ``/kill`` read it; nothing here owns a process or a task (the
conversation's ``BackgroundJobs`` and ``Subagents`` do). ``kill`` ends one by its id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from stoa.core.agents.subagents import Subagents
    from stoa.core.tools.background import BackgroundJobs


@dataclass(frozen=True)
class ActivityItem:
    """One running thing: its id (b1 for a job, a1 for a sub-agent), what it is, its last action
    and how long it has been running (seconds)."""

    id: str
    kind: Literal["job", "agent"]
    what: str
    last: str
    age: float


def running(jobs: BackgroundJobs, subagents: Subagents | None, now: float | None = None) -> list[ActivityItem]:
    """Every running background job and sub-agent of the conversation, oldest first."""
    now = time.monotonic() if now is None else now
    items = [ActivityItem(j.id, "job", j.what, j.last_line, j.age(now)) for j in jobs.running()]
    if subagents is not None:
        items += [ActivityItem(s.id, "agent", s.what, s.last, now - s.started) for s in subagents.running()]
    return sorted(items, key=lambda i: -i.age)


def age_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


def lines(jobs: BackgroundJobs, subagents: Subagents | None) -> list[str]:
    """``/ps``: one line per running item, or a line saying there is none."""
    items = running(jobs, subagents)
    if not items:
        return ["Nothing runs in the background (no background jobs, no sub-agents)."]
    out = []
    for item in items:
        label = "job" if item.kind == "job" else "agent"
        last = f" · {item.last}" if item.last else ""
        out.append(f"{item.id:<4} {label:<5} {age_text(item.age):>6}  {item.what}{last}")
    out.append("Stop one with /kill ID.")
    return out


async def kill(jobs: BackgroundJobs, subagents: Subagents | None, item_id: str) -> str:
    """``/kill ID``: end a background job or cancel a sub-agent. Raises ValueError saying why not."""
    from stoa.core.tools.base import ToolError

    key = item_id.strip()
    if subagents is not None and key.startswith("a"):
        if subagents.cancel(key):
            return f"Sub-agent {key} is being stopped; its parent gets an error result it can read."
        raise ValueError(f"no running sub-agent {key!r}; /ps lists what runs")
    try:
        output = await jobs.kill(key)
    except ToolError as exc:
        raise ValueError(str(exc)) from None
    return output.text_content.rstrip().splitlines()[-1]
