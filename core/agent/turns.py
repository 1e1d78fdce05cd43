"""The turn lifecycle of one conversation, for any front end: start, queue, interrupt, finish.

A ``TurnController`` sits between a front end (the TUI's chat screen, later ACP) and the
``Agent``. The front end submits what the person sends; the controller decides where it goes:

- idle: a new turn starts (the front end shows the message, then calls ``start``);
- a turn runs: the message steers it (``Agent.steer``: delivered at the next tool-result
  boundary, ``SteeringDelivered``), and the controller keeps the mirror the queue bar shows;
- the turn is being interrupted, or the session is not open yet: the message waits for the
  next turn.

The turn itself runs as one background job the front end provides (``start_job``: a Textual
worker, an asyncio task). Every core event goes to the ``TurnSink`` in order (``event``, then
``await pace()``, where a front end drawing on the same event loop lets it run), then ``ended``
with the outcome. When the front end has handled ``ended`` it calls ``finish``, which says
what to give back to the person (queued messages that were never sent, after a failure,
interrupt or "no") and what to send next (messages queued for after the turn).

No Textual here: pacing (how often streamed text is drawn, when a fast stream lets the event
loop run) is the front end's, in its sink (the TUI's: ``stoa.app.pacing``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from stoa.core import events as ev

TurnOutcome = Literal["finished", "failed", "interrupted", "stopped"]
Route = Literal["start", "steered", "next_turn"]


class Job(Protocol):
    """A running background job (a Textual ``Worker``, an ``asyncio.Task``)."""

    def cancel(self) -> Any: ...


class JobStarter(Protocol):
    def __call__(self, work: Coroutine[Any, Any, None]) -> Job: ...


class TurnSink(Protocol):
    """Where a running turn's events go (for the TUI: its pacer, ``stoa.app.pacing``)."""

    def event(self, event: ev.Event) -> None: ...

    async def pace(self) -> None:
        """Called after each event. A fast stream never waits on its socket: a front end that
        draws on the same event loop lets it run here now and then (keys, frames)."""
        ...

    def ended(self, outcome: TurnOutcome) -> None: ...


class TurnAgent(Protocol):
    """What the controller needs of ``stoa.core.agent.loop.Agent``."""

    def run_turn(
        self, user_input: str, *, mode: str | None = None, model: Any = None, allow: tuple[str, ...] = (),
        shell: bool = False,
    ) -> Any: ...

    def steer(self, text: str) -> None: ...

    def unsteer(self, text: str) -> bool: ...

    def take_pending_steering(self) -> list[str]: ...

    def take_back_input(self, text: str) -> bool: ...

    def interrupt(self) -> bool: ...


@dataclass
class TurnEnd:
    """What ``finish`` decided: messages to give back to the editor, and the next turn's text."""

    outcome: TurnOutcome
    give_back: list[str] = field(default_factory=list)
    follow_up: str | None = None


def outcome_of(event: ev.Event, current: TurnOutcome) -> TurnOutcome:
    if isinstance(event, ev.TurnFailed):
        return "failed"
    if isinstance(event, ev.TurnInterrupted):
        return "interrupted"
    if isinstance(event, ev.TurnFinished) and event.rejected:
        return "stopped"  # the person said no: the word is theirs again
    return current


class TurnController:
    def __init__(self, agent: TurnAgent, *, start_job: JobStarter) -> None:
        self.agent = agent
        self._start_job = start_job
        self.busy = False
        self.interrupting = False
        # False until the front end's session is open: messages sent before wait (next turn).
        self.ready = True
        # Mirror of the messages handed to the agent with ``steer`` and not yet delivered.
        self.steering: list[str] = []
        # Messages that wait for the next turn (typed during an interrupt, or before ready).
        self.next_turn: list[str] = []
        self.input: tuple[str, str] | None = None  # (sent text, displayed text) of this turn
        self.replied = False
        self.turn_id = 0  # counts turns, so a late force_stop cannot hit a newer turn
        self._job: Job | None = None

    # ---- what the person sends ---------------------------------------------------------------

    @property
    def queued(self) -> list[str]:
        """Everything waiting, in order: steering first, then the next turn's messages."""
        return [*self.steering, *self.next_turn]

    def route(self, text: str, lane: str = "now") -> Route:
        """Queue ``text`` if a turn runs (or the session is not open); else say "start".
        ``lane``: "now" steers the running turn, "next" waits for the turn after it."""
        if not self.busy and self.ready:
            return "start"
        if self.interrupting or not self.ready or lane == "next":
            self.next_turn.append(text)
            return "next_turn"
        self.agent.steer(text)
        self.steering.append(text)
        return "steered"

    def delivered(self, text: str) -> None:
        """The agent delivered a steering message (``SteeringDelivered``)."""
        if text in self.steering:
            self.steering.remove(text)

    def take_back_last(self) -> str | None:
        """The last queued message, taken back (Up in an empty editor); None if nothing waits."""
        if self.next_turn:
            return self.next_turn.pop()
        if not self.steering:
            return None
        text = self.steering.pop()
        self.agent.unsteer(text)
        return text

    def take_back_all(self) -> list[str]:
        """Every queued message, taken back in order (the queue bar's Ctrl+X)."""
        taken = self.queued
        for text in self.steering:
            self.agent.unsteer(text)
        self.steering.clear()
        self.next_turn.clear()
        return taken

    def take_back_failed_input(self) -> str | None:
        """A turn whose first request failed: its message leaves the history and its displayed
        text is returned for the editor. None when the model had already replied."""
        if self.replied or self.input is None:
            return None
        text, display = self.input
        return display if self.agent.take_back_input(text) else None

    # ---- the turn -----------------------------------------------------------------------------

    def start(
        self, text: str, display: str, sink: TurnSink, *, mode: str | None = None, **options: Any
    ) -> None:
        """Run one turn in a background job; its events go to ``sink``. ``mode``: the trust
        mode of this turn only (``/review`` is read-only); ``options``: the agent's other
        per-turn settings (``model``, ``allow``: a custom command's front matter)."""
        self.busy = True
        self.interrupting = False
        self.turn_id += 1
        self.input = (text, display)
        self.replied = False
        self._job = self._start_job(self._run(text, sink, mode, options))

    async def _run(
        self, text: str, sink: TurnSink, mode: str | None = None, options: dict[str, Any] | None = None
    ) -> None:
        outcome: TurnOutcome = "finished"
        try:
            kwargs: dict[str, Any] = {k: v for k, v in (options or {}).items() if v}
            if mode is not None:
                kwargs["mode"] = mode
            stream_of = self.agent.run_turn(text, **kwargs)
            async with aclosing(stream_of) as stream:
                async for event in stream:
                    outcome = outcome_of(event, outcome)
                    if isinstance(event, ev.AssistantMessageCompleted):
                        self.replied = True
                    sink.event(event)
                    await sink.pace()
        except asyncio.CancelledError:
            if outcome != "interrupted":
                outcome = "interrupted"
                sink.event(ev.TurnInterrupted())
            raise
        except Exception as exc:
            outcome = "failed"
            sink.event(ev.TurnFailed(error=f"internal error: {exc!r}", hint="please report this", kind="internal"))
        finally:
            sink.ended(outcome)

    @property
    def can_interrupt(self) -> bool:
        return self.busy and not self.interrupting and self._job is not None

    def interrupt(self) -> bool:
        """Stop the running turn (and its shell commands). True if there was one to stop.

        The agent cancels its own task, repairs the history and ends the event stream; should
        that not happen, ``force_stop`` (called by the front end after a grace period) cancels
        the job itself."""
        if not self.can_interrupt or self._job is None:
            return False
        self.interrupting = True
        if not self.agent.interrupt():
            self._job.cancel()
        return True

    def force_stop(self, turn_id: int) -> None:
        """Cancel the job of turn ``turn_id`` if it is still being interrupted."""
        if turn_id == self.turn_id and self.busy and self.interrupting and self._job is not None:
            self._job.cancel()

    def finish(self, outcome: TurnOutcome) -> TurnEnd:
        """The front end has shown the end of the turn: decide what happens to the queue."""
        self.busy = False
        self.interrupting = False
        self._job = None
        leftover = self.agent.take_pending_steering()
        after, self.next_turn = self.next_turn, []
        self.steering.clear()
        end = TurnEnd(outcome)
        if outcome == "finished":
            follow = [*leftover, *after]
        else:
            # Interrupted, failed or stopped by a "no": what was queued for this turn was never
            # sent; it goes back to the person. Messages typed for the next turn still go.
            end.give_back = leftover
            follow = after
        end.follow_up = "\n\n".join(follow) if follow else None
        return end

    def mark_ready(self) -> str | None:
        """The session is open. Returns what was typed meanwhile, to send now (if idle)."""
        self.ready = True
        if self.next_turn and not self.busy:
            pending, self.next_turn = self.next_turn, []
            return "\n\n".join(pending)
        return None
