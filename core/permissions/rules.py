"""Permission rules: parsing the ``[permissions]`` lists of every config layer, and matching.

Syntax (DESIGN.md): ``allow``, ``deny`` and ``ask`` lists of strings::

    Read(path)  Write(path)  Bash(path)     path scopes; ``*`` within one segment,
                                            ``**`` any depth; ``Read(/p/**)`` covers ``/p``
    Bash(command)                           exactly this command
    Bash(command:*)                         this command with any further arguments
    Bash                                    every command (also Read, Write, Mcp bare)
    Mcp(server)  Mcp(server___tool)         MCP servers and tools

Paths may be absolute, ``~/...`` or relative to the workspace. ``Write`` also covers reading
the same paths. A deny or ask rule without wildcards that names a directory covers everything
in it too (``Read(./secrets)`` = ``Read(./secrets/**)``); allow rules stay exactly as written. Deny wins over ask, ask over allow. A malformed rule is reported with its file
and line and then ignored (it never silently widens anything).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from stoa.core.escapes import unescape_bytes

RuleList = Literal["allow", "ask", "deny"]
RuleTool = Literal["Read", "Write", "Bash", "Mcp"]
RuleKind = Literal["any", "path", "command", "prefix", "mcp"]

LISTS: tuple[RuleList, ...] = ("allow", "ask", "deny")
TOOLS: tuple[RuleTool, ...] = ("Read", "Write", "Bash", "Mcp")
_HINTS = {
    "edit": "Write",
    "multiedit": "Write",
    "glob": "Read",
    "grep": "Read",
    "ls": "Read",
    "shell": "Bash",
    "execute_bash": "Bash",
    "mcp": "Mcp",
}
_RULE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.DOTALL)
_MCP_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


class RuleError(ValueError):
    """A rule that cannot be understood; the message says how to write it."""


@dataclass(frozen=True)
class Rule:
    tool: RuleTool
    kind: RuleKind
    # The rule as written (normalized spacing), e.g. "Bash(git push:*)".
    text: str
    # Command words (command / prefix rules).
    words: tuple[str, ...] = ()
    # Absolute path pattern (path rules), with its compiled matcher.
    pattern: str = ""
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    # Where it came from: "/path/config.toml:12", "session".
    source: str = ""

    def matches_path(self, path: str) -> bool:
        if self.kind == "any":
            return True
        return self.kind == "path" and self.regex is not None and self.regex.fullmatch(path) is not None

    def covers_path(self, path: str) -> bool:
        """``matches_path``, and for a pattern without wildcards also everything below it: a
        deny or ask rule that names a directory (``Read(./secrets)``) protects its contents."""
        if self.matches_path(path):
            return True
        if self.kind != "path" or "*" in self.pattern or "?" in self.pattern:
            return False
        return any(path.startswith(p.rstrip("/") + "/") for p in {self.pattern, unescape_bytes(self.pattern)})

    def matches_argv(self, argv: Sequence[str | None]) -> bool:
        """Command rules against one simple command's words (None = not known statically)."""
        if self.tool != "Bash":
            return False
        if self.kind == "any":
            return True
        words = self.words
        if self.kind == "path":
            # Bash(./scripts/check.sh) also reads as "run exactly this script".
            words = (self.pattern_source,)
        if self.kind == "prefix":
            return len(argv) >= len(words) and all(a == w for a, w in zip(argv, words, strict=False))
        if self.kind in ("command", "path"):
            return len(argv) == len(words) and all(a == w for a, w in zip(argv, words, strict=True))
        return False

    def matches_line(self, line: str) -> bool:
        """An exact command rule against a whole command line (compound lines included)."""
        if self.tool != "Bash" or self.kind != "command":
            return False
        if " ".join(line.split()) == " ".join(self.words):
            return True
        try:
            return tuple(shlex.split(line)) == self.words
        except ValueError:
            return False

    def matches_mcp(self, target: str) -> bool:
        if self.tool != "Mcp":
            return False
        if self.kind == "any":
            return True
        name = self.words[0] if self.words else ""
        return target == name or ("___" not in name and target.startswith(name + "___"))

    @property
    def pattern_source(self) -> str:
        inner = self.text[self.text.index("(") + 1 : -1] if "(" in self.text else ""
        return inner


@dataclass
class RuleProblem:
    source: str  # "file:line"
    rule: str
    message: str
    # The list the ignored entry was in ("allow", "ask", "deny"), or "" when it is not known
    # (a malformed table, an unknown key): then it may have been meant as a deny rule.
    list: str = ""

    def __str__(self) -> str:
        return f"{self.source}: permission rule {self.rule!r} ignored: {self.message}"

    @property
    def may_hide_a_deny_rule(self) -> bool:
        return self.list not in ("allow", "ask")


@dataclass(frozen=True)
class DenyScope:
    """The paths deny rules keep from reading: what tools that list or search many files
    leave out, so they cannot read around the rules. Read and Write deny rules both count."""

    rules: tuple[Rule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def covers(self, path: str) -> bool:
        """Whether ``path`` (absolute, canonical) or a folder above it is denied."""
        return any(rule.covers_path(path) for rule in self.rules)


def parse_rule(text: str, *, workspace: Path, home: Path | None = None, source: str = "") -> Rule:
    """Parse one rule string. Raises ``RuleError`` with a message saying how to fix it."""
    if not isinstance(text, str):
        raise RuleError(f"rules are strings like \"Bash(git status)\", not {type(text).__name__}")
    match = _RULE_RE.match(text)
    if match is None:
        raise RuleError('expected Tool or Tool(...), e.g. "Bash(npm test)", "Read(~/notes/**)"')
    name, content = match.group(1), match.group(2)
    if name not in TOOLS:
        hint = next((t for t in TOOLS if t.lower() == name.lower()), None) or _HINTS.get(name.lower())
        known = ", ".join(TOOLS)
        raise RuleError(
            f"unknown rule type {name!r}" + (f"; did you mean {hint}(...)?" if hint else f"; use one of {known}")
        )
    tool = cast(RuleTool, name)
    if content is not None:
        content = content.strip()
    if content is None or content in ("", "*"):
        if content == "" and "(" in text:
            raise RuleError(f"empty {tool}(); write {tool} alone to mean every {_noun(tool)}")
        return Rule(tool=tool, kind="any", text=tool, source=source)
    if content.count("(") != content.count(")"):
        raise RuleError("unbalanced parentheses")
    if tool == "Mcp":
        if not _MCP_NAME.match(content):
            raise RuleError("Mcp(...) takes a server name or SERVER___TOOL (letters, digits, _ . -)")
        return Rule(tool=tool, kind="mcp", text=f"Mcp({content})", words=(content,), source=source)
    if tool == "Bash":
        return _bash_rule(content, workspace=workspace, home=home, source=source)
    return _path_rule(tool, content, workspace=workspace, home=home, source=source)


def _noun(tool: str) -> str:
    return {"Bash": "command", "Mcp": "MCP tool"}.get(tool, "path")


def _looks_like_path(content: str) -> bool:
    if any(ch.isspace() for ch in content):
        return False
    return content.startswith(("/", "~", "./", "../")) or content in (".", "..") or "**" in content


def _bash_rule(content: str, *, workspace: Path, home: Path | None, source: str) -> Rule:
    if content.endswith(":*"):
        head = content[:-2].strip()
        if not head:
            raise RuleError("Bash(:*) has no command; write Bash alone to mean every command")
        words = _split(head)
        return Rule(tool="Bash", kind="prefix", text=f"Bash({shlex.join(words)}:*)", words=words, source=source)
    if ":*" in content:
        raise RuleError("':*' must end the rule, e.g. Bash(git push:*)")
    if _looks_like_path(content):
        pattern = resolve_pattern(content, workspace=workspace, home=home)
        return Rule(
            tool="Bash",
            kind="path",
            text=f"Bash({content})",
            pattern=pattern,
            regex=compile_pattern(pattern),
            source=source,
        )
    words = _split(content)
    return Rule(tool="Bash", kind="command", text=f"Bash({shlex.join(words)})", words=words, source=source)


def _split(text: str) -> tuple[str, ...]:
    try:
        words = tuple(shlex.split(text))
    except ValueError as exc:
        raise RuleError(f"cannot split the command into words ({exc}); check the quotes") from None
    if not words:
        raise RuleError("empty command")
    return words


def _path_rule(tool: RuleTool, content: str, *, workspace: Path, home: Path | None, source: str) -> Rule:
    if "\x00" in content:
        raise RuleError("a path cannot contain NUL")
    pattern = resolve_pattern(content, workspace=workspace, home=home)
    return Rule(
        tool=tool,
        kind="path",
        text=f"{tool}({content})",
        pattern=pattern,
        regex=compile_pattern(pattern),
        source=source,
    )


def resolve_pattern(content: str, *, workspace: Path, home: Path | None = None) -> str:
    """A path pattern made absolute and canonical up to its first wildcard segment."""
    text = content
    if text == "~" or text.startswith("~/"):
        base = str(home or Path(os.path.expanduser("~")))
        text = base + text[1:]
    elif text.startswith("~"):
        raise RuleError("~user paths are not supported; write the absolute path")
    if not text.startswith("/"):
        text = str(workspace / text)
    parts = text.split("/")
    fixed: list[str] = []
    rest: list[str] = []
    for part in parts:
        if rest or any(ch in part for ch in "*?["):
            rest.append(part)
        else:
            fixed.append(part)
    prefix = "/".join(fixed) or "/"
    # Canonical like the paths it is compared with (symlinked /tmp, "..", trailing "/").
    prefix = os.path.realpath(prefix)
    if not rest:
        return prefix
    return prefix.rstrip("/") + "/" + "/".join(rest)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``*`` one segment, ``?`` one character, ``**`` any depth (``/p/**`` also matches ``/p``)."""
    parts = pattern.split("/")
    regex = ""
    for index, part in enumerate(parts):
        if index == 0:
            if part:  # not absolute: should not happen, match literally
                regex += _segment(part)
            continue
        if part == "**":
            regex += "(?:/.*)?"
        elif part == "" and index == len(parts) - 1:
            regex += "/?"
        else:
            regex += "/" + _segment(part)
    return re.compile(regex or "/")


def _segment(part: str) -> str:
    out = []
    i = 0
    while i < len(part):
        ch = part[i]
        byte = _BYTE_ESCAPE.match(part, i)
        if byte is not None:
            # \xNN (80 to ff): how Stoa shows a byte of a name that is not UTF-8 (core/escapes.py);
            # it matches that byte, and the four characters too (a real backslash in a name).
            out.append(f"(?:{re.escape(byte.group())}|{re.escape(unescape_bytes(byte.group()))})")
            i = byte.end()
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


_BYTE_ESCAPE = re.compile(r"\\x[89a-fA-F][0-9a-fA-F]")


@dataclass
class RuleSet:
    """Rules by list. ``match_*`` answer deny > ask > allow, with the rule that matched."""

    allow: list[Rule] = field(default_factory=list)
    ask: list[Rule] = field(default_factory=list)
    deny: list[Rule] = field(default_factory=list)

    def add(self, which: RuleList, rule: Rule) -> None:
        target: list[Rule] = getattr(self, which)
        if all(r.text != rule.text for r in target):
            target.append(rule)

    def lists(self) -> Iterable[tuple[RuleList, list[Rule]]]:
        return (("deny", self.deny), ("ask", self.ask), ("allow", self.allow))

    def __len__(self) -> int:
        return len(self.allow) + len(self.ask) + len(self.deny)

    def match_command(self, argv: Sequence[str | None], line: str | None = None) -> tuple[RuleList, Rule] | None:
        for which, rules in self.lists():
            for rule in rules:
                if rule.matches_argv(argv) or (line is not None and rule.matches_line(line)):
                    return which, rule
        return None

    def match_line(self, line: str) -> tuple[RuleList, Rule] | None:
        """Rules that judge a whole command line at once (bare Bash, exact full-line rules)."""
        for which, rules in self.lists():
            for rule in rules:
                if rule.tool == "Bash" and (rule.kind == "any" or rule.matches_line(line)):
                    return which, rule
        return None

    def match_path(self, path: str, *, write: bool, via_bash: bool = False) -> tuple[RuleList, Rule] | None:
        """Path rules. Read covers reading; Write covers reading and writing; Bash(path) both,
        for shell commands only. A deny/ask Read rule also stops writes to the same paths."""
        for which, rules in self.lists():
            for rule in rules:
                if rule.kind not in ("path", "any") or rule.tool == "Mcp":
                    continue
                if rule.tool == "Bash":
                    if not via_bash or rule.kind == "any":
                        continue  # bare Bash is a command rule, not a path scope
                elif rule.tool == "Read":
                    if write and which == "allow":
                        continue
                elif rule.tool == "Write" and not write and which != "allow":
                    continue
                if rule.covers_path(path) if which != "allow" else rule.matches_path(path):
                    return which, rule
        return None

    def match_mcp(self, target: str) -> tuple[RuleList, Rule] | None:
        for which, rules in self.lists():
            for rule in rules:
                if rule.matches_mcp(target):
                    return which, rule
        return None


def _line_of(text: str, rule: str) -> int | None:
    """The 1-based line where ``rule`` is written in a TOML file, best effort."""
    header = re.search(r"^\s*\[\s*permissions\s*\]", text, re.MULTILINE)
    start = header.start() if header else 0
    for needle in (json.dumps(rule), f"'{rule}'", rule):
        index = text.find(needle, start)
        if index < 0:
            index = text.find(needle)
        if index >= 0:
            return text.count("\n", 0, index) + 1
    return None


def _header_line(text: str) -> int | None:
    header = re.search(r"^\s*\[\s*permissions\s*\]", text, re.MULTILINE)
    if header is None:
        header = re.search(r"^\s*permissions\s*[.=]", text, re.MULTILINE)
    return text.count("\n", 0, header.start()) + 1 if header else None


def parse_layers(
    sections: Iterable[tuple[Any, Any]], *, workspace: Path, home: Path | None = None
) -> tuple[RuleSet, list[RuleProblem]]:
    """Rules from ``StoaConfig.section("permissions")`` (pairs of layer, raw table)."""
    rules = RuleSet()
    problems: list[RuleProblem] = []
    for layer, raw in sections:
        path = str(getattr(layer, "path", "<config>"))
        text = getattr(layer, "text", "") or ""

        def where(rule: str | None = None, *, _text: str = text, _path: str = path) -> str:
            line = _line_of(_text, rule) if rule else None
            line = line or _header_line(_text)
            return f"{_path}:{line}" if line else _path

        if not isinstance(raw, dict):
            problems.append(RuleProblem(where(), "permissions", "[permissions] must be a table"))
            continue
        for key, value in raw.items():
            if key not in LISTS:
                problems.append(
                    RuleProblem(where(key), key, f"unknown key {key!r} in [permissions]; use allow, ask or deny")
                )
                continue
            if not isinstance(value, list):
                problems.append(RuleProblem(where(key), key, f"{key} must be a list of strings", key))
                continue
            for item in value:
                label = item if isinstance(item, str) else repr(item)
                source = where(label)
                try:
                    rule = parse_rule(item, workspace=workspace, home=home, source=source)
                except RuleError as exc:
                    problems.append(RuleProblem(source, label, str(exc), key))
                    continue
                rules.add(key, rule)
    return rules, problems


# ---- writing rules ("always") ------------------------------------------------------------------


class RuleFileError(Exception):
    """The rule could not be added to the file; the message says what to do instead."""


def append_allow_rule(path: Path, rule: str) -> bool:
    """Add ``rule`` to ``[permissions] allow`` in the TOML file at ``path``, keeping the rest of
    the file (comments, order, other tables) exactly as written. Returns False if it was there.

    The edit is checked by parsing the result before it replaces the file (atomically).
    """
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise RuleFileError(f"cannot read {path} ({exc.strerror}); add {rule!r} by hand") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"{path} is not valid TOML ({exc}); fix it, then add {rule!r} to [permissions] allow") from exc
    perms = data.get("permissions")
    if perms is not None and not isinstance(perms, dict):
        raise RuleFileError(f"{path}: permissions is not a table; add {rule!r} to [permissions] allow by hand")
    allow = perms.get("allow") if perms is not None else None
    if allow is not None and not isinstance(allow, list):
        raise RuleFileError(f"{path}: [permissions] allow is not a list; add {rule!r} to it by hand")
    if allow is not None and rule in allow:
        return False
    literal = json.dumps(rule, ensure_ascii=True)
    header = re.search(r"^[ \t]*\[[ \t]*permissions[ \t]*\][ \t]*(#[^\n]*)?$", text, re.MULTILINE)
    if perms is None:
        lead = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
        new_text = f"{text}{lead}[permissions]\nallow = [{literal}]\n"
    elif header is None:
        raise RuleFileError(
            f"{path}: permissions is written as an inline or dotted table; add {rule!r} to its allow list by hand"
        )
    else:
        body_start = header.end()
        following = re.search(r"^[ \t]*\[", text[body_start:], re.MULTILINE)
        body_end = body_start + following.start() if following else len(text)
        key = re.search(r"^[ \t]*allow[ \t]*=[ \t]*\[", text[body_start:body_end], re.MULTILINE)
        if key is None:
            if allow is not None:
                raise RuleFileError(f"{path}: cannot find the allow list to edit; add {rule!r} by hand")
            new_text = f"{text[:body_start]}\nallow = [{literal}]{text[body_start:]}"
        else:
            open_at = body_start + key.end() - 1
            close_at = _closing_bracket(text, open_at)
            if close_at < 0:
                raise RuleFileError(f"{path}: cannot find the end of the allow list; add {rule!r} by hand")
            inner = _without_comments(text[open_at + 1 : close_at]).strip()
            sep = "" if not inner or inner.endswith(",") else ", "
            new_text = f"{text[:close_at]}{sep}{literal}{text[close_at:]}"
    try:
        new_data = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"could not edit {path} safely ({exc}); add {rule!r} to [permissions] allow by hand") from exc
    expected = dict(data)
    expected["permissions"] = {**(perms or {}), "allow": [*(allow or []), rule]}
    if new_data != expected:
        raise RuleFileError(f"could not edit {path} safely; add {rule!r} to [permissions] allow by hand")
    from stoa.core.stoa_folder import ensure_gitignore_for

    path.parent.mkdir(parents=True, exist_ok=True)
    ensure_gitignore_for(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def _closing_bracket(text: str, open_at: int) -> int:
    """Index of the ``]`` closing the array opened at ``open_at``, honouring strings and comments."""
    depth = 0
    i = open_at
    n = len(text)
    while i < n:
        ch = text[i]
        if text.startswith('"""', i) or text.startswith("'''", i):
            quote = text[i : i + 3]
            end = text.find(quote, i + 3)
            while end >= 0 and quote == '"""' and _escaped(text, end):
                end = text.find(quote, end + 1)
            if end < 0:
                return -1
            i = end + 3
            continue
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                return -1
            i = end + 1
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _escaped(text: str, index: int) -> bool:
    count = 0
    while index - 1 - count >= 0 and text[index - 1 - count] == "\\":
        count += 1
    return count % 2 == 1


def _without_comments(text: str) -> str:
    """Array text with ``#`` comments removed (strings kept), to see whether it ends with a comma."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            end = i + 1
            while end < n and text[end] != ch:
                end += 2 if ch == '"' and text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        out.append(ch)
        i += 1
    return "".join(out)
