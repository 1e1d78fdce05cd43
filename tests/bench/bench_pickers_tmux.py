"""Benchmark: picker open as a person sees it, keypress to the list on screen in tmux.

Run: ``.venv/bin/python -m tests.bench.bench_pickers_tmux [ROUNDS]`` (default 7, at least 5).

Starts ``stoa`` in tmux at 120x40 (an isolated home; the providers' addresses point at a closed
port, so nothing answers) three times, with a cached catalogue of 1, 50 and 300 models and
1,000, 10,000 and 1,000 saved sessions (three in four of this project), and once the floor,
``picker_floor_app.py`` (a minimal Textual app whose F2 opens the smallest modal screen). Each
round opens, interleaved, the floor and then, in each Stoa, the model picker (F2), the effort
picker (F3), the key manager (``/key`` Enter) and the resume picker (``/resume`` Enter), and
closes each with Esc. Wall time is from ``tmux send-keys`` of the key until ``capture-pane``
shows the picker's title and its first rows (polled every 2 ms); CPU is the app's (all its threads,
from schedstat) from the key until 0.3 s after the list showed (the open's later frames and
the model picker's background refresh included). Medians of the rounds, against the floor's median of the same run.
Targets (issue 14): model / effort / key picker < 100 ms, resume picker over 1,000 sessions
< 150 ms.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_pickers import write_model_lists, write_sessions
from tests.bench.tui_harness import TmuxStoa, require_tmux

FLOOR_APP = Path(__file__).resolve().parent / "picker_floor_app.py"
CLOSED_PORT = "http://127.0.0.1:9"
LAUNCHES = ((1, 1_000), (50, 10_000), (300, 1_000))


@dataclass(frozen=True)
class Case:
    name: str
    typed: str | None  # typed first (a slash command), then the key is timed
    key: str
    shows: tuple[str, ...]  # all on screen = the list is visible


FLOOR = Case("floor", None, "F2", ("the floor: a modal screen",))
CASES = (
    Case("model picker", None, "F2", ("Switch model", " ctx  ")),
    Case("effort picker", None, "F3", ("Reasoning effort for", "(current)")),
    Case("key manager", "/key", "Enter", ("API keys", "from environment variable")),
    Case("resume picker", "/resume", "Enter", ("Resume a session", " msgs · ")),
)


@dataclass
class Figures:
    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.wall.setdefault(name, []).append(wall * 1000)
        self.cpu.setdefault(name, []).append(cpu * 1000)


def visible(app: TmuxStoa, texts: tuple[str, ...], *, timeout: float = 20.0) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        screen = app.screen()
        if all(text in screen for text in texts):
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{texts!r} did not show; the screen shows:\n{screen}")
        time.sleep(0.002)


def gone(app: TmuxStoa, text: str, *, timeout: float = 20.0) -> None:
    deadline = time.perf_counter() + timeout
    while text in app.screen():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{text!r} is still on screen:\n{app.screen()}")
        time.sleep(0.01)


def cpu_seconds(app: TmuxStoa) -> float:
    """CPU time of every thread of the app so far, in nanoseconds' precision (schedstat; the
    clock ticks of /proc/PID/stat are 10 ms, as large as what is measured)."""
    total = 0
    for task in Path(f"/proc/{app.pid()}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def open_once(app: TmuxStoa, case: Case) -> tuple[float, float]:
    """(wall seconds keypress -> list on screen, app CPU seconds for the whole open)."""
    if case.typed:
        app.send_keys(case.typed, literal=True)
        visible(app, (case.typed,))
        time.sleep(0.3)  # the slash list settles before the timed Enter
    cpu = cpu_seconds(app)
    started = time.perf_counter()
    app.send_keys(case.key)
    shown = visible(app, case.shows)
    time.sleep(0.3)
    used = cpu_seconds(app) - cpu
    app.send_keys("Escape")
    gone(app, case.shows[0])
    time.sleep(0.2)
    return shown - started, used


def launch(folder: Path, models: int, sessions: int) -> TmuxStoa:
    app = TmuxStoa(folder, CLOSED_PORT)
    write_model_lists(app.stoa_home / "cache" / "models.json", models)
    asyncio.run(write_sessions(app.stoa_home / "data" / "sessions.db", str(app.workspace.resolve()), sessions))
    return app


def main() -> int:
    require_tmux()
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    if rounds < 5:
        raise SystemExit("at least 5 rounds (medians of 5 or more)")
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="stoa-bench-") as tmp:
        root = Path(tmp)
        floor = TmuxStoa(root / "floor", CLOSED_PORT, script=FLOOR_APP)
        apps = [launch(root / f"stoa-{m}-{s}", m, s) for m, s in LAUNCHES]
        loads = []
        try:
            for app in (floor, *apps):
                app.start()
            for app in (floor, *apps):
                app.wait_for_text("Message Stoa", timeout=60)
            time.sleep(3.0)  # after-ready work (catalogue, warm-ups) done
            for _ in range(rounds + 1):  # the first round (cold: imports the screens) is reported apart
                loads.append(os.getloadavg()[0])
                for (models, sessions), app in zip(LAUNCHES, apps, strict=True):
                    for case in CASES:
                        figures.add("floor", *open_once(floor, FLOOR))
                        figures.add(f"{case.name} [{models} models, {sessions:,} sessions]", *open_once(app, case))
        finally:
            for app in (floor, *apps):
                app.stop()
    report(figures, rounds, loads)
    return 0


def report(figures: Figures, rounds: int, loads: list[float]) -> None:
    def med(values: list[float]) -> float:
        return statistics.median(values[1:])

    fw, fc = med(figures.wall["floor"]), med(figures.cpu["floor"])
    print(f"picker open in tmux 120x40, keypress -> list on screen, medians of {rounds} interleaved rounds "
          f"(first, cold, round apart); load {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores")
    print(f"  floor (minimal Textual app, F2 -> a modal)         wall {fw:6.1f} ms   CPU {fc:6.1f} ms")
    for name in figures.wall:
        if name == "floor":
            continue
        w, c = med(figures.wall[name]), med(figures.cpu[name])
        target = 150 if name.startswith("resume") else 100
        verdict = "meets" if w < target else "MISSES"
        print(f"  {name:<52} wall {w:6.1f} ms = {w / fw:4.2f}x floor   CPU {c:6.1f} ms = {c / fc:4.2f}x floor   "
              f"cold {figures.wall[name][0]:6.1f} ms   {verdict} < {target} ms")


if __name__ == "__main__":
    sys.exit(main())
