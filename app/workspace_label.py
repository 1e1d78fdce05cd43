"""The workspace as the screen shows it: under the home folder as ~/..."""

from __future__ import annotations

from pathlib import Path


def shorten_path(path: Path, home: str | None) -> str:
    text = str(path)
    if home:
        home = home.rstrip("/")
        if text == home:
            return "~"
        if text.startswith(home + "/"):
            return "~" + text[len(home) :]
    return text
