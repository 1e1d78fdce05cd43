"""The system clipboard through the platform's tools: an image to paste (Ctrl+V), text to copy
(/copy). Wayland: ``wl-paste``/``wl-copy`` (wl-clipboard); X11: ``xclip``; macOS: ``pbcopy``, and
``pngpaste`` for images (``osascript`` as a fallback). A missing tool raises ``ClipboardError``
naming what to install. OSC 52 (copy through the terminal, also over ssh) is the front end's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")
TIMEOUT = 5.0
MAX_IMAGE_BYTES = 20 * 1024 * 1024


class ClipboardError(Exception):
    """The clipboard could not be used; the message says why and what to do."""


class NoImage(ClipboardError):
    """The clipboard holds no image (it may hold text: ``text``)."""

    def __init__(self, message: str, text: str | None = None) -> None:
        super().__init__(message)
        self.text = text


def _run(argv: list[str], env: dict[str, str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        if data is not None:
            # A copy tool may stay behind to serve the selection (xclip): never wait on its output.
            with tempfile.TemporaryFile() as errors:
                done = subprocess.run(
                    argv, input=data, stdout=subprocess.DEVNULL, stderr=errors, timeout=TIMEOUT,
                    check=False, env=env,
                )  # fmt: skip
                errors.seek(0)
                return subprocess.CompletedProcess(argv, done.returncode, b"", errors.read(4096))
        return subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        raise ClipboardError(f"{argv[0]} did not answer within {TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise ClipboardError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None


def _platform(env: dict[str, str]) -> str:
    if sys.platform == "darwin":
        return "macos"
    if env.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "x11"


def _missing(kind: str) -> ClipboardError:
    advice = {
        "wayland": "install wl-clipboard (wl-paste and wl-copy), e.g. `sudo apt install wl-clipboard`",
        "x11": "install xclip, e.g. `sudo apt install xclip` (on Wayland: wl-clipboard)",
        "macos": "install pngpaste (`brew install pngpaste`) to paste images",
    }[kind]
    return ClipboardError(f"no clipboard tool found: {advice}")


def read_image(env: dict[str, str] | None = None) -> bytes:
    """The image on the clipboard, as the file bytes the tool gives. Raises ``NoImage`` (with
    the clipboard's text, when there is some) or ``ClipboardError``."""
    env = dict(os.environ) if env is None else env
    kind = _platform(env)
    if kind == "x11" and not env.get("DISPLAY"):
        raise ClipboardError(
            "there is no graphical session to read the clipboard from (neither DISPLAY nor WAYLAND_DISPLAY "
            "is set, as over ssh); paste the image file's path instead"
        )

    def has(tool: str) -> bool:
        return shutil.which(tool, path=env.get("PATH")) is not None

    def run(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
        return _run(argv, env)

    def text(argv: list[str]) -> str | None:
        return _text(argv, env) if has(argv[0]) else None

    if kind == "wayland" and has("wl-paste"):
        listed = run(["wl-paste", "--list-types"])
        if listed.returncode != 0 and not listed.stdout:
            raise ClipboardError(f"wl-paste failed: {_stderr(listed)}")
        types = listed.stdout.decode("utf-8", "replace").split()
        chosen = next((t for t in IMAGE_TYPES if t in types), None)
        if chosen is None:
            raise NoImage("the clipboard holds no image", text(["wl-paste", "--no-newline"]))
        return _image(run(["wl-paste", "--no-newline", "--type", chosen]), "wl-paste")
    if kind in ("x11", "wayland") and has("xclip"):
        listed = run(["xclip", "-selection", "clipboard", "-t", "TARGETS", "-o"])
        if listed.returncode != 0 and not listed.stdout:
            raise ClipboardError(f"xclip failed: {_stderr(listed)}")
        types = listed.stdout.decode("utf-8", "replace").split()
        chosen = next((t for t in IMAGE_TYPES if t in types), None)
        if chosen is None:
            raise NoImage("the clipboard holds no image", text(["xclip", "-selection", "clipboard", "-o"]))
        return _image(run(["xclip", "-selection", "clipboard", "-t", chosen, "-o"]), "xclip")
    if kind == "macos":
        if has("pngpaste"):
            done = run(["pngpaste", "-"])
            if done.returncode != 0 or not done.stdout:
                raise NoImage("the clipboard holds no image", text(["pbpaste"]))
            return _image(done, "pngpaste")
        return _osascript_image(env)
    raise _missing(kind)


def _text(argv: list[str], env: dict[str, str]) -> str | None:
    try:
        done = _run(argv, env)
    except ClipboardError:
        return None
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 and done.stdout else None


def _stderr(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stderr.decode("utf-8", "replace").strip() or f"exit code {done.returncode}"


def _image(done: subprocess.CompletedProcess[bytes], tool: str) -> bytes:
    if done.returncode != 0 or not done.stdout:
        error = done.stderr.decode("utf-8", "replace").strip()
        raise ClipboardError(f"{tool} could not read the image: {error or f'exit code {done.returncode}'}")
    if len(done.stdout) > MAX_IMAGE_BYTES:
        raise ClipboardError(f"the clipboard image is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB; paste a smaller one")
    return done.stdout


def _osascript_image(env: dict[str, str]) -> bytes:
    if not shutil.which("osascript", path=env.get("PATH")):
        raise _missing("macos")
    with tempfile.TemporaryDirectory() as folder:
        target = os.path.join(folder, "clip.png")
        script = (
            f'set f to (open for access POSIX file "{target}" with write permission)\n'
            "try\n write (the clipboard as «class PNGf») to f\n close access f\n"
            "on error\n close access f\n error \"no image\"\nend try"
        )
        done = _run(["osascript", "-e", script], env)
        if done.returncode != 0:
            raise NoImage("the clipboard holds no image", _text(["pbpaste"], env))
        with open(target, "rb") as handle:
            return handle.read()


def copy_text(text: str, env: dict[str, str] | None = None) -> str:
    """Put ``text`` on the clipboard with the platform tool; returns the tool's name. Raises
    ``ClipboardError`` when none is there (OSC 52 may still have copied it)."""
    env = dict(os.environ) if env is None else env
    kind = _platform(env)
    data = text.encode("utf-8")
    for argv in (
        (["pbcopy"],) if kind == "macos"
        else (["wl-copy"], ["xclip", "-selection", "clipboard", "-i"]) if kind == "wayland"
        else (["xclip", "-selection", "clipboard", "-i"],)
    ):  # fmt: skip
        if shutil.which(argv[0], path=env.get("PATH")):
            done = _run(argv, env, data)
            if done.returncode != 0:
                raise ClipboardError(f"{argv[0]} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
            return argv[0]
    raise _missing(kind)
