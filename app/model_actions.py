"""Model, effort and key actions of the TUI: the pickers, direct switches, the key manager, the
follow-ups of a failed turn, and first-run onboarding.

The chat screen's keys (F2, F3, F4) and the slash commands ``/model``, ``/effort``, ``/key``
(``stoa.app.commands.models``) call these; the pickers are awaited with ``push_screen_wait``, so
call them from a worker. Every switch goes through ``stoa.core.switching``, so the CLI, the
pickers and the slash commands validate the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stoa.core.keys import has_any_cloud_key, rejected_key_message
from stoa.core.models import (
    COMPATIBLE_PROVIDERS,
    DEFAULT_MODEL,
    DEFAULT_OPENAI_MODEL,
    UnknownModelError,
    UnsupportedEffortError,
    compatible_model,
    resolve_model,
)
from stoa.core.switching import (
    ContextTooLargeError,
    SwitchError,
    SwitchResult,
    cycle_effort,
    switch_effort,
    switch_model,
)

if TYPE_CHECKING:
    from stoa.app.commands.registry import CommandHost
    from stoa.app.screens.chat import ChatScreen
    from stoa.app.screens.keys import KeyChecker, KeyManagerScreen
    from stoa.core.models import ModelInfo
    from stoa.core.providers.detect import LocalServer
    from stoa.core.providers.factory import KeyCheck
    from stoa.core.runtime import Runtime

# ---- helpers ---------------------------------------------------------------------------------


def local_servers(runtime: Runtime) -> list[LocalServer]:
    """Local servers found so far (detection results are kept on the runtime)."""
    return runtime.local_servers


def local_models(runtime: Runtime) -> list[ModelInfo]:
    from stoa.app.screens.model_picker import local_model_infos

    return local_model_infos(local_servers(runtime))


async def detect_servers(runtime: Runtime) -> list[LocalServer]:
    """Probe Ollama/LM Studio and a configured compatible server; remember what answered."""
    from stoa.core.providers.detect import detect_compatible, detect_local_servers

    config = runtime.config
    probe = runtime.detect_local_servers
    found = list(await probe()) if probe is not None else await detect_local_servers(env=config.env)
    provider = runtime.choices.provider or config.settings.provider
    base_url = runtime.choices.base_url or config.settings.base_url
    if provider in COMPATIBLE_PROVIDERS and provider not in ("ollama", "lmstudio"):
        from stoa.core.config import DEFAULT_BASE_URLS

        url = base_url or DEFAULT_BASE_URLS.get(provider)
        if url:
            server = await detect_compatible(provider, url, api_key=config.api_key(provider))
            if server is not None:
                found.append(server)
    known = local_servers(runtime)
    by_url = {s.base_url: s for s in known}
    for server in found:
        by_url[server.base_url] = server
    known[:] = list(by_url.values())
    return found


def _show_switch(screen: CommandHost, result: SwitchResult) -> None:
    if result.changed:
        divider = getattr(screen, "show_divider", None)
        if callable(divider):
            divider(result.divider)
        else:
            screen.show_notice("info", result.divider)
    for notice in result.notices:
        screen.show_notice("warning", notice)
    screen.refresh_status()


def _effort_hint(model: ModelInfo) -> str:
    if len(model.efforts) == 1:
        return f"{model.id} has no reasoning levels"
    return f"valid levels for {model.id}: {', '.join(model.efforts)}"


def apply_model(screen: CommandHost, spec: str, effort: str | None = None) -> SwitchResult | None:
    """Switch to a model by name/alias/``provider/id``; errors are shown, never raised."""
    runtime = screen.runtime
    try:
        result = switch_model(
            runtime.agent,
            spec,
            effort,
            has_key=runtime.has_key,
            local_models=local_models(runtime),
            catalog=runtime.catalog,
        )
    except UnknownModelError as exc:
        screen.show_notice("error", str(exc), hint="/model alone opens the picker")
        return None
    except UnsupportedEffortError as exc:
        screen.show_notice("error", str(exc))
        return None
    except ContextTooLargeError as exc:
        offer_compaction(screen, exc, spec, effort)
        return None
    except SwitchError as exc:
        screen.show_notice("error", str(exc))
        return None
    if result.model.dynamic:
        _remember_local_endpoint(runtime, result.model)
    _show_switch(screen, result)
    return result


def offer_compaction(screen: CommandHost, error: ContextTooLargeError, spec: str, effort: str | None) -> None:
    """The conversation is too large for the target's window: ask to compact it with that
    model, then switch (numbers in the question); no keeps the current model."""
    runtime = screen.runtime
    agent = runtime.agent
    target = error.model
    if agent.busy:
        screen.show_notice("error", str(error), hint="wait for the turn to end, then switch again")
        return

    async def ask_then_switch() -> None:
        from stoa.app.commands.context import compacted_text
        from stoa.app.screens.context import ConfirmScreen
        from stoa.core.agent.compaction import CompactionError

        question = (
            f"This conversation uses about {error.context_tokens:,} tokens; {target.id}'s window is "
            f"{target.context_window:,}. Compact it to fit ({target.id} summarises the earlier part, the "
            f"originals stay archived in the session), then switch?"
        )
        if not await screen.app.push_screen_wait(
            ConfirmScreen(f"Switch to {target.id}?", question, yes="compact and switch", no=f"stay on {agent.model.id}")
        ):
            screen.show_notice("info", f"Stayed on {agent.model.id}; nothing was compacted.")
            return
        try:
            result = await agent.compact(trigger="switch", model=target)
        except CompactionError as exc:
            screen.show_notice("error", f"nothing was compacted, still on {agent.model.id}: {exc}")
            return
        await screen.reload_log()
        screen.show_notice("info", compacted_text(result), title="Compacted")
        apply_model(screen, spec, effort)

    screen.app.run_worker(ask_then_switch(), group="compact-switch", exit_on_error=False)


def _remember_local_endpoint(runtime: Runtime, model: ModelInfo) -> None:
    """A model of a detected server at a non-default address: point the provider pool there."""
    from stoa.core.config import DEFAULT_BASE_URLS

    server = next((s for s in local_servers(runtime) if s.provider == model.provider and model.id in s.models), None)
    if server is None or server.base_url == DEFAULT_BASE_URLS.get(model.provider):
        return
    if runtime.endpoint(model.provider) is None:  # an explicit --base-url for it wins
        runtime.use_endpoint(model.provider, server.base_url)


def apply_effort(screen: CommandHost, level: str) -> SwitchResult | None:
    agent = screen.runtime.agent
    try:
        result = switch_effort(agent, level)
    except UnsupportedEffortError:
        screen.show_notice("error", f"{level!r} is not an effort level of {agent.model.id}", hint=_effort_hint(agent.model))
        return None
    _show_switch(screen, result)
    return result


def key_checker(runtime: Runtime) -> KeyChecker:
    """Tries a pasted key at the endpoint the agent would use for that provider."""
    pool = runtime.provider_for
    base_url = getattr(pool, "base_url", None)

    async def check(provider: str, key: str) -> KeyCheck:
        from stoa.core.providers.factory import check_key

        return await check_key(provider, key, base_url=base_url(provider) if callable(base_url) else None)

    return check


def key_manager_for(screen: Any, provider: str | None = None, *, message: str | None = None) -> KeyManagerScreen:
    """The key manager for this open (kept between opens: ``stoa.app.screens.kept``)."""
    from stoa.app.screens.kept import kept_screen
    from stoa.app.screens.keys import KeyManagerScreen

    runtime = screen.runtime
    config = runtime.config
    manager, fresh = kept_screen(
        screen.app,
        "key-manager",
        lambda: KeyManagerScreen(
            config.paths,
            config.env,
            provider=provider,
            message=message,
            workspace=config.workspace,
            check_key=key_checker(runtime),
        ),
        KeyManagerScreen,
    )
    if not fresh:
        manager.show_again(provider, message=message)
    return manager


# ---- picker flows (run inside a worker: they await the screens) ------------------------------


async def open_model_picker(screen: CommandHost) -> None:
    from stoa.app.screens.kept import kept_screen
    from stoa.app.screens.model_picker import ModelPickerScreen, model_spec

    runtime = screen.runtime

    async def detect() -> list[LocalServer]:
        return await detect_servers(runtime)

    async def fetch_models() -> list[ModelInfo]:
        await runtime.catalog.refresh(force=True)
        return runtime.catalog.models()

    current = model_spec(runtime.agent.model)
    picker, fresh = kept_screen(
        screen.app,
        "model-picker",
        lambda: ModelPickerScreen(
            current,
            has_key=runtime.has_key,
            local_servers=local_servers(runtime),
            detect=detect,
            key_screen=lambda provider: key_manager_for(screen, provider),
            models=runtime.catalog.models(),
            fetch_models=fetch_models,
        ),
        ModelPickerScreen,
    )
    if not fresh:
        picker.show_again(current, models=runtime.catalog.models(), local_servers=local_servers(runtime))
    choice = await screen.app.push_screen_wait(picker)
    if choice:
        apply_model(screen, choice)


async def open_effort_picker(screen: CommandHost) -> None:
    from stoa.app.screens.model_picker import EffortPickerScreen

    agent = screen.runtime.agent
    if len(agent.model.efforts) == 1:
        screen.show_notice("info", f"{agent.model.id} has no reasoning effort levels to choose from")
        return
    from stoa.app.screens.kept import kept_screen

    picker, fresh = kept_screen(
        screen.app, "effort-picker", lambda: EffortPickerScreen(agent.model, agent.effort), EffortPickerScreen
    )
    if not fresh:
        picker.show_again(agent.model, agent.effort)
    level = await screen.app.push_screen_wait(picker)
    if level:
        apply_effort(screen, level)


def cycle_effort_now(screen: CommandHost) -> None:
    agent = screen.runtime.agent
    if len(agent.model.efforts) == 1:
        screen.app.notify(f"{agent.model.id} has no reasoning effort levels", timeout=2)
        return
    result = cycle_effort(agent)
    screen.refresh_status()
    screen.app.notify(f"effort: {result.effort}", timeout=1.5)


async def open_key_manager(screen: CommandHost, provider: str | None = None, *, message: str | None = None) -> None:
    changed = await screen.app.push_screen_wait(key_manager_for(screen, provider, message=message))
    if changed:
        names = ", ".join(sorted(changed))
        screen.show_notice("info", f"keys updated: {names}; the next request uses them")
        screen.refresh_status()


async def open_rejected_key(screen: CommandHost, provider: str) -> None:
    """After a 401: the key manager, saying which key was rejected and where it came from."""
    config = screen.runtime.config
    await open_key_manager(screen, provider, message=rejected_key_message(provider, config.env, config.paths))


def after_turn_failed(screen: ChatScreen, event: Any) -> None:
    """Follow-ups to a failed turn (``TurnFailed``) that belong to models and keys.

    A rejected key (401) opens the key manager naming the key and where it came from. A local
    model that refuses tool definitions is marked as having no tools, so the message (back in
    the editor) can simply be sent again and runs without tools.
    """
    from dataclasses import replace

    from stoa.core.providers.openai_chat import NO_TOOLS_HINT

    agent = screen.runtime.agent
    model = agent.model
    if event.kind == "auth":
        screen.run_worker(open_rejected_key(screen, model.provider), group="picker", exit_on_error=False)
    elif event.kind == "bad_request" and event.hint == NO_TOOLS_HINT and model.dynamic and model.supports_tools:
        agent.set_model(replace(model, supports_tools=False), agent.effort)
        screen.show_notice(
            "warning",
            f"{model.id} does not support tool calling: it now runs without tools (send your message again)",
            hint="/model switches to a model with tools",
        )
        screen.refresh_status()


def needs_onboarding(runtime: Runtime) -> bool:
    """A first run with no key at all, on a cloud provider (a local provider needs none)."""
    config = runtime.config
    if runtime.agent.model.provider in COMPATIBLE_PROVIDERS:
        return False
    return not has_any_cloud_key(config.env, config.paths)


async def run_onboarding(screen: CommandHost) -> bool:
    """Show the onboarding screen and set the session up from the choice. False = quit (the
    Quit choice); Esc closes the dialog and leaves a notice saying how to add a key later."""
    from stoa.app.screens.keys import OnboardingScreen

    runtime = screen.runtime
    config = runtime.config
    async def detect() -> list[LocalServer]:
        return await detect_servers(runtime)

    onboarding = OnboardingScreen(
        config.paths, config.env, detect=detect, workspace=config.workspace, check_key=key_checker(runtime)
    )
    choice = await screen.app.push_screen_wait(onboarding)
    if choice is None:
        screen.show_notice(
            "warning",
            "no API key yet: nothing can be sent until a model is reachable",
            hint="/key adds a key, /model picks a local model (Ollama, LM Studio); Ctrl+D quits",
            title="No API key",
        )
        return True
    if choice.quit:
        return False
    agent = runtime.agent
    if choice.model is not None:
        if choice.base_url:
            runtime.use_endpoint(choice.provider, choice.base_url)
        agent.set_model(compatible_model(choice.model, choice.provider))
    elif agent.model.provider != choice.provider:
        default = {"anthropic": DEFAULT_MODEL, "openai": DEFAULT_OPENAI_MODEL}.get(choice.provider)
        if default is not None:
            agent.set_model(resolve_model(default))
    screen.show_notice("info", f"ready: {agent.model.id} ({agent.effort}); /model and /key change it any time")
    screen.refresh_status()
    return True
