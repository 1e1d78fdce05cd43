"""The ``@`` picker of the composer: a fuzzy list of the workspace's files and folders.

Typing ``@`` at the start of a word opens it; the characters typed after it filter (fuzzy: in
order, the file name first); Up/Down choose, Tab or Enter complete (a folder completes to
``@dir/`` and the list goes on inside it, a file to ``@path`` and a space), Esc closes. The
candidates come from a callable the screen gives (``stoa.core.mentions.workspace_files``: the
gitignore-aware walk, deny-ruled files left out); the ranking is ``rank_paths``.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

# The @word the cursor is in: at the start of a line or after a space; "@" plus what is typed.
_AT_WORD = re.compile(r'(?:^|(?<=[\s(\["\']))@("?)([^\s"]*)$')


def mention_query(before_cursor: str) -> tuple[int, str] | None:
    """(column of the ``@``, the query after it) when the cursor ends an ``@word``; else None."""
    match = _AT_WORD.search(before_cursor)
    if match is None:
        return None
    return match.start(), match.group(2)


class MentionList(OptionList):
    """The list of candidate paths shown above the prompt."""

    DEFAULT_CSS = """
    MentionList {
        display: none;
        height: auto;
        max-height: 10;
        border: round $secondary 70%;
        background: $surface;
        padding: 0;
    }
    MentionList.-visible {
        display: block;
    }
    """

    MAX_SHOWN = 50

    def __init__(self) -> None:
        super().__init__(id="mention-list")
        self.can_focus = False
        self.paths: list[str] = []
        # The @word the shown paths were ranked for.
        self.ranked_for: str | None = None
        self.loading = False

    def show_paths(self, paths: list[str], query: str) -> None:
        self.paths = paths
        self.ranked_for = query
        self.clear_options()
        if not paths:
            note = "reading the workspace…" if self.loading else f"no file matches @{query}"
            self.add_option(Option(Text(note, style="dim italic"), disabled=True))
            self.highlighted = None
        for path in paths:
            label = Text()
            folder, _, name = path.rstrip("/").rpartition("/")
            if folder:
                label.append(folder + "/", style="dim")
            label.append(name + ("/" if path.endswith("/") else ""), style="bold")
            self.add_option(Option(label, id=None))
        if paths:
            self.highlighted = 0
        self.set_class(True, "-visible")

    def hide(self) -> None:
        self.paths = []
        self.set_class(False, "-visible")

    @property
    def is_open(self) -> bool:
        return self.has_class("-visible")

    @property
    def current(self) -> str | None:
        if self.highlighted is None or not self.paths or self.highlighted >= len(self.paths):
            return None
        return self.paths[self.highlighted]
