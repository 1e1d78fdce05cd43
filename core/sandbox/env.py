"""The environment a shell command gets: the user's, minus credentials and start-up hooks.

API keys, tokens, secrets, cloud credentials and agent sockets are removed so that a command
(or a script it runs) cannot read them; variables that make bash run code at start-up are
removed too. A few variables are set so tools do not wait for a terminal that is not there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from stoa.core.config import KEY_ENV_VARS

# Every variable a provider's key is read from (core.config.KEY_ENV_VARS), and other
# well-known credential variables.
_EXACT = frozenset(variable for variables in KEY_ENV_VARS.values() for variable in variables) | frozenset(
    """ANTHROPIC_AUTH_TOKEN GOOGLE_APPLICATION_CREDENTIALS
    SSH_AUTH_SOCK SSH_AGENT_PID GPG_AGENT_INFO GNUPGHOME KRB5CCNAME NETRC DOCKER_AUTH_CONFIG
    KUBECONFIG VAULT_ADDR BASH_ENV ENV PROMPT_COMMAND NPM_CONFIG_USERCONFIG PYPIRC""".split()
)
_PATTERNS = re.compile(
    r"(API_?KEY|APIKEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE_?KEY|ACCESS_?KEY"
    r"|_PAT$|_KEY$|^AWS_|^AZURE_|^ARM_CLIENT|^GCP_|^GOOGLE_CLOUD_|^CLOUDSDK_|^DIGITALOCEAN_|^HEROKU_"
    r"|^BASH_FUNC_|^STOA_KEY|^SENTRY_DSN$|^DATABASE_URL$|^REDIS_URL$|^MONGO(DB)?_URI$)",
    re.IGNORECASE,
)
# user:password@ in a URL value.
_URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
# Values that are credentials whatever the variable is called (provider and forge key formats).
KEY_VALUE = re.compile(
    r"(?<![A-Za-z0-9_\-])(sk-ant-[A-Za-z0-9_\-]{16,}|sk-(proj-|svcacct-|or-v1-)?[A-Za-z0-9_\-]{32,}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_\-]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_\-]{35}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_\-]{50,})"
)
# A value shorter than this is not recognised inside other values or output (too many false hits).
MIN_SECRET_CHARS = 8

# Variables in _EXACT that make a shell run code at start-up (removed for that, not as secrets).
STARTUP_HOOKS = frozenset({"BASH_ENV", "ENV", "PROMPT_COMMAND"})

# Set for every command: no pagers, no prompts, and a marker scripts can test.
FIXED = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": "true",
    "DEBIAN_FRONTEND": "noninteractive",
    "STOA_AGENT": "1",
}


def is_secret(name: str, value: str = "") -> bool:
    """Whether a variable looks like a credential (or a start-up hook) to keep from commands:
    by its name, or by its value (a URL with a password, a known API key format)."""
    return (
        name in _EXACT
        or bool(_PATTERNS.search(name))
        or bool(_URL_WITH_PASSWORD.search(value))
        or bool(KEY_VALUE.search(value))
    )


def recognisable(value: str, min_chars: int = MIN_SECRET_CHARS) -> bool:
    """Whether a secret variable's value is worth finding inside other text: long enough, and
    not a path or plain URL (KUBECONFIG, SSH_AUTH_SOCK, VAULT_ADDR name where a credential is,
    they are not one)."""
    value = value.strip()
    if len(value) < max(1, min_chars) or value.startswith(("/", "~", "./")):
        return False
    return not (re.match(r"^[a-z][a-z0-9+.-]*://", value, re.I) and not _URL_WITH_PASSWORD.search(value))


def _hidden_names(env: Mapping[str, str]) -> set[str]:
    """Secret variables, and any other variable whose value holds a secret's value
    (``MY_COPY=$ANTHROPIC_API_KEY`` under a harmless name)."""
    hidden = {name for name, value in env.items() if is_secret(name, value)}
    values = [env[name] for name in hidden if recognisable(env[name])]
    if values:
        hidden.update(name for name, value in env.items() if any(v in value for v in values))
    return hidden


def scrub_env(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``env`` without credentials, plus the fixed non-interactive settings."""
    hidden = _hidden_names(env)
    clean = {name: value for name, value in env.items() if name not in hidden}
    clean.update(FIXED)
    return clean


def removed_names(env: Mapping[str, str]) -> list[str]:
    """The names ``scrub_env`` drops (for messages and tests; never the values)."""
    return sorted(_hidden_names(env))
