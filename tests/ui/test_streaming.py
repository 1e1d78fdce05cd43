"""A streamed reply through the whole app: paced by app/pacing.py, drawn as when shown whole."""

from __future__ import annotations

import gc

from textual.geometry import Region

from stoa.widgets.assistant import AssistantMessage
from stoa.widgets.records import AssistantRecord
from tests.fake_server import FakeServer, reply
from tests.ui.conftest import SIZE, AppFactory, wait_for, wait_idle

REPLY = "".join(
    f"## Step {i}\n\nThe loader reads **layer {i}** and merges it; later layers win per key, "
    f"and each problem names its file and line.\n\n- check {i}\n- merge {i}\n\n"
    f"| layer | wins |\n|---|---|\n| {i} | yes |\n\n```python\nmerge({i})\n```\n\n"
    for i in range(8)
)


async def test_a_fast_stream_ends_as_the_reply_shown_whole(app_factory: AppFactory, fake_server: FakeServer) -> None:
    """One delta per 3 characters, as fast as the socket takes them: the pacer merges them into
    a few frames, and the reply's rows end exactly as those of the same text shown at once."""
    fake_server.script(reply(text=REPLY, chunk_size=3))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.chat.composer.set_text("go")
        await pilot.press("enter")
        await wait_idle(app)
        await pilot.pause()
        streamed = app.chat.log_view.query_one(AssistantMessage)
        assert streamed.record.text == REPLY
        fresh = AssistantMessage(AssistantRecord(text=REPLY, done=True))
        await app.chat.log_view.mount(fresh)
        # Blocks far above the view are estimated until the background pass renders them (a
        # loaded machine leaves them estimated longer): compare exact heights.
        await wait_for(lambda: streamed.fully_rendered and fresh.fully_rendered, what="both views rendered")
        await pilot.pause()
        await pilot.pause()
        width = streamed.outer_size.width
        rows = streamed.outer_size.height
        assert fresh.outer_size == streamed.outer_size
        assert streamed.render_lines(Region(0, 0, width, rows)) == fresh.render_lines(Region(0, 0, width, rows))


async def test_the_log_follows_a_paced_stream_to_its_last_line(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    fake_server.script(reply(text=REPLY + "THE-LAST-LINE", chunk_size=8, delay_per_event=0.002))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.chat.composer.set_text("go")
        await pilot.press("enter")
        log = app.chat.log_view
        await wait_for(lambda: log.max_scroll_y > 0, what="a reply taller than the log")
        await wait_idle(app)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y
        assert "THE-LAST-LINE" in "\n".join(line.text for line in app.screen._compositor.render_strips())


async def test_start_up_objects_are_kept_out_of_the_collectors_sight_once_warmed_up(
    app_factory: AppFactory, fake_server: FakeServer
) -> None:
    """A full collection while a reply streams walked every object start-up made (the SDK's
    classes took 100+ ms each, when the SDK was still imported)."""
    gc.unfreeze()
    app = app_factory()
    async with app.run_test(size=SIZE):
        await wait_for(lambda: gc.get_freeze_count() > 0, what="objects frozen after the warm-up")
