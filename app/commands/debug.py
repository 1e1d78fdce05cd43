"""/debug-bundle: a zip for a bug report (``core.debug_bundle``), in the TUI and headless."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stoa.app.commands.registry import CommandContext, HeadlessContext, command, headless

if TYPE_CHECKING:
    from stoa.core.runtime import Runtime

EXIT_OK, EXIT_FAILED = 0, 1


async def _bundle(runtime: Runtime, args: str, info: Callable[[str], None], error: Callable[..., None]) -> int:
    from stoa.app.cli import _version
    from stoa.app.commands.conversation import conversation_records
    from stoa.core.debug_bundle import write_bundle
    from stoa.core.logs import recent_log
    from stoa.core.sandbox.secrets import SessionRedactor
    from stoa.core.sessions.export import to_markdown

    config = runtime.config
    agent = runtime.agent
    session = runtime.session
    session_id = session.session_id if session is not None else "unsaved"
    path = _bundle_path(config, args.strip(), session_id)
    records = await conversation_records(runtime)
    markdown = to_markdown(
        records, title=session.title if session is not None else "", session_id=session_id, model=agent.model.id
    )
    hooks = runtime.hooks
    metadata: dict[str, Any] = {
        "version": _version(),
        "session_id": session_id,
        "workspace": str(config.workspace),
        "model": agent.model.id,
        "provider": agent.model.provider,
        "effort": agent.effort,
        "mode": runtime.policy.mode,
        "usage": agent.ledger.total.model_dump(),
        "cost_usd": agent.ledger.cost_usd,
        "config_files": [str(layer.path) for layer in config.layers],
        "warnings": list(config.warnings),
        "hooks": [f"{s.event} {s.command} ({s.where})" for s in hooks.active] if hooks is not None else [],
        "mcp_servers": [row.name + ": " + row.status_text for row in runtime.mcp.rows()] if runtime.mcp else [],
    }
    messages = [m.model_dump(mode="json", exclude_none=True) for m in agent.history.messages]
    try:
        entries = await asyncio.to_thread(
            write_bundle,
            path,
            markdown=markdown,
            messages=messages,
            metadata=metadata,
            log_text=recent_log(config.paths.log_dir),
            env=config.env,
            redact=SessionRedactor(config).current(),
        )
    except FileExistsError:
        error(f"{path} already exists; nothing was written", hint="give another PATH")
        return EXIT_FAILED
    except OSError as exc:
        error(f"cannot write {path}: {exc.strerror or exc}", hint="give a PATH in a writable folder")
        return EXIT_FAILED
    info(f"wrote {path} ({', '.join(entries)}); API keys and tokens are redacted; read it before you share it")
    return EXIT_OK


def _bundle_path(config: Any, given: str, session_id: str) -> Path:
    """A PATH is relative to the workspace (absolute or ~/... as given); none: the log folder."""
    if given:
        return Path(config.workspace) / os.path.expanduser(given)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(config.paths.log_dir) / "bundles" / f"stoa-debug-{session_id[:8]}-{stamp}.zip"


@command("debug-bundle", "Write a zip for a bug report (conversation, messages, metadata, log)", args="[path]")
async def _debug_bundle(ctx: CommandContext) -> None:
    await _bundle(ctx.runtime, ctx.args, ctx.info, ctx.error)


@headless("debug-bundle")
async def _debug_bundle_headless(ctx: HeadlessContext) -> int:
    return await _bundle(ctx.runtime, ctx.args, ctx.info, ctx.error)
