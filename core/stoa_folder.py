"""The project's ``.stoa`` folder: which files in it are personal, and the ``.gitignore`` that
keeps them out of git.

``.stoa/config.toml`` is shared with the project; ``.stoa/config.local.toml`` (personal rules,
"always" approvals, MCP servers added with ``/mcp add``) and ``.stoa/instructions.md`` are
one person's. Whatever writes a file into ``.stoa`` calls ``ensure_gitignore`` first, so the
personal files never end up in a commit by accident. An existing ``.gitignore`` is left as
the person wrote it.
"""

from __future__ import annotations

import os
from pathlib import Path

PERSONAL_FILES: tuple[str, ...] = ("config.local.toml", "instructions.md")

GITIGNORE_TEXT = (
    "# Written by Stoa: personal files stay out of git (config.toml is shared with the project).\n"
    + "".join(f"{name}\n" for name in PERSONAL_FILES)
)


def ensure_gitignore(stoa_dir: Path) -> bool:
    """Write ``stoa_dir/.gitignore`` naming the personal files, unless one exists (or the
    folder cannot be written: the caller's own write will report that). True if written."""
    target = stoa_dir / ".gitignore"
    if os.path.lexists(target):
        return False
    try:
        stoa_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(GITIGNORE_TEXT)
    return True


def ensure_gitignore_for(path: Path) -> bool:
    """``ensure_gitignore`` when ``path`` is a file directly in a ``.stoa`` folder."""
    parent = path.parent
    return parent.name == ".stoa" and ensure_gitignore(parent)
