"""Which paths a command's words touch, and whether they lead out of the workspace.

``PathReader`` is the analyzer layer that turns words into ``PathUse``s: canonical paths
(``~``, ``..``, symbolic links, links the line itself creates with ``ln -s``), paths known only
at run time that plainly lead out (``$HOME/x``, ``../x``), file patterns and what they match
now, and the links a command follows while it walks a tree (``grep -R``, ``cp -L``).
Resolution itself is ``core.permissions.paths``.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.findings import PathUse
from stoa.core.permissions.shell_analysis.sensitive import device_kind
from stoa.core.permissions.shell_analysis.tables import FOLLOW, HARMLESS_DEVICES
from stoa.core.permissions.shell_analysis.words import GLOB, Word, WordReader

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.command import Verdict


def default_resolver(value: str, base: str, workspace: str) -> tuple[str, bool]:
    from stoa.core.permissions.paths import resolve

    resolved = resolve(value, workspace, base=base)
    return str(resolved.canonical), resolved.inside_workspace


class PathReader(WordReader):
    """Path uses of words, seen from the current folder of the line."""

    def path_use(self, value: str, *, write: bool) -> PathUse:
        if not value or len(value) > 4096 or "\n" in value:
            return PathUse(value[:80], None, write)
        device = device_kind(value)
        if device == "harmless" and not write:
            return PathUse(value, value, write, outside=False)
        probe = value
        m = GLOB.search(probe)
        if m:
            probe = probe[: m.start()]
            probe = probe.rsplit("/", 1)[0] if "/" in probe else "."
            if probe == "" and value.startswith("/"):
                probe = "/"
        if not probe.startswith("/") and self.cwd is None:
            return PathUse(value, None, write)
        try:
            canonical, inside = self.resolver(probe, self.cwd or self.workspace, self.workspace)
        except Exception:
            return PathUse(value, None, write)
        if device == "harmless":
            inside = True
        for link, target in self.links.items():
            if canonical == link or canonical.startswith(link + "/"):
                if target.path is None:
                    return PathUse(value, None, write)
                through = target.path + canonical[len(link) :]
                return PathUse(value, through, write, outside=target.outside or not within(through, self.workspace))
        return PathUse(value, canonical, write, outside=not inside)

    def dynamic_use(self, word: Word, write: bool) -> PathUse:
        """A path known only at run time. When its written text, or the text that set the
        variables in it, plainly leads out of the workspace (``~``, ``..``, ``$HOME``, an
        absolute prefix outside it), it counts as outside; else its location is unknown."""
        texts = [word.raw]
        for name in re.findall(r"\$\{?[#!]?(\w+)", word.raw):
            if name in self.hints:
                texts.append(self.hints[name])
        for text in texts:
            where = self._outside_hint(text)
            if where is not None:
                return PathUse(word.raw, where, write, outside=True)
        return PathUse(word.raw, None, write)

    def _outside_hint(self, text: str) -> str | None:
        """Where a run-time path text plainly leads outside the workspace, or None."""
        if re.search(r"\$\{?(HOME|OLDPWD)\b", text) or re.search(r"(^|[\s:=\"'{])~", text):
            return self.home
        if re.search(r"\$\{PWD[%#/]", text):
            return os.path.dirname(self.workspace)
        prefix = re.sub(r"[\"'\\]", "", re.match(r"^[^$`]*", text).group(0))  # type: ignore[union-attr]
        if prefix.startswith("/") and "/" in prefix:
            use = self.path_use(prefix if prefix.endswith("/") else os.path.dirname(prefix) or "/", write=False)
            if use.path is not None and use.outside:
                return use.path
        if re.search(r"(^|[/\s\"'=:{}])\.\.(\\?/|$|[\"'}])", text):
            return os.path.dirname(self.workspace)
        return None

    def paths(self, words: Sequence[Word], *, write: bool, skip: int = 0) -> tuple[list[PathUse], bool]:
        """Path uses for the non-option words (after ``skip`` positional ones); and whether
        some word could not be known statically."""
        uses: list[PathUse] = []
        dynamic = False
        positional = 0
        options_done = False
        for word in words:
            value = word.value
            if value is None:
                dynamic = True
                uses.append(self.dynamic_use(word, write))
                continue
            if not options_done and value == "--":
                options_done = True
                continue
            if not options_done and value.startswith("-") and value != "-":
                if "=" in value:
                    attached = value.split("=", 1)[1]
                    if pathlike(attached):
                        uses.append(self.path_use(attached, write=write))
                elif len(value) > 2 and value[1] != "-" and pathlike(value[2:]) and value[2] in "/~.":
                    uses.append(self.path_use(value[2:], write=write))
                continue
            positional += 1
            if positional <= skip or value == "-":
                continue
            uses.append(self.path_use(value, write=write))
            if word.glob:
                uses.extend(self._glob_outside(value, write))
        return uses, dynamic

    def glob_matches(self, pattern: str, limit: int = 2000) -> list[str] | None:
        """What an unquoted file pattern expands to now (None: too many, or no known cwd)."""
        if self.cwd is None or not GLOB.search(pattern):
            return None
        try:
            found = list(itertools.islice(glob.iglob(pattern, root_dir=self.cwd), limit + 1))
        except (OSError, ValueError, re.error):
            return None
        return found if len(found) <= limit else None

    def _glob_outside(self, pattern: str, write: bool) -> list[PathUse]:
        """The matches of a pattern that lead out of the workspace (``cat *`` in a folder
        holding a symlink to ~/.bashrc reads ~/.bashrc)."""
        out = []
        for match in self.glob_matches(pattern) or ():
            use = self.path_use(match, write=write)
            if use.outside:
                out.append(use)
        return out

    def followed(
        self, name: str, args: Sequence[Word], skip: int = 0, *, always: bool = False, roots: Sequence[Word] | None = None
    ) -> list[PathUse]:
        """Paths outside the workspace a command reaches by following symbolic links found
        while it walks the trees named in ``args`` (grep -R, rg -L, find -L, zip -r, ...)."""
        flags = FOLLOW.get(name, ())
        values = [w.value or "" for w in args]
        follows = always or any(
            v in flags or (len(v) > 2 and v[0] == "-" and v[1] != "-" and any(f[1:] in v[1:] for f in flags if len(f) == 2))
            for v in values
        )
        if not follows:
            return []
        if roots is None:
            roots = [w for w in args if w.value is not None and not w.value.startswith("-")][skip:]
        out: list[PathUse] = []
        for root in roots or [Word(".", ".")]:
            use = self.path_use(root.value or ".", write=False)
            if use.path is None or use.outside:
                continue
            escape = symlink_escape(use.path, self.workspace, self.home)
            if escape == "":
                out.append(PathUse(root.raw, None))
            elif escape is not None:
                out.append(PathUse(root.raw, escape, outside=True))
        return out

    def overwrites(self, verdict: Verdict, uses: Sequence[PathUse], name: str) -> None:
        for use in uses:
            if use.write and use.path and use.path not in HARMLESS_DEVICES and os.path.isfile(use.path):
                verdict.raise_to("destructive", f"{name} overwrites the existing file {use.path}")

    def critical(self, use: PathUse) -> bool:
        """The root, a top-level folder, the home folder, or a folder above the workspace."""
        if use.path is None:
            return False
        top = use.path.rstrip("/") or "/"
        home = self.home.rstrip("/") or "/"
        critical = {"/", home, os.path.dirname(home)}
        parent = os.path.dirname(self.workspace)
        while parent not in ("/", ""):
            critical.add(parent)
            parent = os.path.dirname(parent)
        return top in critical or (use.outside and top.count("/") == 1)


# Under the home folder: where toolchains live whose files a project's links point to
# (.venv/bin/python -> ~/.pyenv/versions/3.11.7/bin/python3); reading them reveals nothing.
_TOOLCHAIN_HOMES = (".pyenv", ".rustup", ".cargo", ".nvm", ".local/share/uv", ".sdkman", ".asdf", ".local/share/mise", ".volta", ".bun")


def symlink_escape(root: str, workspace: str, home: str = "", budget: int = 5000) -> str | None:
    """The first place outside ``workspace`` that a symbolic link under ``root`` leads to and
    that matters: any folder (a walk goes on there), or a file in the home folder outside the
    toolchains (files of the system are no secret). None when there is none, "" when the
    tree is too big to look through."""
    if not os.path.isdir(root):
        return None
    stack = [root]
    seen = 0
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > budget:
                return ""
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if within(target, workspace):
                    continue
                if os.path.isdir(target):
                    return target
                home_root = home.rstrip("/")
                if home_root and within(target, home_root) and not any(
                    within(target, f"{home_root}/{tool}") for tool in _TOOLCHAIN_HOMES
                ):
                    return target
            elif entry.is_dir(follow_symlinks=False) and entry.name != ".git":
                stack.append(entry.path)
    return None


def pathlike(value: str) -> bool:
    return value.startswith(("/", "~", "../")) or value == ".."


def within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
