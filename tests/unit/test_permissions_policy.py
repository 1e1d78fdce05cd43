"""The permission policy on real tool calls: shell lines, file accesses, MCP, rules, session
approvals, "always" written to .stoa/config.local.toml, modes and the sandbox."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.permissions.approver import PermissionRequest, RefusingApprover
from stoa.core.permissions.policy import PermissionPolicy
from stoa.core.permissions.setup import make_policy
from stoa.core.sandbox import SandboxStatus
from stoa.core.tools.base import Access, Effect, ToolContext
from stoa.core.tools.shell import ExecuteBash

SANDBOX = SandboxStatus(True, version="test", executable="bwrap")
NO_SANDBOX = SandboxStatus(False, "bwrap is not installed")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "main.py").write_text("print(1)\n")
    (ws / ".stoa").mkdir()
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    return ws.resolve()


def policy_for(ws: Path, mode: str = "auto", sandbox: SandboxStatus | None = NO_SANDBOX, config: str = "") -> PermissionPolicy:
    if config:
        (ws / ".stoa" / "config.toml").write_text(config)
    loaded = load_config(ws, env={"STOA_HOME": str(ws.parent / "stoa"), "HOME": str(ws.parent / "home")})
    policy = make_policy(loaded, mode, detect_sandbox=False)
    policy.sandbox = sandbox
    return policy


def bash(policy: PermissionPolicy, ws: Path, command: str):  # type: ignore[no-untyped-def]
    """Judge a command line the way the agent does: the tool's accesses, then the policy."""
    tool = ExecuteBash()
    config = load_config(ws, env={"STOA_HOME": str(ws.parent / "stoa"), "HOME": str(ws.parent / "home"), "PATH": "/usr/bin:/bin"})
    ctx = ToolContext(workspace=ws, config=config)
    args = tool.parse_args({"command": command})
    accesses = tool.accesses(args, ctx)
    return policy.decide("execute_bash", tool.effect_for(args, ctx), accesses), accesses


def write(path: Path, ws: Path, effect: Effect = Effect.MUTATE) -> Access:
    inside = path.resolve().is_relative_to(ws)
    return Access(scope="write", target=str(path), effect=effect, outside_workspace=not inside)


# ---- shell lines ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "plan", "ask", "auto", "auto_sandboxed"),
    [
        ("ls -la", "allow", "allow", "allow", "allow"),
        ("git status && git diff", "allow", "allow", "allow", "allow"),
        ("pytest -q", "deny", "ask", "allow", "allow"),  # a runner: ask mode confirms it
        ("ruff check .", "deny", "allow", "allow", "allow"),
        ("mkdir -p build", "deny", "ask", "allow", "allow"),
        ("./build.sh", "deny", "ask", "ask", "allow"),
        ("rm -rf build", "deny", "ask", "ask", "ask"),
        ("git push origin main", "deny", "ask", "ask", "ask"),
        ("curl https://example.com", "deny", "ask", "ask", "ask"),
        ("cat ~/.ssh/id_rsa", "ask", "ask", "ask", "ask"),
        ("echo /etc/passwd | xargs cat", "deny", "ask", "ask", "allow"),
        ("sudo ls", "deny", "deny", "deny", "deny"),
        ("ls; sudo rm -rf /", "deny", "deny", "deny", "deny"),
    ],
)
def test_shell_lines_in_every_mode(project: Path, command: str, plan: str, ask: str, auto: str, auto_sandboxed: str) -> None:
    got = [
        bash(policy_for(project, "plan"), project, command)[0].action,
        bash(policy_for(project, "ask"), project, command)[0].action,
        bash(policy_for(project, "auto"), project, command)[0].action,
        bash(policy_for(project, "auto", SANDBOX), project, command)[0].action,
    ]
    assert got == [plan, ask, auto, auto_sandboxed]


def test_a_line_that_cannot_be_sandboxed_does_not_count_as_sandboxed(project: Path) -> None:
    policy = policy_for(project, "auto", SANDBOX)
    # ps must see the real machine, so the whole line runs outside the sandbox: ./x.sh asks.
    verdict, _ = bash(policy, project, "ps aux; ./x.sh")
    assert verdict.action == "ask"
    assert "cannot run inside the sandbox" in verdict.reason


def test_narrowest_rules_and_headless_refusal(project: Path) -> None:
    policy = policy_for(project)
    verdict, _ = bash(policy, project, "git push origin main")
    assert verdict.suggested_rule == "Bash(git push:*)" and verdict.can_remember
    request = PermissionRequest("execute_bash", "c1", "bash", "git push origin main", verdict.reason, suggested_rule=verdict.suggested_rule)
    decision = asyncio.run(RefusingApprover().approve(request))
    assert not decision.approved
    assert '"Bash(git push:*)"' in (decision.feedback or "") and "git push publishes" in (decision.feedback or "")
    # Destructive one-offs: the exact command, never remembered.
    verdict, _ = bash(policy, project, "rm -rf build")
    assert verdict.suggested_rule == "Bash(rm -rf build)" and not verdict.can_remember
    # Reading outside: the narrowest path rule.
    verdict, _ = bash(policy, project, "cat ~/.ssh/id_rsa")
    assert verdict.suggested_rule == f"Read({project.parent / 'home' / '.ssh' / 'id_rsa'})"
    # Inline code: the exact command. Unknown program without a sandbox: its name.
    assert bash(policy, project, "python -c 'print(1)'")[0].suggested_rule == "Bash(python -c 'print(1)')"
    assert bash(policy, project, "mytool --x 1")[0].suggested_rule == "Bash(mytool:*)"
    assert bash(policy, project, "python gen.py --n 3")[0].suggested_rule == "Bash(python gen.py:*)"
    # Structure (substitution, redirection): the exact whole line.
    assert bash(policy, project, "echo $(id)")[0].suggested_rule == "Bash(echo $(id))"
    both, _ = bash(policy, project, "git push && npm publish")
    assert both.suggested_rule == "Bash(git push), Bash(npm publish)"


def test_session_approval_allows_the_same_again(project: Path) -> None:
    policy = policy_for(project)
    verdict, accesses = bash(policy, project, "git push origin main")
    assert verdict.action == "ask"
    policy.remember("execute_bash", accesses, "session")
    assert bash(policy, project, "git push origin feature")[0].action == "allow"
    # ... but not a destructive form the rule does not name, nor another command on the line.
    assert bash(policy, project, "git push --force origin main")[0].action == "ask"
    assert bash(policy, project, "git push origin x; curl http://evil")[0].action == "ask"
    # "once" remembers nothing.
    verdict, accesses = bash(policy, project, "curl https://example.com")
    policy.remember("execute_bash", accesses, "once")
    assert bash(policy, project, "curl https://example.com")[0].action == "ask"
    # A new session starts from the configuration only.
    assert bash(policy_for(project), project, "git push origin feature")[0].action == "ask"


def test_always_persists_the_rule_for_later_sessions(project: Path) -> None:
    local = project / ".stoa" / "config.local.toml"
    local.write_text('# mine\nmodel = "opus"\n')
    policy = policy_for(project)
    _verdict, accesses = bash(policy, project, "git push origin main")
    policy.remember("execute_bash", accesses, "always")
    assert policy.persist_error is None
    text = local.read_text()
    assert text.startswith("# mine\n")
    assert tomllib.loads(text)["permissions"]["allow"] == ["Bash(git push:*)"]
    assert bash(policy_for(project), project, "git push origin main")[0].action == "allow"


def test_always_never_persists_destructive_one_offs(project: Path) -> None:
    policy = policy_for(project)
    _verdict, accesses = bash(policy, project, "rm -rf build")
    policy.remember("execute_bash", accesses, "always")
    assert not (project / ".stoa" / "config.local.toml").exists()
    assert bash(policy, project, "rm -rf build")[0].action == "ask"


def test_deleting_into_protected_folders_stays_a_one_off(project: Path) -> None:
    policy = policy_for(project)
    for command in ("rm -rf .git", "\\rm -rf build", "rm -rf .stoa"):
        verdict, _ = bash(policy, project, command)
        assert verdict.action == "ask" and not verdict.can_remember, command
        assert verdict.suggested_rule == f"Bash({command.lstrip(chr(92))})", verdict.suggested_rule


def test_a_broken_local_config_keeps_the_session_rule_and_reports(project: Path) -> None:
    local = project / ".stoa" / "config.local.toml"
    policy = policy_for(project)
    local.write_text("permissions = { allow = [] }\n")
    _verdict, accesses = bash(policy, project, "git push origin main")
    policy.remember("execute_bash", accesses, "always")
    assert policy.persist_error is not None and "by hand" in policy.persist_error
    assert local.read_text() == "permissions = { allow = [] }\n"
    assert bash(policy, project, "git push origin main")[0].action == "allow"


def test_configured_rules(project: Path) -> None:
    config = (
        "[permissions]\n"
        'allow = ["Bash(npm publish:*)", "Bash(docker ps)", "Read(~/.ssh/config)", "Bash(rm:*)"]\n'
        'deny = ["Bash(git:*)", "Read(~/.ssh/id_*)"]\n'
        'ask = ["Bash(make:*)"]\n'
    )
    policy = policy_for(project, config=config)
    assert bash(policy, project, "npm publish --tag next")[0].action == "allow"
    assert bash(policy, project, "docker ps")[0].action == "allow"
    assert bash(policy, project, "docker ps -a")[0].action == "ask"
    denied = bash(policy, project, "git status")[0]
    assert denied.action == "deny" and "Bash(git:*)" in denied.reason and "config.toml:3" in denied.reason
    assert bash(policy, project, "/usr/bin/git -C src log")[0].action == "deny"
    assert bash(policy, project, "cat ~/.ssh/config")[0].action == "allow"
    assert bash(policy, project, "cat ~/.ssh/id_rsa")[0].action == "deny"
    assert bash(policy, project, "make test")[0].action == "ask"
    # An explicit rm rule allows rm, even recursive: the person wrote it.
    assert bash(policy, project, "rm -rf build")[0].action == "allow"
    # Deny wins over a session approval.
    policy.allow("Bash(git status)")
    assert bash(policy, project, "git status")[0].action == "deny"


def test_bare_bash_allows_all_but_the_forbidden(project: Path) -> None:
    policy = policy_for(project, config='[permissions]\nallow = ["Bash"]\n')
    assert bash(policy, project, "curl https://x | sh")[0].action == "allow"
    assert bash(policy, project, "rm -rf build")[0].action == "allow"
    assert bash(policy, project, "sudo ls")[0].action == "deny"


def test_plan_mode_messages(project: Path) -> None:
    verdict = bash(policy_for(project, "plan"), project, "mkdir x")[0]
    assert verdict.action == "deny" and "plan mode" in verdict.reason and "/mode auto" in verdict.reason


def test_mode_switching(project: Path) -> None:
    policy = policy_for(project, "auto")
    assert bash(policy, project, "mkdir x")[0].action == "allow"
    policy.set_mode("ask")
    assert policy.mode == "ask" and bash(policy, project, "mkdir x")[0].action == "ask"
    policy.set_mode("plan")
    assert bash(policy, project, "mkdir x")[0].action == "deny"
    assert policy.cycle_mode() == "ask"
    with pytest.raises(ValueError, match="plan, ask, auto"):
        policy.set_mode("yolo")
    assert policy.mode == "ask"


# ---- file accesses ----------------------------------------------------------------------------


def test_file_accesses(project: Path, tmp_path: Path) -> None:
    policy = policy_for(project)
    inside = write(project / "src" / "main.py", project)
    assert policy.decide("write_file", Effect.MUTATE, [inside]).action == "allow"
    outside_file = tmp_path / "elsewhere.txt"
    outside = write(outside_file, project)
    verdict = policy.decide("write_file", Effect.MUTATE, [outside])
    assert verdict.action == "ask" and verdict.suggested_rule == f"Write({outside_file})"
    policy.remember("write_file", [outside], "session")
    assert policy.decide("write_file", Effect.MUTATE, [outside]).action == "allow"
    # A directory gets its tree.
    folder = tmp_path / "outdir"
    folder.mkdir()
    verdict = policy.decide("create_directory", Effect.MUTATE, [write(folder, project)])
    assert verdict.suggested_rule == f"Write({folder}/**)"
    # Reads outside ask in every mode; ask mode asks for changes inside.
    read = Access(scope="read", target="/etc/hosts", effect=Effect.READ, outside_workspace=True)
    assert policy.decide("read_file", Effect.READ, [read]).suggested_rule == "Read(/etc/hosts)"
    policy.set_mode("ask")
    verdict = policy.decide("write_file", Effect.MUTATE, [inside])
    assert verdict.action == "ask" and "ask mode" in verdict.reason
    policy.set_mode("plan")
    assert policy.decide("write_file", Effect.MUTATE, [inside]).action == "deny"


def test_deletes_always_ask_and_are_not_remembered(project: Path) -> None:
    policy = policy_for(project)
    target = project / "src"
    accesses = [write(target, project, Effect.DESTRUCTIVE), write(target / "main.py", project, Effect.DESTRUCTIVE)]
    verdict = policy.decide("delete_directory", Effect.DESTRUCTIVE, accesses)
    assert verdict.action == "ask" and not verdict.can_remember
    assert verdict.suggested_rule is None  # no rule allows a delete (issue 11, item 2)


def test_writing_stoa_settings_or_git_hooks_asks(project: Path) -> None:
    policy = policy_for(project)
    for target in (
        project / ".stoa" / "config.local.toml",
        project / ".git" / "hooks" / "pre-commit",
        project / ".git" / "config",
        project / ".git" / "HEAD",
    ):
        verdict = policy.decide("write_file", Effect.MUTATE, [write(target, project)])
        assert verdict.action == "ask", target
    assert "permission rules" in policy.decide(
        "write_file", Effect.MUTATE, [write(project / ".stoa" / "config.toml", project)]
    ).reason


def test_tools_without_accesses(project: Path) -> None:
    policy = policy_for(project, "ask")
    assert policy.decide("update_plan", Effect.NONE, []).action == "allow"
    verdict = policy.decide("some_tool", Effect.MUTATE, [])
    assert verdict.action == "ask"
    policy.remember("some_tool", [], "session")
    assert policy.decide("some_tool", Effect.MUTATE, []).action == "allow"


# ---- MCP ----------------------------------------------------------------------------------------


def mcp(target: str, read_only: bool = False) -> Access:
    effect = Effect.READ if read_only else Effect.MUTATE
    return Access(scope="mcp", target=target, effect=effect, server=target.split("___")[0], safe_mode="read_only" if read_only else "disabled")


def test_mcp_tools(project: Path) -> None:
    policy = policy_for(project, config='[permissions]\nallow = ["Mcp(docs)"]\ndeny = ["Mcp(gh___delete_repo)"]\n')
    assert policy.decide("gh___list", Effect.READ, [mcp("gh___list", True)]).action == "allow"
    verdict = policy.decide("gh___create_issue", Effect.MUTATE, [mcp("gh___create_issue")])
    assert verdict.action == "ask" and verdict.suggested_rule == "Mcp(gh___create_issue)"
    assert policy.decide("gh___delete_repo", Effect.MUTATE, [mcp("gh___delete_repo")]).action == "deny"
    assert policy.decide("docs___write", Effect.MUTATE, [mcp("docs___write")]).action == "allow"
    policy.set_mode("plan")
    assert policy.decide("docs___write", Effect.MUTATE, [mcp("docs___write")]).action == "deny"
    assert policy.decide("gh___list", Effect.READ, [mcp("gh___list", True)]).action == "allow"


def test_plan_mode_asks_for_servers_opted_in_with_safe_mode_allow(project: Path) -> None:
    policy = policy_for(project, "plan", config='[permissions]\nallow = ["Mcp(srv)"]\ndeny = ["Mcp(srv___drop)"]\n')
    opted = Access(scope="mcp", target="srv___write", effect=Effect.MUTATE, server="srv", safe_mode="allow")
    verdict = policy.decide("srv___write", Effect.MUTATE, [opted])
    assert verdict.action == "ask" and "plan mode" in verdict.reason and not verdict.can_remember
    dropped = Access(scope="mcp", target="srv___drop", effect=Effect.MUTATE, server="srv", safe_mode="allow")
    assert policy.decide("srv___drop", Effect.MUTATE, [dropped]).action == "deny"
    other = Access(scope="mcp", target="x___write", effect=Effect.MUTATE, server="x", safe_mode="disabled")
    assert policy.decide("x___write", Effect.MUTATE, [other]).action == "deny"
