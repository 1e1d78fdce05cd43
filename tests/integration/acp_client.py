"""An ACP client for tests, on the SDK's client side: it spawns ``stoa acp`` as a real
subprocess, records every session update, and answers permission questions as told."""

from __future__ import annotations

import asyncio
import os
import signal
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
        # Terminals: id -> the process and what it printed; every terminal request seen.
        self.terminals: dict[str, tuple[asyncio.subprocess.Process, bytearray, asyncio.Task[None]]] = {}
        self.terminal_calls: list[tuple[str, Any]] = []
        self.terminal_started = asyncio.Event()

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

    async def create_terminal(
        self, session_id: str, command: str, args: list[str] | None = None, env: Any = None, cwd: str | None = None,
        output_byte_limit: int | None = None, **_: Any,
    ) -> s.CreateTerminalResponse:
        argv = [command, *(args or [])]
        self.terminal_calls.append(("create", argv))
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )
        output = bytearray()

        async def read() -> None:
            assert process.stdout is not None
            while chunk := await process.stdout.read(65536):
                output.extend(chunk)

        terminal = f"term-{len(self.terminals) + 1}"
        self.terminals[terminal] = (process, output, asyncio.create_task(read()))
        self.terminal_started.set()
        return s.CreateTerminalResponse(terminal_id=terminal)

    async def wait_for_terminal_exit(self, session_id: str, terminal_id: str, **_: Any) -> s.WaitForTerminalExitResponse:
        self.terminal_calls.append(("wait", terminal_id))
        process, _output, reader = self.terminals[terminal_id]
        code = await process.wait()
        await reader
        if code < 0:
            return s.WaitForTerminalExitResponse(signal=signal.Signals(-code).name)
        return s.WaitForTerminalExitResponse(exit_code=code)

    async def terminal_output(self, session_id: str, terminal_id: str, **_: Any) -> s.TerminalOutputResponse:
        self.terminal_calls.append(("output", terminal_id))
        _process, output, _reader = self.terminals[terminal_id]
        return s.TerminalOutputResponse(output=output.decode("utf-8", "replace"), truncated=False)

    async def kill_terminal(self, session_id: str, terminal_id: str, **_: Any) -> s.KillTerminalResponse:
        self.terminal_calls.append(("kill", terminal_id))
        process, _output, _reader = self.terminals[terminal_id]
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        return s.KillTerminalResponse()

    async def release_terminal(self, session_id: str, terminal_id: str, **_: Any) -> s.ReleaseTerminalResponse:
        self.terminal_calls.append(("release", terminal_id))
        process, _output, _reader = self.terminals[terminal_id]
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        return s.ReleaseTerminalResponse()

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


def client_capabilities(fs: bool = False, terminal: bool = False) -> s.ClientCapabilities:
    return s.ClientCapabilities(fs=s.FileSystemCapabilities(read_text_file=fs, write_text_file=fs), terminal=terminal)


def text_prompt(text: str) -> list[s.TextContentBlock]:
    return [s.TextContentBlock(type="text", text=text)]
