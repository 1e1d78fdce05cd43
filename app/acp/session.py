"""One ACP session: a Stoa runtime (agent, policy, session store, MCP servers) driven by an
editor. A prompt runs ``Agent.run_turn`` and its events go to the client as session updates;
permission questions go to the client with ``session/request_permission``.

A cancel interrupts the turn (the agent keeps a history the provider accepts) and withdraws a
question still waiting for the client's answer: the turn does not wait for it any more.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from typing import Any, cast

from acp import RequestError
from acp import schema as s

from stoa.app.acp import errors
from stoa.app.acp import updates as up
from stoa.app.acp.prompt import prompt_text, to_content
from stoa.app.acp.terminals import ClientTerminals, terminal_content
from stoa.core import events as ev
from stoa.core.permissions.approver import Outcome, PermissionDecision, PermissionRequest
from stoa.core.providers.types import ImageBlock, StopReason, TextBlock
from stoa.core.runtime import MissingKeyError, Runtime

log = logging.getLogger("stoa.acp")

MODES = (
    ("ask", "Ask", "Asks before every change to files and every command that changes something"),
    ("auto", "Auto", "Changes inside the workspace without asking; deletes and anything outside still ask"),
    ("plan", "Plan", "Read-only: looks and plans, changes nothing"),
)
# Streamed text merged into one update stops growing here (clients read a line at a time,
# some with a 64 KB limit).
MERGED_CHARS = 8 * 1024
OPTION_ONCE, OPTION_ALWAYS, OPTION_REJECT = "allow_once", "allow_always", "reject_once"
_STOPS = {StopReason.MAX_TOKENS: "max_tokens", StopReason.REFUSAL: "refusal"}


class AcpSession:
    def __init__(self, conn: Any, runtime: Runtime) -> None:
        self.conn = conn
        self.runtime = runtime
        assert runtime.session is not None
        self.id = runtime.session.session_id
        self._turn: asyncio.Task[Any] | None = None
        self._asking: set[asyncio.Task[None]] = set()
        self._output: dict[str, list[str]] = {}
        # A task call's sub-agent activity, one line each (shown as that call's content).
        self._nested: dict[str, list[str]] = {}
        self._failure: ev.TurnFailed | None = None
        self.closed = False
        # The editor's terminals, when it offers them (execute_bash runs there).
        self.terminals: ClientTerminals | None = None
        # The first updates and SessionStart hooks of a new session, sent after its response.
        self.starting: asyncio.Task[None] | None = None
        # Streamed text not sent yet, ("message" | "thought", text), merged while a send is out.
        self._pending: list[tuple[str, str]] = []
        self._flusher: asyncio.Task[None] | None = None

    # ---- what the client sees ------------------------------------------------------------

    async def send(self, update: Any) -> None:
        """One session update; a client that has gone away is not an error here (the turn
        winds down and the session is saved when the connection closes)."""
        try:
            await self.conn.session_update(session_id=self.id, update=update)
        except (ConnectionError, OSError) as exc:
            log.debug("update not sent: %s", exc)

    def modes(self) -> s.SessionModeState:
        return s.SessionModeState(
            current_mode_id=self.runtime.policy.mode,
            available_modes=[s.SessionMode(id=i, name=n, description=d) for i, n, d in MODES],
        )

    def config_options(self) -> list[s.SessionConfigOptionSelect | s.SessionConfigOptionBoolean]:
        runtime = self.runtime
        agent = runtime.agent
        mode = s.SessionConfigOptionSelect(
            type="select",
            id="mode",
            name="Mode",
            category="mode",
            current_value=runtime.policy.mode,
            options=[s.SessionConfigSelectOption(value=i, name=n, description=d) for i, n, d in MODES],
        )
        models = _model_choices(runtime)
        model = s.SessionConfigOptionSelect(
            type="select",
            id="model",
            name="Model",
            category="model",
            current_value=_model_value(agent.model),
            options=[s.SessionConfigSelectOption(value=v, name=n) for v, n in models],
        )
        effort = s.SessionConfigOptionSelect(
            type="select",
            id="effort",
            name="Effort",
            category="thought_level",
            current_value=agent.effort,
            options=[s.SessionConfigSelectOption(value=e, name=e) for e in agent.model.efforts],
        )
        return [mode, model, effort]

    def available_commands(self) -> s.AvailableCommandsUpdate:
        from stoa.app.commands import shell_registry

        commands = [
            s.AvailableCommand(
                name=c.name,
                description=c.description,
                input=s.AvailableCommandInput(root=s.UnstructuredCommandInput(hint=c.args)) if c.args else None,
            )
            for c in shell_registry(self.runtime.config)
            if c.headless is not None
        ]
        return s.AvailableCommandsUpdate(session_update="available_commands_update", available_commands=commands)

    # ---- settings ---------------------------------------------------------------------------

    async def set_mode(self, mode: str) -> None:
        if mode not in {m[0] for m in MODES}:
            raise errors.invalid_params(f"unknown mode {mode!r}; choose one of {', '.join(m[0] for m in MODES)}")
        self.runtime.policy.set_mode(mode)
        await self.send(s.CurrentModeUpdate(session_update="current_mode_update", current_mode_id=mode))

    async def set_option(self, option: str, value: str) -> None:
        from stoa.core.models import UnknownModelError, UnsupportedEffortError
        from stoa.core.switching import SwitchError, switch_effort, switch_model

        agent = self.runtime.agent
        try:
            if option == "mode":
                await self.set_mode(value)
            elif option == "model":
                result = switch_model(agent, value, has_key=self.runtime.has_key, catalog=self.runtime.catalog)
                for text in result.notices:
                    await self.send(up.agent_text(up.notice_text("warning", text)))
            elif option == "effort":
                switch_effort(agent, value)
            else:
                raise errors.invalid_params(f"unknown option {option!r}; Stoa's options are mode, model and effort")
        except (SwitchError, UnknownModelError, UnsupportedEffortError, ValueError) as exc:
            raise errors.invalid_params(str(exc)) from None

    # ---- a prompt ---------------------------------------------------------------------------

    async def prompt(self, blocks: list[Any]) -> s.PromptResponse:
        if self._turn is not None and not self._turn.done():
            raise errors.invalid_request("a prompt is already running in this session; wait for its answer or send session/cancel")
        self._turn = asyncio.current_task()
        try:
            return await self._prompt(blocks)
        finally:
            self._turn = None

    async def _prompt(self, blocks: list[Any]) -> s.PromptResponse:
        from stoa.core.agent.typed_shell import shell_line

        runtime = self.runtime
        content = to_content(blocks, runtime.config.workspace)
        if self.starting is not None:
            with suppress(Exception):
                await asyncio.shield(self.starting)
        command = await self._command(prompt_text(content))
        if isinstance(command, s.PromptResponse):
            return command
        turn = command or _CommandTurn(None)
        if turn.text is not None:
            content = [TextBlock(text=turn.text), *(b for b in content if not isinstance(b, TextBlock))]
        options = dict(turn.options)
        if shell_line(prompt_text(content)) is not None:
            options["shell"] = True  # a "!" line runs as typed: no model, no key needed
        model = options.get("model") or runtime.agent.model
        if any(isinstance(b, ImageBlock) for b in content) and not model.supports_images:
            raise errors.invalid_params(f"{model.id} does not take images; choose a model that does in the model menu")
        try:
            if not options.get("shell"):
                runtime.check_key(model)
        except MissingKeyError as exc:
            raise errors.auth_required(str(exc)) from None
        if runtime.mcp is not None:
            await runtime.mcp.wait_started()
        self._failure = None
        stop = "end_turn"
        events = cast(AsyncGenerator[ev.Event, None], runtime.agent.run_turn(content, mode=turn.mode, **options))
        try:
            async with aclosing(events) as stream:
                async for event in stream:
                    stop = await self._handle(event) or stop
            await self._drain()
            if runtime.hooks is not None:
                await runtime.hooks.drain()
            report = turn.after() if turn.after is not None else ""
            if report:
                await self.send(up.agent_text("\n\n" + report))
        finally:
            if self._flusher is not None and not self._flusher.done():
                self._flusher.cancel()
            self._pending = []
        if self._failure is not None:
            failure = self._failure
            message = failure.error + (f" ({failure.hint})" if failure.hint else "")
            raise RequestError(errors.INTERNAL_ERROR, message, {"kind": failure.kind, "hint": failure.hint})
        return s.PromptResponse(stop_reason=stop)  # type: ignore[arg-type]

    async def _command(self, text: str) -> s.PromptResponse | _CommandTurn | None:
        """A prompt naming a Stoa command with a headless form runs it, as ``stoa -p "/name"``
        does: its output comes back as the agent's message, or it expands to a prompt (with
        the options of its turn). ``//text`` sends ``/text``."""
        from stoa.app.commands import HeadlessContext, parse_slash, shell_registry

        stripped = text.strip()
        parsed = parse_slash(stripped)
        if parsed is None:
            return _CommandTurn(stripped[1:]) if stripped.startswith("//") else None
        name, args = parsed
        cmd = shell_registry(self.runtime.config).get(name)
        if cmd is None or cmd.headless is None:
            return None
        out, err = io.StringIO(), io.StringIO()
        ctx = HeadlessContext(self.runtime, cmd.name, args, out, err, "json")
        try:
            result = await cmd.headless(ctx)
        except Exception as exc:  # a broken command reports, never takes the session down
            ctx.errors.append(f"failed: {exc}")
            result = 1
        if isinstance(result, str):
            return _CommandTurn(result, ctx.turn_mode, dict(ctx.turn_options), ctx.after_turn)
        lines = list(ctx.lines) + [f"/{cmd.name}: {e}" for e in ctx.errors]
        await self.send(up.agent_text("\n".join(lines) or f"/{cmd.name}: done"))
        return s.PromptResponse(stop_reason="end_turn")

    async def session_started(self, source: str) -> None:
        """SessionStart hooks (``startup`` or ``resume``), as headless runs them; a project's
        hooks nobody approved are not run, and the editor is told."""
        hooks = self.runtime.hooks
        if hooks is None:
            return
        if hooks.untrusted:
            where = hooks.untrusted[0].source
            text = (
                f"{len(hooks.untrusted)} hook(s) of {where} were not run: a project's shared hooks run only once "
                "approved (start `stoa` here to review them) or with `stoa acp --trust-project-hooks`"
            )
            await self.send(up.agent_text(up.notice_text("warning", text)))
        verdict = await hooks.session_start(source)
        for level, text in verdict.notices:
            await self.send(up.agent_text(up.notice_text(level, text)))

    async def _handle(self, event: ev.Event) -> str | None:
        """Send what the client should see of one event; returns a stop reason at the end."""
        workspace = self.runtime.config.workspace
        if isinstance(event, ev.AssistantTextDelta | ev.ThinkingDelta):
            self._stream("message" if isinstance(event, ev.AssistantTextDelta) else "thought", event.text)
            await asyncio.sleep(0)  # the flusher gets its turn even while the agent's queue is full
            return None
        await self._drain()  # what streamed before this event reaches the client first
        if isinstance(event, ev.ToolCallStarted):
            await self.send(up.started(event, workspace))
        elif isinstance(event, ev.ToolCallOutput):
            parts = self._output.setdefault(event.call_id, [])
            parts.append(event.text)
            await self.send(up.output(event.call_id, "".join(parts)))
        elif isinstance(event, ev.ToolCallFinished):
            self._output.pop(event.call_id, None)
            self._nested.pop(event.call_id, None)
            update = up.finished(event, workspace)
            terminal = self.terminals.by_call.pop(event.call_id, None) if self.terminals else None
            if terminal is not None:  # ran in the editor's terminal: keep showing it
                update.content = [terminal_content(terminal)]
            await self.send(update)
        elif isinstance(event, ev.PermissionRequested):
            self._ask(event)
        elif isinstance(event, ev.PlanUpdated):
            await self.send(up.plan(event))
        elif isinstance(event, ev.Notice):
            await self.send(up.agent_text(up.notice_text(event.level, event.text)))
        elif isinstance(event, ev.ContextCompacted):
            await self.send(up.agent_text(up.notice_text("info", up.compaction_text(event))))
        elif isinstance(event, ev.Retrying):
            text = f"the request failed ({event.reason}); trying again in {event.delay:.0f} s"
            await self.send(up.agent_text(up.notice_text("warning", text)))
        elif isinstance(event, ev.ServerToolUsed):
            call_id = f"server-{id(event)}"
            await self.send(
                s.ToolCallStart(
                    session_update="tool_call", tool_call_id=call_id, title=f"{event.name} {event.summary}".strip(),
                    kind="fetch", status="completed",
                )
            )
        elif isinstance(event, ev.SubagentEvent):
            await self._subagent(event)
        elif isinstance(event, ev.TurnFinished):
            if event.limited:
                return "max_turn_requests"
            return _STOPS.get(event.stop_reason, "end_turn") if event.stop_reason is not None else "end_turn"
        elif isinstance(event, ev.TurnInterrupted):
            return "cancelled"
        elif isinstance(event, ev.TurnFailed):
            self._failure = event
        return None

    async def _subagent(self, event: ev.SubagentEvent) -> None:
        """A sub-agent's activity as the content of its ``task`` call (ACP has no nesting): one
        line per call it makes, per message and when it is done."""
        inner = event.event
        who = f"[{event.agent_id} {event.agent}]"
        if isinstance(inner, ev.ToolCallStarted):
            line = f"{who} {up.tool_title(inner.name, inner.summary, inner.server)}"
        elif isinstance(inner, ev.ToolCallFinished) and inner.is_error:
            line = f"{who} {inner.name} failed: {inner.result_text.strip().splitlines()[0][:200] if inner.result_text.strip() else ''}"
        elif isinstance(inner, ev.AssistantMessageCompleted) and inner.message.text.strip():
            line = f"{who} {inner.message.text.strip().splitlines()[0][:200]}"
        elif isinstance(inner, ev.TurnFinished):
            line = f"{who} done"
        elif isinstance(inner, ev.Notice | ev.TurnFailed):
            line = f"{who} {getattr(inner, 'text', None) or getattr(inner, 'error', '')}"
        else:
            return
        lines = self._nested.setdefault(event.call_id, [])
        lines.append(line)
        await self.send(up.output(event.call_id, "\n".join(lines[-200:]) + "\n"))

    # ---- streamed text ----------------------------------------------------------------------

    def _stream(self, kind: str, text: str) -> None:
        """Queue a delta; deltas that arrive while an update is being written go out merged
        (a fast model's hundreds of deltas a second become as many updates as the client
        reads, each under ``MERGED_CHARS``), in order. A long delta (a provider passes on what
        one read of the body brought as one) goes out in pieces of ``MERGED_CHARS``."""
        for start in range(0, len(text), MERGED_CHARS):
            piece = text[start : start + MERGED_CHARS]
            if self._pending and self._pending[-1][0] == kind and len(self._pending[-1][1]) < MERGED_CHARS:
                self._pending[-1] = (kind, self._pending[-1][1] + piece)
            else:
                self._pending.append((kind, piece))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name=f"acp-stream-{self.id[:8]}")

    async def _flush(self) -> None:
        while self._pending:
            kind, text = self._pending.pop(0)
            await self.send(up.agent_text(text) if kind == "message" else up.thought(text))

    async def _drain(self) -> None:
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        if self._pending:  # queued after the flusher's last look
            await self._flush()

    # ---- permission questions ---------------------------------------------------------------

    def _ask(self, event: ev.PermissionRequested) -> None:
        """Ask the client in a task of its own, so a cancel can withdraw the question."""
        task = asyncio.create_task(self._question(event.request, event.future), name=f"acp-ask-{event.request.call_id}")
        self._asking.add(task)
        task.add_done_callback(self._asking.discard)
        event.future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)

    async def _question(self, request: PermissionRequest, future: asyncio.Future[PermissionDecision]) -> None:
        options = [s.PermissionOption(option_id=OPTION_ONCE, name="Allow once", kind="allow_once")]
        if request.can_remember:
            name = f"Always allow {request.suggested_rule}" if request.suggested_rule else "Always allow"
            options.append(s.PermissionOption(option_id=OPTION_ALWAYS, name=name, kind="allow_always"))
        options.append(s.PermissionOption(option_id=OPTION_REJECT, name="Reject", kind="reject_once"))
        decision: PermissionDecision
        try:
            response = await self.conn.request_permission(
                session_id=self.id, tool_call=self._question_call(request), options=options
            )
            decision = _decision(response, request)
        except asyncio.CancelledError:
            raise
        except ConnectionError:  # the editor went away: nobody will answer; stop the turn
            self.runtime.agent.interrupt()
            return
        except Exception as exc:  # the client could not ask (no such method): refuse
            decision = PermissionDecision(
                outcome="reject",
                feedback=f"Not run: {request.reason}. The editor could not ask for approval ({exc}).",
                by_policy=True,
            )
        if not future.done():
            future.set_result(decision)

    def _question_call(self, request: PermissionRequest) -> s.ToolCallUpdate:
        workspace = self.runtime.config.workspace
        content: list[up.ToolContent] = []
        if request.preview and request.kind in ("write", "edit", "create", "patch"):
            edit = up.diff_content(request.preview, request.target, workspace, applied=False)
            if edit is not None:
                content.append(edit)
        if not content:
            content.append(up.text_content(f"{request.target}\n\n{request.reason}" if request.reason else request.target))
        return s.ToolCallUpdate(
            tool_call_id=request.call_id,
            title=up.tool_title(request.tool_name, request.target),
            kind=up.tool_kind(request.tool_name),
            status="pending",
            content=content,
            locations=up.tool_locations(request.arguments, workspace) or None,
            raw_input=request.arguments,
        )

    # ---- cancel and close ---------------------------------------------------------------------

    def cancel(self) -> None:
        """Interrupt the running turn and withdraw the questions waiting for the client."""
        for task in list(self._asking):
            task.cancel()
        self.runtime.agent.interrupt()

    async def close(self) -> None:
        """Save and close: the turn is interrupted (what was said is kept), then the session
        is saved and the MCP servers stop. Never raises."""
        if self.closed:
            return
        self.closed = True
        self.cancel()
        turn = self._turn
        if turn is not None and not turn.done() and turn is not asyncio.current_task():
            turn.cancel()
            with suppress(BaseException):
                await turn
        from stoa.core.sessions import close_session

        try:
            await close_session(self.runtime)
        except Exception as exc:
            log.error("session %s could not be saved: %s", self.id, exc)
        await self.runtime.aclose()


def _decision(response: s.RequestPermissionResponse, request: PermissionRequest) -> PermissionDecision:
    outcome = response.outcome
    if isinstance(outcome, s.AllowedOutcome):
        chosen: Outcome = {OPTION_ONCE: "once", OPTION_ALWAYS: "always"}.get(outcome.option_id, "reject")  # type: ignore[assignment]
        if chosen == "always" and not request.can_remember:
            chosen = "once"
        return PermissionDecision(outcome=chosen)
    return PermissionDecision(outcome="reject")  # cancelled by the client: a plain no


def _model_value(model: Any) -> str:
    from stoa.core.models import COMPATIBLE_PROVIDERS

    return f"{model.provider}/{model.id}" if model.provider in COMPATIBLE_PROVIDERS else str(model.id)


def _model_choices(runtime: Runtime) -> list[tuple[str, str]]:
    """The models of the providers that have a key, the current one first if it is not listed."""
    from stoa.core.models import CLOUD_PROVIDERS

    current = runtime.agent.model
    seen: list[tuple[str, str]] = []
    try:
        models = runtime.catalog.models([p for p in CLOUD_PROVIDERS if runtime.has_key(p)])
    except Exception:  # a damaged cache: offer the current model only
        models = []
    for model in models:
        if getattr(model, "legacy", False):
            continue
        seen.append((_model_value(model), f"{model.id} ({model.provider})"))
    if _model_value(current) not in {v for v, _ in seen}:
        seen.insert(0, (_model_value(current), f"{current.id} ({current.provider})"))
    return seen


@dataclass
class _CommandTurn:
    """What a command expands to: the prompt to send (None: the prompt as typed), the trust
    mode and options of its turn, and a report to show after it (``/init``'s diff)."""

    text: str | None
    mode: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    after: Callable[[], str] | None = None
