"""The disk cache of dataclasses' generated code (stoa.core.dataclass_cache): classes made with
the cache behave as classes made without it (forward references too), a second process compiles nothing, and a file
that is corrupt, or that others may write, is not used. Each case is a fresh interpreter (the
cache patches the process's ``dataclasses``)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from stoa.core.dataclass_cache import cache_file

SCRIPT = r"""
import json, sys
from pathlib import Path
if sys.argv[1] == "cached":
    from stoa.core import dataclass_cache
    dataclass_cache.install(Path(sys.argv[2]))
elif sys.argv[1] == "shared":  # the shared file at argv[3] stands for the one beside the .pyc files
    from stoa.core import dataclass_cache
    dataclass_cache.shared_cache_file = lambda: Path(sys.argv[3])
    dataclass_cache.install(Path(sys.argv[2]), shared=True)
import dataclasses, inspect, typing
from dataclasses import KW_ONLY, InitVar, dataclass, field


@dataclass(frozen=True, order=True)
class Point:
    x: int
    y: int = 0
    tags: list = field(default_factory=list, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class Slotted:
    name: str
    size: int = 2


@dataclass(unsafe_hash=True)
class Scaled:
    n: int
    scale: InitVar[int] = 1
    _: KW_ONLY
    label: str = "n"

    def __post_init__(self, scale):
        self.n *= scale


seen = {
    "repr": [repr(Point(1)), repr(Slotted(name="q")), repr(Scaled(2, 3, label="x"))],
    "order": [Point(1) < Point(2), Point(1, 2) == Point(1, 2, ["other"]), sorted([Point(3), Point(1)])[0].x],
    "hash": [hash(Point(1, 2)) == hash(Point(1, 2)), hash(Scaled(2)) == hash(Scaled(2))],
    "signatures": [str(inspect.signature(c)) for c in (Point, Slotted, Scaled)],
    "slots": Slotted.__slots__,
    "fields": [f.name for f in dataclasses.fields(Scaled)],
}
class Annotated:
    a: "list[int]"
    b: "Point | None"


seen["hints"] = repr(typing.get_type_hints(Annotated, globals()))
try:
    typing.ForwardRef("1 +")
except SyntaxError as exc:
    seen["bad_reference"] = type(exc).__name__
try:
    Point(1).x = 2
except dataclasses.FrozenInstanceError as exc:
    seen["frozen"] = type(exc).__name__
try:
    Slotted("positional")
except TypeError as exc:
    seen["kw_only"] = str(exc)
if sys.argv[1] != "stock":
    seen["stats"] = dataclass_cache.stats()
print(json.dumps(seen))
"""


def run(data_dir: Path, mode: str = "cached", shared: Path | None = None) -> dict[str, object]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    extra = [str(shared)] if shared is not None else []
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(data_dir), *extra], capture_output=True, text=True, env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def without_stats(seen: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in seen.items() if key != "stats"}


def test_classes_made_from_the_cache_are_the_classes_made_without_it(tmp_path: Path) -> None:
    stock = run(tmp_path, "stock")
    first = run(tmp_path)  # compiles, writes the file at exit
    second = run(tmp_path)  # takes everything from the file
    assert without_stats(first) == stock and without_stats(second) == stock
    assert stock["frozen"] == "FrozenInstanceError" and "kw_only" in stock
    assert "list[int]" in str(stock["hints"]) and stock["bad_reference"] == "SyntaxError"
    hits, compiled = first["stats"]  # type: ignore[misc]
    assert compiled > 0
    hits, compiled = second["stats"]  # type: ignore[misc]
    assert compiled == 0 and hits > 0
    mode = stat.S_IMODE(cache_file(tmp_path).stat().st_mode)
    assert mode == 0o600


def test_a_second_process_leaves_the_file_alone(tmp_path: Path) -> None:
    run(tmp_path)
    before = cache_file(tmp_path).stat().st_mtime_ns
    run(tmp_path)
    assert cache_file(tmp_path).stat().st_mtime_ns == before


def test_a_corrupt_file_is_a_miss_and_is_rewritten(tmp_path: Path) -> None:
    path = cache_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00not marshal data")
    path.chmod(0o600)
    _hits, compiled = run(tmp_path)["stats"]  # type: ignore[misc]
    assert compiled > 0
    _hits, compiled = run(tmp_path)["stats"]  # type: ignore[misc]
    assert compiled == 0


def test_a_file_others_may_write_is_not_run(tmp_path: Path) -> None:
    run(tmp_path)
    path = cache_file(tmp_path)
    path.chmod(0o666)
    _hits, compiled = run(tmp_path)["stats"]  # type: ignore[misc]
    assert compiled > 0  # not read: everything compiled again (and the file replaced, 0600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_shared_file_serves_every_home(tmp_path: Path) -> None:
    """Beside the package's .pyc files: a new home (data folder) starts warm and writes nothing."""
    shared = tmp_path / "package" / "__pycache__" / "dataclasses.marshal"
    first_home, second_home = tmp_path / "home1", tmp_path / "home2"
    stock = run(first_home, "stock")
    first = run(first_home, "shared", shared)
    assert shared.is_file() and stat.S_IMODE(shared.stat().st_mode) == 0o600
    assert not cache_file(first_home).exists()
    second = run(second_home, "shared", shared)
    assert without_stats(second) == stock
    _hits, compiled = first["stats"]  # type: ignore[misc]
    assert compiled > 0
    hits, compiled = second["stats"]  # type: ignore[misc]
    assert compiled == 0 and hits > 0
    assert not cache_file(second_home).exists()


def test_a_shared_folder_that_cannot_be_written_falls_back_to_the_data_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "package"
    blocker.write_text("a file where the package folder would be\n")
    shared = blocker / "__pycache__" / "dataclasses.marshal"
    run(tmp_path / "home", "shared", shared)
    assert cache_file(tmp_path / "home").is_file()
    _hits, compiled = run(tmp_path / "home", "shared", shared)["stats"]  # type: ignore[misc]
    assert compiled == 0  # read from the data folder
