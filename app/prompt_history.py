"""The composer's prompt history, kept per project in the session database
(``core.sessions.prompts``): every submitted prompt is saved in the background, and a session
that opens loads the project's history, so Up/Down and Ctrl+R reach earlier runs.

The history is a convenience: when the database cannot be used, saving is skipped quietly (the
conversation itself is saved by the session recorder, which reports its own failures) and the
history of this run still works.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stoa.app.screens.chat import ChatScreen

SAVE_GROUP = "prompt-history"


def remember_prompt(screen: ChatScreen, text: str) -> None:
    """Save a submitted prompt for this project, in a worker of the chat screen."""
    runtime = screen.runtime
    store = runtime.store
    if store is None:
        return
    from stoa.core.sessions import SessionStoreError
    from stoa.core.sessions.prompts import add_prompt

    async def save() -> None:
        try:
            await add_prompt(store, str(runtime.config.workspace), text)
        except SessionStoreError:
            pass

    screen.run_worker(save(), group=SAVE_GROUP, description="save the prompt history", exit_on_error=False)


async def load_prompt_history(screen: ChatScreen) -> None:
    """Replace the composer's history with this project's saved prompts (oldest first), after
    the saves still running (the prompt that opened this session included). Kept as it is when
    there are none or the database cannot be read."""
    runtime = screen.runtime
    store = runtime.store
    if store is None:
        return
    from stoa.core.sessions import SessionStoreError
    from stoa.core.sessions.prompts import load_prompts

    for worker in [w for w in screen.app.workers if w.group == SAVE_GROUP and not w.is_finished]:
        with suppress(Exception):  # a failed or cancelled save: load what is there
            await worker.wait()
    try:
        prompts = await load_prompts(store, str(runtime.config.workspace))
    except SessionStoreError:
        return
    if prompts:
        screen.prompt_history[:] = prompts
