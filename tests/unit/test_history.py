"""History invariants: every tool call answered once, no consecutive user messages."""

from __future__ import annotations

import itertools

from stoa.core.agent.history import INTERRUPTED_RESULT, History, repair_messages
from stoa.core.providers.types import Message, TextBlock, ToolResultBlock, ToolUseBlock


def _assistant_calls(*ids: str) -> Message:
    return Message(role="assistant", content=[ToolUseBlock(id=i, name="read_file", input={"path": "a"}) for i in ids])


def test_add_user_merges_into_unanswered_user_message() -> None:
    history = History()
    history.add_user([TextBlock(text="first")])
    history.add_user([TextBlock(text="second")])
    assert len(history) == 1
    assert [b.text for b in history.messages[0].content] == ["first", "second"]  # type: ignore[union-attr]


def test_repair_answers_every_dangling_call_once() -> None:
    history = History([Message(role="user", content=[TextBlock(text="go")]), _assistant_calls("a", "b")])
    added = history.repair()
    assert [r.tool_use_id for r in added] == ["a", "b"]
    assert all(r.is_error and r.text == INTERRUPTED_RESULT for r in added)
    assert history.repair() == []


def test_repair_messages_fixes_a_crashed_history() -> None:
    messages = [
        Message(role="user", content=[TextBlock(text="go")]),
        _assistant_calls("a", "b"),
        # Only one result survived the crash, plus a stray result for an unknown call.
        Message(
            role="user",
            content=[
                ToolResultBlock(tool_use_id="a", content=[TextBlock(text="ok")]),
                ToolResultBlock(tool_use_id="zzz", content=[TextBlock(text="stray")]),
            ],
        ),
        Message(role="user", content=[TextBlock(text="and then")]),
        _assistant_calls("c"),
    ]
    fixed = repair_messages(messages)
    roles = [m.role for m in fixed]
    assert all(a != b for a, b in itertools.pairwise(roles)), roles
    ids_answered = [r.tool_use_id for m in fixed for r in m.tool_results]
    assert ids_answered == ["a", "b", "c"]
    assert fixed[2].content[-1] == TextBlock(text="and then")


def test_messages_round_trip_through_json() -> None:
    message = Message(
        role="assistant",
        content=[TextBlock(text="hi"), ToolUseBlock(id="x", name="read_file", input={"path": "p"})],
        model="claude-sonnet-4-6",
    )
    assert Message.model_validate_json(message.model_dump_json()) == message
