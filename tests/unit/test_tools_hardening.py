"""Unit cases for what the end-to-end red team (tests/integration/test_tools_redteam.py) found:
nothing that runs before approval may block or read without bound, and odd input gives a tool
error the model can act on instead of an exception."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.tools.base import ToolContext, ToolError
from stoa.core.tools.web import check_url
from tests.unit.tools_harness import REPO, call, call_in_child, can_drop_dac, context_for, tool


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "README.md").write_text("# readme\n")
    (root / "src").mkdir()
    (root / "src" / "a.py").write_text("print('a')\n")
    return root


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(workspace=ws)


# ---- nothing before approval blocks on, or reads without end from, a special file ---------------

_ACCESSES_CHILD = r"""
import json, sys
from pathlib import Path
from stoa.core.tools.registry import default_registry
from stoa.core.tools.base import ToolContext, ToolError
name, ws, raw = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
t = default_registry().get(name)
ctx = ToolContext(workspace=Path(ws))
try:
    accesses = t.accesses(t.parse_args(raw), ctx)
    print(json.dumps({"previews": [a.preview for a in accesses]}))
except ToolError as exc:
    print(json.dumps({"error": str(exc)}))
"""


def _accesses_in_child(name: str, ws: Path, arguments: dict[str, object]) -> dict[str, object]:
    """``accesses`` in a fresh interpreter with a memory cap and a timeout: a read of /dev/zero
    fails on the cap instead of eating the machine, a FIFO read hits the timeout."""

    def limits() -> None:
        cap = 1 << 30
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    done = subprocess.run(
        [sys.executable, "-c", _ACCESSES_CHILD, name, str(ws), json.dumps(arguments)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        cwd=REPO,
        preexec_fn=limits,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/urandom"])
def test_edit_and_write_previews_never_read_special_files(ws: Path, special: str) -> None:
    os.mkfifo(ws / "fifo")
    edit = _accesses_in_child("edit_file", ws, {"path": special, "old_string": "a", "new_string": "b"})
    assert edit == {"previews": [None, None]}
    write = _accesses_in_child("write_file", ws, {"path": special, "content": "x"})
    assert write == {"previews": [None]}


def test_special_files_are_named_in_the_error(ws: Path, ctx: ToolContext) -> None:
    os.mkfifo(ws / "pipe")
    result = call("read_file", ctx, path="pipe")
    assert result.is_error and "FIFO (named pipe)" in result.text
    result = call("search_code", ctx, pattern="x", path="pipe")
    assert result.is_error and "not a regular file or directory" in result.text
    result = call("edit_file", ctx, path="pipe", old_string="a", new_string="b")
    assert result.is_error and "not a regular file" in result.text


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_device_nodes_in_the_workspace_are_refused(ws: Path, ctx: ToolContext) -> None:
    try:
        os.mknod(ws / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    except OSError as exc:
        pytest.skip(f"this file system refuses device nodes ({exc.strerror})")
    for name, args in [
        ("read_file", {"path": "zero"}),
        ("view_image", {"source": "zero"}),
        ("copy_file", {"source": "zero", "destination": "z2"}),
        ("search_code", {"pattern": "x", "path": "zero"}),
    ]:
        result = call(name, ctx, **args)
        assert result.is_error and ("device" in result.text or "not a regular file" in result.text), (
            name,
            result.text,
        )
    assert not (ws / "z2").exists()


# ---- names and paths --------------------------------------------------------------------------


def test_names_longer_than_the_file_system_allows(ctx: ToolContext) -> None:
    for name, args in [
        ("read_file", {"path": "a" * 256}),
        ("write_file", {"path": "d/" + "b" * 300 + ".txt", "content": "x"}),
        ("create_directory", {"path": "é" * 200}),  # 400 bytes in UTF-8
        ("list_directory", {"path": "c" * 1000}),
    ]:
        result = call(name, ctx, **args)
        assert result.is_error and "too long" in result.text, (name, result.text)
    result = call("read_file", ctx, path="/".join(["d" * 100] * 50))
    assert result.is_error and "limit of a path" in result.text
    assert call("write_file", ctx, path="a" * 255, content="ok").is_error is False


def test_a_trailing_slash_names_a_directory(ws: Path, ctx: ToolContext) -> None:
    for name, args in [
        ("read_file", {"path": "README.md/"}),
        ("search_code", {"pattern": "readme", "path": "README.md/"}),
        ("list_directory", {"path": "README.md/."}),
        ("view_image", {"source": "README.md/"}),
    ]:
        result = call(name, ctx, **args)
        assert result.is_error and "trailing '/'" in result.text, (name, result.text)
    assert not call("list_directory", ctx, path="src/").is_error
    assert not call("glob_files", ctx, pattern="*.py", path="src/").is_error


def test_symlink_loop_is_named(ws: Path, ctx: ToolContext) -> None:
    (ws / "loop_a").symlink_to("loop_b")
    (ws / "loop_b").symlink_to("loop_a")
    result = call("read_file", ctx, path="loop_a")
    assert result.is_error and "symbolic links" in result.text


@pytest.mark.skipif(
    not can_drop_dac(), reason="as root, file permissions only bite without CAP_DAC_OVERRIDE (setpriv)"
)
def test_permission_denied_is_not_reported_as_missing(ws: Path) -> None:
    closed = ws / "closed"
    closed.mkdir()
    (closed / "inside.txt").write_text("x\n")
    readonly = ws / "readonly"
    readonly.mkdir()
    closed.chmod(0o000)
    readonly.chmod(0o555)
    try:
        read = call_in_child("read_file", ws, {"path": "closed/inside.txt"}, no_dac=True)
        copy = call_in_child(
            "copy_file", ws, {"source": "README.md", "destination": "readonly/r.md"}, no_dac=True
        )
        glob = call_in_child("glob_files", ws, {"pattern": "*", "path": "closed"}, no_dac=True)
        search = call_in_child("search_code", ws, {"pattern": "x", "path": "closed"}, no_dac=True)
    finally:
        closed.chmod(0o755)
        readonly.chmod(0o755)
    for result in (read, copy, glob, search):
        assert result["is_error"] and "permission denied" in result["text"], result
    assert os.listdir(readonly) == []


# ---- move / copy of the workspace itself --------------------------------------------------------


@pytest.mark.parametrize("name", ["move_file", "copy_file"])
@pytest.mark.parametrize("source", [".", "..", "src/.."])
def test_the_workspace_or_a_parent_cannot_be_moved_or_copied(
    ctx: ToolContext, name: str, source: str
) -> None:
    t = tool(name)
    with pytest.raises(ToolError, match="workspace root or contains it"):
        t.accesses(t.parse_args({"source": source, "destination": "elsewhere"}), ctx)


# ---- deny rules over search results --------------------------------------------------------------


def test_glob_files_leaves_out_denied_files(tmp_path: Path, ws: Path) -> None:
    (ws / ".env").write_text("TOKEN=1\n")
    (ws / "secrets").mkdir()
    (ws / "secrets" / "key.pem").write_text("k\n")
    (ws / ".stoa").mkdir()
    (ws / ".stoa" / "config.toml").write_text(
        '[permissions]\ndeny = ["Read(./.env)", "Read(./secrets/**)"]\n'
    )
    config = load_config(ws, env={"STOA_HOME": str(tmp_path / "home")})
    ctx = context_for(config)
    everything = call("glob_files", ctx, pattern="**/*").text
    assert "src/a.py" in everything and "README.md" in everything
    assert ".env" not in everything and "key.pem" not in everything
    assert "No files match" in call("glob_files", ctx, pattern="*.pem").text
    # The pure-Python walk filters the same way.
    from stoa.core.tools.search import GlobFiles

    fallback = GlobFiles(rg=None)
    import asyncio

    output = asyncio.run(fallback.run(fallback.parse_args({"pattern": "**/*"}), ctx)).text_content
    assert "src/a.py" in output and ".env" not in output and "key.pem" not in output


# ---- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://[::1/", "not a valid URL"),
        ("http://[::1]x/", "not a valid URL"),
        ("http://0177.0.0.1/", "not a valid URL"),
        ("http://exa\x7fmple.com/", "control characters"),
        ("http://[not-an-ip]/", "not a valid URL"),
    ],
)
def test_malformed_urls_are_tool_errors(url: str, needle: str) -> None:
    with pytest.raises(ToolError, match=needle):
        check_url(url)


def test_malformed_url_through_the_tool(ctx: ToolContext) -> None:
    for name, args in [
        ("web_fetch", {"url": "http://[::1/"}),
        ("view_image", {"source": "https://[::1/x.png"}),
    ]:
        result = call(name, ctx, **args)
        assert result.is_error and "not a valid URL" in result.text, result.text


# ---- deny rules naming a directory ---------------------------------------------------------------


def test_deny_rule_naming_a_directory_covers_its_contents(tmp_path: Path) -> None:
    from stoa.core.permissions.rules import RuleSet, parse_rule

    ws = tmp_path / "ws"
    (ws / "secrets").mkdir(parents=True)
    rules = RuleSet()
    rules.add("deny", parse_rule("Read(./secrets)", workspace=ws))
    rules.add("ask", parse_rule("Write(./build/)", workspace=ws))
    rules.add("allow", parse_rule("Read(./docs)", workspace=ws))
    root = str(ws.resolve())
    assert rules.match_path(f"{root}/secrets", write=False)[0] == "deny"  # type: ignore[index]
    assert rules.match_path(f"{root}/secrets/a/b.txt", write=False)[0] == "deny"  # type: ignore[index]
    assert rules.match_path(f"{root}/secrets/a/b.txt", write=True)[0] == "deny"  # type: ignore[index]
    assert rules.match_path(f"{root}/secrets-other", write=False) is None
    assert rules.match_path(f"{root}/build/x.o", write=True)[0] == "ask"  # type: ignore[index]
    # Allow rules are not widened.
    assert rules.match_path(f"{root}/docs", write=False)[0] == "allow"  # type: ignore[index]
    assert rules.match_path(f"{root}/docs/x.md", write=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://127.1/a.png",
        "http://2130706433/a.png",
        "http://0x7f000001/a.png",
        "http://[::1]/a.png",
        "http://[::ffff:169.254.169.254]/a.png",
        "https://169.254.169.254/a.png",
        "http://10.1.2.3/a.png",
    ],
)
def test_view_image_never_hands_a_private_address_to_the_provider(ctx: ToolContext, url: str) -> None:
    result = call("view_image", ctx, source=url)
    assert result.is_error and "public addresses" in result.text


def test_view_image_urls_of_names_and_public_addresses_pass(ctx: ToolContext) -> None:
    for url in ("https://example.com/a.png", "http://93.184.216.34/a.png"):
        result = call("view_image", ctx, source=url)
        assert not result.is_error and "provider fetches it" in result.text


# ---- lone surrogates ------------------------------------------------------------------------------


def test_lone_surrogates_are_argument_errors(ctx: ToolContext) -> None:
    from stoa.core.providers.convert import parse_tool_arguments

    value, error = parse_tool_arguments('{"path": "\\ud800.txt"}')
    assert value == {} and error is not None and "not valid Unicode" in error
    assert parse_tool_arguments('{"path": "\\ud83d\\ude00.txt"}') == ({"path": "\U0001f600.txt"}, None)
    for name, args in [
        ("glob_files", {"pattern": "\ud800"}),
        ("search_code", {"pattern": "a\udcff"}),
        ("search_code", {"pattern": "a", "glob": "\ud800"}),
    ]:
        result = call(name, ctx, **args)
        assert result.is_error and "not valid Unicode" in result.text, (name, result.text)


def test_large_file_paging_does_not_pad_memory_by_offset(ws: Path, ctx: ToolContext) -> None:
    big = ws / "many.log"
    with big.open("w") as handle:
        for n in range(1, 2_300_001):
            handle.write(f"{n}\n")  # ~16 MB, over the read cap: read by streaming
    result = call("read_file", ctx, path="many.log", offset=2_200_000, limit=2)
    assert not result.is_error and result.text.startswith("2200000\t2200000\n2200001\t2200001")
    result = call("read_file", ctx, path="many.log", offset=10**15, limit=1)
    assert result.is_error and "past the end" in result.text and "2300000 lines" in result.text


def test_rewriting_a_setuid_file_drops_the_setuid_bits(ws: Path, ctx: ToolContext) -> None:
    target = ws / "tool.sh"
    target.write_text("#!/bin/sh\necho hi\n")
    target.chmod(0o6755)
    result = call("write_file", ctx, path="tool.sh", content="#!/bin/sh\necho changed\n")
    assert not result.is_error, result.text
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see where a descriptor leads")
def test_a_parent_swapped_between_check_and_open_is_refused(ws: Path, tmp_path: Path) -> None:
    """read_regular is given the canonical path that was checked; if a directory on it has
    become a symlink by the time it is opened, the descriptor leads elsewhere: refused."""
    from stoa.core.tools.files import read_regular

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "f.txt").write_text("outside\n")
    checked = ws / "sub" / "f.txt"
    (ws / "sub").symlink_to(elsewhere)  # the swap, already done
    with pytest.raises(ToolError, match="changed while it was being opened"):
        read_regular(checked, "sub/f.txt")
    (ws / "sub").unlink()
    (ws / "sub").mkdir()
    checked.write_text("inside\n")
    assert read_regular(checked, "sub/f.txt")[0] == b"inside\n"
