"""execute_bash: run one shell command line in the workspace, judged by the shell analysis.

The command is analysed (core/permissions/shell_analysis/) before anything runs; the permission policy
decides on that analysis. It then runs under ``bash -c`` in the workspace, in its own process
group, inside the bubblewrap sandbox when there is one and the line can run there, with a
scrubbed environment (no API keys, tokens or agent sockets) and no stdin. Output is streamed
to the UI line by line as it arrives; what is kept for the model is capped per stream while
reading (head and tail). On timeout, on interruption (task cancellation) and when the command
ends leaving background processes behind, the whole process group is killed; an interrupted
command still returns what it printed (``ToolContext.interrupted_output``). If Stoa itself
ends first (SIGTERM, SIGHUP, kill -9), the watchdog (core/tools/watchdog.py) kills the group.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from stoa.core import processes
from stoa.core.events import ToolCallOutput
from stoa.core.processes import exited, group_alive, signal_group
from stoa.core.tools.base import (
    ARGS_CONFIG,
    Access,
    Effect,
    Terminals,
    Tool,
    ToolContext,
    ToolError,
    ToolOutput,
)
from stoa.core.tools.watchdog import WATCHDOG

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis import ShellAnalysis
    from stoa.core.sandbox import SandboxStatus

DEFAULT_TIMEOUT = 120
MAX_TIMEOUT = 600
# Kept per stream for the model: the first HEAD_BYTES and the last TAIL_BYTES.
HEAD_BYTES = 96 * 1024
TAIL_BYTES = 32 * 1024
# Lines longer than this are split (progress bars, minified files).
MAX_LINE_CHARS = 8 * 1024
# After the command exits, how long its output pipes may stay open (background jobs).
DRAIN_SECONDS = 0.5
# After the group is gone, how long to wait for the pipes to reach their end.
ORPHAN_PIPE_SECONDS = 5.0
# After an interrupt killed the group, how long the output already in the pipes may be read.
INTERRUPT_DRAIN_SECONDS = 0.5
# Between SIGTERM and SIGKILL on timeout.
TERM_GRACE_SECONDS = 1.0
READ_CHUNK = 64 * 1024

Stream = Literal["stdout", "stderr"]


class ExecuteBashArgs(BaseModel):
    model_config = ARGS_CONFIG

    command: str = Field(
        description=(
            "The bash command line to run in the workspace (pipes, &&, ; allowed). It runs "
            "non-interactively with no stdin: pass flags like -y, avoid pagers and editors."
        ),
        min_length=1,
    )
    timeout_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TIMEOUT,
        description=(
            f"Wall-clock limit in seconds (default {DEFAULT_TIMEOUT}, at most {MAX_TIMEOUT}; a background "
            "job has none unless given)."
        ),
    )
    background: bool = Field(
        default=False,
        description=(
            "Run it in the background (dev servers, watchers, long builds): the call returns a job id "
            "at once; read its output with bash_output and stop it with bash_kill. Stoa ends its "
            "background jobs when it exits."
        ),
    )


@dataclass
class _Capture:
    """One stream's output as kept for the model: head, then a rolling tail."""

    head: list[str] = field(default_factory=list)
    head_bytes: int = 0
    tail: deque[str] = field(default_factory=deque)
    tail_bytes: int = 0
    dropped_bytes: int = 0
    total_bytes: int = 0

    def add(self, line: str) -> bool:
        """Keep ``line``; True while still within the head (worth streaming to the UI)."""
        size = len(line.encode("utf-8", "replace"))
        self.total_bytes += size
        if self.head_bytes + size <= HEAD_BYTES:
            self.head.append(line)
            self.head_bytes += size
            return True
        self.tail.append(line)
        self.tail_bytes += size
        while self.tail_bytes > TAIL_BYTES and len(self.tail) > 1:
            gone = self.tail.popleft()
            gone_size = len(gone.encode("utf-8", "replace"))
            self.tail_bytes -= gone_size
            self.dropped_bytes += gone_size
        return False

    def text(self, name: str) -> str:
        parts = list(self.head)
        if self.dropped_bytes:
            parts.append(f"[... {self.dropped_bytes:,} bytes of {name} cut; {self.total_bytes:,} in all ...]\n")
        parts.extend(self.tail)
        return "".join(parts)


@dataclass
class _Run:
    stdout: _Capture = field(default_factory=_Capture)
    stderr: _Capture = field(default_factory=_Capture)
    cut_notified: set[str] = field(default_factory=set)


class ExecuteBash(Tool):
    name = "execute_bash"
    description = (
        "Run a bash command line in the workspace and return its output and exit code. Use it to "
        "build, test, run scripts and inspect the system. Read-only and build/test commands run "
        "directly; others may need the user's approval (destructive commands, anything outside the "
        "workspace, network access, installs). The forbidden tier (sudo, mkfs, dd, shutdown, ...) "
        "never runs. Prefer the file tools for reading and editing files."
    )
    Args = ExecuteBashArgs
    effect = Effect.MUTATE
    # Offered in plan mode too: there only read-only command lines are allowed.
    offered_in_plan = True

    def summary(self, args: BaseModel) -> str:
        command = str(getattr(args, "command", ""))
        return f"{command}  (background)" if getattr(args, "background", False) else command

    # ---- analysis -------------------------------------------------------------------------

    def _analyse(self, args: ExecuteBashArgs, ctx: ToolContext) -> ShellAnalysis:
        from stoa.core.permissions.shell_analysis import analyze
        from stoa.core.sandbox import scrub_env

        env = _base_env(ctx)
        analysis = analyze(args.command, ctx.workspace, env=scrub_env(env), home=env.get("HOME"))
        ctx.checked.shell = analysis
        return analysis

    @staticmethod
    def _judged(args: BaseModel, ctx: ToolContext) -> ShellAnalysis | None:
        """The analysis the permission check judged for this very line, if it ran."""
        analysis = ctx.checked.shell
        if analysis is None or not isinstance(args, ExecuteBashArgs) or analysis.command != args.command:
            return None
        return analysis

    def effect_for(self, args: BaseModel, ctx: ToolContext) -> Effect:
        analysis = self._judged(args, ctx)
        return Effect.MUTATE if analysis is None else analysis.effect

    def concurrency_safe(self, args: BaseModel, ctx: ToolContext) -> bool:
        analysis = self._judged(args, ctx)
        return analysis is not None and analysis.read_only

    def accesses(self, args: BaseModel, ctx: ToolContext) -> list[Access]:
        assert isinstance(args, ExecuteBashArgs)
        analysis = self._analyse(args, ctx)
        return [
            Access(
                scope="bash",
                target=args.command,
                effect=analysis.effect,
                outside_workspace=bool(analysis.outside_paths),
                reason="; ".join(analysis.reasons),
                shell=analysis,
            )
        ]

    # ---- running ----------------------------------------------------------------------------

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        assert isinstance(args, ExecuteBashArgs)
        analysis = self._judged(args, ctx) or self._analyse(args, ctx)
        if analysis.tier == "forbidden":
            raise ToolError(f"Refused: {'; '.join(analysis.reasons)}. This command is never run.")
        if args.background and ctx.jobs is None:
            raise ToolError("background jobs are not available here; run the command without background")
        timeout = args.timeout_seconds or DEFAULT_TIMEOUT
        if ctx.terminals is not None and not args.background:
            argv, env, workspace, sandboxed = command_line(args.command, ctx, analysis)
            return await self._in_terminal(ctx.terminals, argv, env, workspace, timeout, args.command, sandboxed, ctx)
        process, sandboxed, marker = await spawn(args.command, ctx, analysis)
        if args.background:
            return self._adopt(process, args, ctx, sandboxed=sandboxed, marker=marker)
        # If Stoa itself ends now (SIGTERM, SIGHUP, kill -9), the watchdog ends the group.
        WATCHDOG.track(process.pid)
        try:
            return await self._supervise(
                process, args.command, limit=timeout, sandboxed=sandboxed, ctx=ctx, marker=marker
            )
        finally:
            WATCHDOG.untrack(process.pid)

    @staticmethod
    def _adopt(
        process: asyncio.subprocess.Process, args: ExecuteBashArgs, ctx: ToolContext, *, sandboxed: bool, marker: str
    ) -> ToolOutput:
        """A background job: handed to the conversation's jobs, its id returned at once."""
        assert ctx.jobs is not None
        job = ctx.jobs.adopt(process, args.command, sandboxed=sandboxed, timeout=args.timeout_seconds, marker=marker)
        limit = f"; stopped after {args.timeout_seconds} s" if args.timeout_seconds else ""
        text = (
            f"Started background job {job.id} (pid {job.pid}{' · sandboxed' if sandboxed else ''}{limit}).\n"
            f"Read its output with bash_output (id {job.id!r}); stop it with bash_kill. It is ended when Stoa exits."
        )
        return ToolOutput.text(text, display={"kind": "text", "text": text, "job": job.id, "command": args.command})

    async def _supervise(
        self,
        process: asyncio.subprocess.Process,
        command: str,
        *,
        limit: int,
        sandboxed: bool,
        ctx: ToolContext,
        marker: str,
    ) -> ToolOutput:
        """Read the command's output until it ends (or ``limit`` seconds), then make sure nothing
        of its group is left."""
        timeout = limit
        started = time.monotonic()
        run = _Run()
        notes: list[str] = []
        readers = [
            asyncio.create_task(self._pump(process.stdout, "stdout", run, ctx)),
            asyncio.create_task(self._pump(process.stderr, "stderr", run, ctx)),
        ]
        timed_out = False
        try:
            try:
                await asyncio.wait_for(exited(process), timeout)
            except TimeoutError:
                timed_out = True
                await stop_group(process, graceful=True)
                notes.append(f"timed out after {timeout} s; the command and its children were stopped")
            # Background jobs left in the group: let them flush for a moment, then stop them.
            if await settled_group_alive(process.pid):
                await asyncio.wait(readers, timeout=DRAIN_SECONDS)
                await stop_group(process, graceful=False)
                if not timed_out:
                    notes.append("background processes it left running were stopped")
            # What detached from the group and its parent (setsid, a double fork, nohup ... &
            # then disown) still carries the command's marker: it ends with the command.
            if await processes.end_marked(marker, grace=TERM_GRACE_SECONDS):
                notes.append("processes it detached from itself (setsid, nohup, disown) were stopped")
            # Every writer in the group is gone, so the pipes reach their end; only a process
            # that left the group and cleared its environment could still hold them open.
            _, pending = await asyncio.wait(readers, timeout=ORPHAN_PIPE_SECONDS)
            if pending:
                notes.append("a process that detached from the command still holds its output; stopped reading")
        except asyncio.CancelledError:
            # Interrupted: nothing of this command may outlive it. What it printed until then
            # is its result (the readers get a moment to take the rest of the pipes).
            signal_group(process.pid, signal.SIGKILL)  # and the strays that left the group
            processes.signal_pids(processes.marked_processes(processes.RUN_MARKER, marker), signal.SIGKILL)
            with contextlib.suppress(BaseException):
                await asyncio.shield(asyncio.wait(readers, timeout=INTERRUPT_DRAIN_SECONDS))
            for reader in readers:
                reader.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.shield(asyncio.wait_for(process.wait(), 5))
            elapsed = time.monotonic() - started
            notes.append("the command and its children were stopped")
            ctx.interrupted_output = self._output(
                command, run, process.returncode, elapsed, False, sandboxed, notes, interrupted=True
            )
            raise
        finally:
            for reader in readers:
                if not reader.done():
                    reader.cancel()
        elapsed = time.monotonic() - started
        code = process.returncode
        return self._output(command, run, code, elapsed, timed_out, sandboxed, notes)

    async def _in_terminal(
        self,
        terminals: Terminals,
        argv: list[str],
        env: dict[str, str],
        workspace: Path,
        limit: int,
        command: str,
        sandboxed: bool,
        ctx: ToolContext,
    ) -> ToolOutput:
        """Run the line in the host's terminal (an editor's, shown live there): the same argv,
        started under ``env -i`` with the scrubbed environment (the host's own, with its keys,
        is not passed on); the same timeout and interrupt handling, through terminal requests."""
        argv = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
        started = time.monotonic()
        notes: list[str] = []
        try:
            terminal = await terminals.start(ctx.call_id, argv, workspace, HEAD_BYTES + TAIL_BYTES)
        except Exception as exc:
            raise ToolError(f"the editor could not start a terminal: {exc}") from None
        timed_out = False
        code: int | None = None
        try:
            try:
                code, signal_name = await asyncio.wait_for(terminals.wait(terminal), limit)
                if code is None and signal_name:
                    try:
                        code = -signal.Signals[signal_name].value  # shown as "killed by SIGNAME"
                    except KeyError:
                        notes.append(f"ended by {signal_name}")
            except TimeoutError:
                timed_out = True
                await terminals.kill(terminal)
                notes.append(f"timed out after {limit} s; the command was stopped")
            text, cut = await terminals.output(terminal)
        except asyncio.CancelledError:
            with contextlib.suppress(BaseException):
                text, cut = await asyncio.shield(self._stop_terminal(terminals, terminal))
                notes.append("the command was stopped")
                ctx.interrupted_output = self._output(
                    command, _captured(text, cut), None, time.monotonic() - started, False, sandboxed, notes, interrupted=True
                )
            raise
        except Exception as exc:  # the host failed mid-command: say so, keep nothing running
            with contextlib.suppress(Exception):
                await terminals.kill(terminal)
            raise ToolError(f"the editor's terminal failed: {exc}") from None
        finally:
            with contextlib.suppress(BaseException):
                # What the command detached in the editor's terminal carries its marker too.
                marker = env.get(processes.RUN_MARKER, "")
                stopped = await asyncio.shield(processes.end_marked(marker, grace=TERM_GRACE_SECONDS)) if marker else 0
                if stopped:
                    notes.append("processes it detached from itself (setsid, nohup, disown) were stopped")
            with contextlib.suppress(BaseException):
                await asyncio.shield(terminals.release(terminal))
        return self._output(command, _captured(text, cut), code, time.monotonic() - started, timed_out, sandboxed, notes)

    @staticmethod
    async def _stop_terminal(terminals: Terminals, terminal: str) -> tuple[str, bool]:
        await terminals.kill(terminal)
        return await terminals.output(terminal)

    async def _pump(self, reader: asyncio.StreamReader | None, stream: Stream, run: _Run, ctx: ToolContext) -> None:
        if reader is None:
            return
        capture = run.stdout if stream == "stdout" else run.stderr
        # Bytes that are not UTF-8 (a name like b'bad\xff.txt' from ls) read as \xNN, the form
        # the file tools show and accept for such names.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="backslashreplace")
        pending = ""
        while True:
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                break
            pending += decoder.decode(chunk)
            while True:
                cut = pending.find("\n", 0, MAX_LINE_CHARS)
                if cut < 0:
                    if len(pending) >= MAX_LINE_CHARS:
                        # A very long line: pass it on in pieces.
                        line, pending = pending[:MAX_LINE_CHARS], pending[MAX_LINE_CHARS:]
                        self._line(line + "\n", stream, capture, run, ctx)
                        continue
                    break
                line, pending = pending[: cut + 1], pending[cut + 1 :]
                self._line(line, stream, capture, run, ctx)
        pending += decoder.decode(b"", final=True)
        if pending:
            self._line(pending, stream, capture, run, ctx)

    def _line(self, line: str, stream: Stream, capture: _Capture, run: _Run, ctx: ToolContext) -> None:
        if capture.add(line):
            ctx.emit(ToolCallOutput(ctx.call_id, line, stream))
        elif stream not in run.cut_notified:
            run.cut_notified.add(stream)
            ctx.emit(ToolCallOutput(ctx.call_id, f"[... more {stream} not shown live ...]\n", stream))

    def _output(
        self,
        command: str,
        run: _Run,
        code: int | None,
        elapsed: float,
        timed_out: bool,
        sandboxed: bool,
        notes: list[str],
        *,
        interrupted: bool = False,
    ) -> ToolOutput:
        out = run.stdout.text("stdout")
        err = run.stderr.text("stderr")
        parts: list[str] = []
        if out:
            parts.append(out if out.endswith("\n") else out + "\n")
        if err:
            parts.append("[stderr]\n" + (err if err.endswith("\n") else err + "\n"))
        if not parts:
            parts.append("(no output)\n")
        status = "timed out" if timed_out else "interrupted by the user" if interrupted else f"exit code {code}"
        if code is not None and code < 0 and not (timed_out or interrupted):
            try:
                status = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                status = f"killed by signal {-code}"
        footer = f"[{status} · {elapsed:.1f} s{' · sandboxed' if sandboxed else ''}]"
        for note in notes:
            footer += f"\n[{note}]"
        text = "".join(parts) + footer
        display = {
            "kind": "text",
            "text": text,
            "command": command,
            "exit_code": code,
            "timed_out": timed_out,
            "interrupted": interrupted,
            "sandboxed": sandboxed,
            "elapsed": elapsed,
        }
        output = ToolOutput.text(text, display=display)
        output.is_error = timed_out or code != 0
        return output


async def spawn(
    command: str, ctx: ToolContext, analysis: ShellAnalysis
) -> tuple[asyncio.subprocess.Process, bool, str]:
    """Start a judged command line as execute_bash runs it (foreground or background): bash in
    the workspace, its own process group (session), no stdin, the scrubbed environment, inside
    the sandbox when the policy judged with one and the line can run there. Returns the process,
    whether it is sandboxed, and the marker its processes carry (``processes.RUN_MARKER``)."""
    argv, env, workspace, sandboxed = command_line(command, ctx, analysis)
    marker = env[processes.RUN_MARKER]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=workspace,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolError(f"could not start bash: {exc.strerror or exc}") from None
    return process, sandboxed, marker


def command_line(command: str, ctx: ToolContext, analysis: ShellAnalysis) -> tuple[list[str], dict[str, str], Path, bool]:
    """What runs a judged line: (argv, environment, folder, sandboxed), for Stoa's own process
    or a host's terminal alike."""
    status = _sandbox_status(ctx)
    sandboxed = status.active and analysis.sandboxable
    from stoa.core.sandbox import layout_for, prepare_workspace, scrub_env, settings_from_config, wrap

    base_env = _base_env(ctx)
    env = scrub_env(base_env)
    env[processes.RUN_MARKER] = processes.new_run_marker()  # finds what detaches (processes.py)
    workspace = _canonical(ctx.workspace)
    argv = ["bash", "--noprofile", "--norc", "-c", command]
    if sandboxed:
        prepare_workspace(workspace)
        layout = layout_for(
            workspace,
            env=base_env,
            settings=settings_from_config(ctx.config),
            stoa_paths=ctx.config.paths if ctx.config is not None else None,
        )
        argv = wrap(argv, layout, executable=status.executable or "bwrap")
    return argv, env, workspace, sandboxed


# ---- helpers ----------------------------------------------------------------------------------


def _captured(text: str, cut: bool) -> _Run:
    """A terminal's output as a run's stdout (a host terminal mixes the two streams)."""
    run = _Run()
    if cut:
        run.stdout.add("[... the start of the output was cut by the terminal ...]\n")
    for line in text.splitlines(keepends=True):
        run.stdout.add(line)
    return run


def _base_env(ctx: ToolContext) -> dict[str, str]:
    return dict(ctx.config.env) if ctx.config is not None else dict(os.environ)


def _canonical(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _sandbox_status(ctx: ToolContext) -> SandboxStatus:
    """The sandbox the policy judged with, so a line it allowed as sandboxed runs sandboxed
    (without a policy, or one made without probing: detection and the configuration)."""
    if ctx.policy is not None and ctx.policy.sandbox is not None:
        return ctx.policy.sandbox
    from stoa.core.sandbox import status_for

    return status_for(ctx.config)


async def settled_group_alive(pgid: int, wait: float = 0.3) -> bool:
    """Whether a live process of the group is left, once processes that are already exiting
    (the sandbox tearing down its namespace) had up to ``wait`` s to finish."""
    deadline = time.monotonic() + wait
    delay = 0.001
    while group_alive(pgid) and time.monotonic() < deadline:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
    return group_alive(pgid)


async def stop_group(process: asyncio.subprocess.Process, *, graceful: bool, marker: str | None = None) -> None:
    """Stop every process of the command's group (``core.processes.stop_group``: SIGTERM first
    when ``graceful``, SIGKILL for what is left after TERM_GRACE_SECONDS), and with ``marker``
    what detached from it, then reap it."""
    await processes.stop_group(process.pid, grace=TERM_GRACE_SECONDS, term=graceful)
    if marker is not None:
        await processes.end_marked(marker, grace=TERM_GRACE_SECONDS if graceful else 0.0)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), 5)
