"""A long resumed conversation holds only its last entries: earlier ones are read from the
session store as the log is scrolled up to them, every one exactly as it was saved, and let go
again once the view is back at the bottom."""

from __future__ import annotations

import asyncio

from stoa.core.config import StoaConfig
from stoa.widgets.records import AssistantRecord, ToolRecord, UserRecord
from tests.bench.bench_tui_long import LAST_REPLY, write_session
from tests.ui.conftest import SIZE, AppFactory, wait_for

MESSAGES = 2_000


async def test_scrolling_a_resumed_2000_message_session_to_the_top_shows_every_message(
    config: StoaConfig, app_factory: AppFactory
) -> None:
    config.paths.database.parent.mkdir(parents=True, exist_ok=True)
    await write_session(config.paths.database, config.workspace, MESSAGES)
    app = app_factory(sessions=True, continue_latest=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready and len(app.chat.log_view.records) > 10, what="the resumed session")
        log = app.chat.log_view
        held = len(log.records)
        assert held < 400, f"the log holds {held} entries of a {MESSAGES}-message session"
        assert log.more_earlier
        assert any(LAST_REPLY in r.text for r in log.records if isinstance(r, AssistantRecord))
        # The model's context is complete: every saved message is in the agent's history.
        assert len(app.runtime.agent.history.messages) == MESSAGES

        log.restore_batch = 200  # fewer, larger steps up (the person's scroll is the same path)
        for _ in range(200):
            if not log.more_earlier and log.unmounted_count == 0:
                break
            log.scroll_to(y=0, animate=False, immediate=True)
            await pilot.pause()
            await asyncio.sleep(0.02)
        assert not log.more_earlier and log.unmounted_count == 0
        users = [r.text for r in log.records if isinstance(r, UserRecord)]
        turns = MESSAGES // 4
        assert users == [f"prompt {i}: what does module {i} do?" for i in range(turns)]
        top = next(r for r in log.records if isinstance(r, UserRecord))
        assert top.text == "prompt 0: what does module 0 do?" and log.widget_of(top) is not None
        tools = [r for r in log.records if isinstance(r, ToolRecord)]
        assert [t.summary for t in tools] == [f"src/module_{i}.py" for i in range(turns)]
        assert all(t.result_text.startswith("   1\tline 1 of a source file") for t in tools)

        # Back at the bottom: what was read for the way up is let go again.
        # Back at the bottom: the log unmounts down to its height budget, and the pages read for
        # the way up whose entries are all unmounted are let go (at most the page that still
        # has mounted entries stays).
        log.scroll_end(animate=False, immediate=True)
        await wait_for(
            lambda: len(log.records) <= held + log.restore_batch and log.virtual_size.height <= log.budget_lines,
            what="the pages let go",
        )
        assert log.more_earlier
        assert any(LAST_REPLY in r.text for r in log.records if isinstance(r, AssistantRecord))
