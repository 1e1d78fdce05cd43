"""The editor's files for Stoa's file tools (``EditorFiles``): ``fs/read_text_file`` and
``fs/write_text_file`` of the ACP client, when it offers them in ``initialize``.

The tools run in worker threads; each call is put on the event loop (where the connection
lives) and waited for there. A read the editor cannot answer falls back to the disk; a write it
refuses is a tool error that names the editor's reason.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from stoa.core.tools.base import ToolError

log = logging.getLogger("stoa.acp")

# How long a tool waits for the editor to answer one file request.
EDITOR_TIMEOUT = 60.0


class ClientFiles:
    def __init__(self, conn: Any, session_id: str, loop: asyncio.AbstractEventLoop, *, read: bool, write: bool) -> None:
        self.conn = conn
        self.session_id = session_id
        self.loop = loop
        self.read = read
        self.write = write
        self._loop_thread = threading.get_ident()

    def read_text(self, path: Path) -> str | None:
        if not self.read or not self._may_wait():
            return None
        try:
            response = self._wait(self.conn.read_text_file(session_id=self.session_id, path=str(path)))
        except Exception as exc:  # the editor does not have it: the disk does
            log.info("the editor did not read %s (%s); reading the disk", path, exc)
            return None
        content = getattr(response, "content", None)
        return content if isinstance(content, str) else None

    def write_text(self, path: Path, text: str) -> bool:
        if not self.write or not self._may_wait():
            return False
        try:
            self._wait(self.conn.write_text_file(session_id=self.session_id, path=str(path), content=text))
        except Exception as exc:
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise ToolError(f"the editor did not write {path}: {reason}; the file is unchanged") from None
        return True

    def _may_wait(self) -> bool:
        """Never block the event loop's own thread on a request the loop must carry."""
        return threading.get_ident() != self._loop_thread

    def _wait(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(EDITOR_TIMEOUT)
