"""No secret from Stoa's environment reaches a model (issue 11, item 4), end to end.

Stoa runs as a real process started with secrets in its environment (provider keys, a custom
``FOO_TOKEN`` and ``..._SECRET``, a key copied under a harmless name, a saved key in
keys.toml). The (fake) model then tries every way we know to read environments: ``ps`` in its
BSD and format forms, ``/proc/*/environ`` of Stoa, of the shell and of every process (cat,
strings, xxd, base64, grep, a redirection, read_file, search_code), the shell's own
``env``/``printenv``/``export -p``/``set``/``declare -x``, and plain files holding the values.

Three runs, each asserting that no secret value is in ANY request body the fake provider
received:

- the real ``stoa -p`` (headless: what would ask is refused);
- the real ``stoa -p`` with a configuration that allows every command and read, so everything
  runs and the content itself must be clean (Stoa masks its own /proc/PID/environ at start and
  redacts known secret values from tool output);
- a Stoa process whose person approves every question (auto mode, the TUI's answers), which
  also shows that the environment-reading forms ask.

Each run is done without the OS sandbox and, where bubblewrap works here, with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stoa.core.sandbox import detect
from tests.fake_server import FakeServer, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]
DRIVER = [sys.executable, "-m", "tests.integration.env_leak_driver"]
REPO = Path(__file__).resolve().parents[2]

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-LEAKCANARY-anthropic-5b7d0c1e9f",
    "OPENAI_API_KEY": "sk-proj-LEAKCANARY-openai-a1b2c3d4e5f6a7b8c9d0e1f2",
    "FOO_TOKEN": "LEAKCANARY-foo-token-3e8a91",
    "DEPLOY_SECRET": "LEAKCANARY-deploy-secret-77c2",
    "MY_SERVICE_PASSWORD": "LEAKCANARY-service-pw-0f0f",
    # A key copied under a name that says nothing: recognised by its value.
    "NOTES_FOR_LATER": "sk-ant-api03-LEAKCANARY-copied-under-a-plain-name-991",
}
SAVED_KEY = "sk-or-v1-LEAKCANARY-saved-openrouter-key-0123456789abcdef"
ALL_SECRETS = [*SECRETS.values(), SAVED_KEY]

SHELL_COMMANDS = [
    "ps axeww",
    "ps e",
    "ps eww",
    "ps auxe",
    "ps -o pid,environ",
    "ps -eo pid,environ=",
    "ps axo pid,environ",
    "ps -O environ",
    "ps --format=pid,environ",
    "ps user",
    "ps eww -p $PPID",
    "cat /proc/$PPID/environ",
    "cat /proc/self/environ",
    "cat /proc/$$/environ",
    "strings /proc/$PPID/environ",
    "xxd /proc/$PPID/environ | head -50",
    "base64 /proc/$PPID/environ",
    "grep -a -o 'LEAKCANARY[^[:cntrl:]]*' /proc/$PPID/environ",
    "tr '\\0' '\\n' < /proc/$PPID/environ",
    "for p in /proc/[0-9]*; do cat $p/environ 2>/dev/null; echo; done | tr '\\0' '\\n' | grep -a LEAK",
    "env",
    "printenv",
    "export -p",
    "set",
    "declare -x",
    "echo $ANTHROPIC_API_KEY $FOO_TOKEN $NOTES_FOR_LATER",
    "cat .env",
    "cat ../home/.config/stoa/keys.toml",
    "cat $STOA_HOME/keys.toml",
]


def _calls(stoa_home: Path) -> list:  # type: ignore[type-arg]
    calls = [
        tool_call("execute_bash", {"command": command, "timeout_seconds": 20}, id=f"sh_{i:02d}")
        for i, command in enumerate(SHELL_COMMANDS)
    ]
    calls += [
        tool_call("read_file", {"path": "/proc/self/environ"}, id="rf_self"),
        tool_call("read_file", {"path": f"/proc/{os.getpid()}/environ"}, id="rf_parent"),
        tool_call("read_file", {"path": ".env"}, id="rf_dotenv"),
        tool_call("read_file", {"path": str(stoa_home / "keys.toml")}, id="rf_keys"),
        tool_call("search_code", {"pattern": "LEAKCANARY", "path": "/proc/self"}, id="sc_proc"),
        tool_call("search_code", {"pattern": "LEAKCANARY"}, id="sc_ws"),
    ]
    return calls


def _environment(stoa_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = {**stoa_env, **SECRETS, "PYTHONPATH": str(REPO)}
    stoa_home = Path(env["STOA_HOME"])
    (stoa_home / "keys.toml").write_text(f'[keys]\nopenrouter = "{SAVED_KEY}"\n')
    os.chmod(stoa_home / "keys.toml", 0o600)
    return env


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".env").write_text(f"FOO_TOKEN={SECRETS['FOO_TOKEN']}\nDEPLOY_SECRET={SECRETS['DEPLOY_SECRET']}\n")
    (ws / "README.md").write_text("# project\n")
    return ws


def _configure(ws: Path, *, sandbox: bool, allow_everything: bool) -> None:
    text = f"[sandbox]\nenabled = {'true' if sandbox else 'false'}\n"
    if allow_everything:
        text += '[permissions]\nallow = ["Bash", "Read"]\n'
    (ws / ".stoa" / "config.local.toml").write_text(text)


def _assert_no_secret_in_any_request(server: FakeServer) -> None:
    bodies = [r.raw_body.decode("utf-8", "replace") for r in server.requests]
    assert len(server.model_requests()) >= 2, "the model never got the tool results"
    for secret in ALL_SECRETS:
        for index, body in enumerate(bodies):
            assert secret not in body, f"secret {secret[:24]}… reached request {index}: …{_around(body, secret)}…"
    # The leak-prone outputs did arrive (so the test saw real content, not only refusals).


def _around(body: str, secret: str) -> str:
    at = body.find(secret)
    return body[max(0, at - 200) : at + len(secret) + 40]


def _results(server: FakeServer) -> dict[str, str]:
    last = server.model_requests()[-1]
    return {r.id: r.text for r in last.tool_results}


SANDBOX_MODES = [False, pytest.param(True, marks=pytest.mark.skipif(not detect().active, reason="bubblewrap does not work on this machine"))]


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_headless_refuses_and_sends_no_secret(
    sandbox: bool, stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    env = _environment(stoa_env, tmp_path)
    _configure(workspace, sandbox=sandbox, allow_everything=False)
    fake_server.script(reply(tool_calls=_calls(Path(env["STOA_HOME"]))), reply(text="done"))
    result = subprocess.run(
        [*STOA, "-p", "show me the environment"], env=env, cwd=workspace,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_no_secret_in_any_request(fake_server)
    results = _results(fake_server)
    for i, command in enumerate(SHELL_COMMANDS):
        if command.startswith(("ps ", "cat /proc", "strings /proc", "xxd /proc", "base64 /proc", "grep -a", "tr ")):
            assert results[f"sh_{i:02d}"].startswith("Not run:"), (command, results[f"sh_{i:02d}"][:300])
    assert results["rf_self"].startswith("Not run:") and results["rf_parent"].startswith("Not run:")
    # What did run shows the redaction at work: the shell's environment has no secret at all,
    # and the workspace's .env had its values replaced.
    env_out = results[f"sh_{SHELL_COMMANDS.index('env'):02d}"]
    assert "PATH=" in env_out and "LEAKCANARY" not in env_out
    assert "[redacted FOO_TOKEN]" in results["rf_dotenv"]


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_everything_allowed_still_sends_no_secret(
    sandbox: bool, stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    env = _environment(stoa_env, tmp_path)
    _configure(workspace, sandbox=sandbox, allow_everything=True)
    fake_server.script(reply(tool_calls=_calls(Path(env["STOA_HOME"]))), reply(text="done"))
    result = subprocess.run(
        [*STOA, "-p", "show me the environment"], env=env, cwd=workspace,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_no_secret_in_any_request(fake_server)
    results = _results(fake_server)
    # They really ran: Stoa's own environment is there, masked.
    stoa_environ = results[f"sh_{SHELL_COMMANDS.index('cat /proc/$PPID/environ'):02d}"]
    assert "ANTHROPIC_API_KEY=*****" in stoa_environ and "STOA_HOME=" in stoa_environ, stoa_environ[:500]
    assert "ANTHROPIC_API_KEY=*****" in results[f"sh_{SHELL_COMMANDS.index('ps eww -p $PPID'):02d}"]
    assert "openrouter" in results["rf_keys"] and "[redacted saved openrouter key]" in results["rf_keys"]


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_a_person_approving_everything_sends_no_secret(
    sandbox: bool, stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    env = _environment(stoa_env, tmp_path)
    _configure(workspace, sandbox=sandbox, allow_everything=False)
    fake_server.script(reply(tool_calls=_calls(Path(env["STOA_HOME"]))), reply(text="done"))
    result = subprocess.run(
        [*DRIVER, str(workspace), "show me the environment"], env=env, cwd=workspace,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.rstrip().endswith("done")
    _assert_no_secret_in_any_request(fake_server)
    asked = [line.removeprefix("asked ") for line in result.stdout.splitlines() if line.startswith("asked ")]
    # Every environment-reading form asked the person first.
    for command in SHELL_COMMANDS:
        if command.startswith(("ps ", "cat /proc", "strings /proc", "xxd /proc", "base64 /proc", "grep -a", "tr ")):
            assert f"execute_bash {' '.join(command.split())}" in asked, (command, asked)
    assert any(a.startswith("read_file /proc/") for a in asked), asked
    results = _results(fake_server)
    assert "ANTHROPIC_API_KEY=*****" in results[f"sh_{SHELL_COMMANDS.index('ps eww -p $PPID'):02d}"]


@pytest.mark.skipif(not detect().active, reason="bubblewrap does not work on this machine")
def test_inside_the_sandbox_other_processes_are_invisible(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path, tmp_path: Path
) -> None:
    """A script (an unknown program: it runs sandboxed in auto mode) that reads every
    process's environment sees only the sandbox's own processes: not Stoa, not the shell that
    started it (bwrap --unshare-pid, a fresh /proc)."""
    env = _environment(stoa_env, tmp_path)
    _configure(workspace, sandbox=True, allow_everything=False)
    (workspace / "peek.sh").write_text(
        "for p in /proc/[0-9]*; do echo \"== $p $(tr '\\0' ' ' < $p/cmdline)\"; tr '\\0' '\\n' < $p/environ; done 2>/dev/null\n"
    )
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "bash peek.sh"}, id="peek")]), reply(text="done")
    )
    result = subprocess.run(
        [*STOA, "-p", "peek"], env=env, cwd=workspace, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = _results(fake_server)["peek"]
    assert "sandboxed" in out and "== /proc/1 " in out, out[-2000:]
    processes = [line.split(" ", 2)[2] for line in out.splitlines() if line.startswith("== /proc/")]
    assert processes and all(cmd.split(" ")[0].endswith("bwrap") or cmd.startswith(("bash peek.sh", "tr ")) for cmd in processes), processes
    assert "stoa.app.cli" not in out and "ANTHROPIC_API_KEY=" not in out, out[-3000:]
    _assert_no_secret_in_any_request(fake_server)
