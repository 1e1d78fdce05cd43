"""Reading, writing and deleting files: the read-only tools (cat, grep, ls, sort, ...), the
tools that write (mkdir, touch, tee, sponge, mktemp, ...) and the ones that delete (rm, shred,
truncate, ...). Archives (archives.py) and copies (copy.py) have modules of their own."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.findings import PathUse
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.tables import DESTRUCTIVE, HARMLESS_DEVICES, READ_ONLY, WRITES

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge(*READ_ONLY, family=True)
def read_only(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    skip = 0
    if name in ("grep", "egrep", "fgrep", "rg", "ag", "ack", "zgrep"):
        # The first operand is the pattern unless -e / -f give it.
        explicit = any(
            v is not None
            and (
                v in ("--regexp", "--file")
                or v.startswith(("--regexp=", "--file="))
                or (not v.startswith("--") and v.startswith(("-e", "-f")))
            )
            for v in values
        )
        skip = 0 if explicit else 1
    if name in ("jq",):
        skip = 1
    if name == "sort" and any(v == "-o" or (v or "").startswith(("-o", "--output")) for v in values):
        paths, _ = an.paths(args, write=True)
        verdict = Verdict("write", [], paths)
        an.overwrites(verdict, paths, "sort -o")
        return verdict
    if name == "uniq" or name == "xxd":
        positional = [w for w in args if w.value is None or not w.value.startswith("-")]
        if len(positional) >= 2:
            out = positional[-1]
            reads, _ = an.paths([w for w in args if w is not out], write=False)
            target = an.path_use(out.value or "", write=True)
            verdict = Verdict("write", [], [*reads, target])
            an.overwrites(verdict, [target], name)
            return verdict
    if name == "iconv" and any(v in ("-o", "--output") or (v or "").startswith("--output=") for v in values):
        paths, _ = an.paths(args, write=True)
        return Verdict("write", [], paths)
    if name in ("rg",) and any(v in ("--pre",) or (v or "").startswith("--pre=") for v in values):
        return Verdict("risky", ["rg --pre runs a program on every file"])
    if name in ("less", "more") and any(v and v.startswith("+") for v in values):
        return Verdict("risky", [f"{name} +CMD runs pager commands"])
    if name == "sort" and any((v or "").startswith("--compress-program") for v in values):
        return Verdict("risky", ["sort --compress-program runs a program"])
    if name in ("ag", "bat", "batcat", "delta") and any((v or "").startswith("--pager") for v in values):
        return Verdict("risky", [f"{name} --pager runs a program"])
    if name == "tree" and any((v or "").startswith("-o") for v in values):
        out_file = next((values[i + 1] for i, v in enumerate(values[:-1]) if v == "-o"), None) or next(
            ((v or "")[2:] for v in values if (v or "").startswith("-o") and v != "-o"), ""
        )
        use = an.path_use(out_file, write=True) if out_file else PathUse("", None, True)
        verdict = Verdict("write", [], [use])
        an.overwrites(verdict, [use], "tree -o")
        return verdict
    paths, _ = an.paths(args, write=False, skip=skip)
    paths += an.followed(name, args, skip)
    return Verdict("read", [], paths)


@judge(*WRITES, family=True)
def writes(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    paths, _ = an.paths(cmd.words[1:], write=True)
    return Verdict("write", [], paths)


@judge("sponge")
def sponge(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    paths, _ = an.paths(args, write=True)
    verdict = Verdict("write", [], paths)
    if not any(v in ("-a",) for v in values):
        an.overwrites(verdict, paths, "sponge")
    return verdict


@judge("fallocate")
def fallocate(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    paths, _ = an.paths([w for w in args if not re.fullmatch(r"\d+[KMGTPE]?i?B?", w.value or "")], write=True)
    if any(v in ("-p", "--punch-hole", "-c", "--collapse-range", "-z", "--zero-range", "-d", "--dig-holes", "-i", "--insert-range") for v in values):
        return Verdict("destructive", ["fallocate punches, collapses or zeroes ranges of a file"], paths)
    return Verdict("risky", ["fallocate reserves disk space (it can fill the disk)"], paths)


@judge("mktemp")
def mktemp(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value for w in cmd.words[1:]]
    # -p DIR / --tmpdir[=DIR] / a template with a folder: where the file is made.
    where: list[PathUse] = []
    for i, v in enumerate(values):
        if v is None:
            where.append(PathUse("", None, True))
        elif v in ("-p", "--tmpdir") and i + 1 < len(values):
            target = values[i + 1]
            where.append(an.path_use(target, write=True) if target else PathUse("", None, True))
        elif v.startswith(("--tmpdir=", "-p")) and v not in ("-p",):
            target = v.split("=", 1)[1] if "=" in v else v[2:]
            where.append(an.path_use(target, write=True))
        elif not v.startswith("-") and (i == 0 or values[i - 1] not in ("-p", "--tmpdir", "--suffix")):
            if "/" in v:
                where.append(an.path_use(os.path.dirname(v) or ".", write=True))
    return Verdict("write", [], where)


@judge("tee")
def tee(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    paths, _ = an.paths(args, write=True)
    paths = [p for p in paths if p.path not in HARMLESS_DEVICES]
    verdict = Verdict("write" if paths else "read", [], paths)
    if not any(v in ("-a", "--append") for v in values):
        an.overwrites(verdict, paths, "tee")
    return verdict


@judge(*DESTRUCTIVE, family=True)
def destructive(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    paths, dynamic = an.paths(args, write=True)
    verdict = Verdict("destructive", [f"{name} deletes or destroys data"], paths)
    if name == "truncate" or name == "shred":
        pass
    for use in paths:
        if an.critical(use):
            verdict.raise_to("forbidden", f"{name} on {use.raw} would destroy the system or the home folder")
    if dynamic:
        verdict.raise_to("destructive", f"{name} on a path known only at run time")
    return verdict
