"""The floor of the picker benchmarks: the smallest modal screen, opened the same way.

``FloorScreen`` is a bordered box of one line over the same 60 % dimmed background as the
pickers, so opening it costs what any modal screen costs in that app (compose, styles, a layout
and a paint of the screen and the one behind it). A picker's figure against it is what its own
rows and widgets add.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static


class FloorScreen(ModalScreen[None]):
    CSS = """
    FloorScreen { align: center middle; background: $background 60%; }
    #floor { width: 110; height: auto; border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def compose(self) -> ComposeResult:
        yield Static("the floor: a modal screen with one line", id="floor")

    def action_close(self) -> None:
        self.dismiss(None)


async def until(predicate: Callable[[], bool], limit_s: float = 10.0) -> None:
    deadline = time.perf_counter() + limit_s
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen did not open")
        # A millisecond's sleep, not ``sleep(0)``: a loop that never idles holds the GIL from
        # the threads the open waits on (aiosqlite's), and its own spinning counts as the
        # app's CPU. The resume picker measured 140-470 ms that way, most of it this loop.
        await asyncio.sleep(0.001)


async def open_and_paint(app: Any, open_it: Callable[[], object], ready: Callable[[], bool]) -> tuple[float, float]:
    """(wall ms, CPU ms of the app's thread) from ``open_it()`` until ``ready()`` holds and the
    screen has been laid out and painted after it."""
    painted = asyncio.Event()
    started, cpu_started = time.perf_counter(), time.thread_time()
    open_it()
    await until(ready)
    app.screen.call_after_refresh(painted.set)
    await painted.wait()
    return (time.perf_counter() - started) * 1000, (time.thread_time() - cpu_started) * 1000


def report(name: str, wall: list[float], cpu: list[float], floor_wall: list[float], floor_cpu: list[float],
           target_ms: float) -> str:
    """One line: medians (the first, cold, sample left out), against the floor's medians."""
    w, c = statistics.median(wall[1:]), statistics.median(cpu[1:])
    fw, fc = statistics.median(floor_wall[1:]), statistics.median(floor_cpu[1:])
    verdict = "meets" if w < target_ms else "MISSES"
    return (
        f"  {name:<14} wall {w:6.1f} ms = {w / fw:4.2f}x floor ({fw:5.1f})   CPU {c:6.1f} ms = {c / fc:4.2f}x floor "
        f"({fc:5.1f})   cold {wall[0]:6.1f} ms   {verdict} < {target_ms:.0f} ms"
    )
