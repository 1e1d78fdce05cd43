"""``git stash`` in the shell analysis and the policy (issue 11, item 5), in a real repository.

The forms that take work out of the working tree or delete stashed work ask like
``git checkout -- .``; ``pop``/``apply``/``branch`` ask onto a tree with uncommitted changes to
tracked files and are ordinary changes onto a clean one; ``list``/``show`` stay read-only.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.permissions.setup import make_policy
from stoa.core.permissions.shell_analysis import analyze
from stoa.core.permissions.shell_analysis.judges.git_stash import tree_has_changes
from stoa.core.sandbox import SandboxStatus
from stoa.core.tools.base import ToolContext
from stoa.core.tools.shell import ExecuteBash

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


def git(ws: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=ws, env={**GIT_ENV, "HOME": str(ws.parent)}, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "app.py").write_text("one\n")
    git(ws, "init", "-q", "-b", "main")
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "first")
    (ws / "src" / "app.py").write_text("two\n")
    git(ws, "stash", "-q")
    return ws.resolve()


def kind(ws: Path, command: str) -> str:
    return analyze(command, ws, env={"HOME": str(ws.parent), "PATH": GIT_ENV["PATH"]}).kind


TAKES_WORK_AWAY = [
    "git stash",
    "git stash push",
    "git stash push -m wip",
    "git stash save wip",
    "git stash -u",
    "git stash --include-untracked",
    "git stash -a",
    "git stash --all",
    "git stash -k",
    "git stash --keep-index",
    "git stash -m 'work in progress'",
    "git stash -- src/app.py",
    "git stash push -- src",
    "git stash push --staged",
    "git stash drop",
    "git stash drop stash@{0}",
    "git stash clear",
    "git -C src stash",
    "git -c core.pager=cat stash list; git stash",
    "cd src && git stash -u",
]


@pytest.mark.parametrize("command", TAKES_WORK_AWAY)
def test_forms_that_take_work_out_of_the_tree_ask(repo: Path, command: str) -> None:
    analysis = analyze(command, repo, env={"HOME": str(repo.parent), "PATH": GIT_ENV["PATH"]})
    assert analysis.tier in ("ask", "forbidden"), (command, analysis.kind, analysis.reasons)
    assert analysis.kind in ("destructive", "risky"), command


@pytest.mark.parametrize("command", ["git stash list", "git stash show", "git stash show -p stash@{0}", "git stash list --stat"])
def test_list_and_show_stay_read_only(repo: Path, command: str) -> None:
    assert kind(repo, command) == "read"


@pytest.mark.parametrize("command", ["git stash pop", "git stash apply", "git stash apply --index stash@{0}", "git stash branch tmp", "git -C src stash pop"])
def test_merging_a_stash_asks_only_onto_a_dirty_tree(repo: Path, command: str) -> None:
    assert tree_has_changes(str(repo)) is False
    assert kind(repo, command) == "write", command
    (repo / "src" / "app.py").write_text("uncommitted\n")
    assert tree_has_changes(str(repo)) is True
    assert kind(repo, command) == "destructive", command
    # Staged but not committed counts as well.
    git(repo, "add", "src/app.py")
    assert kind(repo, command) == "destructive", command


def test_an_untracked_file_alone_does_not_make_pop_ask(repo: Path) -> None:
    """git refuses to overwrite untracked files with a stash, so nothing can be lost."""
    (repo / "scratch.txt").write_text("mine\n")
    assert kind(repo, "git stash pop") == "write"


def test_when_the_tree_cannot_be_checked_pop_asks(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert tree_has_changes(str(plain)) is None
    assert kind(plain.resolve(), "git stash pop") == "destructive"
    assert kind(plain.resolve(), 'git -C "$DIR" stash pop') in ("unknown", "destructive", "risky")


def test_create_and_store_change_no_files(repo: Path) -> None:
    assert kind(repo, "git stash create") == "write"
    assert kind(repo, "git stash store -m x abc123") == "write"


@pytest.mark.parametrize("mode", ["auto", "ask"])
def test_the_policy_asks_and_never_remembers(repo: Path, mode: str) -> None:
    config = load_config(repo, env={"STOA_HOME": str(repo.parent / "stoa"), "HOME": str(repo.parent)})
    policy = make_policy(config, mode, detect_sandbox=False)
    tool = ExecuteBash()
    for sandbox in (SandboxStatus(False, "off"), SandboxStatus(True, version="test", executable="bwrap")):
        policy.sandbox = sandbox
        for command in ("git stash", "git stash -u", "git stash --all", "git stash drop"):
            args = tool.parse_args({"command": command})
            ctx = ToolContext(workspace=repo, config=config)
            accesses = tool.accesses(args, ctx)
            verdict = policy.decide("execute_bash", tool.effect_for(args, ctx), accesses)
            assert verdict.action == "ask" and not verdict.can_remember, (command, verdict)
            assert "working tree" in verdict.reason or "stashed" in verdict.reason
