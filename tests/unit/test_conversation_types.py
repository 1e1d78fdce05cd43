"""The conversation types (core/providers/types.py) are plain dataclasses that keep pydantic's
surface and JSON: rows written when they were pydantic models load and dump the same, and a
wrong value is refused when it is made, not when a session is read back."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from stoa.core.providers.types import (
    CompactionBlock,
    ImageBlock,
    Message,
    RedactedThinkingBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
)

# A session row as the pydantic models wrote it (Message.model_dump_json(), Stoa 0.x, pydantic
# 2.14): every block type, a null, non-ASCII text, U+2028, nested tool input.
PYDANTIC_ROW = (
    '{"role":"assistant","content":['
    '{"type":"text","text":"héllo \u2028 \\"q\\" </x>"},'
    '{"type":"thinking","thinking":"t","signature":"s","origin":"anthropic","item_id":null,"encrypted_content":null},'
    '{"type":"redacted_thinking","data":"d","origin":"anthropic"},'
    '{"type":"image","media_type":"image/png","data":"AAA","url":null},'
    '{"type":"tool_use","id":"1","name":"n","input":{"a":[1,2.5,null,{"b":true}]},"input_error":null,"item_id":null},'
    '{"type":"tool_result","tool_use_id":"1","content":[{"type":"text","text":"r"},'
    '{"type":"image","media_type":null,"data":null,"url":"http://x"}],"is_error":true},'
    '{"type":"compaction","origin":"openai","content":null,"encrypted_content":"e","signature":null,'
    '"tool_changes":[{"t":null}],"item_id":"i"}],'
    '"model":"m","provider":"anthropic","stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":0,'
    '"cache_read_tokens":2,"cache_write_tokens":0,"reasoning_tokens":0}}'
)


def _message() -> Message:
    return Message(
        role="assistant",
        model="m",
        provider="anthropic",
        stop_reason=StopReason.TOOL_USE,
        usage=Usage(input_tokens=5, cache_read_tokens=2),
        content=[
            TextBlock(text='héllo \u2028 "q" </x>'),
            ThinkingBlock(thinking="t", signature="s", origin="anthropic"),
            RedactedThinkingBlock(data="d"),
            ImageBlock(media_type="image/png", data="AAA"),
            ToolUseBlock(id="1", name="n", input={"a": [1, 2.5, None, {"b": True}]}),
            ToolResultBlock(tool_use_id="1", content=[TextBlock(text="r"), ImageBlock(url="http://x")], is_error=True),
            CompactionBlock(origin="openai", item_id="i", encrypted_content="e", tool_changes=[{"t": None}]),
        ],
    )


def test_a_row_written_by_the_pydantic_models_reads_and_writes_the_same() -> None:
    message = Message.model_validate_json(PYDANTIC_ROW)
    assert message == _message()
    assert message.model_dump_json() == PYDANTIC_ROW
    assert isinstance(message.stop_reason, StopReason)
    assert isinstance(message.content[5], ToolResultBlock) and isinstance(message.content[5].content[1], ImageBlock)


def test_dumps_follow_pydantics_rules() -> None:
    message = _message()
    # exclude_none drops fields that are None, not None values inside plain data (tool input).
    lean = json.loads(message.model_dump_json(exclude_none=True))
    assert "item_id" not in lean["content"][1] and "model" in lean
    assert lean["content"][4]["input"] == {"a": [1, 2.5, None, {"b": True}]}
    assert lean["content"][6]["tool_changes"] == [{"t": None}]
    assert set(message.model_dump(include={"role", "content"})) == {"role", "content"}
    # Python mode keeps the enum; JSON mode gives its value.
    assert type(message.model_dump()["stop_reason"]) is StopReason
    assert type(message.model_dump(mode="json")["stop_reason"]) is str
    assert Usage.model_validate(Usage(output_tokens=3).model_dump()) == Usage(output_tokens=3)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: TextBlock(text=None), "TextBlock.text: expected a string"),
        (lambda: ToolUseBlock(id="1", name="n", input=["not", "an", "object"]), "ToolUseBlock.input"),
        (lambda: Message(role="system"), "Message.role"),
        (lambda: Message(role="user", stop_reason="finished"), "Message.stop_reason"),
        (lambda: Message(role="user", content=[{"type": "video"}]), "unknown content block type 'video'"),
        (lambda: ToolResultBlock(tool_use_id="1", content=[ThinkingBlock()]), "text and images"),
        (lambda: Usage(input_tokens="12"), "Usage.input_tokens: expected an integer"),
        (lambda: ToolResultBlock(tool_use_id="1", is_error="yes"), "ToolResultBlock.is_error"),
        (lambda: TextBlock(type="image", text="x"), "TextBlock.type"),
        (lambda: Message.model_validate({"role": "user", "colour": "red"}), "unknown field(s) colour"),
        (lambda: Message.model_validate({"content": []}), "role"),
        (lambda: Message.model_validate(["role", "user"]), "expected an object"),
        (lambda: _message().model_copy(update={"usage": 3}), "Message.usage"),
    ],
)
def test_a_wrong_value_is_refused_when_made(make, says: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=re.escape(says)):
        make()


def test_values_are_converted_as_pydantic_did() -> None:
    message = Message(role="user", content=[{"type": "text", "text": "hi"}], usage={"input_tokens": 2.0})
    assert message.content == [TextBlock(text="hi")]
    assert message.usage == Usage(input_tokens=2) and type(message.usage.input_tokens) is int
    assert Message(role="assistant", stop_reason="end_turn").stop_reason is StopReason.END_TURN
    assert ToolResultBlock(tool_use_id="1", is_error=1).is_error is True


def test_blocks_are_frozen_and_copies_are_checked() -> None:
    block = TextBlock(text="a")
    with pytest.raises(AttributeError):
        block.text = "b"  # type: ignore[misc]
    assert block.model_copy(update={"text": "b"}) == TextBlock(text="b")
    assert block.model_copy() == block and block.model_copy() is not block
    spec = ToolSpec(name="t", description="d", input_schema={"type": "object"})
    assert ToolSpec.model_validate_json(spec.model_dump_json()) == spec


def test_the_types_load_without_pydantic() -> None:
    """The point of them being plain: the way to a TUI's first request does not import pydantic."""
    code = "import sys, stoa.core.providers.types, stoa.core.events; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
