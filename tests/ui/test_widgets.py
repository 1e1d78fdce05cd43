"""Widgets without the agent: diff rendering, status line, tool rows, chat log pruning, the pacer."""

from __future__ import annotations

import asyncio

import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Log

from stoa.app.pacing import FrameBudget, Paced, StreamPacer, StreamRun, TurnOver
from stoa.core import events as ev
from stoa.core.diffs import diff_counts
from stoa.widgets.chat_log import ChatLog
from stoa.widgets.diff_view import render_diff
from stoa.widgets.records import AssistantRecord, NoticeRecord, ToolRecord, UserRecord
from stoa.widgets.status_bar import StatusBar, human_cost, human_tokens
from stoa.widgets.tool_call import ToolCallView

DIFF = """--- a/app.py
+++ b/app.py
@@ -9,4 +9,5 @@ def main():
     setup()
-    run(1)
+    run(2)
+    log()
     done()
"""


def test_diff_is_numbered_and_counted() -> None:
    plain = Style()
    text = render_diff(DIFF, added=plain, removed=plain, hunk=plain, gutter=plain)
    lines = text.plain.splitlines()
    assert lines[3] == "  9   9      setup()"
    assert lines[4] == " 10     -    run(1)"
    assert lines[5] == "     10 +    run(2)"
    assert lines[6] == "     11 +    log()"
    assert lines[7] == " 11  12      done()"
    assert diff_counts(DIFF) == (2, 1)


def test_long_diff_is_cut_with_a_count() -> None:
    plain = Style()
    body = "@@ -1,0 +1,50 @@\n" + "".join(f"+line {i}\n" for i in range(50))
    text = render_diff(body, added=plain, removed=plain, hunk=plain, gutter=plain, max_lines=10)
    assert text.plain.splitlines()[-1] == "… 41 more diff lines"


def test_human_numbers() -> None:
    assert human_tokens(999) == "999"
    assert human_tokens(12_345) == "12.3k"
    assert human_tokens(2_000) == "2k"
    assert human_tokens(1_500_000) == "1.50M"
    assert human_cost(0) == "$0.00"
    assert human_cost(0.0042) == "$0.0042"
    assert human_cost(1.5) == "$1.50"


class StatusApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar(clock=lambda: 110.0)


async def test_status_bar_drops_least_important_segments_when_narrow() -> None:
    app = StatusApp()
    async with app.run_test(size=(160, 3)):
        bar = app.query_one(StatusBar)
        bar.set_info(
            model="claude-sonnet-4-6",
            effort="high",
            mode="plan",
            sandbox="sandbox: bwrap",
            workspace="~/project",
            context_tokens=50_000,
            context_window=200_000,
            input_tokens=12_000,
            output_tokens=3_400,
            cost_usd=0.25,
            busy_since=100.0,
            queued=2,
        )
        wide = bar.build_line(158).plain
        for part in ("claude-sonnet-4-6 · high", " PLAN ", "working 10s", "2 queued", "25%", "~/project",
                     "sandbox: bwrap", "in 12k out 3.4k", "$0.25"):
            assert part in wide
        narrow = bar.build_line(50).plain
        assert len(narrow) <= 50
        assert "claude-sonnet-4-6" in narrow and "PLAN" in narrow
        assert "in 12k" not in narrow  # token counts go first


class LogApp(App[None]):
    def __init__(self, budget: int = 60) -> None:
        super().__init__()
        self.chat_log = ChatLog(budget_lines=budget, restore_batch=5)

    def compose(self) -> ComposeResult:
        yield self.chat_log


async def test_chat_log_prunes_old_widgets_and_keeps_their_records() -> None:
    app = LogApp(budget=60)
    async with app.run_test(size=(80, 20)) as pilot:
        log = app.chat_log
        for i in range(80):
            await log.add(UserRecord(f"message {i}\nsecond line"))
        await pilot.pause()
        await pilot.pause()
        assert len(log.records) == 80
        assert log.unmounted_count > 0
        mounted = [w for w in log.children if w.display and w is not log._indicator]
        assert len(mounted) == 80 - log.unmounted_count
        assert log.virtual_size.height <= 60 + 10
        # The newest entry is still shown.
        assert log.widget_of(log.records[-1]) is not None


async def test_scrolling_to_the_top_brings_earlier_entries_back() -> None:
    app = LogApp(budget=60)
    async with app.run_test(size=(80, 20)) as pilot:
        log = app.chat_log
        for i in range(80):
            await log.add(UserRecord(f"message {i}\nsecond line"))
        await pilot.pause()
        hidden = log.unmounted_count
        assert hidden > 0
        log.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        await pilot.pause()
        assert log.unmounted_count == hidden - 5
        first = log.mounted_records[0]
        assert isinstance(first, UserRecord)
        assert first.text.startswith(f"message {hidden - 5}")


async def test_unfinished_entries_are_never_pruned() -> None:
    app = LogApp(budget=10)
    async with app.run_test(size=(80, 20)) as pilot:
        log = app.chat_log
        streaming = AssistantRecord("still streaming")
        await log.add(streaming)
        for i in range(30):
            await log.add(NoticeRecord("info", f"note {i}"))
        await pilot.pause()
        assert log.widget_of(streaming) is not None


class ToolApp(App[None]):
    def __init__(self, record: ToolRecord) -> None:
        super().__init__()
        self.view = ToolCallView(record, clock=lambda: 5.0)

    def compose(self) -> ComposeResult:
        yield self.view


async def test_tool_view_streams_shell_output_then_collapses() -> None:
    record = ToolRecord(call_id="c1", name="execute_bash", summary="make test", started_at=1.0)
    app = ToolApp(record)
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.view
        view.add_output(["line 1\n", "line 2\nline 3"])
        await pilot.pause()
        assert record.output == ["line 1", "line 2", "line 3"]
        assert record.expanded
        assert view.query_one(Log).line_count == 3
        await view.finish(status="ok", result_text="line 1\nline 2\nline 3\nexit code 0", display=None, elapsed=2.5)
        await pilot.pause()
        assert not record.expanded
        assert "2.5s" in str(view._row.render())
        view.action_toggle_details()
        assert view.has_class("-expanded")


async def test_tool_view_error_is_expanded_with_its_text() -> None:
    record = ToolRecord(call_id="c1", name="read_file", summary="nope.txt")
    app = ToolApp(record)
    async with app.run_test(size=(80, 20)) as pilot:
        await app.view.finish(status="error", result_text="no such file: nope.txt", display=None, elapsed=0.1)
        await pilot.pause()
        assert record.expanded and app.view.has_class("-error")
        assert "no such file" in str(app.view._body.render())  # type: ignore[union-attr]


# ---- the pacer (app/pacing.py) -------------------------------------------------------------


class Sink(App[None]):
    """Takes what the pacer lets through, as the chat screen does."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, object]] = []
        self.release = asyncio.Event()

    async def on_paced(self, message: Paced) -> None:
        await self.release.wait()
        for item in message.pacer.take():
            if isinstance(item, StreamRun):
                self.received.append((item.kind, item.text))
            elif isinstance(item, TurnOver):
                self.received.append(("end", item.outcome))
            else:
                self.received.append(("event", type(item).__name__))


async def test_pacer_merges_deltas_and_keeps_order() -> None:
    app = Sink()
    async with app.run_test() as pilot:
        pacer = StreamPacer(app)
        for i in range(500):
            pacer.event(ev.AssistantTextDelta(f"{i} "))
        pacer.event(ev.ToolCallStarted("c1", "read_file", {"path": "a"}))
        pacer.event(ev.AssistantTextDelta("after"))
        pacer.event(ev.AssistantTextDelta(" tool"))
        pacer.ended("finished")
        # One message: the tool row asked for it at once, and the rest came before it was taken.
        assert pacer.posted == 1
        app.release.set()
        await pilot.pause()
        await pilot.pause()
        assert app.received == [
            ("text", "".join(f"{i} " for i in range(500))),
            ("event", "ToolCallStarted"),
            ("text", "after tool"),
            ("end", "finished"),
        ]


async def test_pacer_starts_a_new_run_once_the_old_one_was_taken() -> None:
    app = Sink()
    app.release.set()
    async with app.run_test() as pilot:
        pacer = StreamPacer(app)
        pacer.event(ev.ThinkingDelta("a"))
        await pilot.pause()
        pacer.event(ev.ThinkingDelta("b"))
        await pilot.pause(0.3)
        assert app.received == [("thinking", "a"), ("thinking", "b")]


async def test_deltas_wait_for_the_next_frame_and_events_do_not() -> None:
    app = Sink()
    app.release.set()
    async with app.run_test() as pilot:
        budget = FrameBudget(min_gap=0.5, max_gap=0.5)
        pacer = StreamPacer(app, budget)
        pacer.event(ev.AssistantTextDelta("first"))  # long after the last frame: at once
        await pilot.pause()
        assert app.received == [("text", "first")]
        pacer.event(ev.AssistantTextDelta(" second"))
        await pilot.pause(0.1)
        assert app.received == [("text", "first")]  # within the gap: waits
        pacer.event(ev.Notice("info", "now"))  # anything else goes at once, with the text before it
        await pilot.pause()
        assert app.received == [("text", "first"), ("text", " second"), ("event", "Notice")]
        pacer.event(ev.AssistantTextDelta(" third"))
        await pilot.pause(0.1)
        assert app.received[-1] == ("event", "Notice")
        await pilot.pause(0.6)
        assert app.received[-1] == ("text", " third")


async def test_text_in_a_burst_waits_longer_and_the_end_of_the_message_does_not() -> None:
    app = Sink()
    app.release.set()
    async with app.run_test() as pilot:
        budget = FrameBudget(min_gap=0.05, max_gap=0.05, burst_rate=1_000, burst_gap=0.6)
        pacer = StreamPacer(app, budget)
        pacer.event(ev.AssistantTextDelta("first"))  # long after the last frame: at once
        await pilot.pause()
        # 2,000 characters within the 50 ms gap: 40,000 a second, a burst.
        pacer.event(ev.AssistantTextDelta("x" * 2_000))
        await pilot.pause(0.2)
        assert app.received == [("text", "first")]  # the gap is over, the burst waits
        await pilot.pause(0.6)
        assert app.received == [("text", "first"), ("text", "x" * 2_000)]
        pacer.event(ev.AssistantTextDelta("y" * 2_000))
        pacer.event(ev.Notice("info", "the message ended"))  # anything else: at once, with the text
        await pilot.pause()
        assert app.received[-2:] == [("text", "y" * 2_000), ("event", "Notice")]
        # A slow stream (here 10 characters in the gap: 200 a second) is shown at every gap.
        await pilot.pause(0.1)
        pacer.event(ev.AssistantTextDelta("z" * 10))
        await pilot.pause(0.2)
        assert app.received[-1] == ("text", "z" * 10)


def test_the_frame_gap_follows_what_a_frame_costs() -> None:
    budget = FrameBudget(share=0.1, min_gap=0.05, max_gap=0.4)
    assert budget.gap == 0.05  # nothing measured yet
    budget.record(0.02)  # 20 ms a frame: 10 % of the time is a frame every 200 ms
    assert budget.gap == pytest.approx(0.2)
    budget.record(0.1)
    assert budget.gap == 0.4  # bounded
    # Cheap frames bring it down, but one cheap frame after costly ones is not a trend.
    steps = 0
    while budget.gap == 0.4:
        budget.record(0.001)
        steps += 1
    assert steps > 1 and 0.05 < budget.gap < 0.4
    for _ in range(60):
        budget.record(0.001)
    assert budget.gap == 0.05


async def test_pace_lets_the_event_loop_run_while_the_stream_never_waits() -> None:
    app = Sink()
    app.release.set()
    async with app.run_test():
        loop = asyncio.get_running_loop()
        ran: list[int] = []
        pacer = StreamPacer(app, FrameBudget(slice=0.0))
        for i in range(50):
            loop.call_soon(ran.append, i)
            pacer.event(ev.AssistantTextDelta("x"))
            await pacer.pace()
        # Every pace yielded: each callback scheduled before it ran before the next event.
        assert ran == list(range(50))
        ran.clear()
        pacer = StreamPacer(app, FrameBudget(slice=3600.0))
        await pacer.pace()  # the first time, it yields; then not before the slice is over
        loop.call_soon(ran.append, 1)
        for _ in range(50):
            pacer.event(ev.AssistantTextDelta("x"))
            await pacer.pace()
        assert ran == []


def test_messages_are_not_bubbling() -> None:
    # The chat screen is the only target; nothing should leak up to the app by accident.
    assert issubclass(Paced, Message)
    assert Paced.bubble is False


def test_a_notice_title_is_not_said_twice() -> None:
    from stoa.core.events import shown_title
    from stoa.widgets.messages import NoticeMessage

    assert shown_title("Interrupted", "Interrupted by the user.") is None
    assert shown_title("Compacted", "compacted 9k -> 2k tokens") is None
    assert shown_title("Undo", "Undid the file changes of turn 1") == "Undo"
    assert shown_title(None, "anything") is None
    said = NoticeMessage(NoticeRecord("warning", "Interrupted by the user.", title="Interrupted"))._content().plain
    assert said == "⚠ Interrupted by the user."
    titled = NoticeMessage(NoticeRecord("info", "1 path put back", title="Undo"))._content().plain
    assert titled == "· Undo: 1 path put back"
