"""Ask only what can run: a file call that cannot apply is refused before anyone is asked.

Each case runs through the real agent loop (fake provider over the real SDK, real files) in a
mode where the call would ask. The person (a recording approver) must never see a question
for a call that cannot run; the model gets the reason at once, and nothing on disk changes.
Where reading the path would itself need a question (outside the workspace, a Read ask/deny
rule), the check is not made before the question: its answer would tell the model what is in
a file it may not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stoa.core.agent.loop import Agent, RetryPolicy
from stoa.core.config import load_config
from stoa.core.models import resolve_model
from stoa.core.permissions.approver import PermissionDecision, PermissionRequest, RefusingApprover
from stoa.core.permissions.setup import make_policy
from stoa.core.providers.factory import ProviderPool
from stoa.core.providers.types import ToolResultBlock
from stoa.core.tools.registry import default_registry
from tests.fake_server import FakeServer, reply, tool_call


class Recorder:
    def __init__(self, outcome: str = "once") -> None:
        self.requests: list[PermissionRequest] = []
        self.outcome = outcome

    async def approve(self, request: PermissionRequest) -> PermissionDecision:
        self.requests.append(request)
        return PermissionDecision(self.outcome)  # type: ignore[arg-type]


def make_agent(
    tmp_path: Path, server: FakeServer, approver: Any, *, mode: str = "ask", config_toml: str = ""
) -> Agent:
    workspace = tmp_path / "ws"
    (workspace / ".stoa").mkdir(parents=True, exist_ok=True)
    if config_toml:
        (workspace / ".stoa" / "config.toml").write_text(config_toml)
    env = {
        "HOME": str(tmp_path / "home"),
        "STOA_HOME": str(tmp_path / "stoa-home"),
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
    }
    config = load_config(workspace, env=env)
    return Agent(
        provider_for=ProviderPool(config),
        model=resolve_model("claude-sonnet-4-6"),
        tools=default_registry(),
        workspace=config.workspace,
        system_prompt="test",
        policy=make_policy(config, mode),
        approver=approver,
        config=config,
        retry=RetryPolicy(max_attempts=1),
    )


async def call(agent: Agent, server: FakeServer, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
    """Run one tool call through the loop; the result the model gets back (from the history:
    a plain "no" ends the turn, so that result only travels with the next request)."""
    call_id = f"c{len(server.requests)}"
    server.script(reply(tool_calls=[tool_call(name, arguments, id=call_id)]), reply(text="ok"))
    async for _ in agent.run_turn(f"call {name}"):
        pass
    server.discard_pending()
    results = [b for m in agent.history.messages for b in m.content if isinstance(b, ToolResultBlock)]
    result = next(r for r in results if r.tool_use_id == call_id)
    return result.text, result.is_error


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
        if ".stoa" not in p.parts
    }


def fill(ws: Path) -> None:
    (ws / "app.py").write_text("x = 1\ny = 2\nx = 1\n")
    (ws / "notes.txt").write_text("hello\n")
    (ws / "taken.txt").write_text("already here\n")
    (ws / "folder").mkdir()
    (ws / "folder" / "inside.txt").write_text("in\n")


# (tool, arguments, words the refusal must contain)
CANNOT_RUN = [
    ("edit_file", {"path": "app.py", "old_string": "z = 3", "new_string": "z = 4"}, "was not found"),
    ("edit_file", {"path": "app.py", "old_string": "x = 1", "new_string": "x = 5"}, "found 2 times"),
    ("edit_file", {"path": "nope.py", "old_string": "a", "new_string": "b"}, "file not found"),
    ("edit_file", {"path": "folder", "old_string": "a", "new_string": "b"}, "is a directory"),
    ("edit_file", {"path": "app.py", "old_string": "y = 2", "new_string": "y = 2"}, "the same"),
    (
        "edit_file",
        {"path": "app.py", "edits": [{"old_string": "y = 2", "new_string": "y = 3"}, {"old_string": "z", "new_string": "w"}]},
        "edits[1] (edit 2 of 2) does not apply",
    ),
    ("write_file", {"path": "folder", "content": "x"}, "is a directory"),
    ("write_file", {"path": "notes.txt/sub.txt", "content": "x"}, "not a directory"),
    ("create_directory", {"path": "notes.txt"}, "is a file"),
    ("move_file", {"source": "missing.txt", "destination": "b.txt"}, "source not found"),
    ("move_file", {"source": "notes.txt", "destination": "taken.txt"}, "already exists"),
    ("move_file", {"source": "folder", "destination": "folder/deeper"}, "into itself"),
    ("copy_file", {"source": "missing.txt", "destination": "b.txt"}, "source not found"),
    ("copy_file", {"source": "notes.txt", "destination": "taken.txt"}, "already exists"),
    ("delete_file", {"path": "missing.txt"}, "file not found"),
    ("delete_file", {"path": "folder"}, "is a directory"),
    ("delete_directory", {"path": "missing"}, "directory not found"),
    ("delete_directory", {"path": "notes.txt"}, "is a file"),
]


@pytest.mark.parametrize(("mode"), ["ask", "auto"])
@pytest.mark.parametrize(("tool", "arguments", "words"), CANNOT_RUN, ids=[f"{c[0]}-{i}" for i, c in enumerate(CANNOT_RUN)])
async def test_a_call_that_cannot_run_is_refused_without_a_question(
    tmp_path: Path, fake_server: FakeServer, mode: str, tool: str, arguments: dict[str, Any], words: str
) -> None:
    recorder = Recorder()
    agent = make_agent(tmp_path, fake_server, recorder, mode=mode)
    fill(agent.workspace)
    before = snapshot(agent.workspace)
    text, is_error = await call(agent, fake_server, tool, arguments)
    assert is_error and words in text, text
    assert recorder.requests == []  # nobody was asked
    assert snapshot(agent.workspace) == before


async def test_an_edit_of_a_file_changed_since_it_was_read_is_refused_before_the_question(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    recorder = Recorder()
    agent = make_agent(tmp_path, fake_server, recorder)
    target = agent.workspace / "app.py"
    target.write_text("x = 1\n")
    await call(agent, fake_server, "read_file", {"path": "app.py"})
    target.write_text("x = 1\n# changed by someone else\n")
    for name, arguments in [
        ("edit_file", {"path": "app.py", "old_string": "x = 1", "new_string": "x = 2"}),
        ("write_file", {"path": "app.py", "content": "x = 3\n"}),
    ]:
        text, is_error = await call(agent, fake_server, name, arguments)
        assert is_error and "changed on disk since you last read it" in text, text
    assert recorder.requests == []
    assert target.read_text() == "x = 1\n# changed by someone else\n"


async def test_a_call_that_can_run_is_still_asked_and_runs(tmp_path: Path, fake_server: FakeServer) -> None:
    recorder = Recorder()
    agent = make_agent(tmp_path, fake_server, recorder)
    fill(agent.workspace)
    text, is_error = await call(agent, fake_server, "edit_file", {"path": "app.py", "old_string": "y = 2", "new_string": "y = 3"})
    assert not is_error, text
    (request,) = recorder.requests
    assert request.kind == "edit" and request.preview and "+y = 3" in request.preview
    assert (agent.workspace / "app.py").read_text() == "x = 1\ny = 3\nx = 1\n"


async def test_a_rejected_question_changes_nothing(tmp_path: Path, fake_server: FakeServer) -> None:
    recorder = Recorder("reject")
    agent = make_agent(tmp_path, fake_server, recorder)
    fill(agent.workspace)
    before = snapshot(agent.workspace)
    text, is_error = await call(agent, fake_server, "delete_file", {"path": "notes.txt"})
    assert is_error and "rejected" in text
    assert len(recorder.requests) == 1 and snapshot(agent.workspace) == before


async def test_outside_the_workspace_the_check_waits_for_the_question(tmp_path: Path, fake_server: FakeServer) -> None:
    """Checking an outside file before the question would be an oracle: 'old_string not found'
    tells the model whether a text is in a file it may not read."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOKEN=abc\n")
    recorder = Recorder("reject")
    agent = make_agent(tmp_path, fake_server, recorder)
    probes = [
        ("edit_file", {"path": str(secret), "old_string": "TOKEN=x", "new_string": "y"}),
        ("edit_file", {"path": str(secret), "old_string": "TOKEN=a", "new_string": "y"}),
        ("delete_file", {"path": str(tmp_path / "outside" / "maybe.txt")}),
        ("move_file", {"source": str(tmp_path / "outside" / "maybe.txt"), "destination": "here.txt"}),
    ]
    for name, arguments in probes:
        text, is_error = await call(agent, fake_server, name, arguments)
        assert is_error and text.startswith("The user rejected this tool call"), text
    assert len(recorder.requests) == len(probes)
    assert secret.read_text() == "TOKEN=abc\n"


async def test_headless_refusals_outside_reveal_nothing(tmp_path: Path, fake_server: FakeServer) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOKEN=abc\n")
    agent = make_agent(tmp_path, fake_server, RefusingApprover())
    present, _ = await call(agent, fake_server, "edit_file", {"path": str(secret), "old_string": "TOKEN=a", "new_string": "y"})
    absent, _ = await call(agent, fake_server, "edit_file", {"path": str(secret), "old_string": "TOKEN=z", "new_string": "y"})
    assert present.startswith("Not run:") and absent == present


async def test_a_read_rule_that_asks_keeps_the_check_behind_the_question(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    recorder = Recorder("reject")
    agent = make_agent(tmp_path, fake_server, recorder, config_toml='[permissions]\nask = ["Read(private/**)"]\n')
    (agent.workspace / "private").mkdir()
    (agent.workspace / "private" / "keys.txt").write_text("k=1\n")
    text, _ = await call(agent, fake_server, "edit_file", {"path": "private/keys.txt", "old_string": "k=2", "new_string": "k=3"})
    assert text.startswith("The user rejected this tool call")
    assert len(recorder.requests) == 1
