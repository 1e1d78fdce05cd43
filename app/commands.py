"""The slash-command registry: one table read by the inline slash list, the Ctrl+P palette and /help.

Adding a command is one entry: a ``@command(...)`` decorated handler taking a
``CommandContext``. Import screens inside the handler (not at module top) so start-up stays
fast. A handler may be sync or async; it returns nothing and reports problems with
``ctx.error(...)`` / ``ctx.info(...)``, which show in the chat log.

Example (a picker from another module)::

    @command("model", "Switch the model", args="[name]")
    async def _model(ctx: CommandContext) -> None:
        from stoa.app.screens.model_picker import ModelPickerScreen
        ...
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from stoa.widgets.composer import SlashItem

if TYPE_CHECKING:
    from stoa.app.screens.chat import ChatScreen
    from stoa.core.runtime import Runtime


@dataclass
class CommandContext:
    """What a command handler gets: the chat screen (and through it the app and runtime)."""

    screen: ChatScreen
    name: str
    args: str = ""

    @property
    def app(self) -> Any:
        return self.screen.app

    @property
    def runtime(self) -> Runtime:
        return self.screen.runtime

    def info(self, text: str) -> None:
        self.screen.show_notice("info", text)

    def error(self, text: str, hint: str | None = None) -> None:
        self.screen.show_notice("error", text, hint=hint)


Handler = Callable[[CommandContext], Awaitable[None] | None]


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


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: dict[str, SlashCommand] = {}
        self._aliases: dict[str, str] = {}

    def register(self, cmd: SlashCommand, *, replace: bool = False) -> SlashCommand:
        if not replace and cmd.name in self._commands:
            raise ValueError(f"slash command /{cmd.name} is already registered")
        self._commands[cmd.name] = cmd
        for alias in cmd.aliases:
            self._aliases[alias] = cmd.name
        return cmd

    def get(self, name: str) -> SlashCommand | None:
        name = name.lower()
        return self._commands.get(name) or self._commands.get(self._aliases.get(name, ""))

    def __iter__(self) -> Iterator[SlashCommand]:
        return iter(sorted(self._commands.values(), key=lambda c: c.name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def slash_items(self) -> list[SlashItem]:
        return [SlashItem(c.name, c.description, c.args, c.aliases) for c in self]


REGISTRY = CommandRegistry()


def command(
    name: str,
    description: str,
    *,
    aliases: tuple[str, ...] = (),
    args: str = "",
    while_busy: bool = True,
    registry: CommandRegistry = REGISTRY,
) -> Callable[[Handler], Handler]:
    """Register the decorated handler as ``/name``."""

    def decorate(handler: Handler) -> Handler:
        registry.register(SlashCommand(name, description, handler, aliases, args, while_busy))
        return handler

    return decorate


def parse_slash(text: str) -> tuple[str, str] | None:
    """``"/name rest"`` -> ``("name", "rest")``; None when the text is not a slash command.

    A leading ``//`` escapes: the message is sent as text starting with ``/``.
    """
    if not text.startswith("/") or text.startswith("//"):
        return None
    head, _, rest = text[1:].partition(" ")
    head = head.strip()
    if not head or "/" in head:
        return None  # a path like /usr/bin is a message, not a command
    return head, rest.strip()


# ---- key bindings (shown by /help) ---------------------------------------------------------

KEY_HELP: tuple[tuple[str, str], ...] = (
    ("Enter", "send (while the agent works: queue it, delivered at the next tool result)"),
    ("Shift+Enter · Alt+Enter · Ctrl+J", "new line"),
    ("Up / Down", "previous / next prompt (on the first / last line); Up pops the last queued message"),
    ("Ctrl+R", "search this project's prompt history (Enter takes the match, Esc cancels)"),
    ("Ctrl+U · Ctrl+W · Ctrl+K", "delete to line start · previous word · line end"),
    ("/", "slash commands (Up/Down choose, Enter runs, Tab completes, Esc closes)"),
    ("Esc", "interrupt the running turn (also stops a running shell command)"),
    ("Ctrl+C", "interrupt while busy; copy a selection; twice when idle to quit"),
    ("Ctrl+D", "quit (on an empty prompt)"),
    ("Ctrl+P", "command palette"),
    ("Ctrl+O", "expand / collapse every tool call's details"),
    ("Ctrl+T", "show / hide the plan panel"),
    ("Shift+Tab", "cycle the trust mode (plan → ask → auto)"),
    ("Ctrl+L", "redraw the screen (/clear starts a new conversation)"),
    ("1-5 · Up/Down Enter", "answer a permission prompt (Esc: no); keys typed until you pause go to your message"),
    ("PageUp / PageDown", "scroll the conversation"),
    ("F1", "this help"),
    ("F2 · Alt+M", "model picker (/model NAME switches directly)"),
    ("F3 · Alt+E", "reasoning effort picker (/effort LEVEL sets it directly)"),
    ("F4 · Alt+T", "cycle to the next reasoning effort"),
)


# ---- the command palette -------------------------------------------------------------------


class SlashCommandsProvider(Provider):
    """Lists the slash commands in the Ctrl+P palette (same registry as the slash list)."""

    def _chat(self) -> ChatScreen | None:
        from stoa.app.screens.chat import ChatScreen

        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, ChatScreen):
                return screen
        return None

    def _runner(self, cmd: SlashCommand) -> Callable[[], None]:
        def run() -> None:
            chat = self._chat()
            if chat is None:
                return
            if cmd.needs_args:
                chat.composer.set_text(f"/{cmd.name} ")
                chat.composer.focus_input()
            else:
                chat.run_slash(f"/{cmd.name}")

        return run

    async def discover(self) -> Hits:
        for cmd in REGISTRY:
            yield DiscoveryHit(cmd.usage, self._runner(cmd), help=cmd.description)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query.lstrip("/"))
        for cmd in REGISTRY:
            candidate = f"/{cmd.name}"
            score = max(matcher.match(candidate), matcher.match(cmd.description) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(candidate), self._runner(cmd), help=cmd.description)


# ---- built-in commands ---------------------------------------------------------------------


@command("help", "Show every key binding and command", aliases=("?",))
async def _help(ctx: CommandContext) -> None:
    from stoa.app.screens.help import HelpScreen

    await ctx.app.push_screen(HelpScreen())


@command("clear", "Start a new conversation (clears the log and the model's context)", aliases=("new",),
         while_busy=False)
async def _clear(ctx: CommandContext) -> None:
    await ctx.screen.new_conversation()


@command("resume", "Go back to a saved session (a picker, or /resume ID-PREFIX)", args="[id]", while_busy=False)
async def _resume(ctx: CommandContext) -> None:
    from pathlib import Path

    from stoa.app.screens.resume import ResumePickerScreen
    from stoa.core.sessions import SessionLockedError, SessionStoreError, open_store, switch_to

    runtime = ctx.runtime
    try:
        store = await open_store(runtime)
        if ctx.args:
            session_id = (await store.resolve(ctx.args.strip())).id
        else:
            home = runtime.config.env.get("HOME")
            picker = ResumePickerScreen(
                store,
                runtime.config.workspace,
                current_session_id=runtime.session_id,
                home=Path(home) if home else None,
            )
            chosen = await ctx.app.push_screen_wait(picker)
            if chosen is None:
                return
            session_id = chosen
        if session_id == runtime.session_id:
            ctx.info("that is the session you are in")
            return
        try:
            handle = await switch_to(runtime, session_id)
        except SessionLockedError as exc:
            from stoa.app.screens.resume import offer_fork

            forked = await offer_fork(ctx.app, runtime, exc, decline="Stay in this session")
            if forked is None:
                ctx.info("staying in this session")
                return
            handle = forked
    except SessionStoreError as exc:
        ctx.error(str(exc), hint="/resume opens the list of saved sessions")
        return
    await ctx.screen.switch_session(handle)


@command("exit", "Quit Stoa", aliases=("quit", "q"))
def _exit(ctx: CommandContext) -> None:
    ctx.app.exit(0)


@command("mode", "Show or set the trust mode", args="[plan|ask|auto]")
def _mode(ctx: CommandContext) -> None:
    if not ctx.args:
        ctx.info(
            f"trust mode: {ctx.runtime.policy.mode} (plan = read-only, ask = confirm every change, "
            "auto = changes inside the workspace run without asking); /mode plan|ask|auto to change"
        )
        return
    ctx.screen.set_mode(ctx.args.strip().lower())


@command("safe", "Switch to plan mode (read-only tools only)")
def _safe(ctx: CommandContext) -> None:
    ctx.screen.set_mode("plan")


@command("normal", "Leave plan mode (back to the configured mode, auto by default)")
def _normal(ctx: CommandContext) -> None:
    configured = ctx.runtime.config.settings.mode
    ctx.screen.set_mode(configured if configured != "plan" else "auto")


# /mcp, /model, /effort, /key, /status (registered by importing their modules).
import stoa.app.mcp_commands  # noqa: E402
import stoa.app.model_commands  # noqa: E402, F401
