"""Conversion of MCP tool results (real ``mcp_types`` objects) to Stoa tool outputs."""

from __future__ import annotations

import base64
import io
import struct

import mcp_types as types
from PIL import Image

from stoa.core.mcp.results import MAX_IMAGES_PER_RESULT, convert_result
from stoa.core.providers.types import ImageBlock, TextBlock
from stoa.core.tools.caps import IMAGE_MAX_SEND_BYTES, IMAGE_MAX_SIDE


def png(width: int, height: int, mode: str = "RGB") -> str:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), "red").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def result(*content: types.ContentBlock, structured: object = None, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=list(content), structured_content=structured, is_error=error)


def test_text_and_errors() -> None:
    out = convert_result(result(types.TextContent(text="a"), types.TextContent(text="b")))
    assert out.content == [TextBlock(text="a\n\nb")] and not out.is_error
    out = convert_result(result(types.TextContent(text="bad input"), error=True))
    assert out.is_error and out.text_content == "bad input"
    out = convert_result(result(error=True), label="srv___tool")
    assert out.is_error and "srv___tool reported an error without a message" in out.text_content
    assert convert_result(result()).text_content == "(no output)"


def test_structured_content_added_once() -> None:
    out = convert_result(result(structured={"n": 1}))
    assert '"n": 1' in out.text_content
    out = convert_result(result(types.TextContent(text='{"n": 1}'), structured={"n": 1}))
    assert out.text_content == '{"n": 1}'  # the text already is the JSON: not repeated
    out = convert_result(result(types.TextContent(text="one"), structured={"n": 1}))
    assert out.text_content.startswith("one\n\nStructured content:\n")


def test_audio_links_and_unknown() -> None:
    out = convert_result(
        result(
            types.AudioContent(data=base64.b64encode(b"1234").decode(), mime_type="audio/wav"),
            types.ResourceLink(name="doc", uri="https://x/doc", mime_type="text/html", description="the doc"),
        )
    )
    assert "[audio (audio/wav, 4 bytes) not shown" in out.text_content
    assert "[resource link: doc: https://x/doc (text/html) - the doc]" in out.text_content


def test_images_small_large_alpha_and_broken() -> None:
    out = convert_result(result(types.ImageContent(data=png(10, 5), mime_type="image/png")))
    (image,) = [b for b in out.content if isinstance(b, ImageBlock)]
    assert image.media_type == "image/png"
    assert out.display is not None and (out.display["width"], out.display["height"]) == (10, 5)

    out = convert_result(result(types.ImageContent(data=png(5000, 100, "RGBA"), mime_type="image/png")))
    (image,) = [b for b in out.content if isinstance(b, ImageBlock)]
    assert out.display is not None and out.display["width"] == IMAGE_MAX_SIDE
    assert image.media_type == "image/png"  # alpha kept
    assert image.data is not None and len(base64.b64decode(image.data)) <= IMAGE_MAX_SEND_BYTES

    out = convert_result(result(types.ImageContent(data="@@@not base64@@@", mime_type="image/png")))
    assert not [b for b in out.content if isinstance(b, ImageBlock)]
    assert "[image not sent:" in out.text_content

    out = convert_result(result(types.ImageContent(data=base64.b64encode(b"plain text").decode(), mime_type="image/png")))
    assert "not an image Stoa can read" in out.text_content


def test_png_with_a_bad_ancillary_checksum_is_sent_unchanged() -> None:
    raw = bytearray(base64.b64decode(png(20, 20)))
    # Insert an ancillary tEXt chunk with a wrong CRC after IHDR (as some servers send).
    chunk = struct.pack(">I", 4) + b"tEXt" + b"a\x00bc" + b"\x00\x00\x00\x00"
    raw[33:33] = chunk
    data = base64.b64encode(bytes(raw)).decode()
    out = convert_result(result(types.ImageContent(data=data, mime_type="image/png")))
    (image,) = [b for b in out.content if isinstance(b, ImageBlock)]
    assert image.data == data
    assert out.display is not None and (out.display["width"], out.display["height"]) == (20, 20)


def test_image_count_is_capped() -> None:
    items = [types.ImageContent(data=png(2, 2), mime_type="image/png") for _ in range(MAX_IMAGES_PER_RESULT + 2)]
    out = convert_result(result(*items))
    assert len([b for b in out.content if isinstance(b, ImageBlock)]) == MAX_IMAGES_PER_RESULT
    assert out.text_content.count("at most") == 2


def test_embedded_resources() -> None:
    out = convert_result(
        result(
            types.EmbeddedResource(resource=types.TextResourceContents(uri="file:///a.txt", text="alpha")),
            types.EmbeddedResource(
                resource=types.BlobResourceContents(uri="file:///p.png", mime_type="image/png", blob=png(3, 3))
            ),
        )
    )
    assert "[resource file:///a.txt]\nalpha" in out.text_content
    assert [b for b in out.content if isinstance(b, ImageBlock)]
