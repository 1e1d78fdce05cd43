"""Find local model servers: a running Ollama or LM Studio, and the models they offer.

Used at first run when no cloud key is set (the onboarding screen offers a detected server) and
by the model picker to list the models of a local or configured OpenAI-compatible server.
Every probe has a short timeout and never raises: a server that is not there is simply absent.

Ollama is asked ``GET /api/tags`` (its native list, which includes models not yet loaded);
LM Studio and any other OpenAI-compatible server ``GET /v1/models``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT = 0.6

OLLAMA_ROOT = "http://localhost:11434"
LMSTUDIO_ROOT = "http://localhost:1234"


@dataclass(frozen=True)
class LocalServer:
    """A server that answered, the OpenAI-compatible base URL to use, and its model ids."""

    provider: str  # "ollama" | "lmstudio" | another compatible provider name
    base_url: str  # ends in /v1: what the Chat Completions client is given
    models: tuple[str, ...] = ()
    # Context windows reported by the server, when it tells (LM Studio's max_context_length).
    context_windows: dict[str, int] = field(default_factory=dict)
    # Models the server says cannot call tools (Ollama's capabilities without "tools").
    no_tools: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        name = {"ollama": "Ollama", "lmstudio": "LM Studio"}.get(self.provider, self.provider)
        return f"{name} at {self.base_url.removesuffix('/v1')}"


def ollama_root(env: Mapping[str, str] | None = None) -> str:
    """Ollama's address; ``OLLAMA_HOST`` (``host:port`` or a URL) is honoured as Ollama does."""
    env = os.environ if env is None else env
    host = (env.get("OLLAMA_HOST") or "").strip()
    if not host:
        return OLLAMA_ROOT
    # As Ollama reads it: no scheme means http and port 11434; a scheme brings its usual port.
    scheme, sep, rest = host.partition("://")
    if not sep:
        scheme, rest = "http", host
    hostport = rest.rstrip("/")
    if hostport.startswith("0.0.0.0"):  # a bind address; connect locally
        hostport = "localhost" + hostport[len("0.0.0.0") :]
    if not sep and ":" not in hostport.rsplit("]", 1)[-1]:
        hostport += ":11434"
    return f"{scheme}://{hostport}"


# Ollama is asked about at most this many models (one small request each, all at once).
MAX_OLLAMA_DETAILS = 24


async def _get_json(
    url: str, probe_timeout: float, api_key: str | None = None, *, post: dict[str, Any] | None = None
) -> Any | None:
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with httpx.AsyncClient(timeout=probe_timeout, trust_env=False) as client:
            if post is not None:
                response = await client.post(url, headers=headers, json=post)
            else:
                response = await client.get(url, headers=headers)
    except (httpx.HTTPError, OSError, ValueError):
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _ollama_details(data: Any) -> tuple[int | None, bool | None]:
    """(context length, can call tools) from an ``/api/show`` answer; None where it does not say."""
    if not isinstance(data, dict):
        return None, None
    window = None
    info = data.get("model_info")
    if isinstance(info, dict):
        for key, value in info.items():
            if key.endswith(".context_length") and isinstance(value, int) and value > 0:
                window = value
                break
    capabilities = data.get("capabilities")
    tools = ("tools" in capabilities) if isinstance(capabilities, list) else None
    return window, tools


async def detect_ollama(
    root: str | None = None, *, probe_timeout: float = DEFAULT_TIMEOUT, details: bool = True
) -> LocalServer | None:
    """Ollama's models (``/api/tags``), with each one's context length and tool support
    (``/api/show``) when ``details``."""
    root = (root or ollama_root()).rstrip("/")
    data = await _get_json(f"{root}/api/tags", probe_timeout)
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        return None
    names: list[str] = []
    for entry in data["models"]:
        if isinstance(entry, dict):
            name = entry.get("model") or entry.get("name")
            if isinstance(name, str) and name and name not in names:
                names.append(name)
    windows: dict[str, int] = {}
    no_tools: set[str] = set()
    if details and names:
        shown = await asyncio.gather(
            *(
                _get_json(f"{root}/api/show", probe_timeout, post={"model": name})
                for name in names[:MAX_OLLAMA_DETAILS]
            )
        )
        for name, answer in zip(names, shown, strict=False):
            window, tools = _ollama_details(answer)
            if window:
                windows[name] = window
            if tools is False:
                no_tools.add(name)
    return LocalServer(
        provider="ollama",
        base_url=f"{root}/v1",
        models=tuple(names),
        context_windows=windows,
        no_tools=frozenset(no_tools),
    )


def _parse_model_list(data: Any) -> tuple[list[str], dict[str, int]] | None:
    from stoa.core.providers.http import model_entries

    entries = model_entries(data)
    if entries is None:
        return None
    ids: list[str] = []
    windows: dict[str, int] = {}
    for entry in entries:
        if entry.get("type") == "embeddings":  # LM Studio lists embedding models too
            continue
        model_id = entry["id"]
        if model_id in ids:
            continue
        ids.append(model_id)
        for key in ("max_context_length", "context_length", "max_model_len"):
            value = entry.get(key)
            if isinstance(value, int) and value > 0:
                windows[model_id] = value
                break
    return ids, windows


async def list_compatible_models(
    base_url: str, *, api_key: str | None = None, probe_timeout: float = DEFAULT_TIMEOUT
) -> tuple[list[str], dict[str, int]] | None:
    """``GET {base_url}/models`` of an OpenAI-compatible server: (ids, context windows), or None."""
    data = await _get_json(f"{base_url.rstrip('/')}/models", probe_timeout, api_key)
    return _parse_model_list(data)


async def detect_lmstudio(
    root: str | None = None, *, probe_timeout: float = DEFAULT_TIMEOUT
) -> LocalServer | None:
    root = (root or LMSTUDIO_ROOT).rstrip("/")
    listed = await list_compatible_models(f"{root}/v1", probe_timeout=probe_timeout)
    if listed is None:
        return None
    ids, windows = listed
    return LocalServer(provider="lmstudio", base_url=f"{root}/v1", models=tuple(ids), context_windows=windows)


async def detect_compatible(
    provider: str, base_url: str, *, api_key: str | None = None, probe_timeout: float = DEFAULT_TIMEOUT
) -> LocalServer | None:
    """A configured compatible server (vLLM, OpenRouter, any base URL), if it answers."""
    if provider == "ollama":
        return await detect_ollama(base_url.rstrip("/").removesuffix("/v1"), probe_timeout=probe_timeout)
    listed = await list_compatible_models(base_url, api_key=api_key, probe_timeout=probe_timeout)
    if listed is None:
        return None
    ids, windows = listed
    return LocalServer(
        provider=provider, base_url=base_url.rstrip("/"), models=tuple(ids), context_windows=windows
    )


async def detect_local_servers(
    *,
    ollama: str | None = None,
    lmstudio: str | None = None,
    probe_timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> list[LocalServer]:
    """Probe Ollama and LM Studio at once; the ones that answered, Ollama first."""
    found = await asyncio.gather(
        detect_ollama(ollama or ollama_root(env), probe_timeout=probe_timeout),
        detect_lmstudio(lmstudio, probe_timeout=probe_timeout),
    )
    return [server for server in found if server is not None]


def first_model_sync(base_url: str, *, api_key: str | None = None, probe_timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """The first model a compatible server lists (``GET {base_url}/models``), synchronously.

    For start-up with ``--provider ollama`` (or another local server) and no ``--model``: the
    server's own first model instead of a name that may not exist there. None if it does not answer.
    """
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/models", headers=headers, timeout=probe_timeout, trust_env=False)
        data = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, OSError, ValueError):
        return None
    parsed = _parse_model_list(data)
    if not parsed or not parsed[0]:
        return None
    return parsed[0][0]
