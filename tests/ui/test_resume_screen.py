"""The resume picker, driven by the keyboard (Pilot) over a real session database, and its
snapshots: the list, a filtered list, the empty state and the delete confirmation."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import OptionList, Static

from stoa.app.screens.resume import ConfirmDeleteScreen, ResumePickerScreen, SessionFilter
from stoa.core.providers.types import Message, TextBlock, user_text
from stoa.core.sessions.store import SessionSeed, SessionStore

NOW = 1_750_000_000.0
HOME = Path("/home/dev")
PROJECT = HOME / "code" / "stoa"
OTHER = HOME / "code" / "website"
SIZE = (120, 36)

# (id, project, title, model, age in seconds, preview, messages)
SESSIONS = [
    ("3f2a9c1e-7b4d-4c1a-9e8f-0a1b2c3d4e5f", PROJECT, "Fix the flaky session kill test", "claude-sonnet-4-6", 5 * 60,
     "The race was in the reader thread; it is fixed now.", 4),
    ("8c41d2aa-0b7e-4f39-a1c2-77aa55bb3311", PROJECT, "Add a resume picker screen", "claude-opus-4-7", 3 * 3600,
     "The picker lists sessions newest first with a filter box.", 2),
    ("b7e09f13-55c2-4d8e-9f00-123456789abc", OTHER, "Landing page copy review", "gpt-5.5", 2 * 86_400,
     "Tightened the hero text and fixed two typos.", 2),
    ("c0ffee00-1234-4abc-8def-0123456789ab", PROJECT, "Profile slow startup imports", "claude-haiku-4-5", 9 * 86_400,
     "Lazy imports of the SDKs cut start-up by 1.2 s.", 6),
]


async def populate(path: Path, sessions: list[tuple[Any, ...]] = SESSIONS) -> None:
    clock = [NOW]
    store = await SessionStore.open(path, clock=lambda: clock[0])
    try:
        for session_id, project, title, model, age, preview, count in sessions:
            clock[0] = NOW - age
            seed = SessionSeed(session_id, str(project), model, "anthropic", "auto", "medium")
            for i in range(count):
                if i % 2 == 0:
                    await store.save_message(seed, user_text(title if i == 0 else f"more {i}"), title=title)
                else:
                    reply = Message(role="assistant", content=[TextBlock(text=preview)])
                    await store.save_message(seed, reply, preview=preview)
            if session_id.startswith("c0ffee"):
                await store.update_session(session_id, interrupted=True)
    finally:
        await store.aclose()


class PickerHost(App[None]):
    """A bare app that opens the store and shows the picker (the real app does the same)."""

    def __init__(self, path: Path, *, current: str | None = None, show_all: bool = False) -> None:
        super().__init__()
        self.path = path
        self.current = current
        self.show_all = show_all
        self.result: str | bool | None = False
        self.store: SessionStore | None = None

    def compose(self) -> ComposeResult:
        yield Static("chat screen behind the picker")

    async def on_mount(self) -> None:
        self.store = await SessionStore.open(self.path, clock=lambda: NOW)
        screen = ResumePickerScreen(
            self.store, PROJECT, current_session_id=self.current, show_all=self.show_all, clock=lambda: NOW, home=HOME
        )
        self.push_screen(screen, callback=self._done)

    def _done(self, result: str | None) -> None:
        self.result = result

    async def on_unmount(self) -> None:
        if self.store is not None:
            await self.store.aclose()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.db"
    asyncio.run(populate(path))
    return path


async def picker(pilot: Any) -> ResumePickerScreen:
    for _ in range(200):
        screen = pilot.app.screen
        if isinstance(screen, ResumePickerScreen) and screen.loaded and screen.complete:
            screen.query_one(SessionFilter).cursor_blink = False  # deterministic pictures
            await pilot.pause()
            return screen
        await asyncio.sleep(0.01)
    raise AssertionError("the picker did not open")


def listed(screen: ResumePickerScreen) -> list[str]:
    assert screen.complete, "the list is still filling"
    return [str(o.id)[:8] for o in screen.query_one("#sessions", OptionList).options]


def current(screen: ResumePickerScreen) -> str | None:
    info = screen.highlighted()
    return info.id[:8] if info else None


# ---- behaviour ---------------------------------------------------------------------------------


async def test_lists_this_project_newest_first_and_toggles_all(db: Path) -> None:
    app = PickerHost(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker(pilot)
        assert listed(screen) == ["3f2a9c1e", "8c41d2aa", "c0ffee00"]
        await pilot.press("tab")
        assert listed(screen) == ["3f2a9c1e", "8c41d2aa", "c0ffee00", "b7e09f13"]  # this project first
        await pilot.press("tab")
        assert listed(screen) == ["3f2a9c1e", "8c41d2aa", "c0ffee00"]


async def test_moving_and_choosing(db: Path) -> None:
    app = PickerHost(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker(pilot)
        assert current(screen) == "3f2a9c1e"
        await pilot.press("down")
        assert current(screen) == "8c41d2aa"
        await pilot.press("pagedown")
        assert current(screen) == "c0ffee00"
        await pilot.press("pageup")
        assert current(screen) == "3f2a9c1e"
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.result == "8c41d2aa-0b7e-4f39-a1c2-77aa55bb3311"


async def test_escape_closes_without_a_choice(db: Path) -> None:
    app = PickerHost(db)
    async with app.run_test(size=SIZE) as pilot:
        await picker(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.result is None
        assert not isinstance(app.screen, ResumePickerScreen)


async def test_typing_filters_by_title_preview_and_model(db: Path) -> None:
    app = PickerHost(db, show_all=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker(pilot)
        await pilot.press(*"picker")
        assert listed(screen) == ["8c41d2aa"]
        await pilot.press(*["backspace"] * 6, *"typos")  # matches a preview, another project
        assert listed(screen) == ["b7e09f13"]
        await pilot.press(*["backspace"] * 5, *"haiku")
        assert listed(screen) == ["c0ffee00"]
        await pilot.press(*"zzz")
        assert listed(screen) == []
        empty = screen.query_one("#resume-empty", Static)
        assert empty.display and "haikuzzz" in str(empty.render())
        await pilot.press("enter")  # nothing to choose: stays open
        assert isinstance(app.screen, ResumePickerScreen)


async def test_d_deletes_after_confirmation(db: Path) -> None:
    app = PickerHost(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker(pilot)
        await pilot.press("down", "d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteScreen)
        await pilot.press("n")
        await pilot.pause()
        assert listed(screen) == ["3f2a9c1e", "8c41d2aa", "c0ffee00"]
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert listed(screen) == ["3f2a9c1e", "c0ffee00"]
        assert current(screen) == "c0ffee00"
        assert app.store is not None
        assert await app.store.get("8c41d2aa-0b7e-4f39-a1c2-77aa55bb3311") is None
        assert await app.store.load_messages("8c41d2aa-0b7e-4f39-a1c2-77aa55bb3311") == []


async def test_while_filtering_d_types_and_ctrl_d_deletes(db: Path) -> None:
    app = PickerHost(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker(pilot)
        await pilot.press(*"add")
        assert screen.query_one("#filter").value == "add"  # type: ignore[attr-defined]
        assert listed(screen) == ["8c41d2aa"]
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteScreen)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert listed(screen) == []


async def test_the_open_session_cannot_be_deleted(db: Path) -> None:
    app = PickerHost(db, current="3f2a9c1e-7b4d-4c1a-9e8f-0a1b2c3d4e5f")
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker(pilot)
        await pilot.press("d")
        await pilot.pause()
        assert app.screen is screen
        assert listed(screen)[0] == "3f2a9c1e"


async def test_a_project_without_sessions_shows_every_project(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await populate(path, [s for s in SESSIONS if s[1] == OTHER])
    app = PickerHost(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker(pilot)
        assert screen.show_all and listed(screen) == ["b7e09f13"]
        assert "No saved sessions in this project" in str(screen.query_one("#resume-note", Static).render())


async def test_a_thousand_sessions_load(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    many = [
        (f"{i:08x}-0000-4000-8000-000000000000", PROJECT if i % 3 else OTHER, f"session number {i}", "claude-sonnet-4-6",
         i * 60, f"preview {i}", 2)
        for i in range(1000)
    ]
    await populate(path, many)
    app = PickerHost(path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker(pilot)
        assert len(listed(screen)) == 666
        await pilot.press(*"number 998")
        await pilot.pause()
        assert listed(screen) == [f"{998:08x}"]


async def test_the_first_frame_has_this_projects_newest_and_the_rest_follows(tmp_path: Path) -> None:
    """preload reads this project's newest FIRST_PAGE sessions and counts the others; once on
    screen the picker reads the rest, keeping the highlighted row."""
    from stoa.app.screens.resume import FIRST_PAGE

    path = tmp_path / "big.db"
    many = [
        (f"{i:08x}-0000-4000-8000-000000000000", PROJECT if i % 3 else OTHER, f"session number {i}", "claude-sonnet-4-6",
         i * 60, f"preview {i}", 2)
        for i in range(300)
    ]
    await populate(path, many)
    store = await SessionStore.open(path, clock=lambda: NOW)
    try:
        screen = await ResumePickerScreen(store, PROJECT, clock=lambda: NOW, home=HOME).preload()
        assert not screen.all_read
        assert [s.title for s in screen.sessions] == [f"session number {i}" for i in range(300) if i % 3][:FIRST_PAGE]

        class Host(App[None]):
            def on_mount(self) -> None:
                self.push_screen(screen)

        async with Host().run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "200 sessions" in str(screen.query_one("#resume-scope", Static).render())
            await pilot.press("down", "down")
            chosen = screen.row_list.highlighted_option
            for _ in range(500):
                if screen.complete:
                    break
                await asyncio.sleep(0.01)
            assert len(listed(screen)) == 200 and screen.all_read
            assert screen.row_list.highlighted_option is not None and chosen is not None
            assert screen.row_list.highlighted_option.id == chosen.id
            await pilot.press("tab")
            await pilot.pause()
            assert len(listed(screen)) == 300
    finally:
        await store.aclose()


# ---- snapshots -----------------------------------------------------------------------------------


def test_snapshot_resume_list(snap_compare: Any, db: Path) -> None:
    """The picker over a chat: three sessions of ~/code/stoa, newest first, each with its age,
    title, message count, model, short id and preview; the third is flagged "interrupted"; the
    scope label reads "~/code/stoa · 3 sessions"."""

    async def run_before(pilot: Any) -> None:
        await picker(pilot)

    assert snap_compare(PickerHost(db), terminal_size=SIZE, run_before=run_before)


def test_snapshot_resume_filtered_all_projects(snap_compare: Any, db: Path) -> None:
    """All projects (Tab), filtered by "review": only the ~/code/website session remains, its
    project shown first on its second line; the scope reads "all projects · 1 of 4 sessions"."""

    async def run_before(pilot: Any) -> None:
        await picker(pilot)
        await pilot.press("tab", *"review")
        await pilot.pause()

    assert snap_compare(PickerHost(db), terminal_size=SIZE, run_before=run_before)


def test_snapshot_resume_empty(snap_compare: Any, tmp_path: Path) -> None:
    """No saved sessions at all: the list is replaced by a sentence saying sessions are saved as
    you go."""

    async def run_before(pilot: Any) -> None:
        await picker(pilot)

    assert snap_compare(PickerHost(tmp_path / "empty.db"), terminal_size=SIZE, run_before=run_before)


def test_snapshot_resume_delete_confirmation(snap_compare: Any, db: Path) -> None:
    """After Down and d: a small dialog over the picker asks "Delete this session?" for
    “Add a resume picker screen” (8c41d2aa, 2 messages), with y to delete and n/Esc to keep."""

    async def run_before(pilot: Any) -> None:
        await picker(pilot)
        await pilot.press("down", "d")
        await pilot.pause()

    assert snap_compare(PickerHost(db), terminal_size=SIZE, run_before=run_before)


async def test_pick_and_resume_switches_the_runtime(tmp_path: Path) -> None:
    from stoa.app.screens.resume import pick_and_resume
    from stoa.core.config import load_config
    from stoa.core.runtime import Choices, build_runtime
    from stoa.core.sessions import close_session, open_session

    workspace = tmp_path / "project"
    workspace.mkdir()
    config = load_config(workspace, env={"HOME": str(tmp_path), "STOA_HOME": str(tmp_path / "home"), "ANTHROPIC_API_KEY": "k"})
    config.paths.database.parent.mkdir(parents=True)
    await populate(config.paths.database, [(s[0], workspace, *s[2:]) for s in SESSIONS[:2]])
    runtime = build_runtime(config, Choices())
    first = await open_session(runtime, titles=False)
    results: list[Any] = []

    class Host(App[None]):
        def on_mount(self) -> None:
            self.run_worker(self.pick(), exit_on_error=False)

        async def pick(self) -> None:
            results.append(await pick_and_resume(self, runtime, clock=lambda: NOW))

    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        await picker(pilot)
        await pilot.press("down", "enter")
        await app.workers.wait_for_complete()
    try:
        (handle,) = results
        assert handle is not None and handle.session_id == SESSIONS[1][0] != first.session_id
        assert runtime.session is handle and runtime.agent.observer is handle.recorder
        assert [m.text for m in runtime.agent.history.messages] == ["Add a resume picker screen", SESSIONS[1][5]]
        assert (runtime.agent.model.id, runtime.policy.mode) == ("claude-opus-4-7", "auto")
        assert handle.away is not None and handle.away.away_seconds == 3 * 3600
    finally:
        await close_session(runtime)


# ---- a resumed conversation in the real app ------------------------------------------------------


async def save_crashed_conversation(config: Any) -> None:
    """A conversation saved three days ago whose last turn was cut by a crash."""
    from stoa.core.cost import UsageLedger
    from stoa.core.models import find_model
    from stoa.core.providers.types import ThinkingBlock, ToolResultBlock, ToolUseBlock, Usage
    from stoa.core.sessions import records as rec

    ago = time.time() - (3 * 86_400 + 2 * 3600 + 60)
    store = await SessionStore.open(config.paths.database, clock=lambda: ago)
    seed = SessionSeed(SESSIONS[1][0], str(config.workspace), "claude-sonnet-4-6", "anthropic", "auto", "medium")
    readme = "# Stoa\n\nA terminal coding agent.\n"
    call = ToolUseBlock(id="toolu_01", name="read_file", input={"path": "README.md"})
    try:
        await store.save_message(seed, user_text("What does the README say?"), title="What does the README say?",
                                 records=[(1, rec.USER, {"text": "What does the README say?", "steering": False})])
        await store.save_message(
            seed,
            Message(role="assistant", content=[ThinkingBlock(thinking="Read it first."), TextBlock(text="Let me read it."), call]),
            records=[(2, rec.THINKING, {"text": "Read it first."}), (3, rec.ASSISTANT, {"text": "Let me read it."})],
        )
        await store.add_record(seed, 4, rec.TOOL, {
            "call_id": "toolu_01", "name": "read_file", "arguments": {"path": "README.md"}, "summary": "README.md",
            "server": None, "status": "ok", "result_text": readme,
            "display": {"kind": "text", "text": readme, "language": None, "path": "README.md", "first_line": 1},
            "elapsed": 0.01,
        })
        await store.save_message(seed, Message(role="user", content=[ToolResultBlock(tool_use_id="toolu_01", content=[TextBlock(text=readme)])]))
        await store.save_message(
            seed, Message(role="assistant", content=[TextBlock(text="It describes Stoa, a terminal coding agent.")]),
            records=[(5, rec.ASSISTANT, {"text": "It describes Stoa, a terminal coding agent."})],
            preview="It describes Stoa, a terminal coding agent.",
        )
        await store.save_message(seed, user_text("Now summarise the design doc"),
                                 records=[(6, rec.USER, {"text": "Now summarise the design doc", "steering": False})])
        ledger = UsageLedger()
        sonnet = find_model("claude-sonnet-4-6")
        ledger.add("claude-sonnet-4-6", Usage(input_tokens=2400, output_tokens=180, cache_read_tokens=9000), sonnet)
        ledger.add("claude-sonnet-4-6", Usage(input_tokens=300, output_tokens=60, cache_read_tokens=11000), sonnet)
        total = ledger.total
        await store.update_session(
            seed.id, turn_open=True, ledger=ledger.to_dict(), cost_usd=ledger.cost_usd,
            input_tokens=total.input_tokens, output_tokens=total.output_tokens, cache_read_tokens=total.cache_read_tokens,
        )
    finally:
        await store.aclose()


async def test_a_crashed_conversation_resumes_in_the_app(config: Any, app_factory: Any) -> None:
    from stoa.widgets.records import NoticeRecord, ToolRecord, UserRecord
    from tests.ui.conftest import wait_for

    await save_crashed_conversation(config)
    app = app_factory(sessions=True, continue_latest=True)
    async with app.run_test(size=(120, 40)):
        await wait_for(lambda: app.chat.ready, what="the resumed session")
        records = app.chat.log_view.records
        assert [r.text for r in records if isinstance(r, UserRecord)] == [
            "What does the README say?", "Now summarise the design doc"
        ]
        assert [r.status for r in records if isinstance(r, ToolRecord)] == ["ok"]
        titles = [r.title or "" for r in records if isinstance(r, NoticeRecord)]
        assert any(t.startswith("Resumed") and "3d 2h" in t for t in titles), titles
        assert "Interrupted" in titles
        assert app.runtime.agent.ledger.total.cache_read_tokens == 20_000
        history = app.runtime.agent.history.messages
        assert history[-1].text == "Now summarise the design doc"


def test_snapshot_resumed_conversation_with_away_summary(snap_compare: Any, config: Any, app_factory: Any) -> None:
    """`stoa -c` on a conversation saved 3 days ago that a crash cut short: the replayed log
    (prompt, folded thinking, reply, the read_file call, the answer, the second prompt), then a
    warning that Stoa stopped before the turn finished, and the away summary: "Resumed “What
    does the README say?” after 3d 2h away" with 6 messages · 2 prompts · 1 tool call · tokens
    and cost, and the interrupted banner. The status bar shows the restored cost."""
    from tests.ui.conftest import wait_for

    asyncio.run(save_crashed_conversation(config))
    app = app_factory(sessions=True, continue_latest=True)

    async def run_before(pilot: Any) -> None:
        await wait_for(lambda: app.chat.ready, what="the resumed session")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
