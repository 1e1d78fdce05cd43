"""sed and awk: read-only filters unless their script runs commands, writes files or edits
in place (sed -i)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.words import Word

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier

SED_SIMPLE = set("pdDnNgGhHxlqQz=F")


@judge("sed", "gsed")
def sed(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    in_place = False
    scripts: list[str | None] = []
    files: list[Word] = []
    i = 0
    options_done = False
    explicit_script = False
    while i < len(args):
        v = values[i]
        if v is not None and not options_done and v.startswith("-") and v != "-":
            if v == "--":
                options_done = True
            elif v in ("-e", "--expression"):
                scripts.append(values[i + 1] if i + 1 < len(values) else None)
                explicit_script = True
                i += 2
                continue
            elif v.startswith("--expression="):
                scripts.append(v.split("=", 1)[1])
                explicit_script = True
            elif v in ("-f", "--file"):
                return Verdict("unknown", ["sed runs a script file"])
            elif v.startswith(("-i", "--in-place")) or (not v.startswith("--") and "i" in v[1:]):
                in_place = True
            elif v in ("-l", "--line-length"):
                i += 2
                continue
            i += 1
            continue
        if not explicit_script and not scripts:
            scripts.append(v)
        else:
            files.append(args[i])
        i += 1
    for script in scripts:
        if script is None:
            return Verdict("risky", ["sed script known only at run time"])
        problem = _sed_script_problem(script)
        if problem:
            return Verdict("risky", [f"sed script {problem}"])
    paths, _ = an.paths(files, write=in_place)
    if in_place and any(re.fullmatch(r"\s*(1\s*,\s*\$\s*)?[dD]\s*;?\s*", script or "") for script in scripts):
        # sed -i d / sed -i '1,$d': every line deleted, the file emptied (like > file).
        return Verdict("destructive", ["sed -i with d on every line empties the files"], paths)
    return Verdict("write" if in_place else "read", [], paths)


@judge("awk", "gawk", "mawk", "nawk")
def awk(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    program: str | None = ""
    files: list[Word] = []
    i = 0
    have_program = False
    while i < len(args):
        v = values[i]
        if not have_program and v is not None and v.startswith("-") and v != "-":
            if v in ("-f", "--file") or v.startswith("-f"):
                return Verdict("unknown", [f"{name} runs a program file"])
            if v in ("-v", "-F", "--assign", "--field-separator"):
                i += 2
                continue
            if v in ("-i", "--include", "-l", "--load", "-E", "--exec"):
                return Verdict("risky", [f"{name} {v} loads code"])
            i += 1
            continue
        if not have_program:
            program = v
            have_program = True
        else:
            files.append(args[i])
        i += 1
    if program is None:
        return Verdict("risky", [f"{name} program known only at run time"])
    if re.search(r"\bsystem\s*\(|\|\s*(getline|\")|\|&|\bprintf?\b[^;{}]*>|@load|\bgetline\b\s*<?\s*\"", program):
        return Verdict("risky", [f"{name} program runs commands or writes files"])
    if "|" in program:
        return Verdict("risky", [f"{name} program pipes to a command"])
    assigns = [w for w in files if w.value and re.match(r"^[A-Za-z_]\w*=", w.value)]
    paths, _ = an.paths([w for w in files if w not in assigns], write=False)
    return Verdict("read", [], paths)


def _sed_script_problem(script: str) -> str | None:
    """Why a sed script is unsafe (runs commands, writes or reads other files), or None."""
    i = 0
    n = len(script)

    def skip_delimited(pos: int, delim: str) -> int:
        while pos < n:
            ch = script[pos]
            if ch == "\\":
                pos += 2
                continue
            if ch == delim:
                return pos + 1
            if ch == "\n" and delim != "\n":
                return -1
            pos += 1
        return -1

    while i < n:
        ch = script[i]
        if ch in " \t\n;{}!":
            i += 1
            continue
        # Addresses.
        while i < n:
            ch = script[i]
            if ch.isdigit() or ch in "$~,+":
                i += 1
            elif ch == "/":
                i = skip_delimited(i + 1, "/")
                if i < 0:
                    return "cannot be parsed"
            elif ch == "\\" and i + 1 < n:
                i = skip_delimited(i + 2, script[i + 1])
                if i < 0:
                    return "cannot be parsed"
            elif ch in "IM" and i > 0 and script[i - 1] == "/":
                i += 1
            elif ch in " \t!":
                i += 1
            else:
                break
        if i >= n:
            break
        cmd = script[i]
        i += 1
        if cmd in "{}":
            continue
        if cmd in "sy":
            if i >= n:
                return "cannot be parsed"
            delim = script[i]
            j = skip_delimited(i + 1, delim)
            if j < 0:
                return "cannot be parsed"
            j = skip_delimited(j, delim)
            if j < 0:
                return "cannot be parsed"
            i = j
            if cmd == "s":
                flags = ""
                while i < n and script[i] not in ";\n}":
                    flags += script[i]
                    i += 1
                if "e" in flags:
                    return "runs the result as a command (the e flag)"
                if "w" in flags:
                    return "writes to a file (the w flag)"
                if re.search(r"[^gpiImM0-9\s]", flags):
                    return f"has flags Stoa does not know ({flags.strip()})"
            continue
        if cmd in "ewWrRv":
            return {
                "e": "runs a command (the e command)",
                "w": "writes to a file (the w command)",
                "W": "writes to a file (the W command)",
                "r": "reads another file (the r command)",
                "R": "reads another file (the R command)",
                "v": "uses v",
            }[cmd]
        if cmd in "aic":
            while i < n and script[i] != "\n":
                if script[i] == "\\" and i + 1 < n:
                    i += 1
                i += 1
            continue
        if cmd in "btT:":
            while i < n and script[i] not in ";\n":
                i += 1
            continue
        if cmd == "#":
            while i < n and script[i] != "\n":
                i += 1
            continue
        if cmd in "qQlL":
            while i < n and (script[i].isdigit() or script[i] in " \t"):
                i += 1
            continue
        if cmd in SED_SIMPLE:
            continue
        return f"uses a sed command Stoa does not know ({cmd!r})"
    return None
