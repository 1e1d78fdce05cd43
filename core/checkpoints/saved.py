"""The ``turns`` table (schema version 4): each turn of a session and its checkpoint as JSON.

A turn row is written whole (an upsert) whenever its checkpoint changes, so a process killed
at any moment leaves the last complete state; rows are read back when a session is resumed,
so ``/undo`` works on the turns of an earlier process. Rows go when their session is deleted
(``SessionStore.delete``).
"""

from __future__ import annotations

import json
from pathlib import Path

from stoa.core.checkpoints.turn import Turn
from stoa.core.sessions.store import SessionStore, load_data

_COLUMNS = (
    "number, prompt, message_index, block_offset, record_seq, started_at, ended_at, state, checkpoint, bytes"
)


async def save_turn(store: SessionStore, session_id: str, turn: Turn) -> None:
    """Write one turn's row (insert or replace). Raises the store's ``SaveError``."""
    body = json.dumps(turn.checkpoint_json(), separators=(",", ":"))
    async with store._write("save the turn's checkpoint") as db:
        await db.execute(
            f"INSERT OR REPLACE INTO turns (session_id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                turn.number,
                turn.prompt,
                turn.message_index,
                turn.block_offset,
                turn.record_seq,
                turn.started_at,
                turn.ended_at,
                turn.state,
                body,
                turn.bytes,
            ),
        )


async def save_turns(store: SessionStore, session_id: str, turns: list[Turn]) -> None:
    for turn in turns:
        await save_turn(store, session_id, turn)


async def load_turns(store: SessionStore, session_id: str) -> list[Turn]:
    rows = await store._read(
        f"SELECT {_COLUMNS} FROM turns WHERE session_id = ? ORDER BY number", (session_id,)
    )
    turns: list[Turn] = []
    for row in rows:
        turn = Turn(
            number=int(row[0]),
            prompt=str(row[1]),
            message_index=int(row[2]),
            block_offset=int(row[3]),
            record_seq=int(row[4]),
            started_at=float(row[5]),
            ended_at=float(row[6]) if row[6] is not None else None,
            state=row[7] if row[7] in ("open", "done", "undone", "rewound") else "done",
            bytes=int(row[9]),
        )
        turn.load_checkpoint(load_data(row[8]))
        turns.append(turn)
    return turns


async def kept_objects(store: SessionStore, project: str | Path) -> tuple[set[str], set[str]]:
    """What the turns of a project's sessions keep in its shadow repository, and the ids of
    those sessions (their index files stay)."""
    rows = await store._read(
        "SELECT t.session_id, t.number, t.prompt, t.message_index, t.block_offset, t.record_seq, t.started_at, "
        "t.state, t.checkpoint FROM turns t JOIN sessions s ON s.id = t.session_id WHERE s.project = ?",
        (str(project),),
    )
    keep: set[str] = set()
    sessions: set[str] = set()
    for row in rows:
        sessions.add(str(row[0]))
        turn = Turn(
            int(row[1]), str(row[2]), int(row[3]), int(row[4]), int(row[5]), float(row[6]), state=row[7]
        )
        turn.load_checkpoint(load_data(row[8]))
        keep.update(turn.kept_objects())
    live = await store._read("SELECT id FROM sessions WHERE project = ?", (str(project),))
    sessions.update(str(r[0]) for r in live)
    return keep, sessions
