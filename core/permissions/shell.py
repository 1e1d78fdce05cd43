"""Shell command analysis: what a command line given to execute_bash would do, from a real parse.

The command line is parsed with tree-sitter-bash. Every simple command (in pipelines, lists,
subshells, loops, functions, command and process substitutions, ``bash -c`` strings, ``eval``,
``find -exec``, ``xargs`` and wrappers such as ``env``, ``timeout`` or ``nice``) becomes a
``Finding`` with a kind; structural features (substitutions, heredocs, redirections to files,
function definitions, unparseable input) become findings of their own. Each finding carries
the paths it touches, resolved to canonical form by ``core.permissions.paths`` (so ``~``,
``..``, absolute paths and symlinks that lead out of the workspace are seen as outside).

Kinds, from harmless to never:

    read         read-only (ls, cat, grep, git status/log/diff, ...)
    build        build and test runners (pytest, make, cargo test, npm test, ...)
    write        known mutations of workspace files (mkdir, cp, mv, sed -i, git commit, ...)
    unknown      a command we do not know (runs without asking only inside the OS sandbox)
    destructive  deletes or discards (rm, git reset --hard, git push --force, find -delete, ...)
    risky        needs a person whatever the mode (network, installs, inline interpreter code,
                 obfuscated or dynamic command names, substitutions, heredocs, redirection to files)
    forbidden    never runs (sudo, mkfs, dd, shutdown, chmod outside the workspace, rm -rf /, ...)

The public summary is the tier: ``allowed`` (read, build, write, all inside the workspace),
``unknown``, ``ask`` (destructive, risky, or anything outside the workspace) and ``forbidden``.
Whatever cannot be parsed is ``ask``, never ``allowed``.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
import shlex
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from stoa.core.tools.base import Effect

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

Kind = Literal["read", "build", "write", "unknown", "destructive", "risky", "forbidden"]
Tier = Literal["allowed", "unknown", "ask", "forbidden"]

KIND_ORDER: dict[str, int] = {
    "read": 0,
    "build": 1,
    "write": 2,
    "unknown": 3,
    "destructive": 4,
    "risky": 5,
    "forbidden": 6,
}
TIER_ORDER: dict[str, int] = {"allowed": 0, "unknown": 1, "ask": 2, "forbidden": 3}
KIND_TIER: dict[str, Tier] = {
    "read": "allowed",
    "build": "allowed",
    "write": "allowed",
    "unknown": "unknown",
    "destructive": "ask",
    "risky": "ask",
    "forbidden": "forbidden",
}
KIND_EFFECT: dict[str, Effect] = {
    "read": Effect.READ,
    "build": Effect.MUTATE,
    "write": Effect.MUTATE,
    "unknown": Effect.MUTATE,
    "risky": Effect.MUTATE,
    "destructive": Effect.DESTRUCTIVE,
    "forbidden": Effect.DESTRUCTIVE,
}

MAX_COMMAND_CHARS = 100_000
MAX_DEPTH = 4


def worst(kinds: Iterable[Kind]) -> Kind:
    return max(kinds, key=KIND_ORDER.__getitem__, default="read")


@dataclass(frozen=True)
class PathUse:
    """One path a command touches. ``path`` is canonical, or None when it is not known
    statically (a variable, a glob, an unknown working directory)."""

    raw: str
    path: str | None
    write: bool = False
    outside: bool = False

    @property
    def unknown(self) -> bool:
        return self.path is None


@dataclass(frozen=True)
class Finding:
    """One simple command (``argv`` set) or one structural feature of the line (``argv`` None)."""

    kind: Kind
    reasons: tuple[str, ...] = ()
    paths: tuple[PathUse, ...] = ()
    # Words after unwrapping and normalisation ("/bin/rm" -> "rm"); None where not static.
    argv: tuple[str | None, ...] | None = None
    text: str = ""
    # How it is reached: "" at top level, else e.g. "bash -c", "find -exec", "xargs".
    via: str = ""
    # False for commands that must see the real machine (ps, kill, ...).
    sandbox_ok: bool = True

    @property
    def static(self) -> bool:
        return self.argv is not None and all(a is not None for a in self.argv)

    @property
    def outside_paths(self) -> tuple[PathUse, ...]:
        return tuple(p for p in self.paths if p.outside)

    @property
    def tier(self) -> Tier:
        tier = KIND_TIER[self.kind]
        if tier in ("allowed", "unknown") and self.outside_paths:
            return "ask"
        if tier == "allowed" and any(p.unknown for p in self.paths):
            return "unknown"
        return tier

    @property
    def certainty_kind(self) -> Kind:
        """The kind with unknown locations folded in (a read of an unknown path is unknown)."""
        if KIND_ORDER[self.kind] < KIND_ORDER["unknown"] and any(p.unknown for p in self.paths):
            return "unknown"
        return self.kind


@dataclass(frozen=True)
class ShellAnalysis:
    command: str
    findings: tuple[Finding, ...]
    parsed: bool = True

    @property
    def kind(self) -> Kind:
        return worst(f.certainty_kind for f in self.findings)

    @property
    def tier(self) -> Tier:
        return max((f.tier for f in self.findings), key=TIER_ORDER.__getitem__, default="allowed")

    @property
    def effect(self) -> Effect:
        # A read of paths known only at run time is not vouched for as read-only.
        effects = [KIND_EFFECT[f.certainty_kind] for f in self.findings] or [Effect.READ]
        order = [Effect.READ, Effect.MUTATE, Effect.DESTRUCTIVE]
        return max(effects, key=order.index)

    @property
    def read_only(self) -> bool:
        return all(f.certainty_kind == "read" and not any(p.write for p in f.paths) for f in self.findings)

    @property
    def outside_paths(self) -> tuple[PathUse, ...]:
        seen: dict[str, PathUse] = {}
        for f in self.findings:
            for p in f.outside_paths:
                seen.setdefault(f"{p.path}:{p.write}", p)
        return tuple(seen.values())

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the line is in its tier, worst findings first."""
        ordered = sorted(self.findings, key=lambda f: -TIER_ORDER[f.tier] * 10 - KIND_ORDER[f.kind])
        out: list[str] = []
        for f in ordered:
            if f.tier == "allowed":
                continue
            for reason in f.reasons or (f"{f.text or 'command'}: {f.kind}",):
                if reason not in out:
                    out.append(reason)
            for p in f.outside_paths:
                text = f"{'writes' if p.write else 'reads'} outside the workspace: {p.path}"
                if text not in out:
                    out.append(text)
        return tuple(out)

    @property
    def sandbox_ok(self) -> bool:
        return all(f.sandbox_ok for f in self.findings)

    @property
    def sandboxable(self) -> bool:
        """Whether the line runs inside the OS sandbox (when there is one): nothing in it needs
        the real machine (network, other processes) or paths outside the workspace. The policy
        and execute_bash both decide with this, so they cannot disagree."""
        return self.sandbox_ok and not self.outside_paths and self.tier != "forbidden"

    @property
    def commands(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.argv is not None)

    def facts(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "kind": self.kind,
            "reasons": list(self.reasons),
            "outside": [p.path for p in self.outside_paths],
            "analysis": self,
        }


# ---- the command tables ----------------------------------------------------------------------

FORBIDDEN = frozenset(
    """sudo su doas pkexec run0 sudoedit mkfs mke2fs mkswap mkdosfs mkntfs dd shutdown reboot halt
    poweroff telinit fdisk sfdisk cfdisk gdisk sgdisk parted wipefs swapon swapoff mount umount
    insmod rmmod modprobe chroot passwd chpasswd useradd userdel usermod groupadd groupdel groupmod
    adduser deluser addgroup delgroup visudo iptables ip6tables nft ufw firewall-cmd setenforce
    killall5 diskutil nvram csrutil launchctl blkdiscard hdparm losetup cryptsetup lvremove
    vgremove pvremove mdadm zpool zfs kexec pivot_root init loginctl systemd-run nsenter
    machinectl shutdown.exe hwclock ldconfig depmod update-grub grub-install grub-mkconfig
    efibootmgr update-initramfs dracut mkinitcpio e2fsck tune2fs resize2fs badblocks blockdev
    partprobe kpartx dmsetup vgchange vgcreate lvcreate lvextend lvresize lvreduce pvcreate
    xfs_repair xfs_admin setcap setsebool semanage auditctl apparmor_parser aa-disable
    aa-complain rfkill update-alternatives dpkg-reconfigure quotaon quotaoff e2label chvt
    sulogin runuser newgrp sg chsh chfn vipw vigr mknod debugfs ksu""".split()
)
READ_ONLY = frozenset(
    """ls dir vdir cat tac head tail less more grep egrep fgrep rg ag ack wc cut tr nl od hexdump
    strings file stat du df tree diff cmp comm join paste column fold fmt expand unexpand rev
    jq md5sum sha1sum sha224sum sha256sum sha384sum sha512sum b2sum cksum sum base64 base32
    zcat bzcat xzcat zgrep zless look iconv uniq sort xxd realpath readlink lsattr getfacl
    namei wc tokei cloc scc bat batcat delta highlight pygmentize file column""".split()
)
# Read-only commands whose arguments are not paths (nothing to check for outside access).
NO_PATHS = frozenset(
    """echo printf true false : test [ [[ sleep seq yes expr basename dirname which whereis type date
    whoami id groups uname cal nproc arch pwd printenv locale tty logname users uptime free
    getconf factor numfmt bc dc exit return shift unset read wait jobs umask ulimit help
    cd pushd popd dirs set shopt hash times let getopts true caller local export declare typeset
    readonly unalias lsb_release lscpu lsblk lsmem lsusb lspci nvidia-smi sw_vers tput clear
    reset stty history fg bg printenv ps pgrep pidof pstree top htop lsof w who vmstat iostat
    journalctl dmesg env hostname""".split()
)
# Read-only commands that must see the machine's real processes (never sandboxed).
HOST_VIEW = frozenset("ps pgrep pidof pstree top htop lsof w who uptime free vmstat iostat".split())
WRITES = frozenset(
    """mkdir touch cp mv ln install patch tee split csplit mktemp rename zip unzip gzip gunzip
    bzip2 bunzip2 xz unxz zstd unzstd 7z tar sponge fallocate""".split()
)
DESTRUCTIVE = frozenset("rm rmdir shred unlink truncate srm wipe".split())
NETWORK = frozenset(
    """curl wget ssh scp sftp nc ncat netcat socat telnet ftp tftp nmap aria2c http https xh
    httpie ping ping6 traceroute dig nslookup host whois mosh rsh rlogin lftp axel mysql psql
    redis-cli mongo mongosh sqlcmd ssh-copy-id ssh-keyscan sshpass mail mailx sendmail mutt
    smbclient rclone s3cmd lynx w3m links elinks""".split()
)
INSTALLERS = frozenset(
    """apt apt-get aptitude dpkg yum dnf rpm pacman zypper apk brew port snap flatpak nix-env
    gem composer cpan cpanm pipx conda mamba micromamba sdkmanager rustup nvm volta asdf mise
    pip pip3 easy_install""".split()
)
CLOUD = frozenset(
    """docker podman kubectl helm terraform tofu pulumi ansible ansible-playbook aws gcloud gsutil
    az gh glab heroku fly flyctl vercel netlify firebase wrangler doctl oc minikube kind k9s
    vagrant packer nomad consul vault""".split()
)
SHELLS = frozenset("bash sh zsh dash ksh mksh ash fish csh tcsh yash busybox toybox coreutils".split())
INTERPRETERS = frozenset(
    """python python2 python3 pypy pypy3 node nodejs ruby perl php lua luajit Rscript R julia
    tclsh wish osascript pwsh powershell groovy scala kotlin elixir erl escript racket guile
    sbcl clisp ghci runghc swift ipython ipython3 bpython""".split()
)
# Commands that evaluate a string argument as shell code, or run a command detached.
EVALUATORS = frozenset(
    """eval trap alias coproc enable bind complete compgen fc watch script parallel vim vi nvim
    view ex ed emacs nano pico unshare capsh setpriv expect gdb lldb gdb-multiarch pee vipe
    firejail bwrap nsjail proot""".split()
)
DETACHERS = frozenset("setsid daemonize start-stop-daemon screen tmux at batch crontab nohup disown".split())
# Transparent wrappers: the command they run is what counts.
WRAPPERS = frozenset(
    """env command builtin exec nice ionice time timeout stdbuf chrt taskset unbuffer caffeinate
    xvfb-run catchsegv flock strace ltrace valgrind setarch linux32 linux64 faketime fakeroot
    numactl prlimit chronic ifne dbus-run-session systemd-inhibit ssh-agent""".split()
)
VETTED_BUILD = frozenset(
    """pytest py.test mypy pyright flake8 pylint pyflakes pycodestyle pydocstyle bandit vulture
    jest vitest mocha ava tap tsc javac rustc gcc g++ cc c++ clang clang++ cmake ctest ninja
    meson go-test phpunit rspec shellcheck hadolint yamllint markdownlint eslint stylelint
    golangci-lint staticcheck ktlint detekt swiftlint rubocop credo dialyzer mix cabal stack
    dune zig swiftc gradle gradlew mvn mvnw dotnet sbt lein bazel buck pants tox nox""".split()
)
FORMATTERS = frozenset("black isort autopep8 yapf prettier gofmt rustfmt clang-format shfmt".split())
PACKAGE_RUNNERS = frozenset("npm yarn pnpm bun".split())
# Tools a project installs into its own bin folder (.venv/bin, node_modules/.bin).
PROJECT_TOOLS = VETTED_BUILD | FORMATTERS | PACKAGE_RUNNERS | frozenset(
    """python python3 pypy pypy3 pip pip3 node ruff uv poetry coverage pre-commit npx tsx ts-node
    vite next nuxt webpack rollup esbuild parcel turbo nx lerna biome""".split()
)
# Shell builtins: a file of the same name on PATH never runs in their place.
BUILTINS = frozenset(
    """echo printf test [ cd pwd read type command builtin exec eval source . export declare local
    set unset shift let kill true false : alias history jobs wait trap umask ulimit getopts hash
    times mapfile readarray compgen complete enable help logout bind caller dirs disown fc fg bg
    popd pushd readonly return shopt suspend typeset unalias exit break continue""".split()
)
STD_BIN_DIRS = frozenset(
    """/bin /usr/bin /usr/local/bin /sbin /usr/sbin /usr/local/sbin /opt/homebrew/bin
    /opt/homebrew/sbin /snap/bin /usr/libexec""".split()
)
TOOL_BIN_DIRS = ("/.venv/bin", "/venv/bin", "/env/bin", "/node_modules/.bin", "/.tox/bin")
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
HARMLESS_DEVICES = frozenset(
    "/dev/null /dev/zero /dev/random /dev/urandom /dev/stdin /dev/stdout /dev/stderr /dev/tty".split()
)
_GLOB = re.compile(r"[*?\[]")
_SED_SIMPLE = set("pdDnNgGhHxlqQz=F")


def protected_write_reason(path: str, workspace: Path | str) -> str | None:
    """Why writing ``path`` (canonical, inside the workspace) needs a person, or None."""
    root = os.fspath(workspace).rstrip("/")
    for rel, reason in PROTECTED:
        top = f"{root}/{rel}"
        if path == top or path.startswith(top + "/"):
            return reason
    return None


# ---- words -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One shell word evaluated statically. ``value`` None: depends on run time."""

    value: str | None
    raw: str
    # Quotes or backslashes were used (matters in a command name: obfuscation).
    quoted: bool = False
    # An unquoted glob character: the word may expand to file names.
    glob: bool = False
    # Expanded from a variable or substitution (even if we could resolve it).
    expanded: bool = False


_ANSI_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def decode_ansi_c(body: str) -> str:
    """The value of ``$'...'`` (without the quotes): \\xHH, \\uHHHH, \\nnn, \\cX, \\n, ..."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ANSI_SIMPLE:
            out.append(_ANSI_SIMPLE[nxt])
            i += 2
        elif nxt == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", body[i + 2 :])
            if m:
                out.append(chr(int(m.group(), 16)))
                i += 2 + len(m.group())
            else:
                out.append("\\x")
                i += 2
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            m = re.match(rf"[0-9a-fA-F]{{1,{width}}}", body[i + 2 :])
            if m:
                try:
                    out.append(chr(int(m.group(), 16)))
                except ValueError:
                    out.append("?")
                i += 2 + len(m.group())
            else:
                out.append("\\" + nxt)
                i += 2
        elif nxt in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1 :])
            assert m is not None
            out.append(chr(int(m.group(), 8) & 0xFF))
            i += 1 + len(m.group())
        elif nxt == "c" and i + 2 < len(body):
            out.append(chr(ord(body[i + 2]) & 0x1F))
            i += 3
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out)


def _unescape_unquoted(text: str) -> tuple[str, bool, bool]:
    """Backslash removal in an unquoted word; returns (value, had_escapes, has_glob)."""
    out: list[str] = []
    escaped = False
    glob = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            if text[i + 1] == "\n":  # line continuation
                i += 2
                continue
            out.append(text[i + 1])
            escaped = True
            i += 2
            continue
        if ch in "*?[":
            glob = True
        out.append(ch)
        i += 1
    return "".join(out), escaped, glob


def _unescape_double(text: str) -> str:
    return re.sub(r"\\([$`\"\\\n])", lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def expand_braces(text: str, limit: int = 64) -> list[str] | None:
    """Bash brace expansion of an unquoted, already unescaped word; None if too complex."""
    depth = 0
    start = -1
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                inner = text[start + 1 : i]
                options = _brace_options(inner)
                if options is None:
                    continue
                head, tail = text[:start], text[i + 1 :]
                results: list[str] = []
                for option in options:
                    expanded = expand_braces(head + option + tail, limit)
                    if expanded is None:
                        return None
                    results.extend(expanded)
                    if len(results) > limit:
                        return None
                return results
    return [text]


def _brace_options(inner: str) -> list[str] | None:
    m = re.fullmatch(r"(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?", inner)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        step = abs(int(m.group(3) or 1)) or 1
        if abs(b - a) // step > 64:
            return None
        rng = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [str(n) for n in rng]
    m = re.fullmatch(r"([A-Za-z])\.\.([A-Za-z])", inner)
    if m:
        a, b = ord(m.group(1)), ord(m.group(2))
        rng = range(a, b + 1) if a <= b else range(a, b - 1, -1)
        return [chr(n) for n in rng]
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts if len(parts) > 1 else None


# ---- the parser ------------------------------------------------------------------------------

# "skip": a wrapper whose inner command was recorded as its own finding.
_VERDICT_ORDER = {**KIND_ORDER, "skip": -1}

_parser_lock = threading.Lock()
_local = threading.local()


def _parser() -> Parser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        with _parser_lock:
            import tree_sitter
            import tree_sitter_bash

            parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))
        _local.parser = parser
    return parser


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


# ---- the analysis ----------------------------------------------------------------------------

Resolver = Callable[[str, str, str], tuple[str, bool]]


def _default_resolver(value: str, base: str, workspace: str) -> tuple[str, bool]:
    from stoa.core.permissions.paths import resolve

    resolved = resolve(value, workspace, base=base)
    return str(resolved.canonical), resolved.inside_workspace


@dataclass
class _Cmd:
    """A simple command being classified: its words and where it came from."""

    words: list[Word]
    text: str
    via: str = ""

    @property
    def values(self) -> list[str | None]:
        return [w.value for w in self.words]


@dataclass
class _Verdict:
    kind: Kind
    reasons: list[str] = field(default_factory=list)
    paths: list[PathUse] = field(default_factory=list)
    sandbox_ok: bool = True

    def raise_to(self, kind: Kind, reason: str | None = None) -> None:
        if KIND_ORDER[kind] > _VERDICT_ORDER.get(self.kind, -1):
            self.kind = kind
        if reason and reason not in self.reasons:
            self.reasons.append(reason)


class _Analyzer:
    def __init__(self, workspace: Path, home: str, env: Mapping[str, str], resolver: Resolver) -> None:
        from stoa.core.permissions.paths import canonical_root

        self.workspace = str(canonical_root(workspace))
        self.home = home
        self.env = env
        self.resolver = resolver
        self.cwd: str | None = self.workspace
        # The folder the git command being judged runs in (set by _git, read by _git_kind).
        self.git_dir: str | None = self.workspace
        self.vars: dict[str, str | None] = {}
        self.findings: list[Finding] = []
        self.parsed = True
        self.functions: set[str] = set()
        # For variables whose value is known only at run time: the text that set them
        # (x=${y/a/../b}), so a path through them that plainly leads out is still seen.
        self.hints: dict[str, str] = {}
        self._cd_words: Sequence[Word] = ()
        # Symlinks this line creates (ln -s): later paths through them lead to their targets.
        self.links: dict[str, PathUse] = {}

    # ---- entry points ----

    def analyze(self, source: str, via: str = "", depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            self._structural("risky", f"commands nested more than {MAX_DEPTH} levels deep", via)
            return
        if "\x00" in source:
            self.parsed = False
            self._structural("risky", "the command contains a NUL byte", via)
            return
        if re.search(r"[^\s\\]\\\n[^\s]", source):
            # bash removes backslash-newline before splitting words (r\<newline>m is rm); the
            # grammar treats it as a space. Judge the joined text too.
            self._structural("risky", "a line continuation joins two words", via)
            self._nested(re.sub(r"\\\n", "", source), _via(via, "joined lines"), depth)
        tree = _parser().parse(source.encode("utf-8", "surrogatepass"))
        root = tree.root_node
        if root.has_error:
            self.parsed = False
            self._structural("risky", "the command could not be parsed (a syntax error); it needs approval", via)
            # Still classify what can be seen, so forbidden commands stay forbidden.
        self.depth = depth
        self._walk(root, via, depth)

    def _structural(self, kind: Kind, reason: str, via: str, text: str = "", paths: Sequence[PathUse] = ()) -> None:
        self.findings.append(Finding(kind=kind, reasons=(reason,), paths=tuple(paths), text=text, via=via))

    # ---- tree walk ----

    def _walk(self, node: Node, via: str, depth: int) -> None:
        kind = node.type
        if node.is_missing or kind == "ERROR":
            self.parsed = False
        if kind == "command":
            self._command(node, via, depth)
            return
        if kind == "redirected_statement":
            self._redirected(node, via, depth)
            return
        if kind in ("command_substitution", "process_substitution"):
            what = "command substitution" if kind == "command_substitution" else "process substitution"
            self._structural("risky", f"uses {what}: {_text(node)[:80]}", via, _text(node))
        elif kind == "heredoc_redirect":
            self._structural("risky", "feeds a here-document to a command", via, _text(node)[:200])
        elif kind == "herestring_redirect":
            self._structural("risky", "feeds a here-string to a command", via, _text(node)[:200])
        elif kind == "file_redirect":
            self._redirect(node, via)
            return
        elif kind == "function_definition":
            self._function(node, via)
        elif kind == "variable_assignment":
            self._assignment(node, via, standalone=True)
            return
        elif kind == "declaration_command":
            self._declaration(node, via, depth)
            return
        elif kind in ("for_statement", "c_style_for_statement", "select_statement"):
            var = node.child_by_field_name("variable")
            if var is not None:
                self.vars[_text(var)] = self._loop_value(node) if kind == "for_statement" else None
        elif kind == "expansion":
            prompt = re.match(r"^\$\{(\w+)@P\}$", _text(node))
            if prompt and (prompt.group(1) not in self.vars or self.vars[prompt.group(1)] is None):
                self._structural("risky", f"expands {prompt.group(1)} as a prompt (command substitutions in it run)", via, _text(node))
            assigned = re.match(r"^\$\{(\w+):?=", _text(node))
            if assigned:
                # ${x:=default} / ${x=default} assign x as a side effect.
                self._forget(assigned.group(1), _text(node))
        if _arithmetic_context(node):
            self._arithmetic(node, via)
        for child in node.children:
            self._walk(child, via, depth)

    def _redirected(self, node: Node, via: str, depth: int) -> None:
        body = node.child_by_field_name("body")
        extra = [d for child in node.children if child.type == "file_redirect" for d in _extra_destinations(child)]
        for child in node.children:
            if child is body or (body is not None and child.id == body.id):
                if child.type == "command":
                    self._command(child, via, depth, extra)
                    extra = []
                else:
                    self._walk(child, via, depth)
            else:
                self._walk(child, via, depth)
        if extra:
            self._structural("risky", "words after a redirection that bash would pass on", via, _text(node))
            self._walk_words(extra, via, depth)

    def _loop_value(self, node: Node) -> str | None:
        """What a for loop's variable stands for in path checks: when every listed word is
        static, the first one outside the workspace (or the first one); else unknown."""
        words: list[Word] = []
        for value in node.children_by_field_name("value"):
            words.extend(self._split_word(self._word(value)))
        if not words or any(w.value is None for w in words):
            return None
        for word in words:
            assert word.value is not None
            use = self._path_use(word.value, write=False)
            if use.path is None or use.outside:
                return word.value
        return words[0].value

    def _walk_words(self, nodes: Iterable[Node], via: str, depth: int) -> None:
        """Visit argument words for substitutions nested in them."""
        for node in nodes:
            self._walk(node, via, depth)

    # ---- pieces of syntax ----

    def _function(self, node: Node, via: str) -> None:
        name_node = node.child_by_field_name("name")
        name = _text(name_node) if name_node is not None else "?"
        self.functions.add(name)
        body = node.child_by_field_name("body")
        calls_itself = body is not None and any(
            _text(n) == name for n in _descendants(body) if n.type == "command_name"
        )
        if calls_itself and body is not None and "&" in _text(body):
            self._structural("forbidden", f"a fork bomb (function {name} runs itself in the background)", via)
        else:
            self._structural("risky", f"defines a shell function ({name})", via, _text(node)[:200])

    def _assignment(self, node: Node, via: str, *, standalone: bool) -> None:
        name_node = node.child_by_field_name("name")
        name = _text(name_node) if name_node is not None else ""
        if name_node is not None and name_node.type == "subscript":
            # a[$(cmd)]=x: the index is evaluated, and substitutions in it run.
            self._walk(name_node, via, self.depth)
            inner = name_node.child_by_field_name("name")
            name = _text(inner) + "[]" if inner is not None else name
        value_node = node.child_by_field_name("value")
        if value_node is not None:
            self._walk(value_node, via, self.depth)
        value = self._word(value_node).value if value_node is not None else ""
        if value is not None and ("$(" in value or "`" in value):
            # x='a[$(rm -rf src)]'; echo $((x)): bash evaluates a variable's text in arithmetic
            # (and eval, [[ -eq ]], array indexes), running the substitution in it.
            self._structural(
                "risky",
                f"assigns text that holds a command substitution to {name} (bash runs it if the value is evaluated)",
                via,
                _text(node),
            )
        if dangerous_assignment(name, value):
            self._structural(
                "risky",
                f"sets {name}, which changes what later commands run or read",
                via,
                _text(node),
            )
        if standalone:
            if any(not c.is_named and _text(c) == "+=" for c in node.children):
                before = self.vars[name] if name in self.vars else self._lookup(name)
                value = before + value if before is not None and value is not None else None
            self.vars[name] = value
            if value is None:
                self.hints[name] = _text(value_node) if value_node is not None else ""
            else:
                self.hints.pop(name, None)

    def _forget(self, name: str, hint: str = "") -> None:
        """``name`` now holds a value known only at run time."""
        self.vars[name] = None
        self.hints[name] = hint

    def _arithmetic(self, node: Node, via: str) -> None:
        """Arithmetic evaluates the text of the variables it names as expressions, and a
        subscript in that text runs command substitutions: a variable whose value is not known
        (read from a file, ...) makes it unsafe."""
        if node.type == "subscript":
            index = node.child_by_field_name("index")
            if index is None:
                return
            node = index
        for child in [node, *_descendants(node)]:
            if child.type not in ("variable_name", "word"):
                continue
            name = _text(child)
            if name in self.vars and (self.vars[name] is None or re.search(r"[`$\[]", self.vars[name] or "")):
                self._structural(
                    "risky",
                    f"evaluates {name} as arithmetic, and its value is known only at run time (it could run commands)",
                    via,
                    _text(node)[:200],
                )
                return

    def _declaration(self, node: Node, via: str, depth: int) -> None:
        flags = "".join(_text(c)[1:] for c in node.children if c.type == "word" and _text(c).startswith("-"))
        for child in node.children:
            if child.type == "variable_assignment":
                self._assignment(child, via, standalone=True)
                if "n" in flags:
                    # declare -n x=HOME: x names another variable ($x is $HOME).
                    target = child.child_by_field_name("name")
                    if target is not None:
                        self._forget(_text(target), "${" + _text(child).split("=", 1)[-1] + "}")
            elif child.type in ("word", "variable_name") and dangerous_assignment(_text(child), None):
                self._structural("risky", f"exports {_text(child)}", via, _text(node))
            else:
                self._walk(child, via, depth)

    def _redirect(self, node: Node, via: str) -> None:
        operator = ""
        for child in node.children:
            if not child.is_named:
                operator = _text(child)
        dest = node.child_by_field_name("destination")
        if dest is None:
            return
        for child in dest.children:
            self._walk(child, via, self.depth)
        if operator in (">&", "<&") and dest.type == "number":
            return  # 2>&1: duplicating a descriptor
        word = self._word(dest)
        if operator in (">&", "<&") and word.value is not None and word.value.rstrip("-").isdigit():
            return
        if word.value == "-" and operator in (">&", "<&"):
            return
        writes = operator not in ("<", "<&")
        text = _text(node)
        if word.value is None and not writes:
            use = self._dynamic_use(word, write=False)
            if use.outside:
                self.findings.append(
                    Finding(kind="read", reasons=(f"reads {word.raw} by redirection",), paths=(use,), text=text, via=via)
                )
                return
        if word.value is None or word.glob:
            kind: Kind = "risky" if writes else "unknown"
            self._structural(kind, f"redirects {'output to' if writes else 'input from'} a file named at run time", via, text)
            return
        value = word.value
        device = self._device(value)
        if device == "harmless":
            return
        if device == "network":
            self._structural("risky", f"opens a network connection through {value}", via, text)
            return
        if device == "forbidden" and writes:
            self._structural("forbidden", f"writes to a device or kernel file: {value}", via, text)
            return
        use = self._path_use(value, write=writes)
        if writes:
            paths = (use,)
            reason = f"writes to {use.path or value} by redirection"
            self._structural("risky", reason, via, text, paths)
        else:
            self.findings.append(
                Finding(kind="read", reasons=(f"reads {use.path or value} by redirection",), paths=(use,), text=text, via=via)
            )

    def _device(self, value: str) -> str | None:
        if value in HARMLESS_DEVICES or re.fullmatch(r"/dev/fd/\d+", value):
            return "harmless"
        if value.startswith(("/dev/tcp/", "/dev/udp/")):
            return "network"
        if value.startswith(("/dev/", "/proc/", "/sys/")):
            return "forbidden"
        return None

    # ---- words ----

    def _word(self, node: Node | None) -> Word:
        if node is None:
            return Word("", "")
        raw = _text(node)
        kind = node.type
        if kind == "word":
            if raw.startswith("~") and not raw.startswith("~\\"):
                return self._tilde(raw)
            value, escaped, glob = _unescape_unquoted(raw)
            if ("{" in raw and "}" in raw) and expand_braces(value) != [value]:
                return Word(None, raw, quoted=escaped, glob=True, expanded=True)
            return Word(value, raw, quoted=escaped, glob=glob)
        if kind == "number":
            return Word(raw, raw)
        if kind == "raw_string":
            return Word(raw[1:-1], raw, quoted=True)
        if kind == "ansi_c_string":
            return Word(decode_ansi_c(raw[2:-1]), raw, quoted=True)
        if kind in ("string", "translated_string"):
            parts: list[str] = []
            expanded = False
            for child in node.named_children:
                if child.type == "string_content":
                    parts.append(_unescape_double(_text(child)))
                else:
                    sub = self._expansion(child)
                    expanded = True
                    if sub is None:
                        return Word(None, raw, quoted=True, expanded=True)
                    parts.append(sub)
            if not node.named_children:
                inner = raw[2:-1] if kind == "translated_string" else raw[1:-1]
                parts.append(_unescape_double(inner))
            return Word("".join(parts), raw, quoted=True, expanded=expanded)
        if kind in ("simple_expansion", "expansion"):
            expanded_value = self._expansion(node)
            glob = expanded_value is not None and bool(_GLOB.search(expanded_value))
            return Word(expanded_value, raw, expanded=True, glob=glob)
        if kind == "concatenation":
            return self._concatenation(node)
        if kind in ("command_substitution", "process_substitution", "arithmetic_expansion", "brace_expression"):
            return Word(None, raw, expanded=True)
        if kind == "array":
            return Word(None, raw, expanded=True)
        value, escaped, glob = _unescape_unquoted(raw)
        return Word(value, raw, quoted=escaped, glob=glob)

    def _concatenation(self, node: Node) -> Word:
        raw = _text(node)
        children = node.children
        # Unquoted braces ({a,b}) are split into several word nodes by the grammar.
        unquoted = "".join(_text(c) for c in children if c.type == "word")
        if "{" in unquoted and "}" in unquoted and all(c.type in ("word", "number") for c in children):
            value, escaped, glob = _unescape_unquoted(raw)
            expansions = expand_braces(value)
            if expansions == [value]:
                return Word(value, raw, quoted=escaped, glob=glob)
            return Word(None, raw, quoted=escaped, glob=True, expanded=True)
        if "{" in unquoted and "}" in unquoted:
            return Word(None, raw, quoted=True, glob=True, expanded=True)
        parts: list[str] = []
        quoted = expanded = glob = False
        for index, child in enumerate(children):
            if index == 0 and child.type == "word" and _text(child).startswith("~"):
                sub = self._tilde(_text(child))
            else:
                sub = self._word(child)
            if sub.value is None:
                return Word(None, raw, quoted=True, expanded=True)
            parts.append(sub.value)
            quoted = quoted or sub.quoted or child.type in ("string", "raw_string", "ansi_c_string")
            expanded = expanded or sub.expanded
            glob = glob or sub.glob
        return Word("".join(parts), raw, quoted=quoted, glob=glob, expanded=expanded)

    def _tilde(self, raw: str) -> Word:
        head, sep, rest = raw.partition("/")
        value, escaped, glob = _unescape_unquoted(rest)
        if head == "~":
            base = self.home
        elif head in ("~+",):
            base = self.cwd or ""
            if not self.cwd:
                return Word(None, raw, expanded=True)
        elif head == "~-":
            return Word(None, raw, expanded=True)
        else:
            user = head[1:]
            expanded_user = os.path.expanduser(head)
            if expanded_user == head or not re.fullmatch(r"[A-Za-z0-9_.\-]+", user):
                return Word(None, raw, expanded=True)
            base = expanded_user
        return Word(base + sep + value, raw, quoted=escaped, glob=glob)

    def _expansion(self, node: Node) -> str | None:
        if node.type == "simple_expansion":
            names = [c for c in node.named_children if c.type in ("variable_name", "special_variable_name")]
            if len(names) != 1 or names[0].type != "variable_name":
                return None
            return self._lookup(_text(names[0]))
        if node.type == "expansion":
            named = node.named_children
            if len(named) == 1 and named[0].type == "variable_name" and len(node.children) == 3:
                return self._lookup(_text(named[0]))
            return None
        return None

    def _lookup(self, name: str) -> str | None:
        if name in self.vars:
            return self.vars[name]
        if name == "HOME":
            return self.home
        if name == "PWD":
            return self.cwd
        return self.env.get(name)

    # ---- commands ----

    def _command(self, node: Node, via: str, depth: int, extra: Sequence[Node] = ()) -> None:
        """A simple command. ``extra``: words the grammar hung on a redirection that follows the
        command (``cat < x secret``: bash passes ``secret`` to cat)."""
        words: list[Word] = []
        name_node = node.child_by_field_name("name")
        arg_nodes: list[Node] = list(extra)
        for index, child in enumerate(node.children):
            if child.type == "variable_assignment":
                self._assignment(child, via, standalone=False)
            elif child.type == "command_name":
                arg_nodes.append(child)
            elif node.field_name_for_child(index) == "argument":
                arg_nodes.append(child)
            elif child.type in ("file_redirect", "herestring_redirect", "heredoc_redirect"):
                arg_nodes.extend(_extra_destinations(child))
                self._walk(child, via, depth)
        arg_nodes.sort(key=lambda n: n.start_byte)
        if name_node is None and arg_nodes:
            # Only words after redirections: the first is the command name.
            self._structural("risky", "a command written after its redirections", via, _text(node))
        self._walk_words(arg_nodes, via, depth)
        for arg in arg_nodes:
            target = arg.named_children[0] if arg.type == "command_name" and arg.named_children else arg
            words.extend(self._split_word(self._word(target)))
        if not words:
            return
        self._simple(_Cmd(words, _text(node), via), depth)

    def _split_word(self, word: Word) -> list[Word]:
        """Brace expansion turns one written word into several."""
        if word.value is None and word.glob and word.expanded and not word.raw.startswith(("$", '"')):
            value, escaped, _ = _unescape_unquoted(word.raw)
            if "'" not in word.raw and '"' not in word.raw and "$" not in word.raw:
                options = expand_braces(value)
                if options is not None:
                    return [Word(o, word.raw, quoted=escaped, glob=bool(_GLOB.search(o))) for o in options]
        return [word]

    def _add(self, cmd: _Cmd, verdict: _Verdict, argv: Sequence[str | None]) -> None:
        paths = list(verdict.paths)
        if self.cwd is None or (self.cwd != self.workspace and not _inside(self.cwd, self.workspace)):
            # Runs in a directory outside the workspace (after cd): everything it does is there.
            cwd_use = PathUse(".", self.cwd, write=verdict.kind != "read", outside=self.cwd is not None)
            if verdict.kind not in ("forbidden",) and cwd_use not in paths:
                paths.append(cwd_use)
        for p in paths:
            if p.write and p.path is not None and not p.outside:
                reason = protected_write_reason(p.path, self.workspace)
                if reason and _VERDICT_ORDER[verdict.kind] < KIND_ORDER["destructive"]:
                    verdict.raise_to("risky", reason)
                elif reason and reason not in verdict.reasons:
                    verdict.reasons.append(reason)
            if p.write and p.path is not None and self._device(p.path) == "forbidden":
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

    def _simple(self, cmd: _Cmd, depth: int) -> None:
        first = cmd.words[0]
        name_raw = first.value
        reasons: list[str] = []
        if name_raw is None or first.expanded:
            # The name is not a literal: no rule may match it by name.
            argv_dyn: list[str | None] = [None, *[w.value for w in cmd.words[1:]]]
            verdict = _Verdict("risky", [f"the command name comes from a variable or substitution ({first.raw})"])
            self._add(cmd, verdict, argv_dyn)
            if name_raw is not None:
                # Still judge what it resolves to, so a forbidden command stays forbidden.
                resolved = _Cmd([Word(name_raw, first.raw), *cmd.words[1:]], cmd.text, cmd.via)
                self._simple(resolved, depth)
            return
        if first.glob:
            argv_glob: list[str | None] = [None, *[w.value for w in cmd.words[1:]]]
            self._add(cmd, _Verdict("risky", [f"the command name is a file pattern ({first.raw})"]), argv_glob)
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
                dashed = [m for m in self._glob_matches(word.value) or () if m.startswith("-")]
                if dashed:
                    reasons.append(f"the pattern {word.raw} matches a file named {dashed[0]!r}, which {name} would take as an option")
        verdict = self._classify(name, cmd, depth)
        for reason in reasons:
            if _VERDICT_ORDER[verdict.kind] < KIND_ORDER["destructive"]:
                verdict.raise_to("risky", reason)
            elif reason not in verdict.reasons:
                verdict.reasons.append(reason)
        argv: list[str | None] = [name, *[w.value for w in cmd.words[1:]]]
        if name == "git":
            argv = _git_argv_for_rules(argv)
        if verdict.kind == "skip":  # type: ignore[comparison-overlap]
            return
        self._add(cmd, verdict, argv)

    def _normalize_name(self, name: str) -> str:
        if "/" not in name:
            return _strip_version(name)
        directory, base = os.path.split(name)
        if name.startswith("/"):
            directory = os.path.normpath(directory)
            if directory.startswith("//"):
                directory = "/" + directory.lstrip("/")
        if directory in STD_BIN_DIRS:
            return _strip_version(base)
        if any(f"/{directory}".endswith(d) for d in TOOL_BIN_DIRS) and _strip_version(base) in PROJECT_TOOLS:
            # A project's own tool (.venv/bin/pytest) counts as that tool, but only inside
            # the workspace (/tmp/x/node_modules/.bin/pytest is not pytest), and only for
            # tools a project installs: .venv/bin/ls is a program of the project, not ls.
            use = self._path_use(directory, write=False)
            if use.path is not None and not use.outside:
                return _strip_version(base)
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
                if _inside(os.path.realpath(folder), self.workspace) or _inside(real, self.workspace):
                    return candidate
                return None
        return None

    # ---- paths ----

    def _path_use(self, value: str, *, write: bool) -> PathUse:
        if not value or len(value) > 4096 or "\n" in value:
            return PathUse(value[:80], None, write)
        device = self._device(value)
        if device == "harmless" and not write:
            return PathUse(value, value, write, outside=False)
        probe = value
        m = _GLOB.search(probe)
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
                return PathUse(value, through, write, outside=target.outside or not _inside(through, self.workspace))
        return PathUse(value, canonical, write, outside=not inside)

    def _dynamic_use(self, word: Word, write: bool) -> PathUse:
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
            use = self._path_use(prefix if prefix.endswith("/") else os.path.dirname(prefix) or "/", write=False)
            if use.path is not None and use.outside:
                return use.path
        if re.search(r"(^|[/\s\"'=:{}])\.\.(\\?/|$|[\"'}])", text):
            return os.path.dirname(self.workspace)
        return None

    def _paths(self, words: Sequence[Word], *, write: bool, skip: int = 0) -> tuple[list[PathUse], bool]:
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
                uses.append(self._dynamic_use(word, write))
                continue
            if not options_done and value == "--":
                options_done = True
                continue
            if not options_done and value.startswith("-") and value != "-":
                if "=" in value:
                    attached = value.split("=", 1)[1]
                    if _pathlike(attached):
                        uses.append(self._path_use(attached, write=write))
                elif len(value) > 2 and value[1] != "-" and _pathlike(value[2:]) and value[2] in "/~.":
                    uses.append(self._path_use(value[2:], write=write))
                continue
            positional += 1
            if positional <= skip or value == "-":
                continue
            uses.append(self._path_use(value, write=write))
            if word.glob:
                uses.extend(self._glob_outside(value, write))
        return uses, dynamic

    def _glob_matches(self, pattern: str, limit: int = 2000) -> list[str] | None:
        """What an unquoted file pattern expands to now (None: too many, or no known cwd)."""
        if self.cwd is None or not _GLOB.search(pattern):
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
        for match in self._glob_matches(pattern) or ():
            use = self._path_use(match, write=write)
            if use.outside:
                out.append(use)
        return out

    # ---- classification ----

    def _classify(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        base = os.path.basename(name)
        if base in FORBIDDEN or base.startswith(("mkfs.", "mkfs_", "fsck")):
            return _Verdict("forbidden", [f"{base} is never run by the agent"])
        if "/" in name:
            # A program named by its path: at least unknown, and no better than what its
            # name says (/opt/x/rm is judged as rm too).
            verdict = self._path_command(name, cmd)
            if base and base not in (".", ".."):
                named = self._classify(base, _Cmd([Word(base, base), *args], cmd.text, cmd.via), depth)
                if named.kind != "skip":  # type: ignore[comparison-overlap]
                    verdict.raise_to(named.kind)
                    verdict.reasons.extend(r for r in named.reasons if r not in verdict.reasons)
                    verdict.paths.extend(p for p in named.paths if p not in verdict.paths)
                    verdict.sandbox_ok = verdict.sandbox_ok and named.sandbox_ok
            return verdict
        handler = _HANDLERS.get(name)
        if handler is not None:
            return handler(self, name, cmd, depth)
        if name in WRAPPERS:
            return self._wrapper(name, cmd, depth)
        if name in SHELLS:
            return self._shell(name, cmd, depth)
        if name in INTERPRETERS:
            return self._interpreter(name, cmd, depth)
        if name in EVALUATORS:
            return self._evaluator(name, cmd, depth)
        if name in DETACHERS:
            inner = args[1:] if name == "flock" else args
            verdict = _Verdict("risky", [f"{name} runs commands detached or later, beyond Stoa's control"], sandbox_ok=False)
            if name in ("setsid", "nohup", "daemonize") and inner:
                self._simple(_Cmd(list(inner), cmd.text, _via(cmd.via, name)), depth)
            return verdict
        if name in NETWORK:
            return _Verdict("risky", [f"{name} uses the network"], sandbox_ok=False)
        if name in INSTALLERS:
            return self._installer(name, cmd)
        if name in CLOUD:
            if values[:1] in (["--version"], ["version"]):
                return _Verdict("read", sandbox_ok=False)
            return _Verdict("risky", [f"{name} acts on systems outside this machine or on containers"], sandbox_ok=False)
        if name in DESTRUCTIVE:
            return self._destructive(name, cmd)
        if name in NO_PATHS:
            return self._no_paths(name, cmd)
        if name in READ_ONLY:
            return self._read_only(name, cmd)
        if name in WRITES:
            return self._writes(name, cmd)
        if name in VETTED_BUILD:
            return self._build(name, cmd)
        if name in FORMATTERS:
            return self._formatter(name, cmd)
        if name in PACKAGE_RUNNERS:
            return self._package_runner(name, cmd, depth)
        # Not in any table: a program we do not know.
        paths, _ = self._paths(args, write=True)
        self._wrapped_tail(name, cmd, depth)
        return _Verdict("unknown", [f"{name} is not a command Stoa knows"], paths)

    def _wrapped_tail(self, name: str, cmd: _Cmd, depth: int) -> None:
        """An unknown program may be a wrapper (setarch x86_64 rm -rf src, fakeroot rm ...):
        the first argument that names a command that can change things is judged as the
        command it would run. (Unknown programs run inside the sandbox, where the workspace
        is writable, so what they run must still be seen.)"""
        args = cmd.words[1:]
        for index, word in enumerate(args):
            value = word.value
            if value is None or value.startswith("-") or "=" in value:
                continue
            base = _strip_version(os.path.basename(value))
            if base in _TAIL_COMMANDS and ("/" not in value or os.path.dirname(value) in STD_BIN_DIRS):
                self._simple(_Cmd(list(args[index:]), cmd.text, _via(cmd.via, name)), depth)
                return

    def _path_command(self, name: str, cmd: _Cmd) -> _Verdict:
        """A program named by its path (./build.sh, /opt/tool/bin/x): runs that file."""
        use = self._path_use(name, write=False)
        paths, _ = self._paths(cmd.words[1:], write=True)
        verdict = _Verdict("unknown", [f"runs the program {name}"], [*paths])
        if use.outside and not name.startswith("/"):
            verdict.paths.append(use)
        elif use.path is None:
            verdict.raise_to("unknown")
        return verdict

    def _no_paths(self, name: str, cmd: _Cmd) -> _Verdict:
        values = [w.value for w in cmd.words[1:]]
        if name in ("cd", "pushd"):
            self._cd_words = cmd.words[1:]
            self._change_dir(values)
            return _Verdict("read")
        if name == "popd":
            self.cwd = None
            return _Verdict("read")
        if name == "hostname" and any(v and not v.startswith("-") for v in values):
            return _Verdict("forbidden", ["hostname NAME changes the machine's name"])
        if name == "date" and any(v in ("-s", "--set") or (v or "").startswith("--set=") for v in values):
            return _Verdict("forbidden", ["date --set changes the system clock"])
        if name == "dmesg" and any(
            v in ("-C", "-c", "--clear", "--read-clear", "-D", "--console-off", "-E", "--console-on", "-n", "--console-level")
            or (v or "").startswith("--console-level")
            for v in values
        ):
            return _Verdict("forbidden", ["dmesg --clear / --console-* changes the kernel log"])
        if name == "journalctl" and any(
            (v or "").startswith(("--vacuum", "--rotate", "--flush", "--sync", "--relinquish-var", "--smart-relinquish-var", "--setup-keys", "--update-catalog"))
            for v in values
        ):
            return _Verdict("forbidden", ["journalctl --vacuum / --rotate changes the system journal"])
        if name == "hash" and "-p" in values:
            return _Verdict("risky", ["hash -p maps a command name to another program"])
        if name in ("set", "shopt") and any(v in ("-o", "+o") for v in values):
            pass
        if name == "unset":
            for v in values:
                if v is None or not v.startswith("-"):
                    if v is not None:
                        self._forget(v)
            return _Verdict("read")
        if name == "unalias":
            return _Verdict("read")
        if name == "printf":
            # printf -v x FORMAT ARGS sets x; its text is the format and arguments.
            raw = " ".join(w.raw for w in cmd.words[1:])
            for i, v in enumerate(values):
                if v == "-v" and i + 1 < len(values) and values[i + 1]:
                    self._forget(values[i + 1] or "", raw)
                elif v and v.startswith("-v") and len(v) > 2:
                    self._forget(v[2:], raw)
        if name == "getopts" and len(values) >= 2 and values[1]:
            self._forget(values[1] or "")
        if name == "let":
            for v in values:
                names = re.findall(r"[A-Za-z_]\w*", v or "")
                if v is None or any(n in self.vars and (self.vars[n] is None or re.search(r"[`$\[]", self.vars[n] or "")) for n in names):
                    return _Verdict("risky", ["let evaluates a variable whose value is known only at run time"])
        if name in ("export", "declare", "typeset", "local", "readonly"):
            for v in values:
                if v and "=" in v and dangerous_assignment(*v.split("=", 1)):
                    return _Verdict("risky", [f"{name} {v} changes what later commands run"])
            return _Verdict("read")
        if name == "read":
            for v in values:
                if v and not v.startswith("-"):
                    self.vars[v] = None
            return _Verdict("read")
        return _Verdict("read", sandbox_ok=name not in HOST_VIEW)

    def _change_dir(self, values: Sequence[str | None]) -> None:
        targets = [v for v in values if v is None or (not v.startswith("-") or v == "-")]
        if not targets:
            self.cwd = self.home
            return
        target = targets[0]
        if target == "-":
            self.cwd = None
            return
        if target is None:
            raw = next((w.raw for w in self._cd_words if w.value is None), "")
            hint = self._dynamic_use(Word(None, raw), write=False)
            self.cwd = hint.path if hint.outside else None
            return
        use = self._path_use(target, write=False)
        self.cwd = use.path

    def _read_only(self, name: str, cmd: _Cmd) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        skip = 0
        if name in ("grep", "egrep", "fgrep", "rg", "ag", "ack", "zgrep"):
            # The first operand is the pattern unless -e / -f give it.
            explicit = any(
                v is not None
                and (
                    v in ("--regexp", "--file")
                    or v.startswith(("--regexp=", "--file="))
                    or (not v.startswith("--") and v.startswith(("-e", "-f")))
                )
                for v in values
            )
            skip = 0 if explicit else 1
        if name in ("jq",):
            skip = 1
        if name == "sort" and any(v == "-o" or (v or "").startswith(("-o", "--output")) for v in values):
            paths, _ = self._paths(args, write=True)
            verdict = _Verdict("write", [], paths)
            self._overwrites(verdict, paths, "sort -o")
            return verdict
        if name == "uniq" or name == "xxd":
            positional = [w for w in args if w.value is None or not w.value.startswith("-")]
            if len(positional) >= 2:
                out = positional[-1]
                reads, _ = self._paths([w for w in args if w is not out], write=False)
                target = self._path_use(out.value or "", write=True)
                verdict = _Verdict("write", [], [*reads, target])
                self._overwrites(verdict, [target], name)
                return verdict
        if name == "iconv" and any(v in ("-o", "--output") or (v or "").startswith("--output=") for v in values):
            paths, _ = self._paths(args, write=True)
            return _Verdict("write", [], paths)
        if name in ("rg",) and any(v in ("--pre",) or (v or "").startswith("--pre=") for v in values):
            return _Verdict("risky", ["rg --pre runs a program on every file"])
        if name in ("less", "more") and any(v and v.startswith("+") for v in values):
            return _Verdict("risky", [f"{name} +CMD runs pager commands"])
        if name == "sort" and any((v or "").startswith("--compress-program") for v in values):
            return _Verdict("risky", ["sort --compress-program runs a program"])
        if name in ("ag", "bat", "batcat", "delta") and any((v or "").startswith("--pager") for v in values):
            return _Verdict("risky", [f"{name} --pager runs a program"])
        if name == "tree" and any((v or "").startswith("-o") for v in values):
            out_file = next((values[i + 1] for i, v in enumerate(values[:-1]) if v == "-o"), None) or next(
                ((v or "")[2:] for v in values if (v or "").startswith("-o") and v != "-o"), ""
            )
            use = self._path_use(out_file, write=True) if out_file else PathUse("", None, True)
            verdict = _Verdict("write", [], [use])
            self._overwrites(verdict, [use], "tree -o")
            return verdict
        paths, _ = self._paths(args, write=False, skip=skip)
        paths += self._followed(name, args, skip)
        return _Verdict("read", [], paths)

    # Options that make a command follow symbolic links while it walks a tree.
    _FOLLOW = {
        "grep": ("-R", "--dereference-recursive"),
        "egrep": ("-R", "--dereference-recursive"),
        "fgrep": ("-R", "--dereference-recursive"),
        "zgrep": ("-R", "--dereference-recursive"),
        "rg": ("-L", "--follow"),
        "ag": ("-f", "--follow"),
        "ack": ("--follow",),
        "du": ("-L", "--dereference"),
        "ls": ("-L", "--dereference"),
        "tree": ("-l",),
        "find": ("-L", "-follow"),
        "fd": ("-L", "--follow"),
        "fdfind": ("-L", "--follow"),
        "cp": ("-L", "--dereference"),
        "rsync": ("-L", "--copy-links", "--copy-unsafe-links", "-k", "--copy-dirlinks"),
        "tar": ("-h", "--dereference"),
        "chmod": ("-L",),
        "chown": ("-L",),
        "chgrp": ("-L",),
    }

    def _followed(
        self, name: str, args: Sequence[Word], skip: int = 0, *, always: bool = False, roots: Sequence[Word] | None = None
    ) -> list[PathUse]:
        """Paths outside the workspace a command reaches by following symbolic links found
        while it walks the trees named in ``args`` (grep -R, rg -L, find -L, zip -r, ...)."""
        flags = self._FOLLOW.get(name, ())
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
            use = self._path_use(root.value or ".", write=False)
            if use.path is None or use.outside:
                continue
            escape = _symlink_escape(use.path, self.workspace, self.home)
            if escape == "":
                out.append(PathUse(root.raw, None))
            elif escape is not None:
                out.append(PathUse(root.raw, escape, outside=True))
        return out

    def _writes(self, name: str, cmd: _Cmd) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        if name == "tar":
            return self._tar(cmd)
        if name == "sponge":
            paths, _ = self._paths(args, write=True)
            verdict = _Verdict("write", [], paths)
            if not any(v in ("-a",) for v in values):
                self._overwrites(verdict, paths, "sponge")
            return verdict
        if name == "fallocate":
            paths, _ = self._paths([w for w in args if not re.fullmatch(r"\d+[KMGTPE]?i?B?", w.value or "")], write=True)
            if any(v in ("-p", "--punch-hole", "-c", "--collapse-range", "-z", "--zero-range", "-d", "--dig-holes", "-i", "--insert-range") for v in values):
                return _Verdict("destructive", ["fallocate punches, collapses or zeroes ranges of a file"], paths)
            return _Verdict("risky", ["fallocate reserves disk space (it can fill the disk)"], paths)
        if name == "mktemp":
            # -p DIR / --tmpdir[=DIR] / a template with a folder: where the file is made.
            where: list[PathUse] = []
            for i, v in enumerate(values):
                if v is None:
                    where.append(PathUse("", None, True))
                elif v in ("-p", "--tmpdir") and i + 1 < len(values):
                    target = values[i + 1]
                    where.append(self._path_use(target, write=True) if target else PathUse("", None, True))
                elif v.startswith(("--tmpdir=", "-p")) and v not in ("-p",):
                    target = v.split("=", 1)[1] if "=" in v else v[2:]
                    where.append(self._path_use(target, write=True))
                elif not v.startswith("-") and (i == 0 or values[i - 1] not in ("-p", "--tmpdir", "--suffix")):
                    if "/" in v:
                        where.append(self._path_use(os.path.dirname(v) or ".", write=True))
            return _Verdict("write", [], where)
        if (name == "zip" and any(v == "--move" or (v and re.fullmatch(r"-[a-zA-Z0-9]*m[a-zA-Z0-9]*", v) and v != "-mm") for v in values)) or (
            name == "7z" and "-sdel" in values
        ):
            paths, _ = self._paths(args, write=True)
            return _Verdict("destructive", [f"{name} moves the files into the archive (deletes them)"], paths)
        if name == "zip" and any(v in ("-TT", "--unzip-command") or (v or "").startswith("--unzip-command") for v in values):
            return _Verdict("risky", ["zip -TT runs a command"])
        if name == "zip" and not any(v in ("-y", "--symlinks") for v in values):
            # zip stores what a symbolic link points to (unless -y).
            paths, _ = self._paths(args, write=True)
            follows = any(v in ("-r", "-R", "--recurse-paths") or (v and re.fullmatch(r"-[a-zA-Z0-9]*[rR][a-zA-Z0-9]*", v)) for v in values)
            paths += self._followed("zip", args, skip=1, always=follows)
            return _Verdict("write", [], paths)
        if name in ("unzip",) and any(v in ("-l", "-t", "-v", "-Z") for v in values):
            paths, _ = self._paths(args, write=False)
            return _Verdict("read", [], paths)
        if name == "unzip":
            paths, _ = self._paths(args, write=True)
            verdict = _Verdict("write", [], paths)
            i = 0
            archive = None
            while i < len(values):
                v = values[i]
                if v is None or not v.startswith("-"):
                    archive = v
                    break
                i += 2 if v in ("-d", "-x", "-P") else 1
            self._check_archive(verdict, archive, "unzip")
            return verdict
        if name in ("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd") and any(
            v in ("-c", "--stdout", "-l", "--list", "-t", "--test") for v in values
        ):
            paths, _ = self._paths(args, write=False)
            return _Verdict("read", [], paths)
        if name == "tee":
            paths, _ = self._paths(args, write=True)
            paths = [p for p in paths if p.path not in HARMLESS_DEVICES]
            verdict = _Verdict("write" if paths else "read", [], paths)
            if not any(v in ("-a", "--append") for v in values):
                self._overwrites(verdict, paths, "tee")
            return verdict
        if name in ("cp", "mv", "install", "ln"):
            return self._copy_like(name, cmd)
        paths, _ = self._paths(args, write=True)
        return _Verdict("write", [], paths)

    def _overwrites(self, verdict: _Verdict, uses: Sequence[PathUse], name: str) -> None:
        for use in uses:
            if use.write and use.path and use.path not in HARMLESS_DEVICES and os.path.isfile(use.path):
                verdict.raise_to("destructive", f"{name} overwrites the existing file {use.path}")

    def _copy_like(self, name: str, cmd: _Cmd) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        positional: list[Word] = []
        target_dir: Word | None = None
        options_done = False
        no_clobber = False
        it = iter(args)
        for word in it:
            v = word.value
            if v is not None and not options_done and v.startswith("-") and v != "-":
                if v == "--":
                    options_done = True
                elif v in ("-t", "--target-directory"):
                    target_dir = next(it, None)
                elif v.startswith("--target-directory="):
                    target_dir = Word(v.split("=", 1)[1], v)
                elif v in ("-n", "--no-clobber", "--update=none") or (
                    not v.startswith("--") and "n" in v[1:] and name in ("cp", "mv")
                ):
                    no_clobber = True
                elif v in ("-S", "--suffix", "-m", "--mode", "-o", "--owner", "-g", "--group") and name == "install":
                    next(it, None)
                continue
            positional.append(word)
        paths: list[PathUse] = []
        verdict = _Verdict("write")
        if target_dir is not None:
            dest: Word | None = target_dir
            sources = positional
        else:
            dest = positional[-1] if len(positional) >= 2 else None
            sources = positional[:-1] if len(positional) >= 2 else positional
        symbolic = name == "ln" and any(
            v is not None and (v in ("-s", "--symbolic") or (v.startswith("-") and not v.startswith("--") and "s" in v))
            for v in values
        )
        link_targets: list[PathUse] = []
        if any(src.value in ("/dev/zero", "/dev/urandom", "/dev/random", "/dev/full") for src in sources):
            verdict.raise_to("risky", f"{name} copies an endless device (it would fill the disk)")
        for src in sources:
            if src.value is None:
                paths.append(self._dynamic_use(src, write=name == "mv"))
            elif symbolic:
                # A symlink's target is only named, not touched; remember where it leads.
                link_targets.append(self._path_use(src.value, write=False))
            else:
                # Hard links and copies read their sources (a hard link to an outside file
                # would let later "inside" writes change it).
                paths.append(self._path_use(src.value, write=name == "mv"))
        if dest is not None:
            if dest.value is None:
                paths.append(self._dynamic_use(dest, write=True))
            else:
                use = self._path_use(dest.value, write=True)
                paths.append(use)
                forced = name == "ln" and any(v and (("f" in v[1:] and not v.startswith("--")) or v == "--force") for v in values)
                if (
                    use.path
                    and not no_clobber
                    and (name != "ln" or forced)
                    and os.path.isfile(use.path)
                    and not os.path.isdir(use.path)
                    and use.path not in HARMLESS_DEVICES
                ):
                    verdict.raise_to("destructive", f"{name} overwrites the existing file {use.path}")
                if name == "mv" and use.path and use.path.startswith("/dev/"):
                    verdict.raise_to("forbidden", f"mv onto a device file: {use.path}")
                if use.path and link_targets:
                    into_dir = os.path.isdir(use.path) and len(link_targets) >= 1 and (len(link_targets) > 1 or target_dir is not None or not forced)
                    for link_target in link_targets:
                        link_path = os.path.join(use.path, os.path.basename(link_target.raw.rstrip("/"))) if into_dir else use.path
                        self.links[link_path] = link_target
        if dest is None and link_targets:
            for link_target in link_targets:
                here = self._path_use(os.path.basename(link_target.raw.rstrip("/")) or ".", write=True)
                paths.append(here)
                if here.path:
                    self.links[here.path] = link_target
        if name == "cp" and any(v in ("-r", "-R", "-a", "--recursive", "--archive") or (v and re.fullmatch(r"-[a-zA-Z]*[rRa][a-zA-Z]*", v)) for v in values):
            paths += self._followed("cp", args, roots=sources)
        verdict.paths = paths
        return verdict

    def _tar(self, cmd: _Cmd) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value or "" for w in args]
        mode = ""
        first = values[0] if values else ""
        if first and not first.startswith("-"):
            mode = first
        letters = "".join(v[1:] for v in values if v.startswith("-") and not v.startswith("--")) + mode
        longs = [v for v in values if v.startswith("--")]
        if any(v.startswith(("--to-command", "--use-compress-program", "--checkpoint-action", "--info-script", "--new-volume-script", "--rsh-command")) for v in longs) or ("I" in letters and "-I" in values) or ("F" in letters and "-F" in values):
            return _Verdict("risky", ["tar option that runs a program"])
        if "--remove-files" in longs:
            paths, _ = self._paths(args, write=True, skip=1 if mode else 0)
            return _Verdict("destructive", ["tar --remove-files deletes the files it archives"], paths)
        listing = "t" in letters or "--list" in longs
        extracting = "x" in letters or "--extract" in longs or "--get" in longs
        paths, _ = self._paths(args, write=not listing, skip=1 if mode else 0)
        if "h" in letters or "--dereference" in longs:
            paths += self._followed("tar", args, always=True)
        if listing:
            return _Verdict("read", [], paths)
        verdict = _Verdict("write", [], paths)
        if extracting:
            for i, v in enumerate(values):
                if v in ("-C", "--directory") and i + 1 < len(values):
                    verdict.paths.append(self._path_use(values[i + 1], write=True))
            if "P" in letters or "--absolute-names" in longs:
                verdict.raise_to("risky", "tar -P extracts to absolute paths")
            archive = None
            for i, v in enumerate(values):
                if v in ("-f", "--file") or (v.startswith("-") and not v.startswith("--") and v.endswith("f")):
                    archive = values[i + 1] if i + 1 < len(values) else None
                    break
                if v.startswith("--file="):
                    archive = v.split("=", 1)[1]
                    break
            if archive is None and mode and "f" in mode and len(values) > 1:
                archive = values[1]
            self._check_archive(verdict, archive, "tar")
        return verdict

    def _check_archive(self, verdict: _Verdict, archive: str | None, name: str) -> None:
        """An extraction writes whatever the archive holds: look inside it for members that
        land outside (absolute, ..), links, or Stoa's and git's own files."""
        if archive is None or archive == "-":
            verdict.raise_to("unknown", f"{name} extracts an archive read from its input")
            return
        use = self._path_use(archive, write=False)
        problem = _archive_problem(use.path) if use.path is not None else "it is named only at run time"
        if problem is None:
            return
        if problem.startswith("it "):
            verdict.raise_to("unknown", f"{name}: cannot look inside {archive} ({problem})")
        else:
            verdict.raise_to("risky", f"{name}: {archive} {problem}")

    def _destructive(self, name: str, cmd: _Cmd) -> _Verdict:
        args = cmd.words[1:]
        paths, dynamic = self._paths(args, write=True)
        verdict = _Verdict("destructive", [f"{name} deletes or destroys data"], paths)
        if name == "truncate" or name == "shred":
            pass
        for use in paths:
            if self._critical(use):
                verdict.raise_to("forbidden", f"{name} on {use.raw} would destroy the system or the home folder")
        if dynamic:
            verdict.raise_to("destructive", f"{name} on a path known only at run time")
        return verdict

    def _critical(self, use: PathUse) -> bool:
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

    def _basetemp(self, values: Sequence[str]) -> str | None:
        """pytest --basetemp DIR empties DIR before the run: the folder, when it exists."""
        for i, v in enumerate(values):
            target = values[i + 1] if v == "--basetemp" and i + 1 < len(values) else v.split("=", 1)[1] if v.startswith("--basetemp=") else None
            if target:
                use = self._path_use(target, write=True)
                if use.path is None or os.path.exists(use.path):
                    return target
        return None

    def _build(self, name: str, cmd: _Cmd) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value or "" for w in args]
        paths, _ = self._paths(args, write=True)
        if name in ("pytest", "py.test") and (doomed := self._basetemp(values)):
            return _Verdict("destructive", [f"pytest --basetemp {doomed} deletes that folder first"], paths)
        if name in ("mvn", "mvnw") and any(v.startswith("exec:exec") or v.startswith("-Dexec.executable") for v in values):
            return _Verdict("risky", [f"{name} exec:exec runs a program named on the command line"], paths)
        if name in ("gradle", "gradlew", "mvn", "mvnw", "sbt", "lein", "bazel", "buck", "pants"):
            if any(v in ("run", "bootRun", "exec:java") for v in values):
                return _Verdict("unknown", [f"{name} run runs the program"], paths)
            if any(v in ("publish", "deploy", "install", "release", "uploadArchives") for v in values):
                return _Verdict("risky", [f"{name} {' '.join(values)} publishes, installs or runs"], paths, sandbox_ok=False)
        if name == "dotnet":
            sub = next((v for v in values if not v.startswith("-")), "")
            if sub in ("build", "test", "format", "--version", "--info", "--list-sdks"):
                return _Verdict("build", [], paths)
            if sub in ("run", "watch"):
                return _Verdict("unknown", [f"dotnet {sub} runs the program"], paths)
            return _Verdict("risky", [f"dotnet {sub} changes packages or uses the network"], paths, sandbox_ok=False)
        if name in ("tox", "nox"):
            return _Verdict("unknown", [f"{name} builds environments and runs commands from its config"], paths)
        if name in ("mix", "cabal", "stack", "dune", "zig", "cmake"):
            sub = next((v for v in values if not v.startswith("-")), "")
            allowed = {"test", "build", "compile", "check", "format", "--build", "fmt"}
            if name == "cmake" and (not sub or sub.startswith(("-", "."))):
                return _Verdict("build", [], paths)
            if sub not in allowed and name != "cmake":
                return _Verdict("unknown", [f"{name} {sub} is not a known build or test step"], paths)
        if name == "eslint" and any(v == "--fix" or v.startswith("--fix") for v in values):
            return _Verdict("write", [], paths)
        return _Verdict("build", [], paths)

    def _formatter(self, name: str, cmd: _Cmd) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value or "" for w in args]
        checking = any(v in ("--check", "--diff", "-c", "--list-different", "-l", "-d", "--dry-run") for v in values)
        if name == "gofmt" and "-w" not in values:
            checking = True
        if name == "prettier" and not any(v in ("--write", "-w") for v in values):
            checking = True
        paths, _ = self._paths(args, write=not checking)
        return _Verdict("build" if checking else "write", [], paths)

    def _installer(self, name: str, cmd: _Cmd) -> _Verdict:
        values = [w.value or "" for w in cmd.words[1:]]
        sub = next((v for v in values if not v.startswith("-")), "")
        if (name in ("pip", "pip3") and sub in ("list", "show", "freeze", "check", "--version", "help", "")) or (
            name in ("pip", "pip3") and values in (["--version"], ["-V"])
        ):
            return _Verdict("read")
        if name in ("dpkg",) and any(v in ("-l", "-L", "-s", "--list", "--status", "-S") for v in values):
            return _Verdict("read")
        if name in ("apt", "apt-cache", "brew", "conda", "gem") and sub in ("list", "show", "search", "info", "--version"):
            return _Verdict("read", sandbox_ok=True)
        return _Verdict("risky", [f"{name} installs or removes software"], sandbox_ok=False)

    def _package_runner(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        if name == "bun" and any(v in ("-e", "--eval", "-p", "--print") for v in values):
            return _Verdict("risky", ["bun -e runs code given on the command line"])
        sub = next((v for v in values if v is None or not v.startswith("-")), "")
        if sub is None:
            return _Verdict("risky", [f"{name} subcommand known only at run time"])
        rest = values[values.index(sub) + 1 :] if sub in values else []
        script = next((v for v in rest if v is None or not v.startswith("-")), "") if sub in ("run", "run-script") else sub
        if values in (["--version"], ["-v"], ["-V"]) or sub in ("--version", "-v", "version", "help"):
            return _Verdict("read")
        if sub in ("ls", "list", "why", "explain", "root", "bin", "prefix", "config") and (
            sub != "config" or (rest[:1] in (["get"], ["list"]))
        ):
            return _Verdict("read")
        if sub in ("test", "t", "tst") or script in (
            "test",
            "tests",
            "build",
            "lint",
            "typecheck",
            "type-check",
            "check",
            "compile",
            "test:unit",
            "test:e2e",
            "tsc",
        ):
            return _Verdict("build")
        if sub in ("run", "run-script", "start", "dev", "serve", "preview", "watch"):
            return _Verdict("unknown", [f"{name} {sub} {script or ''} runs a project script".replace("  ", " ")])
        if name == "yarn" and sub not in (
            "install", "add", "remove", "upgrade", "up", "dlx", "exec", "publish", "login", "link", "global", "create", "init", "set", "plugin", "npm", "pack", "audit", "outdated", "info", "import"
        ) and sub:
            return _Verdict("unknown", [f"yarn {sub} runs a project script"])
        if name == "bun" and sub and sub not in ("install", "i", "add", "a", "remove", "rm", "x", "create", "upgrade", "link", "publish", "pm", "update", "init"):
            return _Verdict("unknown", [f"bun {sub} runs a file or script"])
        return _Verdict("risky", [f"{name} {sub} installs, publishes or downloads packages"], sandbox_ok=False)

    def _wrapper(self, name: str, cmd: _Cmd, depth: int) -> _Verdict | Any:
        args = cmd.words[1:]
        values = [w.value for w in args]
        i = 0
        extra: list[str] = []
        if name == "env":
            while i < len(args):
                v = values[i]
                if v is None:
                    break
                if v in ("-i", "--ignore-environment", "-0", "--null", "-v", "--debug") or v == "-":
                    i += 1
                elif v in ("-u", "--unset"):
                    i += 2
                elif v.startswith("--unset="):
                    i += 1
                elif v in ("-C", "--chdir") or v.startswith("--chdir="):
                    return _Verdict("risky", ["env --chdir runs the command in another directory"])
                elif v in ("-S", "--split-string") or v.startswith(("-S", "--split-string=")):
                    return self._evaluate_string(
                        " ".join(x or "" for x in values[i + 1 :]) if v in ("-S", "--split-string") else v.split("=", 1)[-1] if "=" in v else v[2:],
                        cmd,
                        depth,
                        "env -S",
                    )
                elif "=" in v and not v.startswith("-") and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", v):
                    var, _, assigned = v.partition("=")
                    if dangerous_assignment(var, assigned):
                        extra.append(f"env sets {var}, which changes what the command runs")
                    i += 1
                elif v.startswith("-"):
                    i += 1
                else:
                    break
            if i >= len(args):
                return _Verdict("read")
        elif name == "command":
            if any(v in ("-v", "-V") for v in values):
                return _Verdict("read")
            while i < len(args) and values[i] == "-p":
                i += 1
        elif name == "builtin":
            pass
        elif name == "exec":
            while i < len(args) and values[i] in ("-c", "-l", "-a"):
                i += 2 if values[i] == "-a" else 1
            if i >= len(args):
                return _Verdict("read")
        elif name == "time":
            while i < len(args) and (values[i] or "").startswith("-"):
                if values[i] in ("-o", "--output"):
                    return _Verdict("risky", ["time -o writes a file"])
                i += 2 if values[i] == "-f" else 1
        elif name == "timeout":
            while i < len(args) and (values[i] or "").startswith("-"):
                i += 2 if values[i] in ("-s", "-k", "--signal", "--kill-after") else 1
            i += 1  # the duration
        elif name == "nice":
            while i < len(args) and (values[i] or "").startswith("-"):
                i += 2 if values[i] == "-n" else 1
        elif name == "ionice":
            while i < len(args) and (values[i] or "").startswith("-"):
                if values[i] in ("-p", "-P", "-u"):
                    return _Verdict("risky", ["ionice on other processes"])
                i += 2 if values[i] in ("-c", "-n") else 1
        elif name == "stdbuf":
            while i < len(args) and (values[i] or "").startswith("-"):
                i += 2 if values[i] in ("-i", "-o", "-e") else 1
        elif name == "chrt":
            while i < len(args) and (values[i] or "").startswith("-"):
                if values[i] in ("-p", "--pid"):
                    return _Verdict("risky", ["chrt on another process"])
                i += 1
            i += 1  # priority
        elif name == "taskset":
            while i < len(args) and (values[i] or "").startswith("-"):
                if values[i] in ("-p", "--pid"):
                    return _Verdict("risky", ["taskset on another process"])
                i += 1
            i += 1  # mask
        elif name == "flock":
            while i < len(args) and (values[i] or "").startswith("-"):
                if values[i] in ("-c", "--command"):
                    return self._evaluate_string(values[i + 1] if i + 1 < len(values) else None, cmd, depth, "flock -c")
                i += 2 if values[i] in ("-w", "--timeout", "-E", "--conflict-exit-code") else 1
            i += 1  # the lock file
        elif name in ("setarch", "faketime"):
            while i < len(args) and (values[i] or "").startswith("-"):
                i += 1
            i += 1  # the architecture / the time
            while i < len(args) and (values[i] or "").startswith("-"):
                i += 1
        elif name == "prlimit" and any(v in ("-p", "--pid") or (v or "").startswith("--pid") for v in values):
            return _Verdict("risky", ["prlimit on another process"])
        elif name in ("strace", "ltrace", "valgrind"):
            while i < len(args) and (values[i] or "").startswith("-"):
                if values[i] in ("-o",) or (values[i] or "").startswith("--log-file"):
                    return _Verdict("risky", [f"{name} writes a log file"])
                if values[i] in ("-p",):
                    return _Verdict("risky", [f"{name} attaches to another process"])
                i += 2 if values[i] in ("-e", "-s", "-E", "-u") else 1
        else:
            while i < len(args) and (values[i] or "").startswith("-"):
                i += 1
        if i < len(args) and values[i] == "--":
            i += 1
        inner = args[i:]
        if not inner:
            return _Verdict("read")
        self._simple(_Cmd(list(inner), cmd.text, _via(cmd.via, name)), depth)
        verdict = _Verdict("read")
        for reason in extra:
            verdict.raise_to("risky", reason)
        if verdict.reasons:
            return verdict
        return _Verdict("skip")  # type: ignore[arg-type]

    def _evaluate_string(self, source: str | None, cmd: _Cmd, depth: int, how: str) -> _Verdict:
        if source is None:
            return _Verdict("risky", [f"{how} runs a command string known only at run time"])
        self._nested(source, _via(cmd.via, how), depth)
        return _Verdict("risky", [f"{how} runs a command string: {source[:80]}"])

    def _nested(self, source: str, via: str, depth: int) -> None:
        saved = self.cwd, dict(self.vars), self.depth, self.parsed
        self.analyze(source, via, depth + 1)
        self.cwd, self.vars, self.depth = saved[0], saved[1], saved[2]
        self.parsed = saved[3] and self.parsed

    def _shell(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        if name in ("busybox", "toybox", "coreutils"):
            if values[:1] == ["--multicall"]:
                args, values = args[1:], values[1:]
            if not args:
                return _Verdict("read")
            return self._classify(_strip_version(values[0] or "?"), _Cmd(list(args), cmd.text, _via(cmd.via, "busybox")), depth)
        i = 0
        while i < len(args):
            v = values[i]
            if v is None:
                return _Verdict("risky", [f"{name} with arguments known only at run time"])
            if v == "-c" or (v.startswith("-") and not v.startswith("--") and "c" in v[1:]):
                script = values[i + 1] if i + 1 < len(values) else None
                return self._evaluate_string(script, cmd, depth, f"{name} -c")
            if v in ("-s", "-i") or (v.startswith("-") and not v.startswith("--") and ("s" in v[1:] or "i" in v[1:])):
                return _Verdict("risky", [f"{name} {v} runs commands from its input"])
            if v in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
                if v in ("--rcfile", "--init-file"):
                    return _Verdict("risky", [f"{name} {v} runs another start-up file"])
                i += 2
                continue
            if v in ("--version", "--help"):
                return _Verdict("read")
            if v.startswith("-") or v.startswith("+"):
                i += 1
                continue
            break
        if i >= len(args):
            return _Verdict("risky", [f"{name} without a script runs commands from its input"])
        script_word = args[i]
        noexec = any(v in ("-n",) for v in values[:i])
        use = (
            self._path_use(script_word.value, write=False)
            if script_word.value
            else PathUse(script_word.raw, None)
        )
        if noexec:
            return _Verdict("read", [], [use])
        rest, _ = self._paths(args[i + 1 :], write=True)
        return _Verdict("unknown", [f"runs the shell script {script_word.raw}"], [use, *rest])

    def _interpreter(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        if values in (["--version"], ["-V"], ["-v"], ["--help"], ["-h"], ["version"]):
            return _Verdict("read")
        if name.startswith("py"):
            inline = {"-c", "-i", "-"}
        elif name in ("node", "nodejs", "bun"):
            inline = {"-e", "--eval", "-p", "--print", "-r", "--require", "-i", "--interactive", "-", "--import", "--loader"}
        else:
            inline = {"-c", "-e", "-E", "-r", "-a", "-i", "-l", "-", "-Command", "-command", "-EncodedCommand", "-ec", "--eval"}
        if name in ("perl", "ruby") and any(v and v.startswith("-") and not v.startswith("--") and ("e" in v or "E" in v) for v in values):
            return _Verdict("risky", [f"{name} runs code given on the command line"])
        if name == "perl" and any(v and v.startswith(("-M", "-m")) and re.search(r"[;(`{\s]", v) for v in values):
            return _Verdict("risky", ["perl -M with code runs code given on the command line"])
        i = 0
        while i < len(args):
            v = values[i]
            if v is None:
                return _Verdict("risky", [f"{name} with arguments known only at run time"])
            if name.startswith("py") and v == "-m":
                module = values[i + 1] if i + 1 < len(values) else None
                return self._python_module(module, cmd, args[i + 2 :], depth)
            if name.startswith("py") and v.startswith("-m") and len(v) > 2:
                return self._python_module(v[2:], cmd, args[i + 1 :], depth)
            if name in ("node", "nodejs", "deno", "bun") and v == "--test":
                return _Verdict("build")
            if v in inline or (name.startswith("py") and v.startswith("-c")):
                return _Verdict("risky", [f"{name} {v} runs code given inline or from its input"])
            if name.startswith("py") and v in ("-W", "-X", "--check-hash-based-pycs"):
                i += 2
                continue
            if v.startswith("-"):
                i += 1
                continue
            break
        if i >= len(args):
            return _Verdict("risky", [f"{name} without a script runs code from its input"])
        script = args[i]
        if name in ("swift",) and script.value in ("build", "test"):
            return _Verdict("build")
        use = self._path_use(script.value or "", write=False)
        rest, _ = self._paths(args[i + 1 :], write=True)
        return _Verdict("unknown", [f"runs the {name} program {script.raw}"], [use, *rest])

    def _python_module(self, module: str | None, cmd: _Cmd, rest: Sequence[Word], depth: int) -> _Verdict:
        values = [w.value or "" for w in rest]
        paths, _ = self._paths(rest, write=True)
        if module is None:
            return _Verdict("risky", ["python -m with a module known only at run time"])
        if module == "pytest" and (doomed := self._basetemp(values)):
            return _Verdict("destructive", [f"pytest --basetemp {doomed} deletes that folder first"], paths)
        if module in ("pytest", "unittest", "doctest", "mypy", "pyflakes", "pylint", "flake8", "pycodestyle", "compileall", "py_compile", "pyright", "coverage", "tabnanny", "build"):
            return _Verdict("build", [], paths)
        if module in ("timeit", "pdb", "cProfile", "profile", "trace", "code", "runpy", "idlelib", "IPython", "asyncio"):
            return _Verdict("risky", [f"python -m {module} runs code given on the command line or from its input"])
        if module == "json.tool" and len([v for v in values if not v.startswith("-")]) >= 2:
            verdict = _Verdict("write", [], [replace(p, write=False) for p in paths[:-1]] + paths[-1:])
            self._overwrites(verdict, paths[-1:], "python -m json.tool")
            return verdict
        if module == "pydoc" and any(v.startswith(("-p", "-b", "-w", "-n")) for v in values):
            return _Verdict("unknown", ["python -m pydoc -p/-b/-w starts a server or writes files"], paths)
        if module in ("json.tool", "tokenize", "dis", "platform", "sysconfig", "site", "pydoc", "this", "calendar"):
            return _Verdict("read", [], [replace(p, write=False) for p in paths])
        if module in ("ruff", "black", "isort"):
            return self._formatter(module, _Cmd([Word(module, module), *rest], cmd.text, cmd.via)) if module != "ruff" else self._ruff(_Cmd([Word("ruff", "ruff"), *rest], cmd.text, cmd.via))
        if module in ("pip", "ensurepip", "pipx"):
            return self._installer("pip", _Cmd([Word("pip", "pip"), *rest], cmd.text, cmd.via))
        if module in ("venv", "virtualenv"):
            return _Verdict("write", [], paths)
        if module in ("http.server", "smtpd", "ftplib", "telnetlib", "webbrowser", "urllib.request", "pty"):
            return _Verdict("risky", [f"python -m {module} uses the network or a terminal"], sandbox_ok=False)
        if any(v == "-c" for v in values):
            return _Verdict("risky", [f"python -m {module} -c runs inline code"])
        return _Verdict("unknown", [f"python -m {module} runs that module"], paths)

    def _ruff(self, cmd: _Cmd) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value or "" for w in args]
        sub = next((v for v in values if not v.startswith("-")), "check")
        fixing = any(v in ("--fix", "--unsafe-fixes", "--fix-only") for v in values) or (
            sub == "format" and not any(v in ("--check", "--diff") for v in values)
        )
        paths, _ = self._paths(args, write=fixing, skip=1 if sub in values else 0)
        return _Verdict("write" if fixing else "build", [], paths)

    def _evaluator(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value for w in cmd.words[1:]]
        if name == "eval":
            if any(v is None for v in values):
                return _Verdict("risky", ["eval of a string known only at run time"])
            return self._evaluate_string(" ".join(v or "" for v in values), cmd, depth, "eval")
        if name == "trap":
            if not values or values[0] in ("-l", "-p") or (values[0] is None and False):
                return _Verdict("read")
            return self._evaluate_string(values[0], cmd, depth, "trap")
        if name == "watch":
            rest = [v for v in values if v is not None and not v.startswith("-")]
            return self._evaluate_string(" ".join(rest) if all(v is not None for v in values) else None, cmd, depth, "watch")
        if name == "script":
            if "-c" in values:
                idx = values.index("-c")
                return self._evaluate_string(values[idx + 1] if idx + 1 < len(values) else None, cmd, depth, "script -c")
            return _Verdict("risky", ["script records a terminal session"])
        if name == "alias":
            if not values or all(v and "=" not in v for v in values):
                return _Verdict("read")
            return _Verdict("risky", ["defines an alias (a command name that runs something else)"])
        if name == "complete" and "-C" not in values:
            return _Verdict("read")
        if name == "bind" and "-x" not in values:
            return _Verdict("read")
        return _Verdict("risky", [f"{name} runs code indirectly"])

    # ---- families with subcommands ----

    def _git(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        extra_paths: list[PathUse] = []
        i = 0
        while i < len(args):
            v = values[i]
            if v is None:
                return _Verdict("risky", ["git with an argument known only at run time before the subcommand"])
            if v in ("-c", "--config-env") or (v.startswith(("-c", "--config-env=", "--exec-path=")) and v not in ("-C",)):
                return _Verdict("risky", ["git -c / --config-env / --exec-path change what git runs"])
            if v in ("-C",):
                target = values[i + 1] if i + 1 < len(values) else None
                extra_paths.append(self._path_use(target, write=False) if target else PathUse("", None))
                i += 2
                continue
            if v in ("--git-dir", "--work-tree", "--namespace", "--super-prefix", "--list-cmds"):
                target = values[i + 1] if i + 1 < len(values) else None
                if v in ("--git-dir", "--work-tree"):
                    extra_paths.append(self._path_use(target, write=True) if target else PathUse("", None))
                i += 2
                continue
            if v.startswith(("--git-dir=", "--work-tree=")):
                extra_paths.append(self._path_use(v.split("=", 1)[1], write=True))
                i += 1
                continue
            if v.startswith("-"):
                if v in ("--version", "--help", "-h", "--html-path", "--man-path", "--info-path"):
                    return _Verdict("read")
                i += 1
                continue
            break
        if i >= len(args):
            return _Verdict("read")
        sub = values[i] or ""
        rest_words = args[i + 1 :]
        rest = [v or "" for v in values[i + 1 :]]
        # Where git will run: the last -C, else the current folder; None when only known at run
        # time or when --git-dir / --work-tree point elsewhere.
        self.git_dir = self.cwd
        for use in extra_paths:
            self.git_dir = use.path if use.path is not None and not use.write else None
        kind, reasons = _git_kind(sub, rest, self)
        write = kind not in ("read",)
        paths, dynamic = self._paths(rest_words, write=write)
        # Relative arguments of git are mostly refs and pathspecs; only explicit out-of-tree
        # paths count (absolute, ~, ..), plus -C and --git-dir style options.
        paths = [p for p in paths if p.path is None or p.outside or p.raw.startswith(("/", "~", ".."))]
        if sub in ("clone",):
            paths = [p for p in paths if not re.match(r"^[\w.+-]+://|^[\w.-]+@[\w.-]+:", p.raw)]
        if dynamic and kind in ("read", "write", "build"):
            kind = "unknown"
        host = sub in _GIT_NEEDS_HOST and kind != "read"
        verdict = _Verdict(kind, reasons, [*extra_paths, *paths], sandbox_ok=not host)
        # git obeys the configuration of the repository it finds: one nested in the workspace
        # (unpacked from an archive, or a bare repository committed as plain files) is not the
        # project's own, and its config can run programs on any git command (core.fsmonitor).
        start = next((u.path for u in extra_paths if u.path is not None), None) or self.cwd
        if start is not None and not any(u.path is None for u in extra_paths):
            problem = _foreign_repository(start, self.workspace)
            if problem:
                verdict.raise_to("risky", problem)
        return verdict

    def _find(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        roots: list[Word] = []
        i = 0
        while i < len(args) and values[i] in ("-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3", "-D"):
            i += 2 if values[i] == "-D" else 1
        while i < len(args) and not (values[i] or "").startswith(("-", "(", "!", ")")):
            roots.append(args[i])
            i += 1
        verdict = _Verdict("read")
        root_uses, dynamic = self._paths(roots, write=False) if roots else ([self._path_use(".", write=False)], False)
        writes_found = False
        while i < len(args):
            v = values[i]
            if v is None:
                i += 1
                continue
            if v == "-delete":
                verdict.raise_to("destructive", "find -delete deletes every file it finds")
                writes_found = True
            elif v in ("-exec", "-execdir", "-ok", "-okdir"):
                j = i + 1
                while j < len(args) and values[j] not in (";", "+"):
                    j += 1
                inner = [w if w.value != "{}" else Word(roots[0].value if roots and roots[0].value else ".", "{}") for w in args[i + 1 : j]]
                if inner:
                    before = len(self.findings)
                    self._simple(_Cmd(inner, cmd.text, _via(cmd.via, f"find {v}")), depth)
                    for f in self.findings[before:]:
                        if KIND_ORDER[f.kind] > KIND_ORDER["read"]:
                            writes_found = True
                else:
                    verdict.raise_to("risky", f"find {v} without a command")
                i = j + 1
                continue
            elif v in ("-fprint", "-fprint0", "-fls", "-fprintf"):
                target = values[i + 1] if i + 1 < len(values) else None
                verdict.raise_to("write")
                verdict.paths.append(self._path_use(target, write=True) if target else PathUse("", None, True))
                i += 3 if v == "-fprintf" else 2
                continue
            elif v in ("-newer", "-anewer", "-cnewer", "-samefile") or v.startswith("-newer"):
                target = values[i + 1] if i + 1 < len(values) else None
                if target:
                    verdict.paths.append(self._path_use(target, write=False))
                i += 2
                continue
            i += 1
        root_write = writes_found
        verdict.paths = [replace(u, write=root_write) for u in root_uses] + verdict.paths
        verdict.paths += self._followed("find", args, roots=roots)
        if verdict.kind == "destructive" and any(self._critical(u) for u in root_uses):
            verdict.raise_to("forbidden", "find -delete over the system or the home folder")
        if dynamic:
            verdict.raise_to("unknown")
        return verdict

    def _fd(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        for i, v in enumerate(values):
            if v in ("-x", "--exec", "-X", "--exec-batch"):
                inner = list(args[i + 1 :])
                if inner:
                    self._simple(_Cmd(inner, cmd.text, _via(cmd.via, f"{name} {v}")), depth)
                positional, _ = self._paths(args[:i], write=False, skip=1)
                return _Verdict("read", [], positional)
        paths, _ = self._paths(args, write=False, skip=1)
        paths += self._followed(name, args, skip=1)
        return _Verdict("read", [], paths)

    def _xargs(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        with_value = {"-I", "-L", "-n", "-P", "-s", "-d", "-E", "-e", "-a", "--arg-file", "--delimiter", "--max-args", "--max-lines", "--max-procs", "--max-chars", "--replace", "--eof", "--process-slot-var"}
        i = 0
        while i < len(args):
            v = values[i]
            if v is None:
                return _Verdict("risky", ["xargs with options known only at run time"])
            if v in with_value:
                i += 2
                continue
            if v.startswith("-"):
                i += 1
                continue
            break
        inner = list(args[i:]) or [Word("echo", "echo")]
        before = len(self.findings)
        self._simple(_Cmd(inner, cmd.text, _via(cmd.via, "xargs")), depth)
        # The arguments come from the input at run time: the paths are unknown.
        for index in range(before, len(self.findings)):
            f = self.findings[index]
            if f.argv is not None and f.via.endswith("xargs"):
                unknown = PathUse("(paths from input)", None, write=f.kind != "read")
                self.findings[index] = replace(f, paths=(*f.paths, unknown))
        return _Verdict("skip")  # type: ignore[arg-type]

    def _sed(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        in_place = False
        scripts: list[str | None] = []
        files: list[Word] = []
        i = 0
        options_done = False
        explicit_script = False
        while i < len(args):
            v = values[i]
            if v is not None and not options_done and v.startswith("-") and v != "-":
                if v == "--":
                    options_done = True
                elif v in ("-e", "--expression"):
                    scripts.append(values[i + 1] if i + 1 < len(values) else None)
                    explicit_script = True
                    i += 2
                    continue
                elif v.startswith("--expression="):
                    scripts.append(v.split("=", 1)[1])
                    explicit_script = True
                elif v in ("-f", "--file"):
                    return _Verdict("unknown", ["sed runs a script file"])
                elif v.startswith(("-i", "--in-place")) or (not v.startswith("--") and "i" in v[1:]):
                    in_place = True
                elif v in ("-l", "--line-length"):
                    i += 2
                    continue
                i += 1
                continue
            if not explicit_script and not scripts:
                scripts.append(v)
            else:
                files.append(args[i])
            i += 1
        for script in scripts:
            if script is None:
                return _Verdict("risky", ["sed script known only at run time"])
            problem = _sed_script_problem(script)
            if problem:
                return _Verdict("risky", [f"sed script {problem}"])
        paths, _ = self._paths(files, write=in_place)
        if in_place and any(re.fullmatch(r"\s*(1\s*,\s*\$\s*)?[dD]\s*;?\s*", script or "") for script in scripts):
            # sed -i d / sed -i '1,$d': every line deleted, the file emptied (like > file).
            return _Verdict("destructive", ["sed -i with d on every line empties the files"], paths)
        return _Verdict("write" if in_place else "read", [], paths)

    def _awk(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        program: str | None = ""
        files: list[Word] = []
        i = 0
        have_program = False
        while i < len(args):
            v = values[i]
            if not have_program and v is not None and v.startswith("-") and v != "-":
                if v in ("-f", "--file") or v.startswith("-f"):
                    return _Verdict("unknown", [f"{name} runs a program file"])
                if v in ("-v", "-F", "--assign", "--field-separator"):
                    i += 2
                    continue
                if v in ("-i", "--include", "-l", "--load", "-E", "--exec"):
                    return _Verdict("risky", [f"{name} {v} loads code"])
                i += 1
                continue
            if not have_program:
                program = v
                have_program = True
            else:
                files.append(args[i])
            i += 1
        if program is None:
            return _Verdict("risky", [f"{name} program known only at run time"])
        if re.search(r"\bsystem\s*\(|\|\s*(getline|\")|\|&|\bprintf?\b[^;{}]*>|@load|\bgetline\b\s*<?\s*\"", program):
            return _Verdict("risky", [f"{name} program runs commands or writes files"])
        if "|" in program:
            return _Verdict("risky", [f"{name} program pipes to a command"])
        assigns = [w for w in files if w.value and re.match(r"^[A-Za-z_]\w*=", w.value)]
        paths, _ = self._paths([w for w in files if w not in assigns], write=False)
        return _Verdict("read", [], paths)

    def _make(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        targets: list[str] = []
        paths: list[PathUse] = []
        i = 0
        dry = False
        while i < len(args):
            v = values[i]
            if v is None:
                return _Verdict("unknown", ["make with arguments known only at run time"])
            if v in ("-C", "--directory", "-f", "--file", "--makefile", "-I", "--include-dir", "-o", "-W"):
                target = values[i + 1] if i + 1 < len(values) else None
                if target:
                    paths.append(self._path_use(target, write=v in ("-C", "--directory")))
                i += 2
                continue
            if v.startswith(("--directory=", "--file=", "--makefile=")):
                paths.append(self._path_use(v.split("=", 1)[1], write=False))
            elif v in ("-n", "--dry-run", "--just-print", "--recon", "-q", "--question", "-p"):
                dry = True
            elif v.startswith("-") or "=" in v:
                if "=" in v and not v.startswith("-") and dangerous_assignment(*v.split("=", 1)):
                    return _Verdict("risky", [f"make {v} overrides a variable that runs programs"])
                if "=" in v and not v.startswith("-") and _command_like(v.split("=", 1)[1]):
                    return _Verdict("risky", [f"make {v} puts a command into a variable the Makefile may run"])
                if v.startswith("-") and any(v.startswith(x) for x in ("--eval", "-E")):
                    return _Verdict("risky", ["make --eval runs given make code"])
            else:
                targets.append(v)
            i += 1
        if dry:
            return _Verdict("read", [], paths)
        known = {"", "all", "build", "test", "tests", "check", "lint", "typecheck", "compile", "default", "format", "fmt", "unit", "test-unit", "ci", "docs", "html", "vet"}
        unknown = [t for t in targets if t not in known]
        if unknown:
            return _Verdict("unknown", [f"make {' '.join(unknown)} runs targets Stoa does not know"], paths)
        return _Verdict("build", [], paths)

    def _cargo(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value or "" for w in cmd.words[1:]]
        sub = next((v for v in values if not v.startswith(("-", "+"))), "")
        paths, _ = self._paths(cmd.words[1:], write=True)
        paths = [p for p in paths if p.outside or (p.path is None and p.raw.startswith(("/", "~", "..")))]
        if sub in ("build", "b", "check", "c", "test", "t", "clippy", "doc", "d", "bench", "metadata", "tree", "verify-project", "nextest", "llvm-cov", "miri") or values in (["--version"], ["-V"]):
            return _Verdict("build", [], paths)
        if sub in ("fmt",):
            return _Verdict("build" if "--check" in values else "write", [], paths)
        if sub in ("new", "init", "clean", "fix", "vendor", "generate-lockfile", "package"):
            return _Verdict("write", [], paths)
        if sub in ("run", "r"):
            return _Verdict("unknown", ["cargo run runs the program"], paths)
        return _Verdict("risky", [f"cargo {sub} installs, publishes or downloads"], paths, sandbox_ok=False)

    def _go(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value or "" for w in cmd.words[1:]]
        sub = next((v for v in values if not v.startswith("-")), "")
        paths, _ = self._paths(cmd.words[1:], write=True)
        paths = [p for p in paths if p.outside]
        if sub in ("build", "test", "vet", "list", "doc", "version", "env", "help"):
            if sub == "env" and "-w" in values:
                return _Verdict("risky", ["go env -w changes go settings"])
            return _Verdict("build" if sub in ("build", "test", "vet") else "read", [], paths)
        if sub in ("fmt", "generate") and sub == "fmt":
            return _Verdict("write", [], paths)
        if sub in ("run", "generate", "tool"):
            return _Verdict("unknown", [f"go {sub} runs programs"], paths)
        if sub == "mod" and values[values.index(sub) + 1 : values.index(sub) + 2] in (["graph"], ["why"], ["verify"], ["edit"]):
            return _Verdict("read" if "edit" not in values else "write", [], paths)
        if sub == "clean":
            return _Verdict("write", [], paths)
        return _Verdict("risky", [f"go {sub} downloads or installs"], paths, sandbox_ok=False)

    def _kill(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value for w in cmd.words[1:]]
        if name == "kill" and any(v in ("-l", "-L", "--list") for v in values):
            return _Verdict("read")
        if name == "kill" and ("-1" in values[-1:] or any(v in ("-1", "1") for v in values if v and not v.startswith("-s"))):
            positional = [v for v in values if v is not None and not re.fullmatch(r"-(\d+|[A-Z]+|s|n)", v)]
            if any(v in ("-1", "1") for v in positional) or values[-1:] == ["-1"]:
                return _Verdict("forbidden", ["kill -1 or kill 1 stops every process or init"])
        if name == "kill" and "-0" in values:
            return _Verdict("read", sandbox_ok=False)
        return _Verdict("destructive", [f"{name} stops processes"], sandbox_ok=False)

    def _chmod(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value or "" for w in args]
        skip = 0 if any(v.startswith("--reference") for v in values) else 1
        paths, dynamic = self._paths(args, write=True, skip=skip)
        verdict = _Verdict("write", [], paths)
        for p in paths:
            if p.outside:
                verdict.raise_to("forbidden", f"{name} on a path outside the workspace: {p.path}")
        if dynamic:
            verdict.raise_to("destructive", f"{name} on a path known only at run time")
        if name in ("chattr", "setfacl"):
            verdict.raise_to("risky", f"{name} changes file attributes or grants access to others")
        if name in ("chown", "chgrp"):
            verdict.raise_to("risky", f"{name} gives files to another owner")
        mode = next((v for v in values if not v.startswith("-") or re.fullmatch(r"-[rwxXst]+", v)), "")
        if name == "chmod" and re.search(r"[ugoa]*[+=][rwxXst]*s|^[4267][0-7]{3}$", mode):
            verdict.raise_to("risky", "chmod sets setuid/setgid bits")
        elif name == "chmod":
            octal = re.fullmatch(r"[0-7]{1,4}", mode) is not None
            if (octal and _owner_loses_access(mode)) or re.search(r"(^|,)[ugoa]*-[rwxXst]*[rw]", mode):
                verdict.raise_to("destructive", f"chmod {mode} takes read or write permission away")
            elif (octal and int(mode, 8) & 0o022) or re.search(r"(^|,)[ug]*[oa][ugoa]*[+=][rwxXt]*w|(^|,)[+=][rwxXt]*w", mode):
                verdict.raise_to("risky", f"chmod {mode} lets other users change the files")
        return verdict

    def _net_config(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        """ip, ifconfig, route, tc, ethtool, nmcli, arp: showing is read-only (and needs the
        real machine), changing the network configuration is never done by the agent."""
        values = [w.value or "" for w in cmd.words[1:]]
        words = [v for v in values if not v.startswith("-")]
        shown = _Verdict("read", sandbox_ok=False)
        refused = _Verdict("forbidden", [f"{name} {' '.join(values)} changes the network configuration"])
        if any(v is None for v in (w.value for w in cmd.words[1:])):
            return refused
        changes = {"add", "del", "delete", "change", "replace", "set", "flush", "append", "prepend", "up", "down", "on", "off", "modify", "connect", "disconnect", "reload", "edit", "exec", "attach", "detach", "save", "restore", "load"}
        if name == "ip":
            if len(words) <= 1:
                return shown
            action = words[1]
            if action in ("show", "list", "ls", "lst", "get", "help", "sh", "s", "l", "monitor") or (len(words) == 2 and action not in changes):
                return shown if not any(w in changes for w in words[2:]) else refused
            return refused
        if name == "ifconfig":
            return shown if len(words) <= 1 and all(v in ("-a", "-s", "-v") for v in values if v.startswith("-")) else refused
        if name == "route":
            return shown if not words and all(v in ("-n", "-e", "-ee", "-v", "-A", "-C", "-F") for v in values) else refused
        if name == "arp":
            return refused if any(v in ("-d", "-s", "-f", "--delete", "--set", "--file") for v in values) else shown
        if name == "ethtool":
            queries = {"-i", "-S", "-k", "-g", "-a", "-c", "-l", "-P", "-T", "-m", "--driver", "--statistics", "--show-features", "--show-ring"}
            return shown if all(v in queries or not v.startswith("-") for v in values) and len(words) <= 1 else refused
        return refused if any(w in changes for w in words) else shown

    def _settings_ctl(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        """timedatectl, hostnamectl, localectl: status is read-only, set-* changes the system."""
        values = [w.value or "" for w in cmd.words[1:]]
        sub = next((v for v in values if not v.startswith("-")), "status")
        if sub in ("status", "show", "show-timesync", "timesync-status", "list-timezones", "list-locales", "list-keymaps", "list-x11-keymap-models", "help", "--version"):
            return _Verdict("read", sandbox_ok=False)
        return _Verdict("forbidden", [f"{name} {sub} changes system settings"])

    def _sqlite(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        """sqlite3 DB [SQL]: dot-commands can run programs (.shell, .system), load code
        (.load) and write other files (.output, .once, .backup)."""
        args = cmd.words[1:]
        values = [w.value for w in args]
        if any(v is None for v in values):
            return _Verdict("risky", ["sqlite3 with arguments known only at run time"])
        text = " ".join(v or "" for v in values)
        if re.search(r"(^|[\s;])\.(sh|shell|system|load|output|once|backup|save|restore|open|excel|log|cd|import|read)\b", text) or "-cmd" in values:
            return _Verdict("risky", ["sqlite3 dot-commands run programs, load code or touch other files"])
        files = [w for w in args if (w.value or "").strip() and not (w.value or "").startswith("-")][:1]
        paths, _ = self._paths(files, write=True)
        return _Verdict("unknown", ["sqlite3 may change a database"], paths)

    def _fuser(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value or "" for w in cmd.words[1:]]
        if any(v in ("-k", "--kill") or (v.startswith("-") and not v.startswith("--") and "k" in v[1:]) for v in values):
            return _Verdict("destructive", ["fuser -k stops the processes using a file or port"], sandbox_ok=False)
        return _Verdict("read", sandbox_ok=False)

    def _ps(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        """ps must see the real machine (never sandboxed); the forms that show other
        processes' environments read outside the workspace (core/permissions/proc_env.py)."""
        from stoa.core.permissions.proc_env import ENVIRON_PATH, ps_environment_reason

        reason = ps_environment_reason([w.value for w in cmd.words[1:]])
        if reason is None:
            return _Verdict("read", sandbox_ok=False)
        raw = " ".join(w.raw for w in cmd.words)
        return _Verdict("read", [reason], [PathUse(raw, ENVIRON_PATH, write=False, outside=True)], sandbox_ok=False)

    def _systemctl(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value or "" for w in cmd.words[1:]]
        sub = next((v for v in values if not v.startswith("-")), "status")
        if sub in ("status", "list-units", "list-unit-files", "is-active", "is-enabled", "is-failed", "show", "cat", "list-timers", "list-sockets", "help", "--version"):
            return _Verdict("read", sandbox_ok=False)
        return _Verdict("forbidden", [f"{name} {sub} controls system services"])

    def _service(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value or "" for w in cmd.words[1:]]
        if values[-1:] == ["status"] or values == ["--status-all"]:
            return _Verdict("read", sandbox_ok=False)
        return _Verdict("forbidden", [f"{name} controls system services"])

    def _sysctl(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value or "" for w in cmd.words[1:]]
        if any(v in ("-w", "--write", "-p", "--load", "--system") or "=" in v for v in values):
            return _Verdict("forbidden", ["sysctl changes kernel settings"])
        return _Verdict("read")

    def _source(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        if not args or args[0].value is None:
            return _Verdict("risky", [f"{name} of a file known only at run time"])
        use = self._path_use(args[0].value, write=False)
        return _Verdict("unknown", [f"{name} runs the commands in {args[0].raw}"], [use])

    def _dynamic_loader(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        return _Verdict("risky", [f"{name} runs code indirectly"])

    def _rsync(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value or "" for w in cmd.words[1:]]
        if any(re.match(r"^[\w.-]+@?[\w.-]*:(?!//)", v) or "::" in v or v.startswith(("rsync://", "-e", "--rsh", "--rsync-path")) for v in values):
            return _Verdict("risky", ["rsync to or from another machine"], sandbox_ok=False)
        verdict = self._copy_like("cp", cmd)
        verdict.paths += self._followed("rsync", cmd.words[1:])
        if any(v.startswith("--delete") or v.startswith("--remove-source") for v in values):
            verdict.raise_to("destructive", "rsync --delete removes files")
        return verdict

    def _mapfile(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value for w in cmd.words[1:]]
        if "-C" in values:
            return _Verdict("risky", [f"{name} -C runs a callback"])
        for v in values:
            if v and not v.startswith("-"):
                self.vars[v] = None
        return _Verdict("read")

    def _open(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        return _Verdict("risky", [f"{name} opens files or URLs in other programs"], sandbox_ok=False)

    def _crontab(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value for w in cmd.words[1:]]
        if values == ["-l"]:
            return _Verdict("read", sandbox_ok=False)
        if "-r" in values:
            return _Verdict("destructive", ["crontab -r deletes the scheduled jobs"], sandbox_ok=False)
        return _Verdict("risky", ["crontab schedules commands to run later"], sandbox_ok=False)

    def _deno(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        values = [w.value or "" for w in cmd.words[1:]]
        sub = next((v for v in values if not v.startswith("-")), "")
        if sub in ("test", "check", "lint", "bench", "doc", "info") or values in (["--version"], ["-V"]):
            return _Verdict("build")
        if sub == "fmt":
            return _Verdict("build" if "--check" in values else "write")
        if sub in ("run", "task", "serve"):
            return _Verdict("unknown", [f"deno {sub} runs a program"])
        return _Verdict("risky", [f"deno {sub} runs inline code, installs or uses the network"], sandbox_ok=False)

    def _uv(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        sub = next((v for v in values if v is None or not v.startswith("-")), None)
        if sub is None:
            return _Verdict("read")
        idx = values.index(sub)
        if sub == "run" or (name in ("poetry", "pipenv", "pdm", "hatch", "rye") and sub == "run"):
            j = idx + 1
            while j < len(args) and (values[j] or "").startswith("-"):
                j += 2 if values[j] in ("--with", "--python", "-p", "--env", "-e", "--group", "--extra", "--package", "--directory", "--project", "--env-file") else 1
            inner = list(args[j:])
            if not inner:
                return _Verdict("unknown", [f"{name} run without a command"])
            self._simple(_Cmd(inner, cmd.text, _via(cmd.via, f"{name} run")), depth)
            if name in _SCRIPT_RUNNERS:
                # The word after run may name a script of the project's configuration
                # ([tool.pdm.scripts], hatch env scripts, Pipfile [scripts]): any command.
                what = inner[0].value or "…"
                return _Verdict("unknown", [f"{name} run {what} may run a script from the project's configuration"])
            return _Verdict("skip")  # type: ignore[arg-type]
        if name == "bundle" and sub == "exec":
            inner = list(args[idx + 1 :])
            if inner:
                self._simple(_Cmd(inner, cmd.text, _via(cmd.via, "bundle exec")), depth)
                return _Verdict("skip")  # type: ignore[arg-type]
        if sub in ("--version", "version", "help", "tree", "show", "list", "check") or (name == "uv" and sub == "pip" and values[idx + 1 : idx + 2] in (["list"], ["show"], ["freeze"], ["check"])):
            return _Verdict("read")
        if name == "uv" and sub in ("venv",):
            return _Verdict("write")
        return _Verdict("risky", [f"{name} {sub} installs or downloads packages"], sandbox_ok=False)

    def _nohup_like(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        if args:
            self._simple(_Cmd(list(args), cmd.text, _via(cmd.via, name)), depth)
            return _Verdict("skip")  # type: ignore[arg-type]
        return _Verdict("read")

    def _npx(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        args = cmd.words[1:]
        values = [w.value for w in args]
        i = 0
        while i < len(args) and (values[i] or "").startswith("-"):
            if values[i] in ("-y", "--yes", "-p", "--package", "-c", "--call"):
                return _Verdict("risky", [f"{name} {values[i]} downloads or runs given code"], sandbox_ok=False)
            i += 1
        package = values[i] if i < len(args) else None
        if package and name in ("npx", "pnpx", "bunx") and re.fullmatch(r"[\w.\-]+", package):
            local = os.path.join(self.workspace, "node_modules", ".bin", package)
            if os.path.exists(local):
                # A tool the project already installed: judge it as itself.
                self._simple(_Cmd(list(args[i:]), cmd.text, _via(cmd.via, name)), depth)
                return _Verdict("skip")  # type: ignore[arg-type]
        return _Verdict("risky", [f"{name} may download and run a package"], sandbox_ok=False)

    def _ruff_handler(self, name: str, cmd: _Cmd, depth: int) -> _Verdict:
        return self._ruff(cmd)


def _git_kind(sub: str, rest: list[str], analyzer: _Analyzer) -> tuple[Kind, list[str]]:
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
        from stoa.core.permissions.git_stash import stash_kind

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
            use = analyzer._path_use(p, write=True)
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


def _owner_loses_access(mode: str) -> bool:
    """An octal mode whose owner digit lacks read or write (000, 444, 0100, ...)."""
    digits = mode.lstrip("0") or "0"
    if not digits.isdigit() or len(digits) > 4:
        return False
    owner = int(digits.rjust(3, "0")[-3])
    return owner & 6 != 6


def _git_argv_for_rules(argv: list[str | None]) -> list[str | None]:
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


def _sed_script_problem(script: str) -> str | None:
    """Why a sed script is unsafe (runs commands, writes or reads other files), or None."""
    i = 0
    n = len(script)

    def skip_delimited(pos: int, delim: str) -> int:
        while pos < n:
            ch = script[pos]
            if ch == "\\":
                pos += 2
                continue
            if ch == delim:
                return pos + 1
            if ch == "\n" and delim != "\n":
                return -1
            pos += 1
        return -1

    while i < n:
        ch = script[i]
        if ch in " \t\n;{}!":
            i += 1
            continue
        # Addresses.
        while i < n:
            ch = script[i]
            if ch.isdigit() or ch in "$~,+":
                i += 1
            elif ch == "/":
                i = skip_delimited(i + 1, "/")
                if i < 0:
                    return "cannot be parsed"
            elif ch == "\\" and i + 1 < n:
                i = skip_delimited(i + 2, script[i + 1])
                if i < 0:
                    return "cannot be parsed"
            elif ch in "IM" and i > 0 and script[i - 1] == "/":
                i += 1
            elif ch in " \t!":
                i += 1
            else:
                break
        if i >= n:
            break
        cmd = script[i]
        i += 1
        if cmd in "{}":
            continue
        if cmd in "sy":
            if i >= n:
                return "cannot be parsed"
            delim = script[i]
            j = skip_delimited(i + 1, delim)
            if j < 0:
                return "cannot be parsed"
            j = skip_delimited(j, delim)
            if j < 0:
                return "cannot be parsed"
            i = j
            if cmd == "s":
                flags = ""
                while i < n and script[i] not in ";\n}":
                    flags += script[i]
                    i += 1
                if "e" in flags:
                    return "runs the result as a command (the e flag)"
                if "w" in flags:
                    return "writes to a file (the w flag)"
                if re.search(r"[^gpiImM0-9\s]", flags):
                    return f"has flags Stoa does not know ({flags.strip()})"
            continue
        if cmd in "ewWrRv":
            return {
                "e": "runs a command (the e command)",
                "w": "writes to a file (the w command)",
                "W": "writes to a file (the W command)",
                "r": "reads another file (the r command)",
                "R": "reads another file (the R command)",
                "v": "uses v",
            }[cmd]
        if cmd in "aic":
            while i < n and script[i] != "\n":
                if script[i] == "\\" and i + 1 < n:
                    i += 1
                i += 1
            continue
        if cmd in "btT:":
            while i < n and script[i] not in ";\n":
                i += 1
            continue
        if cmd == "#":
            while i < n and script[i] != "\n":
                i += 1
            continue
        if cmd in "qQlL":
            while i < n and (script[i].isdigit() or script[i] in " \t"):
                i += 1
            continue
        if cmd in _SED_SIMPLE:
            continue
        return f"uses a sed command Stoa does not know ({cmd!r})"
    return None


def _extra_destinations(node: Node) -> list[Node]:
    """Words after a redirection's target, which the grammar files under the redirection."""
    if node.type != "file_redirect":
        return []
    return list(node.children_by_field_name("destination"))[1:]


_ARITHMETIC_TESTS = frozenset("-eq -ne -lt -le -gt -ge".split())


def _arithmetic_context(node: Node) -> bool:
    """Whether bash evaluates ``node`` as arithmetic (where a variable's text is evaluated too)."""
    kind = node.type
    if kind in ("arithmetic_expansion", "subscript", "c_style_for_statement"):
        return True
    if kind == "compound_statement":
        return _text(node).startswith("((")
    if kind == "binary_expression" and node.parent is not None and node.parent.type == "test_command":
        operator = node.child_by_field_name("operator")
        return operator is not None and _text(operator) in _ARITHMETIC_TESTS
    if kind == "expansion":
        # ${s:offset:length} (not ${x:-default} and friends)
        return re.match(r"^\$\{\w+:[^-=?+]", _text(node)) is not None
    return False


MAX_ARCHIVE_BYTES = 32 * 1024 * 1024


def _archive_problem(path: str, limit: int = 20000) -> str | None:
    """Why extracting the archive at ``path`` needs a person (or why it cannot be looked into,
    as "it ..."), or None when every member lands as a plain file or folder inside."""
    import tarfile
    import zipfile

    try:
        if os.path.getsize(path) > MAX_ARCHIVE_BYTES:
            return "it is too big to look through"
    except OSError:
        return "it does not exist yet"
    entries: list[tuple[str, bool]] = []
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for zinfo in itertools.islice(archive.infolist(), limit + 1):
                    link = (zinfo.external_attr >> 16) & 0o170000 == 0o120000
                    entries.append((zinfo.filename, link))
        else:
            with tarfile.open(path, "r:*") as archive:
                for info in itertools.islice(archive, limit + 1):
                    entries.append((info.name, info.issym() or info.islnk() or not (info.isfile() or info.isdir())))
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError):
        return "it is not an archive Stoa can read"
    if len(entries) > limit:
        return "it holds too many files to look through"
    for member, link in entries:
        parts = [p for p in member.replace("\\", "/").split("/") if p not in ("", ".")]
        if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member) or ".." in parts:
            return f"holds {member!r}, which lands outside the folder it is extracted to"
        if link:
            return f"holds a link or special file ({member!r}), which can lead outside the workspace"
        if ".git" in parts or (parts and parts[0] == ".stoa"):
            return f"holds {member!r}, which would change git's or Stoa's own files"
    return None


# Command names that, found among an unknown program's arguments, are judged as what it runs.
_TAIL_COMMANDS = (
    FORBIDDEN | DESTRUCTIVE | WRITES | NETWORK | INSTALLERS | CLOUD | SHELLS | INTERPRETERS | EVALUATORS
    | DETACHERS | WRAPPERS
    | frozenset("git find xargs sed awk gawk make kill pkill killall chmod chown chgrp chattr crontab rsync dd".split())
)


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
    if not _inside(start, workspace) or start == workspace:
        return None
    here = start
    while here != workspace and _inside(here, workspace):
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


def _command_like(value: str) -> bool:
    """Whether a make variable's value reads as a command line rather than a setting."""
    if re.search(r"[;|&`\n]|\$\(", value):
        return True
    first = value.split()[0] if value.split() else ""
    base = os.path.basename(first)
    return base in (FORBIDDEN | DESTRUCTIVE | SHELLS | EVALUATORS | NETWORK) or (
        base in INTERPRETERS and any(flag in value.split()[1:] for flag in ("-c", "-e", "-E", "-r"))
    )


# Under the home folder: where toolchains live whose files a project's links point to
# (.venv/bin/python -> ~/.pyenv/versions/3.11.7/bin/python3); reading them reveals nothing.
_TOOLCHAIN_HOMES = (".pyenv", ".rustup", ".cargo", ".nvm", ".local/share/uv", ".sdkman", ".asdf", ".local/share/mise", ".volta", ".bun")


def _symlink_escape(root: str, workspace: str, home: str = "", budget: int = 5000) -> str | None:
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
                if _inside(target, workspace):
                    continue
                if os.path.isdir(target):
                    return target
                home_root = home.rstrip("/")
                if home_root and _inside(target, home_root) and not any(
                    _inside(target, f"{home_root}/{tool}") for tool in _TOOLCHAIN_HOMES
                ):
                    return target
            elif entry.is_dir(follow_symlinks=False) and entry.name != ".git":
                stack.append(entry.path)
    return None


def _descendants(node: Node) -> Iterable[Node]:
    stack = list(node.children)
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def _pathlike(value: str) -> bool:
    return value.startswith(("/", "~", "../")) or value == ".."


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _strip_version(name: str) -> str:
    m = re.fullmatch(r"(python|pypy|pip|ruby|perl|php|node|lua|gcc|g\+\+|clang|clang\+\+)(\d+(\.\d+)*)", name)
    if m:
        return m.group(1) if m.group(1) not in ("pip",) else "pip"
    return name


def _via(outer: str, how: str) -> str:
    return f"{outer} > {how}" if outer else how


_HANDLERS: dict[str, Callable[[_Analyzer, str, _Cmd, int], _Verdict]] = {
    "git": _Analyzer._git,
    "find": _Analyzer._find,
    "fd": _Analyzer._fd,
    "fdfind": _Analyzer._fd,
    "xargs": _Analyzer._xargs,
    "sed": _Analyzer._sed,
    "gsed": _Analyzer._sed,
    "awk": _Analyzer._awk,
    "gawk": _Analyzer._awk,
    "mawk": _Analyzer._awk,
    "nawk": _Analyzer._awk,
    "make": _Analyzer._make,
    "gmake": _Analyzer._make,
    "cargo": _Analyzer._cargo,
    "go": _Analyzer._go,
    "kill": _Analyzer._kill,
    "pkill": _Analyzer._kill,
    "killall": _Analyzer._kill,
    "chmod": _Analyzer._chmod,
    "chown": _Analyzer._chmod,
    "chgrp": _Analyzer._chmod,
    "chattr": _Analyzer._chmod,
    "setfacl": _Analyzer._chmod,
    "systemctl": _Analyzer._systemctl,
    "ip": _Analyzer._net_config,
    "ifconfig": _Analyzer._net_config,
    "route": _Analyzer._net_config,
    "tc": _Analyzer._net_config,
    "ethtool": _Analyzer._net_config,
    "nmcli": _Analyzer._net_config,
    "arp": _Analyzer._net_config,
    "iwconfig": _Analyzer._net_config,
    "timedatectl": _Analyzer._settings_ctl,
    "hostnamectl": _Analyzer._settings_ctl,
    "localectl": _Analyzer._settings_ctl,
    "fuser": _Analyzer._fuser,
    "ps": _Analyzer._ps,
    "sqlite3": _Analyzer._sqlite,
    "service": _Analyzer._service,
    "sysctl": _Analyzer._sysctl,
    "source": _Analyzer._source,
    ".": _Analyzer._source,
    "rsync": _Analyzer._rsync,
    "mapfile": _Analyzer._mapfile,
    "readarray": _Analyzer._mapfile,
    "open": _Analyzer._open,
    "xdg-open": _Analyzer._open,
    "gio": _Analyzer._open,
    "crontab": _Analyzer._crontab,
    "deno": _Analyzer._deno,
    "uv": _Analyzer._uv,
    "poetry": _Analyzer._uv,
    "pipenv": _Analyzer._uv,
    "pdm": _Analyzer._uv,
    "hatch": _Analyzer._uv,
    "rye": _Analyzer._uv,
    "bundle": _Analyzer._uv,
    "nohup": _Analyzer._nohup_like,
    "npx": _Analyzer._npx,
    "pnpx": _Analyzer._npx,
    "bunx": _Analyzer._npx,
    "uvx": _Analyzer._npx,
    "pipx": _Analyzer._npx,
    "ruff": _Analyzer._ruff_handler,
}


# ---- the public function ---------------------------------------------------------------------


def analyze(
    command: str,
    workspace: Path | str,
    *,
    home: str | None = None,
    env: Mapping[str, str] | None = None,
    resolver: Resolver | None = None,
) -> ShellAnalysis:
    """Analyse one command line for execute_bash. Never raises for bad input: what cannot be
    understood is reported as a risky finding (tier ask).

    Not cached on purpose: the answer depends on the file system (symlinks, existing files),
    which the previous command may have changed. It takes well under a millisecond.
    """
    environment = dict(os.environ if env is None else env)
    home_dir = home or environment.get("HOME") or os.path.expanduser("~")
    return _analyze(command, Path(workspace), home_dir, environment, resolver or _default_resolver)


def _analyze(command: str, workspace: Path, home: str, env: Mapping[str, str], resolver: Resolver) -> ShellAnalysis:
    if not command.strip():
        return ShellAnalysis(command, (Finding("risky", ("the command is empty",)),), parsed=False)
    if len(command) > MAX_COMMAND_CHARS:
        return ShellAnalysis(
            command,
            (Finding("risky", (f"the command is longer than {MAX_COMMAND_CHARS:,} characters",)),),
            parsed=False,
        )
    analyzer = _Analyzer(workspace, home, env, resolver)
    analyzer.depth = 0
    try:
        analyzer.analyze(command)
    except RecursionError:
        return ShellAnalysis(command, (Finding("risky", ("the command is nested too deeply to analyse",)),), parsed=False)
    findings = [f for f in analyzer.findings if f.kind != "skip"]  # type: ignore[comparison-overlap]
    if not findings:
        findings = [Finding("read", (), (), (), command)]
    return ShellAnalysis(command, tuple(findings), parsed=analyzer.parsed)


_INDIRECT = ("-c", "eval", "xargs", "find", "trap", "watch", "env -S", "fd ", "fdfind")


def narrowest_rule(finding: Finding, line: str) -> str:
    """The narrowest rule that would let this finding run without asking.

    A command gets a prefix rule of its name and subcommand (``Bash(git push:*)``,
    ``Bash(python scripts/gen.py:*)``); destructive commands and inline code get the exact
    command; structural findings and commands reached indirectly (``bash -c``, ``xargs``,
    ``find -exec``) get the exact whole line.
    """
    argv = finding.argv
    indirect = any(marker in finding.via for marker in _INDIRECT)
    if argv is None or not finding.static or indirect:
        return f"Bash({' '.join(line.split())})"
    words = [a for a in argv if a is not None]
    name = words[0]
    inline = finding.kind == "risky" and (name in SHELLS or name in INTERPRETERS or name in EVALUATORS)
    if finding.kind == "destructive" or name in DESTRUCTIVE or inline or len(words) == 1:
        return f"Bash({shlex.join(words)})"
    prefix = [name]
    operands = [w for w in words[1:] if not w.startswith("-")]
    if name in INTERPRETERS and "-m" in words:
        index = words.index("-m")
        prefix += words[index : index + 2]
    elif (name in _SUBCOMMAND_TOOLS or name in INTERPRETERS or name in SHELLS) and operands:
        prefix.append(operands[0])
    if prefix == words:
        return f"Bash({shlex.join(words)})"
    return f"Bash({shlex.join(prefix)}:*)"


# Tools whose "run NAME" runs a script defined in the project's configuration when one is so named.
_SCRIPT_RUNNERS = frozenset("pipenv pdm hatch rye".split())

_SUBCOMMAND_TOOLS = frozenset(
    """git npm yarn pnpm bun cargo go docker podman kubectl helm terraform gh glab pip pip3 uv
    poetry pipenv pdm hatch apt apt-get brew dnf yum make gmake dotnet mvn gradle gradlew deno
    systemctl aws gcloud az conda gem bundle rake mix stack cabal swift zig cmake ruff npx""".split()
)
