"""Questions a person answers from a numbered list, safe from type-ahead.

A question that pops up while the person types must not take their next keystroke as its answer
(issue 11: a letter of a word approved a tool call). Two owners here:

``AnswerGuard``: no answer is taken until the question has been painted and the keyboard has
been quiet for ``GRACE_SECONDS`` since it appeared; every key before that (and each key while
the person keeps typing restarts the wait) belongs to the message being written.

``ChoiceQuestion``: a modal answered from a numbered ``OptionList`` (Up/Down then Enter, or the
option's digit; Esc cancels), guarded by an ``AnswerGuard``. Keys typed through it go to the
chat's composer under it (``TypeAheadTarget``), never lost; letters never answer. The list
never takes focus, so the screen decides what each key means. Used by the undo conflict and
rewind questions, the memory scope question and the project hooks question; the permission
modal (``permission.py``) has its own keyboard handling on the same guard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from textual import events, on
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList

# How long the keyboard must be quiet, after a question is painted, before a key can answer.
GRACE_SECONDS = 0.4
_NOT_TEXT = frozenset({"escape", "up", "down", "left", "right", "tab", "shift+tab"})



class TypeAheadTarget(Protocol):
    """Where keys typed through a question go (the chat's composer)."""

    def take_key(self, key: str, character: str | None) -> bool: ...

    def take_paste(self, text: str) -> None: ...


class AnswerGuard:
    """Whether a question may take an answer yet (see the module doc)."""

    def __init__(self, *, grace: float = GRACE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace = grace
        self.clock = clock
        self.painted = False
        # When the keyboard last did something that was not an answer (the grace starts here).
        self.last_typing = clock()

    def mark_painted(self) -> None:
        self.painted = True
        self.last_typing = max(self.last_typing, self.clock())

    def typing(self) -> None:
        self.last_typing = self.clock()

    @property
    def accepting(self) -> bool:
        return self.painted and self.clock() - self.last_typing >= self.grace


def composer_under(screen: ModalScreen[Any]) -> TypeAheadTarget | None:
    """The chat composer a question covers, if the app has one."""
    chat = getattr(screen.app, "chat", None)
    composer = getattr(chat, "composer", None)
    return composer if hasattr(composer, "take_key") else None


class ChoiceQuestion(ModalScreen[Any]):
    """A question answered from the numbered list ``#LIST_ID`` (see the module doc)."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = []
    AUTO_FOCUS = ""  # nothing: keys reach the screen, which decides what they mean
    LIST_ID = "choices"

    def __init__(self, *, grace: float = GRACE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.guard = AnswerGuard(grace=grace, clock=clock)

    @property
    def accepting_answers(self) -> bool:
        return self.guard.accepting

    def on_mount(self) -> None:
        choices = self.query_one(f"#{self.LIST_ID}", OptionList)
        choices.can_focus = False
        choices.highlighted = None
        self.call_after_refresh(self.guard.mark_painted)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        key = event.key
        if not self.guard.accepting:
            self._typed_through(key, event.character)
            return
        choices = self.query_one(f"#{self.LIST_ID}", OptionList)
        if key in ("up", "down"):
            if choices.highlighted is None:
                choices.highlighted = 0 if key == "down" else choices.option_count - 1
            elif key == "down":
                choices.action_cursor_down()
            else:
                choices.action_cursor_up()
        elif key == "enter":
            if choices.highlighted is not None:
                self._answer(choices.highlighted)
        elif key == "escape":
            self.action_cancel()
        elif event.character and event.character.isdigit():
            self._answer(int(event.character) - 1)
        else:
            self._typed_through(key, event.character)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        self.guard.typing()
        target = composer_under(self)
        if target is not None:
            target.take_paste(event.text)

    def _typed_through(self, key: str, character: str | None) -> None:
        """A key that is not an answer: the person is typing their message; it goes there. Enter
        is not passed on: the message waits in the editor until the question is answered."""
        self.guard.typing()
        target = composer_under(self)
        if key not in _NOT_TEXT and key != "enter" and target is not None:
            target.take_key(key, character)

    def _answer(self, index: int) -> None:
        choices = self.query_one(f"#{self.LIST_ID}", OptionList)
        if 0 <= index < choices.option_count and not choices.get_option_at_index(index).disabled:
            self.dismiss(self.chosen(choices.get_option_at_index(index).id))

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.guard.accepting:  # a click during the grace period is as unintended as a key
            self.dismiss(self.chosen(event.option.id))

    def chosen(self, option_id: str | None) -> Any:
        """The screen's result for the chosen option (its id by default)."""
        return option_id

    def action_cancel(self) -> None:
        self.dismiss(None)
