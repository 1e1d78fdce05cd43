"""Benchmark: what the instruction hierarchy costs per request.

    .venv/bin/python -m tests.bench.bench_instructions [--calls 2000]

A repository with the workspace two folders down: a global AGENTS.md, AGENTS.md and CLAUDE.md
on the way down, a personal file and two @imports (8 files, about 24 KB of text). Reported,
median of 5 rounds, per call:

1. re-reading the whole hierarchy (``load_instructions``: what every request would cost if
   nothing were kept);
2. ``Instructions.current()`` when nothing changed (what a request costs: a stat per file);
3. the nested hook after a read in a folder whose AGENTS.md the conversation already holds,
   over a 400-message history (what a tool batch costs there).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from stoa.core.instructions import Instructions, load_instructions
from stoa.core.permissions.paths import resolve
from stoa.core.providers.types import Message, TextBlock
from stoa.core.tools.base import ToolContext


def build(root: Path) -> tuple[Path, Path]:
    repo = root / "repo"
    ws = repo / "services" / "api"
    (repo / ".git").mkdir(parents=True)
    (ws / "docs").mkdir(parents=True)
    (ws / ".stoa").mkdir()
    config = root / "config"
    config.mkdir()
    text = "- a rule about the code, written by a person, long enough to be realistic\n" * 40
    (config / "AGENTS.md").write_text("Global.\n" + text)
    (repo / "AGENTS.md").write_text("Repo.\n" + text)
    (repo / "CLAUDE.md").write_text("Repo Claude.\n" + text)
    (repo / "services" / "AGENTS.md").write_text("Services.\n" + text)
    (ws / "AGENTS.md").write_text("API. See @docs/style.md and @docs/testing.md\n" + text)
    (ws / "docs" / "style.md").write_text("Style.\n" + text)
    (ws / "docs" / "testing.md").write_text("Testing.\n" + text)
    (ws / ".stoa" / "instructions.md").write_text("Personal.\n" + text)
    (ws / "lib").mkdir()
    (ws / "lib" / "AGENTS.md").write_text("Lib.\n" + text)
    (ws / "lib" / "x.py").write_text("x = 1\n")
    return ws, config


def per_call(fn: object, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws, config = build(Path(tmp))
        instructions = Instructions(ws, config)
        loaded = instructions.current()
        print(f"hierarchy: {len(loaded.sources)} files, {loaded.text_chars:,} characters")
        nested = instructions.nested()
        ctx = ToolContext(workspace=ws)
        ctx.checked.paths[("path", "lib/x.py")] = resolve("lib/x.py", ws)
        nested.after_call(ctx)
        texts, _ = nested.take([])
        history = [Message(role="user", content=[TextBlock(text="question " * 200)]) for _ in range(399)]
        history.append(Message(role="user", content=[TextBlock(text=texts[0])]))

        def hook() -> None:
            nested.after_call(ctx)
            assert nested.take(history) == ([], [])

        rows = {
            "re-read everything": lambda: load_instructions(ws, config),
            "current(), unchanged": instructions.current,
            "nested hook, held": hook,
        }
        for name, fn in rows.items():
            rounds = [per_call(fn, args.calls) for _ in range(5)]
            print(f"{name:<24} {statistics.median(rounds) * 1e6:8.1f} µs per call")


if __name__ == "__main__":
    main()
