"""Per-model API rules of the fake server, and its model lists.

The real APIs reject requests a model cannot serve with a 400 ``invalid_request_error``; the
fake does the same, field by field, so every wire test runs against the rules of the model it
names: the ``thinking.type`` values the model accepts, its effort levels (Anthropic
``output_config.effort``, OpenAI ``reasoning.effort``), forced tool use (``tool_choice`` any /
tool), ``max_tokens`` over the model's maximum, a prompt longer than its window (counted
roughly: 4 characters a token), non-default sampling parameters, and manual thinking budgets.

The specs are written from the providers' documentation, independently of Stoa's own table
(a fake derived from Stoa's table would accept whatever Stoa believes). ``GET /v1/models``
serves them in Anthropic's shape (``capabilities``, paginated with ``limit`` / ``after_id`` /
``before_id``, ``has_more``, ``first_id``, ``last_id``) or OpenAI's (ids only).

A test adds a model that exists nowhere else with ``ModelSpec(...)`` in ``FakeServer(models=[...])``
(plain ids of unknown models get a permissive spec that only checks ``max_tokens`` and the window).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

ANTHROPIC_EFFORTS = ("low", "medium", "high", "xhigh", "max")
OPENAI_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
THINKING_TYPES = ("adaptive", "enabled", "disabled", "between_tools")


@dataclass(frozen=True)
class ModelSpec:
    id: str
    provider: str  # anthropic | openai | local
    context_window: int = 200_000
    max_output: int = 64_000
    # Anthropic: accepted thinking.type values; () = no thinking (``disabled`` still accepted).
    thinking_types: tuple[str, ...] = THINKING_TYPES
    # Anthropic output_config.effort levels / OpenAI reasoning.effort values; () = no effort.
    efforts: tuple[str, ...] = ANTHROPIC_EFFORTS
    forced_tool_use: bool = True
    sampling_params: bool = True
    image_input: bool = True
    web_search: bool = True
    display_name: str | None = None
    created_at: str = "2026-01-01T00:00:00Z"
    # Server compaction: Anthropic "summarize" (on demand) and "compact_20260112" (threshold
    # edit), OpenAI "compaction" (Responses context_management). See compaction.py.
    compaction: tuple[str, ...] = ()

    def anthropic_info(self) -> Json:
        """The model as Anthropic's ``GET /v1/models`` returns it (``ModelInfo``)."""

        def support(flag: bool) -> Json:
            return {"supported": flag}

        thinks = any(t != "disabled" for t in self.thinking_types)
        return {
            "type": "model",
            "id": self.id,
            "display_name": self.display_name or self.id,
            "created_at": self.created_at,
            "lifecycle": "active",
            "deprecated_at": None,
            "retires_at": None,
            "max_input_tokens": self.context_window,
            "max_tokens": self.max_output,
            "capabilities": {
                "batch": support(True),
                "citations": support(True),
                "code_execution": support(False),
                "compaction": {
                    "supported": "summarize" in self.compaction,
                    "summarize": support("summarize" in self.compaction),
                },
                "context_management": {
                    "supported": "compact_20260112" in self.compaction,
                    "clear_thinking_20251015": support(False),
                    "clear_tool_uses_20250919": support(False),
                    "compact_20260112": support("compact_20260112" in self.compaction),
                },
                "effort": {
                    "supported": bool(self.efforts),
                    **{level: support(level in self.efforts) for level in ANTHROPIC_EFFORTS},
                },
                "image_input": support(self.image_input),
                "pdf_input": support(True),
                "server_tools": {
                    "supported": self.web_search,
                    "web_search": support(self.web_search),
                    "code_execution": support(False),
                },
                "structured_outputs": support(True),
                "thinking": {
                    "supported": thinks,
                    "types": {t: support(t in self.thinking_types or (t == "disabled" and not thinks)) for t in THINKING_TYPES},
                },
            },
        }

    def openai_info(self) -> Json:
        return {"id": self.id, "object": "model", "created": 1767225600, "owned_by": "openai"}


def _claude(id: str, **kw: Any) -> ModelSpec:
    return ModelSpec(id=id, provider="anthropic", **kw)


def _gpt(id: str, **kw: Any) -> ModelSpec:
    kw.setdefault("context_window", 1_050_000)
    kw.setdefault("max_output", 128_000)
    kw.setdefault("compaction", ("compaction",))  # Responses compaction (context_management)
    return ModelSpec(id=id, provider="openai", thinking_types=(), **kw)


_ALWAYS_ON = ("adaptive",)
_M = 1_000_000

# From https://platform.claude.com/docs/en/models/<model>/overview and
# https://developers.openai.com/api/docs/models/<id> (December 2026).
KNOWN_SPECS: dict[str, ModelSpec] = {
    s.id: s
    for s in (
        _claude("claude-fable-5-2", context_window=_M, max_output=128_000, thinking_types=_ALWAYS_ON,
                forced_tool_use=False, sampling_params=False, display_name="Claude Fable 5.2"),
        _claude("claude-opus-5-5", context_window=_M, max_output=128_000, thinking_types=_ALWAYS_ON,
                forced_tool_use=False, sampling_params=False, display_name="Claude Opus 5.5"),
        _claude("claude-sonnet-5-5", context_window=_M, max_output=128_000,
                thinking_types=("adaptive", "between_tools"), forced_tool_use=False, sampling_params=False,
                display_name="Claude Sonnet 5.5"),
        _claude("claude-haiku-5-5", context_window=_M, max_output=128_000, thinking_types=("adaptive", "disabled"),
                display_name="Claude Haiku 5.5"),
        _claude("claude-fable-5-1", context_window=_M, max_output=128_000, thinking_types=_ALWAYS_ON,
                forced_tool_use=False, sampling_params=False),
        _claude("claude-sonnet-5", context_window=_M, max_output=128_000, thinking_types=("adaptive", "disabled"),
                sampling_params=False),
        _claude("claude-opus-5", context_window=_M, max_output=128_000, thinking_types=("adaptive", "disabled")),
        _claude("claude-fable-5", context_window=_M, max_output=128_000, thinking_types=_ALWAYS_ON,
                sampling_params=False),
        _claude("claude-opus-4-8", context_window=_M, max_output=128_000, thinking_types=("adaptive", "disabled")),
        _claude("claude-opus-4-7", context_window=_M, max_output=128_000, thinking_types=("adaptive", "disabled")),
        _claude("claude-sonnet-4-6", context_window=_M, max_output=64_000,
                thinking_types=("adaptive", "enabled", "disabled"), efforts=("low", "medium", "high", "max")),
        _claude("claude-haiku-4-5", context_window=200_000, max_output=64_000, thinking_types=("enabled", "disabled"),
                efforts=()),
        _gpt("gpt-6.2-astra", efforts=("low", "medium", "high", "xhigh", "max")),
        _gpt("gpt-6.2-sol", efforts=("low", "medium", "high", "xhigh", "max")),
        _gpt("gpt-6.1-sol", efforts=("low", "medium", "high", "xhigh", "max")),
        _gpt("gpt-6-sol", efforts=("none", "low", "medium", "high", "xhigh", "max")),
        _gpt("gpt-6-astra", efforts=("low", "medium", "high", "xhigh", "max")),
        _gpt("gpt-5.6-sol", efforts=("none", "low", "medium", "high", "xhigh")),
        _gpt("gpt-5.6-terra", efforts=("none", "low", "medium", "high", "xhigh")),
        _gpt("gpt-5.6-luna", efforts=("none", "low", "medium", "high", "xhigh")),
        _gpt("gpt-6-luna", efforts=("none", "low", "medium", "high", "xhigh", "max")),
        _gpt("gpt-5.5", efforts=("none", "low", "medium", "high", "xhigh")),
        _gpt("gpt-5.4", efforts=("none", "low", "medium", "high", "xhigh")),
        _gpt("gpt-5.4-mini", context_window=400_000, efforts=("none", "low", "medium", "high", "xhigh")),
        _gpt("gpt-5.3-codex", context_window=400_000, efforts=("low", "medium", "high", "xhigh")),
    )
}

# Every model of the providers' current lists that Stoa's tests name, then two local ones.
DEFAULT_MODELS: list[str] = [*KNOWN_SPECS, "qwen3:8b", "llama3.2:latest"]


def spec_for(model: str | ModelSpec) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    known = KNOWN_SPECS.get(model)
    if known is not None:
        return known
    if model.startswith("claude"):
        return ModelSpec(id=model, provider="anthropic")
    if model.startswith(("gpt", "o1", "o3", "o4")):
        return ModelSpec(id=model, provider="openai", thinking_types=(), efforts=OPENAI_EFFORTS)
    return ModelSpec(id=model, provider="local", thinking_types=(), efforts=())


# ---- the model lists -------------------------------------------------------------------------


def anthropic_page(specs: list[ModelSpec], query: dict[str, str], max_page: int = 1000) -> Json:
    """One page of Anthropic's list: ``limit`` (default 20, at most ``max_page``), ``after_id`` /
    ``before_id``."""
    models = [s for s in specs if s.provider == "anthropic"]
    try:
        limit = max(1, min(max_page, int(query.get("limit", "20"))))
    except ValueError:
        limit = 20
    ids = [m.id for m in models]
    if query.get("after_id") in ids:
        start = ids.index(query["after_id"]) + 1
        chunk = models[start : start + limit]
        more = start + limit < len(models)
    elif query.get("before_id") in ids:
        end = ids.index(query["before_id"])
        chunk = models[max(0, end - limit) : end]
        more = end - limit > 0
    else:
        chunk = models[:limit]
        more = limit < len(models)
    data = [m.anthropic_info() for m in chunk]
    return {
        "data": data,
        "has_more": more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


# ---- enforcement -----------------------------------------------------------------------------


class Rejection(Exception):
    def __init__(self, status: int, body: Json) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body


def _anthropic_error(message: str, status: int = 400, kind: str = "invalid_request_error") -> Rejection:
    return Rejection(status, {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"})


def _openai_error(message: str, param: str | None, code: str | None, status: int = 400) -> Rejection:
    return Rejection(status, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})


def _prompt_tokens(body: Json) -> int:
    """A rough count of the prompt (4 characters a token), as the window check needs."""
    parts = [body.get("system"), body.get("messages"), body.get("input"), body.get("instructions"), body.get("tools")]
    return len(json.dumps([p for p in parts if p is not None])) // 4


def check_anthropic(spec: ModelSpec, body: Json) -> None:
    """Raise ``Rejection`` with the body the Messages API answers for what this model refuses."""
    model = spec.id
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > spec.max_output:
        raise _anthropic_error(
            f"max_tokens: {max_tokens} > {spec.max_output}, which is the maximum allowed number of output tokens for {model}"
        )
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    thinks = any(t != "disabled" for t in spec.thinking_types)
    if kind is not None and kind not in spec.thinking_types and not (kind == "disabled" and not thinks):
        accepted = ", ".join(f"'{t}'" for t in spec.thinking_types) or "none"
        raise _anthropic_error(
            f"thinking.type: '{kind}' is not supported by {model}. Supported types: {accepted}."
        )
    if kind == "enabled" and isinstance(thinking, dict):
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024 or (isinstance(max_tokens, int) and budget >= max_tokens):
            raise _anthropic_error("thinking.enabled.budget_tokens: must be ≥ 1024 and less than max_tokens")
    display = thinking.get("display") if isinstance(thinking, dict) else None
    if display is not None and (kind not in ("adaptive", "enabled") or display not in ("summarized", "omitted")):
        raise _anthropic_error(f"thinking.display: '{display}' is not valid with thinking.type '{kind}'")
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    if effort is not None and effort not in spec.efforts:
        accepted = ", ".join(f"'{e}'" for e in spec.efforts) or "none (this model has no effort parameter)"
        raise _anthropic_error(f"output_config.effort: '{effort}' is not supported by {model}. Supported values: {accepted}.")
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool") and not spec.forced_tool_use:
        raise _anthropic_error(
            f"tool_choice: forced tool use (type '{choice.get('type')}') is not supported by {model}; use 'auto' or 'none'."
        )
    if not spec.sampling_params:
        for name, default in (("temperature", 1.0), ("top_p", None), ("top_k", None)):
            if name in body and body[name] != default:
                raise _anthropic_error(f"{name}: {model} only supports the default value of {name}; remove it from the request.")
    tokens = _prompt_tokens(body)
    if tokens > spec.context_window:
        raise _anthropic_error(f"prompt is too long: {tokens} tokens > {spec.context_window} maximum")


def check_responses(spec: ModelSpec, body: Json) -> None:
    """Raise ``Rejection`` with the body the Responses API answers for what this model refuses."""
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if effort is not None and effort not in spec.efforts:
        accepted = spec.efforts
        listed = ", ".join(f"'{e}'" for e in accepted[:-1]) + (f", and '{accepted[-1]}'" if accepted else "")
        raise _openai_error(
            f"Unsupported value: 'reasoning.effort' does not support '{effort}' with this model. "
            f"Supported values are: {listed or 'none'}.",
            "reasoning.effort",
            "unsupported_value",
        )
    limit = body.get("max_output_tokens")
    if isinstance(limit, int) and limit > spec.max_output:
        raise _openai_error(
            f"Invalid 'max_output_tokens': integer above maximum value. Expected a value <= {spec.max_output}, "
            f"but got {limit} instead.",
            "max_output_tokens",
            "integer_above_max_value",
        )
    choice = body.get("tool_choice")
    if choice not in (None, "auto", "none", "required") and not isinstance(choice, dict):
        raise _openai_error(f"Invalid value for 'tool_choice': {choice!r}.", "tool_choice", "invalid_value")
    if not spec.sampling_params:
        for name in ("temperature", "top_p"):
            if name in body and body[name] not in (None, 1, 1.0):
                raise _openai_error(
                    f"Unsupported parameter: '{name}' is not supported with this model.", name, "unsupported_parameter"
                )
    if _prompt_tokens(body) > spec.context_window:
        raise _openai_error(
            "Your input exceeds the context window of this model. Please adjust your input and try again.",
            "input",
            "context_length_exceeded",
        )


def not_found(fmt: str, model: str) -> Rejection:
    if fmt == "anthropic":
        return _anthropic_error(f"model: {model}", 404, "not_found_error")
    return _openai_error(
        f"The model `{model}` does not exist or you do not have access to it.", None, "model_not_found", 404
    )


def check_request(fmt: str, specs: dict[str, ModelSpec], body: Json) -> None:
    """The rules of the model a request names (``Rejection`` when it would be refused)."""
    if fmt not in ("anthropic", "responses"):
        return
    model = body.get("model")
    if not isinstance(model, str):
        return
    spec = specs.get(model)
    if spec is None:
        raise not_found(fmt, model)
    if fmt == "anthropic":
        check_anthropic(spec, body)
    else:
        check_responses(spec, body)
