"""The session store: one SQLite database (aiosqlite, WAL) holding every saved conversation.

Three tables: ``sessions`` (one row per conversation: project, title, model, mode, effort,
counters, cost), ``messages`` (the provider-facing history, one JSON body per message,
in order) and ``records`` (what the person saw: prompts, replies, thinking, tool calls with
their display payload, notices), which the TUI replays on resume without calling the model.

Every write is one ``BEGIN IMMEDIATE`` transaction, so a process killed at any moment leaves
either the whole write or none of it; WAL with a busy timeout lets two Stoa processes use the
same database at once. Only a file confirmed as damaged by reading it (``core.sessions.health``)
is moved aside (never deleted) and a new one started. Any other failure (full disk, read-only,
permissions, locks, I/O errors) leaves the file in place: opened with ``detached_ok``, the store
then starts *detached*, says why and what to do, and tries the database again at each write, so
the conversation is saved as soon as it works again. A database written by a newer Stoa is
refused untouched.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from stoa.core.escapes import clean
from stoa.core.providers.types import Message, Usage
from stoa.core.sessions import health
from stoa.core.sessions.schema import MIGRATIONS, SCHEMA_VERSION, statements

# Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 10.0

_FULL_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PREFIX = re.compile(r"^[0-9a-f][0-9a-f-]{0,35}$")

# Seconds between two damage checks of the file after failed writes (a check reads it all).
DAMAGE_CHECK_INTERVAL = 30.0


class SessionStoreError(Exception):
    """A session-store problem; the message says what happened and what to do next."""


class SchemaTooNewError(SessionStoreError):
    def __init__(self, path: Path, found: int) -> None:
        super().__init__(
            f"{path} was written by a newer Stoa (schema version {found}; this Stoa reads up to "
            f"{SCHEMA_VERSION}). It was left untouched. Upgrade Stoa, or set STOA_HOME to another "
            "folder to keep separate sessions."
        )
        self.path = path
        self.found = found


class DatabaseUnusableError(SessionStoreError):
    """The database cannot be used, and was left where it is (or could not be moved aside)."""


class StoreUnavailableError(DatabaseUnusableError):
    """The database is out of reach (full disk, permissions, read-only, locked, I/O error); it
    was left untouched. The message says what to do."""


class InvalidSessionIdError(SessionStoreError, ValueError):
    def __init__(self, value: str) -> None:
        shown = value if len(value) <= 60 else value[:57] + "..."
        super().__init__(
            f"{shown!r} is not a session id: ids are hexadecimal with dashes, like "
            "3f2a9c1e-7b4d-4c1a-9e8f-0a1b2c3d4e5f (a prefix such as 3f2a9c1e is enough). "
            "Run `stoa -r` to pick one from the list."
        )
        self.value = value


class SessionNotFoundError(SessionStoreError):
    pass


class AmbiguousSessionError(SessionStoreError):
    def __init__(self, prefix: str, candidates: list[SessionInfo]) -> None:
        lines = "\n".join(
            f"  {c.id}  {c.title or '(untitled)'}  ({c.project})" for c in candidates[:20]
        )
        more = f"\n  ... and {len(candidates) - 20} more" if len(candidates) > 20 else ""
        super().__init__(
            f"session id prefix {prefix!r} matches {len(candidates)} sessions; give more of the id:\n"
            f"{lines}{more}"
        )
        self.prefix = prefix
        self.candidates = candidates


class SaveError(SessionStoreError):
    """A write failed (disk full, locked, damaged). The in-memory conversation is unaffected."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


def validate_session_id(value: str, *, prefix: bool = False) -> str:
    """The normalised (lower-case) id or prefix, or ``InvalidSessionIdError``.

    Only hexadecimal digits and dashes pass, so an id can never smuggle a path separator,
    a LIKE wildcard or anything else into a query or a file name.
    """
    if not isinstance(value, str):
        raise InvalidSessionIdError(repr(value))
    normal = value.strip().lower()
    pattern = _PREFIX if prefix else _FULL_ID
    if not pattern.match(normal):
        raise InvalidSessionIdError(value)
    return normal


@dataclass(slots=True)
class SessionInfo:
    """One saved conversation, as the resume list and the runtime see it.

    Treat it as read-only. (Not a frozen dataclass: building a thousand frozen instances for
    the resume list costs several milliseconds more.)
    """

    id: str
    project: str
    title: str
    title_source: str
    model: str
    provider: str
    mode: str
    effort: str
    created_at: float
    updated_at: float
    message_count: int
    # input, output, cache read, cache write, reasoning (see ``usage``).
    tokens: tuple[int, int, int, int, int]
    peak_prompt_tokens: int
    cost_usd: float
    ledger_json: str
    preview: str
    turn_open: bool
    interrupted: bool
    last_turn_at: float | None

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def usage(self) -> Usage:
        """The session's token totals (built on demand: the resume list reads a thousand rows)."""
        i, o, cr, cw, r = self.tokens
        return Usage(input_tokens=i, output_tokens=o, cache_read_tokens=cr, cache_write_tokens=cw, reasoning_tokens=r)

    @property
    def ledger(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.ledger_json or "{}")
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def last_turn_interrupted(self) -> bool:
        """The last turn was cut short (Esc, or the process died mid-turn)."""
        return self.interrupted or self.turn_open


@dataclass(frozen=True)
class DisplayRecord:
    """One thing the person saw. ``kind`` and ``data`` are described in ``core.sessions.records``."""

    seq: int
    kind: str
    data: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class SessionSeed:
    """What a session row starts with; written lazily with the first message."""

    id: str
    project: str
    model: str
    provider: str
    mode: str
    effort: str
    title: str = ""


_COLUMNS = (
    "id, project, title, title_source, model, provider, mode, effort, created_at, updated_at, "
    "message_count, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
    "reasoning_tokens, peak_prompt_tokens, cost_usd, ledger, preview, turn_open, interrupted, "
    "last_turn_at"
)

# Columns ``update_session`` may set (the names are interpolated, so they are whitelisted).
_UPDATABLE = frozenset(
    {
        "title",
        "title_source",
        "model",
        "provider",
        "mode",
        "effort",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "peak_prompt_tokens",
        "cost_usd",
        "ledger",
        "preview",
        "turn_open",
        "interrupted",
        "last_turn_at",
    }
)


def _info(row: Sequence[Any]) -> SessionInfo:
    return SessionInfo(
        id=row[0],
        project=row[1],
        title=row[2],
        title_source=row[3],
        model=row[4],
        provider=row[5],
        mode=row[6],
        effort=row[7],
        created_at=row[8],
        updated_at=row[9],
        message_count=row[10],
        tokens=(row[11], row[12], row[13], row[14], row[15]),
        peak_prompt_tokens=row[16],
        cost_usd=row[17],
        ledger_json=row[18],
        preview=row[19],
        turn_open=bool(row[20]),
        interrupted=bool(row[21]),
        last_turn_at=row[22],
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return repr(value)


def _json_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$bytes" in obj and isinstance(obj["$bytes"], str):
        try:
            return base64.b64decode(obj["$bytes"])
        except ValueError:
            return obj
    return obj


def dump_data(data: dict[str, Any]) -> str:
    """JSON for a display record; bytes (image previews) survive as base64.

    Text that is not valid Unicode (a file name that is not UTF-8) is saved in the escape form
    the screen shows (``bad\\xff.txt``, see ``core.escapes``): SQLite refuses it otherwise.
    """
    text = json.dumps(data, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    if not _encodable(text):
        plain = json.loads(json.dumps(data, default=_json_default))
        text = json.dumps(clean(plain), ensure_ascii=False, separators=(",", ":"))
    return text


def message_json(message: Message) -> str:
    """A message's JSON body; text that is not valid Unicode is saved in the escape form."""
    text = message.model_dump_json()
    if _encodable(text):
        return text
    # A lone surrogate in some text (a file name that is not UTF-8): its escape form instead.
    return Message.model_validate(clean(message.model_dump())).model_dump_json()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_data(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, object_hook=_json_hook)
    except json.JSONDecodeError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SessionStore:
    """The open database. Create with ``await SessionStore.open(path)``; close with ``aclose``."""

    def __init__(self, path: Path, db: aiosqlite.Connection | None, clock: Callable[[], float]) -> None:
        self.path = path
        self._db = db
        self.clock = clock
        # Problems handled while opening (a damaged file moved aside, a database out of reach):
        # shown once as notices.
        self.notices: list[str] = []
        # Why the database cannot be used right now (None while it works): a detached store
        # tries it again at every read and write.
        self.unavailable: str | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._damage_checked_at = float("-inf")

    @property
    def available(self) -> bool:
        return self._db is not None

    # ---- opening ------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls, path: Path, *, clock: Callable[[], float] = time.time, detached_ok: bool = False
    ) -> SessionStore:
        """Open (creating or upgrading) the database at ``path``.

        A file confirmed as damaged (see ``core.sessions.health``) is moved aside and a new one
        started, with a notice. Anything else that keeps the database out of reach leaves it
        untouched and raises ``StoreUnavailableError`` saying what to do, or, with
        ``detached_ok``, returns a detached store carrying that message as a notice. Raises
        ``SchemaTooNewError`` for a newer database (left untouched).
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            message = f"the session database {path} cannot be used: {health.explain_folder(path.parent, exc)}"
            return cls._unavailable(path, clock, message, detached_ok, exc)
        notices: list[str] = []
        remembered = await asyncio.to_thread(health.read_marker, path)
        if remembered is not None:
            # A save found the file damaged earlier: confirm by reading it, then move it aside.
            damage = await asyncio.to_thread(health.inspect_file, path)
            if damage is None:
                health.clear_marker(path)
            else:
                try:
                    notices.append(_moved_notice(path, damage, _move_aside(path, damage)))
                except DatabaseUnusableError as exc:
                    return cls._unavailable(path, clock, str(exc), detached_ok, exc)
                health.clear_marker(path)
        try:
            db = await _connect_and_prepare(path)
        except SchemaTooNewError:
            raise
        except sqlite3.Error as exc:
            damage = await asyncio.to_thread(health.inspect_file, path)
            if damage is None:
                return cls._unavailable(path, clock, _unavailable_text(path, exc), detached_ok, exc)
            try:
                notices.append(_moved_notice(path, damage, _move_aside(path, damage)))
                db = await _connect_and_prepare(path)
            except DatabaseUnusableError as again:
                return cls._unavailable(path, clock, str(again), detached_ok, again)
            except sqlite3.Error as again:
                message = f"cannot start a new session database at {path}: {health.explain(path, again)}"
                return cls._unavailable(path, clock, message, detached_ok, again)
        store = cls(path, db, clock)
        store.notices = notices
        return store

    @classmethod
    def _unavailable(
        cls, path: Path, clock: Callable[[], float], message: str, detached_ok: bool, cause: BaseException
    ) -> SessionStore:
        if not detached_ok:
            raise StoreUnavailableError(message) from cause
        store = cls(path, None, clock)
        store.unavailable = message
        store.notices = [
            f"Sessions are not being saved: {message} This conversation is kept in memory and "
            "saved as soon as the database can be written again; earlier sessions are untouched."
        ]
        return store

    async def _reconnect(self) -> None:
        """A detached store tries the database again; raises ``StoreUnavailableError``."""
        try:
            self._db = await _connect_and_prepare(self.path)
        except SchemaTooNewError:
            raise
        except sqlite3.Error as exc:
            self.unavailable = _unavailable_text(self.path, exc)
            raise StoreUnavailableError(self.unavailable) from exc
        self.unavailable = None

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            if self._db is not None:
                with contextlib.suppress(Exception):
                    await self._db.close()

    async def __aenter__(self) -> SessionStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- transactions -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _write(self, what: str) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; SQLite errors become ``SaveError`` with a way out."""
        if self._closed:
            raise SaveError(f"could not {what}: the session store is closed")
        async with self._lock:
            if self._db is None:
                try:
                    await self._reconnect()
                except SessionStoreError as exc:
                    raise SaveError(str(exc)) from exc
            db = self._db
            assert db is not None
            try:
                await db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise await self._save_error(what, exc) from exc
            try:
                yield db
                await db.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    await asyncio.shield(db.execute("ROLLBACK"))
                if isinstance(exc, sqlite3.Error):
                    raise await self._save_error(what, exc) from exc
                raise

    async def _save_error(self, what: str, exc: sqlite3.Error) -> SaveError:
        # Worded to follow "could not save the session: ", which is how the agent shows it.
        damage = await self._check_damage(exc)
        if damage is not None:
            return SaveError(_damaged_text(self.path, damage))
        code = health.primary_code(exc)
        if code == health.SQLITE_FULL:
            return SaveError(
                f"the disk holding {self.path} is full. Free some space: the conversation goes on in "
                "memory and is saved as soon as writing works again.",
                disk_full=True,
            )
        if code == health.SQLITE_BUSY:
            return SaveError(
                f"{self.path} stayed locked by another Stoa process for {BUSY_TIMEOUT:.0f} s; saving is "
                "retried with the next message."
            )
        return SaveError(
            f"could not {what}: {health.explain(self.path, exc)} The conversation goes on in memory and "
            "is saved as soon as writing works again."
        )

    async def _check_damage(self, exc: sqlite3.Error) -> str | None:
        """After an error a damaged file can cause: read the file; remember damage for the next
        start (which moves the file aside). At most once per ``DAMAGE_CHECK_INTERVAL``."""
        if not health.may_be_damage(exc):
            return None
        now = time.monotonic()
        if now - self._damage_checked_at < DAMAGE_CHECK_INTERVAL:
            return health.read_marker(self.path)
        self._damage_checked_at = now
        damage = await asyncio.to_thread(health.inspect_file, self.path)
        if damage is not None:
            await asyncio.to_thread(health.write_marker, self.path, damage)
        return damage

    async def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        if self._closed:
            raise SessionStoreError("the session store is closed")
        if self._db is None:
            async with self._lock:
                if self._db is None:
                    await self._reconnect()
        db = self._db
        assert db is not None
        try:
            rows = await db.execute_fetchall(sql, tuple(params))
        except sqlite3.Error as exc:
            damage = await self._check_damage(exc)
            if damage is not None:
                raise SessionStoreError(_damaged_text(self.path, damage)) from exc
            raise SessionStoreError(f"could not read {self.path}: {health.explain(self.path, exc)}") from exc
        return list(rows)

    # ---- writing ------------------------------------------------------------------------------

    async def create_session(self, seed: SessionSeed) -> SessionInfo:
        async with self._write("create the session") as db:
            await self._ensure(db, seed)
        info = await self.get(seed.id)
        assert info is not None
        return info

    async def _ensure(self, db: aiosqlite.Connection, seed: SessionSeed) -> None:
        now = self.clock()
        await db.execute(
            "INSERT OR IGNORE INTO sessions (id, project, title, model, provider, mode, effort, "
            "created_at, updated_at, last_turn_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                validate_session_id(seed.id),
                seed.project,
                seed.title,
                seed.model,
                seed.provider,
                seed.mode,
                seed.effort,
                now,
                now,
                now,
            ),
        )

    async def save_message(
        self,
        seed: SessionSeed,
        message: Message,
        *,
        replaces_last: bool = False,
        records: Sequence[tuple[int, str, dict[str, Any]]] = (),
        preview: str | None = None,
        title: str | None = None,
    ) -> None:
        """Persist one provider-facing message with its display records, in one transaction.

        ``replaces_last`` updates the last saved message in place (the agent merged new user
        content into it); if the last saved message is not a user message, it is appended.
        ``title`` is only set while the session has no title yet.
        """
        body = message_json(message)
        now = self.clock()
        async with self._write("save the message") as db:
            await self._ensure(db, seed)
            replaced = False
            if replaces_last:
                cursor = await db.execute(
                    "SELECT seq, role FROM messages WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
                    (seed.id,),
                )
                last = await cursor.fetchone()
                if last is not None and last[1] == "user" and message.role == "user":
                    await db.execute(
                        "UPDATE messages SET body = ?, created_at = ? WHERE session_id = ? AND seq = ?",
                        (body, now, seed.id, last[0]),
                    )
                    replaced = True
            if not replaced:
                await db.execute(
                    "INSERT INTO messages (session_id, seq, role, body, created_at) VALUES "
                    "(?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE session_id = ?), ?, ?, ?)",
                    (seed.id, seed.id, message.role, body, now),
                )
            for seq, kind, data in records:
                await db.execute(
                    "INSERT INTO records (session_id, seq, kind, data, created_at) VALUES (?, ?, ?, ?, ?)",
                    (seed.id, seq, kind, dump_data(data), now),
                )
            sets = ["updated_at = ?", "message_count = message_count + ?"]
            params: list[Any] = [now, 0 if replaced else 1]
            if preview is not None:
                sets.append("preview = ?")
                params.append(preview)
            if title:
                sets.append("title = CASE WHEN title = '' THEN ? ELSE title END")
                params.append(title)
            await db.execute(f"UPDATE sessions SET {', '.join(sets)} WHERE id = ?", (*params, seed.id))

    async def replace_messages(self, session_id: str, messages: Sequence[Message]) -> None:
        """Rewrite a session's whole history (after repairing a crashed session on resume)."""
        now = self.clock()
        async with self._write("save the repaired history") as db:
            await db.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            await db.executemany(
                "INSERT INTO messages (session_id, seq, role, body, created_at) VALUES (?, ?, ?, ?, ?)",
                [(session_id, i, m.role, message_json(m), now) for i, m in enumerate(messages, 1)],
            )
            await db.execute(
                "UPDATE sessions SET message_count = ? WHERE id = ?", (len(messages), session_id)
            )

    async def add_record(self, seed: SessionSeed, seq: int, kind: str, data: dict[str, Any]) -> int:
        """Append one display record; returns its row id."""
        now = self.clock()
        async with self._write("save the display record") as db:
            await self._ensure(db, seed)
            cursor = await db.execute(
                "INSERT INTO records (session_id, seq, kind, data, created_at) VALUES (?, ?, ?, ?, ?)",
                (seed.id, seq, kind, dump_data(data), now),
            )
            await db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, seed.id))
            row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    async def update_record(self, session_id: str, seq: int, data: dict[str, Any]) -> bool:
        """Replace the data of the record ``seq`` (a tool call finishing). Returns whether it existed."""
        async with self._write("update the display record") as db:
            cursor = await db.execute(
                "UPDATE records SET data = ? WHERE session_id = ? AND seq = ?",
                (dump_data(data), session_id, seq),
            )
            return cursor.rowcount > 0

    async def update_session(self, session_id: str, *, touch: bool = False, **fields: Any) -> None:
        """Set whitelisted columns of a session row (model, mode, counters, title, turn state)."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable session fields: {', '.join(sorted(unknown))}")
        if not fields and not touch:
            return
        sets = [f"{name} = ?" for name in fields]
        params = [_column_value(v) for v in fields.values()]
        if touch:
            sets.append("updated_at = ?")
            params.append(self.clock())
        async with self._write("update the session") as db:
            await db.execute(f"UPDATE sessions SET {', '.join(sets)} WHERE id = ?", (*params, session_id))

    async def copy_session(self, source_id: str, new_id: str, *, title: str) -> SessionInfo:
        """A new session ``new_id`` holding a copy of ``source_id``'s row, messages and display
        records (a fork); the source is only read. Raises ``SessionNotFoundError``."""
        source_id = validate_session_id(source_id)
        new_id = validate_session_id(new_id)
        now = self.clock()
        columns = [c.strip() for c in _COLUMNS.split(",")]
        copied = ", ".join(c for c in columns if c not in ("id", "title", "title_source", "created_at", "updated_at"))
        async with self._write("fork the session") as db:
            cursor = await db.execute(
                f"INSERT INTO sessions (id, title, title_source, created_at, updated_at, {copied}) "
                f"SELECT ?, ?, 'fork', ?, ?, {copied} FROM sessions WHERE id = ?",
                (new_id, title, now, now, source_id),
            )
            if cursor.rowcount == 0:
                raise SessionNotFoundError(f"session {source_id[:8]} no longer exists (deleted elsewhere?)")
            await db.execute(
                "INSERT INTO messages (session_id, seq, role, body, created_at) "
                "SELECT ?, seq, role, body, created_at FROM messages WHERE session_id = ?",
                (new_id, source_id),
            )
            await db.execute(
                "INSERT INTO records (session_id, seq, kind, data, created_at) "
                "SELECT ?, seq, kind, data, created_at FROM records WHERE session_id = ? ORDER BY seq, id",
                (new_id, source_id),
            )
            # The turns too, so the fork can rewind and undo what the original's turns changed.
            await db.execute(
                "INSERT INTO turns (session_id, number, prompt, message_index, block_offset, record_seq, "
                "started_at, ended_at, state, checkpoint, bytes) SELECT ?, number, prompt, message_index, "
                "block_offset, record_seq, started_at, ended_at, state, checkpoint, bytes FROM turns "
                "WHERE session_id = ?",
                (new_id, source_id),
            )
        info = await self.get(new_id)
        assert info is not None
        return info

    async def delete(self, session_id: str) -> bool:
        """Delete a session with its messages and records. Returns whether it existed."""
        session_id = validate_session_id(session_id)
        async with self._write("delete the session") as db:
            await db.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            await db.execute("DELETE FROM records WHERE session_id = ?", (session_id,))
            # Its turns (checkpoints) and rewound parts go with it: deleting a session is the one
            # way anything leaves the database (file contents are pruned by core.checkpoints).
            for table in ("turns", "rewound_messages", "rewound_records", "rewinds"):
                await db.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            cursor = await db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            return cursor.rowcount > 0

    # ---- reading ------------------------------------------------------------------------------

    async def get(self, session_id: str) -> SessionInfo | None:
        session_id = validate_session_id(session_id)
        rows = await self._read(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        return _info(rows[0]) if rows else None

    async def resolve(self, prefix: str) -> SessionInfo:
        """The one session whose id starts with ``prefix``.

        Raises ``InvalidSessionIdError``, ``SessionNotFoundError`` or ``AmbiguousSessionError``
        (which lists the candidates, newest first).
        """
        prefix = validate_session_id(prefix, prefix=True)
        # The prefix holds only [0-9a-f-], so a range scan on the primary key is exact.
        rows = await self._read(
            f"SELECT {_COLUMNS} FROM sessions WHERE id >= ? AND id < ? ORDER BY updated_at DESC",
            (prefix, prefix + "\x7f"),
        )
        if not rows:
            raise SessionNotFoundError(
                f"no saved session starts with {prefix!r}; run `stoa -r` to pick one from the list"
            )
        if len(rows) > 1:
            exact = [r for r in rows if r[0] == prefix]
            if exact:
                return _info(exact[0])
            raise AmbiguousSessionError(prefix, [_info(r) for r in rows])
        return _info(rows[0])

    async def latest(self, project: str | Path) -> SessionInfo | None:
        rows = await self._read(
            f"SELECT {_COLUMNS} FROM sessions WHERE project = ? AND message_count > 0 "
            "ORDER BY updated_at DESC LIMIT 1",
            (str(project),),
        )
        return _info(rows[0]) if rows else None

    async def list_sessions(
        self,
        project: str | Path | None = None,
        *,
        query: str | None = None,
        limit: int | None = None,
    ) -> list[SessionInfo]:
        """Sessions with at least one message, newest first.

        ``project`` restricts to one project; ``query`` keeps sessions whose title, preview or
        id contains it (case-insensitive).
        """
        where = ["message_count > 0"]
        params: list[Any] = []
        if project is not None:
            where.append("project = ?")
            params.append(str(project))
        if query:
            like = f"%{_like_escape(query)}%"
            where.append(
                "(title LIKE ? ESCAPE '\\' OR preview LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\')"
            )
            params += [like, like, like]
        sql = f"SELECT {_COLUMNS} FROM sessions WHERE {' AND '.join(where)} ORDER BY updated_at DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_info(r) for r in await self._read(sql, params)]

    async def newest_listed(self, project: str | Path, limit: int) -> tuple[list[SessionInfo], tuple[int, int]]:
        """``project``'s newest ``limit`` sessions, and (sessions listed, those of ``project``)
        ((0, 0) when it has none), in one query: a list shown before all of it is read."""
        rows = await self._read(
            f"SELECT {_COLUMNS}, c.every, c.here FROM sessions, (SELECT COUNT(*) AS every, COALESCE(SUM(project = ?1), "
            "0) AS here FROM sessions WHERE message_count > 0) AS c WHERE message_count > 0 AND project = ?1 "
            "ORDER BY updated_at DESC LIMIT ?2",
            (str(project), int(limit)),
        )
        return [_info(r) for r in rows], ((int(rows[0][-2]), int(rows[0][-1])) if rows else (0, 0))

    async def search(self, text: str, project: str | Path | None = None, *, limit: int = 50) -> list[SessionInfo]:
        """Sessions whose title, preview, prompts or replies contain ``text``, newest first."""
        if not text.strip():
            return await self.list_sessions(project, limit=limit)
        like = f"%{_like_escape(text)}%"
        sql = (
            f"SELECT {_COLUMNS} FROM sessions s WHERE message_count > 0 AND ("
            "title LIKE ?1 ESCAPE '\\' OR preview LIKE ?1 ESCAPE '\\' OR EXISTS ("
            "SELECT 1 FROM records r WHERE r.session_id = s.id AND r.kind IN ('user', 'assistant') "
            "AND r.data LIKE ?1 ESCAPE '\\'))"
        )
        params: list[Any] = [like]
        if project is not None:
            sql += " AND project = ?2"
            params.append(str(project))
        sql += f" ORDER BY updated_at DESC LIMIT {int(limit)}"
        return [_info(r) for r in await self._read(sql, params)]

    async def load_messages(self, session_id: str) -> list[Message]:
        rows = await self._read(
            "SELECT body FROM messages WHERE session_id = ? ORDER BY seq", (session_id,)
        )
        messages: list[Message] = []
        for (body,) in rows:
            try:
                messages.append(Message.model_validate_json(body))
            except ValueError:
                # A message this Stoa cannot read (hand-edited or damaged) is skipped, not fatal;
                # repair_messages restores protocol validity around the gap.
                continue
        return messages

    async def load_records(
        self, session_id: str, *, before_seq: int | None = None, last: int | None = None
    ) -> list[DisplayRecord]:
        """The session's display records in order; with ``before_seq``, only those before it;
        with ``last``, only the last ``last`` of those (and any that share the first one's
        seq: a page ends between two seqs, so the next page, ``before_seq`` = its first seq,
        misses none)."""
        where = "session_id = ?"
        params: list[Any] = [session_id]
        if before_seq is not None:
            where += " AND seq < ?"
            params.append(before_seq)
        if last is not None:
            where += (
                f" AND seq >= COALESCE((SELECT seq FROM records WHERE {where} ORDER BY seq DESC, id DESC "
                "LIMIT 1 OFFSET ?), -1)"
            )
            params += [*params, max(0, last - 1)]
        rows = await self._read(f"SELECT seq, kind, data, created_at FROM records WHERE {where} ORDER BY seq, id", params)
        return [DisplayRecord(seq=r[0], kind=r[1], data=load_data(r[2]), created_at=r[3]) for r in rows]

    async def edge_record(self, session_id: str, kind: str, *, last: bool) -> DisplayRecord | None:
        """The first (or ``last``) display record of ``kind``, or None."""
        order = "DESC" if last else "ASC"
        rows = await self._read(
            f"SELECT seq, kind, data, created_at FROM records WHERE session_id = ? AND kind = ? "
            f"ORDER BY seq {order}, id {order} LIMIT 1",
            (session_id, kind),
        )
        return DisplayRecord(seq=rows[0][0], kind=rows[0][1], data=load_data(rows[0][2]), created_at=rows[0][3]) if rows else None

    async def record_counts(self, session_id: str) -> tuple[int, int]:
        """(prompts the person typed, steering left out; tool calls) among the display records."""
        rows = await self._read(
            "SELECT COALESCE(SUM(kind = 'user' AND NOT COALESCE(CASE WHEN json_valid(data) "
            "THEN json_extract(data, '$.steering') END, 0)), 0), COALESCE(SUM(kind = 'tool'), 0) "
            "FROM records WHERE session_id = ?",
            (session_id,),
        )
        return int(rows[0][0]), int(rows[0][1])

    async def max_record_seq(self, session_id: str) -> int:
        rows = await self._read("SELECT COALESCE(MAX(seq), 0) FROM records WHERE session_id = ?", (session_id,))
        return int(rows[0][0])

    async def count_sessions(self) -> int:
        rows = await self._read("SELECT COUNT(*) FROM sessions WHERE message_count > 0")
        return int(rows[0][0])

    async def schema_version(self) -> int:
        rows = await self._read("PRAGMA user_version")
        return int(rows[0][0])


def _column_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def _unavailable_text(path: Path, exc: sqlite3.Error) -> str:
    return f"the session database {path} cannot be used: {health.explain(path, exc)}"


def _damaged_text(path: Path, damage: str) -> str:
    return (
        f"the session database {path} is damaged: {damage}. The next time Stoa starts it moves the "
        "file aside (nothing is deleted) and starts a new one; until then this conversation goes on "
        "in memory."
    )


def _moved_notice(path: Path, damage: str, moved: Path) -> str:
    return (
        f"The session database {path} is damaged ({damage}); it was moved aside to {moved} "
        "(nothing was deleted) and a new one was started. Your earlier sessions are in the moved file."
    )


def _move_aside(path: Path, cause: object) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.rename(target)
    except OSError as exc:
        raise DatabaseUnusableError(
            f"the session database {path} is unusable ({cause}) and could not be moved aside "
            f"({exc.strerror}). Move or rename it yourself, or set STOA_HOME to another folder."
        ) from exc
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            with contextlib.suppress(OSError):
                side.rename(target.with_name(target.name + suffix))
    return target


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = aiosqlite.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT)
    # A store someone forgot to close must not keep the process alive at exit; every write
    # is already committed, so a daemon worker thread loses nothing.
    thread = getattr(conn, "_thread", None)
    if thread is not None:
        thread.daemon = True
    return await conn


async def _connect_and_prepare(path: Path) -> aiosqlite.Connection:
    db = await _connect(path)
    try:
        await _prepare(db, path)
    except BaseException:
        with contextlib.suppress(Exception):
            await db.close()
        raise
    return db


async def _scalar(db: aiosqlite.Connection, sql: str) -> Any:
    for row in await db.execute_fetchall(sql):
        return row[0]
    return None


async def _prepare(db: aiosqlite.Connection, path: Path) -> None:
    # Read the version before changing anything: a newer database must stay untouched.
    version = int(await _scalar(db, "PRAGMA user_version"))
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(path, version)
    # Touch the schema so a damaged file fails here, not on the first save.
    await db.execute_fetchall("SELECT count(*) FROM sqlite_master")
    await _use_wal(db)
    # NORMAL in WAL mode: a commit survives the process being killed (only a power cut can
    # lose the last commits), and a save costs no fsync.
    await db.execute("PRAGMA synchronous=NORMAL")
    if version < SCHEMA_VERSION:
        await _migrate(db, path)


async def _use_wal(db: aiosqlite.Connection) -> None:
    """Put the database in WAL mode (once per file: the mode is kept in it).

    Two processes opening a new database at once both find it in rollback mode; the second one's
    switch can fail with "database is locked" at once, without SQLite's busy wait, while the
    first holds its lock (seen 1 run in 8 of two Stoas starting together). It tries again until
    the busy timeout, and is done when it finds the other process has switched the file."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while str(await _scalar(db, "PRAGMA journal_mode")).lower() != "wal":
        try:
            await db.execute_fetchall("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)


async def _migrate(db: aiosqlite.Connection, path: Path) -> None:
    await db.execute("BEGIN IMMEDIATE")
    try:
        # Re-read inside the write lock: another process may have migrated meanwhile.
        version = int(await _scalar(db, "PRAGMA user_version"))
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(path, version)
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue
            for statement in statements(migration.script):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {int(migration.version)}")
        await db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            await db.execute("ROLLBACK")
        raise

