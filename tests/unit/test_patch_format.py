"""The apply_patch format, against the test cases of OpenAI's Codex (codex-rs/apply-patch).

Ported from parser.rs (test_parse_patch, test_parse_patch_lenient, test_parse_one_hunk,
test_update_file_chunk), seek_sequence.rs and lib.rs (the in-memory application cases): the
same inputs, the same expected hunks, texts and error messages. Stoa's extension (several
``@@`` lines in a row) is tested at the end.
"""

from __future__ import annotations

import pytest

from stoa.core.tools.patch import (
    AddFile,
    Chunk,
    ChunkLine,
    DeleteFile,
    PatchApplyError,
    PatchSyntaxError,
    UpdateFile,
    apply_chunks,
    parse_patch,
    seek_sequence,
)


def wrap(body: str) -> str:
    return f"*** Begin Patch\n{body}\n*** End Patch"


def chunk(*lines: str, contexts: tuple[str, ...] = (), eof: bool = False) -> Chunk:
    """A chunk from diff lines (" x", "-x", "+x")."""
    return Chunk(list(contexts), [ChunkLine(line[0], line[1:]) for line in lines], eof)


def syntax_error(text: str) -> PatchSyntaxError:
    with pytest.raises(PatchSyntaxError) as caught:
        parse_patch(text)
    return caught.value


# ---- parser.rs: test_parse_patch ---------------------------------------------------------------


def test_boundaries() -> None:
    assert syntax_error("bad").message == "The first line of the patch must be '*** Begin Patch'"
    assert syntax_error("*** Begin Patch\nbad").message == "The last line of the patch must be '*** End Patch'"


def test_markers_may_carry_whitespace() -> None:
    assert parse_patch("*** Begin Patch \n*** Add File: foo\n+hi\n *** End Patch") == [AddFile("foo", "hi\n")]


def test_an_update_without_chunks_is_an_error_at_its_line() -> None:
    error = syntax_error("*** Begin Patch\n*** Update File: test.py\n*** End Patch")
    assert (error.message, error.line) == ("Update file hunk for path 'test.py' is empty", 2)
    assert str(error) == "invalid patch: line 2: Update file hunk for path 'test.py' is empty"


def test_an_empty_envelope_parses_to_nothing() -> None:
    assert parse_patch("*** Begin Patch\n*** End Patch") == []


def test_every_kind_of_hunk() -> None:
    assert parse_patch(
        wrap(
            "*** Add File: path/add.py\n+abc\n+def\n*** Delete File: path/delete.py\n"
            "*** Update File: path/update.py\n*** Move to: path/update2.py\n@@ def f():\n-    pass\n+    return 123"
        )
    ) == [
        AddFile("path/add.py", "abc\ndef\n"),
        DeleteFile("path/delete.py"),
        UpdateFile("path/update.py", "path/update2.py", [chunk("-    pass", "+    return 123", contexts=("def f():",))]),
    ]


def test_an_update_followed_by_an_add() -> None:
    assert parse_patch(wrap("*** Update File: file.py\n@@\n+line\n*** Add File: other.py\n+content")) == [
        UpdateFile("file.py", None, [chunk("+line")]),
        AddFile("other.py", "content\n"),
    ]


def test_the_first_chunk_may_omit_its_marker() -> None:
    assert parse_patch(wrap("*** Update File: file2.py\n import foo\n+bar")) == [
        UpdateFile("file2.py", None, [chunk(" import foo", "+bar")])
    ]


def test_relative_and_absolute_paths_parse_alike() -> None:
    hunks = parse_patch(wrap("*** Add File: relative-add.py\n+content\n*** Delete File: /tmp/x/absolute-delete.py\n*** Update File: /tmp/x/absolute-update.py\n@@\n-old\n+new"))
    assert [h.path for h in hunks] == ["relative-add.py", "/tmp/x/absolute-delete.py", "/tmp/x/absolute-update.py"]


# ---- parser.rs: test_parse_patch_lenient -------------------------------------------------------

INNER = "*** Begin Patch\n*** Update File: file2.py\n import foo\n+bar\n*** End Patch"
EXPECTED = [UpdateFile("file2.py", None, [chunk(" import foo", "+bar")])]


@pytest.mark.parametrize("start", ["<<EOF", "<<'EOF'", '<<"EOF"'])
def test_a_heredoc_wrapper_is_removed(start: str) -> None:
    assert parse_patch(f"{start}\n{INNER}\nEOF\n") == EXPECTED


def test_mismatched_heredoc_quotes_are_not_removed() -> None:
    error = syntax_error(f"<<\"EOF'\n{INNER}\nEOF\n")
    assert error.message == "The first line of the patch must be '*** Begin Patch'"


def test_a_heredoc_without_the_end_marker_inside() -> None:
    error = syntax_error("<<EOF\n*** Begin Patch\n*** Update File: file2.py\nEOF\n")
    assert error.message == "The last line of the patch must be '*** End Patch'"


# ---- parser.rs: test_parse_one_hunk, test_update_file_chunk --------------------------------------


def test_an_unknown_hunk_header() -> None:
    error = syntax_error(wrap("bad"))
    assert error.message == (
        "'bad' is not a valid hunk header. Valid hunk headers: '*** Add File: {path}', "
        "'*** Delete File: {path}', '*** Update File: {path}'"
    )
    assert error.line == 2


def test_a_second_chunk_needs_its_marker() -> None:
    # The first chunk ends at a line it cannot take; the next must start with @@.
    error = syntax_error(wrap("*** Update File: f\n@@\n-a\nbad"))
    assert error.message == "Expected update hunk to start with a @@ context marker, got: 'bad'"


def test_a_marker_without_lines() -> None:
    error = syntax_error(wrap("*** Update File: f\n@@"))
    assert (error.message, error.line) == ("Update hunk does not contain any lines", 4)
    error = syntax_error(wrap("*** Update File: f\n@@\n*** End of File"))
    assert (error.message, error.line) == ("Update hunk does not contain any lines", 4)


def test_an_unexpected_first_line_in_a_chunk() -> None:
    error = syntax_error(wrap("*** Update File: f\n@@\nbad"))
    assert error.message == (
        "Unexpected line found in update hunk: 'bad'. Every line should start with ' ' (context line), "
        "'+' (added line), or '-' (removed line)"
    )
    assert error.line == 4


def test_a_chunk_with_an_empty_line_context_and_changes() -> None:
    (hunk,) = parse_patch(wrap("*** Update File: f\n@@ change_context\n\n context\n-remove\n+add\n context2"))
    assert isinstance(hunk, UpdateFile)
    (only,) = hunk.chunks
    assert only.contexts == ["change_context"]
    assert only.old_lines == ["", "context", "remove", "context2"]
    assert only.new_lines == ["", "context", "add", "context2"]
    assert not only.end_of_file


def test_end_of_file_marker() -> None:
    (hunk,) = parse_patch(wrap("*** Update File: f\n@@\n+line\n*** End of File"))
    assert isinstance(hunk, UpdateFile) and hunk.chunks == [chunk("+line", eof=True)]


def test_crlf_patches_parse_like_lf_ones() -> None:
    assert parse_patch(INNER.replace("\n", "\r\n")) == EXPECTED


# ---- seek_sequence.rs ------------------------------------------------------------------------


def test_seek_exact() -> None:
    assert seek_sequence(["foo", "bar", "baz"], ["bar", "baz"], 0, False) == 1


def test_seek_ignores_trailing_whitespace() -> None:
    assert seek_sequence(["foo   ", "bar\t\t"], ["foo", "bar"], 0, False) == 0


def test_seek_ignores_surrounding_whitespace() -> None:
    assert seek_sequence(["    foo   ", "   bar\t"], ["foo", "bar"], 0, False) == 0


def test_seek_pattern_longer_than_input() -> None:
    assert seek_sequence(["just one line"], ["too", "many", "lines"], 0, False) is None


def test_seek_prefers_exact_over_loose_and_respects_start() -> None:
    lines = ["x ", "x", "y", "x"]
    assert seek_sequence(lines, ["x"], 0, False) == 1
    assert seek_sequence(lines, ["x"], 2, False) == 3
    assert seek_sequence(lines, ["x"], 0, True) == 3  # end of file: only the end


# ---- lib.rs: applying chunks to text ---------------------------------------------------------


def apply(text: str, body: str) -> str:
    (hunk,) = parse_patch(wrap(body))
    assert isinstance(hunk, UpdateFile)
    return apply_chunks(text, hunk.chunks, "f.txt")


def test_update_modifies_content() -> None:
    assert apply("foo\nbar\n", "*** Update File: f\n@@\n foo\n-bar\n+baz") == "foo\nbaz\n"


def test_multiple_chunks_in_one_file() -> None:
    body = "*** Update File: f\n@@\n foo\n-bar\n+BAR\n@@\n baz\n-qux\n+QUX"
    assert apply("foo\nbar\nbaz\nqux\n", body) == "foo\nBAR\nbaz\nQUX\n"


def test_interleaved_changes_and_end_of_file() -> None:
    body = "*** Update File: f\n@@\n a\n-b\n+B\n@@\n c\n d\n-e\n+E\n@@\n f\n+g\n*** End of File"
    assert apply("a\nb\nc\nd\ne\nf\n", body) == "a\nB\nc\nd\nE\nf\ng\n"


def test_pure_addition_chunk_followed_by_removal() -> None:
    body = "*** Update File: f\n@@\n+after-context\n+second-line\n@@\n line1\n-line2\n-line3\n+line2-replacement"
    assert apply("line1\nline2\nline3\n", body) == "line1\nline2-replacement\nafter-context\nsecond-line\n"


def test_ascii_patch_matches_typographic_punctuation() -> None:
    original = "import asyncio  # local import \u2013 avoids top\u2011level dep\n"
    body = "*** Update File: f\n@@\n-import asyncio  # local import - avoids top-level dep\n+import asyncio  # HELLO"
    assert apply(original, body) == "import asyncio  # HELLO\n"


def test_first_and_last_line_replacements() -> None:
    assert apply("foo\nbar\nbaz\n", "*** Update File: f\n@@\n-foo\n+FOO\n bar\n") == "FOO\nbar\nbaz\n"
    assert apply("foo\nbar\nbaz\n", "*** Update File: f\n@@\n foo\n bar\n-baz\n+BAZ\n") == "foo\nbar\nBAZ\n"


def test_insert_at_end_of_file() -> None:
    assert apply("foo\nbar\nbaz\n", "*** Update File: f\n@@\n+quux\n*** End of File\n") == "foo\nbar\nbaz\nquux\n"


def test_a_trailing_empty_old_line_stands_for_the_final_newline() -> None:
    # The blank line before *** End Patch is an empty context line: the file's end, which is
    # not a line of its own; the chunk is found without it.
    (hunk,) = parse_patch(wrap("*** Update File: f\n@@\n a\n-b\n+B\n"))
    assert isinstance(hunk, UpdateFile) and hunk.chunks[0].old_lines == ["a", "b", ""]
    assert apply_chunks("a\nb\n", hunk.chunks, "f") == "a\nB\n"


def test_an_update_always_ends_with_a_newline() -> None:
    assert apply("no newline at end", "*** Update File: f\n@@\n-no newline at end\n+first line\n+second line") == (
        "first line\nsecond line\n"
    )


def test_context_after_a_context_line() -> None:
    body = "*** Update File: f\n@@ def two():\n-    return 1\n+    return 2"
    text = "def one():\n    return 1\n\ndef two():\n    return 1\n"
    assert apply(text, body) == "def one():\n    return 1\n\ndef two():\n    return 2\n"


def test_missing_lines_and_context_are_named() -> None:
    with pytest.raises(PatchApplyError) as caught:
        apply("line1\nline2\n", "*** Update File: f\n@@\n-missing\n+changed")
    assert str(caught.value) == "Failed to find expected lines in f.txt:\nmissing"
    with pytest.raises(PatchApplyError) as caught:
        apply("line1\nline2\n", "*** Update File: f\n@@ def nowhere():\n-line1\n+x")
    assert str(caught.value) == "Failed to find context 'def nowhere():' in f.txt"


# ---- tests/suite/tool.rs: line endings ---------------------------------------------------------


def test_crlf_is_kept_from_the_target_file() -> None:
    body = "*** Update File: crlf.txt\n@@\n-one\n+uno\n@@\n two\n+\n+between\n three"
    assert apply("one\r\ntwo\r\nthree\r\n", body) == "uno\r\ntwo\r\n\r\nbetween\r\nthree\r\n"


def test_change_order_with_repeated_lines() -> None:
    assert apply("a\nb\n", "*** Update File: f\n@@\n-a\n-b\n+b\n+b\n+a") == "b\nb\na\n"


def test_a_context_line_keeps_its_own_ending() -> None:
    assert apply("same\r\nsame\n", "*** Update File: f\n@@\n-same\n same") == "same\n"


def test_untouched_mixed_line_endings_stay() -> None:
    body = "*** Update File: f\n@@\n one\n two\n-three\n+THREE\n four"
    assert apply("one\r\ntwo\nthree\r\nfour\n", body) == "one\r\ntwo\nTHREE\r\nfour\n"


def test_a_new_final_newline_takes_the_files_ending() -> None:
    assert apply("one\r\ntwo", "*** Update File: f\n@@\n-one\n+ONE") == "ONE\r\ntwo\r\n"


# ---- Stoa's additions ------------------------------------------------------------------------


def test_several_context_markers_narrow_step_by_step() -> None:
    """The nested form Codex's instructions show (class, then method); Codex itself refuses it."""
    text = "class A:\n    def run(self):\n        return 1\n\nclass B:\n    def run(self):\n        return 1\n"
    body = "*** Update File: f\n@@ class B:\n@@     def run(self):\n-        return 1\n+        return 2"
    assert apply(text, body) == text.rsplit("return 1", 1)[0] + "return 2\n"


def test_a_byte_order_mark_is_kept_and_does_not_hide_the_first_line() -> None:
    assert apply("\ufeffone\ntwo\n", "*** Update File: f\n@@\n-one\n+ONE") == "\ufeffONE\ntwo\n"


def test_an_empty_patch_says_what_a_patch_looks_like() -> None:
    assert "the patch is empty" in syntax_error("  \n ").message
