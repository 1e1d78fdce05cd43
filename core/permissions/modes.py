"""The trust modes and the one pure function that turns a situation into allow / ask / deny.

Everything the permission policy knows about one thing a tool call touches is reduced to a
``Situation``: the session's mode, the effect, whether it is outside the workspace (and not
covered by a path rule), which rule list matched it, how well we know what it does, and
whether it will run inside the OS sandbox. ``decide`` is the whole decision table; it has no
state and no I/O, so the table in the README and the test that walks every combination are
the same thing.

Order of the table (first match wins):

1. the forbidden tier never runs                               -> deny
2. a ``deny`` rule matches                                     -> deny
3. plan mode and the effect is not read-only                   -> deny
4. an ``ask`` rule matches                                     -> ask
5. an ``allow`` rule matches                                   -> allow
6. risky (needs a person whatever the mode: network, installs,
   inline interpreter code, obfuscation, substitutions, ...)   -> ask
7. outside the workspace (not covered by a path rule)          -> ask
8. read-only effect (none, read, network read)                 -> allow
9. destructive                                                 -> ask
10. mutation: vetted build/test commands                       -> allow
    ask mode                                                   -> ask
    auto mode, unknown command: inside the sandbox             -> allow, else ask
    auto mode, known in-workspace mutation                     -> allow
"""

from __future__ import annotations

from typing import Literal, cast

from stoa.core.tools.base import Effect

Mode = Literal["plan", "ask", "auto"]
Action = Literal["allow", "ask", "deny"]
RuleMatch = Literal["allow", "ask", "deny"]
# How well we know what an operation does (the shell analysis fills it for commands):
#   vetted:    a known read-only or build/test command; runs in every mode but plan's limits
#   known:     an operation we understand (native tools, known in-workspace mutations)
#   unknown:   a command we do not know; auto mode runs it only inside the OS sandbox
#   risky:     needs a person in every mode (network, installs, inline code, obfuscation)
#   forbidden: never runs
Certainty = Literal["vetted", "known", "unknown", "risky", "forbidden"]

MODES: tuple[Mode, ...] = ("plan", "ask", "auto")
MODE_DESCRIPTIONS: dict[Mode, str] = {
    "plan": "read-only: only tools and commands that change nothing run",
    "ask": "confirm every change",
    "auto": "changes inside the workspace run without asking; destructive and outside ask",
}

_ORDER: dict[Action, int] = {"allow": 0, "ask": 1, "deny": 2}


def decide(
    mode: Mode,
    effect: Effect,
    *,
    outside: bool = False,
    rule: RuleMatch | None = None,
    certainty: Certainty = "known",
    sandboxed: bool = False,
) -> Action:
    """The decision table (see the module docstring). Pure: same inputs, same answer."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if certainty == "forbidden":
        return "deny"
    if rule == "deny":
        return "deny"
    if mode == "plan" and not effect.read_only:
        return "deny"
    if rule == "ask":
        return "ask"
    if rule == "allow":
        return "allow"
    if certainty == "risky":
        return "ask"
    if outside:
        return "ask"
    if effect.read_only:
        return "allow"
    if effect is Effect.DESTRUCTIVE:
        return "ask"
    # Effect.MUTATE from here on.
    if certainty == "vetted":
        return "allow"
    if mode == "ask":
        return "ask"
    if certainty == "unknown":
        return "allow" if sandboxed else "ask"
    return "allow"


def strictest(actions: list[Action]) -> Action:
    """The combined answer for several things one call touches: deny > ask > allow."""
    return max(actions, key=_ORDER.__getitem__, default="allow")


def next_mode(mode: str) -> Mode:
    """The mode after ``mode`` in the Shift+Tab cycle (auto -> plan -> ask -> auto)."""
    cycle: tuple[Mode, ...] = ("auto", "plan", "ask")
    try:
        return cycle[(cycle.index(cast(Mode, mode)) + 1) % len(cycle)]
    except ValueError:
        return "auto"


def check_mode(mode: str) -> Mode:
    """``mode`` as a ``Mode``, or a ValueError that says which modes exist."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    return mode
