"""What a command must not quietly touch: variables that change what later commands run,
files in the workspace that change how tools behave, and device or kernel files."""

from __future__ import annotations

import os
import re
from pathlib import Path

from stoa.core.permissions.shell_analysis.tables import HARMLESS_DEVICES

# Environment variables that change what a command executes or where it reads its config.
_DANGEROUS_VAR = re.compile(
    r"^(LD_\w+|DYLD_\w+|GIT_\w+|\w*PAGER|EDITOR|VISUAL|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|PS[0-9]|IFS"
    r"|PROMPT_COMMAND|PATH|CDPATH|BROWSER|LESSOPEN|LESSCLOSE|PYTHONSTARTUP|PYTHONHOME|NODE_OPTIONS"
    r"|PERL5OPT|PERL5LIB|PERLLIB|RUBYOPT|RUBYLIB|\w*_ASKPASS|HOME|XDG_CONFIG_HOME|ZDOTDIR|TERMINFO"
    r"|BASH_FUNC_\w+|GCONV_PATH|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|MAVEN_OPTS|CARGO_HOME|RUSTC_WRAPPER"
    r"|NPM_CONFIG_\w+|npm_config_\w+|MAKEFLAGS|MAKE|SHELL|CONFIG_SHELL|TMPDIR|TMP|TEMP|TEMPDIR)$"
)
_HARMLESS_GIT_VARS = frozenset(
    """GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
    GIT_COMMITTER_DATE GIT_TERMINAL_PROMPT GIT_OPTIONAL_LOCKS GIT_TRACE GIT_TRACE2 GIT_FLUSH
    GIT_MERGE_AUTOEDIT GIT_PAGER_IN_USE GIT_PROGRESS_DELAY GIT_ADVICE""".split()
)
# Pager and editor values that run nothing else.
_HARMLESS_PAGERS = frozenset(["cat", "", "true", ":", "less", "more", "less -R", "less -FRX"])


def dangerous_assignment(name: str, value: str | None) -> bool:
    """Whether setting ``name`` (to ``value``, None if unknown) changes what commands run."""
    if name in _HARMLESS_GIT_VARS:
        return False
    if not _DANGEROUS_VAR.match(name):
        return False
    if (name.endswith("PAGER") or name in ("EDITOR", "VISUAL", "GIT_EDITOR", "GIT_PAGER")) and value in _HARMLESS_PAGERS:
        return False
    return True


# Paths inside the workspace that change how tools behave (hooks, configs): writing them needs a person.
PROTECTED = (
    (".git/hooks", "changes git hooks, which run code on later git commands"),
    (".git/config", "changes the git configuration (aliases, hooks path, pagers run code)"),
    (".git", "changes git's own files directly"),
    (".stoa", "changes Stoa's own settings and permission rules"),
)


def protected_write_reason(path: str, workspace: Path | str) -> str | None:
    """Why writing ``path`` (canonical, inside the workspace) needs a person, or None."""
    root = os.fspath(workspace).rstrip("/")
    for rel, reason in PROTECTED:
        top = f"{root}/{rel}"
        if path == top or path.startswith(top + "/"):
            return reason
    return None


def device_kind(value: str) -> str | None:
    if value in HARMLESS_DEVICES or re.fullmatch(r"/dev/fd/\d+", value):
        return "harmless"
    if value.startswith(("/dev/tcp/", "/dev/udp/")):
        return "network"
    if value.startswith(("/dev/", "/proc/", "/sys/")):
        return "forbidden"
    return None
