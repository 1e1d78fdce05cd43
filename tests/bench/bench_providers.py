"""Provider streaming throughput and per-request overhead against the fake server (loopback).

Run: .venv/bin/python -m tests.bench.bench_providers
Prints, per wire format: the deltas a second read while streaming a long reply in 16-character
deltas (as the server sent them: a provider passes on what one read brings as one event, so
the events it yields are fewer, also printed), the
median wall time of a one-line request (the whole round trip through the provider and its HTTP
client), and the CPU time of a large tool argument (400 KB in 4-character deltas, as a model
writing a big file sends it; text added to a string attribute per delta made this quadratic).

Then the client alone: a reply of 20,000 four-character deltas (as the streaming benchmark's,
tests/bench/bench_tui_stream.py) from a fake server in another process, sent as fast as the
socket takes it; the CPU time of this process to read it (median of 5, per wire), and the same
in deltas a second of client CPU. ``--python OTHER_CHECKOUT/.venv/bin/python`` measures
another checkout's client too, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


CLIENT_TEXT = "".join(f"tok{i % 10} " for i in range(16_000))  # 80,000 characters
CLIENT_RUNS = 5


async def client_cpu(base_url: str, runs: int) -> dict[str, float]:
    """Median CPU seconds of this process reading the 20,000-delta reply, per wire."""
    from tests.fake_server.rules import DEFAULT_MODELS

    def first(prefix: str) -> str:
        return next(m for m in DEFAULT_MODELS if m.startswith(prefix))

    wires: dict[str, tuple[Provider, str]] = {
        "anthropic": (AnthropicProvider("k", base_url), first("claude-sonnet")),
        "responses": (OpenAIResponsesProvider("k", f"{base_url}/v1"), first("gpt-")),
        "chat": (OpenAIChatProvider("ollama", f"{base_url}/v1"), first("qwen")),
    }
    out: dict[str, float] = {}
    for name, (provider, model) in wires.items():
        await one(provider, model)  # connection and imports
        cpu = []
        for _ in range(runs):
            started = time.process_time()
            await one(provider, model)
            cpu.append(time.process_time() - started)
        await provider.aclose()
        out[name] = statistics.median(cpu)
    return out


def client_only(python: Path | None) -> dict[str, float]:
    """``client_cpu`` against a fake server process, in this interpreter or in ``python``."""
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "reply.json"
        scenario.write_text(json.dumps({"replies": [{"text": CLIENT_TEXT, "chunk_size": 4}], "loop": True}))
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_server", "--scenario", str(scenario), "--quiet"],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            assert server.stdout is not None
            found = re.search(r"(http://\S+)", server.stdout.readline())
            assert found, "the fake server did not say where it listens"
            if python is None:
                return asyncio.run(client_cpu(found.group(1), CLIENT_RUNS))
            result = subprocess.run(
                [str(python), "-m", "tests.bench.bench_providers", "--client-only", found.group(1)],
                capture_output=True, text=True, check=True,
            )
            return dict(json.loads(result.stdout.strip().splitlines()[-1]))
        finally:
            server.kill()
            server.wait()


async def main() -> None:
    with FakeServer() as server:
        for name, (provider, model) in providers(server).items():
            server.script(reply(text="warm up"))
            await one(provider, model)
            server.script(reply(text=LONG, chunk_size=16))
            started = time.perf_counter()
            events = await one(provider, model)
            elapsed = time.perf_counter() - started
            deltas = -(-len(LONG) // 16)
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
                f"{name:9}  {deltas / elapsed:8.0f} deltas/s ({deltas} deltas in {elapsed:.2f} s, {events} events out)"
                f"   short request median {statistics.median(times) * 1000:.1f} ms"
                f"   400 KB tool argument: {cpu:.2f} s CPU (server and client)"
            )


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", type=Path, help="another checkout's interpreter, measured alongside")
    parser.add_argument("--client-only", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client_only:
        print(json.dumps(asyncio.run(client_cpu(args.client_only, CLIENT_RUNS))))
        return 0
    asyncio.run(main())
    deltas = -(-len(CLIENT_TEXT) // 4)
    pythons: list[tuple[str, Path | None]] = [("this checkout", None)]
    if args.python:
        pythons.append((str(args.python), args.python))
    for label, python in pythons:
        cpu = client_only(python)
        print(f"client alone, {deltas:,} deltas at once, {label}: " + ", ".join(
            f"{name} {seconds * 1000:.0f} ms CPU ({deltas / seconds:,.0f} deltas/s)" for name, seconds in cpu.items()
        ))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
