"""Benchmark: the @ picker over a large workspace.

Run: ``.venv/bin/python tests/bench/bench_mentions.py [FILES] [ROUNDS]``. Builds a git
workspace of FILES files (default 20,000) in nested folders, with a .gitignore'd build/ of as
many more, then measures ``workspace_files`` (the listing the picker reads once, and again after
10 s: ripgrep's walk when rg is installed, else the pure-Python walker) and ``rank_paths`` for
queries of 0 to 8 characters (the work of one keystroke, done off the UI thread), as wall and
CPU time; medians of ROUNDS. The figure that matters for typing is the ranking: it should stay
well under 100 ms a keystroke for 50,000 paths.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def build(root: Path, files: int) -> None:
    rng = random.Random(7)
    (root / ".git").mkdir()
    (root / ".gitignore").write_text("build/\n")
    for base in ("src", "build"):
        for index in range(files):
            depth = rng.randint(0, 4)
            parts = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(depth)]
            folder = root / base / Path(*parts) if parts else root / base
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"file_{index}{rng.choice(['.py', '.ts', '.md', '.rs'])}").write_text("x\n")


def timed(fn, rounds: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def main() -> None:
    from stoa.core.mentions import rank_paths, workspace_files
    from stoa.core.tools.rg import find_rg

    files = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build(root, files)
        listed: list[str] = []

        def listing() -> None:
            listed[:] = asyncio.run(workspace_files(root, None))

        wall, cpu = timed(listing, rounds)
        walker = "rg" if find_rg() else "Python walker (no rg)"
        print(f"workspace_files, {files:,} files (+{files:,} ignored), {walker}: {len(listed):,} entries, "
              f"{wall:.0f} ms wall, {cpu:.0f} ms CPU")  # fmt: skip
        big = [f"{a}/{p}" for a in ("x", "y", "z") for p in listed][:50_000]
        for paths in (listed, big):
            rank_paths(paths, "warm")
            for query in ("", "a", "fil", "src/main", "file_123"):
                wall, cpu = timed(lambda q=query, p=paths: rank_paths(p, q), rounds)  # type: ignore[misc]
                print(f"rank_paths {len(paths):>6,} paths, query {query!r:<11}: {wall:6.1f} ms wall, {cpu:6.1f} ms CPU")


if __name__ == "__main__":
    main()
