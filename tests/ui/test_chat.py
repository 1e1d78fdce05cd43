"""The chat screen end to end: real agent, real tools, real SDKs, the fake provider server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette

from stoa.app.screens.help import HelpScreen
from stoa.core.config import load_config
from stoa.core.providers.types import Message, TextBlock
from stoa.core.runtime import Choices
from stoa.widgets.records import (
    AssistantRecord,
    NoticeRecord,
    ThinkingRecord,
    ToolRecord,
    UserRecord,
    WelcomeRecord,
)
from stoa.widgets.tool_call import ToolCallView
from tests.fake_server import FakeServer, fault, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for, wait_idle, widget_text

MARKDOWN = """# Result

Here is a table:

| name | value |
|------|-------|
| a    | 1     |

```python
print("hi")
```

- one
- two
"""


def records_of(app, kind):  # type: ignore[no-untyped-def]
    return [r for r in app.chat.log_view.records if isinstance(r, kind)]


def last_user_text(request) -> str:  # type: ignore[no-untyped-def]
    message = request.body["messages"][-1]
    assert message["role"] == "user"
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if b.get("type") == "text")


async def test_submit_streams_a_markdown_reply(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(reply(text=MARKDOWN, chunk_size=7))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.chat.log_view.records[0], WelcomeRecord)
        await pilot.press(*"hello there", "enter")
        await wait_idle(app)
        users = records_of(app, UserRecord)
        assert [u.text for u in users] == ["hello there"]
        replies = records_of(app, AssistantRecord)
        assert [r.text for r in replies] == [MARKDOWN]
        assert replies[0].done
        assert app.chat.composer.text == ""
        assert last_user_text(fake_server.model_requests()[0]) == "hello there"
        assert app.chat.status_bar.info.output_tokens > 0


async def test_thinking_is_shown_dimmed_and_folded(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(reply(thinking="Let me weigh the options.", text="Answer."))
    app = app_factory(effort="high")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"think", "enter")
        await wait_idle(app)
        (thinking,) = records_of(app, ThinkingRecord)
        assert thinking.text == "Let me weigh the options."
        assert thinking.done and not thinking.expanded
        assert [r.text for r in records_of(app, AssistantRecord)] == ["Answer."]


async def test_tool_call_row_expands_to_show_the_read(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "notes.txt").write_text("alpha\nbeta\n")
    fake_server.script(
        reply(text="Reading.", tool_calls=[tool_call("read_file", {"path": "notes.txt"})]),
        reply(text="It says alpha and beta."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"read notes", "enter")
        await wait_idle(app)
        (tool,) = records_of(app, ToolRecord)
        assert (tool.name, tool.status, tool.summary) == ("read_file", "ok", "notes.txt")
        assert not tool.expanded
        view = app.chat.log_view.widget_of(tool)
        assert isinstance(view, ToolCallView)
        assert "✓" in str(view._row.render())
        await pilot.press("ctrl+o")
        assert tool.expanded and view.has_class("-expanded")
        assert "alpha" in str(view._body.render())  # type: ignore[union-attr]
        await pilot.click(view._row)
        assert not tool.expanded


async def test_edit_shows_a_coloured_diff(app_factory: AppFactory, fake_server: FakeServer, workspace: Path) -> None:
    (workspace / "app.py").write_text("x = 1\ny = 2\n")
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "app.py"})]),
        reply(tool_calls=[tool_call("edit_file", {"path": "app.py", "old_string": "y = 2", "new_string": "y = 3"})]),
        reply(text="Changed y."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"change y", "enter")
        await wait_idle(app)
        assert (workspace / "app.py").read_text() == "x = 1\ny = 3\n"
        edit = next(r for r in records_of(app, ToolRecord) if r.name == "edit_file")
        assert edit.status == "ok"
        assert edit.display is not None and edit.display["kind"] == "diff"
        view = app.chat.log_view.widget_of(edit)
        assert isinstance(view, ToolCallView)
        assert "+1 −1" in str(view._row.render())
        view.action_toggle_details()
        await pilot.pause()
        rendered = str(view._body.render())  # type: ignore[union-attr]
        assert "-y = 2" in rendered and "+y = 3" in rendered


async def test_failed_tool_shows_the_error_expanded(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": "missing.txt"})]), reply(text="No file."))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"read it", "enter")
        await wait_idle(app)
        (tool,) = records_of(app, ToolRecord)
        assert tool.status == "error" and tool.expanded
        assert "not found" in tool.result_text


async def test_plan_panel_appears_and_toggles(app_factory: AppFactory, fake_server: FakeServer) -> None:
    steps = [
        {"step": "Read the code", "status": "completed"},
        {"step": "Fix the bug", "status": "in_progress"},
        {"step": "Run the tests", "status": "pending"},
    ]
    fake_server.script(reply(tool_calls=[tool_call("update_plan", {"steps": steps})]), reply(text="On it."))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.chat.plan_panel
        assert not panel.display or not panel.shown
        await pilot.press(*"plan it", "enter")
        await wait_idle(app)
        assert panel.shown and panel.region.width > 0
        assert [s.step for s in panel.steps] == ["Read the code", "Fix the bug", "Run the tests"]
        assert panel.border_subtitle == "1/3 done · 1 active"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not panel.shown and panel.region.width == 0
        await pilot.press("ctrl+t")
        assert panel.shown


async def test_escape_interrupts_mid_stream_and_the_next_turn_works(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_server.script(
        reply(text="word " * 400, chunk_size=5, delay_per_event=0.02),
        reply(text="Fresh answer."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"long story", "enter")
        await wait_for(lambda: any(r.text for r in records_of(app, AssistantRecord)), what="streaming")
        await pilot.press("escape")
        await wait_idle(app)
        notices = records_of(app, NoticeRecord)
        assert any(n.title == "Interrupted" for n in notices)
        (partial,) = records_of(app, AssistantRecord)
        assert partial.done and len(partial.text) < len("word " * 400)
        await pilot.press(*"again", "enter")
        await wait_idle(app)
        assert records_of(app, AssistantRecord)[-1].text == "Fresh answer."
        assert last_user_text(fake_server.model_requests()[-1]).endswith("again")


async def test_ctrl_c_interrupts_while_busy(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="slow " * 300, chunk_size=5, delay_per_event=0.02))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"go", "enter")
        await wait_for(lambda: any(r.text for r in records_of(app, AssistantRecord)), what="streaming")
        await pilot.press("ctrl+c")
        await wait_idle(app)
        assert any(n.title == "Interrupted" for n in records_of(app, NoticeRecord))
        assert app.is_running


async def test_message_typed_while_busy_is_steered_in_at_the_tool_boundary(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("a\n")
    # The stream stalls after its first words: a quiet window to type in while the turn runs.
    fake_server.script(
        fault(
            "stall",
            after_events=4,
            seconds=2.0,
            reply=reply(text="Looking at a first.", chunk_size=4, tool_calls=[tool_call("read_file", {"path": "a.txt"})]),
        ),
        reply(text="Checked both."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"look", "enter")
        await wait_for(lambda: any(r.text for r in records_of(app, AssistantRecord)), what="streaming")
        app.chat.composer.set_text("also check b")
        await pilot.press("enter")
        assert app.chat.queued == ["also check b"], (app.chat.busy, app.chat.composer.text, [
            (type(r).__name__, getattr(r, "text", "")[:20]) for r in app.chat.log_view.records])
        assert app.chat.queue_bar.has_class("-visible")
        assert app.chat.status_bar.info.queued == 1
        await wait_idle(app)
        steered = [u for u in records_of(app, UserRecord) if u.steering]
        assert [u.text for u in steered] == ["also check b"]
        assert app.chat.queued == [] and not app.chat.queue_bar.has_class("-visible")
        second = fake_server.model_requests()[1]
        assert "also check b" in last_user_text(second)
        assert len(fake_server.model_requests()) == 2


async def test_message_queued_during_a_reply_without_tools_runs_next(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_server.script(
        fault("stall", after_events=4, seconds=1.5, reply=reply(text="First answer, slowly.", chunk_size=4)),
        reply(text="Second answer."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"one", "enter")
        await wait_for(lambda: any(r.text for r in records_of(app, AssistantRecord)), what="streaming")
        app.chat.composer.set_text("two")
        await pilot.press("enter")
        assert app.chat.queued == ["two"]
        await wait_for(lambda: len(fake_server.model_requests()) == 2, what="the queued turn")
        await wait_idle(app)
        assert [u.text for u in records_of(app, UserRecord)] == ["one", "two"]
        assert last_user_text(fake_server.model_requests()[1]) == "two"
        assert records_of(app, AssistantRecord)[-1].text == "Second answer."


async def test_up_pops_the_last_queued_message_back_into_the_editor(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_server.script(fault("stall", after_events=4, seconds=30, reply=reply(text="Busy busy busy.", chunk_size=4)))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"start", "enter")
        await wait_for(lambda: any(r.text for r in records_of(app, AssistantRecord)), what="streaming")
        for text in ("first", "oops"):
            app.chat.composer.set_text(text)
            await pilot.press("enter")
        assert app.chat.queued == ["first", "oops"]
        await pilot.press("up")
        assert app.chat.composer.text == "oops"
        assert app.chat.queued == ["first"]
        assert app.chat.agent.pending_steering == ("first",)
        await pilot.press("escape")  # interrupt: "first" comes back to the editor too
        await wait_idle(app)
        assert app.chat.composer.text == "first\n\noops"
        assert len(fake_server.model_requests()) == 1


async def test_retry_discards_the_partial_reply(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(
        fault("disconnect", after_events=6, reply=reply(text="PARTIAL " * 20, chunk_size=4)),
        reply(text="Clean answer."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hi", "enter")
        await wait_idle(app)
        assert [r.text for r in records_of(app, AssistantRecord)] == ["Clean answer."]
        assert not any("retrying" in n.text for n in records_of(app, NoticeRecord))


async def test_provider_failure_shows_inline_and_keeps_the_text(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_server.script(fault("bad_request", message="messages: something the provider did not like"))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"please work", "enter")
        await wait_idle(app)
        (error,) = [n for n in records_of(app, NoticeRecord) if n.level == "error"]
        assert error.title == "Request rejected"
        assert error.hint is not None and "back in the editor" in error.hint
        assert app.chat.composer.text == "please work"
        assert len(app.chat.agent.history) == 0
        fake_server.script(reply(text="Now it works."))
        await pilot.press("enter")
        await wait_idle(app)
        assert records_of(app, AssistantRecord)[-1].text == "Now it works."
        assert last_user_text(fake_server.model_requests()[-1]) == "please work"


async def test_unknown_slash_command_sends_nothing(app_factory: AppFactory, fake_server: FakeServer) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"/frobnicate now", "enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        (error,) = [n for n in records_of(app, NoticeRecord) if n.level == "error"]
        assert "unknown command /frobnicate" in error.text
        assert fake_server.model_requests() == []
        assert records_of(app, UserRecord) == []


async def test_double_slash_sends_a_message_starting_with_a_slash(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_server.script(reply(text="ok"))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"//etc is a folder", "enter")
        await wait_idle(app)
        assert last_user_text(fake_server.model_requests()[0]) == "/etc is a folder"


async def test_help_lists_keys_and_commands(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"/help", "enter")
        await wait_for(lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        text = " ".join(widget_text(s) for s in app.screen.query(".help-table"))
        for expected in ("/clear", "/exit", "/mode", "Shift+Enter", "Ctrl+O", "Esc"):
            assert expected in text
        await pilot.press("escape")
        assert app.screen is app.chat


async def test_command_palette_lists_slash_commands(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await wait_for(lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"clear")
        await pilot.pause(0.3)
        from textual.widgets import OptionList

        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("/clear" in label for label in labels)


async def test_clear_starts_a_new_conversation(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="first"))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hi", "enter")
        await wait_idle(app)
        assert len(app.chat.agent.history) == 2
        await pilot.press(*"/clear", "enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert len(app.chat.agent.history) == 0
        assert [type(r) for r in app.chat.log_view.records] == [WelcomeRecord]


async def test_clear_after_resuming_leaves_only_the_new_conversation_on_screen(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    """A resumed conversation mounts its tail lazily; /clear must unmount all of it (clearing
    scrolls to the top, which used to mount a batch of the old records again)."""
    history: list[Message] = []
    for i in range(100):
        history.append(Message(role="user", content=[TextBlock(text=f"question {i}")]))
        history.append(Message(role="assistant", content=[TextBlock(text=f"answer {i}")]))
    app = app_factory(history=history)
    async with app.run_test(size=SIZE) as pilot:
        log = app.chat.log_view
        await pilot.pause()
        assert log.unmounted_count > 0
        await pilot.press(*"/clear", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert [type(r) for r in log.records] == [WelcomeRecord]
        shown = [type(w).__name__ for w in log.children if w.display]
        assert shown == ["WelcomeBanner"], shown
        assert "question" not in widget_text(log)


async def test_ctrl_l_redraws_and_keeps_the_conversation(
    app_factory: AppFactory, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+L is a redraw, as in a shell (a full repaint of the terminal); it used to wipe the
    conversation without asking. /clear is the command that starts a new one."""
    from textual._compositor import Compositor

    full_updates: list[int] = []
    render_full_update = Compositor.render_full_update

    def counting(self: Compositor, simplify: bool = False) -> object:
        full_updates.append(1)
        return render_full_update(self, simplify=simplify)

    monkeypatch.setattr(Compositor, "render_full_update", counting)
    fake_server.script(reply(text="first"))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hi", "enter")
        await wait_idle(app)
        records = list(app.chat.log_view.records)
        before = len(full_updates)
        await pilot.press("ctrl+l")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert len(full_updates) > before
        assert len(app.chat.agent.history) == 2
        assert app.chat.log_view.records == records


async def test_unknown_config_keys_are_a_notice_also_after_a_resume(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    config_file = workspace / ".stoa" / "config.toml"
    config_file.parent.mkdir()
    config_file.write_text('efort = "high"\n')
    config = load_config(workspace, env=make_env(tmp_path, fake_server))
    expected = f"{config_file}:1: unknown setting 'efort' (did you mean 'effort'?); it is ignored"
    history = [Message(role="user", content=[TextBlock(text="earlier")])]
    for app in (app_factory(config), app_factory(config, history=history)):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            notices = [r for r in records_of(app, NoticeRecord) if r.title == "Configuration"]
            assert [n.text for n in notices] == [expected]
            assert notices[0].level == "warning"


async def test_shift_tab_cycles_the_trust_mode(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        assert app.runtime.policy.mode == "auto"
        await pilot.press("shift+tab")
        assert app.runtime.policy.mode == "plan"
        assert " PLAN " in app.chat.status_bar.build_line(200).plain
        await pilot.press(*"/mode ask", "enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.runtime.policy.mode == "ask"
        await pilot.press(*"/mode nonsense", "enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.runtime.policy.mode == "ask"
        assert "unknown trust mode" in records_of(app, NoticeRecord)[-1].text


async def test_quit_keys(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+d")
        await pilot.pause()
    assert app.return_code == 0

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"/q", "enter")
        await pilot.pause()
    assert app.return_code == 0


async def test_missing_key_says_what_to_set(tmp_path: Path, workspace: Path, fake_server: FakeServer) -> None:
    from tests.ui.conftest import fixed_clock

    # An OpenAI key but a Claude model: no first-run onboarding, but this model's key is missing.
    env = make_env(tmp_path, fake_server, keys=False) | {"OPENAI_API_KEY": "test-key"}
    config = load_config(workspace, env=env)
    from stoa.app.tui import make_app

    app = make_app(
        config, choices=Choices(model="claude-sonnet-4-6"), clock=fixed_clock, animations=False, cursor_blink=False
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        (warning,) = records_of(app, NoticeRecord)
        assert warning.title == "No API key for anthropic"
        assert "ANTHROPIC_API_KEY" in (warning.hint or "")
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        error = records_of(app, NoticeRecord)[-1]
        assert error.level == "error" and "ANTHROPIC_API_KEY" in error.text
        assert app.chat.composer.text == "hello"
        assert fake_server.model_requests() == []


async def test_tiny_terminal_keeps_working(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="small"))
    app = app_factory()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.press(*"hi", "enter")
        await wait_idle(app)
        assert records_of(app, AssistantRecord)[-1].text == "small"
        prompt = app.chat.composer.input
        assert prompt.region.height >= 1 and prompt.has_focus
        assert app.chat.status_bar.region.height == 1
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert app.chat.log_view.region.height > 20


async def test_resumed_long_conversation_mounts_only_its_tail(app_factory: AppFactory, fake_server: FakeServer) -> None:
    history: list[Message] = []
    for i in range(500):
        history.append(Message(role="user", content=[TextBlock(text=f"question {i}")]))
        history.append(Message(role="assistant", content=[TextBlock(text=f"answer **{i}**")]))
    fake_server.script(reply(text="still here"))
    app = app_factory(history=history)
    async with app.run_test(size=SIZE) as pilot:
        log = app.chat.log_view
        assert len(log.records) == 1000
        assert len(log.mounted_records) <= 40
        assert app.chat.prompt_history[-1] == "question 499"
        await pilot.press(*"next", "enter")
        await wait_idle(app)
        assert records_of(app, AssistantRecord)[-1].text == "still here"
        assert len(fake_server.model_requests()[0].body["messages"]) == 1001


def _processes_with(marker: str) -> list[str]:
    import subprocess

    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


async def test_shell_output_streams_into_the_tool_row(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "for i in 1 2 3; do echo line $i; done"})]),
        reply(text="Printed three lines."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"count", "enter")
        await wait_idle(app)
        (tool,) = records_of(app, ToolRecord)
        assert tool.status == "ok"
        assert tool.output == ["line 1", "line 2", "line 3"]
        assert not tool.expanded
        view = app.chat.log_view.widget_of(tool)
        assert isinstance(view, ToolCallView)
        view.action_toggle_details()
        await pilot.pause()
        assert "line 3" in widget_text(view._body)


async def test_escape_mid_tool_kills_the_command_and_keeps_a_valid_history(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    marker = "31.4159"
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": f"echo started; sleep {marker}"})]),
        reply(text="After the interrupt."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"run it", "enter")
        await wait_for(lambda: any(t.output for t in records_of(app, ToolRecord)), what="shell output")
        assert _processes_with(marker)
        await pilot.press("escape")
        await wait_idle(app)
        (tool,) = records_of(app, ToolRecord)
        assert tool.status == "interrupted"
        await wait_for(lambda: not _processes_with(marker), limit=5, what="the shell command to die")
        assert any(n.title == "Interrupted" for n in records_of(app, NoticeRecord))
        await pilot.press(*"go on", "enter")
        await wait_idle(app)
        assert records_of(app, AssistantRecord)[-1].text == "After the interrupt."
        # The interrupted call was answered (the protocol checker also verifies every request).
        second = fake_server.model_requests()[-1].body["messages"]
        results = [b for m in second for b in (m["content"] if isinstance(m["content"], list) else [])
                   if b.get("type") == "tool_result"]
        assert len(results) == 1


async def test_ctrl_c_during_a_permission_prompt_closes_it_and_interrupts(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    from stoa.app.screens.permission import PermissionScreen

    (workspace / "keep.txt").write_text("precious\n")
    fake_server.script(
        reply(tool_calls=[tool_call("delete_file", {"path": "keep.txt"})]),
        reply(text="Fine, I will not."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"delete it", "enter")
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the permission modal")
        (waiting,) = records_of(app, ToolRecord)
        assert waiting.awaiting_approval
        view = app.chat.log_view.widget_of(waiting)
        assert isinstance(view, ToolCallView) and "waiting for your approval" in widget_text(view._row)
        await pilot.press("ctrl+c")
        await wait_idle(app)
        assert app.screen is app.chat
        assert (workspace / "keep.txt").exists()
        (tool,) = records_of(app, ToolRecord)
        assert tool.status == "interrupted" and not tool.awaiting_approval
        assert any(n.title == "Interrupted" for n in records_of(app, NoticeRecord))
        await pilot.press(*"ok", "enter")
        await wait_idle(app)
        assert records_of(app, AssistantRecord)[-1].text == "Fine, I will not."


async def test_scrolling_up_while_streaming_releases_the_anchor(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    long_text = "".join(f"Line {i} of a long answer.\n\n" for i in range(60))
    fake_server.script(
        fault("stall", after_events=120, seconds=1.5, reply=reply(text=long_text, chunk_size=8)),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        log = app.chat.log_view
        await pilot.press(*"tell me", "enter")
        await wait_for(lambda: log.max_scroll_y > 5, what="a reply taller than the view")
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y
        assert app.chat.busy  # the stream is stalled half way: more is coming
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        await wait_idle(app)
        assert log.scroll_y < log.max_scroll_y  # the view stayed where the person left it
        fake_server.script(reply(text="short"))
        await pilot.press(*"next", "enter")
        await wait_idle(app)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y  # sending follows the bottom again


async def test_ctrl_c_copies_selected_text_from_a_reply(app_factory: AppFactory, fake_server: FakeServer) -> None:
    from textual.selection import Selection

    fake_server.script(reply(text="copy **this** text"))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hi", "enter")
        await wait_idle(app)
        (record,) = records_of(app, AssistantRecord)
        view = app.chat.log_view.widget_of(record)
        assert view is not None
        app.screen.selections = {view: Selection(None, None)}
        await pilot.press("ctrl+c")
        assert app.clipboard == "copy this text"
        assert app.is_running


async def test_typing_with_the_log_focused_goes_to_the_composer(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.chat.log_view.focus()
        await pilot.press("h", "i")
        assert app.chat.composer.text == "hi"
        assert app.chat.composer.input.has_focus


async def test_a_tool_row_times_the_run_not_the_wait_for_approval(
    config: Any, fake_server: FakeServer, workspace: Path
) -> None:
    from stoa.app.screens.permission import PermissionScreen
    from stoa.app.tui import make_app
    from stoa.core.runtime import build_runtime
    from tests.ui.conftest import answer_permission

    now = [1_000.0]
    (workspace / "old.txt").write_text("old\n")
    fake_server.script(reply(tool_calls=[tool_call("delete_file", {"path": "old.txt"})]), reply(text="Deleted."))
    runtime = build_runtime(config, Choices())
    app = make_app(config, runtime=runtime, clock=lambda: now[0], animations=False, cursor_blink=False,
                   detect_sandbox=False)  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"clean up", "enter")
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the permission modal")
        now[0] += 95.0  # the person thinks it over
        await answer_permission(app, pilot, "1")
        await wait_idle(app)
        (tool,) = records_of(app, ToolRecord)
        assert tool.status == "ok" and not (workspace / "old.txt").exists()
        assert tool.elapsed is not None and tool.elapsed < 1.0, tool.elapsed
