"""The model registry: what a model is, the built-in table, and the rules that decide the wire.

``ModelInfo`` says which provider serves a model, its context window and output limit, the
reasoning-effort levels it accepts, the API rules it enforces (thinking types, forced tool use,
sampling parameters) and its prices per million tokens. The built-in table (``MODELS``) holds
what the providers' model lists do not return: prices, aliases, legacy marks and documented
rules. ``stoa.core.catalog`` merges it with each provider's live list (capabilities) and the
``[models."ID"]`` tables of the configuration; that merged catalogue is what the CLI, the pickers
and cost read. ``effort_wire_options`` is the one place an effort level becomes request fields.

Prices are list prices in USD per million tokens, each entry citing the page it comes from;
a figure the page did not give is ``None`` ("price unknown"), never a guess. Tiered
(long-context) prices apply to a whole request once its prompt exceeds the tier threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

EFFORT_LEVELS: tuple[str, ...] = ("off", "low", "medium", "high", "xhigh", "max")

ThinkingStyle = Literal["adaptive", "budget", "openai_reasoning", "none"]
# Where an entry's rules came from: the built-in table, the provider's live list, a
# ``[models."ID"]`` config table, a local server, or nowhere (accepted unverified, list unreachable).
ModelSource = Literal["table", "live", "config", "local", "unverified"]

CLOUD_PROVIDERS: tuple[str, ...] = ("anthropic", "openai")
COMPATIBLE_PROVIDERS: tuple[str, ...] = ("ollama", "lmstudio", "vllm", "openrouter", "openai-compatible")
ALL_PROVIDERS: tuple[str, ...] = CLOUD_PROVIDERS + COMPATIBLE_PROVIDERS

ANTHROPIC_PRICING = "https://platform.claude.com/docs/en/about-claude/pricing"
OPENAI_PRICING = "https://developers.openai.com/api/docs/pricing"


@dataclass(frozen=True)
class Prices:
    """USD per million tokens. ``None`` = not published (shown and counted as unknown)."""

    input: float
    output: float
    cache_read: float | None = None
    # Anthropic: a 5-minute cache write; OpenAI: a cache write (30 minutes' retention).
    cache_write: float | None = None
    # Anthropic: a 1-hour cache write.
    cache_write_1h: float | None = None


@dataclass(frozen=True)
class PriceTier:
    """Prices that apply when a request's prompt exceeds ``above_input_tokens``."""

    above_input_tokens: int
    prices: Prices


@dataclass(frozen=True)
class ModelInfo:
    id: str
    provider: str
    label: str
    context_window: int
    max_output: int
    efforts: tuple[str, ...] = ("off",)
    default_effort: str = "off"
    thinking: ThinkingStyle = "none"
    prices: Prices | None = None
    tier: PriceTier | None = None
    aliases: tuple[str, ...] = ()
    supports_images: bool = True
    supports_tools: bool = True
    server_tools: tuple[str, ...] = ()
    # Budget-style thinking: tokens per effort level.
    budgets: dict[str, int] = field(default_factory=dict)
    # Models created at run time for compatible servers are not in the table.
    dynamic: bool = False
    # OpenAI reasoning: the lowest ``reasoning.effort`` the model accepts; "off" is sent as this.
    reasoning_floor: str = "none"
    # Anthropic: ``thinking.display`` to request where the model's default hides the thinking text.
    thinking_display: str | None = None
    # Anthropic: the ``thinking.type`` values the model accepts (adaptive, enabled, disabled,
    # between_tools); empty = the model does not think.
    thinking_types: tuple[str, ...] = ()
    # Anthropic: whether ``output_config.effort`` is accepted (a model may think adaptively
    # without an effort parameter; then "high" only turns thinking on).
    effort_param: bool = True
    # Whether ``tool_choice`` may force a tool (any / tool); Opus 5.5 and Fable 5.x reject it.
    forced_tool_use: bool = True
    # Whether non-default temperature / top_p / top_k are accepted (Sonnet 5+ rejects them).
    sampling_params: bool = True
    # Compaction on the provider's server: Anthropic "summarize" (the on-demand ``compaction``
    # parameter) and "compact_20260112" (the threshold edit of ``context_management``), from the
    # live list's capabilities; OpenAI "compaction" (Responses ``context_management``). Empty:
    # Stoa summarises on its own (client-side). ``[models."ID"] server-compaction`` overrides.
    server_compaction: tuple[str, ...] = ()
    # Superseded by a newer model of its family: still selectable, marked in the picker.
    legacy: bool = False
    source: ModelSource = "table"
    # The page the prices come from.
    price_source: str | None = None

    @property
    def effort_range(self) -> str:
        if [e for e in self.efforts if e != "off"] == []:
            return "no reasoning"
        levels = self.efforts
        return levels[0] if len(levels) == 1 else f"{levels[0]}–{levels[-1]}"

    @property
    def can_turn_thinking_off(self) -> bool:
        return "off" in self.efforts

    def prices_for(self, prompt_tokens: int) -> Prices | None:
        if self.tier is not None and prompt_tokens > self.tier.above_input_tokens:
            return self.tier.prices
        return self.prices


# ---- deriving rules from capabilities --------------------------------------------------------

CLAUDE_BUDGETS = {"low": 4_000, "medium": 10_000, "high": 24_000, "max": 32_000}


def anthropic_efforts(thinking_types: tuple[str, ...], effort_levels: tuple[str, ...]) -> tuple[str, ...]:
    """The effort picker's levels for a Claude model: ``off`` only where thinking can be turned
    off (``disabled`` or ``between_tools``), then the effort levels the model accepts (or the
    thinking-budget levels where only manual budgets exist)."""
    levels: list[str] = []
    if not thinking_types or "disabled" in thinking_types or "between_tools" in thinking_types:
        levels.append("off")
    if "adaptive" in thinking_types:
        # Without an effort parameter, one level turns adaptive thinking on.
        levels += [e for e in EFFORT_LEVELS[1:] if e in effort_levels] or ["high"]
    elif "enabled" in thinking_types:
        levels += list(CLAUDE_BUDGETS)
    return tuple(levels) or ("off",)


def anthropic_thinking_style(thinking_types: tuple[str, ...]) -> ThinkingStyle:
    if "adaptive" in thinking_types:
        return "adaptive"
    if "enabled" in thinking_types:
        return "budget"
    return "none"


def default_effort_for(efforts: tuple[str, ...], preferred: str = "medium") -> str:
    if preferred in efforts:
        return preferred
    for level in ("medium", "high", "low", "xhigh", "max", "off"):
        if level in efforts:
            return level
    return efforts[0]


def claude_model(
    id: str,
    label: str,
    *,
    context_window: int,
    max_output: int,
    thinking_types: tuple[str, ...],
    effort_levels: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max"),
    default_effort: str = "medium",
    **rest: Any,
) -> ModelInfo:
    """A Claude entry whose efforts and thinking style follow from its thinking types."""
    efforts = anthropic_efforts(thinking_types, effort_levels)
    style = anthropic_thinking_style(thinking_types)
    return ModelInfo(
        id=id,
        provider="anthropic",
        label=label,
        context_window=context_window,
        max_output=max_output,
        efforts=efforts,
        default_effort=default_effort_for(efforts, default_effort),
        thinking=style,
        thinking_types=thinking_types,
        budgets=dict(CLAUDE_BUDGETS) if style == "budget" else {},
        server_tools=("web_search",),
        price_source=rest.pop("price_source", ANTHROPIC_PRICING),
        **rest,
    )


def openai_model(
    id: str,
    label: str,
    *,
    context_window: int,
    max_output: int = 128_000,
    levels: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max"),
    floor: str = "none",
    default_effort: str = "medium",
    **rest: Any,
) -> ModelInfo:
    """An OpenAI reasoning entry: ``off`` is sent as ``floor``, the lowest effort it accepts."""
    efforts = ("off", *levels)
    return ModelInfo(
        id=id,
        provider="openai",
        label=label,
        context_window=context_window,
        max_output=max_output,
        efforts=efforts,
        default_effort=default_effort_for(efforts, default_effort),
        thinking="openai_reasoning",
        reasoning_floor=floor,
        server_tools=("web_search",),
        # Every OpenAI reasoning model of the table takes Responses compaction.
        server_compaction=rest.pop("server_compaction", ("compaction",)),
        price_source=rest.pop("price_source", OPENAI_PRICING),
        **rest,
    )


def _openai_long(prices: Prices) -> Prices:
    """OpenAI's long-context rates (prompt over 272K): input and cache x2, output x1.5."""
    def double(value: float | None) -> float | None:
        return None if value is None else value * 2

    return Prices(
        input=prices.input * 2,
        output=prices.output * 1.5,
        cache_read=double(prices.cache_read),
        cache_write=double(prices.cache_write),
    )


def _openai_tiered(prices: Prices) -> dict[str, Any]:
    return {"prices": prices, "tier": PriceTier(272_000, _openai_long(prices))}


# ---- the built-in table ----------------------------------------------------------------------
# Anthropic: https://platform.claude.com/docs/en/about-claude/pricing and each model's overview
# page (https://platform.claude.com/docs/en/models/<model>/overview); thinking rules from the
# same pages and the SDK's ThinkingTypes. OpenAI: https://developers.openai.com/api/docs/pricing
# and https://developers.openai.com/api/docs/models/<id>.

_ALWAYS_ON = ("adaptive",)  # Opus 5.5, Fable 5.x: thinking cannot be turned off
_MW = 1_000_000

MODELS: tuple[ModelInfo, ...] = (
    # -- Anthropic, current --
    claude_model(
        "claude-fable-5-2", "Claude Fable 5.2", context_window=_MW, max_output=128_000,
        thinking_types=_ALWAYS_ON, default_effort="high", forced_tool_use=False, sampling_params=False,
        thinking_display="summarized", aliases=("fable",),
        # https://platform.claude.com/docs/en/about-claude/pricing
        prices=Prices(input=8.0, output=40.0, cache_read=0.20, cache_write=10.0, cache_write_1h=16.0),
    ),
    claude_model(
        "claude-opus-5-5", "Claude Opus 5.5", context_window=_MW, max_output=128_000,
        thinking_types=_ALWAYS_ON, default_effort="medium", forced_tool_use=False, sampling_params=False,
        thinking_display="summarized", aliases=("opus",),
        # https://platform.claude.com/docs/en/models/opus-5-5/overview
        prices=Prices(input=4.0, output=20.0, cache_read=0.20, cache_write=5.0, cache_write_1h=8.0),
        price_source="https://platform.claude.com/docs/en/models/opus-5-5/overview",
    ),
    claude_model(
        # Thinking is turned off with between_tools; forced tool use and manual budgets are rejected.
        "claude-sonnet-5-5", "Claude Sonnet 5.5", context_window=_MW, max_output=128_000,
        thinking_types=("adaptive", "between_tools"), default_effort="high", forced_tool_use=False,
        sampling_params=False, thinking_display="summarized", aliases=("sonnet", "claude"),
        # https://platform.claude.com/docs/en/about-claude/pricing (cache reads cut to $0.10 on 2026-10-07)
        prices=Prices(input=2.0, output=10.0, cache_read=0.10, cache_write=2.50, cache_write_1h=4.0),
    ),
    claude_model(
        "claude-haiku-5-5", "Claude Haiku 5.5", context_window=_MW, max_output=128_000,
        thinking_types=("adaptive", "disabled"), default_effort="medium", thinking_display="summarized",
        aliases=("haiku",),
        # https://platform.claude.com/docs/en/models/haiku-5-5/overview: prompts over 100,000 tokens cost 5x.
        prices=Prices(input=0.10, output=0.50, cache_read=0.01, cache_write=0.125, cache_write_1h=0.20),
        tier=PriceTier(100_000, Prices(input=0.50, output=2.50, cache_read=0.05, cache_write=0.625, cache_write_1h=1.0)),
        price_source="https://platform.claude.com/docs/en/models/haiku-5-5/overview",
    ),
    # -- Anthropic, legacy --
    claude_model(
        "claude-fable-5-1", "Claude Fable 5.1", context_window=_MW, max_output=128_000,
        thinking_types=_ALWAYS_ON, default_effort="high", forced_tool_use=False, sampling_params=False,
        thinking_display="summarized", legacy=True,
        prices=Prices(input=10.0, output=50.0, cache_read=0.25, cache_write=12.50, cache_write_1h=20.0),
    ),
    claude_model(
        "claude-fable-5", "Claude Fable 5", context_window=_MW, max_output=128_000,
        thinking_types=_ALWAYS_ON, default_effort="high", sampling_params=False,
        thinking_display="summarized", legacy=True,
        prices=Prices(input=10.0, output=50.0, cache_read=1.0, cache_write=12.50, cache_write_1h=20.0),
    ),
    claude_model(
        "claude-opus-5", "Claude Opus 5", context_window=_MW, max_output=128_000,
        thinking_types=("adaptive", "disabled"), default_effort="high", thinking_display="summarized", legacy=True,
        prices=Prices(input=5.0, output=25.0, cache_read=0.50, cache_write=6.25, cache_write_1h=10.0),
    ),
    claude_model(
        # Manual extended thinking and non-default sampling parameters return 400.
        "claude-sonnet-5", "Claude Sonnet 5", context_window=_MW, max_output=128_000,
        thinking_types=("adaptive", "disabled"), default_effort="high", sampling_params=False, legacy=True,
        prices=Prices(input=2.0, output=10.0, cache_read=0.20, cache_write=2.50, cache_write_1h=4.0),
    ),
    claude_model(
        "claude-opus-4-8", "Claude Opus 4.8", context_window=_MW, max_output=128_000,
        thinking_types=("adaptive", "disabled"), default_effort="high", thinking_display="summarized", legacy=True,
        prices=Prices(input=5.0, output=25.0, cache_read=0.50, cache_write=6.25, cache_write_1h=10.0),
    ),
    claude_model(
        "claude-opus-4-7", "Claude Opus 4.7", context_window=_MW, max_output=128_000,
        thinking_types=("adaptive", "disabled"), default_effort="high", thinking_display="summarized", legacy=True,
        prices=Prices(input=5.0, output=25.0, cache_read=0.50, cache_write=6.25, cache_write_1h=10.0),
    ),
    claude_model(
        "claude-sonnet-4-6", "Claude Sonnet 4.6", context_window=_MW, max_output=64_000,
        thinking_types=("adaptive", "enabled", "disabled"), effort_levels=("low", "medium", "high", "max"),
        default_effort="medium", legacy=True,
        prices=Prices(input=3.0, output=15.0, cache_read=0.30, cache_write=3.75, cache_write_1h=6.0),
    ),
    claude_model(
        "claude-haiku-4-5", "Claude Haiku 4.5", context_window=200_000, max_output=64_000,
        thinking_types=("enabled", "disabled"), effort_levels=(), default_effort="off", legacy=True,
        prices=Prices(input=1.0, output=5.0, cache_read=0.10, cache_write=1.25, cache_write_1h=2.0),
    ),
    # -- OpenAI, current --
    openai_model(
        "gpt-6.2-astra", "GPT-6.2 Astra", context_window=1_050_000, floor="low", aliases=("astra",),
        # https://developers.openai.com/api/docs/models/gpt-6.2-astra: cached input and cache-write
        # prices were not found, so they stay unknown.
        **_openai_tiered(Prices(input=8.0, output=40.0)),
        price_source="https://developers.openai.com/api/docs/models/gpt-6.2-astra",
    ),
    openai_model(
        # The API rejects reasoning effort none.
        "gpt-6.2-sol", "GPT-6.2 Sol", context_window=1_050_000, floor="low", aliases=("gpt", "sol", "gpt6"),
        **_openai_tiered(Prices(input=2.0, output=10.0, cache_read=0.10, cache_write=2.50)),
        price_source="https://developers.openai.com/api/docs/models/gpt-6.2-sol",
    ),
    openai_model(
        "gpt-6-luna", "GPT-6 Luna", context_window=1_050_000, floor="none", aliases=("luna",),
        **_openai_tiered(Prices(input=0.10, output=0.50, cache_read=0.01, cache_write=0.125)),
        price_source="https://developers.openai.com/api/docs/models/gpt-6-luna",
    ),
    # -- OpenAI, legacy --
    openai_model(
        # No none / minimal: "off" is sent as low.
        "gpt-6.1-sol", "GPT-6.1 Sol", context_window=1_050_000, floor="low", legacy=True,
        **_openai_tiered(Prices(input=2.0, output=10.0, cache_read=0.10, cache_write=2.50)),
        price_source="https://developers.openai.com/api/docs/models/gpt-6.1-sol",
    ),
    openai_model(
        "gpt-6-astra", "GPT-6 Astra", context_window=1_050_000, floor="low", legacy=True,
        **_openai_tiered(Prices(input=10.0, output=50.0, cache_read=1.0, cache_write=12.50)),
        price_source="https://developers.openai.com/api/docs/models/gpt-6-astra",
    ),
    openai_model(
        "gpt-6-sol", "GPT-6 Sol", context_window=1_050_000, floor="none", legacy=True,
        **_openai_tiered(Prices(input=2.0, output=10.0, cache_read=0.20, cache_write=2.50)),
        price_source="https://developers.openai.com/api/docs/models/gpt-6-sol",
    ),
    openai_model(
        # Announced prices; cached-input prices were not published.
        "gpt-5.6-sol", "GPT-5.6 Sol", context_window=1_050_000, levels=("low", "medium", "high", "xhigh"),
        legacy=True, prices=Prices(input=5.0, output=30.0),
    ),
    openai_model(
        "gpt-5.6-terra", "GPT-5.6 Terra", context_window=1_050_000, levels=("low", "medium", "high", "xhigh"),
        legacy=True, prices=Prices(input=2.5, output=15.0),
    ),
    openai_model(
        "gpt-5.6-luna", "GPT-5.6 Luna", context_window=1_050_000, levels=("low", "medium", "high", "xhigh"),
        legacy=True, prices=Prices(input=1.0, output=6.0),
    ),
    # GPT-5.x: cache writes were free.
    openai_model(
        "gpt-5.5", "GPT-5.5", context_window=1_050_000, levels=("low", "medium", "high", "xhigh"),
        legacy=True, aliases=("gpt5",), prices=Prices(input=5.0, output=30.0, cache_read=0.50, cache_write=0.0),
    ),
    openai_model(
        "gpt-5.4", "GPT-5.4", context_window=1_050_000, levels=("low", "medium", "high", "xhigh"), legacy=True,
        prices=Prices(input=2.5, output=15.0, cache_read=0.25, cache_write=0.0),
        tier=PriceTier(272_000, Prices(input=5.0, output=22.5, cache_read=0.50, cache_write=0.0)),
    ),
    openai_model(
        "gpt-5.4-mini", "GPT-5.4 mini", context_window=400_000, levels=("low", "medium", "high", "xhigh"),
        legacy=True, aliases=("mini",), prices=Prices(input=0.75, output=4.5, cache_read=0.075, cache_write=0.0),
    ),
    openai_model(
        # The codex models accept low..xhigh only (no "none").
        "gpt-5.3-codex", "GPT-5.3 Codex", context_window=400_000, levels=("low", "medium", "high", "xhigh"),
        floor="low", legacy=True, aliases=("codex",), prices=Prices(input=1.75, output=14.0, cache_read=0.175, cache_write=0.0),
    ),
)

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_OPENAI_MODEL = "gpt-6.2-sol"

_BY_NAME: dict[str, ModelInfo] = {}
for _m in MODELS:
    _BY_NAME[_m.id] = _m
    for _a in _m.aliases:
        _BY_NAME[_a] = _m


class UnknownModelError(ValueError):
    def __init__(
        self,
        name: str,
        provider: str | None = None,
        *,
        available: list[str] | None = None,
        reason: str | None = None,
    ) -> None:
        if available is None:
            choices = ", ".join(m.id for m in MODELS if provider in (None, m.provider) and not m.legacy)
            aliases = ", ".join(
                f"{a}={m.id}" for m in MODELS for a in m.aliases if provider in (None, m.provider) and not m.legacy
            )
            message = f"unknown model {name!r}. Supported models: {choices} (aliases: {aliases})"
        else:
            where = f"{provider} " if provider else ""
            message = (
                f"{reason or f'unknown model {name!r}'}: the {where}model list does not offer it. "
                f"Available: {', '.join(available) or '(none)'}"
            )
        super().__init__(message)
        self.name = name
        self.provider = provider
        self.available = available


class UnsupportedEffortError(ValueError):
    def __init__(self, model: ModelInfo, effort: str) -> None:
        valid = ", ".join(model.efforts)
        why = ""
        if effort == "off" and model.thinking_types and "off" not in model.efforts:
            why = " (its thinking cannot be turned off)"
        super().__init__(f"effort {effort!r} is not supported by {model.id}{why}; valid levels: {valid}")


def find_model(name: str) -> ModelInfo | None:
    """A built-in table entry by id or alias (the live catalogue: ``stoa.core.catalog``)."""
    return _BY_NAME.get(name) or _BY_NAME.get(name.lower())


def resolve_model(name: str, provider: str | None = None) -> ModelInfo:
    """Resolve an id or alias in the built-in table. On compatible providers any id is accepted
    as a dynamic model. (``stoa.core.catalog.Catalog.resolve`` also knows live and config ids.)"""
    if provider in COMPATIBLE_PROVIDERS:
        known = find_model(name)
        if known is not None and known.provider == provider:
            return known
        return compatible_model(name, provider or "openai-compatible")
    model = find_model(name)
    if model is None or (provider is not None and model.provider != provider):
        raise UnknownModelError(name, provider)
    return model


def compatible_model(model_id: str, provider: str, *, context_window: int = 128_000) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        provider=provider,
        label=model_id,
        context_window=context_window,
        max_output=16_384,
        efforts=("off",),
        default_effort="off",
        thinking="none",
        prices=None,
        dynamic=True,
        source="local",
    )


def models_for(provider: str) -> list[ModelInfo]:
    return [m for m in MODELS if m.provider == provider]


def with_changes(model: ModelInfo, **changes: Any) -> ModelInfo:
    return replace(model, **changes)


def validate_effort(model: ModelInfo, effort: str | None) -> str:
    """Return the effective effort level, or raise ``UnsupportedEffortError``."""
    if effort is None:
        return model.default_effort
    effort = effort.lower()
    if effort not in model.efforts:
        raise UnsupportedEffortError(model, effort)
    return effort


def next_effort(model: ModelInfo, effort: str) -> str:
    levels = model.efforts
    if effort not in levels:
        return model.default_effort
    return levels[(levels.index(effort) + 1) % len(levels)]


def thinking_off(model: ModelInfo) -> dict[str, Any] | None:
    """The ``thinking`` field that turns a Claude model's thinking off, or None where it cannot."""
    if "disabled" in model.thinking_types or not model.thinking_types:
        return {"type": "disabled"}
    if "between_tools" in model.thinking_types:
        return {"type": "between_tools"}
    return None


def effort_wire_options(model: ModelInfo, effort: str, max_tokens: int) -> tuple[dict[str, Any], int]:
    """Map an effort level to provider request fields, and the max_tokens to send with them.

    Anthropic adaptive models: ``thinking={"type": "adaptive"}`` (plus ``display: "summarized"``
    where the model would otherwise omit the thinking text) and ``output_config.effort``;
    ``off`` sends ``disabled`` (or ``between_tools`` where only that turns thinking off). Budget
    models: ``thinking`` with ``budget_tokens`` and max_tokens raised above the budget. OpenAI
    reasoning models: ``reasoning={"effort": ..., "summary": "auto"}``; ``off`` maps to the
    lowest effort the model allows, with summaries suppressed. max_tokens never exceeds the
    model's output limit (the APIs answer 400).
    """
    effort = validate_effort(model, effort)
    if not model.dynamic or model.source == "config":
        max_tokens = min(max_tokens, model.max_output)
    if model.thinking in ("adaptive", "budget") and effort == "off":
        off = thinking_off(model)
        return ({"thinking": off} if off else {}), max_tokens
    if model.thinking == "adaptive":
        thinking: dict[str, Any] = {"type": "adaptive"}
        if model.thinking_display:
            thinking["display"] = model.thinking_display
        if not model.effort_param:
            return {"thinking": thinking}, max_tokens
        return {"thinking": thinking, "output_config": {"effort": effort}}, max_tokens
    if model.thinking == "budget":
        budget = model.budgets.get(effort) or CLAUDE_BUDGETS.get(effort, 8_000)
        raised = min(max(max_tokens, budget + 8_192), model.max_output)
        budget = max(1_024, min(budget, raised - 1_024))
        thinking = {"type": "enabled", "budget_tokens": budget}
        if model.thinking_display:
            thinking["display"] = model.thinking_display
        return {"thinking": thinking}, raised
    if model.thinking == "openai_reasoning":
        if effort == "off":
            # An empty floor (a model nobody described): no reasoning field at all.
            return ({"reasoning": {"effort": model.reasoning_floor}} if model.reasoning_floor else {}), max_tokens
        return {"reasoning": {"effort": effort, "summary": "auto"}}, max_tokens
    return {}, max_tokens


def default_max_tokens(model: ModelInfo) -> int:
    return min(model.max_output, 32_000)


_EFFORT_PARAMS = ("thinking", "budget_tokens", "output_config.effort", "reasoning.effort", "reasoning_effort", "effort")
_MAX_TOKEN_PARAMS = ("max_tokens", "max_output_tokens", "max_completion_tokens")
_SAMPLING_PARAMS = ("temperature", "top_p", "top_k")


def setting_hint(detail: str, model: ModelInfo, effort: str, max_tokens: int | None) -> str | None:
    """For a 400 whose message names a request parameter: which Stoa setting produced that
    parameter and how to change it. None when the message names none Stoa controls."""
    text = detail.lower()
    if any(p in text for p in _MAX_TOKEN_PARAMS):
        now = f"--max-tokens {max_tokens}" if max_tokens else f"the default of {default_max_tokens(model):,}"
        return (
            f"the output-token limit caused it ({now}; {model.id} is listed with {model.max_output:,}): "
            f"pass a smaller --max-tokens N, set max-tokens in config, or set max-output in "
            f'[models."{model.id}"]'
        )
    if any(p in text for p in _EFFORT_PARAMS):
        valid = ", ".join(model.efforts)
        return (
            f"the reasoning effort caused it (now {effort!r} on {model.id}): choose another with /effort "
            f"or -e LEVEL (offered: {valid}); set efforts in [models.\"{model.id}\"] if the model accepts others"
        )
    if "tool_choice" in text:
        return f"{model.id} rejects forced tool use (tool_choice); this is a Stoa bug, please report it"
    if any(p in text for p in _SAMPLING_PARAMS):
        return (
            f"{model.id} accepts only default sampling parameters (temperature, top_p, top_k): "
            "remove them from your configuration or --set options"
        )
    return None
