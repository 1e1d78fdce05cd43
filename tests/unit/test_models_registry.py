"""Every registry model's effort levels map to wire fields its provider's SDK accepts.

The request shapes come from the installed SDKs' own request TypedDicts (anthropic
``MessageCreateParamsNonStreaming`` / ``ThinkingConfigParam`` / ``OutputConfigParam``, openai
``ResponseCreateParamsNonStreaming`` / ``Reasoning`` / ``ReasoningEffort``), validated strictly
(no extra keys, literal values only), so a level that the API would reject fails here.
"""

from __future__ import annotations

import typing
from typing import Any, Optional

import pytest
from pydantic import ConfigDict, TypeAdapter, ValidationError

from stoa.core.models import (
    ALL_PROVIDERS,
    DEFAULT_MODEL,
    DEFAULT_OPENAI_MODEL,
    EFFORT_LEVELS,
    MODELS,
    ModelInfo,
    compatible_model,
    default_max_tokens,
    effort_wire_options,
    resolve_model,
    thinking_off,
)

STRICT = ConfigDict(extra="forbid", strict=True)


def _literal_values(tp: Any) -> set[str]:
    """All string literals inside a (possibly Optional / nested) typing construct."""
    out: set[str] = set()
    if typing.get_origin(tp) is typing.Literal:
        return {v for v in typing.get_args(tp) if isinstance(v, str)}
    for arg in typing.get_args(tp):
        out |= _literal_values(arg)
    return out


@pytest.fixture(scope="module")
def anthropic_types() -> dict[str, Any]:
    from anthropic.types import OutputConfigParam, ThinkingConfigParam
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming

    return {
        "request": TypeAdapter(Optional[MessageCreateParamsNonStreaming], config=STRICT),  # noqa: UP045
        "thinking": TypeAdapter(Optional[ThinkingConfigParam], config=STRICT),  # noqa: UP045
        "output_config": TypeAdapter(Optional[OutputConfigParam], config=STRICT),  # noqa: UP045
        "efforts": _literal_values(typing.get_type_hints(OutputConfigParam)["effort"]),
    }


@pytest.fixture(scope="module")
def openai_types() -> dict[str, Any]:
    from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming
    from openai.types.shared import ReasoningEffort
    from openai.types.shared_params import Reasoning

    return {
        "request": TypeAdapter(Optional[ResponseCreateParamsNonStreaming], config=STRICT),  # noqa: UP045
        "reasoning": TypeAdapter(Optional[Reasoning], config=STRICT),  # noqa: UP045
        "efforts": _literal_values(ReasoningEffort),
        "summaries": _literal_values(typing.get_type_hints(Reasoning)["summary"]),
    }


ANTHROPIC = [m for m in MODELS if m.provider == "anthropic"]
OPENAI = [m for m in MODELS if m.provider == "openai"]
# Default, a small --max-tokens, and one above every model's output limit.
MAX_TOKENS_CASES = (None, 1_000, 500_000)


def _cases(models: list[ModelInfo]) -> list[tuple[ModelInfo, str, int | None]]:
    return [(m, e, t) for m in models for e in m.efforts for t in MAX_TOKENS_CASES]


def _case_id(case: tuple[ModelInfo, str, int | None]) -> str:
    model, effort, tokens = case
    return f"{model.id}-{effort}-{tokens or 'default'}"


def test_the_sdk_literal_sets_were_found(anthropic_types: dict[str, Any], openai_types: dict[str, Any]) -> None:
    # Guards the introspection itself: an empty set would make the checks below vacuous.
    assert {"low", "medium", "high", "max"} <= anthropic_types["efforts"]
    assert {"none", "low", "medium", "high", "xhigh"} <= openai_types["efforts"]
    assert "auto" in openai_types["summaries"]


def test_the_strict_validators_reject_bad_fields(anthropic_types: dict[str, Any], openai_types: dict[str, Any]) -> None:
    # The same validators used below must fail on wrong values, or the tests prove nothing.
    with pytest.raises(ValidationError):
        anthropic_types["output_config"].validate_python({"effort": "off"})
    with pytest.raises(ValidationError):
        anthropic_types["thinking"].validate_python({"type": "enabled"})  # no budget
    with pytest.raises(ValidationError):
        anthropic_types["thinking"].validate_python({"type": "adaptive", "budget_tokens": 1024})
    with pytest.raises(ValidationError):
        openai_types["reasoning"].validate_python({"effort": "off"})
    with pytest.raises(ValidationError):
        openai_types["reasoning"].validate_python({"effort": "low", "summary": "never"})


@pytest.mark.parametrize("case", _cases(ANTHROPIC), ids=_case_id)
def test_anthropic_effort_wire_fields(case: tuple[ModelInfo, str, int | None], anthropic_types: dict[str, Any]) -> None:
    model, effort, requested = case
    wire, max_tokens = effort_wire_options(model, effort, requested or default_max_tokens(model))
    assert set(wire) <= {"thinking", "output_config"}
    anthropic_types["thinking"].validate_python(wire["thinking"])
    if "output_config" in wire:
        anthropic_types["output_config"].validate_python(wire["output_config"])
    request = {
        "model": model.id,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "hi"}],
        **wire,
    }
    anthropic_types["request"].validate_python(request)
    assert 0 < max_tokens <= model.max_output
    thinking = wire["thinking"]
    if effort == "off":
        # Off is offered only where thinking can be turned off: disabled, else between_tools.
        assert thinking == thinking_off(model) and "output_config" not in wire
        assert thinking["type"] in model.thinking_types
    elif model.thinking == "adaptive":
        # Models that omit the thinking text unless asked (Opus 4.7+, the 5.x line) get
        # display "summarized", so progress stays visible between tool calls.
        expected = {"type": "adaptive", "display": "summarized"} if model.thinking_display else {"type": "adaptive"}
        assert thinking == expected
        assert "adaptive" in model.thinking_types
        assert wire["output_config"] == {"effort": effort}
    else:
        assert model.thinking == "budget"
        assert thinking["type"] == "enabled" and "output_config" not in wire
        # The API's rules: budget >= 1024 and strictly below max_tokens.
        assert 1_024 <= thinking["budget_tokens"] < max_tokens
        assert thinking["budget_tokens"] <= model.budgets[effort]


@pytest.mark.parametrize("case", _cases(OPENAI), ids=_case_id)
def test_openai_effort_wire_fields(case: tuple[ModelInfo, str, int | None], openai_types: dict[str, Any]) -> None:
    model, effort, requested = case
    wire, max_tokens = effort_wire_options(model, effort, requested or default_max_tokens(model))
    assert set(wire) == {"reasoning"}
    reasoning = wire["reasoning"]
    openai_types["reasoning"].validate_python(reasoning)
    openai_types["request"].validate_python(
        {"model": model.id, "input": "hi", "max_output_tokens": max_tokens, **wire}
    )
    assert reasoning["effort"] in openai_types["efforts"]
    if effort == "off":
        # The lowest effort the model allows, and no reasoning summaries.
        assert reasoning == {"effort": model.reasoning_floor}
        assert model.reasoning_floor in openai_types["efforts"]
    else:
        assert reasoning == {"effort": effort, "summary": "auto"}
    assert max_tokens == min(requested or default_max_tokens(model), model.max_output)


def test_budget_levels_increase(anthropic_types: dict[str, Any]) -> None:
    for model in (m for m in ANTHROPIC if m.thinking == "budget"):
        budgets = [
            effort_wire_options(model, e, default_max_tokens(model))[0]["thinking"]["budget_tokens"]
            for e in model.efforts
            if e != "off"
        ]
        assert budgets == sorted(budgets) and len(set(budgets)) == len(budgets)


@pytest.mark.parametrize("provider", ["ollama", "lmstudio", "vllm", "openrouter", "openai-compatible"])
def test_compatible_models_send_no_reasoning_fields(provider: str) -> None:
    model = compatible_model("some-model", provider)
    assert model.efforts == ("off",)
    assert effort_wire_options(model, "off", 4_000) == ({}, 4_000)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_entry_is_consistent(model: ModelInfo, anthropic_types: dict[str, Any], openai_types: dict[str, Any]) -> None:
    assert model.provider in ALL_PROVIDERS
    if model.provider == "anthropic":
        # "off" exactly where thinking can be turned off (Opus 5.5 and Fable 5.x cannot).
        assert ("off" in model.efforts) == (thinking_off(model) is not None)
    else:
        assert model.efforts[0] == "off" or model.thinking == "none"
    assert list(model.efforts) == [e for e in EFFORT_LEVELS if e in model.efforts], "levels in canonical order"
    assert model.default_effort in model.efforts
    assert 0 < model.max_output < model.context_window
    assert model.prices is not None and model.prices.input > 0 and model.prices.output > 0
    assert model.price_source and model.price_source.startswith("https://"), "every price cites its page"
    levels = set(model.efforts) - {"off"}
    if model.thinking == "adaptive":
        assert levels <= anthropic_types["efforts"]
    elif model.thinking == "openai_reasoning":
        assert levels <= openai_types["efforts"]
    elif model.thinking == "budget":
        assert levels == set(model.budgets)
    if model.tier is not None:
        assert model.tier.prices.input >= model.prices.input
    assert model.effort_range != ""


def test_ids_and_aliases_are_unique_and_resolve() -> None:
    names: list[str] = []
    for model in MODELS:
        names += [model.id, *model.aliases]
        for name in (model.id, *model.aliases):
            assert resolve_model(name) is model
            assert resolve_model(name.upper()) is model
    assert len(names) == len(set(names))
    assert resolve_model(DEFAULT_MODEL).provider == "anthropic"
    assert resolve_model(DEFAULT_OPENAI_MODEL).provider == "openai"


def test_off_maps_to_each_models_floor() -> None:
    # GPT-5.x accept reasoning.effort "none"; the codex models start at "low".
    assert effort_wire_options(resolve_model("gpt-5.5"), "off", 1_000)[0] == {"reasoning": {"effort": "none"}}
    assert effort_wire_options(resolve_model("codex"), "off", 1_000)[0] == {"reasoning": {"effort": "low"}}
