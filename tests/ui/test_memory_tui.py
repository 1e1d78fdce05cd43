"""Memory in the TUI: a ``#`` message asks where to save the note (no model request), Esc and
failures give it back to the editor, "send" sends it after all; /memory lists the files and
edits one in Stoa's editor (or $EDITOR, in a real terminal); /init runs a turn in ask mode
whose AGENTS.md comes as a diff to approve. Snapshots of the three screens."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from stoa.app.screens.memory import MemoryEditorScreen, MemoryListScreen, MemoryScopeScreen
from stoa.app.screens.permission import PermissionScreen
from stoa.widgets.records import NoticeRecord
from tests.fake_server import FakeServer, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, answer_permission, answer_question, wait_for, wait_idle


def notices(app: Any, title: str | None = None) -> list[NoticeRecord]:
    return [r for r in app.chat.log_view.records if isinstance(r, NoticeRecord) and (title is None or r.title == title)]


async def type_and_send(app: Any, pilot: Any, text: str) -> None:
    await wait_for(lambda: app.chat.ready, what="the session")
    app.chat.composer.set_text(text)
    app.chat.composer.focus_input()
    await pilot.pause()
    await pilot.press("enter")


async def scope_modal(app: Any, pilot: Any) -> MemoryScopeScreen:
    """The open memory question, once it takes answers (painted, the keyboard quiet)."""
    await wait_for(lambda: isinstance(app.screen, MemoryScopeScreen), what="the memory modal")
    await wait_for(lambda: app.screen.accepting_answers, what="the memory modal to take answers")
    return app.screen  # type: ignore[no-any-return]


async def test_a_hash_note_is_saved_where_the_person_says(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(app, pilot, "# I prefer pytest's plain asserts")
        screen = await scope_modal(app, pilot)
        assert screen.note == "I prefer pytest's plain asserts"
        await pilot.press("2")
        await wait_for(lambda: bool(notices(app, "Memory")), what="the saved notice")
        assert (workspace / ".stoa" / "instructions.md").read_text() == "- I prefer pytest's plain asserts\n"
        assert "instructions.md" in (workspace / ".stoa" / ".gitignore").read_text()
        assert notices(app, "Memory")[0].text.startswith("Saved to .stoa/instructions.md (personal memory):")
        assert app.chat.composer.text == ""
        # The project file with arrows and Enter.
        await type_and_send(app, pilot, "#Run make check before committing")
        await scope_modal(app, pilot)
        await pilot.press("down", "enter")
        await wait_for(lambda: len(notices(app, "Memory")) == 2, what="the second notice")
        assert (workspace / "AGENTS.md").read_text() == "- Run make check before committing\n"
    assert fake_server.model_requests() == []


async def test_esc_and_a_failure_give_the_note_back_and_send_sends_it(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "AGENTS.md").mkdir()  # cannot be written: a folder where the file should be
    fake_server.script(reply(text="A heading, then."))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(app, pilot, "# keep me")
        await scope_modal(app, pilot)
        await pilot.press("escape")
        await wait_for(lambda: app.chat.composer.text == "# keep me", what="the note back in the editor")
        app.chat.composer.set_text("")
        await type_and_send(app, pilot, "# keep me too")
        await scope_modal(app, pilot)
        await pilot.press("1")
        await wait_for(lambda: bool(notices(app, "Memory")), what="the error")
        error = notices(app, "Memory")[0]
        assert error.level == "error"
        assert f"cannot write AGENTS.md ({workspace / 'AGENTS.md'}): it is a folder, not a file" in error.text
        assert app.chat.composer.text == "# keep me too"
        app.chat.composer.set_text("")
        await type_and_send(app, pilot, "# Title of a message")
        await scope_modal(app, pilot)
        await pilot.press("4")
        await wait_idle(app)
        [request] = fake_server.model_requests()
        assert request.user_texts[-1] == "# Title of a message"


async def test_memory_lists_the_files_and_edits_one_in_stoas_editor(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "AGENTS.md").write_text("# Rules\n@docs/missing.md\n")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        app.chat.run_slash("/memory")
        await wait_for(lambda: isinstance(app.screen, MemoryListScreen), what="the list")
        listing = app.screen
        assert isinstance(listing, MemoryListScreen)
        assert [f.label for f in listing.files] == ["AGENTS.md", ".stoa/instructions.md", "~/stoa-home/AGENTS.md"]
        assert any("@docs/missing.md: no such file" in w for w in listing.warnings)
        await answer_question(app, pilot, "1")
        await wait_for(lambda: isinstance(app.screen, MemoryEditorScreen), what="the editor")
        editor = app.screen
        assert isinstance(editor, MemoryEditorScreen) and editor.text == "# Rules\n@docs/missing.md\n"
        await pilot.press(*"- Use uv")  # the cursor starts at the end
        await pilot.press("escape")  # unsaved: asks for a second Esc first
        assert isinstance(app.screen, MemoryEditorScreen)
        await pilot.press("ctrl+s")
        assert (workspace / "AGENTS.md").read_text() == "# Rules\n@docs/missing.md\n- Use uv"
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, MemoryEditorScreen), what="the editor to close")
        await wait_for(lambda: any("AGENTS.md: saved (3 lines)" in n.text for n in notices(app)), what="the notice")
        # /memory global: straight to the file, created on save.
        app.chat.run_slash("/memory global")
        await wait_for(lambda: isinstance(app.screen, MemoryEditorScreen), what="the global file")
        await pilot.press(*"Answer in English. @gone/prefs.md", "ctrl+s", "escape")
        await wait_for(lambda: not isinstance(app.screen, MemoryEditorScreen), what="the editor to close")
        assert (app.runtime.config.paths.config_dir / "AGENTS.md").read_text() == "Answer in English. @gone/prefs.md"
        # What the new text gets wrong shows at once.
        await wait_for(lambda: any(n.title == "Instructions" and "@gone/prefs.md: no such file" in n.text
                                   for n in notices(app)), what="the import warning")
        app.chat.run_slash("/memory team")
        await wait_for(lambda: any("unknown memory file 'team'" in n.text for n in notices(app)), what="the error")


async def test_an_editor_that_cannot_take_the_terminal_falls_back_to_stoas_editor(
    tmp_path: Path, app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    """The Pilot's driver cannot hand the terminal over: Stoa's editor opens, and says why."""
    from stoa.core.config import load_config
    from tests.ui.conftest import make_env

    config = load_config(workspace, env={**make_env(tmp_path, fake_server), "EDITOR": "vi"})
    app = app_factory(config)
    async with app.run_test(size=SIZE):
        await wait_for(lambda: app.chat.ready, what="the session")
        app.chat.run_slash("/memory project")
        await wait_for(lambda: isinstance(app.screen, MemoryEditorScreen), what="the fallback editor")
        assert any("cannot be handed to vi" in n.text for n in notices(app))


async def test_init_asks_with_the_diff_then_writes_agents_md(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "pyproject.toml"})]),
        reply(tool_calls=[tool_call("write_file", {"path": "AGENTS.md", "content": "# Demo\n\nTest: `pytest`\n"})]),
        reply(text="Wrote AGENTS.md."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        assert app.runtime.policy.mode == "auto"
        app.chat.run_slash("/init")
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the question")
        question = app.screen
        assert isinstance(question, PermissionScreen)
        assert question.request.tool_name == "write_file" and "+Test: `pytest`" in (question.request.preview or "")
        await answer_permission(app, pilot, "1")
        await wait_idle(app)
        assert (workspace / "AGENTS.md").read_text() == "# Demo\n\nTest: `pytest`\n"
        assert app.runtime.policy.mode == "auto"  # the ask mode was for that turn only
    first = fake_server.model_requests()[0]
    assert "Study this repository and write AGENTS.md" in first.user_texts[-1]
    assert "There is no AGENTS.md yet" in first.user_texts[-1]


# ---- snapshots ----------------------------------------------------------------------------------


def test_memory_scope_snapshot(app_factory: AppFactory, fake_server: FakeServer, snap_compare: Any) -> None:
    """Where a # note goes: project (AGENTS.md, the default), personal, global, or send it."""

    async def run_before(pilot: Any) -> None:
        await type_and_send(pilot.app, pilot, "# Use uv, not pip, for everything Python")
        await scope_modal(pilot.app, pilot)

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_memory_list_snapshot(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, snap_compare: Any
) -> None:
    """/memory: the three memory files (AGENTS.md with 3 lines, the others not created yet), an
    imported file that is also in the system prompt, and the warning of a missing import."""
    (workspace / "AGENTS.md").write_text("# Rules\nSee @docs/style.md and @docs/gone.md\n- Use uv\n")
    (workspace / "docs").mkdir()
    (workspace / "docs" / "style.md").write_text("Four spaces.\n")

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(lambda: app.chat.ready, what="the session")
        app.chat.run_slash("/memory")
        await wait_for(lambda: isinstance(app.screen, MemoryListScreen), what="the list")
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_memory_editor_snapshot(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path, snap_compare: Any
) -> None:
    """Stoa's editor on AGENTS.md, after an Esc with unsaved changes (the second Esc discards)."""
    (workspace / "AGENTS.md").write_text("# Rules\n\n- Run make check\n")

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(lambda: app.chat.ready, what="the session")
        app.chat.run_slash("/memory project")
        await wait_for(lambda: isinstance(app.screen, MemoryEditorScreen), what="the editor")
        await pilot.press(*"- Use uv", "escape")
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


# ---- a real terminal ------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux to run the app in a terminal")
def test_memory_opens_editor_in_a_real_terminal(tmp_path: Path, fake_server: FakeServer) -> None:
    from tests.bench.tui_harness import TmuxStoa

    editor = tmp_path / "fake-editor"
    editor.write_text('#!/bin/sh\nprintf -- "- written by the editor\\n" >> "$1"\n')
    editor.chmod(0o755)

    class WithEditor(TmuxStoa):
        def env(self) -> dict[str, str]:
            return {**super().env(), "EDITOR": str(editor)}

    app = WithEditor(tmp_path, fake_server.base_url)
    (app.workspace / "AGENTS.md").write_text("# Rules\n")
    app.start()
    try:
        app.wait_for_text("Message Stoa", timeout=60)
        app.send_keys("/memory project", literal=True)
        app.wait_for_text("/memory project", timeout=60)  # typed, not lost to a start-up moment
        app.send_keys("Enter")
        app.wait_for_text("AGENTS.md: saved (2 lines)", timeout=90)
        assert (app.workspace / "AGENTS.md").read_text() == "# Rules\n- written by the editor\n"
    finally:
        app.stop()


async def test_remember_asks_in_ask_mode_with_the_diff_and_shows_what_it_wrote(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    from stoa.widgets.records import ToolRecord

    (workspace / "AGENTS.md").write_text("# Rules\n")
    fake_server.script(
        reply(tool_calls=[tool_call("remember", {"note": "Use uv, not pip"})]),
        reply(text="I will remember."),
    )
    app = app_factory(mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(app, pilot, "remember that we use uv")
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the question")
        question = app.screen
        assert isinstance(question, PermissionScreen)
        assert question.request.tool_name == "remember"
        assert question.request.target.endswith("AGENTS.md")
        assert "+- Use uv, not pip" in (question.request.preview or "")
        await answer_permission(app, pilot, "1")
        await wait_idle(app)
        assert (workspace / "AGENTS.md").read_text() == "# Rules\n- Use uv, not pip\n"
        [row] = [r for r in app.chat.log_view.records if isinstance(r, ToolRecord) and r.name == "remember"]
        assert row.display is not None and row.display["kind"] == "diff"
        assert "+- Use uv, not pip" in row.display["diff"]
