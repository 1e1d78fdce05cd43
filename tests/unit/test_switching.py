"""Switching model and effort on a real Agent: validation, keys, context-window refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from stoa.core.agent.loop import Agent
from stoa.core.models import MODELS, UnknownModelError, UnsupportedEffortError, resolve_model
from stoa.core.providers.types import ImageBlock, Message, TextBlock, ToolResultBlock, ToolUseBlock
from stoa.core.switching import (
    ContextTooLargeError,
    MissingKeyForSwitchError,
    SwitchError,
    conversation_tokens,
    cycle_effort,
    divider_text,
    effort_description,
    estimate_tokens,
    lookup_model,
    switch_effort,
    switch_model,
)
from stoa.core.tools.registry import ToolRegistry


def make_agent(tmp_path: Path, model: str = "claude-sonnet-4-6", effort: str | None = None) -> Agent:
    def no_provider(_model):  # type: ignore[no-untyped-def]
        raise AssertionError("switching must not contact a provider")

    return Agent(
        provider_for=no_provider,
        model=resolve_model(model),
        effort=effort,
        tools=ToolRegistry(),
        workspace=tmp_path,
    )


def test_switch_across_providers_keeps_a_supported_effort(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "claude-sonnet-4-6", "high")
    result = switch_model(agent, "gpt-5.5")
    assert agent.model.id == "gpt-5.5" and agent.effort == "high"
    assert result.previous_model == "claude-sonnet-4-6" and result.previous_effort == "high"
    assert result.changed and result.notices == ()
    assert result.divider == "switched to gpt-5.5 (high)"


def test_unsupported_effort_falls_back_to_default_with_a_notice(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "claude-opus-4-7", "max")
    result = switch_model(agent, "gpt-5.5")
    assert agent.effort == "medium"  # gpt-5.5's default; it has no "max"
    assert "no 'max' effort" in result.notices[0] and "xhigh" in result.notices[0]


def test_explicit_effort_is_validated_against_the_target(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "claude-sonnet-4-6", "low")
    with pytest.raises(UnsupportedEffortError, match="valid levels: off, low, medium, high, max"):
        switch_model(agent, "claude-haiku-4-5", "xhigh")
    assert agent.model.id == "claude-sonnet-4-6" and agent.effort == "low"  # untouched
    switch_model(agent, "claude-haiku-4-5", "high")
    assert (agent.model.id, agent.effort) == ("claude-haiku-4-5", "high")


def test_unknown_name_lists_valid_ones_including_local(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    local = [resolve_model("qwen3:8b", "ollama")]
    with pytest.raises(UnknownModelError) as info:
        switch_model(agent, "gpt-2", local_models=local)
    message = str(info.value)
    # A GPT-looking name is checked against (and answered with) the OpenAI models.
    assert "gpt-6.2-sol" in message and "gpt=gpt-6.2-sol" in message and "ollama/qwen3:8b" in message
    assert agent.model.id == "claude-sonnet-4-6"


def test_local_models_by_name_and_provider_prefix(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    local = [resolve_model("qwen3:8b", "ollama")]
    assert switch_model(agent, "qwen3:8b", local_models=local).model.provider == "ollama"
    # On a compatible provider any name is a model of that server.
    assert switch_model(agent, "llama3.2").model.provider == "ollama"
    assert lookup_model("lmstudio/gemma-3").provider == "lmstudio"
    assert lookup_model("openrouter/anthropic/claude-sonnet-4.6").id == "anthropic/claude-sonnet-4.6"
    # And back to the registry by alias.
    assert switch_model(agent, "claude-opus-4-7").divider == "switched to claude-opus-4-7 (high)"
    assert switch_model(agent, "opus").divider == "switched to claude-opus-5-5 (high)"
    with pytest.raises(SwitchError, match="/model alone opens the picker"):
        lookup_model("  ")


def test_no_key_is_refused_with_what_to_do(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    with pytest.raises(MissingKeyForSwitchError, match=r"/key .*OPENAI_API_KEY"):
        switch_model(
            agent, "gpt-5.5", has_key=lambda p: p == "anthropic"
        )
    assert agent.model.id == "claude-sonnet-4-6"


def test_too_large_conversation_is_refused_with_numbers(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "claude-sonnet-4-6")
    agent.last_context_tokens = 350_000
    with pytest.raises(ContextTooLargeError) as info:
        switch_model(agent, "claude-haiku-4-5")
    message = str(info.value)
    assert "350,000" in message and "200,000" in message and "compact" in message.lower()
    assert agent.model.id == "claude-sonnet-4-6"
    # A bigger window is fine; a nearly-full one warns.
    assert switch_model(agent, "gpt-5.4-mini").notices == ()
    agent.last_context_tokens = 190_000
    notices = switch_model(agent, "claude-haiku-4-5").notices
    assert any("nearly fills" in n for n in notices)


def test_unmeasured_history_is_estimated(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "claude-sonnet-4-6")
    big = "x" * 1_000_000  # ~250k tokens
    agent.history.add_user([TextBlock(text=big)])
    assert conversation_tokens(agent) == 250_000
    with pytest.raises(ContextTooLargeError):
        switch_model(agent, "claude-haiku-4-5")


def test_estimate_counts_tools_and_images_not_base64() -> None:
    messages = [
        Message(role="user", content=[TextBlock(text="a" * 400), ImageBlock(media_type="image/png", data="A" * 400_000)]),
        Message(role="assistant", content=[ToolUseBlock(id="t1", name="read_file", input={"path": "x" * 100})]),
        Message(role="user", content=[ToolResultBlock(tool_use_id="t1", content=[TextBlock(text="b" * 800)])]),
    ]
    tokens = estimate_tokens(messages)
    assert 1_600 + 100 + 200 <= tokens < 2_000


def test_effort_switch_and_cycle(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "claude-haiku-4-5", "off")
    with pytest.raises(UnsupportedEffortError, match="valid levels: off, low, medium, high, max"):
        switch_effort(agent, "xhigh")
    assert switch_effort(agent, "HIGH").divider == "switched to claude-haiku-4-5 (high)"
    seen = [cycle_effort(agent).effort for _ in range(5)]
    assert seen == ["max", "off", "low", "medium", "high"]


def test_switch_to_same_model_is_not_a_change(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "claude-sonnet-5-5", "medium")
    assert not switch_model(agent, "claude").changed


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_every_level_has_a_description(model) -> None:  # type: ignore[no-untyped-def]
    for level in model.efforts:
        assert effort_description(model, level)
    assert divider_text(model, model.default_effort) == f"switched to {model.id} ({model.default_effort})"
