"""The instruction hierarchy and the system prompt.

Instructions are read, in this order, each into a block labelled with its source path:

1. the person's global ``AGENTS.md`` in the config folder (``~/.config/stoa/AGENTS.md``, or
   ``$STOA_HOME/AGENTS.md``);
2. ``AGENTS.md`` and ``CLAUDE.md`` of every folder from the repository root (the nearest folder
   above the workspace holding ``.git``; the workspace itself when there is none) down to the
   workspace;
3. the personal ``.stoa/instructions.md`` of the workspace (kept out of git by
   ``core.stoa_folder``).

A file may import others with ``@path`` (a token with a ``/`` or a ``.`` in it, outside code
spans and fences): relative to the importing file, ``~/`` for the home folder. Imported files
follow their importer as their own blocks; at most ``MAX_IMPORT_DEPTH`` levels, each file once,
cycles refused. An import stays inside the workspace (a file outside it, the global file or one
above the workspace, may also import from its own folder tree); anything else needs a ``Read``
allow rule, and a deny rule always wins. A missing or refused import is a warning, never an
error.

Nested ``AGENTS.md`` (and ``CLAUDE.md``) of sub-folders of the workspace are not in the system
prompt: ``NestedInstructions`` adds one to the conversation, once, after the agent first reads
or edits a file in its folder. The system prompt stays the same from request to request (prompt
caching depends on it) until a file of the hierarchy changes on disk: ``Instructions`` re-reads
only then.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from stoa.core.permissions.policy import PermissionPolicy
    from stoa.core.providers.types import Message
    from stoa.core.tools.base import ToolContext

Scope = Literal["global", "project", "personal", "nested", "import"]

PROJECT_FILES: tuple[str, ...] = ("AGENTS.md", "CLAUDE.md")
GLOBAL_FILE = "AGENTS.md"
PERSONAL_FILE = Path(".stoa") / "instructions.md"
MAX_INSTRUCTION_CHARS = 40_000
# All instruction text together; files past it are left out with a warning.
MAX_TOTAL_CHARS = 160_000
MAX_IMPORT_DEPTH = 5
# Folders whose instruction files belong to someone else's code: never loaded as nested ones.
FOREIGN_FOLDERS = frozenset({".git", "node_modules", ".venv", "venv", "site-packages", "__pycache__"})

BASE_PROMPT = """You are Stoa, a coding agent working in a person's terminal, inside their project.
You read and search code, edit files, run approved shell commands and use the tools given to you.
Work carefully: read before you edit, keep changes small and focused, and run the project's tests
when you change code. Every tool call is shown to the person; some need their approval, and a
refused call comes back as a tool error you should respect. Be concise in your replies; use
Markdown where it helps (code fences with languages, short lists)."""

INSTRUCTIONS_PREFACE = (
    "The person's instructions follow, each block labelled with the file it comes from: global, "
    "then the project's from the repository root down to the workspace, then personal ones. A later, "
    "more specific block refines an earlier one; what the person says in the conversation comes first."
)

# The line before each block added to the conversation. In brackets, like the other text Stoa
# adds to a user message (compaction keeps only what the person typed, and skips these).
NESTED_PREFACE = (
    "[Instructions for the folder {folder}, loaded because files there came up in the conversation; "
    "follow them for files in that folder]"
)
IMPORT_PREFACE = "[Imported by {importer}]"


def is_loaded_instructions(text: str) -> bool:
    """A block ``NestedInstructions.take`` added (a preface line, then the labelled file): Stoa's
    addition to a message, never shown or kept as something the person typed."""
    head, _, rest = text.partition("\n")
    return (head.startswith(("[Instructions for the folder ", "[Imported by ")) and head.endswith("]")
            and rest.startswith("<instructions source="))  # fmt: skip


@dataclass(frozen=True)
class Source:
    """One instruction file as it goes into the prompt."""

    path: Path  # canonical
    label: str  # workspace-relative inside the workspace, ~/... under the home folder, else absolute
    scope: Scope
    text: str
    imported_by: str | None = None

    def block(self) -> str:
        attrs = f'source="{_attr(self.label)}" scope="{self.scope}"'
        if self.imported_by:
            attrs += f' imported-by="{_attr(self.imported_by)}"'
        return f"<instructions {attrs}>\n{self.text}\n</instructions>"


@dataclass
class Loaded:
    """The instruction files found, in prompt order, and what went wrong reading them."""

    sources: list[Source] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Every path looked at (present or not): a change to any of them means a re-read.
    watched: list[Path] = field(default_factory=list)

    @property
    def text_chars(self) -> int:
        return sum(len(s.text) for s in self.sources)


def defuse_tags(text: str) -> str:
    """Text for inside an ``<instructions>`` block: tags that could close it early are defused."""
    return text.replace("</instructions", "<\\/instructions").replace("<instructions", "<\\instructions")


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def repository_root(workspace: Path) -> Path:
    """The nearest folder at or above ``workspace`` that holds ``.git``; the workspace if none."""
    probe = workspace
    while True:
        if os.path.lexists(probe / ".git"):
            return probe
        if probe.parent == probe:
            return workspace
        probe = probe.parent


def hierarchy(workspace: Path, config_dir: Path | None) -> list[tuple[Path, Scope]]:
    """The files of the hierarchy, in prompt order (whether they exist or not)."""
    found: list[tuple[Path, Scope]] = []
    if config_dir is not None:
        found.append((config_dir / GLOBAL_FILE, "global"))
    root = repository_root(workspace)
    chain = [workspace, *workspace.parents]
    folders = list(reversed(chain[: chain.index(root) + 1])) if root in chain else [workspace]
    for folder in folders:
        found += [(folder / name, "project") for name in PROJECT_FILES]
    found.append((workspace / PERSONAL_FILE, "personal"))
    return found


# ---- @imports -----------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`+[^`]*`+")
_IMPORT = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=[(\[]))@([^\s`'\"<>()\[\]{}]+)")


def find_imports(text: str) -> list[tuple[int, str]]:
    """``(line number, path)`` of each ``@path`` import, outside code fences and code spans. A
    token counts when it has a ``/`` or a ``.`` in it (``@docs/style.md``, ``@README.md``), so a
    handle like ``@alice`` is left alone; trailing punctuation is not part of it."""
    found: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        for match in _IMPORT.finditer(_INLINE_CODE.sub(" ", line)):
            token = match.group(1).rstrip(".,;:!?")
            if token and ("/" in token or "." in token.lstrip(".")) and not token.startswith("@"):
                found.append((number, token))
    return found


class _Reader:
    """Reads one hierarchy: files, their imports, the caps, the warnings."""

    def __init__(
        self,
        workspace: Path,
        *,
        home: Path | None,
        policy: PermissionPolicy | None,
        total: int = MAX_TOTAL_CHARS,
    ) -> None:
        self.workspace = workspace
        self.home = home
        self.policy = policy
        self.left = total
        self.loaded = Loaded()
        self.seen: set[Path] = set()

    def label(self, path: Path) -> str:
        if _inside(path, self.workspace):
            return path.relative_to(self.workspace).as_posix() if path != self.workspace else "."
        if self.home is not None and _inside(path, self.home):
            return "~/" + path.relative_to(self.home).as_posix()
        return str(path)

    def warn(self, text: str) -> None:
        if text not in self.loaded.warnings:
            self.loaded.warnings.append(text)

    def refused(self, path: Path, roots: Sequence[Path]) -> str | None:
        """Why ``path`` may not be read as instructions (None: it may)."""
        inside = any(_inside(path, root) for root in roots)
        if self.policy is None:
            return None if inside else "it is outside the workspace"
        from stoa.core.tools.base import Access, Effect

        outside = not _inside(path, self.workspace)
        access = Access(scope="read", target=str(path), effect=Effect.READ, outside_workspace=outside)
        verdict = self.policy.decide("read_file", Effect.READ, [access])
        if verdict.action == "deny":
            return f"a deny rule covers it ({verdict.reason})" if verdict.reason else "a deny rule covers it"
        if inside or verdict.action == "allow":
            return None
        return "it is outside the workspace (a Read allow rule for it lets it in)"

    def read(self, path: Path) -> str | None:
        """The file's text (capped), None when it is absent or unreadable (warned)."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            self.warn(f"{self.label(path)} is a folder, not a file; it was not read")
            return None
        except OSError as exc:
            self.warn(f"cannot read {self.label(path)}: {exc.strerror or exc}; its instructions are left out")
            return None
        text = raw.decode("utf-8", errors="replace").strip()
        if len(text) > MAX_INSTRUCTION_CHARS:
            text = text[:MAX_INSTRUCTION_CHARS] + "\n[... truncated ...]"
            self.warn(f"{self.label(path)} is over {MAX_INSTRUCTION_CHARS:,} characters; the rest is left out")
        return text

    def add(self, path: Path, scope: Scope, roots: Sequence[Path]) -> list[Source]:
        """The file at ``path`` and what it imports, in order (nothing when absent or empty)."""
        self.loaded.watched.append(path)
        canonical = Path(os.path.realpath(path))
        if canonical in self.seen:
            return []
        # Read where it is (a symlink to a dotfiles folder included): only a deny rule keeps it out.
        reason = self.refused(canonical, [canonical.parent])
        if reason is not None and os.path.lexists(path):
            self.warn(f"{self.label(path)} was not read: {reason}")
            return []
        text = self.read(path)
        if not text:
            return []
        return self._with_imports(
            canonical, self.label(path), scope, text, roots, chain=(canonical,), by=None, base=path.parent
        )

    def _with_imports(
        self,
        path: Path,
        label: str,
        scope: Scope,
        text: str,
        roots: Sequence[Path],
        *,
        chain: tuple[Path, ...],
        by: str | None,
        base: Path,
    ) -> list[Source]:
        """The file and its imports, which resolve relative to ``base`` (the folder the file was
        found in, so a symlinked file imports from beside its link)."""
        if len(text) > self.left:
            self.warn(
                f"{label} was left out: the instruction files together are over {MAX_TOTAL_CHARS:,} characters"
            )
            return []
        self.left -= len(text)
        self.seen.add(path)
        out = [Source(path=path, label=label, scope=scope, text=defuse_tags(text), imported_by=by)]
        for line, token in find_imports(text):
            where = f"{label}:{line}: @{token}"
            target = self._resolve(token, base)
            if target is None:
                self.warn(f"{where}: cannot expand the home folder; not imported")
                continue
            self.loaded.watched.append(target)
            canonical = Path(os.path.realpath(target))
            if canonical in chain:
                cycle = " -> ".join(self.label(p) for p in (*chain, canonical))
                self.warn(f"{where}: import cycle refused ({cycle})")
                continue
            if canonical in self.seen:
                continue
            if len(chain) > MAX_IMPORT_DEPTH:
                self.warn(f"{where}: not imported, imports go at most {MAX_IMPORT_DEPTH} levels deep")
                continue
            reason = self.refused(canonical, roots)
            if reason is not None:
                self.warn(f"{where}: not imported, {reason}")
                continue
            if not canonical.exists():
                self.warn(f"{where}: no such file; not imported (put it in backticks if it is not an import)")
                continue
            imported = self.read(canonical)
            if imported:
                out += self._with_imports(
                    canonical, self.label(canonical), "import", imported, roots,
                    chain=(*chain, canonical), by=label, base=target.parent,
                )  # fmt: skip
        return out

    def _resolve(self, token: str, base: Path) -> Path | None:
        if token.startswith("~"):
            if self.home is None or not (token == "~" or token.startswith("~/")):
                return None
            return self.home / token[2:]
        return base / token


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def load_instructions(
    workspace: Path,
    config_dir: Path | None = None,
    *,
    home: Path | None = None,
    policy: PermissionPolicy | None = None,
) -> Loaded:
    """Read the whole hierarchy (see the module docstring)."""
    workspace = Path(os.path.realpath(workspace))
    reader = _Reader(workspace, home=Path(os.path.realpath(home)) if home else None, policy=policy)
    repo = repository_root(workspace)
    for path, scope in hierarchy(workspace, config_dir):
        if scope == "global":
            roots: list[Path] = [workspace, Path(os.path.realpath(path.parent))]
        elif not _inside(path.parent, workspace):
            roots = [workspace, repo]
        else:
            roots = [workspace]
        reader.loaded.sources += reader.add(path, scope, roots)
    return reader.loaded


def read_instructions(workspace: Path, config_dir: Path | None = None) -> list[tuple[str, str]]:
    """(label, text) of each instruction file of the hierarchy, in prompt order."""
    return [(s.label, s.text) for s in load_instructions(workspace, config_dir).sources]


def _signature(paths: Iterable[Path]) -> tuple[tuple[str, int, int, int] | None, ...]:
    out: list[tuple[str, int, int, int] | None] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out.append(None)
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


class Instructions:
    """The hierarchy of one workspace, re-read only when one of its files changes on disk (a
    few ``stat`` calls per request), so the system prompt stays byte-for-byte the same."""

    def __init__(
        self,
        workspace: Path,
        config_dir: Path | None = None,
        *,
        home: Path | None = None,
        policy: PermissionPolicy | None = None,
    ) -> None:
        self.workspace = Path(os.path.realpath(workspace))
        self.config_dir = config_dir
        self.home = home
        self.policy = policy
        self._loaded: Loaded | None = None
        self._signature: tuple[tuple[str, int, int, int] | None, ...] = ()

    def current(self) -> Loaded:
        if self._loaded is not None and _signature(self._loaded.watched) == self._signature:
            return self._loaded
        loaded = load_instructions(self.workspace, self.config_dir, home=self.home, policy=self.policy)
        self._loaded = loaded
        self._signature = _signature(loaded.watched)
        return loaded

    def nested(self) -> NestedInstructions:
        return NestedInstructions(self)

    def nested_sources(self, touched: Iterable[Path]) -> Loaded:
        """The nested instruction files (and their imports) for files the agent worked on:
        those of every folder between the workspace (excluded) and each file's folder."""
        reader = _Reader(self.workspace, home=Path(os.path.realpath(self.home)) if self.home else None,
                         policy=self.policy)
        reader.seen = {s.path for s in self.current().sources}
        for folder in _folders_below(self.workspace, touched):
            for name in PROJECT_FILES:
                reader.loaded.sources += reader.add(folder / name, "nested", [self.workspace])
        return reader.loaded


def _folders_below(workspace: Path, touched: Iterable[Path]) -> list[Path]:
    """Folders strictly below ``workspace`` on the way to each touched path, outermost first."""
    out: list[Path] = []
    for path in touched:
        if not _inside(path, workspace) or path == workspace:
            continue
        parts = path.relative_to(workspace).parts
        depth = len(parts) if path.is_dir() else len(parts) - 1
        for index in range(1, depth + 1):
            if parts[index - 1] in FOREIGN_FOLDERS:
                break
            folder = workspace.joinpath(*parts[:index])
            if folder not in out:
                out.append(folder)
    return out


class NestedInstructions:
    """The agent's context hook for nested instruction files: ``after_call`` notes the paths a
    successful call read or edited; ``take`` returns the blocks to add to the next user message
    (after the tool results) for folders whose instructions the conversation does not hold yet.
    "Holds" is read from the history itself, so a resumed, cleared or compacted conversation
    gets them again when it needs them."""

    def __init__(self, instructions: Instructions) -> None:
        self.instructions = instructions
        self._touched: list[Path] = []

    def after_call(self, ctx: ToolContext) -> None:
        for resolved in ctx.checked.paths.values():
            if resolved.inside_workspace and resolved.canonical not in self._touched:
                self._touched.append(resolved.canonical)

    def take(self, history: Sequence[Message]) -> tuple[list[str], list[str]]:
        """(texts to add to the next user message, notices for the person)."""
        touched, self._touched = self._touched, []
        if not touched:
            return [], []
        found = self.instructions.nested_sources(touched)
        if not found.sources:
            return [], found.warnings
        held = _held_labels(history)
        texts: list[str] = []
        names: list[str] = []
        for source in found.sources:
            if source.label in held:
                continue
            folder = (source.path.parent.relative_to(self.instructions.workspace).as_posix() + "/"
                      if source.scope == "nested" else None)
            head = NESTED_PREFACE.format(folder=folder) if folder else IMPORT_PREFACE.format(importer=source.imported_by)
            texts.append(head + "\n" + source.block())
            names.append(source.label)
        notices = list(found.warnings)
        if names:
            notices.insert(0, "instructions loaded for this folder: " + ", ".join(names))
        return texts, notices


_HELD = re.compile(r'<instructions source="([^"]*)" scope="(?:nested|import)"')


def _held_labels(history: Sequence[Message]) -> set[str]:
    """Labels of nested instruction blocks already in the conversation's user messages."""
    held: set[str] = set()
    from stoa.core.providers.types import TextBlock

    for message in history:
        if message.role != "user":
            continue
        for block in message.content:
            if isinstance(block, TextBlock) and "<instructions source=" in block.text:
                held.update(m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&amp;", "&")
                            for m in _HELD.finditer(block.text))
    return held


# ---- the system prompt --------------------------------------------------------------------------


def environment_lines(workspace: Path, mode: str, tool_names: str) -> list[str]:
    """Where an agent works: the workspace, OS, date, trust mode and tools (sub-agents' prompts)."""
    return [
        f"Workspace (the project root; relative paths resolve here): {workspace}",
        f"Operating system: {platform.system()} {platform.release()} ({platform.machine()})",
        f"Today's date: {date.today().isoformat()}",
        f"Trust mode: {mode}" + (" (read-only)" if mode == "plan" else ""),
        f"Tools: {tool_names}",
    ]


def build_system_prompt(
    workspace: Path,
    tool_names: Iterable[str],
    *,
    mode: str = "auto",
    today: date | None = None,
    extra_sections: Iterable[tuple[str, str]] = (),
    instructions: Loaded | None = None,
) -> str:
    today = today or date.today()
    parts = [
        BASE_PROMPT,
        "",
        f"Workspace (the project root; relative paths resolve here): {workspace}",
        f"Operating system: {platform.system()} {platform.release()} ({platform.machine()})",
        f"Today's date: {today.isoformat()}",
        f"Trust mode: {mode}"
        + (
            " (read-only: plan and investigate; do not try to change files; execute_bash runs only"
            " read-only commands)"
            if mode == "plan"
            else ""
        ),
        f"Tools: {', '.join(tool_names)}",
    ]
    loaded = instructions if instructions is not None else load_instructions(workspace)
    if loaded.sources:
        parts += ["", INSTRUCTIONS_PREFACE]
        for source in loaded.sources:
            parts += ["", source.block()]
    for label, text in extra_sections:
        parts += ["", f'<instructions source="{_attr(label)}">', text, "</instructions>"]
    return "\n".join(parts)


def system_prompt_factory(
    workspace: Path,
    tool_names: Callable[[], Iterable[str]],
    mode: Callable[[], str],
    extra_sections: Callable[[], Iterable[tuple[str, str]]] = lambda: (),
    today: Callable[[], date] = date.today,
    instructions: Instructions | None = None,
) -> Callable[[], str]:
    """A callable the agent calls per request, so tool lists and MCP instructions stay current."""
    source = instructions or Instructions(workspace)
    return lambda: build_system_prompt(
        workspace,
        tool_names(),
        mode=mode(),
        today=today(),
        extra_sections=extra_sections(),
        instructions=source.current(),
    )
