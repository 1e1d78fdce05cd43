"""/mcp command parsing and the edits of .stoa/config.local.toml: the rest of the file (comments
included) is kept, every edit reads back as intended, and nothing is written when it cannot be
done safely."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from stoa.core.mcp.commands import (
    McpCommandError,
    add_server,
    parse_command,
    remove_server,
    render_table,
)


def test_parse_list_and_help() -> None:
    assert parse_command("").action == "list"
    assert parse_command("list").action == "list"
    assert parse_command("help").action == "help"


def test_parse_add_keeps_flags_for_the_server() -> None:
    cmd = parse_command("add fs npx -y @scope/server-fs --root '/my dir'")
    assert (cmd.action, cmd.name, cmd.command) == ("add", "fs", "npx")
    assert cmd.args == ("-y", "@scope/server-fs", "--root", "/my dir")


def test_parse_add_http_with_headers() -> None:
    cmd = parse_command("add-http gh https://api.example/mcp --header 'Authorization=Bearer ${GH_TOKEN}' -H X-Team:core")
    assert cmd.url == "https://api.example/mcp"
    assert cmd.headers == {"Authorization": "Bearer ${GH_TOKEN}", "X-Team": "core"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("add", "usage: /mcp add NAME COMMAND"),
        ("add onlyname", "usage: /mcp add NAME COMMAND"),
        ("add bad.name cmd", "use only letters"),
        ("add a___b cmd", "separates server and tool names"),
        ("add-http x notaurl", "is not an http:// or https:// URL"),
        ("add-http x https://h --header", "needs a value"),
        ("add-http x https://h --header novalue", "is not K=V"),
        ("add-http x https://h stray", "unexpected 'stray'"),
        ("remove", "usage: /mcp remove NAME"),
        ("reconnect a b", "usage: /mcp reconnect NAME"),
        ("frobnicate", "unknown /mcp command 'frobnicate'"),
        ("add x 'unclosed", "check the quotes"),
    ],
)
def test_parse_errors_say_what_to_do(text: str, expected: str) -> None:
    with pytest.raises(McpCommandError, match=expected.replace("(", r"\(").replace("?", r"\?")):
        parse_command(text)


def test_add_creates_the_file_and_folder(tmp_path: Path) -> None:
    path = tmp_path / ".stoa" / "config.local.toml"
    message = add_server(path, "fs", {"command": "npx", "args": ["-y", "srv"]})
    assert "added fs" in message
    assert tomllib.loads(path.read_text()) == {"mcp-servers": {"fs": {"command": "npx", "args": ["-y", "srv"]}}}
    assert path.stat().st_mode & 0o777 == 0o600  # personal file: may hold tokens


def test_add_keeps_comments_and_other_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.local.toml"
    original = '# my settings\nmodel = "claude-opus-4-5"  # the big one\n\n[permissions]\nallow = ["Read(*)"]\n'
    path.write_text(original)
    add_server(path, "gh", {"url": "https://x/mcp", "headers": {"Authorization": "Bearer ${T}"}})
    text = path.read_text()
    assert text.startswith(original)
    data = tomllib.loads(text)
    assert data["model"] == "claude-opus-4-5" and data["permissions"] == {"allow": ["Read(*)"]}
    assert data["mcp-servers"]["gh"]["headers"] == {"Authorization": "Bearer ${T}"}


def test_add_refuses_a_duplicate_and_an_inline_section(tmp_path: Path) -> None:
    path = tmp_path / "config.local.toml"
    add_server(path, "a", {"command": "x"})
    before = path.read_text()
    with pytest.raises(McpCommandError, match="already in"):
        add_server(path, "a", {"command": "y"})
    assert path.read_text() == before
    inline = tmp_path / "inline.toml"
    inline.write_text('mcp-servers = { other = { command = "z" } }\n')
    with pytest.raises(McpCommandError, match="add this to the file by hand"):
        add_server(inline, "a", {"command": "x"})
    assert inline.read_text() == 'mcp-servers = { other = { command = "z" } }\n'


def test_invalid_toml_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config.local.toml"
    path.write_text("this is = = not toml\n")
    with pytest.raises(McpCommandError, match="not valid TOML"):
        add_server(path, "a", {"command": "x"})
    with pytest.raises(McpCommandError, match="not valid TOML"):
        remove_server(path, "a")
    assert path.read_text() == "this is = = not toml\n"


def test_remove_takes_the_table_and_its_subtables_only(tmp_path: Path) -> None:
    path = tmp_path / "config.local.toml"
    path.write_text(
        "# top comment\n"
        'model = "m"\n\n'
        "[mcp-servers.keep]\n"
        'command = "k"  # keep me\n\n'
        "[mcp-servers.gone]\n"
        'command = "g"\n'
        "[mcp-servers.gone.env]\n"
        'TOKEN = "${T}"\n\n'
        "[permissions]\n"
        'deny = ["Mcp(keep___rm)"]\n'
    )
    assert "removed gone" in remove_server(path, "gone")
    text = path.read_text()
    assert "# top comment" in text and "# keep me" in text
    data = tomllib.loads(text)
    assert data == {
        "model": "m",
        "mcp-servers": {"keep": {"command": "k"}},
        "permissions": {"deny": ["Mcp(keep___rm)"]},
    }


def test_remove_quoted_header_and_last_server(tmp_path: Path) -> None:
    path = tmp_path / "config.local.toml"
    path.write_text('[mcp-servers."only"]\ncommand = "x"\n')
    remove_server(path, "only")
    assert tomllib.loads(path.read_text()) == {}


def test_remove_refuses_entries_not_written_as_tables(tmp_path: Path) -> None:
    path = tmp_path / "config.local.toml"
    original = '[mcp-servers]\ndotted.command = "x"\n'
    path.write_text(original)
    with pytest.raises(McpCommandError, match="by hand"):
        remove_server(path, "dotted")
    assert path.read_text() == original
    with pytest.raises(McpCommandError, match="is not in"):
        remove_server(path, "absent")


def test_rendered_values_round_trip() -> None:
    entry = {
        "command": 'C:\\tools\\srv "quoted"',
        "args": ["ünïcode", "tab\there", "new\nline"],
        "env": {"WEIRD KEY": "v"},
        "tool_timeout_seconds": 2.5,
        "enabled": False,
    }
    text = render_table("x-1", entry)
    assert tomllib.loads(text) == {"mcp-servers": {"x-1": entry}}
