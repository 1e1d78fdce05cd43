"""The model registry: resolution, aliases, efforts and their wire mapping."""

from __future__ import annotations

import pytest

from stoa.core.models import (
    MODELS,
    UnknownModelError,
    UnsupportedEffortError,
    effort_wire_options,
    next_effort,
    resolve_model,
    validate_effort,
)


def test_aliases_and_ids_resolve() -> None:
    assert resolve_model("sonnet").id == "claude-sonnet-4-6"
    assert resolve_model("claude-opus-4-7").provider == "anthropic"
    assert resolve_model("gpt-5.5").provider == "openai"


def test_unknown_model_lists_the_supported_ones() -> None:
    with pytest.raises(UnknownModelError) as info:
        resolve_model("gpt-2")
    assert "claude-sonnet-4-6" in str(info.value) and "gpt-5.5" in str(info.value)


def test_provider_mismatch_is_refused() -> None:
    with pytest.raises(UnknownModelError):
        resolve_model("claude-sonnet-4-6", "openai")


def test_compatible_providers_accept_any_id() -> None:
    model = resolve_model("qwen3:8b", "ollama")
    assert model.dynamic and model.provider == "ollama" and model.prices is None


def test_unsupported_effort_names_the_valid_levels() -> None:
    haiku = resolve_model("haiku")
    with pytest.raises(UnsupportedEffortError) as info:
        validate_effort(haiku, "xhigh")
    assert "low" in str(info.value)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_every_effort_maps_to_wire_fields(model) -> None:  # type: ignore[no-untyped-def]
    for effort in model.efforts:
        wire, max_tokens = effort_wire_options(model, effort, 8_000)
        assert max_tokens <= model.max_output
        if model.provider == "anthropic":
            assert "thinking" in wire
            if wire["thinking"]["type"] == "enabled":
                assert wire["thinking"]["budget_tokens"] < max_tokens
        else:
            assert wire["reasoning"]["effort"]
            assert ("summary" in wire["reasoning"]) == (effort != "off")


def test_next_effort_cycles() -> None:
    model = resolve_model("sonnet")
    seen = [model.efforts[0]]
    for _ in model.efforts:
        seen.append(next_effort(model, seen[-1]))
    assert seen[-1] == seen[0]
