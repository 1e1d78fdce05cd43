"""Shell analysis leftovers of issue 11: every way of naming another process's environment
asks (no rule offered), formatters that only check are reads, and ``\\xNN`` (the names Stoa
shows for files that are not UTF-8) means the byte in shell words, rules and globs.

Judged the way the agent judges a call: the shell tool's accesses, then the real policy, on a
real workspace (files with non-UTF-8 names included)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from stoa.core.permissions.shell_analysis import analyze
from stoa.core.tools.base import Access, Effect, ToolContext
from stoa.core.tools.search import GlobFiles, SearchCode
from tests.unit.test_permissions_policy import NO_SANDBOX, SANDBOX, bash, policy_for


@pytest.fixture
def project(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "main.py").write_text("print(1)\n")
    (ws / "environ").write_text("a file of the project that happens to be called environ\n")
    (ws / ".stoa").mkdir()
    (tmp_path / "home").mkdir()
    return ws.resolve()


ENVIRON_FORMS = [
    "xargs -a /proc/1/environ",
    "xargs -a /proc/1/environ echo",
    "xargs --arg-file=/proc/self/environ echo",
    "xargs -a/proc/self/environ",
    "< /proc/self/environ cat",
    "cat < /proc/$$/environ",
    "cat /proc/$$/environ",
    "cat /proc/${PPID}/environ",
    "cat /proc/$PPID/environ",
    "cat /proc/self/environ",
    "cat /proc/thread-self/environ",
    "cat /proc/self/task/*/environ",
    "strings /proc/*/environ",
    "cat /proc/[0-9]*/environ",
    "cat /pro?/1/env*",
    "cat /*/*/environ",
    "cat /proc/{1,2}/environ",
    "cat /proc/1/./environ",
    "cat /proc//1//environ",
    "cat /proc/self/../1/environ",
    "tr '\\0' '\\n' </proc/1/environ",
    "while read -d '' l; do echo $l; done < /proc/1/environ",
    "mapfile -d '' a < /proc/self/environ; echo ${a[@]}",
    "grep -f/proc/1/environ src/main.py",
    "wc --files0-from=/proc/self/environ",
    "python -c \"print(open('/proc/self/environ').read())\"",
    "python3 -c 'import sys; sys.stdout.write(open(\"/proc/%d/environ\" % 1).read())'",
    "perl -ne print /proc/1/environ",
    "cat $'\\x2fproc/self/environ'",
    "cat $'/proc/self/\\x65nviron'",
    "pid=1; cat /proc/$pid/environ",
    'cat "/proc/$(pgrep -n stoa)/environ"',
    "for p in /proc/[0-9]*; do cat $p/environ; done",
    "cd /proc/self && cat environ",
    "cd /proc && cat 1/environ",
    "bash -c 'cat /proc/1/environ'",
    "find . -maxdepth 0 -exec cat /proc/1/environ \\;",
]


@pytest.mark.parametrize("command", ENVIRON_FORMS)
def test_every_form_of_reading_an_environment_asks_with_no_rule_offered(project: Path, command: str) -> None:
    for mode, sandbox in (("auto", SANDBOX), ("auto", NO_SANDBOX), ("ask", SANDBOX), ("plan", NO_SANDBOX)):
        verdict, _ = bash(policy_for(project, mode, sandbox), project, command)
        assert verdict.action in ("ask", "deny"), (mode, command, verdict)
        if verdict.action == "ask":
            assert verdict.suggested_rule is None and not verdict.can_remember, (command, verdict)
    analysis = analyze(command, project, env={"HOME": str(project.parent / "home"), "PATH": "/usr/bin:/bin"})
    assert any(use.path == "/proc/*/environ" for use in analysis.outside_paths), (command, analysis.reasons)


@pytest.mark.parametrize(
    "command",
    ["ls src/*", "cat environ", "cat src/*.py", "grep -r env src", "ls /proc/cpuinfo", "echo $HOME/environ-notes"],
)
def test_paths_that_are_no_environment_are_not_taken_for_one(project: Path, command: str) -> None:
    analysis = analyze(command, project, env={"HOME": str(project.parent / "home"), "PATH": "/usr/bin:/bin"})
    assert not any(use.path == "/proc/*/environ" for use in analysis.outside_paths), (command, analysis.reasons)


def test_xargs_reads_its_argument_file(project: Path) -> None:
    outside = project.parent / "list.txt"
    outside.write_text("a\n")
    verdict, _ = bash(policy_for(project, "auto", SANDBOX), project, f"xargs -a {outside} echo")
    assert verdict.action == "ask" and str(outside) in verdict.reason
    verdict, _ = bash(policy_for(project, "auto", SANDBOX), project, f"xargs --arg-file={outside} echo")
    assert verdict.action == "ask" and str(outside) in verdict.reason
    # Inside the workspace: nothing to ask.
    assert bash(policy_for(project, "auto", SANDBOX), project, "xargs -a src/main.py echo")[0].action == "allow"


@pytest.mark.parametrize(
    "command",
    [
        "isort --check-only .",
        "isort -c src",
        "isort --check .",
        "isort --diff src/main.py",
        "black --check .",
        "black --diff src",
        "ruff format --check .",
        "ruff format --diff src",
        "gofmt -l .",
        "autopep8 --diff src/main.py",
    ],
)
def test_formatters_that_only_check_are_reads(project: Path, command: str) -> None:
    analysis = analyze(command, project, env={"PATH": "/usr/bin:/bin"})
    assert analysis.kind == "read" and analysis.read_only, (command, analysis.kind)
    # Plan mode (read-only) runs them; auto mode too.
    assert bash(policy_for(project, "plan"), project, command)[0].action == "allow"
    assert bash(policy_for(project, "auto"), project, command)[0].action == "allow"


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        ("isort .", "write"),
        ("black src", "write"),
        ("ruff format .", "write"),
        ("gofmt -l -w .", "write"),
        ("autopep8 --diff -i src/main.py", "write"),
        # prettier loads the project's code configs (prettier.config.js): a runner still.
        ("prettier --check .", "build"),
    ],
)
def test_formatters_that_rewrite_or_run_project_code_are_not_reads(project: Path, command: str, kind: str) -> None:
    assert analyze(command, project, env={"PATH": "/usr/bin:/bin"}).kind == kind


# ---- \xNN: the byte, as Stoa names files that are not UTF-8 ------------------------------------


@pytest.fixture
def odd(project: Path) -> Path:
    """A file and a folder whose names are not UTF-8 (byte 0xff)."""
    os.makedirs(os.path.join(os.fsencode(project), b"secret\xff"), exist_ok=True)
    with open(os.path.join(os.fsencode(project), b"secret\xff", b"key.txt"), "w") as handle:
        handle.write("k\n")
    with open(os.path.join(os.fsencode(project), b"bad\xff.txt"), "w") as handle:
        handle.write("x\n")
    return project


def test_an_ansi_c_byte_in_a_shell_word_is_the_byte(odd: Path) -> None:
    """bash's $'\\xff' is the byte 0xff (not the character U+00FF): the path a rule is checked
    against is the file's real name."""
    config = '[permissions]\ndeny = ["Read(bad\\\\xff.txt)", "Read(secret\\\\xff)"]\n'
    policy = policy_for(odd, "auto", SANDBOX, config)
    assert bash(policy, odd, "cat $'bad\\xff.txt'")[0].action == "deny"
    assert bash(policy, odd, "cat $'bad\\377.txt'")[0].action == "deny"
    assert bash(policy, odd, "cat $'secret\\xff/key.txt'")[0].action == "deny"
    assert bash(policy, odd, "cat src/main.py")[0].action == "allow"
    # UTF-8 written byte by byte is the character.
    analysis = analyze("touch $'caf\\xc3\\xa9.txt'", odd, env={"PATH": "/usr/bin:/bin"})
    assert analysis.findings[0].paths[0].path == str(odd / "café.txt")


def test_rules_written_with_byte_escapes_match_the_file(odd: Path) -> None:
    config = '[permissions]\ndeny = ["Read(secret\\\\xff/**)", "Write(bad\\\\xff.txt)"]\n'
    policy = policy_for(odd, "auto", SANDBOX, config)
    key = os.fsdecode(os.path.join(os.fsencode(odd), b"secret\xff", b"key.txt"))
    bad = os.fsdecode(os.path.join(os.fsencode(odd), b"bad\xff.txt"))
    read = Access(scope="read", target=key, effect=Effect.READ, outside_workspace=False)
    assert policy.decide("read_file", Effect.READ, [read]).action == "deny"
    write = Access(scope="write", target=bad, effect=Effect.MUTATE, outside_workspace=False)
    assert policy.decide("write_file", Effect.MUTATE, [write]).action == "deny"
    other = Access(scope="write", target=str(odd / "src" / "main.py"), effect=Effect.MUTATE, outside_workspace=False)
    assert policy.decide("write_file", Effect.MUTATE, [other]).action == "allow"
    # A folder rule without wildcards covers what is inside it, in the escaped form too.
    policy = policy_for(odd, "auto", SANDBOX, '[permissions]\ndeny = ["Read(secret\\\\xff)"]\n')
    assert policy.decide("read_file", Effect.READ, [read]).action == "deny"


@pytest.mark.parametrize("use_rg", [True, False])
def test_globs_with_byte_escapes_find_the_files(odd: Path, use_rg: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not use_rg:
        monkeypatch.setattr(GlobFiles, "rg_path", lambda self: None)
    tool = GlobFiles()
    ctx = ToolContext(workspace=odd)

    def glob(pattern: str) -> str:
        return asyncio.run(tool.run(tool.parse_args({"pattern": pattern}), ctx)).content[0].text

    assert "bad\udcff.txt" in glob("bad\\xff*")
    assert "bad\udcff.txt" in glob("*\\xff.txt")
    assert "secret\udcff/key.txt" in glob("secret\\xff/*.txt")
    listed = glob("**/*.txt")
    assert "bad\udcff.txt" in listed and "secret\udcff/key.txt" in listed


def test_search_globs_with_byte_escapes(odd: Path) -> None:
    tool = SearchCode()
    ctx = ToolContext(workspace=odd)

    def search(glob: str) -> str:
        return asyncio.run(tool.run(tool.parse_args({"pattern": ".", "glob": glob}), ctx)).content[0].text

    assert "bad\udcff.txt" in search("*\\xff*") and "main.py" not in search("*\\xff*")
    excluded = search("!*\\xff*")
    assert "main.py" in excluded and "bad\udcff.txt" not in excluded


def test_always_on_a_name_that_is_not_utf8_writes_a_rule_that_names_it(odd: Path) -> None:
    """The suggested rule is written with \\xNN (valid TOML, readable), and read back it allows
    that very file in a later session."""
    outside = odd.parent / "elsewhere"
    os.makedirs(os.path.join(os.fsencode(outside), b"notes\xfe"), exist_ok=True)
    with open(os.path.join(os.fsencode(outside), b"notes\xfe", b"a.txt"), "w") as handle:
        handle.write("a\n")
    target = os.fsdecode(os.path.join(os.fsencode(outside), b"notes\xfe", b"a.txt"))
    read = Access(scope="read", target=target, effect=Effect.READ, outside_workspace=True)
    policy = policy_for(odd, "auto", SANDBOX)
    verdict = policy.decide("read_file", Effect.READ, [read])
    assert verdict.action == "ask" and verdict.suggested_rule == f"Read({outside}/notes\\xfe/a.txt)"
    policy.remember("read_file", [read], "always")
    assert policy.persist_error is None
    saved = (odd / ".stoa" / "config.local.toml").read_text(encoding="utf-8")
    assert "notes\\\\xfe/a.txt" in saved  # the TOML string holds a backslash, x, f, e
    later = policy_for(odd, "auto", SANDBOX)
    assert later.decide("read_file", Effect.READ, [read]).action == "allow"
