"""MCP prompts as /server:prompt commands and resources as @server:uri mentions, from the shell:
the real test MCP server over stdio (tests/mcp_servers/stoa_test_server.py), the installed CLI,
the fake provider server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stoa.core.mcp.extras import ExtrasError, PromptInfo, prompt_arguments
from tests.fake_server import FakeServer, reply
from tests.integration.test_headless import stoa
from tests.mcp_servers.helpers import stdio_entry, write_servers


def _project(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    write_servers(ws, {"docs": stdio_entry()})
    return ws


def test_prompt_runs_as_a_command(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="Reviewed."))
    result = stoa(["-p", "/docs:review src/app.py 'error handling'"], stoa_env, ws, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Reviewed.\n"
    assert fake_server.model_requests()[0].user_texts[-1] == "Review src/app.py with a focus on error handling."


def test_prompt_without_its_required_argument(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    result = stoa(["-p", "/docs:review"], stoa_env, ws, timeout=120)
    assert result.returncode == 2
    assert "/docs:review needs path: /docs:review <path> [focus]" in result.stderr
    assert fake_server.model_requests() == []


def test_a_prompt_the_server_does_not_have_is_sent_as_text(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "/docs:nothing here"], stoa_env, ws, timeout=120)
    assert result.returncode == 0, result.stderr
    assert fake_server.model_requests()[0].user_texts[-1] == "/docs:nothing here"


def test_resource_mentions_attach_text_and_images(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="Shipping."))
    result = stoa(["-p", "read @docs:stoa://notes/readme and @docs:stoa://img/dot.png"], stoa_env, ws, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "attached: docs:stoa://notes/readme (MCP resource); docs:stoa://img/dot.png (MCP resource)" in result.stderr
    content = fake_server.model_requests()[0].json["messages"][-1]["content"]
    assert [b["type"] for b in content] == ["text", "text", "text", "image"]
    assert "The notes say: ship it." in content[1]["text"]


def test_unknown_resource_and_deny_rule(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="ok"), reply(text="ok"))
    result = stoa(["-p", "read @docs:stoa://nope"], stoa_env, ws, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "@docs:stoa://nope is not attached: the MCP server 'docs' could not read stoa://nope" in result.stderr
    (ws / ".stoa" / "config.local.toml").write_text('[permissions]\ndeny = ["Mcp(docs)"]\n')
    denied = stoa(["-p", "read @docs:stoa://notes/readme"], stoa_env, ws, timeout=120)
    assert denied.returncode == 0, denied.stderr
    assert "@docs:stoa://notes/readme is not attached:" in denied.stderr
    assert "ship it" not in json.dumps(fake_server.model_requests()[1].json)


def test_prompt_arguments() -> None:
    prompt = PromptInfo("s", "p", arguments=(("path", True), ("focus", False)))
    assert prompt_arguments(prompt, "a.py") == {"path": "a.py"}
    assert prompt_arguments(prompt, "a.py the whole thing") == {"path": "a.py", "focus": "the whole thing"}
    assert prompt_arguments(prompt, "focus=speed path=b.py") == {"path": "b.py", "focus": "speed"}
    with pytest.raises(ExtrasError, match="needs path"):
        prompt_arguments(prompt, "focus=speed")
    with pytest.raises(ExtrasError, match="takes no arguments"):
        prompt_arguments(PromptInfo("s", "bare"), "extra")
