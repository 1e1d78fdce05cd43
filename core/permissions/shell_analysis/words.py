"""The bash word model: what one written word evaluates to before the command runs.

``Word`` holds a word's static value (None when it depends on run time) and how it was written
(quoted or escaped, a glob, an expansion). Here also: ANSI-C strings (``$'\\x72m'``), backslash
and double-quote unescaping, brace expansion (``{a,b}``, ``{1..3}``), and ``WordReader``, the
analyzer layer that evaluates a tree-sitter word node with the variables the line has set.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.state import AnalyzerState

if TYPE_CHECKING:
    from tree_sitter import Node

# An unquoted glob character: the word may expand to file names.
GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Word:
    """One shell word evaluated statically. ``value`` None: depends on run time."""

    value: str | None
    raw: str
    # Quotes or backslashes were used (matters in a command name: obfuscation).
    quoted: bool = False
    # An unquoted glob character: the word may expand to file names.
    glob: bool = False
    # Expanded from a variable or substitution (even if we could resolve it).
    expanded: bool = False


_ANSI_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def decode_ansi_c(body: str) -> str:
    """The value of ``$'...'`` (without the quotes): \\xHH, \\uHHHH, \\nnn, \\cX, \\n, ..."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ANSI_SIMPLE:
            out.append(_ANSI_SIMPLE[nxt])
            i += 2
        elif nxt == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", body[i + 2 :])
            if m:
                out.append(_byte(int(m.group(), 16)))
                i += 2 + len(m.group())
            else:
                out.append("\\x")
                i += 2
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            m = re.match(rf"[0-9a-fA-F]{{1,{width}}}", body[i + 2 :])
            if m:
                try:
                    out.append(chr(int(m.group(), 16)))
                except ValueError:
                    out.append("?")
                i += 2 + len(m.group())
            else:
                out.append("\\" + nxt)
                i += 2
        elif nxt in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1 :])
            assert m is not None
            out.append(_byte(int(m.group(), 8) & 0xFF))
            i += 1 + len(m.group())
        elif nxt == "c" and i + 2 < len(body):
            out.append(chr(ord(body[i + 2]) & 0x1F))
            i += 3
        else:
            out.append("\\" + nxt)
            i += 2
    # Bytes as bash makes them: \xc3\xa9 is "é", a lone \xff the byte (a surrogate escape, as
    # Python names such a file), never the character U+00FF.
    text = "".join(out)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a \ud800 written as such: no file can have that name anyway
        return text


def _byte(value: int) -> str:
    """One byte of a ``$'...'`` string: ASCII as itself, above as a surrogate escape."""
    return chr(value) if value < 0x80 else chr(0xDC00 + value)


def unescape_unquoted(text: str) -> tuple[str, bool, bool]:
    """Backslash removal in an unquoted word; returns (value, had_escapes, has_glob)."""
    out: list[str] = []
    escaped = False
    glob = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            if text[i + 1] == "\n":  # line continuation
                i += 2
                continue
            out.append(text[i + 1])
            escaped = True
            i += 2
            continue
        if ch in "*?[":
            glob = True
        out.append(ch)
        i += 1
    return "".join(out), escaped, glob


def _unescape_double(text: str) -> str:
    return re.sub(r"\\([$`\"\\\n])", lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def expand_braces(text: str, limit: int = 64) -> list[str] | None:
    """Bash brace expansion of an unquoted, already unescaped word; None if too complex."""
    depth = 0
    start = -1
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                inner = text[start + 1 : i]
                options = _brace_options(inner)
                if options is None:
                    continue
                head, tail = text[:start], text[i + 1 :]
                results: list[str] = []
                for option in options:
                    expanded = expand_braces(head + option + tail, limit)
                    if expanded is None:
                        return None
                    results.extend(expanded)
                    if len(results) > limit:
                        return None
                return results
    return [text]


def _brace_options(inner: str) -> list[str] | None:
    m = re.fullmatch(r"(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?", inner)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        step = abs(int(m.group(3) or 1)) or 1
        if abs(b - a) // step > 64:
            return None
        rng = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [str(n) for n in rng]
    m = re.fullmatch(r"([A-Za-z])\.\.([A-Za-z])", inner)
    if m:
        a, b = ord(m.group(1)), ord(m.group(2))
        rng = range(a, b + 1) if a <= b else range(a, b - 1, -1)
        return [chr(n) for n in rng]
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts if len(parts) > 1 else None


def node_text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


class WordReader(AnalyzerState):
    """Evaluates word nodes with what the line has set so far (variables, ``cd``, ``~``)."""

    def word(self, node: Node | None) -> Word:
        if node is None:
            return Word("", "")
        raw = node_text(node)
        kind = node.type
        if kind == "word":
            if raw.startswith("~") and not raw.startswith("~\\"):
                return self._tilde(raw)
            value, escaped, glob = unescape_unquoted(raw)
            if ("{" in raw and "}" in raw) and expand_braces(value) != [value]:
                return Word(None, raw, quoted=escaped, glob=True, expanded=True)
            return Word(value, raw, quoted=escaped, glob=glob)
        if kind == "number":
            return Word(raw, raw)
        if kind == "raw_string":
            return Word(raw[1:-1], raw, quoted=True)
        if kind == "ansi_c_string":
            return Word(decode_ansi_c(raw[2:-1]), raw, quoted=True)
        if kind in ("string", "translated_string"):
            parts: list[str] = []
            expanded = False
            for child in node.named_children:
                if child.type == "string_content":
                    parts.append(_unescape_double(node_text(child)))
                else:
                    sub = self._expansion(child)
                    expanded = True
                    if sub is None:
                        return Word(None, raw, quoted=True, expanded=True)
                    parts.append(sub)
            if not node.named_children:
                inner = raw[2:-1] if kind == "translated_string" else raw[1:-1]
                parts.append(_unescape_double(inner))
            return Word("".join(parts), raw, quoted=True, expanded=expanded)
        if kind in ("simple_expansion", "expansion"):
            expanded_value = self._expansion(node)
            glob = expanded_value is not None and bool(GLOB.search(expanded_value))
            return Word(expanded_value, raw, expanded=True, glob=glob)
        if kind == "concatenation":
            return self._concatenation(node)
        if kind in ("command_substitution", "process_substitution", "arithmetic_expansion", "brace_expression"):
            return Word(None, raw, expanded=True)
        if kind == "array":
            return Word(None, raw, expanded=True)
        value, escaped, glob = unescape_unquoted(raw)
        return Word(value, raw, quoted=escaped, glob=glob)

    def _concatenation(self, node: Node) -> Word:
        raw = node_text(node)
        children = node.children
        # Unquoted braces ({a,b}) are split into several word nodes by the grammar.
        unquoted = "".join(node_text(c) for c in children if c.type == "word")
        if "{" in unquoted and "}" in unquoted and all(c.type in ("word", "number") for c in children):
            value, escaped, glob = unescape_unquoted(raw)
            expansions = expand_braces(value)
            if expansions == [value]:
                return Word(value, raw, quoted=escaped, glob=glob)
            return Word(None, raw, quoted=escaped, glob=True, expanded=True)
        if "{" in unquoted and "}" in unquoted:
            return Word(None, raw, quoted=True, glob=True, expanded=True)
        parts: list[str] = []
        quoted = expanded = glob = False
        for index, child in enumerate(children):
            if index == 0 and child.type == "word" and node_text(child).startswith("~"):
                sub = self._tilde(node_text(child))
            else:
                sub = self.word(child)
            if sub.value is None:
                return Word(None, raw, quoted=True, expanded=True)
            parts.append(sub.value)
            quoted = quoted or sub.quoted or child.type in ("string", "raw_string", "ansi_c_string")
            expanded = expanded or sub.expanded
            glob = glob or sub.glob
        return Word("".join(parts), raw, quoted=quoted, glob=glob, expanded=expanded)

    def _tilde(self, raw: str) -> Word:
        head, sep, rest = raw.partition("/")
        value, escaped, glob = unescape_unquoted(rest)
        if head == "~":
            base = self.home
        elif head in ("~+",):
            base = self.cwd or ""
            if not self.cwd:
                return Word(None, raw, expanded=True)
        elif head == "~-":
            return Word(None, raw, expanded=True)
        else:
            user = head[1:]
            expanded_user = os.path.expanduser(head)
            if expanded_user == head or not re.fullmatch(r"[A-Za-z0-9_.\-]+", user):
                return Word(None, raw, expanded=True)
            base = expanded_user
        return Word(base + sep + value, raw, quoted=escaped, glob=glob)

    def _expansion(self, node: Node) -> str | None:
        if node.type == "simple_expansion":
            names = [c for c in node.named_children if c.type in ("variable_name", "special_variable_name")]
            if len(names) != 1 or names[0].type != "variable_name":
                return None
            return self.lookup(node_text(names[0]))
        if node.type == "expansion":
            named = node.named_children
            if len(named) == 1 and named[0].type == "variable_name" and len(node.children) == 3:
                return self.lookup(node_text(named[0]))
            return None
        return None

    def lookup(self, name: str) -> str | None:
        if name in self.vars:
            return self.vars[name]
        if name == "HOME":
            return self.home
        if name == "PWD":
            return self.cwd
        return self.env.get(name)

    def split_word(self, word: Word) -> list[Word]:
        """Brace expansion turns one written word into several."""
        if word.value is None and word.glob and word.expanded and not word.raw.startswith(("$", '"')):
            value, escaped, _ = unescape_unquoted(word.raw)
            if "'" not in word.raw and '"' not in word.raw and "$" not in word.raw:
                options = expand_braces(value)
                if options is not None:
                    return [Word(o, word.raw, quoted=escaped, glob=bool(GLOB.search(o))) for o in options]
        return [word]
