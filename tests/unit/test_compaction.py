"""The pure parts of compaction: where a history may be cut, clearing old tool output, the
verbatim user messages kept, the summary message, and the ``[context] auto-compact`` values."""

from __future__ import annotations

import pytest

from stoa.core.agent.compaction import (
    DEFAULT_AUTO_COMPACT,
    Budget,
    choose_cut,
    clear_tool_results,
    compacted_line,
    cut_points,
    is_summary,
    keep_typed,
    parse_auto_compact,
    summary_message,
    summary_parts,
    transcript_lines,
    typed_messages,
)
from stoa.core.agent.history import repair_messages
from stoa.core.providers.types import Message, TextBlock, ToolResultBlock, ToolUseBlock, user_text


def call(id: str, path: str = "a.txt") -> Message:
    return Message(role="assistant", content=[TextBlock(text="reading"), ToolUseBlock(id=id, name="read_file", input={"path": path})])


def result(id: str, text: str = "x" * 2_000) -> Message:
    return Message(role="user", content=[ToolResultBlock(tool_use_id=id, content=[TextBlock(text=text)])])


def answer(text: str = "done") -> Message:
    return Message(role="assistant", content=[TextBlock(text=text)])


def history() -> list[Message]:
    return [
        user_text("first: FACT one"),
        call("c1"),
        result("c1"),
        call("c2"),
        result("c2"),
        answer(),
        user_text("second"),
        call("c3"),
        result("c3"),
        answer("ok"),
        user_text("third"),
    ]


def test_a_cut_never_separates_a_call_from_its_result() -> None:
    messages = history()
    for k in cut_points(messages):
        kept = messages[k:]
        # What is kept answers every call it holds, and holds no result without its call.
        calls = {b.id for m in kept for b in m.tool_uses}
        results = {b.tool_use_id for m in kept for b in m.tool_results}
        assert results <= calls, k
        assert repair_messages([user_text("summary"), *kept])[1:] == kept or kept[0].role == "user"
    assert 2 not in cut_points(messages) and 4 not in cut_points(messages) and 8 not in cut_points(messages)


def test_the_cut_keeps_the_recent_exchanges_within_the_budget() -> None:
    messages = history()
    k = choose_cut(messages, keep_tokens=1_200)
    assert k is not None and k in cut_points(messages)
    assert messages[k:][-1].text == "third"
    # A huge budget still summarises something; a tiny one keeps at least the last message.
    assert choose_cut(messages, keep_tokens=10**9) == 1
    assert choose_cut(messages, keep_tokens=1) == len(messages) - 1
    assert choose_cut([user_text("only")], keep_tokens=100) is None


def test_old_tool_output_is_cleared_and_recent_output_kept() -> None:
    messages = history()
    cleared, count = clear_tool_results(messages, keep_from=7)
    assert count == 2
    assert "output cleared" in cleared[2].tool_results[0].text and "2,000 characters" in cleared[2].tool_results[0].text
    assert cleared[8] is messages[8]
    assert [m.role for m in cleared] == [m.role for m in messages]
    assert cleared[2].tool_results[0].tool_use_id == "c1"


def test_the_summary_message_keeps_the_users_words_and_merges_a_following_prompt() -> None:
    typed = typed_messages(history()[:10])
    assert typed == ["first: FACT one", "second"]
    message = summary_message("## Goal\nship it", typed, user_text("third"))
    assert is_summary(message)
    summary, words = summary_parts(message)
    assert summary == "## Goal\nship it" and words == typed
    assert message.content[-1] == TextBlock(text="third")
    # A later compaction carries the earlier words on, first.
    again = typed_messages([message, answer(), user_text("fourth")])
    assert again == ["first: FACT one", "second", "third", "fourth"]
    lines = transcript_lines([message, call("c9"), result("c9", "hello")])
    assert lines[0].startswith("EARLIER SUMMARY:\n## Goal") and "USER (earlier): second" in lines
    assert "ASSISTANT called read_file" in lines[-2] and lines[-1] == "RESULT of read_file: hello"


def test_keep_typed_takes_the_first_and_the_latest_within_the_budget() -> None:
    typed = [f"message {i} " + "w" * 400 for i in range(20)]
    kept = keep_typed(typed, budget=600)
    assert kept[0] == typed[0] and kept[-1] == typed[-1] and "…" in kept
    assert keep_typed(typed[:2], budget=10_000) == typed[:2]


@pytest.mark.parametrize(
    ("value", "share", "problem"),
    [
        (0.85, 0.85, False),
        (0.5, 0.5, False),
        (1, 1.0, False),
        (70, 0.7, False),
        ("80%", 0.8, False),
        (False, None, False),
        ("false", None, False),
        (True, DEFAULT_AUTO_COMPACT, False),
        (7000, DEFAULT_AUTO_COMPACT, True),
        (0.01, DEFAULT_AUTO_COMPACT, True),
        ("soon", DEFAULT_AUTO_COMPACT, True),
    ],
)
def test_auto_compact_values(value: object, share: float | None, problem: bool) -> None:
    got, text = parse_auto_compact(value)
    assert got == share
    assert (text is not None) is problem
    if text:
        assert "between 0.1 and 1" in text and "false" in text


def test_budgets_fit_the_window() -> None:
    small = Budget.for_window(24_000, fixed=3_500)
    assert small.keep + small.summary + small.typed + small.fixed < 24_000 * 0.6
    assert small.transcript + small.summary < 24_000
    large = Budget.for_window(1_000_000, fixed=3_500)
    assert large.summary == 4_096 and large.keep == 40_000


def test_the_compaction_line() -> None:
    assert compacted_line(182_000, 9_000) == "compacted 182k -> 9.0k tokens"
    assert compacted_line(30_000, 20_000, cleared=3, summarised=False).endswith("(old output of 3 tool calls cleared)")
