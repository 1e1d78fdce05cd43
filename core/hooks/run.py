"""Running one hook command: ``bash -c COMMAND`` in the workspace, the event's JSON on stdin.

The command runs in a process group of its own, registered with the watchdog (so it cannot
outlive Stoa), with the environment shell commands get (no credentials, see
``core.sandbox.env``) plus ``STOA_PROJECT_DIR`` (and ``CLAUDE_PROJECT_DIR``, so ported scripts
find the project). At its timeout the whole group is stopped (SIGTERM, then SIGKILL), as is a
background job it leaves holding its output. Process groups are handled by the owners in
``core.tools.shell`` and ``core.processes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stoa.core.hooks.config import HookSpec
from stoa.core.processes import exited, signal_group
from stoa.core.tools.shell import stop_group
from stoa.core.tools.watchdog import WATCHDOG

# What is kept of a hook's stdout and stderr.
OUTPUT_LIMIT = 256 * 1024
# After the command exits, how long a background job may keep its output open.
DRAIN_SECONDS = 0.5


@dataclass(frozen=True)
class HookRun:
    """What one hook command did."""

    spec: HookSpec
    exit_code: int | None  # None: it did not finish (timed out, or could not start)
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    start_error: str | None = None

    def json_output(self) -> dict[str, Any] | None:
        """stdout as Claude Code's JSON object when it is one; garbage reads as plain text."""
        text = self.stdout.strip()
        if not text.startswith("{"):
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def hook_env(base: dict[str, str], workspace: Path) -> dict[str, str]:
    from stoa.core.sandbox import scrub_env

    env = scrub_env(base)
    env["STOA_PROJECT_DIR"] = str(workspace)
    env["CLAUDE_PROJECT_DIR"] = str(workspace)
    return env


async def run_hook(spec: HookSpec, payload: dict[str, Any], *, cwd: Path, env: dict[str, str]) -> HookRun:
    data = (json.dumps(payload, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
    try:
        process = await asyncio.create_subprocess_exec(
            "bash",
            "--noprofile",
            "--norc",
            "-c",
            spec.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        return HookRun(spec, None, start_error=f"could not start bash in {cwd}: {exc.strerror or exc}")
    WATCHDOG.track(process.pid)
    tasks = [
        asyncio.create_task(_feed(process, data)),
        asyncio.create_task(_read(process.stdout)),
        asyncio.create_task(_read(process.stderr)),
    ]
    timed_out = False
    try:
        try:
            await asyncio.wait_for(exited(process), spec.timeout)
        except TimeoutError:
            timed_out = True
            await stop_group(process, graceful=True)
        _, pending = await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
        if pending:  # a background job holds the pipes: nothing of the hook outlives it
            signal_group(process.pid, signal.SIGKILL)
            await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
    except asyncio.CancelledError:
        signal_group(process.pid, signal.SIGKILL)
        raise
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        WATCHDOG.untrack(process.pid)
    stdout = tasks[1].result() if tasks[1].done() and not tasks[1].cancelled() else ""
    stderr = tasks[2].result() if tasks[2].done() and not tasks[2].cancelled() else ""
    code = None if timed_out else process.returncode
    return HookRun(spec, code, stdout, stderr, timed_out=timed_out)


async def _feed(process: asyncio.subprocess.Process, data: bytes) -> str:
    """The event's JSON on stdin; a hook that does not read it is fine."""
    stdin = process.stdin
    if stdin is None:
        return ""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
        stdin.write(data)
        await stdin.drain()
    with contextlib.suppress(Exception):
        stdin.close()
    return ""


async def _read(reader: asyncio.StreamReader | None) -> str:
    if reader is None:
        return ""
    kept = bytearray()
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        if len(kept) < OUTPUT_LIMIT:
            kept.extend(chunk[: OUTPUT_LIMIT - len(kept)])
    return kept.decode("utf-8", "backslashreplace")
