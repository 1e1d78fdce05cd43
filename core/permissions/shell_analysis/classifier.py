"""From a simple command to its finding: the command name, the judge, the verdict.

``Classifier`` is the analyzer layer the walker hands every simple command to (``simple``). It
works out what program the name really runs (dynamic, quoted or pattern names; ``/usr/bin/rm``
is ``rm``; a program in the workspace shadowing a name on PATH), refuses FORBIDDEN programs,
asks the registry for the program's judge (judges/), and records the verdict as a ``Finding``,
adding what holds for every command: the current folder outside the workspace, writes to
protected files (.git, .stoa) and to device files. Programs without a judge are ``unknown``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from stoa.core.permissions.shell_analysis import judges  # noqa: F401  (registers every judge)
from stoa.core.permissions.shell_analysis.command import VERDICT_ORDER, Cmd, Verdict, chain_via, strip_version
from stoa.core.permissions.shell_analysis.findings import KIND_ORDER, Finding, PathUse
from stoa.core.permissions.shell_analysis.judges.git import git_argv_for_rules
from stoa.core.permissions.shell_analysis.judges.proc_env import ENVIRON_PATH, ENVIRON_REASON, names_environ
from stoa.core.permissions.shell_analysis.path_uses import PathReader, within
from stoa.core.permissions.shell_analysis.registry import judge_for
from stoa.core.permissions.shell_analysis.sensitive import device_kind, protected_write_reason
from stoa.core.permissions.shell_analysis.tables import (
    BUILTINS,
    FORBIDDEN,
    PROJECT_TOOLS,
    STD_BIN_DIRS,
    TAIL_COMMANDS,
    TOOL_BIN_DIRS,
)
from stoa.core.permissions.shell_analysis.words import Word


class Classifier(PathReader):
    """Judges simple commands; the walker (walker.py) feeds it and reads nested lines."""

    def analyze(self, source: str, via: str = "", depth: int = 0) -> None:
        """Read a whole command line (``bash -c`` strings, ``eval``): the walker does."""
        raise NotImplementedError

    def _add(self, cmd: Cmd, verdict: Verdict, argv: Sequence[str | None]) -> None:
        paths = list(verdict.paths)
        if self.cwd is None or (self.cwd != self.workspace and not within(self.cwd, self.workspace)):
            # Runs in a directory outside the workspace (after cd): everything it does is there.
            cwd_use = PathUse(".", self.cwd, write=verdict.kind != "read", outside=self.cwd is not None)
            if verdict.kind not in ("forbidden",) and cwd_use not in paths:
                paths.append(cwd_use)
        for p in paths:
            if p.write and p.path is not None and not p.outside:
                reason = protected_write_reason(p.path, self.workspace)
                if reason and VERDICT_ORDER[verdict.kind] < KIND_ORDER["destructive"]:
                    verdict.raise_to("risky", reason)
                elif reason and reason not in verdict.reasons:
                    verdict.reasons.append(reason)
            if p.write and p.path is not None and device_kind(p.path) == "forbidden":
                verdict.raise_to("forbidden", f"writes to a device or kernel file: {p.path}")
        self.findings.append(
            Finding(
                kind=verdict.kind,
                reasons=tuple(verdict.reasons),
                paths=tuple(paths),
                argv=tuple(argv),
                text=cmd.text,
                via=cmd.via,
                sandbox_ok=verdict.sandbox_ok,
            )
        )

    def simple(self, cmd: Cmd, depth: int) -> None:
        first = cmd.words[0]
        environ = names_environ((w.value if w.value is not None else w.raw for w in cmd.words[1:]), self.cwd)
        if environ is not None:
            # Whatever the program (an option's value, inline code, a glob): a read of other
            # processes' environments, asked in every mode with no rule offered (proc_env.py).
            use = PathUse(environ, ENVIRON_PATH, write=False, outside=True)
            argv_env: list[str | None] = [w.value for w in cmd.words]
            self._add(cmd, Verdict("read", [ENVIRON_REASON.format(text=environ)], [use]), argv_env)
        name_raw = first.value
        reasons: list[str] = []
        if name_raw is None or first.expanded:
            # The name is not a literal: no rule may match it by name.
            argv_dyn: list[str | None] = [None, *[w.value for w in cmd.words[1:]]]
            verdict = Verdict("risky", [f"the command name comes from a variable or substitution ({first.raw})"])
            self._add(cmd, verdict, argv_dyn)
            if name_raw is not None:
                # Still judge what it resolves to, so a forbidden command stays forbidden.
                resolved = Cmd([Word(name_raw, first.raw), *cmd.words[1:]], cmd.text, cmd.via)
                self.simple(resolved, depth)
            return
        if first.glob:
            argv_glob: list[str | None] = [None, *[w.value for w in cmd.words[1:]]]
            self._add(cmd, Verdict("risky", [f"the command name is a file pattern ({first.raw})"]), argv_glob)
            return
        if first.quoted:
            reasons.append(f"the command name is written with quotes or escapes ({first.raw})")
        name = self._normalize_name(name_raw)
        shadow = self._shadowed(name) if "/" not in name else None
        if shadow is not None and self._normalize_name(shadow) != name:
            reasons.append(f"{name} here is {shadow}, a program in the workspace")
            name = shadow
        if name in self.functions:
            reasons.append(f"calls the shell function {name}")
        for word in cmd.words[1:]:
            if word.glob and word.value is not None:
                dashed = [m for m in self.glob_matches(word.value) or () if m.startswith("-")]
                if dashed:
                    reasons.append(f"the pattern {word.raw} matches a file named {dashed[0]!r}, which {name} would take as an option")
        verdict = self.classify(name, cmd, depth)
        for reason in reasons:
            if VERDICT_ORDER[verdict.kind] < KIND_ORDER["destructive"]:
                verdict.raise_to("risky", reason)
            elif reason not in verdict.reasons:
                verdict.reasons.append(reason)
        argv: list[str | None] = [name, *[w.value for w in cmd.words[1:]]]
        if name == "git":
            argv = git_argv_for_rules(argv)
        if verdict.kind == "skip":  # type: ignore[comparison-overlap]
            return
        self._add(cmd, verdict, argv)

    def _normalize_name(self, name: str) -> str:
        if "/" not in name:
            return strip_version(name)
        directory, base = os.path.split(name)
        if name.startswith("/"):
            directory = os.path.normpath(directory)
            if directory.startswith("//"):
                directory = "/" + directory.lstrip("/")
        if directory in STD_BIN_DIRS:
            return strip_version(base)
        if any(f"/{directory}".endswith(d) for d in TOOL_BIN_DIRS) and strip_version(base) in PROJECT_TOOLS:
            # A project's own tool (.venv/bin/pytest) counts as that tool, but only inside
            # the workspace (/tmp/x/node_modules/.bin/pytest is not pytest), and only for
            # tools a project installs: .venv/bin/ls is a program of the project, not ls.
            use = self.path_use(directory, write=False)
            if use.path is not None and not use.outside:
                return strip_version(base)
        return name

    def _shadowed(self, name: str) -> str | None:
        """The file a bare command name runs when the search path leads into the workspace
        first (PATH=.venv/bin:... with a .venv/bin/git written there): None otherwise."""
        if name in BUILTINS or name in self.functions:
            return None
        for entry in (self.env.get("PATH") or "").split(":"):
            folder = entry or "."
            if not folder.startswith("/"):
                if self.cwd is None:
                    return None
                folder = os.path.join(self.cwd, folder)
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                real = os.path.realpath(candidate)
                if within(os.path.realpath(folder), self.workspace) or within(real, self.workspace):
                    return candidate
                return None
        return None

    def classify(self, name: str, cmd: Cmd, depth: int) -> Verdict:
        args = cmd.words[1:]
        base = os.path.basename(name)
        if base in FORBIDDEN or base.startswith(("mkfs.", "mkfs_", "fsck")):
            return Verdict("forbidden", [f"{base} is never run by the agent"])
        if "/" in name:
            # A program named by its path: at least unknown, and no better than what its
            # name says (/opt/x/rm is judged as rm too).
            verdict = self._path_command(name, cmd)
            if base and base not in (".", ".."):
                named = self.classify(base, Cmd([Word(base, base), *args], cmd.text, cmd.via), depth)
                if named.kind != "skip":  # type: ignore[comparison-overlap]
                    verdict.raise_to(named.kind)
                    verdict.reasons.extend(r for r in named.reasons if r not in verdict.reasons)
                    verdict.paths.extend(p for p in named.paths if p not in verdict.paths)
                    verdict.sandbox_ok = verdict.sandbox_ok and named.sandbox_ok
            return verdict
        judge = judge_for(name)
        if judge is not None:
            return judge(self, name, cmd, depth)
        # No judge, in no table: a program we do not know.
        paths, _ = self.paths(args, write=True)
        self._wrapped_tail(name, cmd, depth)
        return Verdict("unknown", [f"{name} is not a command Stoa knows"], paths)

    def _wrapped_tail(self, name: str, cmd: Cmd, depth: int) -> None:
        """An unknown program may be a wrapper (setarch x86_64 rm -rf src, fakeroot rm ...):
        the first argument that names a command that can change things is judged as the
        command it would run. (Unknown programs run inside the sandbox, where the workspace
        is writable, so what they run must still be seen.)"""
        args = cmd.words[1:]
        for index, word in enumerate(args):
            value = word.value
            if value is None or value.startswith("-") or "=" in value:
                continue
            base = strip_version(os.path.basename(value))
            if base in TAIL_COMMANDS and ("/" not in value or os.path.dirname(value) in STD_BIN_DIRS):
                self.simple(Cmd(list(args[index:]), cmd.text, chain_via(cmd.via, name)), depth)
                return

    def _path_command(self, name: str, cmd: Cmd) -> Verdict:
        """A program named by its path (./build.sh, /opt/tool/bin/x): runs that file."""
        use = self.path_use(name, write=False)
        paths, _ = self.paths(cmd.words[1:], write=True)
        verdict = Verdict("unknown", [f"runs the program {name}"], [*paths])
        if use.outside and not name.startswith("/"):
            verdict.paths.append(use)
        elif use.path is None:
            verdict.raise_to("unknown")
        return verdict

    def evaluate_string(self, source: str | None, cmd: Cmd, depth: int, how: str) -> Verdict:
        if source is None:
            return Verdict("risky", [f"{how} runs a command string known only at run time"])
        self.nested(source, chain_via(cmd.via, how), depth)
        return Verdict("risky", [f"{how} runs a command string: {source[:80]}"])

    def nested(self, source: str, via: str, depth: int) -> None:
        saved = self.cwd, dict(self.vars), self.depth, self.parsed
        self.analyze(source, via, depth + 1)
        self.cwd, self.vars, self.depth = saved[0], saved[1], saved[2]
        self.parsed = saved[3] and self.parsed
