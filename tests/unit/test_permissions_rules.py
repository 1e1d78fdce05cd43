"""Permission rules: syntax, matching, errors with file and line, and writing "always" rules."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.permissions.rules import (
    RuleError,
    RuleFileError,
    RuleSet,
    append_allow_rule,
    parse_layers,
    parse_rule,
)


def rule(text: str, ws: Path, home: Path | None = None):  # type: ignore[no-untyped-def]
    return parse_rule(text, workspace=ws, home=home)


def test_command_rules(tmp_path: Path) -> None:
    exact = rule("Bash(git status)", tmp_path)
    assert exact.kind == "command" and exact.words == ("git", "status")
    assert exact.matches_argv(("git", "status"))
    assert not exact.matches_argv(("git", "status", "-s"))
    prefix = rule("Bash(git push:*)", tmp_path)
    assert prefix.kind == "prefix" and prefix.text == "Bash(git push:*)"
    assert prefix.matches_argv(("git", "push"))
    assert prefix.matches_argv(("git", "push", "origin", "main"))
    assert not prefix.matches_argv(("git", "pushy"))
    assert not prefix.matches_argv(("git", None))
    quoted = rule("Bash(git commit -m 'two words')", tmp_path)
    assert quoted.matches_argv(("git", "commit", "-m", "two words"))
    bare = rule("Bash", tmp_path)
    assert bare.kind == "any" and bare.matches_argv(("anything",))
    assert rule("Bash(*)", tmp_path).kind == "any"


def test_whole_line_rules(tmp_path: Path) -> None:
    exact = rule("Bash(ls && echo $(date))", tmp_path)
    assert exact.matches_line("ls  &&  echo $(date)")
    assert not exact.matches_line("ls && echo $(id)")


def test_path_rules(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    tree = rule("Read(/p/**)", tmp_path)
    assert tree.matches_path("/p")
    assert tree.matches_path("/p/a/b/c.txt")
    assert not tree.matches_path("/pq")
    one = rule("Write(/p/*.py)", tmp_path)
    assert one.matches_path("/p/x.py")
    assert not one.matches_path("/p/sub/x.py")
    deep = rule("Read(/p/**/secret.txt)", tmp_path)
    assert deep.matches_path("/p/secret.txt") and deep.matches_path("/p/a/b/secret.txt")
    relative = rule("Write(src/**)", tmp_path)
    assert relative.matches_path(str(tmp_path.resolve() / "src" / "x.py"))
    tilde = rule("Read(~/.ssh/**)", tmp_path, home)
    assert tilde.matches_path(str(home.resolve() / ".ssh" / "id_rsa"))
    scope = rule("Bash(/opt/tools/**)", tmp_path)
    assert scope.kind == "path" and scope.matches_path("/opt/tools/bin/x")


def test_mcp_rules(tmp_path: Path) -> None:
    server = rule("Mcp(github)", tmp_path)
    assert server.matches_mcp("github___create_issue")
    assert not server.matches_mcp("githubx___a")
    tool = rule("Mcp(github___create_issue)", tmp_path)
    assert tool.matches_mcp("github___create_issue") and not tool.matches_mcp("github___delete_repo")
    assert rule("Mcp", tmp_path).matches_mcp("anything___x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Edit(src/**)", "did you mean Write"),
        ("bash(ls)", "did you mean Bash"),
        ("WebFetch(x)", "use one of Read, Write, Bash, Mcp"),
        ("Bash()", "write Bash alone"),
        ("Read()", "write Read alone"),
        ("Bash(:*)", "no command"),
        ("Bash(git:* push)", "must end the rule"),
        ("Bash(echo 'unclosed)", "check the quotes"),
        ("Mcp(bad name!)", "server name"),
        ("Read(~other/x)", "~user"),
        ("Bash(ls", "expected Tool"),
        ("", "expected Tool"),
    ],
)
def test_malformed_rules_say_how_to_fix_them(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        rule(text, tmp_path)


def test_deny_wins_over_ask_and_allow(tmp_path: Path) -> None:
    rules = RuleSet()
    rules.add("allow", rule("Bash", tmp_path))
    rules.add("ask", rule("Bash(git push:*)", tmp_path))
    rules.add("deny", rule("Bash(git push --force:*)", tmp_path))
    assert rules.match_command(("ls",))[0] == "allow"  # type: ignore[index]
    assert rules.match_command(("git", "push", "origin"))[0] == "ask"  # type: ignore[index]
    assert rules.match_command(("git", "push", "--force", "origin"))[0] == "deny"  # type: ignore[index]


def test_read_write_and_bash_path_scopes(tmp_path: Path) -> None:
    rules = RuleSet()
    rules.add("allow", rule("Read(/data/**)", tmp_path))
    rules.add("allow", rule("Write(/out/**)", tmp_path))
    rules.add("allow", rule("Bash(/tools/**)", tmp_path))
    assert rules.match_path("/data/x", write=False)[0] == "allow"  # type: ignore[index]
    assert rules.match_path("/data/x", write=True) is None  # Read does not allow writing
    assert rules.match_path("/out/x", write=False)[0] == "allow"  # Write covers reading
    assert rules.match_path("/tools/x", write=True) is None  # Bash(path) is for shell commands
    assert rules.match_path("/tools/x", write=True, via_bash=True)[0] == "allow"  # type: ignore[index]
    rules.add("deny", rule("Read(/data/secret/**)", tmp_path))
    # A denied read also stops writes there.
    assert rules.match_path("/data/secret/k", write=True)[0] == "deny"  # type: ignore[index]


def write_project(tmp_path: Path, shared: str, local: str = "") -> Path:
    ws = tmp_path / "project"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".stoa" / "config.toml").write_text(shared)
    if local:
        (ws / ".stoa" / "config.local.toml").write_text(local)
    return ws


def test_malformed_rules_are_reported_with_file_and_line(tmp_path: Path) -> None:
    ws = write_project(
        tmp_path,
        'model = "x"\n\n[permissions]\nallow = [\n  "Bash(npm test)",\n  "Edit(src/**)",\n]\ndeny = ["Bash(rm:*)", 3]\nallowed = []\n',
        '[permissions]\nask = ["Bash(git push:*)", "Bash()"]\n',
    )
    config = load_config(ws, env={"STOA_HOME": str(tmp_path / "home")})
    rules, problems = parse_layers(config.section("permissions"), workspace=ws)
    assert [r.text for r in rules.allow] == ["Bash(npm test)"]
    assert [r.text for r in rules.deny] == ["Bash(rm:*)"]
    assert [r.text for r in rules.ask] == ["Bash(git push:*)"]
    shown = [str(p) for p in problems]
    shared = ws / ".stoa" / "config.toml"
    local = ws / ".stoa" / "config.local.toml"
    assert any(s.startswith(f"{shared}:6:") and "Edit(src/**)" in s and "Write" in s for s in shown), shown
    assert any(s.startswith(f"{shared}:8:") and "3" in s for s in shown), shown
    assert any(s.startswith(f"{shared}:9:") and "unknown key 'allowed'" in s for s in shown), shown
    assert any(s.startswith(f"{local}:2:") and "Bash()" in s for s in shown), shown
    assert rules.allow[0].source == f"{shared}:5"


def test_make_policy_puts_problems_in_the_startup_warnings(tmp_path: Path) -> None:
    from stoa.core.permissions.setup import make_policy

    ws = write_project(tmp_path, '[permissions]\nallow = ["Nope(x)"]\n')
    config = load_config(ws, env={"STOA_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)})
    policy = make_policy(config, "auto", detect_sandbox=False)
    assert policy.problems and any("Nope(x)" in w and "config.toml:2" in w for w in config.warnings)


def test_append_allow_rule_to_a_new_file(tmp_path: Path) -> None:
    target = tmp_path / ".stoa" / "config.local.toml"
    assert append_allow_rule(target, "Bash(git push:*)")
    assert tomllib.loads(target.read_text()) == {"permissions": {"allow": ["Bash(git push:*)"]}}
    assert not append_allow_rule(target, "Bash(git push:*)")  # already there


def test_append_keeps_comments_and_other_tables(tmp_path: Path) -> None:
    target = tmp_path / "config.local.toml"
    original = (
        '# my settings\nmodel = "opus"  # the best\n\n[permissions]\n# keep this\nallow = [\n'
        '  "Bash(ls)",  # a comment with ] inside\n  "Read(/x/[ab])",\n]\ndeny = ["Bash(rm:*)"]\n\n'
        '[mcp-servers.fs]\ncommand = "x"\n'
    )
    target.write_text(original)
    append_allow_rule(target, 'Write(/tmp/a "b")')
    text = target.read_text()
    assert "# my settings" in text and "# keep this" in text and "# a comment with ] inside" in text
    data = tomllib.loads(text)
    assert data["permissions"]["allow"] == ["Bash(ls)", "Read(/x/[ab])", 'Write(/tmp/a "b")']
    assert data["permissions"]["deny"] == ["Bash(rm:*)"]
    assert data["mcp-servers"] == {"fs": {"command": "x"}}
    assert data["model"] == "opus"


def test_append_adds_allow_to_an_existing_table(tmp_path: Path) -> None:
    target = tmp_path / "c.toml"
    target.write_text('[permissions]\ndeny = ["Bash(rm:*)"]\n\n[other]\nx = 1\n')
    append_allow_rule(target, "Bash(make:*)")
    data = tomllib.loads(target.read_text())
    assert data == {"permissions": {"deny": ["Bash(rm:*)"], "allow": ["Bash(make:*)"]}, "other": {"x": 1}}
    target.write_text("[permissions]\nallow = []\n")
    append_allow_rule(target, "Bash(ls)")
    assert tomllib.loads(target.read_text())["permissions"]["allow"] == ["Bash(ls)"]


def test_append_refuses_what_it_cannot_edit_safely(tmp_path: Path) -> None:
    target = tmp_path / "c.toml"
    target.write_text('permissions = { allow = ["Bash(ls)"] }\n')
    with pytest.raises(RuleFileError, match="by hand"):
        append_allow_rule(target, "Bash(pwd)")
    assert target.read_text() == 'permissions = { allow = ["Bash(ls)"] }\n'
    target.write_text("not = [valid\n")
    with pytest.raises(RuleFileError, match="not valid TOML"):
        append_allow_rule(target, "Bash(pwd)")
