"""What the analysis of a command line says: kinds, tiers, and the findings that carry them.

Every simple command of the line, and every structural feature of it (a substitution, a
here-document, a redirection to a file, a function definition, unparseable input), becomes a
``Finding`` with a kind and the paths it touches. Kinds, from harmless to never:

    read         read-only (ls, cat, grep, git status/log/diff, ...)
    build        build and test runners (pytest, make, cargo test, npm test, ...)
    write        known mutations of workspace files (mkdir, cp, mv, sed -i, git commit, ...)
    unknown      a command we do not know (runs without asking only inside the OS sandbox)
    destructive  deletes or discards (rm, git reset --hard, git push --force, find -delete, ...)
    risky        needs a person whatever the mode (network, installs, inline interpreter code,
                 obfuscated or dynamic command names, substitutions, heredocs, redirection to files)
    forbidden    never runs (sudo, mkfs, dd, shutdown, chmod outside the workspace, rm -rf /, ...)

The public summary is the tier: ``allowed`` (read, build, write, all inside the workspace),
``unknown``, ``ask`` (destructive, risky, or anything outside the workspace) and ``forbidden``.
Whatever cannot be parsed is ``ask``, never ``allowed``. ``ShellAnalysis`` is what the
permission policy (core/permissions/policy.py) decides from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from stoa.core.tools.base import Effect

Kind = Literal["read", "build", "write", "unknown", "destructive", "risky", "forbidden"]
Tier = Literal["allowed", "unknown", "ask", "forbidden"]

KIND_ORDER: dict[str, int] = {
    "read": 0,
    "build": 1,
    "write": 2,
    "unknown": 3,
    "destructive": 4,
    "risky": 5,
    "forbidden": 6,
}
TIER_ORDER: dict[str, int] = {"allowed": 0, "unknown": 1, "ask": 2, "forbidden": 3}
KIND_TIER: dict[str, Tier] = {
    "read": "allowed",
    "build": "allowed",
    "write": "allowed",
    "unknown": "unknown",
    "destructive": "ask",
    "risky": "ask",
    "forbidden": "forbidden",
}
KIND_EFFECT: dict[str, Effect] = {
    "read": Effect.READ,
    "build": Effect.MUTATE,
    "write": Effect.MUTATE,
    "unknown": Effect.MUTATE,
    "risky": Effect.MUTATE,
    "destructive": Effect.DESTRUCTIVE,
    "forbidden": Effect.DESTRUCTIVE,
}


def worst(kinds: Iterable[Kind]) -> Kind:
    return max(kinds, key=KIND_ORDER.__getitem__, default="read")


@dataclass(frozen=True)
class PathUse:
    """One path a command touches. ``path`` is canonical, or None when it is not known
    statically (a variable, a glob, an unknown working directory)."""

    raw: str
    path: str | None
    write: bool = False
    outside: bool = False

    @property
    def unknown(self) -> bool:
        return self.path is None


@dataclass(frozen=True)
class Finding:
    """One simple command (``argv`` set) or one structural feature of the line (``argv`` None)."""

    kind: Kind
    reasons: tuple[str, ...] = ()
    paths: tuple[PathUse, ...] = ()
    # Words after unwrapping and normalisation ("/bin/rm" -> "rm"); None where not static.
    argv: tuple[str | None, ...] | None = None
    text: str = ""
    # How it is reached: "" at top level, else e.g. "bash -c", "find -exec", "xargs".
    via: str = ""
    # False for commands that must see the real machine (ps, kill, ...).
    sandbox_ok: bool = True

    @property
    def static(self) -> bool:
        return self.argv is not None and all(a is not None for a in self.argv)

    @property
    def outside_paths(self) -> tuple[PathUse, ...]:
        return tuple(p for p in self.paths if p.outside)

    @property
    def tier(self) -> Tier:
        tier = KIND_TIER[self.kind]
        if tier in ("allowed", "unknown") and self.outside_paths:
            return "ask"
        if tier == "allowed" and any(p.unknown for p in self.paths):
            return "unknown"
        return tier

    @property
    def certainty_kind(self) -> Kind:
        """The kind with unknown locations folded in (a read of an unknown path is unknown)."""
        if KIND_ORDER[self.kind] < KIND_ORDER["unknown"] and any(p.unknown for p in self.paths):
            return "unknown"
        return self.kind


@dataclass(frozen=True)
class ShellAnalysis:
    command: str
    findings: tuple[Finding, ...]
    parsed: bool = True

    @property
    def kind(self) -> Kind:
        return worst(f.certainty_kind for f in self.findings)

    @property
    def tier(self) -> Tier:
        return max((f.tier for f in self.findings), key=TIER_ORDER.__getitem__, default="allowed")

    @property
    def effect(self) -> Effect:
        # A read of paths known only at run time is not vouched for as read-only.
        effects = [KIND_EFFECT[f.certainty_kind] for f in self.findings] or [Effect.READ]
        order = [Effect.READ, Effect.MUTATE, Effect.DESTRUCTIVE]
        return max(effects, key=order.index)

    @property
    def read_only(self) -> bool:
        return all(f.certainty_kind == "read" and not any(p.write for p in f.paths) for f in self.findings)

    @property
    def outside_paths(self) -> tuple[PathUse, ...]:
        seen: dict[str, PathUse] = {}
        for f in self.findings:
            for p in f.outside_paths:
                seen.setdefault(f"{p.path}:{p.write}", p)
        return tuple(seen.values())

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the line is in its tier, worst findings first."""
        ordered = sorted(self.findings, key=lambda f: -TIER_ORDER[f.tier] * 10 - KIND_ORDER[f.kind])
        out: list[str] = []
        for f in ordered:
            if f.tier == "allowed":
                continue
            for reason in f.reasons or (f"{f.text or 'command'}: {f.kind}",):
                if reason not in out:
                    out.append(reason)
            for p in f.outside_paths:
                text = f"{'writes' if p.write else 'reads'} outside the workspace: {p.path}"
                if text not in out:
                    out.append(text)
        return tuple(out)

    @property
    def sandbox_ok(self) -> bool:
        return all(f.sandbox_ok for f in self.findings)

    @property
    def sandboxable(self) -> bool:
        """Whether the line runs inside the OS sandbox (when there is one): nothing in it needs
        the real machine (network, other processes) or paths outside the workspace. The policy
        and execute_bash both decide with this, so they cannot disagree."""
        return self.sandbox_ok and not self.outside_paths and self.tier != "forbidden"

    @property
    def commands(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.argv is not None)
