"""A coloured unified diff with old/new line numbers."""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
# The header lines git puts before a file's hunks (``git diff`` of several files).
_GIT_HEADERS = (
    "diff --git ",
    "index ",
    "new file mode ",
    "deleted file mode ",
    "old mode ",
    "new mode ",
    "similarity index ",
    "rename from ",
    "rename to ",
    "Binary files ",
)


def render_diff(
    diff: str,
    *,
    added: Style,
    removed: Style,
    hunk: Style,
    gutter: Style,
    max_lines: int | None = None,
    numbers: bool = True,
) -> Text:
    """Render a unified diff as Rich text: ``old new │ ±line``, hunks and file headers dimmed.
    ``numbers=False`` for text that is diff-like but has no line numbers (an apply_patch patch:
    its ``***`` headers and ``@@`` lines are shown as hunks, no gutter)."""
    if not numbers:
        return _render_unnumbered(diff, added=added, removed=removed, hunk=hunk, gutter=gutter, max_lines=max_lines)
    lines = diff.splitlines()
    old = new = 0
    width = max(3, len(str(_max_line_number(lines))))
    out = Text(no_wrap=False, end="")
    shown = 0
    in_header = False
    for line in lines:
        if max_lines is not None and shown >= max_lines:
            rest = len(lines) - shown
            out.append(f"… {rest} more diff line{'s' if rest != 1 else ''}\n", style=gutter)
            break
        shown += 1
        if line.startswith("diff --git "):
            in_header = True  # a new file: its header runs to its first hunk
        if in_header and line.startswith(_GIT_HEADERS):
            out.append(line + "\n", style=hunk if line.startswith("diff --git ") else gutter)
            continue
        if line.startswith(("---", "+++")):
            out.append(line + "\n", style=hunk)
            continue
        match = _HUNK.match(line)
        if match:
            in_header = False
            old, new = int(match.group(1)), int(match.group(3))
            out.append(line + "\n", style=hunk)
            continue
        if line.startswith("+"):
            out.append(f"{'':>{width}} {new:>{width}} ", style=gutter)
            out.append(line + "\n", style=added)
            new += 1
        elif line.startswith("-"):
            out.append(f"{old:>{width}} {'':>{width}} ", style=gutter)
            out.append(line + "\n", style=removed)
            old += 1
        elif line.startswith("\\"):
            out.append(line + "\n", style=gutter)
        else:
            out.append(f"{old:>{width}} {new:>{width}} ", style=gutter)
            out.append(line + "\n")
            old += 1
            new += 1
    out.rstrip()
    return out


def _render_unnumbered(
    diff: str, *, added: Style, removed: Style, hunk: Style, gutter: Style, max_lines: int | None
) -> Text:
    lines = diff.splitlines()
    out = Text(no_wrap=False, end="")
    for shown, line in enumerate(lines):
        if max_lines is not None and shown >= max_lines:
            rest = len(lines) - shown
            out.append(f"… {rest} more diff line{'s' if rest != 1 else ''}\n", style=gutter)
            break
        if line.startswith(("***", "@@", "---", "+++")):
            style = hunk
        elif line.startswith("+"):
            style = added
        elif line.startswith("-"):
            style = removed
        else:
            style = Style()
        out.append(line + "\n", style=style)
    out.rstrip()
    return out


def _max_line_number(lines: list[str]) -> int:
    top = 0
    for line in lines:
        match = _HUNK.match(line)
        if match:
            top = max(
                top,
                int(match.group(1)) + int(match.group(2) or 1),
                int(match.group(3)) + int(match.group(4) or 1),
            )
    return top


class DiffView(Static):
    """A unified diff, coloured with the theme's success/error colours."""

    COMPONENT_CLASSES = {"diff--added", "diff--removed", "diff--hunk", "diff--gutter"}

    DEFAULT_CSS = """
    DiffView {
        height: auto;
        padding: 0 1;
    }
    DiffView > .diff--added {
        color: $text-success;
        background: $success 15%;
    }
    DiffView > .diff--removed {
        color: $text-error;
        background: $error 15%;
    }
    DiffView > .diff--hunk {
        color: $text-accent;
    }
    DiffView > .diff--gutter {
        color: $text-muted;
    }
    """

    def __init__(
        self, diff: str, *, max_lines: int | None = 400, classes: str | None = None, numbers: bool = True
    ) -> None:
        super().__init__(classes=classes, markup=False)
        self.diff = diff
        self.max_lines = max_lines
        self.numbers = numbers

    def on_mount(self) -> None:
        self.update(
            render_diff(
                self.diff,
                added=self.get_component_rich_style("diff--added"),
                removed=self.get_component_rich_style("diff--removed"),
                hunk=self.get_component_rich_style("diff--hunk"),
                gutter=self.get_component_rich_style("diff--gutter"),
                max_lines=self.max_lines,
                numbers=self.numbers,
            )
        )
