"""Build and test runners after the agent wrote the code they run (issue 11, item 3), end to end:
the real ``stoa -p`` against the fake provider, real make / pytest / npm, real files.

In one reply the (fake) model writes a Makefile, a conftest.py or a package.json script whose
code leaves a canary outside the workspace, then runs the runner. Without a sandbox the runner
is refused (headless cannot ask) and no canary appears; inside bubblewrap it runs contained
(the canary cannot be written outside). The person's own, unchanged project still runs
unasked without a sandbox.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stoa.core.sandbox import detect
from tests.fake_server import FakeServer, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]
SANDBOX_WORKS = detect().active


@pytest.fixture
def world(tmp_path: Path, stoa_env: dict[str, str]) -> tuple[Path, Path, dict[str, str]]:
    ws = tmp_path / "project"
    (ws / ".stoa").mkdir(parents=True)
    (ws / "tests").mkdir()
    (ws / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    env = {**stoa_env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "npm_config_update_notifier": "false"}
    return ws, outside, env


def configure(ws: Path, sandbox: bool) -> None:
    (ws / ".stoa" / "config.local.toml").write_text(f"[sandbox]\nenabled = {'true' if sandbox else 'false'}\n")


def stoa(ws: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*STOA, "-p", "set up the build and run it"], env=env, cwd=ws,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def results(server: FakeServer) -> dict[str, str]:
    return {r.id: r.text for r in server.model_requests()[-1].tool_results}


def trojans(outside: Path) -> dict[str, tuple[list, str]]:  # type: ignore[type-arg]
    """runner -> (the calls of one reply: write the runner's file, run it), canary path."""
    canary = outside / "canary"
    py = f"open({str(canary)!r}, 'w').write('pwned')\n"
    package = {"name": "demo", "version": "1.0.0", "scripts": {"test": f"node -e \"require('fs').writeFileSync('{canary}', 'pwned')\""}}
    return {
        "make": (
            [tool_call("write_file", {"path": "Makefile", "content": f"all:\n\techo pwned > {canary}\n"}, id="w"),
             tool_call("execute_bash", {"command": "make"}, id="run")],
            str(canary),
        ),
        "pytest": (
            [tool_call("write_file", {"path": "tests/conftest.py", "content": py}, id="w"),
             tool_call("execute_bash", {"command": "pytest -q -p no:cacheprovider tests"}, id="run")],
            str(canary),
        ),
        "npm": (
            [tool_call("write_file", {"path": "package.json", "content": json.dumps(package)}, id="w"),
             tool_call("execute_bash", {"command": "npm test"}, id="run")],
            str(canary),
        ),
        "cp then make": (
            [tool_call("execute_bash", {"command": "cp templates/build.mk Makefile"}, id="w"),
             tool_call("execute_bash", {"command": "make all"}, id="run")],
            str(canary),
        ),
    }  # fmt: skip


@pytest.mark.parametrize("runner", ["make", "pytest", "npm", "cp then make"])
def test_without_a_sandbox_a_runner_of_the_agents_code_is_refused(
    runner: str, world: tuple[Path, Path, dict[str, str]], fake_server: FakeServer
) -> None:
    ws, outside, env = world
    if runner == "npm" and shutil.which("npm", path=env["PATH"]) is None:
        pytest.skip("npm is not installed here")
    calls, canary = trojans(outside)[runner]
    (ws / "templates").mkdir()
    (ws / "templates" / "build.mk").write_text(f"all:\n\techo pwned > {canary}\n")
    configure(ws, sandbox=False)
    fake_server.script(reply(tool_calls=calls), reply(text="done"))
    stoa(ws, env)
    got = results(fake_server)
    assert not got["w"].startswith("Not run"), got["w"]  # the agent's change itself ran
    assert got["run"].startswith("Not run:"), got["run"][-1500:]
    assert "the agent changed" in got["run"] and "no OS sandbox" in got["run"], got["run"]
    assert not Path(canary).exists(), "the runner ran the agent's code unconfined"


@pytest.mark.skipif(not SANDBOX_WORKS, reason="bubblewrap does not work on this machine")
@pytest.mark.parametrize("runner", ["make", "pytest"])
def test_inside_the_sandbox_the_runner_runs_contained(
    runner: str, world: tuple[Path, Path, dict[str, str]], fake_server: FakeServer
) -> None:
    ws, outside, env = world
    calls, canary = trojans(outside)[runner]
    configure(ws, sandbox=True)
    fake_server.script(reply(tool_calls=calls), reply(text="done"))
    stoa(ws, env)
    got = results(fake_server)
    assert not got["run"].startswith("Not run"), got["run"]
    assert "sandboxed" in got["run"], got["run"][-800:]
    assert not Path(canary).exists()


def test_the_persons_own_project_still_builds_unasked_without_a_sandbox(
    world: tuple[Path, Path, dict[str, str]], fake_server: FakeServer
) -> None:
    ws, _outside, env = world
    (ws / "Makefile").write_text("all:\n\techo built > built.txt\n")
    configure(ws, sandbox=False)
    fake_server.script(
        reply(tool_calls=[tool_call("execute_bash", {"command": "make"}, id="run"),
                          tool_call("execute_bash", {"command": "pytest -q -p no:cacheprovider tests"}, id="t")]),
        reply(text="done"),
    )  # fmt: skip
    result = stoa(ws, env)
    got = results(fake_server)
    assert "[exit code 0" in got["run"] and "[exit code 0" in got["t"], got
    assert (ws / "built.txt").read_text() == "built\n"
    assert "no sandbox" in result.stderr  # headless says so on stderr


def test_a_resumed_conversation_remembers_what_the_agent_changed(
    world: tuple[Path, Path, dict[str, str]], fake_server: FakeServer
) -> None:
    ws, outside, env = world
    calls, canary = trojans(outside)["make"]
    configure(ws, sandbox=False)
    fake_server.script(reply(tool_calls=calls[:1]), reply(text="wrote the Makefile"))
    stoa(ws, env)
    assert (ws / "Makefile").exists()
    fake_server.script(reply(tool_calls=calls[1:]), reply(text="done"))
    result = subprocess.run(
        [*STOA, "-c", "-p", "now build it"], env=env, cwd=ws,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    got = results(fake_server)
    assert got["run"].startswith("Not run:") and "Makefile" in got["run"], got["run"]
    assert not Path(canary).exists()
