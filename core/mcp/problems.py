"""What an MCP server's failure says: each cause named, with what to do about it.

The manager turns whatever goes wrong (a command that cannot run, an HTTP error status, a
transport error inside exception groups, a malformed answer) into one line of text for the
server's status or a tool error; the wording lives here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from stoa.core.mcp.config import McpServerConfig


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
