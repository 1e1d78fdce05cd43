"""The slash-command package: one module per family, collected into a registry without import
side effects, talking to the chat screen only through the CommandHost protocol."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from stoa.app.commands import FAMILIES, CommandContext, CommandRegistry, builtin_registry, command

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = {"help", "clear", "resume", "exit", "mode", "safe", "normal", "model", "effort", "key", "status", "mcp"}


def test_every_family_contributes_and_the_builtins_are_all_there() -> None:
    registry = builtin_registry()
    names = {cmd.name for cmd in registry}
    assert BUILT_IN <= names
    assert registry.get("?") is registry.get("help")  # aliases resolve
    assert registry.get("QUIT") is registry.get("exit")


def test_each_call_builds_an_independent_registry() -> None:
    first, second = builtin_registry(), builtin_registry()

    @command("greet", "Say hello")
    def greet(ctx: CommandContext) -> None:
        ctx.info("hello")

    module = types.ModuleType("custom_commands")
    module.greet = greet  # type: ignore[attr-defined]
    assert [c.name for c in first.add_module(module)] == ["greet"]
    assert "greet" in first and "greet" not in second


def test_a_name_or_alias_taken_twice_is_refused() -> None:
    registry = CommandRegistry()

    @command("clear", "one", aliases=("new",))
    def one(ctx: CommandContext) -> None: ...

    @command("new", "two")
    def two(ctx: CommandContext) -> None: ...

    @command("fresh", "three", aliases=("new",))
    def three(ctx: CommandContext) -> None: ...

    registry.register(one.__slash_command__)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="already"):
        registry.register(two.__slash_command__)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="already names"):
        registry.register(three.__slash_command__)  # type: ignore[attr-defined]


def test_importing_the_commands_does_not_import_the_chat_screen() -> None:
    """No import circle: the families reach the screen through CommandHost only."""
    families = ", ".join(f"stoa.app.commands.{f}" for f in FAMILIES)
    code = f"import sys, stoa.app.commands, {families}; print('stoa.app.screens.chat' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
