"""The chat screen: the conversation log, the composer, the status bar and the plan panel.

The turn lifecycle and the queue belong to a ``TurnController`` (``stoa.core.agent.turns``):
the screen routes what the person sends through it, and it runs each turn in a worker of group
``agent`` whose events go to a ``StreamPacer`` (``stoa.app.pacing``: when and in what pieces
the screen takes them), then here, where they become log entries, tool rows, plan and status
updates (``_dispatch``, one handler per event type). Messages typed while a turn runs steer it or wait for the next turn; the queue bar
shows them, Up on the first line takes the last one back, and after an interrupt, a failure
or a "no" the unsent ones go back into the editor: nothing is sent that the person did not
see go.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message as TextualMessage
from textual.screen import Screen
from textual.worker import Worker

from stoa.app.attachments import attach_image_path, paste_clipboard_image, run_shell_line
from stoa.app.commands import CommandContext, CommandRegistry, builtin_registry, parse_slash
from stoa.app.commands.custom import add_custom_commands
from stoa.app.notify import TURN_ENDED, notify_if_away
from stoa.app.pacing import FrameBudget, Paced, StreamPacer, StreamRun, TurnOver
from stoa.app.prompt_history import load_prompt_history, remember_prompt
from stoa.app.replay import records_from_history, replay_records
from stoa.app.screens.chat_events import ChatEvents
from stoa.app.workspace_label import shorten_path
from stoa.core import events as ev
from stoa.core.agent.turns import TurnAgent, TurnController
from stoa.core.memory import is_memory
from stoa.widgets.activity_bar import ActivityBar
from stoa.widgets.chat_log import ChatLog
from stoa.widgets.composer import Composer, PromptInput
from stoa.widgets.messages import ThinkingMessage
from stoa.widgets.plan_panel import PlanPanel
from stoa.widgets.queue_bar import QueueBar
from stoa.widgets.records import (
    AssistantRecord,
    NoticeLevel,
    NoticeRecord,
    Record,
    ThinkingRecord,
    ToolRecord,
    UserRecord,
    WelcomeRecord,
)
from stoa.widgets.status_bar import StatusBar
from stoa.widgets.tool_call import ToolCallView

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig
    from stoa.core.providers.types import Message
    from stoa.core.runtime import Runtime
    from stoa.widgets.assistant import AssistantMessage

MODES_CYCLE = ("plan", "ask", "auto")
# Two Esc presses on an empty composer within this many seconds open /rewind.
REWIND_ESCAPE_SECONDS = 0.8
INTERRUPT_GRACE_SECONDS = 3.0
MODE_DESCRIPTIONS = {
    "plan": "read-only: the model can look but not change anything",
    "ask": "every change asks for your approval",
    "auto": "changes inside the workspace run without asking; destructive and outside actions ask",
}


class _NoAgentYet:
    """The turn controller's agent until the runtime is attached. Nothing reaches it: the
    controller is not ready until then, so every message sent waits for the next turn."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the agent is not built yet ({name})")


class ChatScreen(ChatEvents):
    """The default screen.

    It can be shown before the runtime exists (``stoa`` paints first and builds the runtime
    after the first frame): until ``attach``, the status bar shows the workspace only, messages
    sent wait in the queue, and slash commands and keys that need the runtime run once it is
    attached, in the order given.
    """

    AUTO_FOCUS = "#prompt"

    BINDINGS = [
        Binding("escape", "interrupt", "Interrupt", show=False),
        Binding("ctrl+o", "toggle_tools", "Tool details", show=False),
        Binding("ctrl+t", "toggle_plan", "Plan panel", show=False),
        Binding("shift+tab", "cycle_mode", "Trust mode", show=False),
        Binding("ctrl+l", "redraw", "Redraw the screen", show=False),
        Binding("pageup", "scroll_log('up')", "Scroll up", show=False, priority=True),
        Binding("pagedown", "scroll_log('down')", "Scroll down", show=False, priority=True),
        Binding("f1", "help", "Help", show=False),
        Binding("f2,alt+m", "model_picker", "Model", show=False),
        Binding("f3,alt+e", "effort_picker", "Effort", show=False),
        Binding("f4,alt+t", "cycle_effort", "Next effort", show=False),
    ]

    class ConversationCleared(TextualMessage):
        """/clear started a new conversation (session store: start a new session)."""

    def __init__(
        self,
        runtime: Runtime | None,
        *,
        config: StoaConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        history: list[Message] | None = None,
    ) -> None:
        super().__init__(id="chat")
        self._runtime = runtime
        if runtime is not None:
            config = runtime.config
        if config is None:
            raise ValueError("a ChatScreen needs a runtime or a config")
        self.config: StoaConfig = config
        # What waits for the runtime (slash commands, keys that need it), run by ``attach``.
        self._until_attached: list[Callable[[], Any]] = []
        self._attached = asyncio.Event()
        # Set when a model request has gone out (or a turn ended): start-up's warm-up waits
        # for it when a message typed at the first frame is on its way.
        self.request_went = asyncio.Event()
        if runtime is not None:
            self._attached.set()
        self._initial_history = history
        self.clock = clock
        self.log_view = ChatLog(clock=clock, id="log")
        self.plan_panel = PlanPanel()
        self.queue_bar = QueueBar()
        self.prompt_history: list[str] = []
        # This screen's slash commands: the built-ins, plus what the session adds.
        self.commands: CommandRegistry = builtin_registry()
        self.custom_commands = add_custom_commands(self.commands, config)
        self.composer = Composer(
            slash_items=self.commands.slash_items,
            take_queued=self._pop_queued,
            take_all_queued=self._take_back_all,
            history=self.prompt_history,
            mention_source=self._mention_candidates,
            attach_image=lambda path: attach_image_path(self, path) if self.attached else path,
        )
        self.status_bar = StatusBar(clock=clock)
        self.activity_bar = ActivityBar(self._activity)
        # The MCP manager whose status this screen follows (stoa.app.commands.mcp.watch_manager).
        self.watched_mcp: object | None = None
        # The turn lifecycle and the queue (stoa.core.agent.turns); this screen shows them.
        self.turns = TurnController(
            runtime.agent if runtime is not None else cast(TurnAgent, _NoAgentYet()),
            start_job=lambda work: self.run_worker(
                work, group="agent", exit_on_error=False, description="agent turn"
            ),
        )
        self._permission_worker: Worker[None] | None = None
        self._permission_screen: Screen[Any] | None = None
        # Seconds of keyboard quiet before the permission prompt takes an answer (None: its
        # default, GRACE_SECONDS); tests set 0 to answer at once.
        self.permission_grace: float | None = None
        self._assistant: AssistantMessage | None = None
        self._assistant_record: AssistantRecord | None = None
        self._thinking: ThinkingRecord | None = None
        self._attempt: list[Record] = []
        # How often streamed text is shown (stoa.app.pacing), learnt across turns.
        self.frame_budget = FrameBudget()
        self._retry_notice: NoticeRecord | None = None
        self._compacting: NoticeRecord | None = None
        self._tools: dict[str, ToolRecord] = {}
        self.tools_expanded = False
        self._plan_hidden_by_user = False
        self._last_escape = float("-inf")

    # ---- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield self.log_view
            yield self.plan_panel
        yield self.queue_bar
        yield self.composer
        yield self.activity_bar
        yield self.status_bar

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the runtime is not attached yet")
        return self._runtime

    @property
    def attached(self) -> bool:
        """True once the runtime is there (at once, or after the first frame: ``attach``)."""
        return self._runtime is not None

    @property
    def agent(self) -> Any:
        return self.runtime.agent

    def when_attached(self, action: Callable[[], Any]) -> bool:
        """Run ``action`` once the runtime is attached. True if it was put off (not attached yet)."""
        if self._runtime is not None:
            return False
        self._until_attached.append(action)
        return True

    async def attach(self, runtime: Runtime) -> None:
        """The runtime is built: the status bar, the welcome (or the saved history), then what
        waited for it. Messages sent meanwhile stay queued until ``mark_ready``."""
        self._runtime = runtime
        self.config = runtime.config
        self.turns.agent = runtime.agent
        self._attached.set()
        await self._show_start()
        waiting, self._until_attached = self._until_attached, []
        for action in waiting:
            result = action()
            if asyncio.iscoroutine(result):
                await result

    async def _mention_candidates(self) -> list[str]:
        await self._attached.wait()  # an @ typed before the runtime is built lists once it is
        from stoa.core.mentions import mention_candidates

        runtime = self.runtime
        return await mention_candidates(runtime.config.workspace, runtime.policy, runtime.mcp)

    def _activity(self) -> tuple[Any, Any] | None:
        runtime = self._runtime
        return (runtime.agent.jobs, runtime.subagents) if runtime is not None else None

    @property
    def busy(self) -> bool:
        return self.turns.busy

    @property
    def ready(self) -> bool:
        """False until the app has opened the session (resume); messages sent before wait."""
        return self.turns.ready

    @ready.setter
    def ready(self, value: bool) -> None:
        self.turns.ready = value

    @property
    def queued(self) -> list[str]:
        """Messages handed to the running turn and not delivered yet (the queue bar's first part)."""
        return self.turns.steering

    async def on_mount(self) -> None:
        self.composer.set_placeholder("Message Stoa…  (/ for commands)")
        if self._runtime is None:
            self.status_bar.set_info(workspace=self.workspace_label())  # the rest once attached
            return
        await self._show_start()

    async def _show_start(self) -> None:
        self._refresh_status()
        if self._initial_history:
            await self.load_history(self._initial_history)
            self._initial_history = None
        else:
            await self._welcome()

    async def _welcome(self) -> None:
        await self.log_view.add(WelcomeRecord(model=self._model_label(), workspace=self.workspace_label()))
        await self._add_config_notice()
        await self._warn_if_no_key()

    async def _add_config_notice(self) -> None:
        """What was wrong in the config files (unknown keys, malformed rules), as one notice."""
        warnings = list(getattr(self.runtime.config, "warnings", []))
        if warnings:
            await self.log_view.add(
                NoticeRecord(
                    "warning",
                    "\n".join(warnings),
                    title="Configuration",
                    hint="fix these where the file and line say; everything else in the files applies",
                )
            )

    async def _warn_if_no_key(self) -> None:
        model = self.agent.model
        if self.runtime.has_key(model.provider):
            return
        from stoa.app.model_actions import needs_onboarding

        if needs_onboarding(self.runtime):
            self.run_worker(self._onboard(), group="picker", description="onboarding", exit_on_error=False)
            return
        from stoa.core.keys import key_variable

        variable = key_variable(model.provider)
        how = f"set {variable} in your shell (export {variable}=…) and start stoa again"
        if "key" in self.commands:
            how = f"add one now with /key, or {how}"
        await self.log_view.add(
            NoticeRecord(
                "warning",
                f"{model.id} is served by {model.provider}, and no {variable} is set.",
                hint=how + "; /model switches to a model whose key you have",
                title=f"No API key for {model.provider}",
            )
        )

    def workspace_label(self) -> str:
        config = self.config
        return shorten_path(config.workspace, config.env.get("HOME"))

    def _model_label(self) -> str:
        return str(self.agent.model.id)

    def _sandbox_label(self) -> str:
        sandbox = self.runtime.sandbox
        if sandbox is None:
            return ""
        label = getattr(sandbox, "label", sandbox)
        return str(label() if callable(label) else label)

    def _refresh_status(self, **changes: Any) -> None:
        agent = self.agent
        self.status_bar.set_info(
            model=self._model_label(),
            effort=agent.effort,
            mode=self.runtime.policy.mode,
            sandbox=self._sandbox_label(),
            workspace=self.workspace_label(),
            context_window=agent.model.context_window,
            queued=len(self.turns.queued),
            **changes,
        )

    def refresh_status(self) -> None:
        """Re-read model, effort, mode and the context size (after a picker, or /compact)."""
        tokens = self.agent.last_context_tokens
        self._refresh_status(**({"context_tokens": tokens} if tokens else {}))

    def set_mcp_status(self, label: str) -> None:
        """The MCP part of the status bar (``MCP 2/3``; empty without servers)."""
        self.status_bar.set_info(mcp=label)

    # ---- notices -------------------------------------------------------------------------------

    def show_notice(
        self, level: NoticeLevel, text: str, *, hint: str | None = None, title: str | None = None
    ) -> None:
        """Add a notice to the log (from sync code; it appears right after)."""
        self.run_worker(self.add_notice(level, text, hint=hint, title=title), group="ui")

    async def add_notice(
        self, level: NoticeLevel, text: str, *, hint: str | None = None, title: str | None = None
    ) -> None:
        await self.log_view.add(NoticeRecord(level, text, hint=hint, title=title))

    # ---- input ---------------------------------------------------------------------------------

    @on(Composer.Submitted)
    async def _submitted(self, event: Composer.Submitted) -> None:
        event.stop()
        if self.attached:
            remember_prompt(self, event.text)
        else:
            self.when_attached(lambda: remember_prompt(self, event.text))
        if parse_slash(event.text) is not None:
            self.run_slash(event.text)
            return
        if is_memory(event.text):  # "# note": saved to a memory file, no model request
            if self.when_attached(lambda: self._remember(event.text)):
                return
            self._remember(event.text)
            return
        text = event.text[1:] if event.text.startswith("//") else event.text
        display = event.display[1:] if event.display.startswith("//") else event.display
        from stoa.core.agent.typed_shell import shell_line

        if shell_line(text) is not None:
            await run_shell_line(self, text)
            return
        await self.send(text, display, lane=event.lane)

    def _remember(self, text: str) -> None:
        from stoa.app.commands.memory import remember_from_composer

        self.run_worker(remember_from_composer(self, text), group="command")

    def on_key(self, event: events.Key) -> None:
        """Typing while the log (or a tool row) has focus goes to the composer."""
        focused = self.focused
        if (
            event.is_printable
            and event.character
            and event.key != "space"
            and not isinstance(focused, PromptInput)
            and (focused is None or isinstance(focused, (ChatLog, ToolCallView, ThinkingMessage)))
        ):
            event.stop()
            self.composer.focus_input()
            self.composer.input.insert(event.character)

    @on(Composer.ImagePasteRequested)
    def _paste_image(self, event: Composer.ImagePasteRequested) -> None:
        event.stop()
        if self.when_attached(lambda: self.run_worker(paste_clipboard_image(self), group="clipboard")):
            return
        self.run_worker(paste_clipboard_image(self), group="clipboard")

    @on(Composer.QuitRequested)
    def _quit_requested(self, event: Composer.QuitRequested) -> None:
        event.stop()
        self.app.exit(0)

    async def send(self, text: str, display: str | None = None, *, lane: str = "now") -> None:
        """Send a message: start a turn, or queue it while one runs (``lane`` "next": for
        after the running turn, not steering it)."""
        display = text if display is None else display
        if not text.strip():
            return
        if self.turns.route(text, lane) == "start":
            await self.start_turn(text, display)
        else:
            self._queue_changed()

    def run_slash(self, text: str) -> None:
        parsed = parse_slash(text)
        if parsed is None or self.when_attached(lambda: self.run_slash(text)):
            return
        name, args = parsed
        cmd = self.commands.get(name)
        if cmd is None:
            self.show_notice(
                "error",
                f"unknown command /{name}; nothing was sent",
                hint="type / to see the commands, /help for all of them, or start with // to send a message beginning with /",
            )
            return
        if self.busy and not cmd.while_busy:
            self.show_notice("error", f"/{cmd.name} cannot run while the agent works", hint="wait, or press Esc to interrupt")
            return
        self.run_worker(self._run_command(cmd, CommandContext(self, cmd.name, args)), group="command")

    async def _run_command(self, cmd: Any, ctx: CommandContext) -> None:
        try:
            await cmd.run(ctx)
        except Exception as exc:  # a broken command must not take the app down
            self.show_notice("error", f"/{cmd.name} failed: {exc}", hint="see the logs, or report this")

    def _pop_queued(self) -> str | None:
        """Up on the first line while messages are queued: take the last one back."""
        item = self.turns.take_back_last()
        if item is not None:
            self._queue_changed()
        return item

    def _take_back_all(self) -> list[str]:
        """Ctrl+X in the composer: every queued message, taken back (the composer shows them)."""
        taken = self.turns.take_back_all()
        if taken:
            self._queue_changed()
        return taken

    def _queue_changed(self) -> None:
        queued = self.turns.queued
        self.queue_bar.show_queue(self.turns.steering, self.turns.next_turn)
        self.status_bar.set_info(queued=len(queued))

    # ---- turns ---------------------------------------------------------------------------------

    async def start_turn(
        self, text: str, display: str | None = None, *, mode: str | None = None, **options: Any
    ) -> None:
        """Start a turn now (``mode``: the trust mode of this turn only, e.g. /review's plan;
        ``options``: the agent's other per-turn settings, ``model`` and ``allow``)."""
        from stoa.core.runtime import MissingKeyError

        display = text if display is None else display
        try:
            if not options.get("shell"):
                self.runtime.check_key(options.get("model") or self.agent.model)
        except MissingKeyError as exc:
            await self.log_view.add(
                NoticeRecord("error", str(exc), title="Not sent", hint="your message is back in the editor")
            )
            if not self.composer.text.strip():
                self.composer.set_text(display)
            return
        await self.log_view.add(UserRecord(display))
        self.log_view.anchor()
        self._tools.clear()
        self.composer.set_busy(True)
        self.composer.set_placeholder("Enter: tell the agent now · Tab: queue for after the turn · Esc interrupts")
        self.status_bar.set_info(busy_since=self.clock())
        self.turns.start(text, display, StreamPacer(self, self.frame_budget), mode=mode, **options)
        if mode is not None:
            self._refresh_status(mode=mode)

    def action_interrupt(self) -> None:
        if self.composer.slash_list.is_open:
            self.composer.slash_list.hide()
            return
        if not self.interrupt() and not self.busy and not self.composer.text.strip():
            # Esc twice on an empty composer: the rewind picker.
            now = time.monotonic()
            if now - self._last_escape < REWIND_ESCAPE_SECONDS:
                self._last_escape = float("-inf")
                self.run_slash("/rewind")
            else:
                self._last_escape = now

    def interrupt(self) -> bool:
        """Cancel the running turn (and its shell commands). True if there was one."""
        if not self.turns.can_interrupt:
            return False
        self._close_permission_prompt()
        turn = self.turns.turn_id
        self.turns.interrupt()
        # Should the agent not end its stream promptly, the controller cancels the job.
        self.set_timer(INTERRUPT_GRACE_SECONDS, lambda: self.turns.force_stop(turn))
        return True

    @on(Paced)
    async def _paced(self, message: Paced) -> None:
        """What the turn produced, in order, as the pacer lets it through (stoa.app.pacing)."""
        message.stop()
        for item in message.pacer.take():
            if isinstance(item, StreamRun):
                await self._stream_run(item)
            elif isinstance(item, TurnOver):
                await self._turn_ended(item)
            else:
                await self._dispatch(item)

    async def _turn_ended(self, message: TurnOver) -> None:
        self.request_went.set()
        await self._finish_streams()
        end = self.turns.finish(message.outcome)
        notify_if_away(self.app, "Stoa", TURN_ENDED.get(message.outcome, "the turn ended"))
        self.composer.set_busy(False)
        self.composer.set_placeholder("Message Stoa…  (/ for commands)")
        self.status_bar.set_info(busy_since=None)
        self.activity_bar.poll()  # the turn's sub-agents are over
        self._refresh_status()  # a turn with a mode of its own (/review) is over
        if end.give_back:
            # Interrupted, failed or stopped by a "no": the queue was not sent; back to the editor.
            current = self.composer.text
            self.composer.set_text("\n\n".join([*end.give_back, *([current] if current.strip() else [])]))
        self._queue_changed()
        if end.follow_up:
            await self.start_turn(end.follow_up)

    # ---- actions -------------------------------------------------------------------------------

    def action_toggle_tools(self) -> None:
        self.tools_expanded = not self.tools_expanded
        for record in self.log_view.records:
            view = self.log_view.widget_of(record)
            if isinstance(record, ToolRecord) and record.finished:
                if isinstance(view, ToolCallView):
                    view.set_expanded(self.tools_expanded)
                else:
                    record.expanded = self.tools_expanded
            elif isinstance(record, ThinkingRecord) and record.done:
                if isinstance(view, ThinkingMessage):
                    view.set_expanded(self.tools_expanded)
                else:
                    record.expanded = self.tools_expanded

    def action_toggle_plan(self) -> None:
        if not self.plan_panel.has_plan:
            self.show_notice("info", "no plan yet: the plan panel appears when the model makes one")
            return
        visible = not self.plan_panel.shown
        self.plan_panel.show(visible)
        self._plan_hidden_by_user = not visible

    def action_cycle_mode(self) -> None:
        if self.when_attached(self.action_cycle_mode):
            return
        current = self.runtime.policy.mode
        index = MODES_CYCLE.index(current) if current in MODES_CYCLE else -1
        self.set_mode(MODES_CYCLE[(index + 1) % len(MODES_CYCLE)])

    def set_mode(self, mode: str) -> None:
        from stoa.core.permissions.policy import MODES

        if mode not in MODES:
            self.show_notice("error", f"unknown trust mode {mode!r}", hint=f"choose one of {', '.join(MODES)}")
            return
        policy = self.runtime.policy
        setter = getattr(policy, "set_mode", None)
        if callable(setter):
            setter(mode)
        else:
            policy.mode = mode
        self._refresh_status()
        self.show_notice("info", f"trust mode: {mode} ({MODE_DESCRIPTIONS.get(mode, '')})")

    def action_scroll_log(self, direction: str) -> None:
        if direction == "up":
            self.log_view.release_anchor()  # stop following the stream; the bottom re-anchors
            self.log_view.scroll_page_up()
        else:
            self.log_view.scroll_page_down()

    # ---- model, effort, keys (app/model_actions.py) ------------------------------------------

    def action_model_picker(self) -> None:
        if self.when_attached(self.action_model_picker):
            return
        from stoa.app.model_actions import open_model_picker

        self.run_worker(open_model_picker(self), group="picker", description="model picker", exit_on_error=False)

    def action_effort_picker(self) -> None:
        if self.when_attached(self.action_effort_picker):
            return
        from stoa.app.model_actions import open_effort_picker

        self.run_worker(open_effort_picker(self), group="picker", description="effort picker", exit_on_error=False)

    def action_cycle_effort(self) -> None:
        if self.when_attached(self.action_cycle_effort):
            return
        from stoa.app.model_actions import cycle_effort_now

        cycle_effort_now(self)

    async def _onboard(self) -> None:
        from stoa.app.model_actions import run_onboarding

        if not await run_onboarding(self):
            self.app.exit(0)

    def action_help(self) -> None:
        self.run_slash("/help")

    def action_redraw(self) -> None:
        """Ctrl+L, as in a shell: repaint every cell of the terminal (after another program wrote
        over it). The conversation is untouched; /clear is what starts a new one."""
        self.app.screen.refresh(repaint=True, layout=True)

    async def new_conversation(self) -> None:
        self.agent.reset()
        if self.runtime.session is not None:
            # A new session id; the saved one stays resumable.
            from stoa.core.sessions import SessionStoreError, clear_session

            try:
                await clear_session(self.runtime)
            except SessionStoreError as exc:
                self.show_notice("error", f"could not start a new session: {exc}")
        self._tools.clear()
        self.plan_panel.clear_plan()
        self._plan_hidden_by_user = False
        await self.log_view.clear()
        await self._welcome()
        await self._session_hooks("clear")
        total = self.agent.ledger.total
        self.status_bar.set_info(
            context_tokens=0,
            input_tokens=total.input_tokens + total.cache_write_tokens,
            output_tokens=total.output_tokens,
            cache_read_tokens=total.cache_read_tokens,
            cost_usd=self.agent.ledger.cost_usd,
        )
        self.post_message(self.ConversationCleared())

    # ---- sessions ------------------------------------------------------------------------------

    async def mark_ready(self) -> None:
        """The session is open: send what was typed meanwhile."""
        pending = self.turns.mark_ready()
        if pending is not None:
            self._queue_changed()
            await self.start_turn(pending)

    async def switch_session(self, handle: Any) -> None:
        """Another session was loaded into the agent (/resume): show it instead of this one."""
        self._tools.clear()
        self.plan_panel.clear_plan()
        self._plan_hidden_by_user = False
        self.prompt_history.clear()
        await self.log_view.clear()
        self.status_bar.set_info(context_tokens=0)
        await self.show_session(handle)
        self._refresh_status()
        await self._session_hooks("resume")

    async def _session_hooks(self, source: str) -> None:
        """SessionStart hooks (core/hooks) for a conversation started or resumed here."""
        for level, text in await self.runtime.hooks.new_session(source) if self.runtime.hooks else []:
            self.show_notice(level, text)

    async def show_session(self, handle: Any) -> None:
        """Show a session handle from ``core.sessions``: replayed records, away summary, notices."""
        if handle.resumed:
            records, earlier = await replay_records(handle, expanded=lambda: self.tools_expanded)
            away = handle.away
            if away is not None:
                records.append(NoticeRecord("info", away.details, title=away.headline))
                if away.banner:
                    records.append(NoticeRecord("warning", away.banner, title="Interrupted"))
            await self.log_view.load(records, earlier=earlier)
            await self._add_config_notice()
            self.prompt_history[:] = [r.text for r in records if isinstance(r, UserRecord) and not r.steering]
            plan = next((r for r in reversed(handle.records) if r.kind == "plan"), None)
            if plan is not None:
                self._show_plan_data(plan.data)
            if not self.runtime.has_key(self.agent.model.provider):
                await self._warn_if_no_key()
        for notice in handle.notices:
            await self.log_view.add(NoticeRecord("warning", notice))
        if getattr(handle, "read_only", False) and handle.read_only_reason:
            await self.log_view.add(NoticeRecord("warning", handle.read_only_reason, title="Read only"))
        await load_prompt_history(self)
        total = self.agent.ledger.total
        self._refresh_status(
            input_tokens=total.input_tokens + total.cache_write_tokens,
            output_tokens=total.output_tokens,
            cache_read_tokens=total.cache_read_tokens,
            cost_usd=self.agent.ledger.cost_usd,
        )

    async def reload_log(self) -> None:
        """Show the conversation again as the session now holds it (after /rewind cut it)."""
        from stoa.app.replay import current_records

        self._tools.clear()
        self.plan_panel.clear_plan()
        await self.log_view.clear()
        await self.log_view.load(await current_records(self.runtime))

    def put_in_composer(self, text: str) -> None:
        if not self.composer.text.strip():
            self.composer.set_text(text)
        self.composer.focus_input()

    def _show_plan_data(self, data: dict[str, Any]) -> None:
        steps = tuple(
            ev.PlanStep(step=str(s.get("step", "")), status=s.get("status", "pending"))
            for s in data.get("steps", [])
            if isinstance(s, dict)
        )
        if steps:
            self.plan_panel.update_plan(steps, data.get("explanation"))
            self.plan_panel.show(True)

    # ---- resumed conversations -----------------------------------------------------------------

    async def load_history(self, messages: Iterable[Message]) -> None:
        """Show a saved conversation (resume). The agent's history is set by the caller."""
        records = records_from_history(list(messages))
        await self.log_view.load(records)
        await self._add_config_notice()
        for record in records:
            if isinstance(record, UserRecord) and not record.steering:
                self.prompt_history.append(record.text)
