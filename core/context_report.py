"""What fills the context window (``/context``): the system prompt (and the instruction files
and MCP server instructions in it), the tool schemas (native, and per MCP server), the
messages (an earlier compaction's summary, tool results), with token counts and the distance
to auto-compaction.

Counts are estimates (``core.agent.compaction``: 4 characters a token over the JSON, corrected
by what the provider reported for this session's requests); the last measured request is shown
beside them. No request is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stoa.core.agent.compaction import is_summary, message_tokens, text_tokens, tools_tokens
from stoa.core.cost import format_tokens
from stoa.core.providers.types import ToolResultBlock


@dataclass(frozen=True)
class Row:
    label: str
    tokens: int
    # 0: a part of the window; 1: a part of the row above it.
    level: int = 0
    detail: str = ""


@dataclass(frozen=True)
class ContextReport:
    model: str
    window: int
    rows: list[Row] = field(default_factory=list)
    total: int = 0
    # The auto-compaction threshold (share of the window), None when it is off.
    threshold: float | None = None
    # The last request's prompt as the provider counted it (0: none yet).
    measured: int = 0
    # The next request's input as the provider's count endpoint counts it (None: no endpoint,
    # or it did not answer).
    counted: int | None = None
    counter: str = ""

    @property
    def limit(self) -> int | None:
        return None if self.threshold is None else int(self.window * self.threshold)

    @property
    def free(self) -> int:
        return max(0, self.window - self.total)

    @property
    def until_compaction(self) -> int | None:
        limit = self.limit
        return None if limit is None else max(0, limit - self.total)


COUNT_TIMEOUT = 5.0


async def counted_report(runtime: Any, *, limit: float = COUNT_TIMEOUT) -> ContextReport:
    """``context_report``, with the count of the provider's endpoint where it has one
    (Anthropic's ``count_tokens``); the estimate alone when it has none or does not answer."""
    import asyncio
    import dataclasses

    report = context_report(runtime)
    agent = runtime.agent
    try:
        provider = agent.provider_for(agent.model)
    except Exception:
        return report
    count = getattr(provider, "count_tokens", None)
    if count is None:
        return report
    try:
        from stoa.core.agent.server_compaction import with_options

        counted = await asyncio.wait_for(count(with_options(agent, agent._build_request("auto"))), limit)
    except Exception:
        return report
    return dataclasses.replace(report, counted=int(counted), counter=str(getattr(provider, "name", "")))


def _scaled(tokens: int, ratio: float) -> int:
    return int(tokens * ratio)


def context_report(runtime: Any) -> ContextReport:
    """The breakdown of the agent's next request (see the module doc)."""
    agent = runtime.agent
    keeper = agent.context
    ratio = keeper.ratio
    request = agent._build_request("auto")
    rows: list[Row] = []

    system = _scaled(text_tokens(request.system), ratio)
    rows.append(Row("System prompt", system))
    instructions = getattr(runtime, "instructions", None)
    if instructions is not None:
        for source in instructions.current().sources:
            rows.append(Row(f"{source.label}", _scaled(text_tokens(source.block()), ratio), 1, source.scope))
    for label, text in getattr(runtime, "prompt_sections", None) or []:
        rows.append(Row(f"MCP instructions: {label}", _scaled(text_tokens(text), ratio), 1))

    specs = list(request.tools)
    rows.append(Row(f"Tool schemas ({len(specs)})", _scaled(tools_tokens(specs), ratio)))
    by_server: dict[str | None, list[Any]] = {}
    for spec in specs:
        tool = agent.tools.get(spec.name)
        by_server.setdefault(getattr(tool, "server", None), []).append(spec)
    for server, group in sorted(by_server.items(), key=lambda item: (item[0] is not None, item[0] or "")):
        label = "native tools" if server is None else f"MCP server {server}"
        rows.append(Row(label, _scaled(tools_tokens(group), ratio), 1, f"{len(group)} tool{'s' if len(group) != 1 else ''}"))

    messages = list(request.messages)
    total_messages = _scaled(sum(message_tokens(m) for m in messages), ratio)
    rows.append(Row(f"Messages ({len(messages)})", total_messages))
    if messages and (is_summary(messages[0]) or messages[0].compaction is not None):
        rows.append(Row("summary of earlier messages", _scaled(message_tokens(messages[0]), ratio), 1))
    results = [b for m in messages for b in m.content if isinstance(b, ToolResultBlock)]
    if results:
        size = sum(len(b.text) for b in results) // 4
        rows.append(Row(f"tool results ({len(results)})", _scaled(size, ratio), 1))

    total = keeper.estimate(request)
    measured = int(getattr(agent, "last_context_tokens", 0) or 0)
    return ContextReport(
        model=agent.model.id,
        window=agent.model.context_window,
        rows=rows,
        total=total,
        threshold=keeper.threshold,
        measured=measured,
    )


def _share(tokens: int, window: int) -> str:
    return f"{tokens / window:.0%}" if window else "?"


def report_lines(report: ContextReport) -> list[str]:
    """The report as text (headless ``/context``; the TUI draws the same rows in a table)."""
    lines = [f"Context of {report.model}: about {report.total:,} of {report.window:,} tokens ({_share(report.total, report.window)})"]
    for row in report.rows:
        indent = "  " * (row.level + 1)
        detail = f"  {row.detail}" if row.detail else ""
        lines.append(f"{indent}{row.label}: {row.tokens:,}{detail}")
    lines.append(f"  Free: {report.free:,}")
    lines.append(summary_line(report))
    if report.counted is not None:
        lines.append(f"Counted by {report.counter}'s count endpoint: {report.counted:,} input tokens.")
    if report.measured:
        lines.append(f"Last request measured by the provider: {report.measured:,} tokens (prompt and reply).")
    lines.append("Counts are estimates (4 characters a token, corrected by what the provider reported).")
    return lines


def summary_line(report: ContextReport) -> str:
    limit = report.limit
    if limit is None:
        return "Auto-compaction is off ([context] auto-compact = false); /compact summarises on demand."
    left = report.until_compaction or 0
    if left == 0:
        return f"Auto-compaction at {format_tokens(limit)} ({report.threshold:.0%}): due before the next request."
    return f"Auto-compaction at {format_tokens(limit)} ({report.threshold:.0%}): {left:,} tokens to go."
