"""Background shell jobs with real processes: execute_bash background: true returns an id at once,
bash_output reads new output and the exit code, bash_kill stops the whole group, bad ids get clear
errors, the permission analysis still decides, headless Stoa ends its jobs when it exits, and a
resumed session tells the model which jobs did not survive."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from stoa.core import events as ev
from stoa.core.config import load_config
from stoa.core.permissions.approver import RefusingApprover
from stoa.core.runtime import Choices, build_runtime
from stoa.core.tools.background import BackgroundJobs, BashKill, BashOutput
from stoa.core.tools.base import ToolContext, ToolError, ToolOutput
from stoa.core.tools.shell import ExecuteBash
from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.test_execute_bash import processes_with, until_gone

STOA = [sys.executable, "-m", "stoa.app.cli"]


def marker() -> str:
    """A sleep duration unique to this test, to find its processes in /proc."""
    return f"{40 + uuid.uuid4().int % 1000 / 1000:.3f}"


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    ws = tmp_path / "ws"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".stoa" / "config.toml").write_text("[sandbox]\nenabled = false\n")
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "STOA_HOME": str(tmp_path / "sh")}
    return ToolContext(workspace=ws, call_id="c1", config=load_config(ws, env=env), jobs=BackgroundJobs())


async def start(ctx: ToolContext, command: str, **extra: object) -> ToolOutput:
    tool = ExecuteBash()
    args = tool.parse_args({"command": command, "background": True, **extra})
    tool.accesses(args, ctx)
    return await tool.run(args, ctx)


async def output(ctx: ToolContext, job: str) -> str:
    tool = BashOutput()
    return (await tool.run(tool.parse_args({"id": job}), ctx)).text_content


async def until_ended(ctx: ToolContext, job: str, seconds: float = 10.0) -> str:
    assert ctx.jobs is not None
    deadline = time.monotonic() + seconds
    for _ in range(10_000):
        if not ctx.jobs.get(job).running or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    return await output(ctx, job)


async def test_background_returns_an_id_at_once_and_output_comes_in_pieces(ctx: ToolContext) -> None:
    gate = ctx.workspace / "go"
    started = await start(ctx, f"echo first; while [ ! -e {gate} ]; do sleep 0.05; done; echo second >&2; exit 3")
    assert "Started background job b1" in started.text_content
    deadline = time.monotonic() + 10
    text = ""
    for _ in range(10_000):
        text += await output(ctx, "b1")
        if "first" in text or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert "first" in text and "is running" in text
    assert "first" not in await output(ctx, "b1")  # read once only
    gate.write_text("")
    last = await until_ended(ctx, "b1")
    assert "[stderr] second" in last
    assert "[job b1 exited" in last and "exit code 3" in last
    assert (await start(ctx, "true")).text_content.startswith("Started background job b2")


async def test_kill_stops_the_whole_group_and_bad_ids_say_what_to_do(ctx: ToolContext) -> None:
    nap = marker()
    await start(ctx, f"sleep {nap} & sleep {nap}; echo never")
    deadline = time.monotonic() + 5
    for _ in range(10_000):
        if len(processes_with(f"sleep {nap}")) >= 2 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    kill = BashKill()
    killed = await kill.run(kill.parse_args({"id": "b1"}), ctx)
    assert "[job b1 was killed" in killed.text_content
    assert await until_gone(f"sleep {nap}") == []
    with pytest.raises(ToolError, match="already ended"):
        await kill.run(kill.parse_args({"id": "b1"}), ctx)
    with pytest.raises(ToolError, match=r"no background job 'b9' \(jobs of this session: b1\)"):
        await output(ctx, "b9")


async def test_timeout_stops_a_background_job(ctx: ToolContext) -> None:
    nap = marker()
    await start(ctx, f"sleep {nap}", timeout_seconds=1)
    last = await until_ended(ctx, "b1")
    assert "[job b1 timed out" in last
    assert await until_gone(f"sleep {nap}") == []


async def test_close_ends_every_job(ctx: ToolContext) -> None:
    nap = marker()
    await start(ctx, f"sleep {nap}")
    await start(ctx, f"sleep {nap}")
    assert ctx.jobs is not None
    assert sorted(await ctx.jobs.aclose()) == ["b1", "b2"]
    assert await until_gone(f"sleep {nap}") == []


async def test_background_lines_are_judged_like_foreground_ones(tmp_path: Path, fake_server: FakeServer) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "STOA_HOME": str(tmp_path / "sh"),
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": fake_server.base_url,
    }
    runtime = build_runtime(load_config(ws, env=env), Choices(model="claude-sonnet-4-6"), approver=RefusingApprover())
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "git push origin main", "background": True})]),
        reply(text="ok"),
    )
    events = [e async for e in runtime.agent.run_turn("push in the background")]
    finished = [e for e in events if isinstance(e, ev.ToolCallFinished)]
    assert finished[0].is_error and "Bash(git push:*)" in finished[0].result_text
    assert runtime.agent.jobs.jobs() == []


def test_headless_ends_its_jobs_and_a_resume_tells_the_model(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = tmp_path / "project"
    ws.mkdir()
    nap = marker()
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": f"sleep {nap}", "background": True})]),
        reply(text="Started the server."),
    )
    first = subprocess.run(
        [*STOA, "-p", "start a server"], env=stoa_env, cwd=ws, capture_output=True, text=True, timeout=60
    )
    assert first.returncode == 0, first.stderr
    assert processes_with(f"sleep {nap}") == []  # ended when stoa -p exited
    result = json.dumps(fake_server.model_requests()[1].json)
    assert "Started background job b1" in result

    fake_server.script(reply(text="I will start it again."))
    second = subprocess.run(
        [*STOA, "-c", "-p", "is the server up?"], env=stoa_env, cwd=ws, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0, second.stderr
    assert "background job b1 ended when Stoa last exited" in second.stderr
    last_user = fake_server.model_requests()[-1].user_texts[-1]
    assert "b1 of this conversation did not survive" in last_user


def test_sigterm_ends_the_background_jobs(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    import signal

    from tests.fake_server import fault

    ws = tmp_path / "project"
    ws.mkdir()
    nap = marker()
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": f"sleep {nap}", "background": True})]),
        fault("hang", seconds=60, reply=reply(text="too late")),
    )
    process = subprocess.Popen(
        [*STOA, "-p", "start a server"], env=stoa_env, cwd=ws, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        fake_server.wait_for_requests(2, timeout=30)  # the job runs; the next request hangs
        assert processes_with(f"sleep {nap}")
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    deadline = time.monotonic() + 10
    while processes_with(f"sleep {nap}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(f"sleep {nap}") == []
