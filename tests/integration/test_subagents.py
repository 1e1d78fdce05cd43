"""Sub-agents against the fake server: the task tool's result is the sub-agent's final text; the
sub-agent's requests never carry the parent's conversation (isolation); two task calls of one
reply run at the same time (each sub-agent's shell command waits for the other's file, so run
one after the other they would time out); bounds (iterations, depth), read-only agents in plan
mode, an unknown agent, a failing sub-agent, and Esc with valid histories everywhere (the
protocol checker reads every request after each test)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stoa.core import events as ev
from stoa.core.config import load_config
from stoa.core.permissions.approver import RefusingApprover
from stoa.core.runtime import Choices, Runtime, build_runtime
from tests.fake_server import FakeServer, fault, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]


def is_sub(request: Any) -> bool:
    return "You are a sub-agent of Stoa" in request.system


def parent(request: Any) -> bool:
    return not is_sub(request)


def sub_with(marker: str) -> Any:
    return lambda request: is_sub(request) and marker in " ".join(request.user_texts)


def runtime_for(tmp_path: Path, server: FakeServer, *, mode: str = "auto", config_text: str = "") -> Runtime:
    ws = tmp_path / "ws"
    (ws / ".stoa").mkdir(parents=True, exist_ok=True)
    (ws / ".stoa" / "config.toml").write_text("[sandbox]\nenabled = false\n" + config_text)
    env = {
        "HOME": str(tmp_path / "home"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "STOA_HOME": str(tmp_path / "stoa-home"),
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
    }
    config = load_config(ws, env=env)
    return build_runtime(config, Choices(model="claude-sonnet-4-6", mode=mode), approver=RefusingApprover())


async def turn(runtime: Runtime, text: str) -> list[ev.Event]:
    return [e async for e in runtime.agent.run_turn(text)]


def task(description: str, prompt: str, agent: str | None = None, id: str | None = None) -> Any:
    args = {"description": description, "prompt": prompt}
    if agent is not None:
        args["agent"] = agent
    return tool_call("task", args, id=id)


async def test_a_sub_agent_never_sees_the_parent_conversation(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(tmp_path, fake_server)
    (runtime.config.workspace / "notes.txt").write_text("the answer is 42\n")
    fake_server.script(reply(text="Noted.", match=parent))
    await turn(runtime, "PARENT-SECRET: my password is hunter2")
    fake_server.script(
        reply(tool_calls=[task("read notes", "TASK-READ: read notes.txt and report the answer")], match=parent),
        reply(tool_calls=[tool_call("read_file", {"path": "notes.txt"})], match=sub_with("TASK-READ")),
        reply(text="The notes say 42.", match=is_sub),
        reply(text="The sub-agent found 42.", match=parent),
    )
    events = await turn(runtime, "ask a helper")
    requests = fake_server.model_requests()
    subs = [r for r in requests if is_sub(r)]
    assert len(subs) == 2
    for request in subs:
        assert "PARENT-SECRET" not in str(request.body) and "hunter2" not in str(request.body)
        assert request.user_texts[0] == "TASK-READ: read notes.txt and report the answer"
        assert "task" not in request.tool_names  # depth 1: no task inside a sub-agent
    assert "the answer is 42" in subs[1].tool_results[0].text
    final_parent = [r for r in requests if parent(r)][-1]
    assert final_parent.tool_results[-1].text == "The notes say 42."
    nested = [e for e in events if isinstance(e, ev.SubagentEvent)]
    assert {e.agent_id for e in nested} == {"a1"} and all(e.call_id == final_parent.tool_results[-1].id for e in nested)
    assert any(isinstance(e.event, ev.ToolCallStarted) and e.event.name == "read_file" for e in nested)
    # The sub-agent's usage is in the session's totals.
    assert runtime.agent.ledger.total.output_tokens > 0
    assert len([r for r in requests if parent(r)]) == 3


async def test_two_task_calls_of_one_reply_run_at_the_same_time(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(tmp_path, fake_server)
    ws = runtime.config.workspace

    def waits_for(mine: str, other: str) -> dict[str, Any]:
        # Run one after the other, the first would wait until its timeout.
        return {"command": f"touch {mine}; until [ -e {other} ]; do sleep 0.05; done; echo met", "timeout_seconds": 20}

    fake_server.script(
        reply(tool_calls=[task("one", "TASK-ONE"), task("two", "TASK-TWO")], match=parent),
        reply(tool_calls=[tool_call("execute_bash", waits_for("one", "two"))], match=sub_with("TASK-ONE")),
        reply(tool_calls=[tool_call("execute_bash", waits_for("two", "one"))], match=sub_with("TASK-TWO")),
        reply(text="one done", match=sub_with("TASK-ONE")),
        reply(text="two done", match=sub_with("TASK-TWO")),
        reply(text="both done", match=parent),
    )
    events = await turn(runtime, "do both")
    assert isinstance(events[-1], ev.TurnFinished) and events[-1].text == "both done"
    subs = [r for r in fake_server.model_requests() if is_sub(r) and r.tool_results]
    assert sorted(r.tool_results[0].text.split("\n")[0] for r in subs) == ["met", "met"]
    assert (ws / "one").exists() and (ws / "two").exists()
    last = fake_server.model_requests()[-1]
    assert [r.text for r in last.tool_results] == ["one done", "two done"]


async def test_read_only_agents_run_in_plan_mode_and_bad_agents_are_errors(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(tmp_path, fake_server)
    fake_server.script(
        reply(
            tool_calls=[task("look", "TASK-EXPLORE", agent="explore"), task("x", "TASK-NOBODY", agent="nobody")],
            match=parent,
        ),
        reply(
            tool_calls=[tool_call("write_file", {"path": "x.txt", "content": "x"}), tool_call("execute_bash", {"command": "mkdir made"})],
            match=sub_with("TASK-EXPLORE"),
        ),
        reply(text="could not write", match=is_sub),
        reply(text="ok", match=parent),
    )
    await turn(runtime, "explore")
    sub = [r for r in fake_server.model_requests() if is_sub(r)]
    assert "write_file" not in sub[0].tool_names and "read_file" in sub[0].tool_names
    assert "Trust mode: plan" in sub[0].system
    refused, denied = sub[1].tool_results
    assert "unknown tool 'write_file'" in refused.text
    assert denied.is_error and not (runtime.config.workspace / "made").exists()
    assert not (runtime.config.workspace / "x.txt").exists()
    explore, nobody = fake_server.model_requests()[-1].tool_results
    assert explore.text == "could not write"
    assert "there is no agent 'nobody'; the agents are: general, explore, plan" in nobody.text


async def test_iteration_bound_and_a_failing_sub_agent(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(tmp_path, fake_server, config_text="[agents]\nmax-iterations = 1\n")
    fake_server.script(
        reply(tool_calls=[task("loop", "TASK-LOOP"), task("fail", "TASK-FAIL")], match=parent),
        reply(tool_calls=[tool_call("list_directory", {"path": "."})], match=sub_with("TASK-LOOP")),
        reply(text="summary: listed the folder", match=sub_with("TASK-LOOP")),
        fault("auth", match=sub_with("TASK-FAIL")),
        reply(text="ok", match=parent),
    )
    await turn(runtime, "go")
    looped, failed = fake_server.model_requests()[-1].tool_results
    assert "reached its limit of 1 tool iterations" in looped.text and "summary: listed the folder" in looped.text
    assert "the sub-agent a2 (general) failed" in failed.text


async def test_depth_two_allows_a_nested_task(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(tmp_path, fake_server, config_text="[agents]\nmax-depth = 2\n")
    fake_server.script(
        reply(tool_calls=[task("outer", "TASK-OUTER")], match=parent),
        reply(tool_calls=[task("inner", "TASK-INNER")], match=sub_with("TASK-OUTER")),
        reply(text="inner result", match=sub_with("TASK-INNER")),
        reply(text="outer result", match=sub_with("TASK-OUTER")),
        reply(text="done", match=parent),
    )
    await turn(runtime, "nest")
    inner = [r for r in fake_server.model_requests() if is_sub(r) and "TASK-INNER" in " ".join(r.user_texts)]
    assert "task" not in inner[0].tool_names  # the bound holds one level down
    assert fake_server.model_requests()[-1].tool_results[0].text == "outer result"


async def test_interrupting_cancels_the_sub_agents_with_valid_histories(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(tmp_path, fake_server)
    fake_server.script(
        reply(tool_calls=[task("slow", "TASK-SLOW")], match=parent),
        reply(tool_calls=[tool_call("execute_bash", {"command": "sleep 30"})], match=sub_with("TASK-SLOW")),
    )
    agent = runtime.agent
    seen: list[ev.Event] = []

    async def consume() -> None:
        async for event in agent.run_turn("slow work"):
            seen.append(event)
            if (
                isinstance(event, ev.SubagentEvent)
                and isinstance(event.event, ev.ToolCallStarted)
                and event.event.name == "execute_bash"
            ):
                agent.interrupt()

    await asyncio.wait_for(consume(), 30)
    assert isinstance(seen[-1], ev.TurnInterrupted)
    assert runtime.subagents is not None and runtime.subagents.running() == []
    fake_server.script(reply(text="stopped as asked", match=parent))
    await turn(runtime, "what happened?")
    last = fake_server.model_requests()[-1]
    assert last.tool_results[-1].is_error


def test_headless_prints_the_sub_agents_calls(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "README.md").write_text("hello\n")
    fake_server.script(
        reply(tool_calls=[task("read", "TASK-README", agent="explore")], match=parent),
        reply(tool_calls=[tool_call("read_file", {"path": "README.md"})], match=is_sub),
        reply(text="It says hello.", match=is_sub),
        reply(text="The README says hello.", match=parent),
    )
    result = subprocess.run([*STOA, "-p", "read it"], env=stoa_env, cwd=ws, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The README says hello.\n"
    assert "→ task explore: read" in result.stderr
    assert "  [a1 explore] → read_file README.md" in result.stderr


@pytest.mark.parametrize("agent", ["general", "explore", "plan"])
def test_every_built_in_is_listed_in_the_tool_description(tmp_path: Path, fake_server: FakeServer, agent: str) -> None:
    runtime = runtime_for(tmp_path, fake_server)
    tool = runtime.registry.get("task")
    assert tool is not None and f"\n- {agent}: " in tool.spec().description


async def test_the_concurrency_bound_holds(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(tmp_path, fake_server, config_text="[agents]\nmax-concurrency = 1\n")
    fake_server.script(
        reply(tool_calls=[task("one", "TASK-ONE"), task("two", "TASK-TWO")], match=parent),
        reply(tool_calls=[tool_call("list_directory", {"path": "."})], match=sub_with("TASK-ONE")),
        reply(tool_calls=[tool_call("list_directory", {"path": "."})], match=sub_with("TASK-TWO")),
        reply(text="one done", match=sub_with("TASK-ONE")),
        reply(text="two done", match=sub_with("TASK-TWO")),
        reply(text="both done", match=parent),
    )
    await turn(runtime, "do both, one at a time")
    order = ["ONE" if "TASK-ONE" in r.user_texts[0] else "TWO" for r in fake_server.model_requests() if is_sub(r)]
    assert order in (["ONE", "ONE", "TWO", "TWO"], ["TWO", "TWO", "ONE", "ONE"])  # never interleaved


def test_subagent_stop_hooks_run_when_a_sub_agent_returns(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = tmp_path / "project"
    ws.mkdir()
    log = tmp_path / "hook.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text(f"#!{sys.executable}\nimport json, sys\nopen({str(log)!r}, 'a').write(sys.stdin.read().strip() + '\\n')\n")
    hook.chmod(0o755)
    (Path(stoa_env["STOA_HOME"]) / "config.toml").write_text(
        f'[[hooks.SubagentStop]]\ncommand = "{hook}"\n[[hooks.Stop]]\ncommand = "{hook}"\n'
    )
    fake_server.script(
        reply(tool_calls=[task("look", "TASK-LOOK", agent="explore")], match=parent),
        reply(text="found it", match=is_sub),
        reply(text="done", match=parent),
    )
    result = subprocess.run([*STOA, "-p", "look"], env=stoa_env, cwd=ws, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    import json

    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["hook_event_name"] for e in events] == ["SubagentStop", "Stop"]
    assert events[0]["agent_type"] == "explore" and events[0]["last_assistant_message"] == "found it"


def test_stream_json_carries_the_sub_agents_events_typed(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    import json

    ws = tmp_path / "project"
    ws.mkdir()
    fake_server.script(
        reply(tool_calls=[task("look", "TASK-LOOK", agent="explore")], match=parent),
        reply(tool_calls=[tool_call("list_directory", {"path": "."})], match=is_sub),
        reply(text="empty folder", match=is_sub),
        reply(text="done", match=parent),
    )
    result = subprocess.run(
        [*STOA, "-p", "look", "--output-format", "stream-json"], env=stoa_env, cwd=ws, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    nested = [line for line in lines if line["type"] == "SubagentEvent"]
    assert {"ToolCallStarted", "ToolCallFinished", "TurnFinished"} <= {n["event"]["type"] for n in nested}
    assert all(n["agent"] == "explore" and n["agent_id"] == "a1" for n in nested)
