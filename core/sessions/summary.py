"""Plain-text summaries of saved sessions: ages for the resume list, the "away summary".

Everything here returns plain values and strings; the TUI decides how they look.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from stoa.core.cost import format_cost, format_tokens
from stoa.core.sessions.store import SessionInfo


def format_duration(seconds: float) -> str:
    """'45s', '12m', '3h 12m', '2d 4h', '5w'."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    if days < 14:
        return f"{days}d {hours}h" if hours else f"{days}d"
    return f"{days // 7}w"


def format_age(then: float, now: float | None = None) -> str:
    """'just now', '5m ago', '3h ago', 'yesterday', '4d ago', '3w ago', '2024-03-04'."""
    now = time.time() if now is None else now
    delta = max(0.0, now - then)
    if delta < 60:
        return "just now"
    if delta < 3600:
        return f"{int(delta // 60)}m ago"
    if delta < 86_400:
        return f"{int(delta // 3600)}h ago"
    days = int(delta // 86_400)
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days}d ago"
    if days < 60:
        return f"{days // 7}w ago"
    return time.strftime("%Y-%m-%d", time.localtime(then))


@dataclass(frozen=True)
class AwaySummary:
    """What the TUI shows when a session comes back: how long, how much, and how it ended."""

    session_id: str
    title: str
    away_seconds: float
    last_active: float
    messages: int
    prompts: int
    tool_calls: int
    tokens: int
    cost_usd: float
    # The last turn did not finish (Esc, quit mid-turn, or the process died).
    interrupted: bool
    # The process died mid-turn (nobody closed the turn): a crash or a kill.
    crashed: bool

    @property
    def headline(self) -> str:
        return f"Resumed “{self.title or 'untitled'}” after {format_duration(self.away_seconds)} away"

    @property
    def details(self) -> str:
        parts = [
            f"{self.messages} message{'s' if self.messages != 1 else ''}",
            f"{self.prompts} prompt{'s' if self.prompts != 1 else ''}",
        ]
        if self.tool_calls:
            parts.append(f"{self.tool_calls} tool call{'s' if self.tool_calls != 1 else ''}")
        parts.append(f"{format_tokens(self.tokens)} tokens")
        parts.append(format_cost(self.cost_usd))
        return " · ".join(parts)

    @property
    def banner(self) -> str | None:
        """The warning line for an interrupted last turn, or None."""
        if not self.interrupted:
            return None
        how = "Stoa stopped before the last turn finished" if self.crashed else "The last turn was interrupted"
        return (
            f"{how}: its reply may be incomplete, and tool calls that had not finished were "
            "answered as interrupted. Send a message to carry on."
        )

    def text(self) -> str:
        lines = [self.headline, self.details]
        if self.banner:
            lines.append(self.banner)
        return "\n".join(lines)


def away_summary(
    info: SessionInfo, *, prompts: int, tool_calls: int, crashed: bool, now: float | None = None
) -> AwaySummary:
    """``prompts`` (steering left out) and ``tool_calls`` are counted by the store
    (``SessionStore.record_counts``)."""
    now = time.time() if now is None else now
    return AwaySummary(
        session_id=info.id,
        title=info.title,
        away_seconds=max(0.0, now - info.updated_at),
        last_active=info.updated_at,
        messages=info.message_count,
        prompts=prompts,
        tool_calls=tool_calls,
        tokens=info.usage.prompt_tokens + info.usage.output_tokens,
        cost_usd=info.cost_usd,
        interrupted=info.last_turn_interrupted,
        crashed=crashed,
    )
