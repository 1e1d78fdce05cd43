"""Benchmark (a script, not a test): checkpoint costs of issue 16.

Run from the repository root:  .venv/bin/python -m tests.bench.bench_checkpoints [--files 10000] [--runs 7]

1. Snapshot before a shell command on a repository of ``--files`` files (a git repository with
   every file committed, plus a few untracked ones), through the real ``Checkpoints`` object the
   agent uses: the first turn's snapshot (the shadow repository is created and every file is
   hashed), then later turns' snapshots, each after the previous turn changed one file. Target:
   < 100 ms after the first. Floor in the same run: ``git status --porcelain`` on the same tree
   (what any git-based snapshot must at least do: stat every file).
2. Undo of a turn that changed 100 files through a shell command (edited 60, created 20,
   deleted 20): plan + apply, as ``/undo`` runs them. Target: < 1 s.

Medians of ``--runs``; rounds interleave the cases. The exit code is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from stoa.core.checkpoints.manager import Checkpoints
from stoa.core.tools.base import Access, Effect

SHELL = [Access(scope="bash", target="sed -i ... (bench)", effect=Effect.MUTATE)]


def make_repo(root: Path, files: int) -> None:
    """``files`` small text files in nested folders (100 per folder), committed."""
    for i in range(files):
        folder = root / f"pkg{i // 1000}" / f"mod{(i // 100) % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i}.py").write_text(f"# file {i}\nVALUE = {i}\n" + "x = 1\n" * (i % 40))
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "build" / "out.bin").write_bytes(b"\0" * 1000)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "start"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    for i in range(5):
        (root / f"untracked{i}.txt").write_text(f"scratch {i}\n")


async def shell_turn(cp: Checkpoints, number: int, change: object) -> float:
    """One turn: the snapshot before a shell command (timed), the command's change, the seal."""
    await cp.turn_started(prompt=f"turn {number}", message_index=number * 2, block_offset=0)
    started = time.perf_counter()
    notices = await cp.before_call("execute_bash", Effect.MUTATE, SHELL)
    elapsed = time.perf_counter() - started
    assert not notices, notices
    change()  # type: ignore[operator]
    notices = await cp.turn_ended()
    assert not notices, notices
    return elapsed


def git_status(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["git", "status", "--porcelain"], cwd=root, check=True, capture_output=True)
    return time.perf_counter() - started


def bump(path: Path) -> None:
    path.write_text(path.read_text() + "# changed\n")


async def snapshot_round(files: int, turns: int) -> tuple[float, list[float], float]:
    with tempfile.TemporaryDirectory(prefix="stoa-bench-cp-") as tmp:
        ws, data = Path(tmp) / "ws", Path(tmp) / "data"
        ws.mkdir()
        make_repo(ws, files)
        cp = Checkpoints(ws, data, session_id="bench")
        first = await shell_turn(cp, 1, lambda: bump(ws / "pkg0" / "mod0" / "file0.py"))
        later = [
            await shell_turn(cp, n, lambda n=n: bump(ws / "pkg0" / "mod0" / f"file{n}.py"))
            for n in range(2, turns + 2)
        ]
        floor = statistics.median(git_status(ws) for _ in range(3))
        return first, later, floor


async def undo_round() -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="stoa-bench-undo-") as tmp:
        ws, data = Path(tmp) / "ws", Path(tmp) / "data"
        ws.mkdir()
        make_repo(ws, 1000)
        cp = Checkpoints(ws, data, session_id="bench")
        originals = {p: p.read_bytes() for p in ws.rglob("*.py")}

        def hundred_changes() -> None:
            paths = sorted(originals)
            for p in paths[:60]:
                bump(p)
            for i in range(20):
                (ws / "new" / f"n{i}").mkdir(parents=True, exist_ok=True)
                (ws / "new" / f"n{i}" / "made.py").write_text(f"made {i}\n")
            for p in paths[60:80]:
                p.unlink()

        await shell_turn(cp, 1, hundred_changes)
        turn, _ = cp.last_undoable()
        assert turn is not None and len(turn.changes) >= 100, turn and len(turn.changes)
        started = time.perf_counter()
        plan = await cp.plan([turn])
        await cp.apply(plan)
        elapsed = time.perf_counter() - started
        wrong = [p for p, data_ in originals.items() if not p.exists() or p.read_bytes() != data_]
        assert not wrong and not (ws / "new").exists(), f"undo left {len(wrong)} files wrong"
        return elapsed, len(turn.changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--turns", type=int, default=5, help="later turns per round")
    args = parser.parse_args()
    firsts: list[float] = []
    laters: list[float] = []
    floors: list[float] = []
    undos: list[float] = []
    changed = 0
    for _ in range(args.runs):
        first, later, floor = asyncio.run(snapshot_round(args.files, args.turns))
        firsts.append(first)
        laters.extend(later)
        floors.append(floor)
        undo, changed = asyncio.run(undo_round())
        undos.append(undo)
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    print(f"load average {os.getloadavg()[0]:.1f}; {args.runs} rounds; {args.files} files")
    print(f"first snapshot (creates the shadow repository)  {ms(firsts):8.0f} ms")
    print(f"later snapshots (one file changed in between)   {ms(laters):8.0f} ms  target < 100 ms"
          f"  (git status floor {ms(floors):.0f} ms, ratio {ms(laters) / ms(floors):.2f})")
    print(f"undo of a {changed}-file turn (plan + apply)        {ms(undos):8.0f} ms  target < 1000 ms")


if __name__ == "__main__":
    main()
