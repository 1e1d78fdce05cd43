"""The model catalogue: the built-in table merged with each provider's live model list and the
``[models."ID"]`` tables of the configuration. The one owner of "which models exist and what
each accepts"; the CLI (``stoa models``, ``-m``), the pickers, switching and cost all ask it.

Merging, per id (later wins): the built-in table (``stoa.core.models``: prices, aliases, legacy
marks, documented rules) < the provider's list (Anthropic's ``GET /v1/models`` returns the
context window, ``max_tokens`` and ``capabilities``: thinking types and effort levels; OpenAI's
list only ids) < ``[models."ID"]`` (window, max output, prices, efforts; also for local models).

Lists are fetched with the standard library (no SDK import), cached on disk as JSON with a
time stamp (``$STOA_HOME/cache/models.json`` or ``~/.cache/stoa/models.json``), refreshed in the
background once a day and whenever ``/model`` opens, never on the way to the first paint or the
first request. A corrupt cache is ignored (and rewritten by the next fetch). Only an id that
neither the table nor the cached list knows makes ``resolve`` look it up over the network (one
``GET /v1/models/{id}`` or list request); if that fails the id is accepted with a warning.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stoa.core.models import (
    ALL_PROVIDERS,
    CLAUDE_BUDGETS,
    CLOUD_PROVIDERS,
    COMPATIBLE_PROVIDERS,
    EFFORT_LEVELS,
    MODELS,
    ModelInfo,
    Prices,
    UnknownModelError,
    anthropic_efforts,
    anthropic_thinking_style,
    compatible_model,
    default_effort_for,
    find_model,
)

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig

CACHE_VERSION = 1
REFRESH_AFTER_SECONDS = 24 * 3600
FETCH_TIMEOUT = 8.0
DEFAULT_LIST_URLS = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com/v1"}
_THINKING_TYPES = ("adaptive", "enabled", "disabled", "between_tools")
# What ``[models."ID"] server-compaction = true`` turns on, per provider.
SERVER_COMPACTION: dict[str, tuple[str, ...]] = {"anthropic": ("summarize", "compact_20260112"), "openai": ("compaction",)}
_EFFORT_NAMES = EFFORT_LEVELS[1:]
# A dated snapshot of a known model (gpt-5.5-2026-04-23, claude-haiku-4-5-20251001) costs the same.
_SNAPSHOT = re.compile(r"^-?(\d{8}|\d{4}-\d{2}-\d{2})$")
# Unknown ids the list cannot vouch for get these limits until the list or config says more.
_UNKNOWN_WINDOW = 200_000
_UNKNOWN_MAX_OUTPUT = 32_000


class CatalogError(Exception):
    """A ``[models."ID"]`` table that cannot be used; the message names the file and the fix."""


# ---- [models."ID"] ---------------------------------------------------------------------------


@functools.cache
def _schemas() -> tuple[type[BaseModel], type[BaseModel]]:
    """The pydantic models of a ``[models."ID"]`` table, built on first use (most start-ups
    have no such table and should not pay for two model classes)."""

    class PriceOverride(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)

        input: float = Field(ge=0)
        output: float = Field(ge=0)
        cache_read: float | None = Field(default=None, alias="cache-read", ge=0)
        cache_write: float | None = Field(default=None, alias="cache-write", ge=0)
        cache_write_1h: float | None = Field(default=None, alias="cache-write-1h", ge=0)

    class ModelOverride(BaseModel):
        """One ``[models."ID"]`` table: what the built-in table and the provider's list do not say."""

        model_config = ConfigDict(extra="forbid", populate_by_name=True)

        provider: str | None = None
        label: str | None = None
        context_window: int | None = Field(default=None, alias="context-window", gt=0)
        max_output: int | None = Field(default=None, alias="max-output", gt=0)
        efforts: list[str] | None = None
        default_effort: str | None = Field(default=None, alias="default-effort")
        prices: PriceOverride | None = None
        legacy: bool | None = None
        server_compaction: bool | None = Field(default=None, alias="server-compaction")

    return PriceOverride, ModelOverride


# A validated ``[models."ID"]`` table (an instance of ``_schemas()[1]``).
ModelOverride = Any


def parse_overrides(config: StoaConfig) -> dict[str, ModelOverride]:
    """Every ``[models."ID"]`` table of every layer (a later layer's fields win)."""
    merged: dict[str, dict[str, Any]] = {}
    for layer, table in config.section("models"):
        if not isinstance(table, dict):
            raise CatalogError(f"{layer.path}: [models] must hold tables like [models.\"ID\"]; see the README")
        for model_id, values in table.items():
            if not isinstance(values, dict):
                raise CatalogError(f"{layer.path}: models.{model_id!r} must be a table ([models.\"{model_id}\"])")
            merged.setdefault(model_id, {}).update(values)
    out: dict[str, ModelOverride] = {}
    for model_id, values in merged.items():
        try:
            override: ModelOverride = _schemas()[1].model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise CatalogError(f'[models."{model_id}"]: {problems}') from exc
        bad = [e for e in override.efforts or [] if e not in EFFORT_LEVELS]
        if bad:
            raise CatalogError(
                f'[models."{model_id}"]: unknown effort {bad[0]!r}; use some of {", ".join(EFFORT_LEVELS)}'
            )
        if override.provider is not None and override.provider not in ALL_PROVIDERS:
            raise CatalogError(
                f'[models."{model_id}"]: unknown provider {override.provider!r}; use one of {", ".join(ALL_PROVIDERS)}'
            )
        out[model_id] = override
    return out


def apply_override(model: ModelInfo, override: ModelOverride) -> ModelInfo:
    changes: dict[str, Any] = {}
    if override.label:
        changes["label"] = override.label
    if override.context_window:
        changes["context_window"] = override.context_window
    if override.max_output:
        changes["max_output"] = override.max_output
    if override.legacy is not None:
        changes["legacy"] = override.legacy
    if override.server_compaction is not None:
        changes["server_compaction"] = SERVER_COMPACTION.get(model.provider, ()) if override.server_compaction else ()
    if override.prices is not None:
        changes["prices"] = Prices(**override.prices.model_dump())
        changes["tier"] = None
        changes["price_source"] = "configuration"
    if override.efforts:
        efforts = tuple(e for e in EFFORT_LEVELS if e in override.efforts)
        changes["efforts"] = efforts
        if model.provider == "anthropic":
            types = (("adaptive",) if any(e != "off" for e in efforts) else ()) + (
                ("disabled",) if "off" in efforts else ()
            )
            changes["thinking_types"] = types
            changes["thinking"] = anthropic_thinking_style(types)
        elif model.provider == "openai":
            changes["thinking"] = "openai_reasoning" if len(efforts) > 1 else "none"
        changes["default_effort"] = default_effort_for(efforts, override.default_effort or model.default_effort)
    elif override.default_effort and override.default_effort in model.efforts:
        changes["default_effort"] = override.default_effort
    if model.source in ("unverified", "local") or model.dynamic:
        changes["source"] = "config"
    return replace(model, **changes)


# ---- live lists ------------------------------------------------------------------------------


@dataclass
class ProviderList:
    provider: str
    base_url: str
    fetched_at: float
    models: list[dict[str, Any]]
    # id -> the first entry with it (a list of 300 models was scanned once per id: 10 ms per
    # /model open).
    _by_id: dict[str, dict[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, dict[str, Any]] = {}
        for entry in self.models:
            model_id = entry.get("id") if isinstance(entry, dict) else None
            if isinstance(model_id, str):
                by_id.setdefault(model_id, entry)
        self._by_id = by_id

    def ids(self) -> list[str]:
        return [str(m["id"]) for m in self.models if isinstance(m.get("id"), str)]

    def get(self, model_id: str) -> dict[str, Any] | None:
        return self._by_id.get(model_id)


def _same(a: object, b: object) -> bool:
    return a is b or (isinstance(a, (str, tuple)) and a == b)


def _supported(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("supported") is True


def live_rules(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What an Anthropic ``ModelInfo`` says about a model, as ``ModelInfo`` fields."""
    rules: dict[str, Any] = {}
    if isinstance(raw.get("max_input_tokens"), int) and raw["max_input_tokens"] > 0:
        rules["context_window"] = raw["max_input_tokens"]
    if isinstance(raw.get("max_tokens"), int) and raw["max_tokens"] > 0:
        rules["max_output"] = raw["max_tokens"]
    if isinstance(raw.get("display_name"), str) and raw["display_name"]:
        rules["label"] = raw["display_name"]
    caps = raw.get("capabilities")
    if not isinstance(caps, Mapping):
        return rules
    thinking = caps.get("thinking")
    if isinstance(thinking, Mapping):
        types_raw = thinking.get("types")
        types_raw = types_raw if isinstance(types_raw, Mapping) else {}
        types = tuple(t for t in _THINKING_TYPES if _supported(types_raw.get(t))) if thinking.get("supported") else ()
        effort = caps.get("effort")
        levels = (
            tuple(e for e in _EFFORT_NAMES if _supported(effort.get(e)))
            if isinstance(effort, Mapping) and effort.get("supported")
            else ()
        )
        efforts = anthropic_efforts(types, levels)
        rules.update(
            thinking_types=types, thinking=anthropic_thinking_style(types), efforts=efforts, effort_param=bool(levels)
        )
    if "image_input" in caps:
        rules["supports_images"] = _supported(caps.get("image_input"))
    tools = caps.get("server_tools")
    if isinstance(tools, Mapping):
        rules["server_tools"] = ("web_search",) if _supported(tools.get("web_search")) else ()
    compaction = caps.get("compaction")
    editing = caps.get("context_management")
    rules["server_compaction"] = tuple(
        name
        for name, supported in (
            ("summarize", _supported(compaction) and _supported(_field_of(compaction, "summarize"))),
            ("compact_20260112", _supported(editing) and _supported(_field_of(editing, "compact_20260112"))),
        )
        if supported
    )
    return rules


def _field_of(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else None


def _family(model_id: str, provider: str) -> tuple[ModelInfo | None, bool]:
    """The table entry an unknown id extends (longest id that prefixes it at a ``-``), and
    whether the rest is a dated snapshot (then the prices carry over too)."""
    best: ModelInfo | None = None
    for model in MODELS:
        if model.provider == provider and model_id.startswith(model.id + "-"):
            if best is None or len(model.id) > len(best.id):
                best = model
    if best is None:
        return None, False
    return best, bool(_SNAPSHOT.match(model_id[len(best.id) :]))


def unknown_model(model_id: str, provider: str, source: str = "live") -> ModelInfo:
    """An id the table does not know: rules from its family if it has one, else the safe
    minimum (no thinking or reasoning fields sent), and "price unknown"."""
    family, snapshot = _family(model_id, provider)
    if family is not None:
        return replace(
            family,
            id=model_id,
            label=model_id,
            aliases=(),
            legacy=False,
            source=source,  # type: ignore[arg-type]
            prices=family.prices if snapshot else None,
            tier=family.tier if snapshot else None,
            price_source=family.price_source if snapshot else None,
        )
    if provider == "openai" and _openai_reasoning_id(model_id):
        # GPT-5 and later, and the o-series, all take reasoning effort low / medium / high;
        # "off" sends no reasoning field (the model's own default).
        return ModelInfo(
            id=model_id,
            provider=provider,
            label=model_id,
            context_window=128_000,
            max_output=_UNKNOWN_MAX_OUTPUT,
            efforts=("off", "low", "medium", "high"),
            default_effort="medium",
            thinking="openai_reasoning",
            reasoning_floor="",
            source=source,  # type: ignore[arg-type]
        )
    return ModelInfo(
        id=model_id,
        provider=provider,
        label=model_id,
        context_window=_UNKNOWN_WINDOW if provider == "anthropic" else 128_000,
        max_output=_UNKNOWN_MAX_OUTPUT,
        efforts=("off",),
        default_effort="off",
        thinking="none",
        reasoning_floor="",
        source=source,  # type: ignore[arg-type]
    )


_GPT_VERSION = re.compile(r"^gpt-(\d+)")
_O_SERIES = re.compile(r"^o\d+(-|$)")


def _openai_reasoning_id(model_id: str) -> bool:
    match = _GPT_VERSION.match(model_id)
    return bool(match and int(match.group(1)) >= 5) or bool(_O_SERIES.match(model_id))


def merge_live(base: ModelInfo, raw: Mapping[str, Any]) -> ModelInfo:
    """A table (or unknown) entry updated with what the provider's list says about it."""
    rules = live_rules(raw) if base.provider == "anthropic" else {}
    if base.source == "table":
        rules.pop("label", None)  # the table's labels are the documented names
    efforts = rules.get("efforts")
    if efforts is not None:
        preferred = base.default_effort if base.default_effort in efforts else "medium"
        rules["default_effort"] = default_effort_for(efforts, preferred)
        if rules.get("thinking") == "adaptive" and base.thinking_display is None and base.source != "table":
            # Newer Claude models omit the thinking text unless asked; keep progress visible.
            rules["thinking_display"] = "summarized"
        if rules.get("thinking") == "budget" and not base.budgets:
            rules["budgets"] = dict(CLAUDE_BUDGETS)
    if base.source in ("unverified",):
        rules["source"] = "live"
    return replace(base, **rules)


# ---- fetching (standard library only: no SDK on any path) -----------------------------------


class FetchError(Exception):
    pass


def _get_json(url: str, headers: dict[str, str], timeout: float) -> Any:
    # Imported here: urllib.request pulls in http.client and ssl, which start-up never needs.
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url} answered {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FetchError(f"{url}: {getattr(exc, 'reason', exc)}") from exc


def fetch_anthropic(base_url: str, api_key: str | None, *, timeout: float = FETCH_TIMEOUT) -> list[dict[str, Any]]:
    """Every page of ``GET /v1/models`` (``after_id`` = the previous page's ``last_id``)."""
    from stoa.core.providers.http import anthropic_headers, model_entries

    headers = anthropic_headers(api_key or "")
    root = base_url.rstrip("/").removesuffix("/v1")
    out: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(50):
        query = {"limit": "1000", **({"after_id": after} if after else {})}
        page = _get_json(f"{root}/v1/models?{urllib.parse.urlencode(query)}", headers, timeout)
        entries = model_entries(page)
        if entries is None:
            raise FetchError(f"{root}/v1/models: not a model list")
        out += entries
        last = page.get("last_id")
        if not page.get("has_more") or not isinstance(last, str) or last == after:
            break
        after = last
    return out


def fetch_anthropic_one(base_url: str, api_key: str | None, model_id: str, *, timeout: float = FETCH_TIMEOUT) -> dict[str, Any] | None:
    """``GET /v1/models/{id}``: the model, or None when the API does not know it (404)."""
    from stoa.core.providers.http import anthropic_headers

    root = base_url.rstrip("/").removesuffix("/v1")
    headers = anthropic_headers(api_key or "")
    try:
        data = _get_json(f"{root}/v1/models/{urllib.parse.quote(model_id, safe='')}", headers, timeout)
    except FetchError as exc:
        if " answered 404" in str(exc):
            return None
        raise
    return data if isinstance(data, dict) and data.get("id") == model_id else None


def fetch_openai(base_url: str, api_key: str | None, *, timeout: float = FETCH_TIMEOUT) -> list[dict[str, Any]]:
    root = base_url.rstrip("/")
    if not root.endswith("/v1"):
        root += "/v1"
    from stoa.core.providers.http import model_entries, openai_headers

    page = _get_json(f"{root}/models", openai_headers(api_key or ""), timeout)
    entries = model_entries(page)
    if entries is None:
        raise FetchError(f"{root}/models: not a model list")
    return entries


# ---- the catalogue ---------------------------------------------------------------------------


@dataclass
class Catalog:
    """Resolve names, list models, refresh the providers' lists. One per runtime."""

    cache_path: Path | None = None
    base_url_for: Callable[[str], str | None] = lambda provider: None
    api_key_for: Callable[[str], str | None] = lambda provider: None
    overrides: dict[str, ModelOverride] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    timeout: float = FETCH_TIMEOUT
    lists: dict[str, ProviderList] = field(default_factory=dict)
    # Providers whose list was fetched by this process (a miss there is final).
    fresh: set[str] = field(default_factory=set)
    # Why the last fetch of each provider failed (shown by `stoa models` and /model).
    failures: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Models looked up one by one (GET /v1/models/{id}) before any list was fetched.
    looked_up: dict[str, dict[str, Any]] = field(default_factory=dict)
    _loaded: bool = False
    _models_cache: tuple[tuple[object, ...], list[ModelInfo]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_config(cls, config: StoaConfig, base_url_for: Callable[[str], str | None] | None = None) -> Catalog:
        from stoa.core.providers.factory import BASE_URL_ENV_VARS

        def base_url(provider: str) -> str | None:
            explicit = base_url_for(provider) if base_url_for else None
            var = BASE_URL_ENV_VARS.get(provider)
            return explicit or (config.env.get(var) if var else None) or None

        return cls(
            cache_path=config.paths.model_cache,
            base_url_for=base_url,
            api_key_for=config.api_key,
            overrides=parse_overrides(config),
        )

    # ---- disk cache ---------------------------------------------------------------------

    def list_url(self, provider: str) -> str:
        return (self.base_url_for(provider) or DEFAULT_LIST_URLS.get(provider, "")).rstrip("/")

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.cache_path is None:
            return
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
            if data.get("version") != CACHE_VERSION:
                return
            for entry in data["lists"]:
                cached = ProviderList(
                    str(entry["provider"]), str(entry["base_url"]), float(entry["fetched_at"]), list(entry["models"])
                )
                if not all(isinstance(m, dict) for m in cached.models):
                    raise ValueError("a model entry is not an object")
                if cached.base_url == self.list_url(cached.provider) and cached.provider not in self.lists:
                    self.lists[cached.provider] = cached
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # Corrupt or foreign: ignore it; the next refresh rewrites it.
            self.lists = {p: v for p, v in self.lists.items() if p in self.fresh}

    def _save(self) -> None:
        if self.cache_path is None:
            return
        others: list[dict[str, Any]] = []
        try:
            old = json.loads(self.cache_path.read_text(encoding="utf-8"))
            if old.get("version") == CACHE_VERSION:
                mine = {(p.provider, p.base_url) for p in self.lists.values()}
                others = [e for e in old["lists"] if (e.get("provider"), e.get("base_url")) not in mine]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            others = []
        payload = {
            "version": CACHE_VERSION,
            "lists": others
            + [
                {"provider": p.provider, "base_url": p.base_url, "fetched_at": p.fetched_at, "models": p.models}
                for p in self.lists.values()
            ],
        }
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(payload), encoding="utf-8")
            os.replace(tmp, self.cache_path)
        except OSError as exc:
            self.warnings.append(f"could not save the model list cache {self.cache_path}: {exc}")

    # ---- refreshing ---------------------------------------------------------------------

    def configured_providers(self) -> list[str]:
        return [p for p in CLOUD_PROVIDERS if self.api_key_for(p)]

    def stale(self, provider: str) -> bool:
        self._load()
        cached = self.lists.get(provider)
        return cached is None or self.clock() - cached.fetched_at > REFRESH_AFTER_SECONDS

    def refresh_sync(self, providers: Iterable[str] | None = None, *, force: bool = False) -> dict[str, str]:
        """Fetch the lists of ``providers`` (default: every cloud provider with a key) that are
        stale (or all, with ``force``). Returns the failures by provider; never raises."""
        self._load()
        failures: dict[str, str] = {}
        for provider in list(providers) if providers is not None else self.configured_providers():
            if provider not in CLOUD_PROVIDERS or (not force and not self.stale(provider)):
                continue
            url = self.list_url(provider)
            key = self.api_key_for(provider)
            try:
                models = (
                    fetch_anthropic(url, key, timeout=self.timeout)
                    if provider == "anthropic"
                    else fetch_openai(url, key, timeout=self.timeout)
                )
            except FetchError as exc:
                failures[provider] = str(exc)
                self.failures[provider] = str(exc)
                continue
            self.lists[provider] = ProviderList(provider, url, self.clock(), models)
            self.fresh.add(provider)
            self.failures.pop(provider, None)
        if self.fresh:
            self._save()
        return failures

    async def refresh(self, providers: Iterable[str] | None = None, *, force: bool = False) -> dict[str, str]:
        """``refresh_sync`` in a thread (for the TUI and headless background work)."""
        wanted = list(providers) if providers is not None else None
        return await asyncio.to_thread(self.refresh_sync, wanted, force=force)

    # ---- lookups ------------------------------------------------------------------------

    def listed(self, provider: str) -> list[str] | None:
        """The ids the provider's list offers (cached), or None when no list is known."""
        self._load()
        cached = self.lists.get(provider)
        return cached.ids() if cached is not None else None

    def _merge(self, base: ModelInfo) -> ModelInfo:
        cached = self.lists.get(base.provider)
        raw = cached.get(base.id) if cached is not None else None
        model = merge_live(base, raw) if raw is not None else base
        override = self.overrides.get(model.id)
        return apply_override(model, override) if override is not None else model

    def _table_or_alias(self, name: str, provider: str | None) -> ModelInfo | None:
        model = find_model(name)
        if model is not None and provider in (None, model.provider):
            return model
        return None

    def find(self, name: str, provider: str | None = None) -> ModelInfo | None:
        """A model by id or alias from what is known now (table, cached lists, config); no network."""
        self._load()
        known = self._table_or_alias(name, provider)
        if known is not None:
            return self._merge(known)
        for candidate in [provider] if provider else list(CLOUD_PROVIDERS):
            cached = self.lists.get(candidate)
            if cached is not None and cached.get(name) is not None:
                return self._merge(unknown_model(name, candidate))
        raw = self.looked_up.get(name)
        if raw is not None and provider in (None, "anthropic"):
            model = merge_live(unknown_model(name, "anthropic"), raw)
            override = self.overrides.get(name)
            return apply_override(model, override) if override is not None else model
        override = self.overrides.get(name)
        if override is not None and (override.provider or provider):
            target = provider or override.provider or "anthropic"
            base = compatible_model(name, target) if target in COMPATIBLE_PROVIDERS else unknown_model(name, target, "config")
            return apply_override(base, override)
        return None

    def resolve(self, name: str, provider: str | None = None, *, network: bool = True) -> ModelInfo:
        """An id or alias the person typed, checked against the provider's list.

        Table and config ids resolve at once. An id no cached list has is looked up (one
        request) unless ``network`` is False. An id the provider's list does not offer raises
        ``UnknownModelError`` naming the available ids; if no list can be had, the id is accepted
        with a warning in ``self.warnings``.
        """
        name = name.strip()
        if provider in COMPATIBLE_PROVIDERS:
            override = self.overrides.get(name)
            local = compatible_model(name, provider)
            return apply_override(local, override) if override is not None else local
        self._load()
        found = self.find(name, provider)
        target = (found.provider if found else None) or provider or _guess_provider(name)
        if target is None:
            # A name with no family prefix: look in every configured provider's list.
            if network and self.configured_providers():
                self.refresh_sync([p for p in self.configured_providers() if p not in self.fresh], force=True)
                found = self.find(name)
            if found is not None:
                return found
            offered = [i for p in CLOUD_PROVIDERS for i in (self.listed(p) or [])]
            raise UnknownModelError(name, provider, available=offered or None)
        listed = self.listed(target)
        if found is not None and (listed is None or found.id in listed or found.source == "config"):
            return found
        if not network:
            if found is not None:
                return found
            return self._unverified(name, target, "no model list is cached yet")
        if not self.api_key_for(target):
            # No key: no list to ask, and no way to use the model anyway.
            if found is not None:
                return found
            raise UnknownModelError(name, target)
        # Not in the cached list (or no list): ask the provider before deciding.
        if target == "anthropic" and listed is None:
            try:
                raw = fetch_anthropic_one(self.list_url(target), self.api_key_for(target), name, timeout=self.timeout)
            except FetchError as exc:
                return found or self._unverified(name, target, str(exc))
            if raw is not None:
                self.looked_up[name] = raw
                model = merge_live(found or unknown_model(name, target), raw)
                override = self.overrides.get(model.id)
                return apply_override(model, override) if override is not None else model
        if target not in self.fresh:
            failure = self.refresh_sync([target], force=True).get(target)
            if failure is not None:
                return found or self._unverified(name, target, failure)
        hit = self.find(name, target)
        listed = self.listed(target) or []
        if hit is not None and hit.id in listed:
            return hit
        raise UnknownModelError(name, target, available=self.available(target))

    def _unverified(self, name: str, provider: str, why: str) -> ModelInfo:
        self.warnings.append(
            f"could not check {name!r} against the {provider} model list ({why}); "
            "using it anyway with default limits (add [models.\"ID\"] in config to set them)"
        )
        return unknown_model(name, provider, "unverified")

    def available(self, provider: str) -> list[str]:
        """Ids to suggest: the provider's list (current models first), else the table's."""
        listed = self.listed(provider)
        if listed is None:
            return [m.id for m in MODELS if m.provider == provider and not m.legacy]
        table = {m.id: m for m in MODELS}
        offered = [i for i in listed if i in table or offered_for_chat(provider, i)]
        return sorted(offered, key=lambda i: (table[i].legacy if i in table else True, i not in table))

    def models(self, providers: Iterable[str] | None = None) -> list[ModelInfo]:
        """What the picker and ``stoa models`` show: per provider, the listed ids (table entries
        merged with live rules, unknown ids with their capabilities and no price) or, without a
        list, the table; plus ``[models."ID"]`` entries; current models before legacy ones.

        Kept until a list or an override changes: merging 300 listed models costs about 9 ms,
        once per /model open."""
        self._load()
        wanted = tuple(providers) if providers is not None else CLOUD_PROVIDERS
        # What the result is made of: names, and the lists and overrides themselves (compared
        # by identity: a refresh or a reload puts new objects in).
        key = (
            wanted,
            *(x for item in self.lists.items() for x in item),
            None,
            *(x for item in self.overrides.items() for x in item),
        )
        cached = self._models_cache
        if cached is not None and len(cached[0]) == len(key) and all(map(_same, cached[0], key)):
            return list(cached[1])
        out = self._list_models(wanted)
        self._models_cache = (key, out)
        return list(out)

    def _list_models(self, providers: Iterable[str]) -> list[ModelInfo]:
        out: list[ModelInfo] = []
        for provider in providers:
            listed = self.listed(provider)
            if listed is None:
                entries = [self._merge(m) for m in MODELS if m.provider == provider]
            else:
                table = {m.id: m for m in MODELS if m.provider == provider}
                entries = [
                    self._merge(table.get(i) or unknown_model(i, provider))
                    for i in listed
                    if i in table or offered_for_chat(provider, i)
                ]
            seen = {m.id for m in entries}
            for model_id, override in self.overrides.items():
                if model_id not in seen and override.provider == provider:
                    entries.append(apply_override(unknown_model(model_id, provider, "config"), override))
            entries.sort(key=lambda m: (m.legacy, _table_rank(m.id)))
            out += entries
        return out

    def local(self, model: ModelInfo) -> ModelInfo:
        """A local server's model with its ``[models."ID"]`` table applied, if there is one."""
        override = self.overrides.get(model.id)
        return apply_override(model, override) if override is not None else model


# OpenAI's list holds every model of the account: embeddings, speech, images... not for a chat.
_NOT_CHAT = ("embedding", "whisper", "tts", "dall-e", "moderation", "transcribe", "davinci", "babbage",
             "sora", "image", "realtime", "audio")


def offered_for_chat(provider: str, model_id: str) -> bool:
    """Whether a listed id belongs in the picker (any listed id can still be named with -m)."""
    if provider != "openai":
        return True
    if ":" in model_id and not model_id.startswith("ft:"):
        return False  # a local server's tag (qwen3:8b), never an OpenAI id
    return not any(word in model_id for word in _NOT_CHAT)


def _table_rank(model_id: str) -> int:
    for index, model in enumerate(MODELS):
        if model.id == model_id:
            return index
    return len(MODELS)


def _guess_provider(name: str) -> str | None:
    lowered = name.lower()
    if lowered.startswith("claude"):
        return "anthropic"
    if lowered.startswith(("gpt", "o1", "o3", "o4", "chatgpt", "codex")):
        return "openai"
    return None


_ACTIVE: Catalog | None = None


def active_catalog() -> Catalog:
    """The catalogue of the running app (set by ``build_runtime``); a table-only one before."""
    global _ACTIVE
    if _ACTIVE is None:
        _ACTIVE = Catalog()
    return _ACTIVE


def set_active_catalog(catalog: Catalog | None) -> None:
    """Make ``catalog`` the running app's (None: back to a table-only one on next use)."""
    global _ACTIVE
    _ACTIVE = catalog
