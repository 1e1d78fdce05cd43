"""The fork offer: a session another Stoa is writing (one writer per session)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from stoa.app.screens.resume import ForkOfferScreen
from stoa.core.sessions.lock import LockHolder, SessionLockedError
from stoa.core.sessions.store import SessionInfo
from tests.ui.conftest import SIZE, AppFactory, wait_for

SESSION_ID = "3f2a9c1e-7b4d-4c1a-9e8f-0a1b2c3d4e5f"


def busy_session() -> tuple[SessionLockedError, SessionInfo]:
    info = SessionInfo(
        id=SESSION_ID, project="/home/me/project", title="Fix the flaky upload test", title_source="model",
        model="claude-sonnet-4-6", provider="anthropic", mode="auto", effort="medium", created_at=0.0,
        updated_at=0.0, message_count=12, tokens=(0, 0, 0, 0, 0), peak_prompt_tokens=0, cost_usd=0.0,
        ledger_json="{}", preview="", turn_open=True, interrupted=False, last_turn_at=None,
    )
    holder = LockHolder(pid=48213, host="build-box-7", started_at=None)
    return SessionLockedError(SESSION_ID, holder), info


def test_snapshot_fork_offer(snap_compare: Any, app_factory: AppFactory) -> None:
    """A centred box: "This session is open elsewhere", the session's title, short id, message
    count and the other process (pid 48213 on build-box-7), why two writers are refused, and two
    answers with nothing highlighted: fork it into a new session, or start a new conversation."""
    error, info = busy_session()

    async def run_before(pilot: Pilot[Any]) -> None:
        app: Any = pilot.app
        await wait_for(lambda: app.chat.is_mounted, what="the chat")
        app.push_screen(ForkOfferScreen(error, info, decline="Start a new conversation"))
        await wait_for(lambda: isinstance(app.screen, ForkOfferScreen), what="the offer")
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)
