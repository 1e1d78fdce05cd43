"""The composer on its own: send, newline keys, deletion keys, history, slash list, paste folding."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult

from stoa.widgets.composer import PASTE_FOLD_CHARS, Composer, SlashItem, match_slash

ITEMS = [
    SlashItem("help", "Show help", aliases=("?",)),
    SlashItem("clear", "New conversation", aliases=("new",)),
    SlashItem("exit", "Quit", aliases=("quit", "q")),
    SlashItem("mode", "Trust mode", args="[plan|ask|auto]"),
]


class ComposerApp(App[None]):
    def __init__(self, queued: list[str] | None = None, history: list[str] | None = None) -> None:
        super().__init__()
        self.submitted: list[tuple[str, str]] = []
        self.quit_requests = 0
        self.queued = queued if queued is not None else []
        self.composer = Composer(slash_items=lambda: ITEMS, take_queued=self._take, history=history)

    def _take(self) -> str | None:
        return self.queued.pop() if self.queued else None

    def compose(self) -> ComposeResult:
        yield self.composer

    def on_mount(self) -> None:
        self.composer.focus_input()

    def on_composer_submitted(self, event: Composer.Submitted) -> None:
        self.submitted.append((event.text, event.display))

    def on_composer_quit_requested(self) -> None:
        self.quit_requests += 1


async def test_enter_sends_and_clears() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        assert app.submitted == [("hello", "hello")]
        assert app.composer.text == ""


async def test_blank_prompt_is_not_sent() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press("space", "space", "enter")
        await pilot.pause()
        assert app.submitted == []


async def test_newline_keys_insert_a_newline() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press("a", "shift+enter", "b", "alt+enter", "c", "ctrl+j", "d")
        assert app.composer.text == "a\nb\nc\nd"
        await pilot.press("enter")
        await pilot.pause()
        assert app.submitted == [("a\nb\nc\nd", "a\nb\nc\nd")]


async def test_alt_enter_bytes_from_a_terminal_insert_a_newline() -> None:
    """ESC CR (what tmux and xterm send for Alt+Enter) parses as alt+enter, not "^" + Enter."""
    from textual._xterm_parser import XTermParser

    from stoa.app.tui import _teach_alt_enter

    _teach_alt_enter()
    parser = XTermParser()
    keys = [e.key for e in parser.feed("\x1b\r") if isinstance(e, events.Key)]
    keys += [e.key for e in parser.feed("") if isinstance(e, events.Key)]
    assert keys == ["alt+enter"]


async def test_deletion_keys() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        app.composer.set_text("one two three")
        await pilot.press("ctrl+w")
        assert app.composer.text == "one two "
        await pilot.press("ctrl+u")
        assert app.composer.text == ""
        app.composer.set_text("keep this|drop that")
        app.composer.input.move_cursor((0, len("keep this")))
        await pilot.press("ctrl+k")
        assert app.composer.text == "keep this"


@pytest.mark.parametrize("editing_key", ["ctrl+u", "ctrl+w", "backspace"])
async def test_keys_typed_right_after_an_editing_key_are_kept(editing_key: str) -> None:
    """A burst of keys, as a terminal delivers fast typing (or a slow link) in one read: the
    editing key acts before the keys after it, never on them (Ctrl+U used to delete them)."""
    app = ComposerApp()
    async with app.run_test() as pilot:
        app.composer.set_text("old text")
        app.composer.input.move_cursor((0, len("old text")))
        for key, character in [(editing_key, None), ("slash", "/"), ("e", "e"), ("x", "x")]:
            app.post_message(events.Key(key, character))  # no pause in between
        await pilot.pause()
        await pilot.pause()
        expected = {"ctrl+u": "/ex", "ctrl+w": "old /ex", "backspace": "old tex/ex"}[editing_key]
        assert app.composer.text == expected


@pytest.mark.parametrize(("typed", "final", "expected"), [
    ("/mode", "enter", "/mode"),   # the whole name, before the list caught up: that command
    ("/quit", "enter", "/exit"),   # an alias: its command
    ("/cl", "enter", "/clear"),    # a prefix: the first command it matches now
    ("/cl", "tab", "/clear "),     # Tab completes what is typed now too
])  # fmt: skip
async def test_enter_in_a_burst_runs_what_was_typed_not_the_stale_highlight(
    typed: str, final: str, expected: str
) -> None:
    """A burst ("/quit" and Enter in one read, as a paste or a fast typist gives): the list
    still shows every command with the first highlighted when Enter comes; it must not run it."""
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press("slash")  # the list is open, every command shown, the first highlighted
        assert app.composer.slash_list.is_open and app.composer.slash_list.current is not None
        for key, character in [*((c, c) for c in typed[1:]), (final, None)]:
            app.post_message(events.Key(key, character))  # no pause in between
        await pilot.pause()
        await pilot.pause()
        if final == "enter":
            assert app.submitted == [(expected, expected)]
        else:
            assert app.submitted == [] and app.composer.text == expected


async def test_history_walks_back_and_restores_the_draft() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        for text in ("first", "second"):
            await pilot.press(*text, "enter")
        await pilot.press(*"draft")
        await pilot.press("up")
        assert app.composer.text == "second"
        await pilot.press("up")
        assert app.composer.text == "first"
        await pilot.press("up")  # stays at the oldest
        assert app.composer.text == "first"
        await pilot.press("down")
        assert app.composer.text == "second"
        await pilot.press("down")
        assert app.composer.text == "draft"


async def test_up_inside_multiline_text_moves_the_cursor_first() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press(*"old", "enter")
        await pilot.press("a", "ctrl+j", "b")
        await pilot.press("up")
        assert app.composer.text == "a\nb"  # moved to the first line, no history yet
        await pilot.press("up")
        assert app.composer.text == "old"


async def test_up_pops_a_queued_message_before_history() -> None:
    app = ComposerApp(queued=["queued one", "queued two"])
    async with app.run_test() as pilot:
        await pilot.press("up")
        assert app.composer.text == "queued two"
        assert app.queued == ["queued one"]


async def test_slash_list_filters_and_enter_runs_the_highlighted_command() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press("slash")
        slash = app.composer.slash_list
        assert slash.is_open
        assert [i.name for i in slash.items] == ["help", "clear", "exit", "mode"]
        await pilot.press("e")
        assert [i.name for i in slash.items] == ["exit", "help", "clear", "mode"]
        await pilot.press("enter")
        await pilot.pause()
        assert app.submitted == [("/exit", "/exit")]
        assert not slash.is_open


async def test_slash_list_navigation_tab_and_escape() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press("slash")
        await pilot.press("down")
        assert app.composer.slash_list.current is not None
        assert app.composer.slash_list.current.name == "clear"
        await pilot.press("tab")
        assert app.composer.text == "/clear "
        assert not app.composer.slash_list.is_open
        app.composer.set_text("/m")
        await pilot.pause()
        assert app.composer.slash_list.is_open
        await pilot.press("escape")
        assert not app.composer.slash_list.is_open
        assert app.composer.text == "/m"
        await pilot.press("o")  # typing again reopens it
        assert app.composer.slash_list.is_open
        assert app.composer.slash_list.items[0].name == "mode"


async def test_slash_list_closes_after_a_space() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press("slash", "m", "o", "space")
        assert not app.composer.slash_list.is_open


async def test_long_paste_is_folded_and_sent_in_full() -> None:
    app = ComposerApp()
    pasted = "\n".join(f"line {i}" for i in range(200))
    assert len(pasted) > PASTE_FOLD_CHARS
    async with app.run_test() as pilot:
        await pilot.press(*"see: ")
        app.post_message(events.Paste(pasted))
        await pilot.pause()
        shown = app.composer.text
        assert shown.startswith("see: [Pasted text #1 · ")
        assert "200 lines]" in shown
        assert "line 150" not in shown
        await pilot.press("enter")
        await pilot.pause()
        text, display = app.submitted[0]
        assert text == "see: " + pasted
        assert display == shown


async def test_short_paste_is_inserted_as_is() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        app.post_message(events.Paste("short text"))
        await pilot.pause()
        assert app.composer.text == "short text"


@pytest.mark.parametrize("ending", ["\r", "\r\n", "mixed"])
async def test_folded_paste_keeps_its_line_ends_as_newlines(ending: str) -> None:
    """Bracketed pastes arrive with CR (or CRLF) line ends: the model gets LF lines, and the
    fold label counts them."""
    app = ComposerApp()
    lines = [f"row {i} of the pasted log" for i in range(60)]
    if ending == "mixed":  # CRLF for most rows, lone CR for the last ten
        pasted = "\r\n".join(lines[:50]) + "\r" + "\r".join(lines[50:]) + "\r\n"
    else:
        pasted = ending.join(lines) + ending
    assert len(pasted) > PASTE_FOLD_CHARS
    async with app.run_test() as pilot:
        app.post_message(events.Paste(pasted))
        await pilot.pause()
        shown = app.composer.text
        assert "\r" not in shown
        assert shown.endswith(" · 60 lines]"), shown
        await pilot.press("enter")
        await pilot.pause()
    text, _ = app.submitted[0]
    assert "\r" not in text
    assert text.split("\n") == lines


async def test_short_paste_with_carriage_returns_becomes_lines() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        app.post_message(events.Paste("one\r\ntwo\rthree"))
        await pilot.pause()
        assert app.composer.text == "one\ntwo\nthree"
        await pilot.press("enter")
        await pilot.pause()
    assert app.submitted[0][0] == "one\ntwo\nthree"


async def test_ctrl_d_quits_only_when_empty() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        app.composer.set_text("ab")
        app.composer.input.move_cursor((0, 0))
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert app.composer.text == "b"
        assert app.quit_requests == 0
        await pilot.press("ctrl+d", "ctrl+d")
        await pilot.pause()
        assert app.quit_requests == 1


def test_match_slash_prefers_prefixes_and_aliases() -> None:
    assert [i.name for i in match_slash(ITEMS, "q")] == ["exit"]
    assert [i.name for i in match_slash(ITEMS, "ea")] == ["clear"]
    assert match_slash(ITEMS, "zzz") == []


HISTORY = [
    "fix the flaky test in test_api.py",
    "explain the build",
    "Fix the README links",
    "run the linter\nand fix what it finds",
    "explain the build",
]


async def test_ctrl_r_filters_the_history_and_enter_takes_the_match() -> None:
    app = ComposerApp(history=list(HISTORY))
    async with app.run_test() as pilot:
        await pilot.press(*"draft")
        await pilot.press("ctrl+r")
        search = app.composer.history_search
        assert search.is_open
        # Everything, newest first, each once.
        assert search.matches == [
            "explain the build",
            "run the linter\nand fix what it finds",
            "Fix the README links",
            "fix the flaky test in test_api.py",
        ]
        await pilot.press(*"fix")  # case-insensitive, newest first
        assert search.matches == [
            "run the linter\nand fix what it finds",
            "Fix the README links",
            "fix the flaky test in test_api.py",
        ]
        assert app.composer.text == "draft"  # the editor is untouched while searching
        await pilot.press("ctrl+r", "ctrl+r")  # older, older
        assert search.current == "fix the flaky test in test_api.py"
        await pilot.press("up")  # newer again
        assert search.current == "Fix the README links"
        await pilot.press("enter")
        await pilot.pause()
        assert not search.is_open
        assert app.composer.text == "Fix the README links"
        assert app.submitted == []  # taken into the editor, not sent


async def test_ctrl_r_escape_cancels_and_backspace_widens() -> None:
    app = ComposerApp(history=list(HISTORY))
    async with app.run_test() as pilot:
        await pilot.press(*"my draft", "ctrl+r", *"linterz")
        search = app.composer.history_search
        assert search.matches == [] and search.current is None
        await pilot.press("backspace")
        assert search.matches == ["run the linter\nand fix what it finds"]
        await pilot.press("escape")
        await pilot.pause()
        assert not search.is_open and app.composer.text == "my draft"
        await pilot.press("ctrl+r", *"nothing like it", "enter")
        await pilot.pause()
        assert app.composer.text == "my draft" and app.submitted == []


def test_snapshot_history_search(snap_compare: object) -> None:
    """Ctrl+R over a short history with "fix" typed: the search line shows the query and the
    key hints, three matches newest first with "fix" in bold, the first highlighted: the
    two-line prompt shows its matching second line ("… and fix what it finds  (2 lines)"); the
    editor below still holds the draft "wip"."""
    app = ComposerApp(history=list(HISTORY))

    async def run_before(pilot: object) -> None:
        await pilot.press(*"wip", "ctrl+r", *"fix")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]

    assert snap_compare(app, terminal_size=(80, 14), run_before=run_before)  # type: ignore[operator]
