"""``stoa acp`` features beyond the basic walk: the editor's files (unsaved buffers read, edits
written through the editor), "always allow" writing the same rule the TUI's Always writes,
modes and models switched by the client, thinking and plan updates, and MCP servers passed by
the client joining the configured ones."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pytest
from acp import PROTOCOL_VERSION
from acp import schema as s

from tests.fake_server import FakeServer, reply, tool_call
from tests.fake_server.rules import ModelSpec
from tests.integration.acp_client import RecordingClient, acp_agent, client_capabilities, text_prompt
from tests.integration.test_shell_signals import living
from tests.mcp_servers.helpers import SERVER_SCRIPT, HttpTestServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "notes.md").write_text("- saved line\n")
    return ws


async def test_file_tools_read_the_editors_buffer_and_write_through_the_editor(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    notes = str(workspace / "notes.md")
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "notes.md"}, id="r1")]),
        reply(tool_calls=[tool_call("edit_file", {"path": "notes.md", "old_string": "- unsaved line", "new_string": "- edited line"}, id="e1")]),
        reply(tool_calls=[tool_call("write_file", {"path": "new.md", "content": "fresh\n"}, id="w1")]),
        reply(text="Edited."),
    )
    client = RecordingClient()
    client.buffers[notes] = "- unsaved line\n"  # typed in the editor, not saved
    async with acp_agent(client, stoa_env, workspace, "--mode", "auto") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities(fs=True))
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        answer = await conn.prompt(session_id=session.session_id, prompt=text_prompt("fix the notes"))
        assert answer.stop_reason == "end_turn"
    results = {r.id: r.text for r in fake_server.model_requests()[-1].tool_results}
    assert "unsaved line" in results["r1"] and "saved line" not in results["r1"].replace("unsaved", "")
    assert results["e1"].startswith("Edited notes.md"), results["e1"]
    assert ("read", notes) in client.fs_calls and ("write", notes) in client.fs_calls
    assert client.buffers[notes] == "- edited line\n"
    assert client.buffers[str(workspace / "new.md")] == "fresh\n"
    assert (workspace / "new.md").read_text() == "fresh\n"  # the test editor saves what it is given
    edit = next(u for u in client.of(s.ToolCallProgress) if u.tool_call_id == "e1" and u.status == "completed")
    diff = next(c for c in edit.content if isinstance(c, s.FileEditToolCallContent))
    assert (diff.old_text, diff.new_text) == ("- unsaved line\n", "- edited line\n")


async def test_a_write_the_editor_refuses_is_a_tool_error_and_the_file_stays(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "notes.md", "content": "replaced\n"}, id="w1")]),
        reply(text="The editor would not take it."),
    )
    client = RecordingClient()
    client.refuse_writes = "the buffer is read-only"
    async with acp_agent(client, stoa_env, workspace, "--mode", "auto") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities(fs=True))
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        await conn.prompt(session_id=session.session_id, prompt=text_prompt("replace the notes"))
    (result,) = fake_server.model_requests()[-1].tool_results
    assert result.is_error and "the editor did not write" in result.text and "read-only" in result.text
    assert (workspace / "notes.md").read_text() == "- saved line\n"


async def test_always_allow_writes_the_rule_the_tui_writes(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "notes.md", "content": "one\n"}, id="w1")]),
        reply(tool_calls=[tool_call("write_file", {"path": "notes.md", "content": "two\n"}, id="w2")]),
        reply(text="Written twice."),
    )
    client = RecordingClient(answer="allow_always")
    async with acp_agent(client, stoa_env, workspace, "--mode", "ask") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        await conn.prompt(session_id=session.session_id, prompt=text_prompt("write it twice"))
    (_question, options), = client.questions  # the second write was allowed by the rule, unasked
    always = next(o for o in options if o.kind == "allow_always")
    assert "Write(" in always.name
    rule = always.name.removeprefix("Always allow ")
    assert rule in (workspace / ".stoa" / "config.local.toml").read_text()
    assert (workspace / "notes.md").read_text() == "two\n"


async def test_modes_models_thinking_plans_and_the_editors_mcp_servers(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(
            thinking="Let me plan this.",
            tool_calls=[
                tool_call("update_plan", {"steps": [{"step": "look", "status": "in_progress"}, {"step": "echo", "status": "pending"}]}, id="p1"),
                tool_call("tools___echo", {"text": "from the editor's server"}, id="m1"),
            ],
        ),
        reply(text="Echoed."),
        reply(text="Planning only.", match={"model": "claude-haiku-4-5"}),
    )
    editor_server = s.McpServerStdio(name="tools", command=sys.executable, args=[str(SERVER_SCRIPT)], env=[])
    client = RecordingClient()
    async with acp_agent(client, stoa_env, workspace, "--mode", "auto") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[editor_server])
        session_id = session.session_id
        await conn.prompt(session_id=session_id, prompt=text_prompt("plan and echo"))
        assert "Let me plan this." in "".join(u.content.text for u in client.of(s.AgentThoughtChunk))
        (plan,) = client.of(s.AgentPlanUpdate)
        assert [(e.content, e.status) for e in plan.entries] == [("look", "in_progress"), ("echo", "pending")]
        echo = next(u for u in client.of(s.ToolCallProgress) if u.tool_call_id == "m1")
        assert echo.status == "completed"
        assert fake_server.model_requests()[-1].tool_results[-1].text == "from the editor's server"

        options = await conn.set_config_option(config_id="model", session_id=session_id, value="claude-haiku-4-5")
        assert next(o for o in options.config_options if o.id == "model").current_value == "claude-haiku-4-5"
        await conn.set_session_mode(session_id=session_id, mode_id="plan")
        await conn.prompt(session_id=session_id, prompt=text_prompt("just plan"))
        assert any(u.current_mode_id == "plan" for u in client.of(s.CurrentModeUpdate))
        bad = None
        try:
            await conn.set_config_option(config_id="model", session_id=session_id, value="no-such-model-9")
        except Exception as exc:  # the SDK raises the agent's error
            bad = exc
        assert bad is not None and "no-such-model-9" in str(bad)
    last = fake_server.model_requests()[-1]
    assert last.model == "claude-haiku-4-5"
    offered = {t["name"] for t in last.json.get("tools", [])}
    assert "read_file" in offered and "write_file" not in offered  # plan mode: read-only tools


async def test_the_projects_custom_commands_are_offered_and_run(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    command = workspace / ".stoa" / "commands" / "greet.md"
    command.parent.mkdir(parents=True)
    command.write_text("---\ndescription: Greet someone\nargument-hint: NAME\n---\nSay hello to $1.\n")
    fake_server.script(reply(text="Hello Bob!"))
    client = RecordingClient()
    async with acp_agent(client, stoa_env, workspace) as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        answer = await conn.prompt(session_id=session.session_id, prompt=text_prompt("/greet Bob"))
        assert answer.stop_reason == "end_turn"
        helped = await conn.prompt(session_id=session.session_id, prompt=text_prompt("/help"))
        assert helped.stop_reason == "end_turn"
    (offered,) = client.of(s.AvailableCommandsUpdate)
    greet = next(c for c in offered.available_commands if c.name == "greet")
    assert greet.description.startswith("Greet someone") and "NAME" in greet.input.root.hint
    assert fake_server.model_requests()[-1].user_texts[-1] == "Say hello to Bob."
    assert len(fake_server.model_requests()) == 1  # /help is answered without the model
    assert "/greet" in client.text() and "Hello Bob!" in client.text()


async def test_commands_run_in_the_editors_terminal_with_stoas_environment(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "echo hello from $0; env | grep -c API_KEY; exit 3"}, id="b1")]),
        reply(text="It said hello."),
        reply(tool_calls=[tool_call("execute_bash", {"command": "sleep 120"}, id="b2")]),
        reply(text="Stopped waiting."),
    )
    client = RecordingClient()
    async with acp_agent(client, stoa_env, workspace, "--mode", "auto") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities(terminal=True))
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        session_id = session.session_id
        await conn.prompt(session_id=session_id, prompt=text_prompt("say hello"))
        (result,) = fake_server.model_requests()[-1].tool_results
        assert result.is_error and "hello from bash" in result.text and "exit code 3" in result.text
        assert "\n0\n" in result.text  # no API key variable reached the command
        kind, argv = client.terminal_calls[0]
        assert kind == "create" and argv[:2] == ["env", "-i"] and "bash" in argv
        assert not any(a.startswith(("ANTHROPIC_API_KEY=", "OPENAI_API_KEY=")) for a in argv)
        shown = [u for u in client.of(s.ToolCallProgress) if u.tool_call_id == "b1"]
        assert all(isinstance(c, s.TerminalToolCallContent) for u in shown for c in u.content or [])
        assert shown[-1].status == "failed" and shown[-1].content[0].terminal_id == "term-1"
        assert [k for k, _ in client.terminal_calls] == ["create", "wait", "output", "release"]

        # A cancel while the command runs in the terminal: it is killed and the turn ends.
        client.terminal_started.clear()
        turn = asyncio.create_task(conn.prompt(session_id=session_id, prompt=text_prompt("wait a while")))
        await asyncio.wait_for(client.terminal_started.wait(), 60)
        await conn.cancel(session_id=session_id)
        assert (await asyncio.wait_for(turn, 60)).stop_reason == "cancelled"
        process, _output, _reader = client.terminals["term-2"]
        assert process.returncode is not None
        assert ("kill", "term-2") in client.terminal_calls and ("release", "term-2") in client.terminal_calls
        fake_server.script(reply(text="ok"))
        assert (await conn.prompt(session_id=session_id, prompt=text_prompt("go on"))).stop_reason == "end_turn"


async def test_what_a_command_detaches_in_the_editors_terminal_ends_with_it(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    seconds = random.randint(30_000, 39_999)
    # Their output goes elsewhere, so the terminal's output ends with the command.
    line = f"setsid sleep {seconds} >/dev/null 2>&1 & (setsid sh -c 'sleep {seconds + 1} &' >/dev/null 2>&1 &); echo started"
    fake_server.script(reply(tool_calls=[tool_call("execute_bash", {"command": line}, id="b1")]), reply(text="ok"))
    (workspace / ".stoa").mkdir(exist_ok=True)
    (workspace / ".stoa" / "config.local.toml").write_text('[permissions]\nallow = ["Bash"]\n')
    client = RecordingClient()
    sleeps = [["sleep", str(seconds)], ["sleep", str(seconds + 1)]]
    try:
        async with acp_agent(client, stoa_env, workspace, "--mode", "auto") as (conn, _process):
            await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities(terminal=True))
            session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
            await conn.prompt(session_id=session.session_id, prompt=text_prompt("start them"))
            (result,) = fake_server.model_requests()[-1].tool_results
            assert "started" in result.text and "detached" in result.text, result.text
            assert client.terminal_calls[0][0] == "create"
            assert [pid for argv in sleeps for pid in living(argv)] == []
    finally:
        for pid in [pid for argv in sleeps for pid in living(argv)]:
            os.kill(pid, signal.SIGKILL)


PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def test_a_prompt_with_an_image_a_file_link_and_embedded_context(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(reply(text="Seen all three."))
    client = RecordingClient()
    prompt = [
        s.TextContentBlock(type="text", text="Compare"),
        s.ResourceContentBlock(type="resource_link", uri=(workspace / "notes.md").as_uri(), name="notes.md"),
        s.TextContentBlock(type="text", text="with the selection and the picture."),
        s.EmbeddedResourceContentBlock(
            type="resource",
            resource=s.TextResourceContents(uri=(workspace / "src.py").as_uri(), text="def selected():\n    return 42\n"),
        ),
        s.ImageContentBlock(type="image", data=PNG_1PX, mime_type="image/png"),
    ]
    async with acp_agent(client, stoa_env, workspace) as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        answer = await conn.prompt(session_id=session.session_id, prompt=prompt)
        assert answer.stop_reason == "end_turn"
    sent = str(fake_server.model_requests()[-1].json)
    assert "Compare" in sent and "with the selection and the picture." in sent
    assert "- saved line" in sent  # the linked file, attached as an @ mention
    assert "def selected():" in sent and str(workspace / "src.py") in sent
    assert PNG_1PX in sent


async def test_reject_stops_the_turn_and_nothing_runs(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "notes.md", "content": "gone\n"}, id="w1")]),
    )
    client = RecordingClient(answer="reject_once")
    async with acp_agent(client, stoa_env, workspace, "--mode", "ask") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        answer = await conn.prompt(session_id=session.session_id, prompt=text_prompt("overwrite the notes"))
        assert answer.stop_reason == "end_turn"
        fake_server.script(reply(text="Understood."))
        again = await conn.prompt(session_id=session.session_id, prompt=text_prompt("never mind"))
        assert again.stop_reason == "end_turn"
    assert (workspace / "notes.md").read_text() == "- saved line\n"
    assert len(fake_server.model_requests()) == 2  # the no ended the first turn: no follow-up request
    failed = [u for u in client.of(s.ToolCallProgress) if u.tool_call_id == "w1"]
    assert failed[-1].status == "failed"
    assert not (workspace / ".stoa" / "config.local.toml").exists()


async def test_an_editors_http_mcp_server_with_its_headers(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    server = HttpTestServer("--require-token", "s3cret")
    try:
        fake_server.script(
            reply(tool_calls=[tool_call("web___add", {"a": 2, "b": 3}, id="m1")]),
            reply(text="Five."),
        )
        editor_server = s.HttpMcpServer(
            type="http", name="web", url=server.url, headers=[s.HttpHeader(name="Authorization", value="Bearer s3cret")]
        )
        client = RecordingClient()
        async with acp_agent(client, stoa_env, workspace, "--mode", "auto") as (conn, _process):
            await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
            session = await conn.new_session(cwd=str(workspace), mcp_servers=[editor_server])
            await conn.prompt(session_id=session.session_id, prompt=text_prompt("add them"))
        (result,) = fake_server.model_requests()[-1].tool_results
        assert not result.is_error and '"sum": 5' in result.text
    finally:
        server.stop()


async def test_session_start_hooks_run_and_unapproved_project_hooks_are_named(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / ".stoa").mkdir()
    (workspace / ".stoa" / "config.local.toml").write_text(
        '[[hooks.SessionStart]]\ncommand = "echo the build uses make"\n'
    )
    (workspace / ".stoa" / "config.toml").write_text('[[hooks.UserPromptSubmit]]\ncommand = "echo shared hook"\n')
    fake_server.script(reply(text="Noted."))
    client = RecordingClient()
    async with acp_agent(client, stoa_env, workspace) as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        await conn.prompt(session_id=session.session_id, prompt=text_prompt("how do I build?"))
    sent = str(fake_server.model_requests()[-1].json)
    assert "the build uses make" in sent  # SessionStart's stdout joined the context
    assert "shared hook" not in sent  # the project's shared hook was not approved
    assert "were not run" in client.text() and "--trust-project-hooks" in client.text()


async def test_the_tool_iteration_bound_ends_the_prompt_with_max_turn_requests(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "notes.md"}, id="r1")]),
        reply(text="Summary: I read the notes."),
    )
    client = RecordingClient()
    async with acp_agent(client, stoa_env, workspace, "--max-turns", "1") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        answer = await conn.prompt(session_id=session.session_id, prompt=text_prompt("read everything"))
    assert answer.stop_reason == "max_turn_requests"
    assert "Summary: I read the notes." in client.text()


async def test_an_image_for_a_model_that_takes_none_is_refused_before_any_request(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.models.append(ModelSpec(id="claude-blind-1", provider="anthropic", image_input=False))
    client = RecordingClient()
    async with acp_agent(client, stoa_env, workspace, "-m", "claude-blind-1") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        prompt = [s.TextContentBlock(type="text", text="look"), s.ImageContentBlock(type="image", data=PNG_1PX, mime_type="image/png")]
        with pytest.raises(Exception, match="claude-blind-1 does not take images"):
            await conn.prompt(session_id=session.session_id, prompt=prompt)
    assert fake_server.model_requests() == []


async def test_a_sub_agents_calls_show_in_its_task_call(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("task", {"description": "read the notes", "prompt": "What do the notes say?"}, id="t1")]),
        reply(tool_calls=[tool_call("read_file", {"path": "notes.md"}, id="c1")]),
        reply(text="They hold one saved line."),
        reply(text="The helper says: one saved line."),
    )
    client = RecordingClient()
    async with acp_agent(client, stoa_env, workspace, "--mode", "auto") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        answer = await conn.prompt(session_id=session.session_id, prompt=text_prompt("ask a helper"))
        assert answer.stop_reason == "end_turn"
    start = next(u for u in client.of(s.ToolCallStart) if u.tool_call_id == "t1")
    assert start.kind == "think" and "read the notes" in start.title
    assert not [u for u in client.of(s.ToolCallStart) if u.tool_call_id == "c1"]  # nested, not top-level
    shown = [c.content.text for u in client.of(s.ToolCallProgress) if u.tool_call_id == "t1" and u.status == "in_progress" for c in u.content]
    assert any("Read notes.md" in text for text in shown) and any(text.rstrip().endswith("done") for text in shown)
    done = [u for u in client.of(s.ToolCallProgress) if u.tool_call_id == "t1" and u.status == "completed"]
    assert done and "one saved line" in done[0].content[0].content.text


async def test_the_sessions_folder_counts_not_the_agents_own(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    """Editors start the agent anywhere; each session works in the folder it names."""
    elsewhere = workspace.parent / "elsewhere"
    elsewhere.mkdir()
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "hello.txt", "content": "hi\n"}, id="w1")]),
        reply(tool_calls=[tool_call("execute_bash", {"command": "pwd"}, id="b1")]),
        reply(text="Done."),
    )
    client = RecordingClient(answer="allow_always")
    async with acp_agent(client, stoa_env, elsewhere, "--mode", "ask") as (conn, _process):
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=client_capabilities())
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        await conn.prompt(session_id=session.session_id, prompt=text_prompt("write hello"))
        listed = await conn.list_sessions(cwd=str(workspace))
    assert (workspace / "hello.txt").read_text() == "hi\n" and not (elsewhere / "hello.txt").exists()
    assert "Write(" in (workspace / ".stoa" / "config.local.toml").read_text()
    assert not (elsewhere / ".stoa").exists()
    pwd = next(r for r in fake_server.model_requests()[-1].tool_results if r.id == "b1")
    assert str(workspace) in pwd.text
    assert [x.session_id for x in listed.sessions] == [session.session_id]
