"""The model registry: resolution, aliases, efforts and their wire mapping."""

from __future__ import annotations

import pytest

from stoa.core.models import (
    DEFAULT_MODEL,
    MODELS,
    UnknownModelError,
    UnsupportedEffortError,
    effort_wire_options,
    next_effort,
    resolve_model,
    validate_effort,
)


def test_aliases_point_at_the_newest_model_of_each_family() -> None:
    expected = {
        "sonnet": "claude-sonnet-5-5", "opus": "claude-opus-5-5", "haiku": "claude-haiku-5-5",
        "fable": "claude-fable-5-2", "gpt": "gpt-6.2-sol", "astra": "gpt-6.2-astra", "luna": "gpt-6-luna",
    }
    for alias, model_id in expected.items():
        assert resolve_model(alias).id == model_id
        assert not resolve_model(alias).legacy
    assert DEFAULT_MODEL == "claude-sonnet-5-5"
    # Older models stay selectable, marked legacy.
    for old in ("claude-opus-4-7", "claude-sonnet-4-6", "gpt-5.5", "gpt-6.1-sol"):
        assert resolve_model(old).legacy


def test_unknown_model_lists_the_supported_ones() -> None:
    with pytest.raises(UnknownModelError) as info:
        resolve_model("gpt-2")
    assert "claude-sonnet-5-5" in str(info.value) and "gpt-6.2-sol" in str(info.value)


def test_provider_mismatch_is_refused() -> None:
    with pytest.raises(UnknownModelError):
        resolve_model("claude-sonnet-4-6", "openai")


def test_compatible_providers_accept_any_id() -> None:
    model = resolve_model("qwen3:8b", "ollama")
    assert model.dynamic and model.provider == "ollama" and model.prices is None


def test_unsupported_effort_names_the_valid_levels() -> None:
    haiku = resolve_model("claude-haiku-4-5")
    with pytest.raises(UnsupportedEffortError) as info:
        validate_effort(haiku, "xhigh")
    assert "low" in str(info.value)


@pytest.mark.parametrize("name", ["opus", "fable", "claude-fable-5-1"])
def test_off_is_refused_where_thinking_cannot_be_turned_off(name: str) -> None:
    model = resolve_model(name)
    assert "off" not in model.efforts
    with pytest.raises(UnsupportedEffortError) as info:
        validate_effort(model, "off")
    assert "cannot be turned off" in str(info.value) and "low, medium, high, xhigh, max" in str(info.value)


def test_sonnet_5_5_turns_thinking_off_with_between_tools() -> None:
    wire, _ = effort_wire_options(resolve_model("claude-sonnet-5-5"), "off", 8_000)
    assert wire == {"thinking": {"type": "between_tools"}}


def test_max_tokens_is_capped_at_the_models_maximum() -> None:
    for model in MODELS:
        assert effort_wire_options(model, model.default_effort, 10_000_000)[1] <= model.max_output


def test_openai_off_is_the_lowest_level_each_family_accepts() -> None:
    # GPT-6.2 and GPT-6.1 Sol reject none (and minimal): off is sent as low.
    for name in ("gpt-6.2-sol", "gpt-6.2-astra", "gpt-6.1-sol"):
        assert effort_wire_options(resolve_model(name), "off", 1_000)[0] == {"reasoning": {"effort": "low"}}
    assert effort_wire_options(resolve_model("luna"), "off", 1_000)[0] == {"reasoning": {"effort": "none"}}
    assert resolve_model("gpt").efforts[-1] == "max"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_every_effort_maps_to_wire_fields(model) -> None:  # type: ignore[no-untyped-def]
    for effort in model.efforts:
        wire, max_tokens = effort_wire_options(model, effort, 8_000)
        assert max_tokens <= model.max_output
        if model.provider == "anthropic":
            assert "thinking" in wire or (effort == "off" and not model.thinking_types)
            if wire["thinking"]["type"] == "enabled":
                assert wire["thinking"]["budget_tokens"] < max_tokens
        else:
            assert wire["reasoning"]["effort"]
            assert ("summary" in wire["reasoning"]) == (effort != "off")


def test_next_effort_cycles() -> None:
    model = resolve_model("claude-sonnet-4-6")
    seen = [model.efforts[0]]
    for _ in model.efforts:
        seen.append(next_effort(model, seen[-1]))
    assert seen[-1] == seen[0]
