"""Compaction on the provider's server, where the model supports it; Stoa's own summaries
(``compaction.py``) everywhere else, and as the fallback.

The mechanisms (``ModelInfo.server_compaction``: the live model list's capabilities, the
built-in table, or ``[models."ID"] server-compaction``):

- Anthropic on demand (``summarize``, beta ``compact-2026-09-04``): when Stoa's own threshold
  is due, on ``/compact`` and before a switch, a request with the top-level ``compaction``
  parameter (Stoa's summary instructions, the focus added) is answered by a signed compaction
  block alone; it goes into the history before the recent exchanges Stoa keeps. Anthropic's
  documentation prefers it wherever it is offered, and it works in any window.
- Anthropic at a threshold (``compact_20260112``, beta ``compact-2026-01-12``): every request
  carries a ``context_management`` edit whose trigger is ``[context] auto-compact`` x the
  window, when that is at least the documented minimum of 50,000 tokens (a smaller window is
  compacted client-side); used when on demand is not offered.
- OpenAI Responses (``compaction``): every request carries ``context_management`` with
  ``compact_threshold`` = ``[context] auto-compact`` x the window.

With the two threshold forms the server compacts inside an ordinary reply, its block first;
``after_reply`` reports it (the log's fold, headless's notice, stream-json's event) and adds
what the compaction cost (Anthropic's ``usage.iterations``) to the session's totals.

Server compaction removes nothing from the live history or the session's saved history: a
request carries the history from the latest compaction block its model can use
(``in_context``; OpenAI's guide suggests dropping the items before it, and Anthropic drops them
on its side). A block with a readable summary (Anthropic's) goes to another provider, or to a
model without the capability, as a Stoa summary message; an opaque one (OpenAI's) cannot cross,
so the history is sent whole and Stoa's own compaction takes it down to the window. Another
provider's block is never sent as a compaction block.

A server that refuses the compaction fields or a block (an error naming compaction or
``context_management``) turns the mechanism off for that model for the rest of the
conversation, with a notice; the request goes again, compacted client-side when that is due.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stoa.core import events as ev
from stoa.core.agent.compaction import (
    SUMMARY_HEADER,
    SUMMARY_INSTRUCTIONS,
    Budget,
    Compaction,
    CompactionError,
    message_tokens,
    messages_tokens,
)
from stoa.core.models import ModelInfo
from stoa.core.providers import base as pb
from stoa.core.providers.types import CompactionBlock, Message, StopReason, TextBlock, Usage

if TYPE_CHECKING:
    from stoa.core.agent.loop import Agent

ON_DEMAND = "summarize"
THRESHOLD_EDIT = "compact_20260112"
RESPONSES = "compaction"
ON_DEMAND_BETA = "compact-2026-09-04"
THRESHOLD_BETA = "compact-2026-01-12"
# The documented minimum of Anthropic's threshold trigger, in input tokens.
MIN_ANTHROPIC_TRIGGER = 50_000
_REFUSAL_WORDS = ("compact", "context_management")


# ---- which mechanism ------------------------------------------------------------------------


def mechanism(agent: Agent, model: ModelInfo | None = None) -> str | None:
    """The server compaction ``model`` (default: the agent's) uses in this conversation, or None
    (Stoa summarises on its own)."""
    model = model or agent.model
    caps = model.server_compaction
    if not caps or model.id in agent.context.server_refused:
        return None
    if model.provider == "anthropic":
        if ON_DEMAND in caps:
            return ON_DEMAND
        trigger = trigger_tokens(agent, model)
        if THRESHOLD_EDIT in caps and trigger is not None and trigger >= MIN_ANTHROPIC_TRIGGER:
            return THRESHOLD_EDIT
        return None
    if model.provider == "openai" and RESPONSES in caps and trigger_tokens(agent, model) is not None:
        return RESPONSES
    return None


def trigger_tokens(agent: Agent, model: ModelInfo) -> int | None:
    """The threshold given to the server: ``[context] auto-compact`` x the window (None: off)."""
    return agent.context.limit(model)


def compacts_in_reply(agent: Agent) -> bool:
    """Whether the server compacts inside ordinary replies (the threshold forms)."""
    return mechanism(agent) in (THRESHOLD_EDIT, RESPONSES)


def accepts_blocks(agent: Agent, model: ModelInfo | None = None) -> bool:
    """Whether requests to ``model`` may carry its provider's compaction blocks."""
    model = model or agent.model
    return bool(model.server_compaction) and model.id not in agent.context.server_refused


def with_options(agent: Agent, request: pb.ProviderRequest) -> pb.ProviderRequest:
    """The request with the fields and beta header its model's mechanism needs."""
    model = agent.model
    kind = mechanism(agent)
    limit = trigger_tokens(agent, model)
    wire = dict(request.wire_options)
    betas = request.betas
    if kind == THRESHOLD_EDIT and limit is not None:
        trigger = {"type": "input_tokens", "value": limit}
        wire["context_management"] = {"edits": [{"type": THRESHOLD_EDIT, "trigger": trigger}]}
        betas = (*betas, THRESHOLD_BETA)
    elif kind == RESPONSES and limit is not None:
        wire["context_management"] = [{"type": "compaction", "compact_threshold": limit}]
    elif model.provider == "anthropic" and request.messages and _own_block(request.messages[0], "anthropic"):
        # The history opens with a block the server made: its beta goes with every request.
        betas = (*betas, ON_DEMAND_BETA if ON_DEMAND in model.server_compaction else THRESHOLD_BETA)
    else:
        return request
    return dataclasses.replace(request, wire_options=wire, betas=betas)


def _own_block(message: Message, provider: str) -> bool:
    block = message.compaction
    return block is not None and block.origin == provider


# ---- what a request carries -----------------------------------------------------------------


def in_context(messages: Sequence[Message], provider: str, *, native: bool = True) -> list[Message]:
    """The part of ``messages`` a request to ``provider`` carries: from the latest compaction
    block it can take (its own, when ``native``), or from the latest readable one as a summary
    message; everything when there is neither."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        blocks = message.content
        for at in range(len(blocks) - 1, -1, -1):
            block = blocks[at]
            if not isinstance(block, CompactionBlock):
                continue
            rest = [*messages[index + 1 :]]
            if block.origin == provider and native:
                first = message.model_copy(update={"content": list(blocks[at:])}) if at else message
                return [first, *rest]
            if block.content:
                head = [Message(role="user", content=[TextBlock(text=f"{SUMMARY_HEADER}\n\n{block.content}")])]
                after = list(blocks[at + 1 :])
                if after:
                    head.append(message.model_copy(update={"content": after}))
                return [*head, *rest]
    return list(messages)


def request_messages(agent: Agent) -> list[Message]:
    """What the agent's next request carries (``Agent._build_request``)."""
    return in_context(agent.history.messages, agent.model.provider, native=accepts_blocks(agent))


# ---- a compaction that came with a reply ----------------------------------------------------


async def after_reply(agent: Agent, message: Message, complete: pb.MessageComplete) -> None:
    """Report a compaction the server made while answering, count what it cost, and save it
    (the session's fold; nothing is archived: the messages stay)."""
    from stoa.core.agent.compactor import record_compaction

    block = message.compaction
    if block is None or block.origin != agent.model.provider:
        _check_it_compacts(agent, complete)
        return
    spent = complete.compaction_usage or Usage()
    cost = agent.ledger.add(agent.model.id, spent, agent.model) if complete.compaction_usage else 0.0
    history = agent.history.messages
    carried = request_messages(agent)
    before = int(agent.context.pending_estimate * agent.context.ratio)
    after = complete.usage.prompt_tokens or messages_tokens(carried)
    after = min(after, before) if before else after
    result = Compaction(
        history=list(history), archived=[], summary=block.content or "", tokens_before=before,
        tokens_after=after, usage=spent, stages=1, on_server=True,
    )
    archive_id = await record_compaction(agent, result, "auto", before, after)
    agent._emit(
        ev.ContextCompacted(
            trigger="auto",
            tokens_before=before,
            tokens_after=after,
            context_window=agent.model.context_window,
            summary=block.content or "",
            archived=max(len(history) - len(carried), 0),
            stages=1,
            usage=spent,
            cost_usd=cost,
            archive_id=archive_id,
            on_server=True,
        )
    )


def _check_it_compacts(agent: Agent, complete: pb.MessageComplete) -> None:
    """A server that took the threshold and still read more than it without compacting (a
    compatible server that ignores the field) does not compact: Stoa does, from now on."""
    limit = trigger_tokens(agent, agent.model)
    if not compacts_in_reply(agent) or limit is None:
        return
    if complete.usage.prompt_tokens > limit * 1.05:
        model = agent.model
        agent.context.server_refused.add(model.id)
        agent._emit(
            ev.Notice(
                "warning",
                f"{model.id} read {complete.usage.prompt_tokens:,} tokens without compacting at {limit:,}; "
                "Stoa compacts this conversation itself from here",
            )
        )


# ---- on demand (Anthropic) ------------------------------------------------------------------


def _cut(context: list[Message], keep_tokens: int) -> int:
    """Where the kept part starts: the earliest message the person typed (no tool results)
    from which the rest fits ``keep_tokens``; the whole conversation when none does."""
    points = [k for k in range(1, len(context)) if context[k].role == "user" and not context[k].tool_results]
    if context and context[0].compaction is not None:
        points = [k for k in points if k > 1] or points
    tail = 0
    best = len(context)
    for k in range(len(context) - 1, 0, -1):
        tail += message_tokens(context[k])
        if tail > keep_tokens and best != len(context):
            break
        if k in points:
            best = k
    return best


async def compact_on_server(agent: Agent, *, model: ModelInfo, budget: Budget, focus: str = "") -> Compaction:
    """Compact on Anthropic's server, on demand (see the module doc). Raises
    ``CompactionError`` (the history untouched) when it cannot."""
    messages = list(agent.history.messages)
    context = in_context(messages, model.provider)
    cut = _cut(context, budget.keep)
    head = context[:cut]
    if not head or (len(head) == 1 and head[0].compaction is not None):
        raise CompactionError("the conversation is too short to compact: there is no earlier exchange to summarise")
    instructions = SUMMARY_INSTRUCTIONS + (f"\n\nThe user asked the summary to focus on: {focus.strip()}" if focus.strip() else "")
    base = agent._build_request("auto")
    size = int((agent.context.fixed_tokens(base) + messages_tokens(head)) * agent.context.ratio)
    if size > model.context_window - budget.summary:
        # (A history another provider's opaque compaction left whole, say: summarised in stages.)
        raise CompactionError(f"the conversation (about {size:,} tokens) is too large for one request to {model.id}")
    request = dataclasses.replace(
        base,
        model=model.id,
        messages=head,
        wire_options={**_reply_free(base.wire_options), "compaction": {"type": "summarize", "instructions": instructions}},
        betas=(*base.betas, ON_DEMAND_BETA),
    )
    try:
        complete = await _ask_compaction(agent.provider_for(model), request)
    except pb.ProviderError as exc:
        if refused_on_server(agent, exc, model):
            raise CompactionError(f"{model.id} refused compaction on the server: {exc}") from exc
        raise CompactionError(f"the compaction request failed: {exc}") from exc
    block = complete.message.compaction
    if block is None or not block.content:
        raise CompactionError(f"{model.id} returned no compaction (stop reason: {complete.stop_reason.value})")
    usage = complete.usage + (complete.compaction_usage or Usage())
    compacted = Message(
        role="assistant", content=[block], model=model.id, provider=model.provider,
        stop_reason=StopReason.COMPACTION, usage=usage,
    )
    at = len(messages) - (len(context) - cut)
    history = [*messages[:at], compacted, *messages[at:]]
    return Compaction(
        history=history,
        archived=[],
        summary=block.content,
        tokens_before=messages_tokens(context),
        tokens_after=messages_tokens(in_context(history, model.provider)),
        usage=usage,
        stages=1,
        focus=focus,
        on_server=True,
    )


async def _ask_compaction(provider: pb.Provider, request: pb.ProviderRequest) -> pb.MessageComplete:
    from stoa.core.agent.compaction import ask_complete

    return await ask_complete(provider, request, "compaction")


def _reply_free(wire: dict[str, Any]) -> dict[str, Any]:
    """The fields a compaction request keeps (it returns no reply: nothing that shapes one)."""
    return {k: v for k, v in wire.items() if k not in ("context_management", "stop_sequences", "output_format")}


# ---- when the server refuses ----------------------------------------------------------------


def refused_on_server(agent: Agent, error: pb.ProviderError, model: ModelInfo | None = None) -> bool:
    """A request refused because of server compaction (its fields or a block): the mechanism
    is off for this model from now on, with a notice. True when that is what happened."""
    model = model or agent.model
    if error.kind != "bad_request" or mechanism(agent, model) is None:
        return False
    if not any(word in str(error).lower() for word in _REFUSAL_WORDS):
        return False
    agent.context.server_refused.add(model.id)
    agent._emit(
        ev.Notice(
            "warning",
            f"{model.id} refused compaction on the server ({error}); Stoa compacts this conversation itself from here",
        )
    )
    return True
