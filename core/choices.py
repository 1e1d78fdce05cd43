"""What the person chose on the command line: ``Choices``, read by ``build_runtime``.

Its own module so the CLI can fill it in before anything heavy loads (the TUI paints its first
frame before the runtime is built; ``stoa.core.runtime`` re-exports it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Choices:
    """What the person chose on the command line (None = use config / defaults)."""

    model: str | None = None
    effort: str | None = None
    provider: str | None = None
    base_url: str | None = None
    mode: str | None = None
    max_tokens: int | None = None
    # Model requests with tool calls per turn (`--max-turns`); None: the config's max-iterations.
    max_turns: int | None = None
    # Run the project's shared hooks without asking (`--trust-project-hooks`).
    trust_project_hooks: bool = False
    # `--system-prompt-file` (replaces Stoa's system prompt) and `--append-system-prompt`.
    system_prompt: str | None = None
    append_system_prompt: str | None = None
    # Run the main conversation as this agent (`--agent NAME`).
    agent: str | None = None
