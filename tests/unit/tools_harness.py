"""Helpers for the tool tests: call a tool the way the agent does (parse, accesses, run), in
process or in a subprocess with real OS limits (no DAC override for root, a file size limit)."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stoa.core.config import StoaConfig
from stoa.core.permissions.setup import make_policy
from stoa.core.tools.base import Access, ToolContext, ToolError, ToolOutput
from stoa.core.tools.registry import default_registry

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Call:
    output: ToolOutput
    accesses: list[Access] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.output.text_content

    @property
    def is_error(self) -> bool:
        return self.output.is_error

    @property
    def display(self) -> dict[str, Any] | None:
        return self.output.display


def tool(name: str):  # type: ignore[no-untyped-def]
    found = default_registry().get(name)
    assert found is not None, f"{name} is not registered"
    return found


def context_for(config: StoaConfig, mode: str = "auto", **fields: Any) -> ToolContext:
    """A tool context as the agent builds it: the configuration with its compiled policy."""
    policy = make_policy(config, mode, detect_sandbox=False)
    return ToolContext(workspace=config.workspace, config=config, policy=policy, **fields)


def call(name: str, ctx: ToolContext, **arguments: Any) -> Call:
    """Parse, collect accesses and run, turning ToolError into an error output as the agent does."""
    return asyncio.run(acall(name, ctx, **arguments))


async def acall(name: str, ctx: ToolContext, **arguments: Any) -> Call:
    t = tool(name)
    accesses: list[Access] = []
    try:
        args = t.parse_args(arguments)
        accesses = t.accesses(args, ctx)
        output = await t.run(args, ctx)
    except ToolError as exc:
        output = ToolOutput.error(str(exc))
    return Call(output, accesses)


_CHILD = r"""
import asyncio, json, sys
from pathlib import Path
from stoa.core.tools.registry import default_registry
from stoa.core.tools.base import ToolContext, ToolError

name, ws, raw = sys.argv[1], sys.argv[2], json.loads(sys.stdin.read())

async def main():
    t = default_registry().get(name)
    ctx = ToolContext(workspace=Path(ws))
    try:
        args = t.parse_args(raw)
        t.accesses(args, ctx)
        out = await t.run(args, ctx)
        result = {"is_error": out.is_error, "text": out.text_content}
    except ToolError as exc:
        result = {"is_error": True, "text": str(exc)}
    print(json.dumps(result))

asyncio.run(main())
"""


def can_drop_dac() -> bool:
    return os.geteuid() != 0 or shutil.which("setpriv") is not None


def call_in_child(
    name: str, workspace: Path, arguments: dict[str, Any], *, no_dac: bool = False, fsize: int | None = None
) -> dict[str, Any]:
    """Run one tool call in a fresh interpreter under real OS limits.

    ``no_dac``: as root, drop the capabilities that bypass file permissions, so chmod bites.
    ``fsize``: RLIMIT_FSIZE in bytes (writes past it fail with EFBIG, as on a full quota).
    """
    cmd = [sys.executable, "-c", _CHILD, name, str(workspace)]
    if no_dac and os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]

    def limits() -> None:
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        cmd,
        input=json.dumps(arguments),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        preexec_fn=limits,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
