"""core.memory: which messages are memories, where notes go, how they are appended."""

from __future__ import annotations

from pathlib import Path

import pytest

from stoa.core.config import load_config
from stoa.core.memory import (
    MemoryWriteError,
    append_memory,
    entry_text,
    is_memory,
    memory_file,
    memory_files,
    memory_note,
    writable_problem,
)


@pytest.mark.parametrize(
    ("text", "memory"),
    [("# use tabs", True), ("#use tabs", True), ("## Heading", False), ("#", False), ("#   ", False),
     ("hello # not", False), (" # leading space", False), ("# a note\nthat wraps\n", True),
     ("# Notes\n\nA Markdown file piped in", False), ("# review this\n\n<stdin>\ndiff\n</stdin>", False),
     ("#!/bin/sh\necho hi", False), ("#include <stdio.h> does not compile", False), ("#define X 1", False),
     ("#including tests is a must", True)],
)
def test_which_messages_are_memories(text: str, memory: bool) -> None:
    assert is_memory(text) is memory


def test_notes_become_list_items() -> None:
    assert memory_note("#  Run make check  ") == "Run make check"
    assert entry_text("first line\nsecond line") == "- first line\n  second line\n"


def test_the_three_files_and_claude_md_when_only_it_exists(tmp_path: Path) -> None:
    ws, cfg, home = tmp_path / "ws", tmp_path / "home" / ".config" / "stoa", tmp_path / "home"
    ws.mkdir()
    files = memory_files(ws, cfg, home)
    assert [(f.scope, f.label) for f in files] == [
        ("project", "AGENTS.md"),
        ("personal", ".stoa/instructions.md"),
        ("global", "~/.config/stoa/AGENTS.md"),
    ]
    (ws / "CLAUDE.md").write_text("x\n")
    assert memory_files(ws, cfg, home)[0].label == "CLAUDE.md"
    (ws / "AGENTS.md").write_text("y\n")
    assert memory_files(ws, cfg, home)[0].label == "AGENTS.md"


def test_append_keeps_what_is_there_and_a_symlink_stays_one(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    real = tmp_path / "shared-rules.md"
    real.write_text("# Shared\nno trailing newline")
    (ws / "AGENTS.md").symlink_to(real)
    config = load_config(ws, env={"HOME": str(tmp_path), "STOA_HOME": str(tmp_path / "sh")})
    before, after = append_memory(memory_file(config, "project"), "new rule")
    assert before == "# Shared\nno trailing newline"
    assert real.read_text() == after == "# Shared\nno trailing newline\n- new rule\n"
    assert (ws / "AGENTS.md").is_symlink()
    # The global file's folder is made when missing.
    append_memory(memory_file(config, "global"), "everywhere")
    assert (tmp_path / "sh" / "AGENTS.md").read_text() == "- everywhere\n"


def test_a_file_that_cannot_be_written_names_itself(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".stoa" / "instructions.md").mkdir()
    config = load_config(ws, env={"HOME": str(tmp_path), "STOA_HOME": str(tmp_path / "sh")})
    file = memory_file(config, "personal")
    assert writable_problem(file) == "cannot write .stoa/instructions.md: it is a folder, not a file"
    with pytest.raises(MemoryWriteError, match=r"cannot write \.stoa/instructions\.md .*: it is a folder, not a file"):
        append_memory(file, "note")
    with pytest.raises(ValueError, match="choose one of project, personal, global"):
        memory_file(config, "team")


def test_a_note_already_there_is_not_written_twice(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "AGENTS.md").write_text("# Rules\n- Use uv\n- two\n  lines\n")
    config = load_config(ws, env={"HOME": str(tmp_path), "STOA_HOME": str(tmp_path / "sh")})
    file = memory_file(config, "project")
    assert append_memory(file, "Use uv") == ("# Rules\n- Use uv\n- two\n  lines\n",) * 2
    assert append_memory(file, "two\nlines")[1] == "# Rules\n- Use uv\n- two\n  lines\n"
    _, after = append_memory(file, "Use uv everywhere")
    assert after.endswith("- Use uv everywhere\n")
