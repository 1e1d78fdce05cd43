"""The slash-command registry: one table read by the inline slash list, the Ctrl+P palette and /help.

A command is a handler decorated with ``@command(...)`` in the module of its family
(``stoa.app.commands.session``, ``.modes``, ``.models``, ``.mcp``). The decorator only marks
the handler; ``CommandRegistry.add_module`` collects the marked handlers of a module, and
``stoa.app.commands.builtin_registry`` builds a registry from every family, so nothing
registers by the side effect of an import and no module imports the chat screen.

A handler takes a ``CommandContext`` and talks to the chat screen only through the narrow
``CommandHost`` protocol. Import screens inside the handler (not at module top) so start-up
stays fast. A handler may be sync or async; it reports problems with ``ctx.error(...)`` /
``ctx.info(...)``, which show in the chat log.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO

if TYPE_CHECKING:
    from textual.app import App

    from stoa.core.runtime import Runtime
    from stoa.core.sessions.resume import SessionHandle
    from stoa.widgets.composer import SlashItem


class CommandHost(Protocol):
    """What slash commands may use of the chat screen (and nothing else of it)."""

    @property
    def runtime(self) -> Runtime: ...

    # This screen's commands (built-ins plus what the session adds).
    commands: CommandRegistry
    # The MCP manager whose status the screen follows (``stoa.app.commands.mcp.watch_manager``).
    watched_mcp: object | None

    @property
    def app(self) -> App[Any]: ...

    def show_notice(
        self,
        level: Literal["info", "warning", "error"],
        text: str,
        *,
        hint: str | None = None,
        title: str | None = None,
    ) -> None: ...

    def refresh_status(self) -> None: ...

    def set_mode(self, mode: str) -> None: ...

    async def new_conversation(self) -> None: ...

    async def switch_session(self, handle: SessionHandle) -> None: ...

    def set_mcp_status(self, label: str) -> None: ...

    async def start_turn(
        self, text: str, display: str | None = None, *, mode: str | None = None, **options: Any
    ) -> None: ...

    async def send(self, text: str, display: str | None = None) -> None: ...

    async def reload_log(self) -> None: ...

    def put_in_composer(self, text: str) -> None: ...


@dataclass
class CommandContext:
    """What a command handler gets: the chat screen as a ``CommandHost``, the name and arguments."""

    screen: CommandHost
    name: str
    args: str = ""

    @property
    def app(self) -> App[Any]:
        return self.screen.app

    @property
    def runtime(self) -> Runtime:
        return self.screen.runtime

    def info(self, text: str) -> None:
        self.screen.show_notice("info", text)

    def error(self, text: str, hint: str | None = None) -> None:
        self.screen.show_notice("error", text, hint=hint)


Handler = Callable[[CommandContext], Awaitable[None] | None]


@dataclass
class HeadlessContext:
    """What a command's headless form gets (``stoa -p "/name args"``): the runtime, with the
    session already open, and where to report. ``info`` lines are the command's output (stdout
    in text mode, ``response`` in json); ``error`` lines go to stderr."""

    runtime: Runtime
    name: str
    args: str
    out: TextIO
    err: TextIO
    output_format: str = "text"
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # The trust mode of the turn a command's prompt starts (``/review``: plan), or None.
    turn_mode: str | None = None
    # The agent's other per-turn settings of that turn (a custom command's model and allow).
    turn_options: dict[str, Any] = field(default_factory=dict)
    # What to report once that turn is over (``/init``: the diff of AGENTS.md), or None.
    after_turn: Callable[[], str] | None = None

    def info(self, text: str) -> None:
        self.lines.append(text)
        if self.output_format == "text":
            self.out.write(text.rstrip("\n") + "\n")
            self.out.flush()
        elif self.output_format == "stream-json":
            self.out.write(json.dumps({"type": "command_output", "command": self.name, "text": text}) + "\n")
            self.out.flush()

    def error(self, text: str, hint: str | None = None) -> None:
        line = text + (f"\n  → {hint}" if hint else "")
        self.errors.append(line)
        self.err.write(f"stoa: /{self.name}: {line}\n")
        self.err.flush()


# A headless form returns an exit code (done: no model request), or the prompt to send instead
# (a command that expands to a message, e.g. a custom command's template).
HeadlessHandler = Callable[[HeadlessContext], Awaitable[int | str]]


@dataclass(frozen=True)
class SlashCommand:
    name: str
    description: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    # Usage hint shown after the name: "[name]" optional, "<name>" required.
    args: str = ""
    # Allowed while a turn runs (commands that change the conversation are not).
    while_busy: bool = True
    # The form ``stoa -p "/name"`` runs; None: the command exists in the TUI only.
    headless: HeadlessHandler | None = None

    @property
    def needs_args(self) -> bool:
        return self.args.startswith("<")

    @property
    def usage(self) -> str:
        return f"/{self.name}" + (f" {self.args}" if self.args else "")

    async def run(self, ctx: CommandContext) -> None:
        result = self.handler(ctx)
        if inspect.isawaitable(result):
            await result


_MARK = "__slash_command__"
_HEADLESS_MARK = "__slash_headless__"


def command(
    name: str,
    description: str,
    *,
    aliases: tuple[str, ...] = (),
    args: str = "",
    while_busy: bool = True,
) -> Callable[[Handler], Handler]:
    """Mark the decorated handler as ``/name`` (collected by ``CommandRegistry.add_module``)."""

    def decorate(handler: Handler) -> Handler:
        setattr(handler, _MARK, SlashCommand(name, description, handler, aliases, args, while_busy))
        return handler

    return decorate


def headless(name: str) -> Callable[[HeadlessHandler], HeadlessHandler]:
    """Mark the decorated function as the headless form of ``/name`` (same module)."""

    def decorate(handler: HeadlessHandler) -> HeadlessHandler:
        setattr(handler, _HEADLESS_MARK, name)
        return handler

    return decorate


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: dict[str, SlashCommand] = {}
        self._aliases: dict[str, str] = {}

    def register(self, cmd: SlashCommand, *, replace: bool = False) -> SlashCommand:
        if not replace and (cmd.name in self._commands or cmd.name in self._aliases):
            raise ValueError(f"slash command /{cmd.name} is already registered")
        for alias in cmd.aliases:
            owner = self._aliases.get(alias) or (alias if alias in self._commands else None)
            if owner is not None and owner != cmd.name and not replace:
                raise ValueError(f"/{alias} already names /{owner}")
        self._commands[cmd.name] = cmd
        for alias in cmd.aliases:
            self._aliases[alias] = cmd.name
        return cmd

    def remove(self, name: str) -> SlashCommand | None:
        """Take ``/name`` (and its aliases) out; None when it was not there."""
        cmd = self._commands.pop(name, None)
        if cmd is not None:
            for alias in cmd.aliases:
                self._aliases.pop(alias, None)
        return cmd

    def add_module(self, module: ModuleType) -> list[SlashCommand]:
        """Register every handler of ``module`` marked with ``@command``."""
        values = list(vars(module).values())
        forms = {getattr(v, _HEADLESS_MARK): v for v in values if hasattr(v, _HEADLESS_MARK)}
        found = [getattr(value, _MARK) for value in values if hasattr(value, _MARK)]
        for cmd in found:
            form = forms.pop(cmd.name, None)
            self.register(dataclasses.replace(cmd, headless=form) if form is not None else cmd)
        if forms:
            raise ValueError(f"headless forms without a command in {module.__name__}: {sorted(forms)}")
        return [self._commands[cmd.name] for cmd in found]

    def get(self, name: str) -> SlashCommand | None:
        name = name.lower()
        return self._commands.get(name) or self._commands.get(self._aliases.get(name, ""))

    def __iter__(self) -> Iterator[SlashCommand]:
        return iter(sorted(self._commands.values(), key=lambda c: c.name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def slash_items(self) -> list[SlashItem]:
        from stoa.widgets.composer import SlashItem  # Textual: only the TUI asks for these

        return [SlashItem(c.name, c.description, c.args, c.aliases) for c in self]


def parse_slash(text: str) -> tuple[str, str] | None:
    """``"/name rest"`` -> ``("name", "rest")``; None when the text is not a slash command.

    A leading ``//`` escapes: the message is sent as text starting with ``/``.
    """
    if not text.startswith("/") or text.startswith("//"):
        return None
    parts = text[1:].split(maxsplit=1)
    head = parts[0] if parts and not text[1:2].isspace() else ""
    if not head or "/" in head:
        return None  # a path like /usr/bin is a message, not a command
    return head, parts[1].strip() if len(parts) > 1 else ""
