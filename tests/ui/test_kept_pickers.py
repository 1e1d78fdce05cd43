"""Pickers kept between opens (``stoa.app.screens.kept``): the second open reuses the screen of
the first and shows what a first open would, with this open's data: the filter emptied, every
row, the current model (or effort, or nothing) highlighted, the key manager's paste box closed,
the resume picker's sessions read again (and not held while it is closed)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, OptionList

from stoa.app.screens.keys import KeyManagerScreen
from stoa.app.screens.model_picker import EffortPickerScreen, ModelPickerScreen
from stoa.app.screens.resume import ResumePickerScreen
from tests.fake_server import FakeServer, reply
from tests.ui.conftest import SIZE, AppFactory, wait_for, wait_idle


def highlighted(screen: Any, list_id: str) -> str | None:
    option = screen.query_one(f"#{list_id}", OptionList).highlighted_option
    return None if option is None else option.id


async def test_the_model_picker_opens_again_as_new_with_the_switched_model(app_factory: AppFactory) -> None:
    app = app_factory(model="claude-sonnet-4-6", effort="high")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await wait_for(lambda: isinstance(app.screen, ModelPickerScreen), what="the model picker")
        first = app.screen
        assert isinstance(first, ModelPickerScreen)
        every_row = first.row_list.option_count
        await pilot.press(*"gpt mini")
        await wait_for(lambda: first.row_list.option_count < every_row, what="the filter")
        await pilot.press("enter")
        await wait_for(lambda: app.runtime.agent.model.id == "gpt-5.4-mini", what="the switch")
        await wait_for(lambda: app.screen is app.chat, what="the chat")

        await pilot.press("f2")
        await wait_for(lambda: isinstance(app.screen, ModelPickerScreen), what="the model picker again")
        await pilot.pause()
        assert app.screen is first
        assert first.query_one("#filter", Input).value == "" and app.focused is first.query_one("#filter")
        assert first.row_list.option_count == every_row
        assert highlighted(first, "models") == "gpt-5.4-mini"
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.chat, what="the chat")
        assert app.runtime.agent.model.id == "gpt-5.4-mini"


async def test_the_effort_picker_lists_the_levels_of_the_model_now(app_factory: AppFactory) -> None:
    app = app_factory(model="claude-sonnet-4-6", effort="high")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, EffortPickerScreen), what="the effort picker")
        first = app.screen
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.chat, what="the chat")
        app.chat.run_slash("/model gpt-5.4-mini")
        await wait_for(lambda: app.runtime.agent.model.id == "gpt-5.4-mini", what="the switch")
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, EffortPickerScreen), what="the effort picker again")
        await pilot.pause()
        assert app.screen is first
        model = app.runtime.agent.model
        options = first.query_one("#efforts", OptionList)
        assert [o.id for o in options.options] == list(model.efforts)
        assert highlighted(first, "efforts") == app.runtime.agent.effort
        assert "gpt-5.4-mini" in str(first.query_one(".picker-title").render())
        await pilot.press("escape")


async def test_the_key_manager_opens_again_with_its_paste_box_closed(app_factory: AppFactory) -> None:
    app = app_factory(model="claude-sonnet-4-6")
    async with app.run_test(size=SIZE) as pilot:
        app.chat.run_slash("/key anthropic")
        await wait_for(lambda: getattr(app.focused, "id", None) == "key-input", what="the paste box")
        first = app.screen
        assert isinstance(first, KeyManagerScreen)
        await pilot.press(*"sk-ant-half")
        await pilot.press("escape", "escape")  # the box, then the manager
        await wait_for(lambda: app.screen is app.chat, what="the chat")

        app.chat.run_slash("/key")
        await wait_for(lambda: isinstance(app.screen, KeyManagerScreen), what="the key manager again")
        await pilot.pause()
        assert app.screen is first
        assert first.selected is None and first.changed == set()
        assert first.query_one("#key-input", Input).value == ""
        assert first.query_one("#key-entry").has_class("-hidden")
        assert not first.query_one("#key-message").display
        assert app.focused is first.query_one("#providers")
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.chat, what="the chat")


async def test_the_resume_picker_reads_the_sessions_at_each_open(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="one"), reply(text="two"))
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await pilot.press(*"first session", "enter")
        await wait_idle(app)
        app.chat.run_slash("/resume")
        await wait_for(lambda: isinstance(app.screen, ResumePickerScreen), what="the resume picker")
        first = app.screen
        assert isinstance(first, ResumePickerScreen)
        await wait_for(lambda: first.row_list.option_count == 1, what="one session")
        await pilot.press(*"nothing like it")
        await wait_for(lambda: first.row_list.option_count == 0, what="the filter")
        await pilot.press("escape")
        await wait_for(lambda: app.screen is app.chat, what="the chat")
        await wait_for(lambda: first.sessions == [], what="the sessions let go")  # not held while closed

        app.chat.run_slash("/clear")  # a second session
        await pilot.pause()
        await pilot.press(*"second session", "enter")
        await wait_idle(app)
        app.chat.run_slash("/resume")
        await wait_for(lambda: isinstance(app.screen, ResumePickerScreen), what="the resume picker again")
        await pilot.pause()
        assert app.screen is first
        assert first.query_one("#filter", Input).value == ""
        assert first.row_list.option_count == 2
        assert first.current_session_id == app.runtime.session_id
        await pilot.press("escape")
