"""/ps and /kill (background jobs and sub-agents), /agents and /agent, /skills.

They read the conversation's activity (``stoa.core.activity``), the agent definitions
(``stoa.core.agents``) and the skills (``stoa.core.skills``).
"""

from __future__ import annotations

from stoa.app.commands.registry import CommandContext, command


@command("ps", "List background jobs and running sub-agents")
def _ps(ctx: CommandContext) -> None:
    from stoa.core.activity import lines

    ctx.screen.show_notice("info", "\n".join(lines(ctx.runtime.agent)), title="Background")


@command("kill", "Stop a background job or a sub-agent", args="<id>")
async def _kill(ctx: CommandContext) -> None:
    from stoa.core.activity import kill

    target = ctx.args.strip()
    if not target:
        ctx.error("which one?", hint="/ps lists the ids: /kill b1 stops background job b1")
        return
    try:
        ctx.info(await kill(ctx.runtime.agent, target))
    except ValueError as exc:
        ctx.error(str(exc), hint="/ps lists what runs")
