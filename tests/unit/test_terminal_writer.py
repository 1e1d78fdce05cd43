"""Textual's output thread and a terminal that goes away (app/textual_fixes.py): on a real
pty whose other end is closed, writes fail with EIO; the app's writes and the driver's stop
must still return. Textual's own WriterThread blocks for good there, after 30 writes."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from contextlib import suppress

import pytest
from textual.drivers._writer_thread import MAX_QUEUED_WRITES, WriterThread

from stoa.app.textual_fixes import SafeWriterThread, writes_survive_a_lost_terminal


def _write_to_a_terminal_that_went_away(
    kind: Callable[..., WriterThread], wait: float = 5.0
) -> tuple[bool, WriterThread]:
    """(whether writing and stopping returned within ``wait`` seconds, the writer)."""
    master, slave = os.openpty()
    terminal = open(slave, "w", encoding="utf-8")
    writer = kind(terminal)
    writer.start()
    writer.write("drawn while the terminal is there\n")
    os.close(master)  # the window closed: the terminal side is gone, writes now fail with EIO

    def app_writes_then_stops() -> None:
        for n in range(4 * MAX_QUEUED_WRITES):
            writer.write(f"\x1b[2J frame {n}\n")
        writer.stop()

    app = threading.Thread(target=app_writes_then_stops, daemon=True)
    app.start()
    app.join(timeout=wait)
    returned = not app.is_alive()
    if returned:
        with suppress(OSError):  # what is still buffered cannot be written either
            terminal.close()
    return returned, writer


def test_writes_to_a_terminal_that_went_away_never_block() -> None:
    returned, writer = _write_to_a_terminal_that_went_away(SafeWriterThread)
    assert returned, "the app's writes or the driver's stop blocked on a terminal that is gone"
    assert not writer.is_alive()
    assert isinstance(writer, SafeWriterThread)
    assert writer.failed is not None and writer.failed.errno == errno.EIO


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # its thread dies of EIO
def test_textuals_own_writer_blocks_there() -> None:
    """Why the subclass exists: when this fails, Textual's writer survives a lost terminal and
    ours can go."""
    returned, _ = _write_to_a_terminal_that_went_away(WriterThread, wait=1.0)
    assert not returned


def test_a_working_terminal_gets_every_write(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "out"
    with open(path, "w", encoding="utf-8") as out:
        writer = SafeWriterThread(out)
        writer.start()
        for n in range(200):
            writer.write(f"{n}\n")
        writer.stop()
    assert path.read_text().split() == [str(n) for n in range(200)]
    assert writer.failed is None


def test_the_app_runs_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.drivers import linux_driver

    monkeypatch.setattr(linux_driver, "WriterThread", linux_driver.WriterThread)
    writes_survive_a_lost_terminal()
    assert linux_driver.WriterThread is SafeWriterThread
