"""Text that is not valid Unicode: bytes that are not UTF-8 shown as ``\\xNN``, and back.

Linux file names are bytes. Python hands a name that is not UTF-8 (``b'bad\\xff.txt'``, common
in test fixtures) over as a string with a lone surrogate for each such byte (``'bad\\udcff.txt'``,
the ``surrogateescape`` convention). Such a string cannot be encoded as UTF-8: not into a JSON
request, not into SQLite, not onto the terminal. So wherever text leaves Stoa's own code for
the model, the screen or the session store, it goes through ``escape_surrogates``, which writes
each such byte as ``\\xNN`` (the way Python shows bytes): ``bad\\xff.txt``. Any other lone
surrogate (from a broken ``\\ud800`` escape) is written as ``\\udNNN``.

The file tools accept the escape form back: ``unescape_bytes`` turns ``\\xNN`` (NN from 80 to
ff) into the byte again; ``core.permissions.paths.resolve`` uses it for a name that does not
exist as written, so ``read_file("bad\\xff.txt")`` reads the file the listing showed.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_BYTE_ESCAPE = re.compile(r"\\x([89a-fA-F][0-9a-fA-F])")


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def escape_surrogates(text: str) -> str:
    """``text`` with every lone surrogate written as ``\\xNN`` (a byte) or ``\\uNNNN``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(_escape_one, text)
    return text


def clean(value: Any) -> Any:
    """``value`` (str, or dicts, lists and tuples of them) with ``escape_surrogates`` applied
    to every string, keys included. Other values are returned as they are."""
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean(v) for v in value)
    return value


def has_byte_escapes(text: str) -> bool:
    return _BYTE_ESCAPE.search(text) is not None


def unescape_bytes(text: str) -> str:
    """``\\xNN`` (NN from 80 to ff) back to the byte it stands for (as a surrogate escape)."""
    return _BYTE_ESCAPE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text)
