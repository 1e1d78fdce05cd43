"""Rewinding a conversation: back to just before one of the person's messages.

``rewind_conversation`` cuts the agent's history where a turn's prompt starts (a prompt that
was merged into the user message of an interrupted turn keeps the blocks before it), repairs
what is left so every provider accepts it (``repair_messages``), and moves the cut-off
messages and display records, in one transaction, from ``messages`` and ``records`` to
``rewound_messages`` and ``rewound_records`` under a ``rewinds`` row (schema version 4):
nothing is deleted, and ``load_rewound`` reads them back. The recorder then continues from the
new end of the conversation. Only deleting the session removes them (``SessionStore.delete``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stoa.core.agent.history import History, repair_messages
from stoa.core.providers.types import Message, TextBlock
from stoa.core.sessions.store import DisplayRecord, SaveError, SessionStore, load_data, message_json

if TYPE_CHECKING:
    from stoa.core.runtime import Runtime


class RewindError(Exception):
    """The conversation cannot go back there; the message says why."""


@dataclass(frozen=True)
class Cut:
    """Where a turn's prompt starts in a history: the message, and the block inside it."""

    index: int
    offset: int


def _texts(blocks: list[object]) -> str:
    return "".join(b.text for b in blocks if isinstance(b, TextBlock))


def locate(messages: list[Message], index: int, offset: int, prompt: str) -> Cut | None:
    """Where ``prompt`` starts: at the recorded place when it is still there, else found by
    its text (searching back from the end); None when the history no longer holds it."""

    def holds(i: int, j: int) -> bool:
        message = messages[i]
        return message.role == "user" and _texts(list(message.content[j:])).startswith(prompt)

    if 0 <= index < len(messages) and 0 <= offset <= len(messages[index].content) and holds(index, offset):
        return Cut(index, offset)
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message.role != "user":
            continue
        for j in range(len(message.content) - 1, -1, -1):
            if isinstance(message.content[j], TextBlock) and holds(i, j):
                return Cut(i, j)
    return None


def history_before(messages: list[Message], cut: Cut) -> tuple[list[Message], Message | None]:
    """The history before the cut (protocol-valid), and the rewritten last message when the
    cut fell inside one (else None)."""
    kept = list(messages[: cut.index])
    partial: Message | None = None
    if cut.offset > 0:
        partial = Message(role="user", content=list(messages[cut.index].content[: cut.offset]))
        kept.append(partial)
    return repair_messages(kept), partial


async def rewind_conversation(
    runtime: Runtime, *, message_index: int, block_offset: int, prompt: str, record_seq: int, turn_number: int
) -> list[Message]:
    """Take the conversation back to just before a turn's prompt (see the module doc).
    Returns the new history. Raises ``RewindError`` when the prompt is no longer in the
    history, or the session cannot be saved (then nothing changed)."""
    agent = runtime.agent
    messages = list(agent.history.messages)
    cut = locate(messages, message_index, block_offset, prompt)
    if cut is None:
        raise RewindError(
            "that message is no longer in the conversation (it was compacted or rewound); the files can "
            "still be put back: choose 'files only'"
        )
    history, partial = history_before(messages, cut)
    session = runtime.session
    if session is not None:
        recorder = session.recorder
        if not await recorder.flush():
            raise RewindError(
                "earlier parts of this session are not saved yet (the database cannot be written); "
                "rewind once saving works again"
            )
        try:
            await move_tail(
                session.store,
                session.session_id,
                keep_messages=cut.index + (1 if partial is not None else 0),
                last_message=partial,
                keep_records_below=record_seq,
                kind="rewind",
                detail={"turn": turn_number, "prompt": prompt[:500]},
            )
        except SaveError as exc:
            raise RewindError(f"the session could not be saved, so nothing was rewound: {exc}") from exc
        recorder.rewound(history[-1] if history else None)
    agent.history = History(history)
    agent.last_turn_interrupted = False
    return history


# A seq no message has (SQLite integers are 64-bit): "none" in the moving query.
_NO_SEQ = 1 << 62


@dataclass(frozen=True)
class Rewound:
    """What one rewind took out of a session."""

    id: int
    session_id: str
    kind: str
    detail: dict[str, Any]
    created_at: float
    messages: list[Message]
    records: list[DisplayRecord]


async def move_tail(
    store: SessionStore,
    session_id: str,
    *,
    keep_messages: int,
    last_message: Message | None = None,
    keep_records_below: int,
    kind: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Move the end of a conversation into a new rewind record; returns its id.

    The first ``keep_messages`` saved messages (in order) stay; the rest move. With
    ``last_message``, the last message that stays is rewritten to it (a cut inside a merged user
    message) and its original body is kept with the rest. Display records with ``seq`` at or above
    ``keep_records_below`` move. Raises ``SaveError`` (the store's) when the database cannot be
    written; then nothing moved."""
    now = store.clock()
    async with store._write("rewind the session") as db:
        cursor = await db.execute(
            "INSERT INTO rewinds (session_id, kind, detail, created_at) VALUES (?, ?, ?, ?)",
            (session_id, kind, json.dumps(detail or {}), now),
        )
        rewind_id = cursor.lastrowid
        assert rewind_id is not None
        rows = list(
            await db.execute_fetchall(
                "SELECT seq FROM messages WHERE session_id = ? ORDER BY seq", (session_id,)
            )
        )
        seqs = [int(r[0]) for r in rows]
        kept, moved = seqs[:keep_messages], seqs[keep_messages:]
        rewritten = kept[-1] if kept and last_message is not None else None
        first_moved = moved[0] if moved else None
        await db.execute(
            "INSERT INTO rewound_messages (rewind_id, session_id, seq, role, body, created_at) "
            "SELECT ?, session_id, seq, role, body, created_at FROM messages "
            "WHERE session_id = ? AND (seq >= ? OR seq = ?) ORDER BY seq",
            (
                rewind_id,
                session_id,
                first_moved if first_moved is not None else _NO_SEQ,
                rewritten if rewritten is not None else _NO_SEQ,
            ),
        )
        if moved:
            await db.execute("DELETE FROM messages WHERE session_id = ? AND seq >= ?", (session_id, moved[0]))
        if rewritten is not None:
            assert last_message is not None
            await db.execute(
                "UPDATE messages SET body = ?, role = ? WHERE session_id = ? AND seq = ?",
                (message_json(last_message), last_message.role, session_id, rewritten),
            )
        await db.execute(
            "INSERT INTO rewound_records (rewind_id, session_id, seq, kind, data, created_at) "
            "SELECT ?, session_id, seq, kind, data, created_at FROM records "
            "WHERE session_id = ? AND seq >= ? ORDER BY seq, id",
            (rewind_id, session_id, keep_records_below),
        )
        await db.execute(
            "DELETE FROM records WHERE session_id = ? AND seq >= ?", (session_id, keep_records_below)
        )
        await db.execute(
            "UPDATE sessions SET message_count = ?, updated_at = ? WHERE id = ?",
            (len(kept), now, session_id),
        )
    return int(rewind_id)


async def list_rewinds(store: SessionStore, session_id: str) -> list[tuple[int, str, dict[str, Any], float]]:
    """(id, kind, detail, created_at) of a session's rewinds, oldest first."""
    rows = await store._read(
        "SELECT id, kind, detail, created_at FROM rewinds WHERE session_id = ? ORDER BY id", (session_id,)
    )
    return [(int(r[0]), str(r[1]), load_data(r[2]), float(r[3])) for r in rows]


async def load_rewound(store: SessionStore, rewind_id: int) -> Rewound | None:
    """What a rewind took out (its messages and records), or None."""
    head = await store._read(
        "SELECT id, session_id, kind, detail, created_at FROM rewinds WHERE id = ?", (int(rewind_id),)
    )
    if not head:
        return None
    row = head[0]
    bodies = await store._read(
        "SELECT body FROM rewound_messages WHERE rewind_id = ? ORDER BY seq", (int(rewind_id),)
    )
    messages: list[Message] = []
    for (body,) in bodies:
        try:
            messages.append(Message.model_validate_json(body))
        except ValueError:
            continue
    records = await store._read(
        "SELECT seq, kind, data, created_at FROM rewound_records WHERE rewind_id = ? ORDER BY seq",
        (int(rewind_id),),
    )
    return Rewound(
        id=int(row[0]),
        session_id=str(row[1]),
        kind=str(row[2]),
        detail=load_data(row[3]),
        created_at=float(row[4]),
        messages=messages,
        records=[DisplayRecord(seq=r[0], kind=r[1], data=load_data(r[2]), created_at=r[3]) for r in records],
    )
