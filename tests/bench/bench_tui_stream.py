"""Streaming benchmark (a script, not a test): `.venv/bin/python -m tests.bench.bench_tui_stream`

``stoa`` runs in tmux at 120x40 against a fake provider server in this process. The model's
reply is ~20,000 tokens of Markdown (headings, paragraphs, lists, tables, code fences).

1. Instant server: the whole reply is sent as fast as the SDK reads it (one delta per ~4
   characters). Measured: time from the server's last byte to the reply's last line on
   screen, and frames per second while the UI catches up (frame times from the launcher).
2. Paced server (~2,000 tokens/s, as a fast model streams): keystroke echo latency while
   streaming (a key sent to tmux until it shows in the composer).

Targets (issue 3): last line within 0.3 s of stream end; keystroke echo < 50 ms.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.bench.tui_harness import TmuxStoa, median, ms, require_tmux
from tests.fake_server import FakeServer, reply

END_MARKER = "END-OF-REPLY-MARKER"


def markdown_reply(target_chars: int = 80_000) -> str:
    parts: list[str] = []
    n = 0
    while sum(len(p) for p in parts) < target_chars:
        n += 1
        parts.append(f"## Section {n}: what the module does\n\n")
        parts.append(
            "The loader reads **three layers** of configuration and merges them, later layers "
            "winning per key. Each problem names the file and line, and says what to do next. "
            f"This is paragraph {n}, written to look like a real explanation of real code.\n\n"
        )
        parts.append("- read the global file\n- read the project file\n- read the personal file\n\n")
        parts.append("| layer | file | wins over |\n|---|---|---|\n| global | config.toml | nothing |\n"
                     "| project | .stoa/config.toml | global |\n\n")
        parts.append(
            "```python\n"
            f"def merge_{n}(layers: list[dict]) -> dict:\n"
            "    merged: dict = {}\n"
            "    for layer in layers:\n"
            "        merged.update(layer)\n"
            "    return merged\n"
            "```\n\n"
        )
    parts.append(f"The end.\n\n{END_MARKER}\n")
    return "".join(parts)


class TimedServer(FakeServer):
    """Records when each streamed response ended."""

    def __init__(self) -> None:
        super().__init__()
        self.stream_ends: list[float] = []
        original = self._end_sse

        async def end(conn):  # type: ignore[no-untyped-def]
            await original(conn)
            self.stream_ends.append(time.perf_counter())

        self._end_sse = end  # type: ignore[method-assign]


def composer_has(screen: str, text: str) -> bool:
    return any(text in line for line in screen.splitlines()[-6:])


def run_instant(folder: Path, text: str) -> None:
    server = TimedServer().start()
    server.script(reply(text=text, chunk_size=4, output_tokens=20_000, input_tokens=2_000))
    app = TmuxStoa(folder, server.base_url, record_frames=True, marker=END_MARKER)
    try:
        app.start()
        app.wait_for_text("Message Stoa")
        time.sleep(1.0)
        app.send_keys("Explain the loader in depth", literal=True)
        app.send_keys("Enter")
        sent = time.perf_counter()
        # Coarse polling: screen captures cost CPU the app would rather have. The exact moment
        # comes from the app's own frame log.
        app.wait_for_text(END_MARKER, timeout=120, interval=0.1)
        end = server.stream_ends[0]
        rss = app.rss_kib()
        app.quit()
        recording = app.recording()
        events = recording["events"]
        received = events["last_text_delta"]
        applied = events["marker_applied"]
        shown = min(f for f in recording["frames"] if f >= applied)
        frames = [f for f in recording["frames"] if sent <= f <= shown]
        duration = shown - sent
        print(f"instant 20k-token reply ({len(text):,} chars, ~{len(text) // 4:,} deltas):")
        print(f"  server wrote it in {end - sent:.2f} s; the app received the last delta {received - sent:.2f} s "
              f"after Enter and drew the last line {ms(shown - received)} later (target < 300 ms); "
              f"{ms(shown - end)} after the server's last byte")
        print(f"  {len(frames)} frames in {duration:.2f} s from Enter to the last line: {len(frames) / duration:.0f} fps;"
              f" RSS after: {rss / 1024:.0f} MB")
    finally:
        app.stop()
        server.stop()


def run_paced(folder: Path, text: str) -> None:
    server = TimedServer().start()
    # 16 characters (~4 tokens) per event, 2 ms apart: ~2,000 tokens per second.
    server.script(reply(text=text, chunk_size=16, delay_per_event=0.002, output_tokens=20_000))
    app = TmuxStoa(folder, server.base_url)
    latencies: list[float] = []
    try:
        app.start()
        app.wait_for_text("Message Stoa")
        time.sleep(0.5)
        app.send_keys("Explain the loader in depth", literal=True)
        app.send_keys("Enter")
        app.wait_for_text("Section 2")
        typed = ""
        for _ in range(25):
            if server.stream_ends:
                break
            typed += "Z"
            t = time.perf_counter()
            app.send_keys("Z", literal=True)
            app.wait_for_last_line(lambda screen, typed=typed: composer_has(screen, typed), timeout=10)
            latencies.append(time.perf_counter() - t)
            time.sleep(0.15)
        streaming = not server.stream_ends
        app.wait_for_text(END_MARKER, timeout=120)
        print(f"paced reply (~2,000 tokens/s): keystroke echo while streaming over {len(latencies)} keys: "
              f"median {ms(median(latencies))}, max {ms(max(latencies))} (target < 50 ms)"
              + ("" if streaming else " [the stream ended before the last key]"))
    finally:
        app.stop()
        server.stop()


def main() -> int:
    require_tmux()
    text = markdown_reply()
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"load average at the start: {load}")
    with tempfile.TemporaryDirectory(prefix="stoa-bench-") as tmp:
        run_instant(Path(tmp) / "instant", text)
        run_paced(Path(tmp) / "paced", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
