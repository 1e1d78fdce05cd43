"""What a person attaches to a message: ``@path`` mentions and pasted images (``[Image #N]``).

A message's ``@path`` (``@"a path with spaces"``) names a file, a folder or an image. When the
message is sent, each one is attached after the text as a labelled block, read by the same tools
the model uses, under the same permission rules (the person who typed the mention is the one who
approves it: a read that would ask is allowed, a deny rule still refuses):

- a text file as ``read_file`` shows it (numbered lines, its caps and its note when cut); the
  model may edit it afterwards without reading it again, as after its own read;
- a folder as ``list_directory`` lists it (deny-ruled names left out);
- an image as ``view_image`` sends it (Pillow, the same size caps and scaling), when the model
  takes images; else a notice says so.

A mention that names nothing stays text, with a hint when it looks like a path; a binary file is
refused with the reason. ``[Image #N]`` markers stand for images added to the conversation's
``PastedImages`` (a pasted image, a pasted image path, ``-i PATH``): each is attached the same
way. Nothing here knows about Textual; the agent expands a turn's input (``Agent._turn``), the
composer's picker lists the candidates (``workspace_files``, ``rank_paths``).
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stoa.core.providers.types import ContentBlock, ImageBlock, TextBlock
from stoa.core.tools import caps
from stoa.core.tools.base import Effect, Tool, ToolContext, ToolError

if TYPE_CHECKING:
    from stoa.core.events import Notice
    from stoa.core.permissions.policy import PermissionPolicy

# At most this many mentions of one message are attached, and this many characters in all.
MAX_MENTIONS = 20
MAX_ATTACHED_CHARS = 120_000
# The picker lists at most this many files (a huge tree is still searchable by narrowing).
MAX_PICKER_FILES = 50_000

_MENTION = re.compile(
    r"""(?:(?<=[\s(\[{"'`])|^)@(?:"(?P<quoted>[^"\n]+)"|(?P<bare>(?:\\\ |[^\s"'`()\[\]{}<>,;@])+))"""
)
_TRAILING = ".,:;!?"
_LINES = re.compile(r"^(?P<path>.+?)(?::|#L)(?P<first>\d+)(?:-L?(?P<last>\d+))?$")
IMAGE_MARKER = re.compile(r"\[Image #(\d+)\]")
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tiff", ".tif"}


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    path: str  # as written, without the @ and quotes

    @property
    def looks_like_path(self) -> bool:
        return "/" in self.path or "." in self.path or self.path.startswith("~")


_STDIN = re.compile(r"<stdin>\n.*?\n</stdin>", re.DOTALL)


def find_mentions(text: str) -> list[Mention]:
    """The ``@path`` mentions of a message, in order (an e-mail address is not one, nor an ``@``
    in the data piped to ``stoa -p``: the ``<stdin>`` block is what was piped, not typed)."""
    found: list[Mention] = []
    piped = [(m.start(), m.end()) for m in _STDIN.finditer(text)]
    for match in _MENTION.finditer(text):
        if any(start <= match.start() < end for start, end in piped):
            continue
        quoted = match.group("quoted")
        path = quoted if quoted is not None else match.group("bare").replace("\\ ", " ")
        end = match.end()
        if quoted is None:
            stripped = path.rstrip(_TRAILING)
            end -= len(path) - len(stripped)
            path = stripped
        if path:
            found.append(Mention(match.start(), end, path))
    return found


def mention_text(path: str) -> str:
    """How the picker writes a path into the message: quoted when it has spaces."""
    return f'@"{path}"' if any(c.isspace() for c in path) else f"@{path}"


# ---- pasted images ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PastedImage:
    number: int
    label: str  # where it came from: a path, or "clipboard"
    path: str | None = None  # a file (read through view_image when sent)
    data: bytes | None = None  # clipboard bytes

    @property
    def marker(self) -> str:
        return f"[Image #{self.number}]"


@dataclass
class PastedImages:
    """The images of a conversation that markers stand for; numbers count up, never reused."""

    images: dict[int, PastedImage] = field(default_factory=dict)
    _next: int = 1

    def add_path(self, path: str) -> PastedImage:
        return self._add(PastedImage(self._next, path, path=path))

    def add_bytes(self, data: bytes, label: str = "clipboard") -> PastedImage:
        return self._add(PastedImage(self._next, label, data=data))

    def _add(self, image: PastedImage) -> PastedImage:
        self.images[image.number] = image
        self._next += 1
        return image


def looks_like_image_path(text: str) -> bool:
    """A pasted text that is one image file's path (what terminals paste for a dropped file)."""
    candidate = text.strip().strip("'\"")
    if not candidate or "\n" in candidate or os.path.splitext(candidate)[1].lower() not in _IMAGE_SUFFIXES:
        return False
    candidate = candidate.removeprefix("file://")
    return os.path.isfile(os.path.expanduser(candidate.replace("\\ ", " ")))


def clean_pasted_path(text: str) -> str:
    return os.path.expanduser(text.strip().strip("'\"").removeprefix("file://").replace("\\ ", " "))


# ---- expansion -------------------------------------------------------------------------------


@dataclass
class Expansion:
    """What a message's mentions and markers add: blocks to send after its text, one line per
    attachment for the person, and the problems (mentions kept as text, refusals)."""

    blocks: list[ContentBlock] = field(default_factory=list)
    # The checks of what was attached (the paths each resolved to), for the context hook.
    checked: list[ToolContext] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    chars: int = 0


def _tools() -> tuple[Tool, Tool, Tool]:
    from stoa.core.tools.files import ListDirectory, ReadFile
    from stoa.core.tools.image import ViewImage

    return ReadFile(), ListDirectory(), ViewImage()


async def expand(
    text: str,
    ctx: ToolContext,
    policy: PermissionPolicy | None,
    *,
    images_ok: bool = True,
    model_name: str = "this model",
    pasted: PastedImages | None = None,
    mcp: Any = None,
) -> Expansion:
    """Attach what ``text`` mentions (see the module docstring). Never raises for bad input:
    each problem becomes a line of ``Expansion.problems``."""
    out = Expansion()
    mentions = find_mentions(text)
    seen: set[str] = set()
    for index, mention in enumerate(mentions):
        if index >= MAX_MENTIONS:
            out.problems.append(f"only the first {MAX_MENTIONS} @ mentions are attached; the rest stay text")
            break
        if mcp is not None and _mcp_server(mention.path, mcp):
            await _attach_resource(mention.path, mcp, policy, out, seen)
            continue
        await _attach_path(mention.path, f"@{mention.path}", ctx, policy, out, seen, images_ok, model_name,
                           quiet_missing=not mention.looks_like_path)  # fmt: skip
    if pasted is not None:
        for match in IMAGE_MARKER.finditer(text):
            image = pasted.images.get(int(match.group(1)))
            if image is None:
                continue
            if image.path is not None:
                await _attach_path(image.path, image.marker, ctx, policy, out, seen, images_ok, model_name,
                                   image_only=True)  # fmt: skip
            elif image.data is not None:
                _attach_bytes(image, out, images_ok, model_name)
    return out


async def _attach_path(
    path: str,
    label: str,
    ctx: ToolContext,
    policy: PermissionPolicy | None,
    out: Expansion,
    seen: set[str],
    images_ok: bool,
    model_name: str,
    *,
    quiet_missing: bool = False,
    image_only: bool = False,
) -> None:
    from stoa.core.permissions.paths import resolve
    from stoa.core.tools.files import near_names

    read_file, list_directory, view_image = _tools()
    span: tuple[int, int | None] | None = None
    try:
        resolved = resolve(path, ctx.workspace)
        ranged = _LINES.match(path)
        if not resolved.exists and ranged is not None and not image_only:
            # path:12, path:12-40 or path#L12-L40: those lines of the file.
            path = ranged.group("path")
            first = int(ranged.group("first"))
            last = int(ranged.group("last")) if ranged.group("last") else None
            span = (first, last)
            resolved = resolve(path, ctx.workspace)
    except ToolError as exc:
        if not quiet_missing:
            out.problems.append(f"{label} stays text: {exc}")
        return
    key = str(resolved.canonical) + (f":{span}" if span else "")
    if key in seen:
        return
    if not resolved.exists:
        if not quiet_missing:
            out.problems.append(
                f"{label} stays text: nothing is at {resolved.display}.{near_names(resolved)} "
                "Check the path (in the TUI, @ opens a picker of the workspace's files)"
            )
        return
    seen.add(key)
    is_dir = resolved.canonical.is_dir()
    is_image = not is_dir and resolved.canonical.suffix.lower() in _IMAGE_SUFFIXES
    if image_only and not is_image:
        out.problems.append(f"{label} is not attached: {resolved.display} is not an image file")
        return
    tool, argument, kind = (
        (list_directory, "path", "folder") if is_dir
        else (view_image, "source", "image") if is_image
        else (read_file, "path", "file")
    )  # fmt: skip
    if kind == "image" and not images_ok:
        out.problems.append(
            f"{label} is not attached: {model_name} does not take images (switch with /model to one that does)"
        )
        return
    call_ctx = ToolContext(workspace=ctx.workspace, config=ctx.config, policy=ctx.policy, state=ctx.state)
    try:
        raw: dict[str, object] = {argument: path}
        if span is not None and kind == "file":
            first, last = span
            raw.update(offset=max(first, 1), limit=max((last or first) - first + 1, 1))
        args = tool.parse_args(raw)
        accesses = tool.accesses(args, call_ctx)
        if policy is not None:
            verdict = policy.decide(tool.name, Effect.READ, accesses)
            if verdict.action == "deny":
                out.problems.append(f"{label} is not attached: {verdict.reason}")
                return
            # "ask": the person who typed the mention is the one who would be asked.
        output = await tool.run(args, call_ctx)
    except ToolError as exc:
        out.problems.append(f"{label} is not attached: {exc}")
        return
    if output.is_error:
        out.problems.append(f"{label} is not attached: {output.text_content}")
        return
    body = output.text_content
    if out.chars + len(body) > MAX_ATTACHED_CHARS:
        out.problems.append(
            f"{label} is not attached: the message's attachments would pass {MAX_ATTACHED_CHARS:,} characters; "
            "mention fewer files or ask the model to read this one"
        )
        return
    out.chars += len(body)
    out.checked.append(call_ctx)
    display = resolved.display
    images = [b for b in output.content if isinstance(b, ImageBlock)]
    if kind == "file":
        lines = body.count("\n") + 1 if body else 0
        cut = " (cut: the note at the end says how to read the rest)" if "call read_file with offset" in body else ""
        if span is not None:
            out.attached.append(f"{display} lines {span[0]}-{span[1] or span[0]}")
        else:
            out.attached.append(f"{display} ({lines:,} line{'s' if lines != 1 else ''}){cut}")
    elif kind == "folder":
        out.attached.append(f"{display}/ (listing)")
    else:
        out.attached.append(f"{display} (image)")
    opening = f'<attachment mention="{label}" kind="{kind}" path="{display}">'
    out.blocks.append(TextBlock(text=f"{opening}\n{body}\n</attachment>"))
    out.blocks.extend(images)


def _mcp_server(path: str, mcp: Any) -> str | None:
    """The MCP server a ``server:uri`` mention names (a configured server), else None."""
    server, colon, uri = path.partition(":")
    return server if colon and uri and server in mcp.states else None


async def _attach_resource(path: str, mcp: Any, policy: PermissionPolicy | None, out: Expansion, seen: set[str]) -> None:
    """``@server:uri``: the resource read from the server (an ``Mcp(server)`` deny rule refuses)."""
    from stoa.core.mcp.extras import ExtrasError, read_resource
    from stoa.core.tools.base import Access

    label = f"@{path}"
    if path in seen:
        return
    seen.add(path)
    server = path.partition(":")[0]
    if policy is not None:
        access = Access(scope="mcp", target=f"{server}___resources", effect=Effect.READ, server=server)
        verdict = policy.decide("mcp_resource", Effect.READ, [access])
        if verdict.action == "deny":
            out.problems.append(f"{label} is not attached: {verdict.reason}")
            return
    try:
        shown, blocks = await read_resource(mcp, path)
    except ExtrasError as exc:
        out.problems.append(f"{label} is not attached: {exc}")
        return
    size = sum(len(b.text) for b in blocks if isinstance(b, TextBlock))
    if out.chars + size > MAX_ATTACHED_CHARS:
        out.problems.append(f"{label} is not attached: the message's attachments would pass {MAX_ATTACHED_CHARS:,} characters")
        return
    out.chars += size
    out.attached.append(f"{shown} (MCP resource)")
    out.blocks.extend(blocks)


def _attach_bytes(image: PastedImage, out: Expansion, images_ok: bool, model_name: str) -> None:
    from stoa.core.tools.files import human_size
    from stoa.core.tools.image import ImageProblem, prepare_image

    if not images_ok:
        out.problems.append(
            f"{image.marker} is not attached: {model_name} does not take images (switch with /model to one that does)"
        )
        return
    assert image.data is not None
    try:
        prepared = prepare_image(image.data)
    except ImageProblem as exc:
        out.problems.append(f"{image.marker} is not attached: {exc}")
        return
    note = f"; sent as {prepared.width}×{prepared.height} ({prepared.changed})" if prepared.changed else ""
    marker = (
        f"{image.marker}: {image.label}, {human_size(len(image.data))}, "
        f"{prepared.source_width}×{prepared.source_height} {prepared.source_format or '?'}{note}"
    )
    out.attached.append(f"{image.marker} ({image.label}, image)")
    out.blocks.append(TextBlock(text=f'<attachment mention="{image.marker}" kind="image">\n{marker}\n</attachment>'))
    out.blocks.append(ImageBlock(media_type=prepared.media_type, data=base64.b64encode(prepared.data).decode("ascii")))


async def turn_input(agent: Any, content: list[ContentBlock]) -> tuple[list[ContentBlock], list[Notice]]:
    """A turn's input (``Agent._turn``) with what its mentions and markers attach, and the
    notices to show once the turn has started (what was attached, what was not and why)."""
    from stoa.core.events import Notice

    typed = "".join(b.text for b in content if isinstance(b, TextBlock))
    if "@" not in typed and "[Image #" not in typed:
        return content, []
    ctx = ToolContext(workspace=agent.workspace, config=agent.config, policy=agent.policy, state=agent.tool_state)
    found = await expand(
        typed, ctx, agent.policy, images_ok=agent.model.supports_images, model_name=agent.model.id,
        pasted=agent.pasted_images, mcp=getattr(agent, "mcp", None),
    )  # fmt: skip
    notices = [Notice("info", "attached: " + "; ".join(found.attached))] if found.attached else []
    notices += [Notice("warning", problem) for problem in found.problems]
    # A mentioned file's folder instructions (a sub-folder's AGENTS.md) come with the message.
    added, loaded = agent.context_additions(found.checked)
    return [*content, *found.blocks, *added], notices + loaded


def is_attachment(block: TextBlock) -> bool:
    """A block Stoa added to what the person typed: what ``expand`` attached, a folder's
    instructions loaded with it, or a ``[Stoa: ...]`` note (``Agent.tell``, lost jobs); the log
    shows the person's text, not these."""
    from stoa.core.instructions import is_loaded_instructions

    text = block.text
    return (text.startswith("<attachment mention=") or is_loaded_instructions(text)
            or (text.startswith("[Stoa: ") and text.endswith("]")))  # fmt: skip


def added_by_stoa(block: TextBlock) -> bool:
    """A block Stoa added to what the person typed (an attachment, a hook's context)."""
    return is_attachment(block) or block.text.startswith("<hook-context ")


def typed_text(content: list[ContentBlock]) -> str:
    """A user message's text as the person typed it."""
    return "".join(b.text for b in content if isinstance(b, TextBlock) and not added_by_stoa(b))


# ---- the picker's candidates -----------------------------------------------------------------


def _list_files(workspace: Path, limit: int) -> list[str]:
    from stoa.core.tools.rg import find_rg
    from stoa.core.tools.search import noise_excludes, walk_files

    rg = find_rg()
    if rg is not None:
        argv = [rg, "--files", "--hidden", "--no-require-git", "--no-config", "--null", "--no-messages"]
        for name in noise_excludes():
            argv += ["-g", f"!{name}"]
        env = {k: v for k, v in os.environ.items() if k != "RIPGREP_CONFIG_PATH"}
        try:
            done = subprocess.run(
                argv, cwd=workspace, capture_output=True, timeout=caps.SEARCH_TIMEOUT, env=env,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is not None and done.returncode in (0, 1):
            names = [os.fsdecode(raw).removeprefix("./") for raw in done.stdout.split(b"\x00") if raw]
            return sorted(names[:limit])
    found: list[str] = []
    try:
        for rel, _st in walk_files(
            workspace, workspace, include=None, excludes=noise_excludes(), use_ignore_files=True,
            deadline=time.monotonic() + caps.SEARCH_TIMEOUT,
        ):  # fmt: skip
            found.append(rel)
            if len(found) >= limit:
                break
    except Exception:
        pass
    return sorted(found)


async def workspace_files(workspace: Path, policy: PermissionPolicy | None, limit: int = MAX_PICKER_FILES) -> list[str]:
    """Files and folders of the workspace the ``@`` picker offers: gitignore-aware (ripgrep's
    walk, or the search tools' pure-Python one), noise folders skipped, nothing a deny rule
    covers (none at all while a deny rule cannot be read: the picker fails closed)."""
    root, files = await asyncio.to_thread(_list_canonical, workspace, limit)
    if policy is not None:
        from stoa.core.permissions.policy import DenyRulesUnreadable

        try:
            scope = policy.deny_scope()
        except DenyRulesUnreadable:
            return []
        if scope:
            base = str(root)
            files = [f for f in files if not scope.covers(os.path.join(base, f))]
    folders = sorted({parent for f in files for parent in _parents(f)})
    return [*(f"{d}/" for d in folders), *files]


async def mention_candidates(workspace: Path, policy: PermissionPolicy | None, mcp: Any = None) -> list[str]:
    """What the ``@`` picker offers: the workspace's files and folders, then the connected MCP
    servers' resources as ``server:uri``."""
    files = await workspace_files(workspace, policy)
    resources = [r.mention for r in mcp.resources()] if mcp is not None else []
    return [*files, *resources]


def _list_canonical(workspace: Path, limit: int) -> tuple[Path, list[str]]:
    root = Path(os.path.realpath(workspace))
    return root, _list_files(root, limit)


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


_prepared_for: tuple[int, int, list[str], list[str]] | None = None


def _prepared(paths: list[str]) -> tuple[list[str], list[str]]:
    """Lowered paths and names, kept for the list the picker holds (one per keystroke else)."""
    global _prepared_for
    key = (id(paths), len(paths))
    if _prepared_for is None or _prepared_for[:2] != key:
        lowered = [p.lower() for p in paths]
        names = [low.rstrip("/").rsplit("/", 1)[-1] for low in lowered]
        _prepared_for = (*key, lowered, names)
    return _prepared_for[2], _prepared_for[3]


def rank_paths(paths: list[str], query: str, limit: int = 50) -> list[str]:
    """Fuzzy match for the picker: the query's characters in order; a match in the file name,
    a contiguous match and a shorter path rank higher. An empty query: the shortest paths.
    Only the best ``limit`` are sorted (50,000 paths: a few tens of ms a keystroke)."""
    import heapq

    if not query:
        return heapq.nsmallest(limit, paths, key=lambda p: (p.count("/") - p.endswith("/"), len(p), p))
    lowered, names = _prepared(paths)
    wanted = query.lower()
    # c1[^c2]*c2[^c3]*c3...: the characters in order, without the backtracking of ".*?".
    pattern = re.compile(
        "".join(re.escape(c) + (f"[^{re.escape(n)}]*" if n else "") for c, n in zip(wanted, [*wanted[1:], ""], strict=True))
    )

    def scored() -> Iterator[tuple[int, int, str]]:
        for index, low in enumerate(lowered):
            name = names[index]
            if name.startswith(wanted):
                score = -300
            elif wanted in name:
                score = -200
            elif wanted in low:
                score = -100
            elif pattern.search(low) is None:
                continue
            else:
                score = -50 if pattern.search(name) is not None else 0
            yield score, len(low), paths[index]

    return [path for _, _, path in heapq.nsmallest(limit, scored())]
