"""The TUI with the session store: save as you go, resume by id, by picker, or the latest."""

from __future__ import annotations

from textual.widgets import OptionList

from stoa.widgets.records import AssistantRecord, NoticeRecord, UserRecord
from tests.fake_server import FakeServer, reply
from tests.ui.conftest import SIZE, AppFactory, wait_for, wait_idle


async def _one_conversation(app_factory: AppFactory, fake_server: FakeServer, text: str) -> str:
    fake_server.script(reply(text=f"answer to {text}"))
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await pilot.press(*text, "enter")
        await wait_idle(app)
        session_id = str(app.runtime.session_id)
        await pilot.press("ctrl+d")
        await pilot.pause()
    return session_id


async def test_continue_latest_replays_the_conversation(app_factory: AppFactory, fake_server: FakeServer) -> None:
    await _one_conversation(app_factory, fake_server, "first question")
    fake_server.script(reply(text="more"))
    app = app_factory(sessions=True, continue_latest=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the resumed session")
        log = app.chat.log_view
        assert [r.text for r in log.records if isinstance(r, UserRecord)] == ["first question"]
        assert [r.text for r in log.records if isinstance(r, AssistantRecord)] == ["answer to first question"]
        away = [r for r in log.records if isinstance(r, NoticeRecord) and (r.title or "").startswith("Resumed")]
        assert len(away) == 1
        assert app.chat.prompt_history == ["first question"]
        await pilot.press(*"follow up", "enter")
        await wait_idle(app)
        turn = [r for r in fake_server.model_requests() if "follow up" in str(r.body["messages"][-1])]
        assert [m["role"] for m in turn[0].body["messages"]] == ["user", "assistant", "user"]


async def test_resume_by_id_prefix_and_unknown_id(app_factory: AppFactory, fake_server: FakeServer) -> None:
    session_id = await _one_conversation(app_factory, fake_server, "keep me")
    app = app_factory(sessions=True, resume=session_id[:8])
    async with app.run_test(size=SIZE):
        await wait_for(lambda: app.chat.ready, what="the resumed session")
        assert any(isinstance(r, UserRecord) and r.text == "keep me" for r in app.chat.log_view.records)

    app = app_factory(sessions=True, resume="ffffffff")
    async with app.run_test(size=SIZE):
        await wait_for(lambda: app.chat.ready, what="a new session")
        errors = [r for r in app.chat.log_view.records if isinstance(r, NoticeRecord) and r.level == "error"]
        assert errors and errors[0].title == "Could not resume"
        assert not any(isinstance(r, UserRecord) for r in app.chat.log_view.records)


async def test_resume_without_id_opens_the_picker(app_factory: AppFactory, fake_server: FakeServer) -> None:
    await _one_conversation(app_factory, fake_server, "pick me")
    app = app_factory(sessions=True, resume="")
    async with app.run_test(size=SIZE) as pilot:
        from stoa.app.screens.resume import ResumePickerScreen

        await wait_for(lambda: isinstance(app.screen, ResumePickerScreen), what="the picker")
        await wait_for(lambda: app.screen.query_one(OptionList).option_count > 0, what="the picker rows")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(lambda: app.chat.ready, what="the resumed session")
        assert any(isinstance(r, UserRecord) and r.text == "pick me" for r in app.chat.log_view.records)


async def test_message_sent_before_the_session_opens_waits_for_it(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_server.script(reply(text="hello"))
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="start-up")
        await app.workers.wait_for_complete()
        app.chat.ready = False  # as if the store were still opening
        await pilot.press(*"early", "enter")
        await pilot.pause()
        assert fake_server.model_requests() == []
        await app.chat.mark_ready()
        await wait_idle(app)
        assert [r.text for r in app.chat.log_view.records if isinstance(r, UserRecord)] == ["early"]


async def test_resume_command_switches_to_another_session(app_factory: AppFactory, fake_server: FakeServer) -> None:
    first = await _one_conversation(app_factory, fake_server, "the first one")
    fake_server.script(reply(text="answer two"))
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await pilot.press(*"second", "enter")
        await wait_idle(app)
        app.chat.composer.set_text(f"/resume {first[:8]}")
        await pilot.press("enter")
        await wait_for(lambda: app.runtime.session_id == first, what="the switch")
        await app.workers.wait_for_complete()
        users = [r.text for r in app.chat.log_view.records if isinstance(r, UserRecord)]
        assert users == ["the first one"]
        assert app.chat.agent.history.messages[0].text == "the first one"
        # The prompt history is the project's (every run, every session), not the session's.
        assert app.chat.prompt_history == ["the first one", "second", f"/resume {first[:8]}"]

        app.chat.composer.set_text("/resume")
        await pilot.press("enter")
        from stoa.app.screens.resume import ResumePickerScreen

        await wait_for(lambda: isinstance(app.screen, ResumePickerScreen), what="the picker")
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.chat, what="the chat again")
        assert app.runtime.session_id == first

        app.chat.composer.set_text("/resume fffffff")
        await pilot.press("enter")
        await wait_for(
            lambda: any(isinstance(r, NoticeRecord) and r.level == "error" for r in app.chat.log_view.records),
            what="the error",
        )


async def test_a_database_out_of_reach_is_said_and_the_chat_goes_on(
    app_factory: AppFactory, fake_server: FakeServer, config: object
) -> None:
    # A file where the data folder should be: nothing can be saved. The chat says so at once
    # and what to do, the conversation goes on in memory, and quitting says it was not saved.
    data = config.paths.database.parent  # type: ignore[attr-defined]
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("in the way\n")
    fake_server.script(reply(text="answered anyway"))
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        notices = [r.text for r in app.chat.log_view.records if isinstance(r, NoticeRecord)]
        assert any("not being saved" in n and "Move that file away" in n for n in notices), notices
        await pilot.press(*"hello", "enter")
        await wait_idle(app)
        assert any(isinstance(r, AssistantRecord) and r.text == "answered anyway" for r in app.chat.log_view.records)
        await pilot.press("ctrl+d")
        await pilot.pause()
    assert any("could not save the session" in note for note in app.exit_notes), app.exit_notes
    assert data.read_text() == "in the way\n"


async def test_prompt_history_is_kept_per_project_across_runs(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    """A new run (a new session, not a resume) still has this project's earlier prompts: Up
    walks back to them, Ctrl+R finds them."""
    await _one_conversation(app_factory, fake_server, "explain the parser")
    await _one_conversation(app_factory, fake_server, "add a test for the lexer")
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await app.workers.wait_for_complete()
        assert not any(isinstance(r, UserRecord) for r in app.chat.log_view.records)  # a new conversation
        composer = app.chat.composer
        await pilot.press("up")
        assert composer.text == "add a test for the lexer"
        await pilot.press("up")
        assert composer.text == "explain the parser"
        await pilot.press("down", "down")
        assert composer.text == ""
        await pilot.press("ctrl+r", *"pars", "enter")
        await pilot.pause()
        assert composer.text == "explain the parser"
