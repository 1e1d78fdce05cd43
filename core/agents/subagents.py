"""Sub-agents: a new ``Agent`` for one task, run inside a parent's ``task`` call.

A sub-agent shares its parent's runtime (provider pool, catalogue, configuration, workspace,
usage ledger, background jobs, checkpoints of the parent's turn, hooks) but has a fresh
history whose first user message is the task's prompt: it never sees the parent's
conversation. Its tools are its definition's (the parent's by default; ``task`` only while
the depth bound allows), its trust mode the parent's or stricter (never looser), its model the
parent's unless the definition names one. Permission questions go to the parent's approver, or
up to the front end with the asking agent named. Its events go to the parent's stream wrapped
in ``SubagentEvent`` (the nested view under the parent's tool row).

Bounds (``[agents]`` in the configuration): ``max-concurrency`` sub-agents at a time for the
whole tree (default 4; more task calls wait), ``max-iterations`` requests with tool calls per
sub-agent (default 50), ``max-depth`` levels (default 1: no ``task`` inside a sub-agent).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from stoa.core import events as ev
from stoa.core.agents.definitions import AgentDefinition, AgentDefinitions
from stoa.core.tools.base import Access, Effect, ToolError, ToolOutput
from stoa.core.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from stoa.core.agent.loop import Agent
    from stoa.core.config import StoaConfig
    from stoa.core.hooks import HookVerdict
    from stoa.core.models import ModelInfo

DEFAULT_CONCURRENCY = 4
DEFAULT_ITERATIONS = 50
DEFAULT_DEPTH = 1
# Characters of a sub-agent's final text returned to the parent.
RESULT_CHARS = 20_000
# A sub-agent's calls kept with its result (for the task row of a resumed session).
MAX_TRAIL = 100
STRICTNESS = {"plan": 0, "ask": 1, "auto": 2}


@dataclass(frozen=True)
class AgentSettings:
    max_concurrency: int = DEFAULT_CONCURRENCY
    max_iterations: int = DEFAULT_ITERATIONS
    max_depth: int = DEFAULT_DEPTH


def settings_from_config(config: StoaConfig | None) -> tuple[AgentSettings, list[str]]:
    """``[agents]``: max-concurrency, max-iterations, max-depth (positive integers)."""
    merged: dict[str, int] = {}
    problems: list[str] = []
    for layer, raw in config.section("agents") if config is not None else []:
        if not isinstance(raw, dict):
            problems.append(f"{layer.path}: [agents] must be a table; ignored")
            continue
        for key, value in raw.items():
            if key in ("max-concurrency", "max-iterations", "max-depth"):
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    merged[key.replace("-", "_")] = value
                else:
                    problems.append(f"{layer.path}: [agents] {key} must be a whole number above 0; ignored")
    return AgentSettings(**merged), problems


@dataclass
class RunningSubagent:
    """One sub-agent at work (for the activity bar, /ps and /kill)."""

    id: str
    name: str
    description: str
    call_id: str
    started: float = field(default_factory=time.monotonic)
    last: str = "starting"
    task: asyncio.Task[Any] | None = None
    killed: bool = False

    @property
    def what(self) -> str:
        return f"{self.name}: {self.description}"


class _TurnCheckpoints:
    """A sub-agent's changes are part of its parent's turn: its before-call checkpoints go to the
    parent's, and it neither starts nor seals a turn of its own."""

    def __init__(self, parent: Any) -> None:
        self.parent = parent

    async def turn_started(self, *, prompt: str, message_index: int, block_offset: int) -> list[str]:
        return []

    async def before_call(self, tool_name: str, effect: Effect, accesses: Sequence[Access]) -> list[str]:
        result: list[str] = await self.parent.before_call(tool_name, effect, accesses)
        return result

    async def turn_ended(self) -> list[str]:
        return []


class _SubagentHooks:
    """The parent's hooks as a sub-agent runs them: its end is ``SubagentStop``, not ``Stop``."""

    def __init__(self, hooks: Any, name: str) -> None:
        self._hooks = hooks
        self._name = name

    def configured(self, event: str) -> bool:
        return bool(self._hooks.configured("SubagentStop" if event == "Stop" else event))

    async def stop(self, last_message: str, *, active: bool) -> HookVerdict:
        verdict: HookVerdict = await self._hooks.subagent_stop(self._name, last_message, active=active)
        return verdict

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hooks, name)


class Subagents:
    """The sub-agents of one agent (the main conversation's, or a sub-agent's own when the
    depth bound allows), sharing one concurrency bound across the tree."""

    def __init__(
        self,
        parent: Agent,
        definitions: Callable[[], AgentDefinitions],
        settings: AgentSettings | None = None,
        *,
        depth: int = 0,
        slots: asyncio.Semaphore | None = None,
        registry: dict[str, RunningSubagent] | None = None,
        counter: list[int] | None = None,
    ) -> None:
        self.parent = parent
        self.definitions = definitions
        self.settings = settings or AgentSettings()
        self.depth = depth
        self._slots = slots
        # Shared by the whole tree: what runs (by id) and the next id.
        self._running: dict[str, RunningSubagent] = registry if registry is not None else {}
        self._counter = counter if counter is not None else [0]

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.max_concurrency)
        return self._slots

    def running(self) -> list[RunningSubagent]:
        return list(self._running.values())

    def cancel(self, agent_id: str) -> bool:
        """Stop a running sub-agent (``/kill a1``); its parent gets an error result."""
        running = self._running.get(agent_id)
        if running is None or running.task is None or running.task.done():
            return False
        running.killed = True
        running.task.cancel()
        return True

    # ---- running one ----------------------------------------------------------------------------

    def definition(self, name: str | None) -> AgentDefinition:
        definitions = self.definitions()
        chosen = definitions.get(name or "general")
        if chosen is None:
            broken = next((d for d in definitions.broken if d.name == (name or "").strip()), None)
            if broken is not None:
                raise ToolError(f"the agent {broken.name!r} cannot be used: {broken.error}")
            raise ToolError(f"there is no agent {name!r}; the agents are: {', '.join(definitions.names())}")
        return chosen

    def child(self, definition: AgentDefinition, agent_id: str, model: ModelInfo | None = None) -> Agent:
        """The sub-agent itself: a fresh Agent on the parent's runtime (``model``: its
        definition's, resolved; None: the parent's)."""
        from stoa.core.agent.loop import Agent
        from stoa.core.models import validate_effort

        parent = self.parent
        model = model or parent.model
        effort = definition.effort or (parent.effort if model is parent.model else None)
        if effort is not None and effort not in model.efforts:
            effort = None
        policy = copy.copy(parent.policy)  # shares rules and approvals; its own mode
        parent_mode = parent.policy.mode
        policy.set_mode(min(parent_mode, definition.mode, key=STRICTNESS.__getitem__))
        child = Agent(
            provider_for=parent.provider_for,
            model=model,
            effort=validate_effort(model, effort),
            tools=ToolRegistry(),
            workspace=parent.workspace,
            system_prompt=self._system_prompt(definition, policy.mode),
            policy=policy,
            approver=parent.approver,
            max_iterations=self.settings.max_iterations,
            max_tokens=parent.max_tokens,
            retry=parent.retry,
            config=parent.config,
            ledger=parent.ledger,
            catalog=parent.catalog,
        )
        child.jobs = parent.jobs
        child.editor_files = parent.editor_files
        if parent.checkpoints is not None:
            child.checkpoints = _TurnCheckpoints(parent.checkpoints)
        if parent.hooks is not None:
            child.hooks = _SubagentHooks(parent.hooks, definition.name)  # type: ignore[assignment]
        child.tools = self._tools(definition, child)
        return child

    def _tools(self, definition: AgentDefinition, child: Agent) -> ToolRegistry:
        from stoa.core.tools.task import TaskTool

        tools = ToolRegistry()
        wanted = None if definition.tools is None else set(definition.tools)
        for tool in self.parent.tools:
            if tool.name == TaskTool.name or self.parent.tools.get(tool.name) is None:
                continue
            if wanted is None or tool.name in wanted or _mcp_match(tool.name, wanted):
                tools.register(tool)
        if self.depth + 1 < self.settings.max_depth and (wanted is None or TaskTool.name in wanted):
            nested = Subagents(
                child,
                self.definitions,
                self.settings,
                depth=self.depth + 1,
                slots=self.slots,
                registry=self._running,
                counter=self._counter,
            )
            tools.register(TaskTool(nested))
        return tools

    def _system_prompt(self, definition: AgentDefinition, mode: str) -> Callable[[], str]:
        parent = self.parent

        def prompt() -> str:
            from stoa.core.instructions import environment_lines

            names = ", ".join(t.name for t in parent.tools.offered(mode))
            return "\n".join([definition.system_prompt, "", *environment_lines(parent.workspace, mode, names)])

        return prompt

    async def run(self, description: str, prompt: str, agent: str | None, *, call_id: str, emit: Callable[[ev.Event], None]) -> ToolOutput:
        """Run one sub-agent to its end; its final text is the result. Cancelling this (Esc)
        cancels the sub-agent, whose history stays valid."""
        definition = self.definition(agent)
        self._counter[0] += 1
        agent_id = f"a{self._counter[0]}"
        try:
            model = None
            if definition.model is not None and self.parent.catalog is not None:
                # May ask the provider for its list: off the event loop.
                model = await asyncio.to_thread(self.parent.catalog.resolve, definition.model)
            child = self.child(definition, agent_id, model)
        except Exception as exc:
            raise ToolError(f"the agent {definition.name!r} could not start: {exc}") from None
        running = RunningSubagent(agent_id, definition.name, description, call_id, last="waiting for a slot")
        self._running[agent_id] = running

        # Its calls, kept with the result so a resumed session shows them under the task row.
        trail: dict[str, dict[str, str]] = {}

        def forward(event: ev.Event) -> None:
            if isinstance(event, ev.PermissionRequested):
                asking = f"sub-agent {definition.name} ({agent_id}): {description}"
                emit(replace(event, request=replace(event.request, agent=asking)))
                return
            if isinstance(event, ev.ToolCallStarted):
                running.last = f"{event.name} {event.summary}".strip()
                trail[event.call_id] = {"name": event.name, "summary": event.summary[:200], "status": "running"}
            elif isinstance(event, ev.ToolCallFinished) and event.call_id in trail:
                trail[event.call_id]["status"] = event.status or ("error" if event.is_error else "ok")
            elif isinstance(event, ev.RequestStarted):
                running.last = "thinking"
            if not isinstance(event, ev.AssistantTextDelta | ev.ThinkingDelta | ev.ToolCallOutput):
                emit(ev.SubagentEvent(call_id, agent_id, definition.name, event))

        outcome: list[ev.Event] = []

        async def work() -> None:
            async with self.slots:
                running.last = "starting"
                emit(ev.SubagentEvent(call_id, agent_id, definition.name, ev.Notice("info", f"model {child.model.id}")))
                stream = child.run_turn(prompt)
                try:
                    async for event in stream:
                        if isinstance(event, ev.TurnFinished | ev.TurnFailed | ev.TurnInterrupted):
                            outcome.append(event)
                        if isinstance(event, ev.Notice) and "tool iterations" in event.text:
                            outcome.append(event)
                        forward(event)
                finally:
                    await stream.aclose()  # type: ignore[attr-defined]

        task = asyncio.ensure_future(work())
        running.task = task
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not running.killed or (current is not None and current.cancelling()):
                raise  # Esc: the parent is interrupted too
            raise ToolError(
                f"the sub-agent {agent_id} ({definition.name}) was stopped by the user (/kill); "
                "its work so far is not reported"
            ) from None
        finally:
            self._running.pop(agent_id, None)
            if not task.done():
                task.cancel()
        return _result(definition, agent_id, outcome, self.settings.max_iterations, list(trail.values())[-MAX_TRAIL:])


def _result(
    definition: AgentDefinition, agent_id: str, outcome: list[ev.Event], limit: int, calls: list[dict[str, str]]
) -> ToolOutput:
    from stoa.core.tools.caps import cap_text

    end = next((e for e in reversed(outcome) if not isinstance(e, ev.Notice)), None)
    hit_limit = any(isinstance(e, ev.Notice) for e in outcome)
    if isinstance(end, ev.TurnFailed):
        raise ToolError(f"the sub-agent {agent_id} ({definition.name}) failed: {end.error}" + (f" ({end.hint})" if end.hint else ""))
    if not isinstance(end, ev.TurnFinished):
        raise ToolError(f"the sub-agent {agent_id} ({definition.name}) ended without a result")
    if end.rejected:
        raise ToolError(
            f"the user rejected a tool call of the sub-agent {agent_id} ({definition.name}), which stopped it. "
            "Do not start it again for the same thing; ask the user how to go on."
        )
    text = end.text.strip() or "(the sub-agent gave no final text)"
    if hit_limit:
        text = f"[the sub-agent reached its limit of {limit} tool iterations; this is its summary]\n{text}"
    text = cap_text(text, RESULT_CHARS, how_to_get_more="ask for a shorter report")
    display = {"kind": "text", "text": text, "agent": definition.name, "agent_id": agent_id, "calls": calls}
    output = ToolOutput.text(text, display=display)
    output.is_error = hit_limit
    return output


def _mcp_match(name: str, wanted: set[str]) -> bool:
    """``mcp__server__tool`` (Claude Code's spelling) or ``server___tool`` names an MCP tool."""
    for item in wanted:
        if item.startswith("mcp__"):
            parts = item.split("__")
            if len(parts) >= 3 and name == f"{parts[1]}___{'__'.join(parts[2:])}":
                return True
            if len(parts) == 2 and name.startswith(f"{parts[1]}___"):
                return True
    return False
