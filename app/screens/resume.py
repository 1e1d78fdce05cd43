"""The resume picker: find a saved session and go back to it.

``ResumePickerScreen(store, project)`` lists the saved sessions of this project, newest first
(Tab shows every project, this one's first), each with its title, age, message count, model
and a one-line preview. Typing filters by title, preview, model or id; Up/Down/PgUp/PgDn
move; Enter dismisses with the chosen session id; ``d`` (``ctrl+d`` once something is typed)
deletes the highlighted session after a confirmation; Esc dismisses with None.

``preload`` (before the screen is pushed) reads this project's newest ``FIRST_PAGE`` sessions
and a count of all, so the first frame has the list; the rest is read once it is on screen,
and the picker filters in memory. The list makes and draws only the rows on screen
(``FilterPickerScreen``), so it opens as quickly with ten thousand sessions as with ten.

``choose_session`` is what ``/resume`` and ``stoa -r`` show (the screen is kept between opens,
``stoa.app.screens.kept``; the sessions are read at each open and let go after it).
``pick_and_resume`` is the picker and then the runtime switched to the chosen session (show it
with ``ChatScreen.show_session``).

``offer_fork`` handles a session that another Stoa process is writing (one writer per
session): ``ForkOfferScreen`` offers to fork it (a new session with a copy of its history; the
original is left to the other process) instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stoa.core.runtime import Runtime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from stoa.app.screens.filter_picker import FilterPickerScreen
from stoa.core.sessions import (
    SessionHandle,
    SessionLockedError,
    delete_session,
    fork_session,
    open_store,
    switch_to,
)
from stoa.core.sessions.store import SessionInfo, SessionStore, SessionStoreError
from stoa.core.sessions.summary import format_age
from stoa.styles import STYLES
from stoa.widgets.filter_list import FilterBox, FilterList, Row

# This project's newest sessions, read before the picker's first frame (the rest after it).
FIRST_PAGE = 60
HINT = "↑↓ PgUp PgDn move · Enter resume · d delete (ctrl+d while filtering) · Tab {scope} · Esc close"


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def short_path(path: str, home: Path | None) -> str:
    if home is not None:
        try:
            rest = Path(path).relative_to(home)
        except ValueError:
            return path
        return "~" if str(rest) == "." else f"~/{rest}"
    return path


class SessionFilter(FilterBox):
    """The filter box. With nothing typed, ``d`` asks to delete the highlighted session."""

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(shortcut="d", placeholder=placeholder, id=id)


class ConfirmDeleteScreen(ModalScreen[bool]):
    """Asks before a session is deleted for good."""

    CSS_PATH = STYLES / "resume.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "Delete"),
        Binding("n,escape", "answer(False)", "Keep"),
    ]

    def __init__(self, info: SessionInfo) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-delete", classes="picker"):
            yield Static(Content.from_markup("[b]Delete this session?[/b]"), classes="picker-title")
            yield Static(
                Content.assemble(
                    (f"“{self.info.title or 'untitled'}”", "bold"),
                    f"  {self.info.short_id} · {self.info.message_count} messages",
                )
            )
            yield Static(
                "Its messages and history are removed from the database for good.", classes="confirm-warning"
            )
            yield Static("y delete · n or Esc keep it", classes="picker-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ForkOfferScreen(ModalScreen[str | None]):
    """A session another Stoa is writing: fork it, or not. Dismisses with "fork" or None.

    The answer is chosen with the arrows and Enter (nothing is highlighted at first, so keys
    typed ahead never choose); Esc declines."""

    CSS_PATH = STYLES / "resume.tcss"
    BINDINGS = [Binding("escape", "decline", "Cancel")]

    def __init__(self, error: SessionLockedError, info: SessionInfo, *, decline: str) -> None:
        super().__init__()
        self.error = error
        self.info = info
        self.decline = decline

    def compose(self) -> ComposeResult:
        holder = self.error.holder
        who = f"another Stoa ({holder.describe()})" if holder else "another Stoa process"
        with Vertical(id="fork-offer", classes="picker"):
            yield Static(Content.from_markup("[b]This session is open elsewhere[/b]"), classes="picker-title")
            yield Static(
                Content.assemble(
                    (f"“{self.info.title or 'untitled'}”", "bold"),
                    f"  {self.info.short_id} · {self.info.message_count} messages · open in {who}",
                )
            )
            yield Static(
                "Two processes writing one session would mix their turns. A fork is a new session "
                "with a copy of its history; the original stays as it is, with the other Stoa.",
                classes="confirm-warning",
            )
            options = OptionList(
                Option("Fork it into a new session", id="fork"), Option(self.decline, id="decline"), id="fork-choices"
            )
            options.highlighted = None
            yield options
            yield Static("↑↓ then Enter to choose · Esc " + self.decline.lower(), classes="picker-hint")

    def on_mount(self) -> None:
        choices = self.query_one("#fork-choices", OptionList)
        choices.focus()
        choices.highlighted = None

    @on(OptionList.OptionSelected, "#fork-choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss("fork" if event.option.id == "fork" else None)

    def action_decline(self) -> None:
        self.dismiss(None)


class ResumePickerScreen(FilterPickerScreen):
    """Choose a saved session. Dismisses with its id, or None."""

    CSS_PATH = [STYLES / "pickers.tcss", STYLES / "resume.tcss"]
    LIST_ID = "sessions"
    BINDINGS = [
        Binding("escape", "cancel", "Close"),
        *FilterPickerScreen.BINDINGS[1:],
        Binding("tab", "toggle_scope", "All projects", priority=True),
        Binding("ctrl+d", "delete", "Delete", priority=True),
    ]

    class Deleted(Message):
        """A session was deleted from the picker."""

        def __init__(self, session_id: str) -> None:
            super().__init__()
            self.session_id = session_id

    def __init__(
        self,
        store: SessionStore,
        project: Path | str,
        *,
        current_session_id: str | None = None,
        show_all: bool = False,
        clock: Callable[[], float] = time.time,
        home: Path | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.project = str(project)
        self.current_session_id = current_session_id
        self.show_all = show_all
        self.clock = clock
        self.home = home if home is not None else Path.home()
        self.sessions: list[SessionInfo] = []
        self.loaded = False
        # Every saved session is read (the first frame may show only this project's newest).
        self.all_read = False
        # (every session, this project's) while not all are read: what the labels count.
        self._counts: tuple[int, int] | None = None
        # Every saved session is read and in the list (rows are drawn as they scroll into view).
        self.complete = False
        self._note = ""

    # ---- data -------------------------------------------------------------------------------

    async def preload(self) -> ResumePickerScreen:
        """Read the saved sessions now, before the screen is pushed, so its first frame has the
        list (else it is read when the screen mounts, and the list comes a frame later).

        This project's newest ``FIRST_PAGE`` come first, with a count of all of them, and the
        rest is read once the list is on screen (``_read_the_rest``): reading 10,000 sessions
        and making their rows took 100-180 ms of CPU before the first frame."""
        self.all_read, self._counts, self.complete = False, None, False
        try:
            first: list[SessionInfo] = []
            counts = (0, 0)
            if not self.show_all:
                first, counts = await self.store.newest_listed(self.project, FIRST_PAGE)
            if first and counts == (len(first), len(first)):
                self.sessions, self.all_read = first, True
            elif first:
                self.sessions, self._counts = first, counts
            else:
                self.sessions, self.all_read = await self.store.list_sessions(), True
        except SessionStoreError as exc:
            self.sessions, self.all_read = [], True
            self._note = str(exc)
        self.loaded = True
        if not self.show_all and self.sessions and not any(s.project == self.project for s in self.sessions):
            self.show_all = True
            self._note = "No saved sessions in this project yet; showing every project."
        return self

    def opened(self) -> None:
        if not self.all_read:
            self.call_after_refresh(
                lambda: self.run_worker(
                    self._read_the_rest(), group="resume-rest", description="read every saved session",
                    exclusive=True, exit_on_error=False,
                )
            )

    async def _read_the_rest(self) -> None:
        try:
            sessions = await self.store.list_sessions()
        except SessionStoreError as exc:
            self._note = str(exc)
            sessions = self.sessions
        if not self.loaded:
            return  # closed meanwhile (forget)
        self.sessions, self.all_read, self._counts = sessions, True, None
        self.refresh_list()

    def in_scope(self) -> list[SessionInfo]:
        here = [s for s in self.sessions if s.project == self.project]
        if not self.show_all:
            return here
        return here + [s for s in self.sessions if s.project != self.project]

    def shown_sessions(self) -> list[SessionInfo]:
        return self._shown(self.words())

    def _shown(self, words: Sequence[str]) -> list[SessionInfo]:
        sessions = self.in_scope()
        if not words:
            return sessions
        return [s for s in sessions if _matches(s, words)]

    def _row(self, info: SessionInfo, now: float) -> Content:
        """Two lines: age and title; then project (if not this one), size, model, id and preview.

        The list does not wrap (``text-wrap: nowrap``), so long titles and previews end in "…".
        """
        current = info.id == self.current_session_id
        marker = ("● ", "$accent bold") if current else "  "
        age = format_age(info.updated_at, now)
        meta = [f"{info.message_count} msgs", info.model, info.short_id]
        if info.project != self.project:
            meta.insert(0, short_path(info.project, self.home))
        flags = []
        if info.last_turn_interrupted:
            flags.append("interrupted")
        if current:
            flags.append("open now")
        return Content.assemble(
            marker,
            (f"{age:<11}", "$text-muted"),
            (_fit(info.title or "(untitled)", 200), "bold"),
            (f"  [{', '.join(flags)}]" if flags else "", "$warning"),
            "\n",
            " " * 13,
            (" · ".join(meta), "$text-muted"),
            (f" — {_fit(info.preview, 200)}" if info.preview else "", "$text-muted italic"),
        )

    def rows_for(self, words: Sequence[str]) -> list[Option]:
        now = self.clock()
        return [Row(partial(self._row, s, now), id=s.id, height=2) for s in self._shown(words)]

    # ---- view -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="resume-picker", classes="picker"):
            with Horizontal(id="resume-header"):
                yield Static(Content.from_markup("[b]Resume a session[/b]"), classes="picker-title", id="resume-title")
                yield Static("", id="resume-scope")
            yield SessionFilter(placeholder="type to filter by title, preview, model or id", id="filter")
            yield Static("", id="resume-note")
            yield FilterList(id="sessions")
            yield Static("Loading sessions…", id="resume-empty")
            yield Static(self._hint(), classes="picker-hint", id="resume-hint")

    async def on_mount(self) -> None:  # type: ignore[override]
        # Textual runs every class's on_mount, this one first: FilterPickerScreen's fills the
        # list once the sessions are read.
        if not self.loaded:
            await self.preload()

    async def show_again(
        self, store: SessionStore, *, current_session_id: str | None, show_all: bool, clock: Callable[[], float]
    ) -> ResumePickerScreen:
        """This open's sessions for a kept picker (``reopen``), read before it is pushed."""
        self.store = store
        self.current_session_id = current_session_id
        self.show_all = show_all
        self.clock = clock
        self._note = ""
        await self.preload()
        self.reopen()
        return self

    def forget(self) -> None:
        """After an open: the sessions are not held until the next one (10,000 of them are
        several megabytes)."""
        self.sessions = []
        self.loaded = False
        self.workers.cancel_group(self, "resume-rest")
        if self.is_mounted:
            self.row_list.clear_options()

    def _hint(self) -> str:
        return HINT.format(scope="this project only" if self.show_all else "all projects")

    def listed(self) -> None:
        self.complete = self.all_read
        self._update_labels(self.shown_sessions())

    def _update_labels(self, shown: Sequence[SessionInfo]) -> None:
        in_scope = len(self.in_scope())
        if self._counts is not None:  # not all read yet: the counts say how many there are
            in_scope = self._counts[0] if self.show_all else self._counts[1]
        scope = "all projects" if self.show_all else short_path(self.project, self.home)
        count = f"{len(shown)} of {in_scope}" if self.words() and len(shown) != in_scope else str(in_scope)
        self.query_one("#resume-scope", Static).update(
            Content.assemble((f"{scope} · {count} session{'s' if in_scope != 1 else ''}", "$text-muted"))
        )
        note = self.query_one("#resume-note", Static)
        note.update(self._note)
        note.display = bool(self._note)
        empty = self.query_one("#resume-empty", Static)
        option_list = self.row_list
        if shown:
            empty.display = False
            option_list.display = True
        else:
            option_list.display = False
            empty.display = True
            typed = self.typed().strip()
            if not self.loaded:
                empty.update("Loading sessions…")
            elif typed:
                empty.update(Content.assemble(f"No session matches “{typed}”. ", ("Backspace to widen the search.", "$text-muted")))
            elif not self.sessions:
                empty.update(
                    "No saved sessions yet. Conversations are saved as you go; come back here to pick one up."
                )
            else:
                empty.update("No sessions in this project. Press Tab to see every project.")
        self.query_one("#resume-hint", Static).update(self._hint())

    # ---- actions ------------------------------------------------------------------------------

    def highlighted(self) -> SessionInfo | None:
        option = self.row_list.highlighted_option
        if option is None:
            return None
        return next((s for s in self.sessions if s.id == option.id), None)

    def action_shortcut(self) -> None:
        self.action_delete()

    def action_toggle_scope(self) -> None:
        self.show_all = not self.show_all
        self._note = ""
        self.refresh_list()

    def action_delete(self) -> None:
        info = self.highlighted()
        if info is None:
            self.app.bell()
            return
        if info.id == self.current_session_id:
            self.notify("That is the session you are in; start another with /clear first.", severity="warning")
            return
        self.app.push_screen(ConfirmDeleteScreen(info), callback=lambda yes: self._confirmed(info, yes))

    def _confirmed(self, info: SessionInfo, yes: bool | None) -> None:
        if yes:
            self.run_worker(self._delete(info), group="resume-picker", description="delete a session", exit_on_error=False)

    async def _delete(self, info: SessionInfo) -> None:
        try:
            await delete_session(self.store, info.id)  # refused while another Stoa writes it
        except SessionStoreError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        shown = self.shown_sessions()
        index = next((i for i, s in enumerate(shown) if s.id == info.id), 0)
        self.sessions = [s for s in self.sessions if s.id != info.id]
        if self._counts is not None:
            every, here = self._counts
            self._counts = (every - 1, here - (info.project == self.project))
        remaining = self.shown_sessions()
        keep = remaining[min(index, len(remaining) - 1)].id if remaining else None
        self.refresh_list(keep=keep)
        self.notify(f"Deleted “{info.title or info.short_id}”.")
        self.post_message(self.Deleted(info.id))


def _matches(info: SessionInfo, words: Sequence[str]) -> bool:
    haystack = " ".join((info.title, info.preview, info.model, info.id, info.project)).lower()
    return all(word in haystack for word in words)


async def choose_session(
    app: Any, runtime: Runtime, *, show_all: bool = False, clock: Callable[[], float] = time.time
) -> str | None:
    """The resume picker over the sessions saved now (the screen is kept between opens,
    ``stoa.app.screens.kept``; the sessions are not); the chosen id, or None. Call it from a
    worker (it waits on ``push_screen_wait``)."""
    from stoa.app.screens.kept import kept_screen

    store = await open_store(runtime)
    current_id = runtime.session_id
    home = runtime.config.env.get("HOME")
    screen, fresh = kept_screen(
        app,
        "resume-picker",
        lambda: ResumePickerScreen(
            store,
            runtime.config.workspace,
            current_session_id=current_id,
            show_all=show_all,
            clock=clock,
            home=Path(home) if home else None,
        ),
        ResumePickerScreen,
    )
    if fresh:
        await screen.preload()
    else:
        await screen.show_again(store, current_session_id=current_id, show_all=show_all, clock=clock)
    try:
        chosen: str | None = await app.push_screen_wait(screen)
    finally:
        screen.forget()
    return chosen


async def pick_and_resume(
    app: Any, runtime: Runtime, *, show_all: bool = False, clock: Callable[[], float] = time.time
) -> SessionHandle | None:
    """``choose_session``, then switch the runtime to the chosen session (the current one is closed first). Returns the new handle, or None if the person
    closed the picker or chose the session already open. Call it from a worker (it waits on
    ``push_screen_wait``); then show it with ``ChatScreen.show_session(handle)``.
    """
    current_id = runtime.session_id
    chosen = await choose_session(app, runtime, show_all=show_all, clock=clock)
    if not chosen or chosen == current_id:
        return None
    try:
        return await switch_to(runtime, chosen, clock=clock)
    except SessionLockedError as exc:
        return await offer_fork(app, runtime, exc, decline="Stay in this session", clock=clock)


async def offer_fork(
    app: Any, runtime: Runtime, error: SessionLockedError, *, decline: str, clock: Callable[[], float] = time.time
) -> SessionHandle | None:
    """Another process writes the session the person asked for: offer a fork. Returns the
    fork's handle (the current session, if any, closed first), or None when declined."""
    store = await open_store(runtime)
    info = await store.get(error.session_id)
    if info is None:
        return None
    choice = await app.push_screen_wait(ForkOfferScreen(error, info, decline=decline))
    if choice != "fork":
        return None
    current = runtime.session
    if current is not None:
        try:
            await current.close()
        except SessionStoreError:
            pass  # its unsaved changes were reported when they failed
    return await fork_session(runtime, store, info, clock=clock)
