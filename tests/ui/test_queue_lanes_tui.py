"""Queue lanes: while the agent works, Enter steers the running turn (delivered at its next tool
result) and Tab queues for after it; the queue bar shows both; Ctrl+X takes them all back into
the editor. The fake provider server stalls a reply to leave a window to type in."""

from __future__ import annotations

from pathlib import Path

from stoa.widgets.records import AssistantRecord, UserRecord
from tests.fake_server import FakeServer, fault, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, wait_for, wait_idle, widget_text


def records_of(app, kind):  # type: ignore[no-untyped-def]
    return [r for r in app.chat.log_view.records if isinstance(r, kind)]


async def test_enter_steers_and_tab_waits_for_the_turn_to_end(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("a\n")
    fake_server.script(
        fault("stall", after_events=4, seconds=2.0,
              reply=reply(text="Looking at a first.", chunk_size=4, tool_calls=[tool_call("read_file", {"path": "a.txt"})])),
        reply(text="Checked a."),
        reply(text="Now the follow-up."),
    )  # fmt: skip
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"look", "enter")
        await wait_for(lambda: any(r.text for r in records_of(app, AssistantRecord)), what="streaming")
        app.chat.composer.set_text("also check b")
        await pilot.press("enter")
        app.chat.composer.set_text("then summarize")
        await pilot.press("tab")
        assert app.chat.turns.steering == ["also check b"]
        assert app.chat.turns.next_turn == ["then summarize"]
        bar = widget_text(app.chat.queue_bar)
        assert "1 for this turn" in bar and "1 after it" in bar and "⏭ then summarize" in bar
        await wait_for(lambda: len(fake_server.model_requests()) == 3, what="the follow-up turn")
        await wait_idle(app)
        requests = fake_server.model_requests()
        second = str(requests[1].json["messages"][-1])
        assert "also check b" in second and "then summarize" not in second  # steered into turn one
        assert requests[2].user_texts[-1] == "then summarize"  # a turn of its own, after
        assert [u.text for u in records_of(app, UserRecord) if not u.steering] == ["look", "then summarize"]


async def test_ctrl_x_takes_every_queued_message_back(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(fault("stall", after_events=4, seconds=30, reply=reply(text="Busy busy busy.", chunk_size=4)))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"go", "enter")
        await wait_for(lambda: any(r.text for r in records_of(app, AssistantRecord)), what="streaming")
        app.chat.composer.set_text("steer me")
        await pilot.press("enter")
        app.chat.composer.set_text("after me")
        await pilot.press("tab")
        app.chat.composer.set_text("draft")
        await pilot.press("ctrl+x")
        assert app.chat.composer.text == "steer me\n\nafter me\n\ndraft"
        assert app.chat.turns.queued == [] and not app.chat.queue_bar.has_class("-visible")
        assert app.runtime.agent.pending_steering == ()
        await pilot.press("escape")
        await wait_idle(app)


async def test_tab_when_idle_does_not_send(app_factory: AppFactory, fake_server: FakeServer) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="focus")
        app.chat.composer.set_text("not yet")
        await pilot.press("tab")
        assert app.chat.composer.text == "not yet" and fake_server.model_requests() == []
