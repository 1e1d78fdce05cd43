"""Prompt history per project in the session database (real SQLite files)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from stoa.core.sessions.prompts import add_prompt, load_prompts
from stoa.core.sessions.store import SessionStore
from tests.sessions_schema import migrate_to


async def test_prompts_come_back_oldest_first_per_project(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    async with await SessionStore.open(path) as store:
        for text in ("fix the tests", "fix the tests", "now the docs", "fix the tests"):
            await add_prompt(store, "/work/a", text)
        await add_prompt(store, "/work/b", "elsewhere")
        await add_prompt(store, "/work/a", "   ")  # blank: not history
    # Another process, later: the same history.
    async with await SessionStore.open(path) as store:
        assert await load_prompts(store, "/work/a") == ["fix the tests", "now the docs", "fix the tests"]
        assert await load_prompts(store, "/work/b") == ["elsewhere"]
        assert await load_prompts(store, "/work/a", limit=2) == ["now the docs", "fix the tests"]
        assert await load_prompts(store, "/nowhere") == []


async def test_each_project_keeps_its_newest_prompts(tmp_path: Path) -> None:
    async with await SessionStore.open(tmp_path / "sessions.db") as store:
        for i in range(12):
            await add_prompt(store, "/p", f"prompt {i}", keep=5)
            await add_prompt(store, "/q", f"other {i}", keep=50)
        assert await load_prompts(store, "/p") == [f"prompt {i}" for i in range(7, 12)]
        assert len(await load_prompts(store, "/q")) == 12


async def test_text_sqlite_would_refuse_is_kept_in_escape_form(tmp_path: Path) -> None:
    async with await SessionStore.open(tmp_path / "sessions.db") as store:
        await add_prompt(store, "/p", "open bad\udcff.txt please")
        assert await load_prompts(store, "/p") == ["open bad\\xff.txt please"]


async def test_upgrading_fills_the_history_from_saved_sessions(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    await migrate_to(path, 2)
    with sqlite3.connect(path) as db:
        for sid, project in (("s1", "/p"), ("s2", "/p"), ("s3", "/other")):
            db.execute(
                "INSERT INTO sessions (id, project, model, provider, created_at, updated_at) "
                "VALUES (?, ?, 'claude-haiku-4-5', 'anthropic', 1, 1)",
                (sid, project),
            )
        rows = [
            ("s1", 1, "user", {"text": "first, in s1", "steering": False}, 10),
            ("s1", 2, "assistant", {"text": "an answer"}, 11),
            ("s2", 1, "user", {"text": "then in s2", "steering": False}, 20),
            ("s1", 3, "user", {"text": "typed while it worked", "steering": True}, 30),
            ("s3", 1, "user", {"text": "another project"}, 15),
        ]
        for sid, seq, kind, data, at in rows:
            db.execute(
                "INSERT INTO records (session_id, seq, kind, data, created_at) VALUES (?, ?, ?, ?, ?)",
                (sid, seq, kind, json.dumps(data), at),
            )
    async with await SessionStore.open(path) as store:
        assert await load_prompts(store, "/p") == ["first, in s1", "then in s2", "typed while it worked"]
        assert await load_prompts(store, "/other") == ["another project"]
