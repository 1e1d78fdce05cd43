"""Benchmark: the agent loop's overhead per tool iteration, and `stoa -p` wall time.

    .venv/bin/python -m tests.bench.bench_loop [--runs 5] [--iterations 100]

1. Loop: the fake server answers instantly; the model makes 100 sequential read_file calls
   (one per request), then answers. Reported: wall time per iteration (request through the
   real SDK over loopback + stream parsing + tool run + history), median of several runs.
   Targets: under 10 ms per iteration.
2. Headless: `stoa -p` for a one-line answer from an instant local server, wall time of the
   whole process (start-up, imports, request, print), median of several runs. Target: under 1.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fake_server import FakeServer, reply, tool_call

ROOT = Path(__file__).resolve().parents[2]


class _TimedPool:
    """Wraps the provider pool to measure time spent inside provider streams (SDK + HTTP +
    the fake server), so the loop's own share can be reported separately."""

    def __init__(self, pool: object) -> None:
        self.pool = pool
        self.provider_seconds = 0.0

    def __call__(self, model: object) -> object:
        provider = self.pool(model)  # type: ignore[operator]
        timed = self

        class Timed:
            name = provider.name

            async def stream(self, request: object):  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                try:
                    async for item in provider.stream(request):
                        paused = time.perf_counter()
                        timed.provider_seconds += paused - started
                        yield item
                        started = time.perf_counter()
                finally:
                    timed.provider_seconds += time.perf_counter() - started

        return Timed()


async def _loop_once(server: FakeServer, workspace: Path, iterations: int) -> tuple[float, float]:
    from stoa.core.agent.loop import Agent
    from stoa.core.config import load_config
    from stoa.core.models import resolve_model
    from stoa.core.providers.factory import ProviderPool
    from stoa.core.tools.registry import default_registry

    env = {
        "HOME": str(workspace.parent),
        "STOA_HOME": str(workspace.parent / "stoa-home"),
        "ANTHROPIC_API_KEY": "bench",
        "ANTHROPIC_BASE_URL": server.base_url,
    }
    config = load_config(workspace, env=env)
    pool = ProviderPool(config)
    timed = _TimedPool(pool)
    agent = Agent(
        provider_for=timed,  # type: ignore[arg-type]
        model=resolve_model("claude-sonnet-4-6"),
        tools=default_registry(),
        workspace=config.workspace,
        system_prompt="bench",
        config=config,
        max_iterations=iterations + 5,
    )
    server.script(
        *[reply(tool_calls=[tool_call("read_file", {"path": "file.txt"})], instant=True) for _ in range(iterations)],
        reply(text="done", instant=True),
    )
    started = time.perf_counter()
    async for _ in agent.run_turn("go"):
        pass
    elapsed = time.perf_counter() - started
    await pool.aclose()
    requests = iterations + 1
    return elapsed / requests, (elapsed - timed.provider_seconds) / requests


def bench_loop(runs: int, iterations: int) -> list[tuple[float, float]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp, FakeServer() as server:
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        (workspace / "file.txt").write_text("line\n" * 50)
        asyncio.run(_loop_once(server, workspace, 5))  # warm-up: imports, connection
        for _ in range(runs):
            results.append(asyncio.run(_loop_once(server, workspace, iterations)))
    return results


def bench_headless(runs: int) -> list[float]:
    results = []
    with tempfile.TemporaryDirectory() as tmp, FakeServer() as server:
        server.default_reply = reply(text="Four.", instant=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "STOA_HOME": str(Path(tmp) / "stoa-home"),
            "ANTHROPIC_API_KEY": "bench",
            "ANTHROPIC_BASE_URL": server.base_url,
        }
        stoa = str(Path(sys.executable).parent / "stoa")
        subprocess.run([stoa, "-p", "warm up"], env=env, cwd=tmp, capture_output=True, check=True)
        for _ in range(runs):
            started = time.perf_counter()
            out = subprocess.run([stoa, "-p", "what is 2+2?"], env=env, cwd=tmp, capture_output=True, text=True)
            results.append(time.perf_counter() - started)
            assert out.returncode == 0 and out.stdout.strip() == "Four.", out.stderr
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    loop = bench_loop(args.runs, args.iterations)
    total = [t for t, _ in loop]
    own = [o for _, o in loop]
    print(
        f"loop: {statistics.median(total) * 1000:.2f} ms per iteration end to end (request through the SDK over "
        f"loopback, stream, tool, history), of which the loop's own overhead (everything outside the provider "
        f"stream) is {statistics.median(own) * 1000:.2f} ms (medians of {args.runs} runs of {args.iterations} "
        f"read_file iterations; own per run: {', '.join(f'{x * 1000:.2f}' for x in own)})"
    )
    headless = bench_headless(args.runs)
    print(
        f"headless: {statistics.median(headless):.3f} s wall for `stoa -p` one-line answer (median of {args.runs}; "
        f"runs: {', '.join(f'{x:.3f}' for x in headless)})"
    )


if __name__ == "__main__":
    main()
