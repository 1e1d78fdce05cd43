"""Build the permission policy for a session from configuration and the chosen trust mode."""

from __future__ import annotations

from core.config import StoaConfig
from core.permissions.policy import PermissionPolicy


def make_policy(config: StoaConfig, mode: str) -> PermissionPolicy:
    return PermissionPolicy(mode)
