"""Deleting is its own decision (issue 11, item 2), and "always" writes workspace-relative rules
into a git-ignored personal file (item 16).

Real tools give the accesses (delete_file, delete_directory, move_file, write_file on real
files); the policy judges them with rules loaded from real config files.
"""

from __future__ import annotations

import asyncio
import subprocess
import tomllib
from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.permissions.approver import PermissionRequest, RefusingApprover
from stoa.core.permissions.policy import PermissionPolicy, Verdict
from stoa.core.permissions.setup import make_policy
from stoa.core.sandbox import SandboxStatus
from stoa.core.stoa_folder import GITIGNORE_TEXT
from stoa.core.tools.base import ToolContext
from stoa.core.tools.registry import default_registry

NO_SANDBOX = SandboxStatus(False, "bwrap is not installed")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "notes" / "old").mkdir(parents=True)
    (ws / "notes" / "todo.md").write_text("- keep me\n")
    (ws / "notes" / "old" / "a.md").write_text("a\n")
    (ws / "src").mkdir()
    (ws / "src" / "main.py").write_text("print(1)\n")
    (tmp_path / "home").mkdir()
    return ws.resolve()


def env_for(ws: Path) -> dict[str, str]:
    return {"STOA_HOME": str(ws.parent / "stoa"), "HOME": str(ws.parent / "home")}


def policy_for(ws: Path, mode: str = "auto", allow: list[str] | None = None, **lists: list[str]) -> PermissionPolicy:
    table = {"allow": allow or [], **lists}
    text = "[permissions]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in table.items() if v)
    (ws / ".stoa").mkdir(exist_ok=True)
    (ws / ".stoa" / "config.toml").write_text(text)
    policy = make_policy(load_config(ws, env=env_for(ws)), mode, detect_sandbox=False)
    policy.sandbox = NO_SANDBOX
    return policy


def judge(policy: PermissionPolicy, ws: Path, name: str, **arguments: str) -> tuple[Verdict, list]:  # type: ignore[type-arg]
    """The tool's real accesses for these arguments, judged as the agent judges them."""
    tool = default_registry().get(name)
    assert tool is not None
    ctx = ToolContext(workspace=ws, config=load_config(ws, env=env_for(ws)))
    args = tool.parse_args(arguments)
    accesses = tool.accesses(args, ctx)
    return policy.decide(name, tool.effect_for(args, ctx), accesses), accesses


def refusal(name: str, verdict: Verdict, kind: str) -> str:
    request = PermissionRequest(
        name, "c1", kind, "target", verdict.reason,  # type: ignore[arg-type]
        suggested_rule=verdict.suggested_rule, can_remember=verdict.can_remember,
    )  # fmt: skip
    decision = asyncio.run(RefusingApprover().approve(request))
    assert not decision.approved
    return decision.feedback or ""


# ---- a Write rule never deletes -------------------------------------------------------------------

WRITE_RULES = [
    "Write(notes/todo.md)",
    "Write(./notes/todo.md)",
    "Write(notes/**)",
    "Write(notes/*)",
    "Write(**)",
    "Write",
]


@pytest.mark.parametrize("rule", WRITE_RULES)
def test_a_write_rule_allows_writing_but_never_deleting(project: Path, rule: str) -> None:
    for mode, expected in (("auto", "ask"), ("ask", "ask"), ("plan", "deny")):
        policy = policy_for(project, mode, [rule])
        verdict, _ = judge(policy, project, "delete_file", path="notes/todo.md")
        assert verdict.action == expected, (rule, mode, verdict)
        assert not verdict.can_remember and verdict.suggested_rule is None
    # The same rule does allow a write in ask mode (it is a real, matching rule).
    ask = policy_for(project, "ask", [rule])
    assert judge(ask, project, "write_file", path="notes/todo.md", content="x")[0].action == "allow"


@pytest.mark.parametrize("rule", ["Write(notes/**)", "Write(notes)", "Write(**)", "Write"])
def test_a_write_rule_never_deletes_a_folder(project: Path, rule: str) -> None:
    policy = policy_for(project, "auto", [rule])
    verdict, accesses = judge(policy, project, "delete_directory", path="notes")
    assert len(accesses) > 1  # the entries inside are judged too
    assert verdict.action == "ask" and not verdict.can_remember and verdict.suggested_rule is None


def test_an_always_approved_write_does_not_approve_a_delete(project: Path) -> None:
    policy = policy_for(project, "ask")
    verdict, accesses = judge(policy, project, "write_file", path="notes/todo.md", content="new\n")
    assert verdict.action == "ask"
    policy.remember("write_file", accesses, "always")
    fresh = policy_for(project, "auto")
    assert judge(fresh, project, "delete_file", path="notes/todo.md")[0].action == "ask"
    policy.remember("write_file", accesses, "session")
    assert judge(policy, project, "delete_file", path="notes/todo.md")[0].action == "ask"


def test_deny_and_ask_rules_still_apply_to_deletes(project: Path) -> None:
    denied = policy_for(project, "auto", deny=["Write(notes/**)"])
    verdict, _ = judge(denied, project, "delete_file", path="notes/todo.md")
    assert verdict.action == "deny" and "Write(notes/**)" in verdict.reason
    asked = policy_for(project, "auto", ask=["Read(notes)"])
    assert judge(asked, project, "delete_directory", path="notes/old")[0].action == "ask"


def test_the_headless_refusal_of_any_delete_suggests_no_rule(project: Path) -> None:
    policy = policy_for(project, "auto", ["Write(notes/**)"])
    for name, path in (("delete_file", "notes/todo.md"), ("delete_directory", "notes/old")):
        verdict, _ = judge(policy, project, name, path=path)
        assert verdict.action == "ask", (name, verdict)
        text = refusal(name, verdict, "destructive")
        assert "Write(" not in text and "allow list" not in text, text
        assert "approval" in text and "TUI" in text
    # A destructive shell command names the exact command rule, which does allow it.
    bash, _ = judge(policy, project, "execute_bash", command="rm notes/todo.md")
    assert bash.action == "ask" and bash.suggested_rule == "Bash(rm notes/todo.md)"
    assert '"Bash(rm notes/todo.md)"' in refusal("execute_bash", bash, "destructive")


def test_a_write_path_rule_does_not_let_rm_run(project: Path) -> None:
    policy = policy_for(project, "auto", ["Write(notes/**)", "Bash(notes/**)"])
    for command in ("rm notes/todo.md", "rm -r notes/old", "find notes -delete", "unlink notes/todo.md"):
        assert judge(policy, project, "execute_bash", command=command)[0].action == "ask", command


def test_move_is_a_change_that_needs_both_ends(project: Path) -> None:
    """move_file keeps the content (at the destination) and never overwrites, so it is judged
    as a change of both paths, not as a delete: Write rules covering both ends allow it."""
    both = policy_for(project, "ask", ["Write(notes/**)"])
    assert judge(both, project, "move_file", source="notes/todo.md", destination="notes/done.md")[0].action == "allow"
    source_only = policy_for(project, "ask", ["Write(notes/todo.md)"])
    verdict, _ = judge(source_only, project, "move_file", source="notes/todo.md", destination="src/todo.md")
    assert verdict.action == "ask" and verdict.suggested_rule == "Write(src/todo.md)"


# ---- "always" writes workspace-relative rules into an ignored personal file -----------------------


def test_always_writes_workspace_relative_rules(project: Path, tmp_path: Path) -> None:
    policy = policy_for(project, "ask")
    for name, arguments in (
        ("write_file", {"path": "notes/todo.md", "content": "x"}),
        ("create_directory", {"path": "notes/old"}),
        ("write_file", {"path": "notes/with (parens) & spaces.md", "content": "x"}),
        ("write_file", {"path": "./~odd.md", "content": "x"}),
    ):
        verdict, accesses = judge(policy, project, name, **arguments)
        assert verdict.action == "ask" and verdict.can_remember, (name, verdict)
        policy.remember(name, accesses, "always")
        assert policy.persist_error is None
    local = project / ".stoa" / "config.local.toml"
    allow = tomllib.loads(local.read_text())["permissions"]["allow"]
    assert allow == [
        "Write(notes/todo.md)",
        "Write(notes/old/**)",
        "Write(notes/with (parens) & spaces.md)",
        "Write(./~odd.md)",
    ]
    assert str(project) not in local.read_text()
    # The rules work in the next session, and after the project moved.
    moved = tmp_path / "moved"
    project.rename(moved)
    fresh = policy_for(moved.resolve(), "ask")
    for name, arguments in (
        ("write_file", {"path": "notes/todo.md", "content": "y"}),
        ("write_file", {"path": "notes/old/b.md", "content": "y"}),
        ("write_file", {"path": "notes/with (parens) & spaces.md", "content": "y"}),
        ("write_file", {"path": "./~odd.md", "content": "y"}),
    ):
        assert judge(fresh, moved.resolve(), name, **arguments)[0].action == "allow", arguments
    # Narrow: a sibling is not covered.
    assert judge(fresh, moved.resolve(), "write_file", path="notes/other.md", content="y")[0].action == "ask"


def test_paths_outside_stay_absolute_and_wildcard_names_are_not_remembered(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.txt"
    policy = policy_for(project, "auto")
    verdict, _ = judge(policy, project, "write_file", path=str(outside), content="x")
    assert verdict.suggested_rule == f"Write({outside})"
    ask = policy_for(project, "ask")
    verdict, _ = judge(ask, project, "write_file", path="notes/star*.md", content="x")
    # A rule naming this file would also match every other notes/star….md: none is offered.
    assert verdict.action == "ask" and verdict.suggested_rule is None and not verdict.can_remember


def test_writing_into_dot_stoa_writes_its_gitignore(project: Path) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    policy = policy_for(project, "ask")
    (project / ".stoa" / "config.toml").unlink()
    _verdict, accesses = judge(policy, project, "write_file", path="notes/todo.md", content="x")
    policy.remember("write_file", accesses, "always")
    gitignore = project / ".stoa" / ".gitignore"
    assert gitignore.read_text() == GITIGNORE_TEXT
    (project / ".stoa" / "instructions.md").write_text("mine\n")
    (project / ".stoa" / "config.toml").write_text("# shared\n")
    status = subprocess.run(
        ["git", "-C", str(project), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert ".stoa/config.local.toml" not in status and ".stoa/instructions.md" not in status
    assert ".stoa/config.toml" in status and ".stoa/.gitignore" in status
    # A .gitignore the person wrote is kept as it is.
    gitignore.write_text("# mine\n")
    policy.allow("Bash(make deploy)", persist=True)
    assert gitignore.read_text() == "# mine\n"


def test_mcp_add_writes_the_gitignore_too(project: Path) -> None:
    from stoa.core.mcp.commands import add_server, local_config_path

    path = local_config_path(project)
    assert not path.parent.joinpath(".gitignore").exists()
    add_server(path, "docs", {"command": "echo", "args": ["hi"]})
    assert (project / ".stoa" / ".gitignore").read_text() == GITIGNORE_TEXT
