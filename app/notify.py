"""Notifications while the terminal is not focused: a turn ended, a permission prompt opened.

The terminal reports focus (Textual turns focus reporting on; ``App.app_focus``). When it is not
focused, Stoa rings the bell or sends a desktop notification escape, as ``[notifications]
method`` says: ``auto`` (OSC 777 in terminals known to show it, OSC 9 in the others that do, else
the bell), ``bell``, ``osc9``, ``osc777`` or ``off``. Nothing is sent while the terminal has focus.
"""

from __future__ import annotations

from typing import Any

METHODS = ("auto", "bell", "osc9", "osc777", "off")
TURN_ENDED = {
    "finished": "the agent is done: your turn",
    "failed": "the turn failed",
    "interrupted": "the turn was interrupted",
    "stopped": "the turn stopped after your no",
}
# Terminals that show OSC 9 / OSC 777 notifications ($TERM_PROGRAM, or $TERM for kitty/foot).
_OSC9 = ("iTerm.app", "WezTerm", "ghostty", "xterm-kitty", "vscode")
_OSC777 = ("foot", "xterm-ghostty", "rxvt-unicode", "konsole")


def method_for(config: Any) -> str:
    """The configured method (an unknown value is ``auto``: the config loader warned about it)."""
    value = "auto"
    for _layer, table in config.section("notifications") if config is not None else []:
        if isinstance(table, dict) and "method" in table:
            value = str(table["method"]).lower()
    return value if value in METHODS else "auto"


def sequence(method: str, title: str, body: str, env: dict[str, str]) -> str:
    """The bytes to write for ``method`` (``auto`` resolved with the terminal's variables)."""
    if method == "auto":
        program = env.get("TERM_PROGRAM", "")
        term = env.get("TERM", "")
        if program in _OSC777 or term in _OSC777:
            method = "osc777"
        elif program in _OSC9 or term in _OSC9:
            method = "osc9"
        else:
            method = "bell"
    title = _clean(title)
    body = _clean(body)
    if method == "osc9":
        return f"\x1b]9;{title}: {body}\x07"
    if method == "osc777":
        return f"\x1b]777;notify;{title};{body}\x07"
    if method == "bell":
        return "\x07"
    return ""


def _clean(text: str) -> str:
    """No control characters (an escape inside would end the sequence early) and no ';'."""
    return "".join(c for c in text if c.isprintable()).replace(";", ",")[:200]


def notify_if_away(app: Any, title: str, body: str) -> bool:
    """Tell the person, if the terminal is not focused. True when something was sent."""
    if getattr(app, "app_focus", True):
        return False
    runtime = getattr(app, "runtime", None)
    config = getattr(runtime, "config", None)
    method = method_for(config)
    if method == "off":
        return False
    env = dict(getattr(config, "env", {}) or {})
    data = sequence(method, title, body, env)
    if not data:
        return False
    # What was sent, in order (the app's record of it; a headless test app has no terminal).
    app.notifications_sent = [*getattr(app, "notifications_sent", []), data]
    driver = getattr(app, "_driver", None)
    if driver is not None and not getattr(app, "is_headless", False):
        driver.write(data)
    return True
