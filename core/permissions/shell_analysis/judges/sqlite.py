"""sqlite3: a database the command may change; its dot-commands can run programs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.registry import judge

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge("sqlite3")
def sqlite(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    """sqlite3 DB [SQL]: dot-commands can run programs (.shell, .system), load code
    (.load) and write other files (.output, .once, .backup)."""
    args = cmd.words[1:]
    values = [w.value for w in args]
    if any(v is None for v in values):
        return Verdict("risky", ["sqlite3 with arguments known only at run time"])
    text = " ".join(v or "" for v in values)
    if re.search(r"(^|[\s;])\.(sh|shell|system|load|output|once|backup|save|restore|open|excel|log|cd|import|read)\b", text) or "-cmd" in values:
        return Verdict("risky", ["sqlite3 dot-commands run programs, load code or touch other files"])
    files = [w for w in args if (w.value or "").strip() and not (w.value or "").startswith("-")][:1]
    paths, _ = an.paths(files, write=True)
    return Verdict("unknown", ["sqlite3 may change a database"], paths)
