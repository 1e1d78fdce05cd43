"""MCP benchmarks (a script, not a test): `.venv/bin/python -m tests.bench.bench_mcp`

1. Overhead of one MCP tool call through Stoa over a direct SDK call, against the same live
   stdio server and the same SDK client: ``client.call_tool`` (the SDK alone), then
   ``McpManager.call_tool`` (+ timeout, error mapping, result conversion), then the agent's path
   ``McpTool.parse_args`` + ``run`` (+ JSON-schema check of the arguments). Medians of many
   calls, interleaved so both see the same machine state. Target (issue 8): under 5 ms.
2. Start-up of three servers that each take 3 s, against one such server (the floor, measured
   in the same run): the manager alone, each run in a fresh Python (the SDK is loaded each time,
   as at a real start), from ``start_all`` to all connected, as wall time and as CPU time of
   Stoa's process and of the servers'. Two kinds of server: ``raw_server.py --slow-start 3``
   (sleeps, costs no CPU: the figure shows the manager alone) and the SDK-built test server
   (imports its SDK first, as Python servers do: on a loaded machine the servers' own CPU
   shows). Target (issue 14): three take about as long as one (~3 s).
3. The same in the TUI (tmux 120x40): time to a ready composer with none, one and three slow
   servers of each kind, and from then until the status bar shows them all connected.
Runs are interleaved (one of each case in turn); medians of RUNS.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from tests.mcp_servers.helpers import REPO_ROOT, SERVER_SCRIPT, make_config, make_manager, stdio_entry

RAW_SERVER = SERVER_SCRIPT.parent / "raw_server.py"

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


_STARTUP_DRIVER = textwrap.dedent(
    """
    import asyncio, json, resource, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from tests.mcp_servers.helpers import make_config, make_manager

    async def main(tmp, script, count):
        entry = {"command": sys.executable, "args": [script, "--slow-start", "3"]}
        manager, _, _ = make_manager(make_config(Path(tmp), {f"s{n}": entry for n in range(count)}))
        cpu, began = time.process_time(), time.perf_counter()
        await manager.start_all()
        await manager.wait_started()
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        ok = manager.connected_count
        await manager.close()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(json.dumps({"wall": wall, "cpu": cpu, "servers_cpu": children.ru_utime + children.ru_stime, "ok": ok}))

    asyncio.run(main(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    """
)


def manager_startup() -> None:
    cases = {
        "raw x1": (RAW_SERVER, 1),
        "raw x3": (RAW_SERVER, 3),
        "sdk x1": (SERVER_SCRIPT, 1),
        "sdk x3": (SERVER_SCRIPT, 3),
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory(prefix="stoa-bench-mcp-") as tmp:
        driver = Path(tmp) / "driver.py"
        driver.write_text(_STARTUP_DRIVER)
        for i in range(RUNS):
            for name, (script, count) in cases.items():
                folder = Path(tmp) / f"{name.replace(' ', '')}-{i}"
                done = subprocess.run(
                    [sys.executable, str(driver), str(REPO_ROOT), str(folder), str(script), str(count)],
                    capture_output=True, text=True, check=True,
                )
                row = json.loads(done.stdout.strip().splitlines()[-1])
                if row["ok"] != count:
                    raise SystemExit(f"{name}: only {row['ok']} of {count} connected")
                results[name].append(row)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    print(f"start-up of 3-s servers, manager alone, fresh process each, median of {RUNS} (interleaved):")
    for name in cases:
        print(
            f"  {name}  wall {ms(med(name, 'wall'))}   Stoa CPU {ms(med(name, 'cpu'))}"
            f"   servers' CPU {ms(med(name, 'servers_cpu'))}"
        )
    for kind in ("raw", "sdk"):
        ratio = med(f"{kind} x3", "wall") / med(f"{kind} x1", "wall")
        print(f"  {kind}: three / one (floor) = {ratio:.2f}  (target ~1: started together)")


def ready_time() -> None:
    from tests.bench.tui_harness import TmuxStoa, median, require_tmux
    from tests.fake_server import FakeServer

    require_tmux()
    server = FakeServer().start()
    # label: (server script, how many)
    cases: dict[str, tuple[Path, int]] = {
        "none": (RAW_SERVER, 0),
        "raw x1": (RAW_SERVER, 1),
        "raw x3": (RAW_SERVER, 3),
        "sdk x1": (SERVER_SCRIPT, 1),
        "sdk x3": (SERVER_SCRIPT, 3),
    }
    ready: dict[str, list[float]] = {label: [] for label in cases}
    connected: dict[str, list[float]] = {label: [] for label, (_, n) in cases.items() if n}
    cpu: dict[str, list[float]] = {label: [] for label in cases}
    try:
        # Short paths: the status bar drops segments (MCP among them) when the line is too long.
        with tempfile.TemporaryDirectory(prefix="m", dir="/tmp") as tmp:
            for i in range(RUNS):
                for label, (script, count) in cases.items():
                    app = TmuxStoa(Path(tmp) / f"{label.replace(' ', '')}{i}", server.base_url)
                    if count:
                        config = app.workspace / ".stoa" / "config.toml"
                        config.parent.mkdir(parents=True, exist_ok=True)
                        config.write_text(
                            "".join(
                                f'[mcp-servers.slow{n}]\ncommand = "{sys.executable}"\n'
                                f'args = ["{script}", "--slow-start", "{SLOW_START}"]\n\n'
                                for n in range(count)
                            )
                        )
                    started = app.start()
                    try:
                        at_ready = app.wait_for_text("Message Stoa")
                        ready[label].append(at_ready - started)
                        if count:
                            connected[label].append(app.wait_for_text(f"MCP {count}/{count}", timeout=60) - at_ready)
                        cpu[label].append(app.cpu_seconds())
                    finally:
                        app.stop()
                    time.sleep(0.3)
    finally:
        server.stop()
    print(
        f"TUI (tmux 120x40), median of {RUNS} (interleaved); load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores (a shared machine):"
    )
    for label, values in ready.items():
        print(f"  ready composer, {label:<7} {ms(median(values))}   (runs: {', '.join(f'{v * 1000:.0f}' for v in values)} ms)")
    for label, values in connected.items():
        print(
            f"  {label}: all connected (status bar MCP n/n) {ms(median(values))} after the composer was ready"
            f"   (app CPU by then {ms(median(cpu[label]))})"
        )
    for kind in ("raw", "sdk"):
        ratio = median(connected[f"{kind} x3"]) / median(connected[f"{kind} x1"])
        print(f"  {kind}: three / one (floor) = {ratio:.2f}")


def main() -> int:
    asyncio.run(call_overhead())
    manager_startup()
    ready_time()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
