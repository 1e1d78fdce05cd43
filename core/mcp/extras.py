"""MCP prompts and resources: what a server offers the person, besides tools for the model.

A connected server's prompts become slash commands ``/server:prompt`` (their arguments in order:
``/server:prompt A B``, or ``name=value`` words), its resources ``@server:uri`` mentions. Both are
listed once when the server connects (``ServerState.prompts``, ``.resources``; a failure to list
leaves them empty, with a warning), and fetched when used: ``get_prompt`` returns the text to
send, ``read_resource`` the blocks to attach (text, or images through view_image's caps).
"""

from __future__ import annotations

import asyncio
import base64
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stoa.core.providers.types import ContentBlock, ImageBlock, TextBlock
from stoa.core.tools import caps

if TYPE_CHECKING:
    from stoa.core.mcp.manager import McpManager

LIST_TIMEOUT = 10.0
FETCH_TIMEOUT = 30.0
MAX_LISTED = 500


@dataclass(frozen=True)
class PromptInfo:
    server: str
    name: str
    description: str = ""
    arguments: tuple[tuple[str, bool], ...] = ()  # (name, required)

    @property
    def command(self) -> str:
        return f"{self.server}:{self.name}"

    @property
    def usage(self) -> str:
        return " ".join(f"<{n}>" if required else f"[{n}]" for n, required in self.arguments)


@dataclass(frozen=True)
class ResourceInfo:
    server: str
    uri: str
    name: str = ""
    description: str = ""
    mime_type: str | None = None

    @property
    def mention(self) -> str:
        return f"{self.server}:{self.uri}"


@dataclass
class Extras:
    prompts: list[PromptInfo] = field(default_factory=list)
    resources: list[ResourceInfo] = field(default_factory=list)


async def list_extras(server: str, client: Any, warn: Any) -> Extras:
    """The prompts and resources ``client``'s server says it has (never raises)."""
    found = Extras()
    capabilities = client.server_capabilities
    if capabilities is None:
        return found
    if capabilities.prompts is not None:
        try:
            async with asyncio.timeout(LIST_TIMEOUT):
                listed = await client.list_prompts()
            for prompt in listed.prompts[:MAX_LISTED]:
                arguments = tuple((a.name, bool(a.required)) for a in (prompt.arguments or []))
                found.prompts.append(PromptInfo(server, prompt.name, prompt.description or "", arguments))
        except Exception as exc:
            warn(f"MCP server {server}: could not list its prompts ({exc})")
    if capabilities.resources is not None:
        try:
            async with asyncio.timeout(LIST_TIMEOUT):
                listed_resources = await client.list_resources()
            for resource in listed_resources.resources[:MAX_LISTED]:
                mime = getattr(resource, "mime_type", None)
                info = ResourceInfo(server, str(resource.uri), resource.name or "", resource.description or "", mime)
                found.resources.append(info)
        except Exception as exc:
            warn(f"MCP server {server}: could not list its resources ({exc})")
    return found


class ExtrasError(Exception):
    """A prompt or resource that could not be had; the message says why."""


def _client(manager: McpManager, server: str) -> Any:
    from stoa.core.mcp.manager import ServerStatus

    state = manager.states.get(server)
    runner = manager._runners.get(server)
    if state is None or runner is None:
        raise ExtrasError(f"there is no MCP server {server!r} (see /mcp)")
    if state.status is not ServerStatus.CONNECTED or runner.client is None:
        raise ExtrasError(f"the MCP server {server!r} is not connected ({state.status_text}); try /mcp reconnect {server}")
    return runner.client


def prompt_arguments(prompt: PromptInfo, text: str) -> dict[str, str]:
    """``/server:prompt A B`` or ``name=value`` words as the prompt's arguments. Raises
    ``ExtrasError`` for a missing required one, or more words than arguments."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    names = [n for n, _ in prompt.arguments]
    values: dict[str, str] = {}
    positional = [w for w in words if "=" not in w or w.split("=", 1)[0] not in names]
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key in names:
            values[key] = value
    free = [n for n in names if n not in values]
    if len(positional) > len(free):
        if not free and len(names) == 0:
            raise ExtrasError(f"/{prompt.command} takes no arguments")
        if free:
            values[free[-1]] = " ".join(positional[len(free) - 1 :])
            positional = positional[: len(free) - 1]
            free = free[:-1]
        else:
            raise ExtrasError(f"too many arguments for /{prompt.command} {prompt.usage}")
    values.update(zip(free, positional, strict=False))
    missing = [n for n, required in prompt.arguments if required and n not in values]
    if missing:
        raise ExtrasError(f"/{prompt.command} needs {', '.join(missing)}: /{prompt.command} {prompt.usage}")
    return values


async def get_prompt(manager: McpManager, prompt: PromptInfo, arguments: dict[str, str]) -> str:
    """The prompt's messages as the text to send (their text parts, in order)."""
    client = _client(manager, prompt.server)
    try:
        async with asyncio.timeout(FETCH_TIMEOUT):
            result = await client.get_prompt(prompt.name, arguments)
    except TimeoutError:
        raise ExtrasError(f"the MCP server {prompt.server!r} did not give the prompt within {FETCH_TIMEOUT:.0f} s") from None
    except Exception as exc:
        raise ExtrasError(f"the MCP server {prompt.server!r} refused /{prompt.command}: {exc}") from None
    parts: list[str] = []
    for message in getattr(result, "messages", []) or []:
        content = message.content
        text = getattr(content, "text", None)
        if text is None:
            inner = getattr(content, "resource", None)
            text = getattr(inner, "text", None)
        if text:
            parts.append(text)
    if not parts:
        raise ExtrasError(f"/{prompt.command} gave no text to send")
    return "\n\n".join(parts)


async def read_resource(manager: McpManager, resource: str) -> tuple[str, list[ContentBlock]]:
    """``server:uri`` read: a label and the blocks to attach. Raises ``ExtrasError``."""
    from stoa.core.tools.image import ImageProblem, prepare_image

    server, _, uri = resource.partition(":")
    client = _client(manager, server)
    try:
        async with asyncio.timeout(FETCH_TIMEOUT):
            result = await client.read_resource(uri)
    except TimeoutError:
        raise ExtrasError(f"the MCP server {server!r} did not give {uri} within {FETCH_TIMEOUT:.0f} s") from None
    except Exception as exc:
        raise ExtrasError(f"the MCP server {server!r} could not read {uri}: {exc}") from None
    blocks: list[ContentBlock] = []
    texts: list[str] = []
    for item in getattr(result, "contents", []) or []:
        mime = getattr(item, "mime_type", None) or ""
        text = getattr(item, "text", None)
        blob = getattr(item, "blob", None)
        if text is not None:
            texts.append(caps.cap_text(text, caps.MODEL_OUTPUT_CHARS))
        elif blob is not None and mime.startswith("image/"):
            try:
                prepared = prepare_image(base64.b64decode(blob))
            except (ImageProblem, ValueError) as exc:
                texts.append(f"[image {item.uri} not attached: {exc}]")
                continue
            blocks.append(ImageBlock(media_type=prepared.media_type, data=base64.b64encode(prepared.data).decode("ascii")))
        elif blob is not None:
            texts.append(f"[binary resource {item.uri} ({mime or 'unknown type'}) not attached]")
    body = "\n\n".join(texts)
    opening = f'<attachment mention="@{resource}" kind="mcp-resource" server="{server}" uri="{uri}">'
    return f"{server}:{uri}", [TextBlock(text=f"{opening}\n{body}\n</attachment>"), *blocks]
