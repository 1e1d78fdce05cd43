"""Helpers for the MCP tests: config files in a temporary workspace, the HTTP test server, pids."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from stoa.core.config import StoaConfig, load_config
from stoa.core.mcp.commands import render_table
from stoa.core.mcp.manager import McpManager
from stoa.core.tools.registry import ToolRegistry

SERVER_SCRIPT = Path(__file__).resolve().parent / "stoa_test_server.py"
REPO_ROOT = SERVER_SCRIPT.parent.parent.parent
NPM_DIR = REPO_ROOT / "tests" / ".npm"
EVERYTHING_BIN = NPM_DIR / "node_modules" / ".bin" / "mcp-server-everything"


def stdio_entry(*flags: str, **extra: Any) -> dict[str, Any]:
    """A ``[mcp-servers.NAME]`` entry running the test server over stdio with ``flags``."""
    return {"command": sys.executable, "args": [str(SERVER_SCRIPT), *flags], **extra}


def write_servers(workspace: Path, servers: dict[str, dict[str, Any]], file: str = "config.toml") -> Path:
    path = workspace / ".stoa" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(render_table(name, entry) for name, entry in servers.items()), encoding="utf-8")
    return path


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "STOA_HOME": str(tmp_path / "stoa-home"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **extra,
    }


def make_config(
    tmp_path: Path, servers: dict[str, dict[str, Any]] | None = None, **env: str
) -> StoaConfig:
    workspace = tmp_path / "ws"
    workspace.mkdir(parents=True, exist_ok=True)
    if servers is not None:
        write_servers(workspace, servers)
    return load_config(workspace, env=isolated_env(tmp_path, **env))


def make_manager(config: StoaConfig, mode: str = "auto") -> tuple[McpManager, ToolRegistry, list[tuple[str, str]]]:
    registry = ToolRegistry()
    sections: list[tuple[str, str]] = []
    manager = McpManager(config, registry, prompt_sections=sections, mode=lambda: mode)
    return manager, registry, sections


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not alive for our purpose.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


class HttpTestServer:
    """The test server over streamable HTTP in a subprocess; ``url`` once it listens."""

    def __init__(self, *flags: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), "--http", *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        port: list[int] = []
        reader = threading.Thread(target=self._read_port, args=(port,), daemon=True)
        reader.start()
        reader.join(30)
        if not port:
            self.stop()
            raise RuntimeError("the HTTP test server did not start within 30 s")
        self.port = port[0]
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def _read_port(self, port: list[int]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("PORT "):
                port.append(int(line.split()[1]))
                return

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
