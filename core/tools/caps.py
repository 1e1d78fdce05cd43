"""Output caps, in one place: how much of a tool's output goes back to the model.

What the UI shows may be longer; what the model receives is cut here, with a note saying how
much was cut and how to get more. Nothing here ever touches what a tool writes to disk.
"""

from __future__ import annotations

# Characters of tool output the model receives per call.
MODEL_OUTPUT_CHARS = 30_000
# Lines of read_file output per call when no limit is given.
READ_DEFAULT_LINES = 2_000
# Characters of UI display text kept per call (the UI may collapse it further).
DISPLAY_CHARS = 200_000


def cap_text(text: str, limit: int = MODEL_OUTPUT_CHARS, *, how_to_get_more: str = "") -> str:
    """Cut ``text`` to ``limit`` characters (head and tail kept), with a note of what was cut."""
    if len(text) <= limit:
        return text
    head = int(limit * 0.8)
    tail = limit - head
    cut = len(text) - head - tail
    note = f"\n\n[... {cut:,} characters cut of {len(text):,}"
    note += f"; {how_to_get_more}" if how_to_get_more else ""
    note += " ...]\n\n"
    return text[:head] + note + (text[-tail:] if tail > 0 else "")
