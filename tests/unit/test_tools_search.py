"""glob_files and search_code, on ripgrep and on the pure-Python fallback (same output)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.tools import caps
from stoa.core.tools.base import ToolContext
from stoa.core.tools.rg import find_rg
from stoa.core.tools.search import GlobFiles, GlobRule, SearchCode, split_pattern
from tests.unit.tools_harness import Call, context_for
from tests.unit.tools_harness import call as run_call

RG = find_rg()
ENGINES = ["rg", "python"]


def _tools(engine: str) -> tuple[GlobFiles, SearchCode]:
    if engine == "rg":
        if RG is None:
            pytest.skip("the ripgrep binary is not installed")
        return GlobFiles(rg=RG), SearchCode(rg=RG)
    return GlobFiles(rg=None), SearchCode(rg=None)


def _run(tool: GlobFiles | SearchCode, ctx: ToolContext, **arguments: object) -> Call:
    import asyncio

    from stoa.core.tools.base import ToolError, ToolOutput

    async def go() -> Call:
        try:
            args = tool.parse_args(arguments)
            accesses = tool.accesses(args, ctx)
            return Call(await tool.run(args, ctx), accesses)
        except ToolError as exc:
            return Call(ToolOutput.error(str(exc)))

    return asyncio.run(go())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    files = {
        "src/app.py": "import os\n\ndef main():\n    print('Hello')\n",
        "src/util/helpers.py": "def helper():\n    return 'hello world'\n",
        "src/util/notes.md": "# Notes\nhello there\n",
        "src/web/index.ts": "export const hello = 1;\n",
        "README.md": "Hello readme\n",
        ".github/workflow.yml": "name: hello\n",
        "build/out.txt": "hello build\n",
        "logs/keep.log": "hello kept\n",
        "logs/drop.log": "hello dropped\n",
        "node_modules/pkg/index.js": "hello from node\n",
        ".venv/lib/site.py": "hello venv\n",
        "target/debug/x.rs": "hello target\n",
        "src/__pycache__/app.cpython-311.pyc": "hello pyc\n",
        "weird name.txt": "hello spaces\n",
        "colon:name.txt": "hello colon\n",
        "ünï.txt": "hello unicode\n",
        "crlf.txt": "first\r\nhello crlf\r\n",
    }
    for rel, text in files.items():
        path = ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (ws / ".gitignore").write_text("build/\nlogs/*.log\n!logs/keep.log\n")
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text("hello git\n")
    (ws / "bin.dat").write_bytes(b"hello\x00binary")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("hello secret\n")
    (ws / "linked").symlink_to(outside)
    # Deterministic modification times: a higher number is newer.
    for index, path in enumerate(sorted(p for p in ws.rglob("*") if p.is_file() and not p.is_symlink())):
        os.utime(path, (1_600_000_000 + index, 1_600_000_000 + index))
    return ws


def _paths(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("[")]


# ---- glob_files ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_glob_any_depth_skips_ignored_noise_and_links(tree: Path, engine: str) -> None:
    glob, _ = _tools(engine)
    ctx = ToolContext(workspace=tree)
    result = _run(glob, ctx, pattern="*.py")
    assert sorted(_paths(result.text)) == ["src/app.py", "src/util/helpers.py"]
    assert result.text.endswith("[2 files, newest first]")
    assert result.accesses[0].scope == "read" and result.accesses[0].target == str(tree)


@pytest.mark.parametrize("engine", ENGINES)
def test_glob_anchored_patterns_and_literal_prefix(tree: Path, engine: str) -> None:
    glob, _ = _tools(engine)
    ctx = ToolContext(workspace=tree)
    assert _paths(_run(glob, ctx, pattern="src/*.py").text) == ["src/app.py"]
    assert sorted(_paths(_run(glob, ctx, pattern="src/**/*.py").text)) == [
        "src/app.py",
        "src/util/helpers.py",
    ]
    assert _paths(_run(glob, ctx, pattern="./src/web/index.ts").text) == ["src/web/index.ts"]
    assert sorted(_paths(_run(glob, ctx, pattern="*.{md,ts}").text)) == [
        "README.md",
        "src/util/notes.md",
        "src/web/index.ts",
    ]
    assert _paths(_run(glob, ctx, pattern="*.py", path="src/util").text) == ["src/util/helpers.py"]
    absolute = _run(glob, ctx, pattern=str(tree / "src" / "util" / "*.md"))
    assert _paths(absolute.text) == ["src/util/notes.md"]
    assert absolute.accesses[0].target == str(tree / "src" / "util")


@pytest.mark.parametrize("engine", ENGINES)
def test_glob_honours_gitignore_with_negation_and_shows_hidden(tree: Path, engine: str) -> None:
    glob, _ = _tools(engine)
    ctx = ToolContext(workspace=tree)
    everything = _paths(_run(glob, ctx, pattern="**").text)
    assert "logs/keep.log" in everything and "logs/drop.log" not in everything
    assert "build/out.txt" not in everything
    assert ".github/workflow.yml" in everything and ".gitignore" in everything
    for noise in (".git/", "node_modules/", ".venv/", "target/", "__pycache__/", "linked/"):
        assert not any(noise in p for p in everything), noise
    assert "weird name.txt" in everything and "colon:name.txt" in everything and "ünï.txt" in everything


@pytest.mark.parametrize("engine", ENGINES)
def test_glob_noise_directories_when_asked(tree: Path, engine: str) -> None:
    glob, _ = _tools(engine)
    ctx = ToolContext(workspace=tree)
    assert _paths(_run(glob, ctx, pattern="node_modules/**/*.js").text) == ["node_modules/pkg/index.js"]
    assert _paths(_run(glob, ctx, pattern="*.py", path=".venv").text) == [".venv/lib/site.py"]


@pytest.mark.parametrize("engine", ENGINES)
def test_glob_newest_first(tree: Path, engine: str) -> None:
    glob, _ = _tools(engine)
    ctx = ToolContext(workspace=tree)
    os.utime(tree / "src/util/helpers.py", (1_900_000_000, 1_900_000_000))
    os.utime(tree / "src/app.py", (1_800_000_000, 1_800_000_000))
    assert _paths(_run(glob, ctx, pattern="*.py").text) == ["src/util/helpers.py", "src/app.py"]
    os.utime(tree / "src/app.py", (2_000_000_000, 2_000_000_000))
    assert _paths(_run(glob, ctx, pattern="*.py").text) == ["src/app.py", "src/util/helpers.py"]


@pytest.mark.parametrize("engine", ENGINES)
def test_glob_caps_the_count(tmp_path: Path, engine: str) -> None:
    glob, _ = _tools(engine)
    for i in range(caps.GLOB_MAX_RESULTS + 5):
        (tmp_path / f"f{i:04d}.txt").write_text("")
    result = _run(glob, ToolContext(workspace=tmp_path), pattern="*.txt")
    assert len(_paths(result.text)) == caps.GLOB_MAX_RESULTS
    assert f"[showing {caps.GLOB_MAX_RESULTS} of {caps.GLOB_MAX_RESULTS + 5:,} files" in result.text


@pytest.mark.parametrize("engine", ENGINES)
def test_glob_errors(tree: Path, engine: str) -> None:
    glob, _ = _tools(engine)
    ctx = ToolContext(workspace=tree)
    assert "pattern is empty" in _run(glob, ctx, pattern=" ").text
    assert "directory not found" in _run(glob, ctx, pattern="*.py", path="nope").text
    assert "is a file" in _run(glob, ctx, pattern="*", path="README.md").text
    assert _run(glob, ctx, pattern="*.zig").text == "No files match '*.zig' in .."


def test_glob_outside_the_workspace_is_flagged(tree: Path) -> None:
    glob, _ = _tools("python")
    result = _run(glob, ToolContext(workspace=tree), pattern="*.py", path="../outside")
    assert result.accesses[0].outside_workspace
    assert _paths(result.text) == [str(tree.parent / "outside" / "secret.py")]


def test_rg_and_python_globs_agree(tree: Path) -> None:
    if RG is None:
        pytest.skip("the ripgrep binary is not installed")
    ctx = ToolContext(workspace=tree)
    for pattern in [
        "**",
        "*.py",
        "src/**",
        "*.txt",
        "**/*.md",
        "logs/*",
        "s*/**/*.py",
        "*.[mt][ds]",
        ".github/*",
    ]:
        a = _run(GlobFiles(rg=RG), ctx, pattern=pattern).text
        b = _run(GlobFiles(rg=None), ctx, pattern=pattern).text
        assert a == b, pattern


def test_split_pattern() -> None:
    assert split_pattern("*.py") == ("", "*.py")
    assert split_pattern("src/*.py") == ("src", "/*.py")
    assert split_pattern("src/app/**/*.py") == ("src/app", "/**/*.py")
    assert split_pattern("./src/main.py") == ("src", "/main.py")
    assert split_pattern("/abs/dir/*.c") == ("/abs/dir", "/*.c")
    assert split_pattern("**/x") == ("", "/**/x")


def test_glob_rule_semantics() -> None:
    rule = GlobRule.parse("*.py")
    assert rule is not None and rule.matches("a/b/c.py", False) and not rule.matches("a/b/c.pyc", False)
    anchored = GlobRule.parse("src/*.py")
    assert (
        anchored is not None
        and anchored.matches("src/a.py", False)
        and not anchored.matches("src/x/a.py", False)
    )
    dir_only = GlobRule.parse("build/")
    assert dir_only is not None and dir_only.matches("build", True) and not dir_only.matches("build", False)
    klass = GlobRule.parse("[!a]?.txt")
    assert klass is not None and klass.matches("bx.txt", False) and not klass.matches("ax.txt", False)


# ---- search_code --------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_search_groups_by_file_with_line_numbers(tree: Path, engine: str) -> None:
    _, search = _tools(engine)
    result = _run(search, ToolContext(workspace=tree), pattern="hello")
    text = result.text
    assert "src/util/helpers.py\n2:    return 'hello world'" in text
    assert "crlf.txt\n2:hello crlf" in text
    assert "colon:name.txt\n1:hello colon" in text and "weird name.txt\n1:hello spaces" in text
    for hidden in (
        "hello build",
        "hello dropped",
        "hello from node",
        "hello venv",
        "hello git",
        "binary",
        "secret",
    ):
        assert hidden not in text, hidden
    assert "logs/keep.log\n1:hello kept" in text
    assert "Hello" not in text  # case-sensitive by default
    assert text.endswith("[9 matches in 9 files]")
    assert result.display and result.display["kind"] == "text"


@pytest.mark.parametrize("engine", ENGINES)
def test_search_options(tree: Path, engine: str) -> None:
    _, search = _tools(engine)
    ctx = ToolContext(workspace=tree)
    insensitive = _run(search, ctx, pattern="hello", case_insensitive=True, glob="*.py").text
    assert "src/app.py\n4:    print('Hello')" in insensitive and "README" not in insensitive
    excluded = _run(search, ctx, pattern="hello", glob="!*.txt").text
    assert "crlf.txt" not in excluded and "src/web/index.ts" in excluded
    ignored = _run(search, ctx, pattern="hello", include_ignored=True).text
    assert "hello build" in ignored and "hello from node" in ignored and "hello dropped" in ignored
    assert "hello git" not in ignored
    one_file = _run(search, ctx, pattern="def", path="src/app.py").text
    assert one_file.startswith("src/app.py\n3:def main():")
    regex = _run(search, ctx, pattern=r"def \w+\(\)").text
    assert "3:def main():" in regex and "1:def helper():" in regex


@pytest.mark.parametrize("engine", ENGINES)
def test_search_errors_and_empty_results(tree: Path, engine: str) -> None:
    _, search = _tools(engine)
    ctx = ToolContext(workspace=tree)
    bad = _run(search, ctx, pattern="foo(")
    assert bad.is_error and "invalid regular expression" in bad.text and "escape" in bad.text
    assert "path not found" in _run(search, ctx, pattern="x", path="missing").text
    assert _run(search, ctx, pattern="zzzz_nothing").text == "No matches for 'zzzz_nothing' in .."
    assert "pattern is empty" in _run(search, ctx, pattern="").text
    dash = _run(search, ctx, pattern="-n")
    assert not dash.is_error  # a pattern that looks like an option is still a pattern


@pytest.mark.parametrize("engine", ENGINES)
def test_search_caps_matches_and_long_lines(tmp_path: Path, engine: str) -> None:
    _, search = _tools(engine)
    (tmp_path / "many.txt").write_text("".join(f"match {i}\n" for i in range(caps.SEARCH_MAX_MATCHES * 3)))
    (tmp_path / "long.txt").write_text("needle" + "x" * 5000 + "\n")
    ctx = ToolContext(workspace=tmp_path)
    many = _run(search, ctx, pattern="match").text
    assert f"[showing the first {caps.SEARCH_MAX_MATCHES} matches; there are more" in many
    assert len(many) <= caps.MODEL_OUTPUT_CHARS
    long = _run(search, ctx, pattern="needle").text
    assert "omitted end of long line" in long and len(long) < 1000


def test_rg_and_python_searches_agree(tree: Path) -> None:
    if RG is None:
        pytest.skip("the ripgrep binary is not installed")
    ctx = ToolContext(workspace=tree)
    cases = [
        {"pattern": "hello"},
        {"pattern": "hello", "include_ignored": True},
        {"pattern": "HELLO", "case_insensitive": True},
        {"pattern": "hello", "glob": "src/**"},
        {"pattern": "^def", "path": "src"},
    ]
    for case in cases:
        a = _run(SearchCode(rg=RG), ctx, **case).text
        b = _run(SearchCode(rg=None), ctx, **case).text
        assert a == b, case


@pytest.mark.parametrize("engine", ENGINES)
def test_search_skips_files_a_deny_rule_protects(tmp_path: Path, engine: str) -> None:
    _, search = _tools(engine)
    ws = tmp_path / "proj"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".stoa" / "config.toml").write_text(
        '[permissions]\ndeny = ["Read(./.env)", "Read(./secrets/**)"]\n'
    )
    (ws / ".env").write_text("API_TOKEN=sk-live-123\n")
    (ws / "secrets").mkdir()
    (ws / "secrets" / "k.txt").write_text("API_TOKEN=other\n")
    (ws / "app.py").write_text("token = os.environ['API_TOKEN']\n")
    config = load_config(ws, env={"STOA_HOME": str(tmp_path / "home")})
    result = _run(search, context_for(config), pattern="API_TOKEN")
    assert "sk-live" not in result.text and "other" not in result.text
    assert "app.py" in result.text


def test_find_rg_uses_the_wheel_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOA_RG", raising=False)
    found = find_rg()
    assert found is not None and os.access(found, os.X_OK)
    monkeypatch.setenv("STOA_RG", "none")
    assert find_rg() is None


def test_registry_tools_fall_back_without_rg(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOA_RG", "none")
    result = run_call("search_code", ToolContext(workspace=tree), pattern="hello world")
    assert result.text.startswith("src/util/helpers.py\n2:")


@pytest.mark.parametrize("engine", ENGINES)
def test_searches_stop_at_the_time_limit(tree: Path, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    glob, search = _tools(engine)
    monkeypatch.setattr(caps, "SEARCH_TIMEOUT", 0.0)
    ctx = ToolContext(workspace=tree)
    listed = _run(glob, ctx, pattern="**")
    assert (
        listed.is_error
        and "glob_files was stopped after 0 s" in listed.text
        and "narrower path" in listed.text
    )
    found = _run(search, ctx, pattern="hello")
    assert not found.is_error and "the search was stopped after 0 s" in found.text


def _slow_rg(tmp_path: Path) -> tuple[str, Path]:
    """A stand-in for rg (a real process) that lists one file, then never ends its output."""
    pid_file = tmp_path / "rg.pid"
    script = tmp_path / "slow-rg"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nprintf 'src/app.py\\0'\nexec sleep 1000\n")
    script.chmod(0o755)
    return str(script), pid_file


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_glob_that_runs_out_of_time_stops_rg(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rg, pid_file = _slow_rg(tmp_path)
    monkeypatch.setattr(caps, "SEARCH_TIMEOUT", 0.5)
    listed = _run(GlobFiles(rg=rg), ToolContext(workspace=tree), pattern="**/*.py")
    assert listed.is_error and "glob_files was stopped after" in listed.text
    assert not _alive(int(pid_file.read_text()))


def test_a_cancelled_glob_stops_rg(tree: Path, tmp_path: Path) -> None:
    import asyncio

    rg, pid_file = _slow_rg(tmp_path)
    tool = GlobFiles(rg=rg)

    async def go() -> None:
        args = tool.parse_args({"pattern": "**/*.py"})
        task = asyncio.ensure_future(tool.run(args, ToolContext(workspace=tree)))
        for _ in range(500):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert not _alive(int(pid_file.read_text()))
