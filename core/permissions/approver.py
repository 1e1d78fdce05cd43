"""The approver port: how the core asks a person (or a policy) whether a tool call may run.

The agent builds a ``PermissionRequest`` when the permission policy says "ask", and awaits an
``Approver``. In the TUI the approver is the event stream itself: the agent emits
``PermissionRequested`` carrying a Future and the permission modal sets it. Headless mode
uses ``RefusingApprover``, which refuses with a message naming what would allow the call.

A person's plain "no" (n / Esc) stops the turn: the call is answered as rejected, the calls
after it are not run, and control returns to the person. "No, and say why" (feedback) and a
refusal by policy (``by_policy``: headless, no prompt to ask with) only answer the call; the
model reads the text and carries on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

from stoa.core.tools.base import Access, Effect

Outcome = Literal["once", "session", "always", "reject"]
RequestKind = Literal[
    "read", "write", "edit", "patch", "create", "move", "copy", "bash", "mcp", "network", "destructive", "other"
]
_KINDS: frozenset[str] = frozenset(get_args(RequestKind))
_SEVERITY = {Effect.NONE: 0, Effect.READ: 1, Effect.NETWORK: 1, Effect.MUTATE: 2, Effect.DESTRUCTIVE: 3}


@dataclass(frozen=True)
class PermissionRequest:
    tool_name: str
    call_id: str
    kind: RequestKind
    # The exact thing being approved: the command, the canonical path, the URL, SERVER___TOOL.
    target: str
    # Why it asks, in words a person understands ("outside the workspace: /etc/hosts").
    reason: str
    arguments: dict[str, Any] = field(default_factory=dict)
    # A unified diff for edits and writes, when known.
    preview: str | None = None
    # The narrowest rule that "always" would persist, e.g. "Bash(git push:*)".
    suggested_rule: str | None = None
    # Whether "always"/"session" make sense (never for destructive one-offs like rm -rf /x).
    can_remember: bool = True
    # Who asks, when not the main conversation: "sub-agent explore (a1): find the tests".
    agent: str = ""


def primary_access(accesses: Sequence[Access]) -> Access | None:
    """The access a question is about: the most significant one (a delete over a write over a
    read), the first of equals. An edit reads and writes its file: the question is the write."""
    if not accesses:
        return None
    return max(accesses, key=lambda a: _SEVERITY[a.effect])  # max keeps the first of equals


def request_kind(effect: Effect, primary: Access | None) -> RequestKind:
    """What kind of question to ask about a call with this effect whose primary access is
    ``primary`` (see ``primary_access``)."""
    if effect is Effect.DESTRUCTIVE or (primary is not None and primary.effect is Effect.DESTRUCTIVE):
        return "destructive"
    if primary is None:
        return "other"
    for kind in (primary.action, primary.scope):
        if kind in _KINDS:
            return kind  # type: ignore[return-value]
    return "other"


@dataclass(frozen=True)
class PermissionDecision:
    outcome: Outcome
    # "reject" with words for the model: the person's reason, or (``by_policy``) why it was refused.
    feedback: str | None = None
    # Refused by a rule of the front-end (headless, no prompt available), not by a person:
    # ``feedback`` is the tool result as it is, and the turn goes on.
    by_policy: bool = False

    @property
    def approved(self) -> bool:
        return self.outcome != "reject"

    @property
    def stops_turn(self) -> bool:
        """A person said a plain no: end the turn and give them the word."""
        return self.outcome == "reject" and not self.by_policy and not (self.feedback or "").strip()


class Approver(Protocol):
    async def approve(self, request: PermissionRequest) -> PermissionDecision: ...


class RefusingApprover:
    """Headless policy: nobody is there to ask, so whatever would ask is refused."""

    async def approve(self, request: PermissionRequest) -> PermissionDecision:
        if request.suggested_rule:
            how = f'to allow it, add "{request.suggested_rule}" to the allow list in .stoa/config.local.toml'
        elif request.kind == "destructive":
            how = (
                "deleting always needs a person's approval and no rule allows it; "
                "run it in the TUI, where you can approve it"
            )
        else:
            how = "to allow it, run it in the TUI, where you can approve it"
        return PermissionDecision(
            outcome="reject",
            feedback=f"Not run: {request.reason}. Headless mode cannot ask for approval; {how}.",
            by_policy=True,
        )
