"""Hooks end to end: `stoa -p` as a real subprocess against the fake provider server, with real
hook commands (bash and Python scripts) configured in the user's or the project's config."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.test_headless import stoa


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "README.md").write_text("# Demo project\n")
    return ws


def user_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["STOA_HOME"]) / "config.toml"
    path.write_text(textwrap.dedent(text))
    return path


def script(folder: Path, name: str, body: str) -> Path:
    """An executable Python hook script (reads the event's JSON from stdin)."""
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport json, os, sys\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def events_of(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def recorder(folder: Path) -> tuple[Path, Path]:
    """A hook that appends the JSON it receives to a log, and exits 0."""
    log = folder / "hook-events.jsonl"
    path = script(folder, "record.py", f"open({str(log)!r}, 'a').write(json.dumps(json.load(sys.stdin)) + '\\n')\n")
    return path, log


def test_pre_tool_use_exit_2_blocks_the_call_and_the_model_reads_stderr(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    guard = script(
        tmp_path,
        "guard.py",
        """
        event = json.load(sys.stdin)
        open(os.environ["STOA_PROJECT_DIR"] + "/../seen.json", "w").write(json.dumps(event))
        if "rm " in event["tool_input"].get("command", ""):
            print("rm is not allowed here; use git clean -n first", file=sys.stderr)
            sys.exit(2)
        """,
    )
    user_config(stoa_env, f'[[hooks.PreToolUse]]\nmatcher = "execute_bash"\ncommand = "{guard}"\n')
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "rm README.md"}, id="call_1")]),
        reply(text="Understood."),
    )
    result = stoa(["-p", "delete the readme"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert (workspace / "README.md").exists()
    results = fake_server.model_requests()[1].tool_results
    assert "Blocked by a PreToolUse hook: rm is not allowed here; use git clean -n first" in results[0].text
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["hook_event_name"] == "PreToolUse" and seen["tool_name"] == "execute_bash"
    assert seen["tool_input"] == {"command": "rm README.md"} and seen["tool_use_id"] == "call_1"
    assert seen["cwd"] == str(workspace.resolve()) and seen["session_id"] and seen["permission_mode"] == "auto"


def test_matcher_is_a_regex_over_the_whole_tool_name(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    hook, log = recorder(tmp_path)
    user_config(
        stoa_env,
        f"""
        [[hooks.PreToolUse]]
        matcher = "write_file|edit_file"
        command = "{hook}"
        [[hooks.PreToolUse]]
        matcher = "read"
        command = "{hook} never"
        """,
    )
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("read_file", {"path": "README.md"}),
                tool_call("write_file", {"path": "a.txt", "content": "x"}),
            ]
        ),
        reply(text="ok"),
    )
    result = stoa(["-p", "go"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert [e["tool_name"] for e in events_of(log)] == ["write_file"]


def test_pre_tool_use_json_deny_and_allow(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    """Claude Code's JSON answer: permissionDecision deny blocks with its reason; allow answers
    the question the policy would have asked (here: in ask mode, headless, nobody to ask)."""
    decide = script(
        tmp_path,
        "decide.py",
        """
        event = json.load(sys.stdin)
        answer = "deny" if event["tool_input"]["path"] == "secret.txt" else "allow"
        print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
              "permissionDecision": answer, "permissionDecisionReason": "secret.txt is off limits"}}))
        """,
    )
    user_config(stoa_env, f'[[hooks.PreToolUse]]\nmatcher = "write_file"\ncommand = "{decide}"\n')
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("write_file", {"path": "secret.txt", "content": "x"}),
                tool_call("write_file", {"path": "notes.txt", "content": "y"}),
            ]
        ),
        reply(text="ok"),
    )
    result = stoa(["--mode", "ask", "-p", "write"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    results = fake_server.model_requests()[1].tool_results
    assert "Blocked by a PreToolUse hook: secret.txt is off limits" in results[0].text
    assert not (workspace / "secret.txt").exists()
    assert (workspace / "notes.txt").read_text() == "y"


def test_post_tool_use_formats_the_file_and_feeds_back(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    fmt = script(
        tmp_path,
        "fmt.py",
        """
        event = json.load(sys.stdin)
        path = os.path.join(event["cwd"], event["tool_input"]["path"])
        text = open(path).read()
        open(path, "w").write(text.replace("\\t", "    "))
        assert event["tool_response"]["success"] is True
        print("tabs are not allowed; replaced them with spaces", file=sys.stderr)
        sys.exit(2)
        """,
    )
    user_config(stoa_env, f'[[hooks.PostToolUse]]\nmatcher = "write_file"\ncommand = "{fmt}"\n')
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "a.py", "content": "if x:\n\tpass\n"})]),
        reply(text="ok"),
    )
    result = stoa(["-p", "write a.py"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert (workspace / "a.py").read_text() == "if x:\n    pass\n"
    text = fake_server.model_requests()[1].tool_results[0].text
    assert "PostToolUse hook feedback:\ntabs are not allowed; replaced them with spaces" in text


def test_user_prompt_submit_adds_context_and_garbage_json_is_text(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    user_config(
        stoa_env,
        """
        [[hooks.UserPromptSubmit]]
        command = "echo 'The branch is feature/x.'"
        [[hooks.UserPromptSubmit]]
        command = "echo '{not json'"
        """,
    )
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "hello"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    sent = "\n".join(fake_server.model_requests()[0].user_texts)
    assert "hello" in sent and "The branch is feature/x." in sent and "{not json" in sent
    assert '<hook-context event="UserPromptSubmit">' in sent


def test_user_prompt_submit_exit_2_blocks_the_prompt(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    user_config(
        stoa_env,
        """
        [[hooks.UserPromptSubmit]]
        command = "grep -q password && { echo 'do not paste passwords' >&2; exit 2; } || exit 0"
        """,
    )
    result = stoa(["-p", "my password is hunter2", "--output-format", "json"], stoa_env, workspace)
    assert result.returncode == 1
    assert fake_server.model_requests() == []
    data = json.loads(result.stdout)
    assert data["success"] is False
    assert "UserPromptSubmit hook blocked this prompt: do not paste passwords" in data["error"]


def test_stop_hook_keeps_the_agent_going_once(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    gate = script(
        tmp_path,
        "gate.py",
        """
        event = json.load(sys.stdin)
        if not event["stop_hook_active"]:
            print("run the tests before you finish", file=sys.stderr)
            sys.exit(2)
        """,
    )
    user_config(stoa_env, f'[[hooks.Stop]]\ncommand = "{gate}"\n')
    fake_server.script(reply(text="Done."), reply(text="Tests pass. Done."))
    result = stoa(["-p", "fix it"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    requests = fake_server.model_requests()
    assert len(requests) == 2
    assert "run the tests before you finish" in requests[1].user_texts[-1]
    assert result.stdout.strip().endswith("Tests pass. Done.")


def test_session_start_context_reaches_the_first_request(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    hook, log = recorder(tmp_path)
    user_config(
        stoa_env,
        f"""
        [[hooks.SessionStart]]
        matcher = "startup"
        command = "{hook} && echo 'Open issues: 3'"
        [[hooks.SessionStart]]
        matcher = "resume"
        command = "echo never"
        """,
    )
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "hi"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    sent = "\n".join(fake_server.model_requests()[0].user_texts)
    assert "Open issues: 3" in sent and "never" not in sent
    assert events_of(log)[0]["source"] == "startup"


def test_notification_when_permission_is_needed(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    hook, log = recorder(tmp_path)
    user_config(stoa_env, f'[[hooks.Notification]]\ncommand = "{hook}"\n')
    fake_server.script(reply(tool_calls=[tool_call("write_file", {"path": "a.txt", "content": "x"})]), reply(text="ok"))
    result = stoa(["--mode", "ask", "-p", "write"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    (event,) = events_of(log)
    assert event["hook_event_name"] == "Notification"
    assert event["message"] == "Stoa needs your permission to use write_file"


def test_a_hanging_hook_is_killed_at_its_timeout_and_the_turn_goes_on(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "hook.pid"
    user_config(
        stoa_env,
        f"""
        [[hooks.UserPromptSubmit]]
        command = "echo $$ > {pid_file}; sleep 300 & sleep 300"
        timeout = 1
        """,
    )
    fake_server.script(reply(text="Still here."))
    started = time.monotonic()
    result = stoa(["-p", "hi"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Still here.\n"
    assert "was stopped after 1 s (its timeout)" in result.stderr
    from stoa.core.processes import group_members

    pgid = int(pid_file.read_text())
    deadline = time.monotonic() + 10  # killed ones may linger as zombies until reaped
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_members(pgid) == []
    assert time.monotonic() - started < 60


def test_missing_and_non_executable_commands_name_the_config_line(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "plain.sh"
    plain.write_text("#!/bin/sh\necho hi\n")  # not chmod +x
    config = user_config(
        stoa_env,
        f"""
        model = "claude-sonnet-4-6"

        [[hooks.UserPromptSubmit]]
        command = "{tmp_path}/missing.sh"

        [[hooks.UserPromptSubmit]]
        command = "{plain}"
        """,
    )
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "hi"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert f"{config}:4" in result.stderr and "the command was not found" in result.stderr
    assert f"{config}:7" in result.stderr and "is not executable" in result.stderr
    # Said at start-up too, before any hook ran.
    assert f"warning: {config}:4: the hook command {tmp_path}/missing.sh does not exist" in result.stderr
    assert f"warning: {config}:7: the hook command {plain} is not executable; chmod +x it" in result.stderr
    assert result.stdout == "ok\n"


def test_other_exit_codes_warn_and_go_on(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:
    user_config(stoa_env, "[[hooks.PreToolUse]]\ncommand = \"echo lint broke >&2; exit 1\"\n")
    fake_server.script(reply(tool_calls=[tool_call("write_file", {"path": "a.txt", "content": "x"})]), reply(text="ok"))
    result = stoa(["-p", "write"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert (workspace / "a.txt").exists()
    assert "failed (exit 1): lint broke; going on" in result.stderr


def test_continue_false_stops_the_turn(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    stop = script(tmp_path, "stop.py", 'print(json.dumps({"continue": False, "stopReason": "budget used up"}))\n')
    user_config(stoa_env, f'[[hooks.PostToolUse]]\ncommand = "{stop}"\n')
    fake_server.script(reply(tool_calls=[tool_call("write_file", {"path": "a.txt", "content": "x"})]), reply(text="never"))
    result = stoa(["-p", "write"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert len(fake_server.model_requests()) == 1
    assert "a hook stopped the turn: budget used up" in result.stderr


def project_hooks(workspace: Path, log_hook: Path) -> None:
    (workspace / ".stoa").mkdir(exist_ok=True)
    (workspace / ".stoa" / "config.toml").write_text(f'[[hooks.UserPromptSubmit]]\ncommand = "{log_hook}"\n')


def test_project_hooks_run_only_when_trusted(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    hook, log = recorder(tmp_path)
    project_hooks(workspace, hook)
    fake_server.script(reply(text="one"), reply(text="two"))
    result = stoa(["-p", "hi"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert "hook(s) of" in result.stderr and "were not run" in result.stderr and "--trust-project-hooks" in result.stderr
    assert events_of(log) == []
    result = stoa(["--trust-project-hooks", "-p", "hi"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert "were not run" not in result.stderr
    assert [e["prompt"] for e in events_of(log)] == ["hi"]


def test_an_approved_set_runs_until_it_changes(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    from stoa.core.config import load_config
    from stoa.core.hooks import approve_project_hooks, build_hooks

    hook, log = recorder(tmp_path)
    project_hooks(workspace, hook)
    config = load_config(workspace, env=stoa_env)
    approve_project_hooks(build_hooks(config), config)
    fake_server.script(reply(text="one"), reply(text="two"))
    assert stoa(["-p", "first"], stoa_env, workspace).returncode == 0
    assert [e["prompt"] for e in events_of(log)] == ["first"]
    project_hooks(workspace, Path(f"{hook} --changed"))
    result = stoa(["-p", "second"], stoa_env, workspace)
    assert result.returncode == 0 and "were not run" in result.stderr
    assert [e["prompt"] for e in events_of(log)] == ["first"]


def readme_hook(title: str) -> str:
    """The TOML example of the README's Hooks section that follows ``title``."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text[text.index("## Hooks") :]
    after = section[section.index(title) :]
    return after[after.index("```toml") + len("```toml") : after.index("```\n", after.index("```toml") + 7)]


def test_readme_format_on_save_and_lint_gate(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path
) -> None:
    user_config(stoa_env, readme_hook("Format on save with ruff") + readme_hook("A lint gate that blocks"))
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "a.py", "content": "import os\nx=1\n"})]),
        reply(text="Done."),
        # The hook formatted the file after the write: the model reads it again before writing.
        reply(tool_calls=[tool_call("read_file", {"path": "a.py"}), tool_call("write_file", {"path": "a.py", "content": "x=1\n"})]),
        reply(text="Fixed the unused import."),
    )
    result = stoa(["-p", "write a.py"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert (workspace / "a.py").read_text() == "x = 1\n"  # formatted after each write
    requests = fake_server.model_requests()
    assert len(requests) == 4
    assert "F401" in requests[2].user_texts[-1] and "A Stop hook did not let you finish yet" in requests[2].user_texts[-1]
    # The model is told the formatter changed what it wrote.
    assert "A PostToolUse hook changed a.py after this call" in requests[1].tool_results[0].text
    assert result.stdout.strip().endswith("Fixed the unused import.")


def test_readme_notification(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sent = tmp_path / "notified.txt"
    fake = bin_dir / "notify-send"
    fake.write_text(f'#!/bin/sh\nprintf "%s|%s" "$1" "$2" > {sent}\n')
    fake.chmod(0o755)
    env = {**stoa_env, "PATH": f"{bin_dir}:{stoa_env['PATH']}"}
    user_config(env, readme_hook("A desktop notification"))
    fake_server.script(reply(tool_calls=[tool_call("write_file", {"path": "a.txt", "content": "x"})]), reply(text="ok"))
    result = stoa(["--mode", "ask", "-p", "write"], env, workspace)
    assert result.returncode == 0, result.stderr
    assert sent.read_text() == "Stoa|Stoa needs your permission to use write_file\n"


def test_hooks_command_lists_active_and_waiting_hooks(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    config = user_config(stoa_env, '[[hooks.Stop]]\ncommand = "true"\n')
    project_hooks(workspace, Path("echo from-the-repo"))
    result = stoa(["-p", "/hooks"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert f"Stop [*] true  ({config}:1; yours)" in result.stdout
    assert "1 project hook(s) not approved, so not run:" in result.stdout
    assert "UserPromptSubmit [*] echo from-the-repo" in result.stdout
    assert fake_server.model_requests() == []


def test_subagent_stop_keeps_the_sub_agent_going(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    gate = script(
        tmp_path,
        "gate.py",
        f"""
        event = json.load(sys.stdin)
        open({str(log)!r}, "a").write(json.dumps(event) + "\\n")
        if event["hook_event_name"] == "SubagentStop" and not event["stop_hook_active"]:
            print("list the files you looked at", file=sys.stderr)
            sys.exit(2)
        """,
    )
    user_config(stoa_env, f'[[hooks.SubagentStop]]\ncommand = "{gate}"\n[[hooks.Stop]]\ncommand = "{gate}"\n')
    fake_server.script(
        reply(tool_calls=[tool_call("task", {"description": "look around", "prompt": "What is in README.md?"})]),
        reply(text="A demo project."),
        reply(text="A demo project; I read README.md."),
        reply(text="The helper says it is a demo project."),
    )
    result = stoa(["-p", "ask a helper"], stoa_env, workspace, timeout=120)
    assert result.returncode == 0, result.stderr
    events = events_of(log)
    assert [(e["hook_event_name"], e["stop_hook_active"]) for e in events] == [
        ("SubagentStop", False),
        ("SubagentStop", True),
        ("Stop", False),
    ]
    assert events[0]["last_assistant_message"] == "A demo project." and events[0]["agent_type"]
    requests = fake_server.model_requests()
    assert "list the files you looked at" in requests[2].user_texts[-1]
    assert "I read README.md" in requests[3].tool_results[0].text


def test_a_committed_personal_config_needs_approval_too(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    import subprocess

    hook, log = recorder(tmp_path)
    (workspace / ".stoa").mkdir()
    local = workspace / ".stoa" / "config.local.toml"
    local.write_text(f'[[hooks.UserPromptSubmit]]\ncommand = "{hook}"\n')
    fake_server.script(reply(text="one"), reply(text="two"))
    assert stoa(["-p", "untracked"], stoa_env, workspace).returncode == 0
    assert [e["prompt"] for e in events_of(log)] == ["untracked"]  # the person's own file: runs
    git = {**stoa_env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["init", "-q"], ["add", "-f", ".stoa/config.local.toml"], ["commit", "-qm", "ship it"]):
        subprocess.run(["git", *args], cwd=workspace, env=git, check=True)
    result = stoa(["-p", "tracked"], stoa_env, workspace)
    assert result.returncode == 0 and "were not run" in result.stderr
    assert [e["prompt"] for e in events_of(log)] == ["untracked"]
