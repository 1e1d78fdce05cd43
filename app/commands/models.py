"""/model, /effort, /key and /status: the slash commands of models and keys.

The pickers and switches they open are ``stoa.app.model_actions`` (the chat screen's keys use
them too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stoa.app.commands.registry import CommandContext, command

# The pickers and switches (``stoa.app.model_actions``, over ``stoa.core.switching``) load when a
# command runs: the slash list is on screen at the first frame, before the runtime exists.

if TYPE_CHECKING:
    from stoa.core.runtime import Runtime


async def _look_up(runtime: Runtime, name: str) -> None:
    """A cloud id nothing knows yet is looked up in a thread (the provider's list or the model
    itself), so the switch that follows never waits on the network in the event loop."""
    import asyncio

    from stoa.core.models import COMPATIBLE_PROVIDERS, UnknownModelError

    catalog = runtime.catalog
    if "/" in name or catalog.find(name) is not None or runtime.agent.model.provider in COMPATIBLE_PROVIDERS:
        return
    try:
        await asyncio.to_thread(catalog.resolve, name)
    except (UnknownModelError, ValueError):
        pass  # apply_model says so, with the available ids


@command("model", "Switch the model: a picker, or /model NAME [EFFORT]", args="[name] [effort]")
async def _model_command(ctx: CommandContext) -> None:
    parts = ctx.args.split()
    if not parts:
        from stoa.app.model_actions import open_model_picker

        await open_model_picker(ctx.screen)
        return
    if len(parts) > 2:
        ctx.error("usage: /model NAME [EFFORT]", hint="e.g. /model opus high; /model alone opens the picker")
        return
    await _look_up(ctx.screen.runtime, parts[0])
    from stoa.app.model_actions import apply_model

    apply_model(ctx.screen, parts[0], parts[1] if len(parts) == 2 else None)


@command("effort", "Set the reasoning effort: a picker, or /effort LEVEL", args="[level]")
async def _effort_command(ctx: CommandContext) -> None:
    level = ctx.args.strip()
    if not level:
        from stoa.app.model_actions import open_effort_picker

        await open_effort_picker(ctx.screen)
        return
    from stoa.app.model_actions import apply_effort

    apply_effort(ctx.screen, level)


@command("key", "Add, replace or delete API keys (saved to your user config, mode 600)", args="[provider]",
           aliases=("keys",))
async def _key_command(ctx: CommandContext) -> None:
    provider = ctx.args.strip().lower() or None
    from stoa.core.models import ALL_PROVIDERS

    if provider is not None and provider not in ALL_PROVIDERS:
        ctx.error(f"unknown provider {provider!r}", hint="choose one of " + ", ".join(ALL_PROVIDERS))
        return
    from stoa.app.model_actions import open_key_manager

    await open_key_manager(ctx.screen, provider)


@command("status", "Show the model, usage per model, and check each provider's connection")
async def _status_command(ctx: CommandContext) -> None:
    from stoa.app.status import status_report

    ctx.info("checking the providers…")
    text, ok = await status_report(ctx.runtime)
    ctx.screen.show_notice("info" if ok else "warning", text, title="Status")
