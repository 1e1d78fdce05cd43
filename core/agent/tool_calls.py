"""Running the tool calls of one reply: check, ask, run, result (``ToolCalls``, the agent's).

For each call in order: the arguments are parsed and what the call would touch is found
(``Tool.accesses``), PreToolUse hooks are heard, the permission policy decides (asking the
person through the approver or a ``PermissionRequested`` event), a checkpoint is taken before
a change, then the tool runs. Calls a tool marks concurrency-safe run together in a batch; the
others one at a time, in order. A person's plain "no" stops the reply's remaining calls (they
are answered "not run"). An interrupt keeps the results that finished, and what an interrupted
shell command had printed. Every result is capped, redacted of Stoa's credentials and made
safe to show and save (``result``); ``!command`` lines use the same ``context`` and ``result``.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from stoa.core import events as ev
from stoa.core.agent.history import INTERRUPTED_RESULT
from stoa.core.escapes import clean, escape_surrogates
from stoa.core.permissions.approver import PermissionDecision, PermissionRequest, primary_access, request_kind
from stoa.core.providers.types import ImageBlock, TextBlock, ToolResultBlock, ToolUseBlock, error_result
from stoa.core.tools.base import Access, Effect, Tool, ToolContext, ToolError, ToolOutput
from stoa.core.tools.caps import cap_text

if TYPE_CHECKING:
    from stoa.core.agent.loop import Agent

REJECTED_RESULT = (
    "The user rejected this tool call, so it was not run, and stopped the turn. Do not retry it; "
    "wait for the user to say how to go on."
)
NOT_RUN_AFTER_REJECTION = "Not run: the user rejected the {name} call of this reply and stopped the turn."


class ToolCalls:
    """The tool calls of an agent's replies (one per agent)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def run(self, calls: list[ToolUseBlock]) -> tuple[list[ToolResultBlock], str | None]:
        """Run the calls of one reply. Returns their results in call order, and the name of the
        call the person rejected (nothing after it runs; the turn stops), or None."""
        results: dict[str, ToolResultBlock] = {}
        runnable = calls  # at most MAX_TOOL_CALLS_PER_MESSAGE (_accept dropped the rest)
        batch: list[tuple[ToolUseBlock, _Ready]] = []
        rejected: str | None = None

        async def flush() -> None:
            if not batch:
                return

            async def run_one(call: ToolUseBlock, ready: _Ready) -> None:
                # Stored as each finishes, so an interrupt keeps the results that were ready.
                results[call.id] = await self.execute(call, ready)

            await asyncio.gather(*(run_one(*item) for item in batch))
            batch.clear()

        try:
            for call in runnable:
                started = time.monotonic()
                prepared = await self.prepare(call, started)
                if isinstance(prepared, _Rejected):
                    results[call.id] = prepared.result
                    rejected = call.name
                    break
                if isinstance(prepared, ToolResultBlock):
                    results[call.id] = prepared
                    continue
                if prepared.tool.concurrency_safe(prepared.args, prepared.ctx):
                    batch.append((call, prepared))
                    continue
                await flush()
                results[call.id] = await self.execute(call, prepared)
            if rejected is None:
                await flush()
            else:
                # Nothing more runs: neither the calls waiting in the batch nor those after.
                waiting = {item[0].id for item in batch}
                batch.clear()
                for call in runnable:
                    if call.id not in results:
                        results[call.id] = self.skip(call, rejected, shown=call.id in waiting)
        except asyncio.CancelledError:
            # Keep what finished (and what an interrupted tool had to say); the rest get
            # synthetic "interrupted" results, in call order.
            self.agent._partial_results = [
                results.get(c.id) or self.agent._cut_results.get(c.id) or error_result(c.id, INTERRUPTED_RESULT)
                for c in calls
            ]
            for c in runnable:
                if c.id not in results and c.id not in self.agent._cut_results:
                    self.agent._emit(
                        ev.ToolCallFinished(c.id, c.name, True, INTERRUPTED_RESULT, status="interrupted")
                    )
            raise
        return [results[c.id] for c in calls], rejected

    def skip(self, call: ToolUseBlock, rejected: str, *, shown: bool) -> ToolResultBlock:
        """A call not run because the person rejected another one of the same reply."""
        text = NOT_RUN_AFTER_REJECTION.format(name=rejected)
        if not shown:
            tool = self.agent.tools.get(call.name)
            summary = ""
            if tool is not None and call.input_error is None:
                with suppress(ToolError):
                    summary = tool.summary(tool.parse_args(call.input))
            self.agent._emit(ev.ToolCallStarted(call.id, call.name, dict(call.input), summary=summary))
        self.agent._emit(ev.ToolCallFinished(call.id, call.name, True, text, status="skipped"))
        return error_result(call.id, text)

    async def prepare(
        self, call: ToolUseBlock, started: float
    ) -> _Ready | ToolResultBlock | _Rejected:
        """Validate and authorize one call. Returns what runs it (the tool, the parsed args and
        the call's context, which carries what the permission check established), or a result."""
        tool = self.agent.tools.get(call.name)
        summary = ""
        server = tool.server if tool else None
        if tool is not None and call.input_error is None:
            with suppress(ToolError):
                summary = tool.summary(tool.parse_args(call.input))
        self.agent._emit(ev.ToolCallStarted(call.id, call.name, dict(call.input), summary=summary, server=server))

        def fail(text: str, status: str | None = None) -> ToolResultBlock:
            text = escape_surrogates(text)
            self.agent._emit(
                ev.ToolCallFinished(
                    call.id, call.name, True, text, elapsed=time.monotonic() - started, status=status
                )
            )
            return error_result(call.id, text)

        if tool is None:
            offered = ", ".join(t.name for t in self.agent.tools.offered(self.agent.policy.mode))
            return fail(f"unknown tool {call.name!r}; the available tools are: {offered}")
        if call.input_error is not None:
            return fail(
                f"invalid arguments for {call.name}: {call.input_error}. Send the arguments as one JSON object."
            )
        ctx = self.context(call)
        try:
            args = tool.parse_args(call.input)
            accesses = tool.accesses(args, ctx)
        except ToolError as exc:
            return fail(str(exc))
        except Exception as exc:  # a tool's bug must not end the turn; nothing has run yet
            return fail(f"{call.name} could not check its arguments: {exc!r}")
        effect = tool.effect_for(args, ctx)
        if self.agent.policy.mode == "plan" and tool not in self.agent.tools.offered("plan") and not effect.read_only:
            return fail(
                f"{call.name} is not available in plan mode (read-only); ask the user to switch mode",
                "denied",
            )
        hook = await self.agent._hook_calls.pre_tool(call) if self.agent._hook_calls is not None else None
        if hook is not None and hook.blocked is not None:
            return fail(hook.blocked, "denied")
        answer = hook.permission if hook is not None else None
        verdict = self.agent.policy.decide(call.name, effect, accesses)
        if verdict.action == "deny":
            return fail(f"Denied: {verdict.reason}", "denied")
        if verdict.action == "allow" and answer == "ask":  # a hook wants the person asked
            verdict = replace(verdict, action="ask", reason=verdict.reason or "a PreToolUse hook asks for approval")
        if verdict.action == "ask" and answer != "allow":  # a hook's allow answers the question
            # Ask only what can run: a call that would fail is refused without a question.
            if self.agent.policy.readable_without_asking(call.name, accesses):
                try:
                    await tool.precheck(args, ctx)
                except ToolError as exc:
                    return fail(str(exc))
                except Exception as exc:  # a tool's bug must not end the turn; nothing has run yet
                    return fail(f"{call.name} could not check its arguments: {exc!r}")
            decision = await self.ask(call, tool, effect, accesses, verdict)
            if decision.stops_turn:
                return _Rejected(fail(REJECTED_RESULT, "denied"))
            if not decision.approved:
                if decision.by_policy:
                    text = decision.feedback or "Not run: refused without asking anyone."
                else:
                    text = f"The user rejected this tool call and said: {(decision.feedback or '').strip()}"
                return fail(text, "denied")
            self.agent.policy.remember(call.name, accesses, decision.outcome)
        # It will run: a build/test runner later in the session knows what the agent changed.
        self.agent.policy.will_run(call.name, effect, accesses)
        if self.agent.checkpoints is not None and not effect.read_only:
            await self.agent._checkpoint(self.agent.checkpoints.before_call(call.name, effect, accesses))
        return _Ready(tool, args, ctx)

    async def ask(
        self, call: ToolUseBlock, tool: Tool, effect: Effect, accesses: list[Access], verdict: Any
    ) -> PermissionDecision:
        primary = primary_access(accesses)
        request = PermissionRequest(
            tool_name=call.name,
            call_id=call.id,
            kind=request_kind(effect, primary),
            target=escape_surrogates(primary.target) if primary else call.name,
            reason=escape_surrogates(verdict.reason),
            arguments=dict(call.input),
            preview=clean(next((a.preview for a in accesses if a.preview), None)),
            suggested_rule=verdict.suggested_rule,
            can_remember=verdict.can_remember,
        )
        if self.agent.hooks is not None:
            self.agent.hooks.notification(f"Stoa needs your permission to use {call.name}")
        if self.agent.approver is not None:
            return await self.agent.approver.approve(request)
        future: asyncio.Future[PermissionDecision] = asyncio.get_running_loop().create_future()
        self.agent._emit(ev.PermissionRequested(request=request, future=future))
        return await future

    def context(self, call: ToolUseBlock) -> ToolContext:
        """A fresh context for one call: the session's parts, and room for what its check finds."""
        return ToolContext(
            workspace=self.agent.workspace,
            call_id=call.id,
            emit=self.agent._emit,
            config=self.agent.config,
            policy=self.agent.policy,
            state=self.agent.tool_state,
            editor=self.agent.editor_files,
            jobs=self.agent.jobs,
            terminals=self.agent.terminals,
        )

    async def execute(self, call: ToolUseBlock, ready: _Ready) -> ToolResultBlock:
        started = time.monotonic()  # the run's time: not the permission prompt's wait before it
        ctx = ready.ctx
        try:
            output = await ready.tool.run(ready.args, ctx)
        except ToolError as exc:
            output = ToolOutput.error(str(exc))
        except asyncio.CancelledError:
            # Interrupted: what the tool had produced so far (a shell command's output) is its
            # result, shown and saved like any other.
            if ctx.interrupted_output is not None:
                cut = ctx.interrupted_output
                cut.is_error = True
                self.agent._cut_results[call.id] = self.result(call, cut, started, status="interrupted")
            raise
        except Exception as exc:
            output = ToolOutput.error(f"{call.name} failed unexpectedly: {exc!r}")
        if self.agent.context_hook is not None and not output.is_error:
            with suppress(Exception):
                self.agent.context_hook.after_call(ctx)
        if self.agent._hook_calls is not None:
            await self.agent._hook_calls.post_tool(call, output)
        return self.result(call, output, started)

    def result(
        self, call: ToolUseBlock, output: ToolOutput, started: float, *, status: str | None = None
    ) -> ToolResultBlock:
        # Names that are not UTF-8 come back as \xNN: no request, screen or save can choke on them.
        # Stoa's own credentials never reach the model, the session or the screen, whatever
        # the tool read them from (core/sandbox/secrets.py).
        redact = self.agent._secrets.current()
        content: list[TextBlock | ImageBlock] = []
        for block in output.content:
            if isinstance(block, TextBlock):
                content.append(TextBlock(text=cap_text(redact(escape_surrogates(block.text)))))
            else:
                content.append(block)
        if not content:
            content = [TextBlock(text="(no output)")]
        result = ToolResultBlock(tool_use_id=call.id, content=content, is_error=output.is_error)
        self.agent._emit(
            ev.ToolCallFinished(
                call.id,
                call.name,
                output.is_error,
                result.text,
                display=redact.redact_value(clean(output.display)) if redact else clean(output.display),  # type: ignore[arg-type]
                elapsed=time.monotonic() - started,
                status=status,
            )
        )
        return result


@dataclass(frozen=True)
class _Ready:
    """A call that passed its checks: the tool, its parsed arguments, and its context (the
    same one its permission check filled, so what runs is what was judged)."""

    tool: Tool
    args: Any
    ctx: ToolContext


@dataclass(frozen=True)
class _Rejected:
    """A call the person said no to: its result, and the sign that the turn stops."""

    result: ToolResultBlock
