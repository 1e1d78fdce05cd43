"""MCP servers: their configuration, the manager that runs them, their tools and results.

Front-ends use it like this::

    manager = attach(runtime)          # sets runtime.mcp
    await manager.start_all()          # returns at once; servers start in the background
    manager.subscribe(on_change)       # on_change(ServerState) on every status change
    await manager.wait_started()       # headless only: the one-shot prompt needs the tools
    ...
    await manager.close()              # at exit: no server process outlives the app

The SDK (``mcp``) is imported lazily, in a thread, when the first server starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stoa.core.mcp.manager import McpManager, ServerState, ServerStatus

if TYPE_CHECKING:
    from stoa.core.runtime import Runtime

__all__ = ["McpManager", "ServerState", "ServerStatus", "attach"]


def attach(runtime: Runtime) -> McpManager:
    """The session's MCP manager, made once per runtime and kept as ``runtime.mcp``."""
    if runtime.mcp is not None:
        return runtime.mcp
    manager = McpManager(
        runtime.config,
        runtime.registry,
        prompt_sections=runtime.prompt_sections,
        mode=lambda: runtime.policy.mode,
    )
    runtime.mcp = manager
    runtime.agent.mcp = manager  # @server:uri mentions (core.mentions)
    return manager
