"""Stoa's own credentials, kept out of other processes' sight and out of what a model is sent.

Shell commands already run with a scrubbed environment (``env.scrub_env``), but a command can
still read the environments of other processes of the same user: ``ps e``,
``/proc/PID/environ``. Stoa's own process was started with the API keys in its environment,
so two more layers:

- ``mask_own_environ`` (called first thing by the ``stoa`` command, Linux): overwrites the
  values of secret variables in this process's initial environment block, the memory that
  ``/proc/self/environ`` and ``ps e`` show. Python copied the environment into ``os.environ``
  at start-up, so the SDKs still find their keys there; programs Stoa starts without an
  explicit environment inherit the masked values, never the keys.
- ``Redactor`` replaces the values of secret variables and saved keys of 8 characters or more
  (and their base64 and hex forms: ``base64``, ``xxd -p``, ``od -An -tx1``) in tool output
  before it reaches the model, the session or the screen, whatever read them (an approved
  ``ps axe``, ``cat ~/.config/stoa/keys.toml``, a ``.env`` file); and values shaped like
  credentials wherever they come from: provider and forge key formats (``sk-...``, ``ghp_...``,
  ``xox.-...``, ``AKIA...``: ``env.KEY_VALUE``) and 32 or more hex digits assigned to a name
  that says key, token, secret or password (``API_SECRET=3f9a...``, ``"token": "..."``).
  Hex on its own is left alone: commit ids and checksums in git output stay readable.

Known limit: text that encodes a secret some other way (``xxd``'s default layout with offsets,
``rev``, a program that prints it letter by letter) is not recognised; reading another
process's environment asks first for that reason.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from stoa.core.sandbox.env import KEY_VALUE, STARTUP_HOOKS, is_secret, recognisable

log = logging.getLogger(__name__)

MASK_BYTE = b"*"


def secret_values(env: Mapping[str, str], extra: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """value -> a label naming where it came from, for every recognisable secret: the secret
    variables of ``env`` and the ``(label, value)`` pairs of ``extra`` (saved keys)."""
    found: dict[str, str] = {}
    pairs = [(name, value) for name, value in env.items() if is_secret(name, value)]
    for name, value in [*pairs, *extra]:
        if recognisable(value):
            found.setdefault(value.strip(), name)
    return found


def _encoded_forms(value: str) -> list[str]:
    """The base64 text of ``value`` as it appears inside a longer base64 stream, at each of the
    three byte alignments (the characters that mix in neighbouring bytes are left out)."""
    raw = value.encode("utf-8", "surrogateescape")
    forms: list[str] = []
    for shift in range(3):
        text = base64.b64encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
        start = 4 if shift else 0
        end = len(text) - (len(text) % 4 or 4) if (shift + len(raw)) % 3 else len(text)
        middle = text[start:end]
        if len(middle) >= 12:
            forms.append(middle)
    return forms


def _hex_forms(value: str) -> list[str]:
    """The hex text of ``value``'s bytes, lower and upper case (``xxd -p``, ``od``)."""
    text = value.encode("utf-8", "surrogateescape").hex()
    return [text, text.upper()]


# 32+ hex digits given as the value of a name that says what it is (``API_SECRET=3f9a...``,
# ``"token": "..."``, ``Authorization: Bearer ...``): the name is kept, the value redacted.
# Found as hex runs first, then the name just before (a regex that tries the names at every
# position costs 8 times as much: 127 against 16 ms a megabyte).
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])")
_NAME_BEFORE = re.compile(
    r"(?i)(?:api_?key|apikey|access_?key|private_?key|signing_?key|secret|token|passw(?:or)?d|passphrase"
    r"|credential|auth(?:orization)?)[A-Za-z0-9_\-]*[\"']?\s*(?:=>|[:=])\s*[\"']?(?:bearer\s+|token\s+)?$"
)

_NAME_WORDS = ("key", "secret", "token", "pass", "credential", "auth")


def _redact_shapes(text: str) -> str:
    """Values shaped like credentials, known or not (see the module docstring)."""
    if not text:
        return text
    text = KEY_VALUE.sub("[redacted key-shaped value]", text)
    out: list[str] = []
    done = 0
    for run in _HEX_RUN.finditer(text):
        start = max(done, run.start() - 80)
        window = text[start : run.start()].lower()
        if not window.rstrip(" \t\"'").endswith((":", "=", "=>", "bearer", "token")):
            continue  # not assigned (a commit id, a checksum in a listing)
        if not any(word in window for word in _NAME_WORDS):
            continue  # no name says it is a secret
        if _NAME_BEFORE.search(text, start, run.start()):
            out += [text[done : run.start()], "[redacted hex secret]"]
            done = run.end()
    return "".join([*out, text[done:]]) if out else text


@dataclass
class Redactor:
    """Replaces known secret values in text with ``[redacted NAME]``."""

    secrets: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        labels: dict[str, str] = {}
        for value, name in self.secrets.items():
            labels.setdefault(value, name)
            for form in _encoded_forms(value):
                labels.setdefault(form, f"{name}, base64")
            for form in _hex_forms(value):
                labels.setdefault(form, f"{name}, hex")
        self._labels = labels
        ordered = sorted(labels, key=len, reverse=True)
        alternatives = [_spread(v, labels[v]) for v in ordered]
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    def __bool__(self) -> bool:
        return True  # credential-shaped values are redacted even with no secret known

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self._pattern is not None:
            text = self._pattern.sub(self._replacement, text)
        return _redact_shapes(text)

    def _replacement(self, match: re.Match[str]) -> str:
        found = match.group(0)
        label = self._labels.get(found) or self._labels.get(re.sub(r"\s", "", found), "secret")
        return f"[redacted {label}]"

    def redact_value(self, value: object) -> object:
        """``value`` with every string inside (dicts, lists) redacted; other types unchanged."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_value(v) for v in value)
        return value


def _spread(form: str, label: str) -> str:
    """The regex of one form: base64 output is wrapped (76 columns by default), so its forms
    may break across lines; hex dumps put spaces and line breaks between bytes."""
    if label.endswith("base64"):
        return r"\r?\n?".join(re.escape(ch) for ch in form)
    if label.endswith("hex"):
        return r"\s{0,3}".join(re.escape(form[i : i + 2]) for i in range(0, len(form), 2))
    return re.escape(form)


class SessionRedactor:
    """The redactor for one agent: the environment Stoa was configured with plus the saved
    keys, rebuilt when the saved-keys file changes (``/key`` adds one mid-session)."""

    def __init__(self, config: object = None) -> None:
        self._config = config
        self._stamp: object = ()
        self._redactor = Redactor()

    def _keys_stamp(self) -> tuple[object, ...]:
        paths = getattr(self._config, "paths", None)
        keys_file = getattr(paths, "keys_file", None)
        if keys_file is None:
            return ()
        try:
            st = os.stat(keys_file)
        except OSError:
            return ("none",)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> Redactor:
        stamp = self._keys_stamp()
        if stamp != self._stamp or not self._stamp:
            env = getattr(self._config, "env", None)
            environment = dict(env) if isinstance(env, dict) else dict(os.environ)
            saved: list[tuple[str, str]] = []
            paths = getattr(self._config, "paths", None)
            if paths is not None:
                try:
                    from stoa.core.keys import read_key_file

                    saved = [(f"saved {provider} key", key) for provider, key in read_key_file(paths).items()]
                except Exception as exc:  # an unreadable keys file: its own warning says so
                    log.debug("saved keys not read for redaction: %s", exc)
            self._redactor = Redactor(secret_values(environment, saved))
            self._stamp = stamp or ("no-config",)
        return self._redactor

    def __call__(self, text: str) -> str:
        return self.current()(text)


# ---- Stoa's own /proc/self/environ ----------------------------------------------------------------


def _environ_block() -> tuple[int, int] | None:
    """The start and end addresses of this process's initial environment strings (Linux)."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    # Fields from (3) state on; env_start is (50) and env_end (51) in proc(5).
    if len(fields) < 49:
        return None
    start, end = int(fields[47]), int(fields[48])
    if not start or end <= start or end - start > 16 * 1024 * 1024:
        return None
    return start, end


def mask_own_environ(env: Mapping[str, str] | None = None) -> list[str]:
    """Overwrite, in place, the values of secret variables in this process's initial
    environment block, so that ``/proc/<stoa>/environ`` and ``ps e`` show ``NAME=****``.
    Returns the names masked. Linux only; anything unexpected leaves memory untouched.

    ``env`` (default ``os.environ``) decides which values are secret: a variable whose value
    holds one of theirs is masked too."""
    if not sys.platform.startswith("linux"):
        return []
    block = _environ_block()
    if block is None:
        return []
    from stoa.core.sandbox.env import removed_names

    environment = dict(os.environ if env is None else env)
    # Credentials only: start-up hooks and paths (BASH_ENV, SSH_AUTH_SOCK) keep their values, so
    # programs that inherit the environment still work.
    hidden = {
        name
        for name in removed_names(environment)
        if recognisable(environment[name], min_chars=1) and name not in STARTUP_HOOKS and not name.startswith("BASH_FUNC_")
    }
    if not hidden:
        return []
    import ctypes

    start, end = block
    try:
        data = ctypes.string_at(start, end - start)
    except Exception:  # pragma: no cover - the address came from the kernel for this process
        return []
    masked: list[str] = []
    offset = 0
    for entry in data.split(b"\0"):
        name, eq, value = entry.partition(b"=")
        if eq and value and name.decode("utf-8", "replace") in hidden:
            at = start + offset + len(name) + 1
            ctypes.memset(at, MASK_BYTE[0], len(value))
            masked.append(name.decode("utf-8", "replace"))
        offset += len(entry) + 1
    return masked
