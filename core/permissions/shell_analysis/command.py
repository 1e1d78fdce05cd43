"""A simple command being judged (``Cmd``) and a judge's verdict on it (``Verdict``).

Judges (judges/) take a ``Cmd``, the analyzer, and the nesting depth, and return a ``Verdict``:
a kind, reasons, the paths the command touches, and whether it may run in the OS sandbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stoa.core.permissions.shell_analysis.findings import KIND_ORDER, Kind, PathUse
from stoa.core.permissions.shell_analysis.words import Word

# "skip": a wrapper whose inner command was recorded as its own finding.
VERDICT_ORDER = {**KIND_ORDER, "skip": -1}


@dataclass
class Cmd:
    """A simple command being classified: its words and where it came from."""

    words: list[Word]
    text: str
    via: str = ""

    @property
    def values(self) -> list[str | None]:
        return [w.value for w in self.words]


@dataclass
class Verdict:
    kind: Kind
    reasons: list[str] = field(default_factory=list)
    paths: list[PathUse] = field(default_factory=list)
    sandbox_ok: bool = True

    def raise_to(self, kind: Kind, reason: str | None = None) -> None:
        if KIND_ORDER[kind] > VERDICT_ORDER.get(self.kind, -1):
            self.kind = kind
        if reason and reason not in self.reasons:
            self.reasons.append(reason)


def strip_version(name: str) -> str:
    m = re.fullmatch(r"(python|pypy|pip|ruby|perl|php|node|lua|gcc|g\+\+|clang|clang\+\+)(\d+(\.\d+)*)", name)
    if m:
        return m.group(1) if m.group(1) not in ("pip",) else "pip"
    return name


def chain_via(outer: str, how: str) -> str:
    return f"{outer} > {how}" if outer else how
