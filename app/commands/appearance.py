"""/theme and /vim: how Stoa looks (``stoa.app.themes``) and how its composer types."""

from __future__ import annotations

from stoa.app.commands.registry import CommandContext, command


@command("theme", "Choose the colour theme (a picker, or /theme NAME); saved for next time", args="[name]")
def _theme(ctx: CommandContext) -> None:
    name = ctx.args.strip()
    app = ctx.app
    if not name:
        app.search_themes()
        return
    if name not in app.available_themes:
        ctx.error(
            f"there is no theme {name!r}",
            hint="the choices: " + ", ".join(sorted(app.available_themes)),
        )
        return
    app.theme = name
    ctx.info(f"theme: {name} (saved to your config file)")


@command("vim", "Vim keys in the composer on or off (Esc: normal mode); saved for next time")
async def _vim(ctx: CommandContext) -> None:
    import asyncio

    from stoa.core.config import ConfigError, set_top_level_setting

    composer = ctx.screen.composer  # type: ignore[attr-defined]
    on = composer.vim is None
    composer.set_vim(on)
    path = ctx.runtime.config.paths.global_config
    try:
        await asyncio.to_thread(set_top_level_setting, path, "vim", on)
    except ConfigError as exc:
        ctx.error(f"vim mode is {'on' if on else 'off'} for now but not saved: {exc}")
        return
    ctx.info("vim mode on: Esc for normal mode, i to insert (saved)" if on else "vim mode off (saved)")
