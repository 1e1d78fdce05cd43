"""`stoa -p` keeps the code dataclasses generate in the data folder (stoa.core.dataclass_cache):
the first run writes it, the next takes everything from it and leaves it alone, and a
corrupt file costs nothing but the compilations. Real CLI against the fake server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stoa.core.dataclass_cache import cache_file
from tests.fake_server import FakeServer, reply

STOA = [sys.executable, "-m", "stoa.app.cli"]


def ask(env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        [*STOA, "-p", "what is 2+2?"], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Four.\n"


def test_the_second_run_takes_its_dataclass_code_from_the_data_folder(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.add_rule(reply(text="Four."), {"path": "/v1/messages"})
    stoa_env = {**stoa_env, "STOA_CODE_CACHE": "data"}  # the data folder's file, not the shared one
    path = cache_file(Path(stoa_env["STOA_HOME"]) / "data")
    ask(stoa_env, tmp_path)
    assert path.is_file()
    written = path.stat().st_mtime_ns
    ask(stoa_env, tmp_path)
    assert path.stat().st_mtime_ns == written  # nothing compiled: nothing to add
    path.write_bytes(b"garbage")
    ask(stoa_env, tmp_path)
    assert path.stat().st_mtime_ns != written and path.read_bytes() != b"garbage"


def test_by_default_every_home_shares_the_file_beside_the_modules(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    """A new home starts warm: the file beside Stoa's .pyc files serves it (this checkout's
    __pycache__ is writable), and nothing is written to the home's data folder."""
    from stoa.core.dataclass_cache import shared_cache_file

    fake_server.add_rule(reply(text="Four."), {"path": "/v1/messages"})
    ask(stoa_env, tmp_path)
    assert shared_cache_file().is_file()
    assert not cache_file(Path(stoa_env["STOA_HOME"]) / "data").exists()
    off = {**stoa_env, "STOA_HOME": str(tmp_path / "other-home"), "STOA_CODE_CACHE": "off"}
    ask(off, tmp_path)
    assert not cache_file(tmp_path / "other-home" / "data").exists()


def test_python_told_not_to_write_bytecode_keeps_it_in_the_data_folder(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.add_rule(reply(text="Four."), {"path": "/v1/messages"})
    ask({**stoa_env, "PYTHONDONTWRITEBYTECODE": "1"}, tmp_path)
    assert cache_file(Path(stoa_env["STOA_HOME"]) / "data").is_file()
