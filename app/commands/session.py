"""/help, /clear, /resume and /exit: the commands of the conversation and the session."""

from __future__ import annotations

from stoa.app.commands.registry import CommandContext, HeadlessContext, command, headless


@command("help", "Show every key binding and command", aliases=("?",))
async def _help(ctx: CommandContext) -> None:
    from stoa.app.screens.help import HelpScreen

    await ctx.app.push_screen(HelpScreen(ctx.screen.commands))


@command("clear", "Start a new conversation (clears the log and the model's context)", aliases=("new",),
         while_busy=False)
async def _clear(ctx: CommandContext) -> None:
    await ctx.screen.new_conversation()


@command("resume", "Go back to a saved session (a picker, or /resume ID-PREFIX)", args="[id]", while_busy=False)
async def _resume(ctx: CommandContext) -> None:
    from stoa.app.screens.resume import choose_session
    from stoa.core.sessions import SessionLockedError, SessionStoreError, open_store, switch_to

    runtime = ctx.runtime
    try:
        store = await open_store(runtime)
        if ctx.args:
            session_id = (await store.resolve(ctx.args.strip())).id
        else:
            chosen = await choose_session(ctx.app, runtime)
            if chosen is None:
                return
            session_id = chosen
        if session_id == runtime.session_id:
            ctx.info("that is the session you are in")
            return
        try:
            handle = await switch_to(runtime, session_id)
        except SessionLockedError as exc:
            from stoa.app.screens.resume import offer_fork

            forked = await offer_fork(ctx.app, runtime, exc, decline="Stay in this session")
            if forked is None:
                ctx.info("staying in this session")
                return
            handle = forked
    except SessionStoreError as exc:
        ctx.error(str(exc), hint="/resume opens the list of saved sessions")
        return
    await ctx.screen.switch_session(handle)


@command("exit", "Quit Stoa", aliases=("quit", "q"))
def _exit(ctx: CommandContext) -> None:
    ctx.app.exit(0)


@headless("help")
async def _help_headless(ctx: HeadlessContext) -> int:
    """``stoa -p "/help"``: the commands that run from the shell."""
    from stoa.app.commands import builtin_registry
    from stoa.app.commands.custom import add_custom_commands

    ctx.info('Commands that run from the shell (stoa -p "/NAME ARGS"); any other text is sent as a prompt:')
    registry = builtin_registry()
    builtin = {cmd.name for cmd in registry}
    found = add_custom_commands(registry, ctx.runtime.config)
    for cmd in registry:
        if cmd.headless is not None and cmd.name in builtin:
            ctx.info(f"  {cmd.usage:<24} {cmd.description}")
    custom = [cmd for cmd in registry if cmd.name not in builtin]
    if custom:
        ctx.info("Custom commands (.stoa/commands, .claude/commands, the user's commands folder):")
        for cmd in custom:
            ctx.info(f"  {cmd.usage:<24} {cmd.description}")
    for unused in found.shadowed:
        ctx.info(f"  (not used: {unused.shown} names /{unused.name}, which is taken)")
    return 0
