"""Configuration: where state lives, the TOML layers, and the settings the core reads.

Layers, lowest first: the global ``~/.config/stoa/config.toml`` (``$STOA_HOME/config.toml`` when
STOA_HOME is set), the project's ``.stoa/config.toml``, the personal ``.stoa/config.local.toml``,
then environment, then command-line flags. Sections owned by other concerns
(``[permissions]``, ``[mcp-servers.NAME]``) are parsed by their owners from ``layers``, so
each keeps its file/line-aware error reporting; this module loads and merges, and warns (never
fails) about keys nothing reads, with file:line and the closest known name.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

from stoa.core.paths import StoaPaths as StoaPaths  # where state lives (re-exported: its old home)

KEY_ENV_VARS: dict[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_API_KEY",),
    "openai": ("OPENAI_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "ollama": ("OLLAMA_API_KEY",),
    "lmstudio": ("LMSTUDIO_API_KEY",),
    "vllm": ("VLLM_API_KEY",),
    "openai-compatible": ("OPENAI_COMPATIBLE_API_KEY", "OPENAI_API_KEY"),
}

DEFAULT_BASE_URLS: dict[str, str] = {
    "ollama": "http://localhost:11434/v1",
    "lmstudio": "http://localhost:1234/v1",
    "vllm": "http://localhost:8000/v1",
    "openrouter": "https://openrouter.ai/api/v1",
}

# Model requests per turn before the model is asked for a summary (`max-iterations`,
# `--max-turns`). Long refactors take dozens of steps; 200 is what Sofos and Koda use.
DEFAULT_MAX_ITERATIONS = 200

# Providers that need no key (local servers).
KEYLESS_PROVIDERS: frozenset[str] = frozenset({"ollama", "lmstudio", "vllm", "openai-compatible"})


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the fix."""


@dataclass
class Settings:
    """The plain settings of the top level of the TOML files (``settings_from``)."""

    model: str | None = None
    effort: str | None = None
    provider: str | None = None
    base_url: str | None = None
    mode: str = "auto"
    max_tokens: int | None = None
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    theme: str | None = None
    vim: bool = False


# Each setting: its TOML name, and the values taken as they are. Anything else (a number as a
# string, a key given twice, a value out of range) goes through pydantic (``_validated``),
# which converts what it can and words what it cannot. Plain values skip it: pydantic's first
# model costs ~55 ms of CPU, which the TUI would otherwise spend before its first frame.
_SETTINGS: dict[str, tuple[str, Any]] = {
    "model": ("model", str),
    "effort": ("effort", str),
    "provider": ("provider", str),
    "base_url": ("base-url", str),
    "mode": ("mode", str),
    "max_tokens": ("max-tokens", "positive"),
    "max_iterations": ("max-iterations", "positive"),
    "theme": ("theme", str),
    "vim": ("vim", bool),
}


def _plain(value: Any, kind: Any) -> bool:
    if kind == "positive":
        return type(value) is int and value > 0
    return type(value) is kind


class InvalidSettings(ValueError):
    """Settings values that cannot be used: ``field: what is wrong``, ``; `` between them."""


def settings_from(merged: dict[str, Any]) -> Settings:
    """The settings in a merged top level (keys by TOML name or field name; others ignored).
    Raises ``InvalidSettings`` for values that cannot be used."""
    values: dict[str, Any] = {}
    for name, (alias, kind) in _SETTINGS.items():
        given = [merged[key] for key in dict.fromkeys((alias, name)) if key in merged]
        if len(given) > 1 or (given and not _plain(given[0], kind)):
            return _validated(merged)
        if given:
            values[name] = given[0]
    return Settings(**values)


def _validated(merged: dict[str, Any]) -> Settings:
    from pydantic import ValidationError

    try:
        model = _settings_model().model_validate(merged)
    except ValidationError as exc:
        raise InvalidSettings(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from exc
    return Settings(**{name: getattr(model, name) for name in _SETTINGS})


_MODEL: list[type[BaseModel]] = []


def _settings_model() -> type[BaseModel]:
    """The pydantic form of ``Settings``: conversions (``"5"`` -> 5, ``"yes"`` -> True) and the
    words of a refusal, made the first time a value needs them."""
    if not _MODEL:
        from pydantic import BaseModel, ConfigDict, Field

        class _Settings(BaseModel):
            model_config = ConfigDict(extra="ignore", populate_by_name=True)

            model: str | None = None
            effort: str | None = None
            provider: str | None = None
            base_url: str | None = Field(default=None, alias="base-url")
            mode: str = "auto"
            max_tokens: int | None = Field(default=None, alias="max-tokens", gt=0)
            max_iterations: int = Field(default=DEFAULT_MAX_ITERATIONS, alias="max-iterations", gt=0)
            theme: str | None = None
            vim: bool = False

        _MODEL.append(_Settings)
    return _MODEL[0]


# The tables a config file may hold, and the keys each takes. ``None``: the table's owner
# checks its own keys (and reports them with file and line). A new table is one entry here (a
# test checks that every table the code reads is listed).
CONFIG_TABLES: dict[str, frozenset[str] | None] = {
    "permissions": None,  # core.permissions.rules
    "mcp-servers": None,  # core.mcp.config: one table per server
    "sandbox": frozenset({"enabled", "network", "writable"}),  # core.sandbox
    "web": frozenset({"allow-private-hosts", "search"}),  # core.tools.web
    "models": None,  # core.catalog: one table per model id
    "checkpoints": frozenset({"enabled", "budget-mb", "max-file-mb"}),  # core.checkpoints
    "memory": frozenset({"scope"}),  # core.memory
    "context": frozenset({"auto-compact"}),  # core.agent.compaction
    "notifications": frozenset({"method"}),  # app.notify
    "hooks": None,  # core.hooks.config: [[hooks.EVENT]] entries
    "agents": frozenset({"max-concurrency", "max-iterations", "max-depth"}),  # core.agents.subagents
}


def setting_keys() -> frozenset[str]:
    """The top-level settings a config file may set (each under its TOML name and field name)."""
    return frozenset(key for name, (alias, _) in _SETTINGS.items() for key in (name, alias))


@dataclass(frozen=True)
class ConfigLayer:
    path: Path
    data: dict[str, Any]
    text: str


@dataclass
class StoaConfig:
    """Everything the app and the core need to start, after merging layers, env and flags."""

    paths: StoaPaths
    workspace: Path
    settings: Settings = field(default_factory=Settings)
    layers: list[ConfigLayer] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    # Problems found while loading that did not stop start-up (shown as notices).
    warnings: list[str] = field(default_factory=list)

    def section(self, name: str) -> list[tuple[ConfigLayer, Any]]:
        """The raw value of a top-level table in every layer that has it, lowest first."""
        return [(layer, layer.data[name]) for layer in self.layers if name in layer.data]

    def api_key(self, provider: str) -> str | None:
        return api_key_source(provider, self.env, self.paths)[0]

    def key_source(self, provider: str) -> str | None:
        return api_key_source(provider, self.env, self.paths)[1]


def project_config_files(workspace: Path) -> list[Path]:
    return [workspace / ".stoa" / "config.toml", workspace / ".stoa" / "config.local.toml"]


def read_layer(path: Path) -> ConfigLayer | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read it ({exc.strerror}); fix its permissions or remove it"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or move it aside") from exc
    return ConfigLayer(path=path, data=data, text=text)


_HEADER = re.compile(r"^\s*\[\[?\s*(?P<path>[^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_ASSIGNMENT = re.compile(r"^\s*(?P<key>(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _dotted(text: str) -> tuple[str, ...]:
    parts = re.findall(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+)", text)
    return tuple(a or b or c for a, b, c in parts)


def key_line(text: str, path: tuple[str, ...]) -> int | None:
    """The 1-based line where the key ``path`` (table names, then the key) is written in a TOML
    file: a ``[table]`` header, or a ``key =`` / dotted ``table.key =`` assignment. Best effort
    (None when not found, e.g. inside an inline table)."""
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _dotted(header.group("path"))
            if table[: len(path)] == path:
                return number
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment:
            full = table + _dotted(assignment.group("key"))
            if full[: len(path)] == path:
                return number
    return None


def unknown_key_warning(layer: ConfigLayer, path: tuple[str, ...], known: Iterable[str], where: str) -> str:
    """``FILE:LINE: unknown WHERE 'KEY' (did you mean 'CLOSE'?); it is ignored`` for the key at
    ``path`` (its tables, then the key), with the closest names of ``known``."""
    key = path[-1]
    line = key_line(getattr(layer, "text", "") or "", path)
    location = f"{layer.path}:{line}" if line else str(layer.path)
    close = difflib.get_close_matches(key, sorted(known), n=2, cutoff=0.6)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return f"{location}: unknown {where} {key!r}{hint}; it is ignored"


def unknown_key_warnings(layers: Iterable[ConfigLayer]) -> list[str]:
    """One warning per key no part of Stoa reads: top-level settings and tables, and the keys of
    the tables listed in ``CONFIG_TABLES`` with a key set. Never an error: the rest applies."""
    settings = setting_keys()
    top_level = settings | set(CONFIG_TABLES)
    warnings: list[str] = []
    for layer in layers:
        for key, value in layer.data.items():
            if key not in top_level:
                what = "table" if isinstance(value, dict) else "setting"
                warnings.append(unknown_key_warning(layer, (key,), top_level, what))
                continue
            known = CONFIG_TABLES.get(key)
            if known is None or not isinstance(value, dict):
                continue
            for inner in value:
                if inner not in known:
                    warnings.append(unknown_key_warning(layer, (key, inner), known, f"key in [{key}]"))
    return warnings


def load_config(
    workspace: Path | None = None,
    *,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
    extra_layers: Iterable[ConfigLayer] = (),
) -> StoaConfig:
    """Load and merge every layer (``extra_layers``, e.g. the command line's, go on top).
    Raises ``ConfigError`` for files that cannot be used."""
    env = dict(os.environ) if env is None else env
    paths = StoaPaths.from_env(env)
    workspace = (workspace or Path.cwd()).resolve()
    layers = [
        layer
        for layer in (read_layer(p) for p in [paths.global_config, *project_config_files(workspace)])
        if layer is not None
    ]
    layers.extend(extra_layers)
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.data.items():
            if not isinstance(value, dict):
                merged[key] = value
    for key, value in (overrides or {}).items():
        if value is not None:
            merged[key] = value
    try:
        settings = settings_from(merged)
    except InvalidSettings as exc:
        where = ", ".join(str(layer.path) for layer in layers) or "the command line"
        raise ConfigError(f"invalid settings ({exc}) in {where}") from exc
    return StoaConfig(
        paths=paths,
        workspace=workspace,
        settings=settings,
        layers=layers,
        env=env,
        warnings=unknown_key_warnings(layers),
    )


def _saved_keys(paths: StoaPaths) -> dict[str, str]:
    try:
        data = tomllib.loads(paths.keys_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    keys = data.get("keys", data)
    return {k: v for k, v in keys.items() if isinstance(v, str) and v}


def api_key_source(provider: str, env: dict[str, str], paths: StoaPaths) -> tuple[str | None, str | None]:
    """The key for a provider and where it came from. Environment variables always win."""
    for var in KEY_ENV_VARS.get(provider, ()):
        if env.get(var):
            return env[var], f"environment variable {var}"
    saved = _saved_keys(paths).get(provider)
    if saved:
        return saved, f"saved key in {paths.keys_file}"
    return None, None


def set_top_level_setting(path: Path, key: str, value: str | bool) -> None:
    """Write ``key = value`` (a string or a boolean) at the top level of the TOML file at ``path`` (created if
    missing), keeping the rest of the file as written; the result is parsed before it replaces
    the file (atomically). Raises ``ConfigError`` saying what to do by hand."""
    import json
    import re
    import tempfile
    import tomllib

    line = f"{key} = {json.dumps(value, ensure_ascii=False)}"
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot update {path} ({exc}); set {line} in it by hand") from exc
    first_table = re.search(r"^[ \t]*\[", text, re.MULTILINE)
    head_end = first_table.start() if first_table else len(text)
    head, rest = text[:head_end], text[head_end:]
    pattern = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=.*$", re.MULTILINE)
    if pattern.search(head):
        head = pattern.sub(lambda _m: line, head, count=1)
    else:
        head = f"{line}\n{head}"
    new_text = head + rest
    try:
        if tomllib.loads(new_text).get(key) != value:
            raise ConfigError(f"cannot update {path} safely; set {line} in it by hand")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot update {path} safely ({exc}); set {line} in it by hand") from exc
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".toml")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path} ({exc.strerror or exc}); set {line} in it by hand") from exc
