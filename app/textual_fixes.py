"""Fixes to Textual applied when the app is made (each says what it fixes and how to drop it).

``free_removed_widgets``: Textual's ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a
method, so its key holds the ``StylesCache`` instance: every widget that drew a line keeps its
whole line cache (its Strips) alive after it is removed, up to 1,024 widgets
(Textualize/textual#6665, open in 8.2.8). A picker opened and closed left about 1,100 objects
behind (the resume picker about 4,900; a chat's rows likewise). The function only maps two
colours to two styles, so it is cached here on the colours alone. Drop this when Textual's
own cache no longer takes the instance.

``writes_survive_a_lost_terminal``: Textual writes to the terminal through a thread fed by a
queue of 30 writes (``WriterThread``). When the terminal goes away (its window closed, ssh
dropped) the kernel sends SIGHUP then SIGCONT; Textual answers SIGCONT by starting application
mode again, with a new writer thread, whose first flush to the dead terminal raises EIO and ends
the thread. Nothing empties its queue after that, so the app's 31st write blocked the event loop
for good, and Stoa's exit on SIGHUP waited for its last resort (15 s, ``app/signals.py``): 1 run
in 4 under load, the main thread in ``WriterThread.stop`` -> ``Queue.put``. ``SafeWriterThread``
keeps emptying the queue after a failed write (there is no terminal to show it on). Drop this
when Textual's writer survives an OSError (tests/unit/test_terminal_writer.py says when).
"""

from __future__ import annotations

from contextlib import suppress
from functools import lru_cache
from typing import Any

from textual.drivers._writer_thread import WriterThread

_applied = False


def free_removed_widgets() -> None:
    """Cache ``StylesCache.get_inner_outer`` on its colours only. Idempotent."""
    global _applied
    if _applied:
        return
    from textual._styles_cache import StylesCache

    original: Any = StylesCache.get_inner_outer
    compute = getattr(original, "__wrapped__", None)
    if compute is None or not hasattr(original, "cache_clear"):
        _applied = True  # Textual changed it: nothing of ours to fix
        return

    @lru_cache(1024)
    def by_colours(base_background: Any, background: Any) -> Any:
        return compute(None, base_background, background)

    def get_inner_outer(self: Any, base_background: Any, background: Any) -> Any:
        return by_colours(base_background, background)

    original.cache_clear()  # what it holds already
    setattr(StylesCache, "get_inner_outer", get_inner_outer)  # noqa: B010 (a private method)
    _applied = True


class SafeWriterThread(WriterThread):
    """A ``WriterThread`` whose queue is still emptied after the terminal fails."""

    failed: OSError | None = None

    def run(self) -> None:
        # Textual's loop (write; flush when the queue is empty; end at None), with the failure
        # of a write or a flush ending the writing, never the emptying.
        write = self._file.write
        flush = self._file.flush
        get = self._queue.get
        qsize = self._queue.qsize
        while (text := get()) is not None:
            if self.failed is not None:
                continue
            try:
                write(text)
                if qsize() == 0:
                    flush()
            except OSError as exc:
                self.failed = exc
        if self.failed is None:
            with suppress(OSError):
                flush()


def writes_survive_a_lost_terminal() -> None:
    """Textual's Linux driver makes ``SafeWriterThread``s (before the app starts). Idempotent."""
    from textual.drivers import linux_driver

    linux_driver.WriterThread = SafeWriterThread  # type: ignore[misc]
