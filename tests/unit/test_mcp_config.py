"""[mcp-servers.NAME] parsing: layers (local over project over global), validation per entry
with file and reason, environment expansion, and the names tools are offered under."""

from __future__ import annotations

from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.mcp.config import (
    EntryError,
    describe_problems,
    expand_env,
    parse_mcp_config,
)
from stoa.core.mcp.tool import RejectedTool, normalize_schema, prefixed_name


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def config_for(tmp_path: Path, workspace: Path, **env: str):
    return load_config(workspace, env={"STOA_HOME": str(tmp_path / "home"), "HOME": str(tmp_path), **env})


def test_layers_local_over_project_over_global(tmp_path: Path, workspace: Path) -> None:
    write(
        tmp_path / "home" / "config.toml",
        '[mcp-servers.a]\ncommand = "global-a"\n[mcp-servers.g]\nurl = "https://g.example/mcp"\n',
    )
    write(workspace / ".stoa" / "config.toml", '[mcp-servers.a]\ncommand = "project-a"\nargs = ["-x"]\n')
    write(workspace / ".stoa" / "config.local.toml", '[mcp-servers.a]\ncommand = "local-a"\n')
    mcp = parse_mcp_config(config_for(tmp_path, workspace))
    assert set(mcp.servers) == {"a", "g"}
    a = mcp.servers["a"]
    # The whole entry is replaced, not merged: the project's args do not leak into local's.
    assert (a.command, a.args) == ("local-a", ())
    assert a.source == workspace / ".stoa" / "config.local.toml"
    assert mcp.servers["g"].transport == "http"
    assert a.cwd == workspace  # stdio servers run in the workspace by default


def test_invalid_entries_are_reported_with_file_and_reason_and_skipped(tmp_path: Path, workspace: Path) -> None:
    path = write(
        workspace / ".stoa" / "config.toml",
        """
[mcp-servers.ok]
command = "srv"
[mcp-servers.both]
command = "x"
url = "https://x"
[mcp-servers.neither]
args = ["x"]
[mcp-servers.badargs]
command = "x"
args = "--flag"
[mcp-servers.badurl]
url = "ftp://x"
[mcp-servers.badmode]
command = "x"
safe_mode = "yolo"
[mcp-servers.badtimeout]
command = "x"
tool_timeout_seconds = -1
[mcp-servers."has space"]
command = "x"
[mcp-servers.a___b]
command = "x"
[mcp-servers.typo]
command = "x"
comand = "y"
""",
    )
    mcp = parse_mcp_config(config_for(tmp_path, workspace))
    assert set(mcp.servers) == {"ok", "typo"}
    reasons = {name: b.reason for name, b in mcp.broken.items()}
    assert "exactly one of command" in reasons["both"] and "exactly one of command" in reasons["neither"]
    assert "args must be a list of strings" in reasons["badargs"]
    assert "not an http:// or https:// address" in reasons["badurl"]
    assert "safe_mode must be one of disabled, read_only, allow" in reasons["badmode"]
    assert "positive number of seconds" in reasons["badtimeout"]
    assert "letters, digits" in reasons["has space"]
    assert "'___'" in reasons["a___b"]
    problems = describe_problems(mcp)
    assert all(str(path) in line for line in problems)
    line = path.read_text().splitlines().index('comand = "y"') + 1
    assert f"{path}:{line}: unknown key in [mcp-servers.typo] 'comand' (did you mean 'command'?); it is ignored" in problems


def test_a_key_of_the_other_transport_is_named_as_such(tmp_path: Path, workspace: Path) -> None:
    write(
        workspace / ".stoa" / "config.toml",
        '[mcp-servers.local]\ncommand = "srv"\nheaders = { A = "b" }\n[mcp-servers.remote]\n'
        'url = "https://x.example/mcp"\nenv = { A = "b" }\n',
    )
    problems = describe_problems(parse_mcp_config(config_for(tmp_path, workspace)))
    assert any("[mcp-servers.local] headers only applies to url (HTTP) servers" in p for p in problems), problems
    assert any("[mcp-servers.remote] env only applies to command (stdio) servers" in p for p in problems), problems


def test_environment_expansion(tmp_path: Path, workspace: Path) -> None:
    write(
        workspace / ".stoa" / "config.toml",
        """
[mcp-servers.gh]
url = "https://api.example/${REGION:-eu}/mcp"
headers = { Authorization = "Bearer ${GITHUB_TOKEN}" }
[mcp-servers.local]
command = "${TOOLS}/server"
args = ["--token", "${GITHUB_TOKEN}"]
env = { API_KEY = "${GITHUB_TOKEN}" }
[mcp-servers.missing]
command = "x"
env = { KEY = "${NOT_SET}" }
""",
    )
    mcp = parse_mcp_config(config_for(tmp_path, workspace, GITHUB_TOKEN="t0k", TOOLS="/opt/tools"))
    gh = mcp.servers["gh"]
    assert gh.url == "https://api.example/eu/mcp"
    assert gh.headers == {"Authorization": "Bearer t0k"}
    local = mcp.servers["local"]
    assert local.command == "/opt/tools/server" and local.args == ("--token", "t0k")
    assert local.env == {"API_KEY": "t0k"}
    assert "NOT_SET is not set" in mcp.broken["missing"].reason
    # The display target never includes header secrets.
    assert "t0k" not in gh.target


def test_expand_env_rules() -> None:
    assert expand_env("${A}-${B:-dflt}", {"A": "1"}) == "1-dflt"
    assert expand_env("${A:-dflt}", {"A": ""}) == "dflt"
    assert expand_env("${A}", {"A": ""}) == ""
    assert expand_env("$HOME stays", {}) == "$HOME stays"
    with pytest.raises(EntryError, match="B is not set"):
        expand_env("${B}", {})


def test_section_that_is_not_a_table(tmp_path: Path, workspace: Path) -> None:
    write(workspace / ".stoa" / "config.toml", 'mcp-servers = "nope"\n')
    mcp = parse_mcp_config(config_for(tmp_path, workspace))
    assert not mcp.servers and any("must be a table of servers" in w for w in mcp.warnings)


def test_tool_options(tmp_path: Path, workspace: Path) -> None:
    write(
        workspace / ".stoa" / "config.toml",
        """
[mcp-servers.s]
command = "x"
enabled_tools = ["a", "b"]
disabled_tools = ["b"]
startup_timeout_seconds = 5
tool_timeout_seconds = 7.5
safe_mode = "read_only"
cwd = "sub"
""",
    )
    (workspace / "sub").mkdir()
    s = parse_mcp_config(config_for(tmp_path, workspace)).servers["s"]
    assert s.allows_tool("a") and not s.allows_tool("b") and not s.allows_tool("c")
    assert (s.startup_timeout, s.tool_timeout) == (5.0, 7.5)
    assert s.read_only and s.offered_in_plan
    assert s.cwd == workspace / "sub"


def test_prefixed_names() -> None:
    assert prefixed_name("gh", "create_issue") == "gh___create_issue"
    assert prefixed_name("gh", "repo.search") == "gh___repo_search"  # providers refuse dots
    with pytest.raises(RejectedTool, match="separates"):
        prefixed_name("gh", "a___b")
    # A long tool name is shortened and made unique with a hash; only a server name that
    # leaves no room for the tool's is refused.
    long_name = prefixed_name("server", "t" * 60)
    assert len(long_name) == 64 and long_name.startswith("server___ttt")
    assert long_name != prefixed_name("server", "t" * 61)
    with pytest.raises(RejectedTool, match="longer than 64"):
        prefixed_name("s" * 50, "t" * 30)


def test_schema_normalization() -> None:
    assert normalize_schema({}) == {"type": "object", "properties": {}}
    with pytest.raises(RejectedTool, match="type 'string'"):
        normalize_schema({"type": "string"})
    with pytest.raises(RejectedTool, match="not a JSON object"):
        normalize_schema(["x"])
