"""The memory screens (``stoa.app.commands.memory``).

- ``MemoryScopeScreen``: where a ``#`` note goes: the project's file, the personal one, the
  global one, or send it as a message after all. Dismisses with the scope, "send", or None
  (Esc: the note goes back to the editor).
- ``MemoryListScreen``: ``/memory``: the memory files and the other instruction files the
  system prompt holds, with what is in them, and the warnings of the last read. Dismisses
  with the path to open, or None.
- ``MemoryEditorScreen``: the in-app editor for one file, when no ``$VISUAL``/``$EDITOR`` is
  set (or the terminal cannot be handed over). Ctrl+S saves (a failure says why and keeps the
  text); Esc closes, and with unsaved changes asks for a second Esc first. Dismisses with True
  when it saved.

Choices are made with the arrows and Enter (nothing is highlighted at first, so keys typed
ahead never choose), or with the digit shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePath

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option

from stoa.app.screens.questions import ChoiceQuestion
from stoa.core.memory import MemoryFile, file_state
from stoa.styles import STYLES

CSS: list[str | PurePath] = [STYLES / "pickers.tcss", STYLES / "memory.tcss"]
SCOPE_TITLES = {"project": "Project", "personal": "Personal", "global": "Global"}


class MemoryScopeScreen(ChoiceQuestion):
    """Where to save a ``#`` note (guarded against type-ahead: ``questions.ChoiceQuestion``)."""

    CSS_PATH = CSS
    LIST_ID = "scopes"

    def __init__(self, note: str, files: Sequence[MemoryFile], default: str) -> None:
        super().__init__()
        self.note = note
        self.files = list(files)
        self.default = default

    def compose(self) -> ComposeResult:
        width = max(len(f.label) for f in self.files) + 2
        first = self.note.splitlines()[0] if self.note else ""
        more = " …" if len(self.note.splitlines()) > 1 else ""
        options = [
            Option(
                Content.assemble(
                    (f"{n}  ", "dim"),
                    (f"{SCOPE_TITLES[f.scope]:<9}", "bold"),
                    (f"{f.label:<{width}}", ""),
                    (f.describe() + ("  (default)" if f.scope == self.default else ""), "dim"),
                ),
                id=f.scope,
            )
            for n, f in enumerate(self.files, start=1)
        ]
        options.append(
            Option(Content.assemble((f"{len(options) + 1}  ", "dim"), ("Send it to the model as a message instead", "")),
                   id="send")
        )
        with Vertical(id="memory-scope", classes="picker"):
            yield Static(Content.from_markup("[b]Remember this?[/b]"), classes="picker-title")
            yield Static(Content.assemble(("“", "dim"), (first + more, "bold"), ("”", "dim")), classes="memory-note")
            yield OptionList(*options, id="scopes")
            yield Static(
                f"↑↓ then Enter, or 1–{len(options)} · Esc: back to the editor", classes="picker-hint"
            )


class MemoryListScreen(ChoiceQuestion):
    """``/memory``: choose an instruction file to open (``questions.ChoiceQuestion``)."""

    CSS_PATH = CSS
    LIST_ID = "memory-files"

    def __init__(
        self,
        files: Sequence[MemoryFile],
        others: Sequence[tuple[str, Path, str]],
        warnings: Sequence[str],
        editor: str | None,
    ) -> None:
        super().__init__()
        self.files = list(files)
        self.others = list(others)
        self.warnings = list(warnings)
        self.editor = editor

    def compose(self) -> ComposeResult:
        options: list[Option] = []
        width = max([len(f.label) for f in self.files] + [len(label) for label, _, _ in self.others]) + 2
        for n, file in enumerate(self.files, start=1):
            options.append(
                Option(
                    Content.assemble(
                        (f"{n}  ", "dim"),
                        (f"{SCOPE_TITLES[file.scope]:<9}", "bold"),
                        (f"{file.label:<{width}}", ""),
                        (f"{file_state(file.path)} · {file.describe()}", "dim"),
                    ),
                    id=str(file.path),
                )
            )
        for label, path, scope in self.others:
            n = len(options) + 1
            options.append(
                Option(
                    Content.assemble(
                        (f"{n}  " if n < 10 else "   ", "dim"),
                        (f"{scope.capitalize():<9}", "bold"),
                        (f"{label:<{width}}", ""),
                        (f"{file_state(path)} · also in the system prompt", "dim"),
                    ),
                    id=str(path),
                )
            )
        how = f"opens in {self.editor}" if self.editor else "opens in Stoa's editor (set $EDITOR for your own)"
        with Vertical(id="memory-list", classes="picker"):
            yield Static(Content.from_markup("[b]Memory and instruction files[/b]"), classes="picker-title")
            yield OptionList(*options, id="memory-files")
            for warning in self.warnings:
                yield Static(f"⚠ {warning}", classes="picker-message", markup=False)
            yield Static(
                f"↑↓ then Enter, or a digit: {how} · Esc close · a message starting with # saves a note",
                classes="picker-hint",
            )


class MemoryEditorScreen(ModalScreen[bool]):
    """Edit one instruction file in a TextArea."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "close", "Close", priority=True),
    ]

    def __init__(self, path: Path, label: str) -> None:
        super().__init__()
        self.path = path
        self.label = label
        self.saved_text = ""
        self.saved = False
        self._discard_armed = False
        self.problem: str | None = None
        try:
            self.saved_text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            self.saved_text = ""
        except OSError as exc:
            self.problem = f"cannot read {label}: {exc.strerror or exc}"

    def compose(self) -> ComposeResult:
        with Vertical(id="memory-editor", classes="picker"):
            yield Static(Content.assemble(("Editing ", "bold"), (self.label, "bold"),
                                          ("  it applies from the next request once saved", "dim")),
                         classes="picker-title")
            yield TextArea(self.saved_text, id="memory-text", show_line_numbers=True, soft_wrap=True)
            yield Static(self.problem or "", id="memory-status", classes="picker-message", markup=False)
            yield Static("Ctrl+S save · Esc close", classes="picker-hint")

    def on_mount(self) -> None:
        area = self.query_one("#memory-text", TextArea)
        area.cursor_blink = getattr(self.app, "cursor_blink", True)
        area.focus()
        area.move_cursor(area.document.end)  # notes are usually added at the end

    @property
    def text(self) -> str:
        return self.query_one("#memory-text", TextArea).text

    def _status(self, text: str, kind: str = "") -> None:
        status = self.query_one("#memory-status", Static)
        status.update(text)
        status.set_class(kind == "error", "-error")
        status.set_class(kind == "ok", "-ok")

    def action_save(self) -> None:
        from stoa.core.memory import MemoryWriteError, save_file

        text = self.text
        try:
            save_file(self.path, self.label, text)
        except MemoryWriteError as exc:
            self._status(f"{exc}; your text is still here", "error")
            return
        self.saved_text = text
        self.saved = True
        self._discard_armed = False
        self._status(f"saved {self.label}", "ok")

    def action_close(self) -> None:
        if self.text != self.saved_text and not self._discard_armed:
            self._discard_armed = True
            self._status("unsaved changes: Esc again discards them, Ctrl+S saves", "error")
            return
        self.dismiss(self.saved)
