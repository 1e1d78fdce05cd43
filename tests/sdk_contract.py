"""Stoa's requests and streams held to the installed SDKs (the providers no longer use them).

``request_errors(fmt, body)`` checks a request body against the SDK's request TypedDict of its
format (anthropic: ``MessageCreateParamsStreaming``, responses: ``ResponseCreateParamsStreaming``,
chat: ``CompletionCreateParamsStreaming``); the conftest runs it on every model request Stoa's
thin client sent to a fake server during a test. ``parse_event(fmt, data)`` validates one
streamed event's data with the SDK's event type.
"""

from __future__ import annotations

import collections.abc
import functools
import json
import types
import typing
from typing import Any

import typing_extensions

# Headers Stoa's thin client sends that tell its requests from the SDKs' own (tests drive the
# SDKs against the fake server too): the SDKs add their x-stainless-* telemetry, Stoa does not.
SDK_TELEMETRY_HEADER = "x-stainless-lang"


@functools.cache
def _hints(tp: Any) -> dict[str, Any]:
    return typing.get_type_hints(tp, include_extras=True)


def _shape_errors(value: Any, tp: Any, path: str) -> list[str]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return []
    if origin is typing.Annotated or getattr(origin, "__name__", "") in ("Required", "NotRequired"):
        return _shape_errors(value, args[0], path)
    if str(origin).endswith(("Required", "NotRequired")):
        return _shape_errors(value, args[0], path)
    if typing_extensions.is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {tp.__name__}, got {type(value).__name__}"]
        hints = _hints(tp)
        errors = [f"{path}.{key}: not a field of {tp.__name__}" for key in value if key not in hints]
        errors += [
            f"{path}.{key}: required by {tp.__name__}" for key in tp.__required_keys__ if key not in value
        ]
        for key, item in value.items():
            if key in hints:
                errors += _shape_errors(item, hints[key], f"{path}.{key}")
        return errors
    if origin is typing.Union or origin is types.UnionType:
        attempts = [_shape_errors(value, arg, path) for arg in args]
        if any(not errs for errs in attempts):
            return []
        # Report the variant that got furthest into the value.
        return max(attempts, key=lambda errs: max(e.count(".") + e.count("[") for e in errs))
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args}"]
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence) or (
        getattr(tp, "__name__", "") == "SequenceNotStr"
    ):
        if not isinstance(value, list | tuple):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        item_type = args[0] if args else Any
        return [e for i, item in enumerate(value) for e in _shape_errors(item, item_type, f"{path}[{i}]")]
    if origin in (dict, collections.abc.Mapping):
        return [] if isinstance(value, dict) else [f"{path}: expected a mapping"]
    if tp is type(None):
        return [] if value is None else [f"{path}: expected null"]
    if tp is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected a bool"]
    if tp is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: expected an int"]
    if tp is float:
        return (
            []
            if isinstance(value, int | float) and not isinstance(value, bool)
            else [f"{path}: expected a number"]
        )
    if tp is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string"]
    if isinstance(tp, type):
        try:
            return [] if isinstance(value, tp) else [f"{path}: expected {tp.__name__}"]
        except TypeError:  # a protocol that cannot be checked at run time
            return []
    return []


def assert_conforms(value: Any, tp: Any) -> None:
    errors = _shape_errors(value, tp, "$")
    assert not errors, "\n".join(errors[:20])


def without_assistant_messages(params: dict[str, Any]) -> dict[str, Any]:
    """A Responses body without assistant message inputs: the SDK types one as an output
    message with a required id and status; the API (like Codex) takes it without them when
    store=False (tests/unit/test_provider_mapping.py checks those separately)."""
    kept = [
        i
        for i in params.get("input", [])
        if not (isinstance(i, dict) and i.get("type") == "message" and i.get("role") == "assistant")
    ]
    return {**params, "input": kept}


@functools.cache
def request_type(fmt: str) -> Any:
    if fmt == "anthropic-beta":
        from anthropic.types.beta.message_create_params import MessageCreateParamsStreaming as Beta

        return Beta
    if fmt == "anthropic":
        from anthropic.types.message_create_params import MessageCreateParamsStreaming

        return MessageCreateParamsStreaming
    if fmt == "responses":
        from openai.types.responses.response_create_params import ResponseCreateParamsStreaming

        return ResponseCreateParamsStreaming
    from openai.types.chat.completion_create_params import CompletionCreateParamsStreaming

    return CompletionCreateParamsStreaming


def request_errors(fmt: str, body: Any) -> list[str]:
    """What in a request body the SDK's request type does not accept ([] when all of it does).

    Chat Completions bodies may carry server-specific top-level fields (the SDK's
    ``extra_body``: Ollama's options, OpenRouter's provider routing): only the fields the SDK
    declares are checked there."""
    if not isinstance(body, dict):
        return [f"$: the body is not a JSON object ({type(body).__name__})"]
    tp = request_type("anthropic-beta" if fmt == "anthropic" and uses_beta(body) else fmt)
    if fmt == "responses":
        body = without_assistant_messages(body)
    elif fmt == "chat":
        body = {k: v for k, v in body.items() if k in _hints(tp)}
    # A conversation's requests repeat its history: each message (input item) is checked once.
    listed = "input" if fmt == "responses" else "messages"
    items = body.get(listed)
    if not isinstance(items, list):
        return _shape_errors(body, tp, "$")
    errors = _shape_errors({**body, listed: []}, tp, "$")
    item_type = typing.get_args(_strip(_hints(tp)[listed]))
    assert item_type, f"cannot read the item type of {tp.__name__}.{listed}"
    for index, item in enumerate(items):
        errors += [
            e.replace("$", f"$.{listed}[{index}]", 1) for e in _item_errors(fmt, json.dumps(item), item_type)
        ]
    return errors


def uses_beta(body: dict[str, Any]) -> bool:
    """An Anthropic request with beta fields (server compaction: ``compaction``,
    ``context_management``, compaction blocks), held to the SDK's beta request type."""
    if "compaction" in body or "context_management" in body:
        return True
    messages = body.get("messages")
    return isinstance(messages, list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), list)
        and any(isinstance(b, dict) and b.get("type") == "compaction" for b in m["content"])
        for m in messages
    )


def _strip(tp: Any) -> Any:
    """A field's type without Required / NotRequired / Annotated, and without a union with str
    (Responses ``input`` is a string or a list of items)."""
    while str(typing.get_origin(tp)).endswith(("Required", "NotRequired", "Annotated")) or (
        typing.get_origin(tp) is typing.Annotated
    ):
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        lists = [a for a in typing.get_args(tp) if typing.get_origin(a) is not None]
        tp = lists[0]
    return tp


@functools.lru_cache(maxsize=20_000)
def _item_errors(fmt: str, item: str, item_type: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(_shape_errors(json.loads(item), item_type[0], "$"))


@functools.cache
def _event_adapter(fmt: str) -> Any:
    from pydantic import TypeAdapter

    if fmt == "anthropic":
        from anthropic.types import RawMessageStreamEvent

        return TypeAdapter(RawMessageStreamEvent)
    if fmt == "anthropic-beta":  # the beta stream: compaction blocks and deltas too
        from anthropic.types.beta import BetaRawMessageStreamEvent

        return TypeAdapter(BetaRawMessageStreamEvent)
    if fmt == "responses":
        from openai.types.responses import ResponseStreamEvent

        return TypeAdapter(ResponseStreamEvent)
    from openai.types.chat import ChatCompletionChunk

    return TypeAdapter(ChatCompletionChunk)


def parse_event(fmt: str, data: Any) -> Any:
    """One streamed event's data as the SDK's event object (raises when it does not validate)."""
    return _event_adapter(fmt).validate_python(data)


def sent_by_stoa(request: Any) -> bool:
    """Whether a recorded model request came from Stoa's thin client (not an SDK a test drove,
    nor a raw request a test wrote by hand)."""
    from stoa.core.providers.http import ANTHROPIC_USER_AGENT, OPENAI_USER_AGENT

    return (
        request.format is not None
        and request.method == "POST"
        and request.headers.get("user-agent") in (ANTHROPIC_USER_AGENT, OPENAI_USER_AGENT)
        and SDK_TELEMETRY_HEADER not in request.headers
    )


def assert_requests_conform(requests: list[Any]) -> None:
    """Every model request Stoa sent is one the SDK's request type accepts."""
    problems = []
    for request in requests:
        if sent_by_stoa(request):
            errors = request_errors(request.format, request.body)
            if errors:
                problems.append(
                    f"request {request.index} ({request.format} {request.path}):\n  "
                    + "\n  ".join(errors[:10])
                )
    assert not problems, "Stoa sent requests the SDK's types do not accept:\n" + "\n".join(problems)
