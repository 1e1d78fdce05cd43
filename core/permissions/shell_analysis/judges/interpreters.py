"""Shells, interpreters and evaluators: what they run is code (a script file, an inline
string, their input). ``bash -c``, ``eval``, ``trap``, ``watch`` strings are analysed as
command lines of their own; ``python -m`` is judged by its module."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict, chain_via, strip_version
from stoa.core.permissions.shell_analysis.findings import PathUse
from stoa.core.permissions.shell_analysis.judges.builds import basetemp, formatter, ruff
from stoa.core.permissions.shell_analysis.judges.packages import installer
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.tables import EVALUATORS, INTERPRETERS, SHELLS
from stoa.core.permissions.shell_analysis.words import Word

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge(*SHELLS, family=True)
def shell(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    if name in ("busybox", "toybox", "coreutils"):
        if values[:1] == ["--multicall"]:
            args, values = args[1:], values[1:]
        if not args:
            return Verdict("read")
        return an.classify(strip_version(values[0] or "?"), Cmd(list(args), cmd.text, chain_via(cmd.via, "busybox")), depth)
    i = 0
    while i < len(args):
        v = values[i]
        if v is None:
            return Verdict("risky", [f"{name} with arguments known only at run time"])
        if v == "-c" or (v.startswith("-") and not v.startswith("--") and "c" in v[1:]):
            script = values[i + 1] if i + 1 < len(values) else None
            return an.evaluate_string(script, cmd, depth, f"{name} -c")
        if v in ("-s", "-i") or (v.startswith("-") and not v.startswith("--") and ("s" in v[1:] or "i" in v[1:])):
            return Verdict("risky", [f"{name} {v} runs commands from its input"])
        if v in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            if v in ("--rcfile", "--init-file"):
                return Verdict("risky", [f"{name} {v} runs another start-up file"])
            i += 2
            continue
        if v in ("--version", "--help"):
            return Verdict("read")
        if v.startswith("-") or v.startswith("+"):
            i += 1
            continue
        break
    if i >= len(args):
        return Verdict("risky", [f"{name} without a script runs commands from its input"])
    script_word = args[i]
    noexec = any(v in ("-n",) for v in values[:i])
    use = (
        an.path_use(script_word.value, write=False)
        if script_word.value
        else PathUse(script_word.raw, None)
    )
    if noexec:
        return Verdict("read", [], [use])
    rest, _ = an.paths(args[i + 1 :], write=True)
    return Verdict("unknown", [f"runs the shell script {script_word.raw}"], [use, *rest])


@judge(*INTERPRETERS, family=True)
def interpreter(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    if values in (["--version"], ["-V"], ["-v"], ["--help"], ["-h"], ["version"]):
        return Verdict("read")
    if name.startswith("py"):
        inline = {"-c", "-i", "-"}
    elif name in ("node", "nodejs", "bun"):
        inline = {"-e", "--eval", "-p", "--print", "-r", "--require", "-i", "--interactive", "-", "--import", "--loader"}
    else:
        inline = {"-c", "-e", "-E", "-r", "-a", "-i", "-l", "-", "-Command", "-command", "-EncodedCommand", "-ec", "--eval"}
    if name in ("perl", "ruby") and any(v and v.startswith("-") and not v.startswith("--") and ("e" in v or "E" in v) for v in values):
        return Verdict("risky", [f"{name} runs code given on the command line"])
    if name == "perl" and any(v and v.startswith(("-M", "-m")) and re.search(r"[;(`{\s]", v) for v in values):
        return Verdict("risky", ["perl -M with code runs code given on the command line"])
    i = 0
    while i < len(args):
        v = values[i]
        if v is None:
            return Verdict("risky", [f"{name} with arguments known only at run time"])
        if name.startswith("py") and v == "-m":
            module = values[i + 1] if i + 1 < len(values) else None
            return python_module(an, module, cmd, args[i + 2 :], depth)
        if name.startswith("py") and v.startswith("-m") and len(v) > 2:
            return python_module(an, v[2:], cmd, args[i + 1 :], depth)
        if name in ("node", "nodejs", "deno", "bun") and v == "--test":
            return Verdict("build")
        if v in inline or (name.startswith("py") and v.startswith("-c")):
            return Verdict("risky", [f"{name} {v} runs code given inline or from its input"])
        if name.startswith("py") and v in ("-W", "-X", "--check-hash-based-pycs"):
            i += 2
            continue
        if v.startswith("-"):
            i += 1
            continue
        break
    if i >= len(args):
        return Verdict("risky", [f"{name} without a script runs code from its input"])
    script = args[i]
    if name in ("swift",) and script.value in ("build", "test"):
        return Verdict("build")
    use = an.path_use(script.value or "", write=False)
    rest, _ = an.paths(args[i + 1 :], write=True)
    return Verdict("unknown", [f"runs the {name} program {script.raw}"], [use, *rest])


def python_module(an: Classifier, module: str | None, cmd: Cmd, rest: Sequence[Word], depth: int) -> Verdict:
    values = [w.value or "" for w in rest]
    paths, _ = an.paths(rest, write=True)
    if module is None:
        return Verdict("risky", ["python -m with a module known only at run time"])
    if module == "pytest" and (doomed := basetemp(an, values)):
        return Verdict("destructive", [f"pytest --basetemp {doomed} deletes that folder first"], paths)
    if module in ("pytest", "unittest", "doctest", "mypy", "pyflakes", "pylint", "flake8", "pycodestyle", "compileall", "py_compile", "pyright", "coverage", "tabnanny", "build"):
        return Verdict("build", [], paths)
    if module in ("timeit", "pdb", "cProfile", "profile", "trace", "code", "runpy", "idlelib", "IPython", "asyncio"):
        return Verdict("risky", [f"python -m {module} runs code given on the command line or from its input"])
    if module == "json.tool" and len([v for v in values if not v.startswith("-")]) >= 2:
        verdict = Verdict("write", [], [replace(p, write=False) for p in paths[:-1]] + paths[-1:])
        an.overwrites(verdict, paths[-1:], "python -m json.tool")
        return verdict
    if module == "pydoc" and any(v.startswith(("-p", "-b", "-w", "-n")) for v in values):
        return Verdict("unknown", ["python -m pydoc -p/-b/-w starts a server or writes files"], paths)
    if module in ("json.tool", "tokenize", "dis", "platform", "sysconfig", "site", "pydoc", "this", "calendar"):
        return Verdict("read", [], [replace(p, write=False) for p in paths])
    if module in ("ruff", "black", "isort"):
        return formatter(an, module, Cmd([Word(module, module), *rest], cmd.text, cmd.via), depth) if module != "ruff" else ruff(an, "ruff", Cmd([Word("ruff", "ruff"), *rest], cmd.text, cmd.via), depth)
    if module in ("pip", "ensurepip", "pipx"):
        return installer(an, "pip", Cmd([Word("pip", "pip"), *rest], cmd.text, cmd.via), depth)
    if module in ("venv", "virtualenv"):
        return Verdict("write", [], paths)
    if module in ("http.server", "smtpd", "ftplib", "telnetlib", "webbrowser", "urllib.request", "pty"):
        return Verdict("risky", [f"python -m {module} uses the network or a terminal"], sandbox_ok=False)
    if any(v == "-c" for v in values):
        return Verdict("risky", [f"python -m {module} -c runs inline code"])
    return Verdict("unknown", [f"python -m {module} runs that module"], paths)


@judge(*EVALUATORS, family=True)
def evaluator(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value for w in cmd.words[1:]]
    if name == "eval":
        if any(v is None for v in values):
            return Verdict("risky", ["eval of a string known only at run time"])
        return an.evaluate_string(" ".join(v or "" for v in values), cmd, depth, "eval")
    if name == "trap":
        if not values or values[0] in ("-l", "-p") or (values[0] is None and False):
            return Verdict("read")
        return an.evaluate_string(values[0], cmd, depth, "trap")
    if name == "watch":
        rest = [v for v in values if v is not None and not v.startswith("-")]
        return an.evaluate_string(" ".join(rest) if all(v is not None for v in values) else None, cmd, depth, "watch")
    if name == "script":
        if "-c" in values:
            idx = values.index("-c")
            return an.evaluate_string(values[idx + 1] if idx + 1 < len(values) else None, cmd, depth, "script -c")
        return Verdict("risky", ["script records a terminal session"])
    if name == "alias":
        if not values or all(v and "=" not in v for v in values):
            return Verdict("read")
        return Verdict("risky", ["defines an alias (a command name that runs something else)"])
    if name == "complete" and "-C" not in values:
        return Verdict("read")
    if name == "bind" and "-x" not in values:
        return Verdict("read")
    return Verdict("risky", [f"{name} runs code indirectly"])


@judge("source", ".")
def source(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    if not args or args[0].value is None:
        return Verdict("risky", [f"{name} of a file known only at run time"])
    use = an.path_use(args[0].value, write=False)
    return Verdict("unknown", [f"{name} runs the commands in {args[0].raw}"], [use])
