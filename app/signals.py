"""SIGTERM and SIGHUP end the TUI the way a quit does, not the way a crash does.

By default either signal ends Python at once: the terminal stays in the alternate screen with
the cursor hidden and mouse and bracketed-paste reporting on, the running turn's partial reply
is lost, and nothing closes the session. Here each becomes a clean exit: the running turn is
interrupted as Esc interrupts it (its partial reply kept with the interrupt marker, its shell
commands ended), then the app exits; its unmount saves the session and stops background jobs
and MCP servers, and Textual restores the terminal. The exit code is the shell's for the
signal (143 for SIGTERM, 129 for SIGHUP). A second signal exits without waiting for the turn.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from contextlib import suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stoa.app.app import StoaApp

# The exit code of each signal, as a shell reports a process it ended (128 + the number).
EXIT_CODES: dict[int, int] = {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGHUP: 128 + signal.SIGHUP}
# How long the interrupted turn may take to save what it said before the app exits anyway.
TURN_GRACE_SECONDS = 5.0
# Then how long the app's own shutdown (session saved, jobs and MCP servers stopped, terminal
# restored) may take before the process ends regardless.
SHUTDOWN_SECONDS = 10.0


def install(app: StoaApp) -> None:
    """Handle SIGTERM and SIGHUP on the app's event loop (from its ``on_mount``). Not in a
    headless app (Pilot tests share the test runner's process and loop)."""
    if app.is_headless:
        return
    loop = asyncio.get_running_loop()
    for signum, code in EXIT_CODES.items():
        # Not on the main thread (a test harness), or no signals (another platform): default.
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, _received, app, code)


def _received(app: StoaApp, code: int) -> None:
    if getattr(app, "_ending_on_signal", False):
        app.exit(return_code=code)  # asked twice: no more waiting
        return
    app._ending_on_signal = True  # type: ignore[attr-defined]
    _last_resort(code)
    app.run_worker(_end(app, code), group="signal", description="exit on a signal", exit_on_error=False)


def _last_resort(code: int) -> None:
    """If the clean exit hangs (a terminal that went away can leave Textual's shutdown writing to
    it forever), the process still ends: once the turn's grace and the app's own shutdown have
    had their time, it exits with the signal's code. Never an orphan that ignores SIGTERM."""

    def wait_then_exit() -> None:
        time.sleep(TURN_GRACE_SECONDS + SHUTDOWN_SECONDS)
        os._exit(code)

    threading.Thread(target=wait_then_exit, name="stoa-signal-deadline", daemon=True).start()


async def _end(app: StoaApp, code: int) -> None:
    if app.runtime is None:  # still starting (the runtime is built after the first frame)
        app.exit(return_code=code)
        return
    agent = app.runtime.agent
    try:
        app.chat.interrupt()  # what Esc does: the partial reply and the marker are saved
        deadline = asyncio.get_running_loop().time() + TURN_GRACE_SECONDS
        # Polled: the turn's task is the agent's own (busy reads it); bounded by the deadline.
        while agent.busy and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    finally:
        app.exit(return_code=code)
