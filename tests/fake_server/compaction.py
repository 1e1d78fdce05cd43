"""Server-side compaction as the fake server speaks it (Anthropic and OpenAI Responses).

What the real APIs do, from the installed SDKs' types (the authority on names and shapes) and
the providers' compaction guides:

- Anthropic on demand: a request with the top-level ``compaction`` parameter (``{"type":
  "summarize", "instructions"?}``, beta ``compact-2026-09-04``, a model whose capabilities list
  ``compaction.summarize``; not combined with ``context_management``) is answered by one
  ``compaction`` block (``content``, ``encrypted_content``, ``signature``) and ``stop_reason``
  ``compaction``; its cost is a ``compaction`` entry of ``usage.iterations``.
- Anthropic at a threshold: ``context_management.edits`` with ``compact_20260112`` (beta
  ``compact-2026-01-12``, capability ``context_management.compact_20260112``; ``trigger`` of
  type ``input_tokens``, at least 50,000, the documented minimum): when the input passes the
  trigger, the reply starts with the compaction block, streamed as ``content_block_start`` then
  one ``compaction_delta`` holding the summary; the top-level usage counts the compacted context.
- OpenAI Responses: ``context_management=[{"type": "compaction", "compact_threshold": N}]`` on
  a model that supports it: past ``N`` input tokens, the output starts with a ``compaction`` item
  (``id``, ``encrypted_content``), ``response.compaction.compacting`` sent while it is made.

A compaction block or item sent back is verified: its encrypted content (and Anthropic's
signature over its content) must be intact and must be this provider's; Anthropic's block must
open the conversation and needs the beta header; an item must hold only its fields. Everything
before the latest compaction is what the real servers drop: the fake counts input tokens from it.

The fake's summary keeps every line holding ``FACT`` (the tests' early facts), from the
conversation and from the compaction it carries, and the latest request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

ON_DEMAND_BETA = "compact-2026-09-04"
THRESHOLD_BETA = "compact-2026-01-12"
MIN_TRIGGER = 50_000
TOKEN_PREFIX = "fakecmp."
SIGNATURE_PREFIX = "fakecmpsig."
SUMMARY_TITLE = "Summary of the earlier conversation (compacted on the fake server)."


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def seal(provider: str, summary: str) -> str:
    """The ``encrypted_content`` of a compaction: the provider and the summary, with a digest."""
    payload = base64.urlsafe_b64encode(json.dumps([provider, summary]).encode("utf-8")).decode("ascii")
    return f"{TOKEN_PREFIX}{payload}.{_digest(payload)}"


def unseal(value: Any) -> tuple[str, str] | None:
    """(provider, summary) of a sealed compaction, None when it is not one or was altered."""
    if not isinstance(value, str) or not value.startswith(TOKEN_PREFIX):
        return None
    payload, _, digest = value[len(TOKEN_PREFIX) :].rpartition(".")
    if not payload or digest != _digest(payload):
        return None
    try:
        provider, summary = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, TypeError):
        return None
    return str(provider), str(summary)


def anthropic_block(summary: str) -> Json:
    return {
        "type": "compaction",
        "content": summary,
        "encrypted_content": seal("anthropic", summary),
        "signature": SIGNATURE_PREFIX + _digest(summary),
    }


def responses_item(item_id: str, summary: str) -> Json:
    return {"id": item_id, "type": "compaction", "encrypted_content": seal("openai", summary)}


# ---- what the conversation says -------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    """Every string inside a request part (text, tool results, arguments), in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        if value.get("type") == "compaction":
            opened = unseal(value.get("encrypted_content"))
            return [opened[1]] if opened else []
        skipped = ("type", "cache_control", "signature", "id", "call_id", "tool_use_id", "role", "status")
        return [t for key, item in value.items() if key not in skipped for t in _texts(item)]
    return []


def latest_user_text(fmt: str, body: Mapping[str, Any]) -> str:
    parts = body.get("messages") if fmt == "anthropic" else body.get("input")
    for part in reversed(parts if isinstance(parts, list) else []):
        if isinstance(part, dict) and part.get("role") == "user":
            texts = [t for t in _texts(part.get("content")) if t.strip()]
            if texts:
                return texts[-1]
    return ""


def summarise(fmt: str, body: Mapping[str, Any]) -> str:
    """The fake's summary of a conversation: its FACT lines, once each, and the latest request."""
    parts = body.get("messages") if fmt == "anthropic" else body.get("input")
    text = "\n".join(_texts(parts))
    facts = list(dict.fromkeys(re.findall(r"FACT[^\n.]*", text)))
    lines = [SUMMARY_TITLE, *(f"- {f}" for f in facts)]
    latest = latest_user_text(fmt, body)
    if latest:
        lines.append(f"Latest request: {latest[:200]}")
    return "\n".join(lines)


def tokens(value: Any) -> int:
    return len(json.dumps(value)) // 4


def _from_latest(parts: list[Any]) -> list[Any]:
    """The conversation as the server reads it: from the latest compaction on."""
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        if isinstance(part, dict) and part.get("type") == "compaction":
            return parts[index:]
        content = part.get("content") if isinstance(part, dict) else None
        if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "compaction" for b in content):
            return parts[index:]
    return parts


def input_tokens(fmt: str, body: Mapping[str, Any]) -> int:
    parts = body.get("messages") if fmt == "anthropic" else body.get("input")
    kept = _from_latest(parts) if isinstance(parts, list) else parts
    rest = [body.get("system"), body.get("instructions"), body.get("tools")]
    return tokens([kept, *[p for p in rest if p is not None]])


# ---- the rules ------------------------------------------------------------------------------


class CompactionRefused(Exception):
    """A request the real API refuses (400), with its message."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def _betas(headers: Mapping[str, str]) -> set[str]:
    return {b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()}


def check_anthropic(caps: tuple[str, ...], body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    betas = _betas(headers)
    model = body.get("model")
    compaction = body.get("compaction")
    management = body.get("context_management")
    if compaction is not None:
        if ON_DEMAND_BETA not in betas:
            raise CompactionRefused(f"compaction: requires the beta header anthropic-beta: {ON_DEMAND_BETA}")
        if "summarize" not in caps:
            raise CompactionRefused(f"compaction: the model {model} does not support compaction")
        if management is not None:
            raise CompactionRefused("compaction: cannot be combined with context_management")
        if not isinstance(compaction, dict) or compaction.get("type") != "summarize":
            raise CompactionRefused("compaction.type: Input should be 'summarize'")
    edits = management.get("edits") if isinstance(management, dict) else None
    for n, edit in enumerate(edits if isinstance(edits, list) else []):
        if not isinstance(edit, dict) or edit.get("type") != "compact_20260112":
            continue
        if THRESHOLD_BETA not in betas:
            raise CompactionRefused(
                f"context_management.edits.{n}: compact_20260112 requires the beta header anthropic-beta: {THRESHOLD_BETA}"
            )
        if "compact_20260112" not in caps:
            raise CompactionRefused(f"context_management.edits.{n}: the model {model} does not support compact_20260112")
        trigger = edit.get("trigger")
        if trigger is not None:
            value = trigger.get("value") if isinstance(trigger, dict) else None
            if not isinstance(trigger, dict) or trigger.get("type") != "input_tokens" or not isinstance(value, int):
                raise CompactionRefused(f"context_management.edits.{n}.trigger: must be {{'type': 'input_tokens', 'value': int}}")
            if value < MIN_TRIGGER:
                raise CompactionRefused(
                    f"context_management.edits.{n}.trigger.value: must be at least {MIN_TRIGGER} (got {value})"
                )
    messages = body.get("messages")
    found = 0
    for i, message in enumerate(messages if isinstance(messages, list) else []):
        content = message.get("content") if isinstance(message, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            if not isinstance(block, dict) or block.get("type") != "compaction":
                continue
            where = f"messages.{i}.content.{j}"
            if not betas & {ON_DEMAND_BETA, THRESHOLD_BETA}:
                raise CompactionRefused(f"{where}: compaction blocks require a compaction beta header")
            if not caps:
                raise CompactionRefused(f"{where}: the model {model} does not support compaction blocks")
            extra = set(block) - {"type", "content", "encrypted_content", "signature", "tool_changes", "cache_control"}
            if extra:
                raise CompactionRefused(f"{where}.{sorted(extra)[0]}: Extra inputs are not permitted (compaction block)")
            if (i, j) != (0, 0):
                raise CompactionRefused(f"{where}: compaction_block_misplaced: the compaction block must open the conversation")
            summary = block.get("content")
            if summary == "":
                raise CompactionRefused(f"{where}.content: compaction content may not be empty")
            if summary is None:
                continue  # a failed compaction: the server treats it as a no-op
            found += 1
            opened = unseal(block.get("encrypted_content"))
            if opened is None or opened[0] != "anthropic":
                raise CompactionRefused(f"{where}.encrypted_content: compaction_signature_invalid: not a compaction this API made")
            signature = block.get("signature")
            if signature != SIGNATURE_PREFIX + _digest(opened[1]):
                raise CompactionRefused(f"{where}.signature: compaction_signature_invalid: the signature does not verify")
            if summary != opened[1]:
                raise CompactionRefused(f"{where}.content: compaction_content_mismatch: the content differs from what was signed")
    if found > 1:
        raise CompactionRefused("messages: compaction_block_ambiguous: more than one compaction block with content")


def check_responses(caps: tuple[str, ...], body: Mapping[str, Any]) -> None:
    management = body.get("context_management")
    if management is not None:
        if "compaction" not in caps:
            raise CompactionRefused(
                "Unsupported parameter: 'context_management' is not supported with this model.", "context_management"
            )
        entries = management if isinstance(management, list) else [None]
        for n, entry in enumerate(entries):
            threshold = entry.get("compact_threshold") if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or entry.get("type") != "compaction":
                raise CompactionRefused(
                    f"Invalid value for 'context_management[{n}].type': only 'compaction' is supported.",
                    f"context_management[{n}].type",
                )
            if threshold is not None and (not isinstance(threshold, int) or threshold < 1):
                raise CompactionRefused(
                    f"Invalid 'context_management[{n}].compact_threshold': expected a positive integer.",
                    f"context_management[{n}].compact_threshold",
                )
    items = body.get("input")
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict) or item.get("type") != "compaction":
            continue
        extra = set(item) - {"type", "id", "encrypted_content"}
        if extra:
            raise CompactionRefused(f"Unknown parameter: 'input[{i}].{sorted(extra)[0]}'.", f"input[{i}]")
        opened = unseal(item.get("encrypted_content"))
        if opened is None or opened[0] != "openai":
            raise CompactionRefused(
                f"Invalid 'input[{i}].encrypted_content': the compaction item could not be decrypted or verified.",
                f"input[{i}].encrypted_content",
            )


# ---- compacting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Compacted:
    """A compaction the fake made for one request."""

    block: Json
    summary: str
    tokens_before: int
    tokens_after: int
    # Anthropic's ``compaction`` entry of ``usage.iterations``.
    usage: dict[str, int] = field(default_factory=dict)


def compact(fmt: str, body: Mapping[str, Any], item_id: str, *, force: bool = False) -> Compacted | None:
    """The compaction this request gets: on demand (``force``), or when its input passes the
    threshold it names; None when it gets none."""
    before = input_tokens(fmt, body)
    if not force:
        limit = _threshold(fmt, body)
        if limit is None or before <= limit:
            return None
    summary = summarise(fmt, body)
    block = anthropic_block(summary) if fmt == "anthropic" else responses_item(item_id, summary)
    after = tokens(block) + tokens(body.get("system") or body.get("instructions") or "") + tokens(body.get("tools") or [])
    usage = {"input_tokens": before, "output_tokens": max(1, len(summary) // 4)}
    return Compacted(block=block, summary=summary, tokens_before=before, tokens_after=after, usage=usage)


def _threshold(fmt: str, body: Mapping[str, Any]) -> int | None:
    management = body.get("context_management")
    if fmt == "anthropic":
        edits = management.get("edits") if isinstance(management, dict) else None
        for edit in edits if isinstance(edits, list) else []:
            if isinstance(edit, dict) and edit.get("type") == "compact_20260112":
                trigger = edit.get("trigger")
                return int(trigger["value"]) if isinstance(trigger, dict) else 150_000
        return None
    for entry in management if isinstance(management, list) else []:
        if isinstance(entry, dict) and entry.get("type") == "compaction":
            threshold = entry.get("compact_threshold")
            return int(threshold) if isinstance(threshold, int) else None
    return None
