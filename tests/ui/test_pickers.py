"""The model picker, effort picker, key manager and onboarding, driven from the keyboard in the
real app (Pilot), with snapshots of each screen and state.

Local-server detection in these tests probes the fake server's Ollama endpoint (``/api/tags``)
over loopback through ``runtime.detect_local_servers``, so nothing depends on what
happens to run on the developer's localhost:11434.
"""

from __future__ import annotations

import html
import re
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stoa.app.screens.keys import KeyManagerScreen, OnboardingScreen
from stoa.app.screens.model_picker import EffortPickerScreen, ModelPickerScreen
from stoa.app.tui import StoaApp
from stoa.core.config import StoaConfig, load_config
from stoa.core.providers.detect import detect_ollama
from tests.fake_server import FakeServer
from tests.fake_server.rules import spec_for
from tests.fake_server.script import fault, reply
from tests.ui.conftest import SIZE, AppFactory, make_env, wait_for, wait_idle

LOCAL_MODELS = ["qwen3:8b", "llama3.2:latest"]


def with_local_ollama(app: StoaApp, server: FakeServer, *, fixed_address: bool = False) -> StoaApp:
    """Detection finds the fake server's Ollama endpoint. ``fixed_address`` shows it at Ollama's
    default address instead (pictures must not depend on the server's random port)."""
    # What its /api/tags lists; the cloud models stay in the Anthropic and OpenAI lists.
    server.models = [m for m in server.models if spec_for(m).provider != "local"] + list(LOCAL_MODELS)

    async def probe() -> list[Any]:
        found = await detect_ollama(server.base_url)
        if found is not None and fixed_address:
            found = replace(found, base_url="http://localhost:11434/v1")
        return [found] if found is not None else []

    app.runtime.detect_local_servers = probe
    return app


def anthropic_only_config(tmp_path: Path, workspace: Path, server: FakeServer) -> StoaConfig:
    env = make_env(tmp_path, server)
    del env["OPENAI_API_KEY"]
    return load_config(workspace, env=env)


def keyless_config(tmp_path: Path, workspace: Path, server: FakeServer) -> StoaConfig:
    env = make_env(tmp_path, server, keys=False)
    return load_config(workspace, env=env)


async def open_picker(pilot: Any) -> ModelPickerScreen:
    await pilot.press("f2")
    await wait_for(lambda: isinstance(pilot.app.screen, ModelPickerScreen), what="the model picker")
    screen = pilot.app.screen
    assert isinstance(screen, ModelPickerScreen)
    # Detection runs in the picker's worker; wait until the local rows are in.
    await wait_for(lambda: any(r.model.dynamic for r in screen.rows), what="local models")
    await pilot.pause()
    return screen


def screen_text(app: StoaApp) -> str:
    """The text on screen, from the SVG screenshot (tags dropped, entities decoded)."""
    svg = app.export_screenshot()
    body = svg[svg.index("<g class"):] if "<g class" in svg else svg
    return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r">\s+<", "><", body))).replace("\xa0", " ")


def log_texts(app: StoaApp) -> list[str]:
    return [str(getattr(r, "text", "")) for r in app.chat.log_view.records]


def highlighted(screen: ModelPickerScreen) -> str | None:
    from textual.widgets import OptionList

    option = screen.query_one("#models", OptionList).highlighted_option
    return option.id if option is not None else None


# ---- model picker ------------------------------------------------------------------------------


async def test_picker_dims_keyless_providers_and_the_cursor_skips_them(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    app = with_local_ollama(app_factory(anthropic_only_config(tmp_path, workspace, fake_server), model="claude-haiku-4-5"), fake_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_picker(pilot)
        assert highlighted(screen) == "claude-haiku-4-5"  # starts on the current model
        openai_rows = [r for r in screen.rows if r.model.provider == "openai"]
        assert openai_rows and not any(r.available for r in openai_rows)
        await pilot.press("down")
        # The OpenAI rows (no key) are skipped: the next choice is the first local model.
        assert highlighted(screen) == "ollama/qwen3:8b"
        await pilot.press("up")
        assert highlighted(screen) == "claude-haiku-4-5"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ModelPickerScreen)
        assert app.runtime.agent.model.id == "claude-haiku-4-5"  # Esc changed nothing


async def test_typing_filters_and_enter_switches(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    app = with_local_ollama(app_factory(model="claude-sonnet-4-6", effort="high"), fake_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_picker(pilot)
        await pilot.press(*"gpt mini")
        await pilot.pause()
        assert [r.spec for r in screen.visible_rows()] == ["gpt-5.4-mini"]
        assert highlighted(screen) == "gpt-5.4-mini"
        await pilot.press("enter")
        await wait_for(lambda: app.runtime.agent.model.id == "gpt-5.4-mini", what="the switch")
        assert app.runtime.agent.effort == "high"  # carried over: gpt-5.4-mini supports it
        await wait_for(lambda: "switched to gpt-5.4-mini (high)" in log_texts(app), what="the divider")
        assert app.chat.status_bar.info.model == "gpt-5.4-mini"


async def test_filter_with_no_match_keeps_the_model(app_factory: AppFactory) -> None:
    app = app_factory(model="claude-sonnet-4-6")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await wait_for(lambda: isinstance(app.screen, ModelPickerScreen), what="the picker")
        await pilot.press(*"zzz", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ModelPickerScreen)  # nothing to choose: stays open
        await pilot.press("escape")
        assert app.runtime.agent.model.id == "claude-sonnet-4-6"


async def test_k_opens_the_key_manager_and_a_saved_key_enables_the_rows(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    config = anthropic_only_config(tmp_path, workspace, fake_server)
    app = with_local_ollama(app_factory(config, model="claude-sonnet-4-6"), fake_server)
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(pilot)
        await pilot.press("k")
        await wait_for(lambda: getattr(app.focused, "id", None) == "key-input", what="the paste box")
        manager = app.screen
        assert isinstance(manager, KeyManagerScreen)
        assert manager.selected == "openai"  # the provider whose rows were dimmed
        await pilot.press(*"sk-proj-test-key-0123456789", "enter")
        await wait_for(lambda: "openai" in manager.changed, what="the key to be saved")
        await pilot.press("escape")
        await wait_for(lambda: app.screen is picker, what="back to the picker")
        assert all(r.available for r in picker.rows if r.model.provider == "openai")
        assert stat.S_IMODE(config.paths.keys_file.stat().st_mode) == 0o600


async def test_model_command_switches_directly_and_lists_valid_names(app_factory: AppFactory) -> None:
    app = app_factory(model="claude-sonnet-4-6", effort="max")
    async with app.run_test(size=SIZE) as pilot:
        app.chat.run_slash("/model gpt-5.5")
        await wait_for(lambda: app.runtime.agent.model.id == "gpt-5.5", what="the switch")
        assert app.runtime.agent.effort == "medium"  # gpt-5.5 has no "max": its default
        app.chat.run_slash("/model opus low")
        await wait_for(lambda: app.runtime.agent.model.id == "claude-opus-5-5", what="the switch back")
        assert app.runtime.agent.effort == "low"
        app.chat.run_slash("/model claude-opus-4-7")  # legacy models stay selectable
        await wait_for(lambda: app.runtime.agent.model.id == "claude-opus-4-7", what="the legacy switch")
        app.chat.run_slash("/model gpt-2")
        await pilot.pause(0.2)
        assert app.runtime.agent.model.id == "claude-opus-4-7"


async def test_model_command_takes_a_model_only_the_providers_list_knows(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    from tests.fake_server import ModelSpec

    fake_server.models = [*fake_server.models, ModelSpec(id="claude-zephyr-7", provider="anthropic",
                                                         thinking_types=("adaptive",), efforts=("low", "high"))]
    app = app_factory(model="claude-sonnet-5-5")
    async with app.run_test(size=SIZE):
        app.chat.run_slash("/model claude-zephyr-7 high")
        await wait_for(lambda: app.runtime.agent.model.id == "claude-zephyr-7", what="the switch")
        assert app.runtime.agent.effort == "high" and app.runtime.agent.model.efforts == ("low", "high")
        assert app.runtime.agent.model.prices is None


# ---- effort ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "effort", "expected"), [("opus", "high", "xhigh"), ("gpt-5.5", "medium", "high")])
async def test_effort_picker_lists_only_the_models_levels(
    app_factory: AppFactory, model: str, effort: str, expected: str
) -> None:
    app = app_factory(model=model, effort=effort)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, EffortPickerScreen), what="the effort picker")
        screen = app.screen
        assert isinstance(screen, EffortPickerScreen)
        from textual.widgets import OptionList

        options = screen.query_one("#efforts", OptionList)
        assert [o.id for o in options.options] == list(app.runtime.agent.model.efforts)
        assert options.highlighted_option is not None and options.highlighted_option.id == effort
        await pilot.press("down", "enter")
        await wait_for(lambda: app.runtime.agent.effort == expected, what="the effort change")
        assert app.chat.status_bar.info.effort == expected


async def test_cycle_key_and_effort_command(app_factory: AppFactory) -> None:
    app = app_factory(model="claude-haiku-4-5", effort="off")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        assert app.runtime.agent.effort == "low"
        app.chat.run_slash("/effort max")
        await wait_for(lambda: app.runtime.agent.effort == "max", what="/effort max")
        app.chat.run_slash("/effort xhigh")  # haiku has no xhigh: refused, unchanged
        await pilot.pause(0.2)
        assert app.runtime.agent.effort == "max"
        await pilot.press("f4")
        await pilot.pause()
        assert app.runtime.agent.effort == "off"  # wraps around


# ---- keys ------------------------------------------------------------------------------------


async def test_key_manager_masks_the_key_as_typed(app_factory: AppFactory, config: StoaConfig) -> None:
    app = app_factory(model="claude-sonnet-4-6")
    secret = "sk-ant-visible-nowhere-0123456789"
    async with app.run_test(size=SIZE) as pilot:
        app.chat.run_slash("/key anthropic")
        await wait_for(lambda: getattr(app.focused, "id", None) == "key-input", what="the paste box")
        await pilot.press(*secret)
        await pilot.pause()
        picture = screen_text(app)
        assert secret not in app.export_screenshot() and "sk-ant-visible" not in picture
        assert "•" * 10 in picture
        await pilot.press("enter")
        await pilot.pause()
        # The environment key still wins; the manager says so and names the saved file.
        picture = screen_text(app)
        assert "environment variable ANTHROPIC_API_KEY" in picture and "wins" in picture
    assert config.paths.keys_file.exists()
    assert secret in config.paths.keys_file.read_text()
    assert not any(secret in p.read_text(errors="ignore") for p in config.workspace.rglob("*") if p.is_file())


async def _paste_key(app: StoaApp, pilot: Any, provider: str, key: str) -> None:
    if not isinstance(app.screen, KeyManagerScreen):
        app.chat.run_slash(f"/key {provider}")
    await wait_for(lambda: getattr(app.focused, "id", None) == "key-input", what="the paste box")
    app.screen.query_one("#key-input").value = key  # type: ignore[attr-defined]
    await pilot.press("enter")


def _key_message(app: StoaApp) -> str:
    return str(app.screen.query_one("#key-message").render())


async def test_a_pasted_key_is_checked_for_its_shape_then_tried_before_it_is_saved(
    tmp_path: Path, workspace: Path, app_factory: AppFactory
) -> None:
    right = "sk-ant-api03-the-right-key-" + "r" * 30
    with FakeServer(api_key=right) as server:
        env = make_env(tmp_path, server)
        config = load_config(workspace, env=env)
        app = app_factory(config, model="sonnet")
        async with app.run_test(size=SIZE) as pilot:
            # Not an Anthropic key at all: refused before any request.
            await _paste_key(app, pilot, "anthropic", "d41d8cd98f00b204e9800998ecf8427e")
            await wait_for(lambda: "start with sk-ant-" in _key_message(app), what="the shape error")
            # (The catalogue's daily refresh lists models with the configured key: not a try.)
            configured = env["ANTHROPIC_API_KEY"]
            assert not any(r.path == "/v1/models" and r.api_key != configured for r in server.requests)
            # Anthropic-shaped but wrong: the provider says no, nothing is saved.
            await _paste_key(app, pilot, "anthropic", "sk-ant-api03-wrong-" + "w" * 30)
            await wait_for(lambda: "rejected this key" in _key_message(app), what="the rejection")
            assert not config.paths.keys_file.exists()
            assert app.screen.query_one("#key-input").value  # type: ignore[attr-defined]  # kept for fixing
            # The right one is tried (its model list, with that key) and saved.
            await _paste_key(app, pilot, "anthropic", right)
            await wait_for(lambda: "saved the Anthropic key" in _key_message(app), what="the save")
            tried = [r for r in server.requests if r.path == "/v1/models" and r.api_key != configured]
            assert [r.api_key for r in tried] == ["sk-ant-api03-wrong-" + "w" * 30, right]
    assert read_key_file_of(config) == {"anthropic": right}


async def test_a_key_that_cannot_be_tried_is_saved_on_a_second_enter(
    tmp_path: Path, workspace: Path, app_factory: AppFactory, fake_server: FakeServer
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens here once the socket is closed
    env = make_env(tmp_path, fake_server) | {"OPENAI_BASE_URL": f"http://127.0.0.1:{closed}/v1"}
    config = load_config(workspace, env=env)
    key = "sk-proj-offline-" + "o" * 30
    app = app_factory(config, model="sonnet")
    async with app.run_test(size=SIZE) as pilot:
        await _paste_key(app, pilot, "openai", key)
        await wait_for(lambda: "Press Enter again" in _key_message(app), what="the offer", limit=30)
        assert not config.paths.keys_file.exists()
        await pilot.press("enter")
        await wait_for(lambda: "saved the OpenAI key" in _key_message(app), what="the save")
    assert read_key_file_of(config) == {"openai": key}


def read_key_file_of(config: StoaConfig) -> dict[str, str]:
    from stoa.core.keys import read_key_file

    return read_key_file(config.paths)


async def test_rejected_key_opens_the_key_manager_naming_it(tmp_path: Path, workspace: Path, app_factory: AppFactory) -> None:
    with FakeServer(api_key="the-right-key") as server:
        env = make_env(tmp_path, server)
        env["ANTHROPIC_API_KEY"] = "sk-ant-wrong-000000000000000009999"
        app = app_factory(load_config(workspace, env=env), model="claude-sonnet-4-6")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*"hello", "enter")
            await wait_for(lambda: isinstance(app.screen, KeyManagerScreen), what="the key manager")
            picture = screen_text(app)
            assert "Anthropic rejected the key sk-ant…9999" in picture
            assert "environment variable ANTHROPIC_API_KEY" in picture


async def test_a_local_model_without_tools_runs_without_them_after_one_refusal(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    fake_server.script(
        fault("bad_request", message="registry.ollama.ai/library/gemma:2b does not support tools"),
        reply(text="Hello without tools."),
    )
    app = app_factory(model="claude-sonnet-4-6")
    # Ollama's address is the fake server (a configured compatible endpoint).
    app.runtime.choices.provider = "ollama"
    app.runtime.choices.base_url = fake_server.openai_base_url
    async with app.run_test(size=SIZE) as pilot:
        app.chat.run_slash("/model ollama/gemma:2b")
        await wait_for(lambda: app.runtime.agent.model.id == "gemma:2b", what="the switch")
        await pilot.press(*"hello", "enter")
        await wait_idle(app)
        assert app.runtime.agent.model.supports_tools is False
        assert any("does not support tool calling" in t for t in log_texts(app))
        assert app.chat.composer.text == "hello"  # the message is back in the editor
        await pilot.press("enter")
        await wait_idle(app)
    first, second = fake_server.model_requests("chat")
    assert first.body.get("tools") and not second.body.get("tools")


async def test_status_command_shows_usage_and_each_provider(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="Hi.", input_tokens=1200, output_tokens=30))
    app = app_factory(model="claude-haiku-4-5", effort="low")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hello", "enter")
        await wait_idle(app)
        app.chat.run_slash("/status")
        await wait_for(lambda: any("providers:" in t for t in log_texts(app)), what="the status report")
    report = next(t for t in log_texts(app) if "providers:" in t)
    assert "model: claude-haiku-4-5" in report and "effort: low" in report
    assert "claude-haiku-4-5: 1 request, 1,200 in" in report
    assert "✓ Anthropic" in report and "✓ OpenAI" in report and " ms" in report


# ---- onboarding ------------------------------------------------------------------------------


async def test_onboarding_with_a_detected_local_server_then_a_turn(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    fake_server.script(reply(text="Hello from the local model."))
    fake_server.models = list(LOCAL_MODELS)
    app = app_factory(keyless_config(tmp_path, workspace, fake_server))

    async def probe() -> list[Any]:
        found = await detect_ollama(fake_server.base_url)
        assert found is not None
        # The fake server speaks Chat Completions under /v1, like Ollama.
        return [found]

    app.runtime.detect_local_servers = probe
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, OnboardingScreen), what="onboarding")
        screen = app.screen
        assert isinstance(screen, OnboardingScreen)
        await wait_for(lambda: screen.servers is not None, what="detection")
        await pilot.press("down", "down", "enter")  # Anthropic, OpenAI, [Ollama]
        await pilot.pause()
        await pilot.press("enter")  # its first model
        await wait_for(lambda: not isinstance(app.screen, OnboardingScreen), what="onboarding to close")
        agent = app.runtime.agent
        assert (agent.model.provider, agent.model.id) == ("ollama", "qwen3:8b")
        await pilot.press(*"hi", "enter")
        await wait_idle(app)
    chat = fake_server.model_requests("chat")
    assert len(chat) == 1 and chat[0].path == "/v1/chat/completions" and chat[0].model == "qwen3:8b"


async def test_onboarding_paste_a_key(tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory) -> None:
    config = keyless_config(tmp_path, workspace, fake_server)
    app = app_factory(config)
    app.runtime.detect_local_servers = _nothing_found
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, OnboardingScreen), what="onboarding")
        await pilot.press("down", "enter")  # OpenAI
        await wait_for(lambda: getattr(app.focused, "id", None) == "key-input", what="the paste box")
        await pilot.press(*"sk-proj-onboarding-key-0000001234", "enter")
        await wait_for(lambda: not isinstance(app.screen, OnboardingScreen), what="onboarding to close")
        assert app.runtime.agent.model.id == "gpt-6.2-sol"  # the current default GPT
    assert stat.S_IMODE(config.paths.keys_file.stat().st_mode) == 0o600
    assert config.api_key("openai") == "sk-proj-onboarding-key-0000001234"


async def test_escape_on_the_welcome_dialog_goes_back_to_the_chat(
    tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    """Esc steps back inside the dialog (out of the paste box), then closes it: the app keeps
    running, the chat says how to add a key later. Only the Quit choice quits."""
    app = app_factory(keyless_config(tmp_path, workspace, fake_server))
    app.runtime.detect_local_servers = _nothing_found
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, OnboardingScreen), what="onboarding")
        await pilot.press("enter")  # Anthropic: the paste box opens
        await wait_for(lambda: getattr(app.focused, "id", None) == "key-input", what="the paste box")
        await pilot.press("escape")  # back to the choices
        await pilot.pause()
        assert isinstance(app.screen, OnboardingScreen)
        await pilot.press("escape")  # closes the dialog
        await wait_for(lambda: app.screen is app.chat, what="the chat")
        await pilot.pause(0.2)
        assert app.is_running
        hints = [str(getattr(r, "hint", "") or "") for r in app.chat.log_view.records]
        assert any("/key" in h for h in hints)
        assert app.chat.composer.input.has_focus

    app = app_factory(keyless_config(tmp_path, workspace, fake_server))
    app.runtime.detect_local_servers = _nothing_found
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, OnboardingScreen), what="onboarding")
        screen = app.screen
        await wait_for(lambda: screen.servers is not None, what="detection")
        await pilot.press("up", "enter")  # the last choice: Quit
        await pilot.pause(0.2)
    assert app.return_code == 0 and not app.is_running


async def _nothing_found() -> list[Any]:
    return []


# ---- snapshots -------------------------------------------------------------------------------


def test_snapshot_model_picker_dimmed(
    snap_compare: Any, tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    """The model picker over the chat: Anthropic rows bright, current models first and the
    legacy ones marked "legacy", Sonnet 4.6 marked current and highlighted; the OpenAI rows
    dimmed with "no key: press k to add" (the list scrolls on to the two models of the detected
    Ollama server, qwen3:8b and llama3.2:latest, as free local models)."""
    app = with_local_ollama(app_factory(anthropic_only_config(tmp_path, workspace, fake_server), model="claude-sonnet-4-6"), fake_server, fixed_address=True
    )

    async def run_before(pilot: Any) -> None:
        await open_picker(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_model_picker_filtered(
    snap_compare: Any, tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    """The model picker filtered by "claude h": the filter box shows the text; the OpenAI and
    local rows are gone and the Anthropic rows remain (every word must match: "h" is in
    "Anthropic"), Claude Sonnet 4.6 still marked current and highlighted."""
    app = with_local_ollama(app_factory(model="claude-sonnet-4-6"), fake_server, fixed_address=True)

    async def run_before(pilot: Any) -> None:
        await open_picker(pilot)
        await pilot.press(*"claude h")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_effort_picker_claude(snap_compare: Any, app_factory: AppFactory) -> None:
    """The effort picker for Claude Opus 4.7: off, low, medium, high, xhigh, max (adaptive
    thinking), with high marked current and highlighted."""
    app = app_factory(model="claude-opus-4-7", effort="high")

    async def run_before(pilot: Any) -> None:
        await pilot.press("f3")
        await wait_for(lambda: isinstance(pilot.app.screen, EffortPickerScreen), what="the effort picker")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_effort_picker_gpt(snap_compare: Any, app_factory: AppFactory) -> None:
    """The effort picker for GPT-5.5: off (lowest reasoning, no summaries), low, medium, high,
    xhigh — no max — with medium marked current."""
    app = app_factory(model="gpt-5.5", effort="medium")

    async def run_before(pilot: Any) -> None:
        await pilot.press("f3")
        await wait_for(lambda: isinstance(pilot.app.screen, EffortPickerScreen), what="the effort picker")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_key_manager_masked(
    snap_compare: Any, tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    """The key manager: Anthropic from its environment variable (masked), OpenAI without a key
    and selected, its paste box showing only bullets for the typed key."""
    app = app_factory(anthropic_only_config(tmp_path, workspace, fake_server), model="claude-sonnet-4-6")

    async def run_before(pilot: Any) -> None:
        pilot.app.chat.run_slash("/key openai")
        await wait_for(lambda: getattr(pilot.app.focused, "id", None) == "key-input", what="the paste box")
        await pilot.press(*"sk-proj-never-shown-123")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_onboarding(
    snap_compare: Any, tmp_path: Path, workspace: Path, fake_server: FakeServer, app_factory: AppFactory
) -> None:
    """First run with no key: the welcome text, "Paste an Anthropic API key" highlighted, the
    OpenAI choice, "Use Ollama at http://localhost:11434 (2 models)" (found on the fake server, shown at a
    fixed address because its port varies), and Quit."""
    app = app_factory(keyless_config(tmp_path, workspace, fake_server))
    fake_server.models = list(LOCAL_MODELS)

    async def probe() -> list[Any]:
        found = await detect_ollama(fake_server.base_url)
        assert found is not None
        # A fixed address in the picture (the fake server's port changes every run).
        return [replace(found, base_url="http://localhost:11434/v1")]

    app.runtime.detect_local_servers = probe

    async def run_before(pilot: Any) -> None:
        await wait_for(lambda: isinstance(pilot.app.screen, OnboardingScreen), what="onboarding")
        screen = pilot.app.screen
        await wait_for(lambda: screen.servers is not None, what="detection")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
