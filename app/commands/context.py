"""/compact, /context and /purge: the conversation's room in the model's window.

``/compact [focus]`` summarises the earlier conversation now (``core.agent.compactor``);
``/context`` shows what fills the window (``core.context_report``); ``/purge [age]`` deletes the
archived messages of compactions older than an age, after asking. Each has a headless form:
``stoa -c -p "/compact"`` compacts the latest session and exits, ``/context`` prints the
breakdown, ``/purge 30d yes`` deletes without a question (``yes`` is the answer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stoa.app.commands.registry import CommandContext, HeadlessContext, command, headless

if TYPE_CHECKING:
    from stoa.core.agent.compaction import Compaction
    from stoa.core.runtime import Runtime

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
COMPACT_HINT = "keep talking; auto-compaction runs when the window fills, or /clear starts anew"


def compacted_text(result: Compaction) -> str:
    """The notice after /compact (its title says "Compacted"): what was archived, and the
    figures of the log's fold."""
    from stoa.core.agent.compaction import compacted_line

    line = compacted_line(
        result.tokens_before, result.tokens_after, cleared=result.cleared, summarised=result.summarised,
        on_server=result.on_server,
    )
    count = len(result.archived)
    if result.on_server:
        parts = [f"the earlier messages stay in the session; requests carry the server's compaction from here ({line})"]
    else:
        parts = [f"{count} message{'s' if count != 1 else ''} archived in the session, replaced by a summary ({line})"]
    if result.stages > 1:
        parts.append(f", written in {result.stages} parts")
    return "".join(parts) + "."


# ---- /compact -------------------------------------------------------------------------------


@command("compact", "Summarise the earlier conversation to free the window", args="[focus]", while_busy=False)
async def _compact(ctx: CommandContext) -> None:
    from stoa.core.agent.compaction import CompactionError

    try:
        result = await ctx.runtime.agent.compact(ctx.args.strip())
    except CompactionError as exc:
        ctx.error(f"nothing was compacted: {exc}", hint=COMPACT_HINT)
        return
    await ctx.screen.reload_log()
    ctx.screen.refresh_status()
    ctx.screen.show_notice("info", compacted_text(result), title="Compacted")


@headless("compact")
async def _compact_headless(ctx: HeadlessContext) -> int:
    """``stoa -c -p "/compact [focus]"``: compacts the resumed session and exits."""
    from stoa.core.agent.compaction import CompactionError

    try:
        result = await ctx.runtime.agent.compact(ctx.args.strip())
    except CompactionError as exc:
        ctx.error(f"nothing was compacted: {exc}", hint='continue a longer session: stoa -c -p "/compact"')
        return EXIT_FAILED
    ctx.info("Compacted: " + compacted_text(result))
    return EXIT_OK


# ---- /context -------------------------------------------------------------------------------


@command("context", "Show what fills the model's context window")
async def _context(ctx: CommandContext) -> None:
    from stoa.app.screens.context import ContextScreen
    from stoa.core.context_report import counted_report

    await ctx.app.push_screen(ContextScreen(await counted_report(ctx.runtime)))


@headless("context")
async def _context_headless(ctx: HeadlessContext) -> int:
    from stoa.core.context_report import counted_report, report_lines

    for line in report_lines(await counted_report(ctx.runtime)):
        ctx.info(line)
    return EXIT_OK


# ---- /purge ---------------------------------------------------------------------------------


def _purge_args(text: str) -> tuple[float, bool]:
    """``[age] [yes]`` -> (seconds, answered yes). Raises ValueError."""
    from stoa.core.sessions.archive import parse_age

    words = text.split()
    yes = bool(words) and words[-1].lower() == "yes"
    if yes:
        words = words[:-1]
    if len(words) > 1:
        raise ValueError(f"one age at most, not {' '.join(words)!r}")
    return parse_age(words[0] if words else ""), yes


def _describe(count: int, messages: int, sessions: int, age: str) -> str:
    when = f"older than {age}" if age else "of every compaction"
    return (
        f"{messages:,} archived message{'s' if messages != 1 else ''} {when} "
        f"({count} compaction{'s' if count != 1 else ''} in {sessions} session{'s' if sessions != 1 else ''} "
        "of this project). The summaries stay in the conversations; the originals are deleted for good."
    )


def _store_and_project(runtime: Runtime) -> tuple[object, str] | None:
    session = runtime.session
    if session is None:
        return None
    return session.store, session.recorder.seed.project


@command("purge", "Delete archived messages of compactions (older than an age: 30d, 12h)", args="[age]",
         while_busy=False)
async def _purge(ctx: CommandContext) -> None:
    from stoa.app.screens.context import ConfirmScreen
    from stoa.core.sessions.archive import purge_archives, purge_plan

    try:
        seconds, _ = _purge_args(ctx.args)
    except ValueError as exc:
        ctx.error(str(exc), hint="/purge 30d deletes archives older than 30 days; /purge alone, all of them")
        return
    found = _store_and_project(ctx.runtime)
    if found is None:
        ctx.error("sessions are not saved in this run, so there is no archive to purge")
        return
    store, project = found
    age = " ".join(w for w in ctx.args.split() if w.lower() != "yes")
    plan = await purge_plan(store, project, seconds)  # type: ignore[arg-type]
    if plan.archives == 0:
        ctx.info("Nothing to purge: no archived messages " + (f"older than {age}." if age else "in this project."))
        return
    question = ConfirmScreen(
        "Delete archived messages?",
        _describe(plan.archives, plan.messages, plan.sessions, age),
        yes="delete",
        no="keep them",
    )
    if not await ctx.app.push_screen_wait(question):
        ctx.info("Purge cancelled: nothing was deleted.")
        return
    done = await purge_archives(store, project, seconds)  # type: ignore[arg-type]
    ctx.info(f"Deleted {done.messages:,} archived messages of {done.archives} compactions.")


@headless("purge")
async def _purge_headless(ctx: HeadlessContext) -> int:
    """``stoa -p "/purge 30d"`` says what would go; ``"/purge 30d yes"`` deletes it."""
    from stoa.core.sessions.archive import purge_archives, purge_plan

    try:
        seconds, yes = _purge_args(ctx.args)
    except ValueError as exc:
        ctx.error(str(exc), hint='stoa -p "/purge 30d yes" deletes archives older than 30 days')
        return EXIT_USAGE
    found = _store_and_project(ctx.runtime)
    if found is None:
        ctx.error("the session database is not available")
        return EXIT_FAILED
    store, project = found
    age = " ".join(w for w in ctx.args.split() if w.lower() != "yes")
    plan = await purge_plan(store, project, seconds)  # type: ignore[arg-type]
    if plan.archives == 0:
        ctx.info("Nothing to purge.")
        return EXIT_OK
    if not yes:
        ctx.info("Would delete " + _describe(plan.archives, plan.messages, plan.sessions, age))
        ctx.info(f'Run stoa -p "/purge {age + " " if age else ""}yes" to delete them.')
        return EXIT_OK
    done = await purge_archives(store, project, seconds)  # type: ignore[arg-type]
    ctx.info(f"Deleted {done.messages:,} archived messages of {done.archives} compactions.")
    return EXIT_OK
