"""Agent definitions: the built-in agents (general, explore, plan) and custom ones from files.

A custom agent is a Markdown file ``NAME.md`` in, first found wins for a name:
``.stoa/agents/`` and ``.claude/agents/`` of the workspace, ``agents/`` in the user's config
folder (``~/.config/stoa/agents/`` or ``$STOA_HOME/agents/``), ``~/.claude/agents/``. Front matter
(lenient, as other tools write it): ``name``, ``description``, ``tools`` (comma list; absent:
the parent's tools; Claude Code's names such as ``Read``, ``Grep``, ``Bash`` are understood),
``model`` (an id or alias; ``inherit`` or absent: the parent's), ``effort``; the body is the
agent's system prompt. A file naming an unknown tool or model is listed with the error and not
offered; the others still load.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from stoa.core.front_matter import read_front_matter, split_list

MAX_FILE_BYTES = 256 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

# Tools of a read-only agent (it also runs in plan mode, which refuses anything else).
READ_ONLY_TOOLS = (
    "list_directory",
    "read_file",
    "glob_files",
    "search_code",
    "execute_bash",
    "bash_output",
    "view_image",
    "web_fetch",
    "load_skill",
    "update_plan",
)

# Claude Code's tool names, for agent files written for it.
CLAUDE_TOOLS: dict[str, tuple[str, ...]] = {
    "Read": ("read_file",),
    "Grep": ("search_code",),
    "Glob": ("glob_files",),
    "LS": ("list_directory",),
    "Bash": ("execute_bash", "bash_output", "bash_kill"),
    "BashOutput": ("bash_output",),
    "KillBash": ("bash_kill",),
    "Edit": ("edit_file",),
    "MultiEdit": ("edit_file",),
    "Write": ("write_file",),
    "NotebookEdit": ("edit_file",),
    "WebFetch": ("web_fetch",),
    "WebSearch": (),  # the provider's own search: on whenever the parent has it
    "TodoWrite": ("update_plan",),
    "Task": ("task",),
    "Skill": ("load_skill",),
}

_CONTEXT = (
    "You are a sub-agent of Stoa, started by another agent for one task. You do not see its "
    "conversation: everything you know is in the task below and what your tools show you. Work "
    "on your own, without asking questions (nobody answers them). Your last message is your "
    "result: the parent agent reads only that, so make it complete and self-contained (what you "
    "found or did, with file paths and line numbers), and short."
)

BUILT_IN: tuple[tuple[str, str, tuple[str, ...] | None, str, str], ...] = (
    (
        "general",
        "General-purpose agent for multi-step tasks: research, then changes, with the parent's tools.",
        None,
        "auto",
        "Do the task completely, then report what you did and what is left.",
    ),
    (
        "explore",
        "Read-only agent for quick searches and reading: finds files, code and answers fast.",
        READ_ONLY_TOOLS,
        "plan",
        "You only read and search (read-only commands at most). Be fast: search broadly, read what "
        "matters, and answer with the facts and where they are.",
    ),
    (
        "plan",
        "Read-only agent that investigates and returns a step-by-step implementation plan.",
        READ_ONLY_TOOLS,
        "plan",
        "You only read and search. Investigate what the task needs, then return a concrete plan: "
        "the steps in order, the files and functions to change, risks and how to test.",
    ),
)


@dataclass(frozen=True)
class AgentDefinition:
    name: str
    description: str = ""
    # The agent's own instructions (a custom agent's body).
    prompt: str = ""
    # Stoa tool names it may use (None: the parent's tools).
    tools: tuple[str, ...] | None = None
    model: str | None = None
    effort: str | None = None
    # Its trust mode at most (plan: read-only); the parent's is used when stricter.
    mode: str = "auto"
    source: str = "built-in"
    shown: str = ""
    error: str | None = None

    @property
    def system_prompt(self) -> str:
        """What the sub-agent is told: that it is one, then its own instructions."""
        return f"{_CONTEXT}\n\n{self.prompt}".strip()


@dataclass
class AgentDefinitions:
    agents: dict[str, AgentDefinition] = field(default_factory=dict)
    broken: list[AgentDefinition] = field(default_factory=list)
    shadowed: list[AgentDefinition] = field(default_factory=list)

    def get(self, name: str) -> AgentDefinition | None:
        return self.agents.get(name.strip())

    def names(self) -> list[str]:
        return list(self.agents)


def built_ins() -> list[AgentDefinition]:
    return [
        AgentDefinition(name, description, prompt=prompt, tools=tools, mode=mode)
        for name, description, tools, mode, prompt in BUILT_IN
    ]


def agent_folders(workspace: Path, config_dir: Path, home: Path | None) -> list[tuple[Path, str]]:
    folders = [
        (workspace / ".stoa" / "agents", "project"),
        (workspace / ".claude" / "agents", "project (.claude)"),
        (config_dir / "agents", "user"),
    ]
    if home is not None:
        folders.append((home / ".claude" / "agents", "user (.claude)"))
    return folders


def load_agents(
    workspace: Path,
    config_dir: Path,
    home: Path | None,
    *,
    known_tools: Collection[str],
    resolve_model: Callable[[str], str | None],
) -> AgentDefinitions:
    """Built-ins, then every agent file of the folders above. ``resolve_model`` returns an error
    for a model name that cannot be used (None: fine)."""
    found = AgentDefinitions()
    for definition in built_ins():
        found.agents[definition.name] = definition
    for folder, source in agent_folders(workspace, config_dir, home):
        if not folder.is_dir():
            continue
        try:
            files = sorted(f for f in os.listdir(folder) if f.endswith(".md") and not f.startswith("."))
        except OSError:
            continue
        for file in files:
            shown = f"{_shown(folder, workspace, home)}/{file}"
            definition = read_agent(folder / file, source, shown, known_tools, resolve_model)
            if definition.error is not None:
                found.broken.append(definition)
            elif definition.name in found.agents and found.agents[definition.name].source != "built-in":
                found.shadowed.append(definition)
            else:
                found.agents[definition.name] = definition  # a file may redefine a built-in
    return found


def _shown(folder: Path, workspace: Path, home: Path | None) -> str:
    for base, prefix in ((workspace, ""), (home, "~/")):
        if base is not None and folder.is_relative_to(base):
            return prefix + str(folder.relative_to(base))
    return str(folder)


def read_agent(
    path: Path,
    source: str,
    shown: str,
    known_tools: Collection[str],
    resolve_model: Callable[[str], str | None],
) -> AgentDefinition:
    """One agent file; never raises (a problem is the definition's ``error``)."""
    name = path.stem

    def broken(text: str) -> AgentDefinition:
        return AgentDefinition(name, source=source, shown=shown, error=f"{shown}: {text}")

    try:
        meta, body = read_front_matter(path, MAX_FILE_BYTES, "an agent's prompt should be shorter")
    except ValueError as exc:
        return broken(str(exc))
    name = meta.get("name", "").strip() or name
    if not _NAME.match(name):
        return broken(f"the name {name!r} cannot be an agent's; use letters, digits, '-', '_' or '.'")
    description = " ".join(meta.get("description", "").split())
    if not description:
        return broken("no description in the front matter: add 'description: when to use this agent'")
    tools: tuple[str, ...] | None = None
    if meta.get("tools", "").strip():
        names, unknown = map_tools(split_list(meta["tools"]), known_tools)
        if unknown:
            return broken(
                f"unknown tool{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                f"known tools: {', '.join(sorted(known_tools))}"
            )
        tools = names
    model = meta.get("model", "").strip() or None
    if model is not None and model.lower() == "inherit":
        model = None
    if model is not None:
        problem = resolve_model(model)
        if problem is not None:
            return broken(f"model {model!r}: {problem}")
    effort = meta.get("effort", "").strip() or None
    return AgentDefinition(
        name, description, prompt=body.strip(), tools=tools, model=model, effort=effort, source=source, shown=shown
    )


def map_tools(names: Collection[str], known: Collection[str]) -> tuple[tuple[str, ...], list[str]]:
    """Stoa tool names for a definition's list (Claude Code's names mapped), and unknown ones."""
    out: list[str] = []
    unknown: list[str] = []
    for name in names:
        if name in known:
            mapped: tuple[str, ...] = (name,)
        elif name in CLAUDE_TOOLS:
            mapped = tuple(t for t in CLAUDE_TOOLS[name] if t in known or t == "task")
        elif name.startswith("mcp__") or "___" in name:
            mapped = (name,)  # an MCP tool: offered if its server is connected
        else:
            unknown.append(name)
            continue
        out += [m for m in mapped if m not in out]
    return tuple(out), unknown


def listing(definitions: AgentDefinitions) -> list[str]:
    """``/agents``: every agent, where it comes from, its tools and model; broken files with errors."""
    out: list[str] = []
    for agent in definitions.agents.values():
        where = agent.source if agent.source == "built-in" else f"{agent.source}, {agent.shown}"
        tools = "the parent's tools" if agent.tools is None else ", ".join(agent.tools) or "no tools"
        model = f" · model {agent.model}" if agent.model else ""
        out.append(f"{agent.name} ({where}): {agent.description}\n    tools: {tools}{model}")
    for agent in definitions.shadowed:
        out.append(f"{agent.name} ({agent.source}, {agent.shown}): not used, an agent of that name was found first")
    for agent in definitions.broken:
        out.append(f"⚠ {agent.name} ({agent.source}): {agent.error}")
    return out
