"""ACP benchmark (a script, not a test): `.venv/bin/python -m tests.bench.bench_acp`

Against the fake provider server, each run in a fresh process, interleaved with a floor: a
minimal agent built on the same SDK that only answers ``initialize`` (what any Python ACP agent
pays to start). Reported as medians of RUNS:

1. launch -> ``initialize`` answered (``stoa acp`` and the floor);
2. ``session/new`` answered (config, runtime, session store);
3. a prompt whose reply streams ~2,000 words: time to the answer and the number of updates
   the client received, i.e. what streaming costs on the way to the editor.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION
from acp import schema as s
from acp.stdio import spawn_agent_process

from tests.fake_server import FakeServer, reply
from tests.integration.acp_client import RecordingClient, text_prompt

RUNS = 5
REPO = Path(__file__).resolve().parents[2]
FLOOR = """
import asyncio
from acp import PROTOCOL_VERSION, run_agent
from acp import schema as s

class Floor:
    async def initialize(self, protocol_version, client_capabilities=None, client_info=None, **_):
        return s.InitializeResponse(protocol_version=PROTOCOL_VERSION)

asyncio.run(run_agent(Floor()))
"""


def environment(home: Path, server: FakeServer) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "STOA_HOME": str(home / "stoa"),
        "PYTHONPATH": str(REPO),
        "ANTHROPIC_API_KEY": "bench-key",
        "ANTHROPIC_BASE_URL": server.base_url,
        "LANG": "C.UTF-8",
    }


async def one_run(env: dict[str, str], cwd: Path, argv: list[str], prompt: bool) -> dict[str, Any]:
    client = RecordingClient()
    started = time.perf_counter()
    out: dict[str, Any] = {}
    with open(os.devnull, "wb") as err:  # noqa: ASYNC230 (before the process starts)
        async with spawn_agent_process(
            client, argv[0], *argv[1:], env=env, cwd=cwd, transport_kwargs={"stderr": err.fileno(), "shutdown_timeout": 60.0}
        ) as (conn, _process):
            await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=s.ClientCapabilities())
            out["initialize"] = time.perf_counter() - started
            if prompt:
                at = time.perf_counter()
                session = await conn.new_session(cwd=str(cwd), mcp_servers=[])
                out["new_session"] = time.perf_counter() - at
                at = time.perf_counter()
                await conn.prompt(session_id=session.session_id, prompt=text_prompt("talk"))
                out["prompt"] = time.perf_counter() - at
                await asyncio.sleep(0.2)  # the SDK client handles notifications in tasks of their own
                out["updates"] = len(client.of(s.AgentMessageChunk))
    return out


async def main() -> None:
    words = " ".join(f"word{i}" for i in range(2000))
    server = FakeServer().start()
    rows: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            (home / "project").mkdir()
            env = environment(home, server)
            for _ in range(RUNS):
                server.script(reply(text=words, chunk_size=16))
                floor = await one_run(env, home / "project", [sys.executable, "-c", FLOOR], prompt=False)
                stoa = await one_run(env, home / "project", [sys.executable, "-m", "stoa.app.cli", "acp"], prompt=True)
                rows.setdefault("floor initialize", []).append(floor["initialize"])
                for key in ("initialize", "new_session", "prompt", "updates"):
                    rows.setdefault(f"stoa {key}", []).append(stoa[key])
    finally:
        server.stop()
    for name, values in rows.items():
        median = statistics.median(values)
        shown = f"{median:.0f}" if name.endswith("updates") else f"{median * 1000:.0f} ms"
        print(f"{name:24} {shown}  (runs: {', '.join(f'{v:.3f}' for v in values)})")
    ratio = statistics.median(rows["stoa initialize"]) / statistics.median(rows["floor initialize"])
    print(f"stoa acp start-up = {ratio:.2f}x the SDK floor; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
