"""The archive of compactions.

``save_compaction`` replaces a session's saved history with the compacted one and moves the
messages the compaction took out into ``rewound_messages`` under a ``rewinds`` row of kind
``compaction`` (schema version 4: the one place where messages taken out of a conversation are
kept, for rewinds and compactions alike; its ``detail`` holds the trigger, the summary and the
sizes), in one transaction: the saved history always mirrors the live one, nothing is deleted.
``load_compaction`` reads an archive back (a resumed session's summary fold expands to it);
``purge_archives`` deletes archives older than an age, the one way they leave the database
besides deleting the session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stoa.core.providers.types import Message
from stoa.core.sessions.store import SessionStore, load_data, message_json


@dataclass(frozen=True)
class ArchivedCompaction:
    id: int
    session_id: str
    trigger: str
    summary: str
    tokens_before: int
    tokens_after: int
    record_seq: int
    detail: dict[str, Any]
    created_at: float
    messages: list[Message]


KIND = "compaction"


async def save_compaction(
    store: SessionStore,
    session_id: str,
    *,
    history: Sequence[Message],
    archived: Sequence[Message],
    trigger: str,
    summary: str,
    tokens_before: int,
    tokens_after: int,
    record_seq: int,
    detail: dict[str, Any] | None = None,
) -> int:
    """Save a compaction (see the module doc); returns the archive's id. Raises the store's
    ``SaveError`` when the database cannot be written; then nothing changed."""
    now = store.clock()
    about = {
        **(detail or {}),
        "trigger": trigger,
        "summary": summary,
        "tokens_before": tokens_before,
        "tokens_after": tokens_after,
        "record_seq": record_seq,
    }
    async with store._write("save the compacted conversation") as db:
        cursor = await db.execute(
            "INSERT INTO rewinds (session_id, kind, detail, created_at) VALUES (?, ?, ?, ?)",
            (session_id, KIND, json.dumps(about), now),
        )
        archive_id = cursor.lastrowid
        assert archive_id is not None
        await db.executemany(
            "INSERT INTO rewound_messages (rewind_id, session_id, seq, role, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(archive_id, session_id, i, m.role, message_json(m), now) for i, m in enumerate(archived)],
        )
        await db.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
        await db.executemany(
            "INSERT INTO messages (session_id, seq, role, body, created_at) VALUES (?, ?, ?, ?, ?)",
            [(session_id, i, m.role, message_json(m), now) for i, m in enumerate(history, 1)],
        )
        await db.execute(
            "UPDATE sessions SET message_count = ?, updated_at = ? WHERE id = ?", (len(history), now, session_id)
        )
    return int(archive_id)


def _compaction(row: Sequence[Any], messages: list[Message]) -> ArchivedCompaction:
    detail = load_data(row[2])
    return ArchivedCompaction(
        id=int(row[0]),
        session_id=str(row[1]),
        trigger=str(detail.get("trigger", "")),
        summary=str(detail.get("summary", "")),
        tokens_before=int(detail.get("tokens_before", 0)),
        tokens_after=int(detail.get("tokens_after", 0)),
        record_seq=int(detail.get("record_seq", 0)),
        detail=detail,
        created_at=float(row[3]),
        messages=messages,
    )


async def list_compactions(store: SessionStore, session_id: str) -> list[ArchivedCompaction]:
    """A session's compactions, oldest first (without their messages)."""
    rows = await store._read(
        "SELECT id, session_id, detail, created_at FROM rewinds WHERE session_id = ? AND kind = ? ORDER BY id",
        (session_id, KIND),
    )
    return [_compaction(r, []) for r in rows]


async def load_compaction(store: SessionStore, archive_id: int) -> ArchivedCompaction | None:
    """One compaction with the messages it archived, or None (purged, or never saved)."""
    rows = await store._read(
        "SELECT id, session_id, detail, created_at FROM rewinds WHERE id = ? AND kind = ?", (int(archive_id), KIND)
    )
    if not rows:
        return None
    bodies = await store._read(
        "SELECT body FROM rewound_messages WHERE rewind_id = ? ORDER BY seq", (int(archive_id),)
    )
    messages: list[Message] = []
    for (body,) in bodies:
        try:
            messages.append(Message.model_validate_json(body))
        except ValueError:
            continue
    return _compaction(rows[0], messages)


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|hours?|d|days?|w|weeks?)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86_400, "w": 604_800}


def parse_age(text: str) -> float:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"2w"`` (or a number of days) in seconds; ``""`` is 0
    (everything). Raises ValueError with what to write instead."""
    if not text.strip():
        return 0.0
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"{text.strip()!r} is not an age; write it like 7d, 12h, 30m or 2w")
    unit = (match.group(2) or "d").lower()
    key = unit if unit in _UNITS else unit[0]
    return float(match.group(1)) * _UNITS[key]


@dataclass(frozen=True)
class PurgePlan:
    archives: int
    messages: int
    sessions: int


_CHOSEN = (
    "SELECT r.id FROM rewinds r JOIN sessions s ON s.id = r.session_id "
    "WHERE s.project = ? AND r.kind = 'compaction' AND r.created_at <= ?"
)


async def purge_plan(store: SessionStore, project: str, older_than: float) -> PurgePlan:
    """What ``purge_archives`` would delete (to ask before doing it)."""
    cutoff = store.clock() - older_than
    rows = await store._read(
        f"SELECT COUNT(*), COUNT(DISTINCT session_id), COALESCE(SUM((SELECT COUNT(*) FROM rewound_messages m "
        f"WHERE m.rewind_id = r.id)), 0) FROM rewinds r WHERE r.id IN ({_CHOSEN})",
        (project, cutoff),
    )
    count, sessions, messages = rows[0]
    return PurgePlan(archives=int(count), messages=int(messages), sessions=int(sessions))


async def purge_archives(store: SessionStore, project: str, older_than: float) -> PurgePlan:
    """Delete the archived messages of this project's compactions older than ``older_than``
    seconds (their summaries stay in the conversations). Returns what was deleted."""
    plan = await purge_plan(store, project, older_than)
    cutoff = store.clock() - older_than
    async with store._write("purge the archives") as db:
        await db.execute(f"DELETE FROM rewound_messages WHERE rewind_id IN ({_CHOSEN})", (project, cutoff))
        await db.execute(f"DELETE FROM rewinds WHERE id IN ({_CHOSEN})", (project, cutoff))
    return plan
