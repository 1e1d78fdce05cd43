"""The file tools, each error the model can meet, and atomic writes under real failures."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stoa.core.tools import caps
from stoa.core.tools.base import Effect, ToolContext, ToolError
from tests.unit.tools_harness import REPO, call, call_in_child, can_drop_dac, tool


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(workspace=ws)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_text("top secret\n")
    return out


# ---- effects and schemas ------------------------------------------------------------------


def test_effects_follow_the_contract() -> None:
    expected = {
        "list_directory": Effect.READ,
        "read_file": Effect.READ,
        "write_file": Effect.MUTATE,
        "edit_file": Effect.MUTATE,
        "create_directory": Effect.MUTATE,
        "move_file": Effect.MUTATE,
        "copy_file": Effect.MUTATE,
        "delete_file": Effect.DESTRUCTIVE,
        "delete_directory": Effect.DESTRUCTIVE,
    }
    for name, effect in expected.items():
        assert tool(name).effect is effect, name


def test_argument_names_follow_the_contract() -> None:
    expected = {
        "list_directory": {"path"},
        "read_file": {"path", "offset", "limit"},
        "write_file": {"path", "content", "append"},
        "edit_file": {"path", "old_string", "new_string", "replace_all", "edits"},
        "create_directory": {"path"},
        "move_file": {"source", "destination"},
        "copy_file": {"source", "destination"},
        "delete_file": {"path"},
        "delete_directory": {"path"},
    }
    for name, fields in expected.items():
        schema = tool(name).spec().input_schema
        assert set(schema["properties"]) == fields, name
        for prop in schema["properties"].values():
            assert prop.get("description"), name


def test_missing_and_wrong_typed_arguments(ctx: ToolContext) -> None:
    missing = call("read_file", ctx)
    assert missing.is_error and "path" in missing.text and "Field required" in missing.text
    wrong = call("read_file", ctx, path="a", limit="many")
    assert wrong.is_error and "limit" in wrong.text
    extra = call("read_file", ctx, path="a", file_path="b")
    assert extra.is_error and "file_path" in extra.text
    negative = call("read_file", ctx, path="a", limit=0)
    assert negative.is_error and "limit" in negative.text


@pytest.mark.parametrize("name", ["read_file", "list_directory", "delete_file", "create_directory"])
def test_empty_and_nul_paths(ctx: ToolContext, name: str) -> None:
    empty = call(name, ctx, path="")
    assert empty.is_error and "empty" in empty.text
    nul = call(name, ctx, path="a\x00b")
    assert nul.is_error and "NUL" in nul.text


# ---- list_directory -----------------------------------------------------------------------


def test_list_directory_sorted_marked_sized(ws: Path, ctx: ToolContext, outside: Path) -> None:
    (ws / "b.txt").write_text("hello")
    (ws / "A.md").write_text("x" * 2048)
    (ws / "zdir").mkdir()
    (ws / "adir").mkdir()
    (ws / "link").symlink_to(outside / "secret.txt")
    result = call("list_directory", ctx, path=".")
    lines = result.text.splitlines()
    assert lines[0] == ".: 2 directories, 3 files"
    assert lines[1:3] == ["adir/", "zdir/"]
    assert lines[3] == "A.md  (2.0 KB)"
    assert lines[4] == "b.txt  (5 B)"
    assert lines[5] == f"link -> {outside / 'secret.txt'}"
    assert result.display and result.display["kind"] == "text"


def test_list_directory_caps_the_count(ws: Path, ctx: ToolContext) -> None:
    for i in range(caps.LIST_MAX_ENTRIES + 7):
        (ws / f"f{i:05d}").write_text("")
    result = call("list_directory", ctx, path=".")
    assert "7 more entries not shown" in result.text
    assert len(result.text.splitlines()) == caps.LIST_MAX_ENTRIES + 2


def test_list_directory_errors(ws: Path, ctx: ToolContext) -> None:
    (ws / "file.txt").write_text("x")
    (ws / "empty").mkdir()
    assert "is a file, not a directory; use read_file" in (call("list_directory", ctx, path="file.txt")).text
    missing = call("list_directory", ctx, path="fiel.txt")
    assert missing.is_error and "not found" in missing.text and "file.txt" in missing.text
    assert "(empty directory)" in (call("list_directory", ctx, path="empty")).text


def test_list_directory_quotes_control_characters(ws: Path, ctx: ToolContext) -> None:
    (ws / "new\nline").write_text("")
    result = call("list_directory", ctx, path=".")
    assert '"new\\nline"' in result.text


def test_list_directory_outside_is_flagged(ctx: ToolContext, outside: Path) -> None:
    result = call("list_directory", ctx, path="../outside")
    assert result.accesses[0].outside_workspace and result.accesses[0].scope == "read"
    assert "secret.txt" in result.text


# ---- read_file ----------------------------------------------------------------------------


def test_read_file_numbers_lines(ws: Path, ctx: ToolContext) -> None:
    (ws / "a.py").write_text("one\ntwo\r\nthree\n")
    result = call("read_file", ctx, path="a.py")
    assert result.text == "1\tone\n2\ttwo\n3\tthree"
    assert result.display == {
        "kind": "text",
        "text": "one\ntwo\nthree",
        "language": "python",
        "path": "a.py",
        "first_line": 1,
    }
    assert [a.scope for a in result.accesses] == ["read"]
    assert not result.accesses[0].outside_workspace
    assert result.accesses[0].target == str(ws / "a.py")


def test_read_file_offset_and_limit(ws: Path, ctx: ToolContext) -> None:
    (ws / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    result = call("read_file", ctx, path="n.txt", offset=10, limit=3)
    assert result.text.splitlines()[:3] == ["10\tline 10", "11\tline 11", "12\tline 12"]
    assert "[showing lines 10-12 of 100; call read_file with offset=13 to read more]" in result.text
    tail = call("read_file", ctx, path="n.txt", offset=99)
    assert tail.text == " 99\tline 99\n100\tline 100"
    past = call("read_file", ctx, path="n.txt", offset=500)
    assert past.is_error and "past the end" in past.text and "100 lines" in past.text


def test_read_file_default_limit_and_char_cap(ws: Path, ctx: ToolContext) -> None:
    (ws / "big.txt").write_text("".join(f"{'x' * 60} {i}\n" for i in range(5000)))
    result = call("read_file", ctx, path="big.txt")
    assert len(result.text) <= caps.MODEL_OUTPUT_CHARS
    last = int(result.text.split("call read_file with offset=")[1].split(" ")[0]) - 1
    assert f"\t{'x' * 60} {last - 1}\n" in result.text
    assert "of 5000" in result.text


def test_read_file_long_lines_are_cut_with_a_note(ws: Path, ctx: ToolContext) -> None:
    (ws / "min.js").write_text("a" * (caps.READ_LINE_CHARS + 500) + "\nshort\n")
    result = call("read_file", ctx, path="min.js")
    assert "[500 more characters on this line]" in result.text
    assert "2\tshort" in result.text


def test_read_file_refuses_binary_and_points_to_view_image(ws: Path, ctx: ToolContext) -> None:
    (ws / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    (ws / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    blob = call("read_file", ctx, path="blob.bin")
    assert blob.is_error and "binary file" in blob.text
    pic = call("read_file", ctx, path="pic.png")
    assert pic.is_error and "view_image" in pic.text


def test_read_file_invalid_utf8_is_replaced_with_a_note(ws: Path, ctx: ToolContext) -> None:
    (ws / "latin.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    result = call("read_file", ctx, path="latin.txt")
    assert "caf\ufffd" in result.text and "not valid UTF-8" in result.text


def test_read_file_utf16_with_bom(ws: Path, ctx: ToolContext) -> None:
    (ws / "w.txt").write_bytes("héllo\nwörld\n".encode("utf-16"))
    result = call("read_file", ctx, path="w.txt")
    assert "1\théllo" in result.text and "UTF-16" in result.text


def test_read_file_errors(ws: Path, ctx: ToolContext) -> None:
    (ws / "dir").mkdir()
    (ws / "readme.md").write_text("x")
    assert "is a directory" in (call("read_file", ctx, path="dir")).text
    missing = call("read_file", ctx, path="redme.md")
    assert missing.text == "file not found: redme.md. Did you mean: readme.md?"
    (ws / "empty.txt").write_text("")
    assert "is empty" in (call("read_file", ctx, path="empty.txt")).text


def test_read_file_fifo_is_refused_without_hanging(ws: Path, ctx: ToolContext) -> None:
    os.mkfifo(ws / "pipe")
    result = call("read_file", ctx, path="pipe")
    assert result.is_error and "not a regular file" in result.text


def test_read_file_over_the_size_cap(ws: Path, ctx: ToolContext) -> None:
    line = "0123456789" * 10 + "\n"
    with open(ws / "huge.log", "w") as handle:
        for _ in range(caps.READ_MAX_BYTES // len(line) + 10):
            handle.write(line)
    whole = call("read_file", ctx, path="huge.log")
    assert whole.is_error and "offset and limit" in whole.text and "MB" in whole.text
    part = call("read_file", ctx, path="huge.log", offset=5, limit=2)
    assert not part.is_error
    assert part.text.startswith("5\t0123456789") and "call read_file with offset=7" in part.text


def test_read_file_names_with_spaces_quotes_newlines_unicode(ws: Path, ctx: ToolContext) -> None:
    for name in ["a b.txt", "q'\"uote.txt", "new\nline.txt", "日本語.txt"]:
        (ws / name).write_text(f"content of {name!r}\n")
        result = call("read_file", ctx, path=name)
        assert result.text == f"1\tcontent of {name!r}", name


@pytest.mark.skipif(not can_drop_dac(), reason="needs setpriv to drop root's permission override")
def test_read_file_permission_denied_by_the_os(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "locked.txt").write_text("x")
    (ws / "locked.txt").chmod(0)
    result = call_in_child("read_file", ws, {"path": "locked.txt"}, no_dac=True)
    assert result == {
        "is_error": True,
        "text": "cannot read locked.txt: permission denied by the operating system",
    }


# ---- write_file ---------------------------------------------------------------------------


def test_write_file_creates_with_parents(ws: Path, ctx: ToolContext) -> None:
    result = call("write_file", ctx, path="deep/er/new.txt", content="a\nb\n")
    assert result.text == "Created deep/er/new.txt (2 lines, 4 B)"
    assert (ws / "deep/er/new.txt").read_text() == "a\nb\n"
    assert result.display and result.display["kind"] == "diff" and "+a" in result.display["diff"]
    assert result.accesses[0].scope == "write" and result.accesses[0].effect is Effect.MUTATE
    assert result.accesses[0].preview and "+b" in result.accesses[0].preview
    assert not list(ws.rglob("*.stoa-tmp"))


def test_write_file_overwrite_keeps_mode_and_reports_diff(ws: Path, ctx: ToolContext) -> None:
    script = ws / "run.sh"
    script.write_text("echo old\n")
    script.chmod(0o751)
    result = call("write_file", ctx, path="run.sh", content="echo new\n")
    assert result.text == "Wrote run.sh (1 lines, 9 B, +1 -1 lines)"
    assert stat.S_IMODE(script.stat().st_mode) == 0o751
    assert "-echo old" in result.display["diff"] and "+echo new" in result.display["diff"]


def test_write_file_new_file_uses_umask(ws: Path, ctx: ToolContext) -> None:
    call("write_file", ctx, path="n.txt", content="x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((ws / "n.txt").stat().st_mode) == 0o666 & ~umask


def test_write_file_through_symlink_keeps_the_link(ws: Path, ctx: ToolContext) -> None:
    (ws / "real.txt").write_text("old")
    (ws / "alias.txt").symlink_to("real.txt")
    call("write_file", ctx, path="alias.txt", content="new")
    assert (ws / "alias.txt").is_symlink() and (ws / "real.txt").read_text() == "new"


def test_write_file_append(ws: Path, ctx: ToolContext) -> None:
    (ws / "log.txt").write_text("one\n")
    result = call("write_file", ctx, path="log.txt", content="two\n", append=True)
    assert (ws / "log.txt").read_text() == "one\ntwo\n"
    assert result.text == "Appended 4 B to log.txt (now 2 lines)"
    call("write_file", ctx, path="fresh.txt", content="x", append=True)
    assert (ws / "fresh.txt").read_text() == "x"


def test_write_file_errors(ws: Path, ctx: ToolContext) -> None:
    (ws / "d").mkdir()
    (ws / "f").write_text("x")
    assert "is a directory" in (call("write_file", ctx, path="d", content="x")).text
    parent_file = call("write_file", ctx, path="f/child.txt", content="x")
    assert parent_file.is_error and "is a file, not a directory" in parent_file.text
    slash = call("write_file", ctx, path="newdir/", content="x")
    assert slash.is_error and "names a directory" in slash.text and not (ws / "newdir").exists()
    surrogate = call("write_file", ctx, path="s.txt", content="bad \ud800 char")
    assert surrogate.is_error and "UTF-8" in surrogate.text and not (ws / "s.txt").exists()


def test_write_file_refuses_a_stale_overwrite(ws: Path, ctx: ToolContext) -> None:
    target = ws / "f.txt"
    target.write_text("v1\n")
    call("read_file", ctx, path="f.txt")
    target.write_text("v2 from someone else\n")
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 5_000_000))
    result = call("write_file", ctx, path="f.txt", content="mine\n")
    assert result.is_error and "changed on disk since you last read it" in result.text
    assert target.read_text() == "v2 from someone else\n"


def test_write_outside_the_workspace_is_flagged(ctx: ToolContext, outside: Path) -> None:
    t = tool("write_file")
    args = t.parse_args({"path": "../outside/x.txt", "content": "x"})
    (access,) = t.accesses(args, ctx)
    assert access.outside_workspace and access.target == str(outside / "x.txt")
    assert "outside the workspace" in access.reason


def test_symlink_swap_between_check_and_run_is_refused(ws: Path, ctx: ToolContext, outside: Path) -> None:
    (ws / "inner").mkdir()
    t = tool("write_file")
    args = t.parse_args({"path": "sub/x.txt", "content": "pwned"})
    (ws / "sub").symlink_to(ws / "inner")
    (access,) = t.accesses(args, ctx)
    assert not access.outside_workspace
    (ws / "sub").unlink()
    (ws / "sub").symlink_to(outside)
    with pytest.raises(ToolError, match="now resolves to"):
        asyncio.run(t.run(args, ctx))
    assert not (outside / "x.txt").exists()


def test_write_file_full_disk_keeps_the_original(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "keep.txt").write_text("original\n")
    # A real EFBIG from the kernel: the child may not write files over 64 KB.
    result = call_in_child("write_file", ws, {"path": "keep.txt", "content": "y" * 200_000}, fsize=65_536)
    assert result["is_error"]
    assert (
        result["text"]
        == "cannot write keep.txt: the file would exceed the size limit; keep.txt was not changed"
    )
    assert (ws / "keep.txt").read_text() == "original\n"
    assert not list(ws.glob("*.stoa-tmp")) and not list(ws.glob(".*.stoa-tmp"))


_FULL_DISK_CHILD = r"""
import asyncio, json, sys
from pathlib import Path
from stoa.core.tools.base import ToolContext
from tests.unit.tools_harness import acall

ws = Path(sys.argv[1])
(ws / "keep.txt").write_text("original\n")
(ws / "filler").write_bytes(b"f" * 40_000)
result = asyncio.run(acall("write_file", ToolContext(workspace=ws), path="keep.txt", content="y" * 200_000))
leftovers = sorted(p.name for p in ws.iterdir())
print(json.dumps({"text": result.text, "error": result.is_error, "after": (ws / "keep.txt").read_text(), "files": leftovers}))
"""


def test_write_file_on_a_really_full_disk_keeps_the_original(tmp_path: Path) -> None:
    """A 64 KB tmpfs in a private mount namespace: the write hits ENOSPC for real."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "mount",
            "-t",
            "tmpfs",
            "-o",
            "size=64k",
            "tmpfs",
            str(mount_point),
        ],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(
            f"cannot mount a small tmpfs here (needs mount namespaces): {probe.stderr.decode().strip()}"
        )
    script = (
        f"mount -t tmpfs -o size=64k tmpfs {mount_point} && "
        f'exec "{sys.executable}" -c "$STOA_CHILD" {mount_point}'
    )
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO), STOA_CHILD=_FULL_DISK_CHILD),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    import json

    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["error"]
    assert (
        result["text"]
        == "cannot write keep.txt: the disk is full; free some space and try again; keep.txt was not changed"
    )
    assert result["after"] == "original\n"
    assert result["files"] == ["filler", "keep.txt"]  # no temp file left behind


@pytest.mark.skipif(not can_drop_dac(), reason="needs setpriv to drop root's permission override")
def test_write_file_read_only_directory(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "ro").mkdir(parents=True)
    (ws / "ro" / "f.txt").write_text("original")
    (ws / "ro").chmod(0o555)
    try:
        result = call_in_child("write_file", ws, {"path": "ro/f.txt", "content": "new"}, no_dac=True)
    finally:
        (ws / "ro").chmod(0o755)
    assert result["is_error"] and "permission denied by the operating system" in result["text"]
    assert "ro/f.txt was not changed" in result["text"]
    assert (ws / "ro" / "f.txt").read_text() == "original"


def test_killed_half_way_through_a_write_leaves_the_original(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    target = ws / "data.bin"
    target.write_bytes(b"original")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from stoa.core.tools.files import atomic_write; "
            "atomic_write(Path(sys.argv[1]), b'n' * (768 * 1024 * 1024))",
            str(target),
        ],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    try:
        deadline = time.monotonic() + 30
        partial = None
        while time.monotonic() < deadline and partial is None:
            for candidate in ws.glob(".data.bin.*.stoa-tmp"):
                try:
                    if candidate.stat().st_size > 0:
                        partial = candidate
                except FileNotFoundError:
                    pass
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    assert partial is not None, "the write never started"
    assert child.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"original"
    assert partial.stat().st_size < 768 * 1024 * 1024
    partial.unlink()  # a killed writer cannot clean up after itself; do not keep it in /tmp


# ---- edit_file ----------------------------------------------------------------------------


def test_edit_file_replaces_once_and_returns_a_diff(ws: Path, ctx: ToolContext) -> None:
    (ws / "m.py").write_text("def f():\n    return 1\n\ndef g():\n    return 2\n")
    result = call("edit_file", ctx, path="m.py", old_string="return 2", new_string="return 3")
    assert result.text == "Edited m.py: replaced 1 occurrence at line 5 (+1 -1 lines)"
    assert (ws / "m.py").read_text().endswith("return 3\n")
    assert "-    return 2" in result.display["diff"] and "+    return 3" in result.display["diff"]
    assert [a.scope for a in result.accesses] == ["read", "write"]
    assert "+    return 3" in (result.accesses[1].preview or "")


def test_edit_file_not_found_and_ambiguous(ws: Path, ctx: ToolContext) -> None:
    (ws / "m.py").write_text("x = 1\nx = 1\n")
    missing = call("edit_file", ctx, path="m.py", old_string="y = 2", new_string="y = 3")
    assert missing.is_error and "old_string was not found in m.py" in missing.text
    twice = call("edit_file", ctx, path="m.py", old_string="x = 1", new_string="x = 2")
    assert twice.is_error
    assert (
        "found 2 times in m.py; pass replace_all=true" in twice.text
        and "more surrounding context" in twice.text
    )
    assert (ws / "m.py").read_text() == "x = 1\nx = 1\n"
    every = call("edit_file", ctx, path="m.py", old_string="x = 1", new_string="x = 2", replace_all=True)
    assert "replaced 2 occurrences" in every.text and (ws / "m.py").read_text() == "x = 2\nx = 2\n"


def test_edit_file_whitespace_hint(ws: Path, ctx: ToolContext) -> None:
    (ws / "m.py").write_text("value = 1\n")
    result = call("edit_file", ctx, path="m.py", old_string="  value = 1  ", new_string="value = 2")
    assert result.is_error and "without its leading/trailing whitespace" in result.text


def test_edit_file_same_strings_and_empty_old_string(ws: Path, ctx: ToolContext) -> None:
    (ws / "m.py").write_text("a\n")
    same = call("edit_file", ctx, path="m.py", old_string="a", new_string="a")
    assert same.is_error and "the same" in same.text
    empty = call("edit_file", ctx, path="m.py", old_string="", new_string="b")
    assert empty.is_error and "old_string is empty" in empty.text
    created = call("edit_file", ctx, path="new/file.py", old_string="", new_string="print()\n")
    assert not created.is_error and (ws / "new/file.py").read_text() == "print()\n"
    missing = call("edit_file", ctx, path="nope.py", old_string="x", new_string="y")
    assert missing.is_error and "file not found" in missing.text and "write_file" in missing.text


def test_edit_file_crlf_file_with_lf_old_string(ws: Path, ctx: ToolContext) -> None:
    (ws / "w.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    result = call("edit_file", ctx, path="w.txt", old_string="one\ntwo", new_string="uno\ndos")
    assert not result.is_error, result.text
    assert (ws / "w.txt").read_bytes() == b"uno\r\ndos\r\nthree\r\n"


def test_edit_file_keeps_undecodable_bytes_elsewhere(ws: Path, ctx: ToolContext) -> None:
    (ws / "l.txt").write_bytes(b"caf\xe9\nname = 1\n")
    result = call("edit_file", ctx, path="l.txt", old_string="name = 1", new_string="name = 2")
    assert not result.is_error
    assert (ws / "l.txt").read_bytes() == b"caf\xe9\nname = 2\n"


def test_edit_file_refuses_binary(ws: Path, ctx: ToolContext) -> None:
    (ws / "b.bin").write_bytes(b"abc\x00def")
    result = call("edit_file", ctx, path="b.bin", old_string="abc", new_string="xyz")
    assert result.is_error and "binary" in result.text


def test_edit_file_detects_a_change_on_disk_since_the_read(ws: Path, ctx: ToolContext) -> None:
    target = ws / "c.py"
    target.write_text("a = 1\nb = 2\n")
    call("read_file", ctx, path="c.py")
    target.write_text("a = 1\nb = 2\nc = 3\n")
    stale = call("edit_file", ctx, path="c.py", old_string="a = 1", new_string="a = 10")
    assert stale.is_error and "changed on disk since you last read it" in stale.text
    assert "read it again with read_file" in stale.text
    assert target.read_text() == "a = 1\nb = 2\nc = 3\n"
    call("read_file", ctx, path="c.py")
    fresh = call("edit_file", ctx, path="c.py", old_string="a = 1", new_string="a = 10")
    assert not fresh.is_error
    # Our own edits refresh the stamp: a second edit needs no re-read.
    again = call("edit_file", ctx, path="c.py", old_string="b = 2", new_string="b = 20")
    assert not again.is_error
    assert target.read_text() == "a = 10\nb = 20\nc = 3\n"


def test_edit_file_touched_but_unchanged_is_fine(ws: Path, ctx: ToolContext) -> None:
    target = ws / "t.py"
    target.write_text("a = 1\n")
    call("read_file", ctx, path="t.py")
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10_000_000))
    result = call("edit_file", ctx, path="t.py", old_string="a = 1", new_string="a = 2")
    assert not result.is_error


def test_edit_preview_failure_does_not_leak_before_approval(ws: Path, ctx: ToolContext) -> None:
    (ws / ".env").write_text("TOKEN=abc\n")
    t = tool("edit_file")
    args = t.parse_args({"path": ".env", "old_string": "TOKEN=zzz", "new_string": "x"})
    accesses = t.accesses(args, ctx)  # must not raise "not found": that would reveal content
    assert [a.scope for a in accesses] == ["read", "write"]
    assert accesses[1].preview is None


def test_edit_file_model_text_is_short_but_the_file_gets_everything(ws: Path, ctx: ToolContext) -> None:
    (ws / "big.txt").write_text("START\n")
    huge = "line\n" * 20_000
    result = call("edit_file", ctx, path="big.txt", old_string="START\n", new_string=huge)
    assert len(result.text) < 200
    assert (ws / "big.txt").read_text() == huge


# ---- create_directory ---------------------------------------------------------------------


def test_create_directory(ws: Path, ctx: ToolContext) -> None:
    assert (call("create_directory", ctx, path="a/b/c")).text == "Created directory a/b/c"
    assert (ws / "a/b/c").is_dir()
    assert "already exists" in (call("create_directory", ctx, path="a/b")).text
    (ws / "f").write_text("x")
    clash = call("create_directory", ctx, path="f")
    assert clash.is_error and "is a file" in clash.text


# ---- move_file / copy_file ----------------------------------------------------------------


def test_move_file_rename_and_into_directory(ws: Path, ctx: ToolContext) -> None:
    (ws / "a.txt").write_text("A")
    (ws / "dir").mkdir()
    renamed = call("move_file", ctx, source="a.txt", destination="b.txt")
    assert renamed.text == "Moved a.txt to b.txt" and (ws / "b.txt").read_text() == "A"
    into = call("move_file", ctx, source="b.txt", destination="dir")
    assert into.text == "Moved b.txt to dir/b.txt" and (ws / "dir/b.txt").exists()
    nested = call("move_file", ctx, source="dir/b.txt", destination="x/y/z.txt")
    assert not nested.is_error and (ws / "x/y/z.txt").exists()
    scopes = [(a.scope, a.target) for a in nested.accesses]
    assert ("read", str(ws / "dir/b.txt")) in scopes and ("write", str(ws / "dir/b.txt")) in scopes
    assert ("write", str(ws / "x/y/z.txt")) in scopes


def test_move_file_never_overwrites(ws: Path, ctx: ToolContext) -> None:
    (ws / "a.txt").write_text("A")
    (ws / "b.txt").write_text("B")
    result = call("move_file", ctx, source="a.txt", destination="b.txt")
    assert result.is_error and "already exists" in result.text and "never overwrites" in result.text
    assert (ws / "a.txt").read_text() == "A" and (ws / "b.txt").read_text() == "B"


def test_move_errors(ws: Path, ctx: ToolContext) -> None:
    (ws / "d" / "sub").mkdir(parents=True)
    into_itself = call("move_file", ctx, source="d", destination="d/sub/d2")
    assert into_itself.is_error and "into itself" in into_itself.text
    missing = call("move_file", ctx, source="ghost", destination="x")
    assert missing.is_error and "source not found: ghost" in missing.text
    root = call("move_file", ctx, source=".", destination="elsewhere")
    assert root.is_error and "workspace root" in root.text


def test_move_symlink_moves_the_link(ws: Path, ctx: ToolContext, outside: Path) -> None:
    (ws / "link").symlink_to(outside / "secret.txt")
    result = call("move_file", ctx, source="link", destination="moved")
    assert not result.is_error
    assert (ws / "moved").is_symlink() and (outside / "secret.txt").exists()
    # The link itself is inside the workspace; nothing outside is touched.
    assert not any(a.outside_workspace for a in result.accesses)


def test_move_directory_declares_every_entry_for_deny_rules(ws: Path, ctx: ToolContext) -> None:
    (ws / "secrets").mkdir()
    (ws / "secrets" / "key.pem").write_text("k")
    result = call("move_file", ctx, source="secrets", destination="public")
    assert ("read", str(ws / "secrets" / "key.pem")) in [(a.scope, a.target) for a in result.accesses]


def test_copy_file_and_directory(ws: Path, ctx: ToolContext, outside: Path) -> None:
    (ws / "a.txt").write_text("A")
    (ws / "a.txt").chmod(0o640)
    copied = call("copy_file", ctx, source="a.txt", destination="c.txt")
    assert copied.text == "Copied a.txt to c.txt (1 B)"
    assert stat.S_IMODE((ws / "c.txt").stat().st_mode) == 0o640 and (ws / "a.txt").exists()
    (ws / "tree" / "in").mkdir(parents=True)
    (ws / "tree" / "in" / "f").write_text("f")
    (ws / "tree" / "out").symlink_to(outside)
    tree = call("copy_file", ctx, source="tree", destination="tree2")
    assert "Copied directory tree to tree2" in tree.text
    assert (ws / "tree2/in/f").read_text() == "f"
    assert (ws / "tree2/out").is_symlink()  # links are copied as links, never followed out
    again = call("copy_file", ctx, source="a.txt", destination="c.txt")
    assert again.is_error and "never overwrites" in again.text


def test_copy_reads_the_symlink_target(ws: Path, ctx: ToolContext, outside: Path) -> None:
    (ws / "link").symlink_to(outside / "secret.txt")
    t = tool("copy_file")
    args = t.parse_args({"source": "link", "destination": "stolen.txt"})
    accesses = t.accesses(args, ctx)
    assert accesses[0].scope == "read" and accesses[0].outside_workspace
    assert accesses[0].target == str(outside / "secret.txt")


# ---- delete_file / delete_directory -------------------------------------------------------


def test_delete_file(ws: Path, ctx: ToolContext, outside: Path) -> None:
    (ws / "a.txt").write_text("abc")
    result = call("delete_file", ctx, path="a.txt")
    assert result.text == "Deleted file (3 B) a.txt" and not (ws / "a.txt").exists()
    assert result.accesses[0].effect is Effect.DESTRUCTIVE
    (ws / "link").symlink_to(outside / "secret.txt")
    link = call("delete_file", ctx, path="link")
    assert link.text == "Deleted symlink link"
    assert (outside / "secret.txt").exists()
    assert not link.accesses[0].outside_workspace


def test_delete_file_errors(ws: Path, ctx: ToolContext) -> None:
    (ws / "d").mkdir()
    assert "use delete_directory" in (call("delete_file", ctx, path="d")).text
    assert "file not found" in (call("delete_file", ctx, path="ghost")).text


def test_delete_directory(ws: Path, ctx: ToolContext, outside: Path) -> None:
    (ws / "d" / "e").mkdir(parents=True)
    (ws / "d" / "e" / "f.txt").write_text("x")
    (ws / "d" / "out").symlink_to(outside)
    result = call("delete_directory", ctx, path="d")
    assert result.text == "Deleted directory d (3 entries inside)"
    assert not (ws / "d").exists() and (outside / "secret.txt").exists()
    assert all(a.effect is Effect.DESTRUCTIVE for a in result.accesses)
    assert "3 entries" in (result.accesses[0].preview or "")


def test_delete_directory_refusals(ws: Path, ctx: ToolContext, outside: Path) -> None:
    (ws / "dlink").symlink_to(outside)
    link = call("delete_directory", ctx, path="dlink")
    assert link.is_error and "use delete_file to remove the link" in link.text
    assert outside.exists()
    root = call("delete_directory", ctx, path=".")
    assert root.is_error and "workspace" in root.text and ws.exists()
    parent = call("delete_directory", ctx, path="..")
    assert parent.is_error and ws.exists()
    (ws / "f").write_text("x")
    assert "use delete_file" in (call("delete_directory", ctx, path="f")).text
