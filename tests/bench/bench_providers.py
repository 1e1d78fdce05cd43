"""Provider streaming throughput and per-request overhead against the fake server (loopback).

Run: .venv/bin/python -m tests.bench.bench_providers
Prints, per wire format: events/s while streaming a long reply in 16-character deltas, the
median wall time of a one-line request (the whole round trip through the provider and its HTTP
client), and the CPU time of a large tool argument (400 KB in 4-character deltas, as a model
writing a big file sends it; text added to a string attribute per delta made this quadratic).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from stoa.core.providers.anthropic import AnthropicProvider
from stoa.core.providers.base import MessageComplete, Provider, ProviderRequest
from stoa.core.providers.openai_chat import OpenAIChatProvider
from stoa.core.providers.openai_responses import OpenAIResponsesProvider
from stoa.core.providers.types import user_text
from tests.fake_server import FakeServer, reply, tool_call

LONG = "word " * 8_000  # 40,000 characters -> 2,500 deltas


def providers(server: FakeServer) -> dict[str, tuple[Provider, str]]:
    """Each wire with a model the fake server lists for it."""

    def first(prefix: str) -> str:
        return next(m for m in server.models if m.startswith(prefix))

    return {
        "anthropic": (AnthropicProvider("k", server.base_url), first("claude-sonnet")),
        "responses": (OpenAIResponsesProvider("k", server.openai_base_url), first("gpt-")),
        "chat": (OpenAIChatProvider("ollama", server.openai_base_url), first("qwen")),
    }


async def one(provider: Provider, model: str, *, tools: bool = False) -> int:
    request = ProviderRequest(model=model, system="s", messages=[user_text("hi")], tools=[], max_tokens=100)
    count = 0
    async for event in provider.stream(request):
        count += 1
        if isinstance(event, MessageComplete):
            assert event.message.tool_uses if tools else event.message.text
    return count


async def main() -> None:
    with FakeServer() as server:
        for name, (provider, model) in providers(server).items():
            server.script(reply(text="warm up"))
            await one(provider, model)
            server.script(reply(text=LONG, chunk_size=16))
            started = time.perf_counter()
            events = await one(provider, model)
            elapsed = time.perf_counter() - started
            times = []
            for _ in range(30):
                server.script(reply(text="A one-line answer."))
                t = time.perf_counter()
                await one(provider, model)
                times.append(time.perf_counter() - t)
            server.script(reply(tool_calls=[tool_call("write_file", {"path": "big.txt", "content": "x" * 400_000})],
                                chunk_size=4))
            cpu = time.process_time()
            await one(provider, model, tools=True)
            cpu = time.process_time() - cpu
            await provider.aclose()
            print(
                f"{name:9}  {events / elapsed:8.0f} events/s ({events} events in {elapsed:.2f} s)"
                f"   short request median {statistics.median(times) * 1000:.1f} ms"
                f"   400 KB tool argument: {cpu:.2f} s CPU (server and client)"
            )


if __name__ == "__main__":
    asyncio.run(main())
