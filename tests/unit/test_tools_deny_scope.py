"""Tools that show many files at once (search_code, glob_files, list_directory) leave out what
the session's compiled permission policy denies, and fail closed: while an entry of
``[permissions]`` that may have been a deny rule cannot be read, they refuse to run, since a
deny rule that does not parse protects nothing and they would show what it meant to hide."""

from __future__ import annotations

from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.tools.base import Effect, ToolContext
from tests.unit.test_tools_search import ENGINES, _run, _tools
from tests.unit.tools_harness import call, context_for

SECRET = "sk-live-CANARY"


def _project(tmp_path: Path, permissions: str, *, home: Path | None = None) -> ToolContext:
    ws = tmp_path / "proj"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".stoa" / "config.toml").write_text(permissions)
    (ws / "secrets").mkdir()
    (ws / "secrets" / "key.txt").write_text(f"API_TOKEN={SECRET}\n")
    (ws / ".env").write_text(f"API_TOKEN={SECRET}\n")
    (ws / "app.py").write_text("token = os.environ['API_TOKEN']\n")
    env = {"STOA_HOME": str(tmp_path / "stoa"), "HOME": str(home or tmp_path / "home")}
    return context_for(load_config(ws, env=env))


def _shows_nothing_denied(text: str) -> bool:
    names = [line.split()[0] for line in text.splitlines() if line.strip()]
    return SECRET not in text and "key.txt" not in text and not any(n.startswith(".env") for n in names)


# A deny rule the person wrote, but that cannot be read: each would protect nothing.
BROKEN = {
    "unclosed parenthesis": '[permissions]\ndeny = ["Read(./secrets/**", "Read(./.env"]\n',
    "a string, not a list": '[permissions]\ndeny = "Read(./secrets/**)"\n',
    "a misspelt list name": '[permissions]\ndenied = ["Read(./secrets/**)", "Read(./.env)"]\n',
    "not a table": 'permissions = ["deny Read(./secrets/**)"]\n',
    "a number among the rules": '[permissions]\ndeny = ["Read(./.env)", 7]\n',
}


@pytest.mark.parametrize("broken", list(BROKEN), ids=list(BROKEN))
@pytest.mark.parametrize("engine", ENGINES)
def test_a_deny_rule_that_cannot_be_read_refuses_search_and_glob(tmp_path: Path, broken: str, engine: str) -> None:
    ctx = _project(tmp_path, BROKEN[broken])
    assert ctx.policy is not None and ctx.policy.problems  # start-up warns about it, too
    glob, search = _tools(engine)
    for result in (
        _run(search, ctx, pattern="API_TOKEN"),
        _run(search, ctx, pattern="API_TOKEN", path="secrets"),
        _run(search, ctx, pattern="CANARY", include_ignored=True),
        _run(glob, ctx, pattern="**/*"),
        _run(glob, ctx, pattern="*", path="secrets"),
    ):
        assert _shows_nothing_denied(result.text), result.text
        assert result.is_error and "refused" in result.text and "fix or remove it" in result.text


@pytest.mark.parametrize("broken", list(BROKEN), ids=list(BROKEN))
def test_a_deny_rule_that_cannot_be_read_refuses_listings(tmp_path: Path, broken: str) -> None:
    ctx = _project(tmp_path, BROKEN[broken])
    for path in (".", "secrets"):
        result = call("list_directory", ctx, path=path)
        assert result.is_error and "refused" in result.text, result.text
        assert _shows_nothing_denied(result.text)


def test_the_refusal_names_the_rule_and_where_it_is(tmp_path: Path) -> None:
    ctx = _project(tmp_path, BROKEN["unclosed parenthesis"])
    text = call("search_code", ctx, pattern="API_TOKEN").text
    assert "config.toml:2" in text and "Read(./secrets/**" in text and "(and 1 more)" in text
    assert text.endswith("then call search_code again")


def test_a_broken_allow_or_ask_rule_does_not_stop_searching(tmp_path: Path) -> None:
    ctx = _project(
        tmp_path,
        '[permissions]\nallow = ["Bash(git"]\nask = ["Write(./x"]\ndeny = ["Read(./secrets/**)", "Read(./.env)"]\n',
    )
    assert ctx.policy is not None and len(ctx.policy.problems) == 2
    result = call("search_code", ctx, pattern="API_TOKEN")
    assert not result.is_error and "app.py" in result.text and _shows_nothing_denied(result.text)


def test_search_hides_what_the_policy_denies_under_the_sessions_home(tmp_path: Path) -> None:
    """``~`` in a deny rule is the session's HOME (as the policy reads it), not the HOME of
    whatever process runs the tool: search hides exactly what read_file is denied."""
    home = tmp_path / "home"
    ctx = _project(home, '[permissions]\ndeny = ["Read(~/proj/secrets/**)"]\n', home=home)
    assert ctx.policy is not None
    result = call("search_code", ctx, pattern="API_TOKEN")
    assert "app.py" in result.text and "key.txt" not in result.text
    assert "key.txt" not in call("glob_files", ctx, pattern="**/*.txt").text
    # The same rule, as the policy judges read_file: denied.
    denied = call("read_file", ctx, path="secrets/key.txt").accesses
    assert ctx.policy.decide("read_file", Effect.READ, denied).action == "deny"


def test_list_directory_leaves_out_what_a_deny_rule_covers(tmp_path: Path) -> None:
    ctx = _project(tmp_path, '[permissions]\ndeny = ["Read(./.env)", "Read(./secrets/key.txt)"]\n')
    (tmp_path / "proj" / "secrets" / "public.txt").write_text("ok\n")
    root = call("list_directory", ctx, path=".").text
    assert "app.py" in root and "secrets/" in root and _shows_nothing_denied(root)
    inside = call("list_directory", ctx, path="secrets").text
    assert "public.txt" in inside and "key.txt" not in inside
    assert "0 directories, 1 files" in inside


def test_a_configuration_with_rules_but_no_compiled_policy_is_refused(tmp_path: Path) -> None:
    """A front end that hands tools the configuration but not its policy fails closed."""
    ctx = _project(tmp_path, '[permissions]\ndeny = ["Read(./secrets/**)"]\n')
    bare = ToolContext(workspace=ctx.workspace, config=ctx.config)
    for name, arguments in (
        ("search_code", {"pattern": "API_TOKEN"}),
        ("glob_files", {"pattern": "**/*"}),
        ("list_directory", {"path": "secrets"}),
    ):
        result = call(name, bare, **arguments)
        assert result.is_error and "not compiled" in result.text and SECRET not in result.text
