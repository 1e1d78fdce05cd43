"""Start-up benchmark (a script, not a test): `.venv/bin/python -m tests.bench.bench_tui_startup`

Every figure is a ratio against a floor measured in the same run, rounds interleaved (each
round runs every case once, so a busy machine slows them alike); medians of ``--runs``.

1. Headless: ``stoa -p`` answering one line from an instant fake server, CPU time (user +
   system of the child, getrusage) and wall time, against ``python -c "import textual.app"``.
   Target (issue 14): CPU <= 2x the floor.
2. TUI launch: from asking tmux (120x40, a real pty) to start the app until the composer's
   placeholder ("Message Stoa") is on screen, against a minimal Textual app with one Input
   (tests/bench/minimal_app.py) reaching its first frame. Target: <= 1.5x. Then, that it takes
   keys: three characters typed the moment the placeholder shows, and the time until they are
   on screen (both apps); "to a key on screen" is the sum, the launch as a person meets it.
3. After ready: CPU the app uses in the ``--idle`` seconds (default 10) after the composer is
   on screen, as a share of one core (/proc/PID/stat). Target: <= 5 %.
4. A prompt sent at ready: "hi" and Enter sent the moment the composer shows; the time until
   the fake server has the model request. Target: < 0.3 s.

``--python OTHER`` runs the Stoa cases with another checkout's interpreter too (its venv has
that checkout installed), interleaved with this one: before/after in one run.
``--forms`` adds other forms of case 1, each against the same floor (target <= 2x for all):
``--output-format json`` and ``stream-json``; ``-c`` (continuing the session the previous run
saved); a project (a git repository with an AGENTS.md and a ``.stoa/config.toml`` choosing the
model, max-tokens and a permission rule); an OpenAI model (``-m gpt-5.5``, Responses).
Before the timed rounds every form runs once untimed: that run writes the ``.pyc`` files of a
fresh checkout (a first run compiles them) and the session database and model-list cache, so
the rounds measure the steady state, as a person's second run would.
CPU time is the robust figure on a shared machine; wall times stretch with the load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.bench.tui_harness import PYTHON, TmuxStoa, require_tmux
from tests.fake_server import FakeServer, reply

READY_TEXT = "Message Stoa"
ECHO_TEXT = "zqx"
MINIMAL_APP = Path(__file__).resolve().parent / "minimal_app.py"


def child_run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, stdout) of one finished subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise RuntimeError(f"{command} exited {out.returncode}: {out.stderr[-2000:]}")
    return wall, cpu, out.stdout


def headless_env(home: Path, server: FakeServer) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "STOA_HOME": str(home / "stoa-home"),
        "LANG": "C.UTF-8",
        "ANTHROPIC_API_KEY": "bench",
        "ANTHROPIC_BASE_URL": server.base_url,
        "OPENAI_API_KEY": "bench",
        "OPENAI_BASE_URL": server.openai_base_url,
    }


# The forms of case 1 (name, arguments after the prompt, run in the project folder).
PLAIN = ("one-line answer", (), False)
FORMS = (
    ("--output-format json", ("--output-format", "json"), False),
    ("--output-format stream-json", ("--output-format", "stream-json"), False),
    ("-c (continue)", ("-c",), False),
    ("in a project (AGENTS.md, .stoa/config.toml, git)", (), True),
    ("an OpenAI model (-m gpt-5.5)", ("-m", "gpt-5.5"), False),
)


def make_project(folder: Path) -> Path:
    """A small repository with instructions and a project configuration."""
    (folder / ".stoa").mkdir(parents=True)
    (folder / "AGENTS.md").write_text("# Project\n\nRun the tests with pytest. Keep functions short.\n")
    (folder / ".stoa" / "config.toml").write_text(
        'model = "sonnet"\nmax-tokens = 4096\n\n[permissions]\nallow = ["Bash(git status)"]\n'
    )
    for index in range(3):
        (folder / f"module{index}.py").write_text(f"VALUE = {index}\n")
    quiet = {"capture_output": True, "check": True, "cwd": folder}
    subprocess.run(["git", "init", "-q"], **quiet)  # type: ignore[call-overload]
    subprocess.run(["git", "add", "-A"], **quiet)  # type: ignore[call-overload]
    subprocess.run(["git", "-c", "user.email=bench@stoa", "-c", "user.name=bench", "commit", "-qm", "start"],
                   **quiet)  # type: ignore[call-overload]  # fmt: skip
    return folder


def floor_import(home: Path) -> tuple[float, float]:
    wall, cpu, _ = child_run([str(PYTHON), "-c", "import textual.app"], {"PATH": "/usr/bin:/bin"}, home)
    return wall, cpu


def headless(
    python: Path, home: Path, server: FakeServer, extra: tuple[str, ...] = (), cwd: Path | None = None
) -> tuple[float, float]:
    wall, cpu, out = child_run(
        [str(python), "-m", "stoa.app.cli", "-p", "what is 2+2?", *extra], headless_env(home, server), cwd or home
    )
    if "Four." not in out:
        raise RuntimeError(f"unexpected answer {out!r}")
    return wall, cpu


class Tui:
    """One app in tmux: start, wait for the ready text, then measure, then stop."""

    def __init__(self, folder: Path, server: FakeServer, *, python: Path = PYTHON, script: Path | None = None):
        self.app = TmuxStoa(folder, server.base_url, python=python, script=script)
        self.server = server

    def ready(self) -> tuple[float, float]:
        """(seconds from start to the ready text on screen, CPU seconds the app used by then)."""
        started = self.app.start()
        ready = self.app.wait_for_text(READY_TEXT, timeout=60)
        return ready - started, self.app.cpu_seconds()

    def echo(self) -> float:
        """Seconds from typing a few characters (right after the ready text showed) to seeing them."""
        self.app.send_keys(ECHO_TEXT, literal=True)
        typed = time.perf_counter()
        return self.app.wait_for_text(ECHO_TEXT, timeout=60) - typed

    def idle_cpu_share(self, seconds: float) -> float:
        before = self.app.cpu_seconds()
        time.sleep(seconds)
        return (self.app.cpu_seconds() - before) / seconds

    def prompt_latency(self) -> float:
        """Seconds from Enter (sent right after the ready text showed) to the model request."""
        seen = len(self.server.model_requests())
        self.app.send_keys("hi", literal=True)
        sent = time.perf_counter()
        self.app.send_keys("Enter")
        deadline = sent + 60
        while len(self.server.model_requests()) <= seen:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no request within 60 s; the screen shows:\n{self.app.screen()}")
            time.sleep(0.002)
        return time.perf_counter() - sent

    def stop(self) -> None:
        self.app.stop()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of CPU sampling after ready")
    parser.add_argument("--python", type=Path, help="another checkout's interpreter, measured alongside")
    parser.add_argument("--skip-tui", action="store_true")
    parser.add_argument("--skip-headless", action="store_true")
    parser.add_argument("--forms", action="store_true", help="other forms of the headless case too")
    args = parser.parse_args()
    if not args.skip_tui:
        require_tmux()
    stoas: list[tuple[str, Path]] = [("this checkout", PYTHON)]
    if args.python:
        stoas.append((f"other ({args.python})", args.python))
    results: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    with FakeServer(instant=True, default_reply=reply(text="Four.", instant=True)) as server, \
            tempfile.TemporaryDirectory(prefix="stoa-bench-") as tmp:
        root = Path(tmp)
        # Warm the page cache and the .pyc files once. Each checkout keeps one home for its
        # headless runs, so they measure the steady state (session database and model-list
        # cache present), as a person's second run would.
        floor_import(root)
        homes = {label: root / f"headless-{index}" for index, (label, _) in enumerate(stoas)}
        forms = [PLAIN, *FORMS] if args.forms else [PLAIN]
        project = make_project(root / "project") if args.forms else None

        def run_form(label: str, python: Path, form: tuple[str, tuple[str, ...], bool]) -> tuple[float, float]:
            _name, extra, in_project = form
            return headless(python, homes[label], server, extra, project if in_project else None)

        for label, python in stoas:
            homes[label].mkdir()
            if not args.skip_headless:
                for form in forms:
                    run_form(label, python, form)
        load_before = os.getloadavg()
        for round_ in range(args.runs):
            if not args.skip_headless:
                wall, cpu = floor_import(root)
                add("floor import wall", wall)
                add("floor import cpu", cpu)
                for form in forms:
                    for label, python in stoas:
                        wall, cpu = run_form(label, python, form)
                        key = "headless" if form is PLAIN else f"form {form[0]}"
                        add(f"{label} {key} wall", wall)
                        add(f"{label} {key} cpu", cpu)
            if args.skip_tui:
                continue
            floor = Tui(root / f"min{round_}", server, script=MINIMAL_APP)
            try:
                wall, cpu = floor.ready()
                add("floor echo", floor.echo())
                add("floor tui wall", wall)
                add("floor tui cpu", cpu)
            finally:
                floor.stop()
            for index, (label, python) in enumerate(stoas):
                app = Tui(root / f"idle{round_}-{index}", server, python=python)
                try:
                    wall, cpu = app.ready()
                    add(f"{label} echo", app.echo())
                    add(f"{label} tui wall", wall)
                    add(f"{label} tui cpu", cpu)
                    add(f"{label} idle share", app.idle_cpu_share(args.idle))
                finally:
                    app.stop()
                app = Tui(root / f"prompt{round_}-{index}", server, python=python)
                try:
                    app.ready()
                    add(f"{label} prompt latency", app.prompt_latency())
                finally:
                    app.stop()
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end, "
          f"{os.cpu_count()} cores; medians of {args.runs} interleaved rounds")
    report(results, stoas, skip_tui=args.skip_tui, skip_headless=args.skip_headless)
    if args.forms and not args.skip_headless:
        floor = median(results["floor import cpu"])
        for name, _extra, _in_project in FORMS:
            for label, _ in stoas:
                cpu = median(results[f"{label} form {name} cpu"])
                print(f"  {label}: stoa -p, {name}: CPU {cpu * 1000:.0f} ms = {cpu / floor:.2f}x the floor "
                      "(target <= 2x)")
    return 0


def report(results: dict[str, list[float]], stoas: list[tuple[str, Path]], *, skip_tui: bool,
           skip_headless: bool) -> None:
    m: Callable[[str], float] = lambda name: median(results.get(name, []))  # noqa: E731
    if not skip_headless:
        print(f"floor: python -c 'import textual.app': CPU {m('floor import cpu') * 1000:.0f} ms, "
              f"wall {m('floor import wall') * 1000:.0f} ms")
        for label, _ in stoas:
            cpu, wall = m(f"{label} headless cpu"), m(f"{label} headless wall")
            print(f"  {label}: stoa -p one-line answer: CPU {cpu * 1000:.0f} ms = "
                  f"{cpu / m('floor import cpu'):.2f}x the floor (target <= 2x); wall {wall * 1000:.0f} ms = "
                  f"{wall / m('floor import wall'):.2f}x")
    if not skip_tui:
        print(f"floor: minimal Textual app to first frame in tmux: wall {m('floor tui wall') * 1000:.0f} ms, "
              f"CPU {m('floor tui cpu') * 1000:.0f} ms")
        for label, _ in stoas:
            wall, cpu = m(f"{label} tui wall"), m(f"{label} tui cpu")
            print(f"  {label}: launch to ready composer: wall {wall * 1000:.0f} ms = "
                  f"{wall / m('floor tui wall'):.2f}x the floor (target <= 1.5x); CPU {cpu * 1000:.0f} ms = "
                  f"{cpu / m('floor tui cpu'):.2f}x")
            echo, floor_echo = m(f"{label} echo"), m("floor echo")
            print(f"  {label}: keys typed at ready on screen after {echo * 1000:.0f} ms (floor {floor_echo * 1000:.0f} ms); "
                  f"launch to a key on screen {(wall + echo) * 1000:.0f} ms = "
                  f"{(wall + echo) / (m('floor tui wall') + floor_echo):.2f}x the floor's")
            print(f"  {label}: CPU after ready: {m(f'{label} idle share') * 100:.1f} % of a core "
                  f"(target <= 5 %); runs: {', '.join(f'{x * 100:.1f}' for x in results[f'{label} idle share'])}")
            print(f"  {label}: prompt sent at ready reached the server after "
                  f"{m(f'{label} prompt latency') * 1000:.0f} ms (target < 300 ms); runs: "
                  f"{', '.join(f'{x * 1000:.0f}' for x in results[f'{label} prompt latency'])}")
    print("raw: " + "; ".join(f"{k}: {', '.join(f'{v:.3f}' for v in vs)}" for k, vs in results.items()))


if __name__ == "__main__":
    sys.exit(main())
