"""git: what each subcommand does (read, write, destructive, network), git's global options
(-C, -c, --git-dir), where git runs, and repositories nested in the workspace whose
configuration runs programs. ``git stash`` has its own module (git_stash.py)."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.findings import Kind, PathUse
from stoa.core.permissions.shell_analysis.judges.git_stash import stash_kind
from stoa.core.permissions.shell_analysis.path_uses import within
from stoa.core.permissions.shell_analysis.registry import judge

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge("git")
def git(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value for w in args]
    extra_paths: list[PathUse] = []
    i = 0
    while i < len(args):
        v = values[i]
        if v is None:
            return Verdict("risky", ["git with an argument known only at run time before the subcommand"])
        if v in ("-c", "--config-env") or (v.startswith(("-c", "--config-env=", "--exec-path=")) and v not in ("-C",)):
            return Verdict("risky", ["git -c / --config-env / --exec-path change what git runs"])
        if v in ("-C",):
            target = values[i + 1] if i + 1 < len(values) else None
            extra_paths.append(an.path_use(target, write=False) if target else PathUse("", None))
            i += 2
            continue
        if v in ("--git-dir", "--work-tree", "--namespace", "--super-prefix", "--list-cmds"):
            target = values[i + 1] if i + 1 < len(values) else None
            if v in ("--git-dir", "--work-tree"):
                extra_paths.append(an.path_use(target, write=True) if target else PathUse("", None))
            i += 2
            continue
        if v.startswith(("--git-dir=", "--work-tree=")):
            extra_paths.append(an.path_use(v.split("=", 1)[1], write=True))
            i += 1
            continue
        if v.startswith("-"):
            if v in ("--version", "--help", "-h", "--html-path", "--man-path", "--info-path"):
                return Verdict("read")
            i += 1
            continue
        break
    if i >= len(args):
        return Verdict("read")
    sub = values[i] or ""
    rest_words = args[i + 1 :]
    rest = [v or "" for v in values[i + 1 :]]
    # Where git will run: the last -C, else the current folder; None when only known at run
    # time or when --git-dir / --work-tree point elsewhere.
    an.git_dir = an.cwd
    for use in extra_paths:
        an.git_dir = use.path if use.path is not None and not use.write else None
    kind, reasons = git_kind(sub, rest, an)
    write = kind not in ("read",)
    paths, dynamic = an.paths(rest_words, write=write)
    # Relative arguments of git are mostly refs and pathspecs; only explicit out-of-tree
    # paths count (absolute, ~, ..), plus -C and --git-dir style options.
    paths = [p for p in paths if p.path is None or p.outside or p.raw.startswith(("/", "~", ".."))]
    if sub in ("clone",):
        paths = [p for p in paths if not re.match(r"^[\w.+-]+://|^[\w.-]+@[\w.-]+:", p.raw)]
    if dynamic and kind in ("read", "write", "build"):
        kind = "unknown"
    host = sub in _GIT_NEEDS_HOST and kind != "read"
    verdict = Verdict(kind, reasons, [*extra_paths, *paths], sandbox_ok=not host)
    # git obeys the configuration of the repository it finds: one nested in the workspace
    # (unpacked from an archive, or a bare repository committed as plain files) is not the
    # project's own, and its config can run programs on any git command (core.fsmonitor).
    start = next((u.path for u in extra_paths if u.path is not None), None) or an.cwd
    if start is not None and not any(u.path is None for u in extra_paths):
        problem = _foreign_repository(start, an.workspace)
        if problem:
            verdict.raise_to("risky", problem)
    return verdict


def git_kind(sub: str, rest: list[str], analyzer: Classifier) -> tuple[Kind, list[str]]:
    read = {
        "status", "log", "diff", "show", "blame", "annotate", "grep", "shortlog", "describe",
        "rev-parse", "rev-list", "ls-files", "ls-tree", "cat-file", "name-rev", "merge-base",
        "show-ref", "for-each-ref", "count-objects", "whatchanged", "diff-tree", "diff-files",
        "diff-index", "check-ignore", "check-attr", "check-ref-format", "var", "version", "help",
        "show-branch", "cherry", "range-diff", "verify-commit", "verify-tag", "fsck",
        "get-tar-commit-id", "check-mailmap", "column", "merge-tree", "bugreport", "difftool-never",
    }
    opts = [r for r in rest if r.startswith("-")]
    positional = [r for r in rest if not r.startswith("-")]
    if sub == "bisect" and positional[:1] == ["run"]:
        return "risky", ["git bisect run runs a command at every step"]
    if sub == "grep" and any(o.startswith(("-O", "--open-files-in-pager")) for o in opts):
        return "risky", ["git grep -O opens the files with a program"]
    if sub in read:
        if any(o.startswith("--output") for o in opts):
            return "write", []
        if sub == "fsck" and any(o.startswith("--lost-found") for o in opts):
            return "write", []
        return "read", []
    if sub == "branch":
        if any(o in ("-D",) or (o in ("-d", "--delete") and ("-f" in opts or "--force" in opts)) for o in opts):
            return "destructive", ["git branch -D deletes a branch even if it is not merged"]
        if any(o in ("-d", "--delete", "-m", "-M", "-c", "-C", "--move", "--copy", "-u", "--set-upstream-to", "--unset-upstream", "--edit-description", "-f", "--force") or o.startswith("--set-upstream-to") for o in opts) or (
            positional and not any(o in ("--list", "-l", "--contains", "--merged", "--no-merged", "--points-at", "--no-contains") for o in opts)
        ):
            return "write", []
        return "read", []
    if sub == "tag":
        if any(o in ("-d", "--delete") for o in opts):
            return "destructive", ["git tag -d deletes a tag"]
        if positional and not any(o in ("-l", "--list", "-v", "--verify", "--contains", "--points-at", "-n") for o in opts):
            return "write", []
        return "read", []
    if sub == "remote":
        if not positional or positional[0] in ("show", "get-url", "-v"):
            return ("risky", ["git remote show contacts the remote"]) if positional[:1] == ["show"] and "-n" not in opts else ("read", [])
        return "risky", [f"git remote {positional[0]} changes or contacts remotes"]
    if sub == "config":
        if any(o in ("--get", "--get-all", "--get-regexp", "--list", "-l", "--get-urlmatch", "--show-origin", "--show-scope", "--name-only") for o in opts) or positional[:1] in (["get"], ["list"]) or (len(positional) == 1 and not any(o in ("--unset", "--unset-all", "--add", "--replace-all", "--rename-section", "--remove-section", "-e", "--edit") for o in opts)):
            return "read", []
        return "risky", ["git config changes settings that can run programs"]
    if sub == "stash":
        stash, why = stash_kind(rest, analyzer.git_dir)
        return stash, why  # type: ignore[return-value]
    if sub == "worktree":
        action = positional[0] if positional else ""
        if action == "list":
            return "read", []
        if action == "remove":
            return "destructive", ["git worktree remove deletes a working tree"]
        return "write", []
    if sub in ("push",):
        if any(o in ("-f", "--force", "--force-with-lease", "--mirror", "--delete", "-d", "--prune", "--force-if-includes") or o.startswith("--force") for o in opts) or any(p.startswith("+") or p.startswith(":") for p in positional[1:]):
            return "destructive", ["git push --force/--delete rewrites or removes remote history"]
        return "risky", ["git push publishes to a remote"]
    if sub in ("pull", "fetch", "clone", "ls-remote", "submodule", "send-email", "fetch-pack", "send-pack", "request-pull", "archive", "lfs", "credential", "daemon", "instaweb", "http-fetch", "p4", "svn", "remote-ext"):
        if sub == "archive" and not any(o.startswith("--remote") for o in opts):
            return ("write", []) if any(o == "-o" or o.startswith("--output") for o in opts) else ("read", [])
        if sub == "submodule" and positional[:1] in (["status"], ["summary"]):
            return "read", []
        return "risky", [f"git {sub} uses the network or runs configured programs"]
    if sub == "reset":
        if any(o in ("--hard", "--merge", "--keep") for o in opts):
            return "destructive", ["git reset --hard discards uncommitted changes"]
        return "write", []
    if sub == "clean":
        if any(o in ("-n", "--dry-run") for o in opts):
            return "read", []
        # Without -f git refuses, unless clean.requireForce is off: judged by what it would do.
        return "destructive", ["git clean deletes untracked files"]
    if sub == "read-tree" and any(o == "-u" or o.startswith("--reset") for o in opts):
        return "destructive", ["git read-tree -u / --reset overwrites the working tree"]
    if sub == "checkout-index" and any(o in ("-f", "--force") or (not o.startswith("--") and "f" in o) for o in opts):
        return "destructive", ["git checkout-index -f overwrites files in the working tree"]
    if sub == "checkout":
        if "-B" in opts:
            return "destructive", ["git checkout -B resets an existing branch"]
        if any(o in ("-f", "--force", "-p", "--patch", "--ours", "--theirs", "-m", "--merge") for o in opts) or "--" in rest or "." in positional:
            return "destructive", ["git checkout of paths discards uncommitted changes"]
        if any(o in ("-b", "-B", "--orphan") for o in opts):
            return "write", []
        for p in positional:
            use = analyzer.path_use(p, write=True)
            if use.path and os.path.exists(use.path):
                return "destructive", [f"git checkout {p} discards uncommitted changes to it"]
        return "write", []
    if sub == "restore":
        if any(o in ("--staged", "-S") for o in opts) and not any(o in ("--worktree", "-W") for o in opts):
            return "write", []
        return "destructive", ["git restore discards uncommitted changes"]
    if sub == "switch":
        if any(o in ("-f", "--force", "--discard-changes", "-C", "--force-create") for o in opts):
            return "destructive", ["git switch --discard-changes / -C discards work"]
        return "write", []
    if sub == "rm":
        return "destructive", ["git rm deletes files"]
    if (sub in ("gc",) and any(o.startswith("--prune") for o in opts)) or (sub in ("prune", "filter-branch", "filter-repo", "reflog") and not (sub == "reflog" and (not positional or positional[0] in ("show", "exists")))):
        return "destructive", [f"git {sub} removes history that cannot be recovered"]
    if sub == "reflog":
        return "read", []
    if sub == "update-ref" and any(o == "-d" for o in opts):
        return "destructive", ["git update-ref -d deletes a ref"]
    if sub in ("commit", "add", "mv", "merge", "rebase", "cherry-pick", "revert", "init", "am", "apply", "notes", "bisect", "commit-tree", "update-index", "read-tree", "write-tree", "gc", "repack", "format-patch", "update-ref", "symbolic-ref", "replace", "mktag", "mktree", "hash-object", "pack-refs", "maintenance", "sparse-checkout", "rerere", "stage", "citool", "restore-staged", "merge-file", "unpack-objects", "index-pack", "checkout-index", "fast-import", "bundle"):
        if sub in ("commit", "merge", "rebase", "cherry-pick", "revert", "am") and any(o == "--exec" or o.startswith(("-x", "--exec")) for o in opts) and sub == "rebase":
            return "risky", ["git rebase --exec runs commands"]
        if sub == "maintenance":
            return "risky", ["git maintenance schedules background jobs"]
        return "write", []
    if sub in ("difftool", "mergetool", "hook", "web--browse", "gui", "gitk", "shell", "upload-pack", "receive-pack", "filter-process"):
        return "risky", [f"git {sub} runs external programs"]
    return "unknown", [f"git {sub} is not a git command Stoa knows (it may be an alias)"]


# git subcommands that talk to remotes or change git's own configuration (read-only in the sandbox).
_GIT_NEEDS_HOST = frozenset(
    """push pull fetch clone ls-remote submodule send-email fetch-pack send-pack request-pull
    lfs credential daemon instaweb http-fetch p4 svn remote config""".split()
)


def git_argv_for_rules(argv: list[str | None]) -> list[str | None]:
    """git's global options removed, so Bash(git push:*) also matches git -C x push."""
    out: list[str | None] = [argv[0]]
    i = 1
    while i < len(argv):
        v = argv[i]
        if v is None or not v.startswith("-"):
            break
        i += 2 if v in ("-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env") else 1
    out.extend(argv[i:])
    return out


# git configuration keys whose values are programs git runs.
_GIT_PROGRAM_KEYS = re.compile(
    r"^\s*(fsmonitor|pager|editor|sshcommand|askpass|hookspath|gitproxy|external|textconv|command|"
    r"clean|smudge|process|program|helper|cmd|path|sequenceeditor|tool|packobjectshook|"
    r"receivepack|uploadpack|useragent)\s*=",
    re.IGNORECASE,
)


def _foreign_repository(start: str, workspace: str) -> str | None:
    """Why git run in ``start`` would obey a repository configuration other than the
    workspace's own that can run programs; None when git would use the workspace's repository
    (or one whose configuration runs nothing)."""
    if not within(start, workspace) or start == workspace:
        return None
    here = start
    while here != workspace and within(here, workspace):
        for config in (os.path.join(here, ".git", "config"), os.path.join(here, "config")):
            bare = config == os.path.join(here, "config")
            if bare and not all(os.path.exists(os.path.join(here, part)) for part in ("HEAD", "objects", "refs")):
                continue
            dotgit = os.path.join(here, ".git")
            if not bare and os.path.isfile(dotgit):
                try:
                    with open(dotgit, encoding="utf-8", errors="replace") as handle:
                        pointer = handle.read(4096).strip()
                except OSError:
                    pointer = ""
                target = pointer.removeprefix("gitdir:").strip()
                config = os.path.join(os.path.normpath(os.path.join(here, target)), "config") if target else config
            if not os.path.isfile(config):
                continue
            try:
                with open(config, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(256 * 1024)
            except OSError:
                return f"git would use the repository in {here}, whose configuration cannot be read"
            for line in text.splitlines():
                match = _GIT_PROGRAM_KEYS.match(line)
                if match and not re.match(r"^\s*fsmonitor\s*=\s*(true|false|yes|no|on|off|1|0)?\s*$", line, re.I):
                    return f"git would use the repository in {here}, whose configuration runs programs ({line.strip()[:60]})"
            return None
        here = os.path.dirname(here)
    return None
