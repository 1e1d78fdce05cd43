"""Shell builtins and commands that take no paths (echo, cd, export, read, printf, date, ...):
read-only, except the forms that change the machine (date --set, hostname NAME) or what later
commands run (hash -p, export PATH=...). cd changes the folder later commands run in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.sensitive import dangerous_assignment
from stoa.core.permissions.shell_analysis.tables import HOST_VIEW, NO_PATHS
from stoa.core.permissions.shell_analysis.words import Word

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge(*NO_PATHS, family=True)
def no_paths(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value for w in cmd.words[1:]]
    if name in ("cd", "pushd"):
        change_dir(an, cmd.words[1:])
        return Verdict("read")
    if name == "popd":
        an.cwd = None
        return Verdict("read")
    if name == "hostname" and any(v and not v.startswith("-") for v in values):
        return Verdict("forbidden", ["hostname NAME changes the machine's name"])
    if name == "date" and any(v in ("-s", "--set") or (v or "").startswith("--set=") for v in values):
        return Verdict("forbidden", ["date --set changes the system clock"])
    if name == "dmesg" and any(
        v in ("-C", "-c", "--clear", "--read-clear", "-D", "--console-off", "-E", "--console-on", "-n", "--console-level")
        or (v or "").startswith("--console-level")
        for v in values
    ):
        return Verdict("forbidden", ["dmesg --clear / --console-* changes the kernel log"])
    if name == "journalctl" and any(
        (v or "").startswith(("--vacuum", "--rotate", "--flush", "--sync", "--relinquish-var", "--smart-relinquish-var", "--setup-keys", "--update-catalog"))
        for v in values
    ):
        return Verdict("forbidden", ["journalctl --vacuum / --rotate changes the system journal"])
    if name == "hash" and "-p" in values:
        return Verdict("risky", ["hash -p maps a command name to another program"])
    if name in ("set", "shopt") and any(v in ("-o", "+o") for v in values):
        pass
    if name == "unset":
        for v in values:
            if v is None or not v.startswith("-"):
                if v is not None:
                    an.forget(v)
        return Verdict("read")
    if name == "unalias":
        return Verdict("read")
    if name == "printf":
        # printf -v x FORMAT ARGS sets x; its text is the format and arguments.
        raw = " ".join(w.raw for w in cmd.words[1:])
        for i, v in enumerate(values):
            if v == "-v" and i + 1 < len(values) and values[i + 1]:
                an.forget(values[i + 1] or "", raw)
            elif v and v.startswith("-v") and len(v) > 2:
                an.forget(v[2:], raw)
    if name == "getopts" and len(values) >= 2 and values[1]:
        an.forget(values[1] or "")
    if name == "let":
        for v in values:
            names = re.findall(r"[A-Za-z_]\w*", v or "")
            if v is None or any(n in an.vars and (an.vars[n] is None or re.search(r"[`$\[]", an.vars[n] or "")) for n in names):
                return Verdict("risky", ["let evaluates a variable whose value is known only at run time"])
    if name in ("export", "declare", "typeset", "local", "readonly"):
        for v in values:
            if v and "=" in v and dangerous_assignment(*v.split("=", 1)):
                return Verdict("risky", [f"{name} {v} changes what later commands run"])
        return Verdict("read")
    if name == "read":
        for v in values:
            if v and not v.startswith("-"):
                an.vars[v] = None
        return Verdict("read")
    return Verdict("read", sandbox_ok=name not in HOST_VIEW)


def change_dir(an: Classifier, words: Sequence[Word]) -> None:
    """cd / pushd: where later commands of the line run (None: known only at run time)."""
    values = [w.value for w in words]
    targets = [v for v in values if v is None or (not v.startswith("-") or v == "-")]
    if not targets:
        an.cwd = an.home
        return
    target = targets[0]
    if target == "-":
        an.cwd = None
        return
    if target is None:
        raw = next((w.raw for w in words if w.value is None), "")
        hint = an.dynamic_use(Word(None, raw), write=False)
        an.cwd = hint.path if hint.outside else None
        return
    use = an.path_use(target, write=False)
    an.cwd = use.path


@judge("mapfile", "readarray")
def mapfile(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value for w in cmd.words[1:]]
    if "-C" in values:
        return Verdict("risky", [f"{name} -C runs a callback"])
    for v in values:
        if v and not v.startswith("-"):
            an.vars[v] = None
    return Verdict("read")
