"""The decision table: every mode x effect x location, written out by hand, against modes.decide."""

from __future__ import annotations

import itertools

import pytest

from stoa.core.permissions.modes import MODES, decide, next_mode, strictest
from stoa.core.tools.base import Effect

# (mode, effect) -> (inside the workspace, outside the workspace), for a known operation with
# no rule matching (native tools, known commands).
TABLE: dict[tuple[str, Effect], tuple[str, str]] = {
    ("plan", Effect.NONE): ("allow", "ask"),
    ("plan", Effect.READ): ("allow", "ask"),
    ("plan", Effect.NETWORK): ("allow", "ask"),
    ("plan", Effect.MUTATE): ("deny", "deny"),
    ("plan", Effect.DESTRUCTIVE): ("deny", "deny"),
    ("ask", Effect.NONE): ("allow", "ask"),
    ("ask", Effect.READ): ("allow", "ask"),
    ("ask", Effect.NETWORK): ("allow", "ask"),
    ("ask", Effect.MUTATE): ("ask", "ask"),
    ("ask", Effect.DESTRUCTIVE): ("ask", "ask"),
    ("auto", Effect.NONE): ("allow", "ask"),
    ("auto", Effect.READ): ("allow", "ask"),
    ("auto", Effect.NETWORK): ("allow", "ask"),
    ("auto", Effect.MUTATE): ("allow", "ask"),
    ("auto", Effect.DESTRUCTIVE): ("ask", "ask"),
}


@pytest.mark.parametrize(("mode", "effect"), list(TABLE))
def test_every_mode_effect_and_location(mode: str, effect: Effect) -> None:
    inside, outside = TABLE[(mode, effect)]
    assert decide(mode, effect, outside=False) == inside  # type: ignore[arg-type]
    assert decide(mode, effect, outside=True) == outside  # type: ignore[arg-type]


def test_the_table_covers_every_combination() -> None:
    assert set(TABLE) == set(itertools.product(MODES, list(Effect)))


# Shell commands: how sure we are of what a command does, for a mutation inside the workspace,
# in each mode, without and with the OS sandbox.
COMMANDS = {
    # certainty:  plan     ask      auto (no sandbox)  auto (sandbox)
    "vetted": ("deny", "allow", "allow", "allow"),  # pytest, make test
    "known": ("deny", "ask", "allow", "allow"),  # mkdir, cp, git commit
    "unknown": ("deny", "ask", "ask", "allow"),  # ./build.sh, python script.py
    "risky": ("deny", "ask", "ask", "ask"),  # curl, pip install, bash -c
    "forbidden": ("deny", "deny", "deny", "deny"),  # sudo, mkfs
}


@pytest.mark.parametrize("certainty", list(COMMANDS))
def test_commands_by_certainty(certainty: str) -> None:
    plan, ask, auto, auto_sandboxed = COMMANDS[certainty]
    m = Effect.MUTATE
    assert decide("plan", m, certainty=certainty) == plan  # type: ignore[arg-type]
    assert decide("ask", m, certainty=certainty) == ask  # type: ignore[arg-type]
    assert decide("ask", m, certainty=certainty, sandboxed=True) == ask  # type: ignore[arg-type]
    assert decide("auto", m, certainty=certainty) == auto  # type: ignore[arg-type]
    assert decide("auto", m, certainty=certainty, sandboxed=True) == auto_sandboxed  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("effect", list(Effect))
@pytest.mark.parametrize("outside", [False, True])
def test_rules(mode: str, effect: Effect, outside: bool) -> None:
    # deny always wins; plan mode never mutates whatever the rules say; then ask, then allow.
    assert decide(mode, effect, outside=outside, rule="deny") == "deny"  # type: ignore[arg-type]
    if mode == "plan" and not effect.read_only:
        assert decide(mode, effect, outside=outside, rule="allow") == "deny"  # type: ignore[arg-type]
        assert decide(mode, effect, outside=outside, rule="ask") == "deny"  # type: ignore[arg-type]
    else:
        assert decide(mode, effect, outside=outside, rule="allow") == "allow"  # type: ignore[arg-type]
        assert decide(mode, effect, outside=outside, rule="ask") == "ask"  # type: ignore[arg-type]
    # Nothing allows the forbidden tier.
    assert decide(mode, effect, outside=outside, rule="allow", certainty="forbidden") == "deny"  # type: ignore[arg-type]


def test_unknown_mode_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="plan, ask, auto"):
        decide("yolo", Effect.READ)  # type: ignore[arg-type]


def test_strictest_and_cycle() -> None:
    assert strictest([]) == "allow"
    assert strictest(["allow", "ask"]) == "ask"
    assert strictest(["ask", "deny", "allow"]) == "deny"
    assert [next_mode(m) for m in ("auto", "plan", "ask")] == ["plan", "ask", "auto"]
