"""/hooks: the hooks that are active and where each is written; the project's shared ones that
wait for approval (``/hooks approve`` asks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stoa.app.commands.registry import CommandContext, HeadlessContext, command, headless

if TYPE_CHECKING:
    from stoa.core.hooks import Hooks


def hooks_report(hooks: Hooks | None) -> list[str]:
    if hooks is None or not hooks.config.specs:
        return ["no hooks configured: add [[hooks.EVENT]] tables to a config file (see the README's Hooks section)"]
    lines: list[str] = []
    active = hooks.active
    if active:
        lines.append(f"{len(active)} active hook(s):")
        for spec in active:
            origin = "project, approved" if spec.shared else "yours"
            lines.append(f"  {spec.event} [{spec.matcher or '*'}] {spec.command}  ({spec.where}; {origin})")
    waiting = hooks.untrusted
    if waiting:
        lines.append(f"{len(waiting)} project hook(s) not approved, so not run:")
        lines.extend(f"  {s.event} [{s.matcher or '*'}] {s.command}  ({s.where})" for s in waiting)
    return lines


@command("hooks", "List the active hooks and where each is written (/hooks approve: the project's)", args="[approve]")
async def _hooks(ctx: CommandContext) -> None:
    hooks = ctx.runtime.hooks
    if ctx.args.strip() == "approve" and hooks is not None and hooks.untrusted:
        from stoa.app.screens.hooks_trust import HooksTrustScreen
        from stoa.core.hooks import approve_project_hooks

        def answered(run: bool | None) -> None:
            if run:
                approve_project_hooks(hooks, ctx.runtime.config)
                ctx.info("the project's hooks run from now on (this set is remembered)")

        await ctx.app.push_screen(HooksTrustScreen(hooks.untrusted, ctx.runtime.config.workspace), answered)
        return
    ctx.info("\n".join(hooks_report(hooks)))


@headless("hooks")
async def _hooks_headless(ctx: HeadlessContext) -> int:
    for line in hooks_report(ctx.runtime.hooks):
        ctx.info(line)
    return 0
