"""An ACP client for tests, on the SDK's client side: it spawns ``stoa acp`` as a real
subprocess, records every session update, and answers permission questions as told."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from acp import RequestError
from acp import schema as s
from acp.stdio import spawn_agent_process

STOA_ACP = [sys.executable, "-m", "stoa.app.cli", "acp"]


class RecordingClient:
    """``answer``: the option id to pick, or None to never answer (a person who walked away)."""

    def __init__(self, answer: str | None = "allow_once") -> None:
        self.answer = answer
        self.updates: list[tuple[str, Any]] = []
        self.questions: list[tuple[s.ToolCallUpdate, list[s.PermissionOption]]] = []
        self.asked = asyncio.Event()
        # fs/* calls seen, and the editor's unsaved buffers (path -> text).
        self.fs_calls: list[tuple[str, str]] = []
        self.buffers: dict[str, str] = {}
        # A read-only buffer: writes are refused with this message.
        self.refuse_writes: str | None = None

    async def request_permission(
        self, session_id: str, tool_call: s.ToolCallUpdate, options: list[s.PermissionOption], **_: Any
    ) -> s.RequestPermissionResponse:
        self.questions.append((tool_call, options))
        self.asked.set()
        if self.answer is None:
            await asyncio.Event().wait()
        return s.RequestPermissionResponse(outcome=s.AllowedOutcome(outcome="selected", option_id=self.answer or ""))

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append((session_id, update))

    async def read_text_file(self, session_id: str, path: str, line: int | None = None, limit: int | None = None, **_: Any) -> s.ReadTextFileResponse:
        self.fs_calls.append(("read", path))
        if path in self.buffers:
            return s.ReadTextFileResponse(content=self.buffers[path])
        return s.ReadTextFileResponse(content=await asyncio.to_thread(Path(path).read_text))

    async def write_text_file(self, session_id: str, path: str, content: str, **_: Any) -> s.WriteTextFileResponse:
        self.fs_calls.append(("write", path))
        if self.refuse_writes:
            raise RequestError(-32603, self.refuse_writes)
        self.buffers[path] = content
        await asyncio.to_thread(Path(path).write_text, content)
        return s.WriteTextFileResponse()

    def of(self, kind: type) -> list[Any]:
        return [u for _, u in self.updates if isinstance(u, kind)]

    def text(self) -> str:
        return "".join(u.content.text for u in self.of(s.AgentMessageChunk))


@asynccontextmanager
async def acp_agent(
    client: RecordingClient, env: dict[str, str], cwd: Path, *args: str, log: Path | None = None
) -> AsyncIterator[tuple[Any, Any]]:
    """(connection, process) of ``stoa acp ARGS`` in ``cwd``; stderr goes to ``log``."""
    log = log or cwd.parent / "acp-stderr.log"
    with open(log, "ab") as err:  # noqa: ASYNC230 (opened once, before the process starts)
        async with spawn_agent_process(
            client,
            STOA_ACP[0],
            *STOA_ACP[1:],
            *args,
            env=env,
            cwd=cwd,
            transport_kwargs={"stderr": err.fileno(), "shutdown_timeout": 60.0},
        ) as (conn, process):
            yield conn, process


def client_capabilities(fs: bool = False) -> s.ClientCapabilities:
    return s.ClientCapabilities(fs=s.FileSystemCapabilities(read_text_file=fs, write_text_file=fs), terminal=False)


def text_prompt(text: str) -> list[s.TextContentBlock]:
    return [s.TextContentBlock(type="text", text=text)]
