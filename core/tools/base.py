"""What a tool is: a name, a pydantic argument model, an effect, the accesses it needs, a run.

Every tool (native or MCP) is a ``Tool``. The agent validates arguments against ``Args``,
asks the permission policy about each ``Access`` the tool declares for those arguments, and
only then calls ``run``. A tool reports failure the model can act on by raising ``ToolError``
(or returning ``ToolOutput(is_error=True)``); anything else it raises becomes an error result
too, never a crash of the turn.

Tools and the permission layer meet only through typed fields: the ``ToolContext`` of a call
(configuration, the compiled policy, the conversation's ``ToolState``, and ``CallChecks``: what
the call's check established, which its run relies on) and each ``Access`` (a shell line's
carries its analysis, an MCP call its server and safe_mode). Arguments stay what the model sent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from stoa.core.providers.types import ImageBlock, TextBlock, ToolSpec

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig
    from stoa.core.events import Event, PlanStep
    from stoa.core.models import ModelInfo
    from stoa.core.permissions.paths import ResolvedPath
    from stoa.core.permissions.policy import PermissionPolicy
    from stoa.core.permissions.shell_analysis import ShellAnalysis
    from stoa.core.tools.background import BackgroundJobs


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
    # What this access does, in the words of the approval question: "edit", "write",
    # "create", "move", "copy", "patch" ("" : the scope says it).
    action: str = ""
    # A bash access: the analysis of its command line. The policy judges it, and
    # execute_bash runs under the same analysis (what runs is what was judged).
    shell: ShellAnalysis | None = None
    # An MCP access: the server, and its safe_mode ("disabled", "read_only" or "allow").
    server: str = ""
    safe_mode: str = ""

    @property
    def read_only(self) -> bool:
        """Reads only: by its effect, or an MCP server the person marked read-only."""
        return self.effect.read_only or self.safe_mode == "read_only"


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


@dataclass(frozen=True)
class ReadStamp:
    """What read_file saw of a file, so edits can refuse to work from a stale copy."""

    mtime_ns: int
    size: int
    digest: str | None  # None when only part of a large file was read


@dataclass
class ToolState:
    """What tools keep between calls for the rest of the conversation (``/clear`` empties it)."""

    # Canonical path -> what read_file last showed of it (edit_file/write_file check it).
    read_stamps: dict[str, ReadStamp] = field(default_factory=dict)
    # The latest plan update_plan was given.
    plan: tuple[PlanStep, ...] = ()

    def clear(self) -> None:
        self.read_stamps.clear()
        self.plan = ()


@dataclass
class CallChecks:
    """What the permission check of one call established, for its run to rely on: the run
    refuses a path that resolves elsewhere now (a symlink swapped in between) and runs a
    shell line under the analysis the policy judged. Filled by ``Tool.accesses``."""

    # (argument name, text as given) -> the resolution that was judged.
    paths: dict[tuple[str, str], ResolvedPath] = field(default_factory=dict)
    # execute_bash: the analysis of the line that was judged.
    shell: ShellAnalysis | None = None


def _no_events(event: Event) -> None:
    return None


class EditorFiles(Protocol):
    """Files as an editor holds them, when a front end runs inside one (ACP's
    ``fs/read_text_file`` and ``fs/write_text_file``): reads see unsaved buffers and writes
    land in the editor. Called from the threads file tools run in, never from the event loop.

    ``read_text`` returns None when the editor has nothing to say (the tool reads the disk);
    ``write_text`` returns False when the editor does not take writes (the tool writes the
    disk) and raises ``ToolError`` when the editor refused the write."""

    def read_text(self, path: Path) -> str | None: ...

    def write_text(self, path: Path, text: str) -> bool: ...


class Terminals(Protocol):
    """Terminals of the front end's host (ACP's ``terminal/*``): ``execute_bash`` runs its
    command line there, as it would have run it itself (the same sandbox, the same scrubbed
    environment), and the host shows it live. ``execute_bash`` owns timeouts and interrupts."""

    async def start(self, call_id: str, argv: list[str], cwd: Path, output_limit: int) -> str:
        """Start ``argv`` in ``cwd``; returns the terminal's id."""
        ...

    async def wait(self, terminal: str) -> tuple[int | None, str | None]:
        """Wait for the command to end: (exit code, signal name)."""
        ...

    async def output(self, terminal: str) -> tuple[str, bool]:
        """What it printed so far (stdout and stderr together) and whether the start was cut."""
        ...

    async def kill(self, terminal: str) -> None: ...

    async def release(self, terminal: str) -> None: ...


@dataclass
class ToolContext:
    """What a running tool may use, typed. The agent builds one per call: the session's parts
    (workspace, configuration, compiled permission policy, tool state) are shared by every
    call; ``call_id``, ``checked`` and ``interrupted_output`` belong to this call."""

    workspace: Path
    call_id: str = ""
    # Put an event on the turn's stream (non-blocking). Used for shell output, plan updates.
    emit: Callable[[Event], None] = _no_events
    # The loaded configuration (None: defaults, as in tests that need none).
    config: StoaConfig | None = None
    # The session's compiled permission policy. Tools that list or search many files leave
    # out what its deny rules cover (None: no rules, nothing to leave out).
    policy: PermissionPolicy | None = None
    # Shared by the calls of one conversation (read stamps, the plan).
    state: ToolState = field(default_factory=ToolState)
    # The conversation's background shell jobs (shared with its sub-agents); None: none here.
    jobs: BackgroundJobs | None = None
    # This call's own: what its permission check established.
    checked: CallChecks = field(default_factory=CallChecks)
    # The editor's files, when the front end runs inside an editor (None: the disk only).
    editor: EditorFiles | None = None
    # The host's terminals for execute_bash (None: Stoa runs the command itself).
    terminals: Terminals | None = None
    # Set by a tool that is being cancelled (Esc) and has something to return anyway, such as
    # the output a shell command produced so far; it becomes the call's result. Re-raise after.
    interrupted_output: ToolOutput | None = None


# The argument models' configuration: unknown arguments refused, and the validator built at the
# model's first call rather than at import (the schema comes from core/tools/schemas.py): the
# native tools' import took ~80 ms of CPU with their validators built, ~45 ms without.
ARGS_CONFIG = ConfigDict(extra="forbid", defer_build=True)


class Tool(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    Args: ClassVar[type[BaseModel]]
    effect: ClassVar[Effect]
    # Offered in plan mode although its effect is not read-only (execute_bash: there only
    # read-only lines are allowed; an MCP server opted in with safe_mode).
    offered_in_plan: ClassVar[bool] = False
    # The MCP server a tool belongs to (None: a native tool).
    server: ClassVar[str | None] = None

    def spec(self) -> ToolSpec:
        # Built once per tool; the schema kept from run to run (core/tools/schemas.py).
        cached: ToolSpec | None = self.__dict__.get("_spec")
        if cached is None or cached.name != self.name:
            from stoa.core.tools.schemas import args_schema

            cached = ToolSpec(name=self.name, description=self.description, input_schema=args_schema(self.Args))
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

    def effect_for(self, args: BaseModel, ctx: ToolContext) -> Effect:
        """The effect of this call, once ``accesses`` has checked it (a shell line's depends on
        its analysis)."""
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

    def concurrency_safe(self, args: BaseModel, ctx: ToolContext) -> bool:
        """Independent read-only calls may run at the same time."""
        return self.effect_for(args, ctx) in (Effect.READ, Effect.NONE)

    @abstractmethod
    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput: ...
