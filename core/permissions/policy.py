"""The permission policy the agent consults before every tool call.

``PermissionPolicy.decide`` turns (trust mode, tool effect, the call's accesses, rules) into
allow / ask / deny. Every single judgement is the pure function ``core.permissions.modes.decide``;
this class holds the state around it: the current mode, the loaded rules, the rules granted
for this session, whether shell commands run inside the OS sandbox, and where "always"
approvals are written (``.stoa/config.local.toml``).

A call may touch several things (a shell line holds several commands; a directory delete one
access per entry): each is judged on its own and the strictest answer wins. When the answer is
"ask", the verdict carries the narrowest rules that would have allowed it (``Bash(git push:*)``,
``Write(notes/todo.md)``, workspace-relative inside the workspace), which headless mode names
in its refusal and "always" persists. Deleting is its own decision: no allow rule (a Write rule
included) lets a delete run unasked, so none is suggested for one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stoa.core.escapes import escape_surrogates
from stoa.core.permissions import modes
from stoa.core.permissions.modes import MODES, Action, Certainty, Mode
from stoa.core.permissions.rules import (
    DenyScope,
    Rule,
    RuleError,
    RuleFileError,
    RuleList,
    RuleProblem,
    RuleSet,
    append_allow_rule,
    parse_rule,
)
from stoa.core.permissions.runners import AgentChanges
from stoa.core.tools.base import Access, Effect

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis import Finding, ShellAnalysis
    from stoa.core.sandbox import SandboxStatus

__all__ = ["MODES", "Action", "DenyRulesUnreadable", "PermissionPolicy", "Verdict"]

log = logging.getLogger(__name__)

# The shell analysis' kinds as certainty for the decision table.
_CERTAINTY: dict[str, Certainty] = {
    "read": "vetted",
    "build": "vetted",
    "write": "known",
    "unknown": "unknown",
    "destructive": "known",
    "risky": "risky",
    "forbidden": "forbidden",
}
_SEVERITY = {Effect.NONE: 0, Effect.READ: 1, Effect.NETWORK: 1, Effect.MUTATE: 2, Effect.DESTRUCTIVE: 3}


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str = ""
    # The narrowest rule(s) that would allow the call, as one string ("A, B" for several).
    suggested_rule: str | None = None
    # Whether "session"/"always" may be offered (never for destructive one-offs).
    can_remember: bool = True
    # The same rules, one per entry: what "session" adds and "always" writes.
    rules: tuple[str, ...] = ()


class DenyRulesUnreadable(Exception):
    """An entry of ``[permissions]`` that may have been a deny rule could not be read. A deny
    rule that does not parse protects nothing, so whatever shows many files at once (search,
    glob, listings) is refused until it is fixed: it would show what the rule meant to hide."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"{problems[0]}{more}. A deny rule that cannot be read protects nothing; fix or remove it"
        )


@dataclass(frozen=True)
class _Item:
    """The judgement of one thing a call touches."""

    action: Action
    reason: str = ""
    rules: tuple[str, ...] = ()
    rememberable: bool = True
    # Remembered by tool name (a tool call without accesses: no rule syntax names it).
    by_tool: bool = False


class PermissionPolicy:
    """Mode + rules + session approvals + sandbox. The agent calls ``decide`` / ``remember``;
    the TUI calls ``set_mode``; the registry reads ``mode``."""

    def __init__(
        self,
        mode: str = "auto",
        *,
        rules: RuleSet | None = None,
        workspace: Path | str | None = None,
        home: Path | str | None = None,
        sandbox: SandboxStatus | None = None,
        local_config: Path | None = None,
        problems: list[RuleProblem] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.mode: Mode = modes.check_mode(mode)
        self.rules = rules or RuleSet()
        self.session = RuleSet()
        self.workspace = Path(os.path.realpath(workspace)) if workspace is not None else None
        self.home = Path(home) if home is not None else None
        self.sandbox = sandbox
        self.env = env
        if local_config is None and self.workspace is not None:
            local_config = self.workspace / ".stoa" / "config.local.toml"
        self.local_config = local_config
        self.problems: list[RuleProblem] = list(problems or [])
        # Tools without accesses approved for the session (their calls have no rule syntax).
        self._session_tools: set[str] = set()
        self._last: dict[tuple[Any, ...], Verdict] = {}
        # The last failure to write an "always" rule (the rule still holds for this session).
        self.persist_error: str | None = None
        # What the agent changed in this session (build/test runners ask after it, unsandboxed).
        self.changes = AgentChanges(str(self.workspace) if self.workspace is not None else None)

    # ---- mode ---------------------------------------------------------------------------------

    def set_mode(self, mode: str) -> Mode:
        """Switch trust mode (``/mode``, ``/safe``, ``/normal``, Shift+Tab). Raises ValueError."""
        self.mode = modes.check_mode(mode)
        return self.mode

    def cycle_mode(self) -> Mode:
        return self.set_mode(modes.next_mode(self.mode))

    @property
    def sandboxed(self) -> bool:
        """Shell commands that can be sandboxed run inside bubblewrap."""
        return self.sandbox is not None and self.sandbox.active

    # ---- deciding -----------------------------------------------------------------------------

    def deny_scope(self) -> DenyScope:
        """What the deny rules keep from reading, for tools that list or search many files.
        Fails closed: raises ``DenyRulesUnreadable`` while an entry that may have been a deny
        rule could not be read."""
        broken = [problem for problem in self.problems if problem.may_hide_a_deny_rule]
        if broken:
            raise DenyRulesUnreadable(broken)
        return DenyScope(tuple(r for r in self.rules.deny if r.tool in ("Read", "Write")))

    def decide(self, tool_name: str, effect: Effect, accesses: list[Access]) -> Verdict:
        items: list[_Item] = []
        if not accesses:
            items.append(self._plain(tool_name, effect))
        for access in accesses:
            if access.scope == "bash":
                items.extend(self._bash(tool_name, access))
            elif access.scope in ("read", "write"):
                items.append(self._path(tool_name, effect, access))
            elif access.scope == "mcp":
                items.append(self._mcp(tool_name, access))
            else:
                items.append(self._plain(tool_name, access.effect, access.reason))
        verdict = _combine(items)
        self._last[_key(tool_name, accesses)] = verdict
        if len(self._last) > 64:
            self._last.pop(next(iter(self._last)))
        return verdict

    def readable_without_asking(self, tool_name: str, accesses: list[Access]) -> bool:
        """Whether every path a call touches could be read without a question: then a tool may
        check its preconditions (the file exists, the text to replace is there) before anyone
        is asked, and its answer tells the model nothing it could not read anyway. Where a
        read would ask or is denied, such an answer would leak what is there."""
        for access in accesses:
            if access.scope in ("read", "write"):
                as_read = Access(
                    scope="read",
                    target=access.target,
                    effect=Effect.READ,
                    outside_workspace=access.outside_workspace,
                )
                if self._path(tool_name, Effect.READ, as_read).action != "allow":
                    return False
        return True

    def remember(self, tool_name: str, accesses: list[Access], outcome: str) -> None:
        """Record a person's approval: "session" allows the same again for this session,
        "always" also writes the rules to ``.stoa/config.local.toml``."""
        if outcome not in ("session", "always"):
            return
        verdict = self._last.get(_key(tool_name, accesses))
        if verdict is None:
            effect = max((a.effect for a in accesses), key=_SEVERITY.__getitem__, default=Effect.MUTATE)
            verdict = self.decide(tool_name, effect, accesses)
        if not verdict.can_remember:
            return
        if not accesses:
            self._session_tools.add(tool_name)
            return
        for text in verdict.rules:
            self.allow(text, persist=outcome == "always")

    def allow(self, text: str, *, persist: bool = False) -> Rule:
        """Add an allow rule for this session (and to the personal config file if ``persist``).
        Raises RuleError for a malformed rule."""
        workspace = self.workspace or Path.cwd()
        rule = parse_rule(text, workspace=workspace, home=self.home, source="session")
        self.session.add("allow", rule)
        if persist and self.local_config is not None:
            try:
                append_allow_rule(self.local_config, rule.text)
                self.persist_error = None
            except (RuleFileError, OSError) as exc:
                self.persist_error = str(exc)
                log.warning("could not save permission rule: %s", exc)
        return rule

    def allow_for_now(self, texts: Iterable[str]) -> Callable[[], None]:
        """Allow rules until the returned function is called (a custom command's allowed-tools,
        for its turn only); rules already allowed for the session stay. Configured deny and ask
        rules still win. Raises RuleError for a malformed rule (nothing is added then)."""
        workspace = self.workspace or Path.cwd()
        rules = [parse_rule(text, workspace=workspace, home=self.home, source="command") for text in texts]
        added = []
        for rule in rules:
            if all(existing.text != rule.text for existing in self.session.allow):
                self.session.allow.append(rule)
                added.append(rule)

        def revoke() -> None:
            for rule in added:
                if rule in self.session.allow:
                    self.session.allow.remove(rule)

        return revoke

    # ---- the kinds of access ------------------------------------------------------------------

    def _match(self, find: Callable[[RuleSet], tuple[RuleList, Rule] | None]) -> tuple[RuleList, Rule] | None:
        """Configured deny/ask first, then session approvals, then configured allow."""
        found = find(self.rules)
        if found is not None and found[0] in ("deny", "ask"):
            return found
        return find(self.session) or found

    def _plain(self, tool_name: str, effect: Effect, detail: str = "") -> _Item:
        action = modes.decide(self.mode, effect)
        if action == "ask" and tool_name in self._session_tools:
            action = "allow"
        if action == "allow":
            return _Item("allow")
        if action == "deny":
            return _Item("deny", _plan_reason(tool_name))
        if effect is Effect.DESTRUCTIVE:
            return _Item("ask", detail or f"{tool_name} is destructive", rememberable=False)
        return _Item("ask", detail or _ask_mode_reason(tool_name), by_tool=True)

    def _path(self, tool_name: str, tool_effect: Effect, access: Access) -> _Item:
        write = access.scope == "write"
        effect = access.effect
        if write and _SEVERITY[tool_effect] > _SEVERITY[effect]:
            effect = tool_effect
        path = access.target
        found = self._match(lambda rules: rules.match_path(path, write=write))
        if found is not None and found[0] == "allow" and effect is Effect.DESTRUCTIVE:
            # Deleting is its own decision: Write(...) allows changing a file, never deleting
            # it (deny and ask rules still apply). Deletes ask in ask and auto mode.
            found = None
        which = found[0] if found else None
        certainty: Certainty = "known"
        protected = None
        if write and not access.outside_workspace and self.workspace is not None:
            from stoa.core.permissions.shell_analysis import protected_write_reason

            protected = protected_write_reason(path, self.workspace)
            if protected:
                certainty = "risky"
        action = modes.decide(self.mode, effect, outside=access.outside_workspace, rule=which, certainty=certainty)
        if action == "allow":
            return _Item("allow")
        if action == "deny":
            if which == "deny" and found:
                return _Item("deny", _rule_reason(found[1], "denies"))
            return _Item("deny", _plan_reason(tool_name))
        if which == "ask" and found:
            return _Item("ask", _rule_reason(found[1], "asks for"), (), rememberable=False)
        if protected:
            reason = f"{tool_name} {protected}: {path}"
        elif access.outside_workspace:
            reason = access.reason or f"{'writes' if write else 'reads'} outside the workspace: {path}"
        elif effect is Effect.DESTRUCTIVE:
            reason = access.reason or f"{tool_name} deletes {path}"
        else:
            reason = access.reason or f"{_ask_mode_reason(tool_name)}: {path}"
        if effect is Effect.DESTRUCTIVE:
            # No rule allows a delete, so none is suggested (headless must not offer one).
            return _Item("ask", reason, (), rememberable=False)
        rule = self._path_rule("Write" if write else "Read", path)
        return _Item("ask", reason, (rule,) if rule else ())

    def _path_rule(self, tool: str, path: str) -> str | None:
        """The narrowest rule naming ``path`` (and everything below it, for a folder). Inside the
        workspace it is written relative to it (``Write(notes/todo.md)``), so the personal config
        stays true when the project moves; elsewhere it is absolute. None when no rule can name
        exactly this path (a name with ``*`` or ``?``, or one the rule syntax cannot hold)."""
        if not path or "*" in path or "?" in path:
            return None
        folder = os.path.isdir(path) and not path.endswith("/")
        text = path
        workspace = self.workspace or Path.cwd()
        if self.workspace is not None and _inside(path, str(self.workspace)):
            relative = os.path.relpath(path, self.workspace)
            text = "." if relative == "." else (relative if not relative.startswith("~") else f"./{relative}")
        # A name that is not UTF-8 is written with \xNN escapes (core/escapes.py), which rules
        # read as the byte: the rule can be shown, saved as TOML, and still names this file.
        text = escape_surrogates(text)
        candidate = f"{tool}({text}/**)" if folder else f"{tool}({text})"
        try:
            rule = parse_rule(candidate, workspace=workspace, home=self.home)
        except RuleError:
            return None
        return candidate if rule.matches_path(path) else None

    def _mcp(self, tool_name: str, access: Access) -> _Item:
        target = access.target
        found = self._match(lambda rules: rules.match_mcp(target))
        which = found[0] if found else None
        read_only = access.read_only
        effect = Effect.READ if read_only and not access.effect.read_only else access.effect
        # A server we cannot see into: its changes are never sandboxed, so auto mode asks.
        certainty: Certainty = "known" if read_only else "unknown"
        if self.mode == "plan" and not effect.read_only and access.safe_mode == "allow":
            # The person opted this server into plan mode: each call asks instead of being
            # refused (deny rules still refuse; allow rules do not skip the question here).
            if which == "deny" and found:
                return _Item("deny", _rule_reason(found[1], "denies"))
            reason = f"{target} may change things and the session is in plan mode (the server has safe_mode = \"allow\")"
            return _Item("ask", reason, (f"Mcp({target})",), rememberable=False)
        action = modes.decide(self.mode, effect, rule=which, certainty=certainty, sandboxed=False)
        if action == "allow":
            return _Item("allow")
        if action == "deny":
            if which == "deny" and found:
                return _Item("deny", _rule_reason(found[1], "denies"))
            return _Item("deny", _plan_reason(tool_name))
        if which == "ask" and found:
            return _Item("ask", _rule_reason(found[1], "asks for"), (), rememberable=False)
        server = access.server or target.split("___", 1)[0]
        reason = access.reason or f"{target} is a tool of the MCP server {server} that may change things"
        return _Item("ask", reason, (f"Mcp({target})",))

    def _bash(self, tool_name: str, access: Access) -> list[_Item]:
        from stoa.core.permissions.shell_analysis import DESTRUCTIVE, KIND_EFFECT, analyze, narrowest_rule

        analysis = access.shell
        line = access.target
        if analysis is None or analysis.command != line:
            workspace = self.workspace or Path.cwd()
            env = self.env if self.env is not None else dict(os.environ)
            analysis = analyze(line, workspace, env=env, home=str(self.home) if self.home else None)
        line_match = self._match(lambda rules: rules.match_line(line))
        sandboxed = self.sandboxed and analysis.sandboxable
        items: list[_Item] = []
        for finding in analysis.findings:
            if finding.argv is not None:
                argv = finding.argv
                cmd_match = self._match(_command_finder(argv, line))
            else:
                cmd_match = line_match
            if cmd_match is not None and not _covers(cmd_match, finding):
                cmd_match = None
            path_match, uncovered = self._bash_paths(finding)
            matches = [m for m in (cmd_match, path_match, line_match) if m is not None]
            which = _strongest(matches)
            kind, runner_note = self._runner(finding, sandboxed, analysis)
            certainty = _CERTAINTY[kind]
            effect = KIND_EFFECT[kind]
            if runner_note and self.mode == "ask":
                certainty = "known"  # ask mode confirms every run of the project's code
            action = modes.decide(
                self.mode, effect, outside=bool(uncovered), rule=which[0] if which else None,
                certainty=certainty, sandboxed=sandboxed,
            )  # fmt: skip
            if action == "allow":
                items.append(_Item("allow"))
                continue
            reason = self._bash_reason(action, finding, which, uncovered, sandboxed, analysis)
            if runner_note and action == "ask" and which is None and not uncovered and finding.kind != "risky":
                reason = runner_note
            if action == "deny":
                items.append(_Item("deny", reason))
                continue
            if which is not None and which[0] == "ask":
                items.append(_Item("ask", reason, (), rememberable=False))
                continue
            inside_only = modes.decide(
                self.mode, effect, outside=False, certainty=certainty, sandboxed=sandboxed
            )
            if uncovered and inside_only == "allow":
                named = [self._path_rule("Write" if p.write else "Read", p.path or "") for p in uncovered]
                # A path no rule may name (another process's environment): none is offered.
                rules = () if None in named else tuple(dict.fromkeys(r for r in named if r))
            else:
                rules = (narrowest_rule(finding, line),)
            name = finding.argv[0] if finding.argv else None
            rememberable = finding.kind not in ("destructive", "forbidden") and name not in DESTRUCTIVE
            items.append(_Item("ask", reason, rules, rememberable))
        return items

    def _runner(self, finding: Finding, sandboxed: bool, analysis: ShellAnalysis) -> tuple[str, str | None]:
        """The kind to judge a command by, and why it asks if it is a runner of project code
        (core/permissions/runners.py): ask mode always confirms one; in auto mode one asks when
        it runs outside the sandbox after the agent changed the workspace in this session."""
        from stoa.core.permissions.runners import changes_files, runs_project_code
        from stoa.core.permissions.shell_analysis import KIND_ORDER

        kind = finding.certainty_kind
        workspace = str(self.workspace) if self.workspace is not None else None
        home = str(self.home) if self.home is not None else None
        if KIND_ORDER[kind] > KIND_ORDER["write"] or not runs_project_code(finding, workspace, home):
            return kind, None
        # make -n still expands $(shell ...): running project code is never read-only.
        kind = "build" if kind == "read" else kind
        what = f"`{_short(finding.text or ' '.join(a or '…' for a in finding.argv or ()), 80)}`"
        if self.mode == "ask":
            return kind, f"{what} runs the project's code and the session is in ask mode"
        # The same line may change files before the runner starts (cp x Makefile && make).
        same_line = [f for f in analysis.findings if f is not finding and changes_files(f)]
        if sandboxed or not (self.changes or same_line):
            return kind, None
        where = (
            "there is no OS sandbox to contain it (install bubblewrap)"
            if not self.sandboxed
            else "this line cannot run inside the sandbox"
        )
        changed = self.changes.describe() if self.changes else f"`{_short(same_line[0].text, 60)}` in this line"
        note = f"{what} runs the project's code, which the agent changed in this session ({changed}), and {where}"
        return "unknown", note

    def will_run(self, tool_name: str, effect: Effect, accesses: list[Access]) -> None:
        """A call is about to run (allowed or approved): remember what it may change, so that
        later runners of project code know the workspace holds the agent's code."""
        self.changes.note(tool_name, effect, accesses)

    def _bash_paths(self, finding: Finding) -> tuple[tuple[RuleList, Rule] | None, list[Any]]:
        """The strongest path rule over a command's paths, and the outside paths no rule covers."""
        found: list[tuple[RuleList, Rule]] = []
        uncovered = []
        for use in finding.paths:
            if use.path is None:
                continue
            path, write = use.path, use.write
            match = self._match(_path_finder(path, write))
            if match is not None:
                found.append(match)
                if match[0] == "allow":
                    continue
            if use.outside:
                uncovered.append(use)
        strongest = _strongest([m for m in found if m[0] != "allow"])
        return strongest, uncovered

    def _bash_reason(
        self,
        action: Action,
        finding: Finding,
        which: tuple[RuleList, Rule] | None,
        uncovered: list[Any],
        sandboxed: bool,
        analysis: ShellAnalysis,
    ) -> str:
        what = finding.text.strip() or analysis.command.strip()
        first = finding.reasons[0] if finding.reasons else ""
        if action == "deny":
            if finding.kind == "forbidden":
                return f"forbidden: {first or what}"
            if which is not None and which[0] == "deny":
                return _rule_reason(which[1], "denies")
            return f"`{_short(what)}` is not read-only and the session is in plan mode (read-only); /mode auto or /mode ask allows changes"
        if which is not None and which[0] == "ask":
            return _rule_reason(which[1], "asks for")
        if finding.kind == "risky":
            return first or f"`{_short(what)}` needs approval"
        if uncovered:
            use = uncovered[0]
            return f"`{_short(what)}` {'writes' if use.write else 'reads'} outside the workspace: {use.path}"
        if finding.kind == "destructive":
            return first or f"`{_short(what)}` is destructive"
        if self.mode == "ask":
            return f"`{_short(what)}` makes changes and the session is in ask mode (--mode auto runs workspace changes without asking)"
        if finding.certainty_kind == "unknown":
            why = first or f"`{_short(what)}` is not a command Stoa knows"
            if self.sandbox is None or not self.sandbox.active:
                return f"{why}, and there is no OS sandbox to contain it"
            return f"{why}, and it cannot run inside the sandbox"
        return first or f"`{_short(what)}` needs approval"


# ---- helpers ------------------------------------------------------------------------------------


def _covers(match: tuple[RuleList, Rule], finding: Finding) -> bool:
    """Whether a matching command rule applies. An allow prefix rule does not stretch to a
    destructive form its words do not name: ``Bash(git push:*)`` (granted for a plain push)
    does not allow ``git push --force``; ``Bash(rm:*)`` does allow ``rm -rf x``."""
    which, rule = match
    if which != "allow" or rule.kind != "prefix" or finding.kind != "destructive":
        return True
    from stoa.core.permissions.shell_analysis import DESTRUCTIVE

    name = finding.argv[0] if finding.argv else None
    return name in DESTRUCTIVE or any(word.startswith("-") for word in rule.words[1:])


def _path_finder(path: str, write: bool) -> Callable[[RuleSet], tuple[RuleList, Rule] | None]:
    return lambda rules: rules.match_path(path, write=write, via_bash=True)


def _command_finder(
    argv: tuple[str | None, ...], line: str
) -> Callable[[RuleSet], tuple[RuleList, Rule] | None]:
    return lambda rules: rules.match_command(argv, line)


def _key(tool_name: str, accesses: list[Access]) -> tuple[Any, ...]:
    return (tool_name, *((a.scope, a.target, a.effect) for a in accesses))


def _combine(items: list[_Item]) -> Verdict:
    action = modes.strictest([i.action for i in items])
    if action == "allow":
        return Verdict("allow")
    chosen = [i for i in items if i.action == action]
    reasons = list(dict.fromkeys(i.reason for i in chosen if i.reason))
    reason = "; ".join(reasons[:3]) + (f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else "")
    if action == "deny":
        return Verdict("deny", reason, can_remember=False)
    rules = _narrow(list(dict.fromkeys(r for i in chosen for r in i.rules)))
    can_remember = all(i.rememberable and (i.rules or i.by_tool) for i in chosen)
    # No rule is suggested when some part of the call has none (another process's environment,
    # an ask rule): the others' rules alone would not let it run without asking.
    complete = all(i.rules or i.by_tool for i in chosen)
    suggested = ", ".join(rules) if rules and complete else None
    return Verdict("ask", reason, suggested, can_remember, tuple(rules))


def _narrow(rules: list[str]) -> list[str]:
    """Drop path rules already covered by a ``/**`` rule of the same kind in the list."""
    trees = [r[:-4] for r in rules if r.endswith("/**)")]
    kept = []
    for rule in rules:
        covered = any(
            rule != tree + "/**)" and (rule[:-1] == tree or rule.startswith(tree + "/")) for tree in trees
        )
        if not covered:
            kept.append(rule)
    return kept


def _strongest(matches: list[tuple[RuleList, Rule]]) -> tuple[RuleList, Rule] | None:
    for which in ("deny", "ask", "allow"):
        for match in matches:
            if match[0] == which:
                return match
    return None


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _rule_reason(rule: Rule, verb: str) -> str:
    where = f" in {rule.source}" if rule.source and rule.source != "session" else ""
    return f"the rule {rule.text}{where} {verb} this"


def _plan_reason(tool_name: str) -> str:
    return (
        f"{tool_name} changes things and the session is in plan mode (read-only); "
        "/mode auto or /mode ask allows changes"
    )


def _ask_mode_reason(tool_name: str) -> str:
    return f"{tool_name} makes changes and the session is in ask mode"


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

