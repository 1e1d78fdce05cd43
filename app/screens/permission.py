"""The permission modal: a person approves or rejects one tool call.

Pushed over the chat by the chat screen's permission worker with a
``core.permissions.approver.PermissionRequest``; dismisses with a ``PermissionDecision``.
It shows the tool, the exact command or path (never reformatted), the reason it asks, and a
diff preview for edits, above a numbered list of answers:

    1  Yes                                   once
    2  Yes, and always allow RULE            persists the narrowest rule to .stoa/config.local.toml
    3  Yes, for the rest of this session
    4  No                                    (Esc too)
    5  No, and tell the model what to do     a line of text that goes to the model

("always" and "session" are left out when the request cannot be remembered: destructive
one-offs.) An answer is a deliberate choice: Up/Down then Enter, or the answer's digit. Letters
never answer: a person typing a follow-up while the agent works must not approve anything with
the next letter of a word (an "s" from "style" used to mean "this session").

Type-ahead. The modal takes no answer until it has been painted and the keyboard has been quiet
for ``GRACE_SECONDS`` (0.4 s) since it appeared; every key typed before that, and every key typed
while the person keeps typing (each one restarts the wait), belongs to the message being written:
it goes to the ``type_ahead`` target (the chat's composer), or is kept in ``typed_ahead``. Letters
typed later also go there and restart the wait. Esc rejects only once answers are taken.

Only the preview scrolls (PageUp/PageDown, the mouse wheel): the answers always stay in view,
down to an 80x24 terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from stoa.app.screens.questions import GRACE_SECONDS, AnswerGuard, TypeAheadTarget
from stoa.core.permissions.approver import Outcome, PermissionDecision, PermissionRequest
from stoa.styles import STYLES
from stoa.widgets.diff_view import DiffView

QUESTIONS = {
    "bash": "Run this command?",
    "write": "Write this file?",
    "edit": "Apply this edit?",
    "patch": "Apply this patch?",
    "create": "Create this directory?",
    "move": "Move this?",
    "copy": "Copy this?",
    "read": "Read this?",
    "mcp": "Call this MCP tool?",
    "network": "Fetch this?",
    "destructive": "Allow this destructive operation?",
    "other": "Allow this tool call?",
}
TARGET_LABELS = {
    "bash": "command",
    "write": "file",
    "edit": "file",
    "patch": "files",
    "create": "directory",
    "move": "path",
    "copy": "path",
    "read": "path",
    "mcp": "tool",
    "network": "url",
    "destructive": "target",
    "other": "target",
}


ANSWER_HINT = "↑↓ Enter or 1-{n} answer · Esc no · PgUp/PgDn scroll"
FEEDBACK_HINT = "Enter sends the feedback · Esc goes back"
# Keys that scroll the preview (never answers).
SCROLL_KEYS = frozenset({"pageup", "pagedown", "home", "end"})


@dataclass(frozen=True)
class Answer:
    """One choice of the answer list: what it decides and how it reads."""

    choice: Literal["once", "always", "session", "reject", "feedback"]
    label: Text


def answers_for(request: PermissionRequest) -> list[Answer]:
    """The answers offered for a request, in the order their digits name them."""
    answers = [Answer("once", Text("Yes"))]
    if request.can_remember:
        if request.suggested_rule:
            always = Text.assemble(
                "Yes, and always allow ",
                (request.suggested_rule, "bold"),
                ("\nsaved in .stoa/config.local.toml", "dim"),
            )
        else:
            always = Text("Yes, and don't ask again")
        answers.append(Answer("always", always))
        answers.append(Answer("session", Text("Yes, for the rest of this session")))
    answers.append(Answer("reject", Text.assemble("No", ("  Esc", "dim"))))
    answers.append(Answer("feedback", Text("No, and tell the model what to do instead")))
    return answers


def _numbered(index: int, label: Text) -> Table:
    """``N  label``, the label's wrapped and second lines aligned under its first."""
    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(str(index), style="bold"), label)
    return grid


def _looks_like_diff(text: str) -> bool:
    return any(line.startswith(("@@", "--- ", "+++ ")) for line in text.splitlines()[:20])


class PermissionScreen(ModalScreen[PermissionDecision]):
    """Ask one question about one tool call; answer with Up/Down + Enter, a digit, or Esc."""

    CSS_PATH = STYLES / "permission.tcss"
    AUTO_FOCUS = ""  # nothing: keys reach the screen, which decides what they mean

    def __init__(
        self,
        request: PermissionRequest,
        *,
        grace: float = GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        type_ahead: TypeAheadTarget | None = None,
    ) -> None:
        super().__init__()
        self.request = request
        self.guard = AnswerGuard(grace=grace, clock=clock)
        self.clock = clock
        self.type_ahead = type_ahead
        # Keys typed through the modal when there is no type-ahead target (key names or text).
        self.typed_ahead: list[str] = []
        self.answers = answers_for(request)
        self.feedback_open = False
        self._forwarded = 0

    # ---- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        request = self.request
        kind = request.kind if request.kind in QUESTIONS else "other"
        with Vertical(id="permission-box", classes=f"kind-{kind}") as box:
            box.border_title = f"Permission · {request.tool_name}"
            box.border_subtitle = self._hint()
            with VerticalScroll(id="permission-body") as body:
                body.can_focus = False
                if request.agent:  # a sub-agent asks, not the conversation itself
                    yield Static(Text.assemble(("asked by  ", "bold"), request.agent), id="permission-agent")
                yield Static(QUESTIONS[kind], id="permission-question")
                label = "command" if request.tool_name == "execute_bash" else TARGET_LABELS[kind]
                yield Static(label, classes="permission-label")
                with VerticalScroll(id="permission-target-box") as target_box:
                    target_box.can_focus = False
                    yield Static(Text(request.target, no_wrap=False), id="permission-target", markup=False)
                if request.reason:
                    yield Static(Text.assemble(("why  ", "bold"), request.reason), id="permission-reason")
                if request.preview:
                    with Vertical(id="permission-preview"):
                        if _looks_like_diff(request.preview):
                            # A patch as sent (apply_patch) has no line numbers to show.
                            numbered = not request.preview.lstrip().startswith("*** Begin Patch")
                            yield DiffView(request.preview, max_lines=300, numbers=numbered)
                        else:
                            yield Static(Text(request.preview), markup=False)
            if not request.can_remember:
                yield Static("This one cannot be remembered: it asks every time.", id="permission-rule")
            options = OptionList(
                *(Option(_numbered(index, answer.label), id=answer.choice) for index, answer in enumerate(self.answers, 1)),
                id="permission-answers",
            )
            options.can_focus = False
            options.highlighted = None
            yield options
            yield Static("", id="permission-typeahead")
            yield Input(
                placeholder="Tell the model why, or what to do instead (Enter sends, Esc goes back)",
                id="permission-feedback",
                select_on_focus=False,  # coming back to it keeps typing where it was
            )

    def _hint(self) -> str:
        return ANSWER_HINT.format(n=len(self.answers))

    def on_mount(self) -> None:
        feedback = self.query_one("#permission-feedback", Input)
        feedback.cursor_blink = False
        feedback.display = False
        self.query_one("#permission-typeahead").display = False
        self.query_one("#permission-answers", OptionList).highlighted = None
        self._fit()
        self.call_after_refresh(self._first_paint)

    def _first_paint(self) -> None:
        self.guard.mark_painted()
        self._fit()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """Give the scrolling body whatever height the answers leave (the answers never scroll)."""
        if not self.is_mounted:
            return
        box = self.query_one("#permission-box")
        body = self.query_one("#permission-body")
        fixed = 2  # the box's border
        for child in box.children:
            if child is body or not child.display:
                continue
            margin = child.styles.margin
            fixed += child.outer_size.height + margin.top + margin.bottom
        room = self.size.height - 2 - fixed  # the box keeps a line free above and below
        body.styles.max_height = max(3, room)

    # ---- the keyboard -------------------------------------------------------------------------

    @property
    def accepting_answers(self) -> bool:
        """True once the modal has been painted and the keyboard quiet for the grace period."""
        return self.guard.accepting

    async def on_key(self, event: events.Key) -> None:
        if self.feedback_open:
            if event.key == "escape":
                event.stop()
                event.prevent_default()
                self._close_feedback()
            return  # the feedback line takes the rest (Enter is its own binding)
        event.stop()
        event.prevent_default()
        key = event.key
        if key in SCROLL_KEYS:
            self._scroll(key)
            return
        if not self.accepting_answers:
            self._typed_through(key, event.character)
            return
        options = self.query_one("#permission-answers", OptionList)
        if key in ("up", "down"):
            if options.highlighted is None:
                options.highlighted = 0 if key == "down" else len(self.answers) - 1
            elif key == "down":
                options.action_cursor_down()
            else:
                options.action_cursor_up()
        elif key == "enter":
            if options.highlighted is None:
                self._say_how()
            else:
                self._choose(self.answers[options.highlighted].choice)
        elif key == "escape":
            self._choose("reject")
        elif key.isdigit() and 1 <= int(key) <= len(self.answers):
            self._choose(self.answers[int(key) - 1].choice)
        else:
            self._typed_through(key, event.character)

    def on_paste(self, event: events.Paste) -> None:
        if self.feedback_open:
            return
        event.stop()
        event.prevent_default()
        self.guard.typing()
        if self.type_ahead is not None:
            self.type_ahead.take_paste(event.text)
        else:
            self.typed_ahead.append(event.text)
        self._count_forwarded()

    def _typed_through(self, key: str, character: str | None) -> None:
        """A key that is not an answer: the person is typing their message. It goes to the
        message, and the modal waits for the keyboard to be quiet again."""
        self.guard.typing()
        if key == "escape" or key in ("up", "down", "left", "right", "tab", "shift+tab"):
            return  # not text, and never an answer while typing: dropped
        taken = self.type_ahead.take_key(key, character) if self.type_ahead is not None else False
        if not taken and self.type_ahead is None and (character or key == "enter"):
            self.typed_ahead.append(character if character and character.isprintable() else key)
            taken = True
        if taken:
            self._count_forwarded()

    def _count_forwarded(self) -> None:
        self._forwarded += 1
        note = self.query_one("#permission-typeahead", Static)
        where = "your message" if self.type_ahead is not None else "the type-ahead buffer"
        note.update(
            Content.assemble(
                (f"{self._forwarded} key{'s' if self._forwarded != 1 else ''} typed went to {where}", "italic"),
                (" · answers are taken once you stop typing", "dim"),
            )
        )
        if not note.display:
            note.display = True
            self.call_after_refresh(self._fit)

    def _say_how(self) -> None:
        self.notify(f"Choose an answer first: ↑↓ then Enter, or 1-{len(self.answers)}", timeout=2)

    def _scroll(self, key: str) -> None:
        body = self.query_one("#permission-body", VerticalScroll)
        if key == "pageup":
            body.scroll_page_up(animate=False)
        elif key == "pagedown":
            body.scroll_page_down(animate=False)
        elif key == "home":
            body.scroll_home(animate=False)
        else:
            body.scroll_end(animate=False)

    # ---- answers ------------------------------------------------------------------------------

    def _choose(self, choice: str) -> None:
        if choice == "feedback":
            self._open_feedback()
            return
        if choice in ("always", "session") and not self.request.can_remember:
            return  # never offered; a stale digit cannot reach it either
        self.dismiss(PermissionDecision(cast(Outcome, choice)))

    @on(OptionList.OptionSelected, "#permission-answers")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.feedback_open or not self.accepting_answers:
            return  # a click during the grace period is as unintended as a key
        if event.option.id:
            self._choose(event.option.id)

    def _open_feedback(self) -> None:
        self.feedback_open = True
        box = self.query_one("#permission-box")
        box.add_class("with-feedback")
        box.border_subtitle = FEEDBACK_HINT
        feedback = self.query_one("#permission-feedback", Input)
        feedback.display = True
        feedback.focus()
        self.call_after_refresh(self._fit)

    def _close_feedback(self) -> None:
        self.feedback_open = False
        box = self.query_one("#permission-box")
        box.remove_class("with-feedback")
        box.border_subtitle = self._hint()
        feedback = self.query_one("#permission-feedback", Input)
        feedback.display = False
        self.set_focus(None)
        self.call_after_refresh(self._fit)

    @on(Input.Submitted, "#permission-feedback")
    def _send_feedback(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.dismiss(PermissionDecision("reject", feedback=text or None))
