"""What an MCP server's failure says: each cause named, with what to do about it.

The manager turns whatever goes wrong (a command that cannot run, an HTTP error status, a
transport error inside exception groups, a malformed answer, a connection that ended or never
answered) into one line of text for the server's status or a tool error; the wording lives
here (``explain``, ``closed_reason``, ``timeout_reason`` read what the runner saw).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stoa.core.mcp.config import McpServerConfig

if TYPE_CHECKING:
    from stoa.core.mcp.connection import Runner


class CommandError(Exception):
    """The command of a stdio server cannot be run; the message says why and what to do."""


def resolve_command(config: McpServerConfig, path_var: str) -> str:
    command = config.command or ""
    if os.sep in command:
        candidate = Path(command)
        if not candidate.is_absolute() and config.cwd is not None:
            candidate = config.cwd / candidate
        if not candidate.exists():
            raise CommandError(f"the command {command!r} does not exist ({candidate}); fix command in {config.source}")
        if candidate.is_dir():
            raise CommandError(f"the command {command!r} is a folder, not a program; fix command in {config.source}")
        if not os.access(candidate, os.X_OK):
            raise CommandError(f"{candidate} is not executable (chmod +x it, or run it through its interpreter)")
        return str(candidate)
    found = shutil.which(command, path=path_var)
    if found is None:
        raise CommandError(not_found_text(config))
    return found


def missing_interpreter(config: McpServerConfig, path_var: str) -> str:
    """The interpreter named on the #! line of the command, when the command exists but that does not."""
    try:
        path = resolve_command(config, path_var)
        with open(path, "rb") as handle:
            first = handle.readline(300)
    except (OSError, CommandError):
        return ""
    if not first.startswith(b"#!"):
        return ""
    words = first[2:].decode("utf-8", "replace").split()
    if not words or Path(words[0]).exists():
        return ""
    return words[0]


def not_found_text(config: McpServerConfig) -> str:
    return (
        f"command not found: {config.command!r} (not on PATH); install it or give its full path "
        f"in command of [mcp-servers.{config.name}] in {config.source}"
    )


def sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def timeout_text(label: str, config: McpServerConfig) -> str:
    return (
        f"{label} did not answer within {config.tool_timeout:g} s, so the call was cancelled "
        f"(tool_timeout_seconds of [mcp-servers.{config.name}] sets the limit)"
    )


def http_status_text(response: Any, config: McpServerConfig) -> str:
    code = response.status_code
    reason = getattr(response, "reason_phrase", "") or ""
    base = f"the server answered HTTP {code} {reason}".rstrip()
    where = f"[mcp-servers.{config.name}] in {config.source}"
    if code in (401, 403):
        hint = (
            f'send a token: headers = {{ Authorization = "Bearer ${{TOKEN}}" }} in {where}'
            if not config.headers
            else f"check the token in headers of {where}"
        )
        if "www-authenticate" in response.headers and "oauth" in response.headers.get("www-authenticate", "").lower():
            hint += " (OAuth sign-in is not supported; use a token header)"
        return f"{base}: {hint}"
    if (config.url or "").rstrip("/").endswith("/sse") and code in (400, 404, 405):
        return (
            f"{base}: {config.url} looks like the older HTTP+SSE transport, which Stoa does not speak; "
            f"use the server's streamable HTTP endpoint (often /mcp) in {where}"
        )
    if code == 404:
        return f"{base}: check the url in {where} (the endpoint is often /mcp)"
    if code == 405:
        return f"{base}: the url in {where} does not accept MCP requests (is it the streamable HTTP endpoint?)"
    return f"{base} at {config.url}"


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        found: list[BaseException] = []
        for inner in exc.exceptions:
            found.extend(leaves(inner))
        return found or [exc]
    return [exc]


def pick_leaf(leaves: list[BaseException]) -> BaseException:
    """The most telling of several errors (a transport error explains a closed connection)."""

    def rank(exc: BaseException) -> int:
        module = type(exc).__module__
        if isinstance(exc, CommandError):
            return 0
        if module.startswith("httpx"):
            return 1
        if isinstance(exc, OSError):
            return 2
        if module.startswith("mcp"):
            return 4
        return 3

    return min(leaves, key=rank)


def describe_leaf(exc: BaseException, config: McpServerConfig | None = None) -> str:
    module = type(exc).__module__
    name = type(exc).__name__
    text = str(exc) or name
    if module.startswith("httpx") and config is not None:
        if "Connect" in name:
            detail = "connection refused" if "attempts failed" in text or "refused" in text.lower() else text
            return f"cannot connect to {config.url} ({detail}); is the server running?"
        if "Timeout" in name:
            return f"{config.url} did not answer in time ({name})"
        return f"HTTP error talking to {config.url}: {text}"
    if name == "ValidationError":
        return f"the server sent a malformed answer: {first_error(exc)}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or text}"
    if name == "MCPError":
        return f"the server answered with an error: {getattr(exc, 'message', text)} (error {getattr(exc, 'code', '?')})"
    return f"{name}: {text}"


def first_error(exc: Any) -> str:
    try:
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    except Exception:
        return str(exc)[:300]


def junk_sample(exc: Exception) -> str:
    text = str(exc)
    marker = "input_value="
    if marker in text:
        text = text.split(marker, 1)[1].split(", input_type", 1)[0]
    return text[:120]


# ---- why a connection failed or ended (from what its runner saw) -------------------------------


def explain(runner: Runner, exc: BaseException, *, path_var: str, sdk_loaded: bool) -> str:
    """The status line for a connection that raised ``exc`` (starting, or while connected)."""
    config = runner.config
    if runner.http_error:
        return runner.http_error
    leaf = pick_leaf(leaves(exc))
    if not sdk_loaded and isinstance(leaf, ImportError):
        return (
            f"the MCP SDK (the mcp package) could not be loaded: {leaf}; reinstall it "
            "(pip install --force-reinstall 'mcp>=2.3' in Stoa's environment)"
        )
    if sdk_loaded:  # a failure before the SDK loaded (the command cannot run) is no MCPError
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        if isinstance(leaf, MCPError) and leaf.code == CONNECTION_CLOSED:
            return closed_reason(runner)
        if isinstance(leaf, MCPError) and leaf.code == REQUEST_TIMEOUT:
            return timeout_reason(runner)
    if isinstance(leaf, CommandError):
        return str(leaf)
    if isinstance(leaf, FileNotFoundError) and config.transport == "stdio":
        if config.cwd is not None and not config.cwd.is_dir():
            return f"the folder {config.cwd} (cwd) does not exist"
        interpreter = missing_interpreter(config, path_var)
        if interpreter:
            return (
                f"{config.command!r} is a script whose interpreter ({interpreter}, on its #! line) "
                "does not exist; install it or fix that line"
            )
        return not_found_text(config)
    if isinstance(leaf, PermissionError) and config.transport == "stdio":
        return f"cannot run {config.command!r}: permission denied (is it executable? chmod +x)"
    described = describe_leaf(leaf, config)
    tail = runner.stderr_tail()
    return described + (f"; its last output on stderr: {tail}" if tail else "")


def closed_reason(runner: Runner) -> str:
    """Why a connection ended (the server exited, closed stdout, or the HTTP stream closed)."""
    config = runner.config
    if runner.http_error:
        return runner.http_error
    if config.transport == "http":
        return f"the connection to {config.url} closed; check that the server is running, then /mcp reconnect {config.name}"
    parts = ["the server process exited or closed its stdout"]
    tail = runner.stderr_tail()
    if tail:
        parts.append(f"its last output on stderr: {tail}")
    if runner.junk_lines:
        parts.append(junk_text(runner))
    return "; ".join(parts) + f" (run /mcp reconnect {config.name} once it is fixed)"


def timeout_reason(runner: Runner) -> str:
    """Why a server that never answered initialize failed."""
    config = runner.config
    text = (
        f"no answer to initialize within {config.startup_timeout:g} s "
        f"(startup_timeout_seconds in {config.source})"
    )
    if runner.junk_lines:
        text += "; " + junk_text(runner)
    tail = runner.stderr_tail()
    if tail:
        text += f"; its last output on stderr: {tail}"
    return text


def junk_text(runner: Runner) -> str:
    return (
        f"it printed {runner.junk_lines} line(s) on stdout that are not MCP messages"
        + (f" (first: {runner.first_junk})" if runner.first_junk else "")
        + "; an MCP server must print only JSON-RPC on stdout and log to stderr"
    )
