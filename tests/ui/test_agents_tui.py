"""Sub-agents and background jobs in the TUI: the nested view under a task row, the activity
bar above the status bar, /ps and /kill, a sub-agent's permission question naming it, and
/agents with a broken file. Real processes; the model is the fake server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from stoa.widgets.records import NoticeRecord
from tests.fake_server import FakeServer, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, answer_permission, wait_for, wait_idle

USAGE = {"input_tokens": 900, "output_tokens": 120, "cache_read_tokens": 0}


def is_sub(request: Any) -> bool:
    return "You are a sub-agent of Stoa" in request.system


def sub_with(marker: str) -> Any:
    return lambda request: is_sub(request) and marker in " ".join(request.user_texts)


def parent(request: Any) -> bool:
    return not is_sub(request)


@pytest.fixture(autouse=True)
def titles(fake_server: FakeServer) -> None:
    fake_server.add_rule(reply(text="A title"), match=lambda request: "Title:" in str(request.body))


async def ready(pilot: Pilot[Any]) -> Any:
    app: Any = pilot.app
    await wait_for(lambda: app.chat.is_mounted and app.chat.composer.input.has_focus, what="focus")
    return app


async def send(pilot: Pilot[Any], text: str) -> Any:
    app = await ready(pilot)
    app.chat.composer.set_text(text)
    await pilot.press("enter")
    await wait_idle(app)
    return app


def notices(app: Any) -> list[str]:
    return [r.text for r in app.chat.log_view.records if isinstance(r, NoticeRecord)]


def _two_sub_agents(fake_server: FakeServer, workspace: Path) -> None:
    (workspace / "app.py").write_text("def main():\n    print('hi')\n")
    (workspace / "test_app.py").write_text("from app import main\n")
    task = {"description": "find the tests", "prompt": "TASK-TESTS: where are the tests?", "agent": "explore"}
    review = {"description": "review app.py", "prompt": "TASK-REVIEW: review app.py"}
    fake_server.script(
        reply(text="I'll ask two helpers.", tool_calls=[tool_call("task", task), tool_call("task", review)], **USAGE),
        reply(tool_calls=[tool_call("glob_files", {"pattern": "test_*.py"})], match=sub_with("TASK-TESTS"), **USAGE),
        reply(tool_calls=[tool_call("read_file", {"path": "app.py"})], match=sub_with("TASK-REVIEW"), **USAGE),
        reply(text="The tests are in test_app.py.", match=sub_with("TASK-TESTS"), **USAGE),
        reply(text="app.py looks fine: main() prints hi.", match=sub_with("TASK-REVIEW"), **USAGE),
        reply(text="Tests: test_app.py. Review: fine.", match=parent, **USAGE),
    )


def test_nested_sub_agent_view(snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer, workspace: Path) -> None:
    """Two task rows (explore and general), opened with Ctrl+O: under each, the sub-agent's id,
    name and model, its calls (glob_files, read_file) with ✓, its final message, then the result
    in bold; the parent's reply after them."""
    _two_sub_agents(fake_server, workspace)

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "Where are the tests, and is app.py fine?")
        await pilot.press("ctrl+o")
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_activity_bar(snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer) -> None:
    """Two background jobs started by the model: above the status bar, one line each (⚙ id, the
    command, its last output line in italics, its age 2h05m), then the /ps and /kill hint."""
    serve = "echo Listening on http://localhost:5173; exec sleep 3000"
    watch = "echo watching src/; exec sleep 3001"
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("execute_bash", {"command": serve, "background": True}),
                tool_call("execute_bash", {"command": watch, "background": True}),
            ],
            **USAGE,
        ),
        reply(text="Both are running.", **USAGE),
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await send(pilot, "Start the dev server and the watcher")
        jobs = app.runtime.agent.jobs
        await wait_for(lambda: all(j.last_line for j in jobs.jobs()) and len(jobs.jobs()) == 2, what="output")
        for job in jobs.jobs():
            job.started = time.monotonic() - (2 * 3600 + 5 * 60 + 30)
        app.chat.activity_bar.poll()
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


async def test_ps_and_kill(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "exec sleep 3002", "background": True})]),
        reply(text="Started."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "start it")
        jobs = app.runtime.agent.jobs
        assert [j.id for j in jobs.running()] == ["b1"]
        app.chat.activity_bar.poll()
        assert [i.id for i in app.chat.activity_bar.items] == ["b1"]
        app.chat.run_slash("/ps")
        await wait_for(lambda: any("b1" in n and "sleep 3002" in n for n in notices(app)), what="/ps")
        app.chat.run_slash("/kill b9")
        await wait_for(lambda: any("no background job 'b9'" in n for n in notices(app)), what="/kill b9")
        app.chat.run_slash("/kill b1")
        await wait_for(lambda: any("[job b1 was killed" in n for n in notices(app)), what="/kill b1")
        assert jobs.running() == []
        app.chat.activity_bar.poll()
        assert not app.chat.activity_bar.has_class("-active")


async def test_a_sub_agent_permission_question_names_it(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    task = {"description": "make a file", "prompt": "TASK-WRITE: create notes.txt"}
    fake_server.script(
        reply(tool_calls=[tool_call("task", task)], match=parent),
        reply(tool_calls=[tool_call("write_file", {"path": "notes.txt", "content": "x"})], match=is_sub),
        reply(text="The helper could not write.", match=parent),
    )
    app = app_factory(mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.chat.composer.set_text("make notes")
        await pilot.press("enter")
        await wait_for(lambda: type(app.screen).__name__ == "PermissionScreen", what="the question")
        agent_line = app.screen.query_one("#permission-agent")
        assert "sub-agent general (a1): make a file" in str(agent_line.render())
        await answer_permission(app, pilot, "escape")
        await wait_idle(app)
    last = fake_server.model_requests()[-1]
    assert "the user rejected a tool call of the sub-agent a1 (general)" in last.tool_results[-1].text
    assert not (workspace / "notes.txt").exists()


async def test_agents_lists_a_broken_file(app_factory: AppFactory, workspace: Path) -> None:
    folder = workspace / ".stoa" / "agents"
    folder.mkdir(parents=True)
    (folder / "bad.md").write_text("---\ndescription: x\ntools: Frobnicate\n---\nx\n")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.chat.run_slash("/agents")
        await wait_for(lambda: any("⚠ bad (project)" in n for n in notices(app)), what="/agents")
        text = next(n for n in notices(app) if "⚠ bad" in n)
        assert "unknown tool Frobnicate" in text and "explore (built-in)" in text


async def test_escape_stops_the_parent_and_its_sub_agents(app_factory: AppFactory, fake_server: FakeServer) -> None:
    task = {"description": "wait", "prompt": "TASK-WAIT: wait"}
    fake_server.script(
        reply(tool_calls=[tool_call("task", task)], match=parent),
        reply(tool_calls=[tool_call("execute_bash", {"command": "sleep 30"})], match=is_sub),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.chat.composer.set_text("wait for it")
        await pilot.press("enter")
        subagents = app.runtime.subagents
        await wait_for(lambda: any(s.last.startswith("execute_bash") for s in subagents.running()), what="the sub-agent")
        app.chat.activity_bar.poll()
        assert [i.id for i in app.chat.activity_bar.items] == ["a1"]
        await pilot.press("escape")
        await wait_idle(app)
        assert subagents.running() == []
        fake_server.script(reply(text="Stopped.", match=parent))
        await send(pilot, "ok")
    # The protocol checker (after the test) reads every request: the histories stayed valid.
    assert fake_server.model_requests()[-1].tool_results[-1].is_error


async def test_a_resumed_session_shows_the_sub_agents_calls(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    from stoa.widgets.records import ToolRecord

    _two_sub_agents(fake_server, workspace)
    app = app_factory(sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await send(pilot, "Where are the tests, and is app.py fine?")
        await pilot.press("ctrl+d")
        await pilot.pause()
    again = app_factory(sessions=True, continue_latest=True)
    async with again.run_test(size=SIZE):
        await wait_for(lambda: again.chat.ready, what="the resumed session")
        tasks = [r for r in again.chat.log_view.records if isinstance(r, ToolRecord) and r.name == "task"]
        assert [list(t.nested.values()) for t in tasks] == [
            ["explore (a1)", "✓ glob_files  test_*.py"],
            ["general (a2)", "✓ read_file  app.py"],
        ]
