"""Compaction on a live agent: before a request that would pass the threshold, on ``/compact``,
and before a switch to a model whose window is too small.

``compact_agent`` runs ``compaction.compact_history`` over the agent's history with the model
that will carry the conversation on, adds the summary's cost to the session's ledger, replaces
the live history only once the summary is in, saves the new history and archives what it
replaced (through the observer: the session recorder), and emits ``CompactionStarted`` and
``ContextCompacted``. ``fit_request`` is the agent's check before each request.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from stoa.core import events as ev
from stoa.core.agent import server_compaction
from stoa.core.agent.compaction import (
    Compaction,
    CompactionError,
    compact_history,
    cut_points,
    messages_tokens,
)
from stoa.core.models import ModelInfo
from stoa.core.providers import base as pb

if TYPE_CHECKING:
    from stoa.core.agent.loop import Agent

__all__ = ["Compaction", "CompactionError", "compact_agent", "compacted_after_refusal", "fit_request", "record_compaction"]


async def compact_agent(
    agent: Agent,
    *,
    trigger: str,
    focus: str = "",
    model: ModelInfo | None = None,
    summarise: bool = True,
    room: int | None = None,
) -> Compaction:
    """Compact the agent's conversation (see the module doc). ``model`` is the model whose
    window the result must fit and which writes the summary (default: the agent's). Raises
    ``CompactionError`` with the history untouched."""
    model = model or agent.model
    keeper = agent.context
    hooks = agent.hooks
    if hooks is not None and hooks.configured("PreCompact"):
        for level, text in (await hooks.pre_compact(trigger, focus)).notices:
            agent._emit(ev.Notice(level, text))
    request = agent._build_request("auto")
    before = keeper.estimate(request)
    agent._emit(ev.CompactionStarted(trigger=trigger, tokens=before, context_window=model.context_window))
    try:
        provider = agent.provider_for(model)
    except Exception as exc:
        raise CompactionError(f"no provider for {model.id}: {exc}") from exc
    budget = keeper.budget(request, model)
    result = await _on_server(agent, model, budget, focus) if summarise else None
    if result is None:
        result = await compact_history(
            list(agent.history.messages),
            provider=provider,
            model=model,
            budget=budget,
            focus=focus,
            summarise=summarise,
            room=room,
        )
    cost = agent.ledger.add(model.id, result.usage, model) if result.summarised else 0.0
    # The summary is in: only now does the live history change, in one step.
    agent.history.messages[:] = result.history
    after = keeper.estimate(agent._build_request("auto"))
    agent.last_context_tokens = after
    archive_id = await record_compaction(agent, result, trigger, before, after)
    if hooks is not None and hooks.configured("SessionStart"):  # its context joins the next prompt
        for level, text in (await hooks.session_start("compact")).notices:
            agent._emit(ev.Notice(level, text))
    agent._emit(
        ev.ContextCompacted(
            trigger=trigger,
            tokens_before=before,
            tokens_after=after,
            context_window=model.context_window,
            summary=result.summary,
            archived=len(result.archived),
            stages=result.stages,
            cleared=result.cleared,
            usage=result.usage,
            cost_usd=cost,
            archive_id=archive_id,
            on_server=result.on_server,
        )
    )
    agent._emit(
        ev.UsageUpdated(
            usage=result.usage,
            total=agent.ledger.total,
            cost_usd=agent.ledger.cost_usd,
            context_tokens=after,
            context_window=agent.model.context_window,
        )
    )
    # The figures of the whole request (system prompt and tools included), as the log's fold
    # and the status meter show them, not of the messages alone.
    return dataclasses.replace(result, tokens_before=before, tokens_after=after)


async def _on_server(agent: Agent, model: ModelInfo, budget: Any, focus: str) -> Compaction | None:
    """Compaction on the provider's server when the model offers it on demand (None: it does
    not, or it failed and Stoa summarises instead, with a notice)."""
    if server_compaction.mechanism(agent, model) != server_compaction.ON_DEMAND:
        return None
    try:
        return await server_compaction.compact_on_server(agent, model=model, budget=budget, focus=focus)
    except CompactionError as exc:
        agent._emit(ev.Notice("warning", f"compaction on the server failed, Stoa summarises instead: {exc}"))
        return None


async def record_compaction(agent: Agent, result: Compaction, trigger: str, before: int, after: int) -> int | None:
    saver: Any = getattr(agent.observer, "history_compacted", None)
    if saver is None:
        return None
    try:
        archive_id = await saver(
            list(result.history),
            list(result.archived),
            trigger=trigger,
            summary=result.summary,
            tokens_before=before,
            tokens_after=after,
            detail={"stages": result.stages, "cleared": result.cleared, "focus": result.focus, "on_server": result.on_server},
        )
    except Exception as exc:  # the write waits in the recorder's backlog; say so once
        agent._emit(ev.Notice("error", f"could not save the compacted session yet: {exc}"))
        return None
    return int(archive_id) if archive_id is not None else None


async def fit_request(agent: Agent, request: pb.ProviderRequest, tool_choice: str) -> pb.ProviderRequest:
    """The request to send: compacted first when it would pass the auto-compaction threshold
    (a failure is a notice, and the request goes as it was), with ``max_tokens`` lowered so
    prompt plus reply fit the window."""
    keeper = agent.context
    model = agent.model
    if _due(agent, request):
        try:
            await compact_agent(agent, trigger="auto")
        except CompactionError as exc:
            agent._emit(
                ev.Notice("error", f"auto-compaction failed, the conversation was left as it was: {exc}")
            )
        request = agent._build_request(tool_choice)
        if _due(agent, request):
            # The recent part alone is over the threshold: old tool output goes, and the newest
            # is cut to fit (the originals stay archived).
            limit = keeper.limit(model) or model.context_window
            room = int(limit / keeper.ratio) - keeper.fixed_tokens(request)
            try:
                await compact_agent(agent, trigger="auto", summarise=False, room=room)
                request = agent._build_request(tool_choice)
            except CompactionError:
                pass
    keeper.pending_estimate = keeper.fixed_tokens(request) + messages_tokens(request.messages)
    request = server_compaction.with_options(agent, request)
    return _fit_max_tokens(request, keeper.fit_max_tokens(request, model))


def _due(agent: Agent, request: pb.ProviderRequest) -> bool:
    """Whether Stoa compacts before sending: at ``[context] auto-compact``, or, where the server
    compacts inside replies at that threshold, only when the request would not fit the window
    with room for a reply (the server sees every request past its threshold; a server that
    reads past it without compacting is caught by ``server_compaction.after_reply``)."""
    keeper = agent.context
    model = agent.model
    if not server_compaction.compacts_in_reply(agent):
        return keeper.due(request, model)
    floor = min(request.max_tokens, max(1_024, model.context_window // 20))
    return keeper.estimate(request) > model.context_window - floor


def _fit_max_tokens(request: pb.ProviderRequest, max_tokens: int) -> pb.ProviderRequest:
    if max_tokens >= request.max_tokens:
        return request
    wire = dict(request.wire_options)
    thinking = wire.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = min(int(thinking.get("budget_tokens", 1_024)), max_tokens - 1_024)
        if budget < 1_024:
            return request  # a thinking budget needs room: keep the request as it was
        wire["thinking"] = {**thinking, "budget_tokens": budget}
    return dataclasses.replace(request, max_tokens=max_tokens, wire_options=wire)


async def compacted_after_refusal(agent: Agent, error: pb.ProviderError) -> bool:
    """A request refused as too long: compact (when auto-compaction is on and there is an
    earlier part to summarise). A request refused for its server compaction goes again without
    it (``server_compaction.refused_on_server``). True when the request should go again."""
    if server_compaction.refused_on_server(agent, error):
        return True
    if error.kind != "context_length" or agent.context.threshold is None or not cut_points(agent.history.messages):
        return False
    try:
        await compact_agent(agent, trigger="auto")
    except CompactionError as exc:
        agent._emit(ev.Notice("error", f"auto-compaction failed: {exc}"))
        return False
    return True
