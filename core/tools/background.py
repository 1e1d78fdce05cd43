"""Background shell jobs: ``execute_bash`` with ``background: true``, ``bash_output`` and ``bash_kill``.

A background job is a command line started exactly as a foreground ``execute_bash`` is (same
analysis, same permission decision, same sandbox and scrubbed environment, its own process
group, tracked by the watchdog: ``core/tools/shell.py`` spawns it), but the call returns its id
at once. ``BackgroundJobs`` (one per conversation, shared with its sub-agents) keeps each job's
unread output (bounded: the oldest is dropped, and the reader is told how much), its status and
exit code. When the job's command ends, whatever it left in its group is stopped, as for a
foreground command. ``aclose`` ends every job (Stoa quits: TUI, headless); SIGTERM, SIGHUP and
kill -9 are covered by the watchdog.

A job's start and end are written into the tool results the model sees (``started background
job b1``, ``job b1 ... ended``), so a resumed session can tell which jobs were still running when
Stoa ended (``lost_jobs``) and the model is told that they did not survive.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import re
import signal
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from stoa.core.tools.base import ARGS_CONFIG, Effect, Tool, ToolContext, ToolError, ToolOutput
from stoa.core.tools.watchdog import WATCHDOG

if TYPE_CHECKING:
    from stoa.core.providers.types import Message

# Unread output kept per job; older unread output is dropped (and counted).
UNREAD_LIMIT = 64 * 1024
READ_CHUNK = 64 * 1024
# Between SIGTERM and SIGKILL when a job is killed.
KILL_GRACE_SECONDS = 1.0
# How much of a command line the lists show.
WHAT_CHARS = 60

JobStatus = Literal["running", "exited", "killed", "timed out", "failed"]

STARTED_RE = re.compile(r"^Started background job (b\d+)\b", re.MULTILINE)
ENDED_RE = re.compile(r"^\[job (b\d+) (?:exited|was killed|timed out|ended)", re.MULTILINE)


@dataclass
class Job:
    """One background command line."""

    id: str
    command: str
    pid: int
    sandboxed: bool
    # The RUN_MARKER its processes carry (core/processes.py): what it detaches ends with it.
    marker: str | None = None
    started: float = field(default_factory=time.monotonic)
    status: JobStatus = "running"
    exit_code: int | None = None
    ended: float | None = None
    # The last line it printed (the activity bar's "last action").
    last_line: str = ""
    _unread: deque[str] = field(default_factory=deque)
    _unread_bytes: int = 0
    _dropped_bytes: int = 0
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _process: asyncio.subprocess.Process | None = None
    _ended_event: asyncio.Event = field(default_factory=asyncio.Event)
    _reported_end: bool = False

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def what(self) -> str:
        line = " ".join(self.command.split())
        return line if len(line) <= WHAT_CHARS else line[: WHAT_CHARS - 1] + "…"

    def age(self, now: float | None = None) -> float:
        return (self.ended if self.ended is not None else (now or time.monotonic())) - self.started

    def _add(self, text: str) -> None:
        size = len(text.encode("utf-8", "replace"))
        self._unread.append(text)
        self._unread_bytes += size
        while self._unread_bytes > UNREAD_LIMIT and len(self._unread) > 1:
            gone = self._unread.popleft()
            gone_size = len(gone.encode("utf-8", "replace"))
            self._unread_bytes -= gone_size
            self._dropped_bytes += gone_size
        for line in reversed(text.splitlines()):
            if line.strip():
                self.last_line = line.strip()[:200]
                break

    def take_unread(self) -> tuple[str, int]:
        """The output since the last read, and how many bytes of it were dropped."""
        text, dropped = "".join(self._unread), self._dropped_bytes
        self._unread.clear()
        self._unread_bytes = self._dropped_bytes = 0
        return text, dropped

    def status_text(self) -> str:
        if self.status == "running":
            return f"running for {self.age():.0f} s"
        if self.status == "exited":
            return f"exited with code {self.exit_code} after {self.age():.1f} s"
        if self.status == "killed":
            return f"was killed after {self.age():.1f} s"
        if self.status == "timed out":
            return f"timed out after {self.age():.1f} s and was stopped"
        return f"ended ({self.status})"


class BackgroundJobs:
    """The background jobs of one conversation (and its sub-agents): start, read, kill, close."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._next = 1
        # Jobs of an earlier run of this session that were running when Stoa ended.
        self._lost: list[str] = []

    # ---- starting -----------------------------------------------------------------------------

    def adopt(
        self,
        process: asyncio.subprocess.Process,
        command: str,
        *,
        sandboxed: bool,
        timeout: int | None,
        marker: str | None = None,
    ) -> Job:
        """Take over a freshly spawned command (its own process group) as a background job."""
        job = Job(
            id=f"b{self._next}", command=command, pid=process.pid, sandboxed=sandboxed, marker=marker, _process=process
        )
        self._next += 1
        self._jobs[job.id] = job
        WATCHDOG.track(process.pid)
        decoder_out = codecs.getincrementaldecoder("utf-8")(errors="backslashreplace")
        decoder_err = codecs.getincrementaldecoder("utf-8")(errors="backslashreplace")
        readers = [
            asyncio.create_task(_pump(process.stdout, job, decoder_out, "")),
            asyncio.create_task(_pump(process.stderr, job, decoder_err, "[stderr] ")),
        ]
        job._tasks = [*readers, asyncio.create_task(self._supervise(job, process, readers, timeout))]
        return job

    async def _supervise(
        self,
        job: Job,
        process: asyncio.subprocess.Process,
        readers: list[asyncio.Task[None]],
        limit: int | None,
    ) -> None:
        from stoa.core.processes import end_marked, exited
        from stoa.core.tools.shell import settled_group_alive, stop_group

        try:
            try:
                code: int | None = await asyncio.wait_for(exited(process), limit)
            except TimeoutError:
                job.status = "timed out"
                await stop_group(process, graceful=True, marker=job.marker)
                code = process.returncode
            # What the command left running in its group, or detached, is stopped, as for a
            # foreground one.
            if await settled_group_alive(process.pid):
                await asyncio.wait(readers, timeout=0.5)
                await stop_group(process, graceful=False)
            if job.marker is not None:
                await end_marked(job.marker, grace=1.0)
            await asyncio.wait(readers, timeout=2.0)
            if job.status == "running":
                job.status = "killed" if code is not None and code < 0 else "exited"
            job.exit_code = code
        finally:
            for reader in readers:
                if not reader.done():
                    reader.cancel()
            job.ended = time.monotonic()
            WATCHDOG.untrack(process.pid)
            job._ended_event.set()

    # ---- reading --------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        key = job_id.strip()
        if key.isdigit():
            key = f"b{key}"
        job = self._jobs.get(key)
        if job is None:
            if key in self._lost:
                raise ToolError(
                    f"background job {key} did not survive: it was running when Stoa ended, and Stoa "
                    "ends its background jobs when it exits. Start it again with execute_bash "
                    "(background: true) if it is still needed."
                )
            known = ", ".join(self._jobs) or "none"
            raise ToolError(
                f"there is no background job {job_id!r} (jobs of this session: {known}); "
                "start one with execute_bash and background: true"
            )
        return job

    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def running(self) -> list[Job]:
        return [j for j in self._jobs.values() if j.running]

    def read(self, job_id: str) -> ToolOutput:
        job = self.get(job_id)
        text, dropped = job.take_unread()
        parts: list[str] = []
        if dropped:
            parts.append(f"[... {dropped:,} bytes of older unread output dropped ...]\n")
        parts.append(text if text else "(no new output)\n")
        if parts[-1] and not parts[-1].endswith("\n"):
            parts.append("\n")
        parts.append(_footer(job))
        if not job.running:
            job._reported_end = True
        output = ToolOutput.text("".join(parts), display=_display(job, "".join(parts)))
        return output

    # ---- ending ---------------------------------------------------------------------------------

    async def kill(self, job_id: str) -> ToolOutput:
        from stoa.core.tools.shell import stop_group

        job = self.get(job_id)
        if not job.running:
            text, _ = job.take_unread()
            job._reported_end = True
            raise ToolError(
                f"background job {job.id} has already ended: {job.status_text()}. "
                "Nothing was killed." + (f" Its last output:\n{text[-2000:]}" if text.strip() else "")
            )
        job.status = "killed"
        process = job._process
        if process is not None:
            await stop_group(process, graceful=True, marker=job.marker)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(job._ended_event.wait(), 5)
        text, _ = job.take_unread()
        job._reported_end = True
        body = text[-4000:] if text.strip() else "(no new output)\n"
        if not body.endswith("\n"):
            body += "\n"
        return ToolOutput.text(body + _footer(job), display=_display(job, body))

    async def aclose(self) -> list[str]:
        """End every running job (Stoa is quitting). Returns the ids that were still running."""
        from stoa.core.tools.shell import stop_group

        running = self.running()
        for job in running:
            job.status = "killed"
        await asyncio.gather(
            *(stop_group(j._process, graceful=True, marker=j.marker) for j in running if j._process is not None),
            return_exceptions=True,
        )
        # The supervisors see the ends and close the pipes; a straggler is cancelled.
        tasks = [t for j in running for t in j._tasks]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=3)
            for task in pending:
                task.cancel()
        return [j.id for j in running]

    def kill_now(self) -> None:
        """Signal every running job's group at once (no event loop needed)."""
        from stoa.core.processes import RUN_MARKER, marked_processes, signal_group, signal_pids

        for job in self.running():
            job.status = "killed"
            signal_group(job.pid, signal.SIGKILL)
            if job.marker is not None:
                signal_pids(marked_processes(RUN_MARKER, job.marker), signal.SIGKILL)
            WATCHDOG.untrack(job.pid)

    # ---- resume -------------------------------------------------------------------------------

    def note_history(self, history: Iterable[Message]) -> list[str]:
        """A resumed conversation: the jobs it started that had not ended when Stoa stopped.
        Their ids are not reused; returns them (the model is told through ``take_lost_note``)."""
        started, ended = jobs_in_history(history)
        numbers = [int(j[1:]) for j in started if j[1:].isdigit()]
        self._next = max([self._next, *(n + 1 for n in numbers)])
        self._lost = [j for j in started if j not in ended]
        return list(self._lost)

    def with_lost_note(self, content: list[Any]) -> list[Any]:
        """A turn's user content, with the lost-jobs note after it the first time there is one."""
        note = self.take_lost_note()
        if note is None:
            return content
        from stoa.core.providers.types import TextBlock

        return [*content, TextBlock(text=note)]

    def take_lost_note(self) -> str | None:
        """Once: the note that tells the model which jobs did not survive."""
        lost = [j for j in self._lost if j not in self._jobs]
        if not lost or getattr(self, "_lost_told", False):
            return None
        self._lost_told = True
        names = ", ".join(lost)
        return (
            f"[Stoa: the background job{'s' if len(lost) > 1 else ''} {names} of this conversation "
            "did not survive: Stoa ended it when it exited. Start it again with execute_bash "
            "(background: true) if it is still needed.]"
        )


def jobs_in_history(history: Iterable[Message]) -> tuple[list[str], set[str]]:
    """Background job ids started in a conversation, and those it saw end."""
    started: list[str] = []
    ended: set[str] = set()
    for message in history:
        for result in message.tool_results:
            text = result.text
            started += [m for m in STARTED_RE.findall(text) if m not in started]
            ended.update(ENDED_RE.findall(text))
    return started, ended


def _footer(job: Job) -> str:
    if job.running:
        return f"[job {job.id} is running ({job.age():.0f} s) · pid {job.pid}]"
    code = f" · exit code {job.exit_code}" if job.exit_code is not None else ""
    verb = {"exited": "exited", "killed": "was killed", "timed out": "timed out"}.get(job.status, "ended")
    return f"[job {job.id} {verb} after {job.age():.1f} s{code}]"


def _display(job: Job, text: str) -> dict[str, Any]:
    return {
        "kind": "text",
        "text": text + _footer(job),
        "job": job.id,
        "status": job.status,
        "exit_code": job.exit_code,
    }


async def _pump(reader: asyncio.StreamReader | None, job: Job, decoder: Any, prefix: str) -> None:
    if reader is None:
        return
    pending = ""
    while True:
        chunk = await reader.read(READ_CHUNK)
        if not chunk:
            break
        pending += decoder.decode(chunk)
        cut = pending.rfind("\n")
        if cut >= 0:
            lines, pending = pending[: cut + 1], pending[cut + 1 :]
            job._add(_prefixed(lines, prefix))
        elif len(pending) >= READ_CHUNK:
            job._add(_prefixed(pending, prefix))
            pending = ""
    pending += decoder.decode(b"", final=True)
    if pending:
        job._add(_prefixed(pending + "\n", prefix))


def _prefixed(text: str, prefix: str) -> str:
    if not prefix:
        return text
    return "".join(prefix + line for line in text.splitlines(keepends=True))


def _jobs(ctx: ToolContext) -> BackgroundJobs:
    if ctx.jobs is None:
        raise ToolError("background jobs are not available here (no conversation holds them)")
    return ctx.jobs


class JobIdArgs(BaseModel):
    model_config = ARGS_CONFIG

    id: str = Field(description="The background job's id, as execute_bash returned it (e.g. b1).", min_length=1)


class BashOutput(Tool):
    name = "bash_output"
    description = (
        "Read what a background job (started with execute_bash and background: true) printed since "
        "the last read, with its status (running, or ended with its exit code). Call it again later "
        "for more; it never waits."
    )
    Args = JobIdArgs
    effect = Effect.NONE

    def summary(self, args: BaseModel) -> str:
        return str(getattr(args, "id", ""))

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        assert isinstance(args, JobIdArgs)
        return _jobs(ctx).read(args.id)


class BashKill(Tool):
    name = "bash_kill"
    description = (
        "Stop a background job (started with execute_bash and background: true) and every process "
        "it started: SIGTERM, then SIGKILL after a second. Returns its last output."
    )
    Args = JobIdArgs
    # It only stops what this conversation started.
    effect = Effect.NONE

    def summary(self, args: BaseModel) -> str:
        return str(getattr(args, "id", ""))

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        assert isinstance(args, JobIdArgs)
        return await _jobs(ctx).kill(args.id)
