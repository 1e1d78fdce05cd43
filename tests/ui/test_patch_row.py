"""An apply_patch call in the chat log: the patch shows as a diff while it waits or runs, the
diff of what it changed once done."""

from __future__ import annotations

from rich.style import Style
from textual.app import App, ComposeResult

from stoa.widgets.diff_view import DiffView, render_diff
from stoa.widgets.records import ToolRecord
from stoa.widgets.tool_call import ToolCallView

PATCH = """*** Begin Patch
*** Update File: src/app.py
@@ def greet():
-    print("Hi")
+    print("Hello")
*** Add File: docs/notes.md
+# Notes
*** End Patch"""

DONE_DIFF = """--- a/src/app.py
+++ b/src/app.py
@@ -1,2 +1,2 @@
 def greet():
-    print("Hi")
+    print("Hello")
--- /dev/null
+++ b/docs/notes.md
@@ -0,0 +1 @@
+# Notes
"""


class RowApp(App[None]):
    def __init__(self, record: ToolRecord) -> None:
        super().__init__()
        self.animation_level = "none"
        self.view = ToolCallView(record, clock=lambda: 5.0)

    def compose(self) -> ComposeResult:
        yield self.view


def test_a_patch_renders_as_a_diff_without_line_numbers() -> None:
    added, removed, hunk = Style(color="green"), Style(color="red"), Style(color="blue")
    text = render_diff(PATCH, added=added, removed=removed, hunk=hunk, gutter=Style(), numbers=False)
    assert text.plain.splitlines() == PATCH.splitlines()
    styles = {text.plain[span.start : span.end].rstrip("\n"): span.style for span in text.spans}
    assert styles['+    print("Hello")'] == added and styles['-    print("Hi")'] == removed
    assert styles["*** Update File: src/app.py"] == hunk and styles["@@ def greet():"] == hunk


async def test_the_row_shows_the_patch_while_it_waits_then_the_changes() -> None:
    record = ToolRecord(
        call_id="p1",
        name="apply_patch",
        arguments={"patch": PATCH},
        summary="src/app.py, +docs/notes.md",
        started_at=1.0,
        awaiting_approval=True,
    )
    app = RowApp(record)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.view
        await pilot.pause()
        row = str(view._row.render())
        assert "apply_patch" in row and "src/app.py, +docs/notes.md" in row
        assert "+2 −1" in row and "waiting for your approval" in row
        body = view.query_one(DiffView)
        assert body.diff == PATCH and not body.numbers
        view.set_expanded(True)
        await pilot.pause()
        assert '+    print("Hello")' in str(body.render())

        await view.finish(
            status="ok",
            result_text="Success. Updated the following files:\nA docs/notes.md\nM src/app.py",
            display={"kind": "diff", "diff": DONE_DIFF, "path": "apply_patch"},
            elapsed=0.2,
        )
        await pilot.pause()
        done = view.query_one(DiffView)
        assert done.diff == DONE_DIFF and done.numbers
        assert "+2 −1" in str(view._row.render())
