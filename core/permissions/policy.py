"""The permission policy the agent consults before every tool call.

``PermissionPolicy.decide`` turns (trust mode, tool effect, the call's accesses, rules) into
allow / ask / deny. The decision itself is the pure function ``core.permissions.modes.decide``;
this class holds the state around it: the current mode, the loaded rules, approvals granted for
this session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.tools.base import Access, Effect

Action = Literal["allow", "ask", "deny"]
MODES: tuple[str, ...] = ("plan", "ask", "auto")


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str = ""
    suggested_rule: str | None = None
    can_remember: bool = True


class PermissionPolicy:
    """Mode + rules + session approvals. Replaceable: the agent only calls ``decide``/``remember``."""

    def __init__(self, mode: str = "auto") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        self.mode = mode
        self._session_rules: set[str] = set()

    def decide(self, tool_name: str, effect: Effect, accesses: list[Access]) -> Verdict:
        if self.mode == "plan" and not effect.read_only:
            return Verdict("deny", f"{tool_name} changes things and the session is in plan mode (read-only)")
        for access in accesses:
            if access.outside_workspace and self._key(access) not in self._session_rules:
                return Verdict("ask", access.reason or f"outside the workspace: {access.target}")
        if effect is Effect.DESTRUCTIVE:
            return Verdict("ask", f"{tool_name} is destructive", can_remember=False)
        if self.mode == "ask" and effect is Effect.MUTATE and tool_name not in self._session_rules:
            return Verdict("ask", f"{tool_name} changes files and the session is in ask mode")
        return Verdict("allow")

    def remember(self, tool_name: str, accesses: list[Access], outcome: str) -> None:
        if outcome in ("session", "always"):
            self._session_rules.add(tool_name)
            self._session_rules.update(self._key(a) for a in accesses)

    @staticmethod
    def _key(access: Access) -> str:
        return f"{access.scope}:{access.target}"
