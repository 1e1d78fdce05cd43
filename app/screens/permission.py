"""The permission modal: a person approves or rejects one tool call.

Pushed over the chat by the chat screen's permission worker with a
``core.permissions.approver.PermissionRequest``; dismisses with a ``PermissionDecision``.
It shows the tool, the exact command or path (never reformatted), the reason it asks, and a
diff preview for edits. Keys:

    y  approve once
    a  always: persist the narrowest rule (e.g. Bash(git push:*)) to .stoa/config.local.toml
    s  approve for this session
    n  reject (Esc too)
    f  reject with feedback: a line of text that goes to the model as the tool result

"a" and "s" are not offered when the request cannot be remembered (destructive one-offs).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from stoa.core.permissions.approver import Outcome, PermissionDecision, PermissionRequest
from stoa.widgets.diff_view import DiffView

STYLES = Path(__file__).resolve().parent.parent.parent / "styles"

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


ANSWER_KEYS = "y yes · a always · s session · n/Esc no · f feedback"
ANSWER_KEYS_ONCE = "y yes · n/Esc no · f feedback"
FEEDBACK_KEYS = "Enter sends the feedback · Esc goes back"


def _looks_like_diff(text: str) -> bool:
    return any(line.startswith(("@@", "--- ", "+++ ")) for line in text.splitlines()[:20])


class PermissionScreen(ModalScreen[PermissionDecision]):
    """Ask one question about one tool call; answer with y / a / s / n / Esc / f."""

    CSS_PATH = STYLES / "permission.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('once')", "Yes, once"),
        Binding("a", "answer('always')", "Always"),
        Binding("s", "answer('session')", "This session"),
        Binding("n", "answer('reject')", "No"),
        Binding("f", "feedback", "No, and say why"),
        Binding("escape", "escape", "Reject", show=False),
    ]
    AUTO_FOCUS = None

    def __init__(self, request: PermissionRequest) -> None:
        super().__init__()
        self.request = request
        self.feedback_open = False

    # ---- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        request = self.request
        kind = request.kind if request.kind in QUESTIONS else "other"
        with Vertical(id="permission-box", classes=f"kind-{kind}") as box:
            box.border_title = f"Permission · {request.tool_name}"
            box.border_subtitle = self._keys()
            yield Static(QUESTIONS[kind], id="permission-question")
            label = "command" if request.tool_name == "execute_bash" else TARGET_LABELS[kind]
            yield Static(label, classes="permission-label")
            with VerticalScroll(id="permission-target-box"):
                yield Static(Text(request.target, no_wrap=False), id="permission-target", markup=False)
            if request.reason:
                yield Static(Text.assemble(("why  ", "bold"), request.reason), id="permission-reason")
            if request.preview:
                with VerticalScroll(id="permission-preview"):
                    if _looks_like_diff(request.preview):
                        yield DiffView(request.preview, max_lines=300)
                    else:
                        yield Static(Text(request.preview), markup=False)
            if request.can_remember and request.suggested_rule:
                yield Static(
                    Text.assemble(
                        ("always adds  ", "dim"), (request.suggested_rule, "bold"), ("  to .stoa/config.local.toml", "dim")
                    ),
                    id="permission-rule",
                )
            elif not request.can_remember:
                yield Static("This one cannot be remembered: it asks every time.", id="permission-rule")
            with Horizontal(id="permission-buttons"):
                yield Button("Yes (y)", id="answer-once", variant="success", compact=True)
                if request.can_remember:
                    yield Button("Always (a)", id="answer-always", variant="primary", compact=True)
                    yield Button("This session (s)", id="answer-session", variant="primary", compact=True)
                yield Button("No (n)", id="answer-reject", variant="error", compact=True)
                yield Button("No, say why (f)", id="answer-feedback", variant="default", compact=True)
            yield Input(
                placeholder="Tell the model why, or what to do instead (Enter sends, Esc goes back)",
                id="permission-feedback",
            )

    def _keys(self) -> str:
        return ANSWER_KEYS if self.request.can_remember else ANSWER_KEYS_ONCE

    def on_mount(self) -> None:
        feedback = self.query_one("#permission-feedback", Input)
        feedback.cursor_blink = False
        feedback.display = False

    # ---- answers ------------------------------------------------------------------------------

    def action_answer(self, outcome: Outcome) -> None:
        if self.feedback_open:
            return
        if outcome in ("always", "session") and not self.request.can_remember:
            self.notify("This request cannot be remembered; answer y or n.", severity="warning")
            return
        self.dismiss(PermissionDecision(outcome))

    def action_feedback(self) -> None:
        if self.feedback_open:
            return
        self.feedback_open = True
        box = self.query_one("#permission-box")
        box.add_class("with-feedback")
        box.border_subtitle = FEEDBACK_KEYS
        feedback = self.query_one("#permission-feedback", Input)
        feedback.display = True
        feedback.focus()

    def action_escape(self) -> None:
        if self.feedback_open:
            self.feedback_open = False
            box = self.query_one("#permission-box")
            box.remove_class("with-feedback")
            box.border_subtitle = self._keys()
            feedback = self.query_one("#permission-feedback", Input)
            feedback.display = False
            self.set_focus(None)
            return
        self.dismiss(PermissionDecision("reject"))

    @on(Input.Submitted, "#permission-feedback")
    def _send_feedback(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.dismiss(PermissionDecision("reject", feedback=text or None))

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        answer = (event.button.id or "").removeprefix("answer-")
        if answer == "feedback":
            self.action_feedback()
        elif answer in ("once", "always", "session", "reject"):
            self.action_answer(answer)  # type: ignore[arg-type]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While typing feedback, letters are text, not answers.
        if self.feedback_open and action in ("answer", "feedback"):
            return False
        return True
