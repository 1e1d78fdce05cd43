"""Processes that escape a command's process group and parent (``setsid``, a double fork plus
``setsid``, ``nohup ... &`` then ``disown``, ``setsid -f``) end with the command, the
background job, the interrupt, or Stoa itself.

Real ``execute_bash`` runs (real bash, real ``sleep``s found by their unique argv), without the
sandbox (found by the ``STOA_RUN`` marker every command's processes carry) and inside
bubblewrap (a PID namespace that dies with the command, even for a process that cleared its
environment).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.tools.background import BackgroundJobs
from stoa.core.tools.base import ToolContext
from stoa.core.tools.shell import ExecuteBash
from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.test_shell_signals import living, needs_bwrap, place, wait_until

__all__ = ["place"]  # the fixture, from the signals test


def escapes(base: int) -> tuple[str, list[list[str]]]:
    """A line whose sleeps all leave the command's group and parent, and their argvs."""
    line = (
        f"setsid sleep {base} & "
        f"(setsid sh -c 'sleep {base + 1} &' &); "
        f"nohup sleep {base + 2} >/dev/null 2>&1 & disown; "
        f"setsid -f sleep {base + 3}"
    )
    return line, [["sleep", str(base + i)] for i in range(4)]


def context(ws: Path, *, sandbox: bool) -> ToolContext:
    (ws / ".stoa").mkdir(parents=True, exist_ok=True)
    (ws / ".stoa" / "config.toml").write_text(f"[sandbox]\nenabled = {'true' if sandbox else 'false'}\n")
    env = {**os.environ, "STOA_HOME": str(ws.parent / "stoa-home"), "HOME": str(ws.parent)}
    return ToolContext(workspace=ws, config=load_config(ws, env=env), jobs=BackgroundJobs())


def survivors(argvs: list[list[str]]) -> list[int]:
    return [pid for argv in argvs for pid in living(argv)]


def kill_all(argvs: list[list[str]]) -> None:
    for pid in survivors(argvs):  # never leave them running, even when the test fails
        os.kill(pid, signal.SIGKILL)


async def run(ctx: ToolContext, command: str, **args: object) -> str:
    tool = ExecuteBash()
    output = await tool.run(tool.parse_args({"command": command, **args}), ctx)
    return output.content[0].text


async def test_detached_processes_end_with_their_command(place: Path) -> None:
    line, argvs = escapes(random.randint(50_000, 59_000))
    try:
        text = await run(context(place / "ws", sandbox=False), line)
        assert "were stopped" in text, text
        assert survivors(argvs) == []
    finally:
        kill_all(argvs)


@needs_bwrap
async def test_inside_the_sandbox_nothing_outlives_the_command(place: Path) -> None:
    """An unknown program runs in the sandbox: even a process that cleared its environment
    (no marker) dies with the sandbox's PID namespace."""
    base = random.randint(60_000, 69_000)
    line, argvs = escapes(base)
    ws = place / "ws"
    ctx = context(ws, sandbox=True)
    (ws / "escape.sh").write_text(f"#!/bin/sh\n{line}\nenv -i setsid -f sleep {base + 4}\n")
    (ws / "escape.sh").chmod(0o755)
    argvs.append(["sleep", str(base + 4)])
    try:
        text = await run(ctx, "./escape.sh")
        assert "sandboxed" in text, text
        await asyncio.sleep(0.3)  # the namespace's processes are being killed as it ends
        wait_until(lambda: survivors(argvs) == [], 10, "a sleep outlived the sandbox")
    finally:
        kill_all(argvs)


async def test_an_interrupted_command_ends_what_it_detached(place: Path) -> None:
    base = random.randint(70_000, 79_000)
    line, argvs = escapes(base)
    argvs.append(["sleep", str(base + 9)])
    try:
        task = asyncio.ensure_future(run(context(place / "ws", sandbox=False), f"{line}; sleep {base + 9}"))
        await asyncio.to_thread(wait_until, lambda: len(survivors(argvs)) == 5, 30, "the sleeps never started")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.to_thread(wait_until, lambda: survivors(argvs) == [], 10, "a sleep outlived the interrupt")
    finally:
        kill_all(argvs)


async def test_a_background_job_ends_what_it_detached(place: Path) -> None:
    base = random.randint(80_000, 89_000)
    line, argvs = escapes(base)
    argvs.append(["sleep", str(base + 9)])
    ctx = context(place / "ws", sandbox=False)
    assert ctx.jobs is not None
    try:
        await run(ctx, f"{line}; sleep {base + 9}", background=True)
        await asyncio.to_thread(wait_until, lambda: len(survivors(argvs)) == 5, 30, "the sleeps never started")
        (job,) = ctx.jobs.running()
        await ctx.jobs.kill(job.id)
        assert survivors(argvs) == []
        # A job that ends by itself takes what it detached with it too.
        await run(ctx, line, background=True)
        await asyncio.to_thread(wait_until, lambda: survivors(argvs) == [], 10, "a sleep outlived its job")
    finally:
        kill_all(argvs)
        await ctx.jobs.aclose()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_detached_processes_end_with_stoa(
    stoa_env: dict[str, str], fake_server: FakeServer, place: Path, signum: int
) -> None:
    """Stoa killed while the command runs (kill -9 included: the watchdog finds them)."""
    ws = place / "project"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".stoa" / "config.toml").write_text('[permissions]\nallow = ["Bash"]\n[sandbox]\nenabled = false\n')
    base = random.randint(90_000, 99_000)
    line, argvs = escapes(base)
    argvs.append(["sleep", str(base + 9)])
    fake_server.script(reply(tool_calls=[tool_call("execute_bash", {"command": f"{line}; sleep {base + 9}"})]))
    stoa = subprocess.Popen(
        [sys.executable, "-m", "stoa.app.cli", "-p", "run it"],
        env=stoa_env, cwd=ws, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_until(lambda: len(survivors(argvs)) == 5, 60, "the sleeps never started")
        os.kill(stoa.pid, signum)
        stoa.communicate(timeout=30)
        wait_until(lambda: survivors(argvs) == [], 30, "a detached sleep outlived Stoa")
    finally:
        if stoa.poll() is None:
            stoa.kill()
            stoa.communicate()
        kill_all(argvs)
