"""Unified diffs for people: made for approval previews and tool rows, and counted.

The one owner of both, so the ``+3 −1`` a tool reports, the count a tool row shows and the
preview a person approves are computed the same way (core tools and the TUI's widgets alike).
"""

from __future__ import annotations

import difflib
import os
import re

from stoa.core.tools import caps


def unified_diff(old: str, new: str, display: str, *, before: str | None = None, after: str | None = None) -> str:
    """A unified diff for people (prompts, tool rows); "" when too large. ``before`` /
    ``after`` name the two sides when they are not ``a/display`` and ``b/display``."""
    if len(old) > caps.PREVIEW_MAX_BYTES or len(new) > caps.PREVIEW_MAX_BYTES:
        return ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=before if before is not None else (diff_name("a", display) if old else "/dev/null"),
        tofile=after if after is not None else diff_name("b", display),
        n=3,
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    text = "".join(out)
    if len(text) > caps.DIFF_DISPLAY_CHARS:
        text = text[: caps.DIFF_DISPLAY_CHARS] + "\n[... diff cut ...]\n"
    return text


def diff_name(side: str, display: str) -> str:
    """``a/src/x.py`` for a workspace path, the absolute path as it is for one outside."""
    return display if os.path.isabs(display) else f"{side}/{display}"


def diff_counts(diff: str) -> tuple[int, int]:
    """(added, removed) line counts of a unified diff (its ``+++``/``---`` headers not counted)."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


# ---- the two sides of a diff ------------------------------------------------------------------

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def diff_sides(diff: str, current: str | None, *, applied: bool) -> tuple[str | None, str] | None:
    """(old text, new text) of a unified diff. With ``current`` (the file's text now: the new
    side when ``applied``, else the old) the whole file on both sides; else the hunks only.
    The old text is None for a file the diff creates."""
    hunks = _parse(diff)
    if hunks is None:
        return None
    creates = "\n--- /dev/null" in "\n" + diff
    if current is not None:
        other = _apply(current, hunks, reverse=applied)
        if other is not None:
            old, new = (other, current) if applied else (current, other)
            return (None if creates else old), new
    old_parts = ["".join(h.old) for h in hunks]
    new_parts = ["".join(h.new) for h in hunks]
    return (None if creates else "\n…\n".join(old_parts)), "\n…\n".join(new_parts)


class _Hunk:
    def __init__(self, old_start: int, new_start: int) -> None:
        self.old_start = old_start
        self.new_start = new_start
        self.old: list[str] = []
        self.new: list[str] = []


def _parse(diff: str) -> list[_Hunk] | None:
    hunks: list[_Hunk] = []
    current: _Hunk | None = None
    last: list[list[str]] = []
    for line in diff.splitlines(keepends=True):
        match = _HUNK.match(line)
        if match:
            current = _Hunk(int(match.group(1)), int(match.group(3)))
            hunks.append(current)
            continue
        if current is None or (line.startswith(("---", "+++")) and not current.old and not current.new):
            continue
        if line.startswith("\\"):
            for side in last:  # "\ No newline at end of file": the line before has no newline
                if side and side[-1].endswith("\n"):
                    side[-1] = side[-1][:-1]
            continue
        body = line[1:]
        if line.startswith(" "):
            current.old.append(body)
            current.new.append(body)
            last = [current.old, current.new]
        elif line.startswith("-"):
            current.old.append(body)
            last = [current.old]
        elif line.startswith("+"):
            current.new.append(body)
            last = [current.new]
    return hunks or None


def _apply(text: str, hunks: list[_Hunk], *, reverse: bool) -> str | None:
    """Apply the hunks to ``text`` (new -> old when ``reverse``); None when they do not fit."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    at = 0
    for hunk in hunks:
        start = (hunk.new_start if reverse else hunk.old_start) - 1
        expect, put = (hunk.new, hunk.old) if reverse else (hunk.old, hunk.new)
        if not expect:
            start += 1  # an empty side's start names the line before it
        if start < at or lines[start : start + len(expect)] != expect:
            return None
        out += lines[at:start]
        out += put
        at = start + len(expect)
    out += lines[at:]
    return "".join(out)
