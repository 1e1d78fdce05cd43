"""The clipboard through the platform tool (core/clipboard.py): a real X server (Xvfb) and the
real xclip, on a display of their own. Without Xvfb or xclip these tests are skipped, saying so."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stoa.core.clipboard import ClipboardError, NoImage, copy_text, read_image
from tests.integration.test_mentions_headless import _png

NEEDS_X = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xclip") is None,
    reason="needs Xvfb and xclip (apt install xvfb xclip) for a real clipboard",
)


@pytest.fixture
def x_display(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An X server of this test's own; the environment to reach it. Xvfb picks a free display
    number itself and says which (``-displayfd``) once it takes connections: a number made up
    from the pid could be one another worker's server still held (xclip then failed)."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0", "320x240x24"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,),
    )  # fmt: skip
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as said:
            number = said.readline().strip().decode()
        assert number.isdigit(), f"Xvfb did not start (exit code {proc.poll()})"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DISPLAY": f":{number}", "HOME": str(tmp_path)}
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _put(env: dict[str, str], data: bytes, target: str) -> None:
    subprocess.run(
        ["xclip", "-selection", "clipboard", "-t", target, "-i"], input=data, env=env, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@NEEDS_X
def test_an_image_on_the_clipboard_is_read(x_display: dict[str, str]) -> None:
    png = _png(5, 4)
    _put(x_display, png, "image/png")
    assert read_image(x_display) == png


@NEEDS_X
def test_text_on_the_clipboard_is_no_image(x_display: dict[str, str]) -> None:
    _put(x_display, b"just words", "UTF8_STRING")
    with pytest.raises(NoImage) as caught:
        read_image(x_display)
    assert caught.value.text == "just words"


@NEEDS_X
def test_copy_text_reaches_the_clipboard(x_display: dict[str, str]) -> None:
    assert copy_text("copied reply\nline 2", x_display) == "xclip"
    out = subprocess.run(["xclip", "-selection", "clipboard", "-o"], env=x_display, capture_output=True, timeout=5)
    assert out.stdout == b"copied reply\nline 2"


def test_a_missing_tool_is_named(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "DISPLAY": ":0"}
    with pytest.raises(ClipboardError, match="install xclip"):
        read_image(env)
    with pytest.raises(ClipboardError, match="install wl-clipboard"):
        copy_text("x", {**env, "WAYLAND_DISPLAY": "wayland-0"})


def test_no_graphical_session_is_said(tmp_path: Path) -> None:
    with pytest.raises(ClipboardError, match="no graphical session"):
        read_image({"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
