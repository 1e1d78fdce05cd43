"""Copies, moves and links: cp, mv, install, ln, and rsync (local copies; remote ones use the
network). A copy reads its sources and writes its destination; overwriting an existing file
is destructive; a symbolic link made here leads later paths to its target."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.findings import PathUse
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.tables import HARMLESS_DEVICES
from stoa.core.permissions.shell_analysis.words import Word

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge("cp", "mv", "install", "ln")
def copy(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    positional: list[Word] = []
    target_dir: Word | None = None
    options_done = False
    no_clobber = False
    it = iter(args)
    for word in it:
        v = word.value
        if v is not None and not options_done and v.startswith("-") and v != "-":
            if v == "--":
                options_done = True
            elif v in ("-t", "--target-directory"):
                target_dir = next(it, None)
            elif v.startswith("--target-directory="):
                target_dir = Word(v.split("=", 1)[1], v)
            elif v in ("-n", "--no-clobber", "--update=none") or (
                not v.startswith("--") and "n" in v[1:] and name in ("cp", "mv")
            ):
                no_clobber = True
            elif v in ("-S", "--suffix", "-m", "--mode", "-o", "--owner", "-g", "--group") and name == "install":
                next(it, None)
            continue
        positional.append(word)
    paths: list[PathUse] = []
    verdict = Verdict("write")
    if target_dir is not None:
        dest: Word | None = target_dir
        sources = positional
    else:
        dest = positional[-1] if len(positional) >= 2 else None
        sources = positional[:-1] if len(positional) >= 2 else positional
    symbolic = name == "ln" and any(
        v is not None and (v in ("-s", "--symbolic") or (v.startswith("-") and not v.startswith("--") and "s" in v))
        for v in values
    )
    link_targets: list[PathUse] = []
    if any(src.value in ("/dev/zero", "/dev/urandom", "/dev/random", "/dev/full") for src in sources):
        verdict.raise_to("risky", f"{name} copies an endless device (it would fill the disk)")
    for src in sources:
        if src.value is None:
            paths.append(an.dynamic_use(src, write=name == "mv"))
        elif symbolic:
            # A symlink's target is only named, not touched; remember where it leads.
            link_targets.append(an.path_use(src.value, write=False))
        else:
            # Hard links and copies read their sources (a hard link to an outside file
            # would let later "inside" writes change it).
            paths.append(an.path_use(src.value, write=name == "mv"))
    if dest is not None:
        if dest.value is None:
            paths.append(an.dynamic_use(dest, write=True))
        else:
            use = an.path_use(dest.value, write=True)
            paths.append(use)
            forced = name == "ln" and any(v and (("f" in v[1:] and not v.startswith("--")) or v == "--force") for v in values)
            if (
                use.path
                and not no_clobber
                and (name != "ln" or forced)
                and os.path.isfile(use.path)
                and not os.path.isdir(use.path)
                and use.path not in HARMLESS_DEVICES
            ):
                verdict.raise_to("destructive", f"{name} overwrites the existing file {use.path}")
            if name == "mv" and use.path and use.path.startswith("/dev/"):
                verdict.raise_to("forbidden", f"mv onto a device file: {use.path}")
            if use.path and link_targets:
                into_dir = os.path.isdir(use.path) and len(link_targets) >= 1 and (len(link_targets) > 1 or target_dir is not None or not forced)
                for link_target in link_targets:
                    link_path = os.path.join(use.path, os.path.basename(link_target.raw.rstrip("/"))) if into_dir else use.path
                    an.links[link_path] = link_target
    if dest is None and link_targets:
        for link_target in link_targets:
            here = an.path_use(os.path.basename(link_target.raw.rstrip("/")) or ".", write=True)
            paths.append(here)
            if here.path:
                an.links[here.path] = link_target
    if name == "cp" and any(v in ("-r", "-R", "-a", "--recursive", "--archive") or (v and re.fullmatch(r"-[a-zA-Z]*[rRa][a-zA-Z]*", v)) for v in values):
        paths += an.followed("cp", args, roots=sources)
    verdict.paths = paths
    return verdict


@judge("rsync")
def rsync(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value or "" for w in cmd.words[1:]]
    if any(re.match(r"^[\w.-]+@?[\w.-]*:(?!//)", v) or "::" in v or v.startswith(("rsync://", "-e", "--rsh", "--rsync-path")) for v in values):
        return Verdict("risky", ["rsync to or from another machine"], sandbox_ok=False)
    verdict = copy(an, "cp", cmd, depth)
    verdict.paths += an.followed("rsync", cmd.words[1:])
    if any(v.startswith("--delete") or v.startswith("--remove-source") for v in values):
        verdict.raise_to("destructive", "rsync --delete removes files")
    return verdict
