"""The protocol checker: would the real API accept this request's conversation?

Each captured request body is checked in its own wire format:

- Anthropic Messages: roles alternate (first is ``user``); every ``tool_use`` id is answered by
  exactly one ``tool_result`` in the NEXT (user) message, results first in that message; no
  orphan results; tool_use ids unique and their ``input`` an object; tools declared when the
  history holds tool blocks; thinking blocks carry an unmodified signature; no empty content;
  ``server_tool_use`` blocks have their result in the same message; ``max_tokens`` set and
  above a thinking budget (>= 1024); tool names valid and unique; at most 4 cache_control
  breakpoints. With the server's ``issued`` record: when thinking is enabled and a tool loop
  continues, the assistant message starts with the thinking blocks it came with.
- OpenAI Responses: every ``function_call`` has exactly one ``function_call_output`` with its
  ``call_id`` after it and before the next non-tool item; no orphan outputs; arguments are a
  string; reasoning items carry intact ``encrypted_content`` (required when ``store`` is false);
  tool names valid and unique. With ``issued``: a function_call sent with its ``fc_`` id is
  preceded by the reasoning item it came with.
- Chat Completions: each assistant ``tool_calls`` id is answered by exactly one ``tool`` message
  right after that assistant message; no orphan ``tool`` messages; arguments are a string;
  tool names valid and unique.

``check*`` return a list of ``Violation``s; ``assert_*`` raise ``AssertionError`` with an
outline of the offending request, the bad messages marked with ``>>``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fake_server.tokens import encrypted_intact, signature_matches
from tests.fake_server.wire import Issued


@dataclass(frozen=True)
class Violation:
    index: int | None  # message/item index in the request, or None for the whole request
    problem: str

    def __str__(self) -> str:
        where = f"message {self.index}" if self.index is not None else "request"
        return f"{where}: {self.problem}"


# ---- Anthropic Messages --------------------------------------------------------------------


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b if isinstance(b, dict) else {"type": "?"} for b in content]
    return []


def check_anthropic(body: Mapping[str, Any], issued: Issued | None = None) -> list[Violation]:
    problems: list[Violation] = _anthropic_request_fields(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, Violation(None, "`messages` must be a non-empty list")]
    has_tool_blocks = False
    seen_ids: Counter[str] = Counter()
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role not in ("user", "assistant"):
            problems.append(Violation(i, f"role must be user or assistant, not {role!r}"))
            continue
        opens_with_compaction = bool(_blocks(msg.get("content"))) and _blocks(msg.get("content"))[0].get("type") == "compaction"
        if i == 0 and role != "user" and not opens_with_compaction:
            # (A compaction block stands in for the conversation before it: it may open it.)
            problems.append(Violation(i, "the first message must have role user"))
        if i > 0 and isinstance(messages[i - 1], dict) and messages[i - 1].get("role") == role:
            problems.append(Violation(i, f"two consecutive {role} messages (roles must alternate)"))
        content = msg.get("content")
        blocks = _blocks(content)
        last = i == len(messages) - 1
        if not blocks and not (last and role == "assistant"):
            problems.append(Violation(i, "empty content"))
        for block in blocks:
            kind = block.get("type")
            if kind == "text" and not str(block.get("text", "")).strip() and not (last and role == "assistant"):
                problems.append(Violation(i, "a text block is empty or whitespace only"))
            if kind in ("tool_use", "tool_result"):
                has_tool_blocks = True
            if kind == "tool_use":
                if role != "assistant":
                    problems.append(Violation(i, "tool_use in a user message"))
                tid = block.get("id")
                if not tid:
                    problems.append(Violation(i, "tool_use without an id"))
                else:
                    seen_ids[tid] += 1
                if not isinstance(block.get("input"), dict):
                    problems.append(Violation(i, f"tool_use {tid} input is not an object: {block.get('input')!r}"))
            if kind == "tool_result" and role != "user":
                problems.append(Violation(i, "tool_result in an assistant message"))
            if kind == "thinking":
                if role != "assistant":
                    problems.append(Violation(i, "thinking block in a user message"))
                signature = block.get("signature")
                if not signature:
                    problems.append(Violation(i, "thinking block without a signature"))
                elif not signature_matches(str(block.get("thinking", "")), str(signature)):
                    problems.append(Violation(i, "thinking block text or signature was modified"))
            if kind == "server_tool_use" and not any(
                b.get("type", "").endswith("_tool_result") and b.get("tool_use_id") == block.get("id") for b in blocks
            ):
                problems.append(Violation(i, f"server_tool_use {block.get('id')} without its result block in the same message"))
            if kind == "redacted_thinking" and not block.get("data"):
                problems.append(Violation(i, "redacted_thinking block without data"))
        # Pairing: this assistant message's tool_use ids vs the next message's tool_results.
        if role == "assistant":
            use_ids = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
            if use_ids:
                nxt = messages[i + 1] if i + 1 < len(messages) else None
                if not isinstance(nxt, dict) or nxt.get("role") != "user":
                    problems.append(Violation(i, f"tool_use {use_ids} not answered: no user message follows"))
                else:
                    nblocks = _blocks(nxt.get("content"))
                    results = Counter(b.get("tool_use_id") for b in nblocks if b.get("type") == "tool_result")
                    for uid in use_ids:
                        if results[uid] == 0:
                            problems.append(Violation(i + 1, f"no tool_result for tool_use {uid}"))
                        elif results[uid] > 1:
                            problems.append(Violation(i + 1, f"{results[uid]} tool_results for tool_use {uid}"))
                    kinds = [b.get("type") for b in nblocks]
                    first_other = next((k for k, t in enumerate(kinds) if t != "tool_result"), len(kinds))
                    if "tool_result" in kinds[first_other:]:
                        problems.append(Violation(i + 1, "tool_result blocks must come before other content"))
        if role == "user":
            prev = messages[i - 1] if i > 0 and isinstance(messages[i - 1], dict) else None
            prev_ids = (
                {b.get("id") for b in _blocks(prev.get("content")) if b.get("type") == "tool_use"}
                if prev is not None and prev.get("role") == "assistant"
                else set()
            )
            for block in blocks:
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in prev_ids:
                    problems.append(
                        Violation(i, f"orphan tool_result {block.get('tool_use_id')} (no tool_use in the previous message)")
                    )
    for tid, count in seen_ids.items():
        if count > 1:
            problems.append(Violation(None, f"tool_use id {tid} appears {count} times"))
    if has_tool_blocks and not body.get("tools"):
        problems.append(Violation(None, "the history has tool_use/tool_result blocks but `tools` is missing"))
    if issued is not None:
        problems += _anthropic_thinking_carried(body, messages, issued)
    return problems


def _anthropic_request_fields(body: Mapping[str, Any]) -> list[Violation]:
    problems: list[Violation] = []
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        problems.append(Violation(None, f"`max_tokens` must be a positive integer, not {max_tokens!r}"))
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            problems.append(Violation(None, f"thinking.budget_tokens must be >= 1024, not {budget!r}"))
        elif isinstance(max_tokens, int) and budget >= max_tokens:
            problems.append(Violation(None, f"max_tokens ({max_tokens}) must be greater than thinking.budget_tokens ({budget})"))
    problems += _tool_declarations(
        [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)], ANTHROPIC_TOOL_NAME, "anthropic"
    )
    breakpoints = _count_cache_control(body.get("system")) + _count_cache_control(body.get("tools"))
    breakpoints += _count_cache_control(body.get("messages"))
    if breakpoints > 4:
        problems.append(Violation(None, f"{breakpoints} cache_control breakpoints (the API allows at most 4)"))
    return problems


def _count_cache_control(value: Any) -> int:
    if isinstance(value, dict):
        own = 1 if value.get("cache_control") else 0
        return own + sum(_count_cache_control(v) for k, v in value.items() if k != "cache_control")
    if isinstance(value, list):
        return sum(_count_cache_control(v) for v in value)
    return 0


def _anthropic_thinking_carried(body: Mapping[str, Any], messages: list[Any], issued: Issued) -> list[Violation]:
    """With thinking enabled, the assistant message that a tool loop continues must be sent back
    with the thinking blocks it came with, first and unmodified (the API rejects it otherwise)."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return []
    if len(messages) < 2 or not isinstance(messages[-1], dict) or messages[-1].get("role") != "user":
        return []
    if not any(b.get("type") == "tool_result" for b in _blocks(messages[-1].get("content"))):
        return []
    index = len(messages) - 2
    assistant = messages[index]
    if not isinstance(assistant, dict) or assistant.get("role") != "assistant":
        return []
    blocks = _blocks(assistant.get("content"))
    for block in blocks:
        if block.get("type") != "tool_use" or block.get("id") not in issued.anthropic_thinking:
            continue
        expected = issued.anthropic_thinking[block["id"]]
        sent = [
            {k: b.get(k) for k in ("type", "thinking", "signature", "data") if k in b}
            for b in blocks[: len(expected)]
        ]
        wanted = [{k: b.get(k) for k in ("type", "thinking", "signature", "data") if k in b} for b in expected]
        if sent != wanted:
            return [Violation(index, f"thinking is enabled and the tool loop continues, so this message must start "
                                     f"with the {len(expected)} thinking block(s) the server sent with tool_use "
                                     f"{block['id']}, unmodified")]
        break
    return []


ANTHROPIC_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
OPENAI_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _tool_declarations(names: list[Any], pattern: re.Pattern[str], fmt: str) -> list[Violation]:
    problems = []
    for name in names:
        if not isinstance(name, str) or not pattern.match(name):
            problems.append(Violation(None, f"tool name {name!r} is not accepted by the {fmt} API "
                                            f"(must match {pattern.pattern})"))
    dupes = sorted(n for n, c in Counter(n for n in names if isinstance(n, str)).items() if c > 1)
    if dupes:
        problems.append(Violation(None, f"tool names declared twice: {dupes}"))
    return problems


def _outline_anthropic(body: Mapping[str, Any]) -> list[str]:
    lines = []
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            lines.append(repr(msg))
            continue
        parts = []
        for b in _blocks(msg.get("content")):
            kind = b.get("type")
            if kind == "text":
                parts.append(f"text({_short(b.get('text'))})")
            elif kind == "tool_use":
                parts.append(f"tool_use({b.get('id')} {b.get('name')})")
            elif kind == "tool_result":
                parts.append(f"tool_result({b.get('tool_use_id')}{' error' if b.get('is_error') else ''})")
            elif kind == "thinking":
                parts.append(f"thinking(sig={'yes' if b.get('signature') else 'NO'})")
            else:
                parts.append(str(kind))
        lines.append(f"{msg.get('role')}: {', '.join(parts) or '(empty)'}")
    return lines


# ---- OpenAI Responses ----------------------------------------------------------------------


def _item_kind(item: Any) -> str:
    if not isinstance(item, dict):
        return "?"
    kind = item.get("type")
    if kind in (None, "message"):
        return f"message:{item.get('role')}"
    return str(kind)


def check_responses(body: Mapping[str, Any], issued: Issued | None = None) -> list[Violation]:
    problems: list[Violation] = _tool_declarations(
        [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"],
        OPENAI_TOOL_NAME, "OpenAI",
    )
    items = body.get("input")
    if isinstance(items, str):
        return problems
    if not isinstance(items, list):
        return [*problems, Violation(None, "`input` must be a string or a list of items")]
    store = body.get("store", True)
    call_positions: dict[str, int] = {}
    for i, item in enumerate(items):
        kind = _item_kind(item)
        if kind == "function_call":
            cid = item.get("call_id")
            if not cid:
                problems.append(Violation(i, "function_call without call_id"))
                continue
            if cid in call_positions:
                problems.append(Violation(i, f"function_call call_id {cid} appears twice"))
            call_positions[cid] = i
            if not isinstance(item.get("arguments"), str):
                problems.append(Violation(i, f"function_call {cid} arguments must be a JSON string"))
            fc_id = item.get("id")
            if issued is not None and fc_id in issued.responses_reasoning:
                rs_id = issued.responses_reasoning[fc_id]
                if not any(_item_kind(x) == "reasoning" and x.get("id") == rs_id for x in items[:i]):
                    problems.append(Violation(i, f"function_call {fc_id} was sent with its id but without its "
                                                 f"reasoning item {rs_id} before it (the API rejects this; send the "
                                                 "reasoning item too, or drop the function_call id)"))
            outputs = [
                j for j, other in enumerate(items)
                if _item_kind(other) == "function_call_output" and other.get("call_id") == cid
            ]
            if not outputs:
                problems.append(Violation(i, f"no function_call_output for call_id {cid}"))
            elif len(outputs) > 1:
                problems.append(Violation(outputs[1], f"{len(outputs)} function_call_outputs for call_id {cid}"))
            else:
                j = outputs[0]
                if j < i:
                    problems.append(Violation(j, f"function_call_output for {cid} comes before its function_call"))
                else:
                    between = {_item_kind(x) for x in items[i + 1 : j]} - {"function_call", "function_call_output"}
                    if between:
                        problems.append(
                            Violation(j, f"function_call_output for {cid} comes after {sorted(between)} "
                                         "(it must follow its call before the next message)")
                        )
        elif kind == "function_call_output":
            cid = item.get("call_id")
            if cid not in call_positions:
                problems.append(Violation(i, f"orphan function_call_output {cid} (no function_call before it)"))
            output = item.get("output")
            if not isinstance(output, str | list):
                problems.append(Violation(i, f"function_call_output {cid} output must be a string or a list"))
        elif kind == "reasoning":
            encrypted = item.get("encrypted_content")
            if encrypted is None and store is False:
                problems.append(Violation(i, "reasoning item without encrypted_content while store=false"))
            if isinstance(encrypted, str) and not encrypted_intact(encrypted):
                problems.append(Violation(i, "reasoning encrypted_content was modified"))
            if not isinstance(item.get("summary"), list):
                problems.append(Violation(i, "reasoning item needs a `summary` list"))
        elif kind.startswith("message:"):
            if kind not in ("message:user", "message:assistant", "message:system", "message:developer"):
                problems.append(Violation(i, f"unknown message role in {kind}"))
    return problems


def _outline_responses(body: Mapping[str, Any]) -> list[str]:
    items = body.get("input")
    if not isinstance(items, list):
        return [f"input: {_short(items)}"]
    lines = []
    for item in items:
        kind = _item_kind(item)
        if kind == "function_call":
            lines.append(f"function_call({item.get('call_id')} {item.get('name')})")
        elif kind == "function_call_output":
            lines.append(f"function_call_output({item.get('call_id')})")
        elif kind == "reasoning":
            lines.append(f"reasoning(encrypted={'yes' if item.get('encrypted_content') else 'no'})")
        else:
            lines.append(f"{kind}({_short(item.get('content') if isinstance(item, dict) else item)})")
    return lines


# ---- Chat Completions ----------------------------------------------------------------------


def check_chat(body: Mapping[str, Any], issued: Issued | None = None) -> list[Violation]:
    problems: list[Violation] = _tool_declarations(
        [(t.get("function") or {}).get("name") for t in body.get("tools") or [] if isinstance(t, dict)],
        OPENAI_TOOL_NAME, "Chat Completions",
    )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, Violation(None, "`messages` must be a non-empty list")]
    open_ids: list[str] = []  # ids of the last assistant tool_calls still awaiting tool messages
    open_at = -1
    answered: Counter[str] = Counter()
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            problems.append(Violation(i, f"unknown role {role!r}"))
            continue
        if role == "tool":
            tid = msg.get("tool_call_id")
            if tid not in open_ids:
                problems.append(
                    Violation(i, f"orphan tool message {tid} (not right after an assistant tool_calls with that id)")
                )
            else:
                answered[tid] += 1
                if answered[tid] > 1:
                    problems.append(Violation(i, f"second tool message for tool_call {tid}"))
            if not isinstance(msg.get("content"), str | list):
                problems.append(Violation(i, f"tool message {tid} content must be a string or a list"))
            continue
        # A non-tool message closes the previous assistant's tool_calls.
        problems += _unanswered(open_ids, answered, open_at)
        open_ids, answered, open_at = [], Counter(), -1
        if role == "assistant" and msg.get("tool_calls"):
            ids = []
            for call in msg["tool_calls"]:
                cid = call.get("id") if isinstance(call, dict) else None
                if not cid:
                    problems.append(Violation(i, "tool_call without an id"))
                    continue
                fn = call.get("function") or {}
                if not isinstance(fn.get("arguments"), str):
                    problems.append(Violation(i, f"tool_call {cid} function.arguments must be a JSON string"))
                ids.append(cid)
            dupes = [k for k, v in Counter(ids).items() if v > 1]
            if dupes:
                problems.append(Violation(i, f"duplicate tool_call ids {dupes}"))
            open_ids, open_at = ids, i
    problems += _unanswered(open_ids, answered, open_at)
    return problems


def _unanswered(open_ids: list[str], answered: Counter[str], at: int) -> list[Violation]:
    return [Violation(at, f"tool_call {cid} has no tool message after it") for cid in open_ids if not answered[cid]]


def _outline_chat(body: Mapping[str, Any]) -> list[str]:
    lines = []
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            lines.append(repr(msg))
            continue
        role = msg.get("role")
        if role == "tool":
            lines.append(f"tool({msg.get('tool_call_id')})")
        elif msg.get("tool_calls"):
            ids = " ".join(str((c or {}).get("id")) for c in msg["tool_calls"])
            lines.append(f"{role}: tool_calls({ids}) {_short(msg.get('content'))}")
        else:
            lines.append(f"{role}: {_short(msg.get('content'))}")
    return lines


# ---- entry points --------------------------------------------------------------------------

CHECKERS: dict[str, Callable[[Mapping[str, Any], Issued | None], list[Violation]]] = {"anthropic": check_anthropic, "responses": check_responses, "chat": check_chat}
OUTLINES = {"anthropic": _outline_anthropic, "responses": _outline_responses, "chat": _outline_chat}
PATH_FORMATS = {"/v1/messages": "anthropic", "/v1/responses": "responses", "/v1/chat/completions": "chat"}


def check(fmt: str, body: Mapping[str, Any], issued: Issued | None = None) -> list[Violation]:
    """Violations of one request body in format ``anthropic``, ``responses`` or ``chat``
    (a path such as ``/v1/messages`` works too). ``issued`` (a server's record of the thinking
    and reasoning it handed out) adds the carry-forward checks."""
    fmt = PATH_FORMATS.get(fmt, fmt)
    if fmt not in CHECKERS:
        raise ValueError(f"unknown format {fmt!r}; use one of {sorted(CHECKERS)}")
    return CHECKERS[fmt](body, issued)


def describe(fmt: str, body: Mapping[str, Any], problems: list[Violation], title: str = "request") -> str:
    """A readable report: the problems, then the conversation outline with bad entries marked."""
    fmt = PATH_FORMATS.get(fmt, fmt)
    bad = {p.index for p in problems}
    out = [f"{title} ({fmt}) breaks the protocol:"]
    out += [f"  - {p}" for p in problems]
    out.append("  conversation:")
    for i, line in enumerate(OUTLINES[fmt](body)):
        out.append(f"  {'>>' if i in bad else '  '} [{i}] {line}")
    return "\n".join(out)


def assert_valid(fmt: str, body: Mapping[str, Any], title: str = "request", issued: Issued | None = None) -> None:
    problems = check(fmt, body, issued)
    if problems:
        raise AssertionError(describe(fmt, body, problems, title))


def assert_requests_valid(requests: Iterable[Any], issued: Issued | None = None) -> None:
    """Check every recorded model request (``RecordedRequest``s); one error lists them all."""
    reports = []
    for request in requests:
        fmt = getattr(request, "format", None) or PATH_FORMATS.get(getattr(request, "path", ""))
        body = getattr(request, "body", None)
        if fmt is None or not isinstance(body, dict):
            continue
        problems = check(fmt, body, issued)
        if problems:
            reports.append(describe(fmt, body, problems, f"request #{request.index} {request.path}"))
    if reports:
        raise AssertionError("\n\n".join(reports))


def _short(value: Any, limit: int = 40) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"
