"""``stoa acp``: Stoa as an Agent Client Protocol agent over stdio, for editors (Zed, JetBrains,
Neovim, VS Code plugins) and other ACP clients.

A front end on the same runtime as the TUI and headless mode (``build_runtime``,
``Agent.run_turn``, the session store, the permission policy, MCP servers); no second agent
loop. Built on the ``agent-client-protocol`` SDK, imported only here, and free of Textual.
The protocol owns stdout; everything else Stoa prints goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from contextlib import suppress
from typing import Any, cast

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
# After stdin ends, how long requests already received may take to be answered.
SETTLE_SECONDS = 30.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stoa acp",
        description="Run Stoa as an ACP agent on stdin/stdout (for editors such as Zed).",
    )
    parser.add_argument("-m", "--model", help="the starting model of each session (a registry id or alias)")
    parser.add_argument("-e", "--effort", help="reasoning effort: off | low | medium | high | xhigh | max")
    parser.add_argument("--provider", help="anthropic | openai | ollama | lmstudio | vllm | openrouter | openai-compatible")
    parser.add_argument("--base-url", help="override the provider's endpoint")
    parser.add_argument("--mode", choices=("plan", "ask", "auto"), help="the starting trust mode (default: config, else auto)")
    parser.add_argument(
        "--max-turns", type=_positive_int, metavar="N", help="at most N model requests with tool calls per prompt"
    )
    parser.add_argument(
        "--trust-project-hooks", action="store_true", help="run the project's shared hooks without their approval"
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number such as 30, got {text!r}")
    return value


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from stoa.core.runtime import Choices

    choices = Choices(
        model=args.model,
        effort=args.effort,
        provider=args.provider,
        base_url=args.base_url,
        mode=args.mode,
        max_turns=args.max_turns,
        trust_project_hooks=args.trust_project_hooks,
    )
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="stoa acp: %(levelname)s: %(message)s")
    try:
        asyncio.run(serve(choices))
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK


async def serve(choices: object) -> None:
    """Answer ACP on stdio until the client closes stdin; then save every session."""
    from acp.agent.connection import AgentSideConnection

    from stoa.app.acp.server import StoaAgent
    from stoa.app.acp.transport import LineTransport, protocol_streams
    from stoa.core.runtime import Choices

    assert isinstance(choices, Choices)
    reader, writer = await protocol_streams()
    transport = LineTransport(reader, writer)
    agent = StoaAgent(choices, _version())
    transport.after_send = agent.message_sent
    conn = AgentSideConnection(cast(Any, agent), transport, listening=False)
    listening = asyncio.ensure_future(conn.listen())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        # An editor that stops the agent: the same as stdin closing (every session is saved).
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, listening.cancel)
    try:
        with suppress(asyncio.CancelledError):
            await listening
        # stdin ended: what was asked before is still answered (a script may pipe its requests
        # in and read the answers); a running prompt is interrupted and its session saved.
        # A signal (the editor stopping the agent) does not wait.
        if not listening.cancelled():
            await transport.settle(SETTLE_SECONDS, leaving=frozenset({"session/prompt"}))
    finally:
        await agent.close()
        await conn.close()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("stoa")
    except Exception:
        return "0.0.0+unknown"
