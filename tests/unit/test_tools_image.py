"""view_image with real images made by Pillow: formats, EXIF orientation, scaling, caps."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from stoa.core.providers.types import ImageBlock, TextBlock
from stoa.core.tools import caps
from stoa.core.tools.base import Effect, ToolContext
from stoa.core.tools.image import prepare_image
from tests.unit.tools_harness import call, tool


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(workspace=ws)


def _image_block(result) -> ImageBlock:  # type: ignore[no-untyped-def]
    blocks = [b for b in result.output.content if isinstance(b, ImageBlock)]
    assert len(blocks) == 1, result.text
    return blocks[0]


def _decoded(block: ImageBlock) -> Image.Image:
    assert block.data is not None
    return Image.open(io.BytesIO(base64.b64decode(block.data)))


def test_effect_and_schema() -> None:
    t = tool("view_image")
    assert t.effect is Effect.READ
    assert set(t.spec().input_schema["properties"]) == {"source"}


def test_small_png_is_sent_unchanged(ws: Path, ctx: ToolContext) -> None:
    Image.new("RGBA", (40, 30), (255, 0, 0, 128)).save(ws / "shot.png")
    result = call("view_image", ctx, source="shot.png")
    block = _image_block(result)
    assert block.media_type == "image/png"
    assert base64.b64decode(block.data or "") == (ws / "shot.png").read_bytes()
    marker = result.output.content[0]
    assert isinstance(marker, TextBlock)
    assert marker.text.startswith("[image: shot.png, ") and "40×30 PNG]" in marker.text
    assert "\n" not in marker.text
    assert result.display == {
        "kind": "image",
        "text": marker.text,
        "path": "shot.png",
        "width": 40,
        "height": 30,
        "bytes": (ws / "shot.png").stat().st_size,
        "media_type": "image/png",
    }
    assert result.accesses[0].scope == "read" and result.accesses[0].target == str(ws / "shot.png")


@pytest.mark.parametrize(
    ("fmt", "media"), [("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")]
)
def test_sendable_formats_keep_their_type(ws: Path, ctx: ToolContext, fmt: str, media: str) -> None:
    Image.new("RGB", (20, 10), (0, 128, 255)).save(ws / f"img.{fmt.lower()}", format=fmt)
    block = _image_block(call("view_image", ctx, source=f"img.{fmt.lower()}"))
    assert block.media_type == media


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_other_formats_are_converted_to_png(ws: Path, ctx: ToolContext, fmt: str) -> None:
    Image.new("RGB", (16, 12), (10, 20, 30)).save(ws / f"img.{fmt.lower()}", format=fmt)
    result = call("view_image", ctx, source=f"img.{fmt.lower()}")
    block = _image_block(result)
    assert block.media_type == "image/png"
    assert _decoded(block).size == (16, 12)
    assert f"converted from {fmt}" in result.text


def test_large_images_are_scaled_to_the_long_side(ws: Path, ctx: ToolContext) -> None:
    Image.new("RGB", (4096, 1024), (1, 2, 3)).save(ws / "wide.png")
    result = call("view_image", ctx, source="wide.png")
    image = _decoded(_image_block(result))
    assert image.size == (caps.IMAGE_MAX_SIDE, caps.IMAGE_MAX_SIDE // 4)
    assert "4096×1024 PNG; sent as 2048×512 PNG (scaled)" in result.text
    assert result.display and result.display["width"] == 4096


def test_exif_orientation_is_applied(ws: Path, ctx: ToolContext) -> None:
    photo = Image.new("RGB", (60, 20), (200, 100, 50))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    photo.save(ws / "phone.jpg", format="JPEG", exif=exif)
    result = call("view_image", ctx, source="phone.jpg")
    block = _image_block(result)
    assert block.media_type == "image/jpeg"
    assert _decoded(block).size == (20, 60)
    assert "rotated upright" in result.text


def test_too_large_to_send_becomes_jpeg_then_smaller() -> None:
    noise = Image.effect_noise((600, 600), 100).convert("RGB")
    out = io.BytesIO()
    noise.save(out, format="PNG")
    prepared = prepare_image(out.getvalue(), max_send=120_000)
    assert prepared.media_type == "image/jpeg"
    assert len(prepared.data) <= 120_000


def test_file_size_cap(ws: Path, ctx: ToolContext) -> None:
    with open(ws / "huge.png", "wb") as handle:
        handle.truncate(caps.IMAGE_MAX_FILE_BYTES + 1)
    result = call("view_image", ctx, source="huge.png")
    assert result.is_error and "over the 20.0 MB limit" in result.text


def test_decompression_bomb_is_refused(ws: Path, ctx: ToolContext) -> None:
    Image.new("1", (12_000, 12_000)).save(ws / "bomb.png")
    result = call("view_image", ctx, source="bomb.png")
    assert result.is_error and "too many pixels" in result.text


def test_bad_inputs(ws: Path, ctx: ToolContext) -> None:
    (ws / "notes.txt").write_text("not an image")
    (ws / "empty.png").write_bytes(b"")
    good = io.BytesIO()
    Image.new("RGB", (50, 50)).save(good, format="PNG")
    (ws / "cut.png").write_bytes(good.getvalue()[:60])
    (ws / "dir").mkdir()
    assert "not an image format" in call("view_image", ctx, source="notes.txt").text
    assert "is empty" in call("view_image", ctx, source="empty.png").text
    assert "damaged or truncated" in call("view_image", ctx, source="cut.png").text
    assert "is a directory" in call("view_image", ctx, source="dir").text
    assert "image not found" in call("view_image", ctx, source="missing.png").text
    assert "empty" in call("view_image", ctx, source="").text


def test_url_sources_go_to_the_provider(ctx: ToolContext) -> None:
    result = call("view_image", ctx, source="https://example.com/cat.png")
    block = _image_block(result)
    assert block.url == "https://example.com/cat.png" and block.data is None
    assert result.accesses[0].scope == "network"
    assert result.display and result.display["kind"] == "image"


def test_outside_the_workspace_is_flagged(tmp_path: Path, ctx: ToolContext) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "elsewhere.png")
    result = call("view_image", ctx, source="../elsewhere.png")
    assert result.accesses[0].outside_workspace
