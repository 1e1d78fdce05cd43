"""Build the permission policy for a session from configuration and the chosen trust mode.

Rules come from the ``[permissions]`` table of every config layer; malformed ones are added to
``config.warnings`` (shown at start-up) with their file and line. The sandbox status (a trial
run of bwrap, once per process) decides whether auto mode may run unknown commands unasked.
"""

from __future__ import annotations

from pathlib import Path

from stoa.core.config import StoaConfig
from stoa.core.permissions.policy import PermissionPolicy
from stoa.core.permissions.rules import parse_layers


def make_policy(config: StoaConfig, mode: str, *, detect_sandbox: bool = True) -> PermissionPolicy:
    """The session's policy. Raises ValueError (naming the modes) for an unknown ``mode``."""
    from stoa.core.sandbox import settings_from_config, status_for

    home_text = config.env.get("HOME")
    home = Path(home_text) if home_text else None
    rules, problems = parse_layers(config.section("permissions"), workspace=config.workspace, home=home)
    for problem in problems:
        text = str(problem)
        if text not in config.warnings:
            config.warnings.append(text)
    for text in settings_from_config(config).problems:
        if text not in config.warnings:
            config.warnings.append(text)
    sandbox = status_for(config) if detect_sandbox else None
    return PermissionPolicy(
        mode,
        rules=rules,
        workspace=config.workspace,
        home=home,
        sandbox=sandbox,
        problems=problems,
        env=config.env,
    )
