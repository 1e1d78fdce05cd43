"""The ``[mcp-servers.NAME]`` tables: parsing, layering, validation, environment expansion.

Each config layer (global, project, local; lowest first) may define servers; a server defined
in a higher layer replaces the whole entry of a lower one (local over project over global), so
a table is never a mix of two files. Every entry is checked on its own: an invalid one is
reported with its file and the reason and does not stop the others. ``${VAR}`` (and
``${VAR:-default}``) in string values are expanded from the environment, so secrets need not
be written in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stoa.core.config import ConfigLayer, StoaConfig, unknown_key_warning

SECTION = "mcp-servers"
SEPARATOR = "___"
SAFE_MODES: tuple[str, ...] = ("disabled", "read_only", "allow")
DEFAULT_STARTUP_TIMEOUT = 30.0
DEFAULT_TOOL_TIMEOUT = 120.0
# Names that providers accept as tool names (Anthropic and OpenAI), and so as prefixes.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")

SafeMode = Literal["disabled", "read_only", "allow"]
Transport = Literal["stdio", "http"]

_KNOWN_KEYS = frozenset(
    {
        "command",
        "args",
        "env",
        "cwd",
        "url",
        "headers",
        "enabled",
        "enabled_tools",
        "disabled_tools",
        "startup_timeout_seconds",
        "tool_timeout_seconds",
        "safe_mode",
    }
)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class McpServerConfig:
    """One server, validated and with its environment variables expanded."""

    name: str
    source: Path
    transport: Transport
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    enabled_tools: tuple[str, ...] | None = None
    disabled_tools: tuple[str, ...] = ()
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    tool_timeout: float = DEFAULT_TOOL_TIMEOUT
    safe_mode: SafeMode = "disabled"

    @property
    def read_only(self) -> bool:
        return self.safe_mode == "read_only"

    @property
    def offered_in_plan(self) -> bool:
        return self.safe_mode in ("read_only", "allow")

    @property
    def target(self) -> str:
        """What the server runs or where it lives, for lists (secrets are not in it)."""
        if self.transport == "http":
            return self.url or ""
        return " ".join([self.command or "", *self.args]).strip()

    def allows_tool(self, tool: str) -> bool:
        if self.enabled_tools is not None and tool not in self.enabled_tools:
            return False
        return tool not in self.disabled_tools


@dataclass(frozen=True)
class BrokenServer:
    """An entry that could not be used: shown as failed, with the reason, and never started."""

    name: str
    source: Path
    reason: str
    transport: Transport | None = None


@dataclass
class McpConfig:
    servers: dict[str, McpServerConfig] = field(default_factory=dict)
    broken: dict[str, BrokenServer] = field(default_factory=dict)
    # Problems that skip nothing (unknown keys) and problems of the section itself.
    warnings: list[str] = field(default_factory=list)


class EntryError(ValueError):
    """One entry is unusable; the message says why and what to do."""


def expand_env(value: str, env: dict[str, str]) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}``; a variable that is not set is an error."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if default is not None:
            return env.get(name) or default
        if name in env:
            return env[name]
        raise EntryError(f"environment variable {name} is not set (export {name}=... or use ${{{name}:-default}})")

    return _VAR.sub(replace, value)


def parse_mcp_config(config: StoaConfig) -> McpConfig:
    """All servers of every layer, higher layers replacing lower ones entry by entry."""
    return parse_layers(config.section(SECTION), config.env, config.workspace)


def parse_layers(
    sections: list[tuple[ConfigLayer, Any]], env: dict[str, str], workspace: Path
) -> McpConfig:
    result = McpConfig()
    for layer, section in sections:
        if not isinstance(section, dict):
            result.warnings.append(
                f"{layer.path}: [{SECTION}] must be a table of servers ([{SECTION}.NAME]); ignored it"
            )
            continue
        for name, raw in section.items():
            # A higher layer replaces the entry, valid or not.
            result.servers.pop(name, None)
            result.broken.pop(name, None)
            try:
                server, unknown = parse_entry(name, raw, layer.path, env, workspace)
            except EntryError as exc:
                transport: Transport | None = None
                if isinstance(raw, dict):
                    transport = "http" if "url" in raw else "stdio"
                result.broken[name] = BrokenServer(name, layer.path, str(exc), transport)
                continue
            for key in sorted(unknown):
                if key in _KNOWN_KEYS:  # a key of the other transport
                    kind = "url (HTTP)" if server.transport == "stdio" else "command (stdio)"
                    result.warnings.append(
                        f"{layer.path}: [{SECTION}.{name}] {key} only applies to {kind} servers; it is ignored"
                    )
                else:
                    result.warnings.append(
                        unknown_key_warning(layer, (SECTION, name, key), _KNOWN_KEYS, f"key in [{SECTION}.{name}]")
                    )
            result.servers[name] = server
    return result


def describe_problems(mcp: McpConfig) -> list[str]:
    """One line per warning and per skipped entry, naming the file and the reason."""
    lines = list(mcp.warnings)
    for broken in mcp.broken.values():
        lines.append(f"{broken.source}: [{SECTION}.{broken.name}] skipped: {broken.reason}")
    return lines


def name_problem(name: str) -> str:
    """Why ``name`` cannot name a server ("" when it can)."""
    if not NAME_PATTERN.match(name):
        return "the name may only contain letters, digits, '_' and '-'"
    if SEPARATOR in name:
        return f"the name contains {SEPARATOR!r}, which separates server and tool names"
    if name.endswith("_"):
        # "a_" + "___" + "x" reads as server "a" with tool "_x": Mcp(a) rules would cover it.
        return f"the name ends with '_', which would make SERVER{SEPARATOR}TOOL names ambiguous"
    return ""


def parse_entry(
    name: str, raw: Any, source: Path, env: dict[str, str], workspace: Path
) -> tuple[McpServerConfig, set[str]]:
    """Validate one entry. Raises ``EntryError`` with the reason; returns unknown keys too."""
    problem = name_problem(name)
    if problem:
        raise EntryError(f"{problem}; rename the table")
    if not isinstance(raw, dict):
        raise EntryError(f"must be a table ([{SECTION}.{name}] with command = ... or url = ...)")
    unknown = set(raw) - _KNOWN_KEYS
    has_command, has_url = "command" in raw, "url" in raw
    if has_command == has_url:
        raise EntryError(
            "set exactly one of command (a local server over stdio) or url (a streamable HTTP server)"
        )
    common: dict[str, Any] = {
        "enabled": _bool(raw, "enabled", True),
        "enabled_tools": _optional_names(raw, "enabled_tools"),
        "disabled_tools": tuple(_optional_names(raw, "disabled_tools") or ()),
        "startup_timeout": _seconds(raw, "startup_timeout_seconds", DEFAULT_STARTUP_TIMEOUT),
        "tool_timeout": _seconds(raw, "tool_timeout_seconds", DEFAULT_TOOL_TIMEOUT),
        "safe_mode": _safe_mode(raw),
    }
    if has_command:
        for key in ("url", "headers"):
            if key in raw:
                unknown.add(key)
        command = expand_env(_string(raw, "command"), env).strip()
        if not command:
            raise EntryError("command is empty; set the program to run")
        if command.startswith("~"):
            command = str(Path(command).expanduser())
        args = tuple(expand_env(a, env) for a in _strings(raw, "args"))
        cwd_raw = raw.get("cwd")
        cwd: Path | None = workspace
        if cwd_raw is not None:
            if not isinstance(cwd_raw, str):
                raise EntryError("cwd must be a string (a folder)")
            cwd = Path(expand_env(cwd_raw, env)).expanduser()
            if not cwd.is_absolute():
                cwd = workspace / cwd
            if not cwd.is_dir():
                raise EntryError(f"cwd {cwd} is not a folder; fix it or remove cwd")
        return (
            McpServerConfig(
                name=name,
                source=source,
                transport="stdio",
                command=command,
                args=args,
                env={k: expand_env(v, env) for k, v in _table(raw, "env").items()},
                cwd=cwd,
                **common,
            ),
            unknown,
        )
    for key in ("args", "env", "cwd"):
        if key in raw:
            unknown.add(key)
    url = expand_env(_string(raw, "url"), env).strip()
    if not re.match(r"^https?://[^/\s]+", url):
        raise EntryError(f"url {url!r} is not an http:// or https:// address")
    headers = {k: expand_env(v, env) for k, v in _table(raw, "headers").items()}
    return McpServerConfig(name=name, source=source, transport="http", url=url, headers=headers, **common), unknown


def _string(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise EntryError(f"{key} must be a string")
    return value


def _strings(raw: dict[str, Any], key: str) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EntryError(f'{key} must be a list of strings (e.g. {key} = ["--flag", "value"])')
    return value


def _optional_names(raw: dict[str, Any], key: str) -> tuple[str, ...] | None:
    if key not in raw:
        return None
    return tuple(_strings(raw, key))


def _table(raw: dict[str, Any], key: str) -> dict[str, str]:
    value = raw.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise EntryError(f'{key} must be a table of strings (e.g. {key} = {{ NAME = "value" }})')
    return value


def _bool(raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise EntryError(f"{key} must be true or false")
    return value


def _seconds(raw: dict[str, Any], key: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise EntryError(f"{key} must be a positive number of seconds")
    return float(value)


def _safe_mode(raw: dict[str, Any]) -> SafeMode:
    value = raw.get("safe_mode", "disabled")
    if value not in SAFE_MODES:
        raise EntryError(f"safe_mode must be one of {', '.join(SAFE_MODES)} (got {value!r})")
    return value  # type: ignore[no-any-return]
