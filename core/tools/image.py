"""view_image: put an image in front of the model.

Local files go through the same path rules as every file tool (a read access on the canonical
path), are capped at 20 MB, decoded with Pillow, turned upright by their EXIF orientation and
scaled so the long side is at most 2048 px. PNG, JPEG, GIF and WebP that need none of that are
sent as they are; everything else Pillow can decode is re-encoded (JPEG stays JPEG, the rest
becomes PNG; an image still too large to send is re-encoded as JPEG, then scaled down).
http(s) URLs are passed to the provider as URL image sources (the provider fetches them).

The model gets a one-line marker plus the image block; the UI gets
``{"kind": "image", "text": marker, "width", "height", "bytes", "media_type", "path"|"url"}``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import warnings
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from stoa.core.permissions.paths import ResolvedPath
from stoa.core.providers.types import ImageBlock, TextBlock
from stoa.core.tools import caps
from stoa.core.tools.base import Access, Effect, Tool, ToolContext, ToolError, ToolOutput
from stoa.core.tools.files import (
    PathArgs,
    TooLarge,
    human_size,
    not_found,
    path_access,
    read_regular,
    resolve_arg,
)

SENDABLE = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class PreparedImage:
    media_type: str
    data: bytes
    width: int
    height: int
    source_format: str
    source_width: int
    source_height: int
    changed: str  # what was done, for the marker ("" when sent as it was)


class ImageProblem(Exception):
    pass


def prepare_image(
    raw: bytes, *, max_side: int = caps.IMAGE_MAX_SIDE, max_send: int = caps.IMAGE_MAX_SEND_BYTES
) -> PreparedImage:
    """Decode, orient, scale and (re-)encode an image for a provider. Raises ImageProblem."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(raw))
            source_format = (image.format or "").upper()
            width, height = image.size
            image.load()
    except UnidentifiedImageError:
        raise ImageProblem(
            "not an image format that can be read (PNG, JPEG, GIF, WebP, BMP, TIFF, ...)"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageProblem("the image has too many pixels to decode safely") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageProblem(f"the image data is damaged or truncated ({exc})") from None
    try:
        orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    except Exception:
        orientation = 1
    rotate = orientation not in (1,)
    too_large = max(width, height) > max_side
    if source_format in SENDABLE and not rotate and not too_large and len(raw) <= max_send:
        return PreparedImage(SENDABLE[source_format], raw, width, height, source_format, width, height, "")
    changes: list[str] = []
    if getattr(image, "is_animated", False):
        image.seek(0)
        changes.append("first frame")
    if rotate:
        image = ImageOps.exif_transpose(image)
        changes.append("rotated upright")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        changes.append("scaled")
    as_jpeg = source_format == "JPEG"
    data, media = _encode(image, as_jpeg)
    while len(data) > max_send:
        if not as_jpeg:
            as_jpeg = True
            data, media = _encode(image, True)
            continue
        if max(image.size) <= 256:
            raise ImageProblem(f"the image stays over {human_size(max_send)} even when scaled down")
        image = image.resize(
            (max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)), Image.Resampling.LANCZOS
        )
        if "scaled" not in changes:
            changes.append("scaled")
        data, media = _encode(image, True)
    if source_format not in SENDABLE:
        changes.append(f"converted from {source_format or 'unknown format'}")
    return PreparedImage(
        media, data, image.width, image.height, source_format, width, height, ", ".join(changes)
    )


def _encode(image: Any, as_jpeg: bool) -> tuple[bytes, str]:
    out = io.BytesIO()
    if as_jpeg:
        if image.mode not in ("RGB", "L"):
            image = _flatten(image)
        image.save(out, format="JPEG", quality=88, optimize=True)
        return out.getvalue(), "image/jpeg"
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    image.save(out, format="PNG", optimize=False)
    return out.getvalue(), "image/png"


def _flatten(image: Any) -> Any:
    from PIL import Image

    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _is_url(source: str) -> bool:
    lowered = source.strip().lower()
    return lowered.startswith(("http://", "https://"))


class ViewImageArgs(PathArgs):
    source: str = Field(
        description=(
            "The image: a file path (relative to the workspace or absolute; PNG, JPEG, GIF, WebP, or any "
            "other format Pillow reads) or an http(s) URL."
        )
    )


class ViewImage(Tool):
    name = "view_image"
    description = (
        "Look at an image: a local file (screenshots, diagrams, photos) or an http(s) URL. Large images "
        f"are scaled to at most {caps.IMAGE_MAX_SIDE} px on the long side; files over "
        f"{caps.IMAGE_MAX_FILE_BYTES // (1024 * 1024)} MB are refused."
    )
    Args = ViewImageArgs
    effect = Effect.READ

    def summary(self, args: Any) -> str:
        return str(args.source)

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        if _is_url(args.source):
            from stoa.core.tools.web import check_url, check_url_host

            url = check_url(args.source)
            # The provider (or a local model server) fetches it: never point it at our network.
            check_url_host(url, ctx.config, "view_image")
            return [
                Access(
                    scope="network",
                    target=url,
                    effect=Effect.NETWORK,
                    reason="shows the model an image from the web",
                )
            ]
        resolved = resolve_arg(args, ctx, "source", checking=True)
        return [path_access(resolved, "read", Effect.READ, "reads")]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        if _is_url(args.source):
            return self._url(args.source)
        resolved = resolve_arg(args, ctx, "source", checking=False)
        return await asyncio.to_thread(self._local, resolved)

    def _url(self, source: str) -> ToolOutput:
        from stoa.core.tools.web import check_url

        url = check_url(source)
        marker = f"[image: {url} (the provider fetches it)]"
        return ToolOutput(
            content=[TextBlock(text=marker), ImageBlock(url=url)],
            display={"kind": "image", "text": marker, "url": url},
        )

    def _local(self, resolved: ResolvedPath) -> ToolOutput:
        path, display = resolved.canonical, resolved.display
        if not resolved.exists:
            raise not_found(resolved, "image")
        if path.is_dir():
            raise ToolError(f"{display} is a directory; pass an image file")
        try:
            raw, _ = read_regular(path, display, max_bytes=caps.IMAGE_MAX_FILE_BYTES)
        except TooLarge as big:
            raise ToolError(
                f"{display} is {human_size(big.st.st_size)}, over the {human_size(caps.IMAGE_MAX_FILE_BYTES)} "
                "limit for view_image; make a smaller copy first (e.g. with an image tool on the command line)"
            ) from None
        if not raw:
            raise ToolError(f"{display} is empty (0 bytes); it holds no image")
        try:
            image = prepare_image(raw)
        except ImageProblem as exc:
            raise ToolError(f"cannot show {display}: {exc}") from None
        dims = f"{image.source_width}×{image.source_height}"
        marker = f"[image: {display}, {human_size(len(raw))}, {dims} {image.source_format or '?'}"
        if image.changed:
            sent = "JPEG" if image.media_type == "image/jpeg" else "PNG"
            marker += f"; sent as {image.width}×{image.height} {sent} ({image.changed})"
        marker += "]"
        block = ImageBlock(media_type=image.media_type, data=base64.b64encode(image.data).decode("ascii"))
        return ToolOutput(
            content=[TextBlock(text=marker), block],
            display={
                "kind": "image",
                "text": marker,
                "path": display,
                "width": image.source_width,
                "height": image.source_height,
                "bytes": len(raw),
                "media_type": image.media_type,
            },
        )
