"""Memory and instructions: a ``#`` message, /memory and /init.

- A message starting with one ``#`` (``remember_from_composer``): a modal asks where to save it
  (project, personal, global, or send it as a message after all); ``core.memory`` appends it.
  No model request. A file that cannot be written is named with the reason and the note goes
  back to the editor; so does a cancelled one.
- ``/memory [project|personal|global]``: the memory files and the other instruction files of
  the system prompt, with the warnings of the last read; the chosen one opens in
  ``$VISUAL``/``$EDITOR`` (the app is suspended) or, without one, in Stoa's own editor.
  ``stoa -p "/memory"`` lists them.
- ``/init``: a turn in which the model studies the repository and writes or improves
  ``AGENTS.md``. In the TUI the turn runs in ask mode, so the write comes as a diff to approve;
  ``stoa -p "/init"`` runs in the session's mode (auto writes it; ask/plan refuse) and prints
  the diff of AGENTS.md after the reply.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from stoa.app.commands.registry import CommandContext, CommandHost, HeadlessContext, command, headless

if TYPE_CHECKING:
    from stoa.core.instructions import Loaded
    from stoa.core.memory import MemoryFile
    from stoa.core.runtime import Runtime

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

INIT_DISPLAY = "/init: study the repository and write AGENTS.md"
INIT_PROMPT = """Study this repository and write AGENTS.md at the workspace root: the instructions a new \
coding agent (or engineer) needs to work here well. {existing}

Find out, from the files themselves (build files, package manifests, CI workflows, Makefiles, \
test configuration, README, contributing notes) rather than by guessing:
- how to install, build, run, lint, type-check and test (the exact commands; how to run one test);
- the layout: the main folders and what lives in each, and the entry points;
- the conventions: code style, naming, patterns the code follows, how errors are handled, \
what must not be done, how commits and changes are made;
- anything surprising a newcomer would get wrong.

Keep it short and concrete (well under 200 lines, Markdown, headings and lists), with no generic \
advice and nothing you could not verify. Fold in what matters from other agent instruction files \
you find (CLAUDE.md, .cursorrules, .cursor/rules, .github/copilot-instructions.md). Then write the \
file with one write_file call (or edit_file calls for an existing one) and say in two or three \
lines what you wrote."""
INIT_EXISTING = (
    "AGENTS.md exists already: read it first and improve it, keeping what its authors wrote unless "
    "it is wrong or out of date (edit it; do not start over)."
)
INIT_NEW = "There is no AGENTS.md yet: create it."


def init_prompt(workspace: Path) -> str:
    return INIT_PROMPT.format(existing=INIT_EXISTING if (workspace / "AGENTS.md").exists() else INIT_NEW)


# ---- # notes ------------------------------------------------------------------------------------


async def remember_from_composer(screen: CommandHost, text: str) -> None:
    """A ``#`` message from the composer: ask where, then append. Nothing is ever lost: a
    cancelled or failed note goes back to the editor."""
    from stoa.app.screens.memory import MemoryScopeScreen
    from stoa.core.memory import (
        MemoryWriteError,
        append_memory,
        default_scope,
        entry_text,
        files_for,
        memory_note,
    )

    runtime = screen.runtime
    files = files_for(runtime.config)
    note = memory_note(text)
    default, _ = default_scope(runtime.config)
    choice = await screen.app.push_screen_wait(MemoryScopeScreen(note, files, default))
    if choice is None:
        screen.put_in_composer(text)
        return
    if choice == "send":
        await screen.send(text)
        return
    file = next(f for f in files if f.scope == choice)
    try:
        before, after = await asyncio.to_thread(append_memory, file, note)
    except MemoryWriteError as exc:
        screen.show_notice("error", f"{exc}; the note was not saved", hint="your note is back in the editor",
                           title="Memory")
        screen.put_in_composer(text)
        return
    verb = "Saved to" if after != before else "Already in"
    screen.show_notice("info", f"{verb} {file.label} ({file.scope} memory):\n{entry_text(note).rstrip()}",
                       title="Memory")


# ---- /memory -----------------------------------------------------------------------------------


def _loaded(runtime: Runtime) -> Loaded:
    from stoa.core.instructions import Instructions

    instructions = runtime.instructions or Instructions(runtime.config.workspace, runtime.config.paths.config_dir)
    return instructions.current()


def _others(runtime: Runtime, files: list[MemoryFile], loaded: Loaded) -> list[tuple[str, Path, str]]:
    """The instruction files of the system prompt that are not one of the three memory files."""
    mine = {os.path.realpath(f.path) for f in files}
    return [(s.label, s.path, s.scope) for s in loaded.sources if os.path.realpath(s.path) not in mine]


def _editor(runtime: Runtime) -> str | None:
    env = runtime.config.env
    return (env.get("VISUAL") or env.get("EDITOR") or "").strip() or None


@command("memory", "Memory and instruction files: list them, open one in your editor",
         args="[project|personal|global]")
async def _memory(ctx: CommandContext) -> None:
    from stoa.app.screens.memory import MemoryListScreen
    from stoa.core.memory import SCOPES, files_for

    runtime = ctx.runtime
    files = files_for(runtime.config)
    arg = ctx.args.strip().lower()
    if arg and arg not in SCOPES:
        ctx.error(f"unknown memory file {arg!r}", hint="/memory, or /memory project|personal|global")
        return
    if arg:
        chosen = next(f for f in files if f.scope == arg)
        await open_in_editor(ctx, chosen.path, chosen.label)
        return
    loaded = await asyncio.to_thread(_loaded, runtime)
    others = _others(runtime, files, loaded)
    picked = await ctx.app.push_screen_wait(MemoryListScreen(files, others, loaded.warnings, _editor(runtime)))
    if picked is None:
        return
    labels = {str(f.path): f.label for f in files} | {str(p): label for label, p, _ in others}
    await open_in_editor(ctx, Path(picked), labels.get(picked, picked))


async def open_in_editor(ctx: CommandContext, path: Path, label: str) -> None:
    """``$VISUAL``/``$EDITOR`` with the app suspended; Stoa's own editor without one (or when
    the terminal cannot be handed over, or the editor does not start)."""
    import shlex
    import subprocess

    from textual.app import SuspendNotSupported

    from stoa.app.screens.memory import MemoryEditorScreen
    from stoa.core.stoa_folder import ensure_gitignore_for

    editor = _editor(ctx.runtime)
    if editor:
        before = _text(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            ensure_gitignore_for(path)
            with ctx.app.suspend():
                # Blocking on purpose: the terminal is the editor's until it exits.
                code = subprocess.call([*shlex.split(editor), str(path)])  # noqa: ASYNC221
        except SuspendNotSupported:
            ctx.info(f"this terminal cannot be handed to {editor}; editing {label} in Stoa's editor")
        except (OSError, ValueError) as exc:
            ctx.error(f"could not start the editor {editor!r}: {exc}", hint="check $VISUAL / $EDITOR; Stoa's editor opened instead")
        else:
            after = _text(path)
            if code != 0:
                ctx.error(f"{editor} exited with status {code}", hint=f"{label} is as the editor left it")
            elif after != before:
                ctx.info(f"{label}: saved ({_lines(after)} lines); it applies from the next request")
                await _warn_after_edit(ctx)
            else:
                ctx.info(f"{label}: unchanged")
            return
    saved = await ctx.app.push_screen_wait(MemoryEditorScreen(path, label))
    if saved:
        ctx.info(f"{label}: saved ({_lines(_text(path))} lines); it applies from the next request")
        await _warn_after_edit(ctx)


async def _warn_after_edit(ctx: CommandContext) -> None:
    """The warnings of the hierarchy as it reads now (a missing import just written)."""
    loaded = await asyncio.to_thread(_loaded, ctx.runtime)
    if loaded.warnings:
        ctx.screen.show_notice("warning", "\n".join(loaded.warnings), title="Instructions",
                               hint="/memory opens the files again")


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _lines(text: str | None) -> int:
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


@headless("memory")
async def _memory_headless(ctx: HeadlessContext) -> int:
    """``stoa -p "/memory"``: the files, what is in them, and the warnings of the last read."""
    from stoa.core.memory import default_scope, file_state, files_for

    runtime = ctx.runtime
    files = files_for(runtime.config)
    default, _ = default_scope(runtime.config)
    loaded = await asyncio.to_thread(_loaded, runtime)
    ctx.info("Memory files (a prompt starting with # saves a note to the default one):")
    for file in files:
        mark = "  (default)" if file.scope == default else ""
        ctx.info(f"  {file.scope:<9} {file.label}  {file_state(file.path)} · {file.describe()}{mark}")
    others = _others(runtime, files, loaded)
    if others:
        ctx.info("Also in the system prompt:")
        for label, path, scope in others:
            ctx.info(f"  {scope:<9} {label}  {file_state(path)}")
    for warning in loaded.warnings:
        ctx.info(f"warning: {warning}")
    return EXIT_OK


# ---- /init -------------------------------------------------------------------------------------


@command("init", "Have the model study the repository and write or improve AGENTS.md", while_busy=False)
async def _init(ctx: CommandContext) -> None:
    # Ask mode for this turn: the file comes as a diff to approve, whatever the session's mode.
    await ctx.screen.start_turn(init_prompt(ctx.runtime.config.workspace), INIT_DISPLAY, mode="ask")


@headless("init")
async def _init_headless(ctx: HeadlessContext) -> int | str:
    """``stoa -p "/init"``: the turn, then the diff of AGENTS.md (what the TUI asks about)."""
    path = ctx.runtime.config.workspace / "AGENTS.md"
    before = _text(path)
    ctx.after_turn = lambda: agents_md_report(path, before)
    return init_prompt(ctx.runtime.config.workspace)


def agents_md_report(path: Path, before: str | None) -> str:
    """What the /init turn did to AGENTS.md, as a unified diff."""
    from stoa.core.diffs import diff_counts, unified_diff

    after = _text(path)
    if after == before:
        return "AGENTS.md: unchanged"
    if after is None:
        return "AGENTS.md: removed"
    diff = unified_diff(before or "", after, "AGENTS.md")
    added, removed = diff_counts(diff)
    what = "created" if before is None else "changed"
    return f"AGENTS.md {what} (+{added} -{removed} lines):\n{diff.rstrip()}"
