"""Reading other processes' environments (issue 11, item 4).

The environment of a process (``/proc/PID/environ``) holds whatever it was started with:
Stoa's own holds the provider API keys, and so may the terminal's shell or an editor. Shell
commands get a scrubbed environment of their own (core/sandbox/env.py), but the same user
can read the others': ``ps e`` / ``ps eww`` / ``ps axe`` (BSD style, ``e`` in a cluster),
``ps -o environ`` / ``-O environ`` / ``o environ`` / ``--format environ``, and any read of
``/proc/*/environ``. Those are reads outside the workspace, judged like ``cat /etc/passwd``:
they ask in every mode, and no rule is offered to allow them for good.

``ps_environment_reason`` tells from a ps command line whether it shows environments;
``ENVIRON_PATH`` is the outside path it is reported as.
"""

from __future__ import annotations

from collections.abc import Sequence

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
