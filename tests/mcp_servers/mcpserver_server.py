"""A server written with the SDK's high-level ``MCPServer`` (FastMCP in mcp 1.x), the way most
Python MCP servers are written: schemas generated from type hints (pydantic models become
``$defs``/``$ref``, ``Literal`` becomes an enum, ``X | None`` an ``anyOf``), return values wrapped
as structured content (``{"result": ...}``), images and audio, and a context for progress,
logging and elicitation.

``python mcpserver_server.py`` serves stdio; ``--http`` serves streamable HTTP and prints
``PORT <n>`` (``--json-response``, ``--stateless`` as in the SDK).
"""

from __future__ import annotations

import argparse
import asyncio
import io
from typing import Literal

from mcp.server.mcpserver import Audio, Context, Image, MCPServer
from pydantic import BaseModel, Field

server = MCPServer("mcpserver-test", instructions="A server built with MCPServer.")


class Address(BaseModel):
    street: str
    city: str
    zip_code: str | None = None


class Order(BaseModel):
    item: str = Field(description="What to order")
    quantity: int = Field(ge=1, le=10)
    ship_to: Address
    speed: Literal["slow", "fast"] = "slow"


@server.tool()
def place_order(order: Order, note: str | None = None) -> dict[str, object]:
    """Place an order (nested models: $defs and $ref in the schema)."""
    return {"ordered": order.item, "quantity": order.quantity, "city": order.ship_to.city, "note": note}


@server.tool()
def greet(name: str) -> str:
    """Greet someone (a str result: wrapped as {"result": ...} structured content)."""
    return f"Hello, {name}!"


@server.tool()
def numbers(count: int = 3) -> list[int]:
    """A list result."""
    return list(range(count))


@server.tool(name="weird.name-ü")
def weird() -> str:
    """A tool whose name has a dot, a dash and a non-ASCII letter."""
    return "weird ran"


@server.tool()
def picture() -> Image:
    """A PNG image."""
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (6, 3), "orange").save(buffer, format="PNG")
    return Image(data=buffer.getvalue(), format="png")


@server.tool()
def sound() -> Audio:
    """A WAV sound."""
    return Audio(data=b"RIFF" + b"\x00" * 40, format="wav")


@server.tool()
async def slow_steps(steps: int, ctx: Context) -> str:
    """Report progress and log while working."""
    for i in range(steps):
        await ctx.report_progress(i + 1, steps, f"step {i + 1}")
        await ctx.log("info", f"did step {i + 1}")
        await asyncio.sleep(0.01)
    return f"{steps} steps done"


class Confirm(BaseModel):
    ok: bool


@server.tool()
async def confirm(ctx: Context) -> str:
    """Ask the user to confirm (elicitation)."""
    try:
        answer = await ctx.elicit("Really?", Confirm)
    except Exception as exc:
        return f"could not ask: {exc}"
    return f"answer: {answer.action}"


@server.tool()
def explode() -> str:
    """Raise an exception (the SDK turns it into an isError result)."""
    raise ValueError("the widget exploded")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--json-response", action="store_true")
    parser.add_argument("--stateless", action="store_true")
    opts = parser.parse_args()
    if not opts.http:
        server.run()
        return
    import uvicorn

    app = server.streamable_http_app(json_response=opts.json_response, stateless_http=opts.stateless)

    async def serve() -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        userver = uvicorn.Server(config)
        task = asyncio.create_task(userver.serve())
        while not userver.started:
            if task.done():
                task.result()
                return
            await asyncio.sleep(0.01)
        print(f"PORT {userver.servers[0].sockets[0].getsockname()[1]}", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
