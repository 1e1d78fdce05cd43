"""A title from the cheapest sibling model, through the real providers against the fake server."""

from __future__ import annotations

from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.cost import UsageLedger
from stoa.core.models import find_model
from stoa.core.providers.factory import ProviderPool
from stoa.core.sessions.titles import generate_title, make_titler
from tests.fake_server import FakeServer, fault, reply


def pool_for(server: FakeServer, tmp_path: Path) -> ProviderPool:
    env = {
        "STOA_HOME": str(tmp_path / "home"),
        "HOME": str(tmp_path),
        "ANTHROPIC_API_KEY": "test-key",
        "OPENAI_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
        "OPENAI_BASE_URL": server.openai_base_url,
    }
    return ProviderPool(load_config(tmp_path, env=env))


@pytest.mark.parametrize(("model_id", "cheap_id", "fmt"), [("opus", "claude-haiku-5-5", "anthropic"), ("gpt-5.5", "gpt-6-luna", "responses")])
async def test_the_title_call_goes_to_the_cheapest_sibling_and_is_charged(
    fake_server: FakeServer, tmp_path: Path, model_id: str, cheap_id: str, fmt: str
) -> None:
    fake_server.script(reply(text='"Speed up the test suite."', usage={"input_tokens": 120, "output_tokens": 8}))
    ledger = UsageLedger()
    model = find_model(model_id)
    assert model is not None
    titler = make_titler(lambda: model, pool_for(fake_server, tmp_path), lambda p: True, lambda: ledger)
    title = await titler("make the tests faster please", "Sure, I will profile them.")
    assert title == "Speed up the test suite"
    request = fake_server.model_requests(fmt)[-1]
    assert request.model == cheap_id
    assert "make the tests faster please" in str(request.body)
    assert not request.body.get("tools")
    assert list(ledger.by_model) == [cheap_id]
    assert ledger.by_model[cheap_id].requests == 1 and ledger.cost_usd > 0


async def test_no_key_means_no_call(fake_server: FakeServer, tmp_path: Path) -> None:
    model = find_model("claude-sonnet-4-6")
    titler = make_titler(lambda: model, pool_for(fake_server, tmp_path), lambda p: False)  # type: ignore[arg-type,return-value]
    assert await titler("x", "y") is None
    assert fake_server.model_requests() == []


async def test_a_failing_title_call_gives_none(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.script(fault("bad_request"))
    haiku = find_model("claude-haiku-4-5")
    assert haiku is not None
    provider = pool_for(fake_server, tmp_path)(haiku)
    assert await generate_title(provider, haiku, "x", "y") == (None, None)


async def test_a_stalled_title_call_times_out(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.script(fault("stall", seconds=5))
    haiku = find_model("claude-haiku-4-5")
    assert haiku is not None
    provider = pool_for(fake_server, tmp_path)(haiku)
    assert await generate_title(provider, haiku, "x", "y", limit=0.5) == (None, None)
