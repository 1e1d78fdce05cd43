"""`stoa -p` end to end: real subprocesses of the installed console script against the fake
provider server, reached through ANTHROPIC_BASE_URL / OPENAI_BASE_URL as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, fault, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]


def stoa(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STOA, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "README.md").write_text("# Demo project\nIt prints hello.\n")
    return ws


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gpt-5.5"])
def test_one_line_answer(model: str, stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(reply(text="Four."))
    result = stoa(["-m", model, "-p", "what is 2+2?"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Four.\n"
    request = fake_server.model_requests()[0]
    assert request.model == model
    assert "what is 2+2?" in json.dumps(request.json)


def test_tool_activity_goes_to_stderr(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "README.md"})]),
        reply(text="It is a demo project."),
    )
    result = stoa(["summarize README.md"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "It is a demo project.\n"
    assert "read_file README.md" in result.stderr and "✓ read_file" in result.stderr
    assert "It prints hello." in json.dumps(fake_server.model_requests()[1].json)


def test_json_output(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(reply(text="Done.", input_tokens=1200, output_tokens=30, cache_read_tokens=800))
    result = stoa(["-p", "hi", "--output-format", "json"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["success"] is True and data["response"] == "Done."
    assert data["model"] == "claude-sonnet-5-5"  # the default: the current Sonnet
    assert data["usage"]["input_tokens"] == 1200 and data["usage"]["cache_read_tokens"] == 800
    assert data["cost_usd"] == pytest.approx((1200 * 2 + 30 * 10 + 800 * 0.1) / 1e6, abs=1e-6)
    assert "session_id" in data


def test_stream_json_is_one_event_per_line(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(reply(tool_calls=[tool_call("list_directory", {"path": "."})]), reply(text="Listed."))
    result = stoa(["-p", "list", "--output-format", "stream-json"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "system" and kinds[1] == "TurnStarted" and kinds[-2] == "TurnFinished"
    assert "ToolCallStarted" in kinds and "ToolCallFinished" in kinds and "UsageUpdated" in kinds
    init, result = events[0], events[-1]
    assert init["subtype"] == "init" and init["session_id"] and init["model"] == "claude-sonnet-5-5"
    assert "list_directory" in init["tools"] and init["cwd"] == str(workspace.resolve())
    assert result["type"] == "result" and result["success"] is True and result["subtype"] == "success"
    assert result["session_id"] == init["session_id"] and result["model"] == init["model"]
    assert result["result"] == "Listed." and result["usage"]["output_tokens"] > 0
    assert "cost_usd" in result and result["duration_ms"] >= 0


def test_json_formats_answer_every_failure(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    no_key = {k: v for k, v in stoa_env.items() if k != "ANTHROPIC_API_KEY"}
    result = stoa(["-m", "claude-sonnet-4-6", "-p", "hi", "--output-format", "json"], no_key, workspace)
    assert result.returncode == 1 and "ANTHROPIC_API_KEY" in result.stderr
    data = json.loads(result.stdout)
    assert data["success"] is False and "ANTHROPIC_API_KEY" in data["error"] and data["exit_code"] == 1
    usage = stoa(["--set", "nope=1", "-p", "hi", "--output-format", "stream-json"], stoa_env, workspace)
    assert usage.returncode == 2
    (line,) = usage.stdout.splitlines()
    last = json.loads(line)
    assert last["type"] == "result" and last["success"] is False and "unknown key 'nope'" in last["error"]
    parse = stoa(["--max-turns", "zero", "-p", "hi", "--output-format=json"], stoa_env, workspace)
    assert parse.returncode == 2 and json.loads(parse.stdout)["success"] is False
    assert fake_server.model_requests() == []


def test_piped_stdin_is_appended(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(reply(text="Looks fine."))
    result = stoa(["review this"], stoa_env, workspace, stdin="diff --git a/x b/x\n+added line\n")
    assert result.returncode == 0, result.stderr
    sent = json.dumps(fake_server.model_requests()[0].json)
    assert "review this" in sent and "+added line" in sent


def test_dash_reads_the_prompt_from_stdin(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "-"], stoa_env, workspace, stdin="prompt from stdin\n")
    assert result.returncode == 0, result.stderr
    assert "prompt from stdin" in json.dumps(fake_server.model_requests()[0].json)


def test_p_without_text_takes_the_prompt_from_stdin_or_the_argument(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    """-p as Claude Code's flag: `cat x | stoa -p`, `stoa -p --model M "hi"`."""
    fake_server.script(reply(text="from the pipe"), reply(text="from the argument"))
    piped = stoa(["-p"], stoa_env, workspace, stdin="explain the pipe\n")
    assert piped.returncode == 0 and piped.stdout == "from the pipe\n", piped.stderr
    flagged = stoa(["-p", "--model", "claude-haiku-4-5", "say it"], stoa_env, workspace)
    assert flagged.returncode == 0 and flagged.stdout == "from the argument\n", flagged.stderr
    first, second = fake_server.model_requests()
    assert "explain the pipe" in first.user_texts[-1]
    assert second.json["model"] == "claude-haiku-4-5" and second.user_texts[-1] == "say it"
    alone = stoa(["-p"], stoa_env, workspace)  # nothing piped (stdin is /dev/null), no argument
    assert alone.returncode == 2 and "-p needs a prompt" in alone.stderr
    assert len(fake_server.model_requests()) == 2


def test_a_reader_that_goes_away_ends_the_run_quietly(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    """`stoa -p ... --output-format stream-json | head -1`: no traceback, the shell's 141."""
    fake_server.script(reply(text="word " * 3000, chunk_size=5, delay_per_event=0.001))
    process = subprocess.Popen(
        [*STOA, "-p", "write a lot", "--output-format", "stream-json"], env=stoa_env, cwd=workspace,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert json.loads(process.stdout.readline())["type"] == "system"
    process.stdout.close()  # the reader is gone while the reply still streams
    code = process.wait(timeout=60)
    stderr = process.stderr.read().decode()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert code == 141


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-p", "   "], "empty prompt"),
        (["-m", "gpt-2", "-p", "hi"], "model list does not offer it. Available: gpt-6.2-astra, gpt-6.2-sol"),
        (["-m", "claude-nonesuch-9", "-p", "hi"], "model list does not offer it. Available: claude-fable-5-2"),
        (["-m", "claude-haiku-4-5", "-e", "xhigh", "-p", "hi"], "valid levels"),
        (["-m", "opus", "-e", "off", "-p", "hi"], "cannot be turned off); valid levels: low, medium, high, xhigh, max"),
        (["--provider", "nonsense", "-p", "hi"], "unknown provider"),
        (["--mode", "yolo", "-p", "hi"], "invalid choice"),
        (["--max-tokens", "0", "-p", "hi"], "positive"),
    ],
)
def test_usage_errors_exit_2(args: list[str], needle: str, stoa_env: dict[str, str], workspace: Path) -> None:
    result = stoa(args, stoa_env, workspace)
    assert result.returncode == 2
    assert needle in result.stderr


def test_missing_key_names_the_variable(stoa_env: dict[str, str], workspace: Path) -> None:
    env = {k: v for k, v in stoa_env.items() if not k.endswith("_API_KEY")}
    result = stoa(["-p", "hi"], env, workspace)
    assert result.returncode == 1
    assert "ANTHROPIC_API_KEY" in result.stderr and "OPENAI_API_KEY" in result.stderr
    result = stoa(["-m", "gpt-5.4", "-p", "hi"], env, workspace)
    assert result.returncode == 1
    assert "OPENAI_API_KEY" in result.stderr


def test_unreachable_base_url_is_a_clear_runtime_error(stoa_env: dict[str, str], workspace: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(stoa_env, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}")
    result = stoa(["-p", "hi"], env, workspace)
    assert result.returncode == 1
    assert "error:" in result.stderr and f"127.0.0.1:{port}" in result.stderr


@pytest.mark.protocol_invalid_ok  # the failed attempt is recorded as sent
def test_provider_failure_exits_1(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(fault("bad_request", message="messages: text content blocks must be non-empty"))
    result = stoa(["-p", "hi", "--output-format", "json"], stoa_env, workspace)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["success"] is False and "non-empty" in data["error"]


def test_plan_mode_refuses_writes(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "new.txt", "content": "x"})]),
        reply(text="I could not write it."),
    )
    result = stoa(["--safe-mode", "-p", "write new.txt"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert not (workspace / "new.txt").exists()
    tools = [t["name"] for t in fake_server.model_requests()[0].json["tools"]]
    assert "write_file" not in tools and "read_file" in tools


def test_headless_refuses_what_would_ask(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": str(secret)})]), reply(text="Refused."))
    result = stoa(["-p", "read the secret"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    sent = json.dumps(fake_server.model_requests()[1].json)
    assert "TOP SECRET" not in sent and "Headless mode cannot ask" in sent


def test_version(stoa_env: dict[str, str], workspace: Path) -> None:
    result = stoa(["--version"], stoa_env, workspace)
    assert result.returncode == 0
    assert result.stdout.startswith("stoa ") and "sandbox:" in result.stdout


def test_resume_and_continue_carry_the_conversation(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(reply(text="The answer is 42."), reply(text="You asked about 42."), reply(text="Still 42."))
    first = stoa(["-p", "remember 42", "--output-format", "json"], stoa_env, workspace)
    assert first.returncode == 0, first.stderr
    session_id = json.loads(first.stdout)["session_id"]
    assert session_id

    second = stoa(["-r", session_id[:8], "-p", "what did I ask?", "--output-format", "json"], stoa_env, workspace)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["session_id"] == session_id
    sent = json.dumps(fake_server.model_requests()[1].json)
    assert "remember 42" in sent and "The answer is 42." in sent

    second_data = json.loads(second.stdout)
    # This run's usage is reported on its own; the session totals include the first run.
    assert second_data["session"]["requests"] == 2
    assert second_data["usage"]["output_tokens"] < second_data["session"]["output_tokens"]

    third = stoa(["-c", "-p", "and now?"], stoa_env, workspace)
    assert third.returncode == 0, third.stderr
    sent = json.dumps(fake_server.model_requests()[2].json)
    assert "what did I ask?" in sent and "You asked about 42." in sent


@pytest.mark.parametrize("bad", ["../../etc/passwd", "zzzzzzzz"])
def test_resume_of_a_bad_or_unknown_id_is_a_usage_error(bad: str, stoa_env: dict[str, str], workspace: Path) -> None:
    result = stoa(["-r", bad, "-p", "hi"], stoa_env, workspace)
    assert result.returncode == 2
    assert "session" in result.stderr.lower()


def test_local_provider_without_model_uses_the_servers_first(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    fake_server.script(reply(text="local hello"))
    args = ["--provider", "ollama", "--base-url", fake_server.openai_base_url, "-p", "hi", "--output-format", "json"]
    result = stoa(args, stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["provider"] == "ollama" and data["response"] == "local hello"
    assert fake_server.model_requests()[0].path.endswith("/chat/completions")
    assert data["model"] == fake_server.model_requests()[0].model


def test_local_provider_that_is_down_says_so(stoa_env: dict[str, str], workspace: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = stoa(["--provider", "lmstudio", "--base-url", f"http://127.0.0.1:{port}/v1", "-p", "hi"], stoa_env, workspace)
    assert result.returncode == 1
    assert "listed no models" in result.stderr and "-m" in result.stderr


def test_project_instructions_reach_the_model(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("Always answer in French.\n")
    fake_server.script(reply(text="Bonjour."))
    result = stoa(["-p", "hi"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    system = fake_server.model_requests()[0].system
    assert "Always answer in French." in system and str(workspace) in system


def test_unknown_config_keys_are_warned_on_stderr(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    config_file = workspace / ".stoa" / "config.toml"
    config_file.parent.mkdir()
    config_file.write_text('[web]\nsearch = false\nallow-private-host = ["localhost"]\n')
    fake_server.script(reply(text="Fine."))
    result = stoa(["-p", "hi"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Fine.\n"
    assert (
        f"warning: {config_file}:3: unknown key in [web] 'allow-private-host' "
        "(did you mean 'allow-private-hosts'?); it is ignored"
    ) in result.stderr.splitlines()


# ---- stoa models ---------------------------------------------------------------------------------


def test_stoa_models_lists_what_the_keys_can_use(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    from tests.fake_server import ModelSpec

    fake_server.models = [*fake_server.models, ModelSpec(id="claude-zephyr-7", provider="anthropic",
                                                         context_window=300_000, efforts=("low", "high"),
                                                         thinking_types=("adaptive",))]
    result = stoa(["models"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    anthropic, openai = out.index("anthropic ("), out.index("openai (")
    assert anthropic < out.index("claude-sonnet-5-5") < openai < out.index("gpt-6.2-sol")
    sonnet = next(line for line in out.splitlines() if "claude-sonnet-5-5" in line)
    assert "1M ctx" in sonnet and "$2.00 / $10.00" in sonnet and "off–max" in sonnet and "default" in sonnet
    zephyr = next(line for line in out.splitlines() if "claude-zephyr-7" in line)
    assert "300K ctx" in zephyr and "price unknown" in zephyr and "low–high" in zephyr
    assert "legacy" in next(line for line in out.splitlines() if "claude-opus-4-7" in line)
    assert "qwen3:8b" not in out.split("openai (")[1].split("prices:")[0]  # a local tag is no OpenAI model
    assert fake_server.model_requests() == []  # listing sends no model request


def test_the_word_models_as_a_prompt(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    fake_server.script(reply(text="A prompt, not the subcommand."))
    result = stoa(["-p", "models"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "A prompt, not the subcommand.\n"
    assert "models" in json.dumps(fake_server.model_requests()[0].json["messages"])


def test_stoa_models_without_keys_says_what_to_set(stoa_env: dict[str, str], workspace: Path) -> None:
    env = {k: v for k, v in stoa_env.items() if not k.endswith("_API_KEY")}
    result = stoa(["models", "--offline"], env, workspace)
    assert result.returncode == 0, result.stderr
    assert "anthropic: no key (set ANTHROPIC_API_KEY" in result.stdout
    assert "openai: no key (set OPENAI_API_KEY" in result.stdout
