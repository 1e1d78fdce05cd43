"""/ps and /kill (background jobs and sub-agents), /agents and /agent, /skills.

They read the conversation's activity (``stoa.core.activity``), the agent definitions
(``stoa.core.agents``) and the skills (``stoa.core.skills``).
"""

from __future__ import annotations

from stoa.app.commands.registry import CommandContext, HeadlessContext, command, headless


@command("ps", "List background jobs and running sub-agents")
def _ps(ctx: CommandContext) -> None:
    from stoa.core.activity import lines

    ctx.screen.show_notice("info", "\n".join(lines(ctx.runtime.agent.jobs, ctx.runtime.subagents)), title="Background")


@command("kill", "Stop a background job or a sub-agent", args="<id>")
async def _kill(ctx: CommandContext) -> None:
    from stoa.core.activity import kill

    target = ctx.args.strip()
    if not target:
        ctx.error("which one?", hint="/ps lists the ids: /kill b1 stops background job b1")
        return
    try:
        ctx.info(await kill(ctx.runtime.agent.jobs, ctx.runtime.subagents, target))
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


@command("agents", "List the agents for sub-agents and /agent (re-read from their files)")
async def _agents(ctx: CommandContext) -> None:
    import asyncio

    from stoa.core.agents import attach_agents, listing

    # Models are checked against the providers' lists (a request at most): off the event loop.
    definitions = await asyncio.to_thread(attach_agents, ctx.runtime, network=True)
    active = ctx.runtime.active_agent
    head = [f"The conversation runs as agent {active}."] if active else []
    ctx.screen.show_notice("info", "\n".join([*head, *listing(definitions)]), title="Agents")


@headless("agents")
async def _agents_headless(ctx: HeadlessContext) -> int:
    """``stoa -p "/agents"``: the list, broken files with their errors."""
    from stoa.core.agents import attach_agents, listing

    for line in listing(attach_agents(ctx.runtime, network=True)):
        ctx.info(line)
    return 0


@command("agent", "Run the conversation as an agent (general: back to the plain one)", args="<name>", while_busy=False)
def _agent(ctx: CommandContext) -> None:
    from stoa.core.agents import UnknownAgentError, use_agent

    name = ctx.args.strip()
    if not name:
        active = ctx.runtime.active_agent or "general (the plain conversation)"
        ctx.info(f"The conversation runs as {active}. /agent NAME switches; /agents lists them.")
        return
    try:
        lines = use_agent(ctx.runtime, name)
    except UnknownAgentError as exc:
        ctx.error(str(exc), hint="/agents lists them, with errors for broken files")
        return
    ctx.info("\n".join(lines))
    ctx.screen.refresh_status()
