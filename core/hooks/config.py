"""The hooks a configuration defines: ``[[hooks.EVENT]]`` tables in the TOML layers.

Each entry has ``command`` (run through bash in the workspace), an optional ``matcher`` (a
regular expression over the whole tool name for ``PreToolUse``/``PostToolUse``, MCP tools
as ``SERVER___TOOL``; over the source for ``SessionStart`` and the trigger for ``PreCompact``;
empty, ``*`` or absent: everything) and an optional ``timeout`` in seconds (default 60).
Claude Code's nesting (``hooks = [{type = "command", command = ...}]`` under a matcher) is
read too, so existing settings port by changing only their syntax.

An entry that cannot be used is left out with a warning naming its file and line; the rest
apply. Hooks of the project's shared ``.stoa/config.toml`` are marked ``shared``: they run only
once the person approved that exact set (``core.hooks.trust``); so do those of a
``.stoa/config.local.toml`` that git tracks (a repository that ships the "personal" file).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stoa.core.config import ConfigLayer, StoaConfig, key_line

EVENTS: tuple[str, ...] = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Stop",
    "SubagentStop",
    "PreCompact",
    "Notification",
)
# Events whose matcher is read (what it is matched against is said in the module docstring).
MATCHED_EVENTS = frozenset({"PreToolUse", "PostToolUse", "SessionStart", "PreCompact"})
DEFAULT_TIMEOUT = 60.0
ENTRY_KEYS = frozenset({"matcher", "command", "timeout", "hooks", "type"})
# Claude Code's tool names, and Stoa's for the same thing (a ported matcher would never match).
CLAUDE_TOOLS: dict[str, str] = {
    "Bash": "execute_bash",
    "Write": "write_file",
    "Edit": "edit_file",
    "MultiEdit": "edit_file",
    "Read": "read_file",
    "Glob": "glob_files",
    "Grep": "search_code",
    "LS": "list_directory",
    "WebFetch": "web_fetch",
    "WebSearch": "web_search",
    "Task": "task",
    "TodoWrite": "update_plan",
}


@dataclass(frozen=True)
class HookSpec:
    """One configured hook command, and where it was written."""

    event: str
    command: str
    matcher: str | None
    timeout: float
    source: Path
    line: int | None
    shared: bool  # from the project's shared .stoa/config.toml (needs the person's approval)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else str(self.source)

    def matches(self, target: str | None) -> bool:
        """Whether the hook runs for ``target`` (a tool name, a source, a trigger)."""
        if self.matcher is None or self.event not in MATCHED_EVENTS:
            return True
        return re.fullmatch(self.matcher, target or "") is not None

    def identity(self) -> tuple[str, str, str, float]:
        """What approving a project hook approves: the event, matcher, command and timeout."""
        return (self.event, self.matcher or "", self.command, self.timeout)


@dataclass
class HookConfig:
    specs: list[HookSpec]
    warnings: list[str]

    @property
    def shared(self) -> list[HookSpec]:
        return [s for s in self.specs if s.shared]


def load_hooks(config: StoaConfig) -> HookConfig:
    """Every usable hook of every layer, lowest layer first, with warnings for the rest."""
    shared_file = config.workspace / ".stoa" / "config.toml"
    local_file = config.workspace / ".stoa" / "config.local.toml"
    specs: list[HookSpec] = []
    warnings: list[str] = []
    for layer, table in config.section("hooks"):
        # The personal file is the person's own, unless the repository ships it (committed).
        shipped = layer.path == local_file and _tracked(local_file, config.workspace)
        shared = (layer.path == shared_file or shipped) and layer.path != config.paths.global_config
        if not isinstance(table, dict):
            warnings.append(f"{_where(layer, ('hooks',))}: [hooks] must be a table of [[hooks.EVENT]] entries; it is ignored")
            continue
        for event, entries in table.items():
            if event not in EVENTS:
                warnings.append(
                    f"{_where(layer, ('hooks', event))}: unknown hook event {event!r} (the events: "
                    f"{', '.join(EVENTS)}); its hooks are ignored"
                )
                continue
            if isinstance(entries, dict):
                entries = [entries]
            if not isinstance(entries, list):
                warnings.append(f"{_where(layer, ('hooks', event))}: write each hook as a [[hooks.{event}]] table; ignored")
                continue
            for index, entry in enumerate(entries):
                line = entry_line(layer.text, event, index) or key_line(layer.text, ("hooks", event))
                found, problems = _entry(event, entry, layer.path, line, shared, config.workspace)
                specs.extend(found)
                location = f"{layer.path}:{line}" if line else str(layer.path)
                warnings.extend(f"{location}: {problem}" for problem in problems)
    return HookConfig(specs, warnings)


def _entry(
    event: str, entry: Any, source: Path, line: int | None, shared: bool, workspace: Path
) -> tuple[list[HookSpec], list[str]]:
    if not isinstance(entry, dict):
        return [], [f"a [[hooks.{event}]] entry must be a table with a command; it is ignored"]
    problems = [
        f"unknown key {key!r} in [[hooks.{event}]] (the keys: command, matcher, timeout); it is ignored"
        for key in entry
        if key not in ENTRY_KEYS
    ]
    matcher = entry.get("matcher")
    if matcher is not None and not isinstance(matcher, str):
        return [], [*problems, f"the matcher of a {event} hook must be a string; the hook is not used"]
    if matcher in ("", "*"):
        matcher = None
    if matcher is not None:
        try:
            re.compile(matcher)
        except re.error as exc:
            return [], [*problems, f"the matcher {matcher!r} is not a valid regular expression ({exc}); the hook is not used"]
    if matcher is not None and event in ("PreToolUse", "PostToolUse"):
        ported = _claude_matcher(matcher)
        if ported is not None:
            problems.append(
                f"the matcher {matcher!r} names Claude Code's tools, which Stoa calls otherwise; "
                f"write matcher = {ported!r} (MCP tools are SERVER___TOOL)"
            )
    commands: list[tuple[Any, Any]] = []
    if "hooks" in entry:  # Claude Code's nesting: a matcher with a list of commands
        inner = entry["hooks"]
        if not isinstance(inner, list) or not all(isinstance(h, dict) for h in inner):
            return [], [*problems, f"'hooks' in a {event} entry must be a list of tables with a command; not used"]
        for hook in inner:
            if hook.get("type", "command") != "command":
                problems.append(f"only hooks of type 'command' run (got {hook.get('type')!r}); that one is not used")
                continue
            commands.append((hook.get("command"), hook.get("timeout", entry.get("timeout"))))
    else:
        commands.append((entry.get("command"), entry.get("timeout")))
    specs: list[HookSpec] = []
    for command, timeout in commands:
        if not isinstance(command, str) or not command.strip():
            problems.append(f"a {event} hook needs command = \"...\" (a shell command line); it is not used")
            continue
        if timeout is None:
            seconds = DEFAULT_TIMEOUT
        elif isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            problems.append(f"timeout must be a positive number of seconds (got {timeout!r}); using {DEFAULT_TIMEOUT:g}")
            seconds = DEFAULT_TIMEOUT
        else:
            seconds = float(timeout)
        program = _missing_program(command, workspace)
        if program is not None:
            problems.append(program)
        specs.append(HookSpec(event, command, matcher, seconds, source, line, shared))
    return specs, problems


def _claude_matcher(matcher: str) -> str | None:
    """Stoa's spelling of a matcher written with Claude Code's tool names, or None."""
    parts = matcher.split("|")
    if not any(part in CLAUDE_TOOLS or part.startswith("mcp__") for part in parts):
        return None
    out: list[str] = []
    for part in parts:
        if part.startswith("mcp__"):
            server, _, tool = part[len("mcp__") :].partition("__")
            part = f"{server}___{tool}" if tool else f"{server}___.*"
        out.append(CLAUDE_TOOLS.get(part, part))
    return "|".join(dict.fromkeys(out))


def _tracked(path: Path, workspace: Path) -> bool:
    """Whether git tracks ``path`` (a cloned repository that ships its "personal" file)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(workspace), "ls-files", "--error-unmatch", "--", str(path)],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _missing_program(command: str, workspace: Path) -> str | None:
    """A hook whose command is a script path that is missing or not executable, said at
    start-up (it would fail each time it runs; bash's 127/126 say so again then)."""
    try:
        first = shlex.split(command)[0] if command.strip() else ""
    except ValueError:
        return None
    if "/" not in first or "$" in first:
        return None
    path = workspace / os.path.expanduser(first)  # hooks run in the workspace
    if not path.exists():
        return f"the hook command {first} does not exist; fix the path (the hook will fail until then)"
    if path.is_file() and not os.access(path, os.X_OK):
        return f"the hook command {first} is not executable; chmod +x it (the hook will fail until then)"
    return None


_ENTRY_HEADER = r"^\s*\[\[\s*hooks\s*\.\s*(?:{name}|\"{name}\"|'{name}')\s*\]\]"


def entry_line(text: str, event: str, index: int) -> int | None:
    """The line of the ``index``-th ``[[hooks.EVENT]]`` header of a file (None: not written
    as such a header, e.g. an inline array)."""
    header = re.compile(_ENTRY_HEADER.format(name=re.escape(event)))
    seen = -1
    for number, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            seen += 1
            if seen == index:
                return number
    return None


def _where(layer: ConfigLayer, path: tuple[str, ...]) -> str:
    line = key_line(layer.text, path)
    return f"{layer.path}:{line}" if line else str(layer.path)
