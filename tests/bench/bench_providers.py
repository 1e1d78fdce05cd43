"""Provider streaming throughput and per-request overhead against the fake server (loopback).

Run: .venv/bin/python -m tests.bench.bench_providers
Prints, per wire format: events/s while streaming a long reply in 16-character deltas, and the
median wall time of a one-line request (the whole round trip through SDK and provider).
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
from tests.fake_server import FakeServer, reply

LONG = "word " * 8_000  # 40,000 characters -> 2,500 deltas


def providers(server: FakeServer) -> dict[str, Provider]:
    return {
        "anthropic": AnthropicProvider("k", server.base_url),
        "responses": OpenAIResponsesProvider("k", server.openai_base_url),
        "chat": OpenAIChatProvider("ollama", server.openai_base_url),
    }


async def one(provider: Provider) -> int:
    request = ProviderRequest(model="m", system="s", messages=[user_text("hi")], tools=[], max_tokens=100)
    count = 0
    async for event in provider.stream(request):
        count += 1
        if isinstance(event, MessageComplete):
            assert event.message.text
    return count


async def main() -> None:
    with FakeServer() as server:
        for name, provider in providers(server).items():
            server.script(reply(text="warm up"))
            await one(provider)
            server.script(reply(text=LONG, chunk_size=16))
            started = time.perf_counter()
            events = await one(provider)
            elapsed = time.perf_counter() - started
            times = []
            for _ in range(30):
                server.script(reply(text="A one-line answer."))
                t = time.perf_counter()
                await one(provider)
                times.append(time.perf_counter() - t)
            await provider.aclose()
            print(
                f"{name:9}  {events / elapsed:8.0f} events/s ({events} events in {elapsed:.2f} s)"
                f"   short request median {statistics.median(times) * 1000:.1f} ms"
            )


if __name__ == "__main__":
    asyncio.run(main())
