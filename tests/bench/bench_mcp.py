"""MCP benchmarks (a script, not a test): `.venv/bin/python -m tests.bench.bench_mcp`

1. Overhead of one MCP tool call through Stoa over a direct SDK call, against the same live
   stdio server and the same SDK client: ``client.call_tool`` (the SDK alone), then
   ``McpManager.call_tool`` (+ timeout, error mapping, result conversion), then the agent's path
   ``McpTool.parse_args`` + ``run`` (+ JSON-schema check of the arguments). Medians of many
   calls, interleaved so both see the same machine state. Target (issue 8): under 5 ms.
2. Time to a ready composer (the placeholder drawn in a real terminal, tmux 120x40) with
   three configured MCP servers that each take 3 s to start, against none. Target: no slower,
   because servers start in the background after the first paint. Also reports when the status
   bar shows all three connected.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.mcp_servers.helpers import SERVER_SCRIPT, make_config, make_manager, stdio_entry

CALLS = 400
RUNS = 5
SLOW_START = 3.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def call_overhead() -> None:
    from stoa.core.tools.base import ToolContext

    with tempfile.TemporaryDirectory(prefix="stoa-bench-mcp-") as tmp:
        manager, registry, _ = make_manager(make_config(Path(tmp), {"srv": stdio_entry()}))
        await manager.start_all()
        await manager.wait_started()
        try:
            client = manager._runners["srv"].client  # the very client the manager uses
            tool = registry.get("srv___echo")
            assert tool is not None
            ctx = ToolContext(workspace=Path(tmp))
            arguments = {"text": "hello"}
            for _ in range(50):  # warm up
                await client.call_tool("echo", arguments)
                await manager.call_tool("srv", "echo", arguments)
            direct: list[float] = []
            managed: list[float] = []
            full: list[float] = []
            for _ in range(CALLS):
                t = time.perf_counter()
                await client.call_tool("echo", arguments)
                direct.append(time.perf_counter() - t)
                t = time.perf_counter()
                await manager.call_tool("srv", "echo", arguments)
                managed.append(time.perf_counter() - t)
                t = time.perf_counter()
                await tool.run(tool.parse_args(arguments), ctx)
                full.append(time.perf_counter() - t)
            d, m, f = (statistics.median(x) for x in (direct, managed, full))
            print(f"one echo call, median of {CALLS} (stdio, same server and client):")
            print(f"  SDK client.call_tool            {ms(d)}")
            print(f"  McpManager.call_tool            {ms(m)}   overhead {ms(m - d)}")
            print(f"  McpTool.parse_args + run        {ms(f)}   overhead {ms(f - d)}  (target < 5 ms)")
            image_args = {"width": 640, "height": 480}
            direct, full = [], []
            for _ in range(40):
                t = time.perf_counter()
                await client.call_tool("image", image_args)
                direct.append(time.perf_counter() - t)
                t = time.perf_counter()
                await manager.call_tool("srv", "image", image_args)
                full.append(time.perf_counter() - t)
            d, f = statistics.median(direct), statistics.median(full)
            print(f"one 640x480 PNG result, median of 40: SDK {ms(d)}, Stoa {ms(f)} (overhead {ms(f - d)}: decode + checks)")
        finally:
            await manager.close()


def ready_time() -> None:
    from tests.bench.tui_harness import TmuxStoa, median, require_tmux
    from tests.fake_server import FakeServer

    require_tmux()
    server = FakeServer().start()
    results: dict[str, list[float]] = {"none": [], "three slow": []}
    connected: list[float] = []
    try:
        # Short paths: the status bar drops segments (MCP among them) when the line is too long.
        with tempfile.TemporaryDirectory(prefix="m", dir="/tmp") as tmp:
            for i in range(RUNS):
                for label in ("none", "three slow"):
                    app = TmuxStoa(Path(tmp) / f"{label[0]}{i}", server.base_url)
                    if label != "none":
                        config = app.workspace / ".stoa" / "config.toml"
                        config.parent.mkdir(parents=True, exist_ok=True)
                        config.write_text(
                            "".join(
                                f'[mcp-servers.slow{n}]\ncommand = "{sys.executable}"\n'
                                f'args = ["{SERVER_SCRIPT}", "--slow-start", "{SLOW_START}"]\n\n'
                                for n in range(3)
                            )
                        )
                    started = app.start()
                    try:
                        results[label].append(app.wait_for_text("Message Stoa") - started)
                        if label != "none":
                            connected.append(app.wait_for_text("MCP 3/3", timeout=30) - started)
                    finally:
                        app.stop()
                    time.sleep(0.3)
    finally:
        server.stop()
    print(f"time to a ready composer (tmux 120x40), median of {RUNS}:")
    for label, values in results.items():
        print(f"  {label:<11} {ms(median(values))}   (runs: {', '.join(f'{v * 1000:.0f}' for v in values)} ms)")
    print(f"  three slow servers all connected (status bar MCP 3/3) after {ms(median(connected))}")


def main() -> int:
    asyncio.run(call_overhead())
    ready_time()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
