"""The turn controller (stoa.core.agent.turns) over a real agent, against the fake server.

It is the one owner of a conversation's turn lifecycle for every front end: where a message
goes (a new turn, steering, the next turn), interrupts, what an ended turn gives back to the
person and what it sends next. Jobs are plain asyncio tasks here (the TUI uses workers)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stoa.core import events as ev
from stoa.core.agent.loop import Agent
from stoa.core.agent.turns import TurnController, TurnEnd, TurnOutcome
from stoa.core.events import PlanStep
from stoa.core.tools.base import ToolState
from stoa.core.tools.registry import default_registry
from tests.fake_server import FakeServer, fault, reply, tool_call
from tests.integration.test_agent_loop import SlowTool, make_agent


class Recorder:
    """A TurnSink that keeps what it was told, and lets a test wait for the end."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []
        self.outcomes: list[TurnOutcome] = []
        self.done = asyncio.Event()
        self.streaming = asyncio.Event()

    def event(self, event: ev.Event) -> None:
        self.events.append(event)
        if isinstance(event, ev.AssistantTextDelta):
            self.streaming.set()

    async def pace(self) -> None:
        await asyncio.sleep(0)  # as a front end on this event loop would, now and then

    def ended(self, outcome: TurnOutcome) -> None:
        self.outcomes.append(outcome)
        self.done.set()

    def of(self, kind: type) -> list[object]:
        return [e for e in self.events if isinstance(e, kind)]


def controller_for(agent: Agent) -> TurnController:
    return TurnController(agent, start_job=asyncio.ensure_future)


async def run_turn(turns: TurnController, text: str) -> tuple[Recorder, TurnEnd]:
    sink = Recorder()
    assert turns.route(text) == "start"
    turns.start(text, text, sink)
    await asyncio.wait_for(sink.done.wait(), 20)
    return sink, turns.finish(sink.outcomes[-1])


def slow_agent(tmp_path: Path, server: FakeServer) -> tuple[Agent, SlowTool]:
    slow = SlowTool()
    registry = default_registry()
    registry.register(slow)
    return make_agent(tmp_path, server, registry=registry), slow


async def test_an_idle_conversation_starts_a_turn_and_ends_with_nothing_queued(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    fake_server.script(reply(text="hello there"))
    turns = controller_for(make_agent(tmp_path, fake_server))
    sink, end = await run_turn(turns, "hi")
    assert sink.outcomes == ["finished"]
    assert isinstance(sink.events[-1], ev.TurnFinished)
    assert end == TurnEnd("finished") and not turns.busy and turns.replied


async def test_a_message_sent_during_a_tool_steers_the_turn(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(reply(tool_calls=[tool_call("slow_tool", {"seconds": 0.3})]), reply(text="done"))
    agent, slow = slow_agent(tmp_path, fake_server)
    turns = controller_for(agent)
    sink = Recorder()
    turns.route("start")
    turns.start("start", "start", sink)
    await asyncio.wait_for(slow.running.wait(), 10)
    assert turns.route("and the docs") == "steered"
    assert turns.queued == ["and the docs"]
    await asyncio.wait_for(sink.done.wait(), 20)
    delivered = sink.of(ev.SteeringDelivered)
    assert [d.text for d in delivered] == ["and the docs"]  # type: ignore[attr-defined]
    turns.delivered("and the docs")
    end = turns.finish(sink.outcomes[-1])
    assert end == TurnEnd("finished") and turns.queued == []
    assert fake_server.model_requests()[1].body["messages"][-1]["content"][-1]["text"] == "and the docs"


async def test_a_message_too_late_to_steer_becomes_the_next_turn(tmp_path: Path, fake_server: FakeServer) -> None:
    """Sent while the final reply streams: no tool boundary is left, so it runs next."""
    fake_server.script(reply(text="a slow reply " * 20, delay_per_event=0.02), reply(text="second"))
    turns = controller_for(make_agent(tmp_path, fake_server))
    sink = Recorder()
    turns.route("first")
    turns.start("first", "first", sink)
    await asyncio.wait_for(sink.streaming.wait(), 10)
    assert turns.route("follow-up") == "steered"
    await asyncio.wait_for(sink.done.wait(), 20)
    end = turns.finish(sink.outcomes[-1])
    assert end.outcome == "finished" and end.give_back == [] and end.follow_up == "follow-up"


async def test_an_interrupt_gives_back_what_was_not_sent_and_keeps_the_next_turn(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    fake_server.script(reply(tool_calls=[tool_call("slow_tool", {"seconds": 10})]), reply(text="after"))
    agent, slow = slow_agent(tmp_path, fake_server)
    turns = controller_for(agent)
    sink = Recorder()
    turns.route("go")
    turns.start("go", "go", sink)
    await asyncio.wait_for(slow.running.wait(), 10)
    assert turns.route("never delivered") == "steered"
    assert turns.interrupt() is True
    assert turns.interrupt() is False  # already being interrupted
    assert turns.route("typed while stopping") == "next_turn"
    await asyncio.wait_for(sink.done.wait(), 20)
    assert sink.outcomes == ["interrupted"]
    end = turns.finish("interrupted")
    assert end.give_back == ["never delivered"]
    assert end.follow_up == "typed while stopping"
    assert agent.take_pending_steering() == []


async def test_taking_back_a_queued_message_takes_it_from_the_agent_too(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    fake_server.script(reply(tool_calls=[tool_call("slow_tool", {"seconds": 0.3})]), reply(text="done"))
    agent, slow = slow_agent(tmp_path, fake_server)
    turns = controller_for(agent)
    sink = Recorder()
    turns.route("start")
    turns.start("start", "start", sink)
    await asyncio.wait_for(slow.running.wait(), 10)
    turns.route("keep me")
    turns.route("oops")
    assert turns.take_back_last() == "oops"
    assert agent.pending_steering == ("keep me",)
    await asyncio.wait_for(sink.done.wait(), 20)
    sent = fake_server.model_requests()[1].body["messages"][-1]["content"]
    assert [b.get("text") for b in sent if b.get("type") == "text"] == ["keep me"]


async def test_a_failed_first_request_hands_the_message_back(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(fault("bad_request", message="nope"))
    agent = make_agent(tmp_path, fake_server)
    turns = controller_for(agent)
    sink = Recorder()
    turns.route("the prompt")
    turns.start("the prompt", "the prompt (as shown)", sink)
    await asyncio.wait_for(sink.done.wait(), 20)
    assert sink.outcomes == ["failed"]
    assert turns.take_back_failed_input() == "the prompt (as shown)"
    assert len(agent.history) == 0
    assert turns.take_back_failed_input() is None  # only once: it is no longer in the history


async def test_a_replied_turn_keeps_its_message(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="an answer"))
    agent = make_agent(tmp_path, fake_server)
    turns = controller_for(agent)
    await run_turn(turns, "question")
    assert turns.take_back_failed_input() is None
    assert len(agent.history) == 2


async def test_messages_before_the_session_is_open_wait_for_it(tmp_path: Path, fake_server: FakeServer) -> None:
    turns = controller_for(make_agent(tmp_path, fake_server))
    turns.ready = False
    assert turns.route("early one") == "next_turn"
    assert turns.route("early two") == "next_turn"
    assert turns.take_back_last() == "early two"
    assert turns.mark_ready() == "early one"
    assert turns.mark_ready() is None


async def test_a_late_force_stop_never_cancels_a_newer_turn(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="one"), reply(text="two", delay_per_event=0.05))
    turns = controller_for(make_agent(tmp_path, fake_server))
    await run_turn(turns, "first")
    old_turn = turns.turn_id
    sink = Recorder()
    turns.route("second")
    turns.start("second", "second", sink)
    turns.force_stop(old_turn)
    await asyncio.wait_for(sink.done.wait(), 20)
    assert sink.outcomes == ["finished"]


async def test_reset_empties_the_conversation(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="an answer"))
    agent = make_agent(tmp_path, fake_server)
    await run_turn(controller_for(agent), "question")
    agent.tool_state.plan = (PlanStep("a step", "pending"),)
    agent.steer("stale")
    agent.reset()
    assert len(agent.history) == 0 and agent.tool_state == ToolState() and agent.pending_steering == ()
