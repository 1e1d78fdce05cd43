"""Benchmark: how long the model picker, the effort picker and the key manager take to open.

Run: ``.venv/bin/python tests/bench/bench_pickers.py [ROUNDS]``. Measures, in a headless app
of 120x40, from the action the key runs (F2, F3, or the /key command) until the screen is
mounted with its list filled, laid out and painted: the first open (cold: imports the screen
module) and then ROUNDS warm opens, as wall time and as CPU time of the app's thread (the
second does not count waiting for other processes on a busy machine). Each round also opens
the floor (``picker_floor.FloorScreen``, the smallest modal screen, over the same chat screen),
and /resume over 1,000 saved sessions (750 of this project; its first frame lists the newest 60, the rest follows),
interleaved, so every figure is also a ratio against the floor of the same run; medians of the
warm rounds. Targets (issue 14): under 100 ms, the resume picker under 150 ms.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def write_model_cache(path: Path, *, anthropic: int, openai: int) -> None:
    from stoa.core.models import MODELS

    claude = [m.id for m in MODELS if m.provider == "anthropic"]
    claude += [f"claude-made-up-{i}" for i in range(anthropic - len(claude))]
    gpt = [m.id for m in MODELS if m.provider == "openai"]
    gpt += [f"gpt-made-up-{i}" for i in range(openai - len(gpt))]
    _write_lists(path, claude, gpt)


SESSIONS_HERE = 750


def write_model_lists(path: Path, total: int) -> None:
    """A cached catalogue of exactly ``total`` models: the table's ids first (the default model
    among them), then made-up ones, two in three Anthropic's (one model: the default only)."""
    from stoa.core.models import DEFAULT_MODEL, MODELS

    table = [DEFAULT_MODEL] + [m.id for m in MODELS if m.provider == "anthropic" and m.id != DEFAULT_MODEL]
    anthropic = max(1, round(total * 2 / 3)) if total > 1 else 1
    claude = (table + [f"claude-made-up-{i}" for i in range(anthropic)])[:anthropic]
    openai = total - len(claude)
    gpt = ([m.id for m in MODELS if m.provider == "openai"] + [f"gpt-made-up-{i}" for i in range(openai)])[:openai]
    _write_lists(path, claude, gpt)


def _write_lists(path: Path, claude: list[str], gpt: list[str]) -> None:
    import json

    from tests.fake_server.rules import ModelSpec

    lists = [
        {"provider": "anthropic", "base_url": "http://127.0.0.1:9", "fetched_at": time.time(),
         "models": [ModelSpec(id=i, provider="anthropic").anthropic_info() for i in claude]},
        {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "fetched_at": time.time(),
         "models": [ModelSpec(id=i, provider="openai").openai_info() for i in gpt]},
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "lists": lists}))


async def write_sessions(database: Path, project: str, count: int = 1000) -> None:
    """``count`` saved sessions, a minute apart, one in four of another project."""
    from stoa.core.providers.types import Message, TextBlock, user_text
    from stoa.core.sessions.store import SessionStore
    from tests.bench.bench_sessions import seed_for

    database.parent.mkdir(parents=True, exist_ok=True)
    clock = [time.time()]
    store = await SessionStore.open(database, clock=lambda: clock[0])
    for i in range(count):
        clock[0] -= 60
        seed = seed_for(project if i % 4 else "/elsewhere/other")
        await store.save_message(seed, user_text(f"Session {i}: fix the thing in module {i}"), title=f"Fix module {i}")
        await store.save_message(
            seed, Message(role="assistant", content=[TextBlock(text="Done.")]), preview=f"Module {i} is fixed now."
        )
    await store.aclose()


async def measure(rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    from textual.widgets import OptionList

    from stoa.app.tui import make_app
    from stoa.core.config import load_config
    from stoa.core.runtime import Choices, build_runtime
    from tests.bench.picker_floor import FloorScreen, open_and_paint, until

    home = Path(tempfile.mkdtemp(prefix="stoa-bench-"))
    workspace = home / "project"
    workspace.mkdir()
    # 60 models in the picker: today's lists (cached), table entries plus made-up ones; the
    # endpoints point at a closed port, so the refresh /model starts fails at once.
    env = {"HOME": str(home), "STOA_HOME": str(home / "stoa"), "ANTHROPIC_API_KEY": "x", "OPENAI_API_KEY": "x",
           "ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    write_model_cache(home / "stoa" / "cache" / "models.json", anthropic=40, openai=20)
    config = load_config(workspace, env=env)
    await write_sessions(config.paths.database, str(workspace))
    runtime = build_runtime(config, Choices(model="claude-opus-4-7"))

    async def nothing() -> list[Any]:
        return []

    runtime.detect_local_servers = nothing
    app = make_app(config, runtime=runtime, animations=False, cursor_blink=False)
    names = ("floor", "model picker", "effort picker", "key manager", "resume picker")
    wall: dict[str, list[float]] = {name: [] for name in names}
    # CPU time of the app's thread: what opening costs, without waiting for other processes.
    cpu: dict[str, list[float]] = {name: [] for name in names}

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        chat = app.chat

        def list_ready(selector: str) -> Any:
            def ready() -> bool:
                screen = app.screen
                if screen is chat or not screen.is_mounted:
                    return False
                found = screen.query(selector)
                if selector == "#models" and found:
                    rows = getattr(screen, "rows", [])
                    assert len(rows) >= 60, f"the picker lists {len(rows)} models, not 60"
                return bool(found) and found.first(OptionList).option_count > 0

            return ready

        def resume_ready() -> bool:
            from stoa.app.screens.resume import ResumePickerScreen

            screen = app.screen
            if not isinstance(screen, ResumePickerScreen) or not screen.is_mounted or not screen.loaded:
                return False
            # On screen: this project's newest (the rest are read after the first frame).
            found = screen.query("#sessions")
            return bool(found) and found.first(OptionList).option_count > 0

        def floor_ready() -> bool:
            return isinstance(app.screen, FloorScreen) and app.screen.is_mounted

        cases = {
            "floor": (lambda: app.push_screen(FloorScreen()), floor_ready),
            # What the F2 / F3 bindings and the /key command run.
            "model picker": (chat.action_model_picker, list_ready("#models")),
            "effort picker": (chat.action_effort_picker, list_ready("#efforts")),
            "key manager": (lambda: chat.run_slash("/key"), list_ready("#providers")),
            # /resume over 1,000 saved sessions, 750 of this project, the newest listed first.
            "resume picker": (lambda: chat.run_slash("/resume"), resume_ready),
        }
        for _ in range(rounds + 1):  # interleaved: each round opens every case once
            for name, (open_it, ready) in cases.items():
                w, c = await open_and_paint(app, open_it, ready)
                wall[name].append(w)
                cpu[name].append(c)
                await pilot.press("escape")
                await until(lambda: app.screen is chat)
                await pilot.pause()
    return wall, cpu


def main() -> None:
    from tests.bench.picker_floor import report

    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if rounds < 5:
        raise SystemExit("at least 5 rounds (medians of 5 or more)")
    wall, cpu = asyncio.run(measure(rounds))
    print(f"picker open in the app, headless 120x40, 60 models, 1,000 sessions, medians of {rounds} warm interleaved rounds")
    print(f"  load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    for name in ("model picker", "effort picker", "key manager", "resume picker"):
        target = 150 if name == "resume picker" else 100
        print(report(name, wall[name], cpu[name], wall["floor"], cpu["floor"], target))


if __name__ == "__main__":
    main()
