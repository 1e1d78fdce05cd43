"""Benchmark: how long the model picker, the effort picker and the key manager take to open.

Run: ``.venv/bin/python tests/bench/bench_pickers.py [ROUNDS]``. Measures, in a headless app
of 120x40, from the action the key runs (F2, F3, or the /key command) until the screen is
mounted with its list filled, laid out and painted: the first open (cold: imports the screen
module) and then ROUNDS warm opens, as wall time and as CPU time of the app's thread (the
second does not count waiting for other processes on a busy machine). Target: under 100 ms.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


async def _until(predicate: Any, limit_s: float = 5.0) -> None:
    deadline = time.perf_counter() + limit_s
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen did not open")
        await asyncio.sleep(0)


def write_model_cache(path: Path, *, anthropic: int, openai: int) -> None:
    import json

    from stoa.core.models import MODELS
    from tests.fake_server.rules import ModelSpec

    claude = [m.id for m in MODELS if m.provider == "anthropic"]
    claude += [f"claude-made-up-{i}" for i in range(anthropic - len(claude))]
    gpt = [m.id for m in MODELS if m.provider == "openai"]
    gpt += [f"gpt-made-up-{i}" for i in range(openai - len(gpt))]
    lists = [
        {"provider": "anthropic", "base_url": "http://127.0.0.1:9", "fetched_at": time.time(),
         "models": [ModelSpec(id=i, provider="anthropic").anthropic_info() for i in claude]},
        {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "fetched_at": time.time(),
         "models": [ModelSpec(id=i, provider="openai").openai_info() for i in gpt]},
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "lists": lists}))


async def measure(rounds: int) -> dict[str, list[float]]:
    from stoa.app.tui import make_app
    from stoa.core.config import load_config
    from stoa.core.runtime import Choices, build_runtime

    home = Path(tempfile.mkdtemp(prefix="stoa-bench-"))
    workspace = home / "project"
    workspace.mkdir()
    # 60 models in the picker: today's lists (cached), table entries plus made-up ones; the
    # endpoints point at a closed port, so the refresh /model starts fails at once.
    env = {"HOME": str(home), "STOA_HOME": str(home / "stoa"), "ANTHROPIC_API_KEY": "x", "OPENAI_API_KEY": "x",
           "ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    write_model_cache(home / "stoa" / "cache" / "models.json", anthropic=40, openai=20)
    config = load_config(workspace, env=env)
    runtime = build_runtime(config, Choices(model="claude-opus-4-7"))

    async def nothing() -> list[Any]:
        return []

    runtime.detect_local_servers = nothing
    app = make_app(config, runtime=runtime, animations=False, cursor_blink=False)
    results: dict[str, list[float]] = {"model picker": [], "effort picker": [], "key manager": []}
    # CPU time of the app's thread: what opening costs, without waiting for other processes.
    cpu: dict[str, list[float]] = {name: [] for name in results}

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()

        async def once(name: str, open_it: Any, ready: Any) -> None:
            painted = asyncio.Event()
            started, cpu_started = time.perf_counter(), time.thread_time()
            open_it()
            await _until(ready)
            app.screen.call_after_refresh(painted.set)  # the list has been laid out and painted
            await painted.wait()
            results[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.thread_time() - cpu_started) * 1000)
            await pilot.press("escape")
            await _until(lambda: app.screen is app.chat)
            await pilot.pause()

        from textual.widgets import OptionList

        def list_ready(selector: str) -> Any:
            def ready() -> bool:
                screen = app.screen
                if screen is app.chat or not screen.is_mounted:
                    return False
                found = screen.query(selector)
                if selector == "#models" and found:
                    rows = getattr(screen, "rows", [])
                    assert len(rows) >= 60, f"the picker lists {len(rows)} models, not 60"
                return bool(found) and found.first(OptionList).option_count > 0

            return ready

        chat = app.chat
        for _ in range(rounds + 1):
            # What the F2 / F3 bindings and the /key command run.
            await once("model picker", chat.action_model_picker, list_ready("#models"))
            await once("effort picker", chat.action_effort_picker, list_ready("#efforts"))
            await once("key manager", lambda: chat.run_slash("/key"), list_ready("#providers"))
    return results, cpu


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    results, cpu = asyncio.run(measure(rounds))
    print(f"picker open latency, headless 120x40, {rounds} warm rounds, 60 models (target < 100 ms)")
    print(f"  load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    for name, samples in results.items():
        cold, warm = samples[0], sorted(samples[1:])
        p95 = warm[max(0, int(len(warm) * 0.95) - 1)]
        cpu_warm = statistics.median(cpu[name][1:])
        print(
            f"  {name:<14} cold {cold:6.1f} ms   warm median {statistics.median(warm):6.1f} ms"
            f"   p95 {p95:6.1f} ms   (CPU: cold {cpu[name][0]:5.1f} ms, warm median {cpu_warm:5.1f} ms)"
        )


if __name__ == "__main__":
    main()
