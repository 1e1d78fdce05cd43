"""Thinking and tools from the keyboard: Ctrl+O unfolds thinking folds with the tool calls; Tab
reaches each tool row and thinking fold, Enter opens and closes it; a finished edit shows the
first lines of its diff under its folded row. The fake provider server answers."""

from __future__ import annotations

from pathlib import Path

from stoa.widgets.messages import ThinkingMessage
from stoa.widgets.records import ThinkingRecord, ToolRecord
from stoa.widgets.tool_call import DIFF_PEEK_LINES, ToolCallView
from tests.fake_server import FakeServer, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, wait_for, wait_idle


def records_of(app, kind):  # type: ignore[no-untyped-def]
    return [r for r in app.chat.log_view.records if isinstance(r, kind)]


async def test_ctrl_o_and_tab_reach_thinking_and_tools(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("one\n")
    fake_server.script(
        reply(thinking="First I think.\nThen more.", tool_calls=[tool_call("read_file", {"path": "a.txt"})]),
        reply(text="Done."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"go", "enter")
        await wait_idle(app)
        thinking = records_of(app, ThinkingRecord)[0]
        tool = records_of(app, ToolRecord)[0]
        assert thinking.done and not thinking.expanded and not tool.expanded
        await pilot.press("ctrl+o")
        assert thinking.expanded and tool.expanded
        await pilot.press("ctrl+o")
        assert not thinking.expanded and not tool.expanded
        fold = app.chat.log_view.widget_of(thinking)
        row = app.chat.log_view.widget_of(tool)
        assert isinstance(fold, ThinkingMessage) and isinstance(row, ToolCallView)
        fold.focus()
        await pilot.press("enter")
        assert thinking.expanded
        await pilot.press("tab")
        assert app.focused is row
        await pilot.press("enter")
        assert tool.expanded
        await pilot.press("x")  # typing goes back to the composer
        assert app.chat.composer.text == "x"


async def test_a_finished_edit_peeks_at_its_diff(
    app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    old = "".join(f"line {n}\n" for n in range(40))
    (workspace / "big.txt").write_text(old)
    new = old.replace("line ", "LINE ")
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "big.txt"})]),
        reply(tool_calls=[tool_call("write_file", {"path": "big.txt", "content": new})]),
        reply(text="Shouted."),
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"shout", "enter")
        await wait_idle(app)
        write = next(r for r in records_of(app, ToolRecord) if r.name == "write_file")
        row = app.chat.log_view.widget_of(write)
        assert isinstance(row, ToolCallView) and row.has_class("-peek") and not write.expanded
        await wait_for(lambda: row._body is not None and row._body.region.height > 0, what="the peek")
        assert row._body is not None and row._body.region.height == DIFF_PEEK_LINES
        row.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert row._body.region.height > DIFF_PEEK_LINES
