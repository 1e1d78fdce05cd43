"""The turn loop: request, stream, run tools, feed results back, until the model stops.

``Agent.run_turn(text)`` is an async iterator of ``core.events`` events. The work runs in its
own task and posts events to a queue, so tools running concurrently can stream output;
cancelling the iteration (or the task consuming it) cancels the turn, and the history is
repaired so the next request is still valid.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stoa.core import events as ev
from stoa.core.agent.history import INTERRUPTED_RESULT, History
from stoa.core.cost import UsageLedger
from stoa.core.escapes import clean, escape_surrogates
from stoa.core.models import ModelInfo, default_max_tokens, effort_wire_options, validate_effort
from stoa.core.permissions.approver import (
    Approver,
    PermissionDecision,
    PermissionRequest,
    primary_access,
    request_kind,
)
from stoa.core.permissions.policy import PermissionPolicy
from stoa.core.providers import base as pb
from stoa.core.providers.types import (
    ContentBlock,
    ImageBlock,
    Message,
    StopReason,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    error_result,
)
from stoa.core.sandbox.secrets import SessionRedactor
from stoa.core.tools.base import Access, Effect, Tool, ToolContext, ToolError, ToolOutput
from stoa.core.tools.caps import cap_text
from stoa.core.tools.registry import ToolRegistry

MAX_ITERATIONS_NOTE = (
    "You have reached the maximum number of tool iterations for this turn. Do not call any more "
    "tools. Summarize what you did, what is left to do, and how to continue."
)


class TurnObserver(Protocol):
    """Persistence hook (the session store). Failures are reported, never fatal."""

    async def message_added(self, message: Message, *, replaces_last: bool) -> None: ...

    async def event(self, event: ev.Event) -> None: ...


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0

    # A refused connection rarely heals in seconds: try it once more, then say so.
    max_attempts_by_kind: dict[str, int] = field(default_factory=lambda: {"connection": 2})

    def attempts_for(self, error: pb.ProviderError) -> int:
        return min(self.max_attempts, self.max_attempts_by_kind.get(error.kind, self.max_attempts))

    def delay(self, attempt: int, error: pb.ProviderError) -> float:
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.max_delay)
        return min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)


class _Done:
    pass


_STREAMING = (ev.AssistantTextDelta, ev.ThinkingDelta, ev.ToolCallOutput)


_DONE = _Done()


class Agent:
    def __init__(
        self,
        *,
        provider_for: Callable[[ModelInfo], pb.Provider],
        model: ModelInfo,
        tools: ToolRegistry,
        workspace: Path,
        system_prompt: Callable[[], str] | str = "",
        effort: str | None = None,
        policy: PermissionPolicy | None = None,
        approver: Approver | None = None,
        history: list[Message] | None = None,
        max_iterations: int = 50,
        max_tokens: int | None = None,
        retry: RetryPolicy | None = None,
        observer: TurnObserver | None = None,
        config: Any = None,
        ledger: UsageLedger | None = None,
    ) -> None:
        self.provider_for = provider_for
        self.model = model
        self.effort = validate_effort(model, effort)
        self.tools = tools
        self.workspace = workspace
        self._system_prompt = system_prompt
        self.policy = policy or PermissionPolicy()
        # None: ask through PermissionRequested events (the UI answers the Future).
        self.approver = approver
        self.history = History(history)
        self.max_iterations = max_iterations
        self.max_tokens = max_tokens
        self.retry = retry or RetryPolicy()
        self.observer = observer
        self.config = config
        self.ledger = ledger or UsageLedger()
        self.tool_state: dict[str, Any] = {}
        self._secrets = SessionRedactor(config)
        self.last_context_tokens = 0
        self.last_turn_interrupted = False
        self._steering: list[str] = []
        self._queue: asyncio.Queue[ev.Event | _Done] | None = None
        self._pending_saves: set[asyncio.Future[None]] = set()
        # Results of calls that finished before an interrupt, kept for the history repair.
        self._partial_results: list[ToolResultBlock] = []
        self._task: asyncio.Task[None] | None = None

    # ---- public API -------------------------------------------------------------------------

    def system_prompt(self) -> str:
        return self._system_prompt() if callable(self._system_prompt) else self._system_prompt

    def set_model(self, model: ModelInfo, effort: str | None = None) -> None:
        """Switch model (any provider); the next request goes to it."""
        if effort is None:
            effort = self.effort if self.effort in model.efforts else model.default_effort
        self.effort = validate_effort(model, effort)
        self.model = model

    def set_effort(self, effort: str) -> None:
        self.effort = validate_effort(self.model, effort)

    def steer(self, text: str) -> None:
        """Queue a message typed while the agent works; delivered at the next tool-result boundary."""
        if text.strip():
            self._steering.append(text)

    def take_pending_steering(self) -> list[str]:
        pending, self._steering = self._steering, []
        return pending

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def interrupt(self) -> bool:
        """Cancel the running turn (also kills running shell commands). The history is repaired
        and the event stream ends. Consumers should iterate ``run_turn`` inside
        ``contextlib.aclosing`` so that cancelling them closes the stream at once, too."""
        if self._task is None or self._task.done():
            return False
        self._task.cancel()
        return True

    @property
    def pending_steering(self) -> tuple[str, ...]:
        return tuple(self._steering)

    async def run_turn(self, user_input: str | list[ContentBlock]) -> AsyncIterator[ev.Event]:
        """Run one turn; yields events until TurnFinished / TurnFailed / TurnInterrupted."""
        if isinstance(user_input, str):
            if not user_input.strip():
                yield ev.TurnFailed(error="empty prompt", hint="type a message first", kind="usage")
                return
            content: list[ContentBlock] = [TextBlock(text=user_input)]
        else:
            content = list(user_input)
        queue: asyncio.Queue[ev.Event | _Done] = asyncio.Queue()
        self._queue = queue
        task = asyncio.create_task(self._turn(content), name="stoa-turn")
        self._task = task
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _Done):
                    break
                yield item
        finally:
            if not task.done():
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            elif not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
            self._queue = None

    # ---- the turn ---------------------------------------------------------------------------

    def _emit(self, event: ev.Event) -> None:
        if self._queue is not None:
            self._queue.put_nowait(event)
        # Streaming fragments are not persisted (the completed message is): skipping them
        # spares a task per token, which cost more than the provider stream itself.
        if self.observer is not None and not isinstance(event, _STREAMING):
            self._observe(self.observer.event(event))

    def _observe(self, coro: Any) -> None:
        async def guarded() -> None:
            try:
                await coro
            except Exception as exc:
                if self._queue is not None:
                    self._queue.put_nowait(ev.Notice("error", f"could not save the session: {exc}"))

        task = asyncio.ensure_future(guarded())
        self._pending_saves.add(task)
        task.add_done_callback(self._pending_saves.discard)

    async def _record(self, message: Message, *, replaces_last: bool = False) -> None:
        if self.observer is None:
            return
        try:
            await self.observer.message_added(message, replaces_last=replaces_last)
        except Exception as exc:  # disk full, locked DB: keep the conversation going
            self._emit(ev.Notice("error", f"could not save the session: {exc}"))

    async def _add_user(self, content: list[ContentBlock]) -> None:
        merged = self.history.last is not None and self.history.last.role == "user"
        message = self.history.add_user(content)
        await self._record(message, replaces_last=merged)

    async def _turn(self, content: list[ContentBlock]) -> None:
        assert self._queue is not None
        queue = self._queue
        self.last_turn_interrupted = False
        self._pending_saves = set()
        self._partial_results = []
        turn_id = uuid.uuid4().hex[:12]
        try:
            # Dangling calls from an earlier crash or interrupt are answered first.
            repaired = self.history.repair()
            if repaired:
                last = self.history.last
                assert last is not None
                await self._record(last)
            await self._add_user(content)
            text = "".join(b.text for b in content if isinstance(b, TextBlock))
            self._emit(
                ev.TurnStarted(turn_id=turn_id, user_text=text, model=self.model.id, effort=self.effort)
            )
            await self._loop()
        except asyncio.CancelledError:
            self.last_turn_interrupted = True
            # Through _emit: the session recorder marks the turn interrupted at once.
            self._emit(ev.TurnInterrupted())
            if self._partial_results and self.history.unanswered_tool_uses():
                self.history.add_user(list(self._partial_results))
                results: list[ToolResultBlock] = self._partial_results
            else:
                results = self.history.repair()
            if results:
                last = self.history.last
                assert last is not None
                # Shielded: the save must land even though the turn is being cancelled.
                with suppress(Exception):
                    await asyncio.shield(self._record(last))
            raise
        except Exception as exc:  # a bug in the loop: report it, keep the history valid
            self.history.repair()
            self._emit(
                ev.TurnFailed(error=f"internal error: {exc!r}", hint="please report this", kind="internal")
            )
        finally:
            if self._pending_saves:
                with suppress(Exception):
                    await asyncio.gather(*self._pending_saves, return_exceptions=True)
            queue.put_nowait(_DONE)

    async def _loop(self) -> None:
        last_text = ""
        for iteration in range(1, self.max_iterations + 1):
            message = await self._request(iteration)
            if message is None:
                return
            last_text = message.text or last_text
            if message.stop_reason is StopReason.PAUSE_TURN and not message.tool_uses:
                continue
            if not message.tool_uses:
                self._emit(
                    ev.TurnFinished(stop_reason=message.stop_reason, text=message.text, iterations=iteration)
                )
                return
            results = await self._run_tools(message.tool_uses)
            content: list[ContentBlock] = list(results)
            for steering in self.take_pending_steering():
                content.append(TextBlock(text=steering))
                self._emit(ev.SteeringDelivered(text=steering))
            await self._add_user(content)
        # Bounded: one last request with tools forbidden, asking for a summary.
        self._emit(
            ev.Notice(
                "warning", f"reached the limit of {self.max_iterations} tool iterations; asking for a summary"
            )
        )
        await self._add_user([TextBlock(text=MAX_ITERATIONS_NOTE)])
        message = await self._request(self.max_iterations + 1, tool_choice="none")
        if message is not None:
            if message.tool_uses:
                # The model called tools anyway: answer them without running them.
                await self._add_user(
                    [
                        error_result(b.id, "Not run: the iteration limit was reached.")
                        for b in message.tool_uses
                    ]
                )
            self._emit(
                ev.TurnFinished(
                    stop_reason=message.stop_reason,
                    text=message.text or last_text,
                    iterations=self.max_iterations,
                )
            )

    # ---- one request, with retries ------------------------------------------------------------

    def _build_request(self, tool_choice: str) -> pb.ProviderRequest:
        from stoa.core.tools.web import server_tools_for

        max_tokens = self.max_tokens or default_max_tokens(self.model)
        wire, max_tokens = effort_wire_options(self.model, self.effort, max_tokens)
        tools = self.tools.specs(self.policy.mode, self.model) if self.model.supports_tools else []
        return pb.ProviderRequest(
            model=self.model.id,
            system=self.system_prompt(),
            messages=list(self.history.messages),
            tools=tools,
            max_tokens=max_tokens,
            effort=self.effort,
            wire_options=wire,
            tool_choice=tool_choice if tools else "auto",
            server_tools=server_tools_for(self.model, self.config) if tools else (),
        )

    async def _request(self, iteration: int, tool_choice: str = "auto") -> Message | None:
        attempt = 0
        while True:
            attempt += 1
            self._emit(ev.RequestStarted(iteration=iteration, attempt=attempt))
            try:
                provider = self.provider_for(self.model)
                request = self._build_request(tool_choice)
                complete = await self._stream_once(provider, request)
            except pb.ProviderError as error:
                if error.retryable and attempt < self.retry.attempts_for(error):
                    delay = self.retry.delay(attempt, error)
                    self._emit(
                        ev.Retrying(
                            attempt=attempt,
                            max_attempts=self.retry.attempts_for(error),
                            delay=delay,
                            reason=str(error),
                        )
                    )
                    await asyncio.sleep(delay)
                    continue
                hint = error.hint or _hint_for(error)
                self._emit(ev.TurnFailed(error=error.message, hint=hint, kind=error.kind))
                return None
            return await self._accept(complete)

    async def _stream_once(self, provider: pb.Provider, request: pb.ProviderRequest) -> pb.MessageComplete:
        complete: pb.MessageComplete | None = None
        async for item in provider.stream(request):
            if isinstance(item, pb.TextDelta):
                self._emit(ev.AssistantTextDelta(item.text))
            elif isinstance(item, pb.ThinkingDelta):
                self._emit(ev.ThinkingDelta(item.text))
            elif isinstance(item, pb.ServerToolActivity):
                self._emit(ev.ServerToolUsed(name=item.name, summary=item.summary))
            elif isinstance(item, pb.MessageComplete):
                complete = item
        if complete is None:
            raise pb.ProviderError("stream_broken", "the response ended before the message was complete")
        return complete

    async def _accept(self, complete: pb.MessageComplete) -> Message:
        message = complete.message
        if complete.stop_reason is StopReason.MAX_TOKENS and message.tool_uses:
            # Never execute half-formed tool calls: drop them, keep the text.
            kept = [b for b in message.content if not isinstance(b, ToolUseBlock)]
            message = message.model_copy(
                update={"content": kept or [TextBlock(text="(reply cut at max tokens)")]}
            )
            self._emit(
                ev.Notice(
                    "warning",
                    "the reply hit the output token limit mid tool call; the call was not run (raise --max-tokens)",
                )
            )
        message = message.model_copy(
            update={
                "model": self.model.id,
                "provider": self.model.provider,
                "stop_reason": complete.stop_reason,
                "usage": complete.usage,
            }
        )
        if not message.content:
            message = message.model_copy(update={"content": [TextBlock(text="")]})
        self.history.add_assistant(message)
        await self._record(message)
        self._emit(ev.AssistantMessageCompleted(message))
        self._account(complete.usage)
        if complete.stop_reason is StopReason.REFUSAL:
            self._emit(ev.Notice("warning", "the model declined to continue (refusal)"))
        return message

    def _account(self, usage: Usage) -> None:
        self.ledger.add(self.model.id, usage, self.model)
        self.last_context_tokens = usage.prompt_tokens + usage.output_tokens
        self._emit(
            ev.UsageUpdated(
                usage=usage,
                total=self.ledger.total,
                cost_usd=self.ledger.cost_usd,
                context_tokens=self.last_context_tokens,
                context_window=self.model.context_window,
            )
        )

    # ---- tools --------------------------------------------------------------------------------

    async def _run_tools(self, calls: list[ToolUseBlock]) -> list[ToolResultBlock]:
        results: dict[str, ToolResultBlock] = {}
        batch: list[tuple[ToolUseBlock, Tool, Any, float]] = []

        async def flush() -> None:
            if not batch:
                return

            async def run_one(call: ToolUseBlock, tool: Tool, args: Any, started: float) -> None:
                # Stored as each finishes, so an interrupt keeps the results that were ready.
                results[call.id] = await self._execute(call, tool, args, started)

            await asyncio.gather(*(run_one(*item) for item in batch))
            batch.clear()

        try:
            for call in calls:
                started = time.monotonic()
                prepared = await self._prepare(call, started)
                if isinstance(prepared, ToolResultBlock):
                    results[call.id] = prepared
                    continue
                tool, args = prepared
                if tool.concurrency_safe(args):
                    batch.append((call, tool, args, started))
                    continue
                await flush()
                results[call.id] = await self._execute(call, tool, args, started)
            await flush()
        except asyncio.CancelledError:
            # Keep what finished; the rest get synthetic "interrupted" results, in call order.
            self._partial_results = [
                results[c.id] if c.id in results else error_result(c.id, INTERRUPTED_RESULT) for c in calls
            ]
            for c in calls:
                if c.id not in results:
                    self._emit(
                        ev.ToolCallFinished(c.id, c.name, True, INTERRUPTED_RESULT, status="interrupted")
                    )
            raise
        return [results[c.id] for c in calls]

    async def _prepare(self, call: ToolUseBlock, started: float) -> tuple[Tool, Any] | ToolResultBlock:
        """Validate and authorize one call. Returns the tool and parsed args, or an error result."""
        tool = self.tools.get(call.name)
        summary = ""
        server = getattr(tool, "server", None) if tool else None
        if tool is not None and call.input_error is None:
            with suppress(ToolError):
                summary = tool.summary(tool.parse_args(call.input))
        self._emit(ev.ToolCallStarted(call.id, call.name, dict(call.input), summary=summary, server=server))

        def fail(text: str, status: str | None = None) -> ToolResultBlock:
            text = escape_surrogates(text)
            self._emit(
                ev.ToolCallFinished(
                    call.id, call.name, True, text, elapsed=time.monotonic() - started, status=status
                )
            )
            return error_result(call.id, text)

        if tool is None:
            offered = ", ".join(t.name for t in self.tools.offered(self.policy.mode))
            return fail(f"unknown tool {call.name!r}; the available tools are: {offered}")
        if call.input_error is not None:
            return fail(
                f"invalid arguments for {call.name}: {call.input_error}. Send the arguments as one JSON object."
            )
        ctx = self._context(call)
        try:
            args = tool.parse_args(call.input)
            accesses = tool.accesses(args, ctx)
        except ToolError as exc:
            return fail(str(exc))
        except Exception as exc:  # a tool's bug must not end the turn; nothing has run yet
            return fail(f"{call.name} could not check its arguments: {exc!r}")
        effect = tool.effect_for(args)
        if self.policy.mode == "plan" and tool not in self.tools.offered("plan") and not effect.read_only:
            return fail(
                f"{call.name} is not available in plan mode (read-only); ask the user to switch mode",
                "denied",
            )
        verdict = self.policy.decide(call.name, effect, accesses)
        if verdict.action == "deny":
            return fail(f"Denied: {verdict.reason}", "denied")
        if verdict.action == "ask":
            # Ask only what can run: a call that would fail is refused without a question.
            if self.policy.readable_without_asking(call.name, accesses):
                try:
                    await tool.precheck(args, ctx)
                except ToolError as exc:
                    return fail(str(exc))
                except Exception as exc:  # a tool's bug must not end the turn; nothing has run yet
                    return fail(f"{call.name} could not check its arguments: {exc!r}")
            decision = await self._ask(call, tool, effect, accesses, verdict)
            if not decision.approved:
                text = "The user rejected this tool call."
                if decision.feedback:
                    text = (
                        decision.feedback
                        if decision.feedback.startswith("Not run:")
                        else f"The user rejected this tool call and said: {decision.feedback}"
                    )
                return fail(text, "denied")
            self.policy.remember(call.name, accesses, decision.outcome)
        # It will run: a build/test runner later in the session knows what the agent changed.
        self.policy.will_run(call.name, effect, accesses)
        return tool, args

    async def _ask(
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
        if self.approver is not None:
            return await self.approver.approve(request)
        future: asyncio.Future[PermissionDecision] = asyncio.get_running_loop().create_future()
        self._emit(ev.PermissionRequested(request=request, future=future))
        return await future

    def _context(self, call: ToolUseBlock) -> ToolContext:
        return ToolContext(
            workspace=self.workspace,
            call_id=call.id,
            emit=self._emit,
            config=self.config,
            state=self.tool_state,
        )

    async def _execute(self, call: ToolUseBlock, tool: Tool, args: Any, started: float) -> ToolResultBlock:
        ctx = self._context(call)
        try:
            output = await tool.run(args, ctx)
        except ToolError as exc:
            output = ToolOutput.error(str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            output = ToolOutput.error(f"{call.name} failed unexpectedly: {exc!r}")
        # Names that are not UTF-8 come back as \xNN: no request, screen or save can choke on them.
        # Stoa's own credentials never reach the model, the session or the screen, whatever
        # the tool read them from (core/sandbox/secrets.py).
        redact = self._secrets.current()
        content: list[TextBlock | ImageBlock] = []
        for block in output.content:
            if isinstance(block, TextBlock):
                content.append(TextBlock(text=cap_text(redact(escape_surrogates(block.text)))))
            else:
                content.append(block)
        if not content:
            content = [TextBlock(text="(no output)")]
        result = ToolResultBlock(tool_use_id=call.id, content=content, is_error=output.is_error)
        self._emit(
            ev.ToolCallFinished(
                call.id,
                call.name,
                output.is_error,
                result.text,
                display=redact.redact_value(clean(output.display)) if redact else clean(output.display),  # type: ignore[arg-type]
                elapsed=time.monotonic() - started,
            )
        )
        return result


def _hint_for(error: pb.ProviderError) -> str:
    return {
        "auth": "check the API key (environment variable or /key)",
        "not_found": "check the model name (/model) and the base URL",
        "rate_limit": "wait a moment and send again",
        "overloaded": "the provider is overloaded; send again in a moment",
        "connection": "check your network and the base URL, then send again",
        "stream_broken": "the connection broke mid-reply; send again",
        "context_length": "the conversation is too long for this model; start a new one with /clear or switch model",
        "bad_request": "the provider rejected the request; see the message above",
    }.get(error.kind, "send again, or check the logs")


def parse_tool_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    """Parse streamed tool arguments. Returns (input, error) — never raises."""
    if not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, f"arguments are not valid JSON ({exc.msg} at position {exc.pos})"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}"
    try:
        # A lone \\ud800 escape decodes to text no request can carry back (UTF-8 refuses it).
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return {}, "arguments hold text that is not valid Unicode (a lone surrogate such as \\ud800); send plain text"
    return value, None
