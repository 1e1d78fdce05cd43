"""``--output-format json`` and ``stream-json`` answer every failure in their format too.

A script reading stdout always gets the object (json) or a last ``result`` line (stream-json),
also when the run stopped before any turn: a usage error, a bad config, a missing key. What
the run wrote to stderr is still written there; its first error line becomes ``error``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO, cast


class _Tap:
    """A text stream that passes everything on and remembers what went through."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.text = ""
        self.last_line = ""

    def write(self, text: str) -> int:
        self.text = (self.text + text)[-20_000:]
        lines = [line for line in self.text.splitlines() if line.strip()]
        self.last_line = lines[-1] if lines else ""
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def json_on_failure(run: Callable[[], int], output_format: str) -> int:
    out, err = _Tap(sys.stdout), _Tap(sys.stderr)
    sys.stdout, sys.stderr = cast(TextIO, out), cast(TextIO, err)
    try:
        try:
            code = run()
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    finally:
        sys.stdout, sys.stderr = out._stream, err._stream
    if code == 0 or _answered(out, output_format):
        return code
    errors = [line for line in err.text.splitlines() if line.strip() and not line.startswith("usage:")]
    message = next((line for line in errors if "error" in line), errors[0] if errors else "the run failed")
    for prefix in ("stoa: error: ", "stoa: "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
            break
    result: dict[str, Any] = {"success": False, "error": message, "exit_code": code, "session_id": None}
    if output_format == "stream-json":
        result = {"type": "result", "subtype": "error", "is_error": True, "result": "", **result}
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return code


def _answered(out: _Tap, output_format: str) -> bool:
    """Whether the run already printed its outcome (the object; the result line)."""
    if output_format == "json":
        return bool(out.text.strip())
    try:
        last = json.loads(out.last_line)
    except ValueError:
        return False
    return isinstance(last, dict) and last.get("type") == "result"
