"""Provider-neutral conversation types: messages, content blocks, tool specs, usage, stop reasons.

Everything the agent loop, the session store and the UI exchange about a conversation is one
of these. Provider modules translate them to and from their wire formats at the edge; nothing
provider-specific leaks past them except opaque carry-forward fields (thinking signatures,
encrypted reasoning) tagged with the provider that produced them.

The models are pydantic so a whole history round-trips through JSON (the session store saves
``Message.model_dump_json()`` and loads with ``Message.model_validate_json``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Block(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextBlock(_Block):
    type: Literal["text"] = "text"
    text: str


class ThinkingBlock(_Block):
    """Model reasoning. ``origin`` names the provider whose opaque fields are valid.

    Anthropic: ``thinking`` text plus ``signature`` (must be sent back unchanged).
    OpenAI Responses: ``thinking`` holds the reasoning summary, ``item_id`` and
    ``encrypted_content`` carry the reasoning item forward.
    Providers drop or summarise blocks whose origin is not their own.
    """

    type: Literal["thinking"] = "thinking"
    thinking: str = ""
    signature: str | None = None
    origin: str | None = None
    item_id: str | None = None
    encrypted_content: str | None = None


class RedactedThinkingBlock(_Block):
    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str
    origin: str | None = "anthropic"


class ImageBlock(_Block):
    """An image: base64 ``data`` with ``media_type``, or a remote ``url``."""

    type: Literal["image"] = "image"
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class ToolUseBlock(_Block):
    """A tool call made by the model.

    ``input`` is the parsed argument object. If the model sent arguments that are not a JSON
    object, ``input`` is ``{}`` and ``input_error`` says why; the agent answers such a call with
    an error result instead of running it.
    """

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    input_error: str | None = None
    # Provider-side item id (OpenAI Responses function_call item ``id``), kept for carry-forward.
    item_id: str | None = None


class ToolResultBlock(_Block):
    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: list[TextBlock | ImageBlock] = Field(default_factory=list)
    is_error: bool = False

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.content if isinstance(b, TextBlock))


class CompactionBlock(_Block):
    """The earlier conversation as a provider compacted it on its server; it stands in for
    every message before it. ``origin`` names the provider whose opaque fields are valid, and
    they are kept exactly as that provider returned them, to be sent back unchanged.

    Anthropic (a ``compaction`` content block): ``content`` (the summary, readable), with
    ``encrypted_content``, ``signature`` and ``tool_changes`` when the server sent them.
    OpenAI Responses (a ``compaction`` output item): ``item_id`` and ``encrypted_content``
    (opaque: ``content`` is None).
    """

    type: Literal["compaction"] = "compaction"
    origin: str
    content: str | None = None
    encrypted_content: str | None = None
    signature: str | None = None
    tool_changes: list[dict[str, Any]] | None = None
    item_id: str | None = None


ContentBlock = Annotated[
    TextBlock | ThinkingBlock | RedactedThinkingBlock | ImageBlock | ToolUseBlock | ToolResultBlock | CompactionBlock,
    Field(discriminator="type"),
]


class StopReason(StrEnum):
    END_TURN = "end_turn"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    REFUSAL = "refusal"
    PAUSE_TURN = "pause_turn"
    # A compaction request answered with its compaction block alone (Anthropic).
    COMPACTION = "compaction"
    STOP_SEQUENCE = "stop_sequence"
    ERROR = "error"


class Usage(BaseModel):
    """Token usage. ``input_tokens`` counts uncached input only, on every provider.

    Anthropic reports it that way; OpenAI includes cached tokens in its input count, so its
    provider subtracts them. Total prompt size is ``prompt_tokens``.
    """

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class Message(BaseModel):
    """One provider-facing message. ``role`` is ``user`` or ``assistant``.

    Tool results travel in ``user`` messages as ``ToolResultBlock``s, Anthropic style; the
    OpenAI providers split them into their own items at the edge.
    """

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: list[ContentBlock] = Field(default_factory=list)
    # Assistant metadata: which model produced it, why it stopped, what it cost.
    model: str | None = None
    provider: str | None = None
    stop_reason: StopReason | None = None
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        return [b for b in self.content if isinstance(b, ToolUseBlock)]

    @property
    def tool_results(self) -> list[ToolResultBlock]:
        return [b for b in self.content if isinstance(b, ToolResultBlock)]

    @property
    def compaction(self) -> CompactionBlock | None:
        """The message's (last) server compaction block, if it has one."""
        found = [b for b in self.content if isinstance(b, CompactionBlock)]
        return found[-1] if found else None


class ToolSpec(BaseModel):
    """What the model is told about one tool: name, description, JSON schema of its input."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    input_schema: dict[str, Any]


def user_text(text: str) -> Message:
    return Message(role="user", content=[TextBlock(text=text)])


def error_result(tool_use_id: str, text: str) -> ToolResultBlock:
    return ToolResultBlock(tool_use_id=tool_use_id, content=[TextBlock(text=text)], is_error=True)
