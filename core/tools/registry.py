"""The tool registry: one table of every tool the agent can offer, native and MCP.

Native tools register at construction (``default_registry``); MCP tools are added and removed
at run time by the MCP manager. ``specs(mode, model)`` is what the model is offered: plan mode
offers only tools whose effect is read-only, and a tool may be meant for some models only
(``Tool.offered_to``: apply_patch for the models trained on its format).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from stoa.core.providers.types import ToolSpec
from stoa.core.tools.base import Tool

if TYPE_CHECKING:
    from stoa.core.models import ModelInfo

log = logging.getLogger(__name__)


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        # The tools of the agent the conversation runs as (``--agent``), or None: every tool.
        self.only: frozenset[str] | None = None
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool, *, replace: bool = False) -> bool:
        """Add a tool. A name already taken keeps its first registration unless ``replace``."""
        if tool.name in self._tools and not replace:
            log.warning("tool %s is already registered; keeping the first", tool.name)
            return False
        self._tools[tool.name] = tool
        return True

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        if self.only is not None and name not in self.only:
            return None
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._tools.values()))

    def offered(self, mode: str, model: ModelInfo | None = None) -> list[Tool]:
        tools = list(self._tools.values())
        if self.only is not None:
            tools = [t for t in tools if t.name in self.only]
        if mode == "plan":
            tools = [t for t in tools if t.effect.read_only or t.offered_in_plan]
        if model is not None:
            tools = [t for t in tools if t.offered_to(model)]
        return tools

    def specs(self, mode: str, model: ModelInfo | None = None) -> list[ToolSpec]:
        return [t.spec() for t in self.offered(mode, model)]


def default_registry() -> ToolRegistry:
    """Every native tool of the contract that exists in this build."""
    from stoa.core.tools.native import native_tools

    return ToolRegistry(native_tools())
