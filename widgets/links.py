"""Links in rendered replies: URLs become OSC 8 hyperlinks (the terminal opens them: click, or
Ctrl/Cmd+click), ``path:line`` references become clickable, running the app's ``open_path``
action (``$EDITOR`` at that line). Applied to rendered lines (``widgets/markdown_view.py``);
text that already links (a Markdown link) is left alone."""

from __future__ import annotations

import re

from rich.segment import Segment
from rich.style import Style

URL = re.compile(r"https?://[^\s<>()\[\]{}\"'`]+")
# src/app.py:12 or app.py:12:5 (a name with an extension, a line number): not inside a URL.
PATH_LINE = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w-][\w.-]*\.[A-Za-z][A-Za-z0-9]{0,7}):(\d+)(?::\d+)?")
_TRAILING = ".,;:!?"


def _spans(text: str) -> list[tuple[int, int, Style]]:
    found: list[tuple[int, int, Style]] = []
    if "://" in text:
        for match in URL.finditer(text):
            url = match.group(0).rstrip(_TRAILING)
            found.append((match.start(), match.start() + len(url), Style(link=url)))
    if ":" in text:
        taken = [(a, b) for a, b, _ in found]
        for match in PATH_LINE.finditer(text):
            if any(a <= match.start() < b for a, b in taken):
                continue
            path, line = match.group(1), int(match.group(2))
            action = f"app.open_path({path!r}, {line})"
            found.append((match.start(), match.end(), Style(meta={"@click": action})))
    return sorted(found, key=lambda span: span[0])


def linkify(line: list[Segment]) -> list[Segment]:
    """One rendered line with its URLs and path:line references made links."""
    out: list[Segment] = []
    changed = False
    for segment in line:
        text, style, control = segment
        if control or not text or (style is not None and (style.link or style.meta)):
            out.append(segment)
            continue
        spans = _spans(text)
        if not spans:
            out.append(segment)
            continue
        changed = True
        position = 0
        for start, end, extra in spans:
            if start < position:
                continue
            if start > position:
                out.append(Segment(text[position:start], style))
            out.append(Segment(text[start:end], (style or Style()) + extra))
            position = end
        if position < len(text):
            out.append(Segment(text[position:], style))
    return out if changed else line
