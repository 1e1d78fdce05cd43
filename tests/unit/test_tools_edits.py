"""edit_file with several edits: in order, on the evolving text, all or nothing, one write.

Real files in a temporary workspace; the tool is called the way the agent calls it (parse,
accesses, run) by tests/unit/tools_harness.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stoa.core.tools.base import ToolContext
from tests.unit.tools_harness import call, tool


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(workspace=ws)


SOURCE = "def area(r):\n    return 3.14 * r * r\n\n\ndef perimeter(r):\n    return 2 * 3.14 * r\n"


def test_edits_apply_in_order_each_to_the_text_the_previous_left(ws: Path, ctx: ToolContext) -> None:
    (ws / "geo.py").write_text(SOURCE)
    result = call(
        "edit_file",
        ctx,
        path="geo.py",
        edits=[
            {"old_string": "def area(r):", "new_string": "import math\n\n\ndef area(r):"},
            {"old_string": "3.14", "new_string": "math.pi", "replace_all": True},
            # Matches only the text the first edit wrote.
            {"old_string": "import math\n", "new_string": "import math  # for pi\n"},
        ],
    )
    assert not result.is_error, result.text
    assert (ws / "geo.py").read_text() == (
        "import math  # for pi\n\n\ndef area(r):\n    return math.pi * r * r\n\n\n"
        "def perimeter(r):\n    return 2 * math.pi * r\n"
    )
    assert result.text == "Edited geo.py: 3 edits, 4 replacements (+5 -2 lines)"
    assert result.display is not None and "+import math  # for pi" in result.display["diff"]


def test_one_failing_edit_writes_nothing_and_is_named(ws: Path, ctx: ToolContext) -> None:
    target = ws / "geo.py"
    target.write_text(SOURCE)
    before = os.stat(target)
    result = call(
        "edit_file",
        ctx,
        path="geo.py",
        edits=[
            {"old_string": "def area", "new_string": "def surface"},
            {"old_string": "def volume", "new_string": "def capacity"},
            {"old_string": "def perimeter", "new_string": "def girth"},
        ],
    )
    assert result.is_error
    assert result.text.startswith("edits[1] (edit 2 of 3) does not apply: old_string was not found in geo.py")
    assert "Nothing was written" in result.text
    assert target.read_text() == SOURCE
    after = os.stat(target)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize(
    ("edits", "words"),
    [
        ([{"old_string": "3.14", "new_string": "PI"}], "found 2 times"),
        ([{"old_string": "r", "new_string": "r"}], "the same"),
        ([{"old_string": "", "new_string": "x"}], "old_string is empty"),
    ],
)
def test_each_edit_keeps_the_single_edit_rules(ws: Path, ctx: ToolContext, edits: list[dict[str, str]], words: str) -> None:
    (ws / "geo.py").write_text(SOURCE)
    result = call("edit_file", ctx, path="geo.py", edits=[{"old_string": "area", "new_string": "surface"}, *edits])
    assert result.is_error and result.text.startswith("edits[1] (edit 2 of 2)") and words in result.text
    assert (ws / "geo.py").read_text() == SOURCE


def test_an_edit_whose_text_an_earlier_edit_changed_says_so(ws: Path, ctx: ToolContext) -> None:
    (ws / "geo.py").write_text(SOURCE)
    result = call(
        "edit_file",
        ctx,
        path="geo.py",
        edits=[
            {"old_string": "return 3.14 * r * r", "new_string": "return math.pi * r ** 2"},
            {"old_string": "3.14 * r * r", "new_string": "r * r * 3.14"},
        ],
    )
    assert result.is_error and "an earlier edit of this call changed that text" in result.text
    assert (ws / "geo.py").read_text() == SOURCE


def test_a_new_file_from_edits(ws: Path, ctx: ToolContext) -> None:
    result = call(
        "edit_file",
        ctx,
        path="pkg/new.py",
        edits=[{"old_string": "", "new_string": "A = 1\nB = 2\n"}, {"old_string": "B = 2", "new_string": "B = 3"}],
    )
    assert not result.is_error, result.text
    assert (ws / "pkg" / "new.py").read_text() == "A = 1\nB = 3\n"


def test_crlf_files_take_lf_edits(ws: Path, ctx: ToolContext) -> None:
    (ws / "w.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    result = call(
        "edit_file",
        ctx,
        path="w.txt",
        edits=[{"old_string": "one\ntwo", "new_string": "uno\ndos"}, {"old_string": "three", "new_string": "tres"}],
    )
    assert not result.is_error, result.text
    assert (ws / "w.txt").read_bytes() == b"uno\r\ndos\r\ntres\r\n"


def test_a_multi_edit_of_a_file_changed_since_it_was_read_is_refused(ws: Path, ctx: ToolContext) -> None:
    target = ws / "geo.py"
    target.write_text(SOURCE)
    assert not call("read_file", ctx, path="geo.py").is_error
    target.write_text(SOURCE + "# someone else\n")
    result = call("edit_file", ctx, path="geo.py", edits=[{"old_string": "area", "new_string": "surface"}])
    assert result.is_error and "changed on disk since you last read it" in result.text
    assert target.read_text() == SOURCE + "# someone else\n"


def test_the_question_shows_one_diff_of_every_edit(ws: Path, ctx: ToolContext) -> None:
    (ws / "geo.py").write_text(SOURCE)
    t = tool("edit_file")
    args = t.parse_args(
        {
            "path": "geo.py",
            "edits": [
                {"old_string": "def area", "new_string": "def surface"},
                {"old_string": "def perimeter", "new_string": "def girth"},
            ],
        }
    )
    (_read, write) = t.accesses(args, ctx)
    assert write.action == "edit" and write.preview is not None
    assert write.preview.count("--- a/geo.py") == 1
    assert "+def surface(r):" in write.preview and "+def girth(r):" in write.preview
    assert (ws / "geo.py").read_text() == SOURCE  # nothing written by asking


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"path": "geo.py"}, "old_string and new_string missing"),
        ({"path": "geo.py", "old_string": "area"}, "new_string missing"),
        (
            {"path": "geo.py", "old_string": "a", "new_string": "b", "edits": [{"old_string": "c", "new_string": "d"}]},
            "not both",
        ),
        ({"path": "geo.py", "replace_all": True, "edits": [{"old_string": "c", "new_string": "d"}]}, "not both"),
        ({"path": "geo.py", "edits": []}, "edits is empty"),
        ({"path": "geo.py", "edits": [{"old_string": "c"}]}, "edits.0.new_string: Field required"),
        ({"path": "geo.py", "edits": [{"old_string": "c", "new_string": "d", "path": "x"}]}, "edits.0.path"),
    ],
)
def test_the_arguments_take_one_form_or_the_other(ws: Path, ctx: ToolContext, arguments: dict[str, object], words: str) -> None:
    (ws / "geo.py").write_text(SOURCE)
    result = call("edit_file", ctx, **arguments)
    assert result.is_error and result.text.startswith("invalid arguments for edit_file") and words in result.text, result.text
    assert (ws / "geo.py").read_text() == SOURCE


def test_unused_arguments_sent_as_null_or_defaults_are_ignored(ws: Path, ctx: ToolContext) -> None:
    (ws / "geo.py").write_text(SOURCE)
    edits = [{"old_string": "def area", "new_string": "def surface"}]
    first = call("edit_file", ctx, path="geo.py", old_string=None, new_string=None, replace_all=None, edits=edits)
    assert not first.is_error, first.text
    second = call("edit_file", ctx, path="geo.py", old_string="", new_string="", replace_all=False, edits=[
        {"old_string": "def surface", "new_string": "def area"}
    ])
    assert not second.is_error, second.text
    third = call("edit_file", ctx, path="geo.py", old_string="def area", new_string="def zone", edits=None)
    assert not third.is_error, third.text
    assert (ws / "geo.py").read_text().startswith("def zone(r):")


def test_the_schema_tells_the_model_both_forms() -> None:
    schema = tool("edit_file").spec().input_schema
    assert schema["required"] == ["path"]
    edits = schema["properties"]["edits"]
    assert edits["type"] == "array" and edits["minItems"] == 1 and "all or nothing" in edits["description"]
    item = schema["$defs"][edits["items"]["$ref"].rsplit("/", 1)[-1]]
    assert set(item["properties"]) == {"old_string", "new_string", "replace_all"}
    assert item["required"] == ["old_string", "new_string"]
    for name in ("old_string", "new_string"):
        assert "default" not in schema["properties"][name]
    description = tool("edit_file").spec().description
    assert "edits=[" in description and "all or nothing" in description


def test_a_diff_names_a_file_outside_by_its_absolute_path(tmp_path: Path, ctx: ToolContext) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("alpha\n")
    t = tool("edit_file")
    (_read, write) = t.accesses(t.parse_args({"path": str(outside), "old_string": "alpha", "new_string": "beta"}), ctx)
    assert write.preview is not None and write.preview.startswith(f"--- {outside}\n+++ {outside}\n")
