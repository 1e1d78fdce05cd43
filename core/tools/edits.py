"""edit_file: exact-text replacement in one file, one edit or several, all or nothing.

One edit is ``old_string``/``new_string`` (``replace_all`` for every occurrence); several are
``edits: [{old_string, new_string, replace_all?}, ...]``, applied in order, each to the text the
previous ones left. Any edit that does not apply means nothing is written, and the error names
the edit by its index. The result is written once, atomically, after the same checks as every
file tool (path resolution, a file changed on disk since it was read is refused); the
permission question shows one diff of the whole change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from stoa.core.diffs import diff_counts, unified_diff
from stoa.core.permissions.paths import ResolvedPath
from stoa.core.tools import caps
from stoa.core.tools.base import ARGS_CONFIG, Access, Effect, Tool, ToolContext, ToolError, ToolOutput
from stoa.core.tools.editor import editor_bytes, editor_write
from stoa.core.tools.files import (
    PathArgs,
    PathText,
    TooLarge,
    atomic_write,
    check_fresh,
    check_parent,
    encode_text,
    ensure_parent,
    human_size,
    in_thread,
    looks_binary,
    near_names,
    os_error_message,
    path_access,
    preview_bytes,
    read_regular,
    refuse_trailing_slash,
    resolve_arg,
    stamp_written,
)

OLD_STRING_HELP = (
    "The exact text to replace, copied from the file (without read_file's line-number prefixes), "
    "including whitespace and indentation. It must match exactly once unless replace_all is true; "
    "include enough surrounding lines to make it unique."
)
NEW_STRING_HELP = "The text to put in its place (must differ from old_string)."
REPLACE_ALL_HELP = "Replace every occurrence of old_string, not just one."
# More edits than this in one call is a rewrite: write_file says it better.
MAX_EDITS = 100
_FORM_FIELDS = frozenset({"old_string", "new_string", "replace_all", "edits"})


class Edit(BaseModel):
    """One replacement of a multi-edit call."""

    model_config = ARGS_CONFIG

    old_string: str = Field(description=OLD_STRING_HELP)
    new_string: str = Field(description=NEW_STRING_HELP)
    replace_all: bool = Field(default=False, description=REPLACE_ALL_HELP)


def _no_default(schema: dict[str, Any]) -> None:
    # Optional in one form of the call, required in the other: the schema shows no default.
    schema.pop("default", None)


def _at_least_one(schema: dict[str, Any]) -> None:
    schema.pop("default", None)
    schema["minItems"] = 1


class EditFileArgs(PathArgs):
    path: PathText = Field(description="File to edit, relative to the workspace root or absolute.")
    old_string: str = Field(
        default="",
        description=f"{OLD_STRING_HELP} (One edit; for several, use edits.)",
        json_schema_extra=_no_default,
    )
    new_string: str = Field(default="", description=NEW_STRING_HELP, json_schema_extra=_no_default)
    replace_all: bool = Field(default=False, description=REPLACE_ALL_HELP)
    edits: list[Edit] = Field(
        default_factory=list,
        max_length=MAX_EDITS,
        description=(
            "Several edits to this one file, instead of old_string/new_string: applied in order, each "
            "to the text left by the edits before it, all or nothing (if one does not apply, nothing "
            "is written and the error names it by its index)."
        ),
        json_schema_extra=_at_least_one,
    )

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        # Models often send every optional argument, the unused ones as null.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v is None and k in _FORM_FIELDS)}
        return data

    @model_validator(mode="after")
    def _one_form(self) -> EditFileArgs:
        given = self.model_fields_set
        # Beside edits, an empty old/new string or replace_all=false is a default sent along.
        single = (given & {"old_string", "new_string"} and (self.old_string or self.new_string)) or self.replace_all
        if "edits" in given and single:
            raise PydanticCustomError(
                "edit_form",
                "pass either old_string/new_string (one edit) or edits (several), not both; put every "
                "change, with its own replace_all, in edits",
            )
        if "edits" in given and not self.edits:
            raise PydanticCustomError(
                "edit_form", "edits is empty: pass at least one {old_string, new_string} object"
            )
        if "edits" not in given and not {"old_string", "new_string"} <= given:
            missing = " and ".join(n for n in ("old_string", "new_string") if n not in given)
            raise PydanticCustomError(
                "edit_form",
                "{missing} missing: pass old_string and new_string (one edit), or "
                "edits: [{old_string, new_string}, ...] (several)",
                {"missing": missing},
            )
        return self

    def steps(self) -> list[Edit]:
        if self.edits:
            return list(self.edits)
        return [Edit(old_string=self.old_string, new_string=self.new_string, replace_all=self.replace_all)]


@dataclass
class EditPlan:
    old_text: str
    new_text: str
    count: int  # occurrences replaced, over every edit
    first_line: int  # where the first edit landed, in the text it was applied to
    edits: int = 1


def plan_one(edit: Edit, text: str, display: str) -> EditPlan:
    """Apply one edit to ``text`` in memory; ToolError when it does not apply."""
    old, new = edit.old_string, edit.new_string
    if old == new:
        raise ToolError("old_string and new_string are the same; there is nothing to change")
    if old == "":
        if text == "":
            return EditPlan(text, new, 1, 1)
        raise ToolError(
            f"old_string is empty but {display} is not; pass the exact text to replace "
            "(to replace the whole file, use write_file)"
        )
    count = text.count(old)
    if count == 0 and "\r\n" in text and "\n" in old and "\r\n" not in old:
        # The file uses CRLF line endings; the model wrote LF.
        old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
        count = text.count(old)
    if count == 0:
        hint = ""
        if old.strip() and old.strip() != old and text.count(old.strip()) > 0:
            hint = " (it would match without its leading/trailing whitespace)"
        raise ToolError(
            f"old_string was not found in {display}{hint}. Read the file again (read_file) and copy the "
            "exact text, including whitespace and indentation, without the line-number prefixes"
        )
    if count > 1 and not edit.replace_all:
        raise ToolError(
            f"old_string was found {count} times in {display}; pass replace_all=true to replace every "
            "occurrence, or include more surrounding context in old_string so it matches exactly once"
        )
    first_line = text[: text.index(old)].count("\n") + 1
    replaced = text.replace(old, new) if edit.replace_all else text.replace(old, new, 1)
    return EditPlan(text, replaced, count if edit.replace_all else 1, first_line)


def plan_edits(steps: list[Edit], text: str, display: str) -> EditPlan:
    """Apply the edits in order to ``text`` in memory. The first that does not apply raises
    ToolError naming it (``edits[i]``); nothing is half applied, since nothing is written here."""
    if len(steps) == 1:
        return plan_one(steps[0], text, display)
    current = text
    count = 0
    first_line = 0
    for index, step in enumerate(steps):
        try:
            one = plan_one(step, current, display)
        except ToolError as exc:
            raise ToolError(_failed_edit(index, len(steps), str(exc), step, text, current)) from None
        current, count = one.new_text, count + one.count
        first_line = first_line or one.first_line
    return EditPlan(text, current, count, first_line, edits=len(steps))


def _failed_edit(index: int, total: int, reason: str, step: Edit, original: str, current: str) -> str:
    hint = ""
    if index and step.old_string and step.old_string in original and step.old_string not in current:
        hint = (
            " Its old_string is in the file as it was, but an earlier edit of this call changed that "
            "text: each edit applies to the text left by the edits before it."
        )
    return (
        f"edits[{index}] (edit {index + 1} of {total}) does not apply: {reason}.{hint} Nothing was "
        "written; fix that edit and send all the edits again"
    )


def text_for_edit(data: bytes, display: str, tool: str = "edit_file") -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ToolError(f"{display} is UTF-16 text; {tool} edits UTF-8 text (rewrite it with write_file)")
    if looks_binary(data[:8192]):
        raise ToolError(f"{display} is a binary file; {tool} edits text files only")
    # surrogateescape keeps bytes that are not UTF-8 exactly as they were.
    return data.decode("utf-8", errors="surrogateescape")


def shown(text: str) -> str:
    """Text for diffs: undecodable bytes (kept as surrogates) shown as replacement characters."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class EditFile(Tool):
    name = "edit_file"
    description = (
        "Replace exact text in a file. One edit: old_string must match the file exactly once (or pass "
        "replace_all=true). Several edits to the same file: pass edits=[{old_string, new_string, "
        "replace_all?}, ...] instead; they apply in order, each to the text left by the ones before, "
        "all or nothing. Read the file first; if it changed on disk since, the edit is refused. With "
        "an empty old_string, creates a new file (or fills an empty one) with new_string."
    )
    Args = EditFileArgs
    effect = Effect.MUTATE

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        resolved = resolve_arg(args, ctx, checking=True)
        preview = None
        try:
            data = preview_bytes(resolved)
            if data is not None:
                plan = plan_edits(args.steps(), text_for_edit(data, resolved.display), resolved.display)
                preview = unified_diff(shown(plan.old_text), shown(plan.new_text), resolved.display) or None
        except (ToolError, OSError, ValueError):
            preview = None  # the run reports the problem; nothing about the file leaks before approval
        return [
            path_access(resolved, "read", Effect.READ, "reads"),
            path_access(resolved, "write", Effect.MUTATE, "edits", preview, action="edit"),
        ]

    async def precheck(self, args: Any, ctx: ToolContext) -> None:
        resolved = resolve_arg(args, ctx, checking=False)
        await in_thread(self._plan, args, resolved, ctx)

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        resolved = resolve_arg(args, ctx, checking=False)
        return await in_thread(self._edit, args, resolved, ctx)

    def _edit(self, args: EditFileArgs, resolved: ResolvedPath, ctx: ToolContext) -> ToolOutput:
        plan = self._plan(args, resolved, ctx)
        created = not resolved.exists
        if created:
            ensure_parent(resolved.canonical, resolved.display)
        return self._commit(resolved.canonical, resolved.display, plan, ctx, created=created)

    def _plan(self, args: EditFileArgs, resolved: ResolvedPath, ctx: ToolContext) -> EditPlan:
        """What the edit would write, from the file as it is now; raises ToolError when it
        cannot apply. Changes nothing."""
        path, display = resolved.canonical, resolved.display
        refuse_trailing_slash(args.path)
        steps = args.steps()
        if not resolved.exists:
            if steps[0].old_string == "":
                check_parent(path, display)
                return plan_edits(steps, "", display)
            raise ToolError(
                f"file not found: {display}.{near_names(resolved)} To create a new file, use write_file"
            )
        if path.is_dir():
            raise ToolError(f"{display} is a directory, not a file")
        try:
            data, st = read_regular(path, display, max_bytes=caps.READ_MAX_BYTES)
        except TooLarge as big:
            raise ToolError(
                f"{display} is {human_size(big.st.st_size)}, over the {human_size(caps.READ_MAX_BYTES)} "
                "limit for edit_file; change it with a command instead"
            ) from None
        data = editor_bytes(ctx, path, data)
        check_fresh(ctx, path, display, st, data)
        return plan_edits(steps, text_for_edit(data, display), display)

    def _commit(self, path: Path, display: str, plan: EditPlan, ctx: ToolContext, *, created: bool) -> ToolOutput:
        data = encode_text(plan.new_text, display)
        try:
            if not editor_write(ctx, path, data):
                atomic_write(path, data)
        except OSError as exc:
            raise ToolError(
                os_error_message(exc, "write", display, unchanged=None if created else display)
            ) from None
        stamp_written(ctx, path, data)
        diff = unified_diff(shown(plan.old_text), shown(plan.new_text), display)
        added, removed = diff_counts(diff)
        if created:
            summary = f"Created {display} ({plan.new_text.count(chr(10)) + 1} lines)"
        elif plan.edits > 1:
            times = f"{plan.count} replacement{'s' if plan.count != 1 else ''}"
            summary = f"Edited {display}: {plan.edits} edits, {times} (+{added} -{removed} lines)"
        else:
            times = "1 occurrence" if plan.count == 1 else f"{plan.count} occurrences"
            summary = (
                f"Edited {display}: replaced {times} at line {plan.first_line} (+{added} -{removed} lines)"
            )
        return ToolOutput.text(summary, display={"kind": "diff", "diff": diff, "path": display})

    def summary(self, args: Any) -> str:
        count = len(args.edits) if args.edits else 0
        return f"{args.path} ({count} edits)" if count > 1 else str(args.path)
