"""Failed requests: when to retry them (``RetryPolicy``) and how a failure reads (``explain``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stoa.core.models import ModelInfo, setting_hint
from stoa.core.providers import base as pb

if TYPE_CHECKING:
    from stoa.core.catalog import Catalog


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0

    # A refused connection rarely heals in seconds: try it once more, then say so.
    max_attempts_by_kind: dict[str, int] = field(default_factory=lambda: {"connection": 2})

    def attempts_for(self, error: pb.ProviderError) -> int:
        return min(self.max_attempts, self.max_attempts_by_kind.get(error.kind, self.max_attempts))

    def delay(self, attempt: int, error: pb.ProviderError) -> float:
        if error.retry_after is not None:
            return min(max(float(error.retry_after), 0.0), self.max_delay)
        return min(self.base_delay * (2.0 ** (attempt - 1)), self.max_delay)


async def explain(
    error: pb.ProviderError, model: ModelInfo, effort: str, max_tokens: int | None, catalog: Catalog | None
) -> tuple[str, str]:
    """The failure as a person should read it: a model the provider no longer offers names
    the alternatives; a 400 naming a parameter names the Stoa setting behind it."""
    if error.kind == "not_found" and catalog is not None and model.provider in ("anthropic", "openai"):
        await asyncio.to_thread(catalog.refresh_sync, [model.provider], force=True)
        listed = catalog.listed(model.provider)
        if listed is not None and model.id not in listed:
            others = ", ".join(catalog.available(model.provider)[:12]) or "(none)"
            return (
                f"{model.id} is no longer offered by {model.provider}: its model list does not include it",
                f"switch with /model NAME (or -m NAME); available: {others}. The conversation is kept.",
            )
    if error.kind == "bad_request":
        hint = setting_hint(error.message, model, effort, max_tokens)
        if hint:
            return error.message, hint
    return error.message, error.hint or _hint_for(error)


def _hint_for(error: pb.ProviderError) -> str:
    return {
        "auth": "check the API key (environment variable or /key)",
        "not_found": "check the model name (/model) and the base URL",
        "rate_limit": "wait a moment and send again",
        "overloaded": "the provider is overloaded; send again in a moment",
        "connection": "check your network and the base URL, then send again",
        "stream_broken": "the connection broke mid-reply; send again",
        "context_length": "the conversation is too long for this model; /compact summarises it, /clear starts anew",
        "bad_request": "the provider rejected the request; see the message above",
    }.get(error.kind, "send again, or check the logs")
