"""The editor's terminals for ``execute_bash`` (``Terminals``): ``terminal/create`` and friends,
when the client offers them in ``initialize``. The tool call shows the terminal live; the
command line, its sandbox and its scrubbed environment are the ones Stoa would have run itself
(``core/tools/shell.py`` owns that, and the timeout and interrupt handling)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from acp import schema as s


class ClientTerminals:
    def __init__(self, conn: Any, session_id: str, send: Callable[[Any], Awaitable[None]]) -> None:
        self.conn = conn
        self.session_id = session_id
        self.send = send
        # Tool call -> the terminal it ran in (its final update shows the terminal again).
        self.by_call: dict[str, str] = {}

    async def start(self, call_id: str, argv: list[str], cwd: Path, output_limit: int) -> str:
        created = await self.conn.create_terminal(
            session_id=self.session_id,
            command=argv[0],
            args=argv[1:],
            env=[],
            cwd=str(cwd),
            output_byte_limit=output_limit,
        )
        terminal = str(created.terminal_id)
        self.by_call[call_id] = terminal
        await self.send(
            s.ToolCallProgress(
                session_update="tool_call_update",
                tool_call_id=call_id,
                status="in_progress",
                content=[terminal_content(terminal)],
            )
        )
        return terminal

    async def wait(self, terminal: str) -> tuple[int | None, str | None]:
        done = await self.conn.wait_for_terminal_exit(session_id=self.session_id, terminal_id=terminal)
        return done.exit_code, done.signal

    async def output(self, terminal: str) -> tuple[str, bool]:
        out = await self.conn.terminal_output(session_id=self.session_id, terminal_id=terminal)
        return str(out.output), bool(out.truncated)

    async def kill(self, terminal: str) -> None:
        await self.conn.kill_terminal(session_id=self.session_id, terminal_id=terminal)

    async def release(self, terminal: str) -> None:
        await self.conn.release_terminal(session_id=self.session_id, terminal_id=terminal)


def terminal_content(terminal: str) -> s.TerminalToolCallContent:
    return s.TerminalToolCallContent(type="terminal", terminal_id=terminal)
