"""Benchmark: search_code and glob_files against running rg / find directly.

Run from the repository root:  .venv/bin/python tests/bench/bench_search.py [--runs 7] [--tree PATH]

The tree defaults to the virtualenv's site-packages (tens of thousands of files). Each case is
run several times after one warm-up; the medians are compared. The target is a ratio of at most
1.3 (the tool's median over the direct command's median). Output is a table; the exit code is 0
whatever the figures (a benchmark informs, it does not gate).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from stoa.core.tools.base import ToolContext  # noqa: E402
from stoa.core.tools.rg import find_rg  # noqa: E402
from stoa.core.tools.search import GlobFiles, SearchCode  # noqa: E402


def _direct(argv: list[str], cwd: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    return elapsed, done.stdout.count(b"\n") + done.stdout.count(b"\x00")


async def _tool(
    tool: GlobFiles | SearchCode, arguments: dict[str, object], ctx: ToolContext
) -> tuple[float, str]:
    start = time.perf_counter()
    args = tool.parse_args(arguments)
    tool.accesses(args, ctx)
    text = (await tool.run(args, ctx)).text_content
    return time.perf_counter() - start, text.splitlines()[-1]


async def _compare(
    tool: GlobFiles | SearchCode, arguments: dict[str, object], argv: list[str], runs: int, ctx: ToolContext
) -> tuple[float, float, str, int]:
    """Alternate the two (after one warm-up each) so drift in machine load hits both alike."""
    await _tool(tool, arguments, ctx)
    _direct(argv, ctx.workspace)
    tool_times, direct_times = [], []
    summary, lines = "", 0
    for _ in range(runs):
        elapsed, summary = await _tool(tool, arguments, ctx)
        tool_times.append(elapsed)
        elapsed, lines = _direct(argv, ctx.workspace)
        direct_times.append(elapsed)
    return statistics.median(tool_times), statistics.median(direct_times), summary, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tree", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    options = parser.parse_args()
    tree: Path = options.tree.resolve()
    rg = find_rg()
    if rg is None:
        sys.exit("rg not found: install the ripgrep wheel")
    ctx = ToolContext(workspace=tree)
    files = sum(1 for _ in tree.rglob("*"))
    print(f"tree: {tree} ({files:,} entries), runs: {options.runs}, rg: {rg}")
    cases: list[tuple[str, GlobFiles | SearchCode, dict[str, object], list[str]]] = [
        (
            "glob **/*.py (vs rg --files)",
            GlobFiles(rg=rg),
            {"pattern": "**/*.py"},
            [rg, "--files", "-g", "*.py"],
        ),
        ("glob **/*.py (vs find)", GlobFiles(rg=rg), {"pattern": "**/*.py"}, ["find", ".", "-name", "*.py"]),
        (
            "glob **/*.py (vs rg --sortr modified)",
            GlobFiles(rg=rg),
            {"pattern": "**/*.py"},
            [rg, "--files", "--sortr", "modified", "-g", "*.py"],
        ),
        (
            "glob **/*.py (vs find -printf | sort)",
            GlobFiles(rg=rg),
            {"pattern": "**/*.py"},
            ["sh", "-c", "find . -name '*.py' -printf '%T@ %p\\n' | sort -rn"],
        ),
        ("glob *.pyi (few hits)", GlobFiles(rg=rg), {"pattern": "*.pyi"}, [rg, "--files", "-g", "*.pyi"]),
        (
            "search rare token",
            SearchCode(rg=rg),
            {"pattern": "xyzzy_no_such_token"},
            [rg, "-n", "xyzzy_no_such_token"],
        ),
        (
            "search 'def __init__' (many hits)",
            SearchCode(rg=rg),
            {"pattern": "def __init__"},
            [rg, "-n", "def __init__"],
        ),
        (
            "search -i 'import asyncio' *.py",
            SearchCode(rg=rg),
            {"pattern": "import asyncio", "case_insensitive": True, "glob": "*.py"},
            [rg, "-n", "-i", "-g", "*.py", "import asyncio"],
        ),
        (
            "search regex class\\s+\\w+Error",
            SearchCode(rg=rg),
            {"pattern": r"class\s+\w+Error\b"},
            [rg, "-n", r"class\s+\w+Error\b"],
        ),
    ]
    print(f"{'case':40} {'tool ms':>9} {'direct ms':>10} {'ratio':>6}  tool result / direct lines")
    ratios = []
    for label, tool, arguments, argv in cases:
        tool_time, direct_time, summary, lines = asyncio.run(
            _compare(tool, arguments, argv, options.runs, ctx)
        )
        ratio = tool_time / direct_time if direct_time else float("inf")
        ratios.append(ratio)
        flag = "" if ratio <= 1.3 else "  <-- over 1.3x"
        print(
            f"{label:40} {tool_time * 1000:9.1f} {direct_time * 1000:10.1f} {ratio:6.2f}  {summary[:60]} / {lines:,}{flag}"
        )
    print(f"worst ratio: {max(ratios):.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
