"""/undo, /rewind, /diff and /review: the session's checkpoints (``stoa.core.checkpoints``).

Each has a headless form: ``stoa -c -p "/undo"`` reverts the last turn of the resumed session
with no model request; ``/rewind N [both|conversation|files]``, ``/diff`` and ``/review`` too.
Conflicts (a file changed since the turn by someone else) are a question in the TUI and an
argument from the shell (``/undo overwrite`` or ``/undo skip``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stoa.app.commands.registry import CommandContext, HeadlessContext, command, headless

if TYPE_CHECKING:
    from stoa.core.checkpoints import Checkpoints, UndoPlan
    from stoa.core.runtime import Runtime

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CHOICES = ("overwrite", "skip")
WHAT = ("both", "conversation", "files")


def _checkpoints(runtime: Runtime) -> Checkpoints | None:
    return runtime.checkpoints


def _conflict_text(plan: UndoPlan) -> str:
    from stoa.core.checkpoints.actions import conflict_lines

    count = len(plan.conflicts)
    head = f"{count} file{'s' if count != 1 else ''} changed after the turn, by you or another program:"
    return "\n".join([head, *conflict_lines(plan)])


async def _ask_conflicts(ctx: CommandContext, plan: UndoPlan) -> bool | None:
    """True: overwrite, False: skip those files, None: cancel."""
    from stoa.app.screens.checkpoints import UndoConflictScreen

    answer = await ctx.app.push_screen_wait(UndoConflictScreen(_conflict_text(plan)))
    return None if answer is None else answer == "overwrite"


# ---- /undo ----------------------------------------------------------------------------------


@command("undo", "Undo the last turn's file changes (again: the turn before)", args="[overwrite|skip]",
         while_busy=False)
async def _undo(ctx: CommandContext) -> None:
    from stoa.core.checkpoints.actions import apply, find_undo

    checkpoints = _checkpoints(ctx.runtime)
    choice = ctx.args.strip().lower()
    if checkpoints is None:
        ctx.error("checkpoints are not available in this session")
        return
    if choice and choice not in CHOICES:
        ctx.error(f"unknown argument {choice!r}", hint="/undo, /undo overwrite or /undo skip")
        return
    target = await find_undo(checkpoints)
    if target.plan is None:
        ctx.info("\n".join(target.lines))
        return
    overwrite: bool | None = choice == "overwrite"
    if target.plan.conflicts and not choice:
        overwrite = await _ask_conflicts(ctx, target.plan)
        if overwrite is None:
            ctx.info("Undo cancelled: nothing was changed.")
            return
    _, lines = await apply(ctx.runtime, checkpoints, target.plan, overwrite=bool(overwrite))
    ctx.screen.show_notice("info", "\n".join([*target.lines, *lines]), title="Undo")


@headless("undo")
async def _undo_headless(ctx: HeadlessContext) -> int:
    """``stoa -c -p "/undo"``: no model request; conflicts need "overwrite" or "skip"."""
    from stoa.core.checkpoints.actions import apply, find_undo

    checkpoints = _checkpoints(ctx.runtime)
    choice = ctx.args.strip().lower()
    if checkpoints is None:
        ctx.error("checkpoints are not available in this session")
        return EXIT_FAILED
    if choice and choice not in CHOICES:
        ctx.error(f"unknown argument {choice!r}", hint='stoa -c -p "/undo", "/undo overwrite" or "/undo skip"')
        return EXIT_USAGE
    target = await find_undo(checkpoints)
    if target.plan is None:
        for line in target.lines:
            ctx.info(line)
        return EXIT_OK
    if target.plan.conflicts and not choice:
        turn = target.plan.turns[0]
        ctx.error(
            f"not undoing turn {turn.number}: " + _conflict_text(target.plan),
            hint='stoa -c -p "/undo overwrite" puts back the turn\'s versions anyway; "/undo skip" leaves those '
            "files as they are and undoes the rest",
        )
        return EXIT_FAILED
    for line in target.lines:
        ctx.info(line)
    result, lines = await apply(ctx.runtime, checkpoints, target.plan, overwrite=choice == "overwrite")
    for line in lines:
        ctx.info(line)
    return EXIT_FAILED if result.failed else EXIT_OK


# ---- /rewind --------------------------------------------------------------------------------


@command("rewind", "Go back to one of your messages (conversation, files or both)", args="[N]",
         while_busy=False)
async def _rewind(ctx: CommandContext) -> None:
    from stoa.app.screens.checkpoints import RewindChoiceScreen, RewindPickerScreen

    checkpoints = _checkpoints(ctx.runtime)
    if checkpoints is None:
        ctx.error("checkpoints are not available in this session")
        return
    await checkpoints.load()
    turns = checkpoints.live_turns
    if not turns:
        ctx.info("Nothing to rewind: this conversation has no messages yet.")
        return
    number: int | None
    if ctx.args.strip():
        number = _turn_number(ctx.args.split()[0])
        if number is None or checkpoints.find(number) is None or not checkpoints.find(number).live:  # type: ignore[union-attr]
            ctx.error(f"no message {ctx.args.split()[0]!r} to go back to", hint="/rewind opens the list")
            return
    else:
        number = await ctx.app.push_screen_wait(RewindPickerScreen(turns))
        if number is None:
            return
    turn = checkpoints.find(number)
    assert turn is not None
    from stoa.core.checkpoints.actions import rewind_turns

    later = rewind_turns(checkpoints, turn)
    files = [t for t in later if t.undoable]
    what = await ctx.app.push_screen_wait(RewindChoiceScreen(turn, later, files_possible=bool(files)))
    if what is None:
        return
    await _do_rewind(ctx, checkpoints, number, what)


async def _do_rewind(ctx: CommandContext, checkpoints: Checkpoints, number: int, what: str) -> None:
    from stoa.core.checkpoints.actions import apply, plan_files, rewind_turns, tell_files_kept
    from stoa.core.sessions.rewind import RewindError, rewind_conversation

    turn = checkpoints.find(number)
    assert turn is not None
    lines: list[str] = []
    if what in ("files", "both"):
        plan, notes = await plan_files(checkpoints, turn)
        lines += notes
        if plan is not None:
            overwrite: bool | None = False
            if plan.conflicts:
                overwrite = await _ask_conflicts(ctx, plan)
                if overwrite is None:
                    ctx.info("Rewind cancelled: nothing was changed.")
                    return
            _, done = await apply(ctx.runtime, checkpoints, plan, overwrite=bool(overwrite), why="rewind")
            lines += done
        else:
            lines.append("No file changes to put back.")
    if what in ("conversation", "both"):
        try:
            await rewind_conversation(
                ctx.runtime,
                message_index=turn.message_index,
                block_offset=turn.block_offset,
                prompt=turn.prompt,
                record_seq=turn.record_seq,
                turn_number=turn.number,
            )
        except RewindError as exc:
            ctx.error(f"the conversation was not rewound: {exc}")
            if lines:
                ctx.screen.show_notice("info", "\n".join(lines), title="Rewind")
            return
        taken_back = rewind_turns(checkpoints, turn)
        await checkpoints.mark_rewound(taken_back)
        if what == "conversation":
            await tell_files_kept(ctx.runtime, taken_back)
        await ctx.screen.reload_log()
        ctx.screen.put_in_composer(turn.prompt)
        lines.append(
            f"The conversation is back to before your message “{turn.title}” (kept in the editor); "
            "what came after is archived in the session database."
        )
    ctx.screen.show_notice("info", "\n".join(lines), title="Rewind")


def _turn_number(text: str) -> int | None:
    try:
        return int(text.lstrip("#"))
    except ValueError:
        return None


@headless("rewind")
async def _rewind_headless(ctx: HeadlessContext) -> int:
    """``stoa -c -p "/rewind N [both|conversation|files] [overwrite|skip]"``; no N lists them."""
    from stoa.core.checkpoints.actions import apply, plan_files, rewind_turns, tell_files_kept
    from stoa.core.sessions.rewind import RewindError, rewind_conversation

    checkpoints = _checkpoints(ctx.runtime)
    if checkpoints is None:
        ctx.error("checkpoints are not available in this session")
        return EXIT_FAILED
    await checkpoints.load()
    words = ctx.args.lower().split()
    if not words:
        for turn in checkpoints.live_turns:
            ctx.info(f"{turn.number:>3}  {turn.title}  ({turn.summary()}{', undone' if turn.state == 'undone' else ''})")
        ctx.info('go back with stoa -c -p "/rewind N [both|conversation|files]"')
        return EXIT_OK
    number = _turn_number(words[0])
    found = checkpoints.find(number) if number is not None else None
    what = next((w for w in words[1:] if w in WHAT), "both")
    choice = next((w for w in words[1:] if w in CHOICES), "")
    if found is None or not found.live:
        ctx.error(f"no message {words[0]!r} to go back to", hint='stoa -c -p "/rewind" lists them')
        return EXIT_USAGE
    turn = found
    status = EXIT_OK
    if what in ("files", "both"):
        plan, notes = await plan_files(checkpoints, turn)
        for note in notes:
            ctx.info(note)
        if plan is not None:
            if plan.conflicts and not choice:
                ctx.error(
                    "nothing was rewound: " + _conflict_text(plan),
                    hint=f'add "overwrite" or "skip": stoa -c -p "/rewind {turn.number} {what} overwrite"',
                )
                return EXIT_FAILED
            result, lines = await apply(ctx.runtime, checkpoints, plan, overwrite=choice == "overwrite", why="rewind")
            for line in lines:
                ctx.info(line)
            status = EXIT_FAILED if result.failed else EXIT_OK
    if what in ("conversation", "both"):
        try:
            await rewind_conversation(
                ctx.runtime,
                message_index=turn.message_index,
                block_offset=turn.block_offset,
                prompt=turn.prompt,
                record_seq=turn.record_seq,
                turn_number=turn.number,
            )
        except RewindError as exc:
            ctx.error(f"the conversation was not rewound: {exc}")
            return EXIT_FAILED
        taken_back = rewind_turns(checkpoints, turn)
        await checkpoints.mark_rewound(taken_back)
        if what == "conversation":
            await tell_files_kept(ctx.runtime, taken_back)
        ctx.info(f"The conversation is back to before message {turn.number} (“{turn.title}”); the rest is archived.")
    return status


# ---- /diff ----------------------------------------------------------------------------------


async def _sections(runtime: Runtime) -> list:  # type: ignore[type-arg]
    import asyncio

    from stoa.core.checkpoints.diffs import DiffError, DiffSection, turn_sections, working_tree

    sections: list[DiffSection] = []
    try:
        sections.append(await asyncio.to_thread(working_tree, runtime.config.workspace))
    except DiffError as exc:
        sections.append(DiffSection(title="Working tree", diff="", notes=[str(exc)]))
    checkpoints = _checkpoints(runtime)
    if checkpoints is not None:
        await checkpoints.load()
        turns = await asyncio.to_thread(turn_sections, checkpoints)
        if not turns:
            sections.append(DiffSection(title="This session's turns", diff="", notes=["no turn changed files yet"]))
        sections += turns
    return sections


@command("diff", "Show the changes: the working tree's and each turn's")
async def _diff(ctx: CommandContext) -> None:
    from stoa.app.screens.checkpoints import DiffScreen

    sections = await _sections(ctx.runtime)
    await ctx.app.push_screen(DiffScreen(sections))


@headless("diff")
async def _diff_headless(ctx: HeadlessContext) -> int:
    from stoa.core.checkpoints.diffs import as_text

    ctx.info(as_text(await _sections(ctx.runtime)))
    return EXIT_OK


# ---- /review --------------------------------------------------------------------------------


@command("review", "Read-only review of the changes (or of a ref or range)",
         args="[REF|A..B] [focus]", while_busy=False)
async def _review(ctx: CommandContext) -> None:
    import asyncio

    from stoa.core.checkpoints.diffs import DiffError
    from stoa.core.checkpoints.review import REVIEW_MODE, NothingToReview, review_prompt

    try:
        request = await asyncio.to_thread(review_prompt, ctx.runtime.config.workspace, ctx.args)
    except (DiffError, NothingToReview) as exc:
        ctx.error(str(exc), hint="/review [REF|A..B] [focus]: e.g. /review, /review HEAD~3, /review main..HEAD")
        return
    await ctx.screen.start_turn(request.prompt, request.display, mode=REVIEW_MODE)


@headless("review")
async def _review_headless(ctx: HeadlessContext) -> int | str:
    import asyncio

    from stoa.core.checkpoints.diffs import DiffError
    from stoa.core.checkpoints.review import REVIEW_MODE, NothingToReview, review_prompt

    try:
        request = await asyncio.to_thread(review_prompt, ctx.runtime.config.workspace, ctx.args)
    except NothingToReview as exc:
        ctx.info(str(exc))
        return EXIT_OK
    except DiffError as exc:
        ctx.error(str(exc), hint='stoa -p "/review [REF|A..B] [focus]"')
        return EXIT_USAGE
    ctx.turn_mode = REVIEW_MODE
    return request.prompt
