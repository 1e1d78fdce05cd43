"""The narrowest permission rule that would let a finding run without asking (what the
permission prompt offers to remember)."""

from __future__ import annotations

import shlex

from stoa.core.permissions.shell_analysis.findings import Finding
from stoa.core.permissions.shell_analysis.tables import DESTRUCTIVE, EVALUATORS, INTERPRETERS, SHELLS

_INDIRECT = ("-c", "eval", "xargs", "find", "trap", "watch", "env -S", "fd ", "fdfind")


def narrowest_rule(finding: Finding, line: str) -> str:
    """The narrowest rule that would let this finding run without asking.

    A command gets a prefix rule of its name and subcommand (``Bash(git push:*)``,
    ``Bash(python scripts/gen.py:*)``); destructive commands and inline code get the exact
    command; structural findings and commands reached indirectly (``bash -c``, ``xargs``,
    ``find -exec``) get the exact whole line.
    """
    argv = finding.argv
    indirect = any(marker in finding.via for marker in _INDIRECT)
    if argv is None or not finding.static or indirect:
        return f"Bash({' '.join(line.split())})"
    words = [a for a in argv if a is not None]
    name = words[0]
    inline = finding.kind == "risky" and (name in SHELLS or name in INTERPRETERS or name in EVALUATORS)
    if finding.kind == "destructive" or name in DESTRUCTIVE or inline or len(words) == 1:
        return f"Bash({shlex.join(words)})"
    prefix = [name]
    operands = [w for w in words[1:] if not w.startswith("-")]
    if name in INTERPRETERS and "-m" in words:
        index = words.index("-m")
        prefix += words[index : index + 2]
    elif (name in _SUBCOMMAND_TOOLS or name in INTERPRETERS or name in SHELLS) and operands:
        prefix.append(operands[0])
    if prefix == words:
        return f"Bash({shlex.join(words)})"
    return f"Bash({shlex.join(prefix)}:*)"


_SUBCOMMAND_TOOLS = frozenset(
    """git npm yarn pnpm bun cargo go docker podman kubectl helm terraform gh glab pip pip3 uv
    poetry pipenv pdm hatch apt apt-get brew dnf yum make gmake dotnet mvn gradle gradlew deno
    systemctl aws gcloud az conda gem bundle rake mix stack cabal swift zig cmake ruff npx""".split()
)
