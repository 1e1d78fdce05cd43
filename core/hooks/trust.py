"""The person's approval of a project's shared hooks, kept under the user data folder.

Hooks of a project's shared ``.stoa/config.toml`` come with the repository: they run the
commands someone else wrote, outside the permission system. So they run only once the person
approved that exact set (their events, matchers, commands and timeouts). The approval is a hash
of the set, per project, in ``DATA/hook-approvals.json``: any change to the set asks again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from stoa.core.config import StoaPaths
from stoa.core.hooks.config import HookSpec


def fingerprint(specs: Sequence[HookSpec]) -> str:
    identities = sorted(spec.identity() for spec in specs)
    return hashlib.sha256(json.dumps(identities).encode()).hexdigest()


def approvals_file(paths: StoaPaths) -> Path:
    return paths.data_dir / "hook-approvals.json"


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}


def is_approved(paths: StoaPaths, workspace: Path, specs: Sequence[HookSpec]) -> bool:
    return bool(specs) and _read(approvals_file(paths)).get(str(workspace)) == fingerprint(specs)


def approve(paths: StoaPaths, workspace: Path, specs: Sequence[HookSpec]) -> None:
    """Remember that the person approved this set for this project (written atomically)."""
    path = approvals_file(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _read(path)
    data[str(workspace)] = fingerprint(specs)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".hook-approvals-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
