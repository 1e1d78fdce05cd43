"""Project instructions and the system prompt."""

from __future__ import annotations

import platform
from datetime import date
from pathlib import Path

from stoa.core.instructions import build_system_prompt, read_instructions


def test_prompt_names_workspace_os_date_tools_and_mode(tmp_path: Path) -> None:
    prompt = build_system_prompt(tmp_path, ["read_file", "edit_file"], mode="plan", today=date(2026, 11, 22))
    assert str(tmp_path) in prompt
    assert platform.system() in prompt
    assert "2026-11-22" in prompt
    assert "read_file, edit_file" in prompt
    assert "plan" in prompt and "read-only" in prompt


def test_instruction_files_are_appended_with_their_source(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Use tabs.\n")
    (tmp_path / "CLAUDE.md").write_text("Run make test.\n")
    (tmp_path / ".stoa").mkdir()
    (tmp_path / ".stoa" / "instructions.md").write_text("I prefer short answers.\n")
    prompt = build_system_prompt(tmp_path, [], extra_sections=[("mcp server docs", "Call search first.")])
    order = [prompt.index(s) for s in ("Use tabs.", "Run make test.", "I prefer short answers.", "Call search first.")]
    assert order == sorted(order)
    assert '<instructions source="AGENTS.md">' in prompt
    assert '<instructions source=".stoa/instructions.md">' in prompt
    assert '<instructions source="mcp server docs">' in prompt


def test_missing_empty_and_huge_files(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("   \n")
    assert read_instructions(tmp_path) == []
    (tmp_path / "CLAUDE.md").write_text("x" * 100_000)
    [(label, text)] = read_instructions(tmp_path)
    assert label == "CLAUDE.md" and len(text) < 50_000 and text.endswith("[... truncated ...]")
