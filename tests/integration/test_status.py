"""--check-connection and /status against the fake provider server: latency on success, the exact
error and what to do on failure (401 names the key and where it came from)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stoa.app.status import connection_report, status_report
from stoa.core.config import load_config
from stoa.core.keys import save_key
from stoa.core.runtime import Choices, build_runtime
from tests.fake_server import FakeServer

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_for(tmp_path: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    env = {"STOA_HOME": str(tmp_path / "stoa-home"), "HOME": str(tmp_path), **env}
    workspace = tmp_path / "project"
    workspace.mkdir(exist_ok=True)
    return load_config(workspace, env=env)


async def test_both_cloud_providers_answer_with_latency(tmp_path: Path, stoa_env: dict[str, str], fake_server: FakeServer) -> None:
    config = config_for(tmp_path, stoa_env)
    text, ok = await connection_report(config, Choices())
    assert ok, text
    assert f"✓ Anthropic at {fake_server.base_url}: ok" in text
    assert f"✓ OpenAI at {fake_server.openai_base_url}: ok" in text
    assert " ms" in text
    assert "key: environment variable ANTHROPIC_API_KEY" in text
    paths = {r.path for r in fake_server.requests}
    assert "/v1/models" in paths


async def test_rejected_env_key_names_the_variable(tmp_path: Path, stoa_env: dict[str, str]) -> None:
    with FakeServer(api_key="the-right-key") as server:
        env = {**stoa_env, "ANTHROPIC_BASE_URL": server.base_url, "OPENAI_BASE_URL": server.openai_base_url}
        env["ANTHROPIC_API_KEY"] = "sk-ant-wrong-key-0000000000000WXYZ"
        env["OPENAI_API_KEY"] = "the-right-key"
        config = config_for(tmp_path, env)
        text, ok = await connection_report(config, Choices(), timeout_s=30)
    assert not ok
    assert "✗ Anthropic" in text and "✓ OpenAI" in text
    assert "Anthropic rejected the key sk-ant…WXYZ from environment variable ANTHROPIC_API_KEY" in text
    assert "unset ANTHROPIC_API_KEY" in text
    assert "sk-ant-wrong-key-0000000000000WXYZ" not in text


async def test_rejected_saved_key_names_the_file(tmp_path: Path, stoa_env: dict[str, str]) -> None:
    with FakeServer(api_key="the-right-key") as server:
        env = {k: v for k, v in stoa_env.items() if not k.endswith("_API_KEY")}
        env["OPENAI_BASE_URL"] = server.openai_base_url
        config = config_for(tmp_path, env)
        save_key(config.paths, "openai", "sk-proj-saved-but-wrong-00001234", env=env)
        text, ok = await connection_report(config, Choices(provider="openai"), timeout_s=30)
    assert not ok
    assert f"OpenAI rejected the key sk-pro…1234 from saved key in {config.paths.keys_file}" in text
    assert "paste a new key" in text


async def test_local_server_ok_and_dead_server_says_what_to_do(tmp_path: Path, fake_server: FakeServer) -> None:
    config = config_for(tmp_path, {})
    text, ok = await connection_report(
        config, Choices(provider="ollama", model="qwen3:8b", base_url=fake_server.openai_base_url)
    )
    assert ok, text
    assert f"✓ Ollama at {fake_server.openai_base_url}: ok" in text
    dead = f"http://127.0.0.1:{free_port()}/v1"
    text, ok = await connection_report(config, Choices(provider="ollama", model="qwen3:8b", base_url=dead), timeout_s=30)
    assert not ok
    assert f"✗ Ollama at {dead}" in text and "start Ollama" in text


async def test_no_key_at_all_explains_how_to_start(tmp_path: Path) -> None:
    config = config_for(tmp_path, {"OLLAMA_HOST": f"127.0.0.1:{free_port()}"})
    text, ok = await connection_report(config, Choices())
    assert not ok
    assert "No provider is configured" in text and "export ANTHROPIC_API_KEY" in text


async def test_status_shows_session_and_providers(tmp_path: Path, stoa_env: dict[str, str], fake_server: FakeServer) -> None:
    config = config_for(tmp_path, stoa_env)
    runtime = build_runtime(config, Choices(model="claude-haiku-4-5", effort="low"))
    try:
        text, ok = await status_report(runtime)
    finally:
        await runtime.provider_for.aclose()  # type: ignore[attr-defined]
    assert ok, text
    assert text.startswith("model: claude-haiku-4-5 (Claude Haiku 4.5, Anthropic), effort: low")
    assert "providers:" in text and "✓ Anthropic" in text and "✓ OpenAI" in text


@pytest.mark.parametrize("server_key", [None, "the-right-key"])
def test_cli_check_connection_exit_codes(tmp_path: Path, stoa_env: dict[str, str], server_key: str | None) -> None:
    with FakeServer(api_key=server_key) as server:
        env = {**stoa_env, "ANTHROPIC_BASE_URL": server.base_url, "OPENAI_BASE_URL": server.openai_base_url}
        result = subprocess.run(
            [sys.executable, "-m", "stoa.app.cli", "--check-connection"],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    if server_key is None:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "✓ Anthropic" in result.stdout and "✓ OpenAI" in result.stdout
    else:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "rejected the key" in result.stdout and "environment variable" in result.stdout
    assert os.environ.get("ANTHROPIC_API_KEY") is None  # the test process itself stays clean


# A fresh interpreter, where nothing of HTTP has been imported yet: the check's clock starts only
# when the HTTP client is built (its import is not the request's latency). The providers speak
# the wire themselves: neither SDK is imported.
_FIRST_TICK = """
import asyncio, json, sys, time
from pathlib import Path
from stoa.core.config import load_config
from stoa.core.providers.factory import ProviderPool, check_connection

config = load_config(Path.cwd())
pool = ProviderPool(config)
report = {}
for provider in ("anthropic", "openai"):
    ticks = []

    def clock(ticks=ticks):
        ticks.append("httpx2" in sys.modules)
        return time.monotonic()

    ok, latency, detail = asyncio.run(check_connection(pool.get(provider), clock=clock))
    report[provider] = {"ok": ok, "sdk_ready_at_start": ticks[0], "detail": detail}
report["sdks imported"] = [name for name in ("anthropic", "openai") if name in sys.modules]
print(json.dumps(report))
"""


def test_check_connection_latency_leaves_out_the_client_import(tmp_path: Path, stoa_env: dict[str, str]) -> None:
    import json

    result = subprocess.run(
        [sys.executable, "-c", _FIRST_TICK],
        cwd=tmp_path,
        env={**stoa_env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for provider in ("anthropic", "openai"):
        assert report[provider]["ok"], report
        assert report[provider]["sdk_ready_at_start"], report
    assert report["sdks imported"] == [], report


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_check_key_asks_the_model_list_with_that_key(provider: str) -> None:
    from stoa.core.providers.factory import check_key

    right = {"anthropic": "sk-ant-right-" + "r" * 30, "openai": "sk-proj-right-" + "r" * 30}[provider]
    with FakeServer(api_key=right) as server:
        base_url = server.base_url if provider == "anthropic" else server.openai_base_url
        works = await check_key(provider, right, base_url=base_url)
        rejected = await check_key(provider, right[:-4] + "nope", base_url=base_url)
    assert works.verdict == "works" and "models" in works.detail
    assert rejected.verdict == "rejected"
    unreachable = await check_key(provider, right, base_url=f"http://127.0.0.1:{free_port()}/v1", timeout_s=10)
    assert unreachable.verdict == "unchecked"


async def test_check_key_does_not_pretend_for_a_public_model_list() -> None:
    from stoa.core.providers.factory import check_key

    result = await check_key("openrouter", "sk-or-v1-" + "x" * 40, base_url="http://127.0.0.1:9/v1")
    assert result.verdict == "unchecked" and "without a key" in result.detail
