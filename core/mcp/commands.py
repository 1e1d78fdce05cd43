"""The ``/mcp`` command: list servers, add or remove them in ``.stoa/config.local.toml``, reconnect.

``parse_command`` and the file edits are plain functions (no manager, no UI); ``run_command``
ties them to a running ``McpManager`` and returns text plus status rows for the UI to show.

Edits keep the rest of the file as it is, comments included: a new server is appended as its
own ``[mcp-servers.NAME]`` table, a removed one loses exactly its table lines. Every edit is
checked by parsing the result (everything else must read back unchanged) and written
atomically; when a file is laid out in a way that cannot be edited safely, nothing is written
and the message says what to change by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stoa.core.mcp.config import NAME_PATTERN, SECTION, SEPARATOR

if TYPE_CHECKING:
    from stoa.core.mcp.manager import McpManager, ServerState

USAGE = """/mcp                                  list servers, their status and tool counts
/mcp add NAME COMMAND [ARGS...]       add a local (stdio) server to .stoa/config.local.toml
/mcp add-http NAME URL [--header K=V] add a streamable HTTP server (write secrets as ${VAR})
/mcp remove NAME                      remove a server from .stoa/config.local.toml
/mcp reconnect NAME                   restart a server (after a crash or a config change)"""

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class McpCommandError(ValueError):
    """A command that cannot be carried out; the message says what to do instead."""


@dataclass(frozen=True)
class McpCommand:
    action: str  # list | add | add-http | remove | reconnect | help
    name: str = ""
    command: str = ""
    args: tuple[str, ...] = ()
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class McpCommandResult:
    ok: bool
    message: str
    rows: list[ServerState] = field(default_factory=list)


def local_config_path(workspace: Path) -> Path:
    return workspace / ".stoa" / "config.local.toml"


# ---- parsing --------------------------------------------------------------------------------------


def parse_command(text: str) -> McpCommand:
    """Parse what follows ``/mcp``. Raises ``McpCommandError`` with the usage on bad input."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise McpCommandError(f"cannot read the command ({exc}); check the quotes") from None
    if not tokens or tokens[0] in ("list", "ls"):
        return McpCommand("list")
    action, rest = tokens[0], tokens[1:]
    if action in ("help", "-h", "--help"):
        return McpCommand("help")
    if action == "add":
        if len(rest) < 2:
            raise McpCommandError("usage: /mcp add NAME COMMAND [ARGS...]  (e.g. /mcp add fs npx -y some-server)")
        return McpCommand("add", name=_checked_name(rest[0]), command=rest[1], args=tuple(rest[2:]))
    if action == "add-http":
        if len(rest) < 2:
            raise McpCommandError("usage: /mcp add-http NAME URL [--header K=V ...]")
        name, url = _checked_name(rest[0]), rest[1]
        if not re.match(r"^https?://[^/\s]+", url):
            raise McpCommandError(f"{url!r} is not an http:// or https:// URL")
        return McpCommand("add-http", name=name, url=url, headers=_parse_headers(rest[2:]))
    if action in ("remove", "rm", "reconnect"):
        if len(rest) != 1:
            raise McpCommandError(f"usage: /mcp {action} NAME")
        return McpCommand("remove" if action == "rm" else action, name=rest[0])
    raise McpCommandError(f"unknown /mcp command {action!r}; the commands are:\n{USAGE}")


def _checked_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise McpCommandError(f"server name {name!r}: use only letters, digits, '_' and '-'")
    if SEPARATOR in name:
        raise McpCommandError(f"server name {name!r} contains {SEPARATOR!r}, which separates server and tool names")
    if name.endswith("_"):
        raise McpCommandError(f"server name {name!r} ends with '_', which would make SERVER{SEPARATOR}TOOL names ambiguous")
    return name


def _parse_headers(tokens: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in ("--header", "-H"):
            if i + 1 >= len(tokens):
                raise McpCommandError(f"{token} needs a value: {token} K=V")
            value, i = tokens[i + 1], i + 2
        elif token.startswith("--header="):
            value, i = token.split("=", 1)[1], i + 1
        else:
            raise McpCommandError(f"unexpected {token!r}; headers are given as --header K=V")
        key, sep, val = value.partition("=")
        if not sep:
            key, sep, val = value.partition(":")
        key, val = key.strip(), val.strip()
        if not sep or not key:
            raise McpCommandError(f"header {value!r} is not K=V (e.g. --header 'Authorization=Bearer ${{TOKEN}}')")
        headers[key] = val
    return headers


# ---- file edits ---------------------------------------------------------------------------------


def add_server(path: Path, name: str, entry: dict[str, Any]) -> str:
    """Append ``[mcp-servers.NAME]`` to the file. Raises ``McpCommandError`` if it cannot."""
    text, data = _read(path)
    servers = data.get(SECTION)
    if isinstance(servers, dict) and name in servers:
        raise McpCommandError(
            f"{name} is already in {path}; remove it first with /mcp remove {name}, or edit the file"
        )
    block = render_table(name, entry)
    new_text = text
    if new_text and not new_text.endswith("\n"):
        new_text += "\n"
    if new_text.strip():
        new_text += "\n"
    new_text += block
    expected = json.loads(json.dumps(data))
    expected.setdefault(SECTION, {})
    if isinstance(expected[SECTION], dict):
        expected[SECTION][name] = entry
    if _parsed(new_text) != expected:
        raise McpCommandError(
            f"could not add {name} to {path} safely (the file defines [{SECTION}] in a form that a new table "
            f"cannot extend). Nothing was changed; add this to the file by hand:\n{block}"
        )
    _write_atomic(path, new_text)
    return f"added {name} to {path}"


def remove_server(path: Path, name: str) -> str:
    """Delete the ``[mcp-servers.NAME]`` table (and its sub-tables) from the file."""
    text, data = _read(path)
    servers = data.get(SECTION)
    if not isinstance(servers, dict) or name not in servers:
        raise McpCommandError(f"{name} is not in {path}")
    lines = text.splitlines(keepends=True)
    header = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
    kept: list[str] = []
    skipping = False
    for line in lines:
        match = header.match(line)
        if match:
            skipping = _table_path(match.group(1))[:2] == [SECTION, name]
        if not skipping:
            kept.append(line)
    new_text = "".join(kept).rstrip("\n") + "\n" if "".join(kept).strip() else ""
    expected = json.loads(json.dumps(data))
    del expected[SECTION][name]
    if _parsed(new_text, drop_empty=True) != _normalized(expected):
        raise McpCommandError(
            f"could not remove {name} from {path} safely (it is not written as its own [{SECTION}.{name}] "
            f"table). Nothing was changed; delete its entry from the file by hand."
        )
    _write_atomic(path, new_text)
    return f"removed {name} from {path}"


def render_table(name: str, entry: dict[str, Any]) -> str:
    lines = [f"[{SECTION}.{_key(name)}]"]
    lines += [f"{_key(key)} = {_value(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    # A JSON string (ensure_ascii off) is also a valid TOML basic string.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _table_path(text: str) -> list[str]:
    """The keys of a table header (``mcp-servers."a b".env`` -> ["mcp-servers", "a b", "env"])."""
    parts: list[str] = []
    for match in re.finditer(r'\s*("(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+)\s*(?:\.|$)', text):
        token = match.group(1)
        if token.startswith('"'):
            token = json.loads(token)
        elif token.startswith("'"):
            token = token[1:-1]
        parts.append(token)
    return parts


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "", {}
    except OSError as exc:
        raise McpCommandError(f"cannot read {path} ({exc.strerror})") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise McpCommandError(f"{path} is not valid TOML ({exc}); fix it first, nothing was changed") from None


def _parsed(text: str, *, drop_empty: bool = False) -> Any:
    try:
        data = json.loads(json.dumps(tomllib.loads(text), default=str))
    except tomllib.TOMLDecodeError:
        return None
    return _normalized(data) if drop_empty else data


def _normalized(data: dict[str, Any]) -> dict[str, Any]:
    if data.get(SECTION) == {}:
        data = {k: v for k, v in data.items() if k != SECTION}
    return data


def _write_atomic(path: Path, text: str) -> None:
    from stoa.core.stoa_folder import ensure_gitignore_for

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ensure_gitignore_for(path)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise McpCommandError(f"cannot write {path} ({exc.strerror}); nothing was changed") from None


# ---- text for the UI -----------------------------------------------------------------------------


def format_rows(rows: list[ServerState], *, mode: str = "auto") -> str:
    """A plain-text table of servers (headless output, logs, the chat log)."""
    if not rows:
        return "No MCP servers configured. Add one with /mcp add NAME COMMAND [ARGS...] or /mcp add-http NAME URL."
    width = max(len(r.name) for r in rows)
    lines = []
    for row in rows:
        tools = f"{row.tool_count} tool{'s' if row.tool_count != 1 else ''}"
        plan = "" if row.offered_in_plan or mode != "plan" else "  (hidden in plan mode)"
        lines.append(f"{row.name:<{width}}  {row.transport:<5}  {row.status_text}  ·  {tools}{plan}")
    return "\n".join(lines)


def edit_servers(command: McpCommand, workspace: Path, source: Path | None) -> str:
    """Carry out ``add``, ``add-http`` or ``remove`` in ``.stoa/config.local.toml`` (``source``:
    the file that defines the server now, if any). Used by ``/mcp`` and ``stoa mcp``."""
    path = local_config_path(workspace)
    if command.action == "add":
        entry: dict[str, Any] = {"command": command.command}
        if command.args:
            entry["args"] = list(command.args)
        return add_server(path, command.name, entry)
    if command.action == "add-http":
        entry = {"url": command.url}
        if command.headers:
            entry["headers"] = command.headers
        return add_server(path, command.name, entry)
    if source is not None and source != path:
        raise McpCommandError(
            f"{command.name} is defined in {source}, not in {path}; remove it there, or "
            f"turn it off just for you with [mcp-servers.{command.name}] enabled = false in {path}"
        )
    return remove_server(path, command.name)


async def run_command(text: str, manager: McpManager) -> McpCommandResult:
    """Carry out one ``/mcp ...`` command against the running manager."""
    workspace = manager.config.workspace
    try:
        command = parse_command(text)
        if command.action == "help":
            return McpCommandResult(True, USAGE, manager.rows())
        if command.action == "list":
            note = manager.plan_mode_note() if manager.mode() == "plan" else ""
            message = format_rows(manager.rows(), mode=manager.mode()) + (f"\n{note}" if note else "")
            return McpCommandResult(True, message, manager.rows())
        if command.action in ("add", "add-http", "remove"):
            message = edit_servers(command, workspace, manager.source_of(command.name))
        else:  # reconnect
            try:
                await manager.reconnect(command.name, reread=True)
            except KeyError:
                raise McpCommandError(f"no MCP server named {command.name!r} is configured") from None
            return McpCommandResult(True, f"reconnecting {command.name}…", manager.rows())
        changes = await manager.reload()
        still = manager.states.get(command.name)
        if command.action == "remove" and still is not None and still.source is not None:
            message += f"; {command.name} is still defined in {still.source} (edit that file to remove it)"
        elif changes:
            message += f" ({', '.join(changes)})"
        return McpCommandResult(True, message, manager.rows())
    except McpCommandError as exc:
        return McpCommandResult(False, str(exc), manager.rows())
