"""One MCP server's connection: its live record, the transport, the SDK client, its stderr log.

The manager decides when a server starts and stops; this module says how: a stdio server's
process (``stdio.spawn``, with the environment it inherits and its stderr in a log file per
server) or a streamable HTTP session (our own httpx client, so error statuses are seen), the
SDK's ``Client`` over either, and a read stream that flags the end of the connection the moment
it comes. The SDK is imported in a thread (``import_sdk``), never on the start-up path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from stoa.core.mcp.config import McpServerConfig
from stoa.core.mcp.problems import http_status_text, junk_sample, resolve_command
from stoa.core.mcp.stdio import ServerProcess, connect, spawn

if TYPE_CHECKING:
    from stoa.core.mcp.manager import ServerState
    from stoa.core.mcp.tool import McpTool

# A server's stderr log is rotated (one old copy kept) when it grows past this at start.
MAX_LOG_BYTES = 2 * 1024 * 1024
# Environment variables a stdio server inherits besides the SDK's own short list
# (HOME, LOGNAME, PATH, SHELL, TERM, USER); anything else goes in its ``env`` table.
INHERITED_ENV = (
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "TERM",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
)
_LIST_CHANGED = "notifications/tools/list_changed"


@dataclass
class Runner:
    """The live side of one server: its task, client and wake-up flags. Internal to the manager."""

    config: McpServerConfig
    state: ServerState
    task: asyncio.Task[None] | None = None
    client: Any = None  # mcp.Client once connected
    process: ServerProcess | None = None  # a stdio server's process, from the start of _run
    scope: Any = None  # anyio.CancelScope around the whole connection
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # left "starting"
    stopping: bool = False
    eof: bool = False
    refresh: bool = False
    junk_lines: int = 0
    first_junk: str = ""
    http_error: str = ""  # an HTTP error status of a POST while starting (cleared by a success)
    session_lost: bool = False  # an HTTP 404 to our session id: the server forgot the session
    call_http_error: str = ""  # the last HTTP error status of any POST, for a failed call's message
    stderr: TextIO | None = None
    stderr_start: int = 0
    on_eof: Callable[[], None] | None = None
    registered: dict[str, McpTool] = field(default_factory=dict)
    # Results whose structured content broke the tool's output schema: id(result) -> why.
    output_problems: dict[int, str] = field(default_factory=dict)
    # Calls that may change things run one at a time per server, in the order they were made;
    # calls to different servers (and to read-only servers) run at the same time.
    call_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def stderr_tail(self, lines: int = 3) -> str:
        """The last lines the server wrote on stderr since it started, joined by ' | '."""
        handle = self.stderr
        if handle is None:
            return ""
        try:
            handle.flush()
            handle.seek(self.stderr_start)
            text = handle.read()[-4000:]
            handle.seek(0, os.SEEK_END)
        except (OSError, ValueError):
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(kept)[:500]


# ---- stdio: the process and its stderr log -------------------------------------------------------


async def spawn_server(runner: Runner, our_env: dict[str, str], log_dir: Path) -> ServerProcess:
    """Start a stdio server's process, its stderr going to its log file."""
    config = runner.config
    env = {k: v for k, v in our_env.items() if k in INHERITED_ENV} | config.env
    command = resolve_command(config, env.get("PATH", os.defpath))
    marker = f"{config.name}-{os.getpid()}-{uuid.uuid4().hex}"
    runner.stderr = open_stderr(runner, log_dir)
    return await spawn(command, list(config.args), env, config.cwd, runner.stderr, marker)


def open_stderr(runner: Runner, log_dir: Path) -> TextIO:
    """Where the server's stderr goes: a log file per server (never the terminal under the TUI)."""
    close_stderr(runner)
    name = runner.config.name
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"{name}.log"
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.replace(path.with_suffix(".log.1"))  # keep one old log, not an ever-growing one
        handle: TextIO = open(path, "a+", encoding="utf-8", errors="replace")
    except OSError:
        import tempfile

        handle = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
    handle.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {runner.config.target}\n")
    handle.flush()
    runner.stderr_start = handle.tell()
    return handle


def close_stderr(runner: Runner) -> None:
    if runner.stderr is not None:
        with contextlib.suppress(OSError):
            runner.stderr.close()
        runner.stderr = None


# ---- the SDK's client over the transport ----------------------------------------------------------


def make_client(runner: Runner) -> Any:
    """The SDK's client over the runner's process (stdio) or a new HTTP session."""
    from mcp import Client
    from mcp_types import Implementation

    config = runner.config
    if runner.process is not None:
        transport: Any = connect(runner.process)
    else:
        transport = _http_transport(runner)

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            runner.junk_lines += 1
            if not runner.first_junk:
                runner.first_junk = junk_sample(message)
            return
        if getattr(message, "method", None) == _LIST_CHANGED:
            runner.refresh = True
            runner.wake.set()

    return Client(
        _watch_eof(transport, runner),
        mode="legacy",
        read_timeout_seconds=config.startup_timeout,
        message_handler=on_message,
        client_info=Implementation(name="stoa", version=_version()),
        cache=None,
    )


def _http_transport(runner: Runner) -> Any:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    config = runner.config

    async def on_response(response: Any) -> None:
        # Only the POSTs carry messages: a GET answered 405 (no server-initiated stream)
        # or a DELETE at the end says nothing about the connection.
        if getattr(response.request, "method", "POST") != "POST":
            return
        if response.status_code == 404 and response.request.headers.get("mcp-session-id"):
            # The server no longer knows our session (it restarted): clients must start a new one.
            runner.session_lost = True
        if response.status_code >= 400:
            runner.call_http_error = http_status_text(response, config)
            if runner.client is None:  # starting: this is why it fails
                runner.http_error = runner.call_http_error
        else:
            runner.http_error = ""

    http = httpx2.AsyncClient(
        headers=config.headers,
        timeout=httpx2.Timeout(min(config.startup_timeout, 30.0), read=300.0),
        event_hooks={"response": [on_response]},
    )
    return _owning(http, streamable_http_client(config.url or "", http_client=http))


_SDK_MODULES = (
    "anyio",
    "anyio.streams.text",
    "httpx2",
    "jsonschema",
    "mcp",
    "mcp.client.streamable_http",
    "mcp.shared.message",
    "mcp_types",
    "referencing",
)
_sdk_imported = False


def sdk_imported() -> bool:
    """Whether ``import_sdk`` has loaded the SDK (before that, no failure is an SDK error)."""
    return _sdk_imported


async def import_sdk() -> None:
    """Import the SDK in a thread: it takes a few hundred ms, which must not freeze the UI."""
    global _sdk_imported
    if _sdk_imported:
        return
    import importlib

    def load() -> None:
        for module in _SDK_MODULES:
            importlib.import_module(module)

    await asyncio.to_thread(load)
    _sdk_imported = True


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("stoa")
    except Exception:
        return "0"


@contextlib.asynccontextmanager
async def _owning(http: Any, transport: Any) -> AsyncIterator[Any]:
    """Enter the HTTP client we made, then the transport that uses it; close both in order."""
    async with http, transport as streams:
        yield streams


@contextlib.asynccontextmanager
async def _watch_eof(transport: Any, runner: Runner) -> AsyncIterator[Any]:
    """The transport's streams, with the read side telling the runner when the connection ends."""
    async with transport as (read_stream, write_stream):
        yield _EofWatchingStream(read_stream, runner), write_stream


class _EofWatchingStream:
    """A read stream that flags the end of the connection (process exit, HTTP stream closed)."""

    def __init__(self, inner: Any, runner: Runner) -> None:
        self._inner = inner
        self._runner = runner

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    def _ended(self) -> None:
        runner = self._runner
        if not runner.eof:
            runner.eof = True
            runner.wake.set()
            if runner.on_eof is not None:
                runner.on_eof()

    async def receive(self) -> Any:
        import anyio

        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._ended()
            raise

    def __aiter__(self) -> _EofWatchingStream:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _EofWatchingStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
