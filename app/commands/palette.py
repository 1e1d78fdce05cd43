"""The slash commands in the Ctrl+P command palette (the chat screen's registry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from stoa.app.commands import builtin_registry
from stoa.app.commands.registry import CommandRegistry, SlashCommand

if TYPE_CHECKING:
    from stoa.app.screens.chat import ChatScreen


class SlashCommandsProvider(Provider):
    """Lists the slash commands in the Ctrl+P palette (same registry as the slash list)."""

    def _chat(self) -> ChatScreen | None:
        from stoa.app.screens.chat import ChatScreen

        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, ChatScreen):
                return screen
        return None

    def _runner(self, cmd: SlashCommand) -> Callable[[], None]:
        def run() -> None:
            chat = self._chat()
            if chat is None:
                return
            if cmd.needs_args:
                chat.composer.set_text(f"/{cmd.name} ")
                chat.composer.focus_input()
            else:
                chat.run_slash(f"/{cmd.name}")

        return run

    def _commands(self) -> CommandRegistry:
        chat = self._chat()
        return chat.commands if chat is not None else builtin_registry()

    async def discover(self) -> Hits:
        for cmd in self._commands():
            yield DiscoveryHit(cmd.usage, self._runner(cmd), help=cmd.description)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query.lstrip("/"))
        for cmd in self._commands():
            candidate = f"/{cmd.name}"
            score = max(matcher.match(candidate), matcher.match(cmd.description) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(candidate), self._runner(cmd), help=cmd.description)
