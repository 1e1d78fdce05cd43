"""The app's cursor-blink choice for text inputs built by screens (tests turn blinking off so
snapshots do not depend on when the half-second blink timer last fired)."""

from __future__ import annotations

from typing import TypeVar

from textual.app import App
from textual.widgets import Input, TextArea

W = TypeVar("W", Input, TextArea)


def follow_blink(widget: W, app: App[object]) -> W:
    """``widget`` set to blink as ``app.cursor_blink`` says; call before mounting it (while the
    blink timer does not exist yet, so a steady cursor stays visible once focused)."""
    widget.cursor_blink = bool(getattr(app, "cursor_blink", True))
    return widget
