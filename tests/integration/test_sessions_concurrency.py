"""Two Stoa processes on one session database at the same time."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stoa.core.agent.history import repair_messages
from stoa.core.config import StoaPaths
from stoa.core.sessions.schema import SCHEMA_VERSION
from stoa.core.sessions.store import SessionStore
from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.sessions_procs import Driver
from tests.sessions_schema import migrate_to


def start_pair(args: list[str], env: dict[str, str], cwd: Path, go: Path) -> list[Driver]:
    drivers = [Driver([*args, "--go-file", str(go)], env, cwd) for _ in range(2)]
    for driver in drivers:
        driver.wait_for("ready")
    go.write_text("go")  # both start writing at the same moment
    return drivers


def database(env: dict[str, str]) -> Path:
    return StoaPaths.from_env(env).database


def test_two_processes_writing_at_once_both_succeed(stoa_env: dict[str, str], tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    drivers = start_pair(["hammer", "--count", "150", "--workspace", str(workspace)], stoa_env, workspace, tmp_path / "go")
    for driver in drivers:
        assert driver.finish() == 0, driver.output()
        assert driver.seen("done")

    async def check() -> None:
        store = await SessionStore.open(database(stoa_env))
        try:
            assert await store.schema_version() == SCHEMA_VERSION
            sessions = await store.list_sessions(workspace.resolve())
            assert {s.id for s in sessions} == {d.session_id() for d in drivers}
            for info in sessions:
                messages = await store.load_messages(info.id)
                # 75 prompts (1 message each) and 75 tool rounds (3 messages each), in order.
                assert len(messages) == info.message_count == 75 + 75 * 3
                assert [m.role for m in messages[:5]] == ["user", "assistant", "user", "assistant", "user"]
                assert messages[0].text == "prompt 0" and messages[-1].text == "done 149"
                assert repair_messages(messages) != [] and all(m.role in ("user", "assistant") for m in messages)
                records = await store.load_records(info.id)
                assert sum(1 for r in records if r.kind == "tool" and r.data["status"] == "ok") == 75
                assert not info.turn_open
        finally:
            await store.aclose()

    asyncio.run(check())


def test_two_processes_race_to_migrate_an_old_database(stoa_env: dict[str, str], tmp_path: Path) -> None:
    path = database(stoa_env)
    path.parent.mkdir(parents=True)
    asyncio.run(migrate_to(path, 1))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    drivers = start_pair(["hammer", "--count", "20", "--workspace", str(workspace)], stoa_env, workspace, tmp_path / "go")
    for driver in drivers:
        assert driver.finish() == 0, driver.output()

    async def check() -> None:
        store = await SessionStore.open(path)
        try:
            assert await store.schema_version() == SCHEMA_VERSION
            assert len(await store.list_sessions()) == 2
        finally:
            await store.aclose()

    asyncio.run(check())


def test_two_agents_at_once_each_keep_a_valid_session(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text("alpha\n" * 100)
    fake_server.loop_script = True
    fake_server.script(
        reply(text="Reading.", tool_calls=[tool_call("read_file", {"path": "a.txt"})], chunk_size=8),
        reply(text="It is alpha all the way down.", chunk_size=8),
    )
    prompts = ["--prompt", "one", "--prompt", "two", "--prompt", "three"]
    drivers = start_pair(["agent", "--workspace", str(workspace), *prompts], stoa_env, workspace, tmp_path / "go")
    for driver in drivers:
        assert driver.finish() == 0, driver.output()
        assert driver.seen("done") and not driver.seen("notice"), driver.output()

    async def check() -> None:
        store = await SessionStore.open(database(stoa_env))
        try:
            sessions = await store.list_sessions(workspace.resolve())
            assert {s.id for s in sessions} == {d.session_id() for d in drivers}
            for info in sessions:
                messages = await store.load_messages(info.id)
                assert messages == repair_messages(messages)
                prompts_seen = [b.text for m in messages if m.role == "user" for b in m.content if getattr(b, "text", None) in ("one", "two", "three")]
                assert prompts_seen == ["one", "two", "three"]
                assert info.message_count == len(messages)
                assert info.usage.output_tokens > 0 and not info.turn_open
        finally:
            await store.aclose()

    asyncio.run(check())
