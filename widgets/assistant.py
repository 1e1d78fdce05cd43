"""The assistant reply: one Markdown widget per reply, streamed through ``Markdown.get_stream``.

Kept apart from ``widgets.messages`` because importing Markdown (markdown-it) costs start-up
time; the chat log imports this module when the first reply arrives (or in the background
right after start-up).
"""

from __future__ import annotations

from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

from widgets.records import AssistantRecord


class AssistantMessage(Markdown):
    """One assistant reply. Streams while the model writes; plain Markdown once done."""

    DEFAULT_CSS = """
    AssistantMessage {
        margin: 1 0 0 0;
        padding: 0 1 0 2;
        background: transparent;
    }
    AssistantMessage > MarkdownBlock:last-child {
        margin-bottom: 0;
    }
    """

    def __init__(self, record: AssistantRecord) -> None:
        self.record = record
        super().__init__(record.text if record.done else None)
        self._stream: MarkdownStream | None = None
        self._pending = record.text if not record.done else ""

    def on_mount(self) -> None:
        if not self.record.done:
            self._stream = Markdown.get_stream(self)
            if self._pending:
                self.run_worker(self._stream.write(self._pending), group="markdown")
                self._pending = ""

    async def add_text(self, fragment: str) -> None:
        """Append streamed text (not ``append``: that is Markdown's own, used by the stream)."""
        if not fragment:
            return
        self.record.text += fragment
        if self._stream is not None:
            await self._stream.write(fragment)
        else:
            self._pending += fragment

    async def finish(self, final_text: str | None = None) -> None:
        """Stop streaming; if the provider's final text differs from the stream, show the final."""
        self.record.done = True
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.stop()
        if final_text is not None and final_text != self.record.text:
            self.record.text = final_text
            await self.update(final_text)
