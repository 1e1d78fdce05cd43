"""MCP servers start together: slow ones in parallel, a hanging one holding up nobody.

Real servers over stdio: ``raw_server.py --slow-start S`` sleeps S seconds before it reads a
byte (a slow start that costs no CPU, so the figures do not depend on the machine's load) and
``stoa_test_server.py --never-initialize`` never answers. Time bounds are generous (about
twice the ideal); the real figures are in ``tests/bench/bench_mcp.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from stoa.core.mcp.manager import MARKER_ENV, ServerStatus
from tests.mcp_servers.helpers import REPO_ROOT, SERVER_SCRIPT, make_config, make_manager, stdio_entry

RAW = SERVER_SCRIPT.parent / "raw_server.py"


def raw_entry(*flags: str, **extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(RAW), *flags], **extra}


def marked_pids(marker_part: str) -> list[int]:
    """Live processes whose MCP marker variable names ``marker_part`` (the server's name, our pid)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(v.startswith(f"{MARKER_ENV}={marker_part}".encode()) for v in environ):
            found.append(int(entry))
    return found


async def test_three_slow_servers_start_in_parallel_and_a_hanging_one_holds_up_none(tmp_path: Path) -> None:
    servers = {f"slow{n}": raw_entry("--slow-start", "3") for n in range(3)}
    servers["hangs"] = stdio_entry("--never-initialize", startup_timeout_seconds=60)
    manager, _, _ = make_manager(make_config(tmp_path, servers))
    connected_at: dict[str, float] = {}
    all_three = asyncio.Event()
    began = time.monotonic()

    def changed(state: Any) -> None:
        if state.status is ServerStatus.CONNECTED:
            connected_at.setdefault(state.name, time.monotonic() - began)
            if len(connected_at) == 3:
                all_three.set()

    manager.subscribe(changed)
    try:
        await manager.start_all()
        assert all(state.status is ServerStatus.STARTING for state in manager.states.values())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_three.wait(), 20)
        assert sorted(connected_at) == ["slow0", "slow1", "slow2"], manager.rows()
        # One after the other would take 9 s or more; together, 3 s and the handshakes.
        assert max(connected_at.values()) < 7.0, connected_at
        assert manager.states["hangs"].status is ServerStatus.STARTING  # still waiting, alone
        assert all(f"slow{n}___echo" in manager.registry for n in range(3))
    finally:
        await manager.close()


def run_driver(tmp_path: Path, body: str, *, first_on_path: Path | None = None) -> list[str]:
    """Run ``body`` (async code using ``manager``-making helpers) in a fresh Python, where the
    MCP SDK is not loaded yet; returns the lines it printed."""
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import asyncio, sys, time\n"
        "from pathlib import Path\n"
        + (f"sys.path.insert(0, {str(first_on_path)!r})\n" if first_on_path else "")
        + f"sys.path.insert(1, {str(REPO_ROOT)!r})\n"
        "from tests.mcp_servers.helpers import make_config, make_manager\n"
        f"RAW = {str(RAW)!r}\n"
        f"TMP = Path({str(tmp_path)!r})\n"
        "async def main():\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
        + "\nasyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, str(driver)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_a_server_stopped_before_the_sdk_is_loaded_leaves_no_process(tmp_path: Path) -> None:
    """The process starts before the SDK loads; stopping it meanwhile must still end it."""
    name = f"early{os.getpid()}"
    lines = run_driver(
        tmp_path,
        f"""
        entry = {{"command": sys.executable, "args": [RAW, "--slow-start", "60"]}}
        manager, _, _ = make_manager(make_config(TMP, {{{name!r}: entry}}))
        await manager.start_all()
        await asyncio.sleep(0.05)  # the server's task spawns the process, then loads the SDK
        await manager.close()
        print("closed")
        """,
    )
    assert lines[-1] == "closed", lines
    assert marked_pids(name) == []


def test_an_sdk_that_cannot_be_loaded_fails_each_server_with_a_clear_message(tmp_path: Path) -> None:
    """A broken install of the ``mcp`` package (a real import failure: a child Python whose path
    puts a broken ``mcp`` first): every server fails at once, saying so, and its process
    (started before the SDK was loaded) is ended."""
    broken = tmp_path / "broken"
    (broken / "mcp").mkdir(parents=True)
    (broken / "mcp" / "__init__.py").write_text('raise ImportError("this mcp package is broken on purpose")\n')
    name = f"broken{os.getpid()}"
    elapsed, *rows = run_driver(
        tmp_path,
        f"""
        entry = {{"command": sys.executable, "args": [RAW, "--slow-start", "60"]}}
        manager, _, _ = make_manager(make_config(TMP, {{{name!r} + "a": entry, {name!r} + "b": entry}}))
        began = time.monotonic()
        await manager.start_all()
        await manager.wait_started(within=30)
        print(round(time.monotonic() - began, 1))
        for state in manager.rows():
            print(state.name, state.status.value, state.message)
        await manager.close()
        """,
        first_on_path=broken,
    )
    assert float(elapsed) < 20  # failed at once, not after a start-up timeout
    assert len(rows) == 2, rows
    for row in rows:
        assert " failed " in row, row
        assert "the MCP SDK (the mcp package) could not be loaded" in row, row
        assert "this mcp package is broken on purpose" in row, row
    assert marked_pids(name) == []
