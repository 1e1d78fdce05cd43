"""A Stoa-like process for the session tests (run as ``python -m tests.integration.sessions_driver``).

``agent`` mode builds the runtime exactly as headless mode does (``build_runtime`` +
``open_session``), with one extra slow tool, and runs the given prompts against the provider
at ANTHROPIC_BASE_URL (the fake server), printing a marker line after each milestone so a
parent test knows what must have been saved when it kills the process.

``hammer`` mode writes many messages and records through a recorder as fast as it can while
listing sessions, to make two processes fight over the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from stoa.core import events as ev
from stoa.core.config import StoaPaths, load_config
from stoa.core.providers.types import Message, TextBlock, ToolResultBlock, ToolUseBlock, user_text
from stoa.core.runtime import Choices, build_runtime
from stoa.core.sessions import close_session, open_session
from stoa.core.sessions.recorder import SessionRecorder
from stoa.core.sessions.store import SessionSeed, SessionStore
from stoa.core.tools.base import Effect, Tool, ToolContext, ToolOutput
from stoa.core.tools.registry import default_registry


class SlowTool(Tool):
    name = "slow_tool"
    description = "Waits for the given number of seconds, then says so."
    effect = Effect.READ

    class Args(BaseModel):
        seconds: float = 0.2

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        await asyncio.sleep(args.seconds)
        return ToolOutput.text(f"slept {args.seconds}s\n" + "output line\n" * 200)


def mark(text: str) -> None:
    print(text, flush=True)


async def agent_mode(workspace: Path, prompts: list[str], resume_latest: bool) -> int:
    from stoa.core.permissions.approver import RefusingApprover

    registry = default_registry()
    registry.register(SlowTool())
    runtime = build_runtime(load_config(workspace), Choices(), approver=RefusingApprover(), registry=registry)
    handle = await open_session(runtime, continue_latest=resume_latest, titles=False)
    mark(f"session {handle.session_id}")
    try:
        for number, prompt in enumerate(prompts, 1):
            async for event in runtime.agent.run_turn(prompt):
                if isinstance(event, ev.TurnStarted):
                    mark(f"turn-started {number}")
                elif isinstance(event, ev.AssistantMessageCompleted):
                    mark(f"assistant-saved {number}")
                elif isinstance(event, ev.ToolCallStarted):
                    mark(f"tool-started {number}")
                elif isinstance(event, ev.TurnFinished):
                    mark(f"turn-finished {number}")
                elif isinstance(event, ev.TurnFailed):
                    mark(f"turn-failed {number} {event.error}")
                elif isinstance(event, ev.Notice) and event.level == "error":
                    mark(f"notice {event.text}")
    finally:
        await close_session(runtime)
    mark("done")
    return 0


async def hammer_mode(project: str, count: int) -> int:
    store = await SessionStore.open(StoaPaths.from_env().database)
    seed = SessionSeed(str(uuid.uuid4()), project, "claude-sonnet-4-6", "anthropic", "auto", "medium")
    recorder = SessionRecorder(store, seed)
    mark(f"session {seed.id}")
    try:
        for i in range(count):
            if i % 2 == 0:
                await recorder.message_added(user_text(f"prompt {i}"), replaces_last=False)
                await recorder.event(ev.TurnStarted(f"t{i}", f"prompt {i}", "m", "off"))
            else:
                call = ToolUseBlock(id=f"c{i}", name="read_file", input={"path": f"{i}.txt"})
                await recorder.message_added(
                    Message(role="assistant", content=[TextBlock(text=f"reply {i}"), call]), replaces_last=False
                )
                await recorder.event(ev.ToolCallStarted(call.id, call.name, call.input))
                await recorder.event(ev.ToolCallFinished(call.id, call.name, False, "x" * 2000))
                result = ToolResultBlock(tool_use_id=call.id, content=[TextBlock(text="x" * 2000)])
                # The agent would merge the next prompt into this results message.
                await recorder.message_added(Message(role="user", content=[result]), replaces_last=False)
                await recorder.message_added(
                    Message(role="assistant", content=[TextBlock(text=f"done {i}")]), replaces_last=False
                )
                await recorder.event(ev.TurnFinished(None, f"done {i}", 2))
            mark(f"saved {recorder.messages_saved}")
            if i % 10 == 0:
                await store.list_sessions()
        await recorder.aclose()
    finally:
        await store.aclose()
    mark("done")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("agent", "hammer"))
    parser.add_argument("--workspace", default=os.getcwd())
    parser.add_argument("--prompt", action="append", default=[])
    parser.add_argument("--continue", dest="resume_latest", action="store_true")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--go-file", help="wait until this file exists before starting")
    args = parser.parse_args(argv)
    mark("ready")
    if args.go_file:
        import time

        while not Path(args.go_file).exists():
            time.sleep(0.005)
    if args.mode == "agent":
        return asyncio.run(agent_mode(Path(args.workspace), args.prompt or ["hello"], args.resume_latest))
    return asyncio.run(hammer_mode(str(Path(args.workspace).resolve()), args.count))


if __name__ == "__main__":
    sys.exit(main())
