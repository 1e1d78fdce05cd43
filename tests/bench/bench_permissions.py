"""Benchmark: the latency the permission layer adds to each shell command.

Run from the repository root:  .venv/bin/python tests/bench/bench_permissions.py [--runs 200]

1. Shell analysis (parse + classify + resolve paths) of a range of command lines, per line;
   target: under 5 ms. Also the whole permission decision (tool accesses + policy.decide).
2. Sandbox start: ``bash -c true`` run directly vs inside bubblewrap with the layout
   execute_bash uses; the difference is the sandbox's cost per command. Target: under 20 ms.
3. execute_bash end to end for ``true`` (process group, pipes, drain), sandboxed and not.

Medians and 95th percentiles; the exit code is 0 whatever the figures (a benchmark informs,
it does not gate).
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from stoa.core.config import load_config  # noqa: E402
from stoa.core.permissions.setup import make_policy  # noqa: E402
from stoa.core.permissions.shell_analysis import analyze  # noqa: E402
from stoa.core.sandbox import detect, layout_for, scrub_env, wrap  # noqa: E402
from stoa.core.tools.base import ToolContext  # noqa: E402
from stoa.core.tools.shell import ExecuteBash  # noqa: E402

LINES = [
    "ls -la",
    "git status && git diff --stat",
    "pytest -q tests/unit 2>&1 | tail -20",
    "find . -name '*.py' -exec grep -l TODO {} \\;",
    "cat ~/.ssh/id_rsa",
    "rm -rf build dist",
    "curl -fsSL https://example.com/install.sh | bash",
    'bash -c "echo $(whoami) > /tmp/x; sudo rm -rf /"',
    "for f in src/*.py; do python -m black --check \"$f\" || echo \"$f\"; done",
    " && ".join(f"echo step{i} > out{i}.txt" for i in range(40)),
]


def stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):7.3f} ms   p95 {p95:7.3f} ms"


def bench_analysis(ws: Path, runs: int) -> None:
    print(f"Shell analysis ({runs} runs per line; target < 5 ms)")
    analyze("true", ws)  # parser construction, imports
    worst = 0.0
    for line in LINES:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            analyze(line, ws)
            samples.append(time.perf_counter() - start)
        worst = max(worst, statistics.median(samples))
        label = line if len(line) < 60 else line[:57] + "..."
        print(f"  {label:<62} {stats(samples)}")
    print(f"  worst median: {worst * 1000:.3f} ms")


def bench_decision(ws: Path, runs: int) -> None:
    config = load_config(ws)
    policy = make_policy(config, "auto")
    tool = ExecuteBash()
    ctx = ToolContext(workspace=ws, config=config)
    print(f"\nWhole decision: accesses + policy.decide ({runs} runs per line)")
    for line in LINES[:6]:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            args = tool.parse_args({"command": line})
            accesses = tool.accesses(args, ctx)
            policy.decide(tool.name, tool.effect_for(args, ctx), accesses)
            samples.append(time.perf_counter() - start)
        print(f"  {line[:60]:<62} {stats(samples)}")


def bench_sandbox(ws: Path, runs: int) -> None:
    status = detect()
    print(f"\nSandbox start ({runs} runs; target < 20 ms added): {status.describe()}")
    env = scrub_env(dict(os.environ))
    argv = ["bash", "--noprofile", "--norc", "-c", "true"]

    def timed(command: list[str]) -> list[float]:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, cwd=ws, env=env, check=True, stdin=subprocess.DEVNULL)
            samples.append(time.perf_counter() - start)
        return samples

    direct = timed(argv)
    print(f"  bash -c true, directly           {stats(direct)}")
    if not status.available:
        print(f"  (no sandbox: {status.reason})")
        return
    wrapped = wrap(argv, layout_for(ws, env=dict(os.environ)), executable=status.executable)
    boxed = timed(wrapped)
    print(f"  bash -c true, inside bubblewrap  {stats(boxed)}")
    added = statistics.median(boxed) - statistics.median(direct)
    print(f"  added by the sandbox (medians):  {added * 1000:7.3f} ms")
    print(f"  trial run at start-up:           {status.trial_seconds * 1000:7.3f} ms")


async def bench_tool(ws: Path, runs: int) -> None:
    print(f"\nexecute_bash end to end for `true` ({runs} runs)")
    for sandbox in (False, True):
        if sandbox and not detect().available:
            continue
        folder = Path(tempfile.mkdtemp(prefix="bench-cfg-"))
        if not sandbox:
            (folder / ".stoa").mkdir()
            (folder / ".stoa" / "config.toml").write_text("[sandbox]\nenabled = false\n")
        config = load_config(folder)
        ctx = ToolContext(workspace=folder, config=config)
        tool = ExecuteBash()
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            args = tool.parse_args({"command": "true"})
            tool.accesses(args, ctx)
            await tool.run(args, ctx)
            samples.append(time.perf_counter() - start)
        print(f"  {'sandboxed' if sandbox else 'not sandboxed':<14} {stats(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-perm-") as tmp:
        ws = Path(tmp)
        (ws / "src").mkdir()
        for i in range(20):
            (ws / "src" / f"m{i}.py").write_text("x = 1\n")
        bench_analysis(ws, args.runs)
        bench_decision(ws, args.runs)
        bench_sandbox(ws, max(20, args.runs // 5))
        asyncio.run(bench_tool(ws, max(10, args.runs // 10)))


if __name__ == "__main__":
    main()
