"""Prompt caching stays effective (issue 15, item 6): on the fake server's cache simulation,
a scripted session reads most of its input from the cache from turn 2 on, on Anthropic's wire
and OpenAI's, and a compaction costs one cache write of the messages, not of the system prompt
and tool schemas (their breakpoints do not move). The full 20-turn figures: tests/bench/bench_cache.py."""

from __future__ import annotations

import pytest

from tests.bench.bench_cache import session


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gpt-5.5"])
async def test_most_input_is_read_from_the_cache(model: str) -> None:
    assert await session(model, 10) >= 0.8


async def test_a_compaction_keeps_the_cache_of_the_system_prompt_and_tools() -> None:
    assert await session("claude-sonnet-4-6", 10, compact_at=5) >= 0.8
