"""Compaction: the earlier part of a conversation replaced by a structured summary.

``compact_history`` picks what to summarise (all but the most recent exchanges, never a tool
call without its result: the cut falls where an assistant message starts, or on a user message
that carries no tool result), asks the model for a summary (goal, decisions, files touched and
why, open tasks, the user's preferences and corrections) and returns the new history: one
summary message, then the recent messages as they were. The summary request carries the part
to summarise as a transcript in one user message (no tool schemas, no thinking signatures, so
every provider and model accepts it); when that transcript does not fit the window it is
summarised in stages, each stage carrying the summary so far. Nothing is changed on failure:
``CompactionError`` says why, and the caller keeps its history.

The summary message keeps, besides the model's summary, what the person typed in the part that
was summarised (the first and the latest of their messages, within a budget), verbatim: their
own words survive however the summary turned out, and a later compaction carries them on.

``ContextKeeper`` owns the window arithmetic of one agent: the estimated size of a request
(4 characters a token over the request's JSON, corrected upward by what the provider reported
for earlier requests), when auto-compaction is due (``[context] auto-compact``, 0.85 of the
window by default, ``false`` to disable) and the ``max_tokens`` that keeps prompt plus reply
inside the window.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stoa.core.models import ModelInfo, effort_wire_options
from stoa.core.providers import base as pb
from stoa.core.providers.types import (
    ContentBlock,
    ImageBlock,
    Message,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
    user_text,
)

DEFAULT_AUTO_COMPACT = 0.85
# The summary message starts with this line; it is how a summary is recognised later.
SUMMARY_HEADER = "[Summary of the earlier conversation, written when it was compacted]"
USER_MESSAGE_OPEN = "<user-message>"
USER_MESSAGE_CLOSE = "</user-message>"
SUMMARY_SYSTEM = (
    "You compact coding conversations (stoa-compaction). You are given the transcript of the earlier "
    "part of a conversation between a user and a coding agent, and write the summary that will replace "
    "it: the agent continues from your summary alone, so keep every fact it needs and nothing else."
)
SUMMARY_INSTRUCTIONS = """Write the summary now, in Markdown, with these sections:

## Goal
What the user wants done overall, and the current request.
## Decisions
What was decided or found, with the reasons.
## Files touched
Each file read or changed, and why (paths exactly as written).
## Open tasks
What is left to do, and the next step.
## User's preferences and corrections
Every preference, constraint, fact or correction the user stated, in their words where it matters.

Keep names, paths, numbers, commands and error messages exactly. Do not call tools. Reply with the summary only."""
STAGE_NOTE = (
    "This transcript is one part of a longer conversation; the summary of the parts before it is "
    "included at its start. Fold both into one summary."
)

# Characters of one tool result / tool call argument kept in the transcript.
_RESULT_CHARS = 2_000
_ARGUMENT_CHARS = 600
# Characters of one verbatim user message kept in the summary message.
_USER_MESSAGE_CHARS = 1_200
# A token is counted as this many characters of a request's JSON.
CHARS_PER_TOKEN = 4
_IMAGE_TOKENS = 1_600
# Room left for the words around a transcript in a summary request (system, instructions).
_SUMMARY_OVERHEAD = 600
CUT_RESULT = (
    "\n[cut to fit the context window: {kept:,} of {chars:,} characters kept; ask for less at a time]"
)
CLEARED_RESULT = "[output cleared to save context: {chars:,} characters; run the tool again if it is needed]"


class CompactionError(Exception):
    """A compaction that could not be done; the history was left as it was."""


# ---- counting -------------------------------------------------------------------------------


_SIZES: dict[int, tuple[Message, int]] = {}


def message_tokens(message: Message) -> int:
    """Estimated tokens of one message (its JSON, 4 characters a token; images at a flat rate).
    Cached per message object: histories are re-counted before every request."""
    cached = _SIZES.get(id(message))
    if cached is not None and cached[0] is message:
        return cached[1]
    images = 0
    for block in message.content:
        if isinstance(block, ImageBlock):
            images += 1
        elif isinstance(block, ToolResultBlock):
            images += sum(1 for b in block.content if isinstance(b, ImageBlock))
    if images:
        stripped = [_without_images(b) for b in message.content]
        text = json.dumps([b.model_dump(exclude_none=True) for b in stripped])
    else:
        text = message.model_dump_json(include={"role", "content"}, exclude_none=True)
    # Non-ASCII characters weigh more on the wire (JSON escapes them) and in tokenizers.
    size = len(text.encode("ascii", "backslashreplace"))
    tokens = size // CHARS_PER_TOKEN + images * _IMAGE_TOKENS + 4
    if len(_SIZES) > 50_000:
        _SIZES.clear()
    _SIZES[id(message)] = (message, tokens)
    return tokens


def _without_images(block: ContentBlock) -> ContentBlock:
    if isinstance(block, ImageBlock):
        return TextBlock(text="[image]")
    if isinstance(block, ToolResultBlock):
        return block.model_copy(
            update={"content": [b if isinstance(b, TextBlock) else TextBlock(text="[image]") for b in block.content]}
        )
    return block


def messages_tokens(messages: Sequence[Message]) -> int:
    return sum(message_tokens(m) for m in messages)


def text_tokens(text: str) -> int:
    return len(json.dumps(text)) // CHARS_PER_TOKEN


_SPEC_SIZES: dict[int, tuple[Sequence[ToolSpec], int]] = {}


def tools_tokens(tools: Sequence[ToolSpec]) -> int:
    """Estimated tokens of the tool schemas of a request."""
    cached = _SPEC_SIZES.get(id(tools))
    if cached is not None and cached[0] is tools:
        return cached[1]
    tokens = sum(
        len(json.dumps({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
        for t in tools
    ) // CHARS_PER_TOKEN
    if len(_SPEC_SIZES) > 256:
        _SPEC_SIZES.clear()
    _SPEC_SIZES[id(tools)] = (tools, tokens)
    return tokens


# ---- settings -------------------------------------------------------------------------------


def parse_auto_compact(value: object) -> tuple[float | None, str | None]:
    """``[context] auto-compact``: a share of the window (0.85), a percentage (85), ``true``
    (the default share) or ``false`` (off). Returns (share or None, a problem or None)."""
    if value is False:
        return None, None
    if value is True:
        return DEFAULT_AUTO_COMPACT, None
    if isinstance(value, str):
        text = value.strip().lower().rstrip("%")
        if text in ("false", "off", "no"):
            return None, None
        try:
            value = float(text) / (100 if value.strip().endswith("%") else 1)
        except ValueError:
            value = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        share = float(value) / 100 if 1 < value <= 100 else float(value)
        if 0.1 <= share <= 1.0:
            return share, None
    return DEFAULT_AUTO_COMPACT, (
        f"[context] auto-compact = {value!r} is not a share of the window; use a number between 0.1 and 1 "
        f"(e.g. 0.85), a percentage (\"85%\") or false. Using {DEFAULT_AUTO_COMPACT}."
    )


def auto_compact_setting(config: Any) -> tuple[float | None, list[str]]:
    """The auto-compaction threshold of a ``StoaConfig`` (the highest layer that sets it)."""
    if config is None:
        return DEFAULT_AUTO_COMPACT, []
    share: float | None = DEFAULT_AUTO_COMPACT
    problems: list[str] = []
    for layer, table in config.section("context"):
        if not isinstance(table, dict):
            problems.append(f"{layer.path}: [context] must be a table (auto-compact = 0.85)")
            continue
        if "auto-compact" in table:
            share, problem = parse_auto_compact(table["auto-compact"])
            if problem:
                problems.append(f"{layer.path}: {problem}")
    return share, problems


# ---- where to cut ---------------------------------------------------------------------------


def is_summary(message: Message) -> bool:
    first = message.content[0] if message.content else None
    return message.role == "user" and isinstance(first, TextBlock) and first.text.startswith(SUMMARY_HEADER)


def summary_parts(message: Message) -> tuple[str, list[str]]:
    """The model's summary and the verbatim user messages of a summary message."""
    summary = ""
    typed: list[str] = []
    for index, block in enumerate(message.content):
        if not isinstance(block, TextBlock):
            continue
        if index == 0:
            summary = block.text[len(SUMMARY_HEADER) :].strip()
        elif block.text.startswith(USER_MESSAGE_OPEN) and block.text.endswith(USER_MESSAGE_CLOSE):
            typed.append(block.text[len(USER_MESSAGE_OPEN) : -len(USER_MESSAGE_CLOSE)].strip())
    return summary, typed


def _summary_blocks(message: Message) -> int:
    """How many leading blocks of a message belong to a summary (0 when it is none)."""
    if not is_summary(message):
        return 0
    count = 1
    for block in message.content[1:]:
        if isinstance(block, TextBlock) and block.text.startswith(USER_MESSAGE_OPEN):
            count += 1
        else:
            break
    return count


def cut_points(messages: Sequence[Message]) -> list[int]:
    """Indexes ``k`` where ``messages[:k]`` can be summarised and ``messages[k:]`` kept: an
    assistant message, or a user message without tool results (whose calls would be lost)."""
    points = []
    for k in range(1, len(messages)):
        message = messages[k]
        if message.role == "assistant" or not message.tool_results:
            points.append(k)
    return points


def choose_cut(messages: Sequence[Message], keep_tokens: int) -> int | None:
    """The earliest cut whose kept part fits ``keep_tokens`` (all but the most recent
    exchanges); None when nothing can be summarised. At least one exchange is summarised,
    and something is always kept unless only the last message could be."""
    points = cut_points(messages)
    if not points:
        return None
    sizes = [message_tokens(m) for m in messages]
    tail = 0
    best: int | None = None
    # Walk back from the end: the smallest cut whose tail fits is the most summarised.
    for k in range(len(messages) - 1, 0, -1):
        tail += sizes[k]
        if tail > keep_tokens and best is not None:
            break
        if k in points:
            best = k
    if best is None:
        best = points[-1]
    # Summarising only an earlier summary gains nothing: go further when possible.
    if best == 1 and is_summary(messages[0]):
        later = [p for p in points if p > 1]
        if later:
            best = later[0]
    return best


# ---- clearing old tool results --------------------------------------------------------------


def clear_tool_results(messages: Sequence[Message], keep_from: int, min_chars: int = 400) -> tuple[list[Message], int]:
    """Tool results before ``keep_from`` longer than ``min_chars`` replaced by a short note
    (cheap, and the thread of the conversation stays). Returns (new list, results cleared)."""
    out: list[Message] = []
    cleared = 0
    for index, message in enumerate(messages):
        if index >= keep_from or message.role != "user" or not message.tool_results:
            out.append(message)
            continue
        blocks: list[ContentBlock] = []
        changed = False
        for block in message.content:
            if isinstance(block, ToolResultBlock):
                chars = len(block.text) + sum(1_000 for b in block.content if isinstance(b, ImageBlock))
                if chars > min_chars:
                    note = TextBlock(text=CLEARED_RESULT.format(chars=chars))
                    block = block.model_copy(update={"content": [note]})
                    changed = True
                    cleared += 1
            blocks.append(block)
        out.append(message.model_copy(update={"content": blocks}) if changed else message)
    return out, cleared


def shrink_results(message: Message, room: int) -> tuple[Message, int]:
    """``message`` with its tool results cut so it takes about ``room`` tokens (each keeps its
    share, with a note); the last resort when the newest results alone overflow the window.
    Returns the message and how many results were cut."""
    results = [b for b in message.content if isinstance(b, ToolResultBlock)]
    total = sum(len(b.text) for b in results)
    excess = (message_tokens(message) - max(room, 200)) * CHARS_PER_TOKEN
    if not results or excess <= 0 or total == 0:
        return message, 0
    keep_share = max(0.0, 1 - excess / total)
    blocks: list[ContentBlock] = []
    cut = 0
    for block in message.content:
        if isinstance(block, ToolResultBlock) and block.text:
            text = block.text
            keep = int(len(text) * keep_share)
            if keep < len(text):
                note = CUT_RESULT.format(kept=keep, chars=len(text))
                block = block.model_copy(update={"content": [TextBlock(text=text[:keep] + note)]})
                cut += 1
        blocks.append(block)
    return message.model_copy(update={"content": blocks}), cut


# ---- the transcript -------------------------------------------------------------------------


def _short(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def transcript_lines(messages: Sequence[Message]) -> list[str]:
    """The conversation as plain text for the summary request, one entry per block."""
    names: dict[str, str] = {}
    lines: list[str] = []
    for message in messages:
        if is_summary(message):
            summary, typed = summary_parts(message)
            lines.append(f"EARLIER SUMMARY:\n{summary}")
            lines.extend(f"USER (earlier): {t}" for t in typed)
            rest = message.content[_summary_blocks(message) :]
        else:
            rest = message.content
        for block in rest:
            if isinstance(block, TextBlock) and block.text.strip():
                who = "USER" if message.role == "user" else "ASSISTANT"
                lines.append(f"{who}: {block.text.strip()}")
            elif isinstance(block, ToolUseBlock):
                names[block.id] = block.name
                arguments = _short(json.dumps(block.input, ensure_ascii=False), _ARGUMENT_CHARS)
                lines.append(f"ASSISTANT called {block.name} {arguments}")
            elif isinstance(block, ToolResultBlock):
                name = names.get(block.tool_use_id, "a tool")
                state = " (error)" if block.is_error else ""
                lines.append(f"RESULT of {name}{state}: {_short(block.text, _RESULT_CHARS)}")
            elif isinstance(block, ImageBlock):
                lines.append(f"{message.role.upper()}: [an image]")
            elif isinstance(block, ThinkingBlock | RedactedThinkingBlock):
                continue
    return lines


def _stages(lines: list[str], budget: int) -> list[list[str]]:
    """The transcript in parts of at most ``budget`` tokens (a line longer than that is cut)."""
    stages: list[list[str]] = [[]]
    size = 0
    for line in lines:
        tokens = text_tokens(line) + 1
        if tokens > budget:
            line = line[: budget * CHARS_PER_TOKEN // 2] + "…"
            tokens = text_tokens(line) + 1
        if size + tokens > budget and stages[-1]:
            stages.append([])
            size = 0
        stages[-1].append(line)
        size += tokens
    return stages


def typed_messages(messages: Sequence[Message]) -> list[str]:
    """What the person typed in these messages (earlier summaries' lists first), in order."""
    out: list[str] = []
    for message in messages:
        if is_summary(message):
            out.extend(summary_parts(message)[1])
            rest = message.content[_summary_blocks(message) :]
        elif message.role == "user":
            rest = message.content
        else:
            continue
        for block in rest:
            if isinstance(block, TextBlock) and block.text.strip() and not block.text.startswith("["):
                out.append(_short(block.text, _USER_MESSAGE_CHARS))
    return out


def keep_typed(typed: list[str], budget: int) -> list[str]:
    """The first and the latest of the person's messages that fit ``budget`` tokens (half each)."""
    if sum(text_tokens(t) for t in typed) <= budget:
        return list(typed)
    first: list[str] = []
    size = 0
    for text in typed:
        if size + text_tokens(text) > budget // 2:
            break
        first.append(text)
        size += text_tokens(text)
    latest: list[str] = []
    for text in reversed(typed[len(first) :]):
        if size + text_tokens(text) > budget:
            break
        latest.insert(0, text)
        size += text_tokens(text)
    if len(first) + len(latest) < len(typed):
        return [*first, "…", *latest]
    return [*first, *latest]


def summary_message(summary: str, typed: list[str], tail_first: Message | None) -> Message:
    """The message that replaces the summarised part (merged with the kept part's first
    message when that is the person's message, so user messages never follow each other)."""
    blocks: list[ContentBlock] = [TextBlock(text=f"{SUMMARY_HEADER}\n\n{summary.strip()}")]
    blocks += [TextBlock(text=f"{USER_MESSAGE_OPEN}\n{t}\n{USER_MESSAGE_CLOSE}") for t in typed]
    if tail_first is not None and tail_first.role == "user":
        blocks += list(tail_first.content)
    return Message(role="user", content=blocks)


# ---- compacting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """Sizes, in tokens, for one compaction in a window."""

    window: int
    # The request's fixed part (system prompt and tool schemas).
    fixed: int
    # The kept recent part, the summary's output, the verbatim user messages.
    keep: int
    summary: int
    typed: int
    # What one summary request's transcript may hold.
    transcript: int

    @classmethod
    def for_window(cls, window: int, fixed: int, ratio: float = 1.0) -> Budget:
        room = max(window - fixed, window // 4)
        summary = max(256, min(4_096, room // 8))
        transcript = max(1_000, int((window - summary - _SUMMARY_OVERHEAD) / max(ratio, 1.0) * 0.6))
        return cls(
            window=window,
            fixed=fixed,
            keep=max(512, min(40_000, room // 5)),
            summary=summary,
            typed=max(256, min(8_000, room // 10)),
            transcript=transcript,
        )


@dataclass(frozen=True)
class Compaction:
    """A finished compaction: the new history, and what it replaced."""

    history: list[Message]
    # The messages taken out of the live history (kept in the session's archive).
    archived: list[Message]
    summary: str
    tokens_before: int
    tokens_after: int
    usage: Usage = field(default_factory=Usage)
    stages: int = 0
    cleared: int = 0
    focus: str = ""
    # Compacted by the model's provider on its server (``server_compaction.py``).
    on_server: bool = False

    @property
    def summarised(self) -> bool:
        return self.stages > 0


Summarise = Callable[[pb.ProviderRequest], Any]


def summary_request(model: ModelInfo, transcript: str, *, previous: str, focus: str, max_tokens: int) -> pb.ProviderRequest:
    lowest = "off" if "off" in model.efforts else (model.efforts[0] if model.efforts else "off")
    wire, max_tokens = effort_wire_options(model, lowest, max_tokens)
    parts = []
    if previous:
        parts.append(f"{STAGE_NOTE}\n\nSUMMARY SO FAR:\n{previous}")
    parts.append(f"<transcript>\n{transcript}\n</transcript>")
    instructions = SUMMARY_INSTRUCTIONS
    if focus.strip():
        instructions += f"\n\nThe user asked the summary to focus on: {focus.strip()}"
    parts.append(instructions)
    return pb.ProviderRequest(
        model=model.id,
        system=SUMMARY_SYSTEM,
        messages=[user_text("\n\n".join(parts))],
        tools=[],
        max_tokens=max_tokens,
        effort=lowest,
        wire_options=wire,
    )


async def ask_complete(provider: pb.Provider, request: pb.ProviderRequest, what: str = "summary") -> pb.MessageComplete:
    """The finished reply of one request that streams nothing to anyone (a summary, a compaction)."""
    complete: pb.MessageComplete | None = None
    async for item in provider.stream(request):
        if isinstance(item, pb.MessageComplete):
            complete = item
    if complete is None:
        raise pb.ProviderError("stream_broken", f"the {what} reply ended before it was complete")
    return complete


def _clip_summary(text: str, budget: int) -> str:
    limit = budget * CHARS_PER_TOKEN
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def compact_history(
    messages: Sequence[Message],
    *,
    provider: pb.Provider,
    model: ModelInfo,
    budget: Budget,
    focus: str = "",
    summarise: bool = True,
    room: int | None = None,
) -> Compaction:
    """Compact ``messages`` (see the module doc). ``summarise=False`` only clears the tool
    output of all but the last message, then, when the messages still take more than ``room``
    tokens, cuts the last message's tool output to fit (raises ``CompactionError`` when there
    is nothing to clear). Raises ``CompactionError`` when nothing can be summarised or the
    summary request fails."""
    messages = list(messages)
    before = messages_tokens(messages)
    cut = choose_cut(messages, budget.keep)
    if not summarise:
        cleared_history, cleared = clear_tool_results(messages, len(messages) - 1)
        if room is not None and messages_tokens(cleared_history) > room and cleared_history:
            last, cut_results = shrink_results(cleared_history[-1], room - messages_tokens(cleared_history[:-1]))
            cleared_history[-1] = last
            cleared += cut_results
        if not cleared:
            raise CompactionError("no old tool output to clear")
        archived = [m for m, n in zip(messages, cleared_history, strict=True) if m is not n]
        return Compaction(
            cleared_history, archived, "", before, messages_tokens(cleared_history), cleared=cleared, focus=focus
        )
    if cut is None:
        raise CompactionError("the conversation is too short to compact: there is no earlier exchange to summarise")
    head, tail = messages[:cut], messages[cut:]
    lines = transcript_lines(head)
    if not lines:
        raise CompactionError("the earlier part of the conversation has nothing to summarise")
    transcript_budget = budget.transcript
    pending = _stages(lines, transcript_budget)
    usage = Usage()
    summary = ""
    done = 0
    while pending:
        stage = pending.pop(0)
        request = summary_request(
            model, "\n\n".join(stage), previous=summary, focus=focus, max_tokens=budget.summary
        )
        try:
            complete = await ask_complete(provider, request)
        except pb.ProviderError as exc:
            if exc.kind == "context_length" and transcript_budget > 500:
                # The provider counts more than the estimate: smaller parts, from this one on.
                transcript_budget //= 2
                pending = _stages([*stage, *(line for rest in pending for line in rest)], transcript_budget)
                continue
            where = f" (part {done + 1} of {done + 1 + len(pending)})" if done or pending else ""
            raise CompactionError(f"the summary request failed{where}: {exc}") from exc
        done += 1
        usage = usage + complete.usage
        text = complete.message.text.strip()
        if not text:
            raise CompactionError(
                f"{model.id} returned an empty summary (stop reason: {complete.stop_reason.value})"
            )
        summary = _clip_summary(text, budget.summary)
    typed = keep_typed(typed_messages(head), budget.typed)
    first = summary_message(summary, typed, tail[0] if tail else None)
    history = [first, *(tail[1:] if tail and tail[0].role == "user" else tail)]
    archived = head + ([tail[0]] if tail and tail[0].role == "user" else [])
    return Compaction(
        history=history,
        archived=archived,
        summary=summary,
        tokens_before=before,
        tokens_after=messages_tokens(history),
        usage=usage,
        stages=done,
        focus=focus,
    )


# ---- the window of one agent ----------------------------------------------------------------


@dataclass
class ContextKeeper:
    """The window arithmetic of one agent (see the module doc)."""

    threshold: float | None = DEFAULT_AUTO_COMPACT
    # Reported prompt tokens / estimated, from the last measured request (never below 1).
    ratio: float = 1.0
    # The last request's estimate, kept until its usage comes back.
    pending_estimate: int = 0
    # Models whose server refused its compaction in this conversation (Stoa summarises for them).
    server_refused: set[str] = field(default_factory=set)

    def fixed_tokens(self, request: pb.ProviderRequest) -> int:
        return text_tokens(request.system) + tools_tokens(request.tools) + 8

    def estimate(self, request: pb.ProviderRequest) -> int:
        """The request's prompt in tokens, as the provider will likely count it."""
        raw = self.fixed_tokens(request) + messages_tokens(request.messages)
        return int(raw * self.ratio)

    def measured(self, estimate: int, usage: Usage) -> None:
        """A request of ``estimate`` tokens (before the ratio) came back with ``usage``."""
        reported = usage.prompt_tokens
        if estimate > 0 and reported > 0:
            self.ratio = min(3.0, max(1.0, reported / estimate))

    def limit(self, model: ModelInfo) -> int | None:
        if self.threshold is None:
            return None
        return int(model.context_window * self.threshold)

    def due(self, request: pb.ProviderRequest, model: ModelInfo) -> bool:
        limit = self.limit(model)
        return limit is not None and self.estimate(request) > limit

    def budget(self, request: pb.ProviderRequest, model: ModelInfo) -> Budget:
        return Budget.for_window(model.context_window, int(self.fixed_tokens(request) * self.ratio), self.ratio)

    def fit_max_tokens(self, request: pb.ProviderRequest, model: ModelInfo) -> int:
        """``max_tokens`` lowered so prompt plus reply stay inside the window (never below a
        floor that still lets the model answer)."""
        room = model.context_window - self.estimate(request)
        floor = min(request.max_tokens, max(1_024, model.context_window // 20))
        return max(floor, min(request.max_tokens, room))


def compacted_line(
    tokens_before: int, tokens_after: int, *, cleared: int = 0, summarised: bool = True, on_server: bool = False
) -> str:
    """The one wording of a compaction, for the log fold, headless stderr and records:
    ``compacted 182k -> 9k tokens`` (``compacted on the server ...`` when the provider did it)."""
    from stoa.core.cost import format_tokens

    where = " on the server" if on_server else ""
    line = f"compacted{where} {format_tokens(tokens_before)} -> {format_tokens(tokens_after)} tokens"
    if not summarised and cleared:
        line += f" (old output of {cleared} tool call{'s' if cleared != 1 else ''} cleared)"
    return line
