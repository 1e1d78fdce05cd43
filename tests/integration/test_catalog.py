"""The live model catalogue against the fake server's model lists: unknown-but-listed ids take
their rules from the list's capabilities, unlisted ids are refused with the available ones, an
unreachable list lets the id through with a warning, and the disk cache (with its time stamp,
STOA_HOME, corruption) behaves."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from stoa.core.catalog import REFRESH_AFTER_SECONDS, Catalog
from stoa.core.config import load_config
from stoa.core.cost import UsageLedger, format_usage_line, summarize
from stoa.core.models import UnknownModelError, UnsupportedEffortError, effort_wire_options, validate_effort
from stoa.core.providers.types import Usage
from tests.fake_server import FakeServer, ModelSpec

# Models that exist nowhere but in these tests' lists.
ZEPHYR = ModelSpec(
    id="claude-zephyr-7",
    provider="anthropic",
    context_window=300_000,
    max_output=24_000,
    thinking_types=("adaptive",),  # cannot be turned off
    efforts=("low", "high"),
    display_name="Claude Zephyr 7",
)
# Adaptive thinking but no effort parameter: "high" turns thinking on, no output_config is sent.
MISTRAL = ModelSpec(
    id="claude-mistral-1",
    provider="anthropic",
    context_window=100_000,
    max_output=16_000,
    thinking_types=("adaptive", "disabled"),
    efforts=(),
)
BREEZE = ModelSpec(
    id="claude-breeze-2",
    provider="anthropic",
    context_window=150_000,
    max_output=8_000,
    thinking_types=("enabled", "disabled"),  # manual budgets only
    efforts=(),
)


def catalog_for(server: FakeServer, tmp_path: Path, *, key: str | None = "test-key", clock: list[float] | None = None) -> Catalog:
    now = clock if clock is not None else [1_000_000.0]
    return Catalog(
        cache_path=tmp_path / "cache" / "models.json",
        base_url_for=lambda p: server.base_url if p == "anthropic" else server.openai_base_url,
        api_key_for=lambda p: key,
        clock=lambda: now[0],
    )


def list_requests(server: FakeServer) -> list[str]:
    return [f"{r.path}?{r.query}" for r in server.requests if r.method == "GET" and r.path.startswith("/v1/models")]


def test_a_listed_unknown_model_takes_its_rules_from_the_capabilities(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.models = [*fake_server.models, ZEPHYR, BREEZE]
    catalog = catalog_for(fake_server, tmp_path)
    catalog.refresh_sync(["anthropic"], force=True)
    zephyr = catalog.resolve("claude-zephyr-7")
    assert (zephyr.context_window, zephyr.max_output, zephyr.label) == (300_000, 24_000, "Claude Zephyr 7")
    # Exactly the listed levels; no "off", because thinking cannot be disabled.
    assert zephyr.efforts == ("low", "high") and zephyr.prices is None
    with pytest.raises(UnsupportedEffortError, match=r"cannot be turned off.*low, high"):
        validate_effort(zephyr, "off")
    wire, max_tokens = effort_wire_options(zephyr, "high", 200_000)
    assert wire["thinking"]["type"] == "adaptive" and wire["output_config"] == {"effort": "high"}
    assert max_tokens == 24_000
    fake_server.models = [*fake_server.models, MISTRAL]
    catalog.refresh_sync(["anthropic"], force=True)
    mistral = catalog.resolve("claude-mistral-1")
    assert mistral.efforts == ("off", "high")
    assert effort_wire_options(mistral, "high", 4_000)[0] == {"thinking": {"type": "adaptive", "display": "summarized"}}
    breeze = catalog.resolve("claude-breeze-2")
    assert breeze.thinking == "budget" and breeze.efforts[0] == "off"
    wire, max_tokens = effort_wire_options(breeze, "medium", 4_000)
    assert wire["thinking"]["type"] == "enabled" and wire["thinking"]["budget_tokens"] < max_tokens <= 8_000
    # Cost: price unknown, never a made-up number.
    ledger = UsageLedger()
    assert ledger.add(zephyr.id, Usage(input_tokens=1000, output_tokens=10), zephyr) == 0.0
    assert "price unknown for claude-zephyr-7" in format_usage_line(summarize(ledger))


def test_table_models_take_live_limits_and_keep_prices(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.models = [ModelSpec(id="claude-sonnet-5-5", provider="anthropic", context_window=500_000,
                                    max_output=50_000, thinking_types=("adaptive", "between_tools"),
                                    efforts=("low", "medium", "high"))]
    catalog = catalog_for(fake_server, tmp_path)
    catalog.refresh_sync(["anthropic"], force=True)
    sonnet = catalog.resolve("sonnet")
    assert sonnet.id == "claude-sonnet-5-5" and sonnet.context_window == 500_000 and sonnet.max_output == 50_000
    assert sonnet.efforts == ("off", "low", "medium", "high") and sonnet.default_effort == "high"
    assert sonnet.prices is not None and sonnet.prices.input == 2.0


def test_an_unlisted_id_is_refused_with_the_available_list(fake_server: FakeServer, tmp_path: Path) -> None:
    catalog = catalog_for(fake_server, tmp_path)
    with pytest.raises(UnknownModelError) as info:
        catalog.resolve("claude-nonesuch-1")
    message = str(info.value)
    assert "claude-nonesuch-1" in message and "claude-sonnet-5-5" in message and "Available" in message
    # A table model the key cannot use (not in its list) is refused too.
    fake_server.models = ["claude-haiku-5-5"]
    fresh = catalog_for(fake_server, tmp_path / "other")
    fresh.refresh_sync(["anthropic"], force=True)
    with pytest.raises(UnknownModelError, match="Available: claude-haiku-5-5"):
        fresh.resolve("opus")


def test_an_unknown_id_is_looked_up_once_without_a_list(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.models = [*fake_server.models, ZEPHYR]
    catalog = catalog_for(fake_server, tmp_path)
    model = catalog.resolve("claude-zephyr-7")
    assert model.efforts == ("low", "high")
    assert catalog.resolve("claude-zephyr-7").efforts == ("low", "high")  # remembered
    assert catalog.find("claude-zephyr-7") is not None
    assert list_requests(fake_server) == ["/v1/models/claude-zephyr-7?"]


def test_an_unreachable_list_accepts_the_id_with_a_warning(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    catalog = Catalog(
        cache_path=tmp_path / "models.json",
        base_url_for=lambda p: f"http://127.0.0.1:{port}",
        api_key_for=lambda p: "k",
        timeout=2.0,
    )
    model = catalog.resolve("claude-tomorrow-1")
    assert model.id == "claude-tomorrow-1" and model.source == "unverified" and model.prices is None
    assert "could not check 'claude-tomorrow-1'" in catalog.warnings[0]
    # No thinking or effort fields are sent to a model nobody could describe.
    assert effort_wire_options(model, model.default_effort, 100_000) == ({}, 32_000)


def test_pagination_follows_last_id(fake_server: FakeServer, tmp_path: Path) -> None:
    extra = [ModelSpec(id=f"claude-made-up-{i}", provider="anthropic") for i in range(7)]
    fake_server.models = extra
    fake_server.max_page = 3
    catalog = catalog_for(fake_server, tmp_path)
    catalog.refresh_sync(["anthropic"], force=True)
    assert catalog.listed("anthropic") == [m.id for m in extra]
    assert len(list_requests(fake_server)) == 3
    assert "after_id=claude-made-up-2" in list_requests(fake_server)[1]


def test_the_cache_serves_a_day_then_refreshes(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.models = [*fake_server.models, ZEPHYR]
    clock = [1_000_000.0]
    catalog_for(fake_server, tmp_path, clock=clock).refresh_sync(["anthropic"])
    cached = json.loads((tmp_path / "cache" / "models.json").read_text())
    assert cached["lists"][0]["fetched_at"] == 1_000_000.0
    assert len(list_requests(fake_server)) == 1
    # A new process the same day: the cache answers, nothing is fetched.
    second = catalog_for(fake_server, tmp_path, clock=clock)
    assert second.resolve("claude-zephyr-7").efforts == ("low", "high")
    assert second.refresh_sync(["anthropic"]) == {} and len(list_requests(fake_server)) == 1
    # A day later it is stale and refetched.
    clock[0] += REFRESH_AFTER_SECONDS + 1
    third = catalog_for(fake_server, tmp_path, clock=clock)
    assert third.stale("anthropic")
    third.refresh_sync(["anthropic"])
    assert len(list_requests(fake_server)) == 2 and not third.stale("anthropic")


@pytest.mark.parametrize("garbage", ["{not json", '{"version": 1, "lists": [{"provider": 3}]}', "[]", ""])
def test_a_corrupt_cache_is_ignored_and_refetched(garbage: str, fake_server: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "cache" / "models.json"
    path.parent.mkdir(parents=True)
    path.write_text(garbage)
    catalog = catalog_for(fake_server, tmp_path)
    assert catalog.listed("anthropic") is None and catalog.stale("anthropic")
    catalog.refresh_sync(["anthropic"])
    assert "claude-sonnet-5-5" in (catalog.listed("anthropic") or [])
    assert json.loads(path.read_text())["version"] == 1


def test_stoa_home_moves_the_cache(tmp_path: Path) -> None:
    config = load_config(tmp_path, env={"STOA_HOME": str(tmp_path / "sh"), "HOME": str(tmp_path)})
    assert config.paths.model_cache == tmp_path / "sh" / "cache" / "models.json"
    config = load_config(tmp_path, env={"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xc")})
    assert config.paths.model_cache == tmp_path / "xc" / "stoa" / "models.json"


def test_openai_ids_inherit_their_familys_rules(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.models = ["gpt-6.2-sol", "gpt-6.2-sol-2026-12-01", "gpt-6.2-astra-law", "gpt-weird-9", "gpt-7-nova",
                          "o7-mini"]
    catalog = catalog_for(fake_server, tmp_path)
    catalog.refresh_sync(["openai"], force=True)
    snapshot = catalog.resolve("gpt-6.2-sol-2026-12-01")
    assert snapshot.reasoning_floor == "low" and snapshot.prices is not None  # a dated snapshot: same price
    law = catalog.resolve("gpt-6.2-astra-law")
    assert law.efforts[-1] == "max" and law.prices is None  # same family, its own (unknown) price
    # A new GPT generation or o-series model: the efforts every reasoning model takes.
    for name in ("gpt-7-nova", "o7-mini"):
        nova = catalog.resolve(name)
        assert nova.efforts == ("off", "low", "medium", "high") and nova.prices is None
        assert effort_wire_options(nova, "high", 1_000)[0] == {"reasoning": {"effort": "high", "summary": "auto"}}
        assert effort_wire_options(nova, "off", 1_000)[0] == {}
    weird = catalog.resolve("gpt-weird-9")
    # Nothing known: "off" sends no reasoning field at all.
    assert effort_wire_options(weird, "off", 1_000) == ({}, 1_000)
    with pytest.raises(UnknownModelError, match=r"gpt-6\.2-sol-2026-12-01"):
        catalog.resolve("gpt-7-nope")


def test_config_tables_describe_models_the_table_does_not_know(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.models = [*fake_server.models, ZEPHYR]
    project = tmp_path / "p"
    (project / ".stoa").mkdir(parents=True)
    (project / ".stoa" / "config.toml").write_text(
        '[models."claude-zephyr-7"]\nmax-output = 16000\n'
        "prices = { input = 1.5, output = 7.5, cache-read = 0.15 }\n"
        '[models."qwen3:8b"]\ncontext-window = 64000\n'
    )
    config = load_config(project, env={"HOME": str(tmp_path), "STOA_HOME": str(tmp_path / "sh"),
                                       "ANTHROPIC_API_KEY": "test-key",
                                       "ANTHROPIC_BASE_URL": fake_server.base_url})
    catalog = Catalog.from_config(config)
    zephyr = catalog.resolve("claude-zephyr-7")
    assert zephyr.max_output == 16_000 and zephyr.efforts == ("low", "high")
    assert zephyr.prices is not None and zephyr.prices.input == 1.5 and zephyr.price_source == "configuration"
    ledger = UsageLedger()
    assert ledger.add(zephyr.id, Usage(input_tokens=1_000_000), zephyr) == pytest.approx(1.5)
    assert catalog.resolve("qwen3:8b", "ollama").context_window == 64_000


def test_a_bad_config_table_names_the_problem(tmp_path: Path) -> None:
    from stoa.core.catalog import CatalogError

    (tmp_path / ".stoa").mkdir()
    (tmp_path / ".stoa" / "config.toml").write_text('[models."x"]\nefforts = ["turbo"]\n')
    config = load_config(tmp_path, env={"HOME": str(tmp_path), "STOA_HOME": str(tmp_path / "sh")})
    with pytest.raises(CatalogError, match=r'\[models."x"\]: unknown effort .turbo.'):
        Catalog.from_config(config)


def test_the_lists_are_asked_for_with_the_providers_own_headers(
    fake_server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One owner for what a provider's requests carry (core/providers/http.py): the catalogue's
    list requests send the API version, key, user agent and custom headers that the provider's
    model requests send (it sent an older anthropic-version and no custom headers)."""
    from stoa.core.providers.http import anthropic_headers, openai_headers

    monkeypatch.setenv("ANTHROPIC_CUSTOM_HEADERS", "X-Team: blue")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_7")
    catalog = catalog_for(fake_server, tmp_path)
    catalog.refresh_sync(["anthropic", "openai"], force=True)
    lists = [r for r in fake_server.requests if r.method == "GET" and r.path.startswith("/v1/models")]
    anthropic = next(r for r in lists if r.header("anthropic-version"))
    openai = next(r for r in lists if not r.header("anthropic-version"))
    for request, expected in ((anthropic, anthropic_headers("test-key")), (openai, openai_headers("test-key"))):
        for name, value in expected.items():
            assert request.header(name) == value, name
    assert anthropic.header("x-team") == "blue" and openai.header("openai-project") == "proj_7"


def test_the_listed_models_are_kept_until_a_list_changes(fake_server: FakeServer, tmp_path: Path) -> None:
    """models() is kept between calls (the picker asks on every open) and made again when a
    refresh brings a new list; the cache file holds the lists only."""
    catalog = catalog_for(fake_server, tmp_path)
    catalog.refresh_sync(["anthropic"])
    first = catalog.models(["anthropic"])
    assert "claude-zephyr-7" not in {m.id for m in first}
    first.clear()  # a caller's copy: changing it changes nothing kept
    assert catalog.models(["anthropic"]) == catalog.models(["anthropic"]) != []
    fake_server.models = [*fake_server.models, ZEPHYR]
    catalog.refresh_sync(["anthropic"], force=True)
    zephyr = next(m for m in catalog.models(["anthropic"]) if m.id == "claude-zephyr-7")
    assert zephyr.context_window == 300_000
    assert catalog.models(["openai"]) != catalog.models(["anthropic"])
    saved = json.loads((tmp_path / "cache" / "models.json").read_text())
    assert set(saved["lists"][0]) == {"provider", "base_url", "fetched_at", "models"}
