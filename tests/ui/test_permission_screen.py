"""The permission modal, on a tiny app that pushes it: every key, and a snapshot per variant
(bash command, edit with a diff, read outside the workspace, feedback entry, destructive)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
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


class FakeClock:
    """A clock the test moves by hand (the grace period is measured on it)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ModalApp(App[None]):
    """Pushes one permission screen over a placeholder chat and keeps the answer. ``grace`` 0
    (the default here) takes answers as soon as the modal has been painted."""

    def __init__(self, request: PermissionRequest, *, grace: float = 0.0, clock: Any = None) -> None:
        super().__init__()
        self.request = request
        self.decisions: list[PermissionDecision | None] = []
        self.animation_level = "none"
        self.modal = PermissionScreen(request, grace=grace, **({"clock": clock} if clock else {}))

    def compose(self) -> ComposeResult:
        yield Static("… the chat is underneath …")

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.decisions.append)


async def ready(app: ModalApp) -> None:
    from tests.ui.conftest import wait_for

    await wait_for(lambda: app.modal.accepting_answers, what="the modal to take answers")


async def answer(request: PermissionRequest, *keys: str) -> tuple[ModalApp, list[PermissionDecision | None]]:
    app = ModalApp(request)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app)
        assert isinstance(app.screen, PermissionScreen)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
    return app, app.decisions


@pytest.mark.parametrize(
    ("key", "outcome"),
    [("1", "once"), ("2", "always"), ("3", "session"), ("4", "reject"), ("escape", "reject")],
)
async def test_digits_and_escape_answer(key: str, outcome: str) -> None:
    _, decisions = await answer(BASH, key)
    assert decisions == [PermissionDecision(outcome)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("keys", "outcome"),
    [(("down", "enter"), "once"), (("down", "down", "down", "enter"), "session"), (("up", "up", "enter"), "reject")],
)
async def test_arrows_then_enter_answer(keys: tuple[str, ...], outcome: str) -> None:
    _, decisions = await answer(BASH, *keys)
    assert decisions == [PermissionDecision(outcome)]  # type: ignore[arg-type]


async def test_enter_alone_never_answers() -> None:
    """Nothing is highlighted at first: an Enter meant for the message approves nothing."""
    app, decisions = await answer(BASH, "enter", "enter")
    assert decisions == [] and app.modal.typed_ahead == []


async def test_letters_never_answer_they_are_type_ahead() -> None:
    """y, a, s, n, f were the old answer keys: now they are text for the message."""
    app, decisions = await answer(BASH, *"yes sir", "n", "f")
    assert decisions == []
    assert "".join(app.modal.typed_ahead) == "yes sirnf"


async def test_keys_in_the_grace_period_go_to_the_message() -> None:
    """Until the keyboard has been quiet for the grace period, digits, Enter and Esc are typing
    too (each key restarts the wait); once it has, a digit answers."""
    clock = FakeClock()
    app = ModalApp(BASH, grace=0.4, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        modal = app.modal
        for key in ("3", "s", "enter", "escape", "1"):
            await pilot.press(key)
            clock.now += 0.3  # typing: never 0.4 s between two keys
        await pilot.pause()
        assert app.decisions == [] and not modal.accepting_answers
        assert modal.typed_ahead == ["3", "s", "enter", "1"]  # Esc is dropped, never sent on
        clock.now += 0.11  # quiet for 0.41 s since the last key
        assert modal.accepting_answers
        await pilot.press("2")
        await pilot.pause()
    assert app.decisions == [PermissionDecision("always")]


async def test_typing_again_after_the_grace_restarts_it() -> None:
    clock = FakeClock()
    app = ModalApp(BASH, grace=0.4, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        clock.now += 1
        assert app.modal.accepting_answers
        await pilot.press("o", "k")  # a person resuming their message
        await pilot.press("3")  # 0 s later: still typing
        await pilot.pause()
        assert app.decisions == [] and app.modal.typed_ahead == ["o", "k", "3"]
        clock.now += 0.5
        await pilot.press("escape")
        await pilot.pause()
    assert app.decisions == [PermissionDecision("reject")]


async def test_answers_wait_for_the_first_paint() -> None:
    clock = FakeClock()
    app = ModalApp(BASH, grace=0.0, clock=clock)
    async with app.run_test(size=SIZE):
        modal = app.modal
        modal.guard.painted = False  # as between mounting and the first frame
        assert not modal.accepting_answers
        modal._first_paint()
        assert modal.accepting_answers


async def test_a_paste_through_the_modal_is_type_ahead() -> None:
    app = ModalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app)
        app.modal.post_message(events.Paste("1\n2"))
        await pilot.pause()
        assert app.decisions == [] and app.modal.typed_ahead == ["1\n2"]


async def test_feedback_goes_with_the_rejection() -> None:
    _, decisions = await answer(BASH, "5", *"use the staging remote", "enter")
    assert decisions == [PermissionDecision("reject", feedback="use the staging remote")]


async def test_digits_typed_as_feedback_are_not_answers() -> None:
    app = ModalApp(BASH)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app)
        await pilot.press("5", "1", "2", "y", "escape")
        await pilot.pause()
        assert app.decisions == [] and isinstance(app.screen, PermissionScreen)
        await pilot.press("5")  # back in: what was typed is kept
        await pilot.pause()
        assert app.screen.query_one("#permission-feedback").value == "12y"  # type: ignore[attr-defined]
        await pilot.press(*" ok", "enter")
        await pilot.pause()
    assert app.decisions == [PermissionDecision("reject", feedback="12y ok")]


async def test_escape_leaves_feedback_then_answers_again() -> None:
    _, decisions = await answer(BASH, "5", "x", "escape", "1")
    assert decisions == [PermissionDecision("once")]


async def test_empty_feedback_is_a_plain_rejection() -> None:
    _, decisions = await answer(BASH, "5", "enter")
    assert decisions == [PermissionDecision("reject", feedback=None)]


async def test_destructive_requests_cannot_be_remembered() -> None:
    app = ModalApp(DESTRUCTIVE)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app)
        assert [a.choice for a in app.modal.answers] == ["once", "reject", "feedback"]
        await pilot.press("4", "5")  # no such answers
        await pilot.pause()
        assert app.decisions == [] and isinstance(app.screen, PermissionScreen)
        await pilot.press("1")
        await pilot.pause()
    assert app.decisions == [PermissionDecision("once")]


async def test_clicks_answer_but_not_during_the_grace_period() -> None:
    clock = FakeClock()
    app = ModalApp(BASH, grace=0.4, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#permission-answers", offset=(4, 0))  # the first answer
        await pilot.pause()
        assert app.decisions == []
        clock.now += 1
        await pilot.click("#permission-answers", offset=(4, 0))
        await pilot.pause()
    assert app.decisions == [PermissionDecision("once")]


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


LONG_DIFF = "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,60 +1,60 @@\n" + "".join(
    f"-value_{i} = {i}\n+value_{i} = {i * 10}\n" for i in range(60)
)
LONG_EDIT = PermissionRequest(
    tool_name="execute_bash",
    call_id="call-5",
    kind="bash",
    target="python3 - <<'EOF'\n" + "\n".join(f"print('step {i}', {i} * {i})" for i in range(40)) + "\nEOF",
    reason="inline code runs whatever it says; the command is long on purpose",
    preview=LONG_DIFF,
    suggested_rule="Bash(python3:*)",
)


async def test_at_80x24_the_answers_stay_in_view_and_the_preview_scrolls() -> None:
    """A long command and a long diff on a small terminal: every answer and the saved-rule text
    are on screen; PageDown scrolls the preview, never the answers."""
    app = ModalApp(LONG_EDIT)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app)
        await pilot.pause()
        screen = app.screen
        answers = screen.query_one("#permission-answers")
        box = screen.query_one("#permission-box")
        assert answers.region.bottom <= box.region.bottom - 1 and box.region.bottom <= 24
        assert answers.region.height >= len(app.modal.answers)
        body = screen.query_one("#permission-body")
        assert body.max_scroll_y > 0
        top = answers.region
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 0 and answers.region == top
        await pilot.press("2")
        await pilot.pause()
    assert app.decisions == [PermissionDecision("always")]


def snap(snap_compare: Any, request: PermissionRequest, *keys: str, size: tuple[int, int] = SIZE) -> bool:
    app = ModalApp(request)

    async def run_before(pilot: Any) -> None:
        await ready(app)
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


def test_snapshot_permission_bash(snap_compare: Any) -> None:
    """A shell command: "Run this command?", the exact command `git push origin main` in a
    shaded box, "why git push publishes to a remote", then the numbered answers 1 Yes, 2 Yes and
    always allow Bash(git push:*) (saved in .stoa/config.local.toml), 3 this session, 4 No (Esc),
    5 No and tell the model; none highlighted; the key hint in the bottom border."""
    assert snap(snap_compare, BASH)


def test_snapshot_permission_edit_with_diff(snap_compare: Any) -> None:
    """An edit in ask mode: "Apply this edit?", the file path, the reason, and a coloured diff
    with line numbers turning DEBUG = True into DEBUG = False, above the five answers."""
    assert snap(snap_compare, EDIT)


def test_snapshot_permission_outside_read(snap_compare: Any) -> None:
    """A read outside the workspace: "Read this?", /etc/hosts, the outside-the-workspace reason
    and answer 2 "always allow Read(/etc/hosts)"; the second answer highlighted (Down, Down)."""
    assert snap(snap_compare, OUTSIDE_READ, "down", "down")


def test_snapshot_permission_feedback_entry(snap_compare: Any) -> None:
    """After 5 and some typing: the feedback line is open under the answers with "use staging"
    typed in it, and the bottom border says Enter sends / Esc goes back."""
    assert snap(snap_compare, BASH, "5", *"use staging")


def test_snapshot_permission_destructive(snap_compare: Any) -> None:
    """A destructive one-off: red border, `rm -rf build dist`, "This one cannot be remembered",
    and only 1 Yes / 2 No / 3 No and tell the model."""
    assert snap(snap_compare, DESTRUCTIVE)


def test_snapshot_permission_80x24_long_command_and_diff(snap_compare: Any) -> None:
    """80x24 with a 42-line command and a 120-line diff: the command box shows its first lines
    with a scrollbar, the body (reason, diff) scrolls with its own scrollbar, and all five
    answers, including "always allow Bash(python3:*)", and the key hint are fully visible."""
    assert snap(snap_compare, LONG_EDIT, size=(80, 24))


def test_snapshot_permission_keys_typed_through(snap_compare: Any) -> None:
    """Keys typed while the modal waits for the keyboard to be quiet: an italic note under the
    answers says 4 keys typed went to the type-ahead buffer; nothing is answered."""
    clock = FakeClock()
    app = ModalApp(BASH, grace=0.4, clock=clock)

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        await pilot.press("s", "t", "1", "y")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_stylesheet_exists() -> None:
    css = Path(PermissionScreen.CSS_PATH)  # type: ignore[arg-type]
    assert css.is_file() and "PermissionScreen" in css.read_text()


# ---- in the real app, over the chat -------------------------------------------------------------


async def test_the_chat_asks_through_the_modal_and_remembers_for_the_session(
    app_factory: Any, fake_server: Any, workspace: Path
) -> None:
    """The model runs a network command twice: the first asks (modal, answered 3 "this
    session"), the second runs without asking; a rejection with feedback reaches the model."""
    from tests.fake_server import reply, tool_call
    from tests.ui.conftest import answer_permission, wait_for, wait_idle

    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "curl --version > /dev/null; echo first"})]),
        reply(tool_calls=[tool_call("execute_bash", {"command": "curl --version > /dev/null; echo second"})]),
        reply(tool_calls=[tool_call("execute_bash", {"command": "rm -rf build"})]),
        reply(text="Done."),
    )
    (workspace / "build").mkdir()
    app = app_factory(mode="auto")
    app.chat.permission_grace = 0.0
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"check curl", "enter")
        await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the permission modal")
        assert app.screen.request.suggested_rule == "Bash(curl:*)"  # type: ignore[attr-defined]
        await answer_permission(app, pilot, "3")
        # The second curl runs unasked; then rm -rf asks again (destructive, never remembered).
        await wait_for(
            lambda: isinstance(app.screen, PermissionScreen) and app.screen.request.target == "rm -rf build",
            what="the second modal",
        )
        assert not app.screen.request.can_remember  # type: ignore[attr-defined]
        await answer_permission(app, pilot, "3", *"keep the build folder", "enter")
        await wait_idle(app)
    assert (workspace / "build").is_dir()
    results = [r.text for r in fake_server.model_requests()[-1].tool_results]
    assert results[0].startswith("first\n[exit code 0")
    assert results[1].startswith("second\n[exit code 0")
    assert results[2] == "The user rejected this tool call and said: keep the build folder"


async def _type_through_the_prompt(app: Any, pilot: Any, text: str, after_open: int) -> str:
    """Press the keys of ``text`` one by one, in a tight loop, until the permission modal has
    been open for ``after_open`` keys (the text repeats as needed). Returns what was typed."""
    typed: list[str] = []
    open_for = 0
    index = 0
    while open_for < after_open:
        if len(typed) > 5_000:
            raise AssertionError("the permission modal never opened")
        char = text[index % len(text)]
        index += 1
        await pilot.press("space" if char == " " else char)
        typed.append(char)
        if isinstance(app.screen, PermissionScreen):
            open_for += 1
    return "".join(typed)


async def test_typing_through_the_moment_the_prompt_opens_answers_nothing(
    app_factory: Any, fake_server: Any, workspace: Path
) -> None:
    """The reported case, with the real grace period: the person sends a message and goes on
    typing a follow-up ("style ...") while the reply asks to write a file. The prompt pops up
    mid-word; the letters (s, y, a, n, f were once answers) all land in the composer, the file
    is not written, and the prompt waits until a deliberate answer (here Esc)."""
    from stoa.app.screens.permission import GRACE_SECONDS
    from tests.fake_server import reply, tool_call
    from tests.ui.conftest import answer_permission, wait_idle

    assert GRACE_SECONDS == pytest.approx(0.4)
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "style.css", "content": "body { color: red }\n"})]),
        reply(text="Not written."),
    )
    app = app_factory(mode="ask")
    assert app.chat.permission_grace is None  # the real default
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"make the page red", "enter")
        typed = await _type_through_the_prompt(app, pilot, "style it with sass yes and fancy fonts ", after_open=40)
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, PermissionScreen)
        assert not (workspace / "style.css").exists()
        assert app.chat.composer.text == typed
        assert modal.typed_ahead == []  # it all went to the composer, none of it kept back
        await answer_permission(app, pilot, "escape")
        await wait_idle(app)
        assert app.chat.composer.text.startswith(typed)
    assert not (workspace / "style.css").exists()


async def test_digits_and_answer_letters_typed_through_the_prompt_are_text(
    app_factory: Any, fake_server: Any, workspace: Path
) -> None:
    """While the person keeps typing, digits are text too: "1" and "3" typed through the
    opening prompt are in the composer, nothing ran. (A long grace keeps this deterministic.)"""
    from tests.fake_server import reply, tool_call
    from tests.ui.conftest import answer_permission, wait_idle

    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "touch made-by-the-agent"})]),
        reply(text="Not run."),
    )
    app = app_factory(mode="ask")
    app.chat.permission_grace = 3600.0
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"go", "enter")
        typed = await _type_through_the_prompt(app, pilot, "fix 1 or 3 bugs y s a ", after_open=30)
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, PermissionScreen)
        assert app.chat.composer.text == typed
        assert not (workspace / "made-by-the-agent").exists()
        modal.guard.grace = 0.0
        await answer_permission(app, pilot, "4")
        await wait_idle(app)
    assert not (workspace / "made-by-the-agent").exists()
