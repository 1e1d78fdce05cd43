"""A long resumed conversation holds only its last entries: earlier ones are read from the
session store as the log is scrolled up to them, every one exactly as it was saved, and let go
again once the view is back at the bottom."""

from __future__ import annotations

import asyncio

import pytest

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


@pytest.mark.parametrize("where", [0.25, 0.95], ids=["before the replayed tail", "in it"])
async def test_a_compaction_folds_everything_before_it(config: StoaConfig, app_factory: AppFactory, where: float) -> None:
    """Scrolled up to a compaction (read on the way up, or among the replayed records), the log
    shows its fold with every earlier entry as its archived text, and nothing before it, as a
    replay of the whole session would."""
    from stoa.core.sessions.store import SessionStore
    from stoa.widgets.records import CompactionRecord

    config.paths.database.parent.mkdir(parents=True, exist_ok=True)
    await write_session(config.paths.database, config.workspace, 800)
    store = await SessionStore.open(config.paths.database)
    try:
        info = (await store.list_sessions())[0]
        records = await store.load_records(info.id)
        middle = records[int(len(records) * where)]
        from stoa.core.sessions.store import SessionSeed

        seed = SessionSeed(info.id, info.project, info.model, info.provider, info.mode, info.effort)
        await store.add_record(seed, middle.seq, "compaction",
                               {"trigger": "manual", "summary": "what came before", "tokens_before": 9000, "tokens_after": 900})
        after = [r for r in records if r.seq > middle.seq or (r.seq == middle.seq and r is not middle)]
    finally:
        await store.aclose()

    app = app_factory(sessions=True, continue_latest=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready and len(app.chat.log_view.records) > 10, what="the resumed session")
        log = app.chat.log_view
        assert log.more_earlier == (where < 0.5)
        log.restore_batch = 200
        for _ in range(100):
            if not log.more_earlier and log.unmounted_count == 0:
                break
            log.scroll_to(y=0, animate=False, immediate=True)
            await pilot.pause()
            await asyncio.sleep(0.02)
        folds = [r for r in log.records if isinstance(r, CompactionRecord)]
        assert len(folds) == 1 and log.records.index(folds[0]) <= 1  # the welcome banner may come first
        assert "› prompt 0: what does module 0 do?" in folds[0].archived_text
        assert folds[0].summary == "what came before"
        users = [r.text for r in log.records if isinstance(r, UserRecord)]
        assert users == [r.data["text"] for r in after if r.kind == "user"]
