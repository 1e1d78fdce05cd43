"""Ending processes: one way to ask them to stop, wait a grace, and kill what is left.

Shell commands (foreground and background, ``core/tools/shell.py`` and ``background.py``) and
stdio MCP servers (``core/mcp/stdio.py``) all end the same way: SIGTERM, a grace for whatever
is exiting to finish, SIGKILL for what is still there, and a bounded wait for it to go. The
loop is ``_stopping``; ``stop_group`` runs it over a process group (with the leader's
descendants that moved to a group or session of their own), ``stop_pids`` and
``stop_pids_now`` over a list of processes (``stop_pids_now`` without an event loop, for
signal handlers and ``atexit``).

A process can leave its group and its parent (``setsid``, a double fork, ``nohup ... &`` then
``disown``): nothing of the tree leads to it any more. What it keeps is its environment, so
every shell command and MCP server starts with a variable that marks it (``RUN_MARKER`` for
commands, ``STOA_MCP_SERVER_ID`` for servers) and ``marked_processes`` finds whatever still
carries it, detached or not, when the command is over (``end_marked``).

Liveness comes from /proc (Linux): a zombie is not alive, so a group whose leader exited and
was not yet reaped counts as gone. Elsewhere ``killpg(pgid, 0)`` answers. The watchdog process
(``core/tools/watchdog.py``) has its own few lines of this, being a separate interpreter that
imports nothing of Stoa.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

# The variable that marks every process of one shell command or background job (its value:
# Stoa's pid and a counter), whatever it detached from.
RUN_MARKER = "STOA_RUN"
_runs = 0


def new_run_marker() -> str:
    """A fresh ``RUN_MARKER`` value for one command (unique in this Stoa, and across Stoas)."""
    global _runs
    _runs += 1
    return f"{os.getpid()}.{_runs}"


def marked_processes(name: str, value: str, *, prefix: bool = False) -> list[int]:
    """Processes (other than this one) whose environment has ``name=value`` (or, ``prefix``,
    a value starting with ``value``). Linux only (/proc); those of other users are unreadable."""
    needle = f"{name}={value}".encode()
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    me = os.getpid()
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:
            continue  # gone, or not ours to read
        if needle in environ and any(v == needle or (prefix and v.startswith(needle)) for v in environ.split(b"\0")):
            found.append(int(entry))
    return found


async def end_marked(marker: str, *, grace: float, rounds: int = 10) -> int:
    """End every process still marked with ``RUN_MARKER=marker`` (a command that is over: what
    it left behind detached). A process caught while forking may leave a child that the scan
    missed, so the scan is repeated until it finds none (at most ``rounds`` times). Returns how
    many were ended."""
    ended: set[int] = set()
    for _ in range(rounds):
        pids = [pid for pid in marked_processes(RUN_MARKER, marker) if running(pid)]
        if not pids:
            break
        ended.update(pids)
        await stop_pids(pids, grace=grace)
    return len(ended)


class Exiting(Protocol):
    """A started process (asyncio's or anyio's): ``returncode`` is None until it has exited."""

    @property
    def returncode(self) -> int | None: ...


def proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, pgid, state) for every process, from /proc (Linux; empty elsewhere)."""
    table: dict[int, tuple[int, int, str]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and fields[1].lstrip("-").isdigit() and fields[2].lstrip("-").isdigit():
            table[int(entry)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != b"Z"


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc (Linux)."""
    return [pid for pid, (_, group, state) in proc_table().items() if group == pgid and state != "Z"]


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of the group is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if not os.path.isdir("/proc/self"):
        return True
    return bool(group_members(pgid))


def descendants(root: int) -> list[int]:
    """Processes below ``root`` in the parent tree (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in proc_table().items():
        children.setdefault(ppid, []).append(pid)
    out: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def strays_of(pgid: int) -> list[int]:
    """Descendants of the group's leader that moved to a group or session of their own (setsid)."""
    return [pid for pid in descendants(pgid) if _pgid(pid) != pgid]


def signal_group(pgid: int, sig: int, strays: Sequence[int] | None = None) -> None:
    """Signal a process group and its leader's strays (found now unless given)."""
    strays = strays_of(pgid) if strays is None else strays
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    signal_pids(strays, sig)


def signal_pids(pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


async def exited(process: Exiting) -> int:
    """The exit status as soon as the process itself ends. (``Process.wait()`` also waits for its
    output pipes to close, which a child that inherited them can hold open for hours.)"""
    delay = 0.001
    while process.returncode is None:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
    return process.returncode


async def exited_within(process: Exiting, seconds: float) -> bool:
    """Whether the process exited within ``seconds``."""
    try:
        await asyncio.wait_for(exited(process), seconds)
    except TimeoutError:
        return False
    return True


def _stopping(
    send: Callable[[int], None], alive: Callable[[], bool], *, grace: float, kill_wait: float, term: bool = True
) -> Iterator[float]:
    """The one stop loop: SIGTERM (when ``term``), up to ``grace`` s for ``alive()`` to turn
    false, SIGKILL if it has not, up to ``kill_wait`` s more. Yields the pauses to sleep, so an
    event loop and a signal handler drive it alike."""
    for sig, within in ((signal.SIGTERM, grace), (signal.SIGKILL, kill_wait)):
        if sig == signal.SIGTERM and not term:
            continue
        if not alive():
            return
        send(sig)
        deadline = time.monotonic() + within
        delay = 0.001
        while alive() and time.monotonic() < deadline:
            yield delay
            delay = min(delay * 2, 0.05)


async def stop_group(pgid: int, *, grace: float, kill_wait: float = 2.0, term: bool = True) -> bool:
    """End a process group and its leader's strays: SIGTERM, ``grace`` s, SIGKILL, up to
    ``kill_wait`` s. ``term=False`` kills at once. Returns whether everything is gone."""
    strays = strays_of(pgid)

    def alive() -> bool:
        return group_alive(pgid) or any(running(pid) for pid in strays)

    def send(sig: int) -> None:
        # The strays found first (once the leader is gone, its tree is gone too) and any since.
        strays[:] = sorted(set(strays) | set(strays_of(pgid)))
        signal_group(pgid, sig, strays)

    for pause in _stopping(send, alive, grace=grace, kill_wait=kill_wait, term=term):
        await asyncio.sleep(pause)
    return not alive()


async def stop_pids(pids: Sequence[int], *, grace: float, kill_wait: float | None = None) -> list[int]:
    """End these processes: SIGTERM, ``grace`` s, SIGKILL, up to ``kill_wait`` (default
    ``grace``) s. Returns those still running (dying) at the end."""
    left = list(pids)
    for pause in _stopping(*_pid_steps(left), grace=grace, kill_wait=grace if kill_wait is None else kill_wait):
        await asyncio.sleep(pause)
    return [pid for pid in left if running(pid)]


def stop_pids_now(pids: Sequence[int], *, grace: float) -> None:
    """``stop_pids`` without an event loop (a signal handler, ``atexit``): SIGTERM, ``grace``
    s, SIGKILL; it does not wait for the killed to go."""
    left = list(pids)
    for pause in _stopping(*_pid_steps(left), grace=grace, kill_wait=0.0):
        time.sleep(pause)


def _pid_steps(left: list[int]) -> tuple[Callable[[int], None], Callable[[], bool]]:
    def alive() -> bool:
        left[:] = [pid for pid in left if running(pid)]
        return bool(left)

    return (lambda sig: signal_pids(left, sig)), alive


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None
