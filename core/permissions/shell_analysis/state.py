"""What the analyzer knows while it reads one command line: the workspace, the current folder
(``cd`` changes it), variables and functions the line defines, symbolic links it creates, and
the findings so far. The layers above (words, path_uses, classifier, walker) read and change it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from stoa.core.permissions.shell_analysis.findings import Finding, PathUse

# (value, base folder, workspace) -> (canonical path, inside the workspace)
Resolver = Callable[[str, str, str], tuple[str, bool]]


class AnalyzerState:
    """The bottom layer of the analyzer. Each layer adds one concern on top of the one below:
    AnalyzerState -> WordReader (words.py) -> PathReader (path_uses.py) -> Classifier
    (classifier.py) -> Analyzer (walker.py); judges (judges/) get the Classifier."""

    def __init__(self, workspace: Path, home: str, env: Mapping[str, str], resolver: Resolver) -> None:
        from stoa.core.permissions.paths import canonical_root

        self.workspace = str(canonical_root(workspace))
        self.home = home
        self.env = env
        self.resolver = resolver
        self.cwd: str | None = self.workspace
        # How deep the line being read is nested (bash -c, eval, ...: up to MAX_DEPTH).
        self.depth = 0
        # The folder the git command being judged runs in (set by the git judge, which the
        # subcommand's judging and git stash read).
        self.git_dir: str | None = self.workspace
        self.vars: dict[str, str | None] = {}
        self.findings: list[Finding] = []
        self.parsed = True
        self.functions: set[str] = set()
        # For variables whose value is known only at run time: the text that set them
        # (x=${y/a/../b}), so a path through them that plainly leads out is still seen.
        self.hints: dict[str, str] = {}
        # Symlinks this line creates (ln -s): later paths through them lead to their targets.
        self.links: dict[str, PathUse] = {}

    def forget(self, name: str, hint: str = "") -> None:
        """``name`` now holds a value known only at run time."""
        self.vars[name] = None
        self.hints[name] = hint
