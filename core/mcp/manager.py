"""The MCP manager: starts servers in the background, keeps their tools registered, routes calls.

Each server runs in its own asyncio task that owns its connection from start to end (the
SDK's transports are anyio task groups, which must be entered and left by one task), so all
servers start at the same time and a slow or hanging one holds up no other. That task starts
the process (stdio: before the SDK is loaded, so both start up at once; see ``stdio``) or opens
the session (streamable HTTP), performs the initialize handshake and lists the tools, within
``startup_timeout_seconds``; then it
waits, re-listing tools when the server says they changed, until it is stopped or the
connection ends. Tool calls come from the agent's tasks and go through the shared client
with ``tool_timeout_seconds``; calls to different servers never wait on each other.

Nothing here blocks start-up (``start_all`` returns at once), nothing waits without a bound,
and nothing a server does (a bad command, junk on stdout, a 401, a crash, a hang) raises
into the app: each becomes a status with a message that says what to do next. Status
changes are pushed to subscribers (the UI, headless mode) as they happen.

How a connection is made (process or HTTP session, the SDK's client, the stderr log) is in
``connection``; what a failure says, in ``problems``. No process outlives its server
(``stdio`` ends whatever carries the server's marker variable).
An HTTP server that restarted and forgot our session gets a new one, and the call is made
again (it had not run). What servers send is taken leniently where the SDK is strict: a tool
described wrongly is skipped alone, and a result that breaks its own output schema is kept
with a note.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from stoa.core.config import StoaConfig, project_config_files, read_layer
from stoa.core.mcp.config import SECTION, McpConfig, describe_problems, parse_layers
from stoa.core.mcp.connection import Runner, close_stderr, import_sdk, make_client, sdk_imported, spawn_server
from stoa.core.mcp.extras import PromptInfo, ResourceInfo, list_extras
from stoa.core.mcp.lenient import lenient_output_validation, list_all_tools, list_tools_leniently
from stoa.core.mcp.problems import (
    closed_reason,
    describe_leaf,
    explain,
    first_error,
    leaves,
    sentence,
    timeout_reason,
    timeout_text,
)
from stoa.core.mcp.results import convert_result
from stoa.core.mcp.stdio import MARKER_ENV, discard
from stoa.core.mcp.tool import McpTool, RejectedTool, disambiguated, make_tool
from stoa.core.tools.base import ToolOutput
from stoa.core.tools.registry import ToolRegistry

log = logging.getLogger(__name__)

# Characters of a server's instructions added to the system prompt.
MAX_INSTRUCTIONS_CHARS = 8_000
# Bound on a graceful stop (close stdin / DELETE the HTTP session) before cancelling.
STOP_TIMEOUT = 8.0
# Bound on closing an HTTP session (the DELETE) when the server stops answering.
HTTP_CLOSE_TIMEOUT = 2.0
__all__ = ["MARKER_ENV", "McpManager", "ServerState", "ServerStatus"]
_SESSION_LOST = object()  # _call_once: the HTTP server no longer knows our session
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class ServerStatus(StrEnum):
    STARTING = "starting"
    CONNECTED = "connected"
    FAILED = "failed"
    DISCONNECTED = "disconnected"
    DISABLED = "disabled"


@dataclass
class ServerState:
    """What the UI shows about one server. Updated in place; subscribers hear of each change."""

    name: str
    transport: str  # "stdio" | "http" | "?" for an entry too broken to tell
    target: str  # the command line or the URL
    source: Path | None
    status: ServerStatus = ServerStatus.STARTING
    message: str = ""
    tools: list[str] = field(default_factory=list)  # registered SERVER___TOOL names
    skipped_tools: list[str] = field(default_factory=list)  # "tool: reason"
    instructions: str | None = None
    server_info: str = ""  # name and version the server gave
    offered_in_plan: bool = False
    safe_mode: str = "disabled"
    connected_at: float | None = None
    # What the server offers the person (core.mcp.extras): /server:prompt and @server:uri.
    prompts: list[PromptInfo] = field(default_factory=list)
    resources: list[ResourceInfo] = field(default_factory=list)

    @property
    def tool_count(self) -> int:
        return len(self.tools)

    @property
    def status_text(self) -> str:
        return f"{self.status.value}: {self.message}" if self.message else self.status.value


Listener = Callable[[ServerState], None]


class McpManager:
    """All MCP servers of one session. Create it, ``await start_all()``, ``await close()`` at exit."""

    def __init__(
        self,
        config: StoaConfig,
        registry: ToolRegistry,
        *,
        prompt_sections: list[tuple[str, str]] | None = None,
        log_dir: Path | None = None,
        mode: Callable[[], str] = lambda: "auto",
    ) -> None:
        self.config = config
        self.registry = registry
        self.prompt_sections = prompt_sections if prompt_sections is not None else []
        self.log_dir = log_dir if log_dir is not None else config.paths.log_dir / "mcp"
        self.mode = mode
        self.states: dict[str, ServerState] = {}
        # Config problems and tool warnings, one line each (shown as notices).
        self.warnings: list[str] = []
        self._runners: dict[str, Runner] = {}
        self._listeners: list[Listener] = []
        self._closed = False
        self._renew_lock = asyncio.Lock()
        self._mcp_config = _parse(config)
        self.warnings.extend(describe_problems(self._mcp_config))
        # The SDK logs junk lines and transport faults with tracebacks; with no handler
        # configured Python would print them on the terminal, under the TUI.
        for name in ("mcp", "client", "httpx2", "mcp_types"):
            logging.getLogger(name).addHandler(logging.NullHandler())

    # ---- public API ---------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(state)`` on every status or tool-list change. Returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def start_all(self) -> None:
        """Start every configured server in the background and return at once."""
        for name in list(self._mcp_config.broken) + list(self._mcp_config.servers):
            if name not in self.states:
                self._start_entry(name)

    async def wait_started(self, within: float | None = None) -> None:
        """Wait until no server is starting (each is bounded by its own startup timeout)."""
        waits = [r.settled.wait() for r in self._runners.values() if not r.settled.is_set()]
        if not waits:
            return
        if within is None:
            within = max(r.config.startup_timeout for r in self._runners.values()) + STOP_TIMEOUT
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), within)

    async def call_tool(
        self,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        on_progress: Callable[[str], None] | None = None,
    ) -> ToolOutput:
        """Call ``tool`` on ``server``. Every failure comes back as an error result, never raised.

        ``on_progress`` receives the server's progress notifications as short lines of text.
        An HTTP server that lost our session (it restarted: HTTP 404 to the session id) gets a
        new session and the call is made once more, as the protocol asks of clients; the
        server had not run it.
        """
        runner = self._runners.get(server)
        outcome = await self._call_once(runner, server, tool, arguments, on_progress)
        if outcome is not _SESSION_LOST or runner is None:
            return outcome if isinstance(outcome, ToolOutput) else ToolOutput.error("unreachable")
        renewed = await self._renew_session(server, runner)
        if renewed is None:
            state = self.states.get(server)
            status = state.status_text if state is not None else "not running"
            return ToolOutput.error(
                f"the MCP server {server!r} lost our session (it restarted?) and a new one could not be "
                f"opened: {sentence(status)} Tell the user; they can run /mcp reconnect {server}."
            )
        again = await self._call_once(renewed, server, tool, arguments, on_progress)
        if again is _SESSION_LOST:
            return ToolOutput.error(
                f"the MCP server {server!r} dropped the new session at once (HTTP 404 to its session id). "
                f"Tell the user; they can run /mcp reconnect {server}."
            )
        return again if isinstance(again, ToolOutput) else ToolOutput.error("unreachable")

    async def _call_once(
        self,
        runner: Runner | None,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        on_progress: Callable[[str], None] | None,
    ) -> ToolOutput | object:
        label = f"{server}___{tool}"
        if runner is None:
            return ToolOutput.error(f"the MCP server {server!r} is not running (it was removed or stopped)")
        state = runner.state
        if state.status is not ServerStatus.CONNECTED or runner.client is None:
            return _unavailable(server, state)
        timeout = runner.config.tool_timeout
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED, INTERNAL_ERROR, INVALID_REQUEST, REQUEST_TIMEOUT
        from pydantic import ValidationError

        lock: contextlib.AbstractAsyncContextManager[Any] = (
            runner.call_lock if not runner.config.read_only else contextlib.nullcontext()
        )
        try:
            async with lock, asyncio.timeout(timeout + 5.0):
                client = runner.client
                if client is None or state.status is not ServerStatus.CONNECTED:
                    return _unavailable(server, state)
                # The SDK's read timeout cancels the request on the server; ours is a backstop.
                result = await client.call_tool(
                    tool,
                    arguments,
                    read_timeout_seconds=timeout,
                    progress_callback=_progress_reporter(on_progress) if on_progress is not None else None,
                )
        except MCPError as exc:
            if runner.session_lost and exc.code != REQUEST_TIMEOUT:
                # Every request on a forgotten session is refused unrun (or cut by the restart).
                return _SESSION_LOST
            if exc.code == REQUEST_TIMEOUT:
                return ToolOutput.error(timeout_text(label, runner.config))
            if exc.code == CONNECTION_CLOSED:
                return ToolOutput.error(await self._closed_during_call(runner))
            if (
                runner.config.transport == "http" and exc.code == INVALID_REQUEST and exc.message == "Session terminated"
            ):
                return _SESSION_LOST
            if (
                runner.config.transport == "http"
                and exc.code == INTERNAL_ERROR
                and exc.message == "Server returned an error response"
                and runner.call_http_error
            ):
                # The SDK's stand-in for an HTTP error status: say which.
                return ToolOutput.error(f"the MCP server {server!r} failed the call: {runner.call_http_error}")
            return ToolOutput.error(f"the MCP server {server!r} refused the call: {exc.message} (error {exc.code})")
        except TimeoutError:
            return ToolOutput.error(timeout_text(label, runner.config))
        except ValidationError as exc:
            return ToolOutput.error(f"the MCP server {server!r} sent a malformed result: {first_error(exc)}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return ToolOutput.error(f"calling {label} failed: {describe_leaf(leaves(exc)[0])}")
        problem = runner.output_problems.pop(id(result), None)
        return convert_result(result, label=label, note=problem)

    async def _closed_during_call(self, runner: Runner) -> str:
        """The error for a call whose connection ended, with the reason once the runner knows it."""
        name = runner.config.name
        task = runner.task
        if task is not None and not task.done():
            # The runner is winding down the connection; its status says why (bounded wait).
            await asyncio.wait({task}, timeout=2.0)
        state = runner.state
        reason = "it exited or crashed" if runner.config.transport == "stdio" else "the server went away"
        if state.status in (ServerStatus.DISCONNECTED, ServerStatus.FAILED) and state.message:
            reason = state.message
        return (
            f"the MCP server {name!r} closed the connection during the call ({reason}). "
            f"Tell the user; they can run /mcp reconnect {name}."
        )

    async def _renew_session(self, name: str, runner: Runner) -> Runner | None:
        """Start ``name`` again after its HTTP session was lost; the new runner once connected.

        Concurrent calls that all hit the lost session share one restart.
        """
        async with self._renew_lock:
            current = self._runners.get(name)
            if current is runner:
                await self._stop(name)
                self._start_entry(name)
                current = self._runners.get(name)
        if current is None:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(current.settled.wait(), current.config.startup_timeout + STOP_TIMEOUT)
        if current.state.status is not ServerStatus.CONNECTED:
            return None
        return current

    async def reconnect(self, name: str, *, wait: bool = False, reread: bool = False) -> ServerState:
        """Stop ``name`` if running and start it again (``reread``: from the config files as they are now).

        Raises ``KeyError`` when no server of that name is configured.
        """
        if reread:
            self._reread()
        if name not in self._mcp_config.servers and name not in self._mcp_config.broken:
            raise KeyError(name)
        await self._stop(name)
        self._start_entry(name)
        if wait:
            runner = self._runners.get(name)
            if runner is not None:
                await asyncio.wait_for(runner.settled.wait(), runner.config.startup_timeout + STOP_TIMEOUT)
        return self.states[name]

    async def reload(self) -> list[str]:
        """Re-read the config files: start new servers, stop removed ones, restart changed ones."""
        before = dict(self._mcp_config.servers)
        before_broken = dict(self._mcp_config.broken)
        before_states = set(self.states)
        self._reread()
        wanted = set(self._mcp_config.servers) | set(self._mcp_config.broken)
        changes: list[str] = []
        for name in sorted(before_states - wanted):
            await self._stop(name)
            self.states.pop(name, None)
            changes.append(f"removed {name}")
        for name in sorted(wanted):
            new = self._mcp_config.servers.get(name)
            unchanged = (new is not None and before.get(name) == new) or (
                new is None and before_broken.get(name) == self._mcp_config.broken.get(name)
            )
            if name in self.states and unchanged:
                continue
            if name in self.states:
                await self._stop(name)
                changes.append(f"restarted {name}")
            else:
                changes.append(f"started {name}")
            self._start_entry(name)
        return changes

    async def stop(self, name: str) -> None:
        """Stop one server and forget it (its tools leave the registry)."""
        await self._stop(name)
        self.states.pop(name, None)

    async def close(self) -> None:
        """Stop every server: stdio processes are terminated, HTTP sessions closed. Idempotent."""
        self._closed = True
        await asyncio.gather(*(self._stop(name) for name in list(self._runners)), return_exceptions=True)

    def source_of(self, name: str) -> Path | None:
        """The config file that defines ``name`` (the highest layer), or None."""
        entry = self._mcp_config.servers.get(name) or self._mcp_config.broken.get(name)
        return entry.source if entry is not None else None

    def prompts(self) -> list[PromptInfo]:
        """The prompts of the connected servers (``/server:prompt`` commands)."""
        return [p for state in self.states.values() if state.status is ServerStatus.CONNECTED for p in state.prompts]

    def resources(self) -> list[ResourceInfo]:
        """The resources of the connected servers (``@server:uri`` mentions)."""
        return [r for state in self.states.values() if state.status is ServerStatus.CONNECTED for r in state.resources]

    def rows(self) -> list[ServerState]:
        return sorted(self.states.values(), key=lambda s: s.name)

    @property
    def connected_count(self) -> int:
        return sum(1 for s in self.states.values() if s.status is ServerStatus.CONNECTED)

    def plan_mode_note(self) -> str:
        """Which servers' tools plan mode hides (empty when none)."""
        hidden = [s.name for s in self.rows() if s.status is not ServerStatus.DISABLED and not s.offered_in_plan]
        if not hidden:
            return ""
        return (
            f"plan mode hides the tools of: {', '.join(hidden)} "
            '(set safe_mode = "read_only" or "allow" in their [mcp-servers.NAME] table to offer them)'
        )

    # ---- starting and stopping ----------------------------------------------------------------

    def _reread(self) -> None:
        paths = [self.config.paths.global_config, *project_config_files(self.config.workspace)]
        layers = []
        for path in paths:
            try:
                layer = read_layer(path)
            except Exception as exc:  # ConfigError: keep going with the other files
                self._warn(str(exc))
                continue
            if layer is not None:
                layers.append(layer)
        sections = [(layer, layer.data[SECTION]) for layer in layers if SECTION in layer.data]
        self._mcp_config = parse_layers(sections, self.config.env, self.config.workspace)
        for line in describe_problems(self._mcp_config):
            self._warn(line)

    def _start_entry(self, name: str) -> None:
        if self._closed:
            return
        broken = self._mcp_config.broken.get(name)
        if broken is not None:
            self.states[name] = ServerState(
                name=name,
                transport=broken.transport or "?",
                target="",
                source=broken.source,
                status=ServerStatus.FAILED,
                message=f"invalid entry in {broken.source}: {broken.reason}",
            )
            self._notify(self.states[name])
            return
        config = self._mcp_config.servers[name]
        state = ServerState(
            name=name,
            transport=config.transport,
            target=config.target,
            source=config.source,
            offered_in_plan=config.offered_in_plan,
            safe_mode=config.safe_mode,
        )
        self.states[name] = state
        if not config.enabled:
            state.status = ServerStatus.DISABLED
            state.message = f"enabled = false in {config.source}"
            self._notify(state)
            return
        runner = Runner(config=config, state=state)
        runner.on_eof = lambda: self._connection_ended(runner)
        self._runners[name] = runner
        self._notify(state)
        runner.task = asyncio.get_running_loop().create_task(self._run(runner), name=f"mcp:{name}")

    async def _stop(self, name: str) -> None:
        runner = self._runners.pop(name, None)
        if runner is None:
            return
        runner.stopping = True
        runner.wake.set()
        task = runner.task
        if task is not None and not task.done():
            if runner.client is None and runner.scope is not None:
                runner.scope.cancel()  # still starting: anyio cancellation keeps the shielded cleanup
            done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT)
            if not done:
                if runner.scope is not None:
                    runner.scope.cancel()
                done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT)
                if not done:
                    task.cancel()
                    await asyncio.wait({task}, timeout=1.0)
        self._drop_tools(runner)
        self._set_instructions(runner.config.name, None)
        close_stderr(runner)

    # ---- one server's life --------------------------------------------------------------------

    async def _run(self, runner: Runner) -> None:
        import anyio

        config, state = runner.config, runner.state
        timed_out = False
        try:
            if runner.stopping:
                return
            if config.transport == "stdio":
                # Started before the SDK loads: the server's start-up and ours overlap.
                runner.process = await spawn_server(runner, self.config.env, self.log_dir)
            await import_sdk()
            if runner.stopping:
                return
            client = make_client(runner)
            with anyio.CancelScope(deadline=anyio.current_time() + config.startup_timeout) as scope:
                runner.scope = scope
                async with client:
                    lenient_output_validation(client, runner.output_problems)
                    await self._load_tools(runner, client)
                    extras = await list_extras(config.name, client, self._warn)
                    state.prompts, state.resources = extras.prompts, extras.resources
                    scope.deadline = math.inf
                    runner.client = client
                    self._connected(runner, client)
                    await self._serve(runner)
                    # Leaving the context closes stdin / DELETEs the session: bound it. The
                    # DELETE is a courtesy; a server that no longer answers must not hold up exit.
                    close_within = STOP_TIMEOUT if config.transport == "stdio" else HTTP_CLOSE_TIMEOUT
                    scope.deadline = anyio.current_time() + close_within
            timed_out = scope.cancelled_caught and runner.client is None and not runner.stopping
        except asyncio.CancelledError:
            was_connected = runner.client is not None
            runner.client = None
            if not runner.stopping:
                if was_connected:
                    self._set(state, ServerStatus.DISCONNECTED, "stopped")
                else:
                    self._set(state, ServerStatus.FAILED, "stopped while starting")
            raise
        except Exception as exc:
            message = explain(runner, exc, path_var=self.config.env.get("PATH", os.defpath), sdk_loaded=sdk_imported())
            was_connected = runner.client is not None
            runner.client = None
            if not runner.stopping:
                self._set(state, ServerStatus.DISCONNECTED if was_connected else ServerStatus.FAILED, message)
            return
        finally:
            if runner.process is not None and not runner.process.attached:
                await discard(runner.process)  # started, never connected: stopped, or the SDK failed
            runner.settled.set()
        was_connected = runner.client is not None
        runner.client = None
        if runner.stopping:
            return
        if timed_out:
            self._set(state, ServerStatus.FAILED, timeout_reason(runner))
        elif was_connected:
            self._set(state, ServerStatus.DISCONNECTED, closed_reason(runner))
        else:
            self._set(state, ServerStatus.FAILED, closed_reason(runner))

    async def _serve(self, runner: Runner) -> None:
        import anyio

        while True:
            await runner.wake.wait()
            runner.wake.clear()
            if runner.stopping or runner.eof:
                return
            if runner.refresh:
                runner.refresh = False
                try:
                    with anyio.fail_after(runner.config.startup_timeout):
                        await self._load_tools(runner, runner.client)
                except Exception as exc:
                    if runner.eof or runner.stopping:
                        return
                    self._warn(f"MCP server {runner.config.name}: could not re-list its tools ({exc})")
                self._notify(runner.state)

    def _connection_ended(self, runner: Runner) -> None:
        """Mark a connected server disconnected the moment its connection ends (before cleanup)."""
        if runner.stopping or runner.client is None or runner.state.status is not ServerStatus.CONNECTED:
            return
        self._set(runner.state, ServerStatus.DISCONNECTED, closed_reason(runner))

    def _connected(self, runner: Runner, client: Any) -> None:
        state = runner.state
        info = client.server_info
        state.server_info = f"{info.name} {info.version}".strip() if info is not None else ""
        state.connected_at = time.time()
        instructions = client.instructions
        state.instructions = instructions
        self._set_instructions(runner.config.name, instructions)
        message = ""
        if runner.junk_lines:
            message = f"ignored {runner.junk_lines} line(s) on stdout that are not MCP messages"
        self._set(state, ServerStatus.CONNECTED, message)

    async def _load_tools(self, runner: Runner, client: Any) -> None:
        config = runner.config
        listed: list[Any] = []
        skipped: list[str] = []
        capabilities = client.server_capabilities
        if capabilities is not None and capabilities.tools is not None:
            from pydantic import ValidationError

            try:
                listed = await list_all_tools(client)
            except ValidationError:
                # One malformed tool (no inputSchema, a schema that is not an object...) fails
                # the SDK's check of the whole list: take the list apart and keep the good ones.
                listed, skipped = await list_tools_leniently(client)
        tools: dict[str, McpTool] = {}
        # Tools whose names need no change for providers claim them first: of "a.b" and "a_b",
        # "a_b" keeps its own name and "a.b" gets the hashed one.
        listed.sort(key=lambda tool: not _SAFE_NAME.match(tool.name or ""))
        seen: set[str] = set()
        for tool in listed:
            if not config.allows_tool(tool.name):
                continue
            if tool.name in seen:  # listed twice (or a paginator that repeats itself): once is enough
                continue
            seen.add(tool.name)
            try:
                made = make_tool(config, tool, self)
            except RejectedTool as exc:
                skipped.append(f"{tool.name}: {exc}")
                continue
            if made.name in tools:
                # Two tools that read the same once made safe for providers (a.b and a_b):
                # the second gets a hash of its real name rather than being dropped.
                made = make_tool(config, tool, self, prefixed=disambiguated(made.name, tool.name))
                if made.name in tools:
                    skipped.append(f"{tool.name}: its name {made.name!r} is taken by another tool of this server")
                    continue
            tools[made.name] = made
        self._sync_tools(runner, tools, skipped)

    def _sync_tools(self, runner: Runner, tools: dict[str, McpTool], skipped: list[str]) -> None:
        server = runner.config.name
        for name in list(runner.registered):
            if name not in tools:
                self._unregister(name, server)
                del runner.registered[name]
        for name, tool in tools.items():
            current = self.registry.get(name)
            mine = isinstance(current, McpTool) and current.server == server
            if self.registry.register(tool, replace=mine):
                runner.registered[name] = tool
            else:
                skipped.append(f"{tool.tool_name}: the name {name} is already taken by another tool; kept that one")
        for line in skipped:
            if line not in runner.state.skipped_tools:
                self._warn(f"MCP server {server}: tool {line}")
        runner.state.skipped_tools = skipped
        runner.state.tools = sorted(runner.registered)

    def _drop_tools(self, runner: Runner) -> None:
        for name in list(runner.registered):
            self._unregister(name, runner.config.name)
        runner.registered.clear()
        runner.state.tools = []

    def _unregister(self, name: str, server: str) -> None:
        current = self.registry.get(name)
        if isinstance(current, McpTool) and current.server == server:
            self.registry.unregister(name)

    def stderr_tail(self, name: str, lines: int = 3) -> str:
        runner = self._runners.get(name)
        return runner.stderr_tail(lines) if runner else ""

    # ---- state, listeners, prompt -------------------------------------------------------------

    def _set(self, state: ServerState, status: ServerStatus, message: str) -> None:
        state.status = status
        state.message = message
        if status is not ServerStatus.STARTING:
            runner = self._runners.get(state.name)
            if runner is not None and runner.state is state:
                runner.settled.set()
        if status in (ServerStatus.FAILED, ServerStatus.DISCONNECTED):
            self._set_instructions(state.name, None)
        self._notify(state)

    def _notify(self, state: ServerState) -> None:
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:
                log.exception("an MCP status listener failed")

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)
            log.warning("%s", text)

    def _set_instructions(self, server: str, text: str | None) -> None:
        label = instructions_label(server)
        self.prompt_sections[:] = [s for s in self.prompt_sections if s[0] != label]
        if text and text.strip():
            self.prompt_sections.append((label, sanitize_instructions(text)))


def instructions_label(server: str) -> str:
    """The provenance label of a server's instructions in the system prompt."""
    return f"MCP server {server} (its own instructions, not the user's)"


def sanitize_instructions(text: str) -> str:
    """Cap the text and defuse tags that could close the provenance block early."""
    text = text.strip()
    if len(text) > MAX_INSTRUCTIONS_CHARS:
        text = text[:MAX_INSTRUCTIONS_CHARS] + "\n[... truncated ...]"
    from stoa.core.instructions import defuse_tags

    return defuse_tags(text)


# ---- helpers ------------------------------------------------------------------------------------


def _parse(config: StoaConfig) -> McpConfig:
    return parse_layers(config.section(SECTION), config.env, config.workspace)


def _unavailable(server: str, state: ServerState) -> ToolOutput:
    return ToolOutput.error(
        f"the MCP server {server!r} is {sentence(state.status_text)} Tell the user; they can run "
        f"/mcp reconnect {server} to bring it back."
    )


def _progress_reporter(report: Callable[[str], None]) -> Any:
    async def progress(value: float, total: float | None, message: str | None) -> None:
        amount = f"{value:g}/{total:g}" if total else f"{value:g}"
        text = f"{message} ({amount})" if message else f"progress {amount}"
        try:
            report(text + "\n")
        except Exception:
            log.exception("an MCP progress listener failed")

    return progress
