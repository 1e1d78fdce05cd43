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


# ---- per-tool limits (the model-facing side; the UI may show more) ---------------------------

# list_directory: entries listed per call.
LIST_MAX_ENTRIES = 1_000
# read_file: files larger than this are refused unless offset/limit pick a part.
READ_MAX_BYTES = 10 * 1024 * 1024
# read_file: characters kept per line (minified files); the rest is marked as cut.
READ_LINE_CHARS = 2_000
# glob_files: paths returned per call (newest first).
GLOB_MAX_RESULTS = 500
# search_code: matching lines returned per call, and characters kept per matching line.
SEARCH_MAX_MATCHES = 400
SEARCH_LINE_CHARS = 300
# Seconds a glob_files / search_code call may walk before it is stopped (huge trees, slow disks).
SEARCH_TIMEOUT = 60.0
# Files larger than this are skipped by the pure-Python search fallback.
SEARCH_FALLBACK_MAX_FILE_BYTES = 4 * 1024 * 1024
# web_fetch: raw body bytes read, seconds to connect, seconds for the whole fetch, redirects.
WEB_MAX_BYTES = 5 * 1024 * 1024
WEB_CONNECT_TIMEOUT = 10.0
WEB_TOTAL_TIMEOUT = 30.0
WEB_MAX_REDIRECTS = 5
# view_image: largest file accepted, longest side sent, largest encoded image sent.
IMAGE_MAX_FILE_BYTES = 20 * 1024 * 1024
IMAGE_MAX_SIDE = 2048
IMAGE_MAX_SEND_BYTES = 3_750_000  # base64 of this stays under the providers' 5 MB per image
# Diffs computed for approval previews and UI displays only for files up to this size.
PREVIEW_MAX_BYTES = 2 * 1024 * 1024
# Characters of diff text kept for the UI display and approval preview.
DIFF_DISPLAY_CHARS = DISPLAY_CHARS


def cap_lines(
    lines: list[str], limit_chars: int = MODEL_OUTPUT_CHARS, *, reserve: int = 200
) -> tuple[list[str], int]:
    """Keep whole lines from the start while they fit in ``limit_chars - reserve``.

    Returns (kept lines, number of lines dropped). Used where a head-and-tail cut would be
    misleading (line-numbered files, search hits): the caller adds a note on how to get more.
    """
    budget = max(limit_chars - reserve, 0)
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + 1
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    return kept, len(lines) - len(kept)


def cap_line(line: str, limit: int) -> str:
    """One line cut to ``limit`` characters, with a note of how many were cut."""
    if len(line) <= limit:
        return line
    return f"{line[:limit]}… [{len(line) - limit:,} more characters on this line]"
