"""``stoa acp``'s agent: the ACP methods over Stoa's runtime, one ``AcpSession`` per session.

``initialize`` says what Stoa takes (images, embedded context, MCP servers over stdio and HTTP,
``session/load``); ``session/new`` builds a runtime for the client's folder with the client's
MCP servers added to the configured ones (a client server replaces a configured one of the
same name); ``session/load`` resumes a saved session and replays it; ``session/prompt``,
``session/cancel``, ``session/set_mode`` and ``session/set_config_option`` (mode, model,
effort) go to the session. A session the connection does not know is an error that says how
to get one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION
from acp import schema as s

from stoa.app.acp import errors
from stoa.app.acp.replay import replay
from stoa.app.acp.session import AcpSession
from stoa.core.runtime import Choices, Runtime

log = logging.getLogger("stoa.acp")

# Where the client's MCP servers show up in warnings (a layer above the config files).
CLIENT_LAYER = Path("<the editor's MCP servers>")


class StoaAgent:
    """The ACP agent. ``close`` saves every session (the client went away, or stdin ended)."""

    def __init__(self, choices: Choices, version: str) -> None:
        self.choices = choices
        self.version = version
        self.conn: Any = None
        self.client: s.ClientCapabilities = s.ClientCapabilities()
        self.sessions: dict[str, AcpSession] = {}
        # Updates to send once the response naming their session is out (a new session's commands).
        self._after_response: dict[str, list[Any]] = {}
        # New sessions whose SessionStart hooks run once the response is out.
        self._hooks_after_response: dict[str, AcpSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    # ---- the connection ---------------------------------------------------------------------

    async def initialize(
        self, protocol_version: int, client_capabilities: s.ClientCapabilities | None = None, client_info: Any = None, **_: Any
    ) -> s.InitializeResponse:
        self.client = client_capabilities or s.ClientCapabilities()
        return s.InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=s.AgentCapabilities(
                load_session=True,
                prompt_capabilities=s.PromptCapabilities(image=True, audio=False, embedded_context=True),
                mcp_capabilities=s.McpCapabilities(http=True, sse=False),
                session_capabilities=s.SessionCapabilities(list=s.SessionListCapabilities()),
            ),
            agent_info=s.Implementation(name="stoa", title="Stoa", version=self.version),
            auth_methods=[],
        )

    def message_sent(self, message: dict[str, Any]) -> None:
        """The transport wrote ``message``: a new session's response is out, its updates follow."""
        result = message.get("result")
        session_id = result.get("sessionId") if isinstance(result, dict) else None
        if not isinstance(session_id, str):
            return
        pending = self._after_response.pop(session_id, None)
        hooks = self._hooks_after_response.pop(session_id, None)
        session = self.sessions.get(session_id)
        if session is not None and (pending or hooks):
            task = asyncio.get_running_loop().create_task(self._first_updates(session, pending or [], hooks is not None))
            session.starting = task  # a prompt waits for the SessionStart hooks, as in headless
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _first_updates(self, session: AcpSession, updates: list[Any], start_hooks: bool) -> None:
        for update in updates:
            await session.send(update)
        if start_hooks:
            try:
                await session.session_started("startup")
            except Exception as exc:  # a hook's failure is the hook's, never the session's
                log.warning("SessionStart hooks: %s", exc)

    # ---- sessions ---------------------------------------------------------------------------

    async def new_session(
        self, cwd: str, mcp_servers: list[Any] | None = None, additional_directories: list[str] | None = None, **_: Any
    ) -> s.NewSessionResponse:
        from stoa.core.sessions import SessionStoreError, open_session

        runtime = self._runtime(cwd, mcp_servers)
        try:
            await open_session(runtime, titles=False)
        except SessionStoreError as exc:
            await _discard(runtime)
            raise errors.invalid_request(str(exc)) from None
        session = self._add(runtime)
        self._after_response[session.id] = [session.available_commands()]
        self._hooks_after_response[session.id] = session
        await self._start_mcp(runtime)
        return s.NewSessionResponse(session_id=session.id, modes=session.modes(), config_options=session.config_options())

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> s.LoadSessionResponse:
        from stoa.core.sessions import (
            InvalidSessionIdError,
            SessionLockedError,
            SessionNotFoundError,
            SessionStoreError,
            open_session,
        )

        current = self.sessions.pop(session_id, None)
        if current is not None:  # loaded again on this connection: saved first, then read back
            await current.close()
        runtime = self._runtime(cwd, mcp_servers)
        try:
            store_id = await _full_id(runtime, session_id)
            handle = await open_session(runtime, store_id, titles=False)
        except InvalidSessionIdError as exc:
            await _discard(runtime)
            raise errors.invalid_params(f"{exc}; pass a session id from session/new or session/list") from None
        except SessionNotFoundError:
            await _discard(runtime)
            raise errors.not_found(
                f"no saved Stoa session {session_id!r}; list them with session/list, or start one with session/new"
            ) from None
        except (SessionLockedError, SessionStoreError) as exc:
            await _discard(runtime)
            raise errors.invalid_request(str(exc)) from None
        session = self._add(runtime)
        for update in replay(await handle.all_records(), runtime.config.workspace):
            await session.send(update)
        for notice in handle.notices:
            from stoa.app.acp import updates as up

            await session.send(up.agent_text(up.notice_text("info", notice)))
        await session.send(session.available_commands())
        await session.session_started("resume")
        await self._start_mcp(runtime)
        return s.LoadSessionResponse(modes=session.modes(), config_options=session.config_options())

    async def list_sessions(self, cwd: str | None = None, cursor: str | None = None, **_: Any) -> s.ListSessionsResponse:
        from stoa.core.config import StoaPaths
        from stoa.core.sessions import SessionStore

        project = str(await asyncio.to_thread(Path(cwd).resolve)) if cwd else None
        store = await SessionStore.open(StoaPaths.from_env(dict(os.environ)).database, detached_ok=True)
        try:
            infos = await store.list_sessions(project, limit=200)
        finally:
            await store.aclose()
        return s.ListSessionsResponse(
            sessions=[
                s.SessionInfo(
                    session_id=i.id,
                    cwd=i.project,
                    title=i.title or i.preview[:80] or None,
                    updated_at=datetime.fromtimestamp(i.updated_at, UTC).isoformat(),
                )
                for i in infos
            ]
        )

    async def set_session_mode(self, session_id: str, mode_id: str, **_: Any) -> s.SetSessionModeResponse:
        await self._session(session_id).set_mode(mode_id)
        return s.SetSessionModeResponse()

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **_: Any
    ) -> s.SetSessionConfigOptionResponse:
        session = self._session(session_id)
        await session.set_option(config_id, str(value))
        return s.SetSessionConfigOptionResponse(config_options=session.config_options())

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> s.PromptResponse:
        return await self._session(session_id).prompt(prompt)

    async def cancel(self, session_id: str, **_: Any) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.cancel()

    async def close(self) -> None:
        """Save and close every session (the connection ended)."""
        sessions = list(self.sessions.values())
        self.sessions.clear()
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)

    # ---- helpers ----------------------------------------------------------------------------

    def _session(self, session_id: str) -> AcpSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise errors.not_found(
                f"unknown session {session_id!r}: start one with session/new, or load a saved one with session/load"
            )
        return session

    def _add(self, runtime: Runtime) -> AcpSession:
        session = AcpSession(self.conn, runtime)
        fs = self.client.fs
        if fs is not None and (fs.read_text_file or fs.write_text_file):
            from stoa.app.acp.files import ClientFiles

            runtime.agent.editor_files = ClientFiles(
                self.conn,
                session.id,
                asyncio.get_running_loop(),
                read=bool(fs.read_text_file),
                write=bool(fs.write_text_file),
            )
        if self.client.terminal:
            from stoa.app.acp.terminals import ClientTerminals

            session.terminals = ClientTerminals(self.conn, session.id, session.send)
            runtime.agent.terminals = session.terminals
        self.sessions[session.id] = session
        return session

    def _runtime(self, cwd: str, mcp_servers: list[Any] | None) -> Runtime:
        from stoa.core.config import ConfigError, ConfigLayer, load_config
        from stoa.core.models import UnknownModelError, UnsupportedEffortError
        from stoa.core.runtime import NoLocalModelError, build_runtime

        folder = Path(cwd)
        if not folder.is_absolute() or not folder.is_dir():
            raise errors.invalid_params(f"cwd must be the absolute path of an existing folder; got {cwd!r}")
        try:
            config = load_config(folder)
        except ConfigError as exc:
            raise errors.invalid_params(f"Stoa's configuration for {cwd} cannot be used: {exc}") from None
        servers = client_mcp_servers(mcp_servers or [])
        if servers:
            config.layers.append(ConfigLayer(path=CLIENT_LAYER, data={"mcp-servers": servers}, text=""))
        try:
            return build_runtime(config, dataclasses.replace(self.choices))
        except (UnknownModelError, UnsupportedEffortError, NoLocalModelError, ValueError) as exc:
            raise errors.invalid_params(str(exc)) from None

    async def _start_mcp(self, runtime: Runtime) -> None:
        if not runtime.config.section("mcp-servers"):
            return
        from stoa.core.mcp import attach

        manager = attach(runtime)
        for warning in manager.warnings:
            log.warning("mcp: %s", warning)
        await manager.start_all()


def client_mcp_servers(servers: list[Any]) -> dict[str, dict[str, Any]]:
    """The client's MCP servers as ``[mcp-servers.NAME]`` tables (SSE servers are not taken:
    Stoa did not offer them in ``initialize``)."""
    table: dict[str, dict[str, Any]] = {}
    for server in servers:
        if isinstance(server, s.McpServerStdio):
            table[server.name] = {
                "command": server.command,
                "args": list(server.args),
                "env": {e.name: e.value for e in server.env},
            }
        elif isinstance(server, s.HttpMcpServer):
            table[server.name] = {"url": server.url, "headers": {h.name: h.value for h in server.headers}}
        else:
            name = getattr(server, "name", "?")
            raise errors.invalid_params(f"MCP server {name!r}: SSE servers are not supported; use stdio or HTTP")
    return table


async def _full_id(runtime: Runtime, session_id: str) -> str:
    from stoa.core.sessions import SessionNotFoundError, open_store, validate_session_id

    session_id = validate_session_id(session_id)
    store = await open_store(runtime)
    if await store.get(session_id) is None:
        raise SessionNotFoundError(session_id)
    return session_id


async def _discard(runtime: Runtime) -> None:
    from stoa.core.sessions import close_session

    try:
        await close_session(runtime)
    except Exception:
        pass
    await runtime.aclose()
