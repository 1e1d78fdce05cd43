"""Custom slash commands (``stoa.core.custom_commands``) in the command registry: each file is a
``/name`` whose handler sends the expanded prompt as a turn (on the front matter's model, with
its allowed-tools allowed for that turn), in the TUI and headless alike. A file that cannot be
used is listed with its error and refuses to run. The prompts of connected MCP servers are
``/server:prompt`` commands (``sync_mcp_prompts``, kept up to date as servers come and go)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stoa.app.commands.registry import CommandContext, CommandRegistry, HeadlessContext, SlashCommand
from stoa.core.custom_commands import CustomCommand, CustomCommands, load_commands

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig
    from stoa.core.mcp.extras import PromptInfo
    from stoa.core.mcp.manager import McpManager
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


# ---- MCP prompts -------------------------------------------------------------------------------

_MCP_MARK = "__mcp_prompt__"


def sync_mcp_prompts(registry: CommandRegistry, manager: McpManager) -> None:
    """Register the connected servers' prompts as ``/server:prompt``, drop those gone."""
    wanted = {prompt.command: prompt for prompt in manager.prompts()}
    for cmd in list(registry):
        if getattr(cmd.handler, _MCP_MARK, None) is not None and cmd.name not in wanted:
            registry.remove(cmd.name)
    for name, prompt in wanted.items():
        existing = registry.get(name)
        if existing is not None and getattr(existing.handler, _MCP_MARK, None) is None:
            continue  # a built-in or a custom command of that name wins
        handler = _prompt_handler(prompt)
        registry.register(
            SlashCommand(
                name,
                f"{prompt.description or 'MCP prompt'} (MCP {prompt.server})",
                handler,
                args=prompt.usage,
                while_busy=False,
                headless=_prompt_headless(prompt),
            ),
            replace=True,
        )


async def _prompt_text(prompt: PromptInfo, runtime: Runtime, args: str) -> str:
    from stoa.core.mcp.extras import get_prompt, prompt_arguments

    if runtime.mcp is None:
        from stoa.core.mcp.extras import ExtrasError

        raise ExtrasError("no MCP server is running")
    return await get_prompt(runtime.mcp, prompt, prompt_arguments(prompt, args))


def _prompt_handler(prompt: PromptInfo) -> Callable[[CommandContext], Any]:
    async def run(ctx: CommandContext) -> None:
        from stoa.core.mcp.extras import ExtrasError

        try:
            text = await _prompt_text(prompt, ctx.runtime, ctx.args)
        except ExtrasError as exc:
            ctx.error(str(exc), hint="/mcp shows the servers")
            return
        await ctx.screen.start_turn(text, f"/{prompt.command} {ctx.args}".rstrip())

    setattr(run, _MCP_MARK, prompt)
    return run


def _prompt_headless(prompt: PromptInfo) -> Callable[[HeadlessContext], Any]:
    async def run(ctx: HeadlessContext) -> int | str:
        from stoa.core.mcp.extras import ExtrasError

        try:
            return await _prompt_text(prompt, ctx.runtime, ctx.args)
        except ExtrasError as exc:
            ctx.error(str(exc))
            return EXIT_USAGE

    return run
