"""Server compaction's pieces: the neutral block on each wire and through JSON, what a request
carries after one (``in_context``), the capabilities from the live list and the configuration,
and the fake server's refusals of what the real APIs refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stoa.core.agent.compaction import SUMMARY_HEADER, is_summary
from stoa.core.agent.server_compaction import in_context
from stoa.core.catalog import apply_override, live_rules, parse_overrides
from stoa.core.config import load_config
from stoa.core.models import resolve_model
from stoa.core.providers import anthropic, openai_responses
from stoa.core.providers.types import CompactionBlock, Message, TextBlock, user_text
from tests.fake_server import compaction as fake
from tests.fake_server.rules import ModelSpec

ANTHROPIC = CompactionBlock(
    origin="anthropic", content="S: FACT one", encrypted_content=fake.seal("anthropic", "S: FACT one"),
    signature=fake.anthropic_block("S: FACT one")["signature"],
)
OPENAI = CompactionBlock(origin="openai", encrypted_content=fake.seal("openai", "S: FACT two"), item_id="cmp_1")


def assistant(*blocks: Any, provider: str = "anthropic") -> Message:
    return Message(role="assistant", content=list(blocks), provider=provider)


def history(block: CompactionBlock) -> list[Message]:
    return [
        user_text("first"),
        assistant(TextBlock(text="one")),
        assistant(block, TextBlock(text="after the compaction"), provider=block.origin),
        user_text("next"),
    ]


def test_the_block_round_trips_through_json_exactly() -> None:
    for block in (ANTHROPIC, OPENAI, ANTHROPIC.model_copy(update={"tool_changes": [{"type": "tool_removal", "tool": {"type": "tool_reference", "name": "x"}}]})):
        message = assistant(block)
        assert Message.model_validate_json(message.model_dump_json()) == message


def test_anthropic_sends_its_own_block_unchanged_first_and_never_another_providers() -> None:
    wire = anthropic.to_wire_messages(in_context(history(ANTHROPIC), "anthropic"))
    # The block opens the conversation: no placeholder user message before it.
    assert wire[0]["role"] == "assistant"
    assert wire[0]["content"][0] == {
        "type": "compaction", "content": ANTHROPIC.content,
        "encrypted_content": ANTHROPIC.encrypted_content, "signature": ANTHROPIC.signature,
    }
    assert anthropic.block_to_wire(OPENAI) is None
    assert "'type': 'compaction'" not in str(anthropic.to_wire_messages(history(OPENAI)))


def test_responses_sends_its_own_item_and_never_another_providers() -> None:
    items = openai_responses.to_input_items(in_context(history(OPENAI), "openai"))
    assert items[0] == {"type": "compaction", "encrypted_content": OPENAI.encrypted_content}
    assert [i.get("type") for i in openai_responses.to_input_items(history(ANTHROPIC))].count("compaction") == 0


def test_a_request_carries_the_history_from_the_latest_block_it_can_take() -> None:
    own = in_context(history(ANTHROPIC), "anthropic")
    assert own[0].content[0] == ANTHROPIC and len(own) == 2
    # A readable block crosses as Stoa's summary message, with what followed it.
    crossed = in_context(history(ANTHROPIC), "openai")
    assert is_summary(crossed[0]) and crossed[0].content[0].text == f"{SUMMARY_HEADER}\n\n{ANTHROPIC.content}"  # type: ignore[union-attr]
    assert crossed[1].text == "after the compaction" and crossed[2].text == "next"
    # A model that takes no blocks gets the summary too.
    assert is_summary(in_context(history(ANTHROPIC), "anthropic", native=False)[0])
    # An opaque block of another provider cannot cross: the whole history goes.
    assert in_context(history(OPENAI), "anthropic") == history(OPENAI)
    assert in_context(history(OPENAI), "openai")[0].content[0] == OPENAI


def test_the_live_lists_capabilities_and_the_configuration_say_where_it_runs(tmp_path: Path) -> None:
    spec = ModelSpec(id="claude-x", provider="anthropic", compaction=("summarize", "compact_20260112"))
    assert live_rules(spec.anthropic_info())["server_compaction"] == ("summarize", "compact_20260112")
    assert live_rules(ModelSpec(id="claude-y", provider="anthropic").anthropic_info())["server_compaction"] == ()
    assert resolve_model("gpt-5.5").server_compaction == ("compaction",)
    (tmp_path / ".stoa").mkdir()
    (tmp_path / ".stoa" / "config.toml").write_text('[models."gpt-5.5"]\nserver-compaction = false\n')
    override = parse_overrides(load_config(tmp_path, env={"HOME": str(tmp_path)}))["gpt-5.5"]
    assert apply_override(resolve_model("gpt-5.5"), override).server_compaction == ()


# ---- the fake server refuses what the APIs refuse ------------------------------------------------

CAPS = ("summarize", "compact_20260112")
BETA = {"anthropic-beta": fake.ON_DEMAND_BETA}


def anthropic_body(block: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 10, "messages": [
        {"role": "assistant", "content": [block]}, {"role": "user", "content": "hi"}], **extra}


@pytest.mark.parametrize(
    ("body", "headers", "caps", "words"),
    [
        (anthropic_body(fake.anthropic_block("S")), {}, CAPS, "beta header"),
        (anthropic_body(fake.anthropic_block("S")), BETA, (), "does not support"),
        (anthropic_body({**fake.anthropic_block("S"), "content": "S edited"}), BETA, CAPS, "compaction_content_mismatch"),
        (anthropic_body({**fake.anthropic_block("S"), "encrypted_content": fake.seal("anthropic", "T")}), BETA, CAPS,
         "signature"),
        (anthropic_body({**fake.anthropic_block("S"), "encrypted_content": "fakecmp.garbage.0"}), BETA, CAPS, "signature"),
        (anthropic_body({"type": "compaction", "content": "S", "encrypted_content": fake.seal("openai", "S"),
                         "signature": fake.anthropic_block("S")["signature"]}), BETA, CAPS, "not a compaction this API made"),
        (anthropic_body({**fake.anthropic_block("S"), "id": "cmp_1"}), BETA, CAPS, "Extra inputs"),
        ({"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
          "compaction": {"type": "summarize"}}, {}, CAPS, "compact-2026-09-04"),
        ({"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
          "context_management": {"edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 20_000}}]}},
         {"anthropic-beta": fake.THRESHOLD_BETA}, CAPS, "at least 50000"),
        ({"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
          "context_management": {"edits": [{"type": "compact_20260112"}]}}, {}, CAPS, "compact-2026-01-12"),
    ],
)
def test_the_fake_refuses_anthropic_compaction_the_api_refuses(
    body: dict[str, Any], headers: dict[str, str], caps: tuple[str, ...], words: str
) -> None:
    with pytest.raises(fake.CompactionRefused, match=words):
        fake.check_anthropic(caps, body, headers)
    fake.check_anthropic(CAPS, anthropic_body(fake.anthropic_block("S")), BETA)  # the intact block passes


@pytest.mark.parametrize(
    ("item", "caps", "words"),
    [
        ({"type": "compaction", "encrypted_content": fake.seal("openai", "S")[:-1] + "x"}, ("compaction",), "decrypted"),
        ({"type": "compaction", "encrypted_content": fake.seal("anthropic", "S")}, ("compaction",), "decrypted"),
        ({"type": "compaction", "encrypted_content": fake.seal("openai", "S"), "content": "S"}, ("compaction",), "Unknown"),
    ],
)
def test_the_fake_refuses_responses_compaction_the_api_refuses(item: dict[str, Any], caps: tuple[str, ...], words: str) -> None:
    with pytest.raises(fake.CompactionRefused, match=words):
        fake.check_responses(caps, {"model": "gpt-x", "input": [item]})
    with pytest.raises(fake.CompactionRefused, match="context_management"):
        fake.check_responses((), {"model": "gpt-x", "input": [], "context_management": [{"type": "compaction"}]})
    fake.check_responses(("compaction",), {"model": "gpt-x", "input": [
        {"type": "compaction", "id": "cmp_1", "encrypted_content": fake.seal("openai", "S")}]})


def test_the_log_fold_says_the_server_compacted() -> None:
    from stoa.app.replay import compaction_record, records_from_history
    from stoa.core import events as ev

    event = ev.ContextCompacted(trigger="auto", tokens_before=182_000, tokens_after=9_000, context_window=200_000,
                                summary="S", archived=12, stages=1, on_server=True)
    assert compaction_record(event).line == "compacted on the server 182k -> 9.0k tokens"
    # A resumed session shows the server's compaction as a fold where it happened.
    records = records_from_history(history(OPENAI))
    folds = [r for r in records if type(r).__name__ == "CompactionRecord"]
    assert len(folds) == 1 and folds[0].summary == "(kept encrypted by the provider)"
