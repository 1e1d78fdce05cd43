"""Project instructions and the system prompt.

The system prompt names the workspace, OS, date and tools, then appends the project's
``AGENTS.md`` (and ``CLAUDE.md`` for compatibility) and the personal ``.stoa/instructions.md``,
each inside a labelled block so the model knows where text came from. Extra sections (MCP
server instructions) are added by their owners through ``extra_sections``.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

INSTRUCTION_FILES: tuple[str, ...] = ("AGENTS.md", "CLAUDE.md", ".stoa/instructions.md")
MAX_INSTRUCTION_CHARS = 40_000

BASE_PROMPT = """You are Stoa, a coding agent working in a person's terminal, inside their project.
You read and search code, edit files, run approved shell commands and use the tools given to you.
Work carefully: read before you edit, keep changes small and focused, and run the project's tests
when you change code. Every tool call is shown to the person; some need their approval, and a
refused call comes back as a tool error you should respect. Be concise in your replies; use
Markdown where it helps (code fences with languages, short lists)."""


def read_instructions(workspace: Path) -> list[tuple[str, str]]:
    """(label, text) for each instruction file present, in order."""
    found: list[tuple[str, str]] = []
    for name in INSTRUCTION_FILES:
        path = workspace / name
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if text.strip():
            if len(text) > MAX_INSTRUCTION_CHARS:
                text = text[:MAX_INSTRUCTION_CHARS] + "\n[... truncated ...]"
            found.append((name, text.strip()))
    return found


def build_system_prompt(
    workspace: Path,
    tool_names: Iterable[str],
    *,
    mode: str = "auto",
    today: date | None = None,
    extra_sections: Iterable[tuple[str, str]] = (),
) -> str:
    today = today or date.today()
    parts = [
        BASE_PROMPT,
        "",
        f"Workspace (the project root; relative paths resolve here): {workspace}",
        f"Operating system: {platform.system()} {platform.release()} ({platform.machine()})",
        f"Today's date: {today.isoformat()}",
        f"Trust mode: {mode}"
        + (
            " (read-only: plan and investigate; do not try to change files; execute_bash runs only"
            " read-only commands)"
            if mode == "plan"
            else ""
        ),
        f"Tools: {', '.join(tool_names)}",
    ]
    for label, text in read_instructions(workspace):
        parts += ["", f'<instructions source="{label}">', text, "</instructions>"]
    for label, text in extra_sections:
        parts += ["", f'<instructions source="{label}">', text, "</instructions>"]
    return "\n".join(parts)


def system_prompt_factory(
    workspace: Path,
    tool_names: Callable[[], Iterable[str]],
    mode: Callable[[], str],
    extra_sections: Callable[[], Iterable[tuple[str, str]]] = lambda: (),
    today: Callable[[], date] = date.today,
) -> Callable[[], str]:
    """A callable the agent calls per request, so tool lists and MCP instructions stay current."""
    return lambda: build_system_prompt(
        workspace, tool_names(), mode=mode(), today=today(), extra_sections=extra_sections()
    )
