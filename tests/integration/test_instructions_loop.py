"""The instruction hierarchy on the wire: the system prompt carries each file labelled with its
source (the same bytes on every request), and a sub-folder's AGENTS.md joins the conversation
after the agent first reads a file there, once, on all three wire formats."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from stoa.core import events as ev
from stoa.core.config import load_config
from stoa.core.permissions.approver import RefusingApprover
from stoa.core.runtime import Choices, Runtime, build_runtime
from tests.fake_server import FakeServer, reply, tool_call

MODELS = {"anthropic": ("claude-sonnet-4-6", None), "openai": ("gpt-5.5", None), "ollama": ("qwen3:8b", "ollama")}


def make_runtime(tmp_path: Path, server: FakeServer, provider: str = "anthropic") -> Runtime:
    repo = tmp_path / "repo"
    ws = repo / "app"
    (repo / ".git").mkdir(parents=True)
    ws.mkdir()
    stoa_home = tmp_path / "stoa-home"
    stoa_home.mkdir()
    (stoa_home / "AGENTS.md").write_text("GLOBAL RULE: British spelling.\n")
    (repo / "AGENTS.md").write_text("REPO RULE: run make check.\n")
    (ws / "CLAUDE.md").write_text("APP RULE: see @docs/style.md\n")
    (ws / "docs").mkdir()
    (ws / "docs" / "style.md").write_text("STYLE RULE: four spaces.\n")
    (ws / ".stoa").mkdir()
    (ws / ".stoa" / "instructions.md").write_text("PERSONAL RULE: be brief.\n")
    (ws / "lib" / "db").mkdir(parents=True)
    (ws / "lib" / "AGENTS.md").write_text("LIB RULE: no globals.\n")
    (ws / "lib" / "db" / "AGENTS.md").write_text("DB RULE: use transactions.\n")
    (ws / "lib" / "db" / "models.py").write_text("class User: ...\n")
    (ws / "lib" / "db" / "query.py").write_text("SELECT = 1\n")
    (ws / "top.py").write_text("x = 1\n")
    env = {
        "HOME": str(tmp_path / "home"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "STOA_HOME": str(stoa_home),
        "ANTHROPIC_API_KEY": "test-key",
        "OPENAI_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
        "OPENAI_BASE_URL": server.openai_base_url,
    }
    model, kind = MODELS[provider]
    choices = Choices(model=model, provider=kind, base_url=server.openai_base_url if kind else None)
    return build_runtime(load_config(ws, env=env), choices, approver=RefusingApprover())


async def run(runtime: Runtime, text: str) -> list[ev.Event]:
    return [event async for event in runtime.agent.run_turn(text)]


@pytest.mark.parametrize("provider", list(MODELS))
async def test_labelled_sources_in_the_system_prompt_and_nested_after_the_first_read(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    runtime = make_runtime(tmp_path, fake_server, provider)
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "top.py"})]),
        reply(tool_calls=[tool_call("read_file", {"path": "lib/db/models.py"})]),
        reply(tool_calls=[tool_call("read_file", {"path": "lib/db/query.py"})]),
        reply(text="done"),
        reply(tool_calls=[tool_call("edit_file", {"path": "lib/db/query.py", "old_string": "1", "new_string": "2"})]),
        reply(text="edited"),
    )
    events = await run(runtime, "look around")
    events += await run(runtime, "change the query")
    requests = fake_server.model_requests()
    assert len(requests) == 6
    system = requests[0].system
    order = ["GLOBAL RULE", "REPO RULE", "APP RULE", "STYLE RULE", "PERSONAL RULE"]
    assert [system.index(m) for m in order] == sorted(system.index(m) for m in order)
    repo = tmp_path / "repo"
    assert f'<instructions source="{repo / "AGENTS.md"}" scope="project">' in system
    assert '<instructions source="CLAUDE.md" scope="project">' in system
    assert '<instructions source="docs/style.md" scope="import" imported-by="CLAUDE.md">' in system
    assert '<instructions source=".stoa/instructions.md" scope="personal">' in system
    assert "LIB RULE" not in system and "DB RULE" not in system
    # Stable: every request carries the very same system prompt.
    assert {r.system for r in requests} == {system}

    def carried(index: int) -> str:
        return "\n".join(requests[index].user_texts)

    # After reading top.py (workspace root): nothing nested.
    assert "LIB RULE" not in carried(1)
    # After the first read in lib/db: both folders' files, outermost first, after the result.
    second = carried(2)
    assert "LIB RULE" in second and "DB RULE" in second
    assert second.index("LIB RULE") < second.index("DB RULE")
    assert '<instructions source="lib/AGENTS.md" scope="nested">' in second
    assert "Instructions for the folder lib/db/" in second
    # Once: the later requests carry them only as history (one copy each).
    for index in (3, 5):
        assert carried(index).count("DB RULE") == 1 and carried(index).count("LIB RULE") == 1
    notices = [e.text for e in events if isinstance(e, ev.Notice)]
    assert notices.count("instructions loaded for this folder: lib/AGENTS.md, lib/db/AGENTS.md") == 1


async def test_a_failed_read_loads_nothing_and_a_cleared_conversation_loads_again(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    runtime = make_runtime(tmp_path, fake_server)
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "lib/db/missing.py"})]),
        reply(text="not there"),
        reply(tool_calls=[tool_call("read_file", {"path": "lib/db/models.py"})]),
        reply(text="read"),
    )
    await run(runtime, "read a missing file")
    assert "DB RULE" not in "\n".join(fake_server.model_requests()[1].user_texts)
    runtime.agent.reset()
    await run(runtime, "read again")
    last = fake_server.model_requests()[3]
    assert "\n".join(last.user_texts).count("DB RULE") == 1


async def test_a_changed_instruction_file_changes_the_prompt_once(tmp_path: Path, fake_server: FakeServer) -> None:
    runtime = make_runtime(tmp_path, fake_server)
    fake_server.script(reply(text="one"), reply(text="two"), reply(text="three"))
    await run(runtime, "first")
    (runtime.config.workspace / "AGENTS.md").write_text("NEW RULE: tabs.\n")
    await run(runtime, "second")
    await run(runtime, "third")
    systems: list[Any] = [r.system for r in fake_server.model_requests()]
    assert "NEW RULE" not in systems[0]
    assert "NEW RULE" in systems[1] and systems[1] == systems[2]


async def test_an_at_mention_in_a_folder_loads_its_instructions_with_the_message(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    runtime = make_runtime(tmp_path, fake_server)
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "lib/db/query.py"})]),
        reply(text="seen"),
    )
    events = await run(runtime, "what does @lib/db/models.py hold?")
    requests = fake_server.model_requests()
    first = "\n".join(requests[0].user_texts)
    assert "class User" in first and "LIB RULE" in first and "DB RULE" in first
    # After the attachment, as Stoa's addition, and only once in the whole conversation.
    assert first.index("class User") < first.index("DB RULE")
    assert "\n".join(requests[1].user_texts).count("DB RULE") == 1
    notices = [e.text for e in events if isinstance(e, ev.Notice)]
    assert "instructions loaded for this folder: lib/AGENTS.md, lib/db/AGENTS.md" in notices


async def test_loaded_instructions_are_not_shown_as_something_the_person_typed(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    from stoa.app.replay import records_from_history
    from stoa.core.sessions.records import user_records

    runtime = make_runtime(tmp_path, fake_server)
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "lib/db/models.py"})]),
        reply(text="read"),
        reply(text="ok"),
    )
    await run(runtime, "read the models")
    await run(runtime, "and @lib/db/query.py")
    shown = [getattr(r, "text", "") for r in records_from_history(runtime.agent.history.messages)]
    assert not any("RULE" in text for text in shown), shown
    assert any("and @lib/db/query.py" in text for text in shown)
    for message in runtime.agent.history.messages:
        if message.role == "user":
            saved = user_records(message.content, steering=False)
            assert not any("RULE" in str(data.get("text", "")) for _, data in saved), saved
