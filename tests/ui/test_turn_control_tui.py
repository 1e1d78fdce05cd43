"""The TUI's side of issue 11 items 6, 10 and 14, with Pilot, the real agent, real tools, a real
session database and the fake server: "no" in the permission modal hands the word back; a
failed first request keeps the message saved; what an interrupt keeps is what a resumed
session shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stoa.widgets.records import AssistantRecord, NoticeRecord, ThinkingRecord, ToolRecord, UserRecord
from tests.fake_server import FakeServer, fault, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, answer_permission, wait_for, wait_idle


def shown(app: Any) -> list[tuple[Any, ...]]:
    """The conversation as the log shows it (the welcome banner and resume summaries left out)."""
    out: list[tuple[Any, ...]] = []
    for r in app.chat.log_view.records:
        if isinstance(r, UserRecord):
            out.append(("user", r.text))
        elif isinstance(r, AssistantRecord):
            out.append(("assistant", r.text))
        elif isinstance(r, ThinkingRecord):
            out.append(("thinking", r.text))
        elif isinstance(r, ToolRecord):
            out.append(("tool", r.name, r.status, r.result_text))
        elif isinstance(r, NoticeRecord):
            if (r.title or "").startswith("Resumed") or r.text.startswith("The last turn was interrupted"):
                continue
            out.append(("notice", r.level, r.title, r.text))
    return out


async def test_no_in_the_modal_ends_the_turn_and_gives_back_the_queue(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "keep.txt").write_text("precious\n")
    # The reply stalls before its tool call: a window to queue a message while the agent works.
    fake_server.script(
        fault(
            "stall",
            after_events=4,
            seconds=1.5,
            reply=reply(
                text="Cleaning up now.",
                chunk_size=4,
                tool_calls=[tool_call("delete_file", {"path": "keep.txt"}), tool_call("list_directory", {"path": "."})],
            ),
        ),
        reply(text="Understood."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"clean up", "enter")
        await wait_for(lambda: any(r.text for r in app.chat.log_view.records if isinstance(r, AssistantRecord)), what="streaming")
        app.chat.composer.set_text("and the docs too")
        await pilot.press("enter")
        assert app.chat.queued == ["and the docs too"]
        await answer_permission(app, pilot, "escape")  # "No"
        await wait_idle(app)
        # The turn is over and the composer is the person's again, with their queued words.
        assert app.screen is app.chat and not app.chat.busy
        assert not app.chat.composer.busy
        assert app.chat.composer.text == "and the docs too" and app.chat.queued == []
        assert len(fake_server.model_requests()) == 1
        assert (workspace / "keep.txt").exists()
        tools = {r.name: r.status for r in app.chat.log_view.records if isinstance(r, ToolRecord)}
        assert tools == {"delete_file": "denied", "list_directory": "skipped"}
        assert any("rejected delete_file" in r.text for r in app.chat.log_view.records if isinstance(r, NoticeRecord))
        await pilot.press("enter")  # send the queued words: a new turn, and a valid request
        await wait_idle(app)
        second = fake_server.model_requests()[1]
        assert len(second.tool_results) == 2 and second.user_texts[-1].endswith("and the docs too")
        assert [r.text for r in app.chat.log_view.records if isinstance(r, AssistantRecord)][-1] == "Understood."


async def test_esc_while_streaming_is_kept_and_resumed_as_shown(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(reply(thinking="First I consider the plot.", text="Chapter one. " * 300, chunk_size=6, delay_per_event=0.01))
    app = app_factory(sessions=True, effort="high")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await pilot.press(*"write a novel", "enter")
        await wait_for(
            lambda: any(len(r.text) > 60 for r in app.chat.log_view.records if isinstance(r, AssistantRecord)),
            what="streaming",
        )
        await pilot.press("escape")
        await wait_idle(app)
        before = shown(app)
        await pilot.press("ctrl+d")
        await pilot.pause()
    partial = next(t[1] for t in before if t[0] == "assistant")
    assert 60 < len(partial) < len("Chapter one. " * 300)
    assert before == [
        ("user", "write a novel"),
        ("thinking", "First I consider the plot."),
        ("assistant", partial),
        ("notice", "warning", "Interrupted", "Interrupted by the user."),
    ]

    fake_server.script(reply(text="Chapter two."))
    app = app_factory(sessions=True, continue_latest=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the resumed session")
        assert shown(app) == before
        await pilot.press(*"go on", "enter")
        await wait_idle(app)
        request = next(r for r in fake_server.model_requests() if r.user_texts[-1].endswith("go on"))
        assert partial.strip() in str(request.json)
        last = request.user_texts[-1]
        assert last.startswith("[interrupted by the user]") and last.endswith("go on")


async def test_esc_mid_command_keeps_its_output_on_screen_and_on_resume(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    command = "for i in 1 2 3; do echo step $i; done; sleep 33.3"
    fake_server.script(reply(tool_calls=[tool_call("execute_bash", {"command": command})]))
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await pilot.press(*"count", "enter")
        await wait_for(
            lambda: any(len(r.output) >= 3 for r in app.chat.log_view.records if isinstance(r, ToolRecord)),
            what="the command's output",
        )
        await pilot.press("escape")
        await wait_idle(app)
        before = shown(app)
        await pilot.press("ctrl+d")
        await pilot.pause()
    tool = next(t for t in before if t[0] == "tool")
    assert tool[2] == "interrupted"
    assert tool[3].startswith("step 1\nstep 2\nstep 3\n") and "interrupted by the user" in tool[3]

    app = app_factory(sessions=True, continue_latest=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the resumed session")
        assert shown(app) == before


async def test_a_failed_first_request_is_saved_even_if_never_resent(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_server.script(fault("bad_request"))
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await pilot.press(*"my careful question", "enter")
        await wait_idle(app)
        assert app.chat.composer.text == "my careful question"  # back in the editor to edit
        app.exit()  # quit without sending it again
        await pilot.pause()

    fake_server.script(reply(text="Answered."))
    app = app_factory(sessions=True, continue_latest=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the resumed session")
        assert [t[:2] for t in shown(app)] == [("user", "my careful question"), ("notice", "error")]
        assert [m.text for m in app.chat.agent.history.messages] == ["my careful question"]


async def test_a_resent_message_is_saved_once(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(fault("bad_request"), reply(text="Now it works."))
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await pilot.press(*"frist", "enter")
        await wait_idle(app)
        app.chat.composer.set_text("first")
        await pilot.press("enter")
        await wait_idle(app)
        before = shown(app)
        await pilot.press("ctrl+d")
        await pilot.pause()
    app = app_factory(sessions=True, continue_latest=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the resumed session")
        assert shown(app) == before
        assert [m.text for m in app.chat.agent.history.messages] == ["first", "Now it works."]
