"""The bridge from the agent's events (``core.events``) to Textual messages.

The agent worker calls ``Bridge.post(event)`` for every event. Most events travel as one
``AgentEvent`` message each. Deltas (assistant text, thinking, shell output) are coalesced:
while a ``StreamChunk`` for the same stream is still waiting in the target's queue, new
deltas are appended to it instead of posting another message. A 20,000-token reply from a
fast server therefore costs a few dozen UI updates, not 20,000. Order is kept: any other
event closes the open chunk, so later deltas go into a new message behind it.
"""

from __future__ import annotations

from typing import Literal

from textual.message import Message
from textual.message_pump import MessagePump

from stoa.core import events as ev
from stoa.core.agent.turns import TurnOutcome

StreamKind = Literal["text", "thinking", "output"]


class AgentEvent(Message, bubble=False):
    """One core event, delivered to the chat screen."""

    def __init__(self, event: ev.Event) -> None:
        super().__init__()
        self.event = event


class StreamChunk(Message, bubble=False):
    """Coalesced deltas of one stream (text, thinking, or one tool call's output)."""

    def __init__(self, kind: StreamKind, call_id: str | None, text: str) -> None:
        super().__init__()
        self.kind: StreamKind = kind
        self.call_id = call_id
        self._parts = [text]
        self._taken = False

    def add(self, text: str) -> bool:
        """Append to this chunk if the screen has not read it yet."""
        if self._taken:
            return False
        self._parts.append(text)
        return True

    def take(self) -> str:
        return "".join(self.take_parts())

    def take_parts(self) -> list[str]:
        """The deltas one by one (shell output events are lines: keep their boundaries)."""
        self._taken = True
        parts, self._parts = self._parts, []
        return parts


class TurnEnded(Message, bubble=False):
    """The agent worker is done with a turn, whatever the outcome (posted last)."""

    def __init__(self, outcome: TurnOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class Bridge:
    """Posts core events to ``target`` as Textual messages, coalescing deltas."""

    def __init__(self, target: MessagePump) -> None:
        self.target = target
        self._open: StreamChunk | None = None
        self.posted = 0

    def _stream_key(self, event: ev.Event) -> tuple[StreamKind, str | None, str] | None:
        if isinstance(event, ev.AssistantTextDelta):
            return "text", None, event.text
        if isinstance(event, ev.ThinkingDelta):
            return "thinking", None, event.text
        if isinstance(event, ev.ToolCallOutput):
            return "output", event.call_id, event.text
        return None

    def post(self, event: ev.Event) -> None:
        key = self._stream_key(event)
        if key is None:
            self._open = None
            self._send(AgentEvent(event))
            return
        kind, call_id, text = key
        chunk = self._open
        if chunk is not None and chunk.kind == kind and chunk.call_id == call_id and chunk.add(text):
            return
        self._open = StreamChunk(kind, call_id, text)
        self._send(self._open)

    def end_turn(self, outcome: TurnOutcome) -> None:
        self._open = None
        self._send(TurnEnded(outcome))

    # The TurnSink protocol (stoa.core.agent.turns): the turn controller reports through these.
    def event(self, event: ev.Event) -> None:
        self.post(event)

    def ended(self, outcome: TurnOutcome) -> None:
        self.end_turn(outcome)

    def _send(self, message: Message) -> None:
        self.posted += 1
        self.target.post_message(message)
