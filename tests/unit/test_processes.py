"""core/processes.py, the one stop loop, on real processes: a group whose members exit on
SIGTERM get the chance to (their trap runs), one that ignores it is killed after the grace, a
child that left the group with setsid goes too, pid lists end alike with and without an event
loop, and term=False kills at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from stoa.core import processes

if not sys.platform.startswith("linux"):  # pragma: no cover
    import pytest

    pytest.skip("liveness is read from /proc (Linux)", allow_module_level=True)


def start(script: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    """bash running ``script`` as the leader of a new session (its own process group)."""
    return subprocess.Popen(["bash", "-c", script], cwd=tmp_path, start_new_session=True)


def wait_for(path: Path) -> None:
    for _ in range(2000):
        if path.exists():
            return
        time.sleep(0.005)
    raise AssertionError(f"{path.name} never appeared")


def pids_in(path: Path) -> list[int]:
    return [int(word) for word in path.read_text().split()]


def test_a_group_gets_sigterm_first_and_what_ignores_it_is_killed(tmp_path: Path) -> None:
    proc = start(
        "trap 'echo term > polite; exit 0' TERM\n"
        "(trap '' TERM; exec sleep 600) & echo $! > stubborn\n"
        "touch ready; while :; do sleep 0.05; done",
        tmp_path,
    )
    wait_for(tmp_path / "ready")
    stubborn = pids_in(tmp_path / "stubborn")
    assert processes.running(stubborn[0]) and processes.group_alive(proc.pid)
    assert asyncio.run(processes.stop_group(proc.pid, grace=0.5))
    proc.wait(5)
    assert (tmp_path / "polite").read_text().strip() == "term"
    assert not processes.running(stubborn[0])
    assert not processes.group_alive(proc.pid)


def test_a_child_that_left_the_group_goes_too(tmp_path: Path) -> None:
    proc = start("setsid sleep 600 & echo $! > stray; touch ready; sleep 600", tmp_path)
    wait_for(tmp_path / "ready")
    for _ in range(200):  # setsid forks when it leads a group already; find the sleep itself
        strays = processes.strays_of(proc.pid)
        if strays:
            break
        time.sleep(0.01)
    assert strays, "the setsid child was not found outside the group"
    assert asyncio.run(processes.stop_group(proc.pid, grace=0.5))
    proc.wait(5)
    assert not any(processes.running(pid) for pid in strays)


def test_term_false_kills_at_once(tmp_path: Path) -> None:
    proc = start("trap 'echo term > polite; exit 0' TERM; touch ready; while :; do sleep 0.05; done", tmp_path)
    wait_for(tmp_path / "ready")
    assert asyncio.run(processes.stop_group(proc.pid, grace=5.0, term=False))
    assert proc.wait(5) == -9
    assert not (tmp_path / "polite").exists()


def test_pid_lists_end_alike_with_and_without_an_event_loop(tmp_path: Path) -> None:
    polite = subprocess.Popen(["sleep", "600"])
    stubborn = subprocess.Popen(["bash", "-c", "trap '' TERM; touch ready; while :; do sleep 0.05; done"], cwd=tmp_path)
    wait_for(tmp_path / "ready")
    pids = [polite.pid, stubborn.pid]
    assert asyncio.run(processes.stop_pids(pids, grace=0.3)) == []
    assert polite.wait(5) == -15 and stubborn.wait(5) == -9

    (tmp_path / "ready").unlink()
    again = subprocess.Popen(["bash", "-c", "trap '' TERM; touch ready; while :; do sleep 0.05; done"], cwd=tmp_path)
    wait_for(tmp_path / "ready")
    processes.stop_pids_now([again.pid], grace=0.3)
    assert again.wait(5) == -9


def test_exited_within_reads_the_return_code_not_the_pipes() -> None:
    asyncio.run(_exited_within_reads_the_return_code())


async def _exited_within_reads_the_return_code() -> None:
    # The child exits at once, but a grandchild keeps its stdout open.
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", "sleep 600 & exit 3", stdout=asyncio.subprocess.PIPE, start_new_session=True
    )
    assert await processes.exited_within(process, 10)
    assert process.returncode == 3
    assert processes.group_alive(process.pid), "the grandchild still runs in the group"
    assert await processes.stop_group(process.pid, grace=0.5)
    await process.wait()
