"""Hooks: the person's own commands, run at moments of a session (``[[hooks.EVENT]]``).

``config`` reads them from the TOML layers, ``run`` runs one command, ``engine`` decides which
run for an event and what their answers mean, ``trust`` keeps the approval of a project's
shared hooks. ``build_hooks`` makes the runtime's ``Hooks``.
"""

from __future__ import annotations

from collections.abc import Callable

from stoa.core.config import StoaConfig
from stoa.core.hooks.config import EVENTS, HookSpec, load_hooks
from stoa.core.hooks.engine import Hooks, HookVerdict, context_block
from stoa.core.hooks.trust import approve, is_approved

__all__ = ["EVENTS", "HookSpec", "HookVerdict", "Hooks", "approve_project_hooks", "build_hooks", "context_block"]


def build_hooks(
    config: StoaConfig,
    *,
    trust_project: bool = False,
    session_id: Callable[[], str | None] = lambda: None,
    mode: Callable[[], str] = lambda: "auto",
) -> Hooks:
    """The configured hooks; project-shared ones are active when approved before (same set) or
    ``trust_project`` (``--trust-project-hooks``). Problems become configuration warnings."""
    loaded = load_hooks(config)
    config.warnings.extend(w for w in loaded.warnings if w not in config.warnings)
    trusted = trust_project or is_approved(config.paths, config.workspace, loaded.shared)
    return Hooks(loaded, workspace=config.workspace, env=config.env, session_id=session_id, mode=mode, trusted=trusted)


def approve_project_hooks(hooks: Hooks, config: StoaConfig) -> None:
    """The person approved the project's shared hooks: remember this set, and run them."""
    approve(config.paths, config.workspace, hooks.config.shared)
    hooks.trust_project()
