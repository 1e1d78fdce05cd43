"""The hooks engine on its own: reading [[hooks.EVENT]] tables, and the events sub-agents and
compaction call (SubagentStop, PreCompact), with real hook processes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from stoa.core.config import load_config
from stoa.core.hooks import build_hooks
from stoa.core.hooks.config import HookSpec


def config_with(tmp_path: Path, text: str, *, shared: bool = False) -> tuple[Path, Path]:
    home = tmp_path / "home"
    workspace = tmp_path / "ws"
    home.mkdir(exist_ok=True)
    (workspace / ".stoa").mkdir(parents=True, exist_ok=True)
    target = workspace / ".stoa" / "config.toml" if shared else home / "config.toml"
    target.write_text(textwrap.dedent(text))
    return home, workspace


def hooks_for(tmp_path: Path, text: str, **kwargs: bool):  # type: ignore[no-untyped-def]
    home, workspace = config_with(tmp_path, text, **kwargs)
    config = load_config(workspace, env={"STOA_HOME": str(home), "PATH": "/usr/bin:/bin"})
    return build_hooks(config, session_id=lambda: "s-1"), config


def test_bad_entries_are_warnings_with_file_and_line(tmp_path: Path) -> None:
    hooks, config = hooks_for(
        tmp_path,
        """
        [[hooks.PreToolUse]]
        matcher = "("
        command = "true"

        [[hooks.OnSave]]
        command = "true"

        [[hooks.Stop]]
        commnd = "true"

        [[hooks.Stop]]
        command = "true"
        timeout = -1
        """,
    )
    path = config.layers[0].path
    text = "\n".join(config.warnings)
    assert f"{path}:2: the matcher '(' is not a valid regular expression" in text
    assert f"{path}:6: unknown hook event 'OnSave'" in text
    assert f"{path}:9: unknown key 'commnd'" in text and f"{path}:9: a Stop hook needs command" in text
    assert f"{path}:12: timeout must be a positive number" in text
    assert [(s.event, s.timeout) for s in hooks.active] == [("Stop", 60.0)]


def test_claude_code_nesting_is_read(tmp_path: Path) -> None:
    hooks, _ = hooks_for(
        tmp_path,
        """
        [[hooks.PostToolUse]]
        matcher = "write_file|edit_file"
        hooks = [{ type = "command", command = "ruff format", timeout = 5 }, { type = "command", command = "true" }]
        """,
    )
    assert [(s.command, s.timeout, s.matcher) for s in hooks.active] == [
        ("ruff format", 5.0, "write_file|edit_file"),
        ("true", 60.0, "write_file|edit_file"),
    ]


def test_mcp_tools_match_by_server_and_tool() -> None:
    spec = HookSpec("PreToolUse", "true", "github___.*", 60, Path("x"), 1, False)
    assert spec.matches("github___create_issue")
    assert not spec.matches("gitlab___create_issue") and not spec.matches("read_file")


def test_shared_hooks_wait_for_approval(tmp_path: Path) -> None:
    hooks, _ = hooks_for(tmp_path, '[[hooks.Stop]]\ncommand = "true"\n', shared=True)
    assert hooks.active == [] and len(hooks.untrusted) == 1
    hooks.trust_project()
    assert len(hooks.active) == 1 and hooks.untrusted == []


async def test_pre_compact_and_subagent_stop(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    hooks, _ = hooks_for(
        tmp_path,
        f"""
        [[hooks.PreCompact]]
        matcher = "manual"
        command = "cat >> {log}"
        [[hooks.SubagentStop]]
        command = "cat >> {log}; echo '{{\\"decision\\": \\"block\\", \\"reason\\": \\"check the tests\\"}}'"
        """,
    )
    auto = await hooks.pre_compact("auto")
    assert auto.ran == 0
    manual = await hooks.pre_compact("manual", "keep the API notes")
    assert manual.ran == 1 and not manual.blocked
    verdict = await hooks.subagent_stop("reviewer", "All good.", active=False)
    assert verdict.blocked and verdict.reason == "check the tests"
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert first["hook_event_name"] == "PreCompact" and first["trigger"] == "manual"
    assert first["custom_instructions"] == "keep the API notes" and first["session_id"] == "s-1"
    assert second["hook_event_name"] == "SubagentStop" and second["agent_type"] == "reviewer"
    assert second["last_assistant_message"] == "All good." and second["stop_hook_active"] is False


async def test_identical_commands_run_once_and_hooks_get_no_keys(tmp_path: Path) -> None:
    log = tmp_path / "env.txt"
    home, workspace = config_with(
        tmp_path,
        f"""
        [[hooks.Notification]]
        command = "echo ${{ANTHROPIC_API_KEY:-none}} $STOA_PROJECT_DIR >> {log}"
        [[hooks.Notification]]
        command = "echo ${{ANTHROPIC_API_KEY:-none}} $STOA_PROJECT_DIR >> {log}"
        """,
    )
    env = {"STOA_HOME": str(home), "PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": "sk-ant-secret-value-123456"}
    hooks = build_hooks(load_config(workspace, env=env))
    verdict = await hooks.run("Notification", None, message="hi")
    assert verdict.ran == 1
    assert log.read_text() == f"none {workspace.resolve()}\n"


def test_a_claude_code_matcher_gets_stoa_names(tmp_path: Path) -> None:
    _, config = hooks_for(
        tmp_path,
        """
        [[hooks.PostToolUse]]
        matcher = "Write|Edit|MultiEdit"
        command = "true"
        [[hooks.PreToolUse]]
        matcher = "mcp__github__create_issue"
        command = "true"
        [[hooks.PreToolUse]]
        matcher = "write_file"
        command = "true"
        """,
    )
    text = "\n".join(config.warnings)
    assert "write matcher = 'write_file|edit_file'" in text
    assert "write matcher = 'github___create_issue'" in text
    assert text.count("names Claude Code's tools") == 2
