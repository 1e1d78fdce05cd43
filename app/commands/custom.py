"""Custom slash commands (``stoa.core.custom_commands``) in the command registry: each file is a
``/name`` whose handler sends the expanded prompt as a turn (on the front matter's model, with
its allowed-tools allowed for that turn), in the TUI and headless alike. A file that cannot be
used is listed with its error and refuses to run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stoa.app.commands.registry import CommandContext, CommandRegistry, HeadlessContext, SlashCommand
from stoa.core.custom_commands import CustomCommand, CustomCommands, load_commands

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig
    from stoa.core.runtime import Runtime

EXIT_RUNTIME, EXIT_USAGE = 1, 2


def load_for(config: StoaConfig) -> CustomCommands:
    home = config.env.get("HOME")
    return load_commands(config.workspace, config.paths, Path(home) if home else None)


def add_custom_commands(registry: CommandRegistry, config: StoaConfig) -> CustomCommands:
    """Register every custom command whose name no built-in command (or alias) takes."""
    found = load_for(config)
    for command in found.commands.values():
        if command.name in registry:
            found.shadowed.append(command)
            continue
        registry.register(
            SlashCommand(
                command.name,
                command.summary,
                _handler(command),
                args=f"[{command.argument_hint}]" if command.argument_hint and not command.error else "",
                while_busy=False,
                headless=_headless(command),
            )
        )
    return found


async def turn_options(
    command: CustomCommand, runtime: Runtime, warn: Callable[[str], object]
) -> dict[str, Any] | str:
    """The turn settings of the front matter (``model``, ``allow``), or why it cannot run."""
    from stoa.core.permissions.rules import RuleError, parse_rule

    options: dict[str, Any] = {}
    if command.model:
        try:
            options["model"] = await asyncio.to_thread(runtime.catalog.resolve, command.model)
        except Exception as exc:
            return f"{command.shown}: model {command.model!r} cannot be used: {exc}"
    allowed: list[str] = []
    for text in command.allowed_tools:
        try:
            parse_rule(text, workspace=runtime.config.workspace, source="command")
        except RuleError as exc:
            warn(f"/{command.name}: allowed-tools entry {text!r} is left out: {exc}")
            continue
        allowed.append(text)
    if allowed:
        options["allow"] = tuple(allowed)
    return options


def _handler(command: CustomCommand) -> Callable[[CommandContext], Any]:
    async def run(ctx: CommandContext) -> None:
        if command.error:
            ctx.error(f"/{command.name} cannot run: {command.error}", hint="fix the file and run the command again")
            return
        options = await turn_options(command, ctx.runtime, lambda text: ctx.screen.show_notice("warning", text))
        if isinstance(options, str):
            ctx.error(options, hint="fix the front matter's model (see /model for the ids)")
            return
        display = f"/{command.name} {ctx.args}".rstrip()
        await ctx.screen.start_turn(command.expand(ctx.args), display, **options)

    return run


def _headless(command: CustomCommand) -> Callable[[HeadlessContext], Any]:
    async def run(ctx: HeadlessContext) -> int | str:
        if command.error:
            ctx.error(f"cannot run: {command.error}", hint="fix the file and run the command again")
            return EXIT_USAGE
        options = await turn_options(command, ctx.runtime, lambda text: ctx.err.write(f"warning: {text}\n"))
        if isinstance(options, str):
            ctx.error(options)
            return EXIT_USAGE
        ctx.turn_options = options
        return command.expand(ctx.args)

    return run
