"""Headless mode: run one turn from the shell and print it (`stoa -p`, `stoa "PROMPT"`).

The same Agent and events as the TUI. Output formats: ``text`` (the reply on stdout, tool
activity and notices on stderr), ``json`` (one object at the end), ``stream-json`` (one JSON
event per line). Nobody is there to approve anything, so the approver refuses whatever would
ask, with a tool error naming the rule that would allow it.

Ctrl+C (SIGINT) during the turn interrupts it as Esc does in the TUI: the events run on to
``TurnInterrupted``, the partial reply is printed and kept in the session; a second Ctrl+C
stops at once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TextIO

from stoa.core import events as ev
from stoa.core.config import StoaConfig
from stoa.core.runtime import Choices, MissingKeyError, Runtime

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2


class HeadlessPrinter:
    """Turns events into output in one of the three formats."""

    def __init__(self, output_format: str, out: TextIO, err: TextIO, *, shell: bool = False) -> None:
        self.format = output_format
        # A ``!command`` run: its output is the reply (stdout), a refusal is the error.
        self.shell = shell
        self.out = out
        self.err = err
        self.texts: list[str] = []
        self.error: ev.TurnFailed | None = None
        self.interrupted = False
        # The exit code of SIGTERM / SIGHUP (143 / 129) when one ended the run (_signals).
        self.ended_by_signal: int | None = None
        # The read of the next stdin message (--input-format stream-json), while it waits.
        self.waiting: asyncio.Future[str | None] | None = None
        self._streamed_any = False

    def handle(self, event: ev.Event) -> None:
        if self.format == "stream-json":
            self.out.write(json.dumps(ev.event_to_dict(event), ensure_ascii=False) + "\n")
            self.out.flush()
        if isinstance(event, ev.AssistantMessageCompleted):
            text = event.message.text
            if text.strip():
                self.texts.append(text)
                if self.format == "text":
                    if self._streamed_any:
                        self.out.write("\n")
                    self.out.write(text.rstrip("\n") + "\n")
                    self.out.flush()
                    self._streamed_any = True
        elif isinstance(event, ev.ToolCallFinished) and self.shell:
            self.texts.append(event.result_text)
            if event.is_error:
                self.error = ev.TurnFailed(error=_first_line(event.result_text), kind="usage")
            if self.format == "text":
                self.out.write(event.result_text.rstrip("\n") + "\n")
                self.out.flush()
        elif isinstance(event, ev.TurnFailed):
            self.error = event
        elif isinstance(event, ev.TurnInterrupted):
            self.interrupted = True
            if event.partial_text.strip():
                # What was said before the interrupt is kept (and saved): print it too.
                self.texts.append(event.partial_text)
                if self.format == "text":
                    if self._streamed_any:
                        self.out.write("\n")
                    self.out.write(event.partial_text.rstrip("\n") + "\n")
                    self.out.flush()
                    self._streamed_any = True
        if isinstance(event, ev.ContextCompacted):
            # On stderr in every format: the answer on stdout stays the model's.
            from stoa.core.agent.compaction import compacted_line

            line = compacted_line(
                event.tokens_before,
                event.tokens_after,
                cleared=event.cleared,
                summarised=event.stages > 0,
                on_server=event.on_server,
            )
            kept = "kept" if event.on_server else "archived"
            self.err.write(f"notice: {line} ({event.trigger}; the originals are {kept} in the session)\n")
            self.err.flush()
        if self.format == "text":
            self._activity(event)

    def _activity(self, event: ev.Event, prefix: str = "") -> None:
        line: str | None = None
        if isinstance(event, ev.SubagentEvent):
            # A sub-agent's calls, indented under its task call and named.
            if isinstance(event.event, ev.TurnFinished):
                self.err.write(f"{prefix}  [{event.agent_id} {event.agent}] done\n")
            else:
                self._activity(event.event, f"{prefix}  [{event.agent_id} {event.agent}] ")
            return
        if isinstance(event, ev.ToolCallStarted):
            where = f" [{event.server}]" if event.server else ""
            line = f"→ {event.name}{where} {event.summary}".rstrip()
        elif isinstance(event, ev.ToolCallFinished):
            mark = "✗" if event.is_error else "✓"
            line = f"{mark} {event.name} ({event.elapsed:.2f}s)"
            if event.is_error:
                line += f": {_first_line(event.result_text)}"
        elif isinstance(event, ev.Notice):
            line = f"{event.level}: {event.text}"
        elif isinstance(event, ev.Retrying):
            line = f"retrying in {event.delay:.1f}s (attempt {event.attempt + 1} of {event.max_attempts}): {event.reason}"
        elif isinstance(event, ev.TurnFailed):
            line = f"error: {event.error}" + (f"\n  → {event.hint}" if event.hint else "")
        elif isinstance(event, ev.SteeringDelivered):
            line = f"(steering delivered: {_first_line(event.text)})"
        elif isinstance(event, ev.TurnInterrupted):
            line = "interrupted: what was said so far is kept in the session (stoa -c to go on)"
        if line is not None:
            self.err.write(prefix + line + "\n")
            self.err.flush()


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def run_headless(
    config: StoaConfig,
    choices: Choices,
    prompt: str,
    *,
    output_format: str = "text",
    resume: str | None = None,
    continue_latest: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    images: list[str] | None = None,
    stream_input: Any = None,
) -> int:
    """One turn; with ``stream_input`` (a ``StreamInput``, ``--input-format stream-json``) one
    more turn per message it reads, in the same session."""
    out = out or sys.stdout
    err = err or sys.stderr
    if not prompt.strip():
        err.write("stoa: error: empty prompt; pass the text to send, e.g. stoa -p \"explain this repo\"\n")
        return EXIT_USAGE
    for image in images or []:
        problem = _image_problem(config, image)
        if problem:
            err.write(f"stoa: error: -i {image}: {problem}\n")
            return EXIT_USAGE
    try:
        return asyncio.run(
            _run(config, choices, prompt, output_format, resume, continue_latest, out, err, images or [], stream_input)
        )
    except KeyboardInterrupt:
        err.write("stoa: interrupted\n")
        return EXIT_RUNTIME


def _image_problem(config: StoaConfig, image: str) -> str | None:
    """Why ``-i PATH`` cannot be attached, checked before anything starts (None: it can)."""
    import os

    path = os.path.join(config.workspace, os.path.expanduser(image))
    if not os.path.exists(path):
        return "no such file"
    if not os.path.isfile(path):
        return "not a file; pass an image file (PNG, JPEG, GIF, WebP, ...)"
    return None


def _build(config: StoaConfig, choices: Choices, err: TextIO) -> Runtime | int:
    from stoa.core.models import UnknownModelError, UnsupportedEffortError
    from stoa.core.permissions.approver import RefusingApprover
    from stoa.core.runtime import NoLocalModelError, build_runtime

    try:
        return build_runtime(config, choices, approver=RefusingApprover())
    except NoLocalModelError as exc:
        err.write(f"stoa: error: {exc}\n")
        return EXIT_RUNTIME
    except (UnknownModelError, UnsupportedEffortError, ValueError) as exc:
        err.write(f"stoa: error: {exc}\n")
        return EXIT_USAGE


async def _run(
    config: StoaConfig,
    choices: Choices,
    prompt: str,
    output_format: str,
    resume: str | None,
    continue_latest: bool,
    out: TextIO,
    err: TextIO,
    images: list[str],
    stream_input: Any = None,
) -> int:
    started = time.monotonic()
    from stoa.core.memory import is_memory

    if is_memory(prompt):
        return save_memory(config, prompt, output_format, out, err)
    built = _build(config, choices, err)
    if isinstance(built, int):
        return built
    runtime = built
    agent = runtime.agent
    for warning in config.warnings:
        err.write(f"warning: {warning}\n")
    if runtime.policy.sandbox is not None:
        from stoa.core.sandbox.advice import no_sandbox_notice

        notice = no_sandbox_notice(runtime.policy.sandbox)
        if notice:
            err.write(f"stoa: {notice}\n")
    from stoa.core.sessions import SessionStoreError, close_session, open_session
    from stoa.core.sessions.lock import SessionLockedError
    from stoa.core.sessions.store import DatabaseUnusableError

    try:
        # Headless titles come from the first line of the prompt: no extra model call.
        handle = await open_session(runtime, resume, continue_latest, titles=False)
    except SessionStoreError as exc:
        err.write(f"stoa: {exc}\n")
        await _close(runtime)
        # A session open in another process, or a database out of reach: a runtime error.
        runtime_error = isinstance(exc, DatabaseUnusableError | SessionLockedError)
        return EXIT_USAGE if resume and not runtime_error else EXIT_RUNTIME
    for notice in handle.notices:
        err.write(f"notice: {notice}\n")
    # Start-up is done (cli.main paused the collector): freeze what it made and collect again.
    from stoa.app.cli import resume_gc

    resume_gc()
    command = await _run_command(runtime, prompt, output_format, out, err, started)
    if isinstance(command, int):
        return command
    prompt, turn_mode, turn_options, after_turn = command
    from stoa.core.agent.typed_shell import shell_line

    if shell_line(prompt) is not None:
        turn_options["shell"] = True
    if images:
        model = turn_options.get("model") or agent.model
        if not model.supports_images:
            err.write(f"stoa: error: {model.id} does not take images; choose a model that does with -m\n")
            await _close(runtime)
            return EXIT_USAGE
        markers = [agent.pasted_images.add_path(image).marker for image in images]
        prompt = f"{prompt}\n\n{' '.join(markers)}"
    try:
        if not turn_options.get("shell"):
            runtime.check_key(turn_options.get("model") or agent.model)
    except MissingKeyError as exc:
        err.write(f"stoa: {exc}\n")
        await _close(runtime)
        return EXIT_RUNTIME
    printer = HeadlessPrinter(output_format, out, err, shell=bool(turn_options.get("shell")))
    # A resumed session's ledger already holds earlier turns: report this run on its own too.
    usage_before = agent.ledger.total
    cost_before = agent.ledger.cost_usd
    try:
        await _start_mcp(runtime, err)
        if output_format == "stream-json":
            _init_line(runtime, turn_options.get("model") or agent.model, out)
        await _session_start_hooks(runtime, printer, "resume" if resume is not None or continue_latest else "startup")
        with _signals(agent, printer):
            async for event in agent.run_turn(prompt, mode=turn_mode, **turn_options):
                printer.handle(event)
            while stream_input is not None and printer.error is None and not printer.interrupted and printer.ended_by_signal is None:
                from stoa.app.stream_input import StreamInputError

                printer.waiting = asyncio.ensure_future(stream_input.next())
                try:
                    message = await printer.waiting
                except StreamInputError as exc:
                    printer.handle(ev.TurnFailed(error=str(exc), hint="no more messages were read", kind="usage"))
                    break
                except asyncio.CancelledError:
                    if printer.ended_by_signal is None or not printer.waiting.cancelled():
                        raise
                    break  # SIGTERM / SIGHUP between two messages: the run ends here
                finally:
                    printer.waiting = None
                if message is None:
                    break
                async for event in agent.run_turn(message, mode=turn_mode, **turn_options):
                    printer.handle(event)
        if runtime.hooks is not None:
            await runtime.hooks.drain()
    finally:
        saved = True
        try:
            await close_session(runtime)
        except Exception as exc:  # saving failed: say so (the reply was printed) and exit 1
            saved = False
            err.write(f"stoa: error: the session could not be saved: {exc}\n")
        await _close(runtime)
    success = printer.error is None and not printer.interrupted
    report = after_turn() if after_turn is not None else ""
    if report and output_format == "text":
        out.write(report.rstrip("\n") + "\n")
    elif report and output_format == "stream-json":
        out.write(json.dumps({"type": "command_output", "text": report}, ensure_ascii=False) + "\n")
    out.flush()
    if output_format in ("json", "stream-json"):
        from stoa.core.cost import summarize

        total = agent.ledger.total
        run_usage = {
            name: getattr(total, name) - getattr(usage_before, name) for name in total.model_dump()
        }
        prompt = run_usage["input_tokens"] + run_usage["cache_read_tokens"] + run_usage["cache_write_tokens"]
        result: dict[str, Any] = {
            "success": success,
            "response": printer.texts[-1] if printer.texts else "",
            "session_id": runtime.session_id,
            "model": (turn_options.get("model") or agent.model).id,
            "provider": (turn_options.get("model") or agent.model).provider,
            "effort": agent.effort,
            "usage": run_usage,
            "cost_usd": round(agent.ledger.cost_usd - cost_before, 6),
            "cache_hit_rate": round(run_usage["cache_read_tokens"] / prompt, 4) if prompt else 0.0,
            "session": summarize(agent.ledger).to_dict(),
            "duration_ms": int((time.monotonic() - started) * 1000),
        }
        result["saved"] = saved
        if report:
            result["command_output"] = report
        if printer.error is not None:
            result["error"] = printer.error.error
            result["hint"] = printer.error.hint
        if output_format == "stream-json":
            # Claude Code's last line: what scripts read for the outcome.
            ok = success and saved
            result = {"type": "result", "subtype": "success" if ok else "error", "is_error": not ok,
                      "result": result["response"], **result, "success": ok}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    await _refresh_catalog(runtime)
    if printer.ended_by_signal is not None:
        return printer.ended_by_signal  # the turn was interrupted and the session saved first
    return EXIT_OK if success and saved else EXIT_RUNTIME


def save_memory(config: StoaConfig, prompt: str, output_format: str, out: TextIO, err: TextIO) -> int:
    """``stoa -p "# note"``: append the note to the memory file of ``[memory] scope`` (the
    project's AGENTS.md by default); no session, no model request. A file that cannot be
    written is named with the reason, and the note is printed back so nothing is lost."""
    from stoa.core.memory import (
        MemoryWriteError,
        append_memory,
        default_scope,
        entry_text,
        memory_file,
        memory_note,
    )

    scope, warning = default_scope(config)
    if warning:
        err.write(f"warning: {warning}\n")
    file = memory_file(config, scope)
    note = memory_note(prompt)
    payload: dict[str, Any] = {"type": "memory", "scope": scope, "file": file.label, "path": str(file.path)}
    try:
        before, after = append_memory(file, note)
    except MemoryWriteError as exc:
        err.write(f"stoa: error: {exc}; the note was not saved:\n{note}\n")
        if output_format != "text":
            out.write(json.dumps({**payload, "success": False, "error": str(exc), "note": note}) + "\n")
        return EXIT_RUNTIME
    verb = "Saved to" if after != before else "Already in"
    saved = f"{verb} {file.label} ({scope} memory):\n{entry_text(note).rstrip()}"
    if output_format == "text":
        out.write(saved + "\n")
    else:
        out.write(json.dumps({**payload, "success": True, "response": saved, "note": note}, ensure_ascii=False) + "\n")
    return EXIT_OK


async def _run_command(
    runtime: Runtime, prompt: str, output_format: str, out: TextIO, err: TextIO, started: float
) -> int | tuple[str, str | None, dict[str, Any], Callable[[], str] | None]:
    """A prompt naming a command that runs from the shell (``/help``, ``/compact``...) runs it
    and ends the run (the exit code is returned), unless it expands to a prompt to send (the
    prompt is returned, with the trust mode of its turn). Any other prompt, ``/usr/bin/x`` or
    ``//text`` included, is sent."""
    from stoa.app.commands import HeadlessContext, parse_slash, shell_registry

    parsed = parse_slash(prompt.strip())
    if parsed is None:
        return (prompt[1:] if prompt.startswith("//") else prompt), None, {}, None
    name, args = parsed
    registry = shell_registry(runtime.config)
    cmd = registry.get(name)
    if cmd is None and ":" in name and runtime.config.section("mcp-servers"):
        # /server:prompt: the servers' prompts are known once they are connected.
        from stoa.app.commands.custom import sync_mcp_prompts

        await _start_mcp(runtime, err)
        if runtime.mcp is not None:
            sync_mcp_prompts(registry, runtime.mcp)
        cmd = registry.get(name)
    if cmd is None or cmd.headless is None:
        return prompt, None, {}, None
    ctx = HeadlessContext(runtime, cmd.name, args, out, err, output_format)
    try:
        result = await cmd.headless(ctx)
    except Exception as exc:  # a broken command reports, never takes the run down silently
        ctx.error(f"failed: {exc}")
        result = EXIT_RUNTIME
    if isinstance(result, str):
        return result, ctx.turn_mode, ctx.turn_options, ctx.after_turn
    from stoa.core.sessions import close_session

    saved = True
    try:
        await close_session(runtime)
    except Exception as exc:
        saved = False
        err.write(f"stoa: error: the session could not be saved: {exc}\n")
    await _close(runtime)
    if output_format in ("json", "stream-json"):
        payload: dict[str, Any] = {
            "success": result == EXIT_OK and saved,
            "command": cmd.name,
            "response": "\n".join(ctx.lines),
            "session_id": runtime.session_id,
            "saved": saved,
            "duration_ms": int((time.monotonic() - started) * 1000),
        }
        if ctx.errors:
            payload["error"] = "\n".join(ctx.errors)
        if output_format == "stream-json":  # a command's run ends with the result line too
            ok = payload["success"]
            payload = {"type": "result", "subtype": "success" if ok else "error", "is_error": not ok,
                       "result": payload["response"], "model": runtime.agent.model.id, **payload}
        out.write(json.dumps(payload, ensure_ascii=False) + "\n")
        out.flush()
    return result if saved else EXIT_RUNTIME


async def _refresh_catalog(runtime: Runtime) -> None:
    """Once a day, after the reply is out: the providers' model lists, for the next runs (the
    rules of models the built-in table does not know). Bounded; failures only keep the cache."""
    runtime.catalog.timeout = 3.0
    try:
        await runtime.catalog.refresh()
    except Exception:  # never fail a finished run over a model list
        pass


@contextmanager
def _signals(agent: Any, printer: HeadlessPrinter) -> Iterator[None]:
    """During the turn, the first SIGINT interrupts it (the stream ends with TurnInterrupted);
    another one cancels everything at once, as Ctrl+C did before. SIGTERM and SIGHUP interrupt
    it too (what was said is kept and the session saved), then the run ends with 143 / 129;
    a second one cancels at once. The handlers that were there before come back afterwards
    (the MCP servers' reaper)."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    presses = 0

    def on_sigint() -> None:
        nonlocal presses
        presses += 1
        if presses == 1 and agent.interrupt():
            return
        if main is not None:
            main.cancel()

    def on_end(code: int) -> None:
        first = printer.ended_by_signal is None
        printer.ended_by_signal = code
        if first and agent.interrupt():
            return
        if first and printer.waiting is not None:
            printer.waiting.cancel()  # between two stdin messages: end there
            return
        if main is not None:
            main.cancel()

    handlers: dict[int, tuple[Any, ...]] = {
        signal.SIGINT: (on_sigint,),
        signal.SIGTERM: (on_end, 128 + signal.SIGTERM),
        signal.SIGHUP: (on_end, 128 + signal.SIGHUP),
    }
    before: dict[int, Any] = {}
    try:
        for signum, (handler, *args) in handlers.items():
            before[signum] = signal.getsignal(signum)
            loop.add_signal_handler(signum, handler, *args)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals
        for signum in before:
            with suppress(Exception):
                loop.remove_signal_handler(signum)
        yield
        return
    try:
        yield
    finally:
        for signum, previous in before.items():
            with suppress(Exception):
                loop.remove_signal_handler(signum)
                if previous is not None:
                    signal.signal(signum, previous)


def _init_line(runtime: Runtime, model: Any, out: TextIO) -> None:
    """stream-json's first line: the session, the model, the tools offered and the workspace."""
    tools = [t.name for t in runtime.registry.offered(runtime.policy.mode, model)]
    line = {
        "type": "system",
        "subtype": "init",
        "session_id": runtime.session_id,
        "model": model.id,
        "provider": model.provider,
        "tools": tools,
        "cwd": str(runtime.config.workspace),
        "permission_mode": runtime.policy.mode,
    }
    out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()


async def _session_start_hooks(runtime: Runtime, printer: HeadlessPrinter, source: str) -> None:
    """Project hooks nobody approved are not run (said on stderr); SessionStart hooks run."""
    hooks = runtime.hooks
    if hooks is None:
        return
    if hooks.untrusted:
        where = hooks.untrusted[0].source
        printer.err.write(
            f"stoa: {len(hooks.untrusted)} hook(s) of {where} were not run: a project's shared hooks run only "
            "once approved (start `stoa` here to review them) or with --trust-project-hooks\n"
        )
    verdict = await hooks.session_start(source)
    for level, text in verdict.notices:
        printer.handle(ev.Notice(level, text))


async def _start_mcp(runtime: Runtime, err: TextIO) -> None:
    """Headless needs the MCP tools for its one turn: start the servers and wait (bounded).
    Once: a /server:prompt command may have started them already."""
    if not runtime.config.section("mcp-servers") or runtime.mcp is not None:
        return
    from stoa.core.mcp import attach

    manager = attach(runtime)
    for warning in manager.warnings:
        err.write(f"warning: {warning}\n")
    await manager.start_all()
    await manager.wait_started()
    for state in manager.rows():
        if state.status != "connected":
            err.write(f"mcp: {state.name}: {state.status_text}\n")


async def _close(runtime: Runtime) -> None:
    await runtime.aclose()


def check_connection(config: StoaConfig, choices: Choices) -> int:
    """`stoa --check-connection`: try each configured provider, report latency or the error."""
    from stoa.app.status import connection_report

    text, ok = asyncio.run(connection_report(config, choices))
    print(text)
    return EXIT_OK if ok else EXIT_RUNTIME
