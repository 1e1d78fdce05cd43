"""Open ``path:line`` in the person's editor (``$VISUAL``, else ``$EDITOR``): a click on a
``path:line`` reference in a reply (``widgets/links.py``), or Ctrl+G for the last one. A terminal editor gets the terminal
(the app suspends while it runs; this blocks, as the terminal is the editor's meanwhile); VS Code-like editors get ``-g path:line``, others ``+line path``."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

_GOTO_EDITORS = ("code", "code-insiders", "codium", "cursor", "windsurf")


def last_reference(records: Any) -> tuple[str, int] | None:
    """The last ``path:line`` of the latest reply that has one (Ctrl+G)."""
    from stoa.widgets.links import PATH_LINE
    from stoa.widgets.records import AssistantRecord

    for record in reversed(list(records)):
        if isinstance(record, AssistantRecord):
            found = list(PATH_LINE.finditer(record.text))
            if found:
                return found[-1].group(1), int(found[-1].group(2))
    return None


def editor_command(editor: str, path: Path, line: int) -> list[str]:
    words = shlex.split(editor)
    name = os.path.basename(words[0]) if words else ""
    if name in _GOTO_EDITORS:
        return [*words, "-g", f"{path}:{line}"]
    if name in ("subl", "zed"):
        return [*words, f"{path}:{line}"]
    return [*words, f"+{line}", str(path)]


def open_path(app: Any, path: str, line: int) -> None:
    from textual.app import SuspendNotSupported

    config = app.config
    target = Path(path).expanduser()
    target = target if target.is_absolute() else config.workspace / target
    if not target.is_file():
        app.chat.show_notice("warning", f"{path}:{line}: there is no such file in the workspace")
        return
    editor = config.env.get("VISUAL") or config.env.get("EDITOR")
    if not editor:
        app.chat.show_notice("info", f"{path}:{line}", hint="set $EDITOR (or $VISUAL) to open it from here")
        return
    argv = editor_command(editor, target, line)
    try:
        with app.suspend():
            done = subprocess.run(argv, env=config.env, check=False)
    except SuspendNotSupported:  # no terminal to hand over (tests, a web front end)
        done = subprocess.run(argv, env=config.env, check=False, stdin=subprocess.DEVNULL)
    except OSError as exc:
        app.chat.show_notice("error", f"cannot run {argv[0]}: {exc.strerror or exc}", hint="check $EDITOR")
        return
    if done.returncode != 0:
        app.chat.show_notice("warning", f"{argv[0]} exited with code {done.returncode}")
