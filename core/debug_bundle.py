"""``/debug-bundle``: one zip to attach to a bug report.

It holds the conversation as Markdown (``conversation.md``), the raw API messages
(``messages.json``), metadata (version, model, provider, effort, mode, session, platform,
hooks, MCP servers), the recent log (``stoa.log``) and an allow-listed environment
(``environment.json``: only the variables below, values redacted; for the key variables only
whether they are set). Everything passes Stoa's redaction of credentials
(``core.sandbox.secrets``) before it is written.
"""

from __future__ import annotations

import json
import platform
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stoa.core.keys import key_variable
from stoa.core.models import ALL_PROVIDERS

ENV_ALLOWED = (
    "SHELL",
    "TERM",
    "TERM_PROGRAM",
    "COLORTERM",
    "LANG",
    "LC_ALL",
    "TMUX",
    "STOA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "ANTHROPIC_BASE_URL",
    "OPENAI_BASE_URL",
    "OLLAMA_HOST",
    "VIRTUAL_ENV",
    "NO_COLOR",
)


def allowed_environment(env: Mapping[str, str]) -> dict[str, str]:
    out = {name: env[name] for name in ENV_ALLOWED if name in env}
    for name in sorted({key_variable(provider) for provider in ALL_PROVIDERS}):
        out[name] = "(set)" if env.get(name) else "(not set)"
    return out


def write_bundle(
    path: Path,
    *,
    markdown: str,
    messages: list[dict[str, Any]],
    metadata: dict[str, Any],
    log_text: str,
    env: Mapping[str, str],
    redact: Any,
) -> list[str]:
    """Write the zip (never over an existing file); returns the names of its entries."""
    metadata = {**metadata, "python": sys.version.split()[0], "platform": platform.platform()}
    entries = {
        "conversation.md": redact(markdown),
        "messages.json": json.dumps(redact.redact_value(messages), indent=1, ensure_ascii=False),
        "metadata.json": json.dumps(redact.redact_value(metadata), indent=1, ensure_ascii=False),
        "stoa.log": redact(log_text),
        "environment.json": json.dumps(redact.redact_value(allowed_environment(env)), indent=1),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "x", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, text in entries.items():
            bundle.writestr(name, text)
    return list(entries)
