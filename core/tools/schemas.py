"""The JSON schemas of the tools' argument models, kept on disk from run to run.

A request tells the model every tool's schema. pydantic makes one by building the model's
validator and walking it: ~1.5 ms a tool, ~30 ms for the native tools, on the way to the first
request of every run (issue 14). The argument models are declared ``defer_build`` (their
validators are built at their first call, see ``ARGS_CONFIG``), and their schemas come from a
file written by an earlier run, valid while the tools' source files and pydantic's version are
the same as when it was written (their sizes and modification times, as Python checks a
``.pyc``). A missing, stale, corrupt or untrusted file is a miss: the schema is made as before,
and the file written again.

The file lives where the dataclass code cache does (``core/dataclass_cache.py``: beside the
``.pyc`` files of Stoa's own modules, or in the data folder), under the same rules: read only
when it belongs to this user and nobody else may write it. No cache folder (an in-process test,
``STOA_CODE_CACHE=off``): schemas are made and kept in memory only.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

VERSION = 1
_TOOLS_DIR = Path(__file__).resolve().parent

_lock = threading.Lock()
_schemas: dict[str, dict[str, Any]] | None = None  # this run's, by model (module:qualname)
_stamp: str | None = None
_unsaved = False
_save_at_exit = False


def _file_name() -> str:
    return f"tool-schemas-{sys.implementation.cache_tag}.json"


def source_stamp() -> str:
    """What the schemas depend on: pydantic's version and the tools' source files."""
    import pydantic.version

    parts = [f"v{VERSION}", pydantic.version.VERSION]
    with os.scandir(_TOOLS_DIR) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py"):
                status = entry.stat()
                parts.append(f"{entry.name}:{status.st_size}:{status.st_mtime_ns}")
    return "|".join(parts)


def _load() -> dict[str, dict[str, Any]]:
    global _schemas, _stamp, _save_at_exit
    if _schemas is not None:
        return _schemas
    from stoa.core.dataclass_cache import cache_folders, read_trusted

    _stamp = source_stamp()
    _schemas = {}
    if cache_folders() and not _save_at_exit:  # once, though tests read the file again
        import atexit

        atexit.register(save)
        _save_at_exit = True
    for folder in cache_folders():
        raw = read_trusted(folder / _file_name())
        if raw is None:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("stamp") == _stamp and isinstance(data.get("schemas"), dict):
            _schemas = {k: v for k, v in data["schemas"].items() if isinstance(v, dict)}
            break
    return _schemas


def args_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema (without its title), from the file when it is there (a copy:
    callers may change it)."""
    global _unsaved
    key = f"{model.__module__}:{model.__qualname__}"
    with _lock:
        schemas = _load()
        schema = schemas.get(key)
        if schema is None:
            schema = model.model_json_schema()
            schema.pop("title", None)
            schemas[key] = schema
            _unsaved = True
        return copy.deepcopy(schema)


def save() -> None:
    """Write the file when this run made a schema it did not have (first choice of folder,
    else the next)."""
    global _unsaved
    from stoa.core.dataclass_cache import cache_folders, write_file

    with _lock:
        if not _unsaved or _schemas is None:
            return
        _unsaved = False
        data = json.dumps({"stamp": _stamp, "schemas": _schemas}).encode()
    for folder in cache_folders():
        if write_file(folder / _file_name(), data):
            return


def reset() -> None:
    """Forget what was read (tests: a new run)."""
    global _schemas, _stamp, _unsaved
    with _lock:
        _schemas, _stamp, _unsaved = None, None, False
