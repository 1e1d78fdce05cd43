"""The agent's ``TurnObserver``: saves a conversation to the store as it happens.

``message_added`` persists each provider-facing message the moment the agent has it (the
user's message before the request goes out, each assistant message and tool-result message as
it completes), together with the display records derived from it, in one transaction.
``event`` turns the agent's events into the rest of the display records (tool calls with
their display payload, notices, plans), keeps the session row's counters and turn state
current, and asks for a model-written title after the first exchange.

A write that fails (disk full, a lock held too long) is kept in a backlog and retried, in
order, before the next write; the first failure is raised once so the agent shows it, later
ones stay quiet until writing works again. Nothing the agent holds in memory depends on a
save succeeding.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from stoa.core import events as ev
from stoa.core.agent.history import FAILED_MARKER, INTERRUPTED_MARKER
from stoa.core.agent.loop import MAX_ITERATIONS_NOTE
from stoa.core.cost import UsageLedger
from stoa.core.providers.types import Message
from stoa.core.sessions import records as rec
from stoa.core.sessions.store import SaveError, SessionSeed, SessionStore

# Texts the agent adds for the model; the screen shows them as notices, not as things typed.
_SKIP_TEXTS = frozenset({MAX_ITERATIONS_NOTE, INTERRUPTED_MARKER, FAILED_MARKER})


@dataclass(frozen=True)
class SessionState:
    """What a resumed session must restore, read from the live agent when it changes."""

    model: str
    provider: str
    effort: str
    mode: str
    ledger: UsageLedger


class Titler(Protocol):
    async def __call__(self, prompt: str, reply: str) -> str | None: ...


_Op = Callable[[], Awaitable[Any]]


class SessionRecorder:
    def __init__(
        self,
        store: SessionStore,
        seed: SessionSeed,
        *,
        state: Callable[[], SessionState] | None = None,
        exists: bool = False,
        next_seq: int = 0,
        last_message: Message | None = None,
        titler: Titler | None = None,
        title_source: str | None = None,
        title: str = "",
        on_notice: Callable[[str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.seed = seed
        self.state = state
        self.titler = titler
        self.on_notice = on_notice
        self.title = title
        self.title_source = title_source
        # Whether the session row exists (or a write creating it is queued).
        self.started = exists
        self._seq = next_seq
        self._last_message = last_message
        self._turn_open = False
        self._first_prompt: str | None = None
        self._tools: dict[str, tuple[int, dict[str, Any]]] = {}
        self._backlog: list[_Op] = []
        self._flush_lock = asyncio.Lock()
        self._failing = False
        # The last storage failure, kept to say why writes are still waiting.
        self.last_error: SaveError | None = None
        # Whether the session row is on disk (something was written, or it was resumed).
        self.saved_any = exists
        self._title_task: asyncio.Task[None] | None = None
        self._title_tried = title_source in ("model", "fork")  # a fork keeps its "(fork)" title
        self.messages_saved = 0

    @property
    def session_id(self) -> str:
        return self.seed.id

    @property
    def pending_writes(self) -> int:
        """Writes waiting for the database (after a disk-full error, say)."""
        return len(self._backlog)

    @property
    def turn_open(self) -> bool:
        return self._turn_open

    @property
    def last_seq(self) -> int:
        """The seq of the last display record handed out (a turn's prompt, at its start)."""
        return self._seq

    def rewound(self, last_message: Message | None) -> None:
        """The conversation was cut back (``/rewind``): it now ends with ``last_message``."""
        self._last_message = last_message
        self._tools.clear()
        self._turn_open = False

    async def history_compacted(
        self,
        history: list[Message],
        archived: list[Message],
        *,
        trigger: str,
        summary: str,
        tokens_before: int,
        tokens_after: int,
        detail: dict[str, Any],
    ) -> int | None:
        """The live history was compacted: save it in place of the old one, archive what it
        replaced, and add the ``compaction`` display record (the fold of a resumed session).
        Returns the archive's id, or None while the database cannot be written (the write
        waits in the backlog; ``SaveError`` is raised the first time, as for any write)."""
        from stoa.core.sessions.archive import save_compaction

        self._last_message = history[-1] if history else None
        self._tools.clear()
        seq = self._next_seq()
        seed = self.seed
        saved: list[int] = []
        record = {
            "trigger": trigger,
            "summary": summary,
            "tokens_before": tokens_before,
            "tokens_after": tokens_after,
            "archived": len(archived),
            **detail,
        }

        async def op() -> None:
            await self.store.create_session(seed)
            if not saved:  # retried after a failure: the archive may already be written
                saved.append(
                    await save_compaction(
                        self.store,
                        seed.id,
                        history=history,
                        archived=archived,
                        trigger=trigger,
                        summary=summary,
                        tokens_before=tokens_before,
                        tokens_after=tokens_after,
                        record_seq=seq,
                        detail=detail,
                    )
                )
            await self.store.add_record(seed, seq, rec.COMPACTION, {**record, "archive_id": saved[0]})

        self.started = True
        await self._submit(op)
        return saved[0] if saved else None

    def remember_first_prompt(self, text: str) -> None:
        """A resumed session's first prompt (a model title may still be owed to it)."""
        self._first_prompt = text

    # ---- TurnObserver -------------------------------------------------------------------------

    async def message_added(self, message: Message, *, replaces_last: bool) -> None:
        previous = self._last_message
        self._last_message = message
        # The agent never appends a user message after another one (it merges), so a fresh one
        # after a saved unanswered message means the front-end took that one back to edit it
        # (the TUI after a failed first request): the new one takes its place in the history.
        # Its display record stays: the person saw it sent, and the error after it.
        withdrawn = (
            message.role == "user" and not replaces_last and previous is not None and previous.role == "user"
        )
        records: list[tuple[int, str, dict[str, Any]]] = []
        preview: str | None = None
        title: str | None = None
        if message.role == "user":
            merged = replaces_last and previous is not None and previous.role == "user"
            if merged:
                assert previous is not None
                new_content = list(message.content[len(previous.content) :])
                typed = rec.user_records(new_content, steering=False, skip_texts=_SKIP_TEXTS)
            else:
                steering = rec.has_tool_results(message.content)
                typed = rec.user_records(message.content, steering=steering, skip_texts=_SKIP_TEXTS)
            is_prompt = bool(typed) and not typed[0][1]["steering"]
            if is_prompt and self._turn_open:
                # The previous turn never finished (cancelled without a word to us); its
                # marker must come before this prompt, and this save must be queued anyway.
                with contextlib.suppress(SaveError):
                    await self.mark_interrupted()
            for kind, data in typed:
                records.append((self._next_seq(), kind, data))
            if is_prompt and self._first_prompt is None:
                self._first_prompt = typed[0][1]["text"]
                title = rec.first_line(self._first_prompt, 80) or "(image)"
                if not self.title:
                    self.title = title
        else:
            for kind, data in rec.assistant_records(message):
                records.append((self._next_seq(), kind, data))
            if message.text.strip():
                preview = rec.first_line(message.text, 200)
        self.started = True
        self.messages_saved += 1
        seed = self.seed

        async def op() -> None:
            await self.store.save_message(
                seed,
                message,
                replaces_last=replaces_last or withdrawn,
                records=records,
                preview=preview,
                title=title,
            )

        await self._submit(op)

    async def event(self, event: ev.Event) -> None:
        if isinstance(event, ev.AssistantTextDelta | ev.ThinkingDelta | ev.ToolCallOutput):
            return  # streamed pieces: the finished message is what gets saved
        if not self.started:
            return  # nothing saved yet (an empty prompt refused before any message)
        if isinstance(event, ev.TurnStarted):
            self._turn_open = True
            await self._update(turn_open=True, interrupted=False, last_turn_at=self.store.clock(), **self._state_fields())
        elif isinstance(event, ev.TurnFinished):
            self._turn_open = False
            await self._update(turn_open=False, interrupted=False, touch=True)
            self._maybe_title(event.text)
        elif isinstance(event, ev.TurnFailed):
            self._turn_open = False
            title = rec.failure_title(event.kind)
            await self._add(rec.NOTICE, rec.notice("error", event.error, title=title, hint=event.hint))
            await self._update(turn_open=False, interrupted=False, touch=True)
        elif isinstance(event, ev.TurnInterrupted):
            await self.mark_interrupted(event.reason)
        elif isinstance(event, ev.ToolCallStarted):
            seq = self._next_seq()
            data = rec.tool_started(event)
            self._tools[event.call_id] = (seq, data)
            await self._add(rec.TOOL, data, seq=seq)
        elif isinstance(event, ev.ToolCallFinished):
            known = self._tools.pop(event.call_id, None)
            if known is None:
                await self._add(rec.TOOL, rec.tool_finished(None, event))
            else:
                seq, started = known
                data = rec.tool_finished(started, event)
                session_id = self.seed.id

                async def op() -> None:
                    await self.store.update_record(session_id, seq, data)

                await self._submit(op)
        elif isinstance(event, ev.Notice):
            await self._add(rec.NOTICE, rec.notice(event.level, event.text))
        elif isinstance(event, ev.PlanUpdated):
            await self._add(rec.PLAN, rec.plan(event))
        elif isinstance(event, ev.ServerToolUsed):
            await self._add(rec.SERVER_TOOL, {"name": event.name, "summary": event.summary})
        elif isinstance(event, ev.UsageUpdated):
            await self._update(**self._usage_fields(event))

    # ---- calls from the front-end -------------------------------------------------------------

    async def mark_interrupted(self, reason: str = "interrupted by the user") -> None:
        """The turn was stopped (Esc, quit mid-turn): record it for the replay and away summary."""
        if not self._turn_open:
            return
        self._turn_open = False
        for call_id, (seq, data) in list(self._tools.items()):
            if data.get("status") == "running":
                # Kept in the table: the agent's own "interrupted" result for the call may still
                # come, and must update this record rather than add a second one.
                data = {**data, "status": "interrupted"}
                self._tools[call_id] = (seq, data)
                await self._submit(self._record_update(seq, data))
        await self._add(rec.NOTICE, rec.interrupted_notice(reason))
        await self._update(turn_open=False, interrupted=True, touch=True)

    async def sync_state(self) -> None:
        """Save model, effort, mode and costs now (after /model, a mode switch, or on quit)."""
        if not self.started or self.state is None:
            return
        state = self.state()
        await self._update(**self._state_fields(), **_ledger_fields(state.ledger))

    async def flush(self) -> bool:
        """Retry queued writes. Returns True when nothing is left unsaved."""
        with contextlib.suppress(SaveError):
            await self._flush(raise_errors=False)
        return not self._backlog

    async def aclose(self, *, title_timeout: float = 3.0) -> None:
        """Finish: wait briefly for a title being written, close an open turn, save state."""
        if self._title_task is not None and not self._title_task.done():
            done, _ = await asyncio.wait({self._title_task}, timeout=title_timeout)
            if not done:
                self._title_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._title_task
        with contextlib.suppress(SaveError):
            if self._turn_open:
                await self.mark_interrupted("Stoa was closed during the turn")
            await self.sync_state()
        await self.flush()

    # ---- internals ----------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _state_fields(self) -> dict[str, Any]:
        if self.state is None:
            return {}
        state = self.state()
        return {"model": state.model, "provider": state.provider, "effort": state.effort, "mode": state.mode}

    def _usage_fields(self, event: ev.UsageUpdated) -> dict[str, Any]:
        if self.state is not None:
            return _ledger_fields(self.state().ledger)
        total = event.total
        return {
            "input_tokens": total.input_tokens,
            "output_tokens": total.output_tokens,
            "cache_read_tokens": total.cache_read_tokens,
            "cache_write_tokens": total.cache_write_tokens,
            "reasoning_tokens": total.reasoning_tokens,
            "cost_usd": event.cost_usd,
        }

    async def _add(self, kind: str, data: dict[str, Any], *, seq: int | None = None) -> None:
        seq = self._next_seq() if seq is None else seq
        seed = self.seed

        async def op() -> None:
            await self.store.add_record(seed, seq, kind, data)

        await self._submit(op)

    def _record_update(self, seq: int, data: dict[str, Any]) -> _Op:
        session_id = self.seed.id

        async def op() -> None:
            await self.store.update_record(session_id, seq, data)

        return op

    async def _update(self, *, touch: bool = False, **fields: Any) -> None:
        session_id = self.seed.id

        async def op() -> None:
            await self.store.update_session(session_id, touch=touch, **fields)

        await self._submit(op)

    async def _submit(self, op: _Op) -> None:
        self._backlog.append(op)
        await self._flush(raise_errors=True)

    async def _flush(self, *, raise_errors: bool) -> None:
        async with self._flush_lock:
            while self._backlog:
                try:
                    await self._backlog[0]()
                except SaveError as exc:
                    self.last_error = exc
                    if self._failing or not raise_errors:
                        return  # already reported; keep the backlog for the next write
                    self._failing = True
                    raise
                except Exception as exc:
                    # Not a storage condition (a bug): drop this write so later ones still land.
                    self._backlog.pop(0)
                    raise SaveError(f"could not save part of the session: {exc!r}") from exc
                self._backlog.pop(0)
                self.saved_any = True
            if self._failing:
                self._failing = False
                if self.on_notice is not None:
                    self.on_notice("info", "saving the session works again; nothing was lost")

    async def rename(self, title: str) -> None:
        """``/rename``: the person's title, kept over any written by the model. Raises
        ``SaveError`` when it could not be saved (it still shows in this process)."""
        self.title = title
        self.title_source = "user"
        self._title_tried = True
        if self._title_task is not None and not self._title_task.done():
            self._title_task.cancel()
        if not self.started:  # the row is written with the first message
            self.seed = replace(self.seed, title=title)
            return
        await self._update(title=title, title_source="user", touch=True)

    def _maybe_title(self, reply: str) -> None:
        if self._title_tried or self.titler is None or not self._first_prompt:
            return
        self._title_tried = True
        prompt = self._first_prompt
        titler = self.titler

        async def make() -> None:
            try:
                title = await titler(prompt, reply)
            except Exception:
                return  # the first-line title stays
            if title:
                self.title = title
                self.title_source = "model"
                with contextlib.suppress(SaveError):
                    await self._update(title=title, title_source="model")
                    await self.sync_state()  # the title call's usage is in the ledger

        self._title_task = asyncio.create_task(make(), name="stoa-session-title")


def _ledger_fields(ledger: UsageLedger) -> dict[str, Any]:
    total = ledger.total
    return {
        "input_tokens": total.input_tokens,
        "output_tokens": total.output_tokens,
        "cache_read_tokens": total.cache_read_tokens,
        "cache_write_tokens": total.cache_write_tokens,
        "reasoning_tokens": total.reasoning_tokens,
        "peak_prompt_tokens": ledger.peak_prompt_tokens,
        "cost_usd": ledger.cost_usd,
        "ledger": ledger.to_dict(),
    }
