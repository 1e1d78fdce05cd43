"""Start-up benchmark (a script, not a test): `.venv/bin/python -m tests.bench.bench_tui_startup`

Time from asking tmux to start ``stoa`` (120x40, a real pty) until the composer's placeholder
is on the screen, i.e. the app is drawn and ready for typing. Polls ``tmux capture-pane``
every 3 ms, so the figure includes the terminal's own latency. Also reports the bare Python
start and the import time of ``app.tui`` for context.

Target (issue 3): ready composer in under 0.6 s on this 2-core machine.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.tui_harness import PYTHON, REPO, TmuxStoa, median, ms, require_tmux
from tests.fake_server import FakeServer

RUNS = 7
READY_TEXT = "Message Stoa"


def python_baseline() -> float:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([str(PYTHON), "-c", "pass"], check=True)
        times.append(time.perf_counter() - t)
    return median(times)


def import_time() -> float:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([str(PYTHON), "-c", "import stoa.app.tui"], check=True, cwd=REPO)
        times.append(time.perf_counter() - t)
    return median(times)


def main() -> int:
    require_tmux()
    server = FakeServer().start()
    results: list[float] = []
    cpu: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="stoa-bench-") as tmp:
            for i in range(RUNS):
                app = TmuxStoa(Path(tmp) / f"run{i}", server.base_url)
                started = app.start()
                try:
                    ready = app.wait_for_text(READY_TEXT)
                    results.append(ready - started)
                    cpu.append(app.cpu_seconds())
                finally:
                    app.stop()
                time.sleep(0.3)
    finally:
        server.stop()
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"load average at the start: {load} (the figures below stretch with it on 2 cores)")
    print(f"python -c pass: {ms(python_baseline())}; python -c 'import stoa.app.tui': {ms(import_time())}")
    print(
        f"stoa start to ready composer in tmux 120x40 ({RUNS} runs): median {ms(median(results))}, "
        f"min {ms(min(results))}, max {ms(max(results))} (target < 600 ms)"
    )
    print(f"CPU time the app used until ready (load-independent): median {ms(median(cpu))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
