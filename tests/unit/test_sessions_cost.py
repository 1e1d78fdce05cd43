"""Cost accounting: per-model ledger, tiered prices, summaries and the quit line."""

from __future__ import annotations

import json

import pytest

from stoa.core.cost import (
    UsageLedger,
    format_cost,
    format_quit_summary,
    format_status_cost,
    format_tokens,
    request_cost,
    summarize,
)
from stoa.core.models import compatible_model, find_model
from stoa.core.providers.types import Usage

SONNET = find_model("claude-sonnet-4-6")
HAIKU = find_model("claude-haiku-4-5")
TIERED = find_model("gpt-5.4")  # dearer above 272k prompt tokens


def test_each_token_kind_has_its_own_price() -> None:
    assert SONNET is not None and SONNET.prices is not None
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_tokens=1_000_000, cache_write_tokens=1_000_000)
    p = SONNET.prices
    assert SONNET.tier is None  # one price across the whole window
    assert request_cost(SONNET, usage) == pytest.approx(p.input + p.output + p.cache_read + p.cache_write)
    assert TIERED is not None and TIERED.tier is not None
    # 3M prompt tokens exceed the 272k tier threshold: the whole request is at tier prices.
    t = TIERED.tier.prices
    assert request_cost(TIERED, usage) == pytest.approx(t.input + t.output + t.cache_read + t.cache_write)
    small = Usage(input_tokens=1000, output_tokens=100, cache_read_tokens=10_000, cache_write_tokens=2000)
    expected = (1000 * p.input + 100 * p.output + 10_000 * p.cache_read + 2000 * p.cache_write) / 1e6
    assert request_cost(SONNET, small) == pytest.approx(expected)
    assert p.cache_read < p.input < p.cache_write  # discounted reads, premium writes


def test_tier_applies_per_request_not_per_session() -> None:
    assert TIERED is not None and TIERED.tier is not None and TIERED.prices is not None
    ledger = UsageLedger()
    below = Usage(input_tokens=150_000, output_tokens=1000)
    ledger.add(TIERED.id, below, TIERED)
    ledger.add(TIERED.id, below, TIERED)
    assert ledger.peak_prompt_tokens == 150_000
    assert ledger.cost_usd == pytest.approx(2 * request_cost(TIERED, below))
    assert request_cost(TIERED, below) == pytest.approx((150_000 * TIERED.prices.input + 1000 * TIERED.prices.output) / 1e6)
    above = Usage(input_tokens=300_000, output_tokens=1000)
    ledger.add(TIERED.id, above, TIERED)
    assert ledger.peak_prompt_tokens == 300_000
    t = TIERED.tier.prices
    assert request_cost(TIERED, above) == pytest.approx((300_000 * t.input + 1000 * t.output) / 1e6)


def test_ledger_survives_a_json_round_trip() -> None:
    ledger = UsageLedger()
    ledger.add(SONNET.id, Usage(input_tokens=10, output_tokens=5, cache_read_tokens=90), SONNET)  # type: ignore[union-attr]
    ledger.add(HAIKU.id, Usage(input_tokens=7, output_tokens=2), HAIKU)  # type: ignore[union-attr]
    again = UsageLedger.from_dict(json.loads(json.dumps(ledger.to_dict())))
    assert again.to_dict() == ledger.to_dict()
    assert again.cost_usd == pytest.approx(ledger.cost_usd)


def test_summary_figures_and_json() -> None:
    ledger = UsageLedger()
    ledger.add(SONNET.id, Usage(input_tokens=100, output_tokens=50, cache_read_tokens=300, reasoning_tokens=20), SONNET)  # type: ignore[union-attr]
    local = compatible_model("qwen3:8b", "ollama")
    ledger.add(local.id, Usage(input_tokens=100, output_tokens=10), local)
    summary = summarize(ledger)
    assert summary.requests == 2
    assert summary.total_tokens == 100 + 300 + 100 + 50 + 10
    assert summary.cache_hit_rate == pytest.approx(300 / 500)
    assert summary.unpriced_models == ("qwen3:8b",)
    data = summary.to_dict()
    json.dumps(data)
    assert data["cache_read_tokens"] == 300 and data["reasoning_tokens"] == 20
    assert data["by_model"]["qwen3:8b"]["cost_usd"] == 0
    assert data["cost_usd"] == pytest.approx(ledger.cost_usd, abs=1e-6)


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0"), (950, "950"), (1_000, "1.0k"), (12_345, "12.3k"), (123_456, "123k"), (1_250_000, "1.25M"), (25_000_000, "25.0M")],
)
def test_format_tokens(count: int, text: str) -> None:
    assert format_tokens(count) == text


@pytest.mark.parametrize(("usd", "text"), [(0, "$0.00"), (0.00042, "$0.0004"), (0.0123, "$0.01"), (1.5, "$1.50"), (1234.5, "$1,234")])
def test_format_cost(usd: float, text: str) -> None:
    assert format_cost(usd) == text


def test_quit_summary_lines() -> None:
    ledger = UsageLedger()
    assert format_quit_summary(ledger) == "No model requests were made."
    ledger.add(SONNET.id, Usage(input_tokens=2_000, output_tokens=4_200, cache_read_tokens=98_000), SONNET)  # type: ignore[union-attr]
    text = format_quit_summary(ledger, session_id="3f2a9c1e-7b4d-4c1a-9e8f-0a1b2c3d4e5f", title="Fix parser")
    lines = text.splitlines()
    assert lines[0] == "Session 3f2a9c1e “Fix parser” is saved; resume it with: stoa -r 3f2a9c1e"
    assert "100k input (98.0k from cache, 98% cache hit rate)" in lines[1]
    assert "4.2k output" in lines[1]
    assert format_cost(ledger.cost_usd) in lines[1]
    assert len(lines) == 2
    ledger.add(HAIKU.id, Usage(input_tokens=10, output_tokens=1), HAIKU)  # type: ignore[union-attr]
    lines = format_quit_summary(ledger).splitlines()
    assert lines[0].startswith("Usage: 2 requests")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [SONNET.id, HAIKU.id]  # type: ignore[union-attr]


def test_status_cost() -> None:
    ledger = UsageLedger()
    assert format_status_cost(ledger) == "$0.00"
    ledger.add(SONNET.id, Usage(input_tokens=100_000, output_tokens=28_000), SONNET)  # type: ignore[union-attr]
    assert format_status_cost(ledger) == f"{format_cost(ledger.cost_usd)} · 128k tok"
