"""Real file-system faults for tests, made with bubblewrap (no mocks, no root needed).

- a full disk: a small tmpfs (``bwrap --size N --tmpfs DIR``) filled to the last byte;
- a read-only file system: ``bwrap --ro-bind DIR DIR`` (writes fail with EROFS);
- permission bits that bite: tests often run as root, and root ignores ``chmod 000``. Inside
  ``bwrap --unshare-user --uid 1000`` the process owns the same files but holds no
  capabilities, so a file's mode applies to it as to any user. (Run as a normal user, the jail
  changes nothing there: the bits already apply.)

The steps that need the jail run in one ``fs_driver`` process inside it (a jail's tmpfs is gone
when it ends); ``run_jailed`` returns the driver's results.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
UNPRIVILEGED_UID = 1000


@functools.cache
def jail_problem() -> str | None:
    """Why the jails cannot be made here (for a skip reason), or None when they can."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    probe = [
        bwrap, "--dev-bind", "/", "/", "--unshare-user", "--uid", str(UNPRIVILEGED_UID),
        "--size", "65536", "--tmpfs", "/mnt", "--", "true",
    ]  # fmt: skip
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap cannot run here: {exc}"
    if result.returncode != 0:
        return f"bwrap cannot make a user namespace with a tmpfs here: {result.stderr.strip()}"
    return None


def run_jailed(
    steps: list[dict[str, Any]],
    *,
    tmpfs: Path | None = None,
    size: int = 4 << 20,
    read_only: Path | None = None,
    unprivileged: bool = False,
    timeout: float = 240,
) -> list[Any]:
    """Run the driver steps inside a jail; returns their results (see ``fs_driver``)."""
    argv = [shutil.which("bwrap") or "bwrap", "--dev-bind", "/", "/"]
    if unprivileged:
        argv += ["--unshare-user", "--uid", str(UNPRIVILEGED_UID), "--gid", str(UNPRIVILEGED_UID)]
    if tmpfs is not None:
        argv += ["--size", str(size), "--tmpfs", str(tmpfs)]
    if read_only is not None:
        argv += ["--ro-bind", str(read_only), str(read_only)]
    argv += ["--", sys.executable, "-m", "tests.integration.fs_driver"]
    result = subprocess.run(
        argv, input=json.dumps(steps), capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, f"the jailed driver failed ({result.returncode}):\n{result.stderr[-4000:]}"
    data: list[Any] = json.loads(result.stdout)
    return data


def stoa_step(args: list[str], env: dict[str, str], cwd: Path, *, background: bool = False) -> dict[str, Any]:
    return {"op": "stoa_start" if background else "stoa", "args": args, "env": env, "cwd": str(cwd)}
