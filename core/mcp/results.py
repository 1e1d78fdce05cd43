"""Turn an MCP ``CallToolResult`` into a Stoa ``ToolOutput``.

Text stays text; images become image blocks, re-encoded and scaled down with the same limits
as view_image (core/tools/caps.py); embedded resources become labelled text (or an image, for
image blobs); resource links and audio become one-line notes; structured content is added as
JSON when the text does not already carry it. ``isError`` results go back to the model as
errors. The text the model receives is capped like native tools' output.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

from stoa.core.providers.types import ImageBlock, TextBlock
from stoa.core.tools.base import ToolOutput
from stoa.core.tools.caps import (
    DISPLAY_CHARS,
    IMAGE_MAX_FILE_BYTES,
    IMAGE_MAX_SEND_BYTES,
    IMAGE_MAX_SIDE,
    MODEL_OUTPUT_CHARS,
    cap_text,
)

# Images kept per result; more are described, not sent.
MAX_IMAGES_PER_RESULT = 8
_SENDABLE = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@dataclass(frozen=True)
class ConvertedImage:
    block: ImageBlock
    width: int
    height: int
    size: int


def convert_result(result: Any, *, label: str = "", note: str | None = None) -> ToolOutput:
    """Convert a ``mcp_types.CallToolResult`` (duck-typed: content, structured_content, is_error).

    ``note``: a problem with the result to mention after its content (e.g. structured content
    that does not match the tool's output schema).
    """
    parts: list[str] = []
    images: list[ConvertedImage] = []
    notes: list[str] = []
    for item in getattr(result, "content", None) or []:
        kind = getattr(item, "type", None)
        if kind == "text":
            parts.append(item.text)
        elif kind == "image":
            _add_image(item.data, item.mime_type, "image", images, notes)
        elif kind == "audio":
            notes.append(f"[audio ({item.mime_type}, {_b64_size(item.data):,} bytes) not shown: audio is not supported]")
        elif kind == "resource":
            _add_resource(item.resource, parts, images, notes)
        elif kind == "resource_link":
            described = item.uri + (f" ({item.mime_type})" if item.mime_type else "")
            title = f"{item.name}: " if item.name else ""
            notes.append(f"[resource link: {title}{described}" + (f" - {item.description}" if item.description else "") + "]")
        else:
            notes.append(f"[content of type {kind!r} not shown]")
    if note:
        notes.append(f"[note: {note}]")
    structured = getattr(result, "structured_content", None)
    if structured is not None and not _text_carries(parts, structured):
        dumped = json.dumps(structured, ensure_ascii=False, indent=2)
        parts.append(dumped if not parts else f"Structured content:\n{dumped}")
    text = "\n\n".join(p for p in [*parts, *notes] if p)
    is_error = bool(getattr(result, "is_error", False))
    if is_error and not text:
        text = f"{label or 'the tool'} reported an error without a message"
    model_text = cap_text(text, MODEL_OUTPUT_CHARS, how_to_get_more="ask the tool for a smaller result")
    content: list[TextBlock | ImageBlock] = []
    if model_text or not images:
        content.append(TextBlock(text=model_text or "(no output)"))
    content.extend(image.block for image in images)
    display: dict[str, Any]
    if images and not is_error:
        first = images[0]
        display = {
            "kind": "image",
            "width": first.width,
            "height": first.height,
            "bytes": first.size,
            "count": len(images),
            "text": cap_text(text, DISPLAY_CHARS),
        }
    else:
        display = {"kind": "text", "text": cap_text(text, DISPLAY_CHARS)}
    return ToolOutput(content=content, is_error=is_error, display=display)


def _text_carries(parts: list[str], structured: Any) -> bool:
    """Whether the text already says what the structured content says.

    Servers are asked to repeat structured content as text, and do it in several ways: the
    JSON of the whole object, or (when the tool returns a single value, which SDKs wrap as
    ``{"result": value}`` or ``{"content": value}``) the value alone, as plain text or JSON.
    Sending both would double the tokens of every such call.
    """
    if not parts:
        return False
    candidates = [structured]
    if isinstance(structured, dict) and len(structured) == 1:
        candidates.append(next(iter(structured.values())))
    for candidate in candidates:
        # A list returned one text block per item (as MCPServer does).
        if isinstance(candidate, list) and len(candidate) == len(parts) > 1:
            if all(_same(part, item) for part, item in zip(parts, candidate, strict=True)):
                return True
    texts = [*parts, "\n".join(parts)] if len(parts) > 1 else parts
    for text in texts:
        stripped = text.strip()
        for candidate in candidates:
            if isinstance(candidate, str) and candidate.strip() == stripped:
                return True
        try:
            parsed = json.loads(text)
        except (ValueError, TypeError):
            continue
        if any(parsed == candidate for candidate in candidates):
            return True
    return False


def _same(text: str, value: Any) -> bool:
    """Whether ``text`` is ``value`` written out (as itself, or as JSON)."""
    if isinstance(value, str) and value.strip() == text.strip():
        return True
    try:
        return bool(json.loads(text) == value)
    except (ValueError, TypeError):
        return False


def _add_resource(
    resource: Any, parts: list[str], images: list[ConvertedImage], notes: list[str]
) -> None:
    uri = getattr(resource, "uri", "")
    mime = getattr(resource, "mime_type", None)
    header = f"[resource {uri}" + (f" ({mime})" if mime else "") + "]"
    text = getattr(resource, "text", None)
    if isinstance(text, str):
        parts.append(f"{header}\n{text}")
        return
    blob = getattr(resource, "blob", None)
    if isinstance(blob, str):
        if mime and mime.startswith("image/"):
            _add_image(blob, mime, f"resource {uri}", images, notes)
            return
        notes.append(f"{header} binary content ({_b64_size(blob):,} bytes) not shown")


def _add_image(data: str, mime: str | None, what: str, images: list[ConvertedImage], notes: list[str]) -> None:
    if len(images) >= MAX_IMAGES_PER_RESULT:
        notes.append(f"[{what} not sent: at most {MAX_IMAGES_PER_RESULT} images per result]")
        return
    converted = convert_image(data, mime)
    if isinstance(converted, str):
        notes.append(f"[{what} not sent: {converted}]")
    else:
        images.append(converted)


def convert_image(data: str, mime: str | None) -> ConvertedImage | str:
    """Decode, check and (when too large) scale and re-encode a base64 image.

    Returns the image, or a short reason it cannot be sent.
    """
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return "its data is not valid base64"
    if len(raw) > IMAGE_MAX_FILE_BYTES:
        return f"it is {len(raw):,} bytes (over {IMAGE_MAX_FILE_BYTES:,})"
    try:
        from PIL import Image, UnidentifiedImageError

        with Image.open(io.BytesIO(raw)) as img:
            img.load()
            width, height = img.size
            fmt = (img.format or "").upper()
            media = Image.MIME.get(fmt, mime or "")
            needs_scale = max(width, height) > IMAGE_MAX_SIDE
            if not needs_scale and len(raw) <= IMAGE_MAX_SEND_BYTES and media in _SENDABLE:
                block = ImageBlock(media_type=media, data=base64.b64encode(raw).decode("ascii"))
                return ConvertedImage(block, width, height, len(raw))
            return _reencode(img)
    except (UnidentifiedImageError, SyntaxError):
        # Pillow is strict (e.g. a bad checksum in an ancillary PNG chunk); other decoders are
        # not, so a small image of a sendable type still goes, unchanged.
        return _unchecked(raw) or f"it is not an image Stoa can read ({mime or 'unknown type'})"
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return _unchecked(raw) or f"it could not be decoded ({exc})"


def _unchecked(raw: bytes) -> ConvertedImage | None:
    """A sendable image recognised by its signature alone, when it is small enough to send as is."""
    media = _sniff(raw)
    if media is None or len(raw) > IMAGE_MAX_SEND_BYTES:
        return None
    width = height = 0
    if media == "image/png" and len(raw) >= 24 and raw[12:16] == b"IHDR":
        width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
        if max(width, height) > IMAGE_MAX_SIDE:
            return None
    block = ImageBlock(media_type=media, data=base64.b64encode(raw).decode("ascii"))
    return ConvertedImage(block, width, height, len(raw))


def _sniff(raw: bytes) -> str | None:
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if raw.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    return None


def _reencode(img: Any) -> ConvertedImage | str:
    from PIL import Image

    img = img.copy()
    if max(img.size) > IMAGE_MAX_SIDE:
        img.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE), Image.Resampling.LANCZOS)
    has_alpha = img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info)
    attempts: list[tuple[str, dict[str, Any]]] = (
        [("PNG", {"optimize": True})] if has_alpha else [("PNG", {"optimize": True}), ("JPEG", {"quality": 85})]
    )
    for scale in (1.0, 0.75, 0.5, 0.35, 0.25):
        candidate = img
        if scale < 1.0:
            candidate = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
        for fmt, options in attempts:
            buffer = io.BytesIO()
            converted = candidate
            if fmt == "JPEG" and converted.mode not in ("RGB", "L"):
                converted = converted.convert("RGB")
            elif fmt == "PNG" and converted.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                converted = converted.convert("RGBA" if has_alpha else "RGB")
            converted.save(buffer, format=fmt, **options)
            size = buffer.tell()
            if size <= IMAGE_MAX_SEND_BYTES:
                block = ImageBlock(
                    media_type=f"image/{fmt.lower()}", data=base64.b64encode(buffer.getvalue()).decode("ascii")
                )
                return ConvertedImage(block, candidate.width, candidate.height, size)
    return "it stays too large even when scaled down"


def _b64_size(data: str) -> int:
    data = data.strip()
    return len(data) * 3 // 4 - (len(data) - len(data.rstrip("=")))
