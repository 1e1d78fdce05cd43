"""``stoa --check-connection`` and ``/status``: per configured provider, does a minimal request
succeed (with its latency), or what exactly failed and what to do about it.

A provider counts as configured when it is the active one (flag, config or the starting model)
or has a key (environment or saved file). Each is checked with
``core.providers.factory.check_connection`` through the same ``ProviderPool`` the agent uses,
concurrently and with a time limit, so one dead endpoint does not hold up the others.
Plain text out (no Textual), so headless mode prints it and the TUI shows it in the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stoa.core.config import StoaConfig
from stoa.core.keys import (
    ADD_KEY_HINT,
    PROVIDER_LABELS,
    how_to_set_key,
    key_file_problem,
    key_status,
    rejected_key_message,
)
from stoa.core.models import (
    COMPATIBLE_PROVIDERS,
    DEFAULT_MODEL,
    DEFAULT_OPENAI_MODEL,
    ModelInfo,
    UnknownModelError,
)
from stoa.core.providers.base import Provider, ProviderError
from stoa.core.runtime import Choices, base_url_for, choose_model

CHECK_TIMEOUT = 20.0
# Providers whose key alone makes them "configured" (compatible servers need choosing).
KEYED_PROVIDERS = ("anthropic", "openai", "openrouter")
DEFAULT_CHECK_MODELS = {"anthropic": DEFAULT_MODEL, "openai": DEFAULT_OPENAI_MODEL}


@dataclass(frozen=True)
class ProviderCheck:
    provider: str
    ok: bool
    detail: str  # what happened, as the check reported it
    fix: str | None = None  # what to do, when it failed
    latency: float | None = None  # seconds
    key_source: str | None = None
    base_url: str | None = None
    model: str | None = None

    @property
    def label(self) -> str:
        return PROVIDER_LABELS.get(self.provider, self.provider)


class _Recording:
    """Wraps a provider to remember the ``ProviderError`` a check ran into (its kind picks the fix)."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name
        self.error: ProviderError | None = None

    def prepare(self) -> None:
        prepare = getattr(self.inner, "prepare", None)
        if callable(prepare):
            prepare()

    async def list_models(self) -> list[str]:
        try:
            return await self.inner.list_models()
        except ProviderError as error:
            self.error = error
            raise

    async def stream(self, request: Any) -> Any:
        try:
            async for item in self.inner.stream(request):
                yield item
        except ProviderError as error:
            self.error = error
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


def active_model(config: StoaConfig, choices: Choices) -> ModelInfo | None:
    try:
        return choose_model(config, choices)
    except (UnknownModelError, ValueError):
        return None


def configured_providers(config: StoaConfig, choices: Choices, current: ModelInfo | None = None) -> list[str]:
    providers: list[str] = []
    model = current or active_model(config, choices)
    chosen = choices.provider or config.settings.provider
    for candidate in (model.provider if model else None, chosen):
        if candidate and candidate not in providers:
            providers.append(candidate)
    for provider in KEYED_PROVIDERS:
        if provider not in providers and config.api_key(provider):
            providers.append(provider)
    return providers


def _fix_for(provider: str, error: ProviderError | None, config: StoaConfig, base_url: str | None) -> str:
    kind = error.kind if error is not None else "other"
    if kind == "auth":
        return rejected_key_message(provider, config.env, config.paths) + " (/key in the TUI)"
    where = base_url or "the provider's default endpoint"
    if kind == "connection":
        if provider == "ollama":
            return f"nothing answered at {where}: start Ollama (`ollama serve`) or pass --base-url"
        if provider == "lmstudio":
            return f"nothing answered at {where}: start the LM Studio server (Developer tab) or pass --base-url"
        if provider in COMPATIBLE_PROVIDERS:
            return f"nothing answered at {where}: start the server or fix --base-url"
        return f"could not reach {where}: check your network, proxy and any {provider.upper()}_BASE_URL setting"
    if kind == "not_found":
        return f"{where} has no such endpoint or model: check --base-url (it usually ends in /v1) and the model name"
    if kind in ("rate_limit", "overloaded"):
        return "the provider is busy or rate-limited; try again in a minute"
    if error is not None and error.hint:
        return error.hint
    return "see the message above; run with the same settings in the TUI for details"


async def check_provider(
    config: StoaConfig,
    provider: str,
    provider_for: Callable[[str], Provider],
    *,
    base_url: str | None = None,
    model: str | None = None,
    timeout_s: float = CHECK_TIMEOUT,
) -> ProviderCheck:
    from stoa.core.providers.factory import check_connection

    status = key_status(provider, config.env, config.paths)
    source = status.source if status.origin in ("env", "saved") else None
    if not status.present:
        return ProviderCheck(
            provider,
            False,
            "no API key",
            fix=f"{how_to_set_key(provider)} {ADD_KEY_HINT}",
            base_url=base_url,
            model=model,
        )
    try:
        recording = _Recording(provider_for(provider))
    except ProviderError as error:
        return ProviderCheck(
            provider, False, str(error), fix=_fix_for(provider, error, config, base_url), key_source=source,
            base_url=base_url, model=model,
        )
    try:
        ok, latency, detail = await asyncio.wait_for(check_connection(recording, model), timeout_s)  # type: ignore[arg-type]
    except TimeoutError:
        return ProviderCheck(
            provider,
            False,
            f"no answer within {timeout_s:.0f} s",
            fix=_fix_for(provider, ProviderError("connection", "timeout"), config, base_url),
            key_source=source,
            base_url=base_url,
            model=model,
        )
    fix = None if ok else _fix_for(provider, recording.error, config, base_url)
    return ProviderCheck(provider, ok, detail, fix=fix, latency=latency, key_source=source, base_url=base_url, model=model)


async def check_providers(
    config: StoaConfig,
    choices: Choices,
    *,
    pool: Any = None,
    current: ModelInfo | None = None,
    timeout_s: float = CHECK_TIMEOUT,
) -> list[ProviderCheck]:
    """Check every configured provider at once. ``pool`` is a ``ProviderPool`` (one is made if None)."""
    from stoa.core.providers.factory import ProviderPool

    own_pool = pool is None
    if pool is None:
        pool = ProviderPool(config, lambda p: base_url_for(config, p, choices))
    model = current or active_model(config, choices)
    providers = configured_providers(config, choices, model)

    def model_for(provider: str) -> str | None:
        if model is not None and model.provider == provider:
            return model.id
        return DEFAULT_CHECK_MODELS.get(provider)

    try:
        return list(
            await asyncio.gather(
                *(
                    check_provider(
                        config,
                        p,
                        pool.get,
                        base_url=pool.base_url(p),
                        model=model_for(p),
                        timeout_s=timeout_s,
                    )
                    for p in providers
                )
            )
        )
    finally:
        if own_pool:
            await pool.aclose()


def format_checks(checks: list[ProviderCheck]) -> str:
    lines: list[str] = []
    for check in checks:
        where = f" at {check.base_url}" if check.base_url else ""
        if check.ok:
            latency = f"{check.latency * 1000:.0f} ms" if check.latency is not None else "ok"
            lines.append(f"✓ {check.label}{where}: ok, {latency}")
            lines.append(f"    {check.detail}")
        else:
            lines.append(f"✗ {check.label}{where}: {check.detail}")
            if check.fix:
                lines.append(f"    what to do: {check.fix}")
        if check.key_source:
            lines.append(f"    key: {check.key_source}")
    return "\n".join(lines)


async def _no_provider_text(config: StoaConfig) -> str:
    from stoa.core.providers.detect import detect_local_servers

    servers = await detect_local_servers(env=config.env)
    lines = [
        "No provider is configured: no API key was found (ANTHROPIC_API_KEY, OPENAI_API_KEY, "
        "OPENROUTER_API_KEY, or a key saved with /key).",
        "What to do: export ANTHROPIC_API_KEY=... (or OPENAI_API_KEY=...), or start `stoa` and paste a key.",
    ]
    for server in servers:
        models = ", ".join(server.models[:5]) or "no models yet"
        lines.append(f"Found {server.label} ({models}): run `stoa --provider {server.provider}` to use it.")
    return "\n".join(lines)


async def connection_report(
    config: StoaConfig, choices: Choices, *, pool: Any = None, timeout_s: float = CHECK_TIMEOUT
) -> tuple[str, bool]:
    """The text of ``stoa --check-connection`` and whether every configured provider answered."""
    checks = await check_providers(config, choices, pool=pool, timeout_s=timeout_s)
    problem = key_file_problem(config.paths)
    only_missing_keys = all(c.detail == "no API key" for c in checks)
    if not checks or only_missing_keys:
        text = await _no_provider_text(config)
        if checks:
            text = format_checks(checks) + "\n\n" + text
        return (text + (f"\nkeys file: {problem}" if problem else "")), False
    text = format_checks(checks)
    if problem:
        text += f"\nkeys file: {problem}"
    return text, all(c.ok for c in checks)


def _tokens(count: int) -> str:
    return f"{count:,}"


def session_lines(runtime: Any) -> list[str]:
    """Model, effort, mode and per-model usage of a running session (for /status)."""
    agent = runtime.agent
    model: ModelInfo = agent.model
    lines = [
        f"model: {model.id} ({model.label}, {PROVIDER_LABELS.get(model.provider, model.provider)}), effort: {agent.effort}",
    ]
    endpoint_of = getattr(runtime.provider_for, "base_url", None)  # a ProviderPool knows it
    base_url = endpoint_of(model.provider) if callable(endpoint_of) else None
    if base_url:
        lines.append(f"endpoint: {base_url}")
    mode = getattr(getattr(runtime, "policy", None), "mode", None)
    if mode:
        lines.append(f"mode: {mode}")
    context = agent.last_context_tokens
    if context:
        share = context / model.context_window * 100
        lines.append(f"context: {_tokens(context)} of {_tokens(model.context_window)} tokens ({share:.0f}%)")
    ledger = agent.ledger
    for model_id, entry in ledger.by_model.items():
        usage = entry.usage
        lines.append(
            f"  {model_id}: {entry.requests} request{'s' if entry.requests != 1 else ''}, {_tokens(usage.prompt_tokens)} in "
            f"({_tokens(usage.cache_read_tokens)} cached), {_tokens(usage.output_tokens)} out, ${entry.cost_usd:.4f}"
        )
    if len(ledger.by_model) > 1:
        lines.append(f"  total: ${ledger.cost_usd:.4f}")
    return lines


async def status_report(runtime: Any, *, timeout_s: float = CHECK_TIMEOUT) -> tuple[str, bool]:
    """The text of ``/status``: the session, then one line per configured provider."""
    config: StoaConfig = runtime.config
    pool = runtime.provider_for if hasattr(runtime.provider_for, "get") else None
    checks = await check_providers(config, runtime.choices, pool=pool, current=runtime.agent.model, timeout_s=timeout_s)
    lines = session_lines(runtime)
    lines.append("")
    lines.append("providers:")
    lines.append(format_checks(checks) if checks else "  none configured: add a key with /key")
    problem = key_file_problem(config.paths)
    if problem:
        lines.append(f"keys file: {problem}")
    return "\n".join(lines), all(c.ok for c in checks)
