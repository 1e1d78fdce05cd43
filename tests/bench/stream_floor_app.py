"""The floor of the streaming benchmark: a minimal Textual app streaming a reply into Markdown.

What Textual itself costs for the same stream, measured in the same run as Stoa: one
``VerticalScroll`` (anchored) holding Textual's own ``Markdown`` widget, fed through
``Markdown.get_stream`` from the same fake server over the same wire (Anthropic Messages SSE,
read with httpx, ``data:`` lines parsed with ``json``), and an ``Input`` at the bottom to type
the prompt. No agent, no tools, no status bar. Run through ``tests/bench/tui_launcher.py
--floor BASE_URL`` so that its frames are recorded like Stoa's.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Markdown


class FloorApp(App[None]):
    AUTO_FOCUS = "Input"
    CSS = """
    VerticalScroll { height: 1fr; }
    Input { dock: bottom; }
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown()
        yield Input(placeholder="Message the floor app")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).anchor()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.run_worker(self.stream(event.value), exit_on_error=False)

    async def stream(self, prompt: str) -> None:
        import httpx

        markdown = self.query_one(Markdown)
        stream = Markdown.get_stream(markdown)
        try:
            async with httpx.AsyncClient(timeout=None) as client:
                body = await _body(client, self.base_url, prompt)
                async with client.stream("POST", f"{self.base_url}/v1/messages", json=body, headers=HEADERS) as response:
                    async for line in response.aiter_lines():
                        if not line.startswith("data:"):
                            continue
                        data = json.loads(line[5:])
                        delta = data.get("delta") or {}
                        if data.get("type") == "content_block_delta" and delta.get("type") == "text_delta":
                            await stream.write(delta["text"])
        finally:
            await stream.stop()


HEADERS = {"x-api-key": "bench-key", "anthropic-version": "2023-06-01"}


async def _body(client: Any, base_url: str, prompt: str) -> dict[str, Any]:
    """A Messages request for a Sonnet the server lists (as Stoa's default model would be)."""
    listed = (await client.get(f"{base_url}/v1/models", headers=HEADERS)).json()["data"]
    ids = [m["id"] for m in listed]
    model = next((i for i in ids if "sonnet" in i), ids[0])
    return {"model": model, "max_tokens": 16_000, "stream": True, "messages": [{"role": "user", "content": prompt}]}


async def read_only(base_url: str) -> float:
    """Read the stream with httpx and nothing else; the perf_counter time of its last byte."""
    import time

    import httpx

    base_url = base_url.rstrip("/")
    last = 0.0
    async with httpx.AsyncClient(timeout=None) as client:
        body = await _body(client, base_url, "go")
        async with client.stream("POST", f"{base_url}/v1/messages", json=body, headers=HEADERS) as response:
            async for _ in response.aiter_raw():
                last = time.perf_counter()
    return last


def main(argv: list[str]) -> int:
    if argv[:1] == ["--read-only"]:
        import asyncio

        # The bench starts this process early (imports done), then lets it go with a line on stdin.
        print("ready", flush=True)
        sys.stdin.readline()
        print(asyncio.run(read_only(argv[1])), flush=True)
        return 0
    FloorApp(argv[0]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
