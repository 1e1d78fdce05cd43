"""Unified diffs for people: made for approval previews and tool rows, and counted.

The one owner of both, so the ``+3 −1`` a tool reports, the count a tool row shows and the
preview a person approves are computed the same way (core tools and the TUI's widgets alike).
"""

from __future__ import annotations

import difflib
import os

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
