"""Benchmark: what a resumed conversation costs in memory, per message (a script, not a test).

Run: ``.venv/bin/python -m tests.bench.bench_resume_memory [ROUNDS]`` (default 3).

Writes saved sessions of 100, 1,000 and 10,000 messages through the real session recorder
(``bench_tui_long.write_session``: prompts, Markdown replies, read_file calls with a 120-line
result each), runs ``stoa -c`` on each in tmux at 120x40 and measures the app's resident memory
(RSS) once the last reply is on screen and the app has settled, and the time from start to that
reply. Growth per message is the RSS difference between two sizes over the difference in
messages. What a resumed message costs includes the model's context (the agent's history: every
message, the next request sends them all, bounded by compaction) and the chat log's share (the
part this benchmark is about). Medians of ROUNDS runs per size, interleaved.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_tui_long import LAST_REPLY, write_session
from tests.bench.tui_harness import TmuxStoa, require_tmux
from tests.fake_server import FakeServer

SIZES = (100, 1_000, 10_000)


def main() -> int:
    require_tmux()
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rss: dict[int, list[int]] = {n: [] for n in SIZES}
    ready: dict[int, list[float]] = {n: [] for n in SIZES}
    server = FakeServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="stoa-bench-") as tmp:
            databases: dict[int, Path] = {}
            for n in SIZES:
                database = Path(tmp) / f"db-{n}" / "sessions.db"
                database.parent.mkdir(parents=True)
                asyncio.run(write_session(database, Path(tmp) / "project", n))
                databases[n] = database
            for round_ in range(rounds):
                for n in SIZES:
                    folder = Path(tmp) / f"run-{n}-{round_}"
                    app = TmuxStoa(folder, server.base_url, args=("-c",))
                    (app.stoa_home / "data").mkdir(parents=True)
                    (app.stoa_home / "data" / "sessions.db").write_bytes(databases[n].read_bytes())
                    # The session belongs to the project it was written for.
                    app.workspace.rmdir()
                    app.workspace = Path(tmp) / "project"
                    app.workspace.mkdir(exist_ok=True)
                    started = app.start()
                    try:
                        shown = app.wait_for_last_line(
                            lambda screen: LAST_REPLY in screen and "Message Stoa" in screen, timeout=180
                        )
                        time.sleep(2.0)
                        rss[n].append(app.rss_kib())
                        ready[n].append(shown - started)
                    finally:
                        app.stop()
                        time.sleep(0.5)
    finally:
        server.stop()
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"stoa -c of a saved session, 120x40 in tmux, medians of {rounds} runs; load {load}")
    med = {n: statistics.median(rss[n]) for n in SIZES}
    for n in SIZES:
        print(f"  {n:>6,} messages: RSS {med[n] / 1024:6.1f} MB   last reply on screen after "
              f"{statistics.median(ready[n]) * 1000:6.0f} ms")
    for a, b in itertools.pairwise(SIZES):
        print(f"  growth {a:,} -> {b:,}: {(med[b] - med[a]) / (b - a):.1f} KB per message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
