"""Cost from usage and registry prices, and per-model usage accounting.

Input, output, cache-read and cache-write tokens are priced separately; a request whose prompt
exceeds a model's tier threshold is priced at the tier's rates as a whole (that is how the
providers bill long-context requests), so the largest single-request prompt is tracked too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stoa.core.models import ModelInfo, find_model
from stoa.core.providers.types import Usage


def request_cost(model: ModelInfo | None, usage: Usage) -> float:
    """USD for one request's usage. Tokens whose price is unknown (local servers, models the
    built-in table does not price) count 0; ``price_known`` says whether that happened."""
    if model is None:
        return 0.0
    prices = model.prices_for(usage.prompt_tokens)
    if prices is None:
        return 0.0
    parts = (
        (usage.input_tokens, prices.input),
        (usage.output_tokens, prices.output),
        (usage.cache_read_tokens, prices.cache_read),
        (usage.cache_write_tokens, prices.cache_write),
    )
    return sum(tokens * price for tokens, price in parts if price is not None) / 1_000_000


def price_known(model: ModelInfo | None, usage: Usage) -> bool:
    """Whether every token of this usage has a published price (False: "price unknown")."""
    if model is None:
        return False
    prices = model.prices_for(usage.prompt_tokens)
    if prices is None:
        return False
    return not (
        (usage.cache_read_tokens and prices.cache_read is None)
        or (usage.cache_write_tokens and prices.cache_write is None)
    )


@dataclass
class ModelUsage:
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    requests: int = 0
    peak_prompt_tokens: int = 0
    # Some of this model's tokens had no published price (their cost counted 0).
    price_unknown: bool = False


@dataclass
class UsageLedger:
    """Session totals, kept per model so switching models keeps each model's figures."""

    by_model: dict[str, ModelUsage] = field(default_factory=dict)

    def add(self, model_id: str, usage: Usage, model: ModelInfo | None = None) -> float:
        model = model or _lookup(model_id)
        cost = request_cost(model, usage)
        entry = self.by_model.setdefault(model_id, ModelUsage())
        if not price_known(model, usage) and (usage.prompt_tokens or usage.output_tokens):
            entry.price_unknown = True
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
                "price_unknown": e.price_unknown,
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
                price_unknown=bool(raw.get("price_unknown", False)),
            )
        return ledger


# ---- summaries: what the status bar, the quit line and headless json show ----------------------


@dataclass(frozen=True)
class CostSummary:
    """A ledger's totals in plain values (tokens, cache hit rate, estimated cost)."""

    usage: Usage
    cost_usd: float
    requests: int
    cache_hit_rate: float
    peak_prompt_tokens: int
    # Models used without (complete) prices: local servers, ids the table does not price.
    unpriced_models: tuple[str, ...]
    by_model: tuple[tuple[str, ModelUsage], ...]

    @property
    def prompt_tokens(self) -> int:
        return self.usage.prompt_tokens

    @property
    def total_tokens(self) -> int:
        return self.usage.prompt_tokens + self.usage.output_tokens

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (headless ``--output-format json``)."""
        return {
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cache_read_tokens": self.usage.cache_read_tokens,
            "cache_write_tokens": self.usage.cache_write_tokens,
            "reasoning_tokens": self.usage.reasoning_tokens,
            "prompt_tokens": self.prompt_tokens,
            "total_tokens": self.total_tokens,
            "cache_hit_rate": round(self.cache_hit_rate, 4),
            "peak_prompt_tokens": self.peak_prompt_tokens,
            "requests": self.requests,
            "cost_usd": round(self.cost_usd, 6),
            "unpriced_models": list(self.unpriced_models),
            "by_model": {
                model_id: {
                    "requests": entry.requests,
                    "input_tokens": entry.usage.input_tokens,
                    "output_tokens": entry.usage.output_tokens,
                    "cache_read_tokens": entry.usage.cache_read_tokens,
                    "cache_write_tokens": entry.usage.cache_write_tokens,
                    "reasoning_tokens": entry.usage.reasoning_tokens,
                    "peak_prompt_tokens": entry.peak_prompt_tokens,
                    "cost_usd": round(entry.cost_usd, 6),
                }
                for model_id, entry in self.by_model
            },
        }


def summarize(ledger: UsageLedger) -> CostSummary:
    unpriced = tuple(
        model_id
        for model_id, entry in ledger.by_model.items()
        if entry.requests and (entry.price_unknown or _has_no_prices(model_id))
    )
    return CostSummary(
        usage=ledger.total,
        cost_usd=ledger.cost_usd,
        requests=sum(e.requests for e in ledger.by_model.values()),
        cache_hit_rate=ledger.cache_hit_rate,
        peak_prompt_tokens=ledger.peak_prompt_tokens,
        unpriced_models=unpriced,
        by_model=tuple(ledger.by_model.items()),
    )


def _lookup(model_id: str) -> ModelInfo | None:
    from stoa.core.catalog import active_catalog

    return active_catalog().find(model_id) or find_model(model_id)


def _has_no_prices(model_id: str) -> bool:
    model = _lookup(model_id)
    return model is None or model.prices is None


def format_tokens(count: int) -> str:
    """950, 12.3k, 1.25M."""
    if count < 1_000:
        return str(count)
    if count < 1_000_000:
        value = count / 1_000
        return f"{value:.1f}k" if value < 100 else f"{value:.0f}k"
    value = count / 1_000_000
    return f"{value:.2f}M" if value < 10 else f"{value:.1f}M"


def format_cost(usd: float) -> str:
    """$0.00, $0.0042 (small amounts keep two significant digits), $1.23."""
    if usd <= 0:
        return "$0.00"
    if usd < 0.01:
        return f"${usd:.4f}"
    if usd < 1_000:
        return f"${usd:.2f}"
    return f"${usd:,.0f}"


def format_status_cost(ledger: UsageLedger) -> str:
    """The status bar's running figure: '$0.42 · 128k tok'."""
    summary = summarize(ledger)
    if not summary.requests:
        return "$0.00"
    return f"{format_cost(summary.cost_usd)} · {format_tokens(summary.total_tokens)} tok"


def format_usage_line(summary: CostSummary) -> str:
    """'125k input (98k from cache, 78% hit rate), 4.2k output, ≈ $0.0412'."""
    usage = summary.usage
    parts = [f"{format_tokens(summary.prompt_tokens)} input"]
    cache = []
    if usage.cache_read_tokens:
        cache.append(f"{format_tokens(usage.cache_read_tokens)} from cache")
    if usage.cache_write_tokens:
        cache.append(f"{format_tokens(usage.cache_write_tokens)} written to cache")
    if summary.prompt_tokens:
        cache.append(f"{summary.cache_hit_rate:.0%} cache hit rate")
    if cache:
        parts[0] += f" ({', '.join(cache)})"
    output = f"{format_tokens(usage.output_tokens)} output"
    if usage.reasoning_tokens:
        output += f" ({format_tokens(usage.reasoning_tokens)} reasoning)"
    parts.append(output)
    cost = f"≈ {format_cost(summary.cost_usd)}"
    if summary.unpriced_models:
        cost += f" (price unknown for {', '.join(summary.unpriced_models)})"
    parts.append(cost)
    return ", ".join(parts)


def format_quit_summary(
    ledger: UsageLedger, *, session_id: str | None = None, title: str | None = None
) -> str:
    """The lines printed to the terminal after the app exits."""
    summary = summarize(ledger)
    lines: list[str] = []
    if session_id:
        short = session_id[:8]
        named = f" “{title}”" if title else ""
        lines.append(f"Session {short}{named} is saved; resume it with: stoa -r {short}")
    if not summary.requests:
        lines.append("No model requests were made.")
        return "\n".join(lines)
    requests = f"{summary.requests} request{'s' if summary.requests != 1 else ''}"
    lines.append(f"Usage: {requests}, {format_usage_line(summary)}")
    if len(summary.by_model) > 1:
        for model_id, entry in summary.by_model:
            lines.append(
                f"  {model_id}: {entry.requests} request{'s' if entry.requests != 1 else ''}, "
                f"{format_tokens(entry.usage.prompt_tokens)} in, "
                f"{format_tokens(entry.usage.output_tokens)} out, {format_cost(entry.cost_usd)}"
            )
    return "\n".join(lines)
