"""find, fd and xargs: they run other commands over the files they find or read."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict, chain_via
from stoa.core.permissions.shell_analysis.findings import KIND_ORDER, PathUse
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.words import Word

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge("find")
def find(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    roots: list[Word] = []
    i = 0
    while i < len(args) and values[i] in ("-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3", "-D"):
        i += 2 if values[i] == "-D" else 1
    while i < len(args) and not (values[i] or "").startswith(("-", "(", "!", ")")):
        roots.append(args[i])
        i += 1
    verdict = Verdict("read")
    root_uses, dynamic = an.paths(roots, write=False) if roots else ([an.path_use(".", write=False)], False)
    writes_found = False
    while i < len(args):
        v = values[i]
        if v is None:
            i += 1
            continue
        if v == "-delete":
            verdict.raise_to("destructive", "find -delete deletes every file it finds")
            writes_found = True
        elif v in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            while j < len(args) and values[j] not in (";", "+"):
                j += 1
            inner = [w if w.value != "{}" else Word(roots[0].value if roots and roots[0].value else ".", "{}") for w in args[i + 1 : j]]
            if inner:
                before = len(an.findings)
                an.simple(Cmd(inner, cmd.text, chain_via(cmd.via, f"find {v}")), depth)
                for f in an.findings[before:]:
                    if KIND_ORDER[f.kind] > KIND_ORDER["read"]:
                        writes_found = True
            else:
                verdict.raise_to("risky", f"find {v} without a command")
            i = j + 1
            continue
        elif v in ("-fprint", "-fprint0", "-fls", "-fprintf"):
            target = values[i + 1] if i + 1 < len(values) else None
            verdict.raise_to("write")
            verdict.paths.append(an.path_use(target, write=True) if target else PathUse("", None, True))
            i += 3 if v == "-fprintf" else 2
            continue
        elif v in ("-newer", "-anewer", "-cnewer", "-samefile") or v.startswith("-newer"):
            target = values[i + 1] if i + 1 < len(values) else None
            if target:
                verdict.paths.append(an.path_use(target, write=False))
            i += 2
            continue
        i += 1
    root_write = writes_found
    verdict.paths = [replace(u, write=root_write) for u in root_uses] + verdict.paths
    verdict.paths += an.followed("find", args, roots=roots)
    if verdict.kind == "destructive" and any(an.critical(u) for u in root_uses):
        verdict.raise_to("forbidden", "find -delete over the system or the home folder")
    if dynamic:
        verdict.raise_to("unknown")
    return verdict


@judge("fd", "fdfind")
def fd(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    for i, v in enumerate(values):
        if v in ("-x", "--exec", "-X", "--exec-batch"):
            inner = list(args[i + 1 :])
            if inner:
                an.simple(Cmd(inner, cmd.text, chain_via(cmd.via, f"{name} {v}")), depth)
            positional, _ = an.paths(args[:i], write=False, skip=1)
            return Verdict("read", [], positional)
    paths, _ = an.paths(args, write=False, skip=1)
    paths += an.followed(name, args, skip=1)
    return Verdict("read", [], paths)


@judge("xargs")
def xargs(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    with_value = {"-I", "-L", "-n", "-P", "-s", "-d", "-E", "-e", "-a", "--arg-file", "--delimiter", "--max-args", "--max-lines", "--max-procs", "--max-chars", "--replace", "--eof", "--process-slot-var"}
    # -a FILE / --arg-file=FILE: the arguments are read from FILE (a read of that file).
    arg_files: list[PathUse] = []
    i = 0
    while i < len(args):
        v = values[i]
        if v is None:
            return Verdict("risky", ["xargs with options known only at run time"])
        if v in with_value:
            if v in ("-a", "--arg-file") and i + 1 < len(args):
                arg_files.append(_read_use(an, args[i + 1]))
            i += 2
            continue
        if v.startswith("--arg-file=") or (v.startswith("-a") and not v.startswith("--") and len(v) > 2):
            arg_files.append(_read_use(an, Word(v.split("=", 1)[1] if v.startswith("--") else v[2:], v)))
        if v.startswith("-"):
            i += 1
            continue
        break
    inner = list(args[i:]) or [Word("echo", "echo")]
    before = len(an.findings)
    an.simple(Cmd(inner, cmd.text, chain_via(cmd.via, "xargs")), depth)
    # The arguments come from the input at run time: the paths are unknown.
    for index in range(before, len(an.findings)):
        f = an.findings[index]
        if f.argv is not None and f.via.endswith("xargs"):
            unknown = PathUse("(paths from input)", None, write=f.kind != "read")
            an.findings[index] = replace(f, paths=(*f.paths, unknown, *arg_files))
    return Verdict("skip")  # type: ignore[arg-type]


def _read_use(an: Classifier, word: Word) -> PathUse:
    return an.path_use(word.value, write=False) if word.value is not None else an.dynamic_use(word, write=False)
