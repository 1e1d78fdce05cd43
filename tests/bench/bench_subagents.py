"""Sub-agents and agent/skill files benchmark (a script, not a test):
`.venv/bin/python -m tests.bench.bench_subagents`

1. Four task calls in one reply, each sub-agent streaming a reply paced by the fake server
   (about 1 s each): the turn's wall time with ``[agents] max-concurrency`` 4 against 1.
2. What reading agent and skill files adds to ``build_runtime``: 30 agent files and 30
   skills against none (medians of RUNS).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from stoa.core.config import load_config
from stoa.core.permissions.approver import RefusingApprover
from stoa.core.runtime import Choices, build_runtime
from tests.fake_server import FakeServer, reply, tool_call

RUNS = 5
TASKS = 4


def _env(root: Path, server: FakeServer) -> dict[str, str]:
    return {
        "HOME": str(root / "home"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "STOA_HOME": str(root / "stoa-home"),
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
    }


def _is_sub(request: Any) -> bool:
    return "You are a sub-agent of Stoa" in request.system


async def _parallel(server: FakeServer, concurrency: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = root / "ws"
        (ws / ".stoa").mkdir(parents=True)
        (ws / ".stoa" / "config.toml").write_text(f"[agents]\nmax-concurrency = {concurrency}\n")
        runtime = build_runtime(load_config(ws, env=_env(root, server)), Choices(model="claude-sonnet-4-6"),
                                approver=RefusingApprover())
        calls = [tool_call("task", {"description": f"t{i}", "prompt": f"TASK-{i}"}) for i in range(TASKS)]
        server.script(
            reply(tool_calls=calls, match=lambda r: not _is_sub(r)),
            *[reply(text="x" * 320, chunk_size=16, delay_per_event=0.05, match=_is_sub) for _ in range(TASKS)],
            reply(text="done", match=lambda r: not _is_sub(r)),
        )
        started = time.perf_counter()
        async for _ in runtime.agent.run_turn("go"):
            pass
        return time.perf_counter() - started


def _build(files: int) -> float:
    with tempfile.TemporaryDirectory() as tmp, FakeServer() as server:
        root = Path(tmp)
        ws = root / "ws"
        agents = ws / ".stoa" / "agents"
        agents.mkdir(parents=True)
        for i in range(files):
            (agents / f"a{i}.md").write_text(f"---\nname: a{i}\ndescription: agent {i}\ntools: Read, Grep\n---\nbody\n")
            skill = ws / ".stoa" / "skills" / f"s{i}"
            skill.mkdir(parents=True)
            (skill / "SKILL.md").write_text(f"---\nname: s{i}\ndescription: skill {i}\n---\nbody\n")
        config = load_config(ws, env=_env(root, server))
        started = time.perf_counter()
        build_runtime(config, Choices(model="claude-sonnet-4-6"))
        return time.perf_counter() - started


async def main() -> None:
    with FakeServer() as server:
        for concurrency in (TASKS, 1):
            times = [await _parallel(server, concurrency) for _ in range(3)]
            print(f"{TASKS} sub-agents, max-concurrency {concurrency}: {statistics.median(times):.2f} s (median of 3)")
    for files in (0, 30):
        times = [_build(files) for _ in range(RUNS)]
        print(f"build_runtime with {files} agent files and {files} skills: {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
