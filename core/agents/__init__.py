"""Agents: definitions (built-in and custom files) and sub-agents run by the ``task`` tool.

``attach_agents(runtime)`` reads the definitions, gives the main agent its ``Subagents`` and
registers ``task``; ``/agents`` calls it again to re-read the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from stoa.core.agents.definitions import AgentDefinition, AgentDefinitions, listing, load_agents
from stoa.core.agents.subagents import AgentSettings, Subagents, settings_from_config

if TYPE_CHECKING:
    from stoa.core.runtime import Runtime

__all__ = [
    "AgentDefinition",
    "AgentDefinitions",
    "AgentSettings",
    "Subagents",
    "UnknownAgentError",
    "attach_agents",
    "listing",
    "use_agent",
]


class UnknownAgentError(ValueError):
    """``--agent`` / ``/agent`` named an agent that does not exist or cannot be used."""


def read_definitions(runtime: Runtime, *, network: bool = False) -> AgentDefinitions:
    """The definitions; a model no cached list knows is checked with the provider only when
    ``network`` (``/agents``), never at start-up (the sub-agent's start checks it again)."""
    config = runtime.config
    home = config.env.get("HOME")
    catalog = runtime.catalog

    def model_problem(name: str) -> str | None:
        try:
            before = len(catalog.warnings)
            catalog.resolve(name, network=network)
            del catalog.warnings[before:]  # an unverified name is the sub-agent's concern when it starts
        except Exception as exc:
            return str(exc).splitlines()[0] if str(exc) else "unknown model"
        return None

    known = set(runtime.registry.names()) | {"task"}
    return load_agents(
        config.workspace,
        config.paths.config_dir,
        Path(home) if home else None,
        known_tools=known,
        resolve_model=model_problem,
    )


def attach_agents(runtime: Runtime, *, network: bool = False) -> AgentDefinitions:
    """(Re)read the agent definitions; the main agent gets sub-agents and the ``task`` tool."""
    from stoa.core.tools.task import TaskTool

    definitions = read_definitions(runtime, network=network)
    runtime.agents = definitions
    settings, problems = settings_from_config(runtime.config)
    runtime.config.warnings.extend(p for p in problems if p not in runtime.config.warnings)
    if runtime.subagents is None:
        runtime.subagents = Subagents(runtime.agent, lambda: runtime.agents or definitions, settings)
    runtime.registry.register(TaskTool(runtime.subagents), replace=True)
    return definitions


def use_agent(runtime: Runtime, name: str) -> list[str]:
    """Run the main conversation as agent ``name`` (``--agent``, ``/agent``): its tools, model,
    effort, trust mode at most, and its prompt added to the system prompt. ``general`` goes
    back to the plain conversation. Returns what changed, in words. Raises UnknownAgentError."""
    from stoa.core.switching import switch_model

    definitions = runtime.agents or read_definitions(runtime)
    definition = definitions.get(name)
    if definition is None:
        broken = next((d for d in definitions.broken if d.name == name.strip()), None)
        if broken is not None:
            raise UnknownAgentError(f"the agent {broken.name!r} cannot be used: {broken.error}")
        raise UnknownAgentError(f"there is no agent {name!r}; the agents are: {', '.join(definitions.names())}")
    agent = runtime.agent
    changed: list[str] = []
    sections = runtime.prompt_sections
    sections[:] = [s for s in sections if not s[0].startswith("agent ")]
    plain = definition.name == "general" and definition.source == "built-in"
    runtime.registry.only = None if plain or definition.tools is None else frozenset([*definition.tools, "task"])
    runtime.active_agent = None if plain else definition.name
    if plain:
        return [f"running as the plain conversation (all tools, {agent.model.id})"]
    sections.append((f"agent {definition.name}", definition.prompt or definition.description))
    if definition.model is not None or definition.effort is not None:
        result = switch_model(
            agent, definition.model or agent.model, definition.effort, has_key=runtime.has_key, catalog=runtime.catalog
        )
        changed.append(f"model {agent.model.id}" + (f", effort {agent.effort}" if agent.effort else ""))
        changed += list(result.notices)
    if definition.mode == "plan" and runtime.policy.mode != "plan":
        runtime.policy.set_mode("plan")
        changed.append("plan mode (read-only)")
    if definition.tools is not None:
        changed.append(f"tools: {', '.join(definition.tools) or 'none'}")
    return [f"running as agent {definition.name}: {definition.description}", *changed]
