"""Sessions on disk: the SQLite store, the recorder that saves a conversation as it happens,
titles, and resume.

Front-ends call ``open_session(runtime, resume, continue_latest)`` after ``build_runtime``;
see ``core.sessions.resume``.
"""

from stoa.core.sessions.lock import LockHolder, SessionLock, SessionLockedError
from stoa.core.sessions.recorder import SessionRecorder, SessionState
from stoa.core.sessions.resume import (
    NoSessionToContinueError,
    SessionHandle,
    clear_session,
    close_session,
    delete_session,
    fork_session,
    open_session,
    open_store,
    resume_session,
    switch_to,
)
from stoa.core.sessions.store import (
    AmbiguousSessionError,
    DatabaseUnusableError,
    DisplayRecord,
    InvalidSessionIdError,
    SaveError,
    SchemaTooNewError,
    SessionInfo,
    SessionNotFoundError,
    SessionSeed,
    SessionStore,
    SessionStoreError,
    validate_session_id,
)
from stoa.core.sessions.summary import AwaySummary, format_age, format_duration

__all__ = [
    "AmbiguousSessionError",
    "AwaySummary",
    "DatabaseUnusableError",
    "DisplayRecord",
    "InvalidSessionIdError",
    "LockHolder",
    "NoSessionToContinueError",
    "SaveError",
    "SchemaTooNewError",
    "SessionHandle",
    "SessionInfo",
    "SessionLock",
    "SessionLockedError",
    "SessionNotFoundError",
    "SessionRecorder",
    "SessionSeed",
    "SessionState",
    "SessionStore",
    "SessionStoreError",
    "clear_session",
    "close_session",
    "delete_session",
    "fork_session",
    "format_age",
    "format_duration",
    "open_session",
    "open_store",
    "resume_session",
    "switch_to",
    "validate_session_id",
]
