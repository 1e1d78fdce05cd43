"""File tools inside an editor: reads see the editor's buffer, writes go through the editor.

The front end gives the agent an ``EditorFiles`` (``core/tools/base.py``; ACP's
``fs/read_text_file`` and ``fs/write_text_file``); without one, both helpers leave the disk
path as it is. Everything else a tool checks (the path, the policy, a stale read) is unchanged.
"""

from __future__ import annotations

from pathlib import Path

from stoa.core.tools.base import ToolContext


def editor_bytes(ctx: ToolContext, path: Path, data: bytes) -> bytes:
    """``data`` (the file as read from disk), or the editor's copy of it when the front end
    runs inside an editor that has one (an unsaved buffer is what the person sees)."""
    if ctx.editor is None:
        return data
    text = ctx.editor.read_text(path)
    return data if text is None else text.encode("utf-8", "surrogateescape")


def editor_write(ctx: ToolContext, path: Path, data: bytes) -> bool:
    """Write ``data`` through the editor (the change lands in its buffer). False when there is
    no editor or it does not take writes: the caller writes the disk. Raises ToolError."""
    if ctx.editor is None:
        return False
    return ctx.editor.write_text(path, data.decode("utf-8", "surrogateescape"))
