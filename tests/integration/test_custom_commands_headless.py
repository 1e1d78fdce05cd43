"""Custom slash commands from the shell (`stoa -p "/greet Bob"`): command files in the project's
.stoa/commands and .claude/commands and in the user's config folder, the installed CLI, the fake
provider server."""

from __future__ import annotations

import json
from pathlib import Path

from stoa.core.custom_commands import CustomCommand, parse_front_matter, split_tools
from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.test_headless import stoa


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _project(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    return ws


def test_arguments_are_substituted_and_sent(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    _write(ws / ".stoa" / "commands" / "greet.md",
           "---\ndescription: Greet someone\nargument-hint: NAME [MOOD]\n---\nSay hello to $1, who is $2. All: $ARGUMENTS.\n")
    fake_server.script(reply(text="Hello Bob!"))
    result = stoa(["-p", "/greet Bob 'very happy'"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello Bob!\n"
    sent = fake_server.model_requests()[0].user_texts
    assert sent[-1] == "Say hello to Bob, who is very happy. All: Bob 'very happy'."


def test_claude_folder_user_folder_and_namespaces(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    _write(ws / ".claude" / "commands" / "git" / "summary.md", "Summarize the last commits.")
    _write(Path(stoa_env["STOA_HOME"]) / "commands" / "tidy.md", "Tidy the code")
    fake_server.script(reply(text="one"), reply(text="two"))
    first = stoa(["-p", "/git:summary"], stoa_env, ws)
    second = stoa(["-p", "/tidy src/"], stoa_env, ws)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    texts = [r.user_texts[-1] for r in fake_server.model_requests()]
    assert texts == ["Summarize the last commits.", "Tidy the code\n\nsrc/"]


def test_help_lists_custom_commands_and_the_broken_one(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    _write(ws / ".stoa" / "commands" / "greet.md", "---\ndescription: Greet someone\n---\nHi $ARGUMENTS")
    _write(ws / ".stoa" / "commands" / "broken.md", "---\ndescription: never closed\nHi")
    _write(ws / ".stoa" / "commands" / "help.md", "my own help")
    result = stoa(["-p", "/help"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "/greet" in result.stdout and "Greet someone (project)" in result.stdout
    assert "/broken" in result.stdout and "the front matter is not closed" in result.stdout
    assert "names /help, which is taken" in result.stdout
    assert fake_server.model_requests() == []


def test_broken_command_refuses_to_run(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    _write(ws / ".stoa" / "commands" / "broken.md", "---\nthis line is no key\n---\nHi")
    result = stoa(["-p", "/broken"], stoa_env, ws)
    assert result.returncode == 2
    assert "front matter line 2 is not 'key: value'" in result.stderr and "broken.md" in result.stderr
    assert fake_server.model_requests() == []


def test_model_and_allowed_tools_hold_for_the_command_turn(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = _project(tmp_path)
    _write(ws / ".stoa" / "commands" / "stamp.md",
           "---\nmodel: gpt-5.5\nallowed-tools: Bash(touch stamp.txt), Edit\n---\nMake the stamp.\n")
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "touch stamp.txt"})]),
        reply(text="Stamped."),
    )
    result = stoa(["-p", "/stamp", "--mode", "ask", "--output-format", "json"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert (ws / "stamp.txt").exists()  # allowed without asking (headless would refuse an ask)
    assert "allowed-tools entry 'Edit' is left out" in result.stderr
    assert fake_server.model_requests()[0].model == "gpt-5.5"
    assert json.loads(result.stdout)["model"] == "gpt-5.5"


def test_unknown_model_refuses_the_command(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    _write(ws / ".stoa" / "commands" / "odd.md", "---\nmodel: no-such-model-9\n---\nHi")
    result = stoa(["-p", "/odd"], stoa_env, ws)
    assert result.returncode == 2
    assert "model 'no-such-model-9' cannot be used" in result.stderr


def test_front_matter_and_expansion_rules(tmp_path: Path) -> None:
    meta, body = parse_front_matter('---\ndescription: "Quoted: yes"\n# a comment\n\n---\nBody\n')
    assert meta == {"description": "Quoted: yes"} and body == "Body\n"
    assert parse_front_matter("No front matter\n---\n") == ({}, "No front matter\n---\n")
    assert split_tools('[Bash(git add:*), "Read(src/**)"]') == ("Bash(git add:*)", "Read(src/**)")
    cmd = CustomCommand("c", tmp_path, "project", body="a $1 b $3 c")
    assert cmd.expand("x y") == "a x b  c"
    assert CustomCommand("c", tmp_path, "project", body="fixed").expand("") == "fixed"


def test_claude_style_front_matter_is_read(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    """A command written for Claude Code: a YAML list of tools, a folded description, a key
    Stoa does not know (ignored, and said so), one it knows to ignore."""
    ws = _project(tmp_path)
    _write(ws / ".claude" / "commands" / "commit.md",
           "---\nallowed-tools:\n  - Bash(git status)\n  - Bash(git add:*)\ndescription: >\n  Make a\n  commit\n"
           "disable-model-invocation: true\ncolor: blue\n---\nCommit: $ARGUMENTS\n")
    listed = stoa(["-p", "/help"], stoa_env, ws)
    assert "Make a commit (project (.claude); ignores color)" in listed.stdout
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "/commit all of it"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert fake_server.model_requests()[0].user_texts[-1] == "Commit: all of it"
