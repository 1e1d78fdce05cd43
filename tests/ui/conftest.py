"""Fixtures for the TUI tests: a test config pointed at the fake server, an app factory, waits."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stoa.app.tui import StoaApp, make_app
from stoa.core.agent.loop import RetryPolicy
from stoa.core.config import StoaConfig, load_config
from stoa.core.runtime import Choices, build_runtime
from tests.fake_server import FakeServer
from tests.snapshot_support import *  # noqa: F403  (snapshots go to the top-level snapshots/)

SIZE = (120, 40)
FIXED_CLOCK = 1_000.0


def fixed_clock() -> float:
    return FIXED_CLOCK


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A fresh folder whose path has the same length in every run (serial or in a pytest-xdist
    worker, whatever pytest's run counter is): paths go into the system prompt, so the token
    counts a snapshot shows must not depend on them."""
    path = Path(tempfile.mkdtemp(prefix="stoa-ui-", dir="/tmp")).resolve()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The project folder, at ``~/project`` for a HOME of ``tmp_path`` (a stable label)."""
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def make_env(tmp_path: Path, server: FakeServer | None, *, keys: bool = True) -> dict[str, str]:
    env = {
        "HOME": str(tmp_path),
        "STOA_HOME": str(tmp_path / "stoa-home"),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    if keys:
        env["ANTHROPIC_API_KEY"] = "test-key"
        env["OPENAI_API_KEY"] = "test-key"
    if server is not None:
        env["ANTHROPIC_BASE_URL"] = server.base_url
        env["OPENAI_BASE_URL"] = server.openai_base_url
    return env


@pytest.fixture
def config(tmp_path: Path, workspace: Path, fake_server: FakeServer) -> StoaConfig:
    return load_config(workspace, env=make_env(tmp_path, fake_server))


AppFactory = Callable[..., StoaApp]


@pytest.fixture
def app_factory(config: StoaConfig) -> AppFactory:
    """``app_factory(**choices)`` -> a deterministic app (fixed clock, no animation, no blink)
    whose runtime retries fast."""

    def build(
        cfg: StoaConfig | None = None,
        *,
        history: Any = None,
        sessions: bool = False,
        resume: str | None = None,
        continue_latest: bool = False,
        **choices: Any,
    ) -> StoaApp:
        cfg = cfg or config
        runtime = build_runtime(
            cfg, Choices(**choices), retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
            history=history,
        )
        return make_app(
            cfg,
            runtime=runtime,
            clock=fixed_clock,
            animations=False,
            cursor_blink=False,
            history=history,
            sessions=sessions,
            resume=resume,
            continue_latest=continue_latest,
            detect_sandbox=False,
        )

    return build


async def wait_idle(app: StoaApp, limit: float = 10.0) -> None:
    """Until no turn runs and the UI has handled every message."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while app.chat.busy or any(w.group == "agent" for w in app.workers):
        if loop.time() > deadline:
            raise AssertionError("the turn did not finish in time")
        await asyncio.sleep(0.02)
    await app.workers.wait_for_complete()
    await asyncio.sleep(0.05)


async def wait_for(predicate: Callable[[], bool], limit: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def widget_text(widget: Any) -> str:
    """What a mounted widget shows, as plain text lines."""
    from textual.geometry import Region

    region = widget.region
    strips = widget.render_lines(Region(0, 0, region.width, region.height))
    return "\n".join(strip.text for strip in strips)


async def answer_permission(app: Any, pilot: Any, *keys: str) -> None:
    """Wait until the open permission modal takes answers (painted, keyboard quiet for its grace
    period), then press ``keys`` (a digit, Up/Down + Enter, or Esc)."""
    from stoa.app.screens.permission import PermissionScreen

    await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="the permission modal")
    await answer_question(app, pilot, *keys)


async def answer_question(app: Any, pilot: Any, *keys: str) -> None:
    """Wait until the open question (the permission modal, a ``ChoiceQuestion``) takes answers,
    then press ``keys``."""
    await wait_for(lambda: getattr(app.screen, "accepting_answers", False), what="the question to take answers")
    await pilot.press(*keys)
