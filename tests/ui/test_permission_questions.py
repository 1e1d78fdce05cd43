"""The question the permission modal asks comes from the most significant thing a call does.

Each mutating tool runs through the real agent loop in ask mode (fake provider, real files);
the request the agent builds is then shown in the real permission modal, and the question on
screen is read back. An edit reads and writes its file: the question is about the write
("Apply this edit?"), never the read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from stoa.app.screens.permission import PermissionScreen
from stoa.core.agent.loop import Agent, RetryPolicy
from stoa.core.config import load_config
from stoa.core.models import resolve_model
from stoa.core.permissions.approver import PermissionDecision, PermissionRequest
from stoa.core.permissions.setup import make_policy
from stoa.core.providers.factory import ProviderPool
from stoa.core.tools.registry import default_registry
from tests.fake_server import FakeServer, reply, tool_call


class Recorder:
    def __init__(self) -> None:
        self.requests: list[PermissionRequest] = []

    async def approve(self, request: PermissionRequest) -> PermissionDecision:
        self.requests.append(request)
        return PermissionDecision("once")


def make_agent(tmp_path: Path, server: FakeServer, approver: Recorder, model: str = "claude-sonnet-4-6") -> Agent:
    workspace = tmp_path / "ws"
    (workspace / ".stoa").mkdir(parents=True)
    env = {
        "HOME": str(tmp_path / "home"),
        "STOA_HOME": str(tmp_path / "stoa-home"),
        "ANTHROPIC_API_KEY": "test-key",
        "OPENAI_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
        "OPENAI_BASE_URL": server.openai_base_url,
    }
    config = load_config(workspace, env=env)
    return Agent(
        provider_for=ProviderPool(config),
        model=resolve_model(model),
        tools=default_registry(),
        workspace=config.workspace,
        system_prompt="test",
        policy=make_policy(config, "ask"),
        approver=approver,
        config=config,
        retry=RetryPolicy(max_attempts=1),
    )


class QuestionApp(App[None]):
    def __init__(self, request: PermissionRequest) -> None:
        super().__init__()
        self.request = request
        self.animation_level = "none"

    def compose(self) -> ComposeResult:
        yield Static("chat")

    def on_mount(self) -> None:
        self.push_screen(PermissionScreen(self.request))


async def question_shown(request: PermissionRequest) -> str:
    app = QuestionApp(request)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PermissionScreen)
        return str(app.screen.query_one("#permission-question", Static).render())


# (tool, arguments, expected kind, expected question, the target names this path)
CASES = [
    ("write_file", {"path": "new.txt", "content": "x\n"}, "write", "Write this file?", "new.txt"),
    ("edit_file", {"path": "a.txt", "old_string": "alpha", "new_string": "beta"}, "edit", "Apply this edit?", "a.txt"),
    ("create_directory", {"path": "made/here"}, "create", "Create this directory?", "made/here"),
    ("move_file", {"source": "b.txt", "destination": "moved.txt"}, "move", "Move this?", "b.txt"),
    ("copy_file", {"source": "c.txt", "destination": "copied.txt"}, "copy", "Copy this?", "copied.txt"),
    ("delete_file", {"path": "d.txt"}, "destructive", "Allow this destructive operation?", "d.txt"),
    ("delete_directory", {"path": "gone"}, "destructive", "Allow this destructive operation?", "gone"),
]


@pytest.mark.parametrize(("tool", "arguments", "kind", "question", "target"), CASES, ids=[c[0] for c in CASES])
async def test_the_question_is_about_what_the_call_changes(
    tmp_path: Path,
    fake_server: FakeServer,
    tool: str,
    arguments: dict[str, str],
    kind: str,
    question: str,
    target: str,
) -> None:
    recorder = Recorder()
    agent = make_agent(tmp_path, fake_server, recorder)
    ws = agent.workspace
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        (ws / name).write_text("alpha\n")
    (ws / "gone").mkdir()
    (ws / "gone" / "inside.txt").write_text("x\n")
    fake_server.script(reply(tool_calls=[tool_call(tool, arguments, id="c1")]), reply(text="done"))
    async for _ in agent.run_turn("go"):
        pass
    (request,) = recorder.requests
    assert request.kind == kind
    assert request.target == str(ws / target)
    assert await question_shown(request) == question
    (result,) = fake_server.model_requests()[-1].tool_results
    assert not result.is_error, result.text


async def test_move_and_copy_questions_name_both_ends(tmp_path: Path, fake_server: FakeServer) -> None:
    recorder = Recorder()
    agent = make_agent(tmp_path, fake_server, recorder)
    (agent.workspace / "src.txt").write_text("x\n")
    (agent.workspace / "other.txt").write_text("y\n")
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("move_file", {"source": "src.txt", "destination": "dst.txt"}, id="m"),
                tool_call("copy_file", {"source": "other.txt", "destination": "twin.txt"}, id="c"),
            ]
        ),
        reply(text="done"),
    )
    async for _ in agent.run_turn("go"):
        pass
    move, copy = recorder.requests
    assert move.preview == "move src.txt\nto   dst.txt"
    assert copy.preview == "copy other.txt\nto   twin.txt"


async def test_a_patch_asks_to_apply_the_patch(tmp_path: Path, fake_server: FakeServer) -> None:
    recorder = Recorder()
    agent = make_agent(tmp_path, fake_server, recorder, model="gpt-5.5")
    (agent.workspace / "a.txt").write_text("alpha\n")
    patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n-alpha\n+beta\n*** Add File: b.txt\n+b\n*** End Patch"
    fake_server.script(reply(tool_calls=[tool_call("apply_patch", {"patch": patch}, id="p")]), reply(text="done"))
    async for _ in agent.run_turn("go"):
        pass
    (request,) = recorder.requests
    assert request.kind == "patch" and request.target == str(agent.workspace / "a.txt")
    assert await question_shown(request) == "Apply this patch?"
    assert (agent.workspace / "a.txt").read_text() == "beta\n"


async def test_a_patch_outside_the_workspace_is_shown_as_sent(tmp_path: Path, fake_server: FakeServer) -> None:
    """Where the patch cannot be checked before the answer (reading the file would itself ask)
    and does not fit the file, the question shows the patch itself (diff-coloured, without
    line numbers it does not have); the run then says why it does not apply."""
    from stoa.widgets.diff_view import DiffView

    outside = tmp_path / "outside.txt"
    outside.write_text("alpha\n")
    recorder = Recorder()
    agent = make_agent(tmp_path, fake_server, recorder, model="gpt-5.5")
    patch = f"*** Begin Patch\n*** Update File: {outside}\n@@\n-gamma\n+beta\n*** End Patch"
    fake_server.script(reply(tool_calls=[tool_call("apply_patch", {"patch": patch}, id="p")]), reply(text="done"))
    async for _ in agent.run_turn("go"):
        pass
    (request,) = recorder.requests
    assert request.preview == patch
    app = QuestionApp(request)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(DiffView)
        assert not view.numbers and "+beta" in str(view.render())
