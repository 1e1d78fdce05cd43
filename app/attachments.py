"""What the composer sends besides plain prompts. Images: Ctrl+V reads the clipboard
(``stoa.core.clipboard``) and a pasted image file path is recognised; each becomes an
``[Image #N]`` marker in the prompt, the image kept in the conversation's ``PastedImages`` until
the message is sent (``stoa.core.mentions``). ``!command`` lines: run by the person
(``stoa.core.agent.passthrough``) as a turn without a model request."""

from __future__ import annotations

import asyncio
from typing import Any


def image_notice(screen: Any) -> None:
    """Say so at once when the current model takes no images (the send would leave it out)."""
    model = screen.runtime.agent.model
    if not model.supports_images:
        screen.show_notice(
            "warning",
            f"{model.id} does not take images: the image will not be sent with this model",
            hint="/model switches to one that does",
        )


def attach_image_path(screen: Any, path: str) -> str:
    """A pasted image file path: its marker (the file is read when the message is sent)."""
    image = screen.runtime.agent.pasted_images.add_path(path)
    image_notice(screen)
    return image.marker


async def paste_clipboard_image(screen: Any) -> None:
    """Ctrl+V: the clipboard's image as a marker at the cursor; its text when it holds no image;
    else a notice naming the tool to install."""
    from stoa.core.clipboard import ClipboardError, NoImage, read_image

    composer = screen.composer
    try:
        data = await asyncio.to_thread(read_image, screen.runtime.config.env)
    except NoImage as exc:
        if exc.text:
            composer.insert_paste(exc.text)
        else:
            screen.show_notice("info", "the clipboard holds no image or text to paste")
        return
    except ClipboardError as exc:
        screen.show_notice("error", f"cannot paste an image: {exc}")
        return
    image = screen.runtime.agent.pasted_images.add_bytes(data)
    composer.input.insert(image.marker + " ")
    composer.focus_input()
    image_notice(screen)


async def run_shell_line(screen: Any, text: str) -> None:
    """``!command``: run it now as a turn of its own (its row shows the output; command and
    output become context for the next message). Not while a turn runs."""
    if screen.busy or not screen.ready:
        screen.show_notice(
            "error", "a ! command cannot run while the agent works", hint="wait, or press Esc to interrupt"
        )
        if not screen.composer.text.strip():
            screen.composer.set_text(text)
        return
    await screen.start_turn(text, text, shell=True)
