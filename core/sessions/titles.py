"""Session titles: a few words from the first exchange.

Every session first gets the first line of its first prompt as its title, at once. When the
provider of the conversation's model has a key, the cheapest model of that provider (its
"cheapest sibling") is then asked for a short title after the first reply; that call is small,
bounded by a timeout, counted in the session's costs, and any failure just keeps the
first-line title. Local and other unpriced models are not asked: their title stays the
prompt's first line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from stoa.core.cost import UsageLedger
from stoa.core.models import ModelInfo, effort_wire_options, models_for
from stoa.core.providers.base import MessageComplete, Provider, ProviderRequest
from stoa.core.providers.types import Usage, user_text
from stoa.core.sessions.recorder import Titler
from stoa.core.sessions.records import first_line

TITLE_SYSTEM = (
    "You name coding conversations. Reply with a title of 3 to 7 words that says what the user "
    "wants done. Reply with the title only: no quotes, no trailing period, no preamble."
)
TITLE_MAX_CHARS = 60
TITLE_TIMEOUT = 15.0
_PROMPT_CHARS = 2_000
_REPLY_CHARS = 800


def fallback_title(prompt: str) -> str:
    return first_line(prompt, 80)


def cheapest_sibling(model: ModelInfo) -> ModelInfo | None:
    """The lowest-priced current (not legacy) model of the same provider, or None for unpriced models."""
    if model.prices is None:
        return None
    priced = [m for m in models_for(model.provider) if m.prices is not None and not m.legacy]
    if not priced:
        return None
    return min(priced, key=lambda m: (m.prices.input + m.prices.output if m.prices else 0.0, m.id))


def clean_title(text: str) -> str | None:
    """A usable title from a model's reply, or None."""
    line = first_line(text, 400)
    for prefix in ("title:", "Title:", "TITLE:"):
        if line.startswith(prefix):
            line = line[len(prefix) :].strip()
    line = line.strip().strip("\"'`*“”‘’#").strip().rstrip(".").strip()
    if not line:
        return None
    if len(line) > TITLE_MAX_CHARS:
        line = line[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return line


def title_request(model: ModelInfo, prompt: str, reply: str) -> ProviderRequest:
    lowest = model.efforts[0] if model.efforts else "off"
    wire, max_tokens = effort_wire_options(model, lowest, 64)
    body = f"The user's first message:\n{prompt[:_PROMPT_CHARS]}"
    if reply.strip():
        body += f"\n\nThe start of the assistant's reply:\n{reply[:_REPLY_CHARS]}"
    body += "\n\nTitle:"
    return ProviderRequest(
        model=model.id,
        system=TITLE_SYSTEM,
        messages=[user_text(body)],
        tools=[],
        max_tokens=max_tokens,
        effort=lowest,
        wire_options=wire,
    )


async def generate_title(
    provider: Provider, model: ModelInfo, prompt: str, reply: str, *, limit: float = TITLE_TIMEOUT
) -> tuple[str | None, Usage | None]:
    """Ask ``model`` for a title. Returns (title or None, usage or None); raises nothing."""

    async def call() -> MessageComplete | None:
        complete: MessageComplete | None = None
        async for item in provider.stream(title_request(model, prompt, reply)):
            if isinstance(item, MessageComplete):
                complete = item
        return complete

    try:
        complete = await asyncio.wait_for(call(), limit)
    except Exception:
        return None, None
    if complete is None:
        return None, None
    return clean_title(complete.message.text), complete.usage


def make_titler(
    model: Callable[[], ModelInfo],
    provider_for: Callable[[ModelInfo], Provider],
    has_key: Callable[[str], bool],
    ledger: Callable[[], UsageLedger] | None = None,
    *,
    timeout: float = TITLE_TIMEOUT,
) -> Titler:
    """A titler for ``SessionRecorder``; it answers None (keep the first-line title) when the
    model is unpriced or its provider has no key.

    ``model`` returns the conversation's current model; the call goes to its cheapest sibling
    through ``provider_for`` (the runtime's ``ProviderPool``), and the usage is added to
    ``ledger()`` so the title's cost shows in the session's totals.
    """

    async def titler(prompt: str, reply: str) -> str | None:
        cheap = cheapest_sibling(model())
        if cheap is None or not has_key(cheap.provider):
            return None
        try:
            provider = provider_for(cheap)
        except Exception:
            return None
        title, usage = await generate_title(provider, cheap, prompt, reply, limit=timeout)
        if usage is not None and ledger is not None:
            ledger().add(cheap.id, usage, cheap)
        return title

    return titler
