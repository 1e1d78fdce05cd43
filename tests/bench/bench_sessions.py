"""Session store benchmarks (a script, not a test): `.venv/bin/python -m tests.bench.bench_sessions [picker]`

Measures, on a real SQLite file in a temp folder:
1. save latency per message through the recorder (user prompts, assistant messages with tool
   calls, 30 kB tool results; each save is one transaction with its display records);
2. resume of a 1,000-message session with long tool outputs through ``open_session`` (open the
   store, load and repair the history, load the display records, restore the runtime), and
   the memory it takes;
3. the resume picker opening over 1,000 saved sessions, until the list is filled and drawn,
   against the smallest modal screen (the floor) in the same app, interleaved, medians.

Targets (issue 6): save < 5 ms per message; resume to ready < 1 s; picker < 150 ms.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

from stoa.core import events as ev
from stoa.core.providers.types import Message, TextBlock, ToolResultBlock, ToolUseBlock, Usage, user_text
from stoa.core.sessions.recorder import SessionRecorder
from stoa.core.sessions.store import SessionSeed, SessionStore

TOOL_OUTPUT = ("line of a long tool output, as read_file or a test run prints it\n" * 470)[:30_000]


def seed_for(project: str = "/bench/project", session_id: str | None = None) -> SessionSeed:
    return SessionSeed(session_id or str(uuid.uuid4()), project, "claude-sonnet-4-6", "anthropic", "auto", "medium")


async def write_session(store: SessionStore, seed: SessionSeed, messages: int) -> list[float]:
    """Write a conversation of ``messages`` messages; returns each save's latency in seconds."""
    recorder = SessionRecorder(store, seed)
    latencies: list[float] = []
    i = 0
    while recorder.messages_saved < messages:
        t = time.perf_counter()
        await recorder.message_added(user_text(f"prompt {i}: please look at module {i}"), replaces_last=False)
        latencies.append(time.perf_counter() - t)
        await recorder.event(ev.TurnStarted(str(i), "p", "claude-sonnet-4-6", "medium"))
        call = ToolUseBlock(id=f"toolu_{i}", name="read_file", input={"path": f"src/module_{i}.py"})
        assistant = Message(
            role="assistant",
            content=[TextBlock(text=f"Reading module {i}."), call],
            model="claude-sonnet-4-6",
            usage=Usage(input_tokens=1200, output_tokens=80),
        )
        t = time.perf_counter()
        await recorder.message_added(assistant, replaces_last=False)
        latencies.append(time.perf_counter() - t)
        await recorder.event(ev.ToolCallStarted(call.id, call.name, call.input, summary=call.input["path"]))
        await recorder.event(
            ev.ToolCallFinished(call.id, call.name, False, TOOL_OUTPUT, display={"kind": "text", "text": TOOL_OUTPUT})
        )
        result = Message(role="user", content=[ToolResultBlock(tool_use_id=call.id, content=[TextBlock(text=TOOL_OUTPUT)])])
        t = time.perf_counter()
        await recorder.message_added(result, replaces_last=False)
        latencies.append(time.perf_counter() - t)
        final = Message(role="assistant", content=[TextBlock(text=f"Module {i} looks fine.\n" * 5)], model="claude-sonnet-4-6")
        t = time.perf_counter()
        await recorder.message_added(final, replaces_last=False)
        latencies.append(time.perf_counter() - t)
        await recorder.event(ev.TurnFinished(None, "done", 2))
        i += 1
    await recorder.aclose()
    return latencies


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def bench_save(folder: Path) -> None:
    store = await SessionStore.open(folder / "save.db")
    try:
        latencies = await write_session(store, seed_for(), 1000)
    finally:
        await store.aclose()
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)]
    print(
        f"save per message ({len(latencies)} messages, 1/4 are 30 kB tool results): "
        f"median {ms(statistics.median(latencies))}, p95 {ms(p95)}, max {ms(latencies[-1])}"
    )


async def bench_resume(folder: Path) -> None:
    from stoa.core.config import load_config
    from stoa.core.runtime import Choices, build_runtime
    from stoa.core.sessions import close_session, open_session

    workspace = folder / "project"
    workspace.mkdir()
    env = {"STOA_HOME": str(folder / "home"), "HOME": str(folder), "ANTHROPIC_API_KEY": "bench"}
    config = load_config(workspace, env=env)
    config.paths.database.parent.mkdir(parents=True)
    store = await SessionStore.open(config.paths.database)
    seed = seed_for(str(workspace))
    await write_session(store, seed, 1000)
    await store.aclose()
    size = config.paths.database.stat().st_size + sum(
        p.stat().st_size for p in config.paths.database.parent.glob("sessions.db-*")
    )

    runs = []
    for traced in (False, False, False, True):
        runtime = build_runtime(config, Choices())
        gc.collect()
        if traced:
            tracemalloc.start()
        t = time.perf_counter()
        cpu = time.process_time()
        handle = await open_session(runtime, resume=seed.id[:8], titles=False)
        elapsed = time.perf_counter() - t
        cpu = time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        if traced:
            tracemalloc.stop()
        runs.append((elapsed, peak, len(runtime.agent.history), len(handle.records), cpu))
        await close_session(runtime)
    timed = [r[0] for r in runs[:3]]
    _, peak, messages, records, _ = runs[3]
    cpu_best = min(r[4] for r in runs[:3])
    print(
        f"resume of a {messages}-message session ({records} display records, database {size / 1e6:.1f} MB): "
        f"{ms(min(timed))} best, {ms(statistics.median(timed))} median of 3, CPU time {ms(cpu_best)} "
        f"(store open, history load + repair, records, runtime restore); "
        f"peak memory allocated while resuming {peak / 1e6:.1f} MB"
    )


async def bench_picker(folder: Path, rounds: int = 7) -> None:
    """The resume picker over 1,000 saved sessions (750 of this project), from the push until
    every shown session is in the list and the screen is painted, against the floor (the
    smallest modal screen, tests/bench/picker_floor.py) in the same app, rounds interleaved,
    medians of ``rounds`` (the first, cold, round left out)."""
    from textual.app import App
    from textual.widgets import OptionList

    from stoa.app.screens.resume import ResumePickerScreen
    from tests.bench.picker_floor import FloorScreen, open_and_paint, report, until

    path = folder / "picker.db"
    clock = [1_750_000_000.0]
    store = await SessionStore.open(path, clock=lambda: clock[0])
    for i in range(1000):
        clock[0] -= 60
        seed = seed_for("/bench/project" if i % 4 else "/bench/other")
        await store.save_message(seed, user_text(f"Session {i}: fix the thing in module {i}"), title=f"Fix module {i}")
        await store.save_message(
            seed, Message(role="assistant", content=[TextBlock(text="Done.")]), preview=f"Module {i} is fixed now."
        )
    await store.aclose()

    class Host(App[None]):
        async def on_mount(self) -> None:
            self.store = await SessionStore.open(path)
            # As StoaApp does once it has started: start-up objects are frozen, out of the
            # collector's sight (else a full collection during an open walks them all).
            gc.freeze()

    names = ("floor", "resume picker", "resume, all projects")
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        base = app.screen
        shown = 0

        def picker_ready(expected: int) -> Callable[[], bool]:
            def ready() -> bool:
                screen = app.screen
                if not isinstance(screen, ResumePickerScreen) or not screen.is_mounted or not screen.loaded:
                    return False
                # Every shown session in the list (before issue 14 the rest went in after a paint).
                found = screen.query("#sessions")
                return bool(found) and found.first(OptionList).option_count == expected

            return ready

        for _ in range(rounds + 1):
            for name in names:
                if name == "floor":
                    w, c = await open_and_paint(app, lambda: app.push_screen(FloorScreen()),
                                                lambda: isinstance(app.screen, FloorScreen) and app.screen.is_mounted)
                else:
                    everything = name != "resume picker"
                    screen = ResumePickerScreen(app.store, "/bench/project", home=Path("/bench"), show_all=everything)
                    expected = 1000 if everything else 750

                    async def push(screen: ResumePickerScreen = screen) -> None:
                        app.push_screen(await screen.preload())  # as /resume and stoa -r do

                    w, c = await open_and_paint(app, lambda push=push: asyncio.ensure_future(push()), picker_ready(expected))
                    shown = len(screen.shown_sessions())
                    assert shown == expected, shown
                wall[name].append(w)
                cpu[name].append(c)
                await pilot.press("escape")
                await until(lambda: app.screen is base)
                await pilot.pause()
        await app.store.aclose()
    print(f"resume picker over 1,000 saved sessions, headless 120x40, medians of {rounds} warm interleaved rounds "
          "(target < 150 ms)")
    for name in names[1:]:
        print(report(name, wall[name], cpu[name], wall["floor"], cpu["floor"], 150))


async def main() -> None:
    if sys.argv[1:] == ["picker"]:  # the picker alone
        with tempfile.TemporaryDirectory(prefix="stoa-bench-") as tmp:
            await bench_picker(Path(tmp))
        return
    with tempfile.TemporaryDirectory(prefix="stoa-bench-") as tmp:
        folder = Path(tmp)
        await bench_save(folder)
        await bench_resume(folder)
        await bench_picker(folder)
    import resource

    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
