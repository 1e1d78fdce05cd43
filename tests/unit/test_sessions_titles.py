"""Title helpers: cleaning a model's answer, the cheapest sibling, the request sent."""

from __future__ import annotations

import pytest

from stoa.core.models import compatible_model, find_model
from stoa.core.sessions.titles import cheapest_sibling, clean_title, fallback_title, title_request


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("Fix the parser bug", "Fix the parser bug"),
        ('"Fix the parser bug."', "Fix the parser bug"),
        ("Title: Add dark mode\n\nBecause the user asked.", "Add dark mode"),
        ("**Refactor session store**", "Refactor session store"),
        ("   \n  `Speed up tests`  ", "Speed up tests"),
        ("", None),
        ("  \"\"  ", None),
    ],
)
def test_clean_title(raw: str, title: str | None) -> None:
    assert clean_title(raw) == title


def test_long_titles_are_cut() -> None:
    title = clean_title("word " * 40)
    assert title is not None and len(title) <= 60 and title.endswith("…")


def test_fallback_is_the_first_non_empty_line() -> None:
    assert fallback_title("\n\n  explain   this repo \nplease") == "explain this repo"


def test_cheapest_sibling_stays_with_the_provider() -> None:
    # The cheapest current (not legacy) model of the same provider.
    assert cheapest_sibling(find_model("claude-opus-4-7")).id == "claude-haiku-5-5"  # type: ignore[arg-type,union-attr]
    assert cheapest_sibling(find_model("gpt-5.5")).id == "gpt-6-luna"  # type: ignore[arg-type,union-attr]
    assert cheapest_sibling(compatible_model("qwen3:8b", "ollama")) is None


def test_title_request_is_small_and_without_tools() -> None:
    haiku = find_model("claude-haiku-4-5")
    assert haiku is not None
    request = title_request(haiku, "p" * 10_000, "r" * 10_000)
    assert request.tools == [] and request.model == haiku.id
    assert request.effort == "off" and request.wire_options == {"thinking": {"type": "disabled"}}
    assert len(request.messages[0].text) < 3_000
