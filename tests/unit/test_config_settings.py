"""The top-level settings: plain values are taken without pydantic, everything else goes
through it (its conversions and its words), and both ways agree."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stoa.core.config import (
    DEFAULT_MAX_ITERATIONS,
    ConfigError,
    InvalidSettings,
    Settings,
    _validated,
    load_config,
    setting_keys,
    settings_from,
)

SAMPLES: dict[str, list[Any]] = {
    "model": ["sonnet", "", 5, None, ["a"]],
    "base-url": ["http://x", 1.5],
    "base_url": ["http://y"],
    "mode": ["plan", True],
    "max-tokens": [1, 64000, 0, -3, "5", "many", True, 2.0],
    "max_iterations": [7, "9", 0],
    "vim": [True, False, "yes", "maybe", 1, 2],
    "theme": ["nord"],
    "unrelated": ["ignored"],
}


def cases() -> list[dict[str, Any]]:
    keys = list(SAMPLES)
    out: list[dict[str, Any]] = [{}]
    for key in keys:
        out += [{key: value} for value in SAMPLES[key]]
    for a, b in itertools.combinations(keys, 2):
        out.append({a: SAMPLES[a][0], b: SAMPLES[b][-1]})
    return out


@pytest.mark.parametrize("merged", cases(), ids=repr)
def test_the_plain_way_agrees_with_pydantic(merged: dict[str, Any]) -> None:
    try:
        expected: Settings | str = _validated(merged)
    except InvalidSettings as exc:
        expected = str(exc)
    try:
        got: Settings | str = settings_from(merged)
    except InvalidSettings as exc:
        got = str(exc)
    assert got == expected


def test_conversions_and_refusals_are_pydantics() -> None:
    assert settings_from({"max-tokens": "5", "vim": "yes"}) == Settings(max_tokens=5, vim=True)
    with pytest.raises(InvalidSettings, match="max-tokens: Input should be greater than 0"):
        settings_from({"max-tokens": 0})
    assert settings_from({}).max_iterations == DEFAULT_MAX_ITERATIONS
    assert {"base-url", "base_url", "max-tokens", "vim"} <= setting_keys()


def test_a_bad_value_in_a_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ".stoa").mkdir()
    config_file = tmp_path / ".stoa" / "config.toml"
    config_file.write_text("max-iterations = -1\n")
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path, env={"HOME": str(tmp_path), "STOA_HOME": str(tmp_path / "home")})
    assert str(raised.value) == (
        f"invalid settings (max-iterations: Input should be greater than 0) in {config_file}"
    )


def test_plain_settings_load_without_pydantic(tmp_path: Path) -> None:
    (tmp_path / ".stoa").mkdir()
    (tmp_path / ".stoa" / "config.toml").write_text('model = "sonnet"\nmax-tokens = 4000\nvim = true\n')
    code = (
        "import sys; from pathlib import Path; from stoa.core.config import load_config; "
        f"c = load_config(Path({str(tmp_path)!r}), env={{'HOME': {str(tmp_path)!r}}}); "
        "print(c.settings.model, c.settings.max_tokens, c.settings.vim, 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["sonnet", "4000", "True", "False"]
