"""Helpers for the TUI benchmarks: run ``stoa`` in a real terminal (tmux) and watch the screen.

``TmuxStoa`` starts the app in a detached tmux session of a given size, with an isolated
environment (HOME, STOA_HOME, keys and base URLs pointing at a fake provider server), and
offers ``wait_for_text`` (polls ``tmux capture-pane``), ``send_keys``, ``rss_kib`` and
``frames`` (frame timestamps recorded by ``tests/bench/tui_launcher.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
PYTHON = Path(sys.executable)
LAUNCHER = Path(__file__).resolve().parent / "tui_launcher.py"


def tmux(*args: str, socket: str | None = None) -> str:
    """Run tmux; with ``socket``, on that private server (``tmux -L``) instead of the shared one."""
    command = ["tmux", *(["-L", socket] if socket else []), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout


class TmuxStoa:
    def __init__(
        self,
        folder: Path,
        base_url: str,
        *,
        args: tuple[str, ...] = (),
        size: tuple[int, int] = (120, 40),
        record_frames: bool = False,
        hold: bool = False,
        marker: str | None = None,
        floor: bool = False,
        script: Path | None = None,
        python: Path | None = None,
        after: str = "",
    ) -> None:
        self.folder = folder
        self.workspace = folder / "project"
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.home = folder / "home"
        self.home.mkdir(exist_ok=True)
        self.stoa_home = folder / "stoa-home"
        self.base_url = base_url
        self.args = args
        self.size = size
        self.session = f"stoa-bench-{uuid.uuid4().hex[:8]}"
        # A tmux server of its own: another test (or person) killing the shared server, or the
        # shared server exiting as its last session closes, cannot touch this one.
        self.socket = self.session
        self.frames_file = folder / f"{self.session}.frames.json" if record_frames else None
        self.started_at = 0.0
        # Keep the pane open after the app exits, showing what it printed and its exit code.
        self.hold = hold
        self.marker = marker
        # Run the streaming floor app (tests/bench/stream_floor_app.py) instead of stoa.
        self.floor = floor
        # Another Python program to run in the same environment (a floor for the benchmarks).
        self.script = script
        # The interpreter to run (another checkout's venv, for before/after comparisons).
        self.python = python or PYTHON
        # Shell lines run in the pane after the app exits (with ``hold``), before "[exit N]".
        self.after = after

    def env(self) -> dict[str, str]:
        env = {
            "PATH": f"{self.python.parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.home),
            "STOA_HOME": str(self.stoa_home),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONPATH": str(REPO),
            "ANTHROPIC_API_KEY": "bench-key",
            "OPENAI_API_KEY": "bench-key",
            "ANTHROPIC_BASE_URL": self.base_url,
            "OPENAI_BASE_URL": f"{self.base_url}/v1",
        }
        if self.frames_file is not None:
            env["STOA_BENCH_FRAMES"] = str(self.frames_file)
        if self.marker:
            env["STOA_BENCH_MARKER"] = self.marker
        return env

    def start(self) -> float:
        """Start the app; returns the perf_counter time just before tmux was asked to."""
        env = self.env()
        script = self.folder / f"{self.session}.sh"
        exports = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        if self.floor:
            program = f"{_quote(str(LAUNCHER))} --floor {_quote(self.base_url)}"
        elif self.script is not None:
            program = _quote(str(self.script))
        else:
            program = _quote(str(LAUNCHER)) if self.frames_file is not None else "-m stoa.app.cli"
        command = f"env -i {exports} {_quote(str(self.python))} {program} {' '.join(_quote(a) for a in self.args)}"
        if self.hold:
            command += f'\ncode=$?\n{self.after}\necho "[exit $code]"\nsleep 600'
        else:
            command = "exec " + command
        script.write_text(f"#!/bin/sh\ncd {_quote(str(self.workspace))}\n{command}\n")
        script.chmod(0o755)
        width, height = self.size
        self.started_at = time.perf_counter()
        subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", self.session,
             "-x", str(width), "-y", str(height), str(script)],
            check=True,
        )
        return self.started_at

    def screen(self) -> str:
        return tmux("capture-pane", "-t", self.session, "-p", socket=self.socket)

    def wait_for_text(self, text: str, *, timeout: float = 20.0, interval: float = 0.003) -> float:
        """perf_counter time when ``text`` first appeared on screen."""
        deadline = time.perf_counter() + timeout
        while True:
            if text in self.screen():
                return time.perf_counter()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{text!r} did not appear; the screen shows:\n{self.screen()}")
            time.sleep(interval)

    def wait_for_last_line(self, predicate: Any, *, timeout: float = 20.0, interval: float = 0.003) -> float:
        deadline = time.perf_counter() + timeout
        while True:
            if predicate(self.screen()):
                return time.perf_counter()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"condition not met; the screen shows:\n{self.screen()}")
            time.sleep(interval)

    def send_keys(self, *keys: str, literal: bool = False) -> None:
        args = ["send-keys", "-t", self.session]
        if literal:
            args.append("-l")
        tmux(*args, *keys, socket=self.socket)

    def app_pid(self) -> int:
        """The app's process: the pane's own with ``hold`` off, else the pane shell's child."""
        shell = self.pid()
        if not self.hold:
            return shell
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == shell:
                    return int(entry.name)
        raise LookupError(f"the pane's shell {shell} has no child")

    def pid(self) -> int:
        return int(tmux("display-message", "-p", "-t", self.session, "#{pane_pid}", socket=self.socket).strip())

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid()}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the app process has used so far."""
        fields = Path(f"/proc/{self.pid()}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def recording(self) -> dict[str, Any]:
        """What the launcher recorded: {"frames": [[wall, cpu], ...], "events": {name: time}}."""
        if self.frames_file is None or not self.frames_file.exists():
            return {"frames": [], "events": {}}
        return dict(json.loads(self.frames_file.read_text()))

    def stop(self, timeout: float = 10.0) -> None:
        """End the session, then wait (bounded) for the app to be gone: on SIGHUP it quits like
        a person, saving its session and caches into its folder, which the caller may remove."""
        try:
            pid: int | None = self.pid()
        except Exception:  # no session any more
            pid = None
        tmux("kill-server", socket=self.socket)
        deadline = time.perf_counter() + timeout
        while pid is not None and Path(f"/proc/{pid}").exists() and time.perf_counter() < deadline:
            try:
                if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            except OSError:
                break
            time.sleep(0.02)

    def quit(self, timeout: float = 20.0, keys: tuple[str, ...] = ("C-c",)) -> None:
        """Quit like a person (Ctrl+C twice; again if the first one interrupted a turn), so the
        launcher can write its recording."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.session not in tmux("list-sessions", "-F", "#{session_name}", socket=self.socket):
                return
            self.send_keys(*keys)
            time.sleep(0.3)
        self.stop()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def require_tmux() -> None:
    if shutil.which("tmux") is None:
        raise SystemExit("these benchmarks run the app in tmux; install tmux first")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
