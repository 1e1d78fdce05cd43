"""Wiring a session into a runtime: start a new one, or resume a saved one exactly.

``open_session(runtime, resume, continue_latest)`` is what both front-ends call after
``build_runtime``. It opens the store (kept as ``runtime.store``), then either
starts a fresh session (nothing is written until the first message) or loads a saved one:
the history goes through ``repair_messages`` (a crash can leave dangling tool calls), the
model, effort, trust mode and cost ledger are restored unless the command line chose
otherwise, and the display records come back for the chat log with an ``AwaySummary``.
Either way the session's ``SessionRecorder`` becomes the agent's observer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stoa.core.agent.history import History, repair_messages
from stoa.core.cost import UsageLedger, format_quit_summary
from stoa.core.models import (
    ModelInfo,
    UnknownModelError,
    UnsupportedEffortError,
    validate_effort,
)
from stoa.core.sessions import records as rec
from stoa.core.sessions.lock import SessionLock, SessionLockedError
from stoa.core.sessions.recorder import SessionRecorder, SessionState
from stoa.core.sessions.store import (
    DisplayRecord,
    SaveError,
    SessionInfo,
    SessionNotFoundError,
    SessionSeed,
    SessionStore,
    SessionStoreError,
    validate_session_id,
)
from stoa.core.sessions.summary import AwaySummary, away_summary
from stoa.core.sessions.titles import make_titler

if TYPE_CHECKING:
    from stoa.core.runtime import Runtime

# How many display records a resume reads for the replay (the chat log mounts fewer at first).
REPLAY_TAIL = 300



@dataclass
class SessionHandle:
    """The session a runtime is writing to, and what a front-end needs to show it.

    ``records`` and ``away`` are set when a saved session was resumed (replay them into the chat
    log; show the away summary). ``records`` are the last ``REPLAY_TAIL`` display records (and the
    last plan record, if older); earlier ones stay in the store until asked for
    (``records_before``, ``all_records``), so a long session does not hold what nobody looks at. ``read_only`` is set when the session's model belongs to a
    provider without a key: show ``read_only_reason`` and do not send until the person sets a
    key or switches model. ``notices`` are things to tell the person once (a database moved
    aside, a model no longer known).
    """

    store: SessionStore
    recorder: SessionRecorder
    info: SessionInfo | None = None
    resumed: bool = False
    records: list[DisplayRecord] = field(default_factory=list)
    away: AwaySummary | None = None
    read_only: bool = False
    read_only_reason: str | None = None
    notices: list[str] = field(default_factory=list)
    # This process's hold on the session (one writer per session); released by ``close``.
    lock: SessionLock | None = None
    # The seq of the first of ``records`` that was replayed (0: none were left out before it).
    replay_from: int = 0

    @property
    def session_id(self) -> str:
        return self.recorder.session_id

    async def records_before(self, seq: int, last: int | None = None) -> list[DisplayRecord]:
        """The saved display records before ``seq`` (the last ``last`` of them), settled as a
        resume shows them (a call still "running" was interrupted)."""
        found = await self.store.load_records(self.session_id, before_seq=seq, last=last)
        return [_settled(r) for r in found]

    async def all_records(self) -> list[DisplayRecord]:
        """Every saved display record of the session, settled (a replay that shows all, ACP)."""
        return [_settled(r) for r in await self.store.load_records(self.session_id)]

    @property
    def title(self) -> str:
        return self.recorder.title

    async def close(self) -> None:
        """Save the final state (mode, model, costs), close an open turn.

        Raises ``SaveError`` when some of the session could not be saved (a full disk, a
        database out of reach), saying why; the caller tells the person (headless exits 1)."""
        recorder = self.recorder
        try:
            await recorder.aclose()
        finally:
            if self.lock is not None:
                self.lock.release()
        if recorder.pending_writes:
            reason = recorder.last_error or self.store.unavailable or "the database did not answer"
            count = recorder.pending_writes
            raise SaveError(f"{count} change{'s' if count != 1 else ''} to this session could not be written: {reason}")

    def quit_summary(self, ledger: UsageLedger) -> str:
        """The lines to print after the app exits (tokens, cache hit rate, estimated cost)."""
        saved = self.recorder.saved_any  # never offer to resume a session that is not on disk
        return format_quit_summary(
            ledger, session_id=self.session_id if saved else None, title=self.title or None
        )


class NoSessionToContinueError(SessionStoreError):
    pass


async def open_store(runtime: Runtime, *, clock: Callable[[], float] = time.time) -> SessionStore:
    """The runtime's store, opened once at ``config.paths.database`` and kept on it."""
    if runtime.store is not None:
        return runtime.store
    # Detached when the database is out of reach: the conversation goes on in memory, with a
    # notice saying why and what to do, and is saved once the database works again.
    store = await SessionStore.open(runtime.config.paths.database, clock=clock, detached_ok=True)
    runtime.store = store
    return store


async def open_session(
    runtime: Runtime,
    resume: str | None = None,
    continue_latest: bool = False,
    *,
    clock: Callable[[], float] = time.time,
    titles: bool = True,
) -> SessionHandle:
    """Start or resume the runtime's session and attach its recorder to the agent.

    ``resume`` is an id or id prefix; ``continue_latest`` takes the most recent session of this
    project. Raises ``InvalidSessionIdError``, ``SessionNotFoundError``,
    ``AmbiguousSessionError`` (lists candidates), ``NoSessionToContinueError``,
    ``SchemaTooNewError`` or ``DatabaseUnusableError``; each message says what to do.
    """
    store = await open_store(runtime, clock=clock)
    info: SessionInfo | None = None
    if resume:
        info = await store.resolve(resume)
    elif continue_latest or resume == "":
        info = await store.latest(runtime.config.workspace)
        if info is None:
            raise NoSessionToContinueError(
                f"no saved session for {runtime.config.workspace} yet; start one with `stoa`, or "
                "pick a session of another project with `stoa -r`"
            )
    if info is None:
        handle = new_session(runtime, store, titles=titles, reset=False)
    else:
        handle = await resume_session(runtime, store, info, clock=clock, titles=titles)
    handle.notices[:0] = store.notices
    store.notices = []
    return handle


def new_session(
    runtime: Runtime, store: SessionStore, *, titles: bool = True, reset: bool = True
) -> SessionHandle:
    """A fresh session id (start-up, or ``/clear`` with ``reset``: empty history and ledger).

    Nothing is written until the first message, so opening and quitting leaves no empty
    session. Without ``reset`` a history the runtime was built with (tests, embedding) stays
    in the agent; it is not saved, only what follows it.
    """
    agent = runtime.agent
    if reset:
        agent.history = History()
        agent.ledger = UsageLedger()
        agent.last_turn_interrupted = False
    seed = SessionSeed(
        id=str(uuid.uuid4()),
        project=str(runtime.config.workspace),
        model=agent.model.id,
        provider=agent.model.provider,
        mode=runtime.policy.mode,
        effort=agent.effort,
    )
    recorder = _recorder(runtime, store, seed, titles=titles, last_message=agent.history.last)
    handle = SessionHandle(store=store, recorder=recorder, lock=_lock_new(store, seed.id))
    _attach(runtime, handle)
    return handle


def _lock_new(store: SessionStore, session_id: str) -> SessionLock | None:
    try:
        return SessionLock.acquire(store.path.parent, session_id)
    except SessionLockedError:  # a fresh random id: nobody else can hold it
        return None


async def resume_session(
    runtime: Runtime,
    store: SessionStore,
    info: SessionInfo,
    *,
    clock: Callable[[], float] = time.time,
    titles: bool = True,
    lock: SessionLock | None = None,
) -> SessionHandle:
    """Load ``info``'s session into the runtime's agent (also used by the TUI's picker).

    Takes the session's lock first (unless ``lock`` is already held): raises
    ``SessionLockedError``, naming the holder, when another process is writing the session."""
    if lock is None:
        lock = SessionLock.acquire(store.path.parent, info.id)
    try:
        handle = await _resume_locked(runtime, store, info, clock=clock, titles=titles)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    handle.lock = lock
    return handle


async def fork_session(
    runtime: Runtime,
    store: SessionStore,
    info: SessionInfo,
    *,
    clock: Callable[[], float] = time.time,
    titles: bool = True,
) -> SessionHandle:
    """Copy ``info``'s session into a new one (its history and display records) and resume the
    copy; the original is only read, so another process may go on writing it."""
    title = f"{info.title or 'untitled'} (fork)"
    copy = await store.copy_session(info.id, str(uuid.uuid4()), title=title)
    handle = await resume_session(runtime, store, copy, clock=clock, titles=titles)
    handle.notices.insert(0, f"This is a fork of session {info.short_id}: a copy of its history; the original is unchanged.")
    return handle


async def _resume_locked(
    runtime: Runtime,
    store: SessionStore,
    info: SessionInfo,
    *,
    clock: Callable[[], float],
    titles: bool,
) -> SessionHandle:
    agent = runtime.agent
    notices: list[str] = []
    saved = await store.load_messages(info.id)
    history = repair_messages(saved)
    if history != saved:
        # Keep "what is saved" equal to "what the agent holds", so later in-place updates of
        # the last message touch the right row.
        try:
            await store.replace_messages(info.id, history)
        except SaveError as exc:  # a full disk: resume anyway; the next resume repairs again
            notices.append(f"the repaired history of this session could not be saved: {exc}")
    agent.history = History(history)
    lost = agent.jobs.note_history(history)
    if lost:
        notices.append(
            f"background job{'s' if len(lost) > 1 else ''} {', '.join(lost)} ended when Stoa last exited; "
            "the model is told with your next message"
        )
    # Build/test runners without a sandbox ask after the agent's changes, earlier ones included.
    runtime.policy.changes.note_history(history, env=runtime.config.env)
    agent.ledger = UsageLedger.from_dict(info.ledger) if info.ledger else _ledger_from_counters(info)
    agent.last_turn_interrupted = info.last_turn_interrupted
    notices += _restore_model(runtime, info)
    if runtime.choices.mode is None and info.mode in ("plan", "ask", "auto"):
        runtime.policy.set_mode(info.mode)

    # The tail is what a replay shows first; the rest is read when scrolled to.
    records = await store.load_records(info.id, last=REPLAY_TAIL)
    crashed = info.turn_open
    if crashed:
        # The process died mid-turn: close the turn and leave a marker where it stopped for
        # later replays. This time the away summary's banner says it, so the marker is not
        # returned (the chat log would show the same warning twice).
        await _close_crashed_turn(store, info, records)
    prompts, tool_calls = await store.record_counts(info.id)
    away = away_summary(info, prompts=prompts, tool_calls=tool_calls, crashed=crashed, now=clock())
    records = [_settled(r) for r in records]
    next_seq = max((r.seq for r in records), default=0) + (1 if crashed else 0)
    replay_from = records[0].seq if records and await store.load_records(info.id, before_seq=records[0].seq, last=1) else 0
    if not any(r.kind == rec.PLAN for r in records):
        plan = await store.edge_record(info.id, rec.PLAN, last=True)
        if plan is not None:  # not shown in the log; the plan panel shows the latest
            records.insert(0, plan)

    seed = SessionSeed(
        id=info.id,
        project=info.project,
        model=info.model,
        provider=info.provider,
        mode=info.mode,
        effort=info.effort,
        title=info.title,
    )
    first = await store.edge_record(info.id, rec.USER, last=False) if replay_from else None
    first_prompt = next((r.data.get("text", "") for r in [*([first] if first else []), *records] if r.kind == rec.USER), None)
    recorder = _recorder(
        runtime,
        store,
        seed,
        titles=titles,
        exists=True,
        next_seq=next_seq,
        last_message=history[-1] if history else None,
        title=info.title,
        title_source=info.title_source,
        first_prompt=first_prompt,
    )
    read_only = not runtime.has_key(agent.model.provider)
    reason = None
    if read_only:
        from stoa.core.keys import key_variable

        var = key_variable(agent.model.provider)
        reason = (
            f"This session uses {agent.model.id} ({agent.model.provider}), and no API key for "
            f"{agent.model.provider} is set, so it is shown read-only. Set {var} (or add a key with "
            "/key) to continue it, or switch to a model you have a key for with /model."
        )
    handle = SessionHandle(
        store=store,
        recorder=recorder,
        info=info,
        resumed=True,
        records=records,
        replay_from=replay_from,
        away=away,
        read_only=read_only,
        read_only_reason=reason,
        notices=notices,
    )
    _attach(runtime, handle)
    return handle


async def switch_to(runtime: Runtime, session_id: str, *, clock: Callable[[], float] = time.time) -> SessionHandle:
    """Resume another session inside a running app (the picker's choice): closes the current one."""
    store = await open_store(runtime, clock=clock)
    info = await store.get(session_id)
    if info is None:
        raise SessionNotFoundError(f"session {session_id[:8]} no longer exists (deleted elsewhere?)")
    current = runtime.session
    # Held before the current session is left: a session open elsewhere keeps this one going.
    lock = None if current is not None and current.session_id == info.id else SessionLock.acquire(store.path.parent, info.id)
    if current is not None:
        try:
            await current.close()
        except SaveError:
            pass  # the current session's last changes: said when they failed; go on
    return await resume_session(runtime, store, info, clock=clock, lock=lock)


async def clear_session(runtime: Runtime) -> SessionHandle:
    """``/clear``: close the current session and start a fresh one with a new id."""
    store = await open_store(runtime)
    current = runtime.session
    if current is not None:
        try:
            await current.close()
        except SaveError:
            pass  # its unsaved changes were reported when they failed; the new session starts anyway
    return new_session(runtime, store)


async def delete_session(store: SessionStore, session_id: str) -> bool:
    """Delete a saved session, unless another process is writing it: deleting is writing, so it
    takes the session's lock (raises ``SessionLockedError`` naming the holder)."""
    session_id = validate_session_id(session_id)
    lock = SessionLock.acquire(store.path.parent, session_id)
    try:
        return await store.delete(session_id)
    finally:
        if lock is not None:
            lock.release()


async def close_session(runtime: Runtime) -> None:
    """Save the final state and close the store (quit). Raises ``SaveError`` when part of the
    session could not be saved; the store is closed either way."""
    current = runtime.session
    try:
        if runtime.checkpoints is not None:
            await runtime.checkpoints.aclose()  # a prune in progress (housekeeping)
        if current is not None:
            await current.close()
    finally:
        store = runtime.store
        if store is not None:
            await store.aclose()


# ---- helpers ------------------------------------------------------------------------------------


def _recorder(
    runtime: Runtime,
    store: SessionStore,
    seed: SessionSeed,
    *,
    titles: bool,
    first_prompt: str | None = None,
    **kwargs: Any,
) -> SessionRecorder:
    agent = runtime.agent

    def state() -> SessionState:
        return SessionState(
            model=agent.model.id,
            provider=agent.model.provider,
            effort=agent.effort,
            mode=runtime.policy.mode,
            ledger=agent.ledger,
        )

    titler = (
        make_titler(lambda: agent.model, runtime.provider_for, runtime.has_key, lambda: agent.ledger)
        if titles
        else None
    )
    recorder = SessionRecorder(store, seed, state=state, titler=titler, **kwargs)
    if first_prompt:
        recorder.remember_first_prompt(first_prompt)
    return recorder


def _attach(runtime: Runtime, handle: SessionHandle) -> None:
    from stoa.core.runtime import attach_checkpoints

    runtime.agent.observer = handle.recorder
    runtime.agent.cache_key = handle.session_id
    runtime.session = handle
    recorder = handle.recorder
    attach_checkpoints(runtime, session_id=handle.session_id, store=handle.store, record_seq=lambda: recorder.last_seq)


def _restore_model(runtime: Runtime, info: SessionInfo) -> list[str]:
    """Back to the session's model and effort, unless the command line chose them."""
    agent = runtime.agent
    choices = runtime.choices
    if choices.model is not None or choices.provider is not None:
        if choices.effort is None:
            _set_effort(agent, info.effort)
        return []
    try:
        model: ModelInfo = runtime.catalog.resolve(info.model, info.provider, network=False)
    except UnknownModelError:
        return [
            f"this session used {info.model} ({info.provider}), which this Stoa does not know; "
            f"continuing with {agent.model.id}"
        ]
    effort = choices.effort or info.effort
    try:
        agent.set_model(model, effort)
    except UnsupportedEffortError:
        agent.set_model(model)
    return []


def _set_effort(agent: Any, effort: str) -> None:
    try:
        agent.set_effort(validate_effort(agent.model, effort))
    except UnsupportedEffortError:
        pass


def _ledger_from_counters(info: SessionInfo) -> UsageLedger:
    """A ledger for sessions saved before the per-model ledger existed (schema 1)."""
    ledger = UsageLedger()
    if info.usage.prompt_tokens or info.usage.output_tokens:
        from stoa.core.cost import ModelUsage

        ledger.by_model[info.model] = ModelUsage(
            usage=info.usage,
            cost_usd=info.cost_usd,
            requests=0,
            peak_prompt_tokens=info.peak_prompt_tokens,
        )
    return ledger


async def _close_crashed_turn(store: SessionStore, info: SessionInfo, records: list[DisplayRecord]) -> None:
    seq = max((r.seq for r in records), default=0) + 1
    data = rec.notice(
        "warning",
        "Stoa stopped before this turn finished; the reply may be incomplete.",
        title=rec.INTERRUPTED_TITLE,
    )
    seed = SessionSeed(info.id, info.project, info.model, info.provider, info.mode, info.effort)
    try:
        for record in records:
            if record.kind == rec.TOOL and record.data.get("status") == "running":
                await store.update_record(info.id, record.seq, {**record.data, "status": "interrupted"})
        await store.add_record(seed, seq, rec.NOTICE, data)
        await store.update_session(info.id, turn_open=False, interrupted=True)
    except SessionStoreError:
        pass  # the away summary still says it; the marker is written at the next crash check


def _settled(record: DisplayRecord) -> DisplayRecord:
    """A tool call still "running" in a resumed session can only have been interrupted."""
    if record.kind == rec.TOOL and record.data.get("status") == "running":
        return DisplayRecord(record.seq, record.kind, {**record.data, "status": "interrupted"}, record.created_at)
    return record
