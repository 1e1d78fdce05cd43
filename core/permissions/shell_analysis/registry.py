"""The judges, by the program they judge.

A judge is a function ``judge(analyzer, name, cmd, depth) -> Verdict``. ``@judge("git")``
registers it for the programs it names; ``@judge(*tables.WRAPPERS, family=True)`` for every
program of a family table. A judge registered for a program by name takes precedence over its
family's judge (``nohup`` has its own judge although it is in DETACHERS). A second judge for
the same program at the same level is a mistake, refused when it registers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier
    from stoa.core.permissions.shell_analysis.command import Cmd, Verdict

Judge = Callable[["Classifier", str, "Cmd", int], "Verdict"]

_PROGRAMS: dict[str, Judge] = {}
_FAMILIES: dict[str, Judge] = {}


def judge(*programs: str, family: bool = False) -> Callable[[Judge], Judge]:
    """Register the decorated function as the judge of ``programs`` (names as the classifier
    sees them: ``/usr/bin/git`` is ``git``, ``python3.12`` is ``python``)."""
    if not programs:
        raise ValueError("a judge must name the programs it judges")

    def register(function: Judge) -> Judge:
        table = _FAMILIES if family else _PROGRAMS
        for program in programs:
            present = table.get(program)
            if present is not None and present is not function:
                raise ValueError(
                    f"{program} already has a judge ({present.__module__}.{present.__qualname__}); "
                    f"remove it there or judge {program} in one place"
                )
            table[program] = function
        return function

    return register


def judge_for(program: str) -> Judge | None:
    """The judge of ``program``: its own, else its family's; None for a program Stoa does not know."""
    return _PROGRAMS.get(program) or _FAMILIES.get(program)
