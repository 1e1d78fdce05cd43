"""/mode, /safe and /normal: the trust mode."""

from __future__ import annotations

from stoa.app.commands.registry import CommandContext, command


@command("mode", "Show or set the trust mode", args="[plan|ask|auto]")
def _mode(ctx: CommandContext) -> None:
    if not ctx.args:
        ctx.info(
            f"trust mode: {ctx.runtime.policy.mode} (plan = read-only, ask = confirm every change, "
            "auto = changes inside the workspace run without asking); /mode plan|ask|auto to change"
        )
        return
    ctx.screen.set_mode(ctx.args.strip().lower())


@command("safe", "Switch to plan mode (read-only tools only)")
def _safe(ctx: CommandContext) -> None:
    ctx.screen.set_mode("plan")


@command("normal", "Leave plan mode (back to the configured mode, auto by default)")
def _normal(ctx: CommandContext) -> None:
    configured = ctx.runtime.config.settings.mode
    ctx.screen.set_mode(configured if configured != "plan" else "auto")
