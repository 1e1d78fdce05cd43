"""Runs inside a bubblewrap jail (see ``fs_faults.py``): the steps of one file-system fault
scenario, read as JSON from stdin, results printed as one JSON object on stdout.

The jail is what makes the fault real: a small tmpfs that can be filled to the last byte, a
read-only bind mount, or a user without capabilities for whom ``chmod 000`` means what it says.
Files inside a jail's tmpfs are gone when the jail ends, so every step that needs them runs here,
in order.

Steps (``op`` and its fields):
- ``copy`` src, dst: copy what folder src holds into folder dst
- ``fill`` dir: write a file into dir until the file system is full (ENOSPC)
- ``unfill`` dir: remove that file again
- ``stoa`` args, env, cwd: run ``python -m stoa.app.cli ARGS``; result rc, stdout, stderr
- ``stoa_start`` args, env, cwd / ``stoa_wait``: the same, in the background
- ``wait_file`` path: until path exists (60 s at most); ``touch`` path
- ``list`` dir: the names in dir; ``hash`` path: sha256 of the file
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

FILL_NAME = ".fill"


def _fill(folder: str) -> int:
    written = 0
    with open(os.path.join(folder, FILL_NAME), "wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            block = bytes(size)
            while True:
                try:
                    written += handle.write(block) or 0
                except OSError as exc:
                    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                        raise
                    break
    return written


def main() -> None:
    steps: list[dict[str, Any]] = json.loads(sys.stdin.read())
    results: list[Any] = []
    background: subprocess.Popen[str] | None = None
    for step in steps:
        op = step["op"]
        if op == "copy":
            shutil.copytree(step["src"], step["dst"], dirs_exist_ok=True)
            results.append(None)
        elif op == "fill":
            results.append(_fill(step["dir"]))
        elif op == "unfill":
            os.unlink(os.path.join(step["dir"], FILL_NAME))
            results.append(None)
        elif op in ("stoa", "stoa_start"):
            proc = subprocess.Popen(
                [sys.executable, "-m", "stoa.app.cli", *step["args"]],
                env=step["env"],
                cwd=step["cwd"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            if op == "stoa_start":
                background = proc
                results.append(None)
            else:
                out, err = proc.communicate(timeout=120)
                results.append({"rc": proc.returncode, "stdout": out, "stderr": err})
        elif op == "stoa_wait":
            assert background is not None
            out, err = background.communicate(timeout=120)
            results.append({"rc": background.returncode, "stdout": out, "stderr": err})
        elif op == "wait_file":
            deadline = time.monotonic() + 60
            while not os.path.exists(step["path"]):
                if time.monotonic() > deadline or (background is not None and background.poll() is not None):
                    raise SystemExit(f"{step['path']} never appeared")
                time.sleep(0.01)
            results.append(None)
        elif op == "touch":
            with open(step["path"], "a"):
                pass
            results.append(None)
        elif op == "list":
            if step.get("missing_ok") and not os.path.isdir(step["dir"]):
                results.append(None)
            else:
                results.append(sorted(os.listdir(step["dir"])))
        elif op == "hash":
            with open(step["path"], "rb") as handle:
                results.append(hashlib.sha256(handle.read()).hexdigest())
        else:
            raise SystemExit(f"unknown step {op!r}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
