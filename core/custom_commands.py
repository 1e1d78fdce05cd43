"""Custom slash commands: Markdown files whose body is a prompt template.

Where they are read, first found wins for a name:

1. ``.stoa/commands/`` of the workspace (the project's),
2. ``.claude/commands/`` of the workspace (read for compatibility),
3. ``commands/`` in the user's config folder (``~/.config/stoa/commands/``, or
   ``$STOA_HOME/commands/``; ``StoaPaths.config_dir``),
4. ``~/.claude/commands/``.

The file name without ``.md`` is the command (``greet.md`` is ``/greet``); a file in a
sub-folder is namespaced (``git/commit.md`` is ``/git:commit``). Optional front matter between
``---`` lines (``key: value``, YAML lists and blocks read too; an unknown key is ignored, and
the listing says so): ``description``, ``argument-hint``, ``model`` (the turn runs
on that model), ``allowed-tools`` (permission rules, comma-separated or a ``[list]``, allowed
without asking during the command's turn only). In the body, ``$ARGUMENTS`` is everything after
the name, ``$1``, ``$2``... the words (shell quoting); a body that uses neither gets the
arguments appended. A file whose front matter cannot be read is still listed, with the error.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

from stoa.core.config import StoaPaths
from stoa.core.front_matter import parse_front_matter as _parse
from stoa.core.front_matter import read_front_matter
from stoa.core.front_matter import unquote as _unquote

FRONT_MATTER_KEYS = ("description", "argument-hint", "model", "allowed-tools")
# Keys other tools' command files carry that mean nothing here (read without a word).
IGNORED_KEYS = ("disable-model-invocation", "name")
MAX_FILE_BYTES = 256 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(?::[A-Za-z0-9][A-Za-z0-9_.\-]*)*$")
_POSITIONAL = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class CustomCommand:
    name: str
    path: Path
    source: str  # "project", "project (.claude)", "user", "user (.claude)"
    body: str = ""
    description: str = ""
    argument_hint: str = ""
    model: str | None = None
    allowed_tools: tuple[str, ...] = ()
    # Why the file cannot be used (broken front matter, unreadable): listed, never run.
    error: str | None = None
    # The file as messages name it (relative to the workspace, or under ~).
    shown: str = ""
    # Front matter keys Stoa does not know (the command runs; the listing says they are ignored).
    ignored: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """The description shown in the slash list, /help and the palette."""
        if self.error:
            return f"⚠ {self.error}"
        first = next((line.strip() for line in self.body.splitlines() if line.strip()), "")
        text = self.description or first[:60] or "(empty command)"
        ignored = f"; ignores {', '.join(self.ignored)}" if self.ignored else ""
        return f"{text} ({self.source}{ignored})"

    def expand(self, arguments: str) -> str:
        """The prompt this command sends with ``arguments``."""
        arguments = arguments.strip()
        try:
            words = shlex.split(arguments)
        except ValueError:
            words = arguments.split()
        uses_arguments = "$ARGUMENTS" in self.body or _POSITIONAL.search(self.body) is not None
        text = self.body.replace("$ARGUMENTS", arguments)
        text = _POSITIONAL.sub(lambda m: words[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(words) else "", text)
        if arguments and not uses_arguments:
            text = f"{text.rstrip()}\n\n{arguments}"
        return text.strip()


@dataclass
class CustomCommands:
    commands: dict[str, CustomCommand] = field(default_factory=dict)
    # Files that name an existing command again (lower in the order): shown by /help, not run.
    shadowed: list[CustomCommand] = field(default_factory=list)


def command_folders(workspace: Path, paths: StoaPaths, home: Path | None) -> list[tuple[Path, str]]:
    folders = [
        (workspace / ".stoa" / "commands", "project"),
        (workspace / ".claude" / "commands", "project (.claude)"),
        (paths.config_dir / "commands", "user"),
    ]
    if home is not None:
        folders.append((home / ".claude" / "commands", "user (.claude)"))
    return folders


def load_commands(workspace: Path, paths: StoaPaths, home: Path | None) -> CustomCommands:
    """Every custom command of the folders above (a missing folder is no error)."""
    found = CustomCommands()
    for folder, source in command_folders(workspace, paths, home):
        for command in _read_folder(folder, source, _shown(folder, workspace, home)):
            if command.name in found.commands:
                found.shadowed.append(command)
            else:
                found.commands[command.name] = command
    return found


def _shown(folder: Path, workspace: Path, home: Path | None) -> str:
    """The folder as messages name it: relative to the workspace, or under ``~``."""
    for base, prefix in ((workspace, ""), (home, "~/")):
        if base is not None and folder.is_relative_to(base):
            return prefix + str(folder.relative_to(base))
    return str(folder)


def _read_folder(folder: Path, source: str, shown: str) -> list[CustomCommand]:
    if not folder.is_dir():
        return []
    out: list[CustomCommand] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file in sorted(files):
            if not file.endswith(".md") or file.startswith("."):
                continue
            path = Path(root) / file
            rel = path.relative_to(folder).with_suffix("")
            name = ":".join(rel.parts)
            out.append(read_command(path, name, source, f"{shown}/{rel}.md"))
    return out


def read_command(path: Path, name: str, source: str, shown: str | None = None) -> CustomCommand:
    """One command file; never raises (a problem is the command's ``error``, which names the
    file as ``shown``)."""
    where = shown or str(path)
    return replace(_read_command(path, name, source, where), shown=where)


def _read_command(path: Path, name: str, source: str, where: str) -> CustomCommand:
    if not _NAME.match(name):
        return CustomCommand(name, path, source, error=f"{where}: the name {name!r} cannot be a command; use letters, digits, '-', '_' or '.'")
    try:
        meta, body = read_front_matter(path, MAX_FILE_BYTES, "a command is a prompt, keep it shorter")
    except ValueError as exc:
        return CustomCommand(name, path, source, error=f"{where}: {exc}")
    tools = meta.get("allowed-tools", "")
    unknown = [k for k in meta if k not in FRONT_MATTER_KEYS and k not in IGNORED_KEYS]
    return CustomCommand(
        name,
        path,
        source,
        body=body.strip("\n"),
        description=meta.get("description", ""),
        argument_hint=meta.get("argument-hint", ""),
        model=meta.get("model") or None,
        allowed_tools=split_tools(tools),
        ignored=tuple(unknown),
    )


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The command's front matter, then the body: the YAML forms command files written for
    other tools use (lists, blocks, quotes) are read; a key Stoa does not know is kept, and the
    command says it ignores it (``CustomCommand.ignored``), rather than refusing to run."""
    return _parse(text, None)


def split_tools(value: str) -> tuple[str, ...]:
    """``Bash(git add:*), Read`` or ``[Bash(git add:*), "Read"]``: commas outside parentheses."""
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    parts: list[str] = []
    depth = 0
    current = ""
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return tuple(_unquote(p.strip()) for p in parts if p.strip())
