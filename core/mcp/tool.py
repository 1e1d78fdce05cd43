"""``McpTool``: one tool of one MCP server, offered to the model as ``SERVER___TOOL``.

Each tool is a small class made at run time (tool names, schemas and effects differ per tool,
and ``Tool`` keeps them as class attributes). Arguments are checked against the server's input
schema before the call; the permission policy sees one ``Access(scope="mcp")`` per call, so
``Mcp(server)`` and ``Mcp(server___tool)`` rules apply; the call itself goes through the
manager, which owns the connection, the timeout and the result conversion.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from stoa.core.mcp.config import SEPARATOR, McpServerConfig
from stoa.core.providers.types import ToolSpec
from stoa.core.tools.base import Access, Effect, Tool, ToolContext, ToolError, ToolOutput

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
    input_schema: ClassVar[dict[str, Any]]  # what the model sees (see provider_schema)
    validation_schema: ClassVar[dict[str, Any]]  # the server's own, checked before each call
    schema_note: ClassVar[str] = ""  # what provider_schema took out, said in words
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
            if self.schema_note and any(not p.absolute_path and p.validator in ("anyOf", "oneOf") for p in problems):
                described += f". {self.schema_note}"
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

    def concurrency_safe(self, args: BaseModel, ctx: ToolContext) -> bool:
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
                server=self.server,
                safe_mode=self.safe_mode,
            )
        ]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        from stoa.core.events import ToolCallOutput

        arguments = args.arguments() if isinstance(args, McpArgs) else dict(args)

        def progress(text: str) -> None:
            # Shown like streamed shell output under the running tool.
            ctx.emit(ToolCallOutput(call_id=ctx.call_id, text=text))

        return await self._caller.call_tool(self.server, self.tool_name, arguments, on_progress=progress)

    def _get_validator(self) -> Validator:
        if self._validator is None:
            self._validator = compile_schema(self.validation_schema)
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
    return dict(schema)


def prefixed_name(server: str, tool: str) -> str:
    """``SERVER___TOOL``, as providers accept it; raises ``RejectedTool`` for names that cannot be offered.

    Providers take only ``[A-Za-z0-9_-]`` in tool names, at most 64 characters: accents are
    dropped (``ünïcode`` becomes ``unicode``), other characters become ``_``; a name that keeps
    nothing readable, or is too long, gets a short hash of the real name so that it stays
    unique. The call still goes to the tool under its real name.
    """
    if not tool:
        raise RejectedTool("it has an empty name")
    if SEPARATOR in tool:
        raise RejectedTool(f"its name contains {SEPARATOR!r}, which separates server and tool names")
    ascii_name = unicodedata.normalize("NFKD", tool).encode("ascii", "ignore").decode("ascii")
    safe = _INVALID_CHARS.sub("_", ascii_name)
    if not any(c.isalnum() for c in safe):
        safe = f"tool_{_short_hash(tool)}"
    name = f"{server}{SEPARATOR}{safe}"
    if len(name) > MAX_TOOL_NAME:
        room = MAX_TOOL_NAME - len(server) - len(SEPARATOR) - 9
        if room < 8:
            raise RejectedTool(
                f"{name!r} is longer than {MAX_TOOL_NAME} characters (providers refuse it); use a shorter server name"
            )
        name = f"{server}{SEPARATOR}{safe[:room]}_{_short_hash(tool)}"
    return name


def disambiguated(name: str, tool: str) -> str:
    """``name`` made distinct with a hash of the real tool name (two tools that read the same once
    made safe for providers, like ``a.b`` and ``a_b``)."""
    suffix = f"_{_short_hash(tool)}"
    return name[: MAX_TOOL_NAME - len(suffix)] + suffix


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def provider_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The schema sent to the model's provider, and a note for the description.

    Providers refuse ``oneOf``/``anyOf``/``allOf`` at the top level of a tool's input schema
    (Anthropic: "input_schema does not support oneOf, allOf, or anyOf at the top level"), and
    one such tool would fail every request of the session. Those keys are taken out of the
    schema the model sees; the properties of their branches are merged in (so the model still
    knows every argument), and which combinations are allowed is said in the description.
    Arguments are still checked against the server's full schema before each call.
    """
    combinators = [key for key in ("allOf", "anyOf", "oneOf") if key in schema]
    if not combinators:
        return schema, ""
    wire = {k: v for k, v in schema.items() if k not in combinators}
    properties = dict(wire.get("properties") or {})
    required = list(wire.get("required") or [])
    notes: list[str] = []
    for key in combinators:
        branches = [b for b in schema[key] if isinstance(b, dict)] if isinstance(schema[key], list) else []
        options: list[str] = []
        for branch in branches:
            for prop, sub in (branch.get("properties") or {}).items():
                properties.setdefault(prop, sub)
            needs = [r for r in branch.get("required") or [] if isinstance(r, str)]
            if key == "allOf":
                required.extend(r for r in needs if r not in required)
            elif needs:
                options.append(", ".join(needs))
        if options:
            word = "exactly one" if key == "oneOf" else "at least one"
            notes.append(f"Give {word} of these sets of arguments: " + " | ".join(f"({o})" for o in options) + ".")
    wire["properties"] = properties
    if required:
        wire["required"] = required
    return wire, " ".join(notes)


def make_tool(config: McpServerConfig, tool: Any, caller: ToolCaller, prefixed: str | None = None) -> McpTool:
    """Build the ``McpTool`` for one ``mcp_types.Tool``; raises ``RejectedTool`` with the reason."""
    name = prefixed_name(config.name, tool.name) if prefixed is None else prefixed
    schema = normalize_schema(tool.input_schema)
    validator = compile_schema(schema)
    wire_schema, schema_note = provider_schema(schema)
    provider_note = schema_note
    description = (tool.description or "").strip()
    title = getattr(tool, "title", None)
    if not description:
        description = title or f"The {tool.name} tool of the MCP server {config.name}."
    if _short_hash(tool.name) in name:
        schema_note = f"(Its name on the server is {tool.name!r}.) {schema_note}".strip()
    limit = 4000 - len(schema_note) - 1 if schema_note else 4000
    description = f"[MCP server {config.name}] {description}"[:limit]
    if schema_note:
        description = f"{description}\n{schema_note}"
    cls = type(
        f"McpTool_{name}",
        (McpTool,),
        {
            "name": name,
            "description": description,
            "effect": Effect.READ if config.read_only else Effect.MUTATE,
            "server": config.name,
            "tool_name": tool.name,
            "input_schema": wire_schema,
            "validation_schema": schema,
            "schema_note": provider_note,
            "offered_in_plan": config.offered_in_plan,
            "safe_mode": config.safe_mode,
        },
    )
    instance: McpTool = cls(caller)
    instance._validator = validator
    return instance
