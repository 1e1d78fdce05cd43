"""The turn loop: request, stream, run tools, feed results back, until the model stops.

``Agent.run_turn(text)`` is an async iterator of ``core.events`` events. The work runs in its
own task and posts events to a queue, so tools running concurrently can stream output.

Bounds: at most ``max_iterations`` requests with tool calls per turn (then one request for a
summary, tools off), and at most ``MAX_TOOL_CALLS_PER_MESSAGE`` calls of one reply are run (the
rest are dropped from the reply, and the model is told). The user's message is in the history
and saved before the first request goes out.

A person's plain "no" to a tool call ends the turn: that call is answered as rejected, the
calls after it are not run, and ``TurnFinished(rejected=True)`` hands the word back.

Cancelling the iteration (or the task consuming it) interrupts the turn, and what was said is
kept: the partial reply as an assistant message, finished tool results (a shell command's
output so far), then ``INTERRUPTED_MARKER`` as user text, so the next request is valid on
every provider and shows the model where the person stopped it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from stoa.core import events as ev
from stoa.core.agent import server_compaction
from stoa.core.agent.checkpoint_hook import CheckpointHook, guarded
from stoa.core.agent.compaction import Compaction, ContextKeeper, auto_compact_setting
from stoa.core.agent.context_hook import ContextHook
from stoa.core.agent.failures import RetryPolicy as RetryPolicy  # re-exported: callers build agents with it
from stoa.core.agent.failures import explain
from stoa.core.agent.history import (
    DROPPED_CALLS,
    FAILED_MARKER,
    INTERRUPTED_MARKER,
    INTERRUPTED_RESULT,
    History,
    cap_tool_calls,
)
from stoa.core.agent.hook_calls import HookCalls
from stoa.core.agent.passthrough import run_passthrough, shell_line
from stoa.core.agent.tool_calls import ToolCalls
from stoa.core.config import DEFAULT_MAX_ITERATIONS, StoaConfig
from stoa.core.cost import UsageLedger
from stoa.core.logs import log_event
from stoa.core.mentions import PastedImages, turn_input, typed_text
from stoa.core.models import (
    ModelInfo,
    default_max_tokens,
    effort_wire_options,
    thinking_off,
    validate_effort,
)
from stoa.core.permissions.approver import (
    Approver,
)
from stoa.core.permissions.policy import PermissionPolicy
from stoa.core.providers import base as pb
from stoa.core.providers.types import (
    ContentBlock,
    Message,
    StopReason,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    error_result,
)
from stoa.core.sandbox.secrets import SessionRedactor
from stoa.core.tools.background import BackgroundJobs
from stoa.core.tools.base import (
    EditorFiles,
    Terminals,
    ToolContext,
    ToolState,
)
from stoa.core.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from stoa.core.catalog import Catalog
    from stoa.core.hooks import Hooks

MAX_ITERATIONS_NOTE = (
    "You have reached the maximum number of tool iterations for this turn. Do not call any more "
    "tools. Summarize what you did, what is left to do, and how to continue."
)
# Calls of one assistant message that are run; the rest are dropped from it (DROPPED_CALLS).
MAX_TOOL_CALLS_PER_MESSAGE = 64
# What an internal error may show of an exception (a repr can hold a whole request body).
ERROR_TEXT_LIMIT = 500


class TurnObserver(Protocol):
    """Persistence hook (the session store). Failures are reported, never fatal."""

    async def message_added(self, message: Message, *, replaces_last: bool) -> None: ...

    async def event(self, event: ev.Event) -> None: ...


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
        max_iterations: int = DEFAULT_MAX_ITERATIONS,
        max_tokens: int | None = None,
        retry: RetryPolicy | None = None,
        observer: TurnObserver | None = None,
        config: StoaConfig | None = None,
        ledger: UsageLedger | None = None,
        catalog: Catalog | None = None,
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
        # Per-turn checkpoints of the files (``core.checkpoints``), attached with the session.
        self.checkpoints: CheckpointHook | None = None
        # Context added as the turn goes (a sub-folder's AGENTS.md), see ``context_hook``.
        self.context_hook: ContextHook | None = None
        # The person's hook commands (``core.hooks``), attached by the runtime.
        self.hooks: Hooks | None = None
        self._hook_calls: HookCalls | None = None
        # A prompt a UserPromptSubmit hook blocked (the front end may take it back).
        self._blocked_prompt: str | None = None
        self.config = config
        self.ledger = ledger or UsageLedger()
        # The model catalogue (``stoa.core.catalog.Catalog``): alternatives when a model is gone.
        self.catalog = catalog
        # OpenAI's prompt_cache_key: the session id once a session is attached.
        self.cache_key: str = uuid.uuid4().hex
        self.tool_state = ToolState()
        # The editor's buffers and writes, and its terminals, for a front end inside an editor (ACP).
        self.editor_files: EditorFiles | None = None
        self.terminals: Terminals | None = None
        # Images the person added ([Image #N] markers in a message, ``core.mentions``).
        self.pasted_images = PastedImages()
        # Expand @path mentions and [Image #N] markers of a turn's text (off: sent as typed).
        self.expand_mentions = True
        # The session's MCP manager once attached (core.mcp.attach): @server:uri mentions.
        self.mcp: Any = None
        self.jobs = BackgroundJobs()  # execute_bash background: true; shared with sub-agents
        self._secrets = SessionRedactor(config)
        self.last_context_tokens = 0
        # The window arithmetic: estimates, auto-compaction (``[context] auto-compact``).
        self.context = ContextKeeper(threshold=auto_compact_setting(config)[0])
        self.last_turn_interrupted = False
        self._steering: list[str] = []
        self._queue: asyncio.Queue[ev.Event | _Done] | None = None
        self._pending_saves: set[asyncio.Future[None]] = set()
        # Results of calls that finished before an interrupt, kept for the history repair.
        self._partial_results: list[ToolResultBlock] = []
        # Results of calls whose tool had something to return when it was interrupted.
        self._cut_results: dict[str, ToolResultBlock] = {}
        self.tool_calls = ToolCalls(self)
        # The reply being streamed (text and thinking so far), kept if the turn is interrupted.
        self._partial_text: list[str] = []
        self._partial_thinking: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._dropped_note = ""  # DROPPED_CALLS for the results of the last reply, if any

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

    async def compact(
        self, focus: str = "", *, trigger: str = "manual", model: ModelInfo | None = None
    ) -> Compaction:
        """Summarise the earlier conversation into the live history (``/compact``, a switch to
        a smaller window). Raises ``CompactionError`` with the history untouched."""
        from stoa.core.agent.compactor import compact_agent

        return await compact_agent(self, trigger=trigger, focus=focus, model=model)

    def steer(self, text: str) -> None:
        """Queue a message typed while the agent works; delivered at the next tool-result boundary."""
        if text.strip():
            self._steering.append(text)

    def take_pending_steering(self) -> list[str]:
        pending, self._steering = self._steering, []
        return pending

    def unsteer(self, text: str) -> bool:
        """Take back a message queued with ``steer`` that has not been delivered yet (the last
        one equal to ``text``). False if it was already delivered or never queued."""
        for index in range(len(self._steering) - 1, -1, -1):
            if self._steering[index] == text:
                del self._steering[index]
                return True
        return False

    def take_back_input(self, text: str) -> bool:
        """Remove the user message that started a turn whose first request failed, so the person
        can edit and send it again. Only when it is the last message, as sent, with no reply:
        anything the provider already answered stays part of the conversation."""
        if self._blocked_prompt is not None and self._blocked_prompt == text:
            self._blocked_prompt = None  # never reached the history
            return True
        last = self.history.last
        if last is None or last.role != "user" or typed_text(last.content) != text or last.tool_results:
            return False
        self.history.messages.pop()
        return True

    def reset(self) -> None:
        """Start an empty conversation (``/clear``): no history, no tool state, nothing queued."""
        self.history = History()
        self.tool_state.clear()
        self._steering.clear()

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

    async def run_turn(
        self,
        user_input: str | list[ContentBlock],
        *,
        mode: str | None = None,
        model: ModelInfo | None = None,
        allow: tuple[str, ...] = (),
        shell: bool = False,
    ) -> AsyncIterator[ev.Event]:
        """Run one turn; yields events until TurnFinished / TurnFailed / TurnInterrupted.
        For this turn only: ``mode`` sets the trust mode (``/review`` runs in plan mode),
        ``model`` the model, ``allow`` permission rules allowed without asking (a custom
        command's front matter). ``shell``: the input is a ``!command`` the person runs
        (``core.agent.passthrough``), no model request. Raises RuleError for a malformed rule."""
        revoke = self.policy.allow_for_now(allow) if allow else None
        if isinstance(user_input, str):
            if not user_input.strip():
                yield ev.TurnFailed(error="empty prompt", hint="type a message first", kind="usage")
                return
            content: list[ContentBlock] = [TextBlock(text=user_input)]
        else:
            content = list(user_input)
        queue: asyncio.Queue[ev.Event | _Done] = asyncio.Queue()
        self._queue = queue
        task = asyncio.create_task(self._turn(content, mode, model, revoke, shell), name="stoa-turn")
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
        if not isinstance(event, _STREAMING):
            log_event(event)  # Stoa's log (core/logs.py); nothing when logging is not set up
            if self.observer is not None:
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

    async def tell(self, note: str) -> None:
        """A note from Stoa to the model (files put back by /undo): saved now, sent with the next message."""
        await self._add_user([TextBlock(text=f"[Stoa: {note}]")])

    async def _add_user(self, content: list[ContentBlock]) -> Message:
        merged = self.history.last is not None and self.history.last.role == "user"
        message = self.history.add_user(content)
        await self._record(message, replaces_last=merged)
        return message

    def _reset_partial(self) -> None:
        self._partial_text = []
        self._partial_thinking = []

    async def _keep_interrupted(self) -> str:
        """Keep what an interrupted turn said, in a history the next request can carry.

        The partial reply (text, and thinking for the screen; thinking without a signature is
        never sent back) becomes an assistant message; calls of the last reply get their
        results (finished ones, a tool's output so far, else "interrupted"); then the marker.
        Each change is saved, shielded from the cancellation in progress. Returns the partial
        reply text.
        """
        partial_text = "".join(self._partial_text)
        thinking = "".join(self._partial_thinking)
        self._reset_partial()
        changed: list[tuple[Message, bool]] = []
        unanswered = self.history.unanswered_tool_uses()
        if unanswered:
            known = {r.tool_use_id: r for r in self._partial_results}
            known.update({k: v for k, v in self._cut_results.items() if k not in known})
            results = [known.get(c.id) or error_result(c.id, INTERRUPTED_RESULT) for c in unanswered]
            changed.append((self.history.add_user([*results, TextBlock(text=INTERRUPTED_MARKER)]), False))
        else:
            model, provider = self.model.id, self.model.provider
            changed += self.history.keep_partial(partial_text, thinking, model, provider, INTERRUPTED_MARKER, always=True)
        for message, replaces_last in changed:
            # Shielded: the save must land even though the turn is being cancelled.
            with suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(self._record(message, replaces_last=replaces_last))
        return partial_text

    async def _keep_failed(self, text: str) -> None:
        """The text a failed request streamed before it broke off stays in the conversation
        (saved, shown on resume), followed by ``FAILED_MARKER``; with nothing said, nothing is
        added (the front end gives the person's message back to edit)."""
        model, provider = self.model.id, self.model.provider
        for message, replaces_last in self.history.keep_partial(text, "", model, provider, FAILED_MARKER, always=False):
            await self._record(message, replaces_last=replaces_last)

    async def _turn(
        self,
        content: list[ContentBlock],
        mode: str | None = None,
        model: ModelInfo | None = None,
        revoke: Callable[[], None] | None = None,
        shell: bool = False,
    ) -> None:
        assert self._queue is not None
        queue = self._queue
        restore_mode = self.policy.mode if mode is not None else None
        if mode is not None:
            self.policy.set_mode(mode)
        restore_model = (self.model, self.effort) if model is not None else None
        if model is not None:
            self.effort = self.effort if self.effort in model.efforts else model.default_effort
            self.model = model
        self.last_turn_interrupted = False
        self._pending_saves = set()
        self._partial_results = []
        self._cut_results = {}
        self._reset_partial()
        turn_id = uuid.uuid4().hex[:12]
        self._blocked_prompt = None
        hooks = self._hook_calls = HookCalls(self.hooks, self._emit, self.tool_state) if self.hooks is not None else None
        try:
            # Dangling calls from an earlier crash or interrupt are answered first.
            repaired = self.history.repair()
            if repaired:
                last = self.history.last
                assert last is not None
                await self._record(last)
            if shell:
                typed = "".join(b.text for b in content if isinstance(b, TextBlock))
                return await run_passthrough(self, shell_line(typed) or typed.lstrip("!"), turn_id)
            typed = "".join(b.text for b in content if isinstance(b, TextBlock))
            content, notices = await turn_input(self, content) if self.expand_mentions else (content, [])
            if hooks is not None:
                with_context = await hooks.prompt(typed, content)
                if with_context is None:  # a UserPromptSubmit hook blocked it: nothing sent or saved
                    self._blocked_prompt = typed
                    return
                content = with_context
            # Saved before anything can fail: whatever happens next, the message is kept.
            text = typed_text(content)
            content = self.jobs.with_lost_note(content)  # a resumed session's jobs that did not survive
            message = await self._add_user(content)
            self._emit(
                ev.TurnStarted(turn_id=turn_id, user_text=text, model=self.model.id, effort=self.effort)
            )
            for notice in notices:
                self._emit(notice)
            if self.checkpoints is not None:
                offset = len(message.content) - len(content)
                started = self.checkpoints.turn_started(
                    prompt=text, message_index=len(self.history) - 1, block_offset=offset
                )
                await self._checkpoint(started)
            await self._loop()
        except asyncio.CancelledError:
            self.last_turn_interrupted = True
            partial = await self._keep_interrupted()
            # After the saves above, so the marker follows what was kept, as on screen.
            self._emit(ev.TurnInterrupted(partial_text=partial))
            raise
        except Exception as exc:  # a bug in the loop: report it, keep the history valid
            self.history.repair()
            self._emit(
                ev.TurnFailed(error=f"internal error: {_short(repr(exc))}", hint="please report this", kind="internal")
            )
        finally:
            if self.checkpoints is not None:
                # Sealed whatever ended the turn; shielded from a cancellation in progress.
                with suppress(Exception, asyncio.CancelledError):
                    await asyncio.shield(self._checkpoint(self.checkpoints.turn_ended()))
            if restore_mode is not None:
                self.policy.set_mode(restore_mode)
            if restore_model is not None:
                self.model, self.effort = restore_model
            if revoke is not None:
                revoke()
            try:
                if self._pending_saves:
                    with suppress(Exception):
                        await asyncio.gather(*self._pending_saves, return_exceptions=True)
            finally:  # even when cancelled right here: the consumer must see the end
                queue.put_nowait(_DONE)

    def context_additions(self, checked: Sequence[ToolContext] = ()) -> tuple[list[ContentBlock], list[ev.Notice]]:
        """What the context hook adds (nested instructions) after a reply's tool results, or after
        what a message's @ mentions attached (``checked``: those reads' checks), with the
        notices to show."""
        if self.context_hook is None:
            return [], []
        try:
            for ctx in checked:
                self.context_hook.after_call(ctx)
            texts, notices = self.context_hook.take(self.history.messages)
        except Exception as exc:  # a hook's bug must not end the turn
            texts, notices = [], [f"nested instructions could not be loaded: {exc!r}"]
        return [TextBlock(text=text) for text in texts], [ev.Notice("info", notice) for notice in notices]

    async def _checkpoint(self, call: Any) -> None:
        for text in await guarded(call):
            self._emit(ev.Notice("warning", text))

    async def _loop(self) -> None:
        last_text = ""
        stop_hook_active = False
        for iteration in range(1, self.max_iterations + 1):
            message = await self._request(iteration)
            if message is None:
                return
            last_text = message.text or last_text
            if message.stop_reason is StopReason.PAUSE_TURN and not message.tool_uses:
                continue
            if not message.tool_uses:
                hooks = self._hook_calls
                again = await hooks.stop(message.text or last_text, stop_hook_active) if hooks else None
                if again is not None:  # a Stop hook keeps the agent going, with its reason
                    stop_hook_active = True
                    await self._add_user([TextBlock(text=again)])
                    continue
                self._emit(
                    ev.TurnFinished(stop_reason=message.stop_reason, text=message.text, iterations=iteration)
                )
                return
            results, rejected = await self.tool_calls.run(message.tool_uses)
            content: list[ContentBlock] = list(results)
            if self._dropped_note:
                content.append(TextBlock(text=self._dropped_note))
            added, notices = self.context_additions()
            content += added
            for notice in notices:
                self._emit(notice)
            if rejected is not None:
                # The person said no: answer every call, and give them the word (their queued
                # messages stay with the front-end, which hands them back).
                await self._add_user(content)
                self._emit(
                    ev.Notice("info", f"you rejected {rejected}; the turn stopped. Say how to go on.")
                )
                self._emit(
                    ev.TurnFinished(
                        stop_reason=message.stop_reason, text=last_text, iterations=iteration, rejected=True
                    )
                )
                return
            if self._hook_calls is not None and self._hook_calls.stopped is not None:  # continue: false
                await self._add_user(content)
                self._emit(ev.Notice("warning", f"a hook stopped the turn: {self._hook_calls.stopped}"))
                self._emit(ev.TurnFinished(stop_reason=message.stop_reason, text=last_text, iterations=iteration))
                return
            for steering in self.take_pending_steering():
                typed: list[ContentBlock] = [TextBlock(text=steering)]
                added, notices = await turn_input(self, typed) if self.expand_mentions else (typed, [])
                content.extend(added)
                self._emit(ev.SteeringDelivered(text=steering))
                for notice in notices:
                    self._emit(notice)
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
                    limited=True,
                )
            )

    # ---- one request, with retries ------------------------------------------------------------

    def _build_request(self, tool_choice: str) -> pb.ProviderRequest:
        from stoa.core.agent.server_compaction import request_messages
        from stoa.core.tools.web import server_tools_for

        max_tokens = self.max_tokens or default_max_tokens(self.model)
        wire, max_tokens = effort_wire_options(self.model, self.effort, max_tokens)
        tools = self.tools.specs(self.policy.mode, self.model) if self.model.supports_tools else []
        return pb.ProviderRequest(
            model=self.model.id,
            system=self.system_prompt(),
            messages=request_messages(self),
            tools=tools,
            max_tokens=max_tokens,
            effort=self.effort,
            wire_options=wire,
            tool_choice=tool_choice if tools else "auto",
            server_tools=server_tools_for(self.model, self.config) if tools else (),
            thinking_off=thinking_off(self.model),
            forced_tool_use=self.model.forced_tool_use,
            cache_key=self.cache_key,
        )

    async def _request(self, iteration: int, tool_choice: str = "auto") -> Message | None:
        from stoa.core.agent.compactor import compacted_after_refusal, fit_request

        attempt = 0
        compacted_for_length = False
        while True:
            attempt += 1
            self._reset_partial()  # a failed attempt's partial reply is discarded (and unshown)
            request = await fit_request(self, self._build_request(tool_choice), tool_choice)
            self._emit(ev.RequestStarted(iteration=iteration, attempt=attempt))
            try:
                provider = self.provider_for(self.model)
                complete = await self._stream_once(provider, request)
            except pb.ProviderError as error:
                # A retried attempt's text is not kept (the screen drops it too: Retrying); the
                # last one's is, marked, as the screen shows it (_keep_failed).
                said = "".join(self._partial_text)
                self._reset_partial()
                if not compacted_for_length and await compacted_after_refusal(self, error):
                    compacted_for_length = True  # the provider counts more than the estimate did
                    continue
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
                message, hint = await explain(error, self.model, self.effort, self.max_tokens, self.catalog)
                await self._keep_failed(said)
                self._emit(ev.TurnFailed(error=message, hint=hint, kind=error.kind))
                return None
            return await self._accept(complete)

    async def _stream_once(self, provider: pb.Provider, request: pb.ProviderRequest) -> pb.MessageComplete:
        complete: pb.MessageComplete | None = None
        async for item in provider.stream(request):
            if isinstance(item, pb.TextDelta):
                self._partial_text.append(item.text)
                self._emit(ev.AssistantTextDelta(item.text))
            elif isinstance(item, pb.ThinkingDelta):
                self._partial_thinking.append(item.text)
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
        cap = MAX_TOOL_CALLS_PER_MESSAGE
        message, dropped = cap_tool_calls(message, cap)
        self._dropped_note = DROPPED_CALLS.format(count=cap + dropped, cap=cap, dropped=dropped) if dropped else ""
        if dropped:
            text = f"the model asked for {cap + dropped:,} tool calls in one reply; the first {cap} run, the other {dropped:,} were dropped (the model is told)"
            self._emit(ev.Notice("warning", text))
        if not message.content:
            message = message.model_copy(update={"content": [TextBlock(text="")]})
        self._reset_partial()  # complete: from here an interrupt answers its tool calls instead
        message = self.history.add_assistant(message)
        await self._record(message)
        self._emit(ev.AssistantMessageCompleted(message))
        self._account(complete.usage)
        await server_compaction.after_reply(self, message, complete)
        if complete.stop_reason is StopReason.REFUSAL:
            self._emit(ev.Notice("warning", "the model declined to continue (refusal)"))
        return message

    def _account(self, usage: Usage) -> None:
        self.ledger.add(self.model.id, usage, self.model)
        self.context.measured(self.context.pending_estimate, usage)
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


def _short(text: str, limit: int = ERROR_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
