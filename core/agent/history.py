"""The provider-facing conversation history, and the repairs that keep it protocol-valid.

Invariants kept here, whatever happens: every assistant ``tool_use`` is answered by exactly one
``tool_result`` in the very next user message; user messages never follow each other (a new
user message after an unanswered one is merged into it, so a failed request never loses text);
every text can be encoded as UTF-8 (lone surrogates are escaped on the way in, so no message
can fail its request or its save for that).
"""

from __future__ import annotations

from stoa.core.escapes import escape_surrogates
from stoa.core.providers.types import (
    ContentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    error_result,
)

INTERRUPTED_RESULT = "Interrupted by the user before this tool call finished; it may not have run."
# Follows what an interrupted turn left (the partial reply, or the tool results), so the model
# knows the person stopped it; a user text block, which every provider accepts.
INTERRUPTED_MARKER = "[interrupted by the user]"
# Follows the part of a reply that was streamed before its request failed (the connection
# dropped, the server answered an error mid-stream): kept, as the screen showed it, and marked.
FAILED_MARKER = "[the reply broke off here: the request failed before it was complete]"

# Told to the model, after the results, when calls of its reply over the cap were dropped.
DROPPED_CALLS = (
    "[Your last reply asked for {count:,} tool calls; at most {cap} are run from one reply, so the "
    "other {dropped:,} were dropped without running (they are not in the conversation). Call the "
    "ones still needed again, in smaller groups.]"
)


def cap_tool_calls(message: Message, cap: int) -> tuple[Message, int]:
    """``message`` with only its first ``cap`` tool calls (the rest never run, so they never
    enter the history: no call there without its result), and how many were dropped."""
    uses = message.tool_uses
    if len(uses) <= cap:
        return message, 0
    keep = {id(b) for b in uses[:cap]}
    content = [b for b in message.content if not isinstance(b, ToolUseBlock) or id(b) in keep]
    return message.model_copy(update={"content": content}), len(uses) - cap


def utf8_safe_blocks(content: list[ContentBlock]) -> list[ContentBlock]:
    """``content`` with lone surrogates in its texts escaped (``core/escapes.py``); the same
    list when there are none."""
    out: list[ContentBlock] = []
    changed = False
    for block in content:
        fixed: ContentBlock = block
        if isinstance(block, TextBlock):
            text = escape_surrogates(block.text)
            if text is not block.text:
                fixed = TextBlock(text=text)
        elif isinstance(block, ThinkingBlock):
            text = escape_surrogates(block.thinking)
            if text is not block.thinking:
                fixed = block.model_copy(update={"thinking": text})
        elif isinstance(block, ToolResultBlock):
            inner: list[TextBlock | ImageBlock] = []
            for part in block.content:
                if isinstance(part, TextBlock):
                    text = escape_surrogates(part.text)
                    part = part if text is part.text else TextBlock(text=text)
                inner.append(part)
            if any(a is not b for a, b in zip(inner, block.content, strict=True)):
                fixed = block.model_copy(update={"content": inner})
        changed = changed or fixed is not block
        out.append(fixed)
    return out if changed else content


class History:
    def __init__(self, messages: list[Message] | None = None) -> None:
        self.messages: list[Message] = list(messages or [])

    def __len__(self) -> int:
        return len(self.messages)

    @property
    def last(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    def add_user(self, content: list[ContentBlock]) -> Message:
        """Append user content; merged into the last message if that is a user message too."""
        content = utf8_safe_blocks(list(content))
        last = self.last
        if last is not None and last.role == "user":
            merged = Message(role="user", content=[*last.content, *content])
            self.messages[-1] = merged
            return merged
        message = Message(role="user", content=list(content))
        self.messages.append(message)
        return message

    def add_assistant(self, message: Message) -> Message:
        original = list(message.content)
        content = utf8_safe_blocks(original)
        if content is not original:
            message = message.model_copy(update={"content": content})
        self.messages.append(message)
        return message

    def keep_partial(
        self, text: str, thinking: str, model: str, provider: str, marker: str, *, always: bool
    ) -> list[tuple[Message, bool]]:
        """A reply cut short: what it said so far (text, and thinking for the screen; thinking
        without a signature is never sent back) as an assistant message, then ``marker`` as user
        text. ``always``: the marker even when nothing was said. Returns the messages added or
        changed, each with whether it replaced the last one (merged into it)."""
        changed: list[tuple[Message, bool]] = []
        if text.strip() or thinking.strip():
            blocks: list[ContentBlock] = []
            if thinking.strip():
                blocks.append(ThinkingBlock(thinking=thinking))
            if text.strip():
                blocks.append(TextBlock(text=text))
            reply = Message(role="assistant", content=blocks, model=model, provider=provider)
            changed.append((self.add_assistant(reply), False))
        elif not always:
            return changed
        merged = self.last is not None and self.last.role == "user"
        if self.last is not None:
            changed.append((self.add_user([TextBlock(text=marker)]), merged))
        return changed

    def unanswered_tool_uses(self) -> list[ToolUseBlock]:
        """Tool calls of the last assistant message that have no result yet."""
        last = self.last
        if last is None or last.role != "assistant":
            return []
        return last.tool_uses

    def repair(self) -> list[ToolResultBlock]:
        """Answer dangling tool calls with synthetic results. Returns what was added."""
        dangling = self.unanswered_tool_uses()
        if not dangling:
            return []
        results = [error_result(block.id, INTERRUPTED_RESULT) for block in dangling]
        self.add_user(list(results))
        return results


def repair_messages(messages: list[Message]) -> list[Message]:
    """A protocol-valid copy of a saved history (used on resume after a crash).

    Orphan tool calls get synthetic results, results whose call is missing are dropped, and
    consecutive user messages are merged.
    """
    out: list[Message] = []
    pending: list[ToolUseBlock] = []
    for message in messages:
        if message.role == "assistant":
            if pending:
                out.append(
                    Message(role="user", content=[error_result(b.id, INTERRUPTED_RESULT) for b in pending])
                )
            opens = bool(message.content) and message.content[0].type == "compaction"
            if out and out[-1].role == "assistant" and not opens:
                # (A server compaction opens what requests carry: nothing is sent before it.)
                out.append(Message(role="user", content=[TextBlock(text="(continue)")]))
            out.append(message)
            pending = message.tool_uses
            continue
        found: dict[str, ToolResultBlock] = {}
        others: list[ContentBlock] = []
        expected = {b.id for b in pending}
        for block in message.content:
            if isinstance(block, ToolResultBlock):
                if block.tool_use_id in expected and block.tool_use_id not in found:
                    found[block.tool_use_id] = block
                continue
            others.append(block)
        # Results first, in call order (Anthropic wants tool_result blocks leading), then text.
        content: list[ContentBlock] = [found.get(b.id) or error_result(b.id, INTERRUPTED_RESULT) for b in pending]
        content += others
        pending = []
        if not content:
            continue
        if out and out[-1].role == "user":
            out[-1] = Message(role="user", content=[*out[-1].content, *content])
        else:
            out.append(Message(role="user", content=content))
    if pending:
        out.append(Message(role="user", content=[error_result(b.id, INTERRUPTED_RESULT) for b in pending]))
    return out
