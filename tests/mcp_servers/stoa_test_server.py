"""A real MCP server for Stoa's tests, written with the ``mcp`` SDK's low-level server API.

Run it over stdio (``python stoa_test_server.py``) or streamable HTTP
(``python stoa_test_server.py --http``; it prints ``PORT <n>`` on stdout once listening).
Flags make it misbehave the ways real servers do: ``--junk N`` prints N lines of junk on
stdout before speaking MCP, ``--never-initialize`` reads stdin and never answers,
``--slow-start S`` sleeps before serving (these three before loading the SDK, which takes
seconds on a loaded machine), ``--require-token T`` answers 401 over HTTP unless
``Authorization: Bearer T`` is sent, ``--bad-tools`` lists a tool with an invalid input schema
and one whose name contains the ``___`` separator.

Tools: echo, add (structured content), fail (isError), hang, progress (notifications), image, big_image, resource,
add_tool / remove_tool (change the tool list and notify), crash (the process exits mid-call),
pid, sessions (open HTTP sessions), huge_text, touch / wait_for_file (to prove calls to two servers run concurrently).
Prompts: review (path, focus?). Resources: stoa://notes/readme (text), stoa://img/dot.png (a PNG).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import sys
import time
from pathlib import Path
from typing import Any


def _start() -> argparse.Namespace:
    """What the server does before it loads the SDK (seconds on a loaded machine): refuse to
    start (--exit-code), print --junk, --slow-start, and be the server that never answers
    (--never-initialize, which needs no SDK). Returns the options."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="stoa-test")
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--junk", type=int, default=0)
    parser.add_argument("--never-initialize", action="store_true")
    parser.add_argument("--slow-start", type=float, default=0.0)
    parser.add_argument("--require-token")
    parser.add_argument("--instructions")
    parser.add_argument("--bad-tools", action="store_true")
    parser.add_argument("--exit-code", type=int, help="print to stderr and exit at once with this code")
    opts = parser.parse_args()
    if opts.exit_code is not None:
        print("stoa-test-server: refusing to start (asked to fail)", file=sys.stderr, flush=True)
        sys.exit(opts.exit_code)
    for i in range(opts.junk):
        print(f"junk line {i}: this is not JSON-RPC", flush=True)
    if opts.slow_start:
        time.sleep(opts.slow_start)
    if opts.never_initialize:
        for _ in sys.stdin:
            pass
        sys.exit(0)
    return opts


_OPTIONS = _start() if __name__ == "__main__" else None

import mcp_types as types  # noqa: E402
from mcp.server.context import ServerRequestContext  # noqa: E402
from mcp.server.lowlevel.server import NotificationOptions, Server  # noqa: E402


def _png(width: int, height: int, color: str) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _schema(properties: dict[str, Any] | None = None, required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties or {}}
    if required:
        schema["required"] = required
    return schema


STATIC_TOOLS: list[types.Tool] = [
    types.Tool(
        name="echo",
        description="Return the text unchanged.",
        input_schema=_schema({"text": {"type": "string"}}, ["text"]),
    ),
    types.Tool(
        name="add",
        description="Add two integers; the sum comes back as structured content.",
        input_schema=_schema({"a": {"type": "integer"}, "b": {"type": "integer"}}, ["a", "b"]),
        output_schema=_schema({"sum": {"type": "integer"}}, ["sum"]),
    ),
    types.Tool(
        name="fail",
        description="Always fails with the given message (an isError result).",
        input_schema=_schema({"message": {"type": "string"}}),
    ),
    types.Tool(
        name="hang",
        description="Sleep for a long time before answering.",
        input_schema=_schema({"seconds": {"type": "number"}}),
    ),
    types.Tool(
        name="image",
        description="Return a PNG of the given size and colour.",
        input_schema=_schema(
            {"width": {"type": "integer"}, "height": {"type": "integer"}, "color": {"type": "string"}}
        ),
    ),
    types.Tool(name="big_image", description="Return a 4000x3000 PNG.", input_schema=_schema()),
    types.Tool(
        name="resource",
        description="Return an embedded text resource, a binary resource and a resource link.",
        input_schema=_schema(),
    ),
    types.Tool(
        name="add_tool",
        description="Add a tool named NAME to this server's list and notify the client.",
        input_schema=_schema({"name": {"type": "string"}}, ["name"]),
    ),
    types.Tool(
        name="remove_tool",
        description="Remove a tool added with add_tool and notify the client.",
        input_schema=_schema({"name": {"type": "string"}}, ["name"]),
    ),
    types.Tool(name="crash", description="The server process exits mid-call.", input_schema=_schema()),
    types.Tool(
        name="progress",
        description="Report STEPS progress notifications, then answer.",
        input_schema=_schema({"steps": {"type": "integer"}}),
    ),
    types.Tool(name="pid", description="The server's process id.", input_schema=_schema()),
    types.Tool(
        name="sessions",
        description="How many streamable HTTP sessions are open (0 over stdio).",
        input_schema=_schema(),
    ),
    types.Tool(
        name="huge_text",
        description="Return N characters of text.",
        input_schema=_schema({"n": {"type": "integer"}}, ["n"]),
    ),
    types.Tool(
        name="touch",
        description="Create the file at PATH.",
        input_schema=_schema({"path": {"type": "string"}}, ["path"]),
    ),
    types.Tool(
        name="wait_for_file",
        description="Wait until the file at PATH exists (up to TIMEOUT seconds).",
        input_schema=_schema({"path": {"type": "string"}, "timeout": {"type": "number"}}, ["path"]),
    ),
]

BAD_TOOLS: list[types.Tool] = [
    types.Tool(
        name="bad_schema",
        description="A tool whose input schema is not valid JSON Schema.",
        input_schema={"type": "object", "properties": {"x": {"type": "not-a-type"}}},
    ),
    types.Tool(name="has___separator", description="A name with the separator.", input_schema=_schema()),
]


def build_server(name: str, *, instructions: str | None, bad_tools: bool) -> Server[Any]:
    dynamic: dict[str, types.Tool] = {}

    def listed() -> list[types.Tool]:
        return [*STATIC_TOOLS, *(BAD_TOOLS if bad_tools else []), *dynamic.values()]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed())

    def text(value: str) -> list[types.ContentBlock]:
        return [types.TextContent(text=value)]

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        args = params.arguments or {}
        tool = params.name
        if tool == "echo":
            return types.CallToolResult(content=text(str(args.get("text", ""))))
        if tool == "add":
            total = int(args["a"]) + int(args["b"])
            return types.CallToolResult(content=text(f'{{"sum": {total}}}'), structured_content={"sum": total})
        if tool == "fail":
            return types.CallToolResult(content=text(str(args.get("message", "it failed"))), is_error=True)
        if tool == "hang":
            await asyncio.sleep(float(args.get("seconds", 3600)))
            return types.CallToolResult(content=text("woke up"))
        if tool == "image":
            data = _png(int(args.get("width", 8)), int(args.get("height", 8)), str(args.get("color", "red")))
            return types.CallToolResult(
                content=[types.TextContent(text="an image"), types.ImageContent(data=data, mime_type="image/png")]
            )
        if tool == "big_image":
            return types.CallToolResult(
                content=[types.ImageContent(data=_png(4000, 3000, "blue"), mime_type="image/png")]
            )
        if tool == "resource":
            return types.CallToolResult(
                content=[
                    types.EmbeddedResource(
                        resource=types.TextResourceContents(
                            uri="file:///notes.txt", mime_type="text/plain", text="the notes"
                        )
                    ),
                    types.EmbeddedResource(
                        resource=types.BlobResourceContents(
                            uri="file:///data.bin",
                            mime_type="application/octet-stream",
                            blob=base64.b64encode(b"\x00\x01\x02").decode(),
                        )
                    ),
                    types.ResourceLink(name="readme", uri="file:///README.md"),
                ]
            )
        if tool == "add_tool":
            new = str(args["name"])
            dynamic[new] = types.Tool(
                name=new, description=f"Added at run time ({new}).", input_schema=_schema()
            )
            await ctx.session.send_tool_list_changed()
            return types.CallToolResult(content=text(f"added {new}"))
        if tool == "remove_tool":
            dynamic.pop(str(args["name"]), None)
            await ctx.session.send_tool_list_changed()
            return types.CallToolResult(content=text(f"removed {args['name']}"))
        if tool == "progress":
            steps = int(args.get("steps", 3))
            token = (ctx.meta or {}).get("progress_token")
            for step in range(1, steps + 1):
                if token is not None:
                    await ctx.session.send_progress_notification(
                        token, step, steps, f"step {step}", related_request_id=ctx.request_id
                    )
                await asyncio.sleep(0.01)
            return types.CallToolResult(content=text(f"did {steps} steps" + ("" if token is not None else " (no token)")))
        if tool == "crash":
            os._exit(3)
        if tool == "pid":
            return types.CallToolResult(content=text(str(os.getpid())))
        if tool == "sessions":
            manager = getattr(server, "_session_manager", None)
            count = len(getattr(manager, "_server_instances", {})) if manager is not None else 0
            return types.CallToolResult(content=text(str(count)))
        if tool == "huge_text":
            return types.CallToolResult(content=text("x" * int(args["n"])))
        if tool == "touch":
            Path(str(args["path"])).touch()  # noqa: ASYNC240
            return types.CallToolResult(content=text("touched"))
        if tool == "wait_for_file":
            deadline = time.monotonic() + float(args.get("timeout", 10))
            path = Path(str(args["path"]))
            while not path.exists():  # noqa: ASYNC240
                if time.monotonic() > deadline:
                    return types.CallToolResult(content=text("the file never appeared"), is_error=True)
                await asyncio.sleep(0.02)
            return types.CallToolResult(content=text("the file appeared"))
        if tool in dynamic:
            return types.CallToolResult(content=text(f"{tool} ran"))
        return types.CallToolResult(content=text(f"unknown tool {tool}"), is_error=True)

    async def list_prompts(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        arguments = [
            types.PromptArgument(name="path", description="the file", required=True),
            types.PromptArgument(name="focus", description="what to look at", required=False),
        ]
        return types.ListPromptsResult(
            prompts=[types.Prompt(name="review", description="Review a file", arguments=arguments)]
        )

    async def get_prompt(ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> types.GetPromptResult:
        args = params.arguments or {}
        if params.name != "review":
            raise ValueError(f"no prompt {params.name}")
        focus = args.get("focus") or "everything"
        message = types.PromptMessage(
            role="user", content=types.TextContent(text=f"Review {args.get('path')} with a focus on {focus}.")
        )
        return types.GetPromptResult(description="Review a file", messages=[message])

    async def list_resources(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(
            resources=[
                types.Resource(name="readme", uri="stoa://notes/readme", mimeType="text/plain"),
                types.Resource(name="dot", uri="stoa://img/dot.png", mimeType="image/png"),
            ]
        )

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if params.uri == "stoa://notes/readme":
            contents: list[Any] = [
                types.TextResourceContents(uri=params.uri, mimeType="text/plain", text="The notes say: ship it.")
            ]
        elif params.uri == "stoa://img/dot.png":
            contents = [types.BlobResourceContents(uri=params.uri, mimeType="image/png", blob=_png(3, 2, "green"))]
        else:
            raise ValueError(f"no resource {params.uri}")
        return types.ReadResourceResult(contents=contents)

    server: Server[Any] = Server(
        name,
        instructions=instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )
    return server


def _options(server: Server[Any]) -> Any:
    return server.create_initialization_options(NotificationOptions(tools_changed=True))


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, _options(server))


async def serve_http(server: Server[Any], token: str | None) -> None:
    import uvicorn
    from starlette.responses import JSONResponse
    from starlette.types import ASGIApp, Receive, Scope, Send

    app: ASGIApp = server.streamable_http_app()
    if token is not None:
        inner = app

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                headers = dict(scope.get("headers") or [])
                if headers.get(b"authorization") != f"Bearer {token}".encode():
                    await JSONResponse({"error": "unauthorized"}, status_code=401)(scope, receive, send)
                    return
            await inner(scope, receive, send)

        app = guarded
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    userver = uvicorn.Server(config)
    task = asyncio.create_task(userver.serve())
    while not userver.started:
        if task.done():
            task.result()
            return
        await asyncio.sleep(0.01)
    port = userver.servers[0].sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    await task


def main() -> None:
    opts = _OPTIONS if _OPTIONS is not None else _start()
    server = build_server(opts.name, instructions=opts.instructions, bad_tools=opts.bad_tools)
    if opts.http:
        asyncio.run(serve_http(server, opts.require_token))
    else:
        asyncio.run(serve_stdio(server))


if __name__ == "__main__":
    main()
