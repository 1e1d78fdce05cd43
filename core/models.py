"""The model registry: the one table the CLI, the pickers, the providers and cost all read.

Each entry says which provider serves the model, its context window and output limit, the
reasoning-effort levels it accepts and how each maps to wire fields, and its prices per
million tokens. Adding a model is one entry here plus a test.

Prices are list prices in USD per million tokens as published by the providers; tiered
(long-context) prices apply to a whole request once its prompt exceeds the tier threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EFFORT_LEVELS: tuple[str, ...] = ("off", "low", "medium", "high", "xhigh", "max")

ThinkingStyle = Literal["adaptive", "budget", "openai_reasoning", "none"]

CLOUD_PROVIDERS: tuple[str, ...] = ("anthropic", "openai")
COMPATIBLE_PROVIDERS: tuple[str, ...] = ("ollama", "lmstudio", "vllm", "openrouter", "openai-compatible")
ALL_PROVIDERS: tuple[str, ...] = CLOUD_PROVIDERS + COMPATIBLE_PROVIDERS


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write: float


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
    # Anthropic: ``thinking.display`` to request when the model's default would hide the thinking
    # text (Opus 4.7 defaults to "omitted": empty thinking blocks with only a signature).
    thinking_display: str | None = None

    @property
    def effort_range(self) -> str:
        levels = [e for e in self.efforts if e != "off"]
        if not levels:
            return "no reasoning"
        return levels[0] if len(levels) == 1 else f"{levels[0]}–{levels[-1]}"

    def prices_for(self, prompt_tokens: int) -> Prices | None:
        if self.tier is not None and prompt_tokens > self.tier.above_input_tokens:
            return self.tier.prices
        return self.prices


_CLAUDE_ADAPTIVE = ("off", "low", "medium", "high", "xhigh", "max")
_CLAUDE_BUDGETS = {"low": 4_000, "medium": 10_000, "high": 24_000, "max": 32_000}

MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        id="claude-opus-4-7",
        provider="anthropic",
        label="Claude Opus 4.7",
        context_window=1_000_000,
        max_output=128_000,
        efforts=_CLAUDE_ADAPTIVE,
        default_effort="high",
        thinking="adaptive",
        prices=Prices(input=5.0, output=25.0, cache_read=0.50, cache_write=6.25),
        aliases=("opus",),
        server_tools=("web_search",),
        thinking_display="summarized",
    ),
    ModelInfo(
        id="claude-sonnet-4-6",
        provider="anthropic",
        label="Claude Sonnet 4.6",
        context_window=1_000_000,
        max_output=64_000,
        efforts=("off", "low", "medium", "high", "max"),
        default_effort="medium",
        thinking="adaptive",
        # One price across the whole 1M window (the long-context premium ended with the 1M GA).
        prices=Prices(input=3.0, output=15.0, cache_read=0.30, cache_write=3.75),
        aliases=("sonnet", "claude"),
        server_tools=("web_search",),
    ),
    ModelInfo(
        id="claude-haiku-4-5",
        provider="anthropic",
        label="Claude Haiku 4.5",
        context_window=200_000,
        max_output=64_000,
        efforts=("off", "low", "medium", "high", "max"),
        default_effort="off",
        thinking="budget",
        budgets=_CLAUDE_BUDGETS,
        prices=Prices(input=1.0, output=5.0, cache_read=0.10, cache_write=1.25),
        aliases=("haiku",),
        server_tools=("web_search",),
    ),
    ModelInfo(
        id="gpt-5.5",
        provider="openai",
        label="GPT-5.5",
        context_window=1_050_000,
        max_output=128_000,
        efforts=("off", "low", "medium", "high", "xhigh"),
        default_effort="medium",
        thinking="openai_reasoning",
        prices=Prices(input=5.0, output=30.0, cache_read=0.50, cache_write=0.0),
        aliases=("gpt", "gpt5"),
        server_tools=("web_search",),
    ),
    ModelInfo(
        id="gpt-5.4",
        provider="openai",
        label="GPT-5.4",
        context_window=1_050_000,
        max_output=128_000,
        efforts=("off", "low", "medium", "high", "xhigh"),
        default_effort="medium",
        thinking="openai_reasoning",
        prices=Prices(input=2.5, output=15.0, cache_read=0.25, cache_write=0.0),
        tier=PriceTier(272_000, Prices(input=5.0, output=22.5, cache_read=0.50, cache_write=0.0)),
        server_tools=("web_search",),
    ),
    ModelInfo(
        id="gpt-5.4-mini",
        provider="openai",
        label="GPT-5.4 mini",
        context_window=400_000,
        max_output=128_000,
        efforts=("off", "low", "medium", "high", "xhigh"),
        default_effort="medium",
        thinking="openai_reasoning",
        prices=Prices(input=0.75, output=4.5, cache_read=0.075, cache_write=0.0),
        aliases=("mini",),
        server_tools=("web_search",),
    ),
    ModelInfo(
        id="gpt-5.3-codex",
        provider="openai",
        label="GPT-5.3 Codex",
        context_window=400_000,
        max_output=128_000,
        efforts=("off", "low", "medium", "high", "xhigh"),
        default_effort="medium",
        thinking="openai_reasoning",
        prices=Prices(input=1.75, output=14.0, cache_read=0.175, cache_write=0.0),
        aliases=("codex",),
        server_tools=("web_search",),
        # The codex models accept low..xhigh only (no "none").
        reasoning_floor="low",
    ),
)

DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_OPENAI_MODEL = "gpt-5.5"

# The lowest reasoning effort each OpenAI wire value set allows; "off" maps here.
_OPENAI_LOWEST_EFFORT = "none"

_BY_NAME: dict[str, ModelInfo] = {}
for _m in MODELS:
    _BY_NAME[_m.id] = _m
    for _a in _m.aliases:
        _BY_NAME[_a] = _m


class UnknownModelError(ValueError):
    def __init__(self, name: str, provider: str | None = None) -> None:
        choices = ", ".join(m.id for m in MODELS if provider in (None, m.provider))
        aliases = ", ".join(
            f"{a}={m.id}" for m in MODELS for a in m.aliases if provider in (None, m.provider)
        )
        super().__init__(f"unknown model {name!r}. Supported models: {choices} (aliases: {aliases})")
        self.name = name


class UnsupportedEffortError(ValueError):
    def __init__(self, model: ModelInfo, effort: str) -> None:
        valid = ", ".join(model.efforts)
        super().__init__(f"effort {effort!r} is not supported by {model.id}; valid levels: {valid}")


def find_model(name: str) -> ModelInfo | None:
    return _BY_NAME.get(name) or _BY_NAME.get(name.lower())


def resolve_model(name: str, provider: str | None = None) -> ModelInfo:
    """Resolve an id or alias. On compatible providers any id is accepted as a dynamic model."""
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
    )


def models_for(provider: str) -> list[ModelInfo]:
    return [m for m in MODELS if m.provider == provider]


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


def effort_wire_options(model: ModelInfo, effort: str, max_tokens: int) -> tuple[dict[str, Any], int]:
    """Map an effort level to provider request fields, and the max_tokens to send with them.

    Anthropic adaptive models: ``thinking={"type": "adaptive"}`` (plus ``display: "summarized"``
    where the model would otherwise omit the thinking text) and ``output_config.effort``;
    ``off`` sends ``thinking={"type": "disabled"}``. Anthropic budget models: ``thinking`` with
    ``budget_tokens`` and max_tokens raised above the budget. OpenAI reasoning models:
    ``reasoning={"effort": ..., "summary": "auto"}``; ``off`` maps to the lowest effort the
    model allows, with summaries suppressed. A max_tokens above a registry model's output limit is
    clamped to it.
    """
    effort = validate_effort(model, effort)
    if not model.dynamic:
        # The APIs reject a max_tokens above the model's output limit (400), so clamp it.
        max_tokens = min(max_tokens, model.max_output)
    if model.thinking == "adaptive":
        if effort == "off":
            return {"thinking": {"type": "disabled"}}, max_tokens
        thinking: dict[str, Any] = {"type": "adaptive"}
        if model.thinking_display:
            thinking["display"] = model.thinking_display
        return {"thinking": thinking, "output_config": {"effort": effort}}, max_tokens
    if model.thinking == "budget":
        if effort == "off":
            return {"thinking": {"type": "disabled"}}, max_tokens
        budget = model.budgets[effort]
        raised = min(max(max_tokens, budget + 8_192), model.max_output)
        budget = min(budget, raised - 1_024)
        return {"thinking": {"type": "enabled", "budget_tokens": budget}}, raised
    if model.thinking == "openai_reasoning":
        if effort == "off":
            return {"reasoning": {"effort": model.reasoning_floor or _OPENAI_LOWEST_EFFORT}}, max_tokens
        return {"reasoning": {"effort": effort, "summary": "auto"}}, max_tokens
    return {}, max_tokens


def default_max_tokens(model: ModelInfo) -> int:
    return min(model.max_output, 32_000)
