"""Running ``sessions_driver`` subprocesses from tests: start, watch their marker lines, kill."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class Driver:
    """One driver process; its stdout lines are collected on a thread as they come."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.sessions_driver", *args],
            cwd=cwd,
            env={**env, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, marker: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(line.startswith(marker) for line in self.lines):
            if self.proc.poll() is not None and not self._reader.is_alive():
                raise AssertionError(f"driver exited ({self.proc.returncode}) before {marker!r}: {self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {marker!r} within {timeout}s: {self.output()}")
            time.sleep(0.005)

    def seen(self, marker: str) -> bool:
        return any(line.startswith(marker) for line in list(self.lines))

    def finish(self, timeout: float = 120.0) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"driver did not finish in {timeout}s: {self.output()}") from None
        self._reader.join(5)
        return code

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no cleanup of any kind runs
        self.proc.wait()
        self._reader.join(5)

    def output(self) -> str:
        stderr = ""
        if self.proc.poll() is not None and self.proc.stderr is not None:
            stderr = self.proc.stderr.read()
        return "\n".join(self.lines) + ("\n--- stderr ---\n" + stderr[-4000:] if stderr else "")

    def session_id(self) -> str | None:
        for line in list(self.lines):
            if line.startswith("session "):
                return line.split()[1]
        return None
