"""/rename, /export, /fork and /copy: what a person does with the conversation itself.

Headless forms act on the session opened with ``-c``/``-r`` (``stoa -c -p "/export notes.md"``):
/rename and /export as in the TUI, /fork prints the new session's id, /copy prints the reply
(and puts it on the clipboard when a platform tool is there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stoa.app.commands.registry import CommandContext, HeadlessContext, command, headless

if TYPE_CHECKING:
    from stoa.core.runtime import Runtime

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_TITLE = 200


async def conversation_records(runtime: Runtime) -> list[tuple[str, dict[str, Any]]]:
    """The conversation as shown: the session's display records, saved first."""
    session = runtime.session
    if session is None:
        return []
    with suppress(Exception):
        await session.recorder.flush()
    saved = await session.store.load_records(session.session_id)
    return [(r.kind, r.data) for r in saved]


# ---- /rename ---------------------------------------------------------------------------------


async def _rename(runtime: Runtime, args: str, info: Callable[[str], None], error: Callable[..., None]) -> int:
    title = " ".join(args.split())
    if not title:
        error("give the new title, e.g. /rename Fix the login bug", hint=None)
        return EXIT_USAGE
    if len(title) > MAX_TITLE:
        error(f"the title is {len(title)} characters long; keep it under {MAX_TITLE}", hint=None)
        return EXIT_USAGE
    session = runtime.session
    if session is None:
        error("there is no session to rename (the session store is not available)", hint=None)
        return EXIT_FAILED
    from stoa.core.sessions import SessionStoreError

    try:
        await session.recorder.rename(title)
    except SessionStoreError as exc:
        error(f"the title could not be saved: {exc}", hint="it shows in this run only")
        return EXIT_FAILED
    info(f"session {session.session_id[:8]} is now titled “{title}”")
    return EXIT_OK


@command("rename", "Give this session a title (shown in /resume)", args="<title>")
async def _rename_tui(ctx: CommandContext) -> None:
    await _rename(ctx.runtime, ctx.args, ctx.info, ctx.error)
    ctx.screen.refresh_status()


@headless("rename")
async def _rename_headless(ctx: HeadlessContext) -> int:
    return await _rename(ctx.runtime, ctx.args, ctx.info, ctx.error)


# ---- /export ---------------------------------------------------------------------------------


def _export_args(args: str) -> tuple[str | None, bool] | str:
    words = args.split()
    as_json = "--json" in words
    rest = [w for w in words if w != "--json"]
    unknown = [w for w in rest if w.startswith("--")]
    if unknown:
        return f"unknown option {unknown[0]}; use /export [PATH] [--json]"
    if len(rest) > 1:
        return "give one PATH (quote-free, no spaces), e.g. /export notes/session.md"
    return (rest[0] if rest else None), as_json


async def _export(runtime: Runtime, args: str, info: Callable[[str], None], error: Callable[..., None]) -> int:
    from stoa.core.sessions.export import to_json, to_markdown

    parsed = _export_args(args)
    if isinstance(parsed, str):
        error(parsed, hint=None)
        return EXIT_USAGE
    given, as_json = parsed
    records = await conversation_records(runtime)
    if not records:
        error("nothing to export yet: the conversation is empty", hint=None)
        return EXIT_FAILED
    session = runtime.session
    session_id = session.session_id if session is not None else "unsaved"
    title = session.title if session is not None else ""
    if given is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M")
        given = f"stoa-{session_id[:8]}-{stamp}.{'json' if as_json else 'md'}"
    maker = to_json if as_json else to_markdown
    text = maker(records, title=title, session_id=session_id, model=runtime.agent.model.id)
    try:
        await asyncio.to_thread(_write_new, runtime.config.workspace, given, text)
    except FileExistsError:
        error(f"{given} already exists; nothing was written", hint="give another PATH, or delete that file first")
        return EXIT_USAGE
    except OSError as exc:
        error(f"cannot write {given}: {exc.strerror or exc}", hint="check the folder exists and is writable")
        return EXIT_FAILED
    info(f"exported {len(records)} entries to {given} ({'JSON' if as_json else 'Markdown'})")
    return EXIT_OK


def _write_new(workspace: Path, given: str, text: str) -> None:
    path = workspace / Path(given).expanduser()  # an absolute path (or ~/...) wins over the workspace
    with open(path, "x", encoding="utf-8") as handle:  # "x": never overwrite
        handle.write(text)


@command("export", "Save the conversation as Markdown (or JSON with --json)", args="[path] [--json]")
async def _export_tui(ctx: CommandContext) -> None:
    await _export(ctx.runtime, ctx.args, ctx.info, ctx.error)


@headless("export")
async def _export_headless(ctx: HeadlessContext) -> int:
    return await _export(ctx.runtime, ctx.args, ctx.info, ctx.error)


# ---- /fork -----------------------------------------------------------------------------------


async def _fork(runtime: Runtime, *, close_current: bool) -> Any:
    """A copy of this session to go on in; the original stays as it is. Returns the handle, or
    the reason (a string) there is nothing to fork."""
    from stoa.core.sessions import SessionStoreError, fork_session, open_store

    session = runtime.session
    if session is None:
        return "there is no session to fork (the session store is not available)"
    with suppress(Exception):
        await session.recorder.flush()
    store = await open_store(runtime)
    info = await store.get(session.session_id)
    if info is None:
        return "nothing to fork yet: this session has no messages"
    if close_current:
        try:
            await session.close()
        except SessionStoreError:
            pass  # its unsaved changes were reported when they failed
    return await fork_session(runtime, store, info)


@command("fork", "Go on in a copy of this session from here (the original stays)", while_busy=False)
async def _fork_tui(ctx: CommandContext) -> None:
    from stoa.core.sessions import SessionStoreError

    try:
        handle = await _fork(ctx.runtime, close_current=True)
    except SessionStoreError as exc:
        ctx.error(f"cannot fork: {exc}")
        return
    if isinstance(handle, str):
        ctx.error(handle)
        return
    await ctx.screen.switch_session(handle)


@headless("fork")
async def _fork_headless(ctx: HeadlessContext) -> int:
    from stoa.core.sessions import SessionStoreError

    runtime = ctx.runtime
    original = runtime.session.session_id if runtime.session is not None else ""
    try:
        handle = await _fork(runtime, close_current=True)
    except SessionStoreError as exc:
        ctx.error(f"cannot fork: {exc}")
        return EXIT_FAILED
    if isinstance(handle, str):
        ctx.error(handle)
        return EXIT_FAILED
    ctx.info(f"forked session {original[:8]} into {handle.session_id[:8]}; go on there with: stoa -r {handle.session_id[:8]}")
    return EXIT_OK


# ---- /copy -----------------------------------------------------------------------------------


async def _reply(runtime: Runtime, args: str) -> str | tuple[str, int]:
    """The Nth last reply (N from ``args``, 1 by default), or why there is none."""
    text = args.strip() or "1"
    if not text.isdigit() or int(text) < 1:
        return f"N must be a positive number (1 is the last reply), not {text!r}"
    number = int(text)
    replies = [str(d.get("text", "")) for k, d in await conversation_records(runtime) if k == "assistant" and d.get("text")]
    if not replies:
        return "there is no reply to copy yet"
    if number > len(replies):
        return f"there {'is' if len(replies) == 1 else 'are'} only {len(replies)} repl{'y' if len(replies) == 1 else 'ies'}"
    return replies[-number], number


@command("copy", "Copy the last reply (or the Nth last) to the clipboard", args="[n]")
async def _copy_tui(ctx: CommandContext) -> None:
    from stoa.core.clipboard import ClipboardError, copy_text

    found = await _reply(ctx.runtime, ctx.args)
    if isinstance(found, str):
        ctx.error(found)
        return
    text, number = found
    ctx.app.copy_to_clipboard(text)  # OSC 52: the terminal's clipboard, over ssh too
    which = "the last reply" if number == 1 else f"reply {number} from the end"
    try:
        tool = await asyncio.to_thread(copy_text, text, ctx.runtime.config.env)
    except ClipboardError as exc:
        ctx.info(f"copied {which} ({len(text):,} characters) through the terminal (OSC 52); {exc}")
        return
    ctx.info(f"copied {which} ({len(text):,} characters) with {tool} and through the terminal (OSC 52)")


@headless("copy")
async def _copy_headless(ctx: HeadlessContext) -> int:
    from stoa.core.clipboard import ClipboardError, copy_text

    found = await _reply(ctx.runtime, ctx.args)
    if isinstance(found, str):
        ctx.error(found)
        return EXIT_FAILED
    text, _ = found
    ctx.info(text)
    with suppress(ClipboardError):
        tool = await asyncio.to_thread(copy_text, text, ctx.runtime.config.env)
        ctx.err.write(f"stoa: copied with {tool}\n")
    return EXIT_OK
