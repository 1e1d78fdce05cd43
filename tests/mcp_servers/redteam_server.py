"""An MCP server that does unusual but legal things (and a few rude ones), for the red-team tests.

Written with the ``mcp`` SDK's low-level server API. Run it over stdio (default) or streamable
HTTP (``--http``; prints ``PORT <n>`` once listening; ``--json-response`` answers with JSON
bodies instead of SSE streams; ``--stateless`` keeps no session id).

Tools with odd schemas and names (no properties, no schema keys at all, ``$ref``/``$defs``,
draft-07 ``definitions``, ``anyOf``/``oneOf``/enums/nullable types, a very long description,
names with dots, dashes, unicode, two names that clash once sanitised), ``--many N`` extra
tools, results of every content kind (structured content only, resource links, audio, blobs,
images inside resources), notifications (log messages, progress) and requests to the client
(sampling, elicitation, roots, ping, a method the client does not know) made during a call.

Rude start-up behaviours: ``--slow-start S``, ``--exit-after-initialize``, ``--stderr-mb N``
(writes N MiB on stderr before serving), ``--request-on-start METHOD`` (asks the client
something as soon as it is initialized), ``--ignore-sigterm`` and ``--child`` (leaves a
grandchild process running, to check process-tree clean-up).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import signal
import subprocess
import sys
import time
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server

LONG_DESCRIPTION = "This tool has a very long description. " * 1500  # ~60k characters


def _schema(properties: dict[str, Any] | None = None, required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties or {}}
    if required:
        schema["required"] = required
    return schema


def _png() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "purple").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


ODD_TOOLS: list[types.Tool] = [
    types.Tool(name="bare", description="Input schema with no properties key.", input_schema={"type": "object"}),
    types.Tool(
        name="refs",
        description="Input schema using $defs and $ref.",
        input_schema={
            "type": "object",
            "$defs": {
                "Point": {
                    "type": "object",
                    "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                    "required": ["x", "y"],
                }
            },
            "properties": {"point": {"$ref": "#/$defs/Point"}},
            "required": ["point"],
        },
    ),
    types.Tool(
        name="draft7_refs",
        description="Input schema in draft-07 with definitions.",
        input_schema={
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "definitions": {"Name": {"type": "string", "minLength": 1}},
            "properties": {"name": {"$ref": "#/definitions/Name"}},
            "required": ["name"],
            "additionalProperties": False,
        },
    ),
    types.Tool(
        name="union",
        description="anyOf, oneOf, enum and nullable types.",
        input_schema=_schema(
            {
                "value": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "shape": {
                    "oneOf": [
                        {"type": "object", "properties": {"r": {"type": "number"}}, "required": ["r"]},
                        {"type": "object", "properties": {"side": {"type": "number"}}, "required": ["side"]},
                    ]
                },
                "color": {"type": "string", "enum": ["red", "green", "blue"]},
                "note": {"type": ["string", "null"]},
            },
            ["value"],
        ),
    ),
    types.Tool(
        name="either_or",
        description="Top-level anyOf: give a, or b, or both.",
        input_schema={
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "anyOf": [{"required": ["a"]}, {"properties": {"b": {"type": "integer"}}, "required": ["b"]}],
        },
    ),
    types.Tool(
        name="exactly_one",
        description="Top-level oneOf (as zod unions produce): by id or by path.",
        input_schema={
            "type": "object",
            "oneOf": [
                {"properties": {"id": {"type": "integer"}}, "required": ["id"]},
                {"properties": {"path": {"type": "string"}}, "required": ["path"]},
            ],
        },
    ),
    types.Tool(
        name="all_of",
        description="Top-level allOf.",
        input_schema={
            "type": "object",
            "allOf": [
                {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                {"properties": {"y": {"type": "integer"}}},
            ]
        },
    ),
    types.Tool(name="long_description", description=LONG_DESCRIPTION, input_schema=_schema()),
    types.Tool(name="dotted.name", description="A name with a dot.", input_schema=_schema()),
    types.Tool(name="dash-name", description="A name with a dash.", input_schema=_schema()),
    types.Tool(name="ünïcode", description="A name with non-ASCII letters.", input_schema=_schema()),
    types.Tool(name="a.b", description="Clashes with a_b once sanitised.", input_schema=_schema()),
    types.Tool(name="a_b", description="Clashes with a.b once sanitised.", input_schema=_schema()),
    types.Tool(
        name="structured_only",
        description="Structured content and an output schema, no content blocks.",
        input_schema=_schema({"n": {"type": "integer"}}),
        output_schema=_schema({"n": {"type": "integer"}, "square": {"type": "integer"}}, ["n", "square"]),
    ),
    types.Tool(
        name="wrapped",
        description="Text plus the same value wrapped as structured content (like MCPServer does).",
        input_schema=_schema(),
        output_schema=_schema({"result": {"type": "string"}}, ["result"]),
    ),
    types.Tool(name="link", description="A resource link.", input_schema=_schema()),
    types.Tool(name="audio", description="An audio block.", input_schema=_schema()),
    types.Tool(name="blobs", description="Embedded blob resources: an image and a PDF.", input_schema=_schema()),
    types.Tool(name="empty_result", description="No content at all.", input_schema=_schema()),
    types.Tool(name="log", description="Send log notifications, then answer.", input_schema=_schema()),
    types.Tool(name="sample", description="Ask the client to sample (sampling/createMessage).", input_schema=_schema()),
    types.Tool(name="elicit", description="Ask the client to elicit input from the user.", input_schema=_schema()),
    types.Tool(name="roots", description="Ask the client for its roots.", input_schema=_schema()),
    types.Tool(name="ping_client", description="Ping the client.", input_schema=_schema()),
    types.Tool(
        name="custom_request",
        description="Send the client a request with a method it does not know.",
        input_schema=_schema(),
    ),
    types.Tool(
        name="stderr_flood",
        description="Write MB mebibytes on stderr, then answer.",
        input_schema=_schema({"mb": {"type": "integer"}}),
    ),
    types.Tool(name="close_stdout", description="Close stdout and keep running.", input_schema=_schema()),
    types.Tool(name="hang", description="Never answer.", input_schema=_schema()),
    types.Tool(name="pid", description="The server's process id.", input_schema=_schema()),
    types.Tool(name="echo", description="Echo the text.", input_schema=_schema({"text": {"type": "string"}})),
]


def _close_protocol_stdout() -> None:
    """Close every write end of a pipe this process holds (the SDK moves the protocol's stdout
    off fd 1, so closing fd 1 alone would not end the stream)."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            flags = int(open(f"/proc/self/fdinfo/{fd}").read().split("flags:")[1].split()[0], 8)
        except (OSError, IndexError, ValueError):
            continue
        if target.startswith("pipe:") and flags & os.O_WRONLY:
            os.close(int(fd))


def build(opts: argparse.Namespace) -> Server[Any]:
    tools = list(ODD_TOOLS)
    for i in range(opts.many):
        tools.append(
            types.Tool(
                name=f"tool_{i:03d}",
                description=f"Generated tool number {i}.",
                input_schema=_schema({"x": {"type": "integer"}}),
            )
        )
    child: list[subprocess.Popen[bytes]] = []
    if opts.child:
        child.append(subprocess.Popen(["sleep", "600"]))

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    def text(value: str) -> list[types.ContentBlock]:
        return [types.TextContent(text=value)]

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        args = params.arguments or {}
        tool = params.name
        if tool == "structured_only":
            n = int(args.get("n", 3))
            return types.CallToolResult(content=[], structured_content={"n": n, "square": n * n})
        if tool == "wrapped":
            return types.CallToolResult(content=text("plain value"), structured_content={"result": "plain value"})
        if tool == "link":
            return types.CallToolResult(
                content=[
                    types.ResourceLink(
                        name="report",
                        uri="file:///tmp/report.pdf",
                        mime_type="application/pdf",
                        description="the monthly report",
                    )
                ]
            )
        if tool == "audio":
            data = base64.b64encode(b"RIFF" + b"\x00" * 100).decode()
            return types.CallToolResult(
                content=[types.TextContent(text="a sound"), types.AudioContent(data=data, mime_type="audio/wav")]
            )
        if tool == "blobs":
            return types.CallToolResult(
                content=[
                    types.EmbeddedResource(
                        resource=types.BlobResourceContents(uri="mem://pic.png", mime_type="image/png", blob=_png())
                    ),
                    types.EmbeddedResource(
                        resource=types.BlobResourceContents(
                            uri="mem://doc.pdf",
                            mime_type="application/pdf",
                            blob=base64.b64encode(b"%PDF-1.4 " + b"x" * 2000).decode(),
                        )
                    ),
                ]
            )
        if tool == "empty_result":
            return types.CallToolResult(content=[])
        if tool == "log":
            for level in ("debug", "info", "warning", "error"):
                await ctx.session.send_log_message(level, f"{level} message", logger="redteam")
            return types.CallToolResult(content=text("logged"))
        if tool == "sample":
            try:
                result = await ctx.session.create_message(
                    [types.SamplingMessage(role="user", content=types.TextContent(text="hi"))],
                    max_tokens=10,
                    related_request_id=ctx.request_id,
                )
                return types.CallToolResult(content=text(f"sampled: {result}"))
            except Exception as exc:
                return types.CallToolResult(content=text(f"sampling refused: {exc}"))
        if tool == "elicit":
            try:
                answer = await ctx.session.elicit_form(
                    "Your name?",
                    {"type": "object", "properties": {"name": {"type": "string"}}},
                    related_request_id=ctx.request_id,
                )
                return types.CallToolResult(content=text(f"elicited: {answer.action}"))
            except Exception as exc:
                return types.CallToolResult(content=text(f"elicitation refused: {exc}"))
        if tool == "roots":
            try:
                roots = await ctx.session.list_roots()
                return types.CallToolResult(content=text(f"roots: {roots}"))
            except Exception as exc:
                return types.CallToolResult(content=text(f"roots refused: {exc}"))
        if tool == "ping_client":
            await ctx.session.send_ping()
            return types.CallToolResult(content=text("pong received"))
        if tool == "custom_request":
            try:
                await ctx.session._request_outbound.send_raw_request("stoa/unknown-method", {})
                return types.CallToolResult(content=text("custom request answered"))
            except Exception as exc:
                return types.CallToolResult(content=text(f"custom request refused: {exc}"))
        if tool == "stderr_flood":
            chunk = "e" * 1023 + "\n"
            for _ in range(int(args.get("mb", 5)) * 1024):
                sys.stderr.write(chunk)
            sys.stderr.flush()
            return types.CallToolResult(content=text("flooded"))
        if tool == "close_stdout":
            _close_protocol_stdout()
            await asyncio.sleep(3600)
            return types.CallToolResult(content=text("unreachable"))
        if tool == "hang":
            await asyncio.sleep(3600)
            return types.CallToolResult(content=text("unreachable"))
        if tool == "pid":
            pids = [os.getpid(), *(c.pid for c in child)]
            return types.CallToolResult(content=text(" ".join(str(p) for p in pids)))
        if tool == "echo":
            return types.CallToolResult(content=text(str(args.get("text", ""))))
        if tool == "refs":
            point = args["point"]
            return types.CallToolResult(content=text(f"point {point['x']},{point['y']}"))
        return types.CallToolResult(content=text(f"{tool} ran with {sorted(args)}"))

    async def on_initialized(ctx: ServerRequestContext[Any], params: Any) -> None:
        if opts.exit_after_initialize:
            os._exit(0)
        if opts.request_on_start:
            method = opts.request_on_start

            async def ask() -> None:
                try:
                    if method == "roots/list":
                        await ctx.session.list_roots()
                    else:
                        await ctx.session._connection.outbound.send_raw_request(method, {})
                except Exception as exc:
                    print(f"request {method} refused: {exc}", file=sys.stderr, flush=True)

            asyncio.get_running_loop().create_task(ask())

    server: Server[Any] = Server(
        "redteam",
        version="1.0",
        instructions=opts.instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    server.add_notification_handler("notifications/initialized", types.NotificationParams, on_initialized)
    return server


async def serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options(NotificationOptions()))


async def serve_http(server: Server[Any], opts: argparse.Namespace) -> None:
    import uvicorn
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.types import Message, Receive, Scope, Send

    inner = server.streamable_http_app(json_response=opts.json_response, stateless_http=opts.stateless)
    calls = {"n": 0}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if opts.no_get and scope["type"] == "http" and scope.get("method") == "GET":
            await PlainTextResponse("Method Not Allowed", status_code=405)(scope, receive, send)
            return
        if scope["type"] != "http" or scope.get("method") != "POST" or not opts.http_500_on:
            await inner(scope, receive, send)
            return
        # Read the body to see which tool is called; answer 500 for the chosen one.
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if f'"name":"{opts.http_500_on}"'.encode() in body.replace(b" ", b""):
            calls["n"] += 1
            if opts.http_500_json:
                await JSONResponse({"error": "boom"}, status_code=500)(scope, receive, send)
            else:
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await inner(scope, replay, send)

    config = uvicorn.Config(app, host="127.0.0.1", port=opts.port, log_level="warning", lifespan="on")
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--json-response", action="store_true")
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--http-500-on", default="", help="answer HTTP 500 to calls of this tool")
    parser.add_argument("--http-500-json", action="store_true", help="the 500 has a JSON (non-JSON-RPC) body")
    parser.add_argument("--no-get", action="store_true", help="answer 405 to GET (no standalone SSE stream)")
    parser.add_argument("--many", type=int, default=0)
    parser.add_argument("--slow-start", type=float, default=0.0)
    parser.add_argument("--exit-after-initialize", action="store_true")
    parser.add_argument("--stderr-mb", type=int, default=0)
    parser.add_argument("--request-on-start", default="")
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--instructions")
    opts = parser.parse_args()
    if opts.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if opts.stderr_mb:
        chunk = "s" * 1023 + "\n"
        for _ in range(opts.stderr_mb * 1024):
            sys.stderr.write(chunk)
        sys.stderr.flush()
    if opts.slow_start:
        time.sleep(opts.slow_start)
    server = build(opts)
    if opts.http:
        asyncio.run(serve_http(server, opts))
    else:
        asyncio.run(serve_stdio(server))


if __name__ == "__main__":
    main()
