"""Prompt history per project: what the person sent from the composer, kept in the session
database (table ``prompts``, schema version 3) so Up/Down and Ctrl+R reach the prompts of
earlier runs in the same project, not only this process's.

Consecutive repeats are stored once; each project keeps its newest ``KEEP_PER_PROJECT`` prompts.
Failures raise the store's errors (``SaveError``, ``SessionStoreError``): the history is a
convenience, so callers may ignore them (the conversation itself is saved by the recorder).
"""

from __future__ import annotations

from stoa.core.escapes import escape_surrogates
from stoa.core.sessions.store import SessionStore

# How many prompts the composer loads, and how many a project keeps.
LOAD_LIMIT = 1_000
KEEP_PER_PROJECT = 5_000


async def add_prompt(store: SessionStore, project: str, text: str, *, keep: int = KEEP_PER_PROJECT) -> None:
    """Append a prompt to the project's history (not when it repeats the last one); the project
    keeps its newest ``keep``."""
    if not text.strip():
        return
    text = escape_surrogates(text)  # SQLite refuses lone surrogates
    async with store._write("save the prompt history") as db:
        last = list(
            await db.execute_fetchall("SELECT text FROM prompts WHERE project = ? ORDER BY id DESC LIMIT 1", (project,))
        )
        if last and last[0][0] == text:
            return
        await db.execute(
            "INSERT INTO prompts (project, text, created_at) VALUES (?, ?, ?)", (project, text, store.clock())
        )
        await db.execute(
            "DELETE FROM prompts WHERE project = ? AND id <= "
            "(SELECT id FROM prompts WHERE project = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (project, project, int(keep)),
        )


async def load_prompts(store: SessionStore, project: str, *, limit: int = LOAD_LIMIT) -> list[str]:
    """The project's newest ``limit`` prompts, oldest first (the order Up walks back through)."""
    rows = await store._read(
        "SELECT text FROM prompts WHERE project = ? ORDER BY id DESC LIMIT ?", (project, int(limit))
    )
    return [str(row[0]) for row in reversed(rows)]
