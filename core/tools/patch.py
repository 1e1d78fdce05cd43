"""The patch format of OpenAI's Codex (``apply_patch``): parse it, and apply it to text.

Pure functions, no file access (the ``apply_patch`` tool in core/tools/apply_patch.py reads,
checks and writes). The grammar, as Codex's ``codex-rs/apply-patch`` defines it::

    *** Begin Patch
    *** Add File: <path>            then only "+text" lines (the new file)
    *** Delete File: <path>
    *** Update File: <path>
    *** Move to: <new path>         optional, right after Update
    @@ [a line to find first]       chunks of " context", "-removed", "+added" lines,
    ...                             optionally closed by "*** End of File"
    *** End Patch

Leniency follows Codex's: markers may carry surrounding whitespace, a heredoc wrapper
(``<<EOF`` / ``<<'EOF'`` / ``<<"EOF"`` ... ``EOF``) is removed, the first chunk of an update may
omit its ``@@``, blank lines between chunks are skipped, and lines are located by
``seek_sequence``: exactly, then ignoring trailing whitespace, then surrounding whitespace,
then typographic punctuation. A chunk without removed or context lines adds at the end of the
file (as Codex does). Lines keep their own line endings; new lines take the file's first one.
One extension: several ``@@ context`` lines in a row narrow the place step by step (the form
Codex's own instructions show for a method of a class); Codex refuses that form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BEGIN_PATCH = "*** Begin Patch"
END_PATCH = "*** End Patch"
ADD_FILE = "*** Add File: "
DELETE_FILE = "*** Delete File: "
UPDATE_FILE = "*** Update File: "
MOVE_TO = "*** Move to: "
END_OF_FILE = "*** End of File"
CONTEXT = "@@ "
EMPTY_CONTEXT = "@@"
HEREDOC_STARTS = ("<<EOF", "<<'EOF'", '<<"EOF"')


class PatchSyntaxError(Exception):
    """The patch text does not follow the grammar. ``line`` is 1-based, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"invalid patch: {where}{self.message}"


class PatchApplyError(Exception):
    """A well-formed patch that does not fit the file it names."""


@dataclass(frozen=True)
class ChunkLine:
    kind: str  # " " context, "-" removed, "+" added
    text: str


@dataclass
class Chunk:
    """One ``@@`` section of an update: find ``contexts`` in order, then the old lines after them."""

    contexts: list[str] = field(default_factory=list)
    lines: list[ChunkLine] = field(default_factory=list)
    end_of_file: bool = False

    @property
    def old_lines(self) -> list[str]:
        return [line.text for line in self.lines if line.kind != "+"]

    @property
    def new_lines(self) -> list[str]:
        return [line.text for line in self.lines if line.kind != "-"]


@dataclass
class AddFile:
    path: str
    contents: str


@dataclass
class DeleteFile:
    path: str


@dataclass
class UpdateFile:
    path: str
    move_to: str | None
    chunks: list[Chunk]


Hunk = AddFile | DeleteFile | UpdateFile


# ---- parsing -----------------------------------------------------------------------------------


def parse_patch(text: str) -> list[Hunk]:
    """The file operations of a patch, in order. Raises PatchSyntaxError."""
    lines = [line.removesuffix("\r") for line in text.strip().split("\n")] if text.strip() else []
    if not lines:
        raise PatchSyntaxError(f"the patch is empty; it starts with '{BEGIN_PATCH}' and ends with '{END_PATCH}'")
    body = _inside_markers(lines)
    hunks: list[Hunk] = []
    line_number = 2
    while body:
        hunk, used = _parse_hunk(body, line_number)
        hunks.append(hunk)
        line_number += used
        body = body[used:]
    return hunks


def _inside_markers(lines: list[str]) -> list[str]:
    try:
        return _strict_markers(lines)
    except PatchSyntaxError:
        first, last = lines[0], lines[-1]
        if first in HEREDOC_STARTS and last.endswith("EOF") and len(lines) >= 4:
            return _strict_markers(lines[1:-1])
        raise


def _strict_markers(lines: list[str]) -> list[str]:
    first, last = lines[0].strip(), lines[-1].strip()
    if first != BEGIN_PATCH:
        raise PatchSyntaxError(f"The first line of the patch must be '{BEGIN_PATCH}'")
    if len(lines) < 2 or last != END_PATCH:
        raise PatchSyntaxError(f"The last line of the patch must be '{END_PATCH}'")
    return lines[1:-1]


def _parse_hunk(lines: list[str], line_number: int) -> tuple[Hunk, int]:
    header = lines[0].strip()
    if header.startswith(ADD_FILE):
        added = 0
        contents: list[str] = []
        for line in lines[1:]:
            if not line.startswith("+"):
                break
            contents.append(line[1:] + "\n")
            added += 1
        return AddFile(header[len(ADD_FILE) :], "".join(contents)), 1 + added
    if header.startswith(DELETE_FILE):
        return DeleteFile(header[len(DELETE_FILE) :]), 1
    if header.startswith(UPDATE_FILE):
        path = header[len(UPDATE_FILE) :]
        rest = lines[1:]
        used = 1
        move_to = None
        if rest and rest[0].startswith(MOVE_TO):
            move_to = rest[0][len(MOVE_TO) :]
            rest, used = rest[1:], used + 1
        chunks: list[Chunk] = []
        while rest:
            if not rest[0].strip():  # blank lines between chunks
                rest, used = rest[1:], used + 1
                continue
            if rest[0].startswith("*"):
                break
            chunk, taken = _parse_chunk(rest, line_number + used, first=not chunks)
            chunks.append(chunk)
            rest, used = rest[taken:], used + taken
        if not chunks:
            raise PatchSyntaxError(f"Update file hunk for path '{path}' is empty", line_number)
        return UpdateFile(path, move_to, chunks), used
    raise PatchSyntaxError(
        f"'{header}' is not a valid hunk header. Valid hunk headers: '*** Add File: {{path}}', "
        "'*** Delete File: {path}', '*** Update File: {path}'",
        line_number,
    )


def _parse_chunk(lines: list[str], line_number: int, *, first: bool) -> tuple[Chunk, int]:
    chunk = Chunk()
    start = 0
    while start < len(lines) and (lines[start] == EMPTY_CONTEXT or lines[start].startswith(CONTEXT)):
        if lines[start] != EMPTY_CONTEXT:
            chunk.contexts.append(lines[start][len(CONTEXT) :])
        start += 1
    if start == 0 and not first:
        raise PatchSyntaxError(
            f"Expected update hunk to start with a @@ context marker, got: '{lines[0]}'", line_number
        )
    if start >= len(lines):
        raise PatchSyntaxError("Update hunk does not contain any lines", line_number + start)
    taken = 0
    for line in lines[start:]:
        if line == END_OF_FILE:
            if taken == 0:
                raise PatchSyntaxError("Update hunk does not contain any lines", line_number + start)
            chunk.end_of_file = True
            taken += 1
            break
        if line == "":
            chunk.lines.append(ChunkLine(" ", ""))  # an empty context line
        elif line[0] in " -+":
            chunk.lines.append(ChunkLine(line[0], line[1:]))
        elif taken == 0:
            raise PatchSyntaxError(
                f"Unexpected line found in update hunk: '{line}'. Every line should start with ' ' "
                "(context line), '+' (added line), or '-' (removed line)",
                line_number + start,
            )
        else:
            break  # the next chunk or file operation
        taken += 1
    return chunk, start + taken


# ---- applying ----------------------------------------------------------------------------------


def seek_sequence(lines: list[str], pattern: list[str], start: int, end_of_file: bool) -> int | None:
    """Where ``pattern`` occurs in ``lines`` at or after ``start`` (with ``end_of_file``: only
    at the very end), trying exact matches first, then looser ones."""
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    first = len(lines) - len(pattern) if end_of_file else start
    last = len(lines) - len(pattern)
    for same in (_exact, _rstripped, _stripped, _normalised):
        for index in range(first, last + 1):
            if all(same(lines[index + k], p) for k, p in enumerate(pattern)):
                return index
    return None


def _exact(a: str, b: str) -> bool:
    return a == b


def _rstripped(a: str, b: str) -> bool:
    return a.rstrip() == b.rstrip()


def _stripped(a: str, b: str) -> bool:
    return a.strip() == b.strip()


_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
        **dict.fromkeys("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    }
)


def _normalised(a: str, b: str) -> bool:
    return a.strip().translate(_PUNCTUATION) == b.strip().translate(_PUNCTUATION)


@dataclass
class _Line:
    text: str
    ending: str  # "\n", "\r\n", or "" for a last line without one


def apply_chunks(content: str, chunks: list[Chunk], name: str) -> str:
    """``content`` after the update chunks of one file. Raises PatchApplyError naming ``name``."""
    bom = "\ufeff" if content.startswith("\ufeff") else ""
    lines = _split(content[len(bom) :])
    preferred = next((line.ending for line in lines if line.ending), "\n")
    texts = [line.text for line in lines]
    replacements: list[tuple[int, int, list[ChunkLine]]] = []
    index = 0
    for chunk in chunks:
        for context in chunk.contexts:
            found = seek_sequence(texts, [context], index, False)
            if found is None:
                raise PatchApplyError(f"Failed to find context '{context}' in {name}")
            index = found + 1
        if not chunk.old_lines:
            # Nothing to find: Codex adds the lines at the end (before a last blank line).
            at = len(texts) - 1 if texts and texts[-1] == "" else len(texts)
            replacements.append((at, 0, chunk.lines))
            continue
        ops = chunk.lines
        found = seek_sequence(texts, [op.text for op in ops if op.kind != "+"], index, chunk.end_of_file)
        if found is None and chunk.old_lines[-1] == "":
            # The last old line may stand for the file's final newline: try without it.
            ops = _without_final_blank(ops)
            found = seek_sequence(texts, [op.text for op in ops if op.kind != "+"], index, chunk.end_of_file)
        if found is None:
            raise PatchApplyError(f"Failed to find expected lines in {name}:\n" + "\n".join(chunk.old_lines))
        old_count = sum(op.kind != "+" for op in ops)
        replacements.append((found, old_count, ops))
        index = found + old_count
    replacements.sort(key=lambda r: r[0])  # stable: equal places keep the patch's order
    for at, count, ops in reversed(replacements):
        region = iter(lines[at : at + count])
        new: list[_Line] = []
        for op in ops:
            if op.kind == "+":
                new.append(_Line(op.text, preferred))
            elif op.kind == " ":
                new.append(next(region))  # context keeps the file's own text and line ending
            else:
                next(region)
        lines[at : at + count] = new
    return bom + "".join(line.text + (line.ending or preferred) for line in lines)


def _split(content: str) -> list[_Line]:
    lines: list[_Line] = []
    start = 0
    while True:
        end = content.find("\n", start)
        if end < 0:
            break
        text = content[start:end]
        if text.endswith("\r"):
            lines.append(_Line(text[:-1], "\r\n"))
        else:
            lines.append(_Line(text, "\n"))
        start = end + 1
    if start < len(content):
        lines.append(_Line(content[start:], ""))
    return lines


def _without_final_blank(ops: list[ChunkLine]) -> list[ChunkLine]:
    """Drop the last old line (an empty one) and, when the new lines also end with an empty
    line, that one too, as Codex retries a chunk that touches the end of the file."""
    ops = list(ops)
    last_old = max(i for i, op in enumerate(ops) if op.kind != "+")
    ops[last_old] = ChunkLine("+", "") if ops[last_old].kind == " " else ops[last_old]
    if ops[last_old].kind == "-":
        del ops[last_old]
    new_positions = [i for i, op in enumerate(ops) if op.kind != "-"]
    if new_positions and ops[new_positions[-1]].text == "":
        last_new = new_positions[-1]
        if ops[last_new].kind == "+":
            del ops[last_new]
        else:
            ops[last_new] = ChunkLine("-", "")
    return ops
