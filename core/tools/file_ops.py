"""The file tools that move, copy and delete: move_file, copy_file, delete_file,
delete_directory.

Like every file tool they resolve paths through ``core.permissions.paths``, declare what they
touch (a directory's entries one by one, so deny rules inside still apply) and check, before
anyone is asked, what can be checked (``precheck``). Shared helpers live in core/tools/files.py.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from stoa.core.permissions.paths import ResolvedPath, canonical_root, display_path, is_inside, resolve
from stoa.core.tools.base import Access, Effect, Tool, ToolContext, ToolError, ToolOutput
from stoa.core.tools.files import (
    TREE_ACCESS_LIMIT,
    PathArgs,
    PathText,
    check_parent,
    copy_regular,
    ensure_parent,
    forget_stamp,
    human_size,
    in_thread,
    not_found,
    os_error_message,
    path_access,
    resolve_arg,
)

# ---- move_file / copy_file ------------------------------------------------------------------


class TransferArgs(PathArgs):
    source: PathText = Field(
        description="The file or directory to take, relative to the workspace or absolute."
    )
    destination: PathText = Field(
        description=(
            "Where it goes: a new path, or an existing directory to put it in. An existing file is "
            "never overwritten (delete it first if that is intended)."
        )
    )


def _tree_accesses(root: Path, workspace: Path, scope: str, effect: Effect, verb: str) -> list[Access]:
    """One access per entry below a (canonical) directory, so deny rules on anything inside
    still apply. Links inside are not followed: each entry is judged as the entry itself."""
    out: list[Access] = []
    ws = canonical_root(workspace)
    # One wording for every entry outside: the refusal (which reaches the model before any
    # approval) names the directory, never the names inside it, nor how many there are.
    outside_reason = f"{verb} {root} and everything in it, outside the workspace"
    for current, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            target = os.path.join(current, name)
            inside = is_inside(target, ws)
            out.append(
                Access(
                    scope=scope,  # type: ignore[arg-type]
                    target=target,
                    effect=effect,
                    outside_workspace=not inside,
                    reason="" if inside else outside_reason,
                )
            )
            if len(out) > TREE_ACCESS_LIMIT:
                raise ToolError(
                    f"{display_path(root, workspace)} holds more than {TREE_ACCESS_LIMIT:,} entries, too many "
                    "to check one by one; use execute_bash for this"
                )
    return out


def _final_destination(source: ResolvedPath, dest: ResolvedPath, ctx: ToolContext) -> ResolvedPath:
    """An existing directory as destination means 'into it', as mv and cp do."""
    if dest.exists and dest.canonical.is_dir():
        return resolve(os.path.join(dest.canonical, source.canonical.name), ctx.workspace, follow_final=False)
    return dest


class _Transfer(Tool):
    Args = TransferArgs
    effect = Effect.MUTATE
    verb: ClassVar[str]
    follow_source: ClassVar[bool]

    def summary(self, args: Any) -> str:
        return f"{args.source} → {args.destination}"

    def _resolve_pair(self, args: Any, ctx: ToolContext, checking: bool) -> tuple[ResolvedPath, ResolvedPath]:
        source = resolve_arg(args, ctx, "source", follow_final=self.follow_source, checking=checking)
        if source.exists and is_inside(source.workspace, source.canonical):
            raise ToolError(
                f"cannot {self.verb} {source.display}: it is the workspace root or contains it"
            )
        dest = resolve_arg(args, ctx, "destination", checking=checking)
        return source, _final_destination(source, dest, ctx)

    def _preview(self, source: ResolvedPath, dest: ResolvedPath) -> str:
        return f"{self.verb} {source.display}\nto   {dest.display}"

    def _source_accesses(self, source: ResolvedPath, ctx: ToolContext) -> list[Access]:
        accesses = [path_access(source, "read", Effect.READ, "reads")]
        if source.exists and source.canonical.is_dir() and not source.canonical.is_symlink():
            accesses += _tree_accesses(source.canonical, ctx.workspace, "read", Effect.READ, "reads")
        return accesses

    async def precheck(self, args: Any, ctx: ToolContext) -> None:
        source, dest = self._resolve_pair(args, ctx, checking=False)
        await in_thread(self._check, source, dest)

    def _check(self, source: ResolvedPath, dest: ResolvedPath) -> None:
        if not source.exists:
            raise not_found(source, "source")
        if dest.exists or dest.canonical.is_symlink():
            raise ToolError(
                f"{dest.display} already exists; {self.name} never overwrites. Delete it first "
                "(delete_file) if replacing it is intended, or choose another destination"
            )
        if source.canonical == source.workspace:
            raise ToolError(f"cannot {self.verb} the workspace root itself")
        src = str(source.canonical)
        if str(dest.canonical).startswith(src.rstrip(os.sep) + os.sep):
            raise ToolError(f"cannot {self.verb} {source.display} into itself ({dest.display})")
        check_parent(dest.canonical, dest.display)


class MoveFile(_Transfer):
    name = "move_file"
    description = (
        "Move or rename a file or directory. If destination is an existing directory, the source is "
        "moved into it. Never overwrites an existing file; missing parent directories are created."
    )
    verb = "move"
    follow_source = False  # moving a symlink moves the link

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        source, dest = self._resolve_pair(args, ctx, checking=True)
        return [
            *self._source_accesses(source, ctx),
            path_access(source, "write", Effect.MUTATE, "moves", self._preview(source, dest), action="move"),
            path_access(dest, "write", Effect.MUTATE, "writes", action="move"),
        ]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        source, dest = self._resolve_pair(args, ctx, checking=False)
        return await in_thread(self._move, source, dest, ctx)

    def _move(self, source: ResolvedPath, dest: ResolvedPath, ctx: ToolContext) -> ToolOutput:
        self._check(source, dest)
        ensure_parent(dest.canonical, dest.display)
        try:
            os.rename(source.canonical, dest.canonical)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise ToolError(
                    os_error_message(
                        exc, "move", f"{source.display} to {dest.display}", unchanged=source.display
                    )
                ) from None
            try:
                shutil.move(os.fspath(source.canonical), os.fspath(dest.canonical), copy_function=copy_regular)
            except OSError as exc2:
                raise ToolError(
                    os_error_message(exc2, "move", f"{source.display} to {dest.display}")
                ) from None
        forget_stamp(ctx, source.canonical)
        return ToolOutput.text(f"Moved {source.display} to {dest.display}")


class CopyFile(_Transfer):
    name = "copy_file"
    description = (
        "Copy a file (or a directory, recursively; symlinks inside are copied as links). If destination "
        "is an existing directory, the copy goes into it. Never overwrites an existing file."
    )
    verb = "copy"
    follow_source = True  # copying a symlink copies what it points to

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        source, dest = self._resolve_pair(args, ctx, checking=True)
        return [
            *self._source_accesses(source, ctx),
            path_access(dest, "write", Effect.MUTATE, "writes", self._preview(source, dest), action="copy"),
        ]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        source, dest = self._resolve_pair(args, ctx, checking=False)
        return await in_thread(self._copy, source, dest)

    def _copy(self, source: ResolvedPath, dest: ResolvedPath) -> ToolOutput:
        self._check(source, dest)
        ensure_parent(dest.canonical, dest.display)
        src, dst = source.canonical, dest.canonical
        where = f"{source.display} to {dest.display}"
        if src.is_dir():
            try:
                shutil.copytree(src, dst, symlinks=True, copy_function=copy_regular)
            except (OSError, shutil.Error) as exc:
                shutil.rmtree(dst, ignore_errors=True)
                if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
                    reasons = [str(item[2]) for item in exc.args[0] if isinstance(item, tuple) and len(item) == 3]
                    more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
                    detail = f"cannot copy {where}: " + "; ".join(reasons[:3]) + more
                elif isinstance(exc, OSError) and exc.errno:
                    detail = os_error_message(exc, "copy", where)
                else:
                    detail = f"cannot copy {where}: {exc}"
                raise ToolError(f"{detail}; nothing was copied") from None
            count = sum(len(f) for _, _, f in os.walk(dst))
            return ToolOutput.text(f"Copied directory {where} ({count} files)")
        if not src.is_file():
            raise ToolError(f"{source.display} is not a regular file; it cannot be copied")
        try:
            fd, tmp = tempfile.mkstemp(prefix="." + dst.name[:80] + ".", suffix=".stoa-tmp", dir=dst.parent)
        except OSError as exc:
            raise ToolError(os_error_message(exc, "copy", where)) from None
        os.close(fd)
        try:
            copy_regular(os.fspath(src), tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            if os.path.lexists(dst):
                raise ToolError(f"{dest.display} appeared while copying; nothing was overwritten")
            os.replace(tmp, dst)
        except OSError as exc:
            raise ToolError(os_error_message(exc, "copy", where)) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return ToolOutput.text(f"Copied {where} ({human_size(dst.stat().st_size)})")


# ---- delete_file / delete_directory ---------------------------------------------------------


class DeleteArgs(PathArgs):
    path: PathText = Field(description="What to delete, relative to the workspace root or absolute.")


def _refuse_root(resolved: ResolvedPath) -> None:
    ws = str(resolved.workspace)
    target = str(resolved.canonical)
    if target == ws or ws.startswith(target.rstrip(os.sep) + os.sep):
        raise ToolError(f"refusing to delete {resolved.canonical}: it is the workspace or contains it")


class DeleteFile(Tool):
    name = "delete_file"
    description = (
        "Delete one file (or a symlink: the link itself, not what it points to). Always asks the user "
        "first. Use delete_directory for directories."
    )
    Args = DeleteArgs
    effect = Effect.DESTRUCTIVE

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        resolved = resolve_arg(args, ctx, follow_final=False, checking=True)
        _refuse_root(resolved)  # no question for what can never be done
        return [path_access(resolved, "write", Effect.DESTRUCTIVE, "deletes")]

    async def precheck(self, args: Any, ctx: ToolContext) -> None:
        resolved = resolve_arg(args, ctx, follow_final=False, checking=False)
        await in_thread(self._check, resolved)

    def _check(self, resolved: ResolvedPath) -> None:
        if not resolved.exists:
            raise not_found(resolved)
        if resolved.canonical.is_dir() and not resolved.canonical.is_symlink():
            raise ToolError(f"{resolved.display} is a directory; use delete_directory to delete it")

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        resolved = resolve_arg(args, ctx, follow_final=False, checking=False)
        return await in_thread(self._delete, resolved, ctx)

    def _delete(self, resolved: ResolvedPath, ctx: ToolContext) -> ToolOutput:
        path, display = resolved.canonical, resolved.display
        self._check(resolved)
        size = path.lstat().st_size
        try:
            path.unlink()
        except OSError as exc:
            raise ToolError(os_error_message(exc, "delete", display)) from None
        forget_stamp(ctx, path)
        what = "symlink" if resolved.via_symlink else f"file ({human_size(size)})"
        return ToolOutput.text(f"Deleted {what} {display}")


class DeleteDirectory(Tool):
    name = "delete_directory"
    description = (
        "Delete a directory and everything in it. Always asks the user first. A symlink to a directory "
        "is not followed: use delete_file to remove the link."
    )
    Args = DeleteArgs
    effect = Effect.DESTRUCTIVE

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        resolved = resolve_arg(args, ctx, follow_final=False, checking=True)
        _refuse_root(resolved)
        accesses = [path_access(resolved, "write", Effect.DESTRUCTIVE, "deletes")]
        if resolved.exists and resolved.canonical.is_dir() and not resolved.canonical.is_symlink():
            accesses += _tree_accesses(
                resolved.canonical, ctx.workspace, "write", Effect.DESTRUCTIVE, "deletes"
            )
        count = len(accesses) - 1
        if count:
            first = accesses[0]
            accesses[0] = Access(
                scope=first.scope,
                target=first.target,
                effect=first.effect,
                outside_workspace=first.outside_workspace,
                reason=first.reason,
                preview=f"deletes {resolved.display}/ and the {count:,} entries inside it",
            )
        return accesses

    async def precheck(self, args: Any, ctx: ToolContext) -> None:
        resolved = resolve_arg(args, ctx, follow_final=False, checking=False)
        await in_thread(self._check, resolved)

    def _check(self, resolved: ResolvedPath) -> None:
        _refuse_root(resolved)
        path, display = resolved.canonical, resolved.display
        if not resolved.exists:
            raise not_found(resolved, "directory")
        if path.is_symlink():
            raise ToolError(
                f"{display} is a symlink; use delete_file to remove the link (what it points to is kept)"
            )
        if not path.is_dir():
            raise ToolError(f"{display} is a file; use delete_file to delete it")

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        resolved = resolve_arg(args, ctx, follow_final=False, checking=False)
        return await in_thread(self._delete, resolved, ctx)

    def _delete(self, resolved: ResolvedPath, ctx: ToolContext) -> ToolOutput:
        self._check(resolved)
        path, display = resolved.canonical, resolved.display
        count = sum(len(d) + len(f) for _, d, f in os.walk(path))
        errors: list[str] = []

        def on_error(func: Any, failed: str, exc: BaseException) -> None:
            errors.append(
                f"{display_path(failed, resolved.workspace)}: {getattr(exc, 'strerror', None) or exc}"
            )

        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=on_error)
        else:
            shutil.rmtree(path, onerror=lambda f, p, info: on_error(f, p, info[1]))
        stamps = ctx.state.read_stamps
        for key in [k for k in stamps if k == str(path) or k.startswith(str(path) + os.sep)]:
            stamps.pop(key, None)
        if errors:
            listed = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
            raise ToolError(f"deleted part of {display}, but not everything: {listed}")
        return ToolOutput.text(f"Deleted directory {display} ({count:,} entries inside)")
