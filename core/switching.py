"""Switching model and reasoning effort on a running agent, across providers too.

The TUI (``/model``, ``/effort``, the pickers, the cycle key) and anything else that changes the
model mid-session go through here, so every path validates the same way: names and aliases
resolve through the registry, efforts are checked against the target model, a provider without
a key is refused with what to do, and a conversation larger than the target's context window is
refused with the numbers (``ContextTooLargeError``; the TUI then offers to compact the
conversation with the target model and switch, ``app/model_actions.py``).

The agent's next request goes to the new model; history conversion across providers happens at
the provider edge. Token counts and costs stay per model in ``agent.ledger``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from stoa.core.catalog import Catalog, active_catalog
from stoa.core.keys import key_variable
from stoa.core.models import (
    COMPATIBLE_PROVIDERS,
    ModelInfo,
    UnknownModelError,
    next_effort,
    thinking_off,
    validate_effort,
)
from stoa.core.providers.types import (
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)

# Share of the context window above which a switch succeeds with a warning.
TIGHT_CONTEXT_SHARE = 0.9


class SwitchError(ValueError):
    """A switch that was refused; the message says why and what to do instead."""


class ContextTooLargeError(SwitchError):
    def __init__(self, model: ModelInfo, context_tokens: int) -> None:
        self.model = model
        self.context_tokens = context_tokens
        super().__init__(
            f"cannot switch to {model.id} as the conversation stands: it uses about {context_tokens:,} tokens, "
            f"more than its {model.context_window:,}-token context window. Compact it to fit first (the switch "
            "offers it; /compact does it now), or start a new conversation (/clear)."
        )


class MissingKeyForSwitchError(SwitchError):
    def __init__(self, model: ModelInfo) -> None:
        self.model = model
        self.provider = model.provider
        super().__init__(
            f"cannot switch to {model.id}: no API key for {model.provider}. Add one with /key "
            f"(or export {key_variable(model.provider)}=...), then switch again."
        )


class UnknownModelWithLocalError(UnknownModelError):
    """``UnknownModelError`` that also lists the models of detected/configured local servers."""

    def __init__(self, name: str, local: list[ModelInfo], cause: UnknownModelError | None = None) -> None:
        super().__init__(name, cause.provider if cause else None, available=cause.available if cause else None)
        if cause is not None:
            self.args = cause.args
        if local:
            listed = ", ".join(f"{m.provider}/{m.id}" for m in local)
            self.args = (f"{self.args[0]}; local models: {listed}",)


class SwitchableAgent(Protocol):
    """What switching needs from ``core.agent.loop.Agent``."""

    model: ModelInfo
    effort: str
    last_context_tokens: int

    def set_model(self, model: ModelInfo, effort: str | None = None) -> None: ...

    def set_effort(self, effort: str) -> None: ...


@dataclass(frozen=True)
class SwitchResult:
    model: ModelInfo
    effort: str
    previous_model: str
    previous_effort: str
    # Things worth a notice: an effort that did not carry over, a tight context, no tools.
    notices: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.model.id != self.previous_model or self.effort != self.previous_effort

    @property
    def divider(self) -> str:
        return divider_text(self.model, self.effort)


def divider_text(model: ModelInfo, effort: str) -> str:
    """The log divider shown after a switch: ``switched to claude-opus-4-7 (high)``."""
    return f"switched to {model.id} ({effort})"


# Roughly what providers charge for one image in a prompt.
_IMAGE_TOKENS = 1_600


def estimate_tokens(messages: Iterable[Message]) -> int:
    """A rough token count of a history (4 characters a token), for sessions not yet measured."""
    chars = 0
    images = 0
    for message in messages:
        for block in message.content:
            if isinstance(block, TextBlock):
                chars += len(block.text)
            elif isinstance(block, ThinkingBlock):
                chars += len(block.thinking)
            elif isinstance(block, ToolUseBlock):
                chars += len(block.name) + len(json.dumps(block.input))
            elif isinstance(block, ToolResultBlock):
                chars += len(block.text)
                images += sum(1 for b in block.content if isinstance(b, ImageBlock))
            elif isinstance(block, ImageBlock):
                images += 1
    return chars // 4 + images * _IMAGE_TOKENS


def conversation_tokens(agent: Any) -> int:
    """The conversation's size: the last measured request, else an estimate from the history."""
    measured = int(getattr(agent, "last_context_tokens", 0) or 0)
    if measured > 0:
        return measured
    history = getattr(agent, "history", None)
    messages = getattr(history, "messages", None)
    return estimate_tokens(messages) if messages else 0


def lookup_model(
    name: str,
    *,
    current: ModelInfo | None = None,
    local_models: Iterable[ModelInfo] = (),
    catalog: Catalog | None = None,
) -> ModelInfo:
    """Resolve what a person typed: a registry id or alias, a local model, or ``provider/model``.

    On a compatible provider (Ollama, vLLM, ...) an unknown name is taken as a model of that
    server, since those servers offer whatever was pulled. Otherwise an unknown name raises
    ``UnknownModelError`` listing the valid ones (local models included). Cloud ids go through
    the catalogue, so an id the provider lists but the table does not know is accepted.
    """
    name = name.strip()
    if not name:
        raise SwitchError("name a model, e.g. /model sonnet; /model alone opens the picker")
    local = list(local_models)
    prefix, _, rest = name.partition("/")
    if rest and prefix in COMPATIBLE_PROVIDERS:
        for model in local:
            if model.provider == prefix and model.id == rest:
                return model
        return (catalog or active_catalog()).resolve(rest, prefix)
    for model in local:
        if model.id == name:
            return model
    catalog = catalog or active_catalog()
    if current is not None and current.provider in COMPATIBLE_PROVIDERS and catalog.find(name) is None:
        return catalog.resolve(name, current.provider)
    try:
        return catalog.resolve(name)
    except UnknownModelError as exc:
        raise UnknownModelWithLocalError(name, local, exc) from None


def switch_model(
    agent: SwitchableAgent,
    target: str | ModelInfo,
    effort: str | None = None,
    *,
    has_key: Callable[[str], bool] | None = None,
    local_models: Iterable[ModelInfo] = (),
    catalog: Catalog | None = None,
) -> SwitchResult:
    """Switch the agent to another model (any provider). Raises ``SwitchError`` /
    ``UnknownModelError`` / ``UnsupportedEffortError`` with messages a person can act on.

    ``effort=None`` keeps the current effort when the new model supports it, else the new
    model's default (and says so); coming from a model with no levels it takes the default.
    """
    model = target if isinstance(target, ModelInfo) else lookup_model(
        target, current=agent.model, local_models=local_models, catalog=catalog
    )
    previous_model, previous_effort = agent.model.id, agent.effort
    notices: list[str] = []
    if effort is not None:
        chosen = validate_effort(model, effort)
    elif len(agent.model.efforts) == 1:
        # Coming from a model without reasoning levels: nothing was chosen, use the default.
        chosen = model.default_effort
    elif agent.effort in model.efforts:
        chosen = agent.effort
    else:
        chosen = model.default_effort
        notices.append(
            f"{model.id} has no {agent.effort!r} effort; using {chosen} (valid: {', '.join(model.efforts)})"
        )
    if has_key is not None and not has_key(model.provider):
        raise MissingKeyForSwitchError(model)
    if model.id != previous_model:
        tokens = conversation_tokens(agent)
        if tokens > model.context_window:
            raise ContextTooLargeError(model, tokens)
        if tokens > model.context_window * TIGHT_CONTEXT_SHARE:
            notices.append(
                f"the conversation ({tokens:,} tokens) nearly fills {model.id}'s "
                f"{model.context_window:,}-token window; the next replies may run out of room"
            )
    if not model.supports_tools:
        notices.append(f"{model.id} does not support tool calling; it will answer without tools")
    agent.set_model(model, chosen)
    return SwitchResult(
        model=agent.model,
        effort=agent.effort,
        previous_model=previous_model,
        previous_effort=previous_effort,
        notices=tuple(notices),
    )


def switch_effort(agent: SwitchableAgent, level: str) -> SwitchResult:
    """Set the effort of the active model. Raises ``UnsupportedEffortError`` listing valid ones."""
    previous = agent.effort
    agent.set_effort(validate_effort(agent.model, level.strip()))
    return SwitchResult(agent.model, agent.effort, agent.model.id, previous)


def cycle_effort(agent: SwitchableAgent) -> SwitchResult:
    """Move to the next level the active model supports (wrapping around)."""
    previous = agent.effort
    agent.set_effort(next_effort(agent.model, agent.effort))
    return SwitchResult(agent.model, agent.effort, agent.model.id, previous)


def effort_description(model: ModelInfo, level: str) -> str:
    """What a level means for this model, in a few words (shown in the effort picker)."""
    if level == "off":
        if model.thinking == "openai_reasoning":
            return "lowest reasoning the model allows, no summaries"
        if model.thinking in ("adaptive", "budget"):
            off = thinking_off(model)
            if off is not None and off.get("type") == "between_tools":
                return "no up-front thinking; short notes between tool calls"
            return "no extended thinking"
        return "no reasoning"
    if model.thinking == "budget":
        return f"thinking budget {model.budgets.get(level, 0):,} tokens"
    if model.thinking == "adaptive":
        return f"adaptive thinking, effort {level}"
    if model.thinking == "openai_reasoning":
        return f"reasoning effort {level}, with summaries"
    return level

