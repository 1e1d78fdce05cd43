"""Fixes to Textual applied when the app is made (each says what it fixes and how to drop it).

``free_removed_widgets``: Textual's ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a
method, so its key holds the ``StylesCache`` instance: every widget that drew a line keeps its
whole line cache (its Strips) alive after it is removed, up to 1,024 widgets
(Textualize/textual#6665, open in 8.2.8). A picker opened and closed left about 1,100 objects
behind (the resume picker about 4,900; a chat's rows likewise). The function only maps two
colours to two styles, so it is cached here on the colours alone. Drop this when Textual's
own cache no longer takes the instance.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_applied = False


def free_removed_widgets() -> None:
    """Cache ``StylesCache.get_inner_outer`` on its colours only. Idempotent."""
    global _applied
    if _applied:
        return
    from textual._styles_cache import StylesCache

    original: Any = StylesCache.get_inner_outer
    compute = getattr(original, "__wrapped__", None)
    if compute is None or not hasattr(original, "cache_clear"):
        _applied = True  # Textual changed it: nothing of ours to fix
        return

    @lru_cache(1024)
    def by_colours(base_background: Any, background: Any) -> Any:
        return compute(None, base_background, background)

    def get_inner_outer(self: Any, base_background: Any, background: Any) -> Any:
        return by_colours(base_background, background)

    original.cache_clear()  # what it holds already
    setattr(StylesCache, "get_inner_outer", get_inner_outer)  # noqa: B010 (a private method)
    _applied = True
