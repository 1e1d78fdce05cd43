"""The hooks engine: which hooks run for an event, running them, and what their answers mean.

Semantics follow Claude Code's, so existing hook scripts port easily. Every matching hook of
an event runs at once (identical commands once), each with the event's JSON object on stdin
(``hook_event_name``, ``session_id``, ``cwd``, ``permission_mode``, and per event
``tool_name``/``tool_input``/``tool_use_id``/``tool_response``, ``prompt``, ``source``,
``trigger``, ``message``, ``stop_hook_active``...). Then, per hook:

- exit 0: go on. stdout that is a JSON object is read as Claude Code's answer (``decision``
  ``block``/``approve`` with ``reason``, ``continue: false`` with ``stopReason``,
  ``systemMessage``, ``additionalContext`` on its own or under ``hookSpecificOutput``, and
  ``hookSpecificOutput.permissionDecision`` ``allow``/``deny``/``ask`` for PreToolUse). Other
  stdout is text: for ``UserPromptSubmit`` and ``SessionStart`` it is added to the model's
  context, for other events it is not shown.
- exit 2: block, with stderr as the reason (what the event does with it is in ``HookVerdict``).
- anything else, a timeout, a command that cannot start: a warning for the person; go on.

No front end here: verdicts carry notices, which the agent emits as ``Notice`` events and
headless prints. ``subagent_stop`` and ``pre_compact`` are the entry points for sub-agents and
compaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stoa.core.hooks.config import HookConfig, HookSpec
from stoa.core.hooks.run import HookRun, hook_env, run_hook

Level = Literal["info", "warning", "error"]
Permission = Literal["allow", "deny", "ask"]
# Exit codes of bash for a command it could not find or not run.
NOT_FOUND, NOT_EXECUTABLE = 127, 126
BLOCK_EXIT = 2


@dataclass
class HookVerdict:
    """What the hooks of one event said, combined.

    ``blocked``: a hook exited 2 or answered ``decision: block`` (PreToolUse: the call is not
    run; UserPromptSubmit: the prompt is not sent; Stop/SubagentStop: the agent goes on with
    ``reason``; PostToolUse: ``reason`` is added to the result). ``context``: text for the
    model. ``stop``: a hook answered ``continue: false`` (the turn ends; the text says why).
    ``permission``: PreToolUse's ``permissionDecision`` (deny over ask over allow).
    """

    blocked: bool = False
    reasons: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    notices: list[tuple[Level, str]] = field(default_factory=list)
    stop: str | None = None
    permission: Permission | None = None
    ran: int = 0

    @property
    def reason(self) -> str:
        return "\n".join(r for r in self.reasons if r)


_PERMISSION_RANK: dict[str, int] = {"allow": 1, "ask": 2, "deny": 3}


class Hooks:
    """The hooks of one runtime: the configured ones, which of them are active, and running
    them for an event. Project-shared hooks are active once ``trust_project`` was called."""

    def __init__(
        self,
        config: HookConfig,
        *,
        workspace: Path,
        env: dict[str, str],
        session_id: Callable[[], str | None] = lambda: None,
        mode: Callable[[], str] = lambda: "auto",
        trusted: bool = False,
    ) -> None:
        self.config = config
        self.workspace = workspace
        self._env = env
        self.session_id = session_id
        self.mode = mode
        self.project_trusted = trusted
        # Context for the model that waits for the next prompt (SessionStart's output).
        self.pending_context: list[str] = []
        self._background: set[asyncio.Task[Any]] = set()

    # ---- what is configured ---------------------------------------------------------------

    @property
    def active(self) -> list[HookSpec]:
        return [s for s in self.config.specs if self.project_trusted or not s.shared]

    @property
    def untrusted(self) -> list[HookSpec]:
        """Project-shared hooks that wait for the person's approval (they do not run)."""
        return [] if self.project_trusted else self.config.shared

    def trust_project(self) -> None:
        self.project_trusted = True

    def configured(self, event: str) -> bool:
        return any(s.event == event for s in self.active)

    # ---- running --------------------------------------------------------------------------

    async def run(self, event: str, target: str | None = None, **fields: Any) -> HookVerdict:
        """Run the active hooks of ``event`` that match ``target``; their verdict."""
        specs = _unique([s for s in self.active if s.event == event and s.matches(target)])
        verdict = HookVerdict()
        if not specs:
            return verdict
        payload: dict[str, Any] = {
            "hook_event_name": event,
            "session_id": self.session_id(),
            "cwd": str(self.workspace),
            "permission_mode": self.mode(),
            **fields,
        }
        env = hook_env(self._env, self.workspace)
        runs = await asyncio.gather(*(run_hook(s, payload, cwd=self.workspace, env=env) for s in specs))
        for done in runs:
            _judge(done, verdict)
        verdict.ran = len(runs)
        return verdict

    def run_in_background(self, event: str, target: str | None = None, **fields: Any) -> None:
        """Run without waiting (Notification: a slow notifier must not hold the question up).
        Their warnings are lost; ``drain`` waits for them (headless, before it exits)."""
        if not self.configured(event):
            return
        task = asyncio.ensure_future(self.run(event, target, **fields))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # ---- the events ---------------------------------------------------------------------------

    async def session_start(self, source: str) -> HookVerdict:
        """``startup``, ``resume``, ``clear`` or ``compact``: the context waits for the next prompt."""
        verdict = await self.run("SessionStart", source, source=source)
        self.pending_context.extend(verdict.context)
        return verdict

    async def new_session(self, source: str) -> list[tuple[Level, str]]:
        """A front end started or switched sessions (``clear``, ``resume``): what was waiting
        for the old one is dropped, SessionStart runs; its notices for the person."""
        self.pending_context.clear()
        if not self.configured("SessionStart"):
            return []
        return (await self.session_start(source)).notices

    async def user_prompt_submit(self, prompt: str) -> HookVerdict:
        return await self.run("UserPromptSubmit", None, prompt=prompt)

    async def pre_tool_use(self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str) -> HookVerdict:
        return await self.run(
            "PreToolUse", tool_name, tool_name=tool_name, tool_input=tool_input, tool_use_id=tool_use_id
        )

    async def post_tool_use(
        self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str, output: str, is_error: bool
    ) -> HookVerdict:
        response = {"output": output, "is_error": is_error, "success": not is_error}
        return await self.run(
            "PostToolUse",
            tool_name,
            tool_name=tool_name,
            tool_input=tool_input,
            tool_use_id=tool_use_id,
            tool_response=response,
        )

    async def stop(self, last_message: str, *, active: bool) -> HookVerdict:
        """The agent is about to end its turn; blocked: it goes on with ``reason``.
        ``active``: this turn already went on because of a Stop hook (scripts use it to avoid
        holding the agent forever)."""
        return await self.run("Stop", None, stop_hook_active=active, last_assistant_message=last_message)

    async def subagent_stop(self, agent_name: str, last_message: str, *, active: bool) -> HookVerdict:
        """For sub-agents: call when one is about to return; blocked: let it go on with
        ``reason`` as its next instruction (as ``stop`` does for the main agent)."""
        return await self.run(
            "SubagentStop",
            None,
            agent_type=agent_name,
            stop_hook_active=active,
            last_assistant_message=last_message,
        )

    async def pre_compact(self, trigger: str, custom_instructions: str = "") -> HookVerdict:
        """For compaction: call before compacting (``trigger``: ``manual`` or ``auto``); show the
        verdict's notices. Claude Code lets no PreCompact hook stop a compaction."""
        return await self.run("PreCompact", trigger, trigger=trigger, custom_instructions=custom_instructions)

    def notification(self, message: str, title: str = "Stoa") -> None:
        """The agent waits for the person (a permission question): tell their notifier."""
        self.run_in_background("Notification", None, message=message, title=title)

    def take_context(self) -> list[str]:
        taken, self.pending_context = self.pending_context, []
        return taken


def context_block(event: str, text: str) -> str:
    """How a hook's context reaches the model: marked as coming from a hook, not the person."""
    return f'<hook-context event="{event}">\n{text.strip()}\n</hook-context>'


def _unique(specs: Sequence[HookSpec]) -> list[HookSpec]:
    seen: set[tuple[str, float]] = set()
    out: list[HookSpec] = []
    for spec in specs:
        if (spec.command, spec.timeout) not in seen:
            seen.add((spec.command, spec.timeout))
            out.append(spec)
    return out


def _name(spec: HookSpec) -> str:
    command = spec.command.strip().splitlines()[0] if spec.command.strip() else spec.command
    if len(command) > 80:
        command = command[:79] + "…"
    return f"{spec.event} hook `{command}` ({spec.where})"


def _tail(text: str, lines: int = 6) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join(kept)


def _judge(done: HookRun, verdict: HookVerdict) -> None:
    spec = done.spec
    if done.start_error is not None:
        verdict.notices.append(("warning", f"{_name(spec)} did not run: {done.start_error}"))
        return
    if done.timed_out:
        verdict.notices.append(
            ("warning", f"{_name(spec)} was stopped after {spec.timeout:g} s (its timeout); going on without it")
        )
        return
    code = done.exit_code
    if code in (NOT_FOUND, NOT_EXECUTABLE):
        what = "was not found" if code == NOT_FOUND else "is not executable"
        detail = _tail(done.stderr, 2)
        verdict.notices.append(
            (
                "error",
                f"{_name(spec)}: the command {what}"
                + (f" ({detail})" if detail else "")
                + f". Fix the command (or chmod +x the script) in {spec.where}; going on without it",
            )
        )
        return
    if code == BLOCK_EXIT:
        verdict.blocked = True
        verdict.reasons.append(done.stderr.strip() or f"blocked by the {_name(spec)}")
        return
    if code != 0:
        detail = _tail(done.stderr) or _tail(done.stdout)
        verdict.notices.append(
            ("warning", f"{_name(spec)} failed (exit {code})" + (f": {detail}" if detail else "") + "; going on")
        )
        return
    answer = done.json_output()
    if answer is None:
        if spec.event in ("UserPromptSubmit", "SessionStart") and done.stdout.strip():
            verdict.context.append(done.stdout.strip())
        return
    _read_answer(spec, answer, verdict)


def _read_answer(spec: HookSpec, answer: dict[str, Any], verdict: HookVerdict) -> None:
    specific = answer.get("hookSpecificOutput")
    specific = specific if isinstance(specific, dict) else {}
    reason = answer.get("reason")
    reason = reason if isinstance(reason, str) else ""
    decision = answer.get("decision")
    if decision == "block":
        verdict.blocked = True
        verdict.reasons.append(reason or f"blocked by the {_name(spec)}")
    elif decision == "approve":  # Claude Code's older PreToolUse answer
        _permission(verdict, "allow", reason)
    chosen = specific.get("permissionDecision")
    if chosen in _PERMISSION_RANK:
        why = specific.get("permissionDecisionReason")
        _permission(verdict, chosen, why if isinstance(why, str) else "")
    for context in (answer.get("additionalContext"), specific.get("additionalContext")):
        if isinstance(context, str) and context.strip():
            verdict.context.append(context.strip())
    message = answer.get("systemMessage")
    if isinstance(message, str) and message.strip():
        verdict.notices.append(("info", message.strip()))
    if answer.get("continue") is False:
        why = answer.get("stopReason")
        verdict.stop = why if isinstance(why, str) and why.strip() else f"the {_name(spec)} stopped the turn"


def _permission(verdict: HookVerdict, chosen: str, reason: str) -> None:
    if verdict.permission is None or _PERMISSION_RANK[chosen] > _PERMISSION_RANK[verdict.permission]:
        verdict.permission = chosen  # type: ignore[assignment]
    if chosen == "deny" and reason:
        verdict.reasons.append(reason)
