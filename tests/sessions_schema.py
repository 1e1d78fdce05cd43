"""A session database at an older schema version, for the tests of upgrades (their SQL is the
product's own migrations, stopped early)."""

from __future__ import annotations

from pathlib import Path

from stoa.core.sessions.schema import MIGRATIONS, statements
from stoa.core.sessions.store import _connect


async def migrate_to(path: Path, version: int) -> None:
    """Create a database at an older schema ``version``."""
    db = await _connect(path)
    try:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("BEGIN IMMEDIATE")
        for migration in MIGRATIONS:
            if migration.version > version:
                break
            for statement in statements(migration.script):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {int(migration.version)}")
        await db.execute("COMMIT")
    finally:
        await db.close()
