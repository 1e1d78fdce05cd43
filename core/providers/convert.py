"""Edge helpers shared by the provider modules: id sanitizing, placeholders, error mapping.

Everything here is plain Python (no SDK import), so the provider modules can use it at import
time without paying for ``anthropic`` or ``openai``.

Cross-provider rules kept by every provider's request mapping (a conversation started on one
provider must continue on another):

- thinking/reasoning produced by another provider is dropped, never sent as signed thinking;
- tool call ids are rewritten into the target's allowed charset and length by
  ``sanitize_tool_id``, a pure function, so a call and its result always map to the same id;
- a message whose content becomes empty gets ``PLACEHOLDER_TEXT``;
- a request that declares no tools gets tool calls and results as plain text
  (``without_tool_blocks``), since the APIs refuse tool blocks without tool definitions;
- tool call ids repeated across the history (some local servers reuse ``call_0``) are made
  unique (``unique_tool_ids``), each result following its call.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from stoa.core.keys import ADD_KEY_HINT, invalid_key_hint, no_key_message
from stoa.core.providers.base import ErrorKind, ProviderError
from stoa.core.providers.types import ImageBlock, Message, TextBlock, ToolResultBlock, ToolUseBlock

PLACEHOLDER_TEXT = "(empty)"
# Most restrictive charset among the providers (Anthropic: ^[a-zA-Z0-9_-]+$).
_ID_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")

DEFAULT_READ_TIMEOUT = 300.0
DEFAULT_CONNECT_TIMEOUT = 15.0


def sanitize_tool_id(raw: str, *, max_len: int = 64) -> str:
    """A tool call id valid everywhere: ``[A-Za-z0-9_-]{1,max_len}``.

    Valid ids are returned unchanged (so a provider's own ids round-trip untouched). Others
    are cleaned and suffixed with a short hash of the original, so distinct ids stay distinct.
    """
    if raw and len(raw) <= max_len and not _ID_ALLOWED.search(raw):
        return raw
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]
    cleaned = _ID_ALLOWED.sub("_", raw)
    keep = max(0, max_len - len(digest) - 1)
    return f"{cleaned[:keep]}_{digest}" if keep else digest[:max_len]


def image_url(block: ImageBlock) -> str:
    """A URL for an image block: the remote URL, or a ``data:`` URL for inline bytes."""
    if block.data is not None:
        return f"data:{block.media_type or 'image/png'};base64,{block.data}"
    return block.url or ""


def missing_key_error(provider: str) -> ProviderError:
    """A request (or model list) for ``provider`` without a key."""
    return ProviderError("auth", no_key_message(provider), hint=ADD_KEY_HINT)


_CONTEXT_MARKERS = (
    "prompt is too long",
    "context_length_exceeded",
    "context length",
    "context window",
    "context limit",
    "maximum context",
    "too many tokens",
    "input is too long",
    "reduce the length",
)


def looks_like_context_length(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _CONTEXT_MARKERS)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """``retry-after-ms`` / ``retry-after`` (seconds) from a response, when present and numeric."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(float(value) * scale, 0.0)
        except ValueError:
            continue
    return None


def body_error_message(body: object) -> str | None:
    """The human message inside an error body, for the shapes both vendors use."""
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            message = error.get("message")
            if isinstance(message, str) and message:
                return message
        elif isinstance(error, str) and error:
            return error
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return None


def status_error(
    provider: str,
    status: int,
    detail: str,
    *,
    base_url: str,
    model: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """Map an HTTP error status to a ``ProviderError`` whose message says what to do."""
    what = f"{provider} answered {status}: {detail}"
    if status in (401, 403):
        return ProviderError(
            "auth",
            f"{provider} rejected the API key ({status}): {detail}",
            status=status,
            hint=invalid_key_hint(provider),
        )
    if status == 404:
        target = f"model {model!r}" if model else "the endpoint"
        return ProviderError(
            "not_found",
            f"{provider} could not find {target} at {base_url} (404): {detail}",
            status=status,
            hint="check the model name (/model) and the base URL",
        )
    if status == 429:
        return ProviderError("rate_limit", what, status=status, retry_after=retry_after)
    if status == 413:
        return ProviderError(
            "context_length" if looks_like_context_length(detail) else "bad_request",
            what,
            status=status,
            hint="the request is too large; remove big images or start a new conversation with /clear",
        )
    if status in (400, 422):
        if looks_like_context_length(detail):
            return ProviderError("context_length", what, status=status)
        return ProviderError("bad_request", what, status=status)
    if status in (408, 409) or status >= 500:
        return ProviderError("overloaded", what, status=status, retry_after=retry_after)
    return ProviderError("other", what, status=status)


# Error ``type`` / ``code`` strings sent inside a stream (Anthropic ``error`` events, OpenAI
# ``error`` / ``response.failed`` events) and the kind each means.
_STREAM_ERROR_KINDS: dict[str, ErrorKind] = {
    "overloaded_error": "overloaded",
    "api_error": "overloaded",
    "server_error": "overloaded",
    "internal_error": "overloaded",
    "service_unavailable": "overloaded",
    "rate_limit_error": "rate_limit",
    "rate_limit_exceeded": "rate_limit",
    "insufficient_quota": "rate_limit",
    "authentication_error": "auth",
    "permission_error": "auth",
    "invalid_api_key": "auth",
    "not_found_error": "not_found",
    "model_not_found": "not_found",
    "invalid_request_error": "bad_request",
    "invalid_prompt": "bad_request",
    "context_length_exceeded": "context_length",
    "request_too_large": "bad_request",
    "timeout_error": "overloaded",
    "billing_error": "other",
}


def stream_error(provider: str, code: str | None, detail: str) -> ProviderError:
    """An error the server reported inside an already started stream."""
    kind: ErrorKind = _STREAM_ERROR_KINDS.get(code or "", "stream_broken")
    if code and code not in _STREAM_ERROR_KINDS and (code.startswith("invalid_") or "image" in code):
        kind = "bad_request"  # invalid_image, image_too_large, ...: the same request fails again
    if kind == "bad_request" and looks_like_context_length(detail):
        kind = "context_length"
    label = f" ({code})" if code else ""
    message = f"{provider} reported an error mid-reply{label}: {detail}"
    if kind == "auth":
        return ProviderError(kind, message, hint=invalid_key_hint(provider))
    return ProviderError(kind, message)


def _with_cause(exc: BaseException) -> str:
    """The exception's text, with the underlying transport error when the SDK wrapped one."""
    detail = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in detail:
        detail = f"{detail.rstrip('.')}: {cause}"
    return detail


def connection_error(
    provider: str, base_url: str, exc: BaseException, *, timeout: float | None = None
) -> ProviderError:
    detail = f"no answer within {timeout:g} s" if timeout is not None else _with_cause(exc)
    return ProviderError(
        "connection",
        f"could not reach {provider} at {base_url}: {detail}",
        hint="check your network and the base URL (--base-url or the provider's *_BASE_URL variable)",
    )


def broken_stream(provider: str, base_url: str, exc: BaseException, *, read_timeout: float) -> ProviderError:
    """The stream started and then failed: disconnect, stall or an undecodable event."""
    name = type(exc).__name__
    if isinstance(exc, json.JSONDecodeError):
        detail = f"received a malformed event ({exc.msg})"
    elif "Timeout" in name or "timeout" in str(exc).lower():
        detail = f"no data for {read_timeout:g} s (the stream stalled)"
    else:
        detail = f"the connection broke ({_with_cause(exc)})"
    return ProviderError("stream_broken", f"{provider} reply from {base_url} was cut off: {detail}")


def dumps_arguments(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))


def parse_tool_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    """Parse streamed tool arguments. Returns (input, error) — never raises."""
    if not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, f"arguments are not valid JSON ({exc.msg} at position {exc.pos})"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}"
    try:
        # A lone \\ud800 escape decodes to text no request can carry back (UTF-8 refuses it).
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return {}, "arguments hold text that is not valid Unicode (a lone surrogate such as \\ud800); send plain text"
    return value, None


def without_tool_blocks(messages: list[Message]) -> list[Message]:
    """The history for a request that declares no tools: calls and results become plain text
    (result images stay, as images of the user message)."""
    names = {b.id: b.name for m in messages for b in m.tool_uses}
    out: list[Message] = []
    for message in messages:
        if not any(isinstance(b, ToolUseBlock | ToolResultBlock) for b in message.content):
            out.append(message)
            continue
        content: list[Any] = []
        for block in message.content:
            if isinstance(block, ToolUseBlock):
                content.append(
                    TextBlock(text=f"[called tool {block.name} with {dumps_arguments(block.input)}]")
                )
            elif isinstance(block, ToolResultBlock):
                label = "error from" if block.is_error else "result of"
                name = names.get(block.tool_use_id, "a tool")
                content.append(TextBlock(text=f"[{label} {name}]\n{block.text}".rstrip()))
                content.extend(b for b in block.content if isinstance(b, ImageBlock))
            else:
                content.append(block)
        out.append(message.model_copy(update={"content": content}))
    return out


def unique_tool_ids(messages: list[Message]) -> list[Message]:
    """The history with every tool call id unique; a repeated id is renamed in its call and in
    the result that answers it (the next user message, matched in order)."""
    seen: set[str] = set()
    out: list[Message] = []
    renames: dict[str, list[str]] = {}  # old id -> new ids, in call order, for the next message
    changed = False
    for message in messages:
        if message.role == "assistant":
            renames = {}
            content: list[Any] = []
            for block in message.content:
                if isinstance(block, ToolUseBlock):
                    new_id = block.id
                    n = 1
                    while new_id in seen:
                        n += 1
                        new_id = f"{block.id}_{n}"
                    seen.add(new_id)
                    renames.setdefault(block.id, []).append(new_id)
                    if new_id != block.id:
                        block = block.model_copy(update={"id": new_id})
                        changed = True
                content.append(block)
            out.append(message.model_copy(update={"content": content}) if changed else message)
            continue
        if not renames:
            out.append(message)
            continue
        content = []
        for block in message.content:
            if isinstance(block, ToolResultBlock) and renames.get(block.tool_use_id):
                new_id = renames[block.tool_use_id].pop(0)
                if new_id != block.tool_use_id:
                    block = block.model_copy(update={"tool_use_id": new_id})
            content.append(block)
        renames = {}
        out.append(message.model_copy(update={"content": content}))
    return out


def prepare_history(messages: list[Message], *, declares_tools: bool) -> list[Message]:
    """The neutral history every provider maps: unique tool ids; tool blocks as text when the
    request declares no tools."""
    history = unique_tool_ids(messages)
    return history if declares_tools else without_tool_blocks(history)
