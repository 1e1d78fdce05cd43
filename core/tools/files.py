"""The file tools that read and write: list_directory, read_file, write_file, create_directory
(edit_file lives in core/tools/edits.py, move/copy/delete in core/tools/file_ops.py).

Every path goes through ``core.permissions.paths.resolve``; every tool declares the accesses
it needs (reads and writes on canonical paths) and never asks anyone itself. Writes are atomic
(temp file in the same directory, fsync, rename, mode kept): on any failure the original stays
as it was. ``read_file`` leaves a read stamp in ``ctx.state`` so ``edit_file``/``write_file``
can refuse to work from a stale copy; the resolution of each path argument judged by the
permission check is kept in ``ctx.checked`` so ``run`` refuses a path that changed since.

Also home to the helpers the other tool modules share (path arguments, OS error wording).
"""

from __future__ import annotations

import asyncio
import difflib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, Field

from stoa.core.diffs import diff_counts, unified_diff
from stoa.core.escapes import escape_surrogates
from stoa.core.permissions.paths import (
    PathError,
    ResolvedPath,
    check_path_text,
    display_path,
    resolve,
)
from stoa.core.tools import caps
from stoa.core.tools.base import (
    ARGS_CONFIG,
    Access,
    Effect,
    ReadStamp,
    Tool,
    ToolContext,
    ToolError,
    ToolOutput,
    ToolState,
)
from stoa.core.tools.editor import editor_bytes, editor_write

# ---- shared helpers -------------------------------------------------------------------------

_UMASK = os.umask(0)
os.umask(_UMASK)

# Directory trees larger than this are not copied/moved/deleted file by file through the
# permission check; the tool refuses and suggests the shell.
TREE_ACCESS_LIMIT = 10_000


def _valid_path(value: str) -> str:
    try:
        return check_path_text(value)
    except PathError as exc:  # pydantic reports ValueError as a validation error
        raise ValueError(str(exc)) from None


PathText = Annotated[str, AfterValidator(_valid_path)]


class PathArgs(BaseModel):
    """Base of argument models that name paths: forbids unknown arguments."""

    model_config = ARGS_CONFIG


def resolve_arg(
    args: BaseModel,
    ctx: ToolContext,
    field: str = "path",
    *,
    follow_final: bool = True,
    checking: bool,
    value: str | None = None,
) -> ResolvedPath:
    """Resolve one path argument. ``checking`` is True in ``accesses`` (remember the result in
    ``ctx.checked``) and False in ``run`` (refuse a path that now resolves elsewhere than when
    it was checked: a symlink swapped in between). ``value`` overrides the argument's text (a
    default, or a path derived from it)."""
    if value is None:
        value = getattr(args, field)
    _check_name_lengths(value, field)
    resolved = resolve(value, ctx.workspace, follow_final=follow_final, what=field)
    # Checked when the tool runs, after the permission check: before it, the answer would tell
    # whether a path outside the workspace exists.
    if not checking and value.endswith(("/", "/.")) and resolved.exists and not resolved.canonical.is_dir():
        raise PathError(
            f"{field} {value!r} ends with '/', which names a directory, but {resolved.display} is "
            "not a directory; pass the path without the trailing '/'"
        )
    key = (field, value)
    if checking:
        ctx.checked.paths[key] = resolved
    else:
        before = ctx.checked.paths.get(key)
        if before is not None and before.canonical != resolved.canonical:
            raise ToolError(
                f"{field} {value!r} now resolves to {resolved.canonical}, not to {before.canonical} as "
                "when it was checked (a symlink changed in between); call the tool again"
            )
    return resolved


# The usual limits of Linux file systems (NAME_MAX, PATH_MAX): a longer name can neither exist
# nor be created, so it is refused up front with a clear message instead of an OS error later.
NAME_MAX_BYTES = 255
PATH_MAX_BYTES = 4095


def _check_name_lengths(value: str, field: str) -> None:
    if not isinstance(value, str):
        return  # check_path_text (in resolve) reports the type
    encoded = value.encode("utf-8", "surrogatepass")
    if len(encoded) > PATH_MAX_BYTES:
        raise PathError(
            f"{field} is {len(encoded):,} bytes long, over the {PATH_MAX_BYTES:,}-byte limit of a path; "
            "pass a shorter path"
        )
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > NAME_MAX_BYTES:
        raise PathError(
            f"{field} has a name of {longest} bytes; names are limited to {NAME_MAX_BYTES} bytes by the "
            "file system (the name is too long); pass a shorter name"
        )


def deny_filter(ctx: ToolContext, root: Path, tool: str) -> Callable[[str], bool] | None:
    """Which paths below ``root`` (relative to it) a tool that lists or searches many files may
    show: none that a deny rule of the session's policy covers, so it cannot read around them.
    None when no deny rule applies. Fails closed: while an entry of ``[permissions]`` that may
    have been a deny rule could not be read, or when a configuration with permission rules
    comes without its compiled policy, the tool is refused (it would show what they hide)."""
    from stoa.core.permissions.policy import DenyRulesUnreadable

    if ctx.policy is None:
        if ctx.config is not None and ctx.config.section("permissions"):
            raise ToolError(f"{tool} cannot run: the permission rules were not compiled for this call")
        return None
    try:
        scope = ctx.policy.deny_scope()
    except DenyRulesUnreadable as exc:
        raise ToolError(f"{tool} is refused: {exc}, then call {tool} again") from None
    if not scope:
        return None
    base = str(root)

    def keep(rel: str) -> bool:
        return not scope.covers(os.path.join(base, rel) if rel else base)

    return keep


def path_access(
    resolved: ResolvedPath,
    scope: str,
    effect: Effect,
    verb: str,
    preview: str | None = None,
    *,
    action: str = "",
) -> Access:
    return Access(
        scope=scope,  # type: ignore[arg-type]
        target=resolved.target,
        effect=effect,
        outside_workspace=not resolved.inside_workspace,
        reason="" if resolved.inside_workspace else resolved.outside_reason(verb),
        preview=preview,
        action=action,
    )


def os_error_message(exc: OSError, action: str, where: str, *, unchanged: str | None = None) -> str:
    """An OS failure in words the model can act on."""
    code = exc.errno
    kept = f"; {unchanged} was not changed" if unchanged else ""
    if code == errno.ENOENT:
        return f"cannot {action} {where}: it does not exist{kept}"
    if code in (errno.EACCES, errno.EPERM):
        return f"cannot {action} {where}: permission denied by the operating system{kept}"
    if code == errno.ENOSPC:
        return f"cannot {action} {where}: the disk is full; free some space and try again{kept}"
    if code == errno.EDQUOT:
        return f"cannot {action} {where}: the disk quota is exhausted{kept}"
    if code == errno.EFBIG:
        return f"cannot {action} {where}: the file would exceed the size limit{kept}"
    if code == errno.EROFS:
        return f"cannot {action} {where}: the file system is read-only{kept}"
    if code == errno.EISDIR:
        return f"cannot {action} {where}: it is a directory{kept}"
    if code == errno.ENOTDIR:
        return f"cannot {action} {where}: a component of the path is a file, not a directory{kept}"
    if code == errno.ENAMETOOLONG:
        return f"cannot {action} {where}: the name is too long for the file system{kept}"
    if code == errno.ELOOP:
        return f"cannot {action} {where}: too many levels of symbolic links (a symlink loop?){kept}"
    if code == errno.ENOTEMPTY:
        return f"cannot {action} {where}: the directory is not empty{kept}"
    if code == errno.EXDEV:
        return f"cannot {action} {where}: it is on another file system{kept}"
    reason = exc.strerror or str(exc)
    return f"cannot {action} {where}: {reason}{kept}"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def quote_name(name: str) -> str:
    """A name as shown to the model: bytes that are not UTF-8 as ``\\xNN`` (see
    ``core.escapes``), quoted JSON-style only when it holds control characters."""
    name = escape_surrogates(name)
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        import json

        return json.dumps(name, ensure_ascii=False)
    return name


_LANGUAGES = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript", ".rs": "rust", ".go": "go",
    ".java": "java", ".kt": "kotlin", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp",
    ".cs": "csharp", ".rb": "ruby", ".php": "php", ".swift": "swift", ".sh": "bash", ".bash": "bash",
    ".zsh": "bash", ".json": "json", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".md": "markdown",
    ".html": "html", ".htm": "html", ".css": "css", ".tcss": "css", ".scss": "scss", ".sql": "sql",
    ".xml": "xml", ".lua": "lua", ".r": "r", ".ini": "ini", ".cfg": "ini", ".dockerfile": "dockerfile",
}  # fmt: skip


def language_for(path: str | Path) -> str | None:
    name = os.path.basename(os.fspath(path))
    if name == "Dockerfile":
        return "dockerfile"
    if name == "Makefile":
        return "makefile"
    return _LANGUAGES.get(os.path.splitext(name)[1].lower())


_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tiff", ".tif", ".ico"}


def looks_binary(head: bytes) -> bool:
    return b"\x00" in head


def near_names(resolved: ResolvedPath) -> str:
    """' Did you mean: ...' for a missing path whose parent exists, else ''."""
    parent = resolved.canonical.parent
    try:
        names = os.listdir(parent)
    except OSError:
        return ""
    close = difflib.get_close_matches(resolved.canonical.name, names, n=3, cutoff=0.6)
    if not close:
        return ""
    shown = ", ".join(display_path(parent / n, resolved.workspace) for n in close)
    return f" Did you mean: {shown}?"


def not_found(resolved: ResolvedPath, kind: str = "file") -> ToolError:
    """Why ``resolved`` cannot be used although it may be there: the OS's reason when it is not
    simply missing (a directory on the way that may not be searched, a symlink loop), else
    "not found" with near names."""
    try:
        os.stat(resolved.canonical)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, None):
            return ToolError(os_error_message(exc, "use", resolved.display))
    except ValueError:
        pass
    return ToolError(f"{kind} not found: {resolved.display}.{near_names(resolved)}")


# ---- read stamps ----------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def record_stamp(ctx: ToolContext, path: Path, st: os.stat_result, data: bytes | None) -> None:
    ctx.state.read_stamps[str(path)] = ReadStamp(st.st_mtime_ns, st.st_size, _digest(data) if data is not None else None)


def forget_stamp(ctx: ToolContext, path: Path) -> None:
    ctx.state.read_stamps.pop(str(path), None)


def mark_stale(state: ToolState, paths: Iterable[str]) -> None:
    """Files put back by /undo: a read of them from before no longer holds, so an edit based
    on it is refused (``check_fresh``) until the model reads them again."""
    stamps = state.read_stamps
    for path in paths:
        if path in stamps:
            stamps[path] = ReadStamp(-1, -1, None)


def check_fresh(ctx: ToolContext, path: Path, display: str, st: os.stat_result, data: bytes) -> None:
    """Refuse to work from a stale read: the file changed on disk since read_file showed it."""
    stamp = ctx.state.read_stamps.get(str(path))
    if stamp is None:
        return
    if (st.st_mtime_ns, st.st_size) == (stamp.mtime_ns, stamp.size):
        return
    if stamp.digest is not None and _digest(data) == stamp.digest:
        return  # touched, not changed
    raise ToolError(
        f"{display} changed on disk since you last read it (by another program or a command); "
        "read it again with read_file and base your change on its current content"
    )


def stamp_written(ctx: ToolContext, path: Path, data: bytes | None) -> None:
    """Remember what was just written, as read_file does (an editor may not have saved it yet)."""
    try:
        record_stamp(ctx, path, os.stat(path), data)
    except OSError:
        forget_stamp(ctx, path)


# ---- atomic writing -------------------------------------------------------------------------


def atomic_write(path: Path, data: bytes, *, prefix_from: Path | None = None) -> None:
    """Replace ``path`` with ``data`` atomically: the old content or the new, never half.

    The temp file lives in the same directory (so the rename is atomic), is fsynced before
    the rename, and takes the old file's mode (and owner, when we may set it). With
    ``prefix_from``, that file's bytes are streamed in before ``data`` (appending to a file
    too large to hold in memory).
    """
    tmp = stage_file(path, data, prefix_from=prefix_from)
    try:
        os.replace(tmp, path)
    except BaseException:
        discard_staged(tmp)
        raise
    fsync_dir(path.parent)


def stage_file(
    path: Path, data: bytes, *, prefix_from: Path | None = None, like: os.stat_result | None = None
) -> Path:
    """Write ``data`` to a fsynced temp file next to ``path``, with the mode (and owner) of the
    file there now, or of ``like``; ``os.replace`` it onto ``path`` to commit, or
    ``discard_staged`` it. Several files staged first and renamed after change together or
    not at all, as far as the file system allows."""
    old: os.stat_result | None = like
    try:
        old = os.stat(path)
    except FileNotFoundError:
        pass
    prefix = "." + path.name[:80] + "."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".stoa-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if prefix_from is not None:
                with open(prefix_from, "rb") as source:
                    shutil.copyfileobj(source, handle, 1 << 20)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if old is not None:
            # New content never inherits set-user/group-ID bits (as the kernel clears them on write).
            os.chmod(tmp, stat.S_IMODE(old.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))
            if hasattr(os, "chown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
                try:
                    os.chown(tmp, old.st_uid, old.st_gid)
                except OSError:
                    pass  # not ours to give away; the mode is kept all the same
        else:
            os.chmod(tmp, 0o666 & ~_UMASK)
    except BaseException:
        discard_staged(Path(tmp))
        raise
    return Path(tmp)


def discard_staged(tmp: Path) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_regular(path: Path, display: str, *, max_bytes: int | None = None) -> tuple[bytes, os.stat_result]:
    """Read a regular file without following a final symlink or blocking on a FIFO.

    Devices, FIFOs and sockets are refused before they are opened (opening some devices has
    effects of its own); the descriptor is checked again after the open, in case the path
    changed in between."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        before = os.lstat(path)
        if not (stat.S_ISREG(before.st_mode) or stat.S_ISDIR(before.st_mode) or stat.S_ISLNK(before.st_mode)):
            raise ToolError(_special_file_message(display, before))
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and os.path.islink(path):
            raise ToolError(
                f"{display} changed into a symlink while being read; call the tool again"
            ) from None
        raise ToolError(os_error_message(exc, "read", display)) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ToolError(f"{display} is a directory, not a file; use list_directory to see what is in it")
        if not stat.S_ISREG(st.st_mode):
            raise ToolError(_special_file_message(display, st))
        _check_opened_path(fd, path, display)
        if max_bytes is not None and st.st_size > max_bytes:
            raise _TooLarge(st)
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise _TooLarge(os.fstat(fd))  # it grew while being read
        return b"".join(chunks), st
    except OSError as exc:
        raise ToolError(os_error_message(exc, "read", display)) from None
    finally:
        os.close(fd)


def _check_opened_path(fd: int, path: Path, display: str) -> None:
    """Refuse a descriptor that is not the file that was checked: a directory on the path was
    swapped for a symlink between the permission check and the open. Linux shows where an open
    descriptor really is under /proc/self/fd; elsewhere (no /proc) nothing is checked."""
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return
    if opened != os.fspath(path) and not opened.endswith(" (deleted)"):
        raise ToolError(
            f"{display} changed while it was being opened (a directory on its path was replaced); "
            "call the tool again"
        )


def _special_file_message(display: str, st: os.stat_result) -> str:
    mode = st.st_mode
    kind = (
        "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
        else "a socket" if stat.S_ISSOCK(mode)
        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a special file"
    )  # fmt: skip
    return f"{display} is not a regular file ({kind}); it cannot be read, edited or copied by the file tools"


def copy_regular(src: str, dst: str) -> str:
    """``shutil.copy2`` for regular files only: a device inside a copied tree (``/dev/zero``'s
    twin) would be read without end, filling the disk; a FIFO would block."""
    mode = os.lstat(src).st_mode
    if not stat.S_ISREG(mode):
        raise shutil.SpecialFileError(f"{src} is not a regular file (a device, FIFO or socket); not copied")
    return str(shutil.copy2(src, dst))


class _TooLarge(Exception):
    """read_regular's file is over its ``max_bytes`` (``st`` says how large it is)."""

    def __init__(self, st: os.stat_result) -> None:
        super().__init__("too large")
        self.st = st


TooLarge = _TooLarge


def check_parent(path: Path, display: str) -> None:
    """Refuse a path whose nearest existing ancestor is not a directory (nothing is created)."""
    parent = path.parent
    while not (parent.exists() or parent.is_symlink()) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ToolError(f"cannot write {display}: {parent} is a file, not a directory")


def ensure_parent(path: Path, display: str) -> None:
    parent = path.parent
    if parent.is_dir():
        return
    check_parent(path, display)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ToolError(os_error_message(exc, "create the parent directory of", display)) from None


def encode_text(content: str, display: str) -> bytes:
    try:
        return content.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError as exc:
        raise ToolError(
            f"the content for {display} has characters that cannot be written as UTF-8 "
            f"(at position {exc.start}); remove them and try again"
        ) from None


T = TypeVar("T")


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(func, *args)


# ---- list_directory -------------------------------------------------------------------------


class ListDirectoryArgs(PathArgs):
    path: PathText = Field(
        description="Directory to list, relative to the workspace root (use '.' for the root) or absolute."
    )


class ListDirectory(Tool):
    name = "list_directory"
    description = (
        "List the entries of one directory (not recursive): sub-directories first (marked with a "
        "trailing '/'), then files with their sizes; symlinks show their target. Use glob_files to "
        "find files by name pattern across the tree."
    )
    Args = ListDirectoryArgs
    effect = Effect.READ

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        resolved = resolve_arg(args, ctx, checking=True)
        return [path_access(resolved, "read", Effect.READ, "lists")]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        resolved = resolve_arg(args, ctx, checking=False)
        # Names a deny rule covers are left out, as glob_files and search_code leave them out.
        keep = deny_filter(ctx, resolved.canonical, self.name)
        return await in_thread(self._list, resolved, keep)

    def _list(self, resolved: ResolvedPath, keep: Callable[[str], bool] | None) -> ToolOutput:
        path = resolved.canonical
        if not resolved.exists:
            raise not_found(resolved, "directory")
        if not path.is_dir():
            raise ToolError(f"{resolved.display} is a file, not a directory; use read_file to read it")
        dirs: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    if keep is not None and not keep(entry.name):
                        continue
                    name = quote_name(entry.name)
                    try:
                        if entry.is_symlink():
                            try:
                                target = os.readlink(entry.path)
                            except OSError:
                                target = "?"
                            suffix = "/" if entry.is_dir() else ""
                            (dirs if suffix else files).append(f"{name}{suffix} -> {quote_name(target)}")
                        elif entry.is_dir():
                            dirs.append(name + "/")
                        else:
                            files.append(f"{name}  ({human_size(entry.stat().st_size)})")
                    except OSError:
                        files.append(f"{name}  (unreadable)")
        except OSError as exc:
            raise ToolError(os_error_message(exc, "list", resolved.display)) from None
        dirs.sort(key=lambda s: (s.casefold(), s))
        files.sort(key=lambda s: (s.casefold(), s))
        entries_out = dirs + files
        total = len(entries_out)
        shown = entries_out[: caps.LIST_MAX_ENTRIES]
        header = f"{resolved.display}: {len(dirs)} directories, {len(files)} files"
        lines = [header, *shown]
        if total > len(shown):
            lines.append(
                f"[... {total - len(shown):,} more entries not shown; use glob_files with a pattern to narrow]"
            )
        if not entries_out:
            lines.append("(empty directory)")
        text = "\n".join(lines)
        return ToolOutput.text(text, display={"kind": "text", "text": text, "language": None})


# ---- read_file ------------------------------------------------------------------------------


class ReadFileArgs(PathArgs):
    path: PathText = Field(description="File to read, relative to the workspace root or absolute.")
    offset: int | None = Field(
        default=None,
        ge=0,
        description="1-based line number to start reading at (default: 1). Use it to page through long files.",
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        description=f"How many lines to read (default: up to {caps.READ_DEFAULT_LINES}).",
    )


class ReadFile(Tool):
    name = "read_file"
    description = (
        "Read a text file. Lines come back numbered ('  12\\tcode'; the number and tab are not part of "
        "the file). Long files come back in parts: the result says how to read the rest with "
        f"offset/limit. Files over {caps.READ_MAX_BYTES // (1024 * 1024)} MB need offset/limit. Binary "
        "files are refused (use view_image for images). Read a file before editing it."
    )
    Args = ReadFileArgs
    effect = Effect.READ

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        resolved = resolve_arg(args, ctx, checking=True)
        return [path_access(resolved, "read", Effect.READ, "reads")]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        resolved = resolve_arg(args, ctx, checking=False)
        return await in_thread(self._read, args, resolved, ctx)

    def _read(self, args: ReadFileArgs, resolved: ResolvedPath, ctx: ToolContext) -> ToolOutput:
        path, display = resolved.canonical, resolved.display
        if not resolved.exists:
            raise not_found(resolved)
        if path.is_dir():
            raise ToolError(f"{display} is a directory, not a file; use list_directory to see what is in it")
        partial = args.offset is not None or args.limit is not None
        try:
            data, st = read_regular(path, display, max_bytes=caps.READ_MAX_BYTES)
        except _TooLarge as big:
            if not partial:
                raise ToolError(
                    f"{display} is {human_size(big.st.st_size)}, over the {human_size(caps.READ_MAX_BYTES)} "
                    "read_file limit; read a part with offset and limit (e.g. offset=1, limit=200), or "
                    "find what you need with search_code"
                ) from None
            return self._read_large(args, resolved, ctx)
        if looks_binary(data[:8192]) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            hint = (
                "; use view_image to look at it"
                if path.suffix.lower() in _IMAGE_SUFFIXES
                else "; read_file shows text files only"
            )
            raise ToolError(f"{display} is a binary file ({human_size(len(data))}){hint}")
        data = editor_bytes(ctx, path, data)
        record_stamp(ctx, path, st, data)
        text, note = _decode(data)
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return self._format(args, resolved, [ln.removesuffix("\r") for ln in lines], note, len(lines))

    def _read_large(self, args: ReadFileArgs, resolved: ResolvedPath, ctx: ToolContext) -> ToolOutput:
        """Stream only the requested lines of a file over the size cap."""
        start = max(args.offset or 1, 1)
        limit = args.limit or caps.READ_DEFAULT_LINES
        picked: list[str] = []
        count = 0
        total: int | None = None
        try:
            with open(resolved.canonical, "rb") as handle:
                st = os.fstat(handle.fileno())
                head = handle.read(8192)
                if looks_binary(head):
                    raise ToolError(f"{resolved.display} is a binary file ({human_size(st.st_size)})")
                handle.seek(0)
                for raw in handle:
                    count += 1
                    if count < start:
                        continue
                    if len(picked) == limit:
                        break  # at least one more line: the total stays unknown
                    picked.append(raw.decode("utf-8", errors="replace").rstrip("\n").removesuffix("\r"))
                else:
                    total = count
        except OSError as exc:
            raise ToolError(os_error_message(exc, "read", resolved.display)) from None
        record_stamp(ctx, resolved.canonical, st, None)
        # picked[0] is line ``start``: _format is told so (no padding: offsets can be huge).
        if picked or total is None:
            return self._format(args, resolved, picked, "", total, first=start)
        return self._format(args, resolved, [], "", total, first=(total or 0) + 1)

    def _format(
        self,
        args: ReadFileArgs,
        resolved: ResolvedPath,
        lines: list[str],
        note: str,
        total: int | None,
        *,
        first: int = 1,
    ) -> ToolOutput:
        """``lines[0]`` is line number ``first`` of the file."""
        display = resolved.display
        start = max(args.offset or 1, 1)
        limit = args.limit or caps.READ_DEFAULT_LINES
        known_total = total if total is not None else first - 1 + len(lines)
        if known_total == 0:
            text = f"{display} is empty (0 lines)"
            return ToolOutput.text(
                text, display={"kind": "text", "text": "", "language": language_for(display)}
            )
        if start > first - 1 + len(lines):
            raise ToolError(
                f"offset {start} is past the end of {display}, which has {known_total} lines; "
                f"use an offset from 1 to {known_total}"
            )
        chosen = lines[start - first : start - first + limit]
        width = len(str(start + len(chosen) - 1))
        numbered = [
            f"{n:>{width}}\t{caps.cap_line(line, caps.READ_LINE_CHARS)}"
            for n, line in enumerate(chosen, start=start)
        ]
        kept, dropped = caps.cap_lines(numbered, caps.MODEL_OUTPUT_CHARS, reserve=400)
        last = start + len(kept) - 1
        parts = ["\n".join(kept)]
        more = last < known_total if total is not None else True
        if dropped or more:
            of = f" of {known_total}" if total is not None else ""
            parts.append(
                f"\n[showing lines {start}-{last}{of}; call read_file with offset={last + 1} to read more]"
            )
        if note:
            parts.append(f"\n[{note}]")
        text = "".join(parts)
        shown = "\n".join(chosen)
        display_payload = {
            "kind": "text",
            "text": shown[: caps.DISPLAY_CHARS],
            "language": language_for(display),
            "path": display,
            "first_line": start,
        }
        return ToolOutput.text(text, display=display_payload)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "UTF-16 text, shown decoded"
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        return (
            data.decode("utf-8", errors="replace"),
            "the file is not valid UTF-8; undecodable bytes are shown as \ufffd",
        )


# ---- write_file -----------------------------------------------------------------------------


class WriteFileArgs(PathArgs):
    path: PathText = Field(description="File to write, relative to the workspace root or absolute.")
    content: str = Field(description="The complete text to write (or to append, with append=true).")
    append: bool = Field(
        default=False,
        description="Add content to the end of the file instead of replacing it (creates the file if missing).",
    )


class WriteFile(Tool):
    name = "write_file"
    description = (
        "Create a file, or replace a file's whole content, with the given text (UTF-8). Missing parent "
        "directories are created. The write is atomic. To change part of an existing file, prefer "
        "edit_file; with append=true the text is added at the end."
    )
    Args = WriteFileArgs
    effect = Effect.MUTATE

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        resolved = resolve_arg(args, ctx, checking=True)
        preview = _write_preview(args, resolved)
        return [path_access(resolved, "write", Effect.MUTATE, "writes", preview, action="write")]

    async def precheck(self, args: Any, ctx: ToolContext) -> None:
        resolved = resolve_arg(args, ctx, checking=False)
        await in_thread(self._check, args, resolved, ctx)

    def _check(self, args: WriteFileArgs, resolved: ResolvedPath, ctx: ToolContext) -> None:
        path, display = resolved.canonical, resolved.display
        refuse_trailing_slash(args.path)
        if path.is_dir():
            raise ToolError(f"{display} is a directory; pass a file path to write_file")
        encode_text(args.content, display)
        if not resolved.exists:
            check_parent(path, display)
        elif not args.append:
            try:
                data, st = read_regular(path, display, max_bytes=caps.READ_MAX_BYTES)
            except _TooLarge as big:
                data, st = b"", big.st
            check_fresh(ctx, path, display, st, data)

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        resolved = resolve_arg(args, ctx, checking=False)
        return await in_thread(self._write, args, resolved, ctx)

    def _write(self, args: WriteFileArgs, resolved: ResolvedPath, ctx: ToolContext) -> ToolOutput:
        path, display = resolved.canonical, resolved.display
        refuse_trailing_slash(args.path)
        if path.is_dir():
            raise ToolError(f"{display} is a directory; pass a file path to write_file")
        new_bytes = encode_text(args.content, display)
        old_bytes = b""
        existed = resolved.exists
        big = False  # the existing file is over the read cap: streamed, never diffed
        if existed:
            try:
                old_bytes, st = read_regular(path, display, max_bytes=caps.READ_MAX_BYTES)
                old_bytes = editor_bytes(ctx, path, old_bytes)
            except _TooLarge as too_large:
                big, st = True, too_large.st
            if not args.append:
                check_fresh(ctx, path, display, st, old_bytes)
        else:
            ensure_parent(path, display)
        streamed = big and args.append
        data = old_bytes + new_bytes if args.append and not streamed else new_bytes
        try:
            if streamed or not editor_write(ctx, path, data):
                atomic_write(path, data, prefix_from=path if streamed else None)
        except OSError as exc:
            raise ToolError(
                os_error_message(exc, "write", display, unchanged=display if existed else None)
            ) from None
        stamp_written(ctx, path, None if streamed else data)
        old_text = old_bytes.decode("utf-8", errors="replace")
        new_text = data.decode("utf-8", errors="replace")
        diff = "" if big or looks_binary(old_bytes[:8192]) else unified_diff(old_text, new_text, display)
        lines = new_text.count("\n") + (0 if new_text.endswith("\n") or not new_text else 1)
        if args.append:
            summary = f"Appended {human_size(len(new_bytes))} to {display}" + (
                "" if streamed else f" (now {lines} lines)"
            )
        elif existed:
            added, removed = diff_counts(diff)
            change = f", +{added} -{removed} lines" if diff else ""
            summary = f"Wrote {display} ({lines} lines, {human_size(len(data))}{change})"
        else:
            summary = f"Created {display} ({lines} lines, {human_size(len(data))})"
        return ToolOutput.text(summary, display={"kind": "diff", "diff": diff, "path": display})


def refuse_trailing_slash(path: str) -> None:
    if path.endswith(("/", "/.")):
        raise ToolError(f"{path!r} ends with '/', which names a directory; pass a file path (without the '/')")


def preview_bytes(resolved: ResolvedPath) -> bytes | None:
    """The current bytes of a file for an approval preview, or None when there is nothing safe
    to show: not a regular file (a FIFO or device would block or never end), too large, gone.
    Runs before any approval, so it must never block and never read without bound."""
    if not resolved.exists:
        return None
    try:
        data, _ = read_regular(resolved.canonical, resolved.display, max_bytes=caps.PREVIEW_MAX_BYTES)
    except (ToolError, _TooLarge, OSError, ValueError):
        return None
    return data


def _write_preview(args: WriteFileArgs, resolved: ResolvedPath) -> str | None:
    try:
        old = b""
        if resolved.exists:
            found = preview_bytes(resolved)
            if found is None or looks_binary(found[:8192]):
                return None
            old = found
        old_text = old.decode("utf-8", errors="replace")
        new_text = old_text + args.content if args.append else args.content
        return unified_diff(old_text, new_text, resolved.display) or None
    except (OSError, ValueError):
        return None


# ---- create_directory -----------------------------------------------------------------------


class CreateDirectoryArgs(PathArgs):
    path: PathText = Field(
        description="Directory to create (parents too), relative to the workspace or absolute."
    )


class CreateDirectory(Tool):
    name = "create_directory"
    description = "Create a directory, and any missing parent directories. Succeeds if it already exists."
    Args = CreateDirectoryArgs
    effect = Effect.MUTATE

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        resolved = resolve_arg(args, ctx, checking=True)
        return [path_access(resolved, "write", Effect.MUTATE, "creates", action="create")]

    async def precheck(self, args: Any, ctx: ToolContext) -> None:
        resolved = resolve_arg(args, ctx, checking=False)
        await in_thread(self._check, resolved)

    def _check(self, resolved: ResolvedPath) -> None:
        path, display = resolved.canonical, resolved.display
        if not path.is_dir() and (resolved.exists or path.is_symlink()):
            raise ToolError(f"{display} already exists and is a file, not a directory")
        if not path.is_dir():
            check_parent(path, display)

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        resolved = resolve_arg(args, ctx, checking=False)
        return await in_thread(self._create, resolved)

    def _create(self, resolved: ResolvedPath) -> ToolOutput:
        path, display = resolved.canonical, resolved.display
        if path.is_dir():
            return ToolOutput.text(f"{display} already exists (a directory); nothing to do")
        self._check(resolved)
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            if not path.is_dir():
                raise ToolError(f"{display} already exists and is not a directory") from None
        except OSError as exc:
            raise ToolError(os_error_message(exc, "create directory", display)) from None
        return ToolOutput.text(f"Created directory {display}")


__all__ = [
    "PathArgs",
    "PathError",
    "PathText",
    "atomic_write",
    "os_error_message",
    "path_access",
    "resolve_arg",
]
