"""Taking what MCP servers send leniently where the SDK is strict.

A tool described wrongly is skipped alone (the SDK rejects the whole ``tools/list``), a
paginator that never ends is cut off, and a result that breaks its own output schema is kept
with a note (the SDK raises, turning a call that ran into a failure the model may repeat).
"""

from __future__ import annotations

import contextlib
from typing import Any

from stoa.core.mcp.problems import first_error


async def list_all_tools(client: Any) -> list[Any]:
    listed: list[Any] = []
    cursor: str | None = None
    cursors: set[str] = set()
    for _ in range(100):  # a paginator that never ends cannot hang us
        page = await client.list_tools(cursor=cursor)
        listed.extend(page.tools)
        cursor = page.next_cursor
        if not cursor or cursor in cursors:
            break
        cursors.add(cursor)
    return listed


async def list_tools_leniently(client: Any) -> tuple[list[Any], list[str]]:
    """``tools/list`` without the SDK's all-or-nothing check: each tool is checked on its own.

    Returns the valid tools and "name: reason" for the others. Raises (like the strict
    listing) when the answer cannot be read at all.
    """
    from mcp_types import Tool
    from pydantic import ValidationError

    session = client.session
    send = session._dispatcher.send_raw_request  # the raw answer, before the SDK validates it
    tools: list[Any] = []
    skipped: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        raw = await send("tools/list", {"cursor": cursor} if cursor else None, {"timeout": 60.0})
        entries = raw.get("tools") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            raise ValueError("the tools/list answer has no list of tools")
        for entry in entries:
            name = entry.get("name") if isinstance(entry, dict) else None
            try:
                tools.append(Tool.model_validate(entry, by_name=False))
            except ValidationError as exc:
                skipped.append(f"{name or '(no name)'}: the server describes it wrongly ({first_error(exc)})")
        next_cursor = raw.get("nextCursor")
        if not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
            break
        cursor = next_cursor
    # The SDK keeps each tool's output schema from the listing to check results against.
    with contextlib.suppress(Exception):
        from mcp_types import ListToolsResult

        session._absorb_tool_listing(ListToolsResult(tools=tools), complete=True)
    return tools, skipped


def lenient_output_validation(client: Any, problems: dict[int, str]) -> None:
    """Keep results whose structured content breaks the tool's own output schema.

    The SDK raises for them, which would turn a call that ran (and maybe changed things) into
    a failure without its output, and the model might run it again. The result is kept, with
    a note saying what was wrong: ``problems`` maps ``id(result)`` to it.
    """
    session = getattr(client, "session", None)
    strict = getattr(session, "validate_tool_result", None)
    if session is None or strict is None:
        return

    async def validate(name: str, result: Any) -> None:
        try:
            await strict(name, result)
        except RuntimeError as exc:
            problems[id(result)] = str(exc).split("\n", 1)[0][:300]

    session.validate_tool_result = validate
