"""Themes: Textual's own, plus Stoa's high-contrast one; ``theme = "NAME"`` in config.toml (or
``/theme NAME``, or the picker of ``/theme``) picks one, and a change is saved to the user's
config file so the next start uses it. Code blocks and diffs take their colours from the theme
(``widgets/markdown_view.py``, ``widgets/diff_view.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.theme import Theme

HIGH_CONTRAST = Theme(
    name="stoa-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FF66FF",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#202020",
    boost="#303030",
    success="#00FF00",
    warning="#FFD700",
    error="#FF4444",
    dark=True,
    variables={"block-cursor-background": "#FFFF00", "block-cursor-foreground": "#000000"},
)


def install(app: Any) -> str | None:
    """Register Stoa's themes and apply the configured one. Returns a warning for a name that
    is no theme (the default stays)."""
    app.register_theme(HIGH_CONTRAST)
    wanted = app.config.settings.theme
    if not wanted:
        return None
    if wanted not in app.available_themes:
        return f"theme = {wanted!r} in the config is not a theme; the choices: {', '.join(sorted(app.available_themes))}"
    app.theme = wanted
    return None


def follow(app: Any) -> None:
    """From now on, save each theme change to the user's config file."""

    def changed(name: str) -> None:
        app.run_worker(save(app, name), group="theme", exclusive=True)

    app.watch(app, "theme", changed, init=False)


async def save(app: Any, name: str) -> None:
    from stoa.core.config import ConfigError, set_top_level_setting

    path = app.config.paths.global_config
    try:
        await asyncio.to_thread(set_top_level_setting, path, "theme", name)
    except ConfigError as exc:
        app.chat.show_notice("warning", f"the theme {name} is used for now but not saved: {exc}")
