"""/context, /compact and a switch to a smaller window in the TUI: the breakdown's view, the
compaction fold in the log, and the offer to compact before a switch. The model is the fake
server (a fake model that summarises what it is sent); sessions are real SQLite."""

from __future__ import annotations

import re
from typing import Any

from stoa.app.screens.context import ConfirmScreen, ContextScreen
from stoa.core.agent.compaction import SUMMARY_SYSTEM, is_summary
from stoa.widgets.records import CompactionRecord, NoticeRecord
from tests.fake_server import FakeServer, ModelSpec, reply, respond
from tests.ui.conftest import SIZE, AppFactory, wait_for, wait_idle

TINY = ModelSpec(
    id="claude-tiny-1", provider="anthropic", context_window=24_000, max_output=8_000,
    thinking_types=("adaptive", "disabled"), efforts=("low", "high"),
)


def summarise(request: Any) -> Any:
    facts = list(dict.fromkeys(re.findall(r"FACT[^\n.]*", "\n".join(request.user_texts))))
    return reply(text="## Goal\nKeep going.\n## User's preferences and corrections\n" + "\n".join(f"- {f}" for f in facts))


def fake_summaries(server: FakeServer) -> None:
    server.add_rule(respond(summarise), match=lambda r: SUMMARY_SYSTEM[:40] in r.system)
    server.add_rule(reply(text="A title"), match=lambda r: "Title:" in str(r.body))


async def send(app: Any, pilot: Any, text: str) -> None:
    await pilot.press(*text, "enter")
    await wait_idle(app)


def notices(app: Any, title: str) -> list[str]:
    return [r.text for r in app.chat.log_view.records if isinstance(r, NoticeRecord) and r.title == title]


def test_context_view_snapshot(app_factory: AppFactory, fake_server: FakeServer, snap_compare: Any) -> None:
    """/context after one exchange on Sonnet 4.6 (1M window): a bar with the used share and the
    auto-compaction mark at 85 %, then the system prompt, the tool schemas (native tools), the
    messages, free room and the total, a line with the distance to auto-compaction, and the count
    of Anthropic's count endpoint (the fake server's: 4 characters a token of the body)."""
    fake_server.script(reply(text="Hello! " + "words " * 200, input_tokens=4_000, output_tokens=300))

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(lambda: app.chat.ready and app.chat.log_view.is_mounted, what="the app")
        await pilot.pause()
        await app.chat.send("hi")
        await wait_idle(app)
        app.chat.run_slash("/context")
        await wait_for(lambda: isinstance(app.screen, ContextScreen), what="the context view")
        await pilot.pause()

    assert snap_compare(app_factory(model="claude-sonnet-4-6"), terminal_size=SIZE, run_before=run_before)


async def test_context_view_counts_the_parts(app_factory: AppFactory, fake_server: FakeServer) -> None:
    app = app_factory(model="claude-sonnet-4-6")
    async with app.run_test(size=SIZE) as pilot:
        app.chat.run_slash("/context")
        await wait_for(lambda: isinstance(app.screen, ContextScreen), what="the context view")
        screen = app.screen
        assert isinstance(screen, ContextScreen)
        report = screen.report
        labels = [r.label for r in report.rows]
        assert labels[0] == "System prompt" and any(label.startswith("Tool schemas") for label in labels)
        assert report.total == sum(r.tokens for r in report.rows if r.level == 0) or report.total > 0
        assert report.limit == int(report.window * 0.85)
        await pilot.press("escape")
        assert not isinstance(app.screen, ContextScreen)


async def test_compact_in_the_tui_folds_the_earlier_conversation(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_summaries(fake_server)
    fake_server.script(reply(text="first answer"), reply(text="second answer"), reply(text="third answer"))
    app = app_factory(model="claude-sonnet-4-6", sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await send(app, pilot, "first. FACT: deploy on fridays")
        await send(app, pilot, "second")
        await send(app, pilot, "third")
        app.chat.run_slash("/compact the deploy rule")
        await wait_for(lambda: notices(app, "Compacted"), what="the compaction")
        assert is_summary(app.runtime.agent.history.messages[0])
        folds = [r for r in app.chat.log_view.records if isinstance(r, CompactionRecord)]
        assert len(folds) == 1 and "FACT: deploy on fridays" in folds[0].summary
        assert "first. FACT: deploy on fridays" in folds[0].archived_text  # the fold opens to the archive
        # The notice's figures are the fold's (the whole request), said once.
        notice = notices(app, "Compacted")[0]
        assert f"({folds[0].line})" in notice and "archived in the session" in notice, (notice, folds[0].line)
        assert not notice.startswith("Compacted")


async def test_switching_to_a_smaller_window_offers_compaction(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_server.models = [*fake_server.models, TINY]
    fake_summaries(fake_server)
    fake_server.script(
        reply(text="read it all", input_tokens=30_000, output_tokens=100),
        reply(text="done", input_tokens=40_000, output_tokens=100),
    )
    app = app_factory(model="claude-sonnet-4-6", sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        await send(app, pilot, "a long document. FACT: the key is 7")
        await send(app, pilot, "and more")
        app.chat.run_slash("/model claude-tiny-1")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), what="the offer")
        assert "40,100 tokens" in app.screen.question and "24,000" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("n")
        await wait_for(lambda: not isinstance(app.screen, ConfirmScreen), what="the answer")
        assert app.runtime.agent.model.id == "claude-sonnet-4-6"
        app.chat.run_slash("/model claude-tiny-1")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), what="the offer again")
        await pilot.press("y")
        await wait_for(lambda: app.runtime.agent.model.id == "claude-tiny-1", what="the switch")
        history = app.runtime.agent.history.messages
        assert is_summary(history[0]) and "FACT: the key is 7" in history[0].content[0].text  # type: ignore[union-attr]
        summaries = [r for r in fake_server.model_requests() if SUMMARY_SYSTEM[:40] in r.system]
        assert summaries and all(r.model == "claude-tiny-1" for r in summaries)


async def test_auto_compaction_during_a_turn_shows_a_fold(app_factory: AppFactory, fake_server: FakeServer) -> None:
    """A 24k window fills: the turn's compaction shows as a fold in the log (the "compacting…"
    line goes), the status bar's context meter drops, the turn finishes."""
    from tests.integration.test_compaction import agent_reply

    fake_server.models = [*fake_server.models, TINY]
    fake_summaries(fake_server)
    fake_server.default_reply = respond(agent_reply)
    app = app_factory(model="claude-tiny-1")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready and app.chat.log_view.is_mounted, what="the app")
        await pilot.pause()
        for n in range(20):
            await app.chat.send(f"turn {n}: go on. FACT: number {n}. " + "words " * 600)
            await wait_idle(app)
            if any(isinstance(r, CompactionRecord) for r in app.chat.log_view.records):
                break
        folds = [r for r in app.chat.log_view.records if isinstance(r, CompactionRecord)]
        assert folds and folds[0].trigger == "auto" and folds[0].line.startswith("compacted ")
        assert not [r for r in app.chat.log_view.records if isinstance(r, NoticeRecord) and "compacting" in r.text]
        assert app.chat.status_bar.info.context_tokens < 0.85 * 24_000


async def test_purge_asks_before_deleting_archives(app_factory: AppFactory, fake_server: FakeServer) -> None:
    fake_summaries(fake_server)
    fake_server.script(reply(text="first answer"), reply(text="second answer"), reply(text="third answer"))
    app = app_factory(model="claude-sonnet-4-6", sessions=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.chat.ready, what="the session")
        for text in ("first. FACT: blue", "second", "third"):
            await send(app, pilot, text)
        app.chat.run_slash("/compact")
        await wait_for(lambda: notices(app, "Compacted"), what="the compaction")
        store = app.runtime.session.store  # type: ignore[union-attr]
        count = "SELECT COUNT(*) FROM rewound_messages"
        assert (await store._read(count))[0][0] >= 1
        app.chat.run_slash("/purge")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "archived message" in app.screen.question and "deleted for good" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("n")
        await wait_for(lambda: not isinstance(app.screen, ConfirmScreen), what="the answer")
        assert (await store._read(count))[0][0] >= 1
        app.chat.run_slash("/purge")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), what="the question again")
        await pilot.press("y")
        await wait_for(lambda: any(
            isinstance(r, NoticeRecord) and r.text.startswith("Deleted ") for r in app.chat.log_view.records
        ), what="the purge")
        assert (await store._read(count))[0][0] == 0
        assert is_summary(app.runtime.agent.history.messages[0])
