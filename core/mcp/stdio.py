"""The processes of stdio MCP servers: started before the SDK is loaded, and none left behind.

Loading the MCP SDK costs about a second of CPU, and a server takes its own time to start (node
and npx, or a Python server importing its SDK). ``spawn`` starts the process at once with anyio
(cheap to import), so the server starts up while the SDK loads; ``connect`` then joins the SDK's
session to the running process's pipes. Framing and the end follow the SDK's stdio client and
the MCP spec: newline-delimited JSON-RPC, a line that is not JSON-RPC handed to the session as
an exception (the manager counts it as junk), bytes that are not UTF-8 read as U+FFFD (the SDK's
client ends the connection over one); at the end stdin is closed, the server has
``EXIT_GRACE`` seconds to exit, then its process group gets SIGTERM and SIGKILL
(``core.processes``, the one stop loop, as for shell commands).

No process outlives its server: each server's processes carry a marker variable, and whatever
still carries it when the server stops (a helper it started, a child that ignores SIGTERM, a
child in its own process group) is ended; SIGTERM and SIGHUP, which end Python without
clean-up, do the same first, and so does ``atexit``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

from stoa.core.processes import exited_within, marked_processes, stop_group, stop_pids, stop_pids_now

log = logging.getLogger(__name__)

# Marks the processes of one stdio server (the server and whatever it starts).
MARKER_ENV = "STOA_MCP_SERVER_ID"
# What the SDK's stdio client always passes on from Stoa's own environment.
SDK_DEFAULT_ENV = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
# Time for the server to exit on its own once its stdin is closed.
EXIT_GRACE = 2.0
# Time after SIGTERM to the process group before SIGKILL.
KILL_GRACE = 2.0
# Time for the writer to flush what the session already handed it, at the end.
_FLUSH_TIMEOUT = 0.5


class ServerProcess:
    """A started stdio server: the anyio process and the marker its environment carries."""

    def __init__(self, process: Any, marker: str) -> None:
        self.process = process
        self.marker = marker
        self.attached = False  # connect() took it over (and ends it)

    @property
    def pid(self) -> int:
        return int(self.process.pid)


def server_environment(env: dict[str, str]) -> dict[str, str]:
    """The environment the server starts with: the SDK's defaults from ours, then ``env``."""
    base = {
        key: value
        for key in SDK_DEFAULT_ENV
        if (value := os.environ.get(key)) is not None and not value.startswith("()")
    }
    return base | env


async def spawn(command: str, args: list[str], env: dict[str, str], cwd: Path | None, errlog: TextIO, marker: str) -> ServerProcess:
    """Start the server in its own session (process group), stderr to ``errlog``.

    Raises OSError (no such program, permission denied, a missing cwd) like the SDK would.
    """
    import anyio

    _install_exit_reaper()
    _live_markers.add(marker)
    try:
        process = await anyio.open_process(
            [command, *args],
            env=server_environment({**env, MARKER_ENV: marker}),
            stderr=errlog,
            cwd=cwd,
            start_new_session=True,
        )
    except BaseException:
        _live_markers.discard(marker)
        raise
    return ServerProcess(process, marker)


@contextlib.asynccontextmanager
async def connect(server: ServerProcess) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's (read, write) streams over the pipes of a running server; ends the server on exit."""
    import anyio
    import anyio.lowlevel
    import mcp_types
    from anyio.streams.text import TextReceiveStream
    from mcp.shared.message import SessionMessage

    server.attached = True
    process = server.process
    read_writer, read_stream = anyio.create_memory_object_stream[Any](0)
    write_stream, write_reader = anyio.create_memory_object_stream[Any](0)
    writer_done = anyio.Event()
    shutting_down = False

    def parse(line: str) -> Any:
        try:
            return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
        except ValueError as exc:
            return exc  # the session passes it to the message handler: counted as junk

    async def read_stdout() -> None:
        try:
            async with read_writer:
                try:
                    buffer = ""
                    async for chunk in TextReceiveStream(process.stdout, encoding="utf-8", errors="replace"):
                        lines = (buffer + chunk).split("\n")
                        buffer = lines.pop()
                        for line in lines:
                            try:
                                await read_writer.send(parse(line))
                            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                                return
                finally:
                    await _drain(process)
        except anyio.ClosedResourceError:
            pass
        except (anyio.BrokenResourceError, ConnectionError):
            if not shutting_down:
                log.info("reading an MCP server's stdout failed", exc_info=True)

    async def write_stdin() -> None:
        try:
            async with write_reader:
                async for message in write_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await process.stdin.send(data.encode("utf-8"))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            # The server may still run: end the read side so no request waits forever.
            await read_writer.aclose()
        finally:
            writer_done.set()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(read_stdout)
            group.start_soon(write_stdin)
            try:
                yield read_stream, write_stream
            finally:
                shutting_down = True
                with anyio.CancelScope(shield=True):
                    read_stream.close()
                    write_stream.close()
                    with anyio.move_on_after(_FLUSH_TIMEOUT):
                        await writer_done.wait()
                    await _end_process(process)
                    for stream in (read_stream, write_stream, read_writer, write_reader):
                        await stream.aclose()
                group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await _reap_strays(server.marker)
        _live_markers.discard(server.marker)


async def discard(server: ServerProcess) -> None:
    """End a server that was started but never connected (stopped, or the SDK failed to load)."""
    if server.attached:
        return
    server.attached = True
    import anyio

    with anyio.CancelScope(shield=True):
        try:
            await _end_process(server.process)
        finally:
            await _reap_strays(server.marker)
            _live_markers.discard(server.marker)


async def _end_process(process: Any) -> None:
    """Close stdin, give the server EXIT_GRACE to exit, then end its process group."""
    import anyio

    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdin.aclose()
    if not await exited_within(process, EXIT_GRACE):
        # Its pid is the group's id (started in a session of its own).
        await stop_group(process.pid, grace=KILL_GRACE, kill_wait=0.0)
        if not await exited_within(process, EXIT_GRACE):
            log.warning("MCP server process %d survived SIGKILL; leaving it", process.pid)
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdout.aclose()
    # The asyncio transport stays open while a survivor holds a pipe; nothing public closes it.
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    close = getattr(transport, "close", None)
    if callable(close):
        with contextlib.suppress(PermissionError):
            close()


async def _drain(process: Any) -> None:
    """Read and drop what the server still writes, so it never blocks on a full pipe at exit."""
    import anyio

    with (
        anyio.CancelScope(shield=True),
        contextlib.suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError),
    ):
        while True:
            await process.stdout.receive()


# ---- processes left behind ---------------------------------------------------------------------

# Markers of the stdio servers running now, for the exit reaper.
_live_markers: set[str] = set()
_reaper_installed = False


def _install_exit_reaper() -> None:
    """Stop the servers' processes even when Stoa does not get to close the manager.

    SIGTERM, and SIGHUP (the terminal window was closed), end Python at once by default: no
    ``finally`` runs, and the servers, in their own sessions, never hear of it. Where nothing
    else handles those signals, a handler stops every process of the running servers, then
    lets the signal end Stoa as before. ``atexit`` covers an exit that skipped ``close()``.
    """
    global _reaper_installed
    if _reaper_installed:
        return
    _reaper_installed = True
    import atexit
    import threading

    atexit.register(_reap_all_now)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signum) is signal.SIG_DFL:
                signal.signal(signum, _reap_and_die)


def _reap_all_now(grace: float = 0.3) -> None:
    """Synchronously end every process of every running stdio server (SIGTERM, then SIGKILL)."""
    stop_pids_now([pid for marker in list(_live_markers) for pid in _marked_processes(marker)], grace=grace)


def _reap_and_die(signum: int, frame: Any) -> None:
    try:
        _reap_all_now()
    finally:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _marked_processes(marker: str) -> list[int]:
    """Processes (other than this one) whose environment has ``MARKER_ENV=marker``. Linux only."""
    return marked_processes(MARKER_ENV, marker)


async def _reap_strays(marker: str, grace: float = 1.0) -> None:
    strays = _marked_processes(marker)
    if not strays:
        return
    left = await stop_pids(strays, grace=grace)
    log.info("ended %d process(es) left behind by an MCP server (%d still dying)", len(strays), len(left))
