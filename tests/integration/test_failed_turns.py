"""A turn that fails (not interrupted) keeps what the reply said before it broke off.

The connection dropped mid-stream, or the server sent an error after some deltas, on the last
attempt: the text streamed so far stays in the conversation as an assistant message, followed
by ``FAILED_MARKER`` (as Esc keeps a reply with its interrupt marker); the next request carries
it and is protocol-valid (the fake server's checker runs after every test); the session saves
it and a resume shows it, then the error. A failure before any text adds nothing (the person's
message goes back to the editor). On all three wire formats, through the real providers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stoa.core import events as ev
from stoa.core.agent.history import FAILED_MARKER
from stoa.core.runtime import Choices
from stoa.core.sessions import close_session, open_session
from tests.fake_server import FakeServer, fault, reply
from tests.integration.test_agent_loop import make_agent, run
from tests.integration.test_sessions_resume import Env

FIRST = "A first attempt that breaks off and is retried, so nobody sees it again. " * 2
LAST = "The last attempt says this much before the connection goes away for good. " * 2


def texts(message: dict) -> list[str]:  # type: ignore[type-arg]
    """The text parts of a wire message, whatever the format."""
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content or [] if b.get("type") in ("text", "input_text", "output_text")]


@pytest.mark.parametrize("provider", ["anthropic", "openai", "ollama"])
@pytest.mark.parametrize("kind", ["disconnect", "server_error"])
async def test_the_partial_reply_of_a_failed_turn_is_kept_and_marked(
    tmp_path: Path, fake_server: FakeServer, provider: str, kind: str
) -> None:
    agent = make_agent(tmp_path, fake_server, provider)  # three attempts
    fake_server.script(
        fault(kind, after_events=12, reply=reply(text=FIRST, chunk_size=4)),  # type: ignore[arg-type]
        fault(kind, after_events=12, reply=reply(text=FIRST, chunk_size=4)),  # type: ignore[arg-type]
        fault(kind, after_events=12, reply=reply(text=LAST, chunk_size=4)),  # type: ignore[arg-type]
    )
    events = await run(agent, "tell me something")
    assert isinstance(events[-1], ev.TurnFailed)
    messages = agent.history.messages
    assert [m.role for m in messages] == ["user", "assistant", "user"]
    partial = messages[1].text
    assert partial and LAST.startswith(partial) and "first attempt" not in partial
    # What the screen showed last (the deltas after the last Retrying) is what was kept.
    after_retry = events[max(i for i, e in enumerate(events) if isinstance(e, ev.Retrying)) :]
    assert "".join(e.text for e in after_retry if isinstance(e, ev.AssistantTextDelta)) == partial
    assert messages[2].text == FAILED_MARKER

    fake_server.script(reply(text="Going on."))
    events = await run(agent, "go on")
    assert isinstance(events[-1], ev.TurnFinished)
    body = fake_server.model_requests()[-1].body
    sent = body.get("messages") or body.get("input")
    joined = "\n".join(t for m in sent for t in texts(m) if t)  # Chat joins a message's texts
    assert joined.index(partial) < joined.index(FAILED_MARKER) < joined.rindex("go on"), joined
    assert "first attempt" not in joined


async def test_a_failure_before_any_text_adds_nothing(tmp_path: Path, fake_server: FakeServer) -> None:
    agent = make_agent(tmp_path, fake_server, "anthropic")
    fake_server.script(*(fault("server_error") for _ in range(3)))
    events = await run(agent, "hello?")
    assert isinstance(events[-1], ev.TurnFailed)
    assert [m.role for m in agent.history.messages] == ["user"]
    assert agent.take_back_input("hello?")  # the TUI gives it back to the editor


async def test_the_kept_reply_is_saved_and_shown_on_resume(tmp_path: Path, fake_server: FakeServer) -> None:
    env = Env(tmp_path, fake_server)
    runtime = env.runtime(Choices(model="claude-sonnet-4-6"))
    runtime.agent.retry.max_attempts = 1
    handle = await open_session(runtime, titles=False)
    fake_server.script(fault("disconnect", after_events=12, reply=reply(text=LAST, chunk_size=4)))
    events = await run_turn(runtime, "tell me something")
    assert isinstance(events[-1], ev.TurnFailed)
    partial = runtime.agent.history.messages[1].text
    await close_session(runtime)

    runtime = env.runtime()
    handle = await open_session(runtime, resume=handle.session_id, titles=False)
    try:
        assert [m.role for m in runtime.agent.history.messages] == ["user", "assistant", "user"]
        assert runtime.agent.history.messages[2].text == FAILED_MARKER
        # Shown as it was on screen: the message, the partial reply, the error (no marker text).
        assert [r.kind for r in handle.records] == ["user", "assistant", "notice"]
        assert handle.records[1].data["text"] == partial
        assert handle.records[2].data["title"] == "The reply broke off"
    finally:
        await close_session(runtime)


async def run_turn(runtime, prompt: str) -> list[ev.Event]:  # type: ignore[no-untyped-def]
    return [e async for e in runtime.agent.run_turn(prompt)]
