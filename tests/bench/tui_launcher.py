"""Run ``stoa`` (app.cli) while recording when each frame is written to the terminal.

Used by the TUI benchmarks: with ``STOA_BENCH_FRAMES=path`` the perf_counter time of every
frame Textual writes goes to that JSON file when the app exits.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))


def _record_frames(path: str) -> None:
    from textual.app import App

    frames: list[float] = []
    original = App._display

    def display(self, screen, renderable):  # type: ignore[no-untyped-def]
        if renderable is not None:
            frames.append(time.perf_counter())
        return original(self, screen, renderable)

    App._display = display  # type: ignore[method-assign]

    # When the last assistant text reached the UI (the client's view of "stream end").
    events: dict[str, float] = {}
    from stoa.app.bridge import Bridge
    from stoa.core import events as ev

    post = Bridge.post

    def record(self, event):  # type: ignore[no-untyped-def]
        if isinstance(event, ev.AssistantTextDelta):
            events["last_text_delta"] = time.perf_counter()
        elif isinstance(event, ev.AssistantMessageCompleted):
            events["message_completed"] = time.perf_counter()
        return post(self, event)

    Bridge.post = record  # type: ignore[method-assign]

    # When text containing the benchmark's end marker reached the reply widget.
    marker = os.environ.get("STOA_BENCH_MARKER")
    if marker:
        import stoa.widgets.assistant as assistant
        add_text = assistant.AssistantMessage.add_text

        async def watch(self, fragment):  # type: ignore[no-untyped-def]
            result = await add_text(self, fragment)
            if marker in fragment and "marker_applied" not in events:
                events["marker_applied"] = time.perf_counter()
            return result

        assistant.AssistantMessage.add_text = watch  # type: ignore[method-assign]
    atexit.register(lambda: Path(path).write_text(json.dumps({"frames": frames, "events": events})))


if __name__ == "__main__":
    target = os.environ.get("STOA_BENCH_FRAMES")
    if target:
        _record_frames(target)
    from stoa.app.cli import main

    sys.exit(main(sys.argv[1:]))
