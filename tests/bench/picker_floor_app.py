"""The floor of the picker benchmark in tmux: a minimal Textual app whose F2 opens the smallest
modal screen (``picker_floor.FloorScreen``) over a screen of text and a text box, so keypress
to modal on screen costs what any Textual app pays for a modal (key read, compose, styles,
layout, the dimmed screen behind, the terminal write). Esc closes it; Ctrl+C quits.
"""

from __future__ import annotations

import sys
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.picker_floor import FloorScreen

TEXT = "\n".join(f"line {n}: a conversation would be here, some words to draw on every row" for n in range(30))


class PickerFloorApp(App[None]):
    BINDINGS = [Binding("f2", "floor", "Floor")]

    def compose(self) -> ComposeResult:
        yield Static(TEXT)
        yield Input(placeholder="Message Stoa (the picker floor app)")

    def action_floor(self) -> None:
        self.push_screen(FloorScreen())


if __name__ == "__main__":
    PickerFloorApp().run()
