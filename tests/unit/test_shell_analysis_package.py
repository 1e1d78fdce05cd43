"""The shell analysis package itself: judges are found through the registry their decorator
fills (a new judge is one function, no central dispatch to edit), every program of a family
table has a judge, and no module of the package grows past the house limit."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import stoa.core.permissions.shell_analysis as shell_analysis
from stoa.core.permissions.shell_analysis import analyze, registry, tables
from stoa.core.permissions.shell_analysis.classifier import Classifier
from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.registry import judge, judge_for

MAX_MODULE_LINES = 1000
FAMILY_TABLES = (
    "READ_ONLY",
    "NO_PATHS",
    "WRITES",
    "DESTRUCTIVE",
    "NETWORK",
    "INSTALLERS",
    "CLOUD",
    "SHELLS",
    "INTERPRETERS",
    "EVALUATORS",
    "DETACHERS",
    "WRAPPERS",
    "VETTED_BUILD",
    "FORMATTERS",
    "PACKAGE_RUNNERS",
)


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judges registered by a test live in copies of the tables, gone after it."""
    monkeypatch.setattr(registry, "_PROGRAMS", dict(registry._PROGRAMS))
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))


def test_a_judge_registered_by_the_decorator_judges_its_program(tmp_path: Path, scratch_registry: None) -> None:
    before = analyze("stoa-test-frobnicate --gently notes.txt", tmp_path)
    assert before.kind == "unknown"
    assert "stoa-test-frobnicate is not a command Stoa knows" in before.reasons

    seen: list[tuple[str, list[str | None]]] = []

    @judge("stoa-test-frobnicate", "stoa-test-frob")
    def frobnicate(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
        seen.append((name, cmd.values))
        paths, _ = an.paths(cmd.words[1:], write=False)
        return Verdict("destructive", [f"{name} frobnicates its files"], paths)

    assert judge_for("stoa-test-frobnicate") is frobnicate
    after = analyze("stoa-test-frobnicate --gently notes.txt", tmp_path)
    assert after.kind == "destructive"
    assert after.reasons == ("stoa-test-frobnicate frobnicates its files",)
    assert [p.path for p in after.findings[0].paths] == [str(tmp_path.resolve() / "notes.txt")]
    # Reached the same way as any program: by path, and through a wrapper.
    assert analyze("/usr/bin/stoa-test-frob x", tmp_path).kind == "destructive"
    assert analyze("timeout 5 stoa-test-frob x", tmp_path).kind == "destructive"
    assert [name for name, _ in seen] == ["stoa-test-frobnicate", "stoa-test-frob", "stoa-test-frob"]
    assert seen[0][1] == ["stoa-test-frobnicate", "--gently", "notes.txt"]


def test_a_judge_named_for_a_program_takes_precedence_over_its_family(tmp_path: Path, scratch_registry: None) -> None:
    assert "tac" in tables.READ_ONLY
    assert analyze("tac notes.txt", tmp_path).kind == "read"

    @judge("tac")
    def tac(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
        return Verdict("risky", ["tac judged by its own judge"])

    assert analyze("tac notes.txt", tmp_path).reasons == ("tac judged by its own judge",)
    assert analyze("cat notes.txt", tmp_path).kind == "read"  # the rest of the family is unchanged


def test_a_program_judged_twice_is_refused(scratch_registry: None) -> None:
    @judge("stoa-test-once")
    def first(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
        return Verdict("read")

    with pytest.raises(ValueError, match="stoa-test-once already has a judge"):

        @judge("stoa-test-once")
        def second(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
            return Verdict("read")

    with pytest.raises(ValueError, match="git already has a judge"):

        @judge("git")
        def another_git(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
            return Verdict("read")

    assert judge_for("stoa-test-once") is first
    with pytest.raises(ValueError, match="must name the programs"):
        judge()


@pytest.mark.parametrize("table", FAMILY_TABLES)
def test_every_program_of_a_family_table_has_a_judge(table: str) -> None:
    programs = getattr(tables, table)
    assert programs
    assert [p for p in sorted(programs) if judge_for(p) is None] == []


def test_no_module_of_the_package_is_over_the_limit() -> None:
    root = Path(shell_analysis.__file__).parent
    sizes = {str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("*.py")}
    assert len(sizes) >= 10 and "judges/git.py" in sizes
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_shell_module_is_left_behind() -> None:
    """The analysis lives in shell_analysis/ only (no shim named like the shell tool)."""
    assert importlib.util.find_spec("stoa.core.permissions.shell") is None
