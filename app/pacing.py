"""Pacing of a running turn: when the UI takes in what the agent produced. The one place.

The turn controller (``stoa.core.agent.turns``) hands every core event of a turn to its
``TurnSink``, for the TUI a ``StreamPacer`` (``event``, then ``await pace()``, and ``ended``
last); the chat screen takes them, in order, when told to (``Paced`` message, then
``pacer.take()``). The pacer owns the three decisions that make a fast stream cheap to show:

- **Merging.** Deltas of one stream (reply text, thinking, one tool call's output) that arrive
  before the UI takes them become one ``StreamRun``; anything else is kept as it is, and a
  delta after it starts a new run, so order holds.
- **When to show.** Anything but a delta (a tool row, a permission question, the end of a
  message or turn) goes to the UI at once, with the deltas before it. Deltas wait for the next
  frame. Frames are spaced by what a batch costs: the pacer measures the UI thread's CPU time
  from taking a batch to the screen's next idle moment (the text applied, and the frame when
  the screen was already due to draw one) and spaces batches by that cost divided by
  ``FrameBudget.share``, between ``FrameBudget.min_gap`` and ``FrameBudget.max_gap``. A reply
  at a model's usual pace streams at about 12 frames a second (a batch costs a few ms); a
  catch-up (a fast server, a long reply: tens of ms a batch) draws 4 times a second, and the
  stream is read faster. Text that comes faster than anyone reads (``FrameBudget.burst_rate``:
  a backlog after a pause, a fast server) is a burst: its frames are ``FrameBudget.burst_gap``
  apart, so the event loop reads the stream instead of drawing what nobody can follow yet; the
  end of the message draws at once, as always (20,000 tokens at once: the last line shows
  sooner).
- **Yielding.** A fast stream never makes the SDK wait for its socket, so nothing else would
  run on the event loop: ``pace`` lets it run every ``FrameBudget.slice`` seconds, for keys
  (typing stays live) and for frames.

The turn lifecycle does not live here (it is the controller's); the pacer only needs something
to post its messages to and to be called after a refresh (any Textual ``MessagePump``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Literal

from textual.message import Message
from textual.message_pump import MessagePump

from stoa.core import events as ev
from stoa.core.agent.turns import TurnOutcome

StreamKind = Literal["text", "thinking", "output"]


@dataclass
class StreamRun:
    """Deltas of one stream, merged: reply text, thinking, or one tool call's output."""

    kind: StreamKind
    call_id: str | None
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True)
class TurnOver:
    """The agent worker is done with the turn, whatever the outcome (always the last item)."""

    outcome: TurnOutcome


PacedItem = StreamRun | ev.Event | TurnOver


class Paced(Message, bubble=False):
    """The pacer has items for the UI: call ``pacer.take()``."""

    def __init__(self, pacer: StreamPacer) -> None:
        super().__init__()
        self.pacer = pacer


@dataclass
class FrameBudget:
    """How often streamed text is shown; learns what a frame costs. One per screen, kept across turns."""

    # Share of the UI thread that taking in streamed text may take, as measured (drawing the
    # frames that the measure misses comes on top: about as much again).
    share: float = 0.12
    # Bounds of the gap between two frames of streamed text (seconds).
    min_gap: float = 1 / 12
    max_gap: float = 0.25
    # The agent worker lets the event loop run at least this often (seconds).
    slice: float = 0.01
    # Text arriving faster than this (characters a second, since the last frame: 8,000 tokens
    # a second, several times the fastest model) is a burst: frames this far apart (seconds).
    burst_rate: float = 32_000
    burst_gap: float = 1.0
    # What a frame of streamed text costs (CPU seconds of the UI thread), smoothed.
    cost: float = 0.0

    def record(self, cost: float) -> None:
        # Up at once, down slowly: one cheap frame after costly ones is not a trend.
        self.cost = cost if cost > self.cost else 0.8 * self.cost + 0.2 * cost

    @property
    def gap(self) -> float:
        return min(self.max_gap, max(self.min_gap, self.cost / self.share))


def _stream_key(event: ev.Event) -> tuple[StreamKind, str | None, str] | None:
    if isinstance(event, ev.AssistantTextDelta):
        return "text", None, event.text
    if isinstance(event, ev.ThinkingDelta):
        return "thinking", None, event.text
    if isinstance(event, ev.ToolCallOutput):
        return "output", event.call_id, event.text
    return None


class StreamPacer:
    """One turn's events on their way to ``target`` (see the module docstring); a ``TurnSink``."""

    def __init__(self, target: MessagePump, budget: FrameBudget | None = None) -> None:
        self.target = target
        self.budget = budget or FrameBudget()
        self._items: list[PacedItem] = []
        self._posted = False  # a Paced message is on its way and not taken yet
        self._timer: asyncio.TimerHandle | None = None
        self._last_frame = 0.0
        self._yield_at = 0.0
        self._chars = 0  # characters of deltas since the last frame
        self.posted = 0  # Paced messages sent (tests, benchmarks)

    # ---- the turn's side (the TurnSink protocol) --------------------------------------------

    def event(self, event: ev.Event) -> None:
        """Queue one event."""
        key = _stream_key(event)
        if key is None:
            self._items.append(event)
            self._post_now()
            return
        kind, call_id, text = key
        self._chars += len(text)
        last = self._items[-1] if self._items else None
        if isinstance(last, StreamRun) and last.kind == kind and last.call_id == call_id:
            last.parts.append(text)
        else:
            self._items.append(StreamRun(kind, call_id, [text]))
        self._post_at_next_frame()

    async def pace(self) -> None:
        """Called after every event: now and then, let the event loop run (keys, frames)."""
        if time.perf_counter() >= self._yield_at:
            await asyncio.sleep(0)
            self._yield_at = time.perf_counter() + self.budget.slice

    def ended(self, outcome: TurnOutcome) -> None:
        self._items.append(TurnOver(outcome))
        self._post_now()

    # ---- the UI's side ---------------------------------------------------------------------

    def take(self) -> list[PacedItem]:
        """Everything queued, in order. Call from the ``Paced`` handler, then apply it all."""
        items, self._items = self._items, []
        self._posted = False
        self._cancel_timer()
        if any(isinstance(item, StreamRun) for item in items):
            self._last_frame = time.perf_counter()
            self._chars = 0
            started = time.thread_time()
            self.target.call_after_refresh(self._drawn, started)
        return items

    def _drawn(self, started: float) -> None:
        self.budget.record(time.thread_time() - started)

    # ---- posting ---------------------------------------------------------------------------

    def _post_now(self) -> None:
        self._cancel_timer()
        if not self._posted:
            self._posted = True
            self.posted += 1
            self.target.post_message(Paced(self))

    def _post_at_next_frame(self) -> None:
        if self._posted or self._timer is not None:
            return
        wait = self._last_frame + self.budget.gap - time.perf_counter()
        if wait <= 0:
            self._frame_due()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait, self._frame_due)

    def _frame_due(self) -> None:
        """The gap is over: show the text, unless it comes in a burst (then wait longer)."""
        self._timer = None
        now = time.perf_counter()
        budget = self.budget
        later = self._last_frame + budget.burst_gap - now
        if later > 0 and self._chars > budget.burst_rate * (now - self._last_frame):
            self._timer = asyncio.get_running_loop().call_later(later, self._post_now)
        else:
            self._post_now()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
