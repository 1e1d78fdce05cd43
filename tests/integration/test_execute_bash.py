"""execute_bash with real subprocesses: streaming, exit codes, timeout, interruption without
orphans, output caps, environment scrubbing, and the real bubblewrap sandbox (where it works).
Then the whole path through the agent loop with the fake provider: headless refusal naming the
rule, a batch where one call is refused and the other runs, and plan mode."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stoa.core import events as ev
from stoa.core.config import load_config
from stoa.core.events import ToolCallOutput
from stoa.core.permissions.approver import RefusingApprover
from stoa.core.runtime import Choices, build_runtime
from stoa.core.sandbox import detect
from stoa.core.tools.base import ToolContext, ToolError, ToolOutput
from stoa.core.tools.shell import ExecuteBash
from tests.fake_server import FakeServer, reply, tool_call

SANDBOX = detect()
needs_bwrap = pytest.mark.skipif(not SANDBOX.available, reason=f"no working bubblewrap here: {SANDBOX.reason}")


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder outside /tmp (which the sandbox keeps writable), under the real home."""
    base = Path(tempfile.mkdtemp(prefix="stoa-bash-test-", dir=os.path.expanduser("~")))
    try:
        yield base.resolve()
    finally:
        shutil.rmtree(base, ignore_errors=True)


class Outputs(list[ToolCallOutput]):
    """Streamed output events, with an event to await the first one."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()


def setup(place: Path, *, sandbox: bool, extra_env: dict[str, str] | None = None) -> tuple[Path, ToolContext, Outputs]:
    ws = place / "ws"
    (ws / ".stoa").mkdir(parents=True, exist_ok=True)
    (ws / ".git" / "hooks").mkdir(parents=True, exist_ok=True)
    home = place / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY\n")
    if not sandbox:
        (ws / ".stoa" / "config.toml").write_text("[sandbox]\nenabled = false\n")
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "STOA_HOME": str(place / "stoa-home"),
        **(extra_env or {}),
    }
    config = load_config(ws, env=env)
    events = Outputs()

    def emit(event: object) -> None:
        if isinstance(event, ToolCallOutput):
            events.append(event)
            events.arrived.set()

    return ws, ToolContext(workspace=ws, call_id="call-1", emit=emit, config=config), events


async def run(ctx: ToolContext, command: str, limit: int | None = None) -> ToolOutput:
    tool = ExecuteBash()
    raw: dict[str, object] = {"command": command}
    if limit is not None:
        raw["timeout_seconds"] = limit
    args = tool.parse_args(raw)
    tool.accesses(args, ctx)
    return await tool.run(args, ctx)


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line holds ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry))
    return found


async def until_gone(marker: str, seconds: float = 3.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = processes_with(marker)
        if not left:
            return []
        await asyncio.sleep(0.05)
    return processes_with(marker)


def nap() -> str:
    """A sleep duration unique to this test, to find its processes in /proc."""
    return f"{30 + uuid.uuid4().int % 1000 / 1000:.3f}"


# ---- running ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sandbox", [False, pytest.param(True, marks=needs_bwrap)])
async def test_output_streams_line_by_line_with_the_exit_code(place: Path, sandbox: bool) -> None:
    ws, ctx, events = setup(place, sandbox=sandbox)
    out = await run(ctx, "echo one; echo two >&2; printf 'three'; exit 3")
    # Each stream in order (the two pipes are read independently).
    assert [e.text for e in events if e.stream == "stdout"] == ["one\n", "three"]
    assert [e.text for e in events if e.stream == "stderr"] == ["two\n"]
    assert all(e.call_id == "call-1" for e in events)
    assert out.is_error
    assert out.text_content.startswith("one\nthree\n[stderr]\ntwo\n[exit code 3 · ")
    assert out.display is not None and out.display["exit_code"] == 3
    assert out.display["sandboxed"] is sandbox
    ok = await run(ctx, "pwd")
    assert not ok.is_error and ok.text_content.splitlines()[0] == str(ws)


async def test_output_arrives_while_the_command_runs(place: Path) -> None:
    _, ctx, events = setup(place, sandbox=False)
    task = asyncio.create_task(run(ctx, "echo early; sleep 2; echo late"))
    await asyncio.wait_for(events.arrived.wait(), 1.5)
    assert [e.text for e in events] == ["early\n"] and not task.done()
    out = await task
    assert [e.text for e in events] == ["early\n", "late\n"] and not out.is_error


@pytest.mark.parametrize("sandbox", [False, pytest.param(True, marks=needs_bwrap)])
async def test_timeout_kills_the_whole_group(place: Path, sandbox: bool) -> None:
    _, ctx, _ = setup(place, sandbox=sandbox)
    marker = nap()
    started = time.monotonic()
    # A child that ignores SIGTERM, and a grandchild in the background.
    out = await run(ctx, f"(trap '' TERM; sleep {marker}) & sleep {marker}", limit=1)
    assert time.monotonic() - started < 8
    assert out.is_error and "timed out after 1 s" in out.text_content
    assert await until_gone(marker) == []


@pytest.mark.parametrize("sandbox", [False, pytest.param(True, marks=needs_bwrap)])
async def test_interrupt_leaves_no_orphans(place: Path, sandbox: bool) -> None:
    _, ctx, events = setup(place, sandbox=sandbox)
    marker = nap()
    task = asyncio.create_task(run(ctx, f"sleep {marker} & (sleep {marker}; echo never) & echo ready; wait"))
    await asyncio.wait_for(events.arrived.wait(), 5)
    assert events[0].text == "ready\n"
    assert len(processes_with(marker)) >= 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await until_gone(marker) == []


async def test_interrupt_also_stops_children_that_left_the_group(place: Path) -> None:
    _, ctx, events = setup(place, sandbox=False)
    marker = nap()
    task = asyncio.create_task(run(ctx, f"setsid sleep {marker} & echo ready; wait"))
    await asyncio.wait_for(events.arrived.wait(), 5)
    assert processes_with(marker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await until_gone(marker) == []


async def test_background_jobs_left_behind_are_stopped(place: Path) -> None:
    _, ctx, _ = setup(place, sandbox=False)
    marker = nap()
    out = await run(ctx, f"sleep {marker} > /dev/null 2>&1 & echo started")
    assert not out.is_error and "background processes it left running were stopped" in out.text_content
    assert await until_gone(marker) == []
    held = await run(ctx, f"sleep {marker} & echo started")  # holds stdout open
    assert "started" in held.text_content and "stopped" in held.text_content
    assert await until_gone(marker) == []


async def test_output_is_capped_per_stream_while_reading(place: Path) -> None:
    _, ctx, events = setup(place, sandbox=False)
    out = await run(ctx, "seq 1 400000; echo tail-marker; seq 1 5 >&2")
    text = out.text_content
    assert "1\n2\n3\n" in text and "tail-marker" in text  # head and tail kept
    assert "bytes of stdout cut" in text
    assert len(text.encode()) < 200_000
    assert "[stderr]\n1\n2\n3\n4\n5\n" in text  # the other stream has its own budget
    streamed = sum(len(e.text) for e in events if e.stream == "stdout")
    assert streamed < 150_000  # the UI got the head and a note, not 2.6 MB


async def test_long_lines_and_binary_output(place: Path) -> None:
    _, ctx, events = setup(place, sandbox=False)
    out = await run(ctx, "head -c 30000 /dev/zero | tr '\\0' a; printf '\\xff\\xfe ok\\n'")
    assert max(len(e.text) for e in events) <= 8 * 1024 + 1
    # Bytes that are not UTF-8 read as \\xNN, the form file names that are not UTF-8 take too.
    assert "a" * 100 in out.text_content and "\\xff\\xfe ok" in out.text_content


async def test_the_environment_is_scrubbed(place: Path) -> None:
    secrets = {
        "ANTHROPIC_API_KEY": "sk-ant-secret",
        "OPENAI_API_KEY": "sk-secret",
        "GITHUB_TOKEN": "ghp_secret",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "AWS_PROFILE": "prod",
        "MY_SERVICE_PASSWORD": "hunter2",
        "DATABASE_URL": "postgres://u:pw@db/x",
        "SSH_AUTH_SOCK": "/tmp/agent.sock",
        "BASH_ENV": "/tmp/evil-startup",
    }
    _, ctx, _ = setup(place, sandbox=False, extra_env={**secrets, "KEEP_ME": "visible", "LANG": "C.UTF-8"})
    out = await run(ctx, "env")
    names = {line.split("=", 1)[0] for line in out.text_content.splitlines() if "=" in line}
    assert not names & set(secrets), names & set(secrets)
    for value in secrets.values():
        assert value not in out.text_content
    assert {"KEEP_ME", "LANG", "HOME", "PATH"} <= names
    assert "PAGER=cat" in out.text_content and "GIT_TERMINAL_PROMPT=0" in out.text_content


async def test_forbidden_commands_never_run(place: Path) -> None:
    ws, ctx, _ = setup(place, sandbox=False)
    with pytest.raises(ToolError, match="never run"):
        await run(ctx, f"sudo true; touch {ws}/ran")
    assert not (ws / "ran").exists()


# ---- the sandbox ------------------------------------------------------------------------------


@needs_bwrap
async def test_the_sandbox_confines_an_unknown_program(place: Path) -> None:
    ws, ctx, _ = setup(place, sandbox=True)
    home = place / "home"
    outside = place / "outside.txt"
    script = ws / "probe.sh"
    script.write_text(
        "#!/bin/bash\n"
        f"echo ws > {ws}/made-inside && echo inside-ok\n"
        f"echo x > {outside} 2>/dev/null && echo outside-WRITTEN || echo outside-refused\n"
        f"echo x > {home}/.bashrc 2>/dev/null && echo home-WRITTEN || echo home-refused\n"
        f"cat {home}/.ssh/id_rsa 2>/dev/null || echo ssh-hidden\n"
        f"echo x > {ws}/.stoa/config.local.toml 2>/dev/null && echo stoa-WRITTEN || echo stoa-refused\n"
        f"echo x > {ws}/.git/hooks/pre-commit 2>/dev/null && echo hook-WRITTEN || echo hook-refused\n"
        "echo x > /tmp/stoa-sandbox-probe-$$ && rm /tmp/stoa-sandbox-probe-$$ && echo tmp-ok\n"
        "(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && echo net-OPEN || echo net-refused\n"
        "ps -e | wc -l\n"
    )
    script.chmod(0o755)
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        out = await run(ctx, f"PORT={port} ./probe.sh")
    finally:
        server.close()
    lines = out.text_content.splitlines()
    assert out.display is not None and out.display["sandboxed"] is True, out.text_content
    for expected in ("inside-ok", "outside-refused", "home-refused", "ssh-hidden", "stoa-refused", "hook-refused", "tmp-ok", "net-refused"):
        assert expected in lines, (expected, out.text_content)
    assert (ws / "made-inside").read_text() == "ws\n"
    assert not outside.exists() and not (home / ".bashrc").exists()
    assert not (ws / ".stoa" / "config.local.toml").exists()
    # Its own PID namespace: only the sandbox's few processes are visible.
    assert int(lines[lines.index("net-refused") + 1].strip()) < 10


@needs_bwrap
async def test_a_sandboxed_command_cannot_touch_the_compiled_dataclass_code(place: Path) -> None:
    """Stoa runs the code in its data folder's dataclass cache (stoa.core.dataclass_cache) outside
    the sandbox: a sandboxed command may write the cache folder, never that file."""
    from stoa.core.dataclass_cache import cache_file, shared_cache_file

    (place / "home" / ".cache").mkdir(parents=True, exist_ok=True)
    ws, ctx, _ = setup(place, sandbox=True)
    code = cache_file(ctx.config.paths.data_dir)
    code.parent.mkdir(parents=True)
    code.write_bytes(b"kept")
    home_cache = place / "home" / ".cache"
    script = ws / "probe.sh"  # an unknown program: it runs in the sandbox
    script.write_text(
        "#!/bin/bash\n"
        f"(echo x > {code}) 2>/dev/null && echo code-WRITTEN || echo code-refused\n"
        f"rm -f {code} 2>/dev/null\n"
        f"echo x > {home_cache}/probe && echo cache-ok\n"
        # The shared file beside Stoa's .pyc files (outside this workspace): not writable either.
        f"(echo x >> {shared_cache_file()}) 2>/dev/null && echo shared-WRITTEN || echo shared-refused\n"
    )
    script.chmod(0o755)
    out = await run(ctx, "./probe.sh")
    assert out.display is not None and out.display["sandboxed"] is True, out.text_content
    assert "code-refused" in out.text_content and "cache-ok" in out.text_content, out.text_content
    assert "shared-refused" in out.text_content, out.text_content
    assert code.read_bytes() == b"kept"


@needs_bwrap
async def test_commands_that_need_the_real_machine_run_outside(place: Path) -> None:
    _, ctx, _ = setup(place, sandbox=True)
    out = await run(ctx, "ps -e | wc -l")
    assert out.display is not None and out.display["sandboxed"] is False
    assert int(out.text_content.split()[0]) >= 2


# ---- through the agent loop --------------------------------------------------------------------


def runtime_for(place: Path, server: FakeServer, mode: str, approver: object = None):  # type: ignore[no-untyped-def]
    ws = place / "ws"
    ws.mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(place / "home"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "STOA_HOME": str(place / "stoa-home"),
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
    }
    config = load_config(ws, env=env)
    return build_runtime(config, Choices(model="claude-sonnet-4-6", mode=mode), approver=approver)  # type: ignore[arg-type]


async def test_headless_refuses_with_the_rule_and_runs_the_rest_of_the_batch(place: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(place, fake_server, "auto", RefusingApprover())
    ws = place / "ws"
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("execute_bash", {"command": "git push origin main"}),
                tool_call("execute_bash", {"command": "echo hello > /dev/null; ls"}),
                tool_call("execute_bash", {"command": "sudo rm -rf /"}),
            ]
        ),
        reply(text="done"),
    )
    (ws / "present.txt").write_text("x")
    events = [e async for e in runtime.agent.run_turn("push it")]
    order = [e.call_id for e in events if isinstance(e, ev.ToolCallStarted)]
    finished = sorted((e for e in events if isinstance(e, ev.ToolCallFinished)), key=lambda e: order.index(e.call_id))
    assert [f.is_error for f in finished] == [True, False, True]
    assert '"Bash(git push:*)"' in finished[0].result_text and "Headless" in finished[0].result_text
    assert "present.txt" in finished[1].result_text
    assert finished[2].status == "denied" and "forbidden" in finished[2].result_text
    assert isinstance(events[-1], ev.TurnFinished)
    _, second = fake_server.model_requests()
    assert len(second.tool_results) == 3


async def test_plan_mode_runs_read_only_commands_only(place: Path, fake_server: FakeServer) -> None:
    runtime = runtime_for(place, fake_server, "plan", RefusingApprover())
    assert "execute_bash" in [t.name for t in runtime.registry.offered("plan")]
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("execute_bash", {"command": "ls -a"}),
                tool_call("execute_bash", {"command": "mkdir made"}),
            ]
        ),
        reply(text="ok"),
    )
    events = [e async for e in runtime.agent.run_turn("look")]
    order = [e.call_id for e in events if isinstance(e, ev.ToolCallStarted)]
    finished = sorted((e for e in events if isinstance(e, ev.ToolCallFinished)), key=lambda e: order.index(e.call_id))
    assert [f.is_error for f in finished] == [False, True]
    assert "plan mode" in finished[1].result_text
    assert not (place / "ws" / "made").exists()


def test_tools_of_a_venv_under_a_hidden_temp_folder_stay_visible(tmp_path: Path) -> None:
    """A project cloned under /tmp keeps its venv's programs inside the sandbox (read-only)."""
    from stoa.core.sandbox.bwrap import layout_for, wrap

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    tool = venv / "bin" / "mytool"
    tool.write_text("#!/bin/sh\necho tool-ran\n")
    tool.chmod(0o755)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    env = {"HOME": str(tmp_path), "PATH": f"{venv / 'bin'}:/usr/bin:/bin"}
    layout = layout_for(workspace, env=env)
    if not any(str(tmp_path).startswith(str(p)) for p in layout.private):
        pytest.skip(f"{tmp_path} is not under a temp folder the sandbox hides")
    assert venv in layout.toolchains
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    argv = wrap(["sh", "-c", f"mytool && touch {venv}/written"], layout)
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert "tool-ran" in result.stdout, result.stderr
    assert not (venv / "written").exists()
