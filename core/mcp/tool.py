"""``McpTool``: one tool of one MCP server, offered to the model as ``SERVER___TOOL``.

Each tool is a small class made at run time (tool names, schemas and effects differ per tool,
and ``Tool`` keeps them as class attributes). Arguments are checked against the server's input
schema before the call; the permission policy sees one ``Access(scope="mcp")`` per call, so
``Mcp(server)`` and ``Mcp(server___tool)`` rules apply; the call itself goes through the
manager, which owns the connection, the timeout and the result conversion.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from core.mcp.config import SEPARATOR, McpServerConfig
from core.providers.types import ToolSpec
from core.tools.base import Access, Effect, Tool, ToolContext, ToolError, ToolOutput

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

# OpenAI allows 64 characters in a tool name (Anthropic 128): keep to the smaller.
MAX_TOOL_NAME = 64
_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


class McpArgs(BaseModel):
    """Whatever the server's schema describes; checked with jsonschema, kept as given."""

    model_config = ConfigDict(extra="allow")

    def arguments(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ToolCaller(Protocol):
    async def call_tool(
        self,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        on_progress: Callable[[str], None] | None = None,
    ) -> ToolOutput: ...


class RejectedTool(ValueError):
    """A server tool that cannot be offered; the message says why."""


class McpTool(Tool):
    """Base of the per-tool classes ``make_tool`` builds."""

    Args: ClassVar[type[BaseModel]] = McpArgs
    server: ClassVar[str]
    tool_name: ClassVar[str]  # the name on the server
    input_schema: ClassVar[dict[str, Any]]
    offered_in_plan: ClassVar[bool]
    safe_mode: ClassVar[str]

    def __init__(self, caller: ToolCaller) -> None:
        self._caller = caller
        self._validator: Validator | None = None

    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, input_schema=self.input_schema)

    def parse_args(self, raw: dict[str, Any]) -> BaseModel:
        from jsonschema import ValidationError as SchemaValidationError

        validator = self._get_validator()
        try:
            problems = sorted(validator.iter_errors(raw), key=lambda e: list(e.path))
        except Exception:
            # A schema jsonschema cannot evaluate (e.g. an unresolvable $ref): let the server judge.
            problems = []
        if problems:
            described = "; ".join(_describe(p) for p in problems[:5] if isinstance(p, SchemaValidationError))
            raise ToolError(f"invalid arguments for {self.name}: {described}")
        return McpArgs.model_validate(raw)

    def summary(self, args: BaseModel) -> str:
        values = args.arguments() if isinstance(args, McpArgs) else {}
        for key in ("path", "file", "url", "query", "command", "name", "pattern"):
            value = values.get(key)
            if isinstance(value, str) and value:
                return value[:200]
        for value in values.values():
            if isinstance(value, str) and value:
                return value[:200]
        return ""

    def concurrency_safe(self, args: BaseModel) -> bool:
        """Yes: the manager runs a server's mutating calls one at a time, in order, while calls
        to different servers overlap (a slow server never holds up another)."""
        return True

    def accesses(self, args: BaseModel, ctx: ToolContext) -> list[Access]:
        return [
            Access(
                scope="mcp",
                target=self.name,
                effect=self.effect,
                reason=f"calls the tool {self.tool_name!r} of the MCP server {self.server!r}",
                facts={
                    "server": self.server,
                    "tool": self.tool_name,
                    "safe_mode": self.safe_mode,
                    "read_only": self.safe_mode == "read_only",
                },
            )
        ]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        from core.events import ToolCallOutput

        arguments = args.arguments() if isinstance(args, McpArgs) else dict(args)

        def progress(text: str) -> None:
            # Shown like streamed shell output under the running tool.
            ctx.emit(ToolCallOutput(call_id=ctx.call_id, text=text))

        return await self._caller.call_tool(self.server, self.tool_name, arguments, on_progress=progress)

    def _get_validator(self) -> Validator:
        if self._validator is None:
            self._validator = compile_schema(self.input_schema)
        return self._validator


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "arguments"
    return f"{where}: {error.message}"


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A validator for ``schema``; raises ``RejectedTool`` if it is not valid JSON Schema."""
    from jsonschema import SchemaError
    from jsonschema.validators import Draft202012Validator, validator_for
    from referencing import Registry

    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "root"
        raise RejectedTool(f"its input schema is not valid JSON Schema (at {where}: {exc.message})") from None
    return cls(schema, registry=Registry())


def normalize_schema(schema: Any) -> dict[str, Any]:
    """The input schema as providers need it: an object schema with ``properties``."""
    if not isinstance(schema, dict):
        raise RejectedTool("its input schema is not a JSON object")
    schema = dict(schema)
    kind = schema.get("type", "object")
    if kind != "object":
        raise RejectedTool(f'its input schema has type {kind!r}; tools take an object (type "object")')
    schema["type"] = "object"
    if not isinstance(schema.get("properties", {}), dict):
        raise RejectedTool("its input schema's properties is not an object")
    schema.setdefault("properties", {})
    return schema


def prefixed_name(server: str, tool: str) -> str:
    """``SERVER___TOOL``; raises ``RejectedTool`` for names that cannot be offered."""
    if not tool:
        raise RejectedTool("it has an empty name")
    if SEPARATOR in tool:
        raise RejectedTool(f"its name contains {SEPARATOR!r}, which separates server and tool names")
    name = f"{server}{SEPARATOR}{_INVALID_CHARS.sub('_', tool)}"
    if len(name) > MAX_TOOL_NAME:
        raise RejectedTool(
            f"{name!r} is longer than {MAX_TOOL_NAME} characters (providers refuse it); use a shorter server name"
        )
    return name


def make_tool(config: McpServerConfig, tool: Any, caller: ToolCaller) -> McpTool:
    """Build the ``McpTool`` for one ``mcp_types.Tool``; raises ``RejectedTool`` with the reason."""
    name = prefixed_name(config.name, tool.name)
    schema = normalize_schema(tool.input_schema)
    validator = compile_schema(schema)
    description = (tool.description or "").strip()
    title = getattr(tool, "title", None)
    if not description:
        description = title or f"The {tool.name} tool of the MCP server {config.name}."
    description = f"[MCP server {config.name}] {description}"[:4000]
    cls = type(
        f"McpTool_{name}",
        (McpTool,),
        {
            "name": name,
            "description": description,
            "effect": Effect.READ if config.read_only else Effect.MUTATE,
            "server": config.name,
            "tool_name": tool.name,
            "input_schema": schema,
            "offered_in_plan": config.offered_in_plan,
            "safe_mode": config.safe_mode,
        },
    )
    instance: McpTool = cls(caller)
    instance._validator = validator
    return instance
