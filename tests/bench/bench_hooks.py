"""What a hook costs a tool call: the wall time of one PreToolUse event with 0, 1 and 3 matching
hooks (`true`, run through bash in its own process group), medians of N rounds.

    .venv/bin/python tests/bench/bench_hooks.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from stoa.core.config import load_config
from stoa.core.hooks import build_hooks


async def median_ms(count: int, rounds: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        home, workspace = Path(folder) / "home", Path(folder) / "ws"
        home.mkdir()
        workspace.mkdir()
        (home / "config.toml").write_text(
            "".join(f'[[hooks.PreToolUse]]\ncommand = "true # {i}"\n' for i in range(count))
        )
        hooks = build_hooks(load_config(workspace, env={"STOA_HOME": str(home), "PATH": "/usr/bin:/bin"}))
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            await hooks.pre_tool_use("write_file", {"path": "a.txt", "content": "x" * 1000}, "call_1")
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    for count in (0, 1, 3):
        print(f"{count} hook(s): {asyncio.run(median_ms(count, rounds)):.1f} ms per PreToolUse (median of {rounds})")


if __name__ == "__main__":
    main()
