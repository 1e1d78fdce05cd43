"""The list of native tools of the contract (see DESIGN.md), in the order they are offered."""

from __future__ import annotations

from core.tools.base import Tool


def native_tools() -> list[Tool]:
    return []
