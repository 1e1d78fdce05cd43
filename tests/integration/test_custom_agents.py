"""Custom agents from files that are not part of Stoa (Stoa's folder and Claude Code's, with
Claude Code's tool names), broken ones listed with their errors while the rest load, used as
sub-agents through the task tool and as the main conversation with --agent; through the real
CLI against the fake server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]


def stoa(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STOA, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def project(tmp_path: Path, stoa_env: dict[str, str]) -> Path:
    ws = tmp_path / "project"
    agents = ws / ".stoa" / "agents"
    agents.mkdir(parents=True)
    (agents / "reviewer.md").write_text(
        "---\nname: reviewer\ndescription: Reviews diffs for bugs\ntools: read_file, search_code\n"
        "model: claude-haiku-4-5\neffort: low\n---\nREVIEWER-PROMPT: look for bugs, report them by file and line.\n"
    )
    (agents / "typo.md").write_text("---\nname: typo\ndescription: Broken\ntools: Read, Teleport\n---\nx\n")
    (agents / "nomodel.md").write_text("---\ndescription: Broken model\nmodel: gpt-99-imaginary\n---\nx\n")
    claude = ws / ".claude" / "agents"
    claude.mkdir(parents=True)
    (claude / "searcher.md").write_text(
        "---\nname: searcher\ndescription: Finds code fast. Use proactively.\ntools: Read, Grep, Glob\n"
        "model: inherit\ncolor: blue\n---\nSEARCHER-PROMPT\n"
    )
    user = Path(stoa_env["STOA_HOME"]) / "agents"  # the user config folder when STOA_HOME is set
    user.mkdir(parents=True)
    (user / "docs.md").write_text("---\nname: docs\ndescription: Writes docs\n---\nDOCS-PROMPT\n")
    (ws / "app.py").write_text("print('hi')\n")
    return ws


def test_agents_lists_every_agent_and_the_broken_files(project: Path, stoa_env: dict[str, str]) -> None:
    result = stoa(["-p", "/agents"], stoa_env, project)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ("general (built-in)", "explore (built-in)", "plan (built-in)"):
        assert name in out
    assert "reviewer (project, .stoa/agents/reviewer.md): Reviews diffs for bugs" in out
    assert "tools: read_file, search_code · model claude-haiku-4-5" in out
    assert "searcher (project (.claude), .claude/agents/searcher.md)" in out
    assert "docs (user, " in out and "tools: the parent's tools" in out
    assert "tools: read_file, search_code, glob_files" in out
    assert "⚠ typo (project): .stoa/agents/typo.md: unknown tool Teleport; known tools:" in out
    assert "⚠ nomodel (project): .stoa/agents/nomodel.md: model 'gpt-99-imaginary'" in out


def test_a_custom_agent_as_a_sub_agent(project: Path, stoa_env: dict[str, str], fake_server: FakeServer) -> None:
    def sub(request: object) -> bool:
        return "You are a sub-agent of Stoa" in getattr(request, "system", "")

    fake_server.script(
        reply(tool_calls=[tool_call("task", {"description": "review", "prompt": "review app.py", "agent": "reviewer"})],
              match=lambda r: not sub(r)),
        reply(text="No bugs in app.py.", match=sub),
        reply(text="Reviewed: no bugs.", match=lambda r: not sub(r)),
    )
    result = stoa(["-p", "review please"], stoa_env, project)
    assert result.returncode == 0, result.stderr
    first, second, third = fake_server.model_requests()
    task = next(t for t in first.json["tools"] if t["name"] == "task")
    assert "- reviewer: Reviews diffs for bugs" in task["description"]
    assert "- searcher: Finds code fast" in task["description"] and "typo" not in task["description"]
    assert "REVIEWER-PROMPT" in second.system and second.model == "claude-haiku-4-5"
    assert sorted(set(second.tool_names) - {"web_search"}) == ["read_file", "search_code"]
    assert third.tool_results[0].text == "No bugs in app.py."


def test_the_main_conversation_as_an_agent(project: Path, stoa_env: dict[str, str], fake_server: FakeServer) -> None:
    fake_server.script(reply(text="Searching."))
    result = stoa(["--agent", "searcher", "-p", "find main"], stoa_env, project)
    assert result.returncode == 0, result.stderr
    request = fake_server.model_requests()[0]
    assert "SEARCHER-PROMPT" in request.system
    assert sorted(set(request.tool_names) - {"web_search"}) == ["glob_files", "read_file", "search_code", "task"]


def test_an_unknown_or_broken_agent_is_a_usage_error(project: Path, stoa_env: dict[str, str]) -> None:
    unknown = stoa(["--agent", "nobody", "-p", "hi"], stoa_env, project)
    assert unknown.returncode == 2
    # At start-up a model is not looked up (no request): nomodel is offered, and fails when used.
    assert "there is no agent 'nobody'; the agents are: general, explore, plan, nomodel, reviewer, searcher, docs" in unknown.stderr
    broken = stoa(["--agent", "typo", "-p", "hi"], stoa_env, project)
    assert broken.returncode == 2 and "unknown tool Teleport" in broken.stderr


def test_an_agent_whose_model_does_not_exist_fails_readably(
    project: Path, stoa_env: dict[str, str], fake_server: FakeServer
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("task", {"description": "x", "prompt": "do x", "agent": "nomodel"})]),
        reply(text="That agent is broken."),
    )
    result = stoa(["-p", "use nomodel"], stoa_env, project)
    assert result.returncode == 0, result.stderr
    (failed,) = fake_server.model_requests()[-1].tool_results
    assert "the agent 'nomodel' could not start" in failed.text and "gpt-99-imaginary" in failed.text
    assert all("You are a sub-agent" not in r.system for r in fake_server.model_requests())
