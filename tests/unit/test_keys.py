"""Saved keys: file mode, atomic replace, environment precedence, bad input, 401 messages."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from stoa.core.config import KEYLESS_PROVIDERS, StoaPaths, api_key_source, load_config
from stoa.core.keys import (
    ADD_KEY_HINT,
    KeySaveError,
    all_key_statuses,
    delete_key,
    has_any_cloud_key,
    invalid_key_hint,
    key_file_problem,
    key_status,
    key_variable,
    mask_key,
    no_key_message,
    read_key_file,
    rejected_key_message,
    save_key,
    validate_key,
)
from stoa.core.models import ALL_PROVIDERS

ANTHROPIC_KEY = "sk-ant-api03-" + "a" * 40 + "WXYZ"
OPENAI_KEY = "sk-proj-" + "b" * 40 + "1234"


@pytest.fixture
def paths(tmp_path: Path) -> StoaPaths:
    return StoaPaths.from_env({"STOA_HOME": str(tmp_path / "stoa-home")})


def test_save_writes_0600_in_user_config_and_config_reads_it(paths: StoaPaths) -> None:
    result = save_key(paths, "anthropic", ANTHROPIC_KEY, env={})
    assert result.path == paths.keys_file
    assert stat.S_IMODE(paths.keys_file.stat().st_mode) == 0o600
    assert tomllib.loads(paths.keys_file.read_text())["keys"]["anthropic"] == ANTHROPIC_KEY
    # The one reader in core.config sees it, and says where it came from.
    key, source = api_key_source("anthropic", {}, paths)
    assert key == ANTHROPIC_KEY
    assert source == f"saved key in {paths.keys_file}"
    assert result.status.origin == "saved"
    assert result.notices == ()
    # No temporary files are left next to it.
    assert sorted(p.name for p in paths.keys_file.parent.iterdir()) == ["keys.toml"]


def test_second_save_keeps_other_providers_and_replaces_same(paths: StoaPaths) -> None:
    save_key(paths, "anthropic", ANTHROPIC_KEY, env={})
    save_key(paths, "openai", OPENAI_KEY, env={})
    save_key(paths, "anthropic", "sk-ant-new-" + "c" * 30, env={})
    keys = read_key_file(paths)
    assert keys == {"anthropic": "sk-ant-new-" + "c" * 30, "openai": OPENAI_KEY}
    assert stat.S_IMODE(paths.keys_file.stat().st_mode) == 0o600


def test_environment_wins_and_save_says_so(paths: StoaPaths) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-from-env-" + "d" * 30}
    result = save_key(paths, "anthropic", ANTHROPIC_KEY, env=env)
    assert result.status.origin == "env"
    assert result.status.saved_shadowed
    assert any("ANTHROPIC_API_KEY" in n and "wins" in n for n in result.notices)
    key, source = api_key_source("anthropic", env, paths)
    assert key == env["ANTHROPIC_API_KEY"]
    assert source == "environment variable ANTHROPIC_API_KEY"
    config = load_config(paths.home, env={**env, "STOA_HOME": str(paths.home)})
    assert config.api_key("anthropic") == env["ANTHROPIC_API_KEY"]


def test_pasted_export_line_and_quotes_are_cleaned() -> None:
    assert validate_key("openai", f"export OPENAI_API_KEY={OPENAI_KEY}\n") == OPENAI_KEY
    assert validate_key("openai", f"  '{OPENAI_KEY}'  ") == OPENAI_KEY
    assert validate_key("openai", f'OPENAI_API_KEY="{OPENAI_KEY}"') == OPENAI_KEY


@pytest.mark.parametrize(
    ("provider", "key", "needle"),
    [
        ("anthropic", "   ", "empty"),
        ("anthropic", "sk-ant-abc def", "spaces"),
        ("anthropic", OPENAI_KEY, "OpenAI key"),
        ("openai", ANTHROPIC_KEY, "Anthropic key"),
        ("nonesuch", OPENAI_KEY, "unknown provider"),
        ("openai", "sk-\x07bell", "characters"),
    ],
)
def test_bad_keys_are_refused_with_what_to_do(paths: StoaPaths, provider: str, key: str, needle: str) -> None:
    with pytest.raises(KeySaveError, match=needle):
        save_key(paths, provider, key, env={})
    assert not paths.keys_file.exists()


OPENROUTER_KEY = "sk-or-v1-" + "e" * 40


@pytest.mark.parametrize(
    ("provider", "key", "needle"),
    [
        ("anthropic", "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4", "Anthropic keys start with sk-ant-"),
        ("openai", "proj_" + "b" * 40, "OpenAI keys start with sk-"),
        ("openrouter", OPENAI_KEY, "looks like an OpenAI key"),
        ("openai", OPENROUTER_KEY, "looks like an OpenRouter key"),
        ("anthropic", OPENROUTER_KEY, "looks like an OpenRouter key"),
        ("anthropic", "sk-ant-123", "too short"),
        ("openai", "ANTHROPIC_API_KEY=" + ANTHROPIC_KEY, "looks like an Anthropic key"),
    ],
)
def test_keys_must_have_their_providers_shape(paths: StoaPaths, provider: str, key: str, needle: str) -> None:
    with pytest.raises(KeySaveError, match=needle):
        save_key(paths, provider, key, env={})
    assert not paths.keys_file.exists()


def test_each_providers_own_key_shapes_pass() -> None:
    assert validate_key("openrouter", OPENROUTER_KEY) == OPENROUTER_KEY
    for openai_key in ("sk-proj-" + "x" * 40, "sk-svcacct-" + "x" * 40, "sk-" + "x" * 48):
        assert validate_key("openai", openai_key) == openai_key
    # Local and compatible servers take whatever their operator chose.
    assert validate_key("vllm", "token-abc") == "token-abc"


def test_refuses_to_save_inside_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    paths = StoaPaths.from_env({"STOA_HOME": str(project / ".stoa-home")})
    with pytest.raises(KeySaveError, match="inside the project"):
        save_key(paths, "openai", OPENAI_KEY, env={}, workspace=project)
    assert not paths.keys_file.exists()


def test_broken_file_is_moved_aside_not_lost(paths: StoaPaths) -> None:
    paths.keys_file.parent.mkdir(parents=True)
    paths.keys_file.write_text("[keys\nopenai = 'x'\n")
    assert "not valid TOML" in (key_file_problem(paths) or "")
    result = save_key(paths, "openai", OPENAI_KEY, env={})
    assert any("moved to" in n for n in result.notices)
    aside = [p for p in paths.keys_file.parent.iterdir() if p.name.startswith("keys.toml.broken-")]
    assert len(aside) == 1 and aside[0].read_text() == "[keys\nopenai = 'x'\n"
    assert read_key_file(paths) == {"openai": OPENAI_KEY}


def test_loose_permissions_are_reported(paths: StoaPaths) -> None:
    save_key(paths, "openai", OPENAI_KEY, env={})
    assert key_file_problem(paths) is None
    os.chmod(paths.keys_file, 0o644)
    assert "chmod 600" in (key_file_problem(paths) or "")


def test_delete_key(paths: StoaPaths) -> None:
    save_key(paths, "openai", OPENAI_KEY, env={})
    save_key(paths, "anthropic", ANTHROPIC_KEY, env={})
    assert delete_key(paths, "openai")
    assert not delete_key(paths, "openai")
    assert read_key_file(paths) == {"anthropic": ANTHROPIC_KEY}
    assert key_status("openai", {}, paths).origin == "none"


def test_statuses_and_masking(paths: StoaPaths) -> None:
    save_key(paths, "openai", OPENAI_KEY, env={})
    statuses = {s.provider: s for s in all_key_statuses({}, paths)}
    assert statuses["openai"].masked == "sk-pro…1234"
    assert OPENAI_KEY not in (statuses["openai"].masked or "")
    assert statuses["anthropic"].origin == "none" and not statuses["anthropic"].present
    assert statuses["ollama"].origin == "not needed" and statuses["ollama"].present
    assert mask_key("short") == "•••••"
    assert has_any_cloud_key({}, paths)
    assert not has_any_cloud_key({}, StoaPaths.from_env({"STOA_HOME": str(paths.home / "empty")}))


def test_rejected_key_message_names_key_and_source(paths: StoaPaths) -> None:
    save_key(paths, "openai", OPENAI_KEY, env={})
    saved = rejected_key_message("openai", {}, paths)
    assert "sk-pro…1234" in saved and str(paths.keys_file) in saved and "paste a new key" in saved
    env = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY}
    from_env = rejected_key_message("anthropic", env, paths)
    assert "environment variable ANTHROPIC_API_KEY" in from_env and "unset ANTHROPIC_API_KEY" in from_env
    assert ANTHROPIC_KEY not in from_env


NEEDS_A_KEY = [p for p in ALL_PROVIDERS if p not in KEYLESS_PROVIDERS]


@pytest.mark.parametrize("provider", NEEDS_A_KEY)
async def test_a_missing_key_reads_the_same_everywhere(provider: str) -> None:
    """One owner for "which variable holds this key" and for the no-key message: start-up, the
    provider factory and the providers' own requests and model lists all say the same."""
    from stoa.core.providers.anthropic import AnthropicProvider
    from stoa.core.providers.base import ProviderError
    from stoa.core.providers.factory import create_provider
    from stoa.core.providers.openai_responses import OpenAIResponsesProvider
    from stoa.core.runtime import MissingKeyError

    expected = no_key_message(provider)
    variable = key_variable(provider)
    assert expected == f"no API key for {provider}: set {variable} (e.g. export {variable}=...)"
    assert str(MissingKeyError(provider)) == f"{expected} {ADD_KEY_HINT}"
    with pytest.raises(ProviderError) as made:
        create_provider(provider, None, "http://127.0.0.1:9/v1")
    assert (made.value.kind, made.value.message, made.value.hint) == ("auth", expected, ADD_KEY_HINT)
    if provider == "anthropic":
        client: AnthropicProvider | OpenAIResponsesProvider = AnthropicProvider(None)
    elif provider == "openai":
        client = OpenAIResponsesProvider(None)
    else:
        return
    with pytest.raises(ProviderError) as listed:
        await client.list_models()
    assert (listed.value.message, listed.value.hint) == (expected, ADD_KEY_HINT)


def test_key_variables() -> None:
    assert key_variable("anthropic") == "ANTHROPIC_API_KEY"
    assert key_variable("openai-compatible") == "OPENAI_COMPATIBLE_API_KEY"
    assert key_variable("some-new-provider") == "SOME_NEW_PROVIDER_API_KEY"
    assert invalid_key_hint("openrouter") == f"set a valid key in OPENROUTER_API_KEY {ADD_KEY_HINT}"
