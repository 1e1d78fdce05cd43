"""The assistant reply: one ``MarkdownView`` per reply, appended to as the model streams.

Kept apart from ``widgets.messages`` because importing the Markdown machinery (markdown-it,
Rich's renderer) costs start-up time; the chat log imports this module when the first reply
arrives (or in a thread right after start-up). ``widgets.markdown_view`` explains why this is
not Textual's ``Markdown`` widget.
"""

from __future__ import annotations

from stoa.widgets.markdown_view import MarkdownView
from stoa.widgets.records import AssistantRecord


class AssistantMessage(MarkdownView):
    """One assistant reply. Streams while the model writes."""

    DEFAULT_CSS = """
    AssistantMessage {
        margin: 1 0 0 0;
        padding: 0 1 0 2;
    }
    """

    def __init__(self, record: AssistantRecord) -> None:
        self.record = record
        super().__init__(record.text)

    async def add_text(self, fragment: str) -> None:
        """Append streamed text."""
        if fragment:
            self.record.text += fragment
            self.append(fragment)

    async def finish(self, final_text: str | None = None) -> None:
        """The reply is complete; if the provider's final text differs from the stream, show it."""
        self.record.done = True
        if final_text is not None and final_text != self.record.text:
            self.record.text = final_text
            self.set_source(final_text)
