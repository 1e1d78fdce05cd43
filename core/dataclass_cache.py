"""A disk cache of the code ``dataclasses`` generates, as ``.pyc`` files are for modules.

(And of ``typing``'s forward references, compiled from annotation text the same way.)

Every ``@dataclass`` writes the source of its ``__init__``, ``__repr__``, ``__eq__``,
``__setattr__``... and compiles it with ``exec``: about 1,000 compilations of generated text
in a ``stoa -p`` (Stoa's ~150 dataclasses, pydantic's, anyio's...), a third of the
instructions of the whole run. The text is the same from run to run, so the code compiled from
it is kept in ``<data folder>/code/`` and reused: ``dataclasses``' one ``exec`` gets the code
object compiled from the same text with the same flags (none inherited), so every class comes
out the same; text not in the cache is compiled as before, and the file is rewritten at exit
when there was any. A missing, unreadable or corrupt file is a cache miss, never an error.

Where: beside the ``.pyc`` files of Stoa's own modules (``stoa/core/__pycache__/``) when that
folder is writable, as Python keeps bytecode, so every home on the machine starts warm (a new
``HOME`` would otherwise compile it all again: 100 ms of CPU on the way to a TUI's first
request); else in the data folder. ``STOA_CODE_CACHE=data`` keeps it in the data folder only,
``STOA_CODE_CACHE=off`` turns it off.

Trust: the file holds code Stoa runs, as the ``.pyc`` files of its modules do, and it is kept
where they are, or in the data folder, which the sandbox mounts read-only (the cache folder is
writable by sandboxed commands, so it is not used). A sandboxed command can write the package
folder only when the workspace holds Stoa's own source (an editable install in the project),
whose ``.py`` files it can then change anyway. The file is read only when it belongs to this
user (or to root, for a system-wide install) and nobody else may write to it.
"""

from __future__ import annotations

import atexit
import contextlib
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

# Past this many entries (dataclasses of many versions), the file keeps only this run's.
MAX_ENTRIES = 20_000

_builtin_exec = exec


class _Cache:
    def __init__(self, path: Path, fallback: Path | None = None) -> None:
        self.path = path
        # Where to read and write when ``path``'s folder is not writable or its file not usable.
        self.fallback = fallback
        self._codes: dict[str, CodeType] | None = None  # read on first use
        self.used: set[str] = set()
        self.hits = 0
        self.compiled = 0
        self.unsaved = 0

    def codes(self) -> dict[str, CodeType]:
        if self._codes is None:
            # Both files when there is a fallback: a shared folder that cannot be written keeps
            # this run's additions in the data folder, which are then found there, not compiled
            # again (and the fallback rewritten) at every run.
            codes = _read(self.fallback) if self.fallback is not None else {}
            codes.update(_read(self.path))
            self._codes = codes
        return self._codes

    def code_for(self, source: str, mode: str = "exec") -> CodeType:
        key = source if mode == "exec" else f"\0{mode}\0{source}"
        codes = self.codes()
        code = codes.get(key)
        if type(code) is CodeType:
            self.hits += 1
        else:
            # As exec(source) compiles it in dataclasses (compile(...) in typing): file name
            # "<string>", no __future__ flags (dont_inherit: not this module's).
            code = compile(source, "<string>", mode, dont_inherit=True)
            codes[key] = code
            self.compiled += 1
            self.unsaved += 1
        self.used.add(key)
        return code

    def save(self) -> None:
        if not self.unsaved:
            return
        self.unsaved = 0
        codes = self.codes()
        if len(codes) > MAX_ENTRIES:
            codes = {source: codes[source] for source in self.used}
        try:
            data = marshal.dumps(codes)
        except ValueError:
            return
        if not write_file(self.path, data) and self.fallback is not None:
            write_file(self.fallback, data)


def write_file(path: Path, data: bytes) -> bool:
    """Write a cache file whole (a temporary file renamed over it); False if it could not be."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
        return True
    except OSError:
        # A cache that cannot be written (a full disk, a read-only install) costs the next run
        # its compilations only, and leaves no half-written file behind.
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        return False


def read_trusted(path: Path) -> bytes | None:
    """The file's bytes if it belongs to this user (or root) and nobody else may write it."""
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            if status.st_uid not in (os.getuid(), 0) or status.st_mode & 0o022:
                return None  # another user's file, or one others may write: not used
            return handle.read()
    except OSError:
        return None


def _read(path: Path) -> dict[str, CodeType]:
    raw = read_trusted(path)
    if raw is None:
        return {}
    try:
        data = marshal.loads(raw)
    except (EOFError, ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


_cache: _Cache | None = None


def _cached_exec(source: Any, globals: Any = None, locals: Any = None, /, *args: Any, **kwargs: Any) -> None:
    if _cache is not None and isinstance(source, str) and not args and not kwargs:
        source = _cache.code_for(source)
    _builtin_exec(source, globals, locals, *args, **kwargs)


_builtin_compile = compile


def _cached_compile(source: Any, filename: Any, mode: str, *args: Any, **kwargs: Any) -> Any:
    # typing's one call: a forward reference's text, compiled for eval (~860 in a stoa -p,
    # most from pydantic and typing_extensions reading string annotations).
    if _cache is not None and isinstance(source, str) and filename == "<string>" and mode == "eval" and not args \
            and not kwargs:  # fmt: skip
        return _cache.code_for(source, "eval")
    return _builtin_compile(source, filename, mode, *args, **kwargs)


def _file_name() -> str:
    """For this Python: its bytecode differs from version to version."""
    from importlib.util import MAGIC_NUMBER

    return f"dataclasses-{sys.implementation.cache_tag}-{MAGIC_NUMBER.hex()}.marshal"


def cache_file(data_dir: Path) -> Path:
    """The file in the data folder."""
    return data_dir / "code" / _file_name()


def shared_cache_file() -> Path:
    """The file beside the ``.pyc`` files of Stoa's modules (shared by every home)."""
    return Path(__file__).resolve().parent / "__pycache__" / _file_name()


def install(data_dir: Path, *, shared: bool = False) -> None:
    """From now on, dataclasses take their generated code from the cache (once per process).

    ``shared``: kept beside Stoa's ``.pyc`` files when that folder is writable, the data folder
    being the fallback (for reading too, when the shared file is missing or not trusted)."""
    global _cache
    if _cache is not None:
        return
    import dataclasses
    import typing

    own = cache_file(data_dir)
    _cache = _Cache(shared_cache_file(), fallback=own) if shared else _Cache(own)
    # A module global named exec (compile) comes before the builtin for the ``exec`` in
    # dataclasses (the ``compile`` of typing.ForwardRef).
    dataclasses.exec = _cached_exec  # type: ignore[attr-defined]
    typing.compile = _cached_compile  # type: ignore[attr-defined]
    atexit.register(_cache.save)


def save() -> None:
    """Write what was compiled so far (start-up is over: the file is complete for the next run,
    and exit has nothing left to write unless later imports compile more)."""
    if _cache is not None:
        _cache.save()


def cache_folders() -> list[Path]:
    """Where start-up caches are kept, first choice first: other start-up caches
    (core/tools/schemas.py) keep their files beside this one's, under the same rules. Empty:
    no caching in this process (``install`` was not called)."""
    if _cache is None:
        return []
    return [p.parent for p in (_cache.path, _cache.fallback) if p is not None]


def stats() -> tuple[int, int]:
    """(code objects taken from the cache, compiled) in this process."""
    return (_cache.hits, _cache.compiled) if _cache is not None else (0, 0)
