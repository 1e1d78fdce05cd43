"""The chat screen painted before the runtime exists (how ``stoa`` starts: ``run_tui``).

The runtime is built in a thread after the first frame. These tests hold that build at a gate
(a real ``build_runtime``, released when the test says), so what happens before it is
deterministic: keys typed and Enter pressed meanwhile are kept and sent once (the fake server
gets the message), slash commands and keys that need the runtime run once it is there, and a
runtime that cannot be built ends the app with the words ``stoa`` printed before.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stoa.app.app import StoaApp
from stoa.app.tui import make_app
from stoa.core.config import StoaConfig, load_config
from stoa.core.models import UnknownModelError
from stoa.core.runtime import Choices, Runtime, build_runtime
from stoa.widgets.records import NoticeRecord, UserRecord, WelcomeRecord
from tests.fake_server import FakeServer, reply
from tests.ui.conftest import SIZE, fixed_clock, make_env, wait_for, wait_idle, widget_text


def gated(app: StoaApp) -> threading.Event:
    """Hold the app's runtime build (started after the first frame) until the returned event."""
    gate = threading.Event()
    build: Callable[[], Runtime] | None = app._build
    assert build is not None

    def held() -> Runtime:
        if not gate.wait(30):
            raise TimeoutError("the test never released the build")
        assert build is not None
        return build()

    app._build = held
    return gate


def deferred_app(config: StoaConfig, **choices: Any) -> StoaApp:
    return make_app(
        config,
        choices=Choices(**choices),
        build_after_paint=True,
        clock=fixed_clock,
        animations=False,
        cursor_blink=False,
        detect_sandbox=False,
    )


async def test_a_message_sent_before_the_runtime_is_built_goes_once_it_is(
    config: StoaConfig, fake_server: FakeServer
) -> None:
    fake_server.script(reply(text="Got it."))
    app = deferred_app(config)
    gate = gated(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="the composer's focus")
        assert not app.chat.attached and app.runtime is None
        # The first frame: the composer with its placeholder, the status bar with the folder only.
        assert "Message Stoa" in widget_text(app.chat.composer.input)
        status = widget_text(app.chat.status_bar)
        assert "project" in status and "AUTO" not in status
        await pilot.press(*"hello", "enter", *"draft")
        await pilot.pause()
        assert app.chat.turns.next_turn == ["hello"]  # waiting, shown in the queue bar
        assert app.chat.composer.text == "draft"
        await asyncio.sleep(0.2)
        assert fake_server.model_requests() == []
        gate.set()
        await wait_for(lambda: len(fake_server.model_requests()) == 1, what="the request")
        await wait_idle(app)
        assert app.chat.attached and app.runtime is app.chat.runtime
        assert len(fake_server.model_requests()) == 1  # sent once
        message = fake_server.model_requests()[0].body["messages"][-1]
        assert "hello" in str(message["content"])
        records = app.chat.log_view.records
        assert isinstance(records[0], WelcomeRecord)
        assert [r.text for r in records if isinstance(r, UserRecord)] == ["hello"]
        assert app.chat.composer.text == "draft"  # what was being typed stays in the editor
        assert "claude" in widget_text(app.chat.status_bar)


async def test_commands_and_keys_that_need_the_runtime_wait_for_it(config: StoaConfig) -> None:
    app = deferred_app(config, mode="ask")
    gate = gated(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.composer.input.has_focus, what="the composer's focus")
        await pilot.press("shift+tab")  # the trust mode: ask -> auto, once there is a policy
        app.chat.composer.set_text("/mode plan")
        await pilot.press("enter")
        await pilot.pause()
        assert not app.chat.attached
        gate.set()
        await wait_for(lambda: app.chat.attached, what="the runtime")
        await wait_idle(app)
        # In the order given: Shift+Tab (ask -> auto), then /mode plan.
        assert app.chat.runtime.policy.mode == "plan"
        assert " PLAN " in widget_text(app.chat.status_bar)


async def test_an_unknown_model_ends_the_app_with_the_same_words(config: StoaConfig) -> None:
    with pytest.raises(UnknownModelError) as up_front:  # what run_tui printed when it built first
        await asyncio.to_thread(build_runtime, config, Choices(model="no-such-model"))
    app = deferred_app(config, model="no-such-model")
    async with app.run_test(size=SIZE):
        await wait_for(lambda: app.return_code is not None, what="the exit")
    assert app.return_code == 2
    assert app.exit_notes == [f"stoa: error: {up_front.value}"]
    assert str(up_front.value).startswith("unknown model 'no-such-model'")


async def test_a_bad_effort_ends_the_app_with_the_same_words(
    tmp_path: Path, workspace: Path, fake_server: FakeServer
) -> None:
    config = load_config(workspace, env=make_env(tmp_path, fake_server))
    app = deferred_app(config, model="sonnet", effort="bogus")
    async with app.run_test(size=SIZE):
        await wait_for(lambda: app.return_code is not None, what="the exit")
    assert app.return_code == 2
    assert app.exit_notes == [
        "stoa: error: effort 'bogus' is not supported by claude-sonnet-5-5; "
        "valid levels: off, low, medium, high, xhigh, max"
    ]


async def test_the_settled_screen_is_the_one_built_at_once(config: StoaConfig) -> None:
    """Painting first changes the first frame only: once the runtime is in, the log and the
    status bar read as they do for an app given its runtime up front."""
    later = deferred_app(config)
    async with later.run_test(size=SIZE) as pilot:
        await wait_for(lambda: later.chat.attached and later.chat.ready, what="the runtime")
        await pilot.pause()
        settled = (widget_text(later.chat.log_view), widget_text(later.chat.status_bar))
    now = make_app(config, clock=fixed_clock, animations=False, cursor_blink=False, detect_sandbox=False)
    async with now.run_test(size=SIZE) as pilot:
        await wait_for(lambda: now.chat.ready, what="ready")
        await pilot.pause()
        assert (widget_text(now.chat.log_view), widget_text(now.chat.status_bar)) == settled
    assert not [r for r in later.chat.log_view.records if isinstance(r, NoticeRecord)]
