"""Vim mode for the composer (``/vim`` toggles it; ``vim = true`` in config keeps it on).

Insert mode types as usual; Esc goes to normal mode (Esc in normal mode does what it always
does: interrupt, close a list). Normal mode: motions ``h l j k w b e 0 ^ $ gg G`` (with a count,
``3w``), ``i a I A o O`` to insert, ``x X D C s S``, operators ``d c y`` with a motion or doubled
(``dw``, ``cw``, ``d$``, ``dd``, ``cc``, ``yy``), ``p P`` to put, ``u`` undo, ``Ctrl+R`` redo, ``r``
to replace a character, Enter sends. Everything works on the composer's ``TextArea`` through its
public API, so undo, the history and the slash list behave as without vim mode.
"""

from __future__ import annotations

from typing import Any, Literal

Mode = Literal["insert", "normal"]
_MOTIONS = frozenset("hljkwbe0^$G")


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _kind(char: str) -> int:
    """0 space, 1 word character, 2 punctuation (vim's word classes)."""
    if char.isspace():
        return 0
    return 1 if _is_word(char) else 2


class VimState:
    """Vim keys for one editor (``area``: the composer's ``TextArea``)."""

    def __init__(self, area: Any) -> None:
        self.area = area
        self.mode: Mode = "insert"
        self.pending = ""  # an operator or prefix waiting for its motion ("d", "g", "r", ...)
        self.count = ""
        self.op_count = 1  # the count typed before an operator (2dd)
        self.register = ""
        self.linewise = False

    # ---- positions ---------------------------------------------------------------------------

    @property
    def text(self) -> str:
        return str(self.area.text)

    def _index(self) -> int:
        return int(self.area.document.get_index_from_location(self.area.cursor_location))

    def _location(self, index: int) -> tuple[int, int]:
        index = max(0, min(index, len(self.text)))
        row, col = self.area.document.get_location_from_index(index)
        return int(row), int(col)

    def _line_bounds(self, index: int) -> tuple[int, int]:
        text = self.text
        start = text.rfind("\n", 0, index) + 1
        end = text.find("\n", index)
        return start, len(text) if end < 0 else end

    # ---- motions (index -> index) ------------------------------------------------------------

    def _word_forward(self, index: int) -> int:
        text = self.text
        if index >= len(text):
            return index
        kind = _kind(text[index])
        while index < len(text) and _kind(text[index]) == kind and kind != 0:
            index += 1
        while index < len(text) and text[index].isspace():
            index += 1
        return index

    def _word_back(self, index: int) -> int:
        text = self.text
        index -= 1
        while index > 0 and text[index].isspace():
            index -= 1
        if index <= 0:
            return 0
        kind = _kind(text[index])
        while index > 0 and _kind(text[index - 1]) == kind:
            index -= 1
        return index

    def _word_end(self, index: int) -> int:
        text = self.text
        index += 1
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return max(len(text) - 1, 0)
        kind = _kind(text[index])
        while index + 1 < len(text) and _kind(text[index + 1]) == kind:
            index += 1
        return index

    def _motion(self, key: str, index: int, count: int) -> int:
        text = self.text
        for _ in range(count):
            start, end = self._line_bounds(index)
            if key == "h":
                index = max(start, index - 1)
            elif key == "l":
                index = min(max(end - 1, start), index + 1) if self.pending == "" else min(end, index + 1)
            elif key == "w":
                index = self._word_forward(index)
            elif key == "b":
                index = self._word_back(index)
            elif key == "e":
                index = self._word_end(index)
            elif key == "0":
                index = start
            elif key == "^":
                index = start + len(text[start:end]) - len(text[start:end].lstrip())
            elif key == "$":
                index = end if self.pending else max(end - 1, start)
            elif key in ("j", "k"):
                row, col = self._location(index)
                row = row + 1 if key == "j" else row - 1
                if 0 <= row < self.area.document.line_count:
                    line = self.area.document.get_line(row)
                    index = int(self.area.document.get_index_from_location((row, min(col, len(line)))))
            elif key == "G":
                index = len(text)
            elif key == "gg":
                index = 0
        return index

    # ---- keys --------------------------------------------------------------------------------

    def key(self, key: str, character: str | None) -> bool:
        """Handle one key; True when vim mode used it (the editor must not see it)."""
        if self.mode == "insert":
            if key == "escape":
                self.mode = "normal"
                index = self._index()
                start, _ = self._line_bounds(index)
                if index > start:
                    self.area.move_cursor(self._location(index - 1))
                return True
            return False
        char = character if character and character.isprintable() else None
        if key == "escape":
            if self.pending or self.count:
                self.pending = self.count = ""
                return True
            return False  # Esc in normal mode: the screen's (interrupt, close a list)
        if key == "enter":
            return False  # sends, as always
        if key == "ctrl+r":
            self.area.redo()
            return True
        if char is None:
            return key not in ("up", "down", "left", "right", "home", "end", "pageup", "pagedown", "backspace", "delete")
        if self.pending == "r":
            self.pending = ""
            index = self._index()
            if index < len(self.text) and self.text[index] != "\n":
                self.area.replace(char, self._location(index), self._location(index + 1))
                self.area.move_cursor(self._location(index))
            return True
        if char.isdigit() and (char != "0" or self.count):
            self.count += char
            return True
        count = int(self.count or "1")
        self.count = ""
        self._normal(char, count)
        return True

    def _normal(self, char: str, count: int) -> None:
        area = self.area
        index = self._index()
        if self.pending in ("d", "c", "y"):
            op, self.pending = self.pending, ""
            count *= self.op_count  # 2d3w deletes six words
            if char == op:  # dd, cc, yy: whole lines
                self._lines(op, index, count)
            elif char in _MOTIONS or char == "g":
                self._operate(op, index, char, count)
            return
        if self.pending == "g":
            self.pending = ""
            if char == "g":
                area.move_cursor(self._location(0))
            return
        if char in _MOTIONS:
            area.move_cursor(self._location(self._motion(char, index, count)))
        elif char in "dcy":
            self.pending, self.op_count = char, count
        elif char in "gr":
            self.pending = char
        elif char == "i":
            self.mode = "insert"
        elif char == "a":
            start, end = self._line_bounds(index)
            area.move_cursor(self._location(min(index + 1, end)))
            self.mode = "insert"
        elif char == "I":
            area.move_cursor(self._location(self._motion("^", index, 1)))
            self.mode = "insert"
        elif char == "A":
            area.move_cursor(self._location(self._line_bounds(index)[1]))
            self.mode = "insert"
        elif char in "oO":
            start, end = self._line_bounds(index)
            at = end if char == "o" else start
            area.insert("\n", self._location(at))
            area.move_cursor(self._location(at + 1 if char == "o" else at))
            self.mode = "insert"
        elif char == "x":
            end = min(index + count, self._line_bounds(index)[1])
            self._cut(index, end, insert=False)
        elif char == "X":
            start = max(self._line_bounds(index)[0], index - count)
            self._cut(start, index, insert=False)
        elif char in "DC":
            self._cut(index, self._line_bounds(index)[1], insert=char == "C")
        elif char == "s":
            self._cut(index, min(index + count, self._line_bounds(index)[1]), insert=True)
        elif char == "S":
            self._lines("c", index, 1)
        elif char in "pP":
            self._put(index, after=char == "p")
        elif char == "u":
            area.undo()

    def _operate(self, op: str, index: int, motion: str, count: int) -> None:
        if motion == "g":  # dgg: to the start
            target = 0
        else:
            self.pending = op  # motions that reach the end of a line include it
            target = self._motion("e" if op == "c" and motion == "w" else motion, index, count)
            self.pending = ""
            if motion == "e" or (op == "c" and motion == "w"):
                target += 1
        start, end = sorted((index, target))
        if op == "y":
            self.register, self.linewise = self.text[start:end], False
            return
        self._cut(start, end, insert=op == "c")

    def _lines(self, op: str, index: int, count: int) -> None:
        text = self.text
        start, end = self._line_bounds(index)
        for _ in range(count - 1):
            if end < len(text):
                end = self._line_bounds(end + 1)[1]
        self.register, self.linewise = text[start:end] + "\n", True
        if op == "y":
            return
        if op == "c":
            self.area.delete(self._location(start), self._location(end))
            self.area.move_cursor(self._location(start))
            self.mode = "insert"
            return
        cut_start, cut_end = (start, end + 1) if end < len(text) else (max(start - 1, 0), end)
        self.area.delete(self._location(cut_start), self._location(cut_end))
        self.area.move_cursor(self._location(min(cut_start, len(self.text))))

    def _cut(self, start: int, end: int, *, insert: bool) -> None:
        if end > start:
            self.register, self.linewise = self.text[start:end], False
            self.area.delete(self._location(start), self._location(end))
        self.area.move_cursor(self._location(start))
        if insert:
            self.mode = "insert"

    def _put(self, index: int, *, after: bool) -> None:
        if not self.register:
            return
        if self.linewise:
            start, end = self._line_bounds(index)
            if after:
                self.area.insert("\n" + self.register.rstrip("\n"), self._location(end))
                self.area.move_cursor(self._location(end + 1))
            else:
                self.area.insert(self.register, self._location(start))
                self.area.move_cursor(self._location(start))
            return
        at = min(index + 1, self._line_bounds(index)[1]) if after and self.text else index
        self.area.insert(self.register, self._location(at))
        self.area.move_cursor(self._location(at + len(self.register) - 1))
