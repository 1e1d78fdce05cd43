"""The provider-facing conversation history, and the repairs that keep it protocol-valid.

Invariants kept here, whatever happens: every assistant ``tool_use`` is answered by exactly one
``tool_result`` in the very next user message; user messages never follow each other (a new
user message after an unanswered one is merged into it, so a failed request never loses text).
"""

from __future__ import annotations

from stoa.core.providers.types import (
    ContentBlock,
    Message,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    error_result,
)

INTERRUPTED_RESULT = "Interrupted by the user before this tool call finished; it may not have run."


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
        last = self.last
        if last is not None and last.role == "user":
            merged = Message(role="user", content=[*last.content, *content])
            self.messages[-1] = merged
            return merged
        message = Message(role="user", content=list(content))
        self.messages.append(message)
        return message

    def add_assistant(self, message: Message) -> None:
        self.messages.append(message)

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
            if out and out[-1].role == "assistant":
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
