"""The apply_patch tool on real files: Codex's scenario fixtures, then Stoa's own rules.

Codex's codex-rs/apply-patch/tests/fixtures/scenarios (input files, patch.txt, expected files)
are ported as data below and run through the real tool the way the agent calls it (parse,
accesses, run). One scenario deliberately differs: Codex leaves the files an earlier operation
changed when a later one fails (015); Stoa checks every operation first and writes nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stoa.core.models import resolve_model
from stoa.core.tools.base import Effect, ToolContext
from tests.unit.tools_harness import call, call_in_child, can_drop_dac, tool


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(workspace=ws)


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".stoa-tmp" not in p.name
    }


def put(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# name: (input files, patch, expected files, None = success or words of the error)
SCENARIOS: dict[str, tuple[dict[str, str], str, dict[str, str], str | None]] = {
    "001_add_file": (
        {},
        "*** Begin Patch\n*** Add File: bar.md\n+This is a new file\n*** End Patch\n",
        {"bar.md": "This is a new file\n"},
        None,
    ),
    "002_multiple_operations": (
        {"delete.txt": "obsolete\n", "modify.txt": "line1\nline2\n"},
        "*** Begin Patch\n*** Add File: nested/new.txt\n+created\n*** Delete File: delete.txt\n"
        "*** Update File: modify.txt\n@@\n-line2\n+changed\n*** End Patch\n",
        {"modify.txt": "line1\nchanged\n", "nested/new.txt": "created\n"},
        None,
    ),
    "003_multiple_chunks": (
        {"multi.txt": "line1\nline2\nline3\nline4\n"},
        "*** Begin Patch\n*** Update File: multi.txt\n@@\n-line2\n+changed2\n@@\n-line4\n+changed4\n*** End Patch\n",
        {"multi.txt": "line1\nchanged2\nline3\nchanged4\n"},
        None,
    ),
    "004_move_to_new_directory": (
        {"old/name.txt": "old content\n", "old/other.txt": "unrelated file\n"},
        "*** Begin Patch\n*** Update File: old/name.txt\n*** Move to: renamed/dir/name.txt\n@@\n-old content\n"
        "+new content\n*** End Patch\n",
        {"old/other.txt": "unrelated file\n", "renamed/dir/name.txt": "new content\n"},
        None,
    ),
    "005_rejects_empty_patch": (
        {"foo.txt": "stable\n"},
        "*** Begin Patch\n*** End Patch\n",
        {"foo.txt": "stable\n"},
        "No files were modified",
    ),
    "006_rejects_missing_context": (
        {"modify.txt": "line1\nline2\n"},
        "*** Begin Patch\n*** Update File: modify.txt\n@@\n-missing\n+changed\n*** End Patch\n",
        {"modify.txt": "line1\nline2\n"},
        "Failed to find expected lines in modify.txt:\nmissing",
    ),
    "007_rejects_missing_file_delete": (
        {"foo.txt": "stable\n"},
        "*** Begin Patch\n*** Delete File: missing.txt\n*** End Patch\n",
        {"foo.txt": "stable\n"},
        "cannot delete missing.txt: it does not exist",
    ),
    "008_rejects_empty_update_hunk": (
        {"foo.txt": "stable\n"},
        "*** Begin Patch\n*** Update File: foo.txt\n*** End Patch\n",
        {"foo.txt": "stable\n"},
        "invalid patch: line 2: Update file hunk for path 'foo.txt' is empty",
    ),
    "009_requires_existing_file_for_update": (
        {"foo.txt": "stable\n"},
        "*** Begin Patch\n*** Update File: missing.txt\n@@\n-old\n+new\n*** End Patch\n",
        {"foo.txt": "stable\n"},
        "cannot update missing.txt: it does not exist",
    ),
    "010_move_overwrites_existing_destination": (
        {"old/name.txt": "from\n", "old/other.txt": "unrelated file\n", "renamed/dir/name.txt": "existing\n"},
        "*** Begin Patch\n*** Update File: old/name.txt\n*** Move to: renamed/dir/name.txt\n@@\n-from\n+new\n*** End Patch\n",
        {"old/other.txt": "unrelated file\n", "renamed/dir/name.txt": "new\n"},
        None,
    ),
    "011_add_overwrites_existing_file": (
        {"duplicate.txt": "old content\n"},
        "*** Begin Patch\n*** Add File: duplicate.txt\n+new content\n*** End Patch\n",
        {"duplicate.txt": "new content\n"},
        None,
    ),
    "012_delete_directory_fails": (
        {"dir/foo.txt": "stable\n"},
        "*** Begin Patch\n*** Delete File: dir\n*** End Patch\n",
        {"dir/foo.txt": "stable\n"},
        "dir is a directory",
    ),
    "013_rejects_invalid_hunk_header": (
        {"foo.txt": "stable\n"},
        "*** Begin Patch\n*** Frobnicate File: foo\n*** End Patch\n",
        {"foo.txt": "stable\n"},
        "'*** Frobnicate File: foo' is not a valid hunk header",
    ),
    "014_update_file_appends_trailing_newline": (
        {"no_newline.txt": "no newline at end"},
        "*** Begin Patch\n*** Update File: no_newline.txt\n@@\n-no newline at end\n+first line\n+second line\n*** End Patch\n",
        {"no_newline.txt": "first line\nsecond line\n"},
        None,
    ),
    # Codex keeps created.txt here; Stoa checks every operation before writing any.
    "015_failure_after_partial_success_writes_nothing": (
        {},
        "*** Begin Patch\n*** Add File: created.txt\n+hello\n*** Update File: missing.txt\n@@\n-old\n+new\n*** End Patch\n",
        {},
        "cannot update missing.txt: it does not exist",
    ),
    "016_pure_addition_update_chunk": (
        {"input.txt": "line1\nline2\n"},
        "*** Begin Patch\n*** Update File: input.txt\n@@\n+added line 1\n+added line 2\n*** End Patch\n",
        {"input.txt": "line1\nline2\nadded line 1\nadded line 2\n"},
        None,
    ),
    "017_whitespace_padded_hunk_header": (
        {"foo.txt": "old\n"},
        "*** Begin Patch\n  *** Update File: foo.txt\n@@\n-old\n+new\n*** End Patch\n",
        {"foo.txt": "new\n"},
        None,
    ),
    "018_whitespace_padded_patch_markers": (
        {"file.txt": "one\n"},
        " *** Begin Patch\n*** Update File: file.txt\n@@\n-one\n+two\n*** End Patch \n",
        {"file.txt": "two\n"},
        None,
    ),
    "019_unicode_simple": (
        {"foo.txt": "line1\nnaïve café\nline3\n"},
        "*** Begin Patch\n*** Update File: foo.txt\n@@\n line1\n-naïve café\n+naïve café ✅\n*** End Patch \n",
        {"foo.txt": "line1\nnaïve café ✅\nline3\n"},
        None,
    ),
    "020_delete_file_success": (
        {"keep.txt": "keep\n", "obsolete.txt": "obsolete\n"},
        "*** Begin Patch\n*** Delete File: obsolete.txt\n*** End Patch\n",
        {"keep.txt": "keep\n"},
        None,
    ),
    "020_whitespace_padded_patch_marker_lines": (
        {"file.txt": "one\n"},
        "*** Begin Patch \n*** Update File: file.txt\n@@\n-one\n+two\n *** End Patch\n",
        {"file.txt": "two\n"},
        None,
    ),
    "021_update_file_deletion_only": (
        {"lines.txt": "line1\nline2\nline3\n"},
        "*** Begin Patch\n*** Update File: lines.txt\n@@\n line1\n-line2\n line3\n*** End Patch\n",
        {"lines.txt": "line1\nline3\n"},
        None,
    ),
    "022_update_file_end_of_file_marker": (
        {"tail.txt": "first\nsecond\n"},
        "*** Begin Patch\n*** Update File: tail.txt\n@@\n first\n-second\n+second updated\n*** End of File\n*** End Patch\n",
        {"tail.txt": "first\nsecond updated\n"},
        None,
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_codex_scenarios(ws: Path, ctx: ToolContext, name: str) -> None:
    given, patch, expected, error = SCENARIOS[name]
    put(ws, given)
    result = call("apply_patch", ctx, patch=patch)
    if error is None:
        assert not result.is_error, result.text
        assert result.text.startswith("Success. Updated the following files:\n")
    else:
        assert result.is_error and error in result.text, result.text
        assert "nothing was changed" in result.text.lower() or result.text.startswith("No files were modified")
    assert tree(ws) == expected


def test_the_report_lists_added_modified_deleted_as_codex_does(ws: Path, ctx: ToolContext) -> None:
    put(ws, SCENARIOS["002_multiple_operations"][0])
    result = call("apply_patch", ctx, patch=SCENARIOS["002_multiple_operations"][1])
    assert result.text == "Success. Updated the following files:\nA nested/new.txt\nM modify.txt\nD delete.txt"


def test_crlf_and_bytes_are_kept_on_disk(ws: Path, ctx: ToolContext) -> None:
    (ws / "crlf.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    patch = "*** Begin Patch\n*** Update File: crlf.txt\n@@\n-one\n+uno\n@@\n two\n+\n+between\n three\n*** End Patch"
    assert not call("apply_patch", ctx, patch=patch).is_error
    assert (ws / "crlf.txt").read_bytes() == b"uno\r\ntwo\r\n\r\nbetween\r\nthree\r\n"
    (ws / "latin.txt").write_bytes(b"caf\xe9\nkeep\n")
    patch = "*** Begin Patch\n*** Update File: latin.txt\n@@\n-keep\n+kept\n*** End Patch"
    assert not call("apply_patch", ctx, patch=patch).is_error
    assert (ws / "latin.txt").read_bytes() == b"caf\xe9\nkept\n"


# ---- all or nothing ----------------------------------------------------------------------------


def test_a_failing_chunk_in_the_last_file_leaves_every_file_as_it_was(ws: Path, ctx: ToolContext) -> None:
    put(ws, {"a.py": "A = 1\n", "b.py": "B = 1\n", "gone.txt": "bye\n"})
    before = tree(ws)
    patch = (
        "*** Begin Patch\n*** Update File: a.py\n@@\n-A = 1\n+A = 2\n*** Delete File: gone.txt\n"
        "*** Add File: new/c.py\n+C = 1\n*** Update File: b.py\n@@\n-B = 9\n+B = 2\n*** End Patch"
    )
    result = call("apply_patch", ctx, patch=patch)
    assert result.is_error
    assert result.text.startswith("hunk 4 (*** Update File: b.py): Failed to find expected lines in b.py")
    assert tree(ws) == before and not (ws / "new").exists()


def test_operations_see_the_ones_before_them(ws: Path, ctx: ToolContext) -> None:
    patch = (
        "*** Begin Patch\n*** Add File: n.txt\n+one\n+two\n*** Update File: n.txt\n@@\n-two\n+TWO\n"
        "*** Update File: n.txt\n*** Move to: m.txt\n@@\n one\n+three\n*** End Patch"
    )
    result = call("apply_patch", ctx, patch=patch)
    assert not result.is_error, result.text
    assert tree(ws) == {"m.txt": "one\nthree\nTWO\n"}


@pytest.mark.skipif(not can_drop_dac(), reason="needs setpriv to drop root's permission override")
def test_a_delete_refused_by_the_os_after_the_writes_restores_them(tmp_path: Path) -> None:
    """The writes are renamed into place first; then the delete fails (its directory is
    read-only, and root's override is dropped in the child): the written files are put back."""
    ws = tmp_path / "ws"
    (ws / "locked").mkdir(parents=True)
    (ws / "a.txt").write_text("a\n")
    (ws / "locked" / "gone.txt").write_text("stay\n")
    (ws / "locked").chmod(0o555)
    try:
        patch = (
            "*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+A\n*** Add File: fresh/new.txt\n+new\n"
            "*** Delete File: locked/gone.txt\n*** End Patch"
        )
        result = call_in_child("apply_patch", ws, {"patch": patch}, no_dac=True)
    finally:
        (ws / "locked").chmod(0o755)
    assert result["is_error"] and "permission denied" in result["text"], result
    assert "the files changed before it were restored" in result["text"]
    assert tree(ws) == {"a.txt": "a\n", "locked/gone.txt": "stay\n"}
    assert not (ws / "fresh").exists()


def test_a_full_disk_changes_nothing(tmp_path: Path) -> None:
    """A file size limit (RLIMIT_FSIZE) in a child process makes the second staged write fail."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "small.txt").write_text("a\n")
    (ws / "big.txt").write_text("b\n")
    huge = "+" + "x" * 1000 + "\n"
    patch = (
        "*** Begin Patch\n*** Update File: small.txt\n@@\n-a\n+A\n*** Add File: big.txt\n"
        + huge * 100
        + "*** End Patch"
    )
    result = call_in_child("apply_patch", ws, {"patch": patch}, fsize=50_000)
    assert result["is_error"], result
    assert "nothing was changed" in result["text"], result["text"]
    assert result["text"].startswith("cannot write big.txt: the file would exceed the size limit")
    assert (ws / "small.txt").read_text() == "a\n" and (ws / "big.txt").read_text() == "b\n"
    assert [p.name for p in ws.iterdir() if ".stoa-tmp" in p.name] == []


# ---- the same checks as the other file tools ---------------------------------------------------


def test_a_file_changed_since_it_was_read_is_refused(ws: Path, ctx: ToolContext) -> None:
    (ws / "f.py").write_text("x = 1\n")
    assert not call("read_file", ctx, path="f.py").is_error
    (ws / "f.py").write_text("x = 1\ny = 2\n")
    result = call("apply_patch", ctx, patch="*** Begin Patch\n*** Update File: f.py\n@@\n-x = 1\n+x = 3\n*** End Patch")
    assert result.is_error and "changed on disk since you last read it" in result.text
    assert (ws / "f.py").read_text() == "x = 1\ny = 2\n"


def test_after_a_patch_the_next_one_needs_no_new_read(ws: Path, ctx: ToolContext) -> None:
    (ws / "f.py").write_text("x = 1\n")
    call("read_file", ctx, path="f.py")
    first = call("apply_patch", ctx, patch="*** Begin Patch\n*** Update File: f.py\n@@\n-x = 1\n+x = 2\n*** End Patch")
    second = call("apply_patch", ctx, patch="*** Begin Patch\n*** Update File: f.py\n@@\n-x = 2\n+x = 3\n*** End Patch")
    assert not first.is_error and not second.is_error, (first.text, second.text)


def test_modes_are_kept_and_a_move_keeps_its_source_mode(ws: Path, ctx: ToolContext) -> None:
    script = ws / "run.sh"
    script.write_text("echo hi\n")
    script.chmod(0o755)
    patch = "*** Begin Patch\n*** Update File: run.sh\n*** Move to: bin/run.sh\n@@\n-echo hi\n+echo hello\n*** End Patch"
    assert not call("apply_patch", ctx, patch=patch).is_error
    assert stat.S_IMODE(os.stat(ws / "bin" / "run.sh").st_mode) == 0o755


def test_a_new_file_under_a_file_is_refused_before_writing(ws: Path, ctx: ToolContext) -> None:
    put(ws, {"notes.txt": "n\n", "a.txt": "a\n"})
    patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+A\n*** Add File: notes.txt/sub.txt\n+x\n*** End Patch"
    result = call("apply_patch", ctx, patch=patch)
    assert result.is_error and "hunk 2 (*** Add File: notes.txt/sub.txt)" in result.text and "not a directory" in result.text
    assert tree(ws) == {"notes.txt": "n\n", "a.txt": "a\n"}


def test_binary_files_are_not_updated(ws: Path, ctx: ToolContext) -> None:
    (ws / "b.bin").write_bytes(b"\x00\x01abc\n")
    result = call("apply_patch", ctx, patch="*** Begin Patch\n*** Update File: b.bin\n@@\n-abc\n+xyz\n*** End Patch")
    assert result.is_error and "b.bin is a binary file; apply_patch edits text files only" in result.text


def test_a_symlinked_file_is_deleted_only_with_delete_file(ws: Path, ctx: ToolContext) -> None:
    (ws / "real.txt").write_text("real\n")
    (ws / "link.txt").symlink_to(ws / "real.txt")
    result = call("apply_patch", ctx, patch="*** Begin Patch\n*** Delete File: link.txt\n*** End Patch")
    assert result.is_error and "symlink" in result.text
    assert (ws / "link.txt").is_symlink() and (ws / "real.txt").read_text() == "real\n"


def test_every_path_is_an_access_and_deletes_are_destructive(ws: Path, ctx: ToolContext) -> None:
    put(ws, {"u.py": "u\n", "d.txt": "d\n"})
    t = tool("apply_patch")
    patch = (
        "*** Begin Patch\n*** Add File: a.txt\n+a\n*** Update File: u.py\n*** Move to: v.py\n@@\n-u\n+U\n"
        "*** Delete File: d.txt\n*** Add File: ../outside.txt\n+x\n*** End Patch"
    )
    args = t.parse_args({"patch": patch})
    accesses = t.accesses(args, ctx)
    seen = [(a.scope, os.path.basename(a.target), a.effect, a.outside_workspace) for a in accesses]
    assert seen == [
        ("write", "a.txt", Effect.MUTATE, False),
        ("read", "u.py", Effect.READ, False),
        ("write", "u.py", Effect.MUTATE, False),
        ("write", "v.py", Effect.MUTATE, False),
        ("write", "d.txt", Effect.DESTRUCTIVE, False),
        ("write", "outside.txt", Effect.MUTATE, True),
    ]
    assert all(a.action == "patch" for a in accesses if a.scope == "write")
    assert t.effect_for(args, ctx) is Effect.DESTRUCTIVE
    assert t.effect_for(t.parse_args({"patch": "*** Begin Patch\n*** Add File: x\n+x\n*** End Patch"}), ctx) is Effect.MUTATE
    # The question shows the whole patch as one diff; asking wrote nothing.
    preview = next(a.preview for a in accesses if a.preview)
    for header in ("+++ b/a.txt", "--- a/u.py\n+++ b/v.py", "--- a/d.txt\n+++ /dev/null"):
        assert header in preview, preview
    assert tree(ws) == {"u.py": "u\n", "d.txt": "d\n"}


def test_a_patch_that_does_not_parse_is_refused_before_any_access(ws: Path, ctx: ToolContext) -> None:
    result = call("apply_patch", ctx, patch="*** Update File: x\n@@\n-a\n+b")
    assert result.is_error
    assert result.text.startswith("invalid patch: The first line of the patch must be '*** Begin Patch'")
    assert result.accesses == []


def test_offered_to_the_models_trained_on_it() -> None:
    from stoa.core.tools.registry import default_registry

    registry = default_registry()
    offered = {m: {t.name for t in registry.offered("auto", resolve_model(*m))} for m in [
        ("gpt-5.5", None), ("claude-sonnet-4-6", None), ("qwen3:8b", "ollama"), ("gpt-oss:20b", "ollama"),
        ("openai/gpt-5.1", "openrouter"), ("anthropic/claude-sonnet-4.5", "openrouter"),
    ]}
    with_patch = {m[0] for m, names in offered.items() if "apply_patch" in names}
    assert with_patch == {"gpt-5.5", "gpt-oss:20b", "openai/gpt-5.1"}
    assert all("edit_file" in names for names in offered.values())
    assert "apply_patch" not in {t.name for t in registry.offered("plan", resolve_model("gpt-5.5"))}


def test_odd_paths_are_judged_where_they_really_lead(tmp_path: Path, ws: Path, ctx: ToolContext) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.txt").write_text("t\n")
    (ws / "out").symlink_to(outside)
    (ws / "link.txt").symlink_to(outside / "target.txt")
    t = tool("apply_patch")
    patch = (
        "*** Begin Patch\n*** Add File: out/planted.txt\n+x\n*** Update File: link.txt\n@@\n-t\n+T\n"
        "*** Update File: ./a/../link.txt\n*** Move to: ~/moved.txt\n@@\n-T\n+U\n*** End Patch"
    )
    accesses = t.accesses(t.parse_args({"patch": patch}), ctx)
    writes = [(a.target, a.outside_workspace) for a in accesses if a.scope == "write"]
    assert writes[:2] == [(str(outside / "planted.txt"), True), (str(outside / "target.txt"), True)]
    assert all(outside for _, outside in writes)
    nul = call("apply_patch", ctx, patch="*** Begin Patch\n*** Add File: a\x00b\n+x\n*** End Patch")
    assert nul.is_error and "NUL" in nul.text and nul.accesses == []
