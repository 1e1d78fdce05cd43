"""The Textual application, ``StoaApp``: owns the screens (the chat screen is the default),
the app-wide keys, and start-up / shut-down of the services around the agent (session store,
MCP servers, sandbox probe). Build it with ``app.tui.make_app``.
"""

from __future__ import annotations

import enum
import gc
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from stoa.app.commands.palette import SlashCommandsProvider
from stoa.app.screens.chat import ChatScreen
from stoa.styles import STYLES

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig
    from stoa.core.providers.types import Message
    from stoa.core.runtime import Runtime

QUIT_WINDOW_SECONDS = 2.0
# The module of each provider's wire format (imported in a thread after start-up).
PROVIDER_MODULES: dict[str, str] = {
    "anthropic": "stoa.core.providers.anthropic",
    "openai": "stoa.core.providers.openai_responses",
}


def _resume_gc() -> None:
    gc.freeze()
    gc.enable()


class _ExtraKeys(enum.Enum):
    ALT_ENTER = "alt+enter"


def _teach_alt_enter() -> None:
    """Terminals send ESC CR for Alt+Enter; Textual's legacy parser turns that into "^" + Enter
    (which would send the message). Map the sequence to an ``alt+enter`` key instead."""
    from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

    table: Any = ANSI_SEQUENCES_KEYS
    table.setdefault("\x1b\r", (_ExtraKeys.ALT_ENTER,))


class StoaApp(App[int]):
    TITLE = "Stoa"
    CSS_PATH = [STYLES / "app.tcss", STYLES / "chat.tcss"]
    COMMANDS = App.COMMANDS | {SlashCommandsProvider}
    BINDINGS = [
        Binding("ctrl+c", "ctrl_c", "Interrupt / copy / quit", show=False, priority=True),
        Binding("ctrl+g", "open_last_reference", "Open the last path:line in $EDITOR", show=False),
    ]

    def __init__(
        self,
        config: StoaConfig,
        runtime: Runtime | None,
        *,
        build: Callable[[], Runtime] | None = None,
        clock: Callable[[], float] = time.monotonic,
        history: list[Message] | None = None,
        animations: bool = True,
        cursor_blink: bool = True,
        sessions: bool = False,
        resume: str | None = None,
        continue_latest: bool = False,
        start_mcp: bool = True,
        detect_sandbox: bool = True,
    ) -> None:
        super().__init__()
        if runtime is None and build is None:
            raise ValueError("StoaApp needs a runtime, or how to build one after the first frame")
        self.config = config
        # None until ``build`` (run in a thread after the first frame) has made it.
        self.runtime: Runtime | None = runtime
        self._build = build
        self.clock = clock
        self._history = history
        self.cursor_blink = cursor_blink
        self.sessions = sessions
        self.resume = resume
        self.continue_latest = continue_latest
        self.start_mcp = start_mcp
        self.detect_sandbox = detect_sandbox
        if not animations:
            self.animation_level = "none"
        self._last_ctrl_c = -1e9
        # Lines to print after the terminal is restored (quit summary, shutdown warnings).
        self.exit_notes: list[str] = []
        self.chat = ChatScreen(runtime, config=config, clock=clock, history=history)

    def get_default_screen(self) -> Screen[Any]:
        return self.chat

    def action_open_last_reference(self) -> None:
        """Ctrl+G: the last ``path:line`` of the latest reply that names one, in $EDITOR."""
        from stoa.app.open_editor import last_reference, open_path

        found = last_reference(self.chat.log_view.records)
        if found is None:
            self.chat.show_notice("info", "no path:line reference in the replies yet")
            return
        open_path(self, *found)

    def action_open_path(self, path: str, line: int) -> None:
        """A click on ``path:line`` in a reply: open it in $EDITOR (``stoa.app.open_editor``)."""
        from stoa.app.open_editor import open_path

        open_path(self, path, line)  # blocks while a terminal editor has the terminal

    def on_mount(self) -> None:
        if not gc.isenabled() and self.runtime is not None:
            # run_tui paused the collector for start-up: resume it once the first frame is out,
            # moving everything allocated so far out of the collector's sight for good. (A
            # runtime built after the first frame resumes it once built: ``_attach_runtime``.)
            self.call_after_refresh(_resume_gc)
        from stoa.app import themes

        problem = themes.install(self)
        if problem:
            self.call_after_refresh(lambda: self.chat.show_notice("warning", problem, hint="/theme shows them"))
        themes.follow(self)
        if self.config.settings.vim:
            self.chat.composer.set_vim(True)
        if not self.cursor_blink:
            self.chat.composer.input.cursor_blink = False
        if self.sessions or self.runtime is None:
            self.chat.ready = False
        from stoa.app import signals

        signals.install(self)  # SIGTERM, SIGHUP: a clean exit (terminal, session, processes)
        # After the first frame: the composer is on screen before anything slow starts.
        self.call_after_refresh(
            lambda: self.run_worker(self._start_services(), group="startup", description="start-up", exit_on_error=False)
        )

    # ---- start-up and shut-down ----------------------------------------------------------------

    async def _start_services(self) -> None:
        """After the first paint: MCP servers, sandbox state, the session (and resume).

        Their modules are imported in a thread so the event loop keeps drawing and echoing keys.
        MCP servers start first, all at once, in the background: opening the session (or the
        resume picker, which waits for the person) never holds them up. Their notices are
        shown once the session is on screen (loading a resumed session replaces the log).
        """
        import asyncio
        import importlib

        if self.runtime is None and not await self._attach_runtime():
            return
        runtime = self.runtime
        assert runtime is not None
        manager = None
        # The first request's HTTP client, made ready while the session opens: a prompt typed
        # at the first frame leaves as soon as the session is open.
        self.run_worker(self._prepare_provider(), group="startup", description="provider", exit_on_error=False)
        try:
            if self.start_mcp and self.config.section("mcp-servers"):
                await asyncio.to_thread(importlib.import_module, "stoa.core.mcp")
                from stoa.core.mcp import attach

                manager = attach(runtime)
                await manager.start_all()
            if self.sessions:
                await asyncio.to_thread(importlib.import_module, "stoa.core.sessions")
            if self.detect_sandbox and runtime.sandbox is None:
                self.run_worker(self._detect_sandbox(), group="startup", exit_on_error=False)
            if self.sessions:
                await self._open_session()
            await self._start_hooks("resume" if self.resume is not None or self.continue_latest else "startup")
            if manager is not None:
                from stoa.app.commands.mcp import watch_manager

                for warning in manager.warnings:
                    self.chat.show_notice("warning", warning)
                watch_manager(self.chat, manager)
            for warning in runtime.catalog.warnings:
                self.chat.show_notice("warning", warning)
        finally:
            await self.chat.mark_ready()
        await self._warm_up()

    async def _attach_runtime(self) -> bool:
        """Build the runtime in a thread (the event loop goes on drawing and taking keys) and
        give it to the chat screen. A failure ends the app with the words ``stoa`` printed
        when it built the runtime before starting (``stoa.app.tui.StartupFailure``)."""
        import asyncio

        from stoa.app.tui import StartupFailure

        assert self._build is not None
        try:
            runtime = await asyncio.to_thread(self._build)
        except StartupFailure as exc:
            self.exit_notes.append(exc.message)
            self.exit(return_code=exc.code)
            return False
        except Exception:
            import traceback

            self.exit_notes.append(traceback.format_exc().rstrip())
            self.exit(return_code=1)
            return False
        finally:
            if not gc.isenabled():
                _resume_gc()
        self.runtime = runtime
        await self.chat.attach(runtime)
        return True

    async def _prepare_provider(self) -> None:
        """The current model's provider with its HTTP client, made in a thread (httpx2's import
        and the TLS set-up, 0.1 s of CPU: never on the event loop at the first request)."""
        import asyncio
        import importlib

        runtime = self.chat.runtime
        model = runtime.agent.model
        try:
            module = PROVIDER_MODULES.get(model.provider, "stoa.core.providers.openai_chat")
            await asyncio.to_thread(importlib.import_module, module)
            provider = runtime.provider_for(model)
            prepare = getattr(provider, "prepare", None)
            if callable(prepare):
                await asyncio.to_thread(prepare)
        except Exception:
            pass  # no key, no endpoint: the first request says so, with what to do

    async def _warm_up(self) -> None:
        """Import what the first reply needs in a thread while the person types: the Markdown
        renderer (the provider's client is made while the session opens)."""
        import asyncio
        import importlib

        if self.chat.busy:
            # A message typed at start-up is on its way: its request goes first (a thread
            # importing meanwhile would take the interpreter from it half the time).
            await self.chat.request_went.wait()
        try:
            await asyncio.to_thread(importlib.import_module, "stoa.widgets.assistant")
        except ImportError:
            pass  # the reply will say what is missing
        # What start-up allocated lives as long as the app: out of the collector's sight, or
        # every full collection while a reply streams walks it all. (The thresholds stay:
        # collecting the young generation less often made each collection a pause long enough
        # to feel while typing, up to 100 ms.)
        gc.freeze()
        # The providers' model lists, once a day, in a thread: never before the first paint.
        await self.chat.runtime.catalog.refresh()

    async def _detect_sandbox(self) -> None:
        import asyncio

        from stoa.core.sandbox import status_for

        status = await asyncio.to_thread(status_for, self.config)
        runtime = self.chat.runtime
        if runtime.sandbox is None:
            runtime.sandbox = status
        self.chat.refresh_status()
        self._offer_sandbox(status)

    def _offer_sandbox(self, status: Any) -> None:
        """The first run without a sandbox (that the person did not turn off) offers the one
        command that installs bubblewrap here; the status bar shows "no sandbox" every run."""
        from stoa.core.sandbox.advice import first_offer, install_command, no_sandbox_notice

        if status.active or not status.enabled or not first_offer(self.config.paths.data_dir):
            return
        command = install_command()
        notice = no_sandbox_notice(status, install="")
        if notice:
            hint = f"install it with: {command}  (then restart Stoa)" if command and not status.executable else None
            self.chat.show_notice("warning", notice[0].upper() + notice[1:], hint=hint, title="No sandbox")

    async def _start_hooks(self, source: str) -> None:
        """A project's shared hooks run once the person approved that set; then SessionStart."""
        hooks = self.chat.runtime.hooks
        if hooks is None:
            return
        if hooks.untrusted:
            from stoa.app.screens.hooks_trust import HooksTrustScreen
            from stoa.core.hooks import approve_project_hooks

            if await self.push_screen_wait(HooksTrustScreen(hooks.untrusted, self.config.workspace)):
                try:
                    approve_project_hooks(hooks, self.config)
                except OSError as exc:
                    hooks.trust_project()
                    self.chat.show_notice("warning", f"the approval could not be saved ({exc}); asked again next time")
            else:
                self.chat.show_notice(
                    "warning",
                    f"the {len(hooks.untrusted)} hook(s) of the project's .stoa/config.toml do not run this "
                    "session; you are asked again next time (/hooks lists them)",
                )
        if hooks.configured("SessionStart"):
            for level, text in (await hooks.session_start(source)).notices:
                self.chat.show_notice(level, text)

    async def _open_session(self) -> None:
        from stoa.core.sessions import SessionLockedError, SessionStoreError, open_session

        runtime = self.chat.runtime
        resume, continue_latest = self.resume, self.continue_latest
        handle: Any = None
        try:
            if resume == "":
                # -r without an id: let the person pick.
                from stoa.app.screens.resume import choose_session

                resume = await choose_session(self, runtime)
            try:
                handle = await open_session(runtime, resume or None, continue_latest)
            except SessionLockedError as exc:
                # Open in another Stoa: offer a fork; declined, a new conversation starts.
                from stoa.app.screens.resume import offer_fork

                handle = await offer_fork(self, runtime, exc, decline="Start a new conversation")
                if handle is None:
                    await self.chat.add_notice("warning", str(exc), title="Session open elsewhere")
                    handle = await open_session(runtime)
        except SessionStoreError as exc:
            await self.chat.add_notice(
                "error", str(exc), title="Could not resume", hint="this is a new conversation instead"
            )
            try:
                handle = await open_session(runtime)
            except SessionStoreError as again:
                await self.chat.add_notice("error", f"this conversation will not be saved: {again}")
                return
        await self.chat.show_session(handle)

    async def on_unmount(self) -> None:
        """Save the session and stop MCP servers and background jobs (no process outlives the app)."""
        runtime = self.runtime
        if runtime is None:
            return  # closed before the runtime was built: nothing was started
        try:
            await runtime.agent.jobs.aclose()
        except Exception as exc:
            runtime.agent.jobs.kill_now()
            self.exit_notes.append(f"warning: a background job did not stop cleanly: {exc}")
        if runtime.session is not None or runtime.store is not None:
            from stoa.core.sessions import close_session

            try:
                await close_session(runtime)
            except Exception as exc:  # the terminal is being restored; say it after exit
                self.exit_notes.append(f"warning: could not save the session: {exc}")
        manager = runtime.mcp
        if manager is not None:
            try:
                await manager.close()
            except Exception as exc:
                self.exit_notes.append(f"warning: an MCP server did not stop cleanly: {exc}")

    # ---- keys ----------------------------------------------------------------------------------

    def action_ctrl_c(self) -> None:
        """Copy a selection; else interrupt a running turn; else quit on a second press."""
        focused = self.focused
        selected = getattr(focused, "selected_text", "") if focused is not None else ""
        if selected:
            self.copy_to_clipboard(selected)
            return
        selection = self.screen.get_selected_text()
        if selection:
            self.copy_to_clipboard(selection)
            self.notify("copied", timeout=1.5)
            return
        if self.chat.interrupt():
            return
        now = time.monotonic()
        if now - self._last_ctrl_c <= QUIT_WINDOW_SECONDS:
            self.exit(0)
            return
        self._last_ctrl_c = now
        self.notify("press Ctrl+C again to quit", timeout=QUIT_WINDOW_SECONDS)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        chat = self.chat
        yield SystemCommand("Interrupt", "Stop the running turn (Esc)", chat.interrupt)
        yield SystemCommand("Toggle tool details", "Expand or collapse every tool call (Ctrl+O)", chat.action_toggle_tools)
        yield SystemCommand("Toggle plan panel", "Show or hide the plan (Ctrl+T)", chat.action_toggle_plan)
        yield SystemCommand("Cycle trust mode", "plan → ask → auto (Shift+Tab)", chat.action_cycle_mode)
