"""The MCP manager against the real test server over streamable HTTP: calls, list changes,
headers with ``${VAR}`` expansion, 401, refused connections, a server that goes away, and the
session being closed at exit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from stoa.core.mcp.manager import ServerStatus
from stoa.core.providers.types import ImageBlock
from tests.mcp_servers.helpers import HttpTestServer, make_config, make_manager


@pytest.fixture
def http_server() -> Iterator[HttpTestServer]:
    server = HttpTestServer("--instructions", "HTTP server instructions")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def token_server() -> Iterator[HttpTestServer]:
    server = HttpTestServer("--require-token", "s3cret")
    try:
        yield server
    finally:
        server.stop()


async def test_http_server_tools_calls_and_list_changes(tmp_path, http_server: HttpTestServer) -> None:
    manager, registry, sections = make_manager(make_config(tmp_path, {"web": {"url": http_server.url}}))
    try:
        await manager.start_all()
        await manager.wait_started()
        state = manager.states["web"]
        assert state.status is ServerStatus.CONNECTED, state.status_text
        assert state.transport == "http" and state.target == http_server.url
        assert "web___echo" in registry
        assert sections and sections[0][1] == "HTTP server instructions"
        assert (await manager.call_tool("web", "echo", {"text": "over http"})).text_content == "over http"
        out = await manager.call_tool("web", "image", {"width": 4, "height": 4})
        assert any(isinstance(b, ImageBlock) for b in out.content)
        assert (await manager.call_tool("web", "fail", {"message": "no"})).is_error
        await manager.call_tool("web", "add_tool", {"name": "late"})
        await _until(lambda: "web___late" in registry)
    finally:
        await manager.close()
    assert registry.names() == []


async def test_token_from_environment_is_sent_and_a_missing_one_is_a_clear_401(
    tmp_path, token_server: HttpTestServer
) -> None:
    servers = {
        "authed": {"url": token_server.url, "headers": {"Authorization": "Bearer ${MY_MCP_TOKEN}"}},
        "anon": {"url": token_server.url},
        "wrong": {"url": token_server.url, "headers": {"Authorization": "Bearer nope"}},
    }
    manager, _, _ = make_manager(make_config(tmp_path, servers, MY_MCP_TOKEN="s3cret"))
    try:
        await manager.start_all()
        await manager.wait_started()
        states = manager.states
        assert states["authed"].status is ServerStatus.CONNECTED, states["authed"].status_text
        assert states["anon"].status is ServerStatus.FAILED
        assert "HTTP 401" in states["anon"].message
        assert 'headers = { Authorization = "Bearer ${TOKEN}" }' in states["anon"].message
        assert states["wrong"].status is ServerStatus.FAILED
        assert "HTTP 401" in states["wrong"].message and "check the token" in states["wrong"].message
    finally:
        await manager.close()


async def test_unset_variable_in_headers_is_an_invalid_entry(tmp_path, token_server: HttpTestServer) -> None:
    servers = {"authed": {"url": token_server.url, "headers": {"Authorization": "Bearer ${NOT_SET_ANYWHERE}"}}}
    manager, _, _ = make_manager(make_config(tmp_path, servers))
    try:
        await manager.start_all()
        state = manager.states["authed"]
        assert state.status is ServerStatus.FAILED
        assert "environment variable NOT_SET_ANYWHERE is not set" in state.message
        assert any("NOT_SET_ANYWHERE" in w for w in manager.warnings)
    finally:
        await manager.close()


async def test_refused_connection_and_wrong_path(tmp_path, http_server: HttpTestServer) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    servers = {
        "down": {"url": f"http://127.0.0.1:{free_port}/mcp"},
        "typo": {"url": http_server.url.replace("/mcp", "/nope")},
    }
    manager, _, _ = make_manager(make_config(tmp_path, servers))
    try:
        started = time.monotonic()
        await manager.start_all()
        await manager.wait_started()
        assert time.monotonic() - started < 20
        assert manager.states["down"].status is ServerStatus.FAILED
        assert "cannot connect" in manager.states["down"].message
        assert "is the server running?" in manager.states["down"].message
        assert manager.states["typo"].status is ServerStatus.FAILED
        assert "HTTP 404" in manager.states["typo"].message and "/mcp" in manager.states["typo"].message
    finally:
        await manager.close()


async def test_server_going_away_marks_disconnected_then_reconnect(tmp_path) -> None:
    server = HttpTestServer()
    manager, _, _ = make_manager(make_config(tmp_path, {"web": {"url": server.url, "tool_timeout_seconds": 5}}))
    try:
        await manager.start_all()
        await manager.wait_started()
        assert manager.states["web"].status is ServerStatus.CONNECTED
        server.stop()
        out = await manager.call_tool("web", "echo", {"text": "anyone?"})
        assert out.is_error
        await _until(lambda: manager.states["web"].status is ServerStatus.DISCONNECTED)
        assert "/mcp reconnect web" in manager.states["web"].message or "cannot connect" in manager.states["web"].message
        state = await manager.reconnect("web", wait=True)
        assert state.status is ServerStatus.FAILED and "cannot connect" in state.message
    finally:
        server.stop()
        await manager.close()


async def test_stopping_a_server_closes_its_http_session(tmp_path, http_server: HttpTestServer) -> None:
    servers = {"a": {"url": http_server.url}, "b": {"url": http_server.url}}
    manager, _, _ = make_manager(make_config(tmp_path, servers))
    try:
        await manager.start_all()
        await manager.wait_started()
        assert (await manager.call_tool("b", "sessions", {})).text_content == "2"
        await manager.stop("a")
        assert (await manager.call_tool("b", "sessions", {})).text_content == "1"
    finally:
        await manager.close()


async def _until(condition, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
