"""Build and test runners and formatters: make, cargo, go, deno, the vetted build tools
(pytest, tsc, gradle, ...), formatters and ruff. They run the project's code, so which
subcommands build or test (allowed) and which run, install or publish is what matters."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.findings import PathUse
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.sensitive import dangerous_assignment
from stoa.core.permissions.shell_analysis.tables import (
    DESTRUCTIVE,
    EVALUATORS,
    FORBIDDEN,
    FORMATTERS,
    INTERPRETERS,
    NETWORK,
    SHELLS,
    VETTED_BUILD,
)

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge("make", "gmake")
def make(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    targets: list[str] = []
    paths: list[PathUse] = []
    i = 0
    dry = False
    while i < len(args):
        v = values[i]
        if v is None:
            return Verdict("unknown", ["make with arguments known only at run time"])
        if v in ("-C", "--directory", "-f", "--file", "--makefile", "-I", "--include-dir", "-o", "-W"):
            target = values[i + 1] if i + 1 < len(values) else None
            if target:
                paths.append(an.path_use(target, write=v in ("-C", "--directory")))
            i += 2
            continue
        if v.startswith(("--directory=", "--file=", "--makefile=")):
            paths.append(an.path_use(v.split("=", 1)[1], write=False))
        elif v in ("-n", "--dry-run", "--just-print", "--recon", "-q", "--question", "-p"):
            dry = True
        elif v.startswith("-") or "=" in v:
            if "=" in v and not v.startswith("-") and dangerous_assignment(*v.split("=", 1)):
                return Verdict("risky", [f"make {v} overrides a variable that runs programs"])
            if "=" in v and not v.startswith("-") and _command_like(v.split("=", 1)[1]):
                return Verdict("risky", [f"make {v} puts a command into a variable the Makefile may run"])
            if v.startswith("-") and any(v.startswith(x) for x in ("--eval", "-E")):
                return Verdict("risky", ["make --eval runs given make code"])
        else:
            targets.append(v)
        i += 1
    if dry:
        return Verdict("read", [], paths)
    known = {"", "all", "build", "test", "tests", "check", "lint", "typecheck", "compile", "default", "format", "fmt", "unit", "test-unit", "ci", "docs", "html", "vet"}
    unknown = [t for t in targets if t not in known]
    if unknown:
        return Verdict("unknown", [f"make {' '.join(unknown)} runs targets Stoa does not know"], paths)
    return Verdict("build", [], paths)


def _command_like(value: str) -> bool:
    """Whether a make variable's value reads as a command line rather than a setting."""
    if re.search(r"[;|&`\n]|\$\(", value):
        return True
    first = value.split()[0] if value.split() else ""
    base = os.path.basename(first)
    return base in (FORBIDDEN | DESTRUCTIVE | SHELLS | EVALUATORS | NETWORK) or (
        base in INTERPRETERS and any(flag in value.split()[1:] for flag in ("-c", "-e", "-E", "-r"))
    )


@judge("cargo")
def cargo(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value or "" for w in cmd.words[1:]]
    sub = next((v for v in values if not v.startswith(("-", "+"))), "")
    paths, _ = an.paths(cmd.words[1:], write=True)
    paths = [p for p in paths if p.outside or (p.path is None and p.raw.startswith(("/", "~", "..")))]
    if sub in ("build", "b", "check", "c", "test", "t", "clippy", "doc", "d", "bench", "metadata", "tree", "verify-project", "nextest", "llvm-cov", "miri") or values in (["--version"], ["-V"]):
        return Verdict("build", [], paths)
    if sub in ("fmt",):
        return Verdict("build" if "--check" in values else "write", [], paths)
    if sub in ("new", "init", "clean", "fix", "vendor", "generate-lockfile", "package"):
        return Verdict("write", [], paths)
    if sub in ("run", "r"):
        return Verdict("unknown", ["cargo run runs the program"], paths)
    return Verdict("risky", [f"cargo {sub} installs, publishes or downloads"], paths, sandbox_ok=False)


@judge("go")
def go(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value or "" for w in cmd.words[1:]]
    sub = next((v for v in values if not v.startswith("-")), "")
    paths, _ = an.paths(cmd.words[1:], write=True)
    paths = [p for p in paths if p.outside]
    if sub in ("build", "test", "vet", "list", "doc", "version", "env", "help"):
        if sub == "env" and "-w" in values:
            return Verdict("risky", ["go env -w changes go settings"])
        return Verdict("build" if sub in ("build", "test", "vet") else "read", [], paths)
    if sub in ("fmt", "generate") and sub == "fmt":
        return Verdict("write", [], paths)
    if sub in ("run", "generate", "tool"):
        return Verdict("unknown", [f"go {sub} runs programs"], paths)
    if sub == "mod" and values[values.index(sub) + 1 : values.index(sub) + 2] in (["graph"], ["why"], ["verify"], ["edit"]):
        return Verdict("read" if "edit" not in values else "write", [], paths)
    if sub == "clean":
        return Verdict("write", [], paths)
    return Verdict("risky", [f"go {sub} downloads or installs"], paths, sandbox_ok=False)


@judge("deno")
def deno(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value or "" for w in cmd.words[1:]]
    sub = next((v for v in values if not v.startswith("-")), "")
    if sub in ("test", "check", "lint", "bench", "doc", "info") or values in (["--version"], ["-V"]):
        return Verdict("build")
    if sub == "fmt":
        return Verdict("build" if "--check" in values else "write")
    if sub in ("run", "task", "serve"):
        return Verdict("unknown", [f"deno {sub} runs a program"])
    return Verdict("risky", [f"deno {sub} runs inline code, installs or uses the network"], sandbox_ok=False)


@judge(*VETTED_BUILD, family=True)
def build(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value or "" for w in args]
    paths, _ = an.paths(args, write=True)
    if name in ("pytest", "py.test") and (doomed := basetemp(an, values)):
        return Verdict("destructive", [f"pytest --basetemp {doomed} deletes that folder first"], paths)
    if name in ("mvn", "mvnw") and any(v.startswith("exec:exec") or v.startswith("-Dexec.executable") for v in values):
        return Verdict("risky", [f"{name} exec:exec runs a program named on the command line"], paths)
    if name in ("gradle", "gradlew", "mvn", "mvnw", "sbt", "lein", "bazel", "buck", "pants"):
        if any(v in ("run", "bootRun", "exec:java") for v in values):
            return Verdict("unknown", [f"{name} run runs the program"], paths)
        if any(v in ("publish", "deploy", "install", "release", "uploadArchives") for v in values):
            return Verdict("risky", [f"{name} {' '.join(values)} publishes, installs or runs"], paths, sandbox_ok=False)
    if name == "dotnet":
        sub = next((v for v in values if not v.startswith("-")), "")
        if sub in ("build", "test", "format", "--version", "--info", "--list-sdks"):
            return Verdict("build", [], paths)
        if sub in ("run", "watch"):
            return Verdict("unknown", [f"dotnet {sub} runs the program"], paths)
        return Verdict("risky", [f"dotnet {sub} changes packages or uses the network"], paths, sandbox_ok=False)
    if name in ("tox", "nox"):
        return Verdict("unknown", [f"{name} builds environments and runs commands from its config"], paths)
    if name in ("mix", "cabal", "stack", "dune", "zig", "cmake"):
        sub = next((v for v in values if not v.startswith("-")), "")
        allowed = {"test", "build", "compile", "check", "format", "--build", "fmt"}
        if name == "cmake" and (not sub or sub.startswith(("-", "."))):
            return Verdict("build", [], paths)
        if sub not in allowed and name != "cmake":
            return Verdict("unknown", [f"{name} {sub} is not a known build or test step"], paths)
    if name == "eslint" and any(v == "--fix" or v.startswith("--fix") for v in values):
        return Verdict("write", [], paths)
    return Verdict("build", [], paths)


@judge(*FORMATTERS, family=True)
def formatter(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value or "" for w in args]
    checking = any(v in _CHECKING for v in values)
    if name == "gofmt" and "-w" not in values:
        checking = True
    if name == "prettier" and not any(v in ("--write", "-w") for v in values):
        checking = True
    if any(v in ("-i", "--in-place", "-w", "--write", "--overwrite-in-place") for v in values):
        checking = False  # autopep8 -d -i, gofmt -l -w: the files are rewritten all the same
    paths, _ = an.paths(args, write=not checking)
    if not checking:
        return Verdict("write", [], paths)
    # A check or a diff only reads; prettier still loads the project's code configs
    # (prettier.config.js), so it stays a runner of project code.
    return Verdict("build" if name == "prettier" else "read", [], paths)


# Options with which a formatter only reports (isort --check-only, black --check, --diff, ...).
_CHECKING = frozenset(
    ("--check", "--check-only", "--diff", "-c", "--list-different", "-l", "-d", "--dry-run")
)


@judge("ruff")
def ruff(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value or "" for w in args]
    sub = next((v for v in values if not v.startswith("-")), "check")
    fixing = any(v in ("--fix", "--unsafe-fixes", "--fix-only") for v in values) or (
        sub == "format" and not any(v in ("--check", "--diff") for v in values)
    )
    paths, _ = an.paths(args, write=fixing, skip=1 if sub in values else 0)
    if fixing:
        return Verdict("write", [], paths)
    # ruff format --check / --diff only reads (ruff loads no code from the project).
    return Verdict("read" if sub == "format" else "build", [], paths)


def basetemp(an: Classifier, values: Sequence[str]) -> str | None:
    """pytest --basetemp DIR empties DIR before the run: the folder, when it exists."""
    for i, v in enumerate(values):
        target = values[i + 1] if v == "--basetemp" and i + 1 < len(values) else v.split("=", 1)[1] if v.startswith("--basetemp=") else None
        if target:
            use = an.path_use(target, write=True)
            if use.path is None or os.path.exists(use.path):
                return target
    return None
