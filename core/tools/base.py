"""What a tool is: a name, a pydantic argument model, an effect, the accesses it needs, a run.

Every tool (native or MCP) is a ``Tool``. The agent validates arguments against ``Args``,
asks the permission policy about each ``Access`` the tool declares for those arguments, and
only then calls ``run``. A tool reports failure the model can act on by raising ``ToolError``
(or returning ``ToolOutput(is_error=True)``); anything else it raises becomes an error result
too, never a crash of the turn.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ValidationError

from stoa.core.providers.types import ImageBlock, TextBlock, ToolSpec

if TYPE_CHECKING:
    from stoa.core.events import Event
    from stoa.core.models import ModelInfo


class Effect(StrEnum):
    NONE = "none"  # no effect outside the conversation (update_plan)
    READ = "read"
    NETWORK = "network"  # network read (web_fetch); offered in plan mode
    MUTATE = "mutate"
    DESTRUCTIVE = "destructive"  # always asks, even in auto mode

    @property
    def read_only(self) -> bool:
        return self in (Effect.NONE, Effect.READ, Effect.NETWORK)


class ToolError(Exception):
    """A failure the model should read and act on (bad path, not found, ...)."""


@dataclass(frozen=True)
class Access:
    """One thing a tool call touches, for the permission policy to judge.

    ``scope``: ``read``/``write`` (a canonical path), ``bash`` (a command), ``mcp``
    (SERVER___TOOL), ``network`` (a URL). ``effect`` is the effect of this access;
    ``outside_workspace`` is decided on canonical paths only (see core/permissions/paths.py).
    """

    scope: Literal["read", "write", "bash", "mcp", "network"]
    target: str
    effect: Effect
    outside_workspace: bool = False
    # Why this access might need a person's say, in words.
    reason: str = ""
    # A unified diff or other preview for the approval prompt.
    preview: str | None = None
    # Extra facts for the policy (e.g. the shell analysis tier).
    facts: dict[str, Any] = field(default_factory=dict)
    # What this access does, in the words of the approval question: "edit", "write",
    # "create", "move", "copy", "patch" ("" : the scope says it).
    action: str = ""


@dataclass
class ToolOutput:
    """What a tool returns: content for the model, and an optional richer display for the UI."""

    content: list[TextBlock | ImageBlock]
    is_error: bool = False
    display: dict[str, Any] | None = None

    @classmethod
    def text(cls, text: str, *, display: dict[str, Any] | None = None) -> ToolOutput:
        return cls(content=[TextBlock(text=text)], display=display)

    @classmethod
    def error(cls, text: str) -> ToolOutput:
        return cls(content=[TextBlock(text=text)], is_error=True)

    @property
    def text_content(self) -> str:
        return "\n".join(b.text for b in self.content if isinstance(b, TextBlock))


@dataclass
class ToolContext:
    """What a running tool may use. Built by the agent per call."""

    workspace: Path
    call_id: str = ""
    # Put an event on the turn's stream (non-blocking). Used for shell output, plan updates.
    emit: Callable[[Event], None] = lambda event: None
    # The loaded configuration (core.config.StoaConfig); Any to keep tools decoupled.
    config: Any = None
    # Per-session scratch shared by tools (e.g. file read stamps for edit safety).
    state: dict[str, Any] = field(default_factory=dict)
    # Set by a tool that is being cancelled (Esc) and has something to return anyway, such as
    # the output a shell command produced so far; it becomes the call's result. Re-raise after.
    interrupted_output: ToolOutput | None = None


class Tool(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    Args: ClassVar[type[BaseModel]]
    effect: ClassVar[Effect]

    def spec(self) -> ToolSpec:
        # Built once per tool: JSON-schema generation costs ~1 ms a tool, on every request.
        cached: ToolSpec | None = self.__dict__.get("_spec")
        if cached is None or cached.name != self.name:
            schema = self.Args.model_json_schema()
            schema.pop("title", None)
            cached = ToolSpec(name=self.name, description=self.description, input_schema=schema)
            self.__dict__["_spec"] = cached
        return cached

    def parse_args(self, raw: dict[str, Any]) -> BaseModel:
        """Validate raw arguments; raises ToolError with a message the model can act on."""
        try:
            return self.Args.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
            )
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from None

    def summary(self, args: BaseModel) -> str:
        """The key argument, shown in the tool row (path, command, pattern...)."""
        for key in ("path", "command", "pattern", "url", "source"):
            value = getattr(args, key, None)
            if isinstance(value, str) and value:
                return value
        return ""

    def effect_for(self, args: BaseModel) -> Effect:
        return self.effect

    def offered_to(self, model: ModelInfo) -> bool:
        """Whether this model is offered the tool (apply_patch: the models trained on it)."""
        return True

    def accesses(self, args: BaseModel, ctx: ToolContext) -> list[Access]:
        """The accesses this call needs judged. Default: none beyond the tool's effect."""
        return []

    async def precheck(self, args: Any, ctx: ToolContext) -> None:
        """Refuse, before anyone is asked to approve it, a call that cannot run (a missing
        source, text to replace that is not there, a file changed since it was read): raise
        ToolError. The agent calls it only when the call's paths may be read without asking,
        so the refusal reveals nothing the model could not read. ``run`` checks again."""
        return None

    def concurrency_safe(self, args: BaseModel) -> bool:
        """Independent read-only calls may run at the same time."""
        return self.effect_for(args) in (Effect.READ, Effect.NONE)

    @abstractmethod
    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput: ...
