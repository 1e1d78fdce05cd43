"""``stoa mcp add|add-http|list|remove|get``: manage MCP servers from the shell, as ``/mcp``
does in the app (the same parsing and file edits, ``core.mcp.commands``; servers are added to
the personal ``.stoa/config.local.toml``). ``list`` starts the servers to show their status."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

USAGE = """usage: stoa mcp list                               the servers, their status and tool counts
       stoa mcp get NAME                           one server's settings and where they are written
       stoa mcp add NAME COMMAND [ARGS...]         a local (stdio) server, in .stoa/config.local.toml
       stoa mcp add-http NAME URL [--header K=V]   a streamable HTTP server (write secrets as ${VAR})
       stoa mcp remove NAME                        remove a server from .stoa/config.local.toml"""

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2


def main(argv: list[str]) -> int:
    from stoa.core.config import ConfigError, load_config
    from stoa.core.mcp.commands import McpCommandError, edit_servers, parse_command

    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return EXIT_OK if argv else EXIT_USAGE
    action = argv[0]
    if action not in ("list", "ls", "get", "add", "add-http", "remove", "rm"):
        print(f"stoa mcp: unknown command {action!r}\n{USAGE}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = load_config(Path.cwd())
    except ConfigError as exc:
        print(f"stoa: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    if action == "get":
        if len(argv) != 2:
            print("usage: stoa mcp get NAME", file=sys.stderr)
            return EXIT_USAGE
        return _get(config, argv[1])
    if action in ("list", "ls"):
        return asyncio.run(_list(config))
    try:
        command = parse_command(" ".join(shlex.quote(word) for word in argv))
        from stoa.core.mcp.config import parse_mcp_config

        servers = parse_mcp_config(config)
        known = servers.servers.get(command.name) or servers.broken.get(command.name)
        if command.action == "remove" and known is None:
            raise McpCommandError(f"no MCP server named {command.name!r} is configured here (stoa mcp list)")
        print(edit_servers(command, config.workspace, known.source if known else None))
    except McpCommandError as exc:
        print(f"stoa mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _get(config: object, name: str) -> int:
    from stoa.core.mcp.config import parse_mcp_config

    servers = parse_mcp_config(config)  # type: ignore[arg-type]
    server = servers.servers.get(name)
    if server is None:
        broken = servers.broken.get(name)
        if broken is not None:
            print(f"{name}: cannot be used ({broken.reason}); defined in {broken.source}")
            return EXIT_RUNTIME
        print(f"stoa mcp: no MCP server named {name!r} (stoa mcp list)", file=sys.stderr)
        return EXIT_RUNTIME
    print(f"{name}:")
    print(f"  source: {server.source}")
    print(f"  transport: {server.transport}")
    if server.command is not None:
        print(f"  command: {shlex.join([server.command, *server.args])}")
    if server.url is not None:
        print(f"  url: {server.url}")
    if server.headers:  # values may hold expanded secrets: names only
        print(f"  headers: {', '.join(sorted(server.headers))}")
    if server.env:
        print(f"  env: {', '.join(sorted(server.env))}")
    print(f"  enabled: {'yes' if server.enabled else 'no'}")
    return EXIT_OK


async def _list(config: object) -> int:
    from stoa.core.mcp import attach
    from stoa.core.mcp.commands import run_command
    from stoa.core.runtime import Choices, build_runtime

    runtime = build_runtime(config, Choices())  # type: ignore[arg-type]
    if not runtime.config.section("mcp-servers"):
        print("no MCP servers configured; add one with: stoa mcp add NAME COMMAND [ARGS...]")
        return EXIT_OK
    manager = attach(runtime)
    try:
        await manager.start_all()
        await manager.wait_started()
        result = await run_command("list", manager)
    finally:
        await manager.close()
    print(result.message)
    return EXIT_OK if result.ok else EXIT_RUNTIME
