"""Local server detection against real HTTP servers on loopback (Ollama and LM Studio shapes)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from stoa.core.providers.detect import (
    detect_compatible,
    detect_lmstudio,
    detect_local_servers,
    detect_ollama,
    first_model_sync,
    ollama_root,
)

Handler = Callable[[str, dict[str, str]], tuple[int, object]]


@asynccontextmanager
async def http_server(handler: Handler) -> AsyncIterator[tuple[str, list[str]]]:
    """A tiny real HTTP/1.1 server: handler(path, headers) -> (status, json body)."""
    seen: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        path = lines[0].split()[1]
        headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        seen.append(path)
        status, body = handler(path, headers)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.close()
        await server.wait_closed()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ollama_handler(path: str, headers: dict[str, str]) -> tuple[int, object]:
    if path == "/api/tags":
        return 200, {
            "models": [
                {"name": "qwen3:8b", "model": "qwen3:8b", "details": {"family": "qwen3"}},
                {"name": "llama3.2:latest", "model": "llama3.2:latest"},
            ]
        }
    return 404, {"error": "not found"}


def lmstudio_handler(path: str, headers: dict[str, str]) -> tuple[int, object]:
    if path == "/v1/models":
        return 200, {
            "object": "list",
            "data": [
                {"id": "qwen2.5-coder-7b-instruct", "object": "model", "max_context_length": 32768},
                {"id": "text-embedding-nomic", "object": "model", "type": "embeddings"},
                {"id": "gemma-3-12b", "object": "model"},
            ],
        }
    return 404, {"error": "not found"}


async def test_detects_ollama_models_from_api_tags() -> None:
    async with http_server(ollama_handler) as (root, seen):
        server = await detect_ollama(root)
    assert server is not None
    assert server.provider == "ollama"
    assert server.base_url == f"{root}/v1"
    assert server.models == ("qwen3:8b", "llama3.2:latest")
    # The list, then one /api/show per model (answered 404 here: no details, no harm).
    assert seen == ["/api/tags", "/api/show", "/api/show"]
    assert server.context_windows == {} and server.no_tools == frozenset()
    assert server.label.startswith("Ollama at http://127.0.0.1:")


async def test_detects_lmstudio_models_without_embeddings() -> None:
    async with http_server(lmstudio_handler) as (root, seen):
        server = await detect_lmstudio(root)
    assert server is not None
    assert server.models == ("qwen2.5-coder-7b-instruct", "gemma-3-12b")
    assert server.context_windows == {"qwen2.5-coder-7b-instruct": 32768}
    assert seen == ["/v1/models"]


async def test_nothing_listening_is_absent_not_an_error() -> None:
    port = free_port()
    assert await detect_ollama(f"http://127.0.0.1:{port}") is None
    assert await detect_lmstudio(f"http://127.0.0.1:{port}") is None


async def test_wrong_shape_or_error_status_is_absent() -> None:
    async with http_server(lambda p, h: (200, "<html>not json</html>")) as (root, _):
        assert await detect_ollama(root) is None
        assert await detect_lmstudio(root) is None
    async with http_server(lambda p, h: (500, {"error": "boom"})) as (root, _):
        assert await detect_ollama(root) is None


async def test_a_silent_server_times_out_quickly() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await detect_lmstudio(f"http://127.0.0.1:{port}", probe_timeout=0.2) is None
        assert loop.time() - started < 3  # bounded by the probe timeout, not the server
    finally:
        server.close()


async def test_detect_both_at_once() -> None:
    async with http_server(ollama_handler) as (ollama, _), http_server(lmstudio_handler) as (lms, _):
        found = await detect_local_servers(ollama=ollama, lmstudio=lms)
    assert [s.provider for s in found] == ["ollama", "lmstudio"]


async def test_configured_compatible_server_sends_its_key() -> None:
    def handler(path: str, headers: dict[str, str]) -> tuple[int, object]:
        if headers.get("authorization") != "Bearer sk-or-test":
            return 401, {"error": "no key"}
        return 200, {"data": [{"id": "anthropic/claude-sonnet-4.6", "context_length": 1000000}]}

    async with http_server(handler) as (root, seen):
        assert await detect_compatible("openrouter", f"{root}/api/v1") is None
        server = await detect_compatible("openrouter", f"{root}/api/v1", api_key="sk-or-test")
    assert server is not None and server.models == ("anthropic/claude-sonnet-4.6",)
    assert server.context_windows == {"anthropic/claude-sonnet-4.6": 1000000}
    assert seen == ["/api/v1/models", "/api/v1/models"]


def test_ollama_host_is_honoured() -> None:
    assert ollama_root({}) == "http://localhost:11434"
    assert ollama_root({"OLLAMA_HOST": "0.0.0.0"}) == "http://localhost:11434"
    assert ollama_root({"OLLAMA_HOST": "gpu-box:9999"}) == "http://gpu-box:9999"
    assert ollama_root({"OLLAMA_HOST": "https://ollama.example/"}) == "https://ollama.example"
    assert ollama_root({"OLLAMA_HOST": "http://127.0.0.1:5000"}) == "http://127.0.0.1:5000"


async def test_ollama_details_give_context_and_tool_support() -> None:
    shows = {
        "qwen3:8b": {"model_info": {"qwen3.context_length": 40960}, "capabilities": ["completion", "tools"]},
        "gemma:2b": {"model_info": {"gemma.context_length": 8192}, "capabilities": ["completion"]},
    }

    def handler(path: str, headers: dict[str, str]) -> tuple[int, object]:
        if path == "/api/tags":
            return 200, {"models": [{"name": n, "model": n} for n in shows]}
        return 404, {}

    seen_bodies: list[str] = []

    @asynccontextmanager
    async def server_with_show() -> AsyncIterator[str]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            method, path = lines[0].split()[:2]
            length = next((int(ln.split(":")[1]) for ln in lines if ln.lower().startswith("content-length")), 0)
            body = (await reader.readexactly(length)).decode() if length else ""
            if method == "POST" and path == "/api/show":
                seen_bodies.append(body)
                status, payload = 200, shows[json.loads(body)["model"]]
            else:
                status, payload = handler(path, {})
            data = json.dumps(payload).encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                "Connection: close\r\n\r\n".encode() + data
            )
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        try:
            yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        finally:
            server.close()

    async with server_with_show() as root:
        found = await detect_ollama(root)
        plain = await detect_ollama(root, details=False)
    assert found is not None and plain is not None
    assert found.context_windows == {"qwen3:8b": 40960, "gemma:2b": 8192}
    assert found.no_tools == frozenset({"gemma:2b"})
    assert sorted(json.loads(b)["model"] for b in seen_bodies) == ["gemma:2b", "qwen3:8b"]
    assert plain.context_windows == {} and plain.no_tools == frozenset()

    from stoa.app.screens.model_picker import local_model_infos

    models = {m.id: m for m in local_model_infos([found])}
    assert models["gemma:2b"].supports_tools is False and models["gemma:2b"].context_window == 8192
    assert models["qwen3:8b"].supports_tools is True


async def test_first_model_sync_for_start_up() -> None:
    async with http_server(lmstudio_handler) as (root, _):
        first = await asyncio.to_thread(first_model_sync, f"{root}/v1")
    assert first == "qwen2.5-coder-7b-instruct"
    assert await asyncio.to_thread(first_model_sync, f"http://127.0.0.1:{free_port()}/v1") is None
