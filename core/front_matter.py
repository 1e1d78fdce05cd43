"""Front matter of Markdown files (custom commands, agents, skills): ``---``, ``key: value``
lines, ``---``, then the body.

Strict (``keys`` given: custom commands) refuses an unknown key and names the line. Lenient
(``keys=None``: agent and skill files written for other tools) keeps every top-level key and
reads the YAML forms such files use: quoted values, a folded or literal block (``key: >`` /
``key: |`` and the indented lines after it), a list (``key:`` then ``- item`` lines, or
``[a, b]``); nested mappings under a key are skipped. No YAML library is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def read_front_matter(path: Path, max_bytes: int, too_long: str) -> tuple[dict[str, str], str]:
    """A Markdown file's front matter and body (lenient). Raises ValueError with the words to
    show: unreadable, over ``max_bytes`` (``too_long`` says what to do), or unreadable front
    matter."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from exc
    if len(raw) > max_bytes:
        raise ValueError(f"over {max_bytes // 1024} KB; {too_long}")
    return parse_front_matter(raw.decode("utf-8", errors="replace").replace("\r\n", "\n"))


def parse_front_matter(text: str, keys: Iterable[str] | None = None) -> tuple[dict[str, str], str]:
    """The front matter (values as text; a list is joined with ", ") and the body. Raises
    ValueError naming the line when the block is not closed or a line cannot be read."""
    known = tuple(keys) if keys is not None else None
    text = text.lstrip("\ufeff")
    if not text.startswith("---\n") and text.rstrip("\n") != "---":
        return {}, text
    lines = text.split("\n")
    if not any(line.strip() == "---" for line in lines[1:]):
        raise ValueError("the front matter is not closed: add a line '---' after its last 'key: value' line")
    meta: dict[str, str] = {}
    # The key whose value continues on indented lines (a block or a list), if any.
    open_key: str | None = None
    block: list[str] = []
    folded = True

    def close() -> None:
        nonlocal open_key
        if open_key is not None and block:
            items = [b[2:].strip() for b in block if b.startswith("- ")]
            if items and len(items) == len(block):
                meta[open_key] = ", ".join(unquote(i) for i in items)
            elif not meta.get(open_key):
                meta[open_key] = (" " if folded else "\n").join(block).strip()
        open_key = None
        block.clear()

    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            close()
            return meta, "\n".join(lines[number:])
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if known is None and (line[:1] in (" ", "\t") or line.startswith("- ")):
            if open_key is not None:
                block.append(line.strip())
            continue  # a nested mapping's lines (metadata: ...) are not read
        close()
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon or not key or " " in key:
            raise ValueError(f"front matter line {number} is not 'key: value': {line.strip()[:60]!r}")
        if known is not None and key not in known:
            raise ValueError(f"front matter line {number}: unknown key {key!r}; known keys: {', '.join(known)}")
        value = value.strip()
        if known is None and value in ("", ">", "|", ">-", "|-", ">+", "|+"):
            open_key, folded = key, not value.startswith("|")
            meta[key] = ""
            continue
        if known is None and value.startswith("[") and value.endswith("]"):
            value = ", ".join(unquote(v.strip()) for v in value[1:-1].split(",") if v.strip())
        meta[key] = unquote(value)
    raise AssertionError("unreachable: a closing line was found above")


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def split_list(value: str) -> tuple[str, ...]:
    """``Read, Grep`` or ``Read Grep``: the names of a list value."""
    parts = value.replace(",", " ").split()
    return tuple(unquote(p) for p in parts if p)
