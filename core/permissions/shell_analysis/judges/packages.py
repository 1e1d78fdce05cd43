"""Package managers and package runners: installers (apt, pip, brew, ...), npm/yarn/pnpm/bun
scripts, uv/poetry/pdm/hatch/rye/pipenv/bundle (their run and exec run a command), and
npx-style runners that may download what they run."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict, chain_via
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.tables import INSTALLERS, PACKAGE_RUNNERS

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier

# Tools whose "run NAME" runs a script defined in the project's configuration when one is so named.
_SCRIPT_RUNNERS = frozenset("pipenv pdm hatch rye".split())


@judge(*INSTALLERS, family=True)
def installer(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value or "" for w in cmd.words[1:]]
    sub = next((v for v in values if not v.startswith("-")), "")
    if (name in ("pip", "pip3") and sub in ("list", "show", "freeze", "check", "--version", "help", "")) or (
        name in ("pip", "pip3") and values in (["--version"], ["-V"])
    ):
        return Verdict("read")
    if name in ("dpkg",) and any(v in ("-l", "-L", "-s", "--list", "--status", "-S") for v in values):
        return Verdict("read")
    if name in ("apt", "apt-cache", "brew", "conda", "gem") and sub in ("list", "show", "search", "info", "--version"):
        return Verdict("read", sandbox_ok=True)
    return Verdict("risky", [f"{name} installs or removes software"], sandbox_ok=False)


@judge(*PACKAGE_RUNNERS, family=True)
def package_runner(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    if name == "bun" and any(v in ("-e", "--eval", "-p", "--print") for v in values):
        return Verdict("risky", ["bun -e runs code given on the command line"])
    sub = next((v for v in values if v is None or not v.startswith("-")), "")
    if sub is None:
        return Verdict("risky", [f"{name} subcommand known only at run time"])
    rest = values[values.index(sub) + 1 :] if sub in values else []
    script = next((v for v in rest if v is None or not v.startswith("-")), "") if sub in ("run", "run-script") else sub
    if values in (["--version"], ["-v"], ["-V"]) or sub in ("--version", "-v", "version", "help"):
        return Verdict("read")
    if sub in ("ls", "list", "why", "explain", "root", "bin", "prefix", "config") and (
        sub != "config" or (rest[:1] in (["get"], ["list"]))
    ):
        return Verdict("read")
    if sub in ("test", "t", "tst") or script in (
        "test",
        "tests",
        "build",
        "lint",
        "typecheck",
        "type-check",
        "check",
        "compile",
        "test:unit",
        "test:e2e",
        "tsc",
    ):
        return Verdict("build")
    if sub in ("run", "run-script", "start", "dev", "serve", "preview", "watch"):
        return Verdict("unknown", [f"{name} {sub} {script or ''} runs a project script".replace("  ", " ")])
    if name == "yarn" and sub not in (
        "install", "add", "remove", "upgrade", "up", "dlx", "exec", "publish", "login", "link", "global", "create", "init", "set", "plugin", "npm", "pack", "audit", "outdated", "info", "import"
    ) and sub:
        return Verdict("unknown", [f"yarn {sub} runs a project script"])
    if name == "bun" and sub and sub not in ("install", "i", "add", "a", "remove", "rm", "x", "create", "upgrade", "link", "publish", "pm", "update", "init"):
        return Verdict("unknown", [f"bun {sub} runs a file or script"])
    return Verdict("risky", [f"{name} {sub} installs, publishes or downloads packages"], sandbox_ok=False)


@judge("uv", "poetry", "pipenv", "pdm", "hatch", "rye", "bundle")
def project_runner(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    sub = next((v for v in values if v is None or not v.startswith("-")), None)
    if sub is None:
        return Verdict("read")
    idx = values.index(sub)
    if sub == "run" or (name in ("poetry", "pipenv", "pdm", "hatch", "rye") and sub == "run"):
        j = idx + 1
        while j < len(args) and (values[j] or "").startswith("-"):
            j += 2 if values[j] in ("--with", "--python", "-p", "--env", "-e", "--group", "--extra", "--package", "--directory", "--project", "--env-file") else 1
        inner = list(args[j:])
        if not inner:
            return Verdict("unknown", [f"{name} run without a command"])
        an.simple(Cmd(inner, cmd.text, chain_via(cmd.via, f"{name} run")), depth)
        if name in _SCRIPT_RUNNERS:
            # The word after run may name a script of the project's configuration
            # ([tool.pdm.scripts], hatch env scripts, Pipfile [scripts]): any command.
            what = inner[0].value or "…"
            return Verdict("unknown", [f"{name} run {what} may run a script from the project's configuration"])
        return Verdict("skip")  # type: ignore[arg-type]
    if name == "bundle" and sub == "exec":
        inner = list(args[idx + 1 :])
        if inner:
            an.simple(Cmd(inner, cmd.text, chain_via(cmd.via, "bundle exec")), depth)
            return Verdict("skip")  # type: ignore[arg-type]
    if sub in ("--version", "version", "help", "tree", "show", "list", "check") or (name == "uv" and sub == "pip" and values[idx + 1 : idx + 2] in (["list"], ["show"], ["freeze"], ["check"])):
        return Verdict("read")
    if name == "uv" and sub in ("venv",):
        return Verdict("write")
    return Verdict("risky", [f"{name} {sub} installs or downloads packages"], sandbox_ok=False)


@judge("npx", "pnpx", "bunx", "uvx", "pipx")
def npx(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    i = 0
    while i < len(args) and (values[i] or "").startswith("-"):
        if values[i] in ("-y", "--yes", "-p", "--package", "-c", "--call"):
            return Verdict("risky", [f"{name} {values[i]} downloads or runs given code"], sandbox_ok=False)
        i += 1
    package = values[i] if i < len(args) else None
    if package and name in ("npx", "pnpx", "bunx") and re.fullmatch(r"[\w.\-]+", package):
        local = os.path.join(an.workspace, "node_modules", ".bin", package)
        if os.path.exists(local):
            # A tool the project already installed: judge it as itself.
            an.simple(Cmd(list(args[i:]), cmd.text, chain_via(cmd.via, name)), depth)
            return Verdict("skip")  # type: ignore[arg-type]
    return Verdict("risky", [f"{name} may download and run a package"], sandbox_ok=False)
