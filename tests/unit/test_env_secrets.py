"""Environment secrets (issue 11, item 4), piece by piece: which ``ps`` forms show other
processes' environments, the scrubbed environment of shell commands (by name and by value),
the redaction of tool output, and the masking of Stoa's own /proc/self/environ (in a real
child process, read from outside through /proc)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stoa.core.permissions.shell_analysis import analyze
from stoa.core.permissions.shell_analysis.judges.proc_env import ps_environment_reason
from stoa.core.sandbox.env import removed_names, scrub_env
from stoa.core.sandbox.secrets import Redactor, SessionRedactor, secret_values

SHOWS_ENVIRONMENTS = [
    "e", "axe", "axeww", "auxe", "eww", "aeux", "user", "ewwp 1", "e -p 1", "ax e", "-p 1 e",
    "-o environ", "-o pid,environ", "-opid,environ", "-eo pid,environ=ENV", "-eopid,environ",
    "-O environ", "o environ", "axo pid,environ", "--format environ", "--format=pid,environ",
    "-o pid= -o environ=", "-o 'pid environ'", "-o pid,environ:40", "O environ",
]  # fmt: skip
SHOWS_NO_ENVIRONMENT = [
    "", "aux", "ax", "-e", "-ef", "-eF", "-A", "-ae", "-wwe", "faux", "-eo pid,args", "-p 1",
    "p 1", "123", "-u root", "--sort=-pcpu", "-C python", "-o pid,comm", "axo pid,stat,args", "-eH",
]  # fmt: skip


@pytest.mark.parametrize("args", SHOWS_ENVIRONMENTS)
def test_ps_forms_that_show_environments(args: str, tmp_path: Path) -> None:
    import shlex

    assert ps_environment_reason(shlex.split(args)) is not None, args
    analysis = analyze(f"ps {args}", tmp_path, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert analysis.tier == "ask" and analysis.outside_paths, (args, analysis.reasons)
    assert not analysis.sandboxable


@pytest.mark.parametrize("args", SHOWS_NO_ENVIRONMENT)
def test_ps_forms_that_do_not(args: str, tmp_path: Path) -> None:
    import shlex

    assert ps_environment_reason(shlex.split(args)) is None, args
    assert analyze(f"ps {args}", tmp_path, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}).tier == "allowed"


@pytest.mark.parametrize(
    "command",
    ["ps $FLAGS", "ps -o \"$FORMAT\"", "/bin/ps axe", "env ps e", "timeout 5 ps eww", "ps aux | grep x; ps e",
     "cat /proc/1/environ", "strings /proc/*/environ", "tr '\\0' '\\n' < /proc/self/environ", "grep -r KEY /proc"],
)  # fmt: skip
def test_other_ways_of_reading_environments_ask(command: str, tmp_path: Path) -> None:
    analysis = analyze(command, tmp_path, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert analysis.tier == "ask", (command, analysis.reasons)


def test_shell_environment_drops_secrets_by_name_and_by_value() -> None:
    env = {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "ANTHROPIC_API_KEY": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "FOO_TOKEN": "tok-1234567890",
        "DEPLOY_SECRET": "s3cr3t-value-here",
        "COPY_OF_IT": "Bearer sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "UNNAMED": "ghp_" + "a" * 36,
        "RUN_CONFIG": "x=tok-1234567890",
        "SSH_AUTH_SOCK": "/tmp/ssh-x/agent.1",
        "EDITOR": "vim",
        "GREETING": "hello",
        "JOB_NAME": "build-task-runner-" + "x" * 40,  # "sk-" inside a word is not a key
    }
    clean = scrub_env(env)
    assert set(removed_names(env)) == {
        "ANTHROPIC_API_KEY", "FOO_TOKEN", "DEPLOY_SECRET", "COPY_OF_IT", "UNNAMED", "RUN_CONFIG", "SSH_AUTH_SOCK",
    }  # fmt: skip
    assert {"PATH", "HOME", "EDITOR", "GREETING", "JOB_NAME"} <= set(clean)
    for value in ("sk-ant-api03", "tok-1234567890", "s3cr3t", "ghp_"):
        assert not any(value in v for v in clean.values()), value


def test_the_shell_tool_really_gets_no_secret(tmp_path: Path) -> None:
    """env, printenv, export -p, set and declare -x in a real bash run by execute_bash."""
    import asyncio

    from stoa.core.config import load_config
    from stoa.core.tools.base import ToolContext
    from stoa.core.tools.shell import ExecuteBash

    secrets = {"ANTHROPIC_API_KEY": "sk-ant-api03-UNITCANARY-0123456789", "FOO_TOKEN": "UNITCANARY-foo-1", "X_SECRET": "UNITCANARY-x-22", "LOOKS_FINE": "sk-ant-api03-UNITCANARY-0123456789"}
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "STOA_HOME": str(tmp_path / "s"), **secrets}
    (tmp_path / "ws" / ".stoa").mkdir(parents=True)
    (tmp_path / "ws" / ".stoa" / "config.toml").write_text("[sandbox]\nenabled = false\n")
    config = load_config(tmp_path / "ws", env=env)
    tool = ExecuteBash()
    args = tool.parse_args({"command": "env; printenv; export -p; set; declare -x"})
    ctx = ToolContext(workspace=config.workspace, config=config)
    tool.accesses(args, ctx)
    output = asyncio.run(tool.run(args, ctx))
    assert "PATH=" in output.text_content and "UNITCANARY" not in output.text_content


def test_redaction_of_plain_wrapped_and_base64_forms() -> None:
    key = "sk-ant-api03-REDACTME-abcdefghijklmnop"
    redact = Redactor(secret_values({"ANTHROPIC_API_KEY": key, "PATH": "/usr/bin", "SHORT_TOKEN": "abc"}))
    assert redact(f"key: {key}!") == "key: [redacted ANTHROPIC_API_KEY]!"
    assert redact("abc and /usr/bin stay") == "abc and /usr/bin stay"
    for prefix in range(4):
        blob = os.urandom(prefix) + b"ANTHROPIC_API_KEY=" + key.encode() + b"\0HOME=/x\0"
        encoded = base64.b64encode(blob).decode()
        wrapped = "\n".join(textwrap.wrap(encoded, 76))
        for text in (encoded, wrapped):
            assert "[redacted ANTHROPIC_API_KEY, base64]" in redact(text), (prefix, text)
    assert redact.redact_value({"text": key, "n": 1, "list": [key]}) == {
        "text": "[redacted ANTHROPIC_API_KEY]", "n": 1, "list": ["[redacted ANTHROPIC_API_KEY]"],
    }  # fmt: skip


def test_session_redactor_follows_the_saved_keys_file(tmp_path: Path) -> None:
    from stoa.core.config import load_config

    env = {"STOA_HOME": str(tmp_path / "home"), "HOME": str(tmp_path), "FOO_TOKEN": "foo-token-value-1"}
    (tmp_path / "ws").mkdir()
    config = load_config(tmp_path / "ws", env=env)
    redact = SessionRedactor(config)
    assert redact("foo-token-value-1") == "[redacted FOO_TOKEN]"
    assert redact("sk-saved-0123456789") == "sk-saved-0123456789"
    config.paths.keys_file.parent.mkdir(parents=True, exist_ok=True)
    config.paths.keys_file.write_text('[keys]\nopenai = "sk-saved-0123456789"\n')
    assert redact("sk-saved-0123456789") == "[redacted saved openai key]"


_CHILD = r"""
import json, os, sys
from stoa.core.sandbox.secrets import mask_own_environ
masked = mask_own_environ()
print(json.dumps({"masked": masked, "key": os.environ.get("ANTHROPIC_API_KEY")}), flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/PID/environ is Linux's")
def test_stoa_masks_its_own_environment_as_others_see_it(tmp_path: Path) -> None:
    key = "sk-ant-api03-MASKCANARY-abcdefghijk"
    env = {
        "PATH": os.environ["PATH"], "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "ANTHROPIC_API_KEY": key, "FOO_TOKEN": "MASKCANARY-foo", "A_COPY": key, "SHORT_TOKEN": "ab",
        "BASH_ENV": "/nonexistent/rc", "SSH_AUTH_SOCK": "/tmp/agent.sock", "GREETING": "hello",
    }  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        report = json.loads(child.stdout.readline())
        seen = Path(f"/proc/{child.pid}/environ").read_bytes().decode()
        ps = subprocess.run(["ps", "eww", "-p", str(child.pid)], capture_output=True, text=True).stdout
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(10)
    assert report["key"] == key  # the SDKs still find the key in os.environ
    assert set(report["masked"]) == {"ANTHROPIC_API_KEY", "FOO_TOKEN", "A_COPY", "SHORT_TOKEN"}
    for text in (seen, ps):
        assert "MASKCANARY" not in text and "SHORT_TOKEN=ab\0" not in text
    entries = dict(item.split("=", 1) for item in seen.split("\0") if "=" in item)
    assert entries["ANTHROPIC_API_KEY"] == "*" * len(key)
    assert entries["GREETING"] == "hello" and entries["BASH_ENV"] == "/nonexistent/rc"
    assert entries["SSH_AUTH_SOCK"] == "/tmp/agent.sock"


def test_values_of_eight_characters_and_more_are_redacted_with_their_hex_forms() -> None:
    redact = Redactor(secret_values({"SVC_TOKEN": "s3cr3t!!", "SHORT_PASSWORD": "abc1234"}))
    assert redact("token s3cr3t!! here") == "token [redacted SVC_TOKEN] here"
    assert redact("73336372337421 21") == "[redacted SVC_TOKEN, hex]"
    assert redact("pw abc1234") == "pw abc1234"  # under 8 characters: too many false hits


def test_commit_ids_and_checksums_stay_readable() -> None:
    redact = Redactor(secret_values({}))
    sha = "4f3c2a1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"
    text = f"commit {sha}\nAuthor: A <a@b>\nMerge: 4f3c2a1 9d8e7f6\n{sha[:32]}  README.md\nsha256: {sha}{sha[:24]}\n"
    assert redact(text) == text
    assert redact(f"API_TOKEN={sha}") == "API_TOKEN=[redacted hex secret]"
