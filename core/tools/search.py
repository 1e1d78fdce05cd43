"""The search tools: glob_files (find files by name) and search_code (find lines by regex).

Both run on ripgrep (``rg`` from the PyPI ``ripgrep`` wheel, found next to the interpreter or
on PATH), which honours .gitignore/.ignore, skips binary files and does not follow symlinks.
When ``rg`` is missing, a pure-Python walker with the same rules and the same output shape
takes over. Noise directories (.git, node_modules, .venv, target, __pycache__, ...) are
skipped unless the pattern or the path names them.

Glob syntax (both tools, and search_code's ``glob``), as ripgrep and .gitignore read it: a
pattern without ``/`` matches file names at any depth (``*.py``); with ``/`` it matches paths
from the search directory (``src/*.py`` = files directly in src, ``src/**/*.py`` = any depth);
``**``, ``*``, ``?``, ``[abc]`` and ``{a,b}`` work as usual.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from stoa.core.escapes import has_byte_escapes, unescape_bytes
from stoa.core.permissions.paths import ResolvedPath, display_path, is_inside
from stoa.core.tools import caps
from stoa.core.tools.base import Access, Effect, Tool, ToolContext, ToolError, ToolOutput
from stoa.core.tools.files import PathArgs, deny_filter, not_found, path_access, resolve_arg
from stoa.core.tools.rg import find_rg, rg_error, run_rg, run_rg_listing

NOISE_DIRS: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    ".gradle",
    ".next",
)
_GLOB_META = set("*?[{")
_IGNORE_FILES = (".gitignore", ".ignore", ".rgignore")

# ---- glob syntax ----------------------------------------------------------------------------


def glob_to_regex(glob: str) -> str:
    """Translate one glob (gitignore/ripgrep flavour, no anchoring logic) to a regex body."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == n:
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = glob[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            body = body.replace("\\", "\\\\")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end + 1
        elif c == "{":
            end = glob.find("}", i)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            options = glob[i + 1 : end].split(",")
            out.append("(?:" + "|".join(glob_to_regex(o) for o in options) + ")")
            i = end + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class GlobRule:
    """One glob as ripgrep's -g and .gitignore read it, compiled for a relative path."""

    regex: re.Pattern[str]
    negate: bool
    dir_only: bool

    @classmethod
    def parse(cls, text: str) -> GlobRule | None:
        negate = text.startswith("!")
        if negate:
            text = text[1:]
        if text.startswith("\\!") or text.startswith("\\#"):
            text = text[1:]
        dir_only = text.endswith("/")
        text = text.rstrip("/")
        if not text:
            return None
        anchored = "/" in text
        text = text.lstrip("/")
        body = glob_to_regex(text)
        if not anchored:
            body = "(?:.*/)?" + body
        return cls(re.compile(body, re.DOTALL), negate, dir_only)

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        return self.regex.fullmatch(rel) is not None


def split_pattern(pattern: str) -> tuple[str, str]:
    """Split a glob into its literal leading directories and the glob proper.

    ``src/app/**/*.py`` -> (``src/app``, ``/**/*.py``); ``*.py`` -> (``""``, ``*.py``);
    ``src/main.py`` -> (``src``, ``/main.py``). The glob part keeps its anchoring: a pattern
    with a ``/`` matches from the search directory.
    """
    trimmed = pattern
    while trimmed.startswith("./"):
        trimmed = trimmed[2:]
    absolute = trimmed.startswith("/")
    parts = trimmed.split("/")
    literal: list[str] = []
    for index, part in enumerate(parts):
        if index == len(parts) - 1 or any(ch in _GLOB_META for ch in part) or "\\" in part:
            break
        literal.append(part)
    rest = "/".join(parts[len(literal) :])
    prefix = "/".join(literal)
    if absolute and not prefix:
        prefix = "/"
    if prefix or "/" in rest.rstrip("/"):
        rest = "/" + rest.lstrip("/")
    return prefix, rest


def _names_in(glob: str | None) -> set[str]:
    if not glob:
        return set()
    return {part for part in re.split(r"[/{},]", glob) if part}


def noise_excludes(*globs: str | None) -> list[str]:
    """The noise directories to skip, less those a pattern names explicitly."""
    named: set[str] = set()
    for glob in globs:
        named |= _names_in(glob)
    return [d for d in NOISE_DIRS if d not in named]


def rg_glob_args(glob: str | None) -> tuple[list[str], GlobRule | None]:
    """How to apply a glob with rg without letting it override the ignore files.

    rg's ``-g`` re-includes ignored files that match a positive glob, so a positive glob goes
    in as a file type (types are matched after the ignore rules, on file names) when it is a
    name pattern, or is applied in Python to rg's results when it names directories. Negative
    globs only exclude, so they go to rg as they are. Returns (rg arguments, Python filter).
    """
    if not glob:
        return [], None
    rule = GlobRule.parse(glob)
    if any("\udc80" <= ch <= "\udcff" for ch in glob):
        return [], rule  # bytes of a name that is not UTF-8: rg takes only UTF-8 arguments
    if glob.startswith("!"):
        return ["-g", glob], None
    body = glob.strip("/")
    if body in ("**", "**/*"):
        return [], None
    anchored = glob.startswith("/") or "/" in body
    if anchored and body.startswith("**/") and "/" not in body[3:]:
        body, anchored = body[3:], False
    if ":" in body or "\\" in body or "/" in body:
        return [], rule
    typed = ["--type-add", f"stoaglob:{body}", "-t", "stoaglob"]
    return ([*typed, "--max-depth", "1"] if anchored else typed), None


# ---- the pure-Python walker (fallback) -----------------------------------------------------


@dataclass
class _Ignores:
    """Ignore rules in force for one directory, in order (later rules win).

    Each rule carries the base it is relative to: ``""`` for the search root, ``"a/b"`` for a
    directory below it, or ``"\x00p/q"`` for an ancestor of the root, where ``p/q`` is the root
    relative to that ancestor.
    """

    rules: list[tuple[str, GlobRule]] = field(default_factory=list)

    def child(self, base: str, directory: str) -> _Ignores:
        added = [(base, rule) for rule in _read_ignore_files(directory)]
        return _Ignores(self.rules + added) if added else self

    def ignored(self, rel: str, is_dir: bool) -> bool:
        verdict = False
        for base, rule in self.rules:
            if base.startswith("\x00"):
                sub = f"{base[1:]}/{rel}"
            elif base:
                if not rel.startswith(base + "/"):
                    continue
                sub = rel[len(base) + 1 :]
            else:
                sub = rel
            if rule.matches(sub, is_dir):
                verdict = not rule.negate
        return verdict


def _read_ignore_files(directory: str) -> list[GlobRule]:
    rules: list[GlobRule] = []
    for name in _IGNORE_FILES:
        try:
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.rstrip()
            if line and not line.startswith("#"):
                rule = GlobRule.parse(line)
                if rule is not None:
                    rules.append(rule)
    return rules


def _ancestor_ignores(root: Path, workspace: Path) -> _Ignores:
    """Ignore files of the directories above the search root, up to the workspace root (as
    ripgrep reads parent ignore files)."""
    ignores = _Ignores()
    if root == workspace or not is_inside(root, workspace):
        return ignores
    parts = root.relative_to(workspace).parts
    directory = workspace
    for index in range(len(parts)):
        prefix = "/".join(parts[index:])
        ignores.rules += [("\x00" + prefix, rule) for rule in _read_ignore_files(str(directory))]
        directory = directory / parts[index]
    return ignores


class WalkTimeout(Exception):
    """The pure-Python walk ran past its deadline."""


def walk_files(
    root: Path,
    workspace: Path,
    *,
    include: GlobRule | None,
    excludes: list[str],
    use_ignore_files: bool,
    deadline: float | None = None,
) -> Iterator[tuple[str, os.stat_result]]:
    """Files under ``root`` as (relative path, lstat), the way ``rg --files --hidden`` walks.

    Raises ``WalkTimeout`` once ``time.monotonic()`` passes ``deadline``."""
    exclude_rules = [r for r in (GlobRule.parse(e) for e in excludes) if r is not None]
    base_ignores = _ancestor_ignores(root, workspace) if use_ignore_files else _Ignores()

    def excluded(rel: str, is_dir: bool, ignores: _Ignores) -> bool:
        if any(r.matches(rel, is_dir) for r in exclude_rules):
            return True
        return use_ignore_files and ignores.ignored(rel, is_dir)

    stack: list[tuple[str, _Ignores]] = [("", base_ignores)]
    while stack:
        if deadline is not None and time.monotonic() > deadline:
            raise WalkTimeout
        rel_dir, ignores = stack.pop()
        directory = os.path.join(root, rel_dir) if rel_dir else str(root)
        if use_ignore_files:
            ignores = ignores.child(rel_dir, directory)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                continue  # like rg without -L: links are not followed
            if stat.S_ISDIR(st.st_mode):
                if not excluded(rel, True, ignores):
                    subdirs.append((rel, ignores))
                continue
            if not stat.S_ISREG(st.st_mode) or excluded(rel, False, ignores):
                continue
            if include is not None and not include.matches(rel, False):
                continue
            yield rel, st
        stack.extend(reversed(subdirs))


def _check_text(value: str, what: str) -> None:
    """Refuse text that cannot be passed on as UTF-8 (a lone surrogate from a broken escape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ToolError(
            f"{what} holds a character that is not valid Unicode text (at position {exc.start}, "
            "e.g. a lone \\ud800 escape); pass plain text"
        ) from None


# ---- glob_files -----------------------------------------------------------------------------


class GlobFilesArgs(PathArgs):
    pattern: str = Field(
        description=(
            "Glob pattern. Without '/', matches file names at any depth ('*.py', 'test_*.rs'); with '/', "
            "paths from the search directory ('src/*.ts' = directly in src, 'src/**/*.ts' = any depth). "
            "Supports **, *, ?, [abc], {a,b}."
        )
    )
    path: str | None = Field(
        default=None, description="Directory to search in (default: the workspace root)."
    )


@dataclass
class _GlobPlan:
    root: ResolvedPath
    glob: str
    excludes: list[str]


class GlobFiles(Tool):
    name = "glob_files"
    description = (
        "Find files by name pattern, recursively (honours .gitignore; skips .git, node_modules, .venv, "
        f"target, __pycache__ and similar unless the pattern names them). Newest first, at most "
        f"{caps.GLOB_MAX_RESULTS} paths. Use search_code to search file contents."
    )
    Args = GlobFilesArgs
    effect = Effect.READ

    def __init__(self, rg: str | None = "auto") -> None:
        # "auto": find rg at run time; None: always use the pure-Python search; else a path.
        self._rg = rg

    def rg_path(self) -> str | None:
        return find_rg() if self._rg == "auto" else self._rg

    def summary(self, args: Any) -> str:
        return f"{args.pattern}" + (f" in {args.path}" if args.path else "")

    def _plan(self, args: GlobFilesArgs, ctx: ToolContext, checking: bool) -> _GlobPlan:
        pattern = args.pattern
        if not pattern.strip():
            raise ToolError("pattern is empty; pass a glob such as '**/*.py' or 'src/*.ts'")
        if "\x00" in pattern:
            raise ToolError("pattern contains a NUL byte; remove it")
        _check_text(pattern, "pattern")
        if has_byte_escapes(pattern):
            # The names glob_files shows for files that are not UTF-8 (bad\xff.txt) match them.
            pattern = unescape_bytes(pattern)
        prefix, glob = split_pattern(pattern)
        base = args.path if args.path else "."
        joined = os.path.join(base, prefix) if prefix else base
        root = resolve_arg(args, ctx, "path", checking=checking, value=joined)
        return _GlobPlan(root, glob, noise_excludes(glob))

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        plan = self._plan(args, ctx, checking=True)
        return [path_access(plan.root, "read", Effect.READ, "searches")]

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        plan = self._plan(args, ctx, checking=False)
        root = plan.root
        if not root.exists:
            raise not_found(root, "directory")
        if not root.canonical.is_dir():
            raise ToolError(f"{root.display} is a file, not a directory; pass a directory as path")
        rg = self.rg_path()
        # Names of files a deny rule covers are left out, as search_code leaves out their lines.
        keep = deny_filter(ctx, root.canonical, self.name)
        if rg is not None:
            total, newest_first = await self._rg_files(rg, plan, keep)
        else:
            found = await asyncio.to_thread(self._walk, plan, ctx.workspace, keep)
            total, newest_first = len(found), found[: caps.GLOB_MAX_RESULTS]
        return _glob_output(args.pattern, root, total, newest_first)

    async def _rg_files(
        self, rg: str, plan: _GlobPlan, keep: Callable[[str], bool] | None = None
    ) -> tuple[int, list[str]]:
        """List with rg (parallel, ignore-aware) and stat each path in the thread that reads
        rg's output, while rg is still walking; then sort newest first. Cheaper than
        ``rg --sortr modified``, which walks on one thread."""
        argv = [rg, "--files", "--hidden", "--no-require-git", "--no-config", "--null", "--no-messages"]
        glob_args, python_filter = rg_glob_args(plan.glob)
        argv += glob_args
        for name in plan.excludes:
            argv += ["-g", f"!{name}"]
        base = os.fsencode(plan.root.canonical).rstrip(b"/") + b"/"
        found: list[tuple[int, bytes]] = []

        def stat_batch(raws: list[bytes]) -> None:
            # Bytes all the way: only the paths shown are decoded.
            lstat, add = os.lstat, found.append
            for raw in raws:
                rel = raw[2:] if raw.startswith(b"./") else raw
                if (
                    python_filter is not None
                    and python_filter.matches(os.fsdecode(rel), False) == python_filter.negate
                ):
                    continue
                if keep is not None and not keep(os.fsdecode(rel)):
                    continue
                try:
                    add((-lstat(base + rel).st_mtime_ns, rel))
                except OSError:
                    continue  # gone since rg listed it

        ran = await run_rg_listing([*argv, "."], plan.root.canonical, stat_batch, caps.SEARCH_TIMEOUT)
        if ran.timed_out:
            raise _glob_timeout(plan)
        if ran.code not in (0, 1):
            raise ToolError(f"glob_files failed: {rg_error(ran.stderr) or f'rg exited with {ran.code}'}")
        found.sort()
        return len(found), [os.fsdecode(rel) for _, rel in found[: caps.GLOB_MAX_RESULTS]]

    def _walk(self, plan: _GlobPlan, workspace: Path, keep: Callable[[str], bool] | None = None) -> list[str]:
        include = GlobRule.parse(plan.glob) if plan.glob else None
        try:
            found = [
                (-st.st_mtime_ns, rel)
                for rel, st in walk_files(
                    plan.root.canonical,
                    Path(os.path.realpath(workspace)),
                    include=include,
                    excludes=plan.excludes,
                    use_ignore_files=True,
                    deadline=time.monotonic() + caps.SEARCH_TIMEOUT,
                )
                if keep is None or keep(rel)
            ]
        except WalkTimeout:
            raise _glob_timeout(plan) from None
        found.sort()
        return [rel for _, rel in found]


def _glob_timeout(plan: _GlobPlan) -> ToolError:
    return ToolError(
        f"glob_files was stopped after {caps.SEARCH_TIMEOUT:.0f} s: the tree under {plan.root.display} is too "
        "large to list; pass a narrower path or a pattern with a directory prefix"
    )


def _glob_output(pattern: str, root: ResolvedPath, total: int, newest_first: list[str]) -> ToolOutput:
    where = root.display
    if not newest_first:
        text = f"No files match {pattern!r} in {where}."
        return ToolOutput.text(text, display={"kind": "text", "text": text, "language": None})
    base = display_path(root.canonical, root.workspace)
    prefix = "" if base == "." else base.rstrip("/") + "/"
    shown = [_show(prefix + rel) for rel in newest_first[: caps.GLOB_MAX_RESULTS]]
    kept, _ = caps.cap_lines(shown, caps.MODEL_OUTPUT_CHARS, reserve=300)
    lines = list(kept)
    if len(kept) < total:
        lines.append(
            f"[showing {len(kept)} of {total:,} files, newest first; narrow the pattern or the path to see the rest]"
        )
    else:
        lines.append(f"[{total} file{'s' if total != 1 else ''}, newest first]")
    text = "\n".join(lines)
    display_text = "\n".join(shown)
    return ToolOutput.text(text, display={"kind": "text", "text": display_text, "language": None})


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _show(path: str) -> str:
    """A path as shown to the model: JSON-quoted only when it holds control characters."""
    if _CONTROL.search(path):
        import json

        return json.dumps(path)
    return path


# ---- search_code ----------------------------------------------------------------------------


class SearchCodeArgs(PathArgs):
    pattern: str = Field(
        description=(
            "Regular expression to search for (ripgrep / Rust regex syntax, e.g. 'def \\w+_handler', "
            "'TODO|FIXME'). Escape special characters to search for them literally ('foo\\(')."
        )
    )
    path: str | None = Field(
        default=None, description="File or directory to search (default: the workspace root)."
    )
    glob: str | None = Field(
        default=None,
        description="Only search files matching this glob ('*.py', 'src/**/*.ts', '!*_test.go' to exclude).",
    )
    case_insensitive: bool = Field(default=False, description="Match regardless of letter case.")
    include_ignored: bool = Field(
        default=False,
        description="Also search files that .gitignore excludes and noise directories like node_modules.",
    )


@dataclass
class _Hits:
    """Matching lines grouped by file, in arrival order, capped."""

    limit: int
    files: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    count: int = 0
    more: bool = False
    notes: list[str] = field(default_factory=list)

    def add(self, path: str, line_no: int, text: str) -> bool:
        """Record one hit; False once the cap is exceeded (the search can stop)."""
        if self.count >= self.limit:
            self.more = True
            return False
        self.files.setdefault(path, []).append((line_no, text))
        self.count += 1
        return True


class _RgParser:
    """Parses ``rg --null --no-heading -n`` output: ``path NUL lineno : text LF``.

    Paths cannot hold NUL and lines cannot hold LF, so names with newlines or colons parse.
    """

    def __init__(self, hits: _Hits, keep: Callable[[str], bool]) -> None:
        self.hits = hits
        self.keep = keep
        self.buffer = b""

    def feed(self, chunk: bytes) -> bool:
        data = self.buffer + chunk
        pos = 0
        while True:
            nul = data.find(b"\x00", pos)
            if nul < 0:
                # A line with no path (e.g. "binary file matches") ends at LF.
                nl = data.find(b"\n", pos)
                if nl >= 0 and b"\x00" not in data[pos:nl]:
                    note = data[pos:nl].decode("utf-8", "replace").strip()
                    if note:
                        self.hits.notes.append(note)
                    pos = nl + 1
                    continue
                break
            nl = data.find(b"\n", nul)
            if nl < 0:
                break
            raw_path = data[pos:nul]
            rest = data[nul + 1 : nl]
            pos = nl + 1
            colon = rest.find(b":")
            if colon < 0:
                continue
            try:
                line_no = int(rest[:colon])
            except ValueError:
                continue
            path = os.fsdecode(raw_path)
            if path.startswith("./"):
                path = path[2:]
            if not self.keep(path):
                continue
            text = rest[colon + 1 :].decode("utf-8", "replace").rstrip("\r")
            if not self.hits.add(path, line_no, text):
                self.buffer = b""
                return False
        self.buffer = data[pos:]
        return True


def _keep_all(rel: str) -> bool:
    return True


class SearchCode(Tool):
    name = "search_code"
    description = (
        "Search file contents with a regular expression (ripgrep). Returns matching lines with line "
        "numbers, grouped by file; honours .gitignore and skips binary files and noise directories "
        f"unless include_ignored is true. At most {caps.SEARCH_MAX_MATCHES} matching lines per call."
    )
    Args = SearchCodeArgs
    effect = Effect.READ

    def __init__(self, rg: str | None = "auto") -> None:
        # "auto": find rg at run time; None: always use the pure-Python search; else a path.
        self._rg = rg

    def rg_path(self) -> str | None:
        return find_rg() if self._rg == "auto" else self._rg

    def summary(self, args: Any) -> str:
        return str(args.pattern) + (f" in {args.path}" if args.path else "")

    def _root(self, args: SearchCodeArgs, ctx: ToolContext, checking: bool) -> ResolvedPath:
        return resolve_arg(args, ctx, "path", checking=checking, value=args.path or ".")

    def accesses(self, args: Any, ctx: ToolContext) -> list[Access]:
        self._validate(args)
        root = self._root(args, ctx, checking=True)
        return [path_access(root, "read", Effect.READ, "searches")]

    @staticmethod
    def _validate(args: SearchCodeArgs) -> None:
        if args.pattern == "":
            raise ToolError("pattern is empty; pass a regular expression to search for")
        if "\x00" in args.pattern or (args.glob and "\x00" in args.glob):
            raise ToolError("pattern contains a NUL byte; remove it")
        _check_text(args.pattern, "pattern")
        if args.glob:
            _check_text(args.glob, "glob")

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        self._validate(args)
        root = self._root(args, ctx, checking=False)
        if not root.exists:
            raise not_found(root, "path")
        is_file = not root.canonical.is_dir()
        if is_file and not root.canonical.is_file():
            # rg would open a FIFO or device named on its command line and wait on it.
            raise ToolError(
                f"{root.display} is not a regular file or directory (a FIFO, socket or device); "
                "search_code searches files and directories"
            )
        cwd = root.canonical.parent if is_file else root.canonical
        target = root.canonical.name if is_file else "."
        hits = _Hits(caps.SEARCH_MAX_MATCHES)
        keep = deny_filter(ctx, cwd, self.name) or _keep_all
        rg = self.rg_path()
        if rg is not None:
            await self._rg_search(rg, args, cwd, target, hits, keep)
        else:
            await asyncio.to_thread(self._py_search, args, cwd, target, hits, keep, ctx.workspace)
        return _search_output(args, root, cwd, hits)

    async def _rg_search(
        self,
        rg: str,
        args: SearchCodeArgs,
        cwd: Path,
        target: str,
        hits: _Hits,
        keep: Callable[[str], bool],
    ) -> None:
        argv = [
            rg,
            "--no-config",
            "--null",
            "--no-heading",
            "--line-number",
            "--with-filename",
            "--color=never",
            "--hidden",
            "--no-require-git",
            f"--max-columns={caps.SEARCH_LINE_CHARS}",
            "--max-columns-preview",
        ]
        argv.append("--ignore-case" if args.case_insensitive else "--case-sensitive")
        if args.include_ignored:
            argv.append("--no-ignore")
            excludes = [".git"] if ".git" not in _names_in(args.glob) else []
        else:
            excludes = noise_excludes(args.glob)
        glob = unescape_bytes(args.glob) if args.glob and has_byte_escapes(args.glob) else args.glob
        glob_args, python_filter = rg_glob_args(glob) if target == "." else ([], None)
        argv += glob_args
        for name in excludes:
            argv += ["-g", f"!{name}"]
        argv += ["-e", args.pattern, "--", target]
        if python_filter is not None:
            deny_keep, rule = keep, python_filter

            def keep(rel: str) -> bool:
                return rule.matches(rel, False) != rule.negate and deny_keep(rel)

        parser = _RgParser(hits, keep)
        ran = await run_rg(argv, cwd, parser.feed, caps.SEARCH_TIMEOUT)
        if ran.timed_out:
            hits.notes.append(_search_timeout_note())
            return
        if ran.stopped or ran.code in (0, 1):
            return
        code = ran.code
        message = rg_error(ran.stderr)
        if "regex parse error" in message or "error parsing" in message or "regex" in message.lower():
            raise ToolError(
                f"invalid regular expression {args.pattern!r}:\n{message}\n"
                "Fix the pattern (escape special characters such as ( [ { . * + ? with a backslash to "
                "match them literally)"
            )
        if hits.count:
            hits.notes.append("some files could not be searched: " + message.splitlines()[0])
            return
        raise ToolError(f"search_code failed: {message or f'rg exited with {code}'}")

    def _py_search(
        self,
        args: SearchCodeArgs,
        cwd: Path,
        target: str,
        hits: _Hits,
        keep: Callable[[str], bool],
        workspace: Path,
    ) -> None:
        # MULTILINE: the whole-file pre-check must accept whatever a single line would.
        flags = re.MULTILINE | (re.IGNORECASE if args.case_insensitive else 0)
        try:
            regex = re.compile(args.pattern, flags)
        except re.error as exc:
            raise ToolError(
                f"invalid regular expression {args.pattern!r}: {exc}. Fix the pattern (escape special "
                "characters such as ( [ { . * + ? with a backslash to match them literally)"
            ) from None
        if target != ".":
            files: Iterator[str] = iter([target])
        else:
            if args.include_ignored:
                excludes = [".git"] if ".git" not in _names_in(args.glob) else []
            else:
                excludes = noise_excludes(args.glob)
            include = None
            if args.glob:
                rule = GlobRule.parse(args.glob)
                if rule is not None and rule.negate:
                    excludes = [*excludes, args.glob[1:]]
                else:
                    include = rule
            files = (
                rel
                for rel, _ in walk_files(
                    cwd,
                    Path(os.path.realpath(workspace)),
                    include=include,
                    excludes=excludes,
                    use_ignore_files=not args.include_ignored,
                    deadline=time.monotonic() + caps.SEARCH_TIMEOUT,
                )
            )
        try:
            self._py_scan(files, cwd, regex, hits, keep)
        except WalkTimeout:
            hits.notes.append(_search_timeout_note())

    @staticmethod
    def _py_scan(
        files: Iterator[str], cwd: Path, regex: re.Pattern[str], hits: _Hits, keep: Callable[[str], bool]
    ) -> None:
        for rel in files:
            if not keep(rel):
                continue
            path = os.path.join(cwd, rel)
            try:
                if os.path.getsize(path) > caps.SEARCH_FALLBACK_MAX_FILE_BYTES:
                    continue
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            if b"\x00" in data[:8192]:
                continue
            text = data.decode("utf-8", "replace")
            if regex.search(text) is None:
                continue
            for number, line in enumerate(text.split("\n"), start=1):
                if regex.search(line):
                    line = line.removesuffix("\r")
                    if len(line.encode("utf-8")) > caps.SEARCH_LINE_CHARS:
                        line = line.encode("utf-8")[: caps.SEARCH_LINE_CHARS].decode("utf-8", "ignore")
                        line += " [... omitted end of long line]"
                    if not hits.add(rel, number, line):
                        return


def _search_timeout_note() -> str:
    return (
        f"the search was stopped after {caps.SEARCH_TIMEOUT:.0f} s, so results may be incomplete; "
        "narrow it with path or glob"
    )


def _search_output(args: SearchCodeArgs, root: ResolvedPath, cwd: Path, hits: _Hits) -> ToolOutput:
    where = root.display
    if not hits.count:
        text = f"No matches for {args.pattern!r} in {where}."
        if hits.notes:
            text += "\n[" + "; ".join(hits.notes[:3]) + "]"
        return ToolOutput.text(text, display={"kind": "text", "text": text, "language": None})
    blocks: list[str] = []
    for rel in sorted(hits.files):
        shown = _show(display_path(Path(os.path.join(cwd, rel)), root.workspace))
        body = "\n".join(
            f"{n}:{caps.cap_line(t, caps.SEARCH_LINE_CHARS + 40)}" for n, t in sorted(hits.files[rel])
        )
        blocks.append(f"{shown}\n{body}")
    full = "\n\n".join(blocks)
    lines = full.split("\n")
    kept, dropped = caps.cap_lines(lines, caps.MODEL_OUTPUT_CHARS, reserve=400)
    files = len(hits.files)
    if hits.more or dropped:
        shown_count = hits.count if not dropped else sum(1 for ln in kept if ln[:1].isdigit())
        summary = (
            f"[showing the first {shown_count} matches; there are more. Narrow the search with path, glob "
            "or a more specific pattern]"
        )
    else:
        summary = f"[{hits.count} match{'es' if hits.count != 1 else ''} in {files} file{'s' if files != 1 else ''}]"
    notes = f"\n[{'; '.join(hits.notes[:3])}]" if hits.notes else ""
    text = "\n".join(kept) + "\n\n" + summary + notes
    return ToolOutput.text(
        text, display={"kind": "text", "text": full[: caps.DISPLAY_CHARS], "language": None}
    )


def search_tools() -> list[Tool]:
    return [GlobFiles(), SearchCode()]
