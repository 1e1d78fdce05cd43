"""Without the OS sandbox the TUI says so (issue 11, item 3): a "no sandbox" badge in the
status bar that stays on a narrow screen, and, on the first run without a sandbox, a notice
offering the one command that installs bubblewrap here."""

from __future__ import annotations

import pytest

from stoa.core.sandbox import SandboxStatus
from stoa.core.sandbox.advice import OFFER_MARKER, install_command
from stoa.widgets.records import NoticeRecord
from stoa.widgets.status_bar import StatusBar
from tests.ui.conftest import SIZE, AppFactory, wait_for

MISSING = SandboxStatus(False, "bwrap is not installed; install bubblewrap (Debian/Ubuntu: ...)")
WORKING = SandboxStatus(True, version="0.8.0", executable="/usr/bin/bwrap")
TURNED_OFF = SandboxStatus(True, version="0.8.0", executable="/usr/bin/bwrap", enabled=False)


def notices(app) -> list[NoticeRecord]:  # type: ignore[no-untyped-def]
    return [r for r in app.chat.log_view.records if isinstance(r, NoticeRecord) and r.title == "No sandbox"]


async def test_the_badge_shows_no_sandbox_and_survives_a_narrow_screen(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.runtime.sandbox = MISSING
        app.chat.refresh_status()
        await pilot.pause()
        bar = app.query_one(StatusBar)
        assert " no sandbox " in bar.build_line(118).plain
        narrow = bar.build_line(56).plain
        # The cost, the context meter and the folder give way first; the badge stays by the mode.
        assert "no sandbox" in narrow and "AUTO" in narrow and "$" not in narrow, narrow
        app.runtime.sandbox = WORKING
        app.chat.refresh_status()
        assert "no sandbox" not in bar.build_line(118).plain and "sandbox" in bar.build_line(118).plain


@pytest.mark.skipif(install_command() is None, reason="no package manager Stoa knows on this machine")
async def test_the_first_run_without_a_sandbox_offers_the_install_command(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app._offer_sandbox(MISSING)
        await wait_for(lambda: bool(notices(app)), what="the no-sandbox notice")
        notice = notices(app)[0]
        assert notice.level == "warning" and "unconfined" in notice.text and "auto mode asks" in notice.text
        assert notice.hint is not None and install_command() in notice.hint
        assert (app.config.paths.data_dir / OFFER_MARKER).exists()
        # Once: the next start says nothing more (the badge stays).
        app._offer_sandbox(MISSING)
        await pilot.pause()
        assert len(notices(app)) == 1


async def test_no_offer_when_the_sandbox_works_or_was_turned_off(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app._offer_sandbox(WORKING)
        app._offer_sandbox(TURNED_OFF)
        await pilot.pause()
        assert not notices(app)
        assert not (app.config.paths.data_dir / OFFER_MARKER).exists()
