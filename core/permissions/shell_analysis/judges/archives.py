"""Archives and compressors: tar, zip, unzip, 7z, gzip and friends. An extraction writes
whatever the archive holds, so the archive is looked into before it is allowed."""

from __future__ import annotations

import itertools
import os
import re
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.judges.files import writes
from stoa.core.permissions.shell_analysis.registry import judge

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge("tar")
def tar(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value or "" for w in args]
    mode = ""
    first = values[0] if values else ""
    if first and not first.startswith("-"):
        mode = first
    letters = "".join(v[1:] for v in values if v.startswith("-") and not v.startswith("--")) + mode
    longs = [v for v in values if v.startswith("--")]
    if any(v.startswith(("--to-command", "--use-compress-program", "--checkpoint-action", "--info-script", "--new-volume-script", "--rsh-command")) for v in longs) or ("I" in letters and "-I" in values) or ("F" in letters and "-F" in values):
        return Verdict("risky", ["tar option that runs a program"])
    if "--remove-files" in longs:
        paths, _ = an.paths(args, write=True, skip=1 if mode else 0)
        return Verdict("destructive", ["tar --remove-files deletes the files it archives"], paths)
    listing = "t" in letters or "--list" in longs
    extracting = "x" in letters or "--extract" in longs or "--get" in longs
    paths, _ = an.paths(args, write=not listing, skip=1 if mode else 0)
    if "h" in letters or "--dereference" in longs:
        paths += an.followed("tar", args, always=True)
    if listing:
        return Verdict("read", [], paths)
    verdict = Verdict("write", [], paths)
    if extracting:
        for i, v in enumerate(values):
            if v in ("-C", "--directory") and i + 1 < len(values):
                verdict.paths.append(an.path_use(values[i + 1], write=True))
        if "P" in letters or "--absolute-names" in longs:
            verdict.raise_to("risky", "tar -P extracts to absolute paths")
        archive = None
        for i, v in enumerate(values):
            if v in ("-f", "--file") or (v.startswith("-") and not v.startswith("--") and v.endswith("f")):
                archive = values[i + 1] if i + 1 < len(values) else None
                break
            if v.startswith("--file="):
                archive = v.split("=", 1)[1]
                break
        if archive is None and mode and "f" in mode and len(values) > 1:
            archive = values[1]
        check_archive(an, verdict, archive, "tar")
    return verdict


@judge("zip")
def zip_(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    if any(v == "--move" or (v and re.fullmatch(r"-[a-zA-Z0-9]*m[a-zA-Z0-9]*", v) and v != "-mm") for v in values):
        paths, _ = an.paths(args, write=True)
        return Verdict("destructive", [f"{name} moves the files into the archive (deletes them)"], paths)
    if any(v in ("-TT", "--unzip-command") or (v or "").startswith("--unzip-command") for v in values):
        return Verdict("risky", ["zip -TT runs a command"])
    if not any(v in ("-y", "--symlinks") for v in values):
        # zip stores what a symbolic link points to (unless -y).
        paths, _ = an.paths(args, write=True)
        follows = any(v in ("-r", "-R", "--recurse-paths") or (v and re.fullmatch(r"-[a-zA-Z0-9]*[rR][a-zA-Z0-9]*", v)) for v in values)
        paths += an.followed("zip", args, skip=1, always=follows)
        return Verdict("write", [], paths)
    return writes(an, name, cmd, depth)


@judge("7z")
def seven_zip(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    if "-sdel" in [w.value for w in cmd.words[1:]]:
        paths, _ = an.paths(cmd.words[1:], write=True)
        return Verdict("destructive", [f"{name} moves the files into the archive (deletes them)"], paths)
    return writes(an, name, cmd, depth)


@judge("unzip")
def unzip(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    if any(v in ("-l", "-t", "-v", "-Z") for v in values):
        paths, _ = an.paths(args, write=False)
        return Verdict("read", [], paths)
    paths, _ = an.paths(args, write=True)
    verdict = Verdict("write", [], paths)
    i = 0
    archive = None
    while i < len(values):
        v = values[i]
        if v is None or not v.startswith("-"):
            archive = v
            break
        i += 2 if v in ("-d", "-x", "-P") else 1
    check_archive(an, verdict, archive, "unzip")
    return verdict


@judge("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd")
def compressor(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    if any(w.value in ("-c", "--stdout", "-l", "--list", "-t", "--test") for w in args):
        paths, _ = an.paths(args, write=False)
        return Verdict("read", [], paths)
    return writes(an, name, cmd, depth)


def check_archive(an: Classifier, verdict: Verdict, archive: str | None, name: str) -> None:
    """An extraction writes whatever the archive holds: look inside it for members that
    land outside (absolute, ..), links, or Stoa's and git's own files."""
    if archive is None or archive == "-":
        verdict.raise_to("unknown", f"{name} extracts an archive read from its input")
        return
    use = an.path_use(archive, write=False)
    problem = _archive_problem(use.path) if use.path is not None else "it is named only at run time"
    if problem is None:
        return
    if problem.startswith("it "):
        verdict.raise_to("unknown", f"{name}: cannot look inside {archive} ({problem})")
    else:
        verdict.raise_to("risky", f"{name}: {archive} {problem}")


MAX_ARCHIVE_BYTES = 32 * 1024 * 1024


def _archive_problem(path: str, limit: int = 20000) -> str | None:
    """Why extracting the archive at ``path`` needs a person (or why it cannot be looked into,
    as "it ..."), or None when every member lands as a plain file or folder inside."""
    import tarfile
    import zipfile

    try:
        if os.path.getsize(path) > MAX_ARCHIVE_BYTES:
            return "it is too big to look through"
    except OSError:
        return "it does not exist yet"
    entries: list[tuple[str, bool]] = []
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for zinfo in itertools.islice(archive.infolist(), limit + 1):
                    link = (zinfo.external_attr >> 16) & 0o170000 == 0o120000
                    entries.append((zinfo.filename, link))
        else:
            with tarfile.open(path, "r:*") as archive:
                for info in itertools.islice(archive, limit + 1):
                    entries.append((info.name, info.issym() or info.islnk() or not (info.isfile() or info.isdir())))
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError):
        return "it is not an archive Stoa can read"
    if len(entries) > limit:
        return "it holds too many files to look through"
    for member, link in entries:
        parts = [p for p in member.replace("\\", "/").split("/") if p not in ("", ".")]
        if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member) or ".." in parts:
            return f"holds {member!r}, which lands outside the folder it is extracted to"
        if link:
            return f"holds a link or special file ({member!r}), which can lead outside the workspace"
        if ".git" in parts or (parts and parts[0] == ".stoa"):
            return f"holds {member!r}, which would change git's or Stoa's own files"
    return None
