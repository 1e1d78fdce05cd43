"""`stoa mcp add|add-http|list|remove|get` through the real CLI, with the stdio test server."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.integration.test_headless import stoa
from tests.mcp_servers.helpers import SERVER_SCRIPT


def test_add_list_get_remove(stoa_env: dict[str, str], tmp_path: Path) -> None:
    ws = tmp_path / "project"
    ws.mkdir()
    added = stoa(["mcp", "add", "t", sys.executable, str(SERVER_SCRIPT)], stoa_env, ws)
    assert added.returncode == 0, added.stderr
    local = ws / ".stoa" / "config.local.toml"
    assert "[mcp-servers.t]" in local.read_text()
    http = stoa(["mcp", "add-http", "web", "https://example.invalid/mcp", "--header", "Authorization=Bearer ${TOKEN}"], stoa_env, ws)
    assert http.returncode == 0, http.stderr
    got = stoa(["mcp", "get", "web"], {**stoa_env, "TOKEN": "secret-value-123"}, ws)
    assert got.returncode == 0, got.stderr
    assert "url: https://example.invalid/mcp" in got.stdout and "headers: Authorization" in got.stdout
    assert "secret-value-123" not in got.stdout and str(local) in got.stdout
    assert stoa(["mcp", "remove", "web"], stoa_env, ws).returncode == 0
    listed = stoa(["mcp", "list"], stoa_env, ws, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "t" in listed.stdout and "connected" in listed.stdout and "web" not in listed.stdout
    assert stoa(["mcp", "get", "web"], stoa_env, ws).returncode == 1


def test_bad_input(stoa_env: dict[str, str], tmp_path: Path) -> None:
    ws = tmp_path / "project"
    ws.mkdir()
    bad_name = stoa(["mcp", "add", "a___b", "x"], stoa_env, ws)
    assert bad_name.returncode == 2 and "separates server and tool names" in bad_name.stderr
    assert stoa(["mcp", "add-http", "w", "ftp://x"], stoa_env, ws).returncode == 2
    missing = stoa(["mcp", "remove", "nope"], stoa_env, ws)
    assert missing.returncode == 2 and "no MCP server named 'nope'" in missing.stderr
    unknown = stoa(["mcp", "frobnicate"], stoa_env, ws)
    assert unknown.returncode == 2 and "usage: stoa mcp list" in unknown.stderr
    assert not (ws / ".stoa" / "config.local.toml").exists()
