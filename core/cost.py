"""Cost from usage and registry prices, and per-model usage accounting.

Input, output, cache-read and cache-write tokens are priced separately; a request whose prompt
exceeds a model's tier threshold is priced at the tier's rates as a whole (that is how the
providers bill long-context requests), so the largest single-request prompt is tracked too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models import ModelInfo, find_model
from core.providers.types import Usage


def request_cost(model: ModelInfo | None, usage: Usage) -> float:
    """USD for one request's usage. Models without prices (local servers) cost 0."""
    if model is None:
        return 0.0
    prices = model.prices_for(usage.prompt_tokens)
    if prices is None:
        return 0.0
    return (
        usage.input_tokens * prices.input
        + usage.output_tokens * prices.output
        + usage.cache_read_tokens * prices.cache_read
        + usage.cache_write_tokens * prices.cache_write
    ) / 1_000_000


@dataclass
class ModelUsage:
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    requests: int = 0
    peak_prompt_tokens: int = 0


@dataclass
class UsageLedger:
    """Session totals, kept per model so switching models keeps each model's figures."""

    by_model: dict[str, ModelUsage] = field(default_factory=dict)

    def add(self, model_id: str, usage: Usage, model: ModelInfo | None = None) -> float:
        cost = request_cost(model or find_model(model_id), usage)
        entry = self.by_model.setdefault(model_id, ModelUsage())
        entry.usage = entry.usage + usage
        entry.cost_usd += cost
        entry.requests += 1
        entry.peak_prompt_tokens = max(entry.peak_prompt_tokens, usage.prompt_tokens)
        return cost

    @property
    def total(self) -> Usage:
        total = Usage()
        for entry in self.by_model.values():
            total = total + entry.usage
        return total

    @property
    def cost_usd(self) -> float:
        return sum(e.cost_usd for e in self.by_model.values())

    @property
    def peak_prompt_tokens(self) -> int:
        return max((e.peak_prompt_tokens for e in self.by_model.values()), default=0)

    @property
    def cache_hit_rate(self) -> float:
        total = self.total
        prompt = total.prompt_tokens
        return total.cache_read_tokens / prompt if prompt else 0.0

    def to_dict(self) -> dict[str, dict[str, object]]:
        return {
            model_id: {
                "usage": e.usage.model_dump(),
                "cost_usd": e.cost_usd,
                "requests": e.requests,
                "peak_prompt_tokens": e.peak_prompt_tokens,
            }
            for model_id, e in self.by_model.items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, object]]) -> UsageLedger:
        ledger = cls()
        for model_id, raw in data.items():
            ledger.by_model[model_id] = ModelUsage(
                usage=Usage.model_validate(raw.get("usage", {})),
                cost_usd=float(raw.get("cost_usd", 0.0)),  # type: ignore[arg-type]
                requests=int(raw.get("requests", 0)),  # type: ignore[call-overload]
                peak_prompt_tokens=int(raw.get("peak_prompt_tokens", 0)),  # type: ignore[call-overload]
            )
        return ledger
