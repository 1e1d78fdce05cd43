"""Build and test runners, and what the agent changed in this session (issue 11, item 3).

``make``, ``npm test``, ``pytest``, ``cargo test`` and their kin run code that lives in the
project: Makefile recipes (and every ``*.mk`` they include), ``package.json`` scripts,
``conftest.py`` and the test modules themselves, ``build.rs``, ``setup.py``, ``noxfile.py``,
``build.gradle``, the plugins a linter's config loads... and whatever those run in turn. They
are vetted because the project's own code is the person's. Code the agent wrote is not: with no
OS sandbox to contain it, a runner started after the agent changed the workspace runs the
agent's code on the machine unconfined, so it asks.

Which files a runner executes cannot be known (a recipe or a test can run any file), so the
rule is about the workspace, not a list of names: once the agent has changed anything in this
session (a native write, edit, move, copy, delete, directory; a shell command that may change
files; an MCP tool that may change things), every runner asks until the person allows it (once,
for the session, or with a rule). Runners' own output (build products, caches) does not count:
it comes from the person's code, or from code the person just approved. Inside the OS sandbox
runners stay unasked; in ask mode they always ask.

``runs_project_code`` says whether one command of a shell line is such a runner;
``AgentChanges`` is the session's record of what the agent changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stoa.core.tools.base import Access, Effect

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis import Finding, ShellAnalysis

# "build" commands that execute nothing of the project: they parse or compile its files and
# read declarative config only (no plugins loaded from the workspace).
_INERT_TOOLS = frozenset(
    """ruff black isort autopep8 yapf gofmt rustfmt clang-format shfmt shellcheck hadolint yamllint
    pycodestyle pydocstyle pyflakes tsc""".split()
)
_INERT_PYTHON_MODULES = frozenset("py_compile compileall pyflakes pycodestyle tabnanny".split())
_INERT_SUBCOMMANDS = {
    "go": frozenset("vet build list doc version env fmt".split()),
    "cargo": frozenset("fmt metadata tree verify-project".split()),
}
# Commands judged read-only or plain workspace edits that still execute project code:
# make -n/-q/-p expands $(shell ...) and runs "+" recipe lines; these tools load code configs
# (prettier.config.js, eslint.config.js, stylelint plugins, mypy/pylint/flake8 plugins); cargo
# fix compiles (build.rs, proc macros).
_CODE_LOADING = frozenset("make gmake prettier eslint stylelint markdownlint mypy pylint flake8".split())
_CODE_LOADING_SUBCOMMANDS = {"cargo": frozenset({"fix", "clippy", "check", "build", "test", "run", "bench", "doc"})}

# git subcommands that change only git's own data (.git), never the files a runner executes.
_GIT_INTERNAL = frozenset(
    """add stage commit tag notes update-ref update-index pack-refs repack gc reflog mktag mktree
    hash-object commit-tree write-tree symbolic-ref branch""".split()
)
# Commands whose only change is a new, empty folder.
_FOLDERS_ONLY = frozenset({"mkdir"})
# git subcommands that run the repository's hooks (pre-commit, post-checkout, pre-rebase, ...).
_GIT_HOOK_SUBCOMMANDS = frozenset(
    "commit merge rebase am checkout switch cherry-pick revert pull push worktree gc maintenance".split()
)
_HOOKS_PATH = re.compile(r"^\s*hookspath\s*=", re.IGNORECASE | re.MULTILINE)
# Native tools that change files (for a resumed conversation's history).
_NATIVE_CHANGES = frozenset(
    "write_file edit_file apply_patch create_directory move_file copy_file delete_file delete_directory".split()
)


def runs_project_code(finding: Finding, workspace: str | None = None, home: str | None = None) -> bool:
    """Whether this command of a shell line is a runner: it executes code kept in the project.
    ``workspace``/``home`` let git commands count when the repository runs hooks."""
    argv = finding.argv
    if not argv or argv[0] is None:
        return False
    name = argv[0]
    words = [w for w in argv[1:] if w is not None]
    sub = next((w for w in words if not w.startswith("-")), "")
    if name == "git" and workspace is not None:
        from stoa.core.permissions.shell_analysis import git_argv_for_rules

        rest = [w for w in git_argv_for_rules(list(argv))[1:] if w is not None]
        if rest[:1] and rest[0] in _GIT_HOOK_SUBCOMMANDS and finding.kind in ("read", "write", "build"):
            return git_hooks_installed(workspace, home)
    if finding.kind == "build":
        if name in _INERT_TOOLS or sub in _INERT_SUBCOMMANDS.get(name, ()):
            return False
        if name.startswith("python") and "-m" in words:
            module = words[words.index("-m") + 1] if words.index("-m") + 1 < len(words) else ""
            return module not in _INERT_PYTHON_MODULES
        return True
    if finding.kind in ("read", "write"):
        return name in _CODE_LOADING or sub in _CODE_LOADING_SUBCOMMANDS.get(name, ())
    return False


def changes_files(finding: Finding) -> bool:
    """Whether this command of a shell line may change files in the workspace (as far as a
    runner is concerned): anything but reads, runners, git's own bookkeeping and new folders."""
    if finding.kind in ("read", "build", "forbidden"):
        return False
    if runs_project_code(finding):
        return False
    argv = finding.argv
    if argv and argv[0] is not None:
        name = argv[0]
        if name in _FOLDERS_ONLY:
            return False
        if name == "git":
            from stoa.core.permissions.shell_analysis import git_argv_for_rules

            rest = [w for w in git_argv_for_rules(list(argv))[1:] if w is not None]
            sub = rest[0] if rest else ""
            if sub in _GIT_INTERNAL and finding.kind == "write":
                return False
    return True


@dataclass
class AgentChanges:
    """What the agent changed in this session, as far as runners are concerned.

    ``note`` is called for every tool call that is about to run (allowed or approved), before
    it runs, so a runner later in the same reply already sees the change."""

    workspace: str | None = None
    # Canonical paths written by native tools, in order.
    paths: dict[str, None] = field(default_factory=dict)
    # Calls whose changes are not known path by path (shell lines, MCP tools).
    calls: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.paths or self.calls)

    def note(self, tool_name: str, effect: Effect, accesses: Sequence[Access]) -> None:
        if not accesses:
            if not effect.read_only:
                self.calls.append(tool_name)
            return
        for access in accesses:
            if access.scope == "write":
                self.paths[access.target] = None
            elif access.scope == "bash":
                analysis = access.shell
                if analysis is None or _shell_changes_files(analysis):
                    self.calls.append(f"`{_short(access.target)}`")
            elif access.scope == "mcp":
                if not access.read_only:
                    self.calls.append(access.target)

    def note_history(self, messages: Sequence[Any], *, env: Mapping[str, str] | None = None) -> None:
        """A resumed conversation: what its earlier tool calls may have changed still stands.
        Native changes count by their paths, shell lines when the analysis says they may change
        files, MCP tools always (their effect is not in the history)."""
        from stoa.core.permissions.shell_analysis import analyze

        for message in messages:
            for block in getattr(message, "content", ()):
                if getattr(block, "type", None) != "tool_use":
                    continue
                name, arguments = block.name, block.input if isinstance(block.input, dict) else {}
                if name in _NATIVE_CHANGES:
                    for key in ("path", "destination", "source"):
                        value = arguments.get(key)
                        if isinstance(value, str) and value:
                            self.paths[self._absolute(value)] = None
                    if name == "apply_patch":
                        self.calls.append("apply_patch (earlier in this conversation)")
                elif name == "execute_bash":
                    command = arguments.get("command")
                    if isinstance(command, str) and self.workspace:
                        analysis = analyze(command, self.workspace, env=env)
                        if _shell_changes_files(analysis):
                            self.calls.append(f"`{_short(command)}` (earlier in this conversation)")
                elif "___" in name:
                    self.calls.append(f"{name} (earlier in this conversation)")

    def _absolute(self, value: str) -> str:
        if os.path.isabs(value) or not self.workspace:
            return value
        return os.path.normpath(os.path.join(self.workspace, value))

    def describe(self, limit: int = 3) -> str:
        """A short account for a question: ``Makefile, src/app.py and 3 more``."""
        items = [self._display(p) for p in self.paths] + list(dict.fromkeys(self.calls))
        shown = ", ".join(items[:limit])
        more = len(items) - limit
        return shown + (f" and {more} more" if more > 0 else "")

    def _display(self, path: str) -> str:
        root = self.workspace
        if root and (path == root or path.startswith(root.rstrip("/") + "/")):
            return os.path.relpath(path, root)
        return path


def _shell_changes_files(analysis: ShellAnalysis) -> bool:
    return any(changes_files(f) for f in analysis.findings)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def git_hooks_installed(workspace: str, home: str | None = None) -> bool:
    """Whether git commands in ``workspace`` run hooks: a hook in the repository's hooks folder
    (not a ``.sample``), or ``core.hooksPath`` set in its config or the person's (husky and
    pre-commit keep the hook scripts, or the commands they run, in the workspace)."""
    git_dir = _git_dir(workspace)
    if git_dir is None:
        return False
    configs = [os.path.join(git_dir, "config")]
    home = home or os.environ.get("HOME")
    if home:
        configs += [os.path.join(home, ".gitconfig"), os.path.join(home, ".config", "git", "config")]
    for config in configs:
        try:
            with open(config, encoding="utf-8", errors="replace") as handle:
                if _HOOKS_PATH.search(handle.read(256 * 1024)):
                    return True
        except OSError:
            continue
    try:
        hooks = os.listdir(os.path.join(git_dir, "hooks"))
    except OSError:
        return False
    return any(not name.endswith(".sample") for name in hooks)


def _git_dir(workspace: str) -> str | None:
    """The repository's common git folder for a workspace (``.git``, or where a worktree's
    ``.git`` file points)."""
    dotgit = os.path.join(workspace, ".git")
    if os.path.isdir(dotgit):
        return dotgit
    try:
        with open(dotgit, encoding="utf-8", errors="replace") as handle:
            pointer = handle.read(4096).strip()
    except OSError:
        return None
    target = pointer.removeprefix("gitdir:").strip()
    if not target:
        return None
    gitdir = os.path.normpath(os.path.join(workspace, target))
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as handle:
            return os.path.normpath(os.path.join(gitdir, handle.read().strip()))
    except OSError:
        return gitdir
