"""What a turn's events do to the chat screen: streamed text and thinking into the log, tool
rows, the plan, usage, notices, retries, compaction, steering, the turn's end, and permission
prompts. ``ChatScreen`` (``stoa.app.screens.chat``) takes these methods; its ``_paced`` hands
each event here in order (``_dispatch``: one handler per event type, checked by mypy).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any, assert_never, cast

from textual import work
from textual.screen import Screen
from textual.worker import Worker

from stoa.app.notify import notify_if_away
from stoa.app.pacing import StreamRun
from stoa.core import events as ev
from stoa.widgets.messages import ThinkingMessage
from stoa.widgets.records import AssistantRecord, NoticeRecord, Record, ThinkingRecord, ToolRecord, UserRecord
from stoa.widgets.subagent_lines import show_subagent_event
from stoa.widgets.tool_call import ToolCallView

if TYPE_CHECKING:
    from stoa.app.screens.chat import ChatScreen
    from stoa.core.agent.turns import TurnController
    from stoa.core.permissions.approver import PermissionDecision
    from stoa.widgets.assistant import AssistantMessage
    from stoa.widgets.chat_log import ChatLog
    from stoa.widgets.composer import Composer
    from stoa.widgets.plan_panel import PlanPanel
    from stoa.widgets.status_bar import StatusBar


class ChatEvents(Screen[None]):
    """The event handlers of ``ChatScreen`` (what they use of it is listed here; the screen
    makes it all in its ``__init__``)."""

    log_view: ChatLog
    composer: Composer
    plan_panel: PlanPanel
    status_bar: StatusBar
    turns: TurnController
    clock: Callable[[], float]
    tools_expanded: bool
    permission_grace: float | None
    _assistant: AssistantMessage | None
    _assistant_record: AssistantRecord | None
    _thinking: ThinkingRecord | None
    _attempt: list[Record]
    _retry_notice: NoticeRecord | None
    _compacting: NoticeRecord | None
    _tools: dict[str, ToolRecord]
    _permission_worker: Worker[None] | None
    _permission_screen: Screen[Any] | None
    _plan_hidden_by_user: bool
    request_went: asyncio.Event

    def _queue_changed(self) -> None:
        raise NotImplementedError  # the chat screen's

    # ---- events --------------------------------------------------------------------------------

    async def _stream_run(self, run: StreamRun) -> None:
        if run.kind == "text":
            await self._fold_thinking()
            if self._assistant is None:
                record = AssistantRecord()
                self._assistant_record = record
                self._attempt.append(record)
                self._assistant = await self.log_view.add(record)  # type: ignore[assignment]
            assert self._assistant is not None
            await self._assistant.add_text(run.text)
        elif run.kind == "thinking":
            if self._thinking is None:
                self._thinking = ThinkingRecord()
                self._attempt.append(self._thinking)
                await self.log_view.add(self._thinking)
            self._append_thinking(run.text)
        elif run.kind == "output" and run.call_id is not None:
            # Shell output events are lines: keep their boundaries.
            parts = run.parts
            tool = self._tools.get(run.call_id)
            if tool is None:
                return
            view = self.log_view.widget_of(tool)
            if isinstance(view, ToolCallView):
                view.add_output(parts)
            else:
                for part in parts:
                    tool.output.extend(part.removesuffix("\n").split("\n"))

    def _append_thinking(self, text: str) -> None:
        if self._thinking is None:
            return
        widget = self.log_view.widget_of(self._thinking)
        if isinstance(widget, ThinkingMessage):
            widget.append(text)
        else:
            self._thinking.text += text

    async def _fold_thinking(self) -> None:
        if self._thinking is not None:
            widget = self.log_view.widget_of(self._thinking)
            if isinstance(widget, ThinkingMessage):
                widget.finish()
            else:
                self._thinking.done = True
                self._thinking.expanded = False
            self._thinking = None

    async def _finish_streams(self, final_text: str | None = None) -> None:
        await self._fold_thinking()
        if self._assistant is not None:
            await self._assistant.finish(final_text)
        elif self._assistant_record is not None:
            self._assistant_record.done = True
        self._assistant = None
        self._assistant_record = None

    async def _dispatch(self, event: ev.Event) -> None:
        """One handler per event type, checked by mypy: a renamed event or handler is an error,
        and a new event type fails ``assert_never`` until it is handled or listed as ignored."""
        match event:
            case ev.RequestStarted():
                await self._on_request_started(event)
            case ev.AssistantMessageCompleted():
                await self._on_assistant_message_completed(event)
            case ev.ToolCallStarted():
                await self._on_tool_call_started(event)
            case ev.ToolCallFinished():
                await self._on_tool_call_finished(event)
            case ev.ServerToolUsed():
                await self._on_server_tool_used(event)
            case ev.PermissionRequested():
                notify_if_away(self.app, "Stoa needs you", f"approve {event.request.tool_name}?")
                await self._on_permission_requested(event)
            case ev.PlanUpdated():
                await self._on_plan_updated(event)
            case ev.UsageUpdated():
                await self._on_usage_updated(event)
            case ev.Notice():
                await self._on_notice(event)
            case ev.Retrying():
                await self._on_retrying(event)
            case ev.SteeringDelivered():
                await self._on_steering_delivered(event)
            case ev.TurnFinished():
                await self._on_turn_finished(event)
            case ev.TurnFailed():
                await self._on_turn_failed(event)
            case ev.TurnInterrupted():
                await self._on_turn_interrupted(event)
            case ev.CompactionStarted():
                await self._on_compaction_started(event)
            case ev.ContextCompacted():
                await self._on_context_compacted(event)
            case ev.SubagentEvent():
                await show_subagent_event(self.log_view, self._tools.get(event.call_id), event)
            case ev.TurnStarted():
                pass  # the screen already shows the user's message
            case ev.AssistantTextDelta() | ev.ThinkingDelta() | ev.ToolCallOutput():
                pass  # streamed: these arrive merged, as StreamRun items (stoa.app.pacing)
            case _:
                assert_never(event)

    async def _on_compaction_started(self, event: ev.CompactionStarted) -> None:
        await self._finish_streams()
        self._compacting = NoticeRecord("info", f"compacting the conversation ({event.tokens:,} tokens)…")
        await self.log_view.add(self._compacting)

    async def _on_context_compacted(self, event: ev.ContextCompacted) -> None:
        from stoa.app.replay import compaction_record

        await self._drop_compacting()
        await self.log_view.add(compaction_record(event))

    async def _drop_compacting(self) -> None:  # done, or failed (a notice)
        if self._compacting is not None:
            await self.log_view.remove_record(self._compacting)
            self._compacting = None

    async def _on_request_started(self, event: ev.RequestStarted) -> None:
        self.request_went.set()
        await self._drop_compacting()
        await self._finish_streams()
        self._attempt = []

    async def _on_assistant_message_completed(self, event: ev.AssistantMessageCompleted) -> None:
        text = event.message.text
        await self._finish_streams(text if self._assistant is not None else None)
        if self._retry_notice is not None:
            await self.log_view.remove_record(self._retry_notice)
            self._retry_notice = None

    async def _on_tool_call_started(self, event: ev.ToolCallStarted) -> None:
        await self._finish_streams()
        record = ToolRecord(
            call_id=event.call_id,
            name=event.name,
            arguments=dict(event.arguments),
            summary=event.summary,
            server=event.server,
            started_at=self.clock(),
            expanded=self.tools_expanded,
        )
        self._tools[event.call_id] = record
        await self.log_view.add(record)

    async def _on_tool_call_finished(self, event: ev.ToolCallFinished) -> None:
        record = self._tools.get(event.call_id)
        if record is None:
            record = ToolRecord(call_id=event.call_id, name=event.name, started_at=self.clock())
            self._tools[event.call_id] = record
            await self.log_view.add(record)
        status = event.status or ("error" if event.is_error else "ok")
        elapsed = max(0.0, self.clock() - record.started_at)
        view = self.log_view.widget_of(record)
        expand = True if self.tools_expanded else None
        if isinstance(view, ToolCallView):
            await view.finish(
                status=status, result_text=event.result_text, display=event.display, elapsed=elapsed, expand=expand
            )
        else:
            record.status = status  # type: ignore[assignment]
            record.result_text = event.result_text
            record.display = event.display
            record.elapsed = elapsed
            record.expanded = record.is_error if expand is None else expand

    async def _on_server_tool_used(self, event: ev.ServerToolUsed) -> None:
        await self._finish_streams()
        await self.log_view.add(
            ToolRecord(call_id="", name=event.name, summary=event.summary, status="ok", elapsed=None)
        )

    async def _on_permission_requested(self, event: ev.PermissionRequested) -> None:
        await self._finish_streams()
        self._mark_awaiting(event.request.call_id, True)
        self._permission_worker = self._ask_permission(event)

    def _mark_awaiting(self, call_id: str, waiting: bool) -> None:
        record = self._tools.get(call_id)
        if record is None:
            return
        if not waiting:  # answered: the row times the run from here, not the wait for the person
            record.started_at = self.clock()
        view = self.log_view.widget_of(record)
        if isinstance(view, ToolCallView):
            view.set_awaiting_approval(waiting)
        else:
            record.awaiting_approval = waiting

    async def _on_plan_updated(self, event: ev.PlanUpdated) -> None:
        self.plan_panel.update_plan(event.steps, event.explanation)
        if not self._plan_hidden_by_user:
            self.plan_panel.show(True)

    async def _on_usage_updated(self, event: ev.UsageUpdated) -> None:
        total = event.total
        self.status_bar.set_info(
            input_tokens=total.input_tokens + total.cache_write_tokens,
            output_tokens=total.output_tokens,
            cache_read_tokens=total.cache_read_tokens,
            cost_usd=event.cost_usd,
            context_tokens=event.context_tokens,
            context_window=event.context_window,
        )

    async def _on_notice(self, event: ev.Notice) -> None:
        await self._drop_compacting()
        await self.log_view.add(NoticeRecord(event.level, event.text))

    async def _on_retrying(self, event: ev.Retrying) -> None:
        # The partial reply of the failed attempt is discarded; the next attempt streams anew.
        self._assistant = None
        self._assistant_record = None
        self._thinking = None
        for record in self._attempt:
            await self.log_view.remove_record(record)
        self._attempt = []
        if self._retry_notice is not None:
            await self.log_view.remove_record(self._retry_notice)
        self._retry_notice = NoticeRecord(
            "warning",
            f"{event.reason}; retrying in {event.delay:.0f}s (attempt {event.attempt + 1} of {event.max_attempts})",
        )
        await self.log_view.add(self._retry_notice)

    async def _on_steering_delivered(self, event: ev.SteeringDelivered) -> None:
        self.turns.delivered(event.text)
        self._queue_changed()
        await self._finish_streams()
        await self.log_view.add(UserRecord(event.text, steering=True))

    async def _on_turn_finished(self, event: ev.TurnFinished) -> None:
        await self._finish_streams()

    async def _on_turn_failed(self, event: ev.TurnFailed) -> None:
        await self._finish_streams()
        restored = self._restore_failed_input()
        hint = event.hint
        if restored:
            hint = (hint + "; " if hint else "") + "your message is back in the editor"
        from stoa.core.sessions.records import failure_title

        await self.log_view.add(NoticeRecord("error", event.error, hint=hint, title=failure_title(event.kind)))
        from stoa.app.model_actions import after_turn_failed

        after_turn_failed(cast("ChatScreen", self), event)  # a rejected key opens /key; a model without tools drops them

    async def _on_turn_interrupted(self, event: ev.TurnInterrupted) -> None:
        await self._finish_streams()
        for record in self._tools.values():
            if record.status == "running":
                view = self.log_view.widget_of(record)
                elapsed = max(0.0, self.clock() - record.started_at)
                if isinstance(view, ToolCallView):
                    await view.finish(
                        status="interrupted", result_text="interrupted", display=None, elapsed=elapsed, expand=False
                    )
                else:
                    record.status = "interrupted"
                    record.elapsed = elapsed
        from stoa.core.sessions.records import interrupted_notice

        notice = interrupted_notice(event.reason)  # the same words the session keeps
        await self.log_view.add(NoticeRecord("warning", notice["text"], title=notice["title"]))

    def _restore_failed_input(self) -> bool:
        """A first request that failed: take the message back from the history into the editor.

        Only when nothing of this turn reached the model's reply (otherwise the message is part of
        a conversation the provider accepted and stays there).
        """
        display = self.turns.take_back_failed_input()
        if display is None:
            return False
        if not self.composer.text.strip():
            self.composer.set_text(display)
        return True

    # ---- permission prompts --------------------------------------------------------------------

    @work(group="permission", exclusive=False, exit_on_error=False, description="permission prompt")
    async def _ask_permission(self, event: ev.PermissionRequested) -> None:
        future = event.future
        decision: PermissionDecision | None = None
        try:
            screen = _permission_screen(event.request, grace=self.permission_grace, type_ahead=self.composer)
            if screen is None:
                from stoa.core.permissions.approver import PermissionDecision

                decision = PermissionDecision(
                    "reject",
                    feedback="Not run: this build has no permission prompt to ask the user with.",
                    by_policy=True,
                )
            else:
                self._permission_screen = screen
                decision = await self.app.push_screen_wait(screen)
        finally:
            self._permission_screen = None
            self._mark_awaiting(event.request.call_id, False)
        if decision is not None and not future.done():
            with suppress(asyncio.InvalidStateError):
                future.set_result(decision)

    def _close_permission_prompt(self) -> None:
        screen = self._permission_screen
        if self._permission_worker is not None:
            self._permission_worker.cancel()
            self._permission_worker = None
        if screen is not None and screen.is_current:
            self.app.pop_screen()
        self._permission_screen = None


def _permission_screen(request: Any, *, grace: float | None, type_ahead: Any) -> Screen[PermissionDecision] | None:
    try:
        from stoa.app.screens.permission import GRACE_SECONDS, PermissionScreen
    except ImportError:
        return None
    # Keys typed through the prompt go on into the composer (they belong to the message).
    return PermissionScreen(request, grace=GRACE_SECONDS if grace is None else grace, type_ahead=type_ahead)
