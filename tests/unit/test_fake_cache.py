"""The fake server's prompt-cache simulation (tests/fake_server/caching.py) follows the
providers' rules: nothing is read without a breakpoint, a prefix under the minimum is never
written, a shared prefix is read up to the breakpoint it reaches, a cache is per model."""

from __future__ import annotations

from typing import Any

from tests.fake_server.caching import MIN_CACHEABLE, PromptCache

SYSTEM = "You are a coding agent. " * 400  # ~2,400 tokens


def body(messages: list[dict[str, Any]], *, marked: bool = True, model: str = "claude-sonnet-4-6") -> dict[str, Any]:
    system: dict[str, Any] = {"type": "text", "text": SYSTEM}
    if marked:
        system["cache_control"] = {"type": "ephemeral"}
    return {"model": model, "system": [system], "messages": messages}


def user(text: str, marked: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if marked:
        block["cache_control"] = {"type": "ephemeral"}
    return {"role": "user", "content": [block]}


def test_anthropic_breakpoints() -> None:
    cache = PromptCache()
    first = cache.usage("anthropic", body([user("hi", marked=True)]), 3_000)
    assert first["cache_read_tokens"] == 0 and first["cache_write_tokens"] > MIN_CACHEABLE
    again = body([user("hi"), {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}, user("more", marked=True)])
    second = cache.usage("anthropic", again, 3_100)
    # The system prompt's breakpoint was written by the first request: read now.
    assert second["cache_read_tokens"] >= len(SYSTEM) // 4
    assert sum(second.values()) == 3_100
    other_model = cache.usage("anthropic", body([user("hi", marked=True)], model="claude-opus-4-7"), 3_000)
    assert other_model["cache_read_tokens"] == 0


def test_no_breakpoint_no_cache_and_small_prefixes_are_not_written() -> None:
    cache = PromptCache()
    for _ in range(2):
        assert cache.usage("anthropic", body([user("hi")], marked=False), 3_000)["cache_read_tokens"] == 0
    small = {"model": "m", "system": [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}], "messages": [user("x")]}
    cache.usage("anthropic", small, 10)
    assert cache.usage("anthropic", small, 10) == {"input_tokens": 10, "cache_read_tokens": 0, "cache_write_tokens": 0}


def test_openai_prefixes_per_cache_key() -> None:
    cache = PromptCache()
    request = {"instructions": SYSTEM, "input": [{"role": "user", "content": "hi"}], "prompt_cache_key": "a"}
    assert cache.usage("responses", request, 2_500)["cache_read_tokens"] == 0
    assert cache.usage("responses", request, 2_500)["cache_read_tokens"] >= MIN_CACHEABLE
    assert cache.usage("responses", {**request, "prompt_cache_key": "b"}, 2_500)["cache_read_tokens"] == 0
