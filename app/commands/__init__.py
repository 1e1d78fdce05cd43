"""Slash commands: a registry (``registry``) and one module per family of commands.

``builtin_registry()`` builds the registry of Stoa's own commands from every family module;
the chat screen keeps one (``ChatScreen.commands``) and adds to it what a session brings.
Adding a command: a ``@command(...)`` handler in its family's module (or a new module listed in
``FAMILIES``), taking a ``CommandContext``. A command that also works from the shell
(``stoa -p "/name args"``) adds a ``@headless("name")`` function in the same module, taking a
``HeadlessContext`` and returning an exit code (or a prompt to send instead).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from stoa.app.commands.registry import (
    CommandContext,
    CommandHost,
    CommandRegistry,
    HeadlessContext,
    SlashCommand,
    command,
    headless,
    parse_slash,
)

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig

__all__ = [
    "FAMILIES",
    "CommandContext",
    "CommandHost",
    "CommandRegistry",
    "HeadlessContext",
    "SlashCommand",
    "builtin_registry",
    "command",
    "headless",
    "parse_slash",
    "shell_registry",
]

FAMILIES = (
    "session", "conversation", "appearance", "modes", "models", "mcp", "checkpoints", "agents", "memory", "hooks",
    "context", "debug",
)


def builtin_registry() -> CommandRegistry:
    """A registry of every built-in command (a new one each call: callers may add their own)."""
    registry = CommandRegistry()
    for family in FAMILIES:
        registry.add_module(importlib.import_module(f"stoa.app.commands.{family}"))
    return registry


def shell_registry(config: StoaConfig) -> CommandRegistry:
    """The commands a prompt can name outside the TUI (``stoa -p "/name"``, ACP): the built-in
    ones and the project's and user's custom commands. Loads no Textual."""
    from stoa.app.commands.custom import add_custom_commands

    registry = builtin_registry()
    add_custom_commands(registry, config)
    return registry
