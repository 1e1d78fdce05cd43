"""Memory: notes the person asks Stoa to keep, appended to an instruction file.

Three places, one per scope: ``project`` (the workspace's ``AGENTS.md``, shared with whoever
works on the project; its ``CLAUDE.md`` when only that exists), ``personal``
(``.stoa/instructions.md``, kept out of git) and ``global`` (``AGENTS.md`` in the config folder,
every project). A message starting with one ``#`` is a memory (``is_memory``); the ``remember``
tool saves a note the model was asked to keep. Both append through ``append_memory``, which
never rewrites what is there (an append, so a symlinked file stays a symlink) and fails with a
``MemoryWriteError`` that names the file and why, so the caller can give the note back.

The default scope is ``[memory] scope`` in the configuration (``project`` when unset).
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast, get_args

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig

MemoryScope = Literal["project", "personal", "global"]
SCOPES: tuple[MemoryScope, ...] = get_args(MemoryScope)
DEFAULT_SCOPE: MemoryScope = "project"
SCOPE_DESCRIPTIONS: dict[MemoryScope, str] = {
    "project": "shared with the project (commit it)",
    "personal": "yours, in this project (kept out of git)",
    "global": "yours, in every project",
}
CONFIG_TABLE = "memory"
CONFIG_KEYS = frozenset({"scope"})


class MemoryWriteError(Exception):
    """A memory file that cannot be written; the message names it, says why and what to do."""


@dataclass(frozen=True)
class MemoryFile:
    scope: MemoryScope
    path: Path
    label: str  # as the person knows it: AGENTS.md, .stoa/instructions.md, ~/.config/stoa/AGENTS.md

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def describe(self) -> str:
        return SCOPE_DESCRIPTIONS[self.scope]


# What follows a ``#`` in code, not in a note: C preprocessor lines and a script's ``#!``.
_CODE = re.compile(r"#(?:!|(?:include|define|undef|ifdef|ifndef|elif|endif|pragma)\b)")


def is_memory(text: str) -> bool:
    """A message that starts with exactly one ``#`` and says something after it, in one
    paragraph (a note may wrap onto more lines, but a blank line means a document: a Markdown
    file, a pasted script or a prompt with piped input, sent as a message). ``##`` and deeper
    (a heading), ``#!`` and C preprocessor lines (``#include``) are messages too."""
    if not text.startswith("#") or text.startswith("##") or not text[1:].strip() or _CODE.match(text):
        return False
    return not any(not line.strip() for line in text.strip().splitlines())


def memory_note(text: str) -> str:
    """The note of a ``#`` message: the text after the ``#``, trimmed."""
    return text[1:].strip() if text.startswith("#") else text.strip()


def entry_text(note: str) -> str:
    """The lines a note adds: a list item, continuation lines indented under it."""
    lines = [line.rstrip() for line in note.strip().splitlines()] or [""]
    return "- " + "\n  ".join(lines) + "\n"


def _label(path: Path, workspace: Path, home: Path | None) -> str:
    if path.is_relative_to(workspace):
        return path.relative_to(workspace).as_posix()
    if home is not None and path.is_relative_to(home):
        return "~/" + path.relative_to(home).as_posix()
    return str(path)


def memory_files(workspace: Path, config_dir: Path, home: Path | None = None) -> list[MemoryFile]:
    """The three memory files, project first (whether they exist or not)."""
    project = workspace / "AGENTS.md"
    if not project.exists() and (workspace / "CLAUDE.md").is_file():
        project = workspace / "CLAUDE.md"
    files = [
        (cast(MemoryScope, "project"), project),
        (cast(MemoryScope, "personal"), workspace / ".stoa" / "instructions.md"),
        (cast(MemoryScope, "global"), config_dir / "AGENTS.md"),
    ]
    return [MemoryFile(scope, path, _label(path, workspace, home)) for scope, path in files]


def files_for(config: StoaConfig) -> list[MemoryFile]:
    home = config.env.get("HOME")
    return memory_files(config.workspace, config.paths.config_dir, Path(home) if home else None)


def memory_file(config: StoaConfig, scope: str) -> MemoryFile:
    """The file of ``scope``; ValueError naming the scopes for anything else."""
    for file in files_for(config):
        if file.scope == scope:
            return file
    raise ValueError(f"unknown memory scope {scope!r}; choose one of {', '.join(SCOPES)}")


def default_scope(config: StoaConfig | None) -> tuple[MemoryScope, str | None]:
    """``[memory] scope`` (the last layer that sets it), or ``project``; and a warning when the
    configured value is not a scope (the default applies then)."""
    if config is None:
        return DEFAULT_SCOPE, None
    chosen: MemoryScope = DEFAULT_SCOPE
    warning: str | None = None
    for layer, table in config.section(CONFIG_TABLE):
        if not isinstance(table, dict) or "scope" not in table:
            continue
        value = table["scope"]
        if value in SCOPES:
            chosen, warning = cast(MemoryScope, value), None
        else:
            warning = (
                f"{layer.path}: [memory] scope = {value!r} is not one of {', '.join(SCOPES)}; "
                f"memories go to the {DEFAULT_SCOPE} file"
            )
            chosen = DEFAULT_SCOPE
    return chosen, warning


def holds(text: str, note: str) -> bool:
    """Whether ``text`` has the note already, as the list item ``append_memory`` writes."""
    entry = entry_text(note).rstrip("\n")
    return any(line.rstrip() == entry.splitlines()[0] for line in text.splitlines()) and entry in text


def append_memory(file: MemoryFile, note: str) -> tuple[str, str]:
    """Append ``note`` to ``file`` as a list item. Returns (text before, text after); the same
    text twice when the file has that note already (nothing is written). Creates the file
    (and its folder) when missing; ``.stoa/.gitignore`` first for the personal one."""
    from stoa.core.stoa_folder import ensure_gitignore_for

    if not note.strip():
        raise MemoryWriteError("the note is empty; write what to remember after the #")
    path = file.path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ensure_gitignore_for(path)
        try:
            before = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            before = ""
        if holds(before, note):
            return before, before
        entry = entry_text(note)
        text = entry if not before or before.endswith("\n") else "\n" + entry
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise MemoryWriteError(_why(exc, file.path, file.label)) from None
    return before, before + text


def save_file(path: Path, label: str, text: str) -> None:
    """Write a whole instruction file (the in-app editor's save): through a symlink, keeping
    the file's mode; its folder made when missing (``.stoa/.gitignore`` first)."""
    from stoa.core.stoa_folder import ensure_gitignore_for

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ensure_gitignore_for(path)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise MemoryWriteError(_why(exc, path, label)) from None


def _why(exc: OSError, path: Path, label: str) -> str:
    code = exc.errno
    where = f"{label} ({path})" if label != str(path) else str(path)
    if code in (errno.EACCES, errno.EPERM):
        reason = "permission denied by the operating system; check the file's and its folder's owner and mode"
    elif code == errno.EROFS:
        reason = "the file system is read-only"
    elif code == errno.EISDIR:
        reason = "it is a folder, not a file"
    elif code in (errno.ENOSPC, errno.EDQUOT):
        reason = "the disk is full"
    elif code in (errno.ENOTDIR, errno.EEXIST):
        reason = "a part of its path is a file, not a folder"
    else:
        reason = exc.strerror or str(exc)
    return f"cannot write {where}: {reason}"


def preview_diff(file: MemoryFile, note: str) -> str:
    """The unified diff ``append_memory`` would make (for the approval question)."""
    from stoa.core.diffs import unified_diff

    try:
        before = file.path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        before = ""
    entry = entry_text(note)
    after = before + (entry if not before or before.endswith("\n") else "\n" + entry)
    return unified_diff(before, after, file.label)


def file_state(path: Path) -> str:
    """What is in an instruction file, in a few words ("12 lines", "not created yet")."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "not created yet"
    except IsADirectoryError:
        return "a folder, not a file"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return f"{lines} line{'s' if lines != 1 else ''}"


def writable_problem(file: MemoryFile) -> str | None:
    """Why ``file`` could not be written now, checked without writing (None: it looks fine)."""
    probe = file.path
    while not os.path.lexists(probe):
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe != file.path and not probe.is_dir():
        return f"cannot write {file.label}: {probe} is a file, not a folder"
    if probe == file.path and probe.is_dir():
        return f"cannot write {file.label}: it is a folder, not a file"
    if not os.access(probe, os.W_OK):
        return f"cannot write {file.label}: permission denied by the operating system"
    return None
