"""Reading other processes' environments (issue 11, item 4).

The environment of a process (``/proc/PID/environ``) holds whatever it was started with:
Stoa's own holds the provider API keys, and so may the terminal's shell or an editor. Shell
commands get a scrubbed environment of their own (core/sandbox/env.py), but the same user
can read the others': ``ps e`` / ``ps eww`` / ``ps axe`` (BSD style, ``e`` in a cluster),
``ps -o environ`` / ``-O environ`` / ``o environ`` / ``--format environ``, and any read of
``/proc/*/environ``. Those are reads outside the workspace, judged like ``cat /etc/passwd``:
they ask in every mode, and no rule is offered to allow them for good.

``ps_environment_reason`` tells from a ps command line whether it shows environments;
``ENVIRON_PATH`` is the outside path it is reported as. ``names_environ`` tells whether a word
of any command names such a file, however it is written: as an argument or an option's value
(``xargs -a FILE``, ``--arg-file=FILE``, ``-aFILE``), a redirection, a path inside inline code
(``python -c "open('/proc/self/environ')"``), with globs (``/proc/*/env*``), variables or
substitutions for the process (``$$``, ``$PPID``, ``$(pgrep x)``), ``self``/``thread-self``/
``task/N``, ``.``/``..``/``//`` detours, ``$'\x2f'`` escapes (decoded before this sees them), or
relative to a working directory inside /proc. The classifier adds a read of ``ENVIRON_PATH`` for
each such command (classifier.py), the walker for such a redirection (walker.py).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence

# The path a ps command that shows environments is judged as reading.
ENVIRON_PATH = "/proc/*/environ"

# UNIX-style (dash) short options that take an argument, attached or as the next word.
_UNIX_WITH_ARGUMENT = frozenset("CGgoOpqstUu")
# BSD-style (no dash) options that take an argument.
_BSD_WITH_ARGUMENT = frozenset("oOptUkq")
# GNU long options that take the next word as argument (unless written --name=value).
_LONG_WITH_ARGUMENT = frozenset(
    """--format --sort --pid --ppid --user --User --group --Group --cols --columns --lines --rows
    --quick-pid --tty --sid --width --height --deselect-pid""".split()
)
_FORMAT_OPTIONS = frozenset({"o", "O", "--format"})

# Files a pattern is tried against: the environments of a process, by every name /proc gives it.
_ENVIRON_FILES = (
    "/proc/1/environ",
    "/proc/self/environ",
    "/proc/thread-self/environ",
    "/proc/1/task/1/environ",
    "/proc/self/task/1/environ",
)
_ENVIRON_FILE = re.compile(r"/proc/(\d+|self|thread-self)(/task/\d+)?/environ")
# What is filled in at run time: variables ($$, $PPID, ${x}), substitutions, braces, and in
# inline code format fields ("/proc/%d/environ", f"/proc/{pid}/environ").
_RUNTIME = re.compile(
    r"\$\{[^}]*\}|\$\([^)]*\)|`[^`]*`|\$[A-Za-z_][A-Za-z0-9_]*|\$[$!#?@*0-9-]|\{[^}]*\}|%[a-z]"
)
# A path inside a longer word (an option's value, inline code): from a slash that starts a
# path (not one inside a relative path such as src/*) to a delimiter.
_EMBEDDED = re.compile(r"(?<![\w.~*?\]/-])/[^\s'\"`(),;=<>|&]*")
ENVIRON_REASON = "reads the environment of a process ({text}): Stoa's own holds its API keys"


def names_environ(texts: Iterable[str | None], cwd: str | None) -> str | None:
    """The first of ``texts`` (a command's words: static values, or as written when known only
    at run time) that names a ``/proc/PID/environ`` file, or None. ``cwd``: the working folder
    (None: unknown), for relative names."""
    for text in texts:
        if text and any(_is_environ(candidate, cwd) for candidate in _candidates(text)):
            return text
    return None


def _candidates(text: str) -> list[str]:
    found = [text]
    if "=" in text:
        found.append(text.split("=", 1)[1])
    if text.startswith("-") and "/" in text:
        found.append(text[text.index("/") :])  # a short option's attached value: -a/proc/1/environ
    found += _EMBEDDED.findall(text)
    return found


def _is_environ(candidate: str, cwd: str | None) -> bool:
    # What the shell fills in at run time may hold slashes ("\0": any text); a glob's * and ?
    # stay within one name, as the shell expands them.
    pattern = _RUNTIME.sub("\0", candidate.replace('"', "").replace("'", "").replace("\\", ""))
    literal = re.sub(r"[*?\[\]\0]", "", pattern)
    if "proc" not in literal and "environ" not in literal:
        if not pattern.startswith("/") and "proc" not in (cwd or "\0"):
            return False
        if not any(c in pattern for c in "*?[\0"):
            return False  # a plain path elsewhere (the analysis judges it as any other)
    if not pattern.startswith(("/", "\0")):  # "\0": a variable that may hold an absolute path
        pattern = posixpath.join(cwd or "\0", pattern)
    if not any(c in pattern for c in "*?[\0"):
        return _ENVIRON_FILE.fullmatch("/" + posixpath.normpath(pattern).lstrip("/")) is not None
    regex = _glob_regex(re.sub(r"/+", "/", pattern))
    return any(regex.fullmatch(name) for name in _ENVIRON_FILES)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\0":
            out.append(".*")
        elif ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and "]" in pattern[i + 2 :]:
            close = pattern.index("]", i + 2)
            body = pattern[i + 1 : close].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith(("!", "^")) else "[" + body + "]")
            i = close
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out))


_REASON = "ps {how} shows the environment of other processes (Stoa's own too, with its API keys)"


def ps_environment_reason(words: Sequence[str | None]) -> str | None:
    """Why ``ps WORDS...`` (the arguments after ``ps``) shows process environments, or None."""
    i = 0
    while i < len(words):
        word = words[i]
        if word is None:
            return _REASON.format(how="with an argument known only at run time")
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if name in _LONG_WITH_ARGUMENT and not eq:
                value, i = (nxt or ""), i + 1
                if nxt is None:
                    return _REASON.format(how="with an argument known only at run time")
            if name in _FORMAT_OPTIONS and _format_shows_environment(value):
                return _REASON.format(how=f"{name} {value}")
        elif word.startswith("-"):
            found, used_next = _cluster(word[1:], nxt, _UNIX_WITH_ARGUMENT, bsd=False)
            if found:
                return _REASON.format(how=found)
            i += used_next
        elif not word.isdigit():
            found, used_next = _cluster(word, nxt, _BSD_WITH_ARGUMENT, bsd=True)
            if found:
                return _REASON.format(how=found)
            i += used_next
        i += 1
    return None


def _cluster(letters: str, nxt: str | None, with_argument: frozenset[str], *, bsd: bool) -> tuple[str | None, int]:
    """Walk one option cluster. Returns (what shows environments, or None; 1 if the next word
    was the last option's argument)."""
    for index, letter in enumerate(letters):
        if bsd and letter == "e":
            return f"{letters} (e)", 0
        if letter in with_argument:
            attached = letters[index + 1 :]
            value = attached or nxt
            if value is None:
                return "with an argument known only at run time", 1
            if letter in _FORMAT_OPTIONS and _format_shows_environment(value):
                return f"{letter} {value}", 0 if attached else 1
            return None, 0 if attached else 1
    return None, 0


def _format_shows_environment(spec: str) -> bool:
    """Whether a ps format list (``pid,environ=ENV:40 args``) names the environment."""
    for token in spec.replace(",", " ").split():
        key = token.split("=", 1)[0].split(":", 1)[0].lower()
        if "env" in key:
            return True
    return False
