"""/theme: how Stoa looks (``stoa.app.themes``)."""

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
