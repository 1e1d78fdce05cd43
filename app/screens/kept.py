"""Screens kept between opens: the pickers and the key manager are made the first time they
are asked for and shown again after that, so a warm open costs what showing them costs (styles,
one layout, one paint) and not composing, mounting and styling every widget again (about half
of what the first frame of the model picker cost).

``kept_screen(app, name, make)`` returns the screen installed under ``name``, making and
installing it with ``make()`` the first time; the caller gives it the data of this open
(each kept screen has a method for that) and pushes it. A screen that is on the stack already
(the key manager opened from the model picker while another key manager is up) cannot be
pushed twice: then a fresh one is made and used for that open only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual.screen import Screen

S = TypeVar("S", bound=Screen[Any])


def kept_screen(app: Any, name: str, make: Callable[[], S], kind: type[S]) -> tuple[S, bool]:
    """(the screen, whether it was made just now)."""
    if app.is_screen_installed(name):
        screen = app.get_screen(name)
        if isinstance(screen, kind) and screen not in app.screen_stack:
            return screen, False
        return make(), True
    screen = make()
    app.install_screen(screen, name)
    return screen, True
