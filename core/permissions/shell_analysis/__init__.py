"""Shell command analysis: what a command line given to execute_bash would do, from a real parse.

(Not the shell tool itself, which is core/tools/shell.py: this package only reads a line.)

Where a command's decision is made, in order:

1. walk      walker.py      tree-sitter-bash parses the line; ``Analyzer`` walks the tree
                            (lists, pipelines, subshells, loops, functions, substitutions,
                            redirections, assignments) and hands each simple command on.
                            Words are evaluated statically by words.py (quotes, ``$'..'``,
                            braces, variables the line set); structural features
                            (substitutions, here-documents, redirections to files) become
                            findings right here.
2. classify  classifier.py  the command name is normalised (``/usr/bin/rm`` is ``rm``),
                            obfuscated names (quoted, dynamic, patterns, PATH shadowing) are
                            flagged, FORBIDDEN programs refused, and the program's judge found
                            in the registry (registry.py). A program without one is
                            ``unknown``.
3. judge     judges/*.py    one module per program family decides the kind (read, build,
                            write, unknown, destructive, risky, forbidden) and the paths the
                            command touches (path_uses.py); wrappers, shells, ``eval``,
                            ``find -exec`` and ``xargs`` feed their inner command back to 2.
4. findings  findings.py    each verdict becomes a ``Finding``; ``ShellAnalysis`` sums them
                            up into a tier (allowed, unknown, ask, forbidden).
5. policy    core/permissions/policy.py  mode, rules and sandbox turn the analysis into
                            allow, ask or deny. This package never decides that.

Adding a judge: write a function ``(analyzer, name, cmd, depth) -> Verdict`` in the judges/
module of its family (or a new module there: every module of judges/ is imported), decorate
it with ``@judge("program", ...)`` from registry.py, and add cases to
tests/unit/test_shell_corpus.py (plus red-team cases in tests/integration/test_shell_redteam.py
when it can hurt). A judge named for a program takes precedence over a family judge
(``@judge(*tables.WRAPPERS, family=True)``); registering a program twice is refused.
"""

from __future__ import annotations

from stoa.core.permissions.shell_analysis.findings import (
    KIND_EFFECT,
    KIND_ORDER,
    TIER_ORDER,
    Finding,
    Kind,
    PathUse,
    ShellAnalysis,
    Tier,
)
from stoa.core.permissions.shell_analysis.judges.git import git_argv_for_rules
from stoa.core.permissions.shell_analysis.sensitive import protected_write_reason
from stoa.core.permissions.shell_analysis.suggest import narrowest_rule
from stoa.core.permissions.shell_analysis.tables import DESTRUCTIVE
from stoa.core.permissions.shell_analysis.walker import analyze

__all__ = [
    "DESTRUCTIVE",
    "KIND_EFFECT",
    "KIND_ORDER",
    "TIER_ORDER",
    "Finding",
    "Kind",
    "PathUse",
    "ShellAnalysis",
    "Tier",
    "analyze",
    "git_argv_for_rules",
    "narrowest_rule",
    "protected_write_reason",
]
