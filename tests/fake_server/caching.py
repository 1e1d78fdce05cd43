"""Prompt caching as the providers do it, for ``FakeServer(cache=True)``.

Anthropic Messages: the prompt is the tools, then the system blocks, then the messages' content
blocks, in that order. A ``cache_control`` breakpoint makes the prefix that ends at its block
cacheable (written when the request is answered, if it holds at least ``MIN_CACHEABLE``
tokens); a later request reads from the cache the longest prefix it shares with a written
one, looked up at each of its breakpoints and up to 20 blocks before each (the documented
lookback). What follows the hit up to the last breakpoint is written; the rest is plain input.

OpenAI Responses: caching is automatic. The longest prefix (in 128-token steps, from 1,024
tokens) shared with an earlier request under the same ``prompt_cache_key`` is read from the
cache.

Token counts are the server's rough ones (4 characters a token of the request's JSON); the
usage a reply reports is split into cache reads, cache writes and plain input accordingly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

MIN_CACHEABLE = 1_024
LOOKBACK_BLOCKS = 20
OPENAI_STEP = 128


def _clean(block: Any) -> Any:
    if isinstance(block, dict):
        return {k: _clean(v) for k, v in block.items() if k != "cache_control"}
    if isinstance(block, list):
        return [_clean(b) for b in block]
    return block


def _anthropic_blocks(body: dict[str, Any]) -> list[tuple[Any, bool]]:
    """(block, has a breakpoint) for every block of the prompt, in cache order."""
    out: list[tuple[Any, bool]] = []
    for tool in body.get("tools") or []:
        out.append((_clean(tool), bool(tool.get("cache_control"))))
    system = body.get("system")
    if isinstance(system, str):
        out.append(({"system": system}, False))
    elif isinstance(system, list):
        for block in system:
            out.append((_clean(block), bool(isinstance(block, dict) and block.get("cache_control"))))
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            out.append(({"role": message.get("role"), "text": content}, False))
            continue
        for index, block in enumerate(content or []):
            marked = bool(isinstance(block, dict) and block.get("cache_control"))
            out.append(({"role": message.get("role"), "i": index, "block": _clean(block)}, marked))
    return out


@dataclass
class PromptCache:
    """What requests wrote to the cache (prefix digests), for one fake server."""

    anthropic: set[str] = field(default_factory=set)
    # prompt_cache_key -> the token-step prefixes seen (digest per step).
    openai: dict[str, set[str]] = field(default_factory=dict)

    def usage(self, fmt: str, body: dict[str, Any], prompt_tokens: int) -> dict[str, int]:
        """The input side of a reply's usage: input, cache reads, cache writes."""
        if fmt == "anthropic":
            read, write = self._anthropic(body)
        elif fmt == "responses":
            read, write = self._responses(body), 0
        else:
            read, write = 0, 0
        read = min(read, prompt_tokens)
        write = min(write, prompt_tokens - read)
        return {"input_tokens": prompt_tokens - read - write, "cache_read_tokens": read, "cache_write_tokens": write}

    def _anthropic(self, body: dict[str, Any]) -> tuple[int, int]:
        blocks = _anthropic_blocks(body)
        digest = hashlib.sha256(str(body.get("model")).encode())
        digests: list[str] = []
        sizes: list[int] = []
        size = 0
        for block, _ in blocks:
            text = json.dumps(block, sort_keys=True)
            digest.update(text.encode())
            digests.append(digest.copy().hexdigest())
            size += len(text)
            sizes.append(size // 4)
        breakpoints = [i for i, (_, marked) in enumerate(blocks) if marked]
        if not breakpoints:
            return 0, 0
        hit = -1
        for point in breakpoints:
            for position in range(point, max(-1, point - LOOKBACK_BLOCKS - 1), -1):
                if digests[position] in self.anthropic:
                    hit = max(hit, position)
                    break
        read = sizes[hit] if hit >= 0 else 0
        last = breakpoints[-1]
        write = 0
        for point in breakpoints:
            if sizes[point] >= MIN_CACHEABLE:
                self.anthropic.add(digests[point])
        if sizes[last] >= MIN_CACHEABLE and last > hit:
            write = sizes[last] - read
        return read, write

    def _responses(self, body: dict[str, Any]) -> int:
        key = str(body.get("prompt_cache_key") or "")
        text = json.dumps([body.get("instructions"), body.get("tools"), body.get("input")], sort_keys=True)
        seen = self.openai.setdefault(key, set())
        read = 0
        steps = len(text) // 4 // OPENAI_STEP
        for step in range(1, steps + 1):
            tokens = step * OPENAI_STEP
            digest = hashlib.sha256(text[: tokens * 4].encode()).hexdigest()
            if digest in seen and tokens >= MIN_CACHEABLE:
                read = tokens
            seen.add(digest)
        return read
