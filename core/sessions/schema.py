"""The session database schema and its forward migrations.

The schema version lives in SQLite's ``PRAGMA user_version``, which is written inside the same
transaction as the migration, so a crash mid-migration leaves the old version intact. Each
migration takes the database from version ``n - 1`` to ``n``; a database from a newer Stoa
(version above ``SCHEMA_VERSION``) is refused and never touched.

Version 1 is the first schema Stoa shipped; later versions only add (columns, indexes,
backfills), so an old database always upgrades in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# The first schema: sessions, the provider-facing messages, and the display records.
_V1 = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT 'auto',
    effort TEXT NOT NULL DEFAULT 'off',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_project ON sessions (project, updated_at);
CREATE TABLE messages (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX records_by_session ON records (session_id, seq, id);
"""

# Version 2: what the resume list and the away summary need without reading every message
# (a one-line preview, where the title came from, the last turn's state, reasoning tokens,
# the largest single request for tiered prices, and the per-model ledger), plus an index for
# the "all projects" list.
_V2 = """
ALTER TABLE sessions ADD COLUMN title_source TEXT NOT NULL DEFAULT 'prompt';
ALTER TABLE sessions ADD COLUMN preview TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN peak_prompt_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN ledger TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sessions ADD COLUMN turn_open INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_turn_at REAL;
CREATE INDEX sessions_by_update ON sessions (updated_at);
UPDATE sessions SET preview = COALESCE((
    SELECT substr(json_extract(r.data, '$.text'), 1, 200) FROM records r
    WHERE r.session_id = sessions.id AND r.kind = 'assistant'
    ORDER BY r.seq DESC, r.id DESC LIMIT 1
), '');
UPDATE sessions SET last_turn_at = updated_at;
"""


# Version 3: the prompts a person typed, per project (the composer's Up/Down and Ctrl+R), filled
# from the prompts already saved in sessions.
_V3 = """
CREATE TABLE prompts (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX prompts_by_project ON prompts (project, id);
INSERT INTO prompts (project, text, created_at)
SELECT s.project, json_extract(r.data, '$.text'), r.created_at
FROM records r JOIN sessions s ON s.id = r.session_id
WHERE r.kind = 'user' AND json_valid(r.data) AND json_extract(r.data, '$.text') <> ''
ORDER BY r.created_at, r.id
"""


# Version 4: the turns of each session with their checkpoints (what the turn changed in the
# files, for /undo and /rewind: ``core.checkpoints``), and rewinds: the messages and display
# records a rewind takes out of a conversation are moved here, never deleted
# (``core.sessions.rewind``).
_V4 = """
CREATE TABLE turns (
    session_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    message_index INTEGER NOT NULL,
    block_offset INTEGER NOT NULL DEFAULT 0,
    record_seq INTEGER NOT NULL DEFAULT 0,
    started_at REAL NOT NULL,
    ended_at REAL,
    state TEXT NOT NULL DEFAULT 'open',
    checkpoint TEXT NOT NULL DEFAULT '{}',
    bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, number)
) WITHOUT ROWID;
CREATE TABLE rewinds (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);
CREATE INDEX rewinds_by_session ON rewinds (session_id, id);
CREATE TABLE rewound_messages (
    rewind_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX rewound_messages_by_rewind ON rewound_messages (rewind_id, seq);
CREATE TABLE rewound_records (
    rewind_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX rewound_records_by_rewind ON rewound_records (rewind_id, seq)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    script: str


MIGRATIONS: Sequence[Migration] = (
    Migration(1, "sessions, messages and display records", _V1),
    Migration(2, "previews, turn state, reasoning tokens, ledger", _V2),
    Migration(3, "prompt history per project", _V3),
    Migration(4, "turns with their checkpoints; rewound messages and records", _V4),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def statements(script: str) -> list[str]:
    """Split a migration script into statements (the scripts hold no literal semicolons)."""
    return [s.strip() for s in script.split(";") if s.strip()]
