"""Run ``stoa`` (app.cli), or the streaming floor app, while recording its frames.

Used by the TUI benchmarks. With ``STOA_BENCH_FRAMES=path`` the app writes, when it exits, a
JSON file: ``frames`` (one ``[perf_counter, process_time]`` pair per frame Textual writes to
the terminal: wall time comparable across processes, and this process's CPU time) and
``events`` (named moments). With ``STOA_BENCH_MARKER=text`` the first frame whose bytes contain
that text is recorded as ``marker_drawn``: the moment the text reached the terminal, found in
what Textual wrote, not in how Stoa builds it.

    python tests/bench/tui_launcher.py [stoa arguments...]
    python tests/bench/tui_launcher.py --floor BASE_URL     (tests/bench/stream_floor_app.py)
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))


def record_frames(path: str, marker: str | None) -> dict[str, float]:
    """Hook Textual's frame output; returns the dict of named moments (callers may add to it)."""
    from textual.app import App
    from textual.drivers.linux_driver import LinuxDriver

    frames: list[tuple[float, float]] = []
    events: dict[str, float] = {}
    original = App._display

    def display(self: Any, screen: Any, renderable: Any) -> Any:
        if renderable is not None:
            frames.append((time.perf_counter(), time.process_time()))
        return original(self, screen, renderable)

    App._display = display  # type: ignore[method-assign]

    if marker:
        write = LinuxDriver.write

        def watch(self: Any, data: str) -> None:
            if "marker_drawn" not in events and marker in data:
                events["marker_drawn"] = time.perf_counter()
                events["marker_drawn_cpu"] = time.process_time()
            write(self, data)

        LinuxDriver.write = watch  # type: ignore[method-assign]

    def save() -> None:
        events["exit_cpu"] = time.process_time()
        Path(path).write_text(json.dumps({"frames": frames, "events": events}))

    atexit.register(save)
    return events


def _record_stoa(events: dict[str, float]) -> None:
    """When the last assistant text left the agent (the client's view of the stream's end)."""
    try:
        from stoa.app.pacing import StreamPacer
    except ImportError:  # an older tree (before app/pacing.py): no such moment recorded
        return
    from stoa.core import events as ev

    put = StreamPacer.event

    def record(self: Any, event: Any) -> Any:
        if isinstance(event, ev.AssistantTextDelta):
            events["last_text_delta"] = time.perf_counter()
        return put(self, event)

    StreamPacer.event = record  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    target = os.environ.get("STOA_BENCH_FRAMES")
    events = record_frames(target, os.environ.get("STOA_BENCH_MARKER")) if target else {}
    if argv[:1] == ["--floor"]:
        from tests.bench.stream_floor_app import main as floor

        return floor(argv[1:])
    if target:
        _record_stoa(events)
    from stoa.app.cli import main as stoa

    return stoa(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
