"""The floor for the TUI start-up benchmark: the smallest Textual app with a text box.

It draws one ``Input`` whose placeholder says "Message Stoa", so the benchmark waits for the
same words on screen as it does for Stoa's composer. Ctrl+C quits (Textual's default).
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input


class MinimalApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(placeholder="Message Stoa (minimal Textual app)")


if __name__ == "__main__":
    MinimalApp().run()
