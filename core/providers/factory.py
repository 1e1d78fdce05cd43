"""The provider pool: one cached provider per endpoint, built from the configuration.

``ProviderPool(config, base_url_for)`` is the ``provider_for`` callable the agent takes:
``pool(model)`` returns the provider serving ``model.provider`` (Anthropic Messages, OpenAI
Responses, or Chat Completions for every OpenAI-compatible server), creating it on first use.
No HTTP client is built here or when a provider is built; the first request (or a warm-up,
``prepare`` in a thread) pays for that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from stoa.core.config import KEYLESS_PROVIDERS, StoaConfig
from stoa.core.models import COMPATIBLE_PROVIDERS, ModelInfo
from stoa.core.providers.base import Provider, ProviderError, ProviderRequest
from stoa.core.providers.convert import missing_key_error
from stoa.core.providers.types import user_text

# Base-URL variables the SDKs read themselves; read from the config's environment too, so a
# config built with an explicit env (tests, embedding) behaves like the process environment.
BASE_URL_ENV_VARS: dict[str, str] = {
    "anthropic": "ANTHROPIC_BASE_URL",
    "openai": "OPENAI_BASE_URL",
    # The generic server takes OpenAI's variables as fallbacks (its key does too).
    "openai-compatible": "OPENAI_BASE_URL",
}


class ProviderPool:
    """``pool(model) -> Provider``, cached per (provider, base URL, key)."""

    def __init__(
        self,
        config: StoaConfig,
        base_url_for: Callable[[str], str | None] | None = None,
        *,
        read_timeout: float | None = None,
    ) -> None:
        self.config = config
        self.base_url_for = base_url_for or (lambda provider: None)
        self.read_timeout = read_timeout
        self._providers: dict[tuple[str, str | None, str | None], Provider] = {}

    def __call__(self, model: ModelInfo) -> Provider:
        return self.get(model.provider)

    def base_url(self, provider: str) -> str | None:
        """The endpoint override for a provider: the resolver first, then its *_BASE_URL variable."""
        explicit = self.base_url_for(provider)
        if explicit:
            return explicit
        if provider == "ollama" and self.config.env.get("OLLAMA_HOST"):
            return ollama_base_url(self.config.env["OLLAMA_HOST"])
        var = BASE_URL_ENV_VARS.get(provider)
        return (self.config.env.get(var) or None) if var else None

    def get(self, provider: str) -> Provider:
        """The provider for a provider name. Raises ``ProviderError`` ("auth") for a missing key."""
        key = self.config.api_key(provider)
        base_url = self.base_url(provider)
        cache_key = (provider, base_url, key)
        cached = self._providers.get(cache_key)
        if cached is not None:
            return cached
        created = self._create(provider, key, base_url)
        self._providers[cache_key] = created
        return created

    def _create(self, provider: str, key: str | None, base_url: str | None) -> Provider:
        return create_provider(provider, key, base_url, read_timeout=self.read_timeout)

    @property
    def providers(self) -> list[Provider]:
        return list(self._providers.values())

    async def aclose(self) -> None:
        """Close every HTTP client (idempotent)."""
        providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            try:
                await provider.aclose()
            except Exception:  # closing must never mask the reason the app is stopping
                pass


def create_provider(
    provider: str, key: str | None, base_url: str | None, *, read_timeout: float | None = None
) -> Provider:
    """A provider for one endpoint and key (the pool caches these). Raises ``ProviderError``."""
    if provider not in ("anthropic", "openai", *COMPATIBLE_PROVIDERS):
        raise ProviderError(
            "bad_request",
            f"unknown provider {provider!r}",
            hint="choose one of anthropic, openai, " + ", ".join(COMPATIBLE_PROVIDERS),
        )
    if not key and provider not in KEYLESS_PROVIDERS:
        raise missing_key_error(provider)
    if provider == "anthropic":
        from stoa.core.providers.anthropic import AnthropicProvider

        return AnthropicProvider(key, base_url, read_timeout=read_timeout)
    if provider == "openai":
        from stoa.core.providers.openai_responses import OpenAIResponsesProvider

        return OpenAIResponsesProvider(key, base_url, read_timeout=read_timeout)
    from stoa.core.providers.openai_chat import OpenAIChatProvider

    return OpenAIChatProvider.for_provider(provider, key, base_url, read_timeout=read_timeout)


def ollama_base_url(host: str) -> str:
    """OLLAMA_HOST (``host:port``, ``http://host:port``, or a bind address) as a /v1 base URL."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    scheme, _, rest = host.partition("://")
    if rest.startswith("0.0.0.0"):
        rest = "127.0.0.1" + rest[len("0.0.0.0") :]  # a bind-all address: connect locally
    if ":" not in rest.split("/", 1)[0]:
        rest = rest.split("/", 1)[0] + ":11434" + ("/" + rest.split("/", 1)[1] if "/" in rest else "")
    return f"{scheme}://{rest.removesuffix('/v1')}/v1"


async def check_connection(
    provider: Provider, model: str | None = None, *, clock: Callable[[], float] = time.monotonic
) -> tuple[bool, float, str]:
    """A minimal round trip: list the models, or (when that endpoint is missing and a model id is
    given) a one-token message. Returns (ok, latency in seconds, a sentence for a person).

    The latency is the request alone: the provider's HTTP client is built first (in a thread;
    httpx2's import and the TLS set-up), before the clock starts."""
    prepare = getattr(provider, "prepare", None)
    if callable(prepare):
        try:
            await asyncio.to_thread(prepare)
        except ProviderError as error:
            return False, 0.0, str(error)
    started = clock()
    try:
        models = await provider.list_models()
    except ProviderError as error:
        if error.kind != "not_found" or model is None:
            return False, clock() - started, str(error)
        models = None
    if models is not None:
        elapsed = clock() - started
        where = f"{provider.name}"
        note = ""
        if model is not None and models and model not in models:
            note = f"; note: {model!r} is not among the {len(models)} models it lists"
        return True, elapsed, f"{where} answered in {elapsed * 1000:.0f} ms ({len(models)} models){note}"
    request = ProviderRequest(
        model=model or "", system="", messages=[user_text("ping")], tools=[], max_tokens=1
    )
    try:
        async for _ in provider.stream(request):
            pass
    except ProviderError as error:
        return False, clock() - started, str(error)
    elapsed = clock() - started
    return True, elapsed, f"{provider.name} answered a one-token request in {elapsed * 1000:.0f} ms"


@dataclass(frozen=True)
class KeyCheck:
    """What a provider said about a key: ``works``, ``rejected`` (401/403), or ``unchecked``
    (the endpoint could not be reached or has no model list: the key may still be fine)."""

    verdict: Literal["works", "rejected", "unchecked"]
    detail: str


# Providers whose model list answers without a key: listing proves nothing about one.
PUBLIC_MODEL_LISTS = frozenset({"openrouter"})


async def check_key(provider: str, key: str, *, base_url: str | None, timeout_s: float = 15.0) -> KeyCheck:
    """Try a key before it is saved, with the provider's cheapest call: list the models."""
    if provider in PUBLIC_MODEL_LISTS:
        return KeyCheck("unchecked", f"{provider} lists its models without a key, so this cannot test one")
    try:
        candidate = create_provider(provider, key, base_url, read_timeout=timeout_s)
    except ProviderError as error:
        return KeyCheck("unchecked", str(error))
    try:
        prepare = getattr(candidate, "prepare", None)
        if callable(prepare):
            await asyncio.to_thread(prepare)
        models = await asyncio.wait_for(candidate.list_models(), timeout_s)
    except ProviderError as error:
        return KeyCheck("rejected" if error.kind == "auth" else "unchecked", error.message)
    except TimeoutError:
        return KeyCheck("unchecked", f"no answer within {timeout_s:.0f} s")
    finally:
        try:
            await candidate.aclose()
        except Exception:
            pass
    return KeyCheck("works", f"it lists {len(models)} model{'s' if len(models) != 1 else ''}")
