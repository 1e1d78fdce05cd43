"""Command-line flags of issue 19 through the real CLI against the fake server: -C/--cd,
--set, --append-system-prompt, --system-prompt-file, --allowed-tools, --disallowed-tools,
--add-dir, --mcp-config, and the usage errors (exit 2) of each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.test_headless import stoa
from tests.mcp_servers.helpers import stdio_entry


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "README.md").write_text("# Demo project\nIt prints hello.\n")
    return ws


def test_cd_runs_in_that_folder(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path) -> None:
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": "README.md"})]), reply(text="ok"))
    result = stoa(["-C", str(workspace), "-p", "read it"], stoa_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "It prints hello." in fake_server.model_requests()[1].tool_results[0].text
    bad = stoa(["--cd", str(tmp_path / "nope"), "-p", "hi"], stoa_env, tmp_path)
    assert bad.returncode == 2 and "-C/--cd" in bad.stderr and "pass an existing folder" in bad.stderr


def test_set_any_key_and_unknown_keys(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(reply(text="ok"))
    result = stoa(["--set", "max-tokens=1234", "-p", "hi"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert fake_server.model_requests()[0].json["max_tokens"] == 1234
    bad = stoa(["--set", "max-tokenz=5", "-p", "hi"], stoa_env, workspace)
    assert bad.returncode == 2
    assert "unknown key 'max-tokenz'" in bad.stderr and "max-tokens" in bad.stderr and "sandbox.network" in bad.stderr
    assert stoa(["--set", "max-tokens", "-p", "hi"], stoa_env, workspace).returncode == 2
    wrong = stoa(["--set", "max-tokens=many", "-p", "hi"], stoa_env, workspace)
    assert wrong.returncode == 2 and "max-tokens: Input should be a valid integer" in wrong.stderr
    assert len(fake_server.model_requests()) == 1


def test_system_prompt_flags(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path) -> None:
    fake_server.script(reply(text="one"), reply(text="two"))
    assert stoa(["--append-system-prompt", "Answer in French.", "-p", "hi"], stoa_env, workspace).returncode == 0
    system = fake_server.model_requests()[0].system
    assert system.rstrip().endswith("Answer in French.") and "AGENTS.md" not in system[-20:]
    prompt_file = tmp_path / "prompt.md"
    prompt_file.write_text("You are a terse reviewer.")
    args = ["--system-prompt-file", str(prompt_file), "--append-system-prompt", "Be kind.", "-p", "hi"]
    assert stoa(args, stoa_env, workspace).returncode == 0
    assert fake_server.model_requests()[1].system == "You are a terse reviewer.\n\nBe kind."
    missing = stoa(["--system-prompt-file", str(tmp_path / "none.md"), "-p", "hi"], stoa_env, workspace)
    assert missing.returncode == 2 and "--system-prompt-file" in missing.stderr


def test_allowed_and_disallowed_tools(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("write_file", {"path": "a.txt", "content": "x"}),
                tool_call("execute_bash", {"command": "echo hi"}),
            ]
        ),
        reply(text="ok"),
    )
    args = ["--mode", "ask", "--allowed-tools", "write_file", "--disallowed-tools", "execute_bash", "-p", "go"]
    result = stoa(args, stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert (workspace / "a.txt").read_text() == "x"  # asked in ask mode, allowed by the flag
    results = fake_server.model_requests()[1].tool_results
    assert "Denied" in results[1].text and "Bash" in results[1].text
    both = stoa(["--allowed-tools", "Bash(git diff:*),write_file", "--disallowed-tools", "write_file", "-p", "x"], stoa_env, workspace)
    assert both.returncode == 2 and "--allowed-tools and --disallowed-tools both name write_file" in both.stderr


def test_add_dir(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path) -> None:
    other = tmp_path / "shared"
    other.mkdir()
    fake_server.script(reply(tool_calls=[tool_call("write_file", {"path": str(other / "n.txt"), "content": "y"})]), reply(text="ok"))
    result = stoa(["--add-dir", str(other), "-p", "write there"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert (other / "n.txt").read_text() == "y"
    bad = stoa(["--add-dir", str(tmp_path / "none"), "-p", "x"], stoa_env, workspace)
    assert bad.returncode == 2 and "--add-dir" in bad.stderr


def test_mcp_config(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path) -> None:
    servers = tmp_path / "servers.json"
    servers.write_text(json.dumps({"mcpServers": {"t": {"type": "stdio", **stdio_entry()}}}))
    fake_server.script(reply(text="ok"))
    result = stoa(["--mcp-config", str(servers), "-p", "hi"], stoa_env, workspace, timeout=120)
    assert result.returncode == 0, result.stderr
    assert any(name.startswith("t___") for name in fake_server.model_requests()[0].tool_names)
    servers.write_text("{oops")
    bad = stoa(["--mcp-config", str(servers), "-p", "hi"], stoa_env, workspace)
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr


def user_line(text: str) -> str:
    return json.dumps({"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": text}]}})


def test_input_format_stream_json(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(reply(text="first answer"), reply(text="second answer"))
    stdin = user_line("first question") + "\n\n" + json.dumps({"type": "user", "message": {"role": "user", "content": "second question"}}) + "\n"
    result = stoa(["--input-format", "stream-json", "--output-format", "stream-json"], stoa_env, workspace, stdin=stdin)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["subtype"] == "init" and events[-1]["type"] == "result" and events[-1]["result"] == "second answer"
    assert [e["type"] for e in events].count("TurnFinished") == 2
    second = fake_server.model_requests()[1]
    assert second.user_texts[0].startswith("first question") and second.user_texts[-1] == "second question"
    fake_server.script(reply(text="ok"))
    bad = stoa(["--input-format", "stream-json"], stoa_env, workspace, stdin=user_line("ok") + "\nnot json\n")
    assert bad.returncode == 1 and "stdin line 2 is not JSON" in bad.stderr
    clash = stoa(["--input-format", "stream-json", "-p", "hi"], stoa_env, workspace, stdin=user_line("x"))
    assert clash.returncode == 2 and "conflicts with -p" in clash.stderr


def test_log_file_and_debug_redact_secrets(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path) -> None:
    secret = "sk-ant-api03-" + "Z" * 40
    env = {**stoa_env, "ANTHROPIC_API_KEY": secret}
    (workspace / "key.txt").write_text(f"the key is {secret}\n")
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": "key.txt"})]), reply(text="ok"))
    log = tmp_path / "run.log"
    result = stoa(["--debug", "--log-file", str(log), "-p", "read key.txt"], env, workspace)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [r["message"] for r in records if r["logger"] == "stoa.events"]
    assert "RequestStarted" in kinds and "ToolCallStarted" in kinds and "ToolCallFinished" in kinds
    assert secret not in log.read_text() and secret not in result.stderr
    assert '"logger": "stoa.events"' in result.stderr  # --debug: the records on stderr too
    rotating = Path(stoa_env["STOA_HOME"]) / "logs" / "stoa.log"
    assert "ToolCallFinished" in rotating.read_text() and secret not in rotating.read_text()


def test_debug_bundle(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    import zipfile

    secret = "sk-ant-api03-" + "Q" * 40
    env = {**stoa_env, "ANTHROPIC_API_KEY": secret, "TERM_PROGRAM": "tmux", "UNLISTED_VAR": "private"}
    (workspace / "key.txt").write_text(f"key {secret}\n")
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": "key.txt"})]), reply(text="It holds a key."))
    assert stoa(["-p", "read key.txt"], env, workspace).returncode == 0
    result = stoa(["-c", "-p", "/debug-bundle bug.zip"], env, workspace)
    assert result.returncode == 0, result.stderr
    assert "bug.zip" in result.stdout + result.stderr
    with zipfile.ZipFile(workspace / "bug.zip") as bundle:
        names = set(bundle.namelist())
        assert names == {"conversation.md", "messages.json", "metadata.json", "stoa.log", "environment.json"}
        texts = {name: bundle.read(name).decode() for name in names}
    assert "read key.txt" in texts["conversation.md"] and "It holds a key." in texts["conversation.md"]
    assert json.loads(texts["messages.json"])[0]["role"] == "user"
    metadata = json.loads(texts["metadata.json"])
    assert metadata["model"] == "claude-sonnet-5-5" and metadata["session_id"]
    environment = json.loads(texts["environment.json"])
    assert environment["TERM_PROGRAM"] == "tmux" and environment["ANTHROPIC_API_KEY"] == "(set)"
    assert "UNLISTED_VAR" not in environment
    assert "ToolCallFinished" in texts["stoa.log"]
    assert not any(secret in text for text in texts.values())
    again = stoa(["-c", "-p", "/debug-bundle bug.zip"], env, workspace)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_a_headless_command_in_stream_json_ends_with_a_result_line(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    result = stoa(["-p", "/hooks", "--output-format", "stream-json"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["type"] == "command_output" and "no hooks configured" in lines[0]["text"]
    assert lines[-1]["type"] == "result" and lines[-1]["success"] is True and lines[-1]["command"] == "hooks"
    assert fake_server.model_requests() == []


def test_tool_lists_take_claude_code_names_and_refuse_typos(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(reply(tool_calls=[tool_call("edit_file", {"path": "README.md", "old_string": "hello", "new_string": "bye"})]), reply(text="ok"))
    result = stoa(["--disallowedTools", "Edit,mcp__github__create_issue", "-p", "edit"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert "hello" in (workspace / "README.md").read_text()
    assert "Denied" in fake_server.model_requests()[1].tool_results[0].text
    typo = stoa(["--disallowed-tools", "Bsh(rm:*)", "-p", "x"], stoa_env, workspace)
    assert typo.returncode == 2 and "--disallowed-tools: 'Bsh(rm:*)' is not a tool or rule" in typo.stderr
