"""``--input-format stream-json``: user messages as JSON lines on stdin, one turn each, as
Claude Code reads them: ``{"type": "user", "message": {"role": "user", "content": ...}}`` with
content a string or a list of ``{"type": "text", "text": ...}`` blocks. Lines are read as the
turns go, so a script can wait for one turn's result before it writes the next message."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any, TextIO


class StreamInputError(ValueError):
    pass


def parse_user_line(line: str, number: int) -> str:
    try:
        data: Any = json.loads(line)
    except ValueError as exc:
        raise StreamInputError(f"stdin line {number} is not JSON ({exc})") from None
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("type") != "user" or not isinstance(message, dict):
        raise StreamInputError(
            f'stdin line {number} is not a user message; write {{"type": "user", "message": '
            '{"role": "user", "content": "..."}}'
        )
    content = message.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    else:
        text = ""
    if not text.strip():
        raise StreamInputError(f"stdin line {number} has no text in message.content")
    return text


class StreamInput:
    """The user messages of stdin, read one line at a time."""

    def __init__(self, stdin: TextIO) -> None:
        self._stdin = stdin
        self.number = 0

    def next_sync(self) -> str | None:
        """The next message (None at the end of stdin); blank lines are skipped."""
        while True:
            line = self._stdin.readline()
            if not line:
                return None
            self.number += 1
            if line.strip():
                return parse_user_line(line, self.number)

    async def next(self) -> str | None:
        """``next_sync`` in a daemon thread: a run ended while it waits (SIGTERM between two
        messages) exits at once instead of waiting for a line that may never come."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()

        def settle(value: str | None, error: BaseException | None) -> None:
            if future.done():
                return  # cancelled meanwhile
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

        def read() -> None:
            value: str | None = None
            error: BaseException | None = None
            try:
                value = self.next_sync()
            except BaseException as exc:  # handed to the awaiting task
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(settle, value, error)

        threading.Thread(target=read, name="stoa-stdin", daemon=True).start()
        return await future
