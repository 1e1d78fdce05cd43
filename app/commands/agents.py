"""/ps and /kill (background jobs and sub-agents), /agents and /agent, /skills.

They read the conversation's activity (``stoa.core.activity``), the agent definitions
(``stoa.core.agents``) and the skills (``stoa.core.skills``).
"""

from __future__ import annotations

from stoa.app.commands.registry import CommandContext, HeadlessContext, command, headless


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


@command("skills", "List the skills (re-read from their folders)")
def _skills(ctx: CommandContext) -> None:
    from stoa.core.skills import attach_skills, listing

    skills = attach_skills(ctx.runtime)
    ctx.screen.show_notice("info", "\n".join(listing(skills)), title="Skills")


@headless("skills")
async def _skills_headless(ctx: HeadlessContext) -> int:
    """``stoa -p "/skills"``: the list, broken files with their errors."""
    from stoa.core.skills import attach_skills, listing

    skills = attach_skills(ctx.runtime)
    for line in listing(skills):
        ctx.info(line)
    return 0
