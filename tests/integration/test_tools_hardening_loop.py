"""A tool whose permission check itself fails (a bug, an unexpected OS error) gives the model a
tool error and the turn goes on: nothing has run yet, so nothing is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from stoa.core import events as ev
from stoa.core.tools.base import Access, Effect, Tool, ToolContext, ToolOutput
from stoa.core.tools.registry import default_registry
from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.test_agent_loop import make_agent, run


class _Args(BaseModel):
    path: str


class BrokenCheck(Tool):
    name = "broken_check"
    description = "A tool whose accesses() raises."
    Args = _Args
    effect = Effect.READ
    ran = False

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        raise PermissionError(13, "Permission denied", args.path)

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        BrokenCheck.ran = True
        return ToolOutput.text("ran")


async def test_a_failing_permission_check_is_a_tool_error(tmp_path: Path, fake_server: FakeServer) -> None:
    registry = default_registry()
    registry.register(BrokenCheck())
    agent = make_agent(tmp_path, fake_server, registry=registry)
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("broken_check", {"path": "x"}, id="b1"),
                tool_call("list_directory", {"path": "."}, id="b2"),
            ]
        ),
        reply(text="carried on"),
    )
    events = await run(agent, "go")
    assert isinstance(events[-1], ev.TurnFinished) and events[-1].text == "carried on"
    results = {r.id: r for r in fake_server.model_requests()[-1].tool_results}
    assert results["b1"].is_error and "could not check its arguments" in results["b1"].text
    assert not results["b2"].is_error
    assert not BrokenCheck.ran
