"""kill -9 at random moments: the database opens, the session resumes, nothing saved is lost.

A driver process (built like headless Stoa: ``build_runtime`` + ``open_session``) runs two
turns against the fake server: streamed thinking and text, a file read, a slow tool, a long
reply. The test kills it with SIGKILL after a random delay drawn over the whole run, many
times, and after each kill checks that:

- the database opens without being treated as damaged, and SQLite's integrity check passes;
- everything the driver had reported as done before the kill is there (the user's prompt
  once its turn started, each assistant message once it completed);
- the session resumes through ``open_session``: the history is protocol-valid
  (``repair_messages`` is a no-op on it, and it is saved back that way), no tool call is left
  "running" in the replay, an unfinished turn is flagged for the away summary;
- a new turn on the resumed session succeeds, and every request the fake server saw, from
  the killed processes and the resumed ones, passes the protocol checker (conftest).

Runs: SESSIONS_KILL_RUNS (default 10); the random seed is printed on failure (SESSIONS_KILL_SEED
replays it).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import time
from pathlib import Path

import pytest

from stoa.core import events as ev
from stoa.core.agent.history import repair_messages
from stoa.core.config import StoaPaths, load_config
from stoa.core.runtime import Choices, build_runtime
from stoa.core.sessions import SessionStore, close_session, open_session
from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.sessions_procs import Driver

RUNS = int(os.environ.get("SESSIONS_KILL_RUNS", "10"))
CHECK_PROMPT = "resume-check: are you still there?"


def script_server(server: FakeServer) -> None:
    server.loop_script = True
    server.script(
        reply(
            thinking="I should read the file and wait for the slow tool.",
            text="Let me look at the file first.",
            tool_calls=[tool_call("read_file", {"path": "a.txt"}), tool_call("slow_tool", {"seconds": 0.15})],
            chunk_size=6,
            delay_per_event=0.002,
            usage={"input_tokens": 900, "output_tokens": 60, "cache_read_tokens": 2000},
        ),
        reply(text="The file holds many lines of alpha. " * 30, chunk_size=12, delay_per_event=0.002),
    )
    server.add_rule(
        reply(text="Yes, I am here."),
        match=lambda r: CHECK_PROMPT in json.dumps((r.body or {}).get("messages", [])[-1:]),
    )


def run_env(stoa_env: dict[str, str], home: Path) -> dict[str, str]:
    return {**stoa_env, "STOA_HOME": str(home)}


def start(env: dict[str, str], workspace: Path) -> Driver:
    return Driver(["agent", "--workspace", str(workspace), "--prompt", "first prompt", "--prompt", "second prompt"], env, workspace)


async def check_after_kill(env: dict[str, str], workspace: Path, markers: list[str]) -> str:
    """All the checks of one killed run. Returns a one-word outcome for the tally."""
    path = StoaPaths.from_env(env).database
    if not path.exists():
        assert not any(m.startswith("turn-started") for m in markers), markers
        return "before-db"
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = await SessionStore.open(path)
    try:
        assert store.notices == [], store.notices  # a kill never makes the file "damaged"
        sessions = await store.list_sessions()
        if not sessions:
            assert not any(m.startswith("turn-started") for m in markers), markers
            return "before-first-save"
        assert len(sessions) == 1
        info = sessions[0]
        saved = await store.load_messages(info.id)
    finally:
        await store.aclose()

    texts = " ".join(m.text for m in saved if m.role == "user")
    if any(m.startswith("turn-started 1") for m in markers):
        assert "first prompt" in texts
    if any(m.startswith("turn-started 2") for m in markers):
        assert "second prompt" in texts
    completed = sum(1 for m in markers if m.startswith("assistant-saved"))
    assert sum(1 for m in saved if m.role == "assistant") >= completed, (markers, saved)

    runtime = build_runtime(load_config(workspace, env=env), Choices())
    handle = await open_session(runtime, continue_latest=True, titles=False)
    try:
        history = list(runtime.agent.history.messages)
        assert history == repair_messages(history)
        assert all(r.data.get("status") != "running" for r in handle.records if r.kind == "tool")
        finished_all = any(m.startswith("turn-finished 2") for m in markers)
        if info.turn_open:
            assert handle.away is not None and handle.away.interrupted and handle.away.crashed
        events = [e async for e in runtime.agent.run_turn(CHECK_PROMPT)]
        assert isinstance(events[-1], ev.TurnFinished), events[-1]
        assert events[-1].text == "Yes, I am here."
    finally:
        await close_session(runtime)
    store = await SessionStore.open(path)
    try:
        after = await store.load_messages(info.id)
        assert after == repair_messages(after)
        # The repaired history was saved back; a trailing user message (a prompt that never
        # got its reply) has the check prompt merged into it, as the agent does.
        keep = len(history)
        if history and history[-1].role == "user":
            keep -= 1
            last = history[-1].content
            assert after[keep].content[: len(last)] == last
        assert after[:keep] == history[:keep]
        assert [m.role for m in after[len(history) :]][-1] == "assistant"
    finally:
        await store.aclose()
    if finished_all:
        return "after-all"
    return "mid-turn" if info.turn_open else "between-turns"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_9_at_random_moments_then_resume(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    seed = int(os.environ.get("SESSIONS_KILL_SEED", str(time.time_ns() % 1_000_000)))
    rng = random.Random(seed)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text("alpha\n" * 400)
    script_server(fake_server)

    # Two full runs, unkilled (the first warms caches), measure how long the work lasts.
    for name in ("warm", "calibrate"):
        calibration = start(run_env(stoa_env, tmp_path / name), workspace)
        calibration.wait_for("ready")
        began = time.monotonic()
        calibration.wait_for("turn-finished 2", timeout=60)
        span = time.monotonic() - began
        assert calibration.finish() == 0, calibration.output()

    tally: dict[str, int] = {}
    for run in range(RUNS):
        env = run_env(stoa_env, tmp_path / f"run{run}")
        driver = start(env, workspace)
        driver.wait_for("ready")
        time.sleep(rng.uniform(0.0, span * 1.05))
        markers = list(driver.lines)  # reported before the kill, so saved before the kill
        driver.kill()
        try:
            outcome = asyncio.run(check_after_kill(env, workspace, markers))
        except AssertionError as exc:
            raise AssertionError(f"run {run} (SESSIONS_KILL_SEED={seed}), markers {markers}: {exc}") from exc
        tally[outcome] = tally.get(outcome, 0) + 1
    print(f"kill -9 outcomes over {RUNS} runs (seed {seed}, run span {span:.2f}s): {tally}")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_kill_9_while_saving(stoa_env: dict[str, str], tmp_path: Path) -> None:
    """A process that does nothing but save (messages, tool records, turn state) is killed
    mid-write: the last transaction is either all there or not at all."""
    seed = int(os.environ.get("SESSIONS_KILL_SEED", str(time.time_ns() % 1_000_000)))
    rng = random.Random(seed)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    for run in range(max(4, RUNS // 2)):
        env = run_env(stoa_env, tmp_path / f"run{run}")
        driver = Driver(["hammer", "--count", "100000", "--workspace", str(workspace)], env, workspace)
        driver.wait_for("saved 1", timeout=60)
        time.sleep(rng.uniform(0.0, 0.5))
        markers = list(driver.lines)
        driver.kill()
        saved_before = max(int(m.split()[1]) for m in markers if m.startswith("saved "))

        async def check(env: dict[str, str], saved_before: int) -> None:
            path = StoaPaths.from_env(env).database
            with sqlite3.connect(path) as raw:
                assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            store = await SessionStore.open(path)
            try:
                assert store.notices == []
                (info,) = await store.list_sessions()
                saved = await store.load_messages(info.id)
                assert len(saved) >= saved_before
                assert info.message_count == len(saved)  # counters moved with the messages
                records = await store.load_records(info.id)
                assert len(records) >= saved_before // 2
            finally:
                await store.aclose()
            runtime = build_runtime(load_config(workspace, env=env), Choices())
            handle = await open_session(runtime, resume=info.id, titles=False)
            try:
                history = runtime.agent.history.messages
                assert history == repair_messages(history)
                assert len(history) >= len(saved)
                assert all(r.data.get("status") != "running" for r in handle.records if r.kind == "tool")
            finally:
                await close_session(runtime)

        try:
            asyncio.run(check(env, saved_before))
        except AssertionError as exc:
            raise AssertionError(f"run {run} (SESSIONS_KILL_SEED={seed}), {saved_before} saved: {exc}") from exc


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_9_real_stoa_headless_then_continue(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    """The real CLI: `stoa -p` once, then `stoa -c -p` again and again, each killed at a random
    moment or left to finish; every run continues the one session, and the final run's json
    reports it with its usage and cost."""
    import subprocess
    import sys

    seed = int(os.environ.get("SESSIONS_KILL_SEED", str(time.time_ns() % 1_000_000)))
    rng = random.Random(seed)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text("alpha\n" * 400)
    fake_server.loop_script = True
    fake_server.script(
        reply(
            text="Let me look around.",
            tool_calls=[tool_call("read_file", {"path": "a.txt"}), tool_call("list_directory", {"path": "."})],
            chunk_size=6,
            delay_per_event=0.003,
            usage={"input_tokens": 700, "output_tokens": 50, "cache_read_tokens": 1500},
        ),
        reply(text="All alpha, nothing else. " * 25, chunk_size=10, delay_per_event=0.003),
    )
    fake_server.add_rule(
        reply(text="Yes, I am here.", usage={"input_tokens": 10, "output_tokens": 5}),
        match=lambda r: CHECK_PROMPT in json.dumps((r.body or {}).get("messages", [])[-1:]),
    )
    stoa = [sys.executable, "-m", "stoa.app.cli"]
    env = {**stoa_env, "PYTHONPATH": stoa_env["PYTHONPATH"]}

    def run(args: list[str], kill_after: float | None = None) -> subprocess.CompletedProcess[str] | None:
        proc = subprocess.Popen([*stoa, *args], cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if kill_after is not None:
            try:
                proc.wait(kill_after)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                return None
        out, err = proc.communicate(timeout=120)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    first = run(["-p", "turn 0"])
    assert first is not None and first.returncode == 0, first and first.stderr
    began = time.monotonic()  # the second run (warm caches, the database exists) sets the span
    second = run(["-c", "-p", "turn 0b"])
    span = time.monotonic() - began
    assert second is not None and second.returncode == 0, second and second.stderr

    async def check_database() -> str:
        path = StoaPaths.from_env(env).database
        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store = await SessionStore.open(path)
        try:
            assert store.notices == []
            (info,) = await store.list_sessions(workspace.resolve())
            return info.id
        finally:
            await store.aclose()

    session_id = asyncio.run(check_database())
    killed = finished = 0
    for number in range(1, max(6, RUNS) + 1):
        result = run(["-c", "-p", f"turn {number}"], kill_after=rng.uniform(0.0, span * 1.4))
        if result is None:
            killed += 1
        else:
            finished += 1
            assert result.returncode == 0, f"run {number} (SESSIONS_KILL_SEED={seed}): {result.stderr}"
        assert asyncio.run(check_database()) == session_id, f"run {number} (SESSIONS_KILL_SEED={seed})"

    final = run(["-c", "-p", CHECK_PROMPT, "--output-format", "json"])
    assert final is not None and final.returncode == 0, final and final.stderr
    report = json.loads(final.stdout.strip().splitlines()[-1])
    assert report["success"] and report["response"] == "Yes, I am here."
    assert report["session_id"] == session_id
    assert report["usage"]["output_tokens"] > 0 and report["cost_usd"] > 0

    async def check_history() -> None:
        store = await SessionStore.open(StoaPaths.from_env(env).database)
        try:
            saved = await store.load_messages(session_id)
            assert saved == repair_messages(saved)
            prompts = " ".join(m.text for m in saved if m.role == "user")
            assert "turn 0" in prompts and CHECK_PROMPT in prompts
        finally:
            await store.aclose()

    asyncio.run(check_history())
    print(f"real stoa -p: {killed} killed, {finished} finished (seed {seed}, span {span:.2f}s)")
