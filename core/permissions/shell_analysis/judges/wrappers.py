"""Wrappers (env, nice, timeout, exec, stdbuf, strace, ...) and detachers (nohup, setsid,
screen, at, ...): a wrapper is judged by the command it runs; a detacher runs commands beyond
Stoa's control."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict, chain_via
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.sensitive import dangerous_assignment
from stoa.core.permissions.shell_analysis.tables import DETACHERS, WRAPPERS

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge(*WRAPPERS, family=True)
def wrapper(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict | Any:
    args = cmd.words[1:]
    values = [w.value for w in args]
    i = 0
    extra: list[str] = []
    if name == "env":
        while i < len(args):
            v = values[i]
            if v is None:
                break
            if v in ("-i", "--ignore-environment", "-0", "--null", "-v", "--debug") or v == "-":
                i += 1
            elif v in ("-u", "--unset"):
                i += 2
            elif v.startswith("--unset="):
                i += 1
            elif v in ("-C", "--chdir") or v.startswith("--chdir="):
                return Verdict("risky", ["env --chdir runs the command in another directory"])
            elif v in ("-S", "--split-string") or v.startswith(("-S", "--split-string=")):
                return an.evaluate_string(
                    " ".join(x or "" for x in values[i + 1 :]) if v in ("-S", "--split-string") else v.split("=", 1)[-1] if "=" in v else v[2:],
                    cmd,
                    depth,
                    "env -S",
                )
            elif "=" in v and not v.startswith("-") and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", v):
                var, _, assigned = v.partition("=")
                if dangerous_assignment(var, assigned):
                    extra.append(f"env sets {var}, which changes what the command runs")
                i += 1
            elif v.startswith("-"):
                i += 1
            else:
                break
        if i >= len(args):
            return Verdict("read")
    elif name == "command":
        if any(v in ("-v", "-V") for v in values):
            return Verdict("read")
        while i < len(args) and values[i] == "-p":
            i += 1
    elif name == "builtin":
        pass
    elif name == "exec":
        while i < len(args) and values[i] in ("-c", "-l", "-a"):
            i += 2 if values[i] == "-a" else 1
        if i >= len(args):
            return Verdict("read")
    elif name == "time":
        while i < len(args) and (values[i] or "").startswith("-"):
            if values[i] in ("-o", "--output"):
                return Verdict("risky", ["time -o writes a file"])
            i += 2 if values[i] == "-f" else 1
    elif name == "timeout":
        while i < len(args) and (values[i] or "").startswith("-"):
            i += 2 if values[i] in ("-s", "-k", "--signal", "--kill-after") else 1
        i += 1  # the duration
    elif name == "nice":
        while i < len(args) and (values[i] or "").startswith("-"):
            i += 2 if values[i] == "-n" else 1
    elif name == "ionice":
        while i < len(args) and (values[i] or "").startswith("-"):
            if values[i] in ("-p", "-P", "-u"):
                return Verdict("risky", ["ionice on other processes"])
            i += 2 if values[i] in ("-c", "-n") else 1
    elif name == "stdbuf":
        while i < len(args) and (values[i] or "").startswith("-"):
            i += 2 if values[i] in ("-i", "-o", "-e") else 1
    elif name == "chrt":
        while i < len(args) and (values[i] or "").startswith("-"):
            if values[i] in ("-p", "--pid"):
                return Verdict("risky", ["chrt on another process"])
            i += 1
        i += 1  # priority
    elif name == "taskset":
        while i < len(args) and (values[i] or "").startswith("-"):
            if values[i] in ("-p", "--pid"):
                return Verdict("risky", ["taskset on another process"])
            i += 1
        i += 1  # mask
    elif name == "flock":
        while i < len(args) and (values[i] or "").startswith("-"):
            if values[i] in ("-c", "--command"):
                return an.evaluate_string(values[i + 1] if i + 1 < len(values) else None, cmd, depth, "flock -c")
            i += 2 if values[i] in ("-w", "--timeout", "-E", "--conflict-exit-code") else 1
        i += 1  # the lock file
    elif name in ("setarch", "faketime"):
        while i < len(args) and (values[i] or "").startswith("-"):
            i += 1
        i += 1  # the architecture / the time
        while i < len(args) and (values[i] or "").startswith("-"):
            i += 1
    elif name == "prlimit" and any(v in ("-p", "--pid") or (v or "").startswith("--pid") for v in values):
        return Verdict("risky", ["prlimit on another process"])
    elif name in ("strace", "ltrace", "valgrind"):
        while i < len(args) and (values[i] or "").startswith("-"):
            if values[i] in ("-o",) or (values[i] or "").startswith("--log-file"):
                return Verdict("risky", [f"{name} writes a log file"])
            if values[i] in ("-p",):
                return Verdict("risky", [f"{name} attaches to another process"])
            i += 2 if values[i] in ("-e", "-s", "-E", "-u") else 1
    else:
        while i < len(args) and (values[i] or "").startswith("-"):
            i += 1
    if i < len(args) and values[i] == "--":
        i += 1
    inner = args[i:]
    if not inner:
        return Verdict("read")
    an.simple(Cmd(list(inner), cmd.text, chain_via(cmd.via, name)), depth)
    verdict = Verdict("read")
    for reason in extra:
        verdict.raise_to("risky", reason)
    if verdict.reasons:
        return verdict
    return Verdict("skip")  # type: ignore[arg-type]


@judge(*DETACHERS, family=True)
def detacher(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    inner = args[1:] if name == "flock" else args
    verdict = Verdict("risky", [f"{name} runs commands detached or later, beyond Stoa's control"], sandbox_ok=False)
    if name in ("setsid", "nohup", "daemonize") and inner:
        an.simple(Cmd(list(inner), cmd.text, chain_via(cmd.via, name)), depth)
    return verdict


@judge("nohup")
def nohup(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    if args:
        an.simple(Cmd(list(args), cmd.text, chain_via(cmd.via, name)), depth)
        return Verdict("skip")  # type: ignore[arg-type]
    return Verdict("read")
