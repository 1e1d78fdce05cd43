"""The composer: a multi-line prompt editor with history, slash completion and paste folding.

Keys: Enter sends; Shift+Enter, Alt+Enter and Ctrl+J insert a newline (many terminals send
the same bytes for Enter and Shift+Enter, so the last two always work); Ctrl+U / Ctrl+W /
Ctrl+K delete to line start / previous word / line end; Up on the first line and Down on the
last walk the prompt history (the draft is kept and comes back); Ctrl+R searches it (typed text
filters, Enter takes the match, Esc cancels). A leading ``/`` opens the
inline list of slash commands: Up/Down choose, Enter runs, Tab completes, Esc closes. Pasted
line ends (terminals send CR) become LF; a paste longer than ``PASTE_FOLD_CHARS`` shows as a
one-line placeholder counting its lines, and the full text is sent.

``@`` at the start of a word opens the file picker (``widgets/mention_list.py``); Ctrl+V asks the
screen to paste the clipboard's image (``ImagePasteRequested``) and a pasted image path becomes
an ``[Image #N]`` marker (``attach_image``); while the agent works, Tab sends a message for after
the turn (``Submitted.lane == "next"``) and Ctrl+X takes every queued message back; ``set_vim``
turns on vim keys (``widgets/vim.py``).

The composer knows nothing about the agent: it posts ``Composer.Submitted`` and asks callables
for the slash commands, the picker's candidates, a pasted image's marker and the queue.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option

from stoa.widgets.mention_list import MentionList, mention_query
from stoa.widgets.vim import VimState

PASTE_FOLD_CHARS = 500
NEWLINE_KEYS = frozenset({"shift+enter", "alt+enter", "ctrl+j", "newline"})
_PLACEHOLDER = re.compile(r"\[Pasted text #\d+ · [\d,]+ chars(?: · [\d,]+ lines)?\]")


def normalize_line_ends(text: str) -> str:
    """CRLF and lone CR as LF: bracketed pastes arrive with CR line ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class SlashItem:
    """One entry of the inline slash list (what the command registry exposes)."""

    name: str
    description: str
    args: str = ""
    aliases: tuple[str, ...] = ()


def match_slash(items: Sequence[SlashItem], query: str) -> list[SlashItem]:
    """Commands whose name (or alias) starts with the query, then those that contain it."""
    query = query.lower()
    starts = [i for i in items if i.name.startswith(query) or any(a.startswith(query) for a in i.aliases)]
    contains = [i for i in items if i not in starts and query in i.name]
    return starts + contains


class SlashList(OptionList):
    """The inline list of slash commands shown above the prompt."""

    DEFAULT_CSS = """
    SlashList {
        display: none;
        height: auto;
        max-height: 10;
        border: round $primary 60%;
        background: $surface;
        padding: 0;
    }
    SlashList.-visible {
        display: block;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="slash-list")
        self.can_focus = False
        self.items: list[SlashItem] = []

    def show_items(self, items: list[SlashItem]) -> None:
        self.items = items
        self.clear_options()
        width = max((len(i.name) + len(i.args) + 2 for i in items), default=0)
        for item in items:
            label = Text()
            label.append(f"/{item.name}", style="bold")
            if item.args:
                label.append(f" {item.args}", style="italic")
            label.pad_right(max(0, width - label.cell_len + 2))
            label.append(item.description, style="dim")
            self.add_option(Option(label, id=item.name))
        self.highlighted = 0 if items else None
        self.set_class(bool(items), "-visible")

    def hide(self) -> None:
        self.items = []
        self.set_class(False, "-visible")

    @property
    def is_open(self) -> bool:
        return self.has_class("-visible")

    @property
    def current(self) -> SlashItem | None:
        if self.highlighted is None or not self.items:
            return None
        return self.items[self.highlighted]


def search_history(history: Sequence[str], query: str) -> list[str]:
    """Prompts containing ``query`` (case-insensitive), newest first, each once."""
    needle = query.casefold()
    seen: set[str] = set()
    found: list[str] = []
    for entry in reversed(history):
        if entry in seen or needle not in entry.casefold():
            continue
        seen.add(entry)
        found.append(entry)
    return found


class HistorySearch(Vertical):
    """Ctrl+R: search the prompt history. Typed text filters (newest match first), Up/Down or
    Ctrl+R move through the matches, Enter takes the highlighted one into the editor, Esc
    cancels and leaves the editor as it was."""

    DEFAULT_CSS = """
    HistorySearch {
        display: none;
        height: auto;
        border: round $accent 60%;
        background: $surface;
        padding: 0;
    }
    HistorySearch.-visible {
        display: block;
    }
    HistorySearch > #history-query {
        height: 1;
        padding: 0 1;
    }
    HistorySearch > #history-matches {
        height: auto;
        max-height: 8;
        border: none;
        padding: 0 1;
        background: $surface;
    }
    """

    MAX_SHOWN = 200

    def __init__(self) -> None:
        super().__init__(id="history-search")
        self.search_text = ""
        self.history: Sequence[str] = ()
        self.matches: list[str] = []
        self._header = Static("", id="history-query")
        self._list = OptionList(id="history-matches")
        self._list.can_focus = False

    def compose(self) -> ComposeResult:
        yield self._header
        yield self._list

    @property
    def is_open(self) -> bool:
        return self.has_class("-visible")

    @property
    def current(self) -> str | None:
        index = self._list.highlighted
        if index is None or not self.matches:
            return None
        return self.matches[index]

    def open(self, history: Sequence[str]) -> None:
        self.history = history
        self.search_text = ""
        self.set_class(True, "-visible")
        self.refresh_matches()

    def close(self) -> None:
        self.set_class(False, "-visible")
        self.matches = []
        self._list.clear_options()

    def set_query(self, query: str) -> None:
        self.search_text = query
        self.refresh_matches()

    def move(self, step: int) -> None:
        """+1: an older match, -1: a newer one."""
        if not self.matches:
            return
        index = self._list.highlighted or 0
        self._list.highlighted = max(0, min(len(self.matches) - 1, index + step))

    def refresh_matches(self) -> None:
        self.matches = search_history(self.history, self.search_text)[: self.MAX_SHOWN]
        self._list.clear_options()
        for entry in self.matches:
            self._list.add_option(Option(self._label(entry)))
        self._list.highlighted = 0 if self.matches else None
        header = Text.assemble(("history search: ", "bold"), (self.search_text, "reverse"), " ")
        if not self.matches:
            header.append("no match", style="dim italic")
        header.append("  Enter takes it · Esc cancels · Ctrl+R older", style="dim")
        self._header.update(header)

    def _label(self, entry: str) -> Text:
        """One line per match: the line where the query is (the first line when it is there or
        the query is empty), the match in bold, and how many more lines the prompt has."""
        lines = entry.splitlines() or [""]
        needle = self.search_text.casefold()
        index = next((i for i, line in enumerate(lines) if needle in line.casefold()), 0)
        line = lines[index]
        label = Text("… " if index else "", style="dim")
        start = line.casefold().find(needle) if needle else -1
        if start >= 0:
            label.append(line[:start])
            label.append(line[start : start + len(needle)], style="bold underline")
            label.append(line[start + len(needle) :])
        else:
            label.append(line)
        if len(lines) > 1:
            label.append(f"  ({len(lines)} lines)", style="dim")
        label.truncate(400)
        return label


class PromptInput(TextArea):
    """The text editor of the composer; key handling lives here, state in ``Composer``."""

    BINDINGS = [
        Binding("ctrl+k", "delete_to_end_of_line", "Delete to line end", show=False),
        Binding("ctrl+d", "ctrl_d", "Delete right / quit", show=False),
    ]

    def __init__(self, composer: Composer) -> None:
        super().__init__(
            id="prompt",
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            highlight_cursor_line=False,
        )
        self.composer = composer

    async def _on_key(self, event: events.Key) -> None:
        if self.composer.vim_key(event.key, event.character):
            event.stop()
            event.prevent_default()
            return
        if self.composer.handle_prompt_key(event.key, event.character):
            event.stop()
            event.prevent_default()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        # The editor's own key bindings (Ctrl+U, Ctrl+W, Backspace, arrows, ...) run here, in
        # order with the typing around them. Left to Textual, a bound key runs only once its event
        # has bubbled up to the app, after the keys typed next were already inserted: text typed
        # quickly after Ctrl+U was deleted by it.
        bindings = self._bindings.key_to_bindings.get(event.key)
        if bindings:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)
        # Anything else: TextArea's own _on_key runs next (Textual dispatches along the MRO).

    async def _on_paste(self, event: events.Paste) -> None:
        if self.read_only:
            return
        event.stop()
        event.prevent_default()
        search = self.composer.history_search
        if search.is_open:  # a paste while searching is search text (its first line)
            search.set_query(search.search_text + (normalize_line_ends(event.text).split("\n")[0]))
            return
        self.composer.insert_paste(event.text)

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.cursor_at_first_line and self.composer.history_back():
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self.cursor_at_last_line and self.composer.history_forward():
            return
        super().action_cursor_down(select)

    def action_ctrl_d(self) -> None:
        if not self.text:
            self.composer.post_message(Composer.QuitRequested())
            return
        self.action_delete_right()


class Composer(Vertical):
    """Slash list + prompt editor."""

    DEFAULT_CSS = """
    Composer {
        height: auto;
    }
    Composer > #prompt {
        height: auto;
        min-height: 1;
        max-height: 12;
        border: round $foreground 30%;
        padding: 0 1;
    }
    Composer > #prompt:focus {
        border: round $primary;
    }
    Composer > #prompt.-busy:focus {
        border: round $accent;
    }
    """

    class Submitted(Message):
        """Enter on a non-empty prompt. ``text`` is what to send, ``display`` what to show."""

        def __init__(self, text: str, display: str, lane: str = "now") -> None:
            super().__init__()
            self.text = text
            self.display = display
            # While the agent works: "now" steers the running turn, "next" waits for it to end.
            self.lane = lane

    class QuitRequested(Message):
        """Ctrl+D on an empty prompt."""

    class ImagePasteRequested(Message):
        """Ctrl+V: the screen reads the clipboard's image and puts its marker at the cursor."""

    def __init__(
        self,
        *,
        slash_items: Callable[[], Sequence[SlashItem]] = lambda: (),
        take_queued: Callable[[], str | None] = lambda: None,
        history: list[str] | None = None,
        mention_source: Callable[[], Awaitable[list[str]]] | None = None,
        attach_image: Callable[[str], str] | None = None,
        take_all_queued: Callable[[], list[str]] = lambda: [],
        id: str | None = "composer",
    ) -> None:
        super().__init__(id=id)
        # Ctrl+X while messages are queued: all of them back into the editor.
        self.take_all_queued = take_all_queued
        # Vim mode (``set_vim``): None when off.
        self.vim: VimState | None = None
        # A pasted image file path -> its [Image #N] marker (None: pasted as text).
        self.attach_image = attach_image
        # The @ picker's candidates (None: no picker); read again when older than MENTION_TTL.
        self.mention_source = mention_source
        self._mention_paths: list[str] | None = None
        self._mention_read_at = float("-inf")
        self._mention_dismissed: str | None = None
        self.mention_list = MentionList()
        self.slash_items = slash_items
        self.take_queued = take_queued
        self.history: list[str] = history if history is not None else []
        self._history_index: int | None = None
        self._draft = ""
        self._pastes: dict[str, str] = {}
        self._paste_count = 0
        # Text for which the slash list was dismissed with Esc (do not reopen until it changes).
        self._slash_dismissed: str | None = None
        # The query the slash list's items were matched for (its refresh follows the typing).
        self._slash_shown_for: str | None = None
        self.slash_list = SlashList()
        self.history_search = HistorySearch()
        self.input = PromptInput(self)

    def compose(self) -> ComposeResult:
        yield self.slash_list
        yield self.mention_list
        yield self.history_search
        yield self.input

    # ---- public API ----------------------------------------------------------------------------

    @property
    def text(self) -> str:
        return self.input.text

    @property
    def busy(self) -> bool:
        """A turn is running (the prompt's border says so; Tab queues for after it)."""
        return self.input.has_class("-busy")

    def set_busy(self, busy: bool) -> None:
        # On the prompt, not on the composer: a class on the composer restyled its whole
        # subtree (lists, history search, the editor), ~30 ms at every turn's start and end.
        self.input.set_class(busy, "-busy")

    def set_text(self, text: str) -> None:
        self.input.load_text(text)
        self.input.move_cursor(self.input.document.end)

    def focus_input(self) -> None:
        self.input.focus()

    def set_vim(self, on: bool) -> None:
        """Vim mode on (starting in insert mode) or off."""
        self.vim = VimState(self.input) if on else None
        self._show_vim_mode()

    def vim_key(self, key: str, character: str | None) -> bool:
        """A key for vim mode; True when it used it. Esc with a list open closes the list."""
        vim = self.vim
        if vim is None or self.history_search.is_open:
            return False
        if key == "escape" and (self.slash_list.is_open or self.mention_list.is_open):
            return False
        handled = vim.key(key, character)
        self._show_vim_mode()
        return handled

    def _show_vim_mode(self) -> None:
        vim = self.vim
        self.input.border_title = None if vim is None else ("-- NORMAL --" if vim.mode == "normal" else "-- INSERT --")

    def set_placeholder(self, text: str) -> None:
        self.input.placeholder = text

    def expand_pastes(self, text: str) -> str:
        """Replace paste placeholders with the pasted text."""
        return _PLACEHOLDER.sub(lambda m: self._pastes.get(m.group(0), m.group(0)), text)

    # ---- type-ahead (keys typed while a prompt covers the composer) -----------------------------

    def take_key(self, key: str, character: str | None) -> bool:
        """Apply a key typed while a modal covered the composer, as if typed here. True when it
        meant something to the editor (text, Enter, a newline key, Backspace)."""
        if key == "enter":
            return self.handle_prompt_key("enter")
        if key in NEWLINE_KEYS:
            self.input.insert("\n")
            return True
        if key == "backspace":
            self.input.action_delete_left()
            return True
        if character and character.isprintable():
            self.input.insert(character)
            return True
        return False

    def take_paste(self, text: str) -> None:
        """A paste that arrived while a modal covered the composer."""
        self.insert_paste(text)

    def insert_paste(self, pasted: str) -> None:
        """Insert pasted text at the cursor: line ends made LF, a long paste folded."""
        text = normalize_line_ends(pasted)
        if self.attach_image is not None:
            from stoa.core.mentions import clean_pasted_path, looks_like_image_path

            if looks_like_image_path(text):
                self.input.insert(self.attach_image(clean_pasted_path(text)) + " ")
                return
        self.input.insert(self.fold_paste(text) if len(text) > PASTE_FOLD_CHARS else text)

    def fold_paste(self, pasted: str) -> str:
        self._paste_count += 1
        lines = len(pasted.splitlines()) or 1
        label = f"[Pasted text #{self._paste_count} · {len(pasted):,} chars"
        label += f" · {lines:,} lines]" if lines > 1 else "]"
        self._pastes[label] = pasted
        return label

    def submit(self, lane: str = "now") -> None:
        raw = self.input.text
        if not raw.strip():
            return
        self.slash_list.hide()
        self.mention_list.hide()
        if not self.history or self.history[-1] != raw:
            self.history.append(raw)
        self._history_index = None
        self._draft = ""
        self.input.clear()
        if self.vim is not None:
            self.vim.mode = "insert"
            self._show_vim_mode()
        self.post_message(self.Submitted(self.expand_pastes(raw).strip("\n"), raw.strip("\n"), lane))

    # ---- history -------------------------------------------------------------------------------

    def history_back(self) -> bool:
        """Up on the first line: pop a queued message, else the previous prompt."""
        queued = self.take_queued()
        if queued is not None:
            current = self.input.text
            self.set_text(queued if not current.strip() else f"{queued}\n{current}")
            return True
        if not self.history:
            return False
        if self._history_index is None:
            self._draft = self.input.text
            self._history_index = len(self.history) - 1
        elif self._history_index > 0:
            self._history_index -= 1
        else:
            return True
        self.set_text(self.history[self._history_index])
        return True

    def history_forward(self) -> bool:
        if self._history_index is None:
            return False
        self._history_index += 1
        if self._history_index >= len(self.history):
            self._history_index = None
            self.set_text(self._draft)
        else:
            self.set_text(self.history[self._history_index])
        return True

    # ---- slash list ----------------------------------------------------------------------------

    @on(TextArea.Changed, "#prompt")
    def _text_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.refresh_slash_list()
        self.refresh_mention_list()

    # ---- @ picker ------------------------------------------------------------------------------

    MENTION_TTL = 10.0

    def _mention_at_cursor(self) -> tuple[int, int, str] | None:
        """(row, column of the @, query) when the cursor ends an @word."""
        row, col = self.input.cursor_location
        found = mention_query(self.input.document.get_line(row)[:col])
        return None if found is None else (row, found[0], found[1])

    def refresh_mention_list(self) -> None:
        if self.mention_source is None or self.slash_list.is_open:
            self.mention_list.hide()
            return
        text = self.input.text
        if text != self._mention_dismissed:
            self._mention_dismissed = None
        found = self._mention_at_cursor()
        if found is None or self._mention_dismissed is not None:
            self.mention_list.hide()
            return
        stale = time.monotonic() - self._mention_read_at > self.MENTION_TTL
        if (self._mention_paths is None or stale) and not self.mention_list.loading:
            self.mention_list.loading = True
            self.run_worker(self._read_mentions(), group="mentions", exclusive=True)
        self._show_mentions(found[2])

    def _show_mentions(self, query: str) -> None:
        # Ranked off the UI thread: tens of thousands of paths cost tens of ms a keystroke.
        self.run_worker(self._rank_mentions(query), group="mention-rank", exclusive=True)

    async def _rank_mentions(self, query: str) -> None:
        import asyncio

        from stoa.core.mentions import rank_paths

        paths = await asyncio.to_thread(rank_paths, self._mention_paths or [], query, MentionList.MAX_SHOWN)
        found = self._mention_at_cursor()
        if found is None or found[2] != query or self._mention_dismissed is not None:
            return  # typed on (a newer ranking follows) or closed meanwhile
        self.mention_list.show_paths(paths, query)

    async def _read_mentions(self) -> None:
        assert self.mention_source is not None
        try:
            self._mention_paths = await self.mention_source()
        except Exception:
            self._mention_paths = self._mention_paths or []
        finally:
            self.mention_list.loading = False
            self._mention_read_at = time.monotonic()
        found = self._mention_at_cursor()
        if found is not None and self.mention_list.is_open:
            self._show_mentions(found[2])

    def complete_mention(self, path: str | None = None) -> bool:
        """Put the highlighted (or given) path in place of the @word; a folder keeps the list
        open inside it. False when there was nothing to complete."""
        from stoa.core.mentions import mention_text

        path = path if path is not None else self.mention_list.current
        found = self._mention_at_cursor()
        if path is None or found is None:
            self.mention_list.hide()
            return False
        row, start, _ = found
        col = self.input.cursor_location[1]
        folder = path.endswith("/")
        inserted = mention_text(path) + ("" if folder else " ")
        self.input.replace(inserted, (row, start), (row, col))
        self.input.move_cursor((row, start + len(inserted)))
        if not folder:
            self.mention_list.hide()
        return True

    def _mention_key(self, key: str) -> bool:
        picker = self.mention_list
        if key == "up":
            picker.action_cursor_up()
        elif key == "down":
            picker.action_cursor_down()
        elif key in ("tab", "enter"):
            found = self._mention_at_cursor()
            if found is not None and found[2] != picker.ranked_for and self._mention_paths is not None:
                # Typed on in the same burst as Enter: rank what is typed now (here, not in the
                # background), so the stale list's top path is never the one put in.
                from stoa.core.mentions import rank_paths

                picker.show_paths(rank_paths(self._mention_paths, found[2], MentionList.MAX_SHOWN), found[2])
            if not self.complete_mention() and key == "enter":
                return False
        elif key == "escape":
            self._mention_dismissed = self.input.text
            picker.hide()
        else:
            return False
        return True

    def refresh_slash_list(self) -> None:
        text = self.input.text
        if text != self._slash_dismissed:
            self._slash_dismissed = None
        query = self._slash_query(text)
        if query is None or self._slash_dismissed is not None:
            self.slash_list.hide()
            return
        self._slash_shown_for = query
        self.slash_list.show_items(match_slash(list(self.slash_items()), query))

    @staticmethod
    def _slash_query(text: str) -> str | None:
        if not text.startswith("/") or any(c.isspace() for c in text):
            return None
        return text[1:]

    def handle_prompt_key(self, key: str, character: str | None = None) -> bool:
        """Keys the composer itself handles (history search, slash list, Enter). True when handled."""
        if self.history_search.is_open:
            self._history_search_key(key, character)
            return True
        if key == "ctrl+r":
            self.open_history_search()
            return True
        if key == "ctrl+v":
            self.post_message(self.ImagePasteRequested())
            return True
        if self.mention_list.is_open and self._mention_key(key):
            return True
        slash = self.slash_list
        if slash.is_open and key in ("enter", "tab") and self._slash_query(self.input.text) != self._slash_shown_for:
            # Keys typed in one burst with Enter ("/mode" then Enter in a single read) arrive
            # before the list's refresh: it must show what is typed now, not the stale highlight.
            self.refresh_slash_list()
        if slash.is_open:
            if key == "up":
                slash.action_cursor_up()
                return True
            if key == "down":
                slash.action_cursor_down()
                return True
            if key == "tab":
                item = slash.current
                if item is not None:
                    self.set_text(f"/{item.name} ")
                slash.hide()
                return True
            if key == "escape":
                self._slash_dismissed = self.input.text
                slash.hide()
                return True
            if key == "enter":
                item = slash.current
                if item is not None:
                    self.set_text(f"/{item.name}")
                self.submit()
                return True
        if key == "enter":
            self.submit()
            return True
        if key == "ctrl+x":
            taken = self.take_all_queued()
            if not taken:
                return False  # nothing queued: the editor's own Ctrl+X (cut)
            current = self.input.text
            self.set_text("\n\n".join([*taken, *([current] if current.strip() else [])]))
            return True
        if key == "tab" and self.busy and self.input.text.strip():
            self.submit(lane="next")  # queued for after the running turn
            return True
        return False

    # ---- history search (Ctrl+R) ------------------------------------------------------------

    def open_history_search(self) -> None:
        self.slash_list.hide()
        self.history_search.open(self.history)

    def _history_search_key(self, key: str, character: str | None) -> None:
        search = self.history_search
        if key == "escape":
            search.close()
        elif key in ("enter", "tab"):
            chosen = search.current
            search.close()
            if chosen is not None:
                self._history_index = None
                self.set_text(chosen)
        elif key in ("ctrl+r", "down"):
            search.move(+1)
        elif key == "up":
            search.move(-1)
        elif key == "backspace":
            search.set_query(search.search_text[:-1])
        elif key == "ctrl+u":
            search.set_query("")
        elif character and character.isprintable():
            search.set_query(search.search_text + character)
        # Anything else is swallowed while searching.

    @on(OptionList.OptionSelected, "#history-matches")
    def _history_clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        search = self.history_search
        if 0 <= event.option_index < len(search.matches):
            chosen = search.matches[event.option_index]
            search.close()
            self.set_text(chosen)

    @on(OptionList.OptionSelected, "#mention-list")
    def _mention_clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.mention_list.paths):
            self.complete_mention(self.mention_list.paths[event.option_index])
            self.input.focus()

    @on(OptionList.OptionSelected, "#slash-list")
    def _slash_clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.set_text(f"/{event.option.id}")
            self.submit()
