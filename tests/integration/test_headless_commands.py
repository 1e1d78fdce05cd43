"""Slash commands from the shell: `stoa -p "/NAME ARGS"` runs a command that has a headless form
(no model request), anything else is sent as a prompt; `//text` sends text starting with "/"."""

from __future__ import annotations

import json
from pathlib import Path

from stoa.app.commands import builtin_registry, parse_slash
from tests.fake_server import FakeServer, reply
from tests.integration.test_headless import stoa


def test_a_headless_command_runs_without_a_model_request_or_a_key(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    env = {k: v for k, v in stoa_env.items() if not k.endswith("_API_KEY")}
    result = stoa(["-p", "/help"], env, workspace)
    assert result.returncode == 0, result.stderr
    assert "/help" in result.stdout and "sent as a prompt" in result.stdout
    assert fake_server.model_requests() == []


def test_json_output_of_a_command(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    result = stoa(["-p", "/help", "--output-format", "json"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["success"] is True and payload["command"] == "help"
    assert "/help" in payload["response"] and payload["session_id"]


def test_other_slash_text_is_a_prompt(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    fake_server.script(reply(text="one"), reply(text="two"), reply(text="three"))
    for prompt, sent in [
        ("/usr/bin/env is a path", "/usr/bin/env is a path"),
        ("/no-such-command please", "/no-such-command please"),
        ("//help is text", "/help is text"),
    ]:
        result = stoa(["-p", prompt], stoa_env, workspace)
        assert result.returncode == 0, result.stderr
        body = json.dumps(fake_server.model_requests()[-1].json)
        assert json.dumps(sent)[1:-1] in body, (prompt, body[-300:])


def test_parse_slash_splits_on_any_whitespace() -> None:
    assert parse_slash("/compact keep the API notes") == ("compact", "keep the API notes")
    assert parse_slash("/help\n\n<stdin>\nx/y\n</stdin>") == ("help", "<stdin>\nx/y\n</stdin>")
    assert parse_slash("/ help") is None and parse_slash("//x") is None and parse_slash("/a/b c") is None


def test_every_headless_form_belongs_to_a_command() -> None:
    forms = [cmd.name for cmd in builtin_registry() if cmd.headless is not None]
    assert "help" in forms
