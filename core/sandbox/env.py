"""The environment a shell command gets: the user's, minus credentials and start-up hooks.

API keys, tokens, secrets, cloud credentials and agent sockets are removed so that a command
(or a script it runs) cannot read them; variables that make bash run code at start-up are
removed too. A few variables are set so tools do not wait for a terminal that is not there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Provider keys of config.KEY_ENV_VARS, and other well-known credential variables.
_EXACT = frozenset(
    """ANTHROPIC_API_KEY OPENAI_API_KEY OPENROUTER_API_KEY OLLAMA_API_KEY LMSTUDIO_API_KEY
    VLLM_API_KEY OPENAI_COMPATIBLE_API_KEY ANTHROPIC_AUTH_TOKEN GOOGLE_APPLICATION_CREDENTIALS
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
    """Whether a variable looks like a credential (or a start-up hook) to keep from commands."""
    return name in _EXACT or bool(_PATTERNS.search(name)) or bool(_URL_WITH_PASSWORD.search(value))


def scrub_env(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``env`` without credentials, plus the fixed non-interactive settings."""
    clean = {name: value for name, value in env.items() if not is_secret(name, value)}
    clean.update(FIXED)
    return clean


def removed_names(env: Mapping[str, str]) -> list[str]:
    """The names ``scrub_env`` drops (for messages and tests; never the values)."""
    return sorted(name for name, value in env.items() if is_secret(name, value))
