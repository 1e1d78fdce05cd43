"""Whether a message is a ``!command`` (the person's own shell line; ``passthrough`` runs it).

Kept apart from ``passthrough`` so a front end can tell without importing the agent: the TUI
asks as the person presses Enter, possibly before the runtime is built, and importing the
agent's modules on the event loop there froze the screen for ~100 ms.
"""

from __future__ import annotations

PREFIX = "!"


def shell_line(text: str) -> str | None:
    """The command of a ``!command`` message (None: not one, or nothing after the ``!``)."""
    if not text.startswith(PREFIX) or text.startswith(PREFIX * 2):
        return None
    command = text[len(PREFIX) :].strip()
    return command or None
