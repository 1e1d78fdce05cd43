"""The permission modal, on a tiny app that pushes it: every key, and a snapshot per variant
(bash command, edit with a diff, read outside the workspace, feedback entry, destructive)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from stoa.app.screens.permission import PermissionScreen
from stoa.core.permissions.approver import PermissionDecision, PermissionRequest

SIZE = (100, 32)

BASH = PermissionRequest(
    tool_name="execute_bash",
    call_id="call-1",
    kind="bash",
    target="git push origin main",
    reason="git push publishes to a remote",
    arguments={"command": "git push origin main"},
    suggested_rule="Bash(git push:*)",
)
EDIT = PermissionRequest(
    tool_name="edit_file",
    call_id="call-2",
    kind="edit",
    target="/home/dev/project/src/app.py",
    reason="edit_file makes changes and the session is in ask mode",
    preview=(
        "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,4 +1,4 @@\n import os\n-DEBUG = True\n+DEBUG = False\n"
        " \n def main() -> None:\n"
    ),
    suggested_rule="Write(/home/dev/project/src/app.py)",
)
OUTSIDE_READ = PermissionRequest(
    tool_name="read_file",
    call_id="call-3",
    kind="read",
    target="/etc/hosts",
    reason="reads a path outside the workspace: /etc/hosts",
    suggested_rule="Read(/etc/hosts)",
)
DESTRUCTIVE = PermissionRequest(
    tool_name="execute_bash",
    call_id="call-4",
    kind="destructive",
    target="rm -rf build dist",
    reason="rm deletes or destroys data",
    suggested_rule="Bash(rm -rf build dist)",
    can_remember=False,
)


class ModalApp(App[None]):
    """Pushes one permission screen over a placeholder chat and keeps the answer."""

    def __init__(self, request: PermissionRequest) -> None:
        super().__init__()
        self.request = request
        self.decisions: list[PermissionDecision | None] = []
        self.animation_level = "none"

    def compose(self) -> ComposeResult:
        yield Static("… the chat is underneath …")

    def on_mount(self) -> None:
        self.push_screen(PermissionScreen(self.request), self.decisions.append)


async def answer(request: PermissionRequest, *keys: str) -> tuple[ModalApp, list[PermissionDecision | None]]:
    app = ModalApp(request)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PermissionScreen)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
    return app, app.decisions


@pytest.mark.parametrize(
    ("key", "outcome"),
    [("y", "once"), ("a", "always"), ("s", "session"), ("n", "reject"), ("escape", "reject")],
)
async def test_keys(key: str, outcome: str) -> None:
    _, decisions = await answer(BASH, key)
    assert decisions == [PermissionDecision(outcome)]  # type: ignore[arg-type]


async def test_feedback_goes_with_the_rejection() -> None:
    _, decisions = await answer(BASH, "f", *"use the staging remote", "enter")
    assert decisions == [PermissionDecision("reject", feedback="use the staging remote")]


async def test_letters_typed_as_feedback_are_not_answers() -> None:
    app = ModalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f", "y", "a", "s", "n")
        await pilot.pause()
        assert app.decisions == []
        assert isinstance(app.screen, PermissionScreen)
        await pilot.press("enter")
        await pilot.pause()
    assert app.decisions == [PermissionDecision("reject", feedback="yasn")]


async def test_escape_leaves_feedback_then_answers_again() -> None:
    _, decisions = await answer(BASH, "f", "x", "escape", "y")
    assert decisions == [PermissionDecision("once")]


async def test_empty_feedback_is_a_plain_rejection() -> None:
    _, decisions = await answer(BASH, "f", "enter")
    assert decisions == [PermissionDecision("reject", feedback=None)]


async def test_destructive_requests_cannot_be_remembered() -> None:
    app = ModalApp(DESTRUCTIVE)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query("#answer-always") and not app.screen.query("#answer-session")
        await pilot.press("a", "s")
        await pilot.pause()
        assert app.decisions == [] and isinstance(app.screen, PermissionScreen)
        await pilot.press("y")
        await pilot.pause()
    assert app.decisions == [PermissionDecision("once")]


async def test_buttons_answer_too() -> None:
    app = ModalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#answer-session")
        await pilot.pause()
    assert app.decisions == [PermissionDecision("session")]


async def test_the_command_is_shown_exactly() -> None:
    tricky = PermissionRequest(
        tool_name="execute_bash",
        call_id="c",
        kind="bash",
        target="echo '[bold]not markup[/bold]' $'\\x72m' && ls",
        reason="uses quotes",
    )
    app = ModalApp(tricky)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = app.screen.query_one("#permission-target", Static)
        assert str(shown.render()) == tricky.target


def snap(snap_compare: Any, request: PermissionRequest, *keys: str) -> bool:
    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    return bool(snap_compare(ModalApp(request), terminal_size=SIZE, run_before=run_before))


def test_snapshot_permission_bash(snap_compare: Any) -> None:
    """A shell command: "Run this command?", the exact command `git push origin main` in a
    shaded box, "why git push publishes to a remote", "always adds Bash(git push:*)", and the
    five buttons Yes / Always / This session / No / No, say why."""
    assert snap(snap_compare, BASH)


def test_snapshot_permission_edit_with_diff(snap_compare: Any) -> None:
    """An edit in ask mode: "Apply this edit?", the file path, the reason, and a coloured diff
    with line numbers turning DEBUG = True into DEBUG = False."""
    assert snap(snap_compare, EDIT)


def test_snapshot_permission_outside_read(snap_compare: Any) -> None:
    """A read outside the workspace: "Read this?", /etc/hosts, the outside-the-workspace reason
    and "always adds Read(/etc/hosts)"."""
    assert snap(snap_compare, OUTSIDE_READ)


def test_snapshot_permission_feedback_entry(snap_compare: Any) -> None:
    """After f and some typing: the feedback line is open under the buttons with "use staging"
    typed in it."""
    assert snap(snap_compare, BASH, "f", *"use staging")


def test_snapshot_permission_destructive(snap_compare: Any) -> None:
    """A destructive one-off: red border, `rm -rf build dist`, "This one cannot be remembered",
    and only Yes / No / No, say why."""
    assert snap(snap_compare, DESTRUCTIVE)


def test_stylesheet_exists() -> None:
    css = Path(PermissionScreen.CSS_PATH)  # type: ignore[arg-type]
    assert css.is_file() and "PermissionScreen" in css.read_text()


# ---- in the real app, over the chat -------------------------------------------------------------


async def test_the_chat_asks_through_the_modal_and_remembers_for_the_session(
    app_factory: Any, fake_server: Any, workspace: Path
) -> None:
    """The model runs a network command twice: the first asks (modal, answered "s"), the
    second runs without asking; a rejection with feedback reaches the model as the result."""
    from tests.fake_server import reply, tool_call
    from tests.ui.conftest import wait_for, wait_idle

    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "curl --version > /dev/null; echo first"})]),
        reply(tool_calls=[tool_call("execute_bash", {"command": "curl --version > /dev/null; echo second"})]),
        reply(tool_calls=[tool_call("execute_bash", {"command": "rm -rf build"})]),
        reply(text="Done."),
    )
    (workspace / "build").mkdir()
    app = app_factory(mode="auto")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"check curl", "enter")
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the permission modal")
        assert app.screen.request.suggested_rule == "Bash(curl:*)"  # type: ignore[attr-defined]
        await pilot.press("s")
        # The second curl runs unasked; then rm -rf asks again (destructive, never remembered).
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the second modal")
        request = app.screen.request  # type: ignore[attr-defined]
        assert request.target == "rm -rf build" and not request.can_remember
        await pilot.press("f", *"keep the build folder", "enter")
        await wait_idle(app)
    assert (workspace / "build").is_dir()
    results = [r.text for r in fake_server.model_requests()[-1].tool_results]
    assert results[0].startswith("first\n[exit code 0")
    assert results[1].startswith("second\n[exit code 0")
    assert results[2] == "The user rejected this tool call and said: keep the build folder"
