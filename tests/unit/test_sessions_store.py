"""The session store on real SQLite files: round trips, lookups, bad ids, damaged and newer files."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from stoa.core.providers.types import (
    ImageBlock,
    Message,
    RedactedThinkingBlock,
    StopReason,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    user_text,
)
from stoa.core.sessions.schema import SCHEMA_VERSION
from stoa.core.sessions.store import (
    AmbiguousSessionError,
    InvalidSessionIdError,
    SaveError,
    SchemaTooNewError,
    SessionNotFoundError,
    SessionSeed,
    SessionStore,
    StoreUnavailableError,
    validate_session_id,
)


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def seed(session_id: str | None = None, project: str = "/work/proj", **kw: str) -> SessionSeed:
    return SessionSeed(
        id=session_id or str(uuid.uuid4()),
        project=project,
        model=kw.get("model", "claude-sonnet-4-6"),
        provider=kw.get("provider", "anthropic"),
        mode=kw.get("mode", "auto"),
        effort=kw.get("effort", "medium"),
        title=kw.get("title", ""),
    )


@pytest.fixture
async def store(tmp_path: Path):
    s = await SessionStore.open(tmp_path / "data" / "sessions.db", clock=Clock())
    yield s
    await s.aclose()


def every_block_history() -> list[Message]:
    return [
        Message(role="user", content=[TextBlock(text="look at this"), ImageBlock(media_type="image/png", data="aGVsbG8=")]),
        Message(
            role="assistant",
            content=[
                ThinkingBlock(thinking="hmm", signature="sig-123", origin="anthropic"),
                RedactedThinkingBlock(data="opaque"),
                TextBlock(text="Reading."),
                ToolUseBlock(id="call_1", name="read_file", input={"path": "a.txt", "offset": None}),
            ],
            model="claude-sonnet-4-6",
            provider="anthropic",
            stop_reason=StopReason.TOOL_USE,
            usage=Usage(input_tokens=10, output_tokens=5, cache_read_tokens=3),
        ),
        Message(role="user", content=[ToolResultBlock(tool_use_id="call_1", content=[TextBlock(text="x" * 5000)])]),
        Message(
            role="assistant",
            content=[ThinkingBlock(thinking="summary", origin="openai", item_id="rs_1", encrypted_content="enc")],
        ),
    ]


async def test_messages_round_trip_exactly(store: SessionStore) -> None:
    s = seed()
    history = every_block_history()
    for message in history:
        await store.save_message(s, message)
    assert await store.load_messages(s.id) == history
    info = await store.get(s.id)
    assert info is not None
    assert info.message_count == 4
    assert info.project == "/work/proj"


async def test_replaces_last_updates_the_user_message_in_place(store: SessionStore) -> None:
    s = seed()
    await store.save_message(s, user_text("first"))
    merged = Message(role="user", content=[TextBlock(text="first"), TextBlock(text="second")])
    await store.save_message(s, merged, replaces_last=True)
    assert await store.load_messages(s.id) == [merged]
    info = await store.get(s.id)
    assert info is not None and info.message_count == 1


async def test_replaces_last_after_an_assistant_message_appends(store: SessionStore) -> None:
    s = seed()
    await store.save_message(s, user_text("q"))
    answer = Message(role="assistant", content=[TextBlock(text="a")])
    await store.save_message(s, answer)
    follow = user_text("next")
    await store.save_message(s, follow, replaces_last=True)
    assert await store.load_messages(s.id) == [user_text("q"), answer, follow]


async def test_display_records_keep_order_and_bytes(store: SessionStore) -> None:
    s = seed()
    await store.save_message(s, user_text("hi"), records=[(1, "user", {"text": "hi", "steering": False})])
    await store.add_record(s, 3, "tool", {"name": "view_image", "display": {"kind": "image", "bytes": b"\x89PNG\x00"}})
    await store.add_record(s, 2, "notice", {"level": "info", "text": "between"})
    assert await store.update_record(s.id, 3, {"name": "view_image", "status": "ok", "display": {"bytes": b"\x01"}})
    records = await store.load_records(s.id)
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[2].data["display"]["bytes"] == b"\x01"
    assert records[2].data["status"] == "ok"


async def test_display_records_are_read_a_page_at_a_time(store: SessionStore) -> None:
    """The last N records, pages before a seq (a seq shared by two records is never split
    between pages), the first/last of a kind, and the counts an away summary needs."""
    s = seed()
    await store.save_message(s, user_text("hi"), records=[(1, "user", {"text": "first", "steering": False})])
    for seq in range(2, 10):
        await store.add_record(s, seq, "tool", {"name": "read_file", "n": seq})
    await store.add_record(s, 5, "user", {"text": "typed mid-turn", "steering": True})  # shares seq 5
    await store.add_record(s, 10, "plan", {"steps": []})
    await store.add_record(s, 11, "user", {"text": "last"})
    assert [r.seq for r in await store.load_records(s.id, last=3)] == [9, 10, 11]
    assert [r.seq for r in await store.load_records(s.id, before_seq=9, last=3)] == [6, 7, 8]
    assert [r.seq for r in await store.load_records(s.id, before_seq=6, last=1)] == [5, 5]
    assert [r.seq for r in await store.load_records(s.id, before_seq=5)] == [1, 2, 3, 4]
    assert await store.load_records(s.id, before_seq=1, last=5) == []
    assert [r.seq for r in await store.load_records(s.id, last=100)] == [r.seq for r in await store.load_records(s.id)]
    first = await store.edge_record(s.id, "user", last=False)
    last_plan = await store.edge_record(s.id, "plan", last=True)
    assert first is not None and first.data["text"] == "first"
    assert last_plan is not None and last_plan.seq == 10
    assert await store.edge_record(s.id, "compaction", last=True) is None
    assert await store.record_counts(s.id) == (2, 8)  # steering is not a prompt


async def test_title_from_the_first_prompt_is_kept_once_set(store: SessionStore) -> None:
    s = seed()
    await store.save_message(s, user_text("one"), title="one")
    await store.save_message(s, Message(role="assistant", content=[TextBlock(text="ok")]), preview="ok")
    await store.save_message(s, user_text("two"), title="two")
    info = await store.get(s.id)
    assert info is not None
    assert (info.title, info.preview) == ("one", "ok")
    await store.update_session(s.id, title="Model title", title_source="model")
    info = await store.get(s.id)
    assert info is not None and (info.title, info.title_source) == ("Model title", "model")


async def test_update_session_refuses_unknown_columns(store: SessionStore) -> None:
    s = seed()
    await store.create_session(s)
    with pytest.raises(ValueError, match="not updatable"):
        await store.update_session(s.id, **{"id = 'x', title": "boom"})


async def test_list_latest_and_search(tmp_path: Path) -> None:
    clock = Clock()
    store = await SessionStore.open(tmp_path / "s.db", clock=clock)
    try:
        ids = []
        for i, project in enumerate(["/a", "/b", "/a"]):
            clock.now += 10
            s = seed(project=project)
            ids.append(s.id)
            await store.save_message(s, user_text(f"prompt {i} about 100%_done"), title=f"title {i}")
        empty = seed(project="/a")
        await store.create_session(empty)  # no messages: never listed
        assert [i.id for i in await store.list_sessions()] == ids[::-1]
        assert [i.id for i in await store.list_sessions("/a")] == [ids[2], ids[0]]
        latest = await store.latest("/a")
        assert latest is not None and latest.id == ids[2]
        assert await store.latest("/nowhere") is None
        assert [i.id for i in await store.list_sessions(query="TITLE 1")] == [ids[1]]
        # LIKE wildcards in a query are literal.
        assert await store.list_sessions(query="%") == []
        found = await store.search("100%_done")
        assert {i.id for i in found} == set()  # prompts only reach search through records
        await store.add_record(seed(ids[1], project="/b"), 1, "user", {"text": "the 100%_done thing"})
        assert [i.id for i in await store.search("100%_DONE")] == [ids[1]]
        assert [i.id for i in await store.search("100%_done", "/a")] == []
        assert await store.count_sessions() == 3
        newest, counts = await store.newest_listed("/a", 1)
        assert [i.id for i in newest] == [ids[2]] and counts == (3, 2)  # the empty session is not counted
        assert await store.newest_listed("/nowhere", 5) == ([], (0, 0))
    finally:
        await store.aclose()


async def test_resolve_by_prefix_with_ambiguity(store: SessionStore) -> None:
    a = seed("aaaa1111-0000-4000-8000-000000000001")
    b = seed("aaaa2222-0000-4000-8000-000000000002")
    for s in (a, b):
        await store.save_message(s, user_text("x"), title=s.id[:8])
    assert (await store.resolve("aaaa1")).id == a.id
    assert (await store.resolve("AAAA2222")).id == b.id
    assert (await store.resolve(a.id)).id == a.id
    with pytest.raises(AmbiguousSessionError) as caught:
        await store.resolve("aaaa")
    assert {c.id for c in caught.value.candidates} == {a.id, b.id}
    assert a.id in str(caught.value) and b.id in str(caught.value)
    with pytest.raises(SessionNotFoundError, match="stoa -r"):
        await store.resolve("bbbb")


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "../etc/passwd", "abc/def", "abc\\def", "a%", "a_b", "0x12", "abc def", "é", "a" * 37, "-abc"],
)
async def test_junk_session_ids_are_rejected(store: SessionStore, bad: str) -> None:
    with pytest.raises(InvalidSessionIdError, match="not a session id"):
        await store.resolve(bad)
    with pytest.raises(InvalidSessionIdError):
        validate_session_id(bad)


async def test_full_ids_are_required_for_writes(store: SessionStore) -> None:
    with pytest.raises(InvalidSessionIdError):
        await store.create_session(seed("abcd"))
    with pytest.raises(InvalidSessionIdError):
        await store.delete("../x")


async def test_delete_removes_messages_and_records(store: SessionStore) -> None:
    keep, gone = seed(), seed()
    for s in (keep, gone):
        await store.save_message(s, user_text("x"), records=[(1, "user", {"text": "x"})])
    assert await store.delete(gone.id)
    assert not await store.delete(gone.id)
    assert await store.get(gone.id) is None
    assert await store.load_messages(gone.id) == []
    assert await store.load_records(gone.id) == []
    assert len(await store.load_messages(keep.id)) == 1


async def test_database_is_in_wal_mode_with_current_schema(store: SessionStore) -> None:
    assert await store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    junk = b"this is not sqlite\n" * 500
    path.write_bytes(junk)
    store = await SessionStore.open(path)
    try:
        assert len(store.notices) == 1
        notice = store.notices[0]
        moved = [p for p in listing(tmp_path) if p.name.startswith("sessions.db.corrupt-")]
        assert len(moved) == 1
        assert moved[0].read_bytes() == junk  # never deleted, never changed
        assert str(path) in notice and str(moved[0]) in notice and "new one" in notice
        s = seed()
        await store.save_message(s, user_text("works"))
        assert len(await store.load_messages(s.id)) == 1
    finally:
        await store.aclose()


async def test_a_damaged_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = await SessionStore.open(path)
    await store.save_message(seed(), user_text("x"))
    await store.aclose()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page
    path.write_bytes(bytes(data))
    store = await SessionStore.open(path)
    try:
        assert store.notices and "moved aside" in store.notices[0]
        moved = moved_files(tmp_path)
        assert len(moved) == 1 and moved[0].read_bytes() == bytes(data)
        assert await store.list_sessions() == []
    finally:
        await store.aclose()


async def test_a_folder_in_place_of_the_database_is_left_alone(tmp_path: Path) -> None:
    # Not a damaged database: nothing is moved; the store says what to do and, detached, saves
    # as soon as the way is clear again.
    path = tmp_path / "sessions.db"
    path.mkdir()
    (path / "keep.txt").write_text("mine")
    with pytest.raises(StoreUnavailableError, match=r"is a folder, not a database.*Move or rename"):
        await SessionStore.open(path)
    store = await SessionStore.open(path, detached_ok=True)
    try:
        assert not store.available and len(store.notices) == 1
        assert "not being saved" in store.notices[0] and "kept in memory" in store.notices[0]
        s = seed()
        with pytest.raises(SaveError, match="is a folder"):
            await store.save_message(s, user_text("kept in memory"))
        assert sorted(p.name for p in listing(tmp_path)) == ["sessions.db"]
        assert (path / "keep.txt").read_text() == "mine"
        (path / "keep.txt").rename(tmp_path / "keep.txt")
        path.rmdir()  # the person moved the folder away
        await store.save_message(s, user_text("saved now"))
        assert store.available and len(await store.load_messages(s.id)) == 1
    finally:
        await store.aclose()


async def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE future (x)")
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(SchemaTooNewError) as caught:
        await SessionStore.open(path)
    message = str(caught.value)
    assert str(path) in message and "newer Stoa" in message and "STOA_HOME" in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in listing(tmp_path)) == ["sessions.db"]
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


async def test_disk_full_is_a_clear_save_error_and_the_store_recovers(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = await SessionStore.open(path)
    try:
        s = seed()
        await store.save_message(s, user_text("small"))
        pages = (await store._read("PRAGMA page_count"))[0][0]
        # A real SQLITE_FULL: the database may not grow past its current size.
        await store._db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(SaveError) as caught:
            await store.save_message(s, user_text("y" * 200_000))
        assert caught.value.disk_full
        assert "full" in str(caught.value) and str(path) in str(caught.value)
        assert len(await store.load_messages(s.id)) == 1  # the failed write left nothing half-done
        await store._db.execute("PRAGMA max_page_count = 1073741823")
        await store.save_message(s, user_text("y" * 200_000))
        assert len(await store.load_messages(s.id)) == 2
    finally:
        await store.aclose()


async def test_unreadable_message_rows_are_skipped_not_fatal(store: SessionStore) -> None:
    s = seed()
    await store.save_message(s, user_text("good"))
    await store._db.execute(
        "INSERT INTO messages (session_id, seq, role, body, created_at) VALUES (?, 99, 'user', '{bad', 0)",
        (s.id,),
    )
    assert await store.load_messages(s.id) == [user_text("good")]


async def test_closing_twice_and_using_after_close(tmp_path: Path) -> None:
    store = await SessionStore.open(tmp_path / "x.db")
    await store.aclose()
    await store.aclose()
    with pytest.raises(SaveError, match="closed"):
        await store.save_message(seed(), user_text("late"))


def listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def moved_files(folder: Path) -> list[Path]:
    """Databases moved aside (their -wal/-shm companions, moved with them, left out)."""
    return [
        p for p in listing(folder)
        if p.name.startswith("sessions.db.corrupt-") and not p.name.endswith(("-wal", "-shm", "-journal"))
    ]


async def test_text_that_is_not_valid_unicode_is_saved_in_the_escape_form(store: SessionStore) -> None:
    # A file name that is not UTF-8 reaches Python as lone surrogates ('bad\udcff.txt'); SQLite
    # and JSON refuse those. The store saves the escape form the screen shows instead of failing.
    s = seed()
    await store.save_message(s, user_text("look at bad\udcff.txt and \ud800"))
    await store.add_record(s, 1, "tool", {"result_text": "dir\udcfe/caf\udce9.py", "raw": b"\x00\xff", "n": 3})
    assert await store.load_messages(s.id) == [user_text("look at bad\\xff.txt and \\ud800")]
    (record,) = await store.load_records(s.id)
    assert record.data == {"result_text": "dir\\xfe/caf\\xe9.py", "raw": b"\x00\xff", "n": 3}
    # Valid text is stored as it is (no escaping of ordinary non-ASCII characters).
    await store.add_record(s, 2, "note", {"text": "café ✓ 𝄞"})
    assert (await store.load_records(s.id))[1].data == {"text": "café ✓ 𝄞"}


async def filled_database(path: Path) -> tuple[SessionSeed, int]:
    """A closed database with one session of 40 messages of 3 KB (many pages). Returns the
    seed and the page size."""
    store = await SessionStore.open(path)
    s = seed()
    for i in range(40):
        await store.save_message(s, user_text(f"message {i} " + "x" * 3000))
    page_size = (await store._read("PRAGMA page_size"))[0][0]
    await store.aclose()
    assert not path.with_name(path.name + "-wal").exists()  # checkpointed on close
    return s, page_size


async def test_zeroed_pages_past_the_header_are_found_when_a_save_fails(tmp_path: Path) -> None:
    # Page 1 (header and schema) intact, everything after it zeroed: the file opens, and the
    # damage only shows when a save touches it. The store reads the whole file to confirm
    # (quick_check), remembers it in a marker, and the next start moves the file aside.
    path = tmp_path / "sessions.db"
    s, page_size = await filled_database(path)
    data = bytearray(path.read_bytes())
    data[page_size:] = bytes(len(data) - page_size)
    path.write_bytes(bytes(data))
    store = await SessionStore.open(path)
    try:
        assert store.notices == []
        with pytest.raises(SaveError) as caught:
            await store.save_message(s, user_text("one more"))
        message = str(caught.value)
        assert "damaged" in message and "quick_check" in message and "next time Stoa starts" in message
        assert (tmp_path / "sessions.db.damaged").exists()
        assert moved_files(tmp_path) == []  # nothing moved while this process uses it
    finally:
        await store.aclose()
    store = await SessionStore.open(path)
    try:
        assert len(store.notices) == 1 and "moved aside" in store.notices[0]
        (moved,) = moved_files(tmp_path)
        assert moved.read_bytes() == bytes(data)  # never changed
        assert not (tmp_path / "sessions.db.damaged").exists()
        await store.save_message(seed(), user_text("a fresh start"))
    finally:
        await store.aclose()


@pytest.mark.parametrize("cut_pages", [1, 25])
async def test_a_truncated_database_is_moved_aside(tmp_path: Path, cut_pages: int) -> None:
    # Shorter than its header says: SQLite refuses it at once, and reading it confirms it.
    path = tmp_path / "sessions.db"
    s, page_size = await filled_database(path)
    data = path.read_bytes()[: -cut_pages * page_size]
    path.write_bytes(data)
    store = await SessionStore.open(path)
    try:
        assert "moved aside" in store.notices[0] and "damaged" in store.notices[0]
        (moved,) = moved_files(tmp_path)
        assert moved.read_bytes() == data
        assert await store.load_messages(s.id) == []
    finally:
        await store.aclose()


async def test_a_damage_marker_is_checked_against_the_file_before_anything_moves(tmp_path: Path) -> None:
    # A marker left behind (the file was restored from a backup since): the file is read again,
    # found healthy, used, and the marker dropped.
    path = tmp_path / "sessions.db"
    s, _ = await filled_database(path)
    (tmp_path / "sessions.db.damaged").write_text('{"reason": "found damaged earlier"}\n')
    store = await SessionStore.open(path)
    try:
        assert store.notices == [] and moved_files(tmp_path) == []
        assert len(await store.load_messages(s.id)) == 40
        assert not (tmp_path / "sessions.db.damaged").exists()
    finally:
        await store.aclose()


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + b"\x00" * 20, b"\x00" * 4096, b"PK\x03\x04 a zip file"])
async def test_files_that_are_not_databases_are_moved_aside_at_once(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(content)
    store = await SessionStore.open(path)
    try:
        assert "moved aside" in store.notices[0]
        (moved,) = moved_files(tmp_path)
        assert moved.read_bytes() == content
    finally:
        await store.aclose()


LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode=EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
db.execute("SELECT count(*) FROM sessions").fetchall()
print("locked", flush=True)
sys.stdin.readline()
"""


def lock_in_child(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


async def test_a_database_locked_by_another_program_is_left_alone_and_used_once_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another program (a real process) holds an exclusive lock: opening waits the busy timeout,
    # then the store starts detached, saying so; nothing is moved, and saving works once the
    # lock is gone. (Timeouts of 1 s instead of 10 s and 5 s: the same path, 13 s sooner.)
    from stoa.core.sessions import health
    from stoa.core.sessions import store as store_module

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT", 1.0)
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 1.0)
    path = tmp_path / "sessions.db"
    s, _ = await filled_database(path)
    locker = lock_in_child(path)
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        store = await SessionStore.open(path, detached_ok=True)
        assert not store.available
        assert "locked by another program" in store.notices[0] and moved_files(tmp_path) == []
    finally:
        assert locker.stdin is not None
        locker.stdin.write("\n")
        locker.stdin.close()
        locker.wait(30)
    try:
        await store.save_message(s, user_text("after the lock"))
        assert len(await store.load_messages(s.id)) == 41
    finally:
        await store.aclose()
