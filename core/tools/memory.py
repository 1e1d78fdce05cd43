"""remember: save a note the person asked the model to keep, in one of their instruction files.

A write like any other: the policy judges a write access to the file (ask mode asks, with the
diff; the global file is outside the workspace, so it asks in auto mode too; plan mode does not
offer it), and the tool row shows the diff of what it appended. The files and the appending are
``core.memory``'s.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from stoa.core.memory import (
    MemoryFile,
    MemoryScope,
    MemoryWriteError,
    append_memory,
    default_scope,
    entry_text,
    memory_file,
    memory_files,
    preview_diff,
)
from stoa.core.tools.base import ARGS_CONFIG, Access, Effect, Tool, ToolContext, ToolError, ToolOutput
from stoa.core.tools.files import in_thread, path_access, resolve_arg

MAX_NOTE_CHARS = 2_000


class RememberArgs(BaseModel):
    model_config = ARGS_CONFIG

    note: str = Field(description="What to remember, as one short instruction (e.g. 'Run tests with make check').")
    scope: MemoryScope | None = Field(
        default=None,
        description=(
            "Where: project (the project's AGENTS.md, shared with everyone on it), personal "
            "(.stoa/instructions.md: this person, this project), global (this person, every project). "
            "Leave it out for the person's default (usually project)."
        ),
    )

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the note is empty; say what to remember")
        if len(value) > MAX_NOTE_CHARS:
            raise ValueError(f"a note is at most {MAX_NOTE_CHARS} characters; keep it to one short instruction")
        return value


class Remember(Tool):
    name = "remember"
    description = (
        "Save a note in the person's instruction files so it applies in later sessions too. Only when "
        "the person asks you to remember something (a preference, a convention, a command); one short "
        "instruction per note. The note is appended as a list item; the person sees what was written."
    )
    Args = RememberArgs
    effect = Effect.MUTATE

    def summary(self, args: Any) -> str:
        return f"{args.scope or 'default'}: {args.note.splitlines()[0]}"

    def _file(self, args: RememberArgs, ctx: ToolContext) -> MemoryFile:
        scope = args.scope or default_scope(ctx.config)[0]
        if ctx.config is not None:
            return memory_file(ctx.config, scope)
        if scope == "global":  # no configuration, no config folder (only in embeddings and tests)
            raise ToolError("the global memory file is not known in this session; use scope project or personal")
        return next(f for f in memory_files(ctx.workspace, ctx.workspace) if f.scope == scope)

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        file = self._file(args, ctx)
        resolved = resolve_arg(args, ctx, "path", checking=True, value=str(file.path))
        preview = preview_diff(file, args.note)
        return [path_access(resolved, "write", Effect.MUTATE, "writes", preview, action="edit")]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        file = self._file(args, ctx)
        resolve_arg(args, ctx, "path", checking=False, value=str(file.path))
        try:
            before, after = await in_thread(append_memory, file, args.note)
        except MemoryWriteError as exc:
            raise ToolError(f"{exc}; the note was not saved. Tell the person, and give them the note to save") from None
        from stoa.core.diffs import unified_diff

        diff = unified_diff(before, after, file.label)
        verb = "Saved to" if after != before else "Already in (nothing written)"
        text = f"{verb} {file.label} ({file.scope} memory):\n{entry_text(args.note).rstrip()}"
        return ToolOutput.text(text, display={"kind": "diff", "diff": diff, "path": file.label})
