"""Benchmark (a script, not a test): the model catalogue adds nothing to start-up and the first
request. ``.venv/bin/python -m tests.bench.bench_catalog [--python OTHER_PYTHON] [RUNS]``

Runs ``stoa -p hi`` as a subprocess against the fake server (instant replies) and measures,
median of RUNS (default 7): the time from spawning the process until the first model request
reaches the server (start-up plus request building) and until the process exits. Three cases
for this checkout: no cache (first run ever; the lists are fetched after the reply), a cache
from today (nothing fetched), and a stale cache (fetched after the reply). ``--python`` runs
the same against another checkout's interpreter (e.g. /work/main/.venv/bin/python) for a
before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fake_server import FakeServer, reply

REPO = Path(__file__).resolve().parents[2]


def one_run(python: str, server: FakeServer, home: Path, cache: str) -> tuple[float, float]:
    stoa_home = home / "stoa"
    cache_file = stoa_home / "cache" / "models.json"
    if cache == "none":
        cache_file.unlink(missing_ok=True)
    elif cache in ("fresh", "stale"):
        fetched = time.time() - (0 if cache == "fresh" else 3 * 86400)
        lists = [
            {"provider": "anthropic", "base_url": server.base_url.rstrip("/"), "fetched_at": fetched,
             "models": [s.anthropic_info() for s in server.specs().values() if s.provider == "anthropic"]},
        ]
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps({"version": 1, "lists": lists}))
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(home), "STOA_HOME": str(stoa_home),
        "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": server.base_url, "LANG": "C.UTF-8",
    }
    seen = len(server.model_requests())
    started = time.perf_counter()
    process = subprocess.Popen([python, "-m", "stoa.app.cli", "-p", "hi"], env=env, cwd=home,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = 0.0
    while process.poll() is None:
        if not first and len(server.model_requests()) > seen:
            first = time.perf_counter() - started
        time.sleep(0.001)
    total = time.perf_counter() - started
    if not first and len(server.model_requests()) > seen:
        first = total
    return first, total


def start_path_cpu(home: Path, server: FakeServer, rounds: int = 50) -> dict[str, float]:
    """CPU time (this thread, so a busy machine does not count) of what start-up now does for
    the catalogue: build it from the config and resolve the default model, with and without a
    cached list of 60 models; against the table lookup start-up did before."""
    from stoa.core.catalog import Catalog
    from stoa.core.config import load_config
    from stoa.core.models import DEFAULT_MODEL, resolve_model
    from tests.fake_server import ModelSpec

    env = {"HOME": str(home), "STOA_HOME": str(home / "cpu"), "ANTHROPIC_API_KEY": "k",
           "ANTHROPIC_BASE_URL": server.base_url}
    config = load_config(home, env=env)
    cache = home / "cpu" / "cache" / "models.json"
    specs = [ModelSpec(id=f"claude-made-up-{i}", provider="anthropic") for i in range(59)]
    specs.append(ModelSpec(id=DEFAULT_MODEL, provider="anthropic"))
    listed = {"provider": "anthropic", "base_url": server.base_url.rstrip("/"), "fetched_at": time.time(),
              "models": [s.anthropic_info() for s in specs]}

    def cpu(fn: object) -> float:
        samples = []
        for _ in range(rounds):
            started = time.thread_time()
            fn()  # type: ignore[operator]
            samples.append(time.thread_time() - started)
        return statistics.median(samples) * 1000

    out = {"before: table lookup": cpu(lambda: resolve_model(DEFAULT_MODEL))}
    cache.unlink(missing_ok=True)
    out["catalogue, no cache"] = cpu(lambda: Catalog.from_config(config).resolve(DEFAULT_MODEL))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"version": 1, "lists": [listed]}))
    out["catalogue, 60 cached models"] = cpu(lambda: Catalog.from_config(config).resolve(DEFAULT_MODEL))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=int, default=7)
    parser.add_argument("--python", help="another checkout's interpreter (before)")
    args = parser.parse_args()
    with FakeServer(instant=True, default_reply=reply(text="ok", instant=True)) as server, \
            tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cases = [(sys.executable, c) for c in ("none", "fresh", "stale")]
        if args.python:
            cases.insert(0, (args.python, "-"))
        for python, cache in cases:
            one_run(python, server, home, cache)  # warm the page cache
        # Interleaved: each round runs every case once, so a busy machine slows them alike.
        firsts: dict[int, list[float]] = {i: [] for i in range(len(cases))}
        totals: dict[int, list[float]] = {i: [] for i in range(len(cases))}
        for _ in range(args.runs):
            for index, (python, cache) in enumerate(cases):
                first, total = one_run(python, server, home, cache)
                firsts[index].append(first)
                totals[index].append(total)
        for label, ms in start_path_cpu(home, server).items():
            print(f"start-path CPU, {label:<28} {ms:7.3f} ms (median of 50)")
        print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        for index, (python, cache) in enumerate(cases):
            label = "before (other checkout)" if python != sys.executable else f"this checkout, cache {cache}"
            print(f"{label:<32} first request {statistics.median(firsts[index]) * 1000:7.0f} ms   "
                  f"exit {statistics.median(totals[index]) * 1000:7.0f} ms   (median of {args.runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
