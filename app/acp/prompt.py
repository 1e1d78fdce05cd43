"""An ACP prompt (text, images, resource links, embedded resources) as Stoa message content."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from acp import schema as s

from stoa.app.acp import errors
from stoa.core.providers.types import ContentBlock, ImageBlock, TextBlock

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
# A cap on one image: providers refuse bigger ones anyway, and the session keeps each.
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def to_content(blocks: list[Any], workspace: Path) -> list[ContentBlock]:
    """The prompt's blocks in order. Raises ``RequestError`` (invalid params) for a block Stoa
    cannot take, naming it and what to send instead; nothing is sent to the model then."""
    out: list[ContentBlock] = []
    for index, block in enumerate(blocks):
        if isinstance(block, s.TextContentBlock):
            if block.text:
                out.append(TextBlock(text=block.text))
        elif isinstance(block, s.ImageContentBlock):
            out.append(_image(index, block.data, block.mime_type))
        elif isinstance(block, s.ResourceContentBlock):
            out.append(TextBlock(text=_link_text(block, workspace)))
        elif isinstance(block, s.EmbeddedResourceContentBlock):
            out.append(_embedded(index, block.resource))
        else:
            kind = getattr(block, "type", type(block).__name__)
            raise errors.invalid_params(f"prompt block {index} is {kind!r}, which Stoa does not take; send text, images or resources")
    if not any((isinstance(b, TextBlock) and b.text.strip()) or isinstance(b, ImageBlock) for b in out):
        raise errors.invalid_params("the prompt is empty; send some text")
    return out


def _image(index: int, data: str, mime_type: str) -> ImageBlock:
    mime = (mime_type or "").lower()
    if mime not in IMAGE_TYPES:
        raise errors.invalid_params(f"prompt block {index}: images of type {mime_type!r} are not supported; send PNG, JPEG, GIF or WebP")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise errors.invalid_params(f"prompt block {index}: the image data is not base64") from None
    if len(raw) > MAX_IMAGE_BYTES:
        raise errors.invalid_params(f"prompt block {index}: the image is {len(raw) // (1024 * 1024)} MB; send one under 20 MB")
    return ImageBlock(media_type=mime, data=data)


def _link_text(block: s.ResourceContentBlock, workspace: Path) -> str:
    """A file link as an ``@path`` mention: the agent attaches the file as the TUI does
    (``core.mentions``: read under the same rules, the editor's buffer when it has one)."""
    path = file_path(block.uri)
    if path is not None:
        try:
            shown = str(path.relative_to(workspace))
        except ValueError:
            shown = str(path)
        # Spaced off: the editor sends it between text blocks, and a mention starts a word.
        return f' @"{shown}" ' if any(c.isspace() or c == '"' for c in shown) else f" @{shown} "
    return f"[the user attached {block.name or 'a resource'}: {block.uri}]"


def _embedded(index: int, resource: Any) -> ContentBlock:
    if isinstance(resource, s.TextResourceContents):
        path = file_path(resource.uri)
        name = str(path) if path is not None else resource.uri
        return TextBlock(text=f'<context source="{name}">\n{resource.text}\n</context>')
    mime = (resource.mime_type or "").lower()
    if mime in IMAGE_TYPES:
        return _image(index, resource.blob, mime)
    raise errors.invalid_params(
        f"prompt block {index}: binary resource {resource.uri!r} ({mime or 'unknown type'}) cannot be read; "
        "attach text or an image"
    )


def file_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if not parsed.scheme and uri.startswith("/"):
        return Path(uri)
    return None


def prompt_text(content: list[ContentBlock]) -> str:
    return "".join(b.text for b in content if isinstance(b, TextBlock))
