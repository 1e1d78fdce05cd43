"""A Stoa process whose person approves every question (run as
``python -m tests.integration.env_leak_driver``), for the environment-leak test.

It starts like the ``stoa`` command (``mask_own_environ`` first, then ``build_runtime`` from
the real configuration, auto mode unless the configuration says otherwise), and answers each
permission request "yes, once", as a person clicking through would. It runs one turn against
the provider at ANTHROPIC_BASE_URL (the fake server) and prints, one per line, ``asked <tool>
<target>`` for every question, then ``done``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from stoa.core.sandbox.secrets import mask_own_environ


class ApproveEverything:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def approve(self, request):  # type: ignore[no-untyped-def]
        from stoa.core.permissions.approver import PermissionDecision

        self.asked.append(f"{request.tool_name} {request.target}")
        return PermissionDecision("once")


async def main(workspace: Path, prompt: str) -> int:
    from stoa.core import events as ev
    from stoa.core.config import load_config
    from stoa.core.runtime import Choices, build_runtime

    approver = ApproveEverything()
    runtime = build_runtime(load_config(workspace), Choices(), approver=approver)
    failed = None
    async for event in runtime.agent.run_turn(prompt):
        if isinstance(event, ev.TurnFailed):
            failed = event.error
    for line in approver.asked:
        print("asked " + " ".join(line.split()), flush=True)
    if failed:
        print(f"failed {failed}", flush=True)
        return 1
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    mask_own_environ()
    sys.exit(asyncio.run(main(Path(sys.argv[1]), sys.argv[2])))
