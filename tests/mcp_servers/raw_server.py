"""A hand-written MCP server over stdio (no SDK), for what SDK-built servers cannot send.

It answers ``initialize``, ``tools/list`` and ``tools/call`` with JSON written by hand, so it can
send what servers in other languages do send: a tool whose ``inputSchema`` is missing or not
an object schema among good tools, or a union with no top-level type (``--bad-tools``), bytes that are not UTF-8 in a result
(``tools/call`` of ``latin1``), a storm of ``tools/list_changed`` notifications (``storm``),
a response to a request id we never sent (``stray``), and a result line of N MiB (``big``), structured content that breaks the tool's own output
schema (``mismatch``) or is missing (``text_only``), and a tools/list that never ends
(``--loop-pages``). ``--slow-start S`` sleeps S seconds before reading anything: a server that
takes its time to start but costs no CPU meanwhile (the SDK-built test server imports the SDK
first, which costs seconds of CPU on a loaded machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

GOOD = [
    {"name": "echo", "description": "Echo the text.", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
    {"name": "latin1", "description": "A result with a byte that is not UTF-8.", "inputSchema": {"type": "object"}},
    {"name": "storm", "description": "Send N tools/list_changed notifications, then answer.", "inputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
    {"name": "stray", "description": "Send a response to an id never used, then answer.", "inputSchema": {"type": "object"}},
    {"name": "big", "description": "Answer with a text of MB mebibytes.", "inputSchema": {"type": "object", "properties": {"mb": {"type": "integer"}}}},
    {
        "name": "mismatch",
        "description": "Structured content that does not match its output schema.",
        "inputSchema": {"type": "object"},
        "outputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    },
    {
        "name": "text_only",
        "description": "Declares an output schema but answers with text only.",
        "inputSchema": {"type": "object"},
        "outputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    },
]
UNTYPED_UNION = {
    "name": "untyped_union",
    "description": "A union of two object schemas and no top-level type (as zod unions give).",
    "inputSchema": {
        "anyOf": [
            {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
            {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        ]
    },
}
BAD = [
    UNTYPED_UNION,
    {"name": "no_schema", "description": "No inputSchema at all."},
    {"name": "empty_schema", "description": "An empty inputSchema.", "inputSchema": {}},
    {"name": "string_schema", "description": "A string schema.", "inputSchema": {"type": "string"}},
]

out = sys.stdout.buffer


def send(message: dict[str, Any]) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def result(id_: Any, value: dict[str, Any]) -> None:
    send({"jsonrpc": "2.0", "id": id_, "result": value})


def text(value: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": value}]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bad-tools", action="store_true")
    parser.add_argument("--loop-pages", action="store_true", help="every tools/list page says there is another")
    parser.add_argument("--slow-start", type=float, default=0.0, help="sleep this long before serving")
    opts = parser.parse_args()
    if opts.slow_start:
        time.sleep(opts.slow_start)
    tools = GOOD + (BAD if opts.bad_tools else [])
    for line in sys.stdin.buffer:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        method, id_ = message.get("method"), message.get("id")
        params = message.get("params") or {}
        if method == "initialize":
            result(
                id_,
                {
                    "protocolVersion": params.get("protocolVersion", "2025-06-18"),
                    "capabilities": {"tools": {"listChanged": True}},
                    "serverInfo": {"name": "raw", "version": "0.1"},
                },
            )
        elif method == "tools/list":
            if opts.loop_pages:  # the same tools on every page, echo twice, and always a next page
                result(id_, {"tools": [*tools, tools[0]], "nextCursor": "again"})
            else:
                result(id_, {"tools": tools})
        elif method == "tools/call":
            name = params.get("name")
            args = params.get("arguments") or {}
            if name == "echo":
                result(id_, text(str(args.get("text", ""))))
            elif name == "latin1":
                # ensure_ascii=False: the é goes out as its UTF-8 bytes, then becomes latin-1's one byte.
                body = json.dumps({"jsonrpc": "2.0", "id": id_, "result": text("caf\u00e9")}, ensure_ascii=False).encode()
                out.write(body.replace("caf\u00e9".encode(), b"caf\xe9") + b"\n")
                out.flush()
            elif name == "storm":
                for _ in range(int(args.get("n", 500))):
                    send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
                result(id_, text("stormed"))
            elif name == "stray":
                send({"jsonrpc": "2.0", "id": 987654, "result": {}})
                result(id_, text("after the stray"))
            elif name == "untyped_union":
                result(id_, text(f"found {json.dumps(args, sort_keys=True)}"))
            elif name == "mismatch":
                result(id_, {"content": [{"type": "text", "text": "n is seven"}], "structuredContent": {"n": "seven"}})
            elif name == "text_only":
                result(id_, text("wrote the file"))
            elif name == "big":
                result(id_, text("b" * (int(args.get("mb", 1)) * 1024 * 1024)))
            else:
                send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32602, "message": f"unknown tool {name}"}})
        elif id_ is not None:
            if method == "ping":
                result(id_, {})
            else:
                send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": "Method not found"}})


if __name__ == "__main__":
    main()
