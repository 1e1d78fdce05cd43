"""Command-line flags that act as configuration: one more layer on top of the TOML files.

``--set KEY=VALUE``, ``--allowed-tools``/``--disallowed-tools`` (permission rules),
``--add-dir`` (allow rules and sandbox-writable folders) and ``--mcp-config FILE`` (MCP servers)
become a ``ConfigLayer`` named ``<command line>``, read by each table's owner like any file.
``--append-system-prompt`` and ``--system-prompt-file`` change the runtime's system prompt.
Every problem is a ``FlagError`` whose message names the flag and says what to write.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stoa.core.config import CONFIG_TABLES, ConfigLayer, StoaConfig, setting_keys

LAYER_PATH = Path("<command line>")
# What a native tool's name means as a permission rule (--allowed-tools write_file: Write).
RULE_OF_TOOL = {
    "list_directory": "Read",
    "read_file": "Read",
    "glob_files": "Read",
    "search_code": "Read",
    "view_image": "Read",
    "write_file": "Write",
    "edit_file": "Write",
    "create_directory": "Write",
    "move_file": "Write",
    "copy_file": "Write",
    "delete_file": "Write",
    "delete_directory": "Write",
    "apply_patch": "Write",
    "execute_bash": "Bash",
    # Claude Code's names, so its --allowedTools lists port as they are.
    "Edit": "Write",
    "MultiEdit": "Write",
    "NotebookEdit": "Write",
    "Glob": "Read",
    "Grep": "Read",
    "LS": "Read",
}


class FlagError(Exception):
    """A flag that cannot be used (exit 2); the message names it and the fix."""


def known_keys() -> list[str]:
    keys = sorted(k for k in setting_keys() if "_" not in k or k.replace("_", "-") not in setting_keys())
    for table, inner in sorted(CONFIG_TABLES.items()):
        if inner is None:
            keys.append(f"{table}.…")
        else:
            keys.extend(f"{table}.{key}" for key in sorted(inner))
    return keys


def parse_value(text: str) -> Any:
    """A TOML value (true, 3, 0.5, "x", ["a", "b"]); anything else is a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def settings_from_set(items: Sequence[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise FlagError(f"--set takes KEY=VALUE (e.g. --set max-tokens=4000), got {item!r}")
        parts = key.split(".")
        if len(parts) == 1:
            if key not in setting_keys():
                raise FlagError(f"--set: unknown key {key!r}; the keys: {', '.join(known_keys())}")
        elif parts[0] not in CONFIG_TABLES or (
            CONFIG_TABLES[parts[0]] is not None and (len(parts) != 2 or parts[1] not in (CONFIG_TABLES[parts[0]] or ()))
        ):
            raise FlagError(f"--set: unknown key {key!r}; the keys: {', '.join(known_keys())}")
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise FlagError(f"--set: {key!r} conflicts with another --set of {part!r}")
        target[parts[-1]] = parse_value(value.strip())
    return data


def split_list(values: Sequence[str]) -> list[str]:
    """Comma (or space) separated names and rules; a rule's parentheses may hold commas."""
    out: list[str] = []
    for value in values:
        depth, current = 0, ""
        for char in value:
            if char in "(":
                depth += 1
            elif char == ")":
                depth = max(0, depth - 1)
            if char in ", " and depth == 0:
                if current.strip():
                    out.append(current.strip())
                current = ""
            else:
                current += char
        if current.strip():
            out.append(current.strip())
    return out


def tool_rule(entry: str) -> str:
    """A tool name as a rule (write_file: Write; github___create_issue: Mcp(github___create_issue));
    a rule pattern stays as written."""
    if "(" in entry:
        name, _, rest = entry.partition("(")
        return f"{RULE_OF_TOOL[name]}({rest}" if name in ("Edit", "MultiEdit", "Glob", "Grep", "LS") else entry
    if entry in RULE_OF_TOOL:
        return RULE_OF_TOOL[entry]
    if "___" in entry:
        return f"Mcp({entry})"
    if entry.startswith("mcp__") and entry.count("__") >= 2:  # Claude Code's mcp__server__tool
        server, _, tool = entry[len("mcp__") :].partition("__")
        return f"Mcp({server}___{tool})" if tool else f"Mcp({server})"
    return entry  # Read, Write, Bash, Mcp, or a mistake checked by checked_rules


def checked_rules(flag: str, entries: Sequence[str], workspace: Path) -> list[str]:
    """The entries as rules; one that is no rule is a usage error (a typo in a deny list must
    not pass as a warning)."""
    from stoa.core.permissions.rules import RuleError, parse_rule

    rules: list[str] = []
    for entry in entries:
        rule = tool_rule(entry)
        try:
            parse_rule(rule, workspace=workspace)
        except RuleError as exc:
            raise FlagError(
                f"{flag}: {entry!r} is not a tool or rule ({exc}); use tool names (write_file, execute_bash, "
                "SERVER___TOOL) or rules (Read(...), Write(...), Bash(...), Mcp(...))"
            ) from None
        rules.append(rule)
    return rules


def mcp_servers_from(path: Path) -> dict[str, Any]:
    """``--mcp-config FILE``: Claude Code's JSON (``{"mcpServers": {...}}``) or Stoa's TOML
    (``[mcp-servers.NAME]`` tables)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlagError(f"--mcp-config: cannot read {path} ({exc.strerror or exc})") from exc
    if path.suffix == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise FlagError(f"--mcp-config: {path} is not valid TOML ({exc})") from exc
        servers = data.get("mcp-servers")
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise FlagError(f"--mcp-config: {path} is not valid JSON ({exc}); write {{\"mcpServers\": {{...}}}}") from exc
        servers = data.get("mcpServers", data.get("mcp-servers")) if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise FlagError(
            f"--mcp-config: {path} has no servers; write {{\"mcpServers\": {{\"NAME\": {{\"command\": ...}}}}}} "
            "or [mcp-servers.NAME] tables"
        )
    return {name: {k: v for k, v in spec.items() if k != "type"} for name, spec in servers.items() if isinstance(spec, dict)}


def command_line_layer(args: Any, config: StoaConfig) -> ConfigLayer | None:
    """The layer the flags make, or None when no such flag was given."""
    data = settings_from_set(args.set or [])
    allowed = split_list(args.allowed_tools or [])
    disallowed = split_list(args.disallowed_tools or [])
    both = sorted(set(allowed) & set(disallowed))
    if both:
        raise FlagError(f"--allowed-tools and --disallowed-tools both name {', '.join(both)}; keep it in one of them")
    permissions: dict[str, list[str]] = {}
    if allowed:
        permissions["allow"] = checked_rules("--allowed-tools", allowed, config.workspace)
    if disallowed:
        permissions["deny"] = checked_rules("--disallowed-tools", disallowed, config.workspace)
    for folder in args.add_dir or []:
        path = Path(folder).expanduser().resolve()
        if not path.is_dir():
            raise FlagError(f"--add-dir {folder}: not a directory; create it or pass another")
        permissions.setdefault("allow", []).append(f"Write({path}/**)")
        from stoa.core.sandbox.bwrap import settings_from_config

        writable = list(settings_from_config(config).writable)
        data.setdefault("sandbox", {})["writable"] = [*writable, str(path)]
    if permissions:
        data.setdefault("permissions", {})
        for which, rules in permissions.items():
            data["permissions"][which] = [*data["permissions"].get(which, []), *rules]
    if args.mcp_config:
        data.setdefault("mcp-servers", {}).update(mcp_servers_from(Path(args.mcp_config).expanduser()))
    if not data:
        return None
    return ConfigLayer(path=LAYER_PATH, data=data, text="")


def system_prompt_flags(args: Any) -> tuple[str | None, str | None]:
    """(replacement system prompt from --system-prompt-file, text of --append-system-prompt)."""
    replacement = None
    if args.system_prompt_file:
        path = Path(args.system_prompt_file).expanduser()
        try:
            replacement = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FlagError(f"--system-prompt-file: cannot read {path} ({exc}); pass a UTF-8 text file") from exc
    return replacement, args.append_system_prompt
