"""The approver port: how the core asks a person (or a policy) whether a tool call may run.

The agent builds a ``PermissionRequest`` when the permission policy says "ask", and awaits an
``Approver``. In the TUI the approver is the event stream itself: the agent emits
``PermissionRequested`` carrying a Future and the permission modal sets it. Headless mode
uses ``RefusingApprover``, which refuses with a message naming what would allow the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Outcome = Literal["once", "session", "always", "reject"]
RequestKind = Literal["read", "write", "edit", "bash", "mcp", "network", "destructive", "other"]


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


@dataclass(frozen=True)
class PermissionDecision:
    outcome: Outcome
    feedback: str | None = None

    @property
    def approved(self) -> bool:
        return self.outcome != "reject"


class Approver(Protocol):
    async def approve(self, request: PermissionRequest) -> PermissionDecision: ...


class RefusingApprover:
    """Headless policy: nobody is there to ask, so whatever would ask is refused."""

    async def approve(self, request: PermissionRequest) -> PermissionDecision:
        how = (
            f'add "{request.suggested_rule}" to the allow list in .stoa/config.local.toml'
            if request.suggested_rule
            else "run it in the TUI, where you can approve it"
        )
        return PermissionDecision(
            outcome="reject",
            feedback=(
                f"Not run: {request.reason}. Headless mode cannot ask for approval; to allow it, {how}."
            ),
        )
