"""/mcp in the TUI, and the hook that keeps the chat screen told about MCP servers.

``/mcp`` (or ``/mcp list``) opens the servers screen; ``/mcp add|add-http|remove|reconnect``
edit ``.stoa/config.local.toml`` and apply it at once (core/mcp/commands.py does the work).
``watch_manager(chat, manager)`` shows the count of connected servers in the status bar and a
notice when a server fails or disconnects (also one that failed before it was called); the
app calls it once the session is on screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from stoa.app.commands.registry import CommandContext, CommandHost, command

if TYPE_CHECKING:
    from stoa.core.mcp.manager import McpManager, ServerState

def status_label(manager: McpManager) -> str:
    """What the status bar shows: ``MCP 2/3`` (connected of enabled), empty with no servers."""
    rows = [r for r in manager.rows() if r.status.value != "disabled"]
    if not rows:
        return ""
    return f"MCP {manager.connected_count}/{len(rows)}"


def watch_manager(chat: CommandHost, manager: McpManager) -> None:
    """Keep ``chat`` (the ChatScreen) up to date with the manager. Safe to call more than once."""
    if chat.watched_mcp is manager:
        return
    chat.watched_mcp = manager
    last: dict[str, str] = {}
    config = chat.runtime.config
    home_text = config.env.get("HOME")
    home = Path(home_text) if home_text else None

    def changed(state: ServerState) -> None:
        from stoa.app.commands.custom import sync_mcp_prompts
        from stoa.app.screens.mcp import shorten

        status = state.status.value
        previous = last.get(state.name)
        last[state.name] = status
        chat.set_mcp_status(status_label(manager))
        sync_mcp_prompts(chat.commands, manager)
        if status in ("failed", "disconnected") and previous != status:
            chat.show_notice(
                "warning",
                shorten(f"MCP server {state.name}: {state.status_text}", config.workspace, home),
                hint="/mcp shows every server; /mcp reconnect NAME tries again",
            )

    manager.subscribe(changed)
    chat.set_mcp_status(status_label(manager))
    from stoa.app.commands.custom import sync_mcp_prompts

    sync_mcp_prompts(chat.commands, manager)
    # Servers start before the chat watches them (they start while the session opens): say
    # now what already failed.
    for state in manager.rows():
        if state.status.value in ("failed", "disconnected"):
            changed(state)


def _manager(ctx: CommandContext) -> McpManager:
    from stoa.core.mcp import attach

    manager = attach(ctx.runtime)
    watch_manager(ctx.screen, manager)
    return manager


@command("mcp", "MCP servers: list, add, add-http, remove, reconnect", args="[list|add|add-http|remove|reconnect]")
async def _mcp(ctx: CommandContext) -> None:
    from stoa.core.mcp.commands import parse_command, run_command

    manager = _manager(ctx)
    words = ctx.args.split()
    if not words or words[0] in ("list", "ls"):
        from stoa.app.screens.mcp import McpServersScreen

        home = ctx.runtime.config.env.get("HOME")
        await ctx.app.push_screen(
            McpServersScreen(
                manager,
                mode=ctx.runtime.policy.mode,
                workspace=ctx.runtime.config.workspace,
                home=Path(home) if home else None,
            )
        )
        return
    try:
        parse_command(ctx.args)
    except ValueError as exc:
        ctx.error(str(exc), hint="/mcp help lists the forms")
        return
    result = await run_command(ctx.args, manager)
    if result.ok:
        ctx.info(result.message)
    else:
        ctx.error(result.message)
