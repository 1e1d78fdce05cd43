"""The OS sandbox for shell commands (bubblewrap) and the scrubbed environment they run with.

``status_for(config)`` is what both the permission policy and execute_bash consult, so the
policy never lets a command run unasked "because it is sandboxed" when it would not be.
``detect()`` runs the trial once per process; ``describe()`` is the line for ``--version``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stoa.core.sandbox.bwrap import (
    SandboxLayout,
    SandboxSettings,
    SandboxStatus,
    detect,
    layout_for,
    prepare_workspace,
    settings_from_config,
    status_for,
    wrap,
)
from stoa.core.sandbox.env import removed_names, scrub_env

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig

__all__ = [
    "SandboxLayout",
    "SandboxSettings",
    "SandboxStatus",
    "describe",
    "describe_sandbox",
    "detect",
    "layout_for",
    "prepare_workspace",
    "removed_names",
    "scrub_env",
    "settings_from_config",
    "status_for",
    "wrap",
]


def describe(config: StoaConfig | None = None) -> str:
    """``sandbox: bubblewrap 0.8.0 (network off)`` or why there is none."""
    return status_for(config).describe()


def describe_sandbox(config: StoaConfig | None = None) -> str:
    """The sandbox state without the ``sandbox:`` prefix (``stoa --version`` adds its own)."""
    return describe(config).removeprefix("sandbox: ")
