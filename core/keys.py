"""Saved API keys: the ``keys.toml`` file in the user config folder, and where each key comes from.

Keys pasted in the key manager are written to ``StoaPaths.keys_file`` (``~/.config/stoa/keys.toml``
or ``$STOA_HOME/keys.toml``) atomically with file mode 0600, never into a project folder.
Environment variables always win over saved keys; ``core.config.api_key_source`` stays the one
reader that applies that rule, this module only writes the file and describes the result.

The file is a single table::

    [keys]
    anthropic = "sk-ant-..."
    openai = "sk-..."
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import time
import tomllib
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from stoa.core.config import KEY_ENV_VARS, KEYLESS_PROVIDERS, StoaPaths, api_key_source
from stoa.core.models import ALL_PROVIDERS

PROVIDER_LABELS: dict[str, str] = {
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "ollama": "Ollama",
    "lmstudio": "LM Studio",
    "vllm": "vLLM",
    "openrouter": "OpenRouter",
    "openai-compatible": "OpenAI-compatible",
}

# Where people get a key, shown next to the paste box.
KEY_PAGES: dict[str, str] = {
    "anthropic": "https://console.anthropic.com/settings/keys",
    "openai": "https://platform.openai.com/api-keys",
    "openrouter": "https://openrouter.ai/settings/keys",
}


# How each cloud provider's keys start (the first is the one to name in messages).
KEY_PREFIXES: dict[str, tuple[str, ...]] = {
    "anthropic": ("sk-ant-",),
    "openai": ("sk-",),
    "openrouter": ("sk-or-",),
}
# Most specific first: which provider a prefix says a key belongs to.
_PREFIX_OWNERS: tuple[tuple[str, str], ...] = (("sk-ant-", "anthropic"), ("sk-or-", "openrouter"), ("sk-", "openai"))
MIN_KEY_LENGTH = 20


class KeySaveError(ValueError):
    """A key that cannot be saved or read; the message says what to do."""


_ASSIGNMENT = re.compile(r"^[A-Z][A-Z0-9_]*=")


@dataclass(frozen=True)
class KeyStatus:
    """What Stoa will use for one provider, and why."""

    provider: str
    present: bool
    # "env" (an environment variable), "saved" (keys.toml), "none", or "not needed".
    origin: str
    # Human text: "environment variable ANTHROPIC_API_KEY", "saved key in /home/.../keys.toml".
    source: str | None
    masked: str | None
    # A saved key exists but an environment variable overrides it.
    saved_shadowed: bool = False

    @property
    def label(self) -> str:
        return PROVIDER_LABELS.get(self.provider, self.provider)


def mask_key(key: str) -> str:
    """Enough of a key to recognise it, never enough to use it: ``sk-ant…WXYZ``."""
    key = key.strip()
    if len(key) <= 8:
        return "•" * len(key)
    head = key[:6] if len(key) >= 20 else key[:3]
    return f"{head}…{key[-4:]}"


def display_path(path: Path, env: Mapping[str, str] | None = None) -> str:
    """A path as a person reads it: the home folder shown as ``~``."""
    env = os.environ if env is None else env
    home = (env.get("HOME") or "").rstrip("/")
    text = str(path)
    if home and (text == home or text.startswith(home + "/")):
        return "~" + text[len(home) :]
    return text


# How to add a key without leaving Stoa, after the variable to set.
ADD_KEY_HINT = "or add one with /key in the TUI"


def key_variable(provider: str) -> str:
    """The environment variable that holds ``provider``'s API key (the first one Stoa reads):
    the one name every message about a missing or rejected key uses."""
    return KEY_ENV_VARS.get(provider, (f"{provider.upper().replace('-', '_')}_API_KEY",))[0]


def how_to_set_key(provider: str) -> str:
    """``set OPENAI_API_KEY (e.g. export OPENAI_API_KEY=...)``."""
    variable = key_variable(provider)
    return f"set {variable} (e.g. export {variable}=...)"


def no_key_message(provider: str) -> str:
    """What to say when ``provider`` has no key (``ADD_KEY_HINT`` says the other way)."""
    return f"no API key for {provider}: {how_to_set_key(provider)}"


def invalid_key_hint(provider: str) -> str:
    """What to do when ``provider`` rejected the key."""
    return f"set a valid key in {key_variable(provider)} {ADD_KEY_HINT}"


def read_key_file(paths: StoaPaths) -> dict[str, str]:
    """The saved keys. Raises ``KeySaveError`` when the file exists but is not valid TOML."""
    try:
        text = paths.keys_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise KeySaveError(
            f"cannot read {paths.keys_file} ({exc.strerror}); fix its permissions or remove it"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeySaveError(f"{paths.keys_file} is not valid TOML ({exc}); fix it or move it aside") from exc
    table = data.get("keys", data)
    if not isinstance(table, dict):
        return {}
    return {k: v for k, v in table.items() if isinstance(v, str) and v}


def key_file_problem(paths: StoaPaths) -> str | None:
    """A problem with the saved-keys file worth telling the person about, or None."""
    path = paths.keys_file
    if not path.exists():
        return None
    try:
        read_key_file(paths)
    except KeySaveError as exc:
        return str(exc)
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            return (
                f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
            )
    return None


def validate_key(provider: str, key: str) -> str:
    """The cleaned key, or ``KeySaveError`` saying what is wrong with it."""
    if provider not in ALL_PROVIDERS:
        raise KeySaveError(f"unknown provider {provider!r}; choose one of: {', '.join(ALL_PROVIDERS)}")
    cleaned = key.strip()
    # People paste "export OPENAI_API_KEY=sk-..." or quoted values; keep only the value.
    if cleaned.startswith("export "):
        cleaned = cleaned[len("export ") :].strip()
    assignment = _ASSIGNMENT.match(cleaned)
    if assignment:
        cleaned = cleaned[assignment.end() :].strip()
    cleaned = cleaned.strip("'\"").strip()
    if not cleaned:
        raise KeySaveError("the key is empty; paste the key itself (it usually starts with sk-)")
    if any(c.isspace() for c in cleaned):
        raise KeySaveError("the key contains spaces or line breaks; paste only the key, on one line")
    if not cleaned.isprintable() or not cleaned.isascii():
        raise KeySaveError("the key contains characters an API key never has; copy it again from the provider")
    _check_prefix(provider, cleaned)
    return cleaned


def key_owner(key: str) -> str | None:
    """The provider whose keys look like this one (by prefix), or None."""
    for prefix, provider in _PREFIX_OWNERS:
        if key.startswith(prefix):
            return provider
    return None


def _check_prefix(provider: str, key: str) -> None:
    """Keys of the cloud providers have a known shape: refuse one that cannot be theirs."""
    prefixes = KEY_PREFIXES.get(provider)
    if prefixes is None:
        return  # local and compatible servers accept whatever their operator set up
    label = PROVIDER_LABELS.get(provider, provider)
    owner = key_owner(key)
    if owner is not None and owner != provider:
        other = PROVIDER_LABELS.get(owner, owner)
        raise KeySaveError(
            f"this looks like an {other} key, not an {label} one ({label} keys start with {prefixes[0]}); "
            f"choose {other} for it"
        )
    if not key.startswith(prefixes):
        raise KeySaveError(
            f"{label} keys start with {prefixes[0]}, and this one does not; copy the whole key again"
            + (f" from {KEY_PAGES[provider]}" if provider in KEY_PAGES else "")
            + f" (behind a gateway with its own keys, export {key_variable(provider)} instead)"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise KeySaveError(
            f"this is too short for an {label} key ({len(key)} characters; real ones have far more than "
            f"{MIN_KEY_LENGTH}): copy the whole key"
        )


def _render(keys: Mapping[str, str]) -> str:
    lines = [
        "# API keys saved by Stoa (/key). Environment variables override these.",
        "# Keep this file private (mode 600).",
        "[keys]",
    ]
    for provider in sorted(keys):
        # JSON string escapes are valid TOML basic-string escapes.
        lines.append(f"{json.dumps(provider)} = {json.dumps(keys[provider])}")
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkstemp creates the file with mode 0600 before anything is written to it.
    fd, tmp = tempfile.mkstemp(prefix=".keys-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _check_outside(path: Path, workspace: Path | None) -> None:
    if workspace is None:
        return
    try:
        path.resolve().relative_to(workspace.resolve())
    except ValueError:
        return
    raise KeySaveError(
        f"refusing to save an API key inside the project ({path}); set STOA_HOME to a folder outside "
        "the project, or export the key as an environment variable"
    )


def _load_for_update(paths: StoaPaths) -> tuple[dict[str, str], str | None]:
    """The current keys; a broken file is moved aside (not lost) and named in the notice."""
    try:
        return read_key_file(paths), None
    except KeySaveError:
        aside = paths.keys_file.with_name(f"keys.toml.broken-{int(time.time())}")
        os.replace(paths.keys_file, aside)
        return {}, f"the old keys file was not valid TOML and was moved to {aside}"


@dataclass(frozen=True)
class SaveResult:
    path: Path
    status: KeyStatus
    notices: tuple[str, ...] = ()


def save_key(
    paths: StoaPaths,
    provider: str,
    key: str,
    *,
    env: Mapping[str, str] | None = None,
    workspace: Path | None = None,
) -> SaveResult:
    """Save (or replace) one provider's key. Raises ``KeySaveError`` with what to do."""
    cleaned = validate_key(provider, key)
    _check_outside(paths.keys_file, workspace)
    keys, notice = _load_for_update(paths)
    keys[provider] = cleaned
    _write_atomic(paths.keys_file, _render(keys))
    env = dict(os.environ) if env is None else dict(env)
    status = key_status(provider, env, paths)
    notices = [notice] if notice else []
    if status.origin == "env":
        notices.append(
            f"saved, but {status.source} is set and wins over the saved key; unset it to use the saved one"
        )
    return SaveResult(path=paths.keys_file, status=status, notices=tuple(notices))


def delete_key(paths: StoaPaths, provider: str) -> bool:
    """Remove a saved key. Returns False when there was none."""
    keys = read_key_file(paths)
    if provider not in keys:
        return False
    del keys[provider]
    _write_atomic(paths.keys_file, _render(keys))
    return True


def key_status(provider: str, env: Mapping[str, str], paths: StoaPaths) -> KeyStatus:
    key, source = api_key_source(provider, dict(env), paths)
    if key is None:
        if provider in KEYLESS_PROVIDERS:
            return KeyStatus(provider, True, "not needed", "no key needed (local server)", None)
        return KeyStatus(provider, False, "none", None, None)
    origin = "env" if source and source.startswith("environment") else "saved"
    shadowed = False
    if origin == "env":
        try:
            shadowed = provider in read_key_file(paths)
        except KeySaveError:
            shadowed = False
    return KeyStatus(provider, True, origin, source, mask_key(key), saved_shadowed=shadowed)


def all_key_statuses(
    env: Mapping[str, str], paths: StoaPaths, providers: tuple[str, ...] = ALL_PROVIDERS
) -> list[KeyStatus]:
    return [key_status(p, env, paths) for p in providers]


def has_any_cloud_key(env: Mapping[str, str], paths: StoaPaths) -> bool:
    """True when any provider that needs a key has one (first-run onboarding is skipped)."""
    return any(
        key_status(p, env, paths).origin in ("env", "saved")
        for p in ALL_PROVIDERS
        if p not in KEYLESS_PROVIDERS
    )


def rejected_key_message(provider: str, env: Mapping[str, str], paths: StoaPaths) -> str:
    """What to say when the provider answers 401: which key, and where it came from."""
    status = key_status(provider, env, paths)
    label = PROVIDER_LABELS.get(provider, provider)
    if not status.present or status.origin == "not needed":
        return f"{label} rejected the request and no key is set; paste one below (or export {key_variable(provider)})"
    where = status.source or "unknown source"
    fix = (
        f"fix or unset {key_variable(provider)} (environment variables win over saved keys)"
        if status.origin == "env"
        else "paste a new key below to replace it"
    )
    return f"{label} rejected the key {status.masked} from {where}; {fix}"
