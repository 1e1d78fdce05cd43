"""Stoa's own log: a rotating file under the user log folder, and ``--log-file``/``--debug``.

Every record is one JSON line (``time``, ``level``, ``logger``, ``message``, and ``event`` for
the agent's events), with Stoa's credentials redacted by the sandbox's redaction owner
(``core.sandbox.secrets``) before it reaches any handler. At the default level the agent's
requests, tool calls, decisions, notices and failures are kept; ``--debug`` keeps every event
in full (streamed deltas excepted) and every library's debug records.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import time
from pathlib import Path
from typing import Any

LOG_NAME = "stoa.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 3
EVENTS = logging.getLogger("stoa.events")
# Events kept at the default level (the rest only with --debug).
_SUMMARISED = frozenset(
    {
        "TurnStarted",
        "RequestStarted",
        "ToolCallStarted",
        "ToolCallFinished",
        "PermissionRequested",
        "Notice",
        "Retrying",
        "TurnFailed",
        "TurnFinished",
        "TurnInterrupted",
        "ContextCompacted",
    }
)
_ATTACHED = "_stoa_handler"


class _Redacting(logging.Filter):
    def __init__(self, config: object) -> None:
        super().__init__()
        from stoa.core.sandbox.secrets import SessionRedactor

        self._redactor = SessionRedactor(config)

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self._redactor.current()
        record.msg = redact(record.getMessage())
        record.args = None
        event = getattr(record, "event", None)
        if event is not None:
            record.event = redact.redact_value(event)
        return True


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        event = getattr(record, "event", None)
        if event is not None:
            line["event"] = event
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def log_path(log_dir: Path) -> Path:
    return log_dir / LOG_NAME


def setup_logging(
    config: Any, *, debug: bool = False, log_file: Path | None = None, stderr: bool = False
) -> list[str]:
    """Attach the rotating log (and ``log_file``) to the ``stoa`` logger; problems are returned
    as warnings (a log that cannot be written never stops Stoa)."""
    root = logging.getLogger("stoa")
    for old in [h for h in root.handlers if getattr(h, _ATTACHED, False)]:
        root.removeHandler(old)
        old.close()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False
    redacting = _Redacting(config)
    warnings: list[str] = []
    if stderr:  # headless --debug: the records on stderr too
        import sys

        echo = logging.StreamHandler(sys.stderr)
        echo.addFilter(redacting)
        echo.setFormatter(_JsonLines())
        setattr(echo, _ATTACHED, True)
        root.addHandler(echo)
    targets: list[tuple[Path, bool]] = [(log_path(config.paths.log_dir), True)]
    if log_file is not None:
        targets.append((log_file, False))
    for path, rotating in targets:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = (
                logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
                if rotating
                else logging.FileHandler(path, encoding="utf-8")
            )
        except OSError as exc:
            warnings.append(f"the log {path} cannot be written ({exc.strerror or exc}); logging there is off")
            continue
        handler.addFilter(redacting)
        handler.setFormatter(_JsonLines())
        setattr(handler, _ATTACHED, True)
        root.addHandler(handler)
    return warnings


def log_event(event: object) -> None:
    """One agent event into the log: a summary at the default level, everything with --debug."""
    kind = type(event).__name__
    debug = EVENTS.isEnabledFor(logging.DEBUG)
    if kind not in _SUMMARISED and not debug:
        return
    if not EVENTS.isEnabledFor(logging.INFO):
        return
    from stoa.core.events import event_to_dict

    data = event_to_dict(event)  # type: ignore[arg-type]
    if not debug:
        for bulky in ("result_text", "display", "arguments", "message", "summary_text"):
            if isinstance(data.get(bulky), str | dict | list) and len(json.dumps(data[bulky], default=str)) > 300:
                data[bulky] = "(left out; --debug keeps it)"
    EVENTS.info(kind, extra={"event": data})


def recent_log(log_dir: Path, limit: int = 200_000) -> str:
    """The last ``limit`` characters of the log (for a debug bundle)."""
    path = log_path(log_dir)
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
