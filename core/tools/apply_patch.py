"""apply_patch: the edit tool of OpenAI's models, in the patch format Codex uses.

The patch (one string argument, ``patch``) may add, update, move and delete several files.
It is parsed by core/tools/patch.py, then every file operation is checked against the files
as they are (and against the operations before it in the same patch) before anything is
written: a hunk that does not fit, a missing file, a file changed since the model read it
means nothing is written. The new contents are then staged next to their files (fsynced temp
files) and renamed into place; should a rename fail, what was already changed is restored.

Every path goes through the same resolution and permission checks as the other file tools:
updates read and write, adds write, deletes are destructive (a patch that deletes asks, in
every mode but plan, which does not offer it). The question shows one diff of the whole patch.

Offered to models trained on this format: OpenAI's (provider ``openai``) and GPT models served
elsewhere (an id whose last part starts with ``gpt-``, e.g. ``openai/gpt-5`` on OpenRouter or
``gpt-oss`` on Ollama). It is a function tool with one string argument, which every wire
format carries (Codex offers GPT-5 a freeform "custom" tool; the Chat Completions servers
cannot take one, and a function keeps one code path and history across provider switches).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, PrivateAttr

from stoa.core.diffs import diff_name, unified_diff
from stoa.core.permissions.paths import ResolvedPath
from stoa.core.tools import caps
from stoa.core.tools.base import Access, Effect, Tool, ToolContext, ToolError, ToolOutput
from stoa.core.tools.edits import shown, text_for_edit
from stoa.core.tools.files import (
    PathArgs,
    TooLarge,
    atomic_write,
    check_fresh,
    check_parent,
    discard_staged,
    encode_text,
    forget_stamp,
    fsync_dir,
    human_size,
    in_thread,
    looks_binary,
    os_error_message,
    path_access,
    preview_bytes,
    read_regular,
    record_stamp,
    resolve_arg,
    stage_file,
)
from stoa.core.tools.patch import (
    AddFile,
    DeleteFile,
    Hunk,
    PatchApplyError,
    PatchSyntaxError,
    UpdateFile,
    apply_chunks,
    parse_patch,
)

if TYPE_CHECKING:
    from stoa.core.models import ModelInfo

FORMAT_HELP = """Edit files with a patch. The patch is one string:

*** Begin Patch
[one or more file operations]
*** End Patch

Each operation starts with a header:
*** Add File: <path> - create a file (or replace one); every following line is "+" and a line of it.
*** Delete File: <path> - delete a file; nothing follows.
*** Update File: <path> - change a file, optionally followed by "*** Move to: <new path>" to rename it;
then one or more chunks, each starting with "@@" (optionally "@@ <a line to find first>, such as a
class or def line"). In a chunk, each line starts with " " (context, unchanged), "-" (removed) or
"+" (added). Show about 3 lines of context above and below each change, exactly as in the file; if
that is not unique, put the enclosing class or function line after "@@". "*** End of File" after a
chunk anchors it at the end of the file.

Example:
*** Begin Patch
*** Add File: docs/hello.txt
+Hello world
*** Update File: src/app.py
*** Move to: src/main.py
@@ def greet():
-    print("Hi")
+    print("Hello, world!")
*** Delete File: obsolete.txt
*** End Patch

Paths are relative to the workspace root. The patch applies as a whole or not at all. Read a file
before changing it; if it changed on disk since, the patch is refused."""


def offers_apply_patch(model: ModelInfo) -> bool:
    """Whether a model was trained on this patch format: OpenAI's, and GPT models elsewhere."""
    if model.provider == "openai":
        return True
    name = model.id.rsplit("/", 1)[-1].lower()
    return name.startswith("gpt-")


class ApplyPatchArgs(PathArgs):
    patch: str = Field(description="The whole patch, from '*** Begin Patch' to '*** End Patch'.")
    _hunks: list[Hunk] | None = PrivateAttr(default=None)

    def hunks(self) -> list[Hunk]:
        if self._hunks is None:
            try:
                self._hunks = parse_patch(self.patch)
            except PatchSyntaxError as exc:
                raise ToolError(
                    f"{exc}. Nothing was changed; send the patch again in the apply_patch format "
                    f"('*** Begin Patch', file operations, '*** End Patch')"
                ) from None
        return self._hunks


@dataclass
class _File:
    """One file as the patch leaves it. ``before``/``after`` None: not there."""

    resolved: ResolvedPath
    before: bytes | None
    st: os.stat_result | None
    after: bytes | None = None
    like: os.stat_result | None = None  # whose mode a new file takes (a move keeps its source's)

    @property
    def path(self) -> Path:
        return self.resolved.canonical

    @property
    def display(self) -> str:
        return self.resolved.display


@dataclass(frozen=True)
class _Change:
    """One operation for the diff: names and contents before and after (None: not there)."""

    before_name: str | None
    after_name: str | None
    old: bytes | None
    new: bytes | None


@dataclass
class _Plan:
    files: dict[Path, _File] = field(default_factory=dict)
    # (letter, display) per operation, as Codex reports them: A added, M modified, D deleted.
    report: list[tuple[str, str]] = field(default_factory=list)
    changes: list[_Change] = field(default_factory=list)


def _label(hunk: Hunk, number: int) -> str:
    kind = "Add File" if isinstance(hunk, AddFile) else "Delete File" if isinstance(hunk, DeleteFile) else "Update File"
    return f"hunk {number} (*** {kind}: {hunk.path})"


class ApplyPatch(Tool):
    name = "apply_patch"
    description = FORMAT_HELP
    Args = ApplyPatchArgs
    effect = Effect.MUTATE

    def offered_to(self, model: ModelInfo) -> bool:
        return offers_apply_patch(model)

    def effect_for(self, args: Any, ctx: ToolContext) -> Effect:
        try:
            hunks = args.hunks()
        except ToolError:
            return Effect.MUTATE
        return Effect.DESTRUCTIVE if any(isinstance(h, DeleteFile) for h in hunks) else Effect.MUTATE

    def summary(self, args: Any) -> str:
        try:
            hunks = args.hunks()
        except ToolError:
            return "(a patch that does not parse)"
        parts = []
        for hunk in hunks:
            if isinstance(hunk, AddFile):
                parts.append(f"+{hunk.path}")
            elif isinstance(hunk, DeleteFile):
                parts.append(f"-{hunk.path}")
            else:
                parts.append(f"{hunk.path} → {hunk.move_to}" if hunk.move_to else hunk.path)
        return ", ".join(parts)

    # ---- paths and permissions ------------------------------------------------------------------

    def _resolve(self, args: Any, ctx: ToolContext, checking: bool) -> list[tuple[Hunk, ResolvedPath, ResolvedPath | None]]:
        out = []
        for number, hunk in enumerate(args.hunks(), start=1):
            follow = not isinstance(hunk, DeleteFile)  # deleting a link deletes the link
            resolved = resolve_arg(
                args, ctx, f"the path of hunk {number}", follow_final=follow, checking=checking, value=hunk.path
            )
            dest = None
            if isinstance(hunk, UpdateFile) and hunk.move_to is not None:
                dest = resolve_arg(
                    args, ctx, f"the Move to path of hunk {number}", checking=checking, value=hunk.move_to
                )
            out.append((hunk, resolved, dest))
        return out

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        accesses: list[Access] = []
        for hunk, resolved, dest in self._resolve(args, ctx, checking=True):
            if isinstance(hunk, AddFile):
                accesses.append(path_access(resolved, "write", Effect.MUTATE, "writes", action="patch"))
            elif isinstance(hunk, DeleteFile):
                accesses.append(path_access(resolved, "write", Effect.DESTRUCTIVE, "deletes", action="patch"))
            else:
                accesses.append(path_access(resolved, "read", Effect.READ, "reads"))
                accesses.append(path_access(resolved, "write", Effect.MUTATE, "edits", action="patch"))
                if dest is not None:
                    accesses.append(path_access(dest, "write", Effect.MUTATE, "writes", action="patch"))
        if not accesses:
            raise ToolError(
                "No files were modified: the patch holds no file operation. Add '*** Add File:', "
                "'*** Update File:' or '*** Delete File:' sections between the markers"
            )
        first_write = next(i for i, a in enumerate(accesses) if a.scope == "write")
        preview = self._preview(args, ctx)
        write = accesses[first_write]
        accesses[first_write] = Access(
            scope=write.scope,
            target=write.target,
            effect=write.effect,
            outside_workspace=write.outside_workspace,
            reason=write.reason,
            preview=preview,
            action=write.action,
        )
        return accesses

    def _preview(self, args: Any, ctx: ToolContext) -> str:
        """The question shows the diff of the whole patch when the files allow it (a person
        sees it, never the model), else the patch as it was sent."""
        try:
            plan = self._plan(args, ctx, checking=True, peek=True)
        except (ToolError, OSError, ValueError):
            return str(args.patch).strip()
        return _diff(plan) or str(args.patch).strip()

    # ---- planning: what the patch leaves, nothing written ----------------------------------------

    async def precheck(self, args: Any, ctx: ToolContext) -> None:
        await in_thread(self._plan, args, ctx, False)

    def _plan(self, args: Any, ctx: ToolContext, checking: bool = False, *, peek: bool = False) -> _Plan:
        """Every operation applied in memory, in order, to the files as they are now. Raises
        ToolError naming the first operation that cannot apply. ``peek``: for the question's
        preview only (bounded reads, no freshness check)."""
        plan = _Plan()
        for number, (hunk, resolved, dest) in enumerate(self._resolve(args, ctx, checking=checking), start=1):
            try:
                self._apply_hunk(plan, hunk, resolved, dest, ctx, peek)
            except ToolError as exc:
                raise ToolError(
                    f"{_label(hunk, number)}: {exc}. Nothing was changed; fix the patch and send all of it again"
                ) from None
        return plan

    def _apply_hunk(
        self, plan: _Plan, hunk: Hunk, resolved: ResolvedPath, dest: ResolvedPath | None, ctx: ToolContext, peek: bool
    ) -> None:
        current = self._load(plan, resolved, ctx, peek)
        name, old = current.display, current.after
        if isinstance(hunk, AddFile):
            current.after = encode_text(hunk.contents, name)
            plan.report.append(("A", name))
            plan.changes.append(_Change(name if old is not None else None, name, old, current.after))
            return
        if old is None:
            verb = "delete" if isinstance(hunk, DeleteFile) else "update"
            add = "" if isinstance(hunk, DeleteFile) else " (to create it, use '*** Add File:')"
            raise ToolError(f"cannot {verb} {current.display}: it does not exist{add}")
        if isinstance(hunk, DeleteFile):
            current.after = None
            plan.report.append(("D", name))
            plan.changes.append(_Change(name, None, old, None))
            return
        try:
            new = encode_text(apply_chunks(text_for_edit(old, name, "apply_patch"), hunk.chunks, name), name)
        except PatchApplyError as exc:
            raise ToolError(str(exc)) from None
        if dest is None or dest.canonical == current.path:
            current.after = new
            plan.report.append(("M", name))
            plan.changes.append(_Change(name, name, old, new))
            return
        if resolved.via_symlink:
            raise ToolError(f"{name} is a symlink; rename it with move_file, then update it")
        target = self._load(plan, dest, ctx, peek)
        target.after, target.like = new, current.st
        current.after = None
        plan.report.append(("M", target.display))
        plan.changes.append(_Change(name, target.display, old, new))

    def _load(self, plan: _Plan, resolved: ResolvedPath, ctx: ToolContext, peek: bool) -> _File:
        """A file as the patch has left it so far (read from disk the first time)."""
        known = plan.files.get(resolved.canonical)
        if known is not None:
            return known
        path, display = resolved.canonical, resolved.display
        data: bytes | None = None
        st = None
        if path.is_symlink():  # only a path not followed (a delete) can still be a link
            raise ToolError(f"{display} is a symlink; delete the link itself with delete_file")
        if resolved.exists:
            if path.is_dir():
                raise ToolError(f"{display} is a directory, not a file")
            if peek:
                data = preview_bytes(resolved)
                if data is None:
                    raise ToolError("no preview")
                st = path.stat()
            else:
                try:
                    data, st = read_regular(path, display, max_bytes=caps.READ_MAX_BYTES)
                except TooLarge as big:
                    raise ToolError(
                        f"{display} is {human_size(big.st.st_size)}, over the {human_size(caps.READ_MAX_BYTES)} "
                        "limit for apply_patch; change it with a command instead"
                    ) from None
                check_fresh(ctx, path, display, st, data)
        elif not peek:
            check_parent(path, display)
        plan.files[path] = _File(resolved, data, st, data)
        return plan.files[path]

    # ---- writing ---------------------------------------------------------------------------------

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        return await in_thread(self._apply, args, ctx)

    def _apply(self, args: Any, ctx: ToolContext) -> ToolOutput:
        plan = self._plan(args, ctx)
        changed = [f for f in plan.files.values() if f.after != f.before]
        writes = [f for f in changed if f.after is not None]
        deletes = [f for f in changed if f.after is None]
        staged: list[tuple[Path, _File]] = []
        made: list[Path] = []
        current: _File | None = None
        try:
            for current in writes:
                made += _make_parents(current.path)
                assert current.after is not None
                staged.append((stage_file(current.path, current.after, like=current.like), current))
        except OSError as exc:
            for tmp, _ in staged:
                discard_staged(tmp)
            _remove_dirs(made)
            where = current.display if current is not None else "the files"
            raise ToolError(os_error_message(exc, "write", where) + "; nothing was changed") from None
        done: list[_File] = []
        try:
            for tmp, current in staged:
                os.replace(tmp, current.path)
                done.append(current)
            for current in deletes:
                os.unlink(current.path)
                done.append(current)
        except OSError as exc:
            for tmp, f in staged:
                if f not in done:
                    discard_staged(tmp)
            problems = _restore(done)
            _remove_dirs(made)
            restored = "; the files changed before it were restored" if not problems else (
                "; restoring the files changed before it failed for: " + ", ".join(problems)
            )
            verb = "delete" if current in deletes else "write"
            where = current.display if current is not None else "the files"
            raise ToolError(os_error_message(exc, verb, where) + restored) from None
        for directory in {f.path.parent for f in changed}:
            fsync_dir(directory)
        for f in changed:
            if f.after is None:
                forget_stamp(ctx, f.path)
            else:
                record_stamp(ctx, f.path, f.path.stat(), f.after)
        diff = _diff(plan)
        lines = ["Success. Updated the following files:"]
        for letter in "AMD":
            lines += [f"{letter} {display}" for kind, display in plan.report if kind == letter]
        return ToolOutput.text("\n".join(lines), display={"kind": "diff", "diff": diff, "path": "apply_patch"})


def _make_parents(path: Path) -> list[Path]:
    """Create the missing directories above ``path``; the ones created, outermost first."""
    missing: list[Path] = []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(parent))
    made = []
    for directory in reversed(missing):
        directory.mkdir()
        made.append(directory)
    return made


def _remove_dirs(made: list[Path]) -> None:
    for directory in reversed(made):
        try:
            directory.rmdir()
        except OSError:
            pass


def _restore(done: list[_File]) -> list[str]:
    """Undo the renames and deletes already made; the names that could not be restored."""
    failed = []
    for f in reversed(done):
        try:
            if f.before is None:
                os.unlink(f.path)
            else:
                atomic_write(f.path, f.before)
                if f.st is not None:
                    os.chmod(f.path, f.st.st_mode & 0o7777)
        except OSError:
            failed.append(f.display)
    return failed


def _diff(plan: _Plan) -> str:
    """One unified diff of every operation, in the patch's order (for people, capped)."""
    parts: list[str] = []
    total = 0
    for change in plan.changes:
        old, new = change.old or b"", change.new or b""
        before = diff_name("a", change.before_name) if change.before_name is not None else "/dev/null"
        after = diff_name("b", change.after_name) if change.after_name is not None else "/dev/null"
        if looks_binary(old[:8192]) or looks_binary(new[:8192]):
            part = f"--- {before}\n+++ {after}\n(binary file)\n"
        else:
            part = unified_diff(
                shown(old.decode("utf-8", "surrogateescape")),
                shown(new.decode("utf-8", "surrogateescape")),
                change.after_name or change.before_name or "",
                before=before,
                after=after,
            )
        total += len(part)
        if total > caps.DIFF_DISPLAY_CHARS:
            parts.append("[... diff cut ...]\n")
            break
        parts.append(part)
    return "".join(parts)
