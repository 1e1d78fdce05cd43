"""The composition root shared by headless mode and the TUI.

``build_runtime`` turns a loaded ``StoaConfig`` plus command-line choices into a ready
``Runtime``: the resolved model and effort, the provider resolver, the tool registry, the
permission policy and the agent. Both front-ends build through here so they cannot disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from stoa.core.agent.compaction import auto_compact_setting
from stoa.core.agent.failures import RetryPolicy
from stoa.core.agent.loop import Agent
from stoa.core.catalog import Catalog, CatalogError, set_active_catalog
from stoa.core.choices import Choices as Choices  # re-exported: the front ends build it here
from stoa.core.config import KEYLESS_PROVIDERS, StoaConfig
from stoa.core.keys import ADD_KEY_HINT, key_variable, no_key_message
from stoa.core.models import (
    COMPATIBLE_PROVIDERS,
    DEFAULT_MODEL,
    DEFAULT_OPENAI_MODEL,
    ModelInfo,
    validate_effort,
)
from stoa.core.permissions.approver import Approver
from stoa.core.permissions.policy import PermissionPolicy
from stoa.core.providers.base import Provider
from stoa.core.providers.types import Message
from stoa.core.tools.registry import ToolRegistry, default_registry

if TYPE_CHECKING:  # attached after composition; their modules are heavy and load after the first paint
    from stoa.core.agents import AgentDefinitions, Subagents
    from stoa.core.checkpoints import Checkpoints
    from stoa.core.hooks import Hooks
    from stoa.core.instructions import Instructions
    from stoa.core.mcp.manager import McpManager
    from stoa.core.providers.detect import LocalServer
    from stoa.core.sandbox.bwrap import SandboxStatus
    from stoa.core.sessions.resume import SessionHandle
    from stoa.core.sessions.store import SessionStore
    from stoa.core.skills import Skills


class MissingKeyError(Exception):
    def __init__(self, provider: str, *, alternatives: bool = False) -> None:
        var = key_variable(provider)
        message = f"{no_key_message(provider)} {ADD_KEY_HINT}"
        if alternatives:
            message += (
                "; or set OPENAI_API_KEY for GPT models, or use a local server with --provider ollama|lmstudio"
            )
        super().__init__(message)
        self.provider = provider
        self.variable = var


class NoLocalModelError(RuntimeError):
    """A local server was chosen without a model, and it listed none (or did not answer)."""


def choose_model(config: StoaConfig, choices: Choices, catalog: Catalog | None = None) -> ModelInfo:
    """The starting model: flag, then config, then a default for the provider that has a key.

    Resolved through the catalogue: table ids and cached list entries need no network; only an
    id nobody knows yet is looked up (see ``Catalog.resolve``)."""
    provider = choices.provider or config.settings.provider
    name = choices.model or config.settings.model
    if name is None:
        if provider in COMPATIBLE_PROVIDERS:
            name = _first_local_model(config, provider, choices)
        elif provider == "openai" or (
            provider is None and not config.api_key("anthropic") and config.api_key("openai")
        ):
            name = DEFAULT_OPENAI_MODEL
        else:
            name = DEFAULT_MODEL
    catalog = catalog or make_catalog(config, choices)
    model = catalog.resolve(name, provider)
    config.warnings.extend(w for w in catalog.warnings if w not in config.warnings)
    return model


def make_catalog(config: StoaConfig, choices: Choices) -> Catalog:
    """The runtime's catalogue (built-in table + cached lists + ``[models."ID"]``)."""
    from stoa.core.config import ConfigError

    try:
        return Catalog.from_config(config, lambda p: base_url_for(config, p, choices))
    except CatalogError as exc:
        raise ConfigError(str(exc)) from exc


def _first_local_model(config: StoaConfig, provider: str, choices: Choices) -> str:
    """No --model on a local server: the first model the server lists (it may have any)."""
    from stoa.core.config import DEFAULT_BASE_URLS
    from stoa.core.providers.detect import first_model_sync

    base_url = base_url_for(config, provider, choices) or DEFAULT_BASE_URLS.get(provider)
    if provider == "openai-compatible" and not base_url:
        base_url = config.env.get("OPENAI_BASE_URL")
    found = first_model_sync(base_url, api_key=config.api_key(provider)) if base_url else None
    if found is None:
        raise NoLocalModelError(
            f"no --model given and the {provider} server at {base_url or '(no base URL)'} listed no models; "
            "start the server (or pass --base-url) and name a model with -m"
        )
    return found


def base_url_for(config: StoaConfig, provider: str, choices: Choices) -> str | None:
    configured_provider = choices.provider or config.settings.provider
    if provider == configured_provider or configured_provider is None:
        return choices.base_url or config.settings.base_url
    return None


@dataclass
class Runtime:
    """Everything one conversation runs on, shared by every front end (TUI, headless, ACP).

    The first group is made by ``build_runtime``; the second is attached later by its owner,
    each through one verb: ``stoa.core.sessions.open_store`` / ``open_session`` (store, session),
    ``stoa.core.mcp.attach`` (mcp), the sandbox probe (sandbox), local-server detection
    (local_servers). ``None`` means "not attached (yet)".
    """

    config: StoaConfig
    choices: Choices
    agent: Agent
    registry: ToolRegistry
    policy: PermissionPolicy
    provider_for: Callable[[ModelInfo], Provider]
    catalog: Catalog = field(default_factory=Catalog)
    # Extra system-prompt sections (label, text), e.g. MCP server instructions.
    prompt_sections: list[tuple[str, str]] = field(default_factory=list)

    store: SessionStore | None = None
    session: SessionHandle | None = None
    mcp: McpManager | None = None
    sandbox: SandboxStatus | None = None
    # Local servers (Ollama, LM Studio, ...) found by detection so far.
    local_servers: list[LocalServer] = field(default_factory=list)
    # A replacement for local-server detection (tests and embedders); None probes for real.
    detect_local_servers: Callable[[], Awaitable[Sequence[LocalServer]]] | None = None
    # Endpoints chosen while running (provider -> base URL), see ``use_endpoint``.
    endpoints: dict[str, str] = field(default_factory=dict)
    # The session's per-turn checkpoints (/undo, /rewind, /diff); attached with the session
    # (``core.sessions.resume``), or kept in memory only by ``build_runtime`` until then.
    checkpoints: Checkpoints | None = None
    # The skills offered to the model (``stoa.core.skills.attach_skills``; /skills reloads them).
    skills: Skills | None = None
    # Agent definitions and the main agent's sub-agents (``stoa.core.agents.attach_agents``).
    agents: AgentDefinitions | None = None
    subagents: Subagents | None = None
    # The agent the main conversation runs as (``--agent``, ``/agent``); None: the plain one.
    active_agent: str | None = None
    # The instruction hierarchy (``core.instructions``): the system prompt's files, /memory's list.
    instructions: Instructions | None = None
    # The person's hook commands (``core.hooks``); the agent runs them during turns.
    hooks: Hooks | None = None

    @property
    def session_id(self) -> str | None:
        return self.session.session_id if self.session is not None else None

    def use_endpoint(self, provider: str, base_url: str) -> None:
        """From now on, reach ``provider`` at ``base_url`` (a local server found by detection and
        chosen in a picker). Kept apart from the command-line choices, which stay as given."""
        self.endpoints[provider] = base_url

    def endpoint(self, provider: str) -> str | None:
        """Where ``provider`` is reached: a chosen endpoint, else --base-url / config."""
        return self.endpoints.get(provider) or base_url_for(self.config, provider, self.choices)

    def has_key(self, provider: str) -> bool:
        return provider in KEYLESS_PROVIDERS or bool(self.config.api_key(provider))

    def check_key(self, model: ModelInfo) -> None:
        if not self.has_key(model.provider):
            chosen = self.choices.model or self.choices.provider or self.config.settings.model
            raise MissingKeyError(model.provider, alternatives=chosen is None)

    async def aclose(self) -> None:
        """Stop what the runtime keeps open besides its session: background jobs, MCP servers
        and provider clients. Never raises (called on the way out)."""
        try:
            await self.agent.jobs.aclose()  # no background job outlives Stoa
        except Exception:
            self.agent.jobs.kill_now()
        if self.mcp is not None:
            try:
                await self.mcp.close()
            except Exception:
                pass
        closer = getattr(self.provider_for, "aclose", None)
        if closer is not None:
            try:
                await closer()
            except Exception:
                pass


def build_runtime(
    config: StoaConfig,
    choices: Choices | None = None,
    *,
    approver: Approver | None = None,
    history: list[Message] | None = None,
    provider_for: Callable[[ModelInfo], Provider] | None = None,
    registry: ToolRegistry | None = None,
    retry: RetryPolicy | None = None,
    today: Callable[[], date] = date.today,
) -> Runtime:
    """Build everything a front-end needs. Raises UnknownModelError / UnsupportedEffortError."""
    from stoa.core.instructions import Instructions, system_prompt_factory
    from stoa.core.permissions.setup import make_policy
    from stoa.core.providers.factory import ProviderPool

    choices = choices or Choices()
    catalog = make_catalog(config, choices)
    set_active_catalog(catalog)
    model = choose_model(config, choices, catalog)
    effort = validate_effort(model, choices.effort or _config_effort(config, model))
    registry = registry or default_registry()
    policy = make_policy(config, choices.mode or config.settings.mode)
    endpoints: dict[str, str] = {}
    pool = provider_for or ProviderPool(config, lambda p: endpoints.get(p) or base_url_for(config, p, choices))
    sections: list[tuple[str, str]] = []
    home = config.env.get("HOME")
    instructions = Instructions(
        config.workspace, config.paths.config_dir, home=Path(home) if home else None, policy=policy
    )
    config.warnings.extend(w for w in instructions.current().warnings if w not in config.warnings)
    from stoa.core.memory import default_scope

    scope_warning = default_scope(config)[1]
    if scope_warning and scope_warning not in config.warnings:
        config.warnings.append(scope_warning)
    prompt = system_prompt_factory(
        config.workspace,
        lambda: [t.name for t in registry.offered(policy.mode, agent.model)],
        lambda: policy.mode,
        lambda: sections,
        today,
        instructions,
    )
    if choices.system_prompt is not None or choices.append_system_prompt:
        prompt = _chosen_prompt(prompt, choices.system_prompt, choices.append_system_prompt)
    agent = Agent(
        provider_for=pool,
        model=model,
        effort=effort,
        tools=registry,
        workspace=config.workspace,
        system_prompt=prompt,
        policy=policy,
        approver=approver,
        history=history,
        max_iterations=choices.max_turns or config.settings.max_iterations,
        max_tokens=choices.max_tokens or config.settings.max_tokens,
        retry=retry,
        config=config,
        catalog=catalog,
    )
    agent.context_hook = instructions.nested()
    runtime = Runtime(
        config=config,
        choices=choices,
        agent=agent,
        registry=registry,
        policy=policy,
        provider_for=pool,
        prompt_sections=sections,
        catalog=catalog,
        endpoints=endpoints,
        instructions=instructions,
    )
    attach_checkpoints(runtime, session_id=f"nosession-{uuid.uuid4().hex[:12]}")
    from stoa.core.skills import attach_skills

    attach_skills(runtime)
    from stoa.core.agents import attach_agents

    attach_agents(runtime)
    if choices.agent:
        from stoa.core.agents import use_agent

        use_agent(runtime, choices.agent)
    _, problems = auto_compact_setting(config)
    config.warnings.extend(p for p in problems if p not in config.warnings)
    from stoa.core.hooks import build_hooks

    runtime.hooks = agent.hooks = build_hooks(
        config,
        trust_project=choices.trust_project_hooks,
        session_id=lambda: runtime.session_id,
        mode=lambda: policy.mode,
    )
    return runtime


def attach_checkpoints(
    runtime: Runtime, *, session_id: str, store: object = None, record_seq: Callable[[], int] | None = None
) -> Checkpoints:
    """Give the runtime (and its agent) the checkpoints of ``session_id``: in memory only
    without a ``store``; with one, saved with the session's turns."""
    from stoa.core.checkpoints import Checkpoints, settings_from_config

    config = runtime.config
    settings, problems = settings_from_config(config)
    config.warnings.extend(p for p in problems if p not in config.warnings)
    checkpoints = Checkpoints(
        config.workspace,
        config.paths.data_dir,
        settings,
        session_id=session_id,
        store=store,
        record_seq=record_seq or (lambda: 0),
    )
    runtime.checkpoints = checkpoints
    runtime.agent.checkpoints = checkpoints
    return checkpoints


def _chosen_prompt(built: Callable[[], str], replacement: str | None, appended: str | None) -> Callable[[], str]:
    def prompt() -> str:
        text = replacement if replacement is not None else built()
        return f"{text.rstrip()}\n\n{appended.strip()}" if appended and appended.strip() else text

    return prompt


def _config_effort(config: StoaConfig, model: ModelInfo) -> str | None:
    effort = config.settings.effort
    if effort is not None and effort not in model.efforts:
        return None  # a config default that does not fit this model falls back to its default
    return effort
