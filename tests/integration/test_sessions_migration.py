"""Upgrading a database written with the first schema, in place, without losing anything."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.providers.types import Message, TextBlock, user_text
from stoa.core.runtime import Choices, build_runtime
from stoa.core.sessions import DatabaseUnusableError, SessionStore, close_session, open_session
from stoa.core.sessions.schema import SCHEMA_VERSION
from tests.sessions_schema import migrate_to

SESSION = "0f0f0f0f-1111-4222-8333-444455556666"


def write_v1_session(path: Path, project: str) -> list[Message]:
    """A session exactly as the first schema stored it (raw SQL, no v2 columns)."""
    history = [user_text("old prompt"), Message(role="assistant", content=[TextBlock(text="old answer\nmore")])]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        db.execute(
            "INSERT INTO sessions (id, project, title, model, provider, mode, effort, created_at, updated_at, "
            "message_count, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd) "
            "VALUES (?, ?, 'Old session', 'claude-haiku-4-5', 'anthropic', 'plan', 'off', 1000, 2000, 2, 500, 40, 100, 0, 0.0007)",
            (SESSION, project),
        )
        for seq, message in enumerate(history, 1):
            db.execute(
                "INSERT INTO messages (session_id, seq, role, body, created_at) VALUES (?, ?, ?, ?, 1500)",
                (SESSION, seq, message.role, message.model_dump_json()),
            )
        for seq, (kind, text) in enumerate([("user", "old prompt"), ("assistant", "old answer\nmore")], 1):
            db.execute(
                "INSERT INTO records (session_id, seq, kind, data, created_at) VALUES (?, ?, ?, ?, 1500)",
                (SESSION, seq, kind, json.dumps({"text": text})),
            )
    return history


async def test_a_first_schema_database_upgrades_and_resumes(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    env = {"STOA_HOME": str(tmp_path / "home"), "HOME": str(tmp_path), "ANTHROPIC_API_KEY": "k"}
    config = load_config(workspace, env=env)
    path = config.paths.database
    path.parent.mkdir(parents=True)
    await migrate_to(path, 1)
    history = write_v1_session(path, str(workspace))

    store = await SessionStore.open(path)
    try:
        assert await store.schema_version() == SCHEMA_VERSION
        assert store.notices == []
        info = await store.get(SESSION)
        assert info is not None
        assert (info.title, info.model, info.mode, info.message_count) == ("Old session", "claude-haiku-4-5", "plan", 2)
        assert info.preview == "old answer\nmore"  # backfilled from the display records
        assert info.title_source == "prompt" and info.ledger == {} and not info.last_turn_interrupted
        assert info.last_turn_at == info.updated_at == 2000
        assert await store.load_messages(SESSION) == history
    finally:
        await store.aclose()

    runtime = build_runtime(config, Choices())
    handle = await open_session(runtime, resume=SESSION[:8], titles=False)
    try:
        assert runtime.agent.history.messages == history
        assert (runtime.agent.model.id, runtime.policy.mode) == ("claude-haiku-4-5", "plan")
        # Schema 1 had no per-model ledger: the counters become one for the session's model.
        ledger = runtime.agent.ledger
        assert ledger.total.input_tokens == 500 and ledger.total.cache_read_tokens == 100
        assert ledger.cost_usd == pytest.approx(0.0007)
        assert [r.kind for r in handle.records] == ["user", "assistant"]
    finally:
        await close_session(runtime)


async def test_a_failed_migration_leaves_the_old_schema_intact(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    await migrate_to(path, 1)
    write_v1_session(path, "/p")
    with sqlite3.connect(path) as db:
        # A column the upgrade will try to add already exists: its ALTER TABLE fails halfway.
        db.execute("ALTER TABLE sessions ADD COLUMN ledger TEXT")
    with pytest.raises(DatabaseUnusableError, match=str(path)):
        await SessionStore.open(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
        assert "title_source" not in columns  # the earlier statements were rolled back too
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
    assert sorted(p.name for p in listing(tmp_path) if "corrupt" in p.name) == []  # not moved aside


def listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())
