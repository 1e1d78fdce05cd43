"""The machine itself: processes (kill, ps, fuser), permissions and owners (chmod, chown,
chattr, setfacl), services and kernel settings (systemctl, service, sysctl, timedatectl, ...),
network configuration (ip, ifconfig, route, ...), scheduled jobs (crontab) and opening files
in other programs. Showing is read-only (on the real machine); changing is refused or asks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.findings import PathUse
from stoa.core.permissions.shell_analysis.judges.proc_env import ENVIRON_PATH, ps_environment_reason
from stoa.core.permissions.shell_analysis.registry import judge

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge("kill", "pkill", "killall")
def kill(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value for w in cmd.words[1:]]
    if name == "kill" and any(v in ("-l", "-L", "--list") for v in values):
        return Verdict("read")
    if name == "kill" and ("-1" in values[-1:] or any(v in ("-1", "1") for v in values if v and not v.startswith("-s"))):
        positional = [v for v in values if v is not None and not re.fullmatch(r"-(\d+|[A-Z]+|s|n)", v)]
        if any(v in ("-1", "1") for v in positional) or values[-1:] == ["-1"]:
            return Verdict("forbidden", ["kill -1 or kill 1 stops every process or init"])
    if name == "kill" and "-0" in values:
        return Verdict("read", sandbox_ok=False)
    return Verdict("destructive", [f"{name} stops processes"], sandbox_ok=False)


@judge("chmod", "chown", "chgrp", "chattr", "setfacl")
def chmod(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    args = cmd.words[1:]
    values = [w.value or "" for w in args]
    skip = 0 if any(v.startswith("--reference") for v in values) else 1
    paths, dynamic = an.paths(args, write=True, skip=skip)
    verdict = Verdict("write", [], paths)
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


def _owner_loses_access(mode: str) -> bool:
    """An octal mode whose owner digit lacks read or write (000, 444, 0100, ...)."""
    digits = mode.lstrip("0") or "0"
    if not digits.isdigit() or len(digits) > 4:
        return False
    owner = int(digits.rjust(3, "0")[-3])
    return owner & 6 != 6


@judge("ip", "ifconfig", "route", "tc", "ethtool", "nmcli", "arp", "iwconfig")
def net_config(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    """ip, ifconfig, route, tc, ethtool, nmcli, arp: showing is read-only (and needs the
    real machine), changing the network configuration is never done by the agent."""
    values = [w.value or "" for w in cmd.words[1:]]
    words = [v for v in values if not v.startswith("-")]
    shown = Verdict("read", sandbox_ok=False)
    refused = Verdict("forbidden", [f"{name} {' '.join(values)} changes the network configuration"])
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


@judge("timedatectl", "hostnamectl", "localectl")
def settings_ctl(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    """timedatectl, hostnamectl, localectl: status is read-only, set-* changes the system."""
    values = [w.value or "" for w in cmd.words[1:]]
    sub = next((v for v in values if not v.startswith("-")), "status")
    if sub in ("status", "show", "show-timesync", "timesync-status", "list-timezones", "list-locales", "list-keymaps", "list-x11-keymap-models", "help", "--version"):
        return Verdict("read", sandbox_ok=False)
    return Verdict("forbidden", [f"{name} {sub} changes system settings"])


@judge("fuser")
def fuser(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value or "" for w in cmd.words[1:]]
    if any(v in ("-k", "--kill") or (v.startswith("-") and not v.startswith("--") and "k" in v[1:]) for v in values):
        return Verdict("destructive", ["fuser -k stops the processes using a file or port"], sandbox_ok=False)
    return Verdict("read", sandbox_ok=False)


@judge("ps")
def ps(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    """ps must see the real machine (never sandboxed); the forms that show other
    processes' environments read outside the workspace (proc_env.py)."""
    reason = ps_environment_reason([w.value for w in cmd.words[1:]])
    if reason is None:
        return Verdict("read", sandbox_ok=False)
    raw = " ".join(w.raw for w in cmd.words)
    return Verdict("read", [reason], [PathUse(raw, ENVIRON_PATH, write=False, outside=True)], sandbox_ok=False)


@judge("systemctl")
def systemctl(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value or "" for w in cmd.words[1:]]
    sub = next((v for v in values if not v.startswith("-")), "status")
    if sub in ("status", "list-units", "list-unit-files", "is-active", "is-enabled", "is-failed", "show", "cat", "list-timers", "list-sockets", "help", "--version"):
        return Verdict("read", sandbox_ok=False)
    return Verdict("forbidden", [f"{name} {sub} controls system services"])


@judge("service")
def service(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value or "" for w in cmd.words[1:]]
    if values[-1:] == ["status"] or values == ["--status-all"]:
        return Verdict("read", sandbox_ok=False)
    return Verdict("forbidden", [f"{name} controls system services"])


@judge("sysctl")
def sysctl(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value or "" for w in cmd.words[1:]]
    if any(v in ("-w", "--write", "-p", "--load", "--system") or "=" in v for v in values):
        return Verdict("forbidden", ["sysctl changes kernel settings"])
    return Verdict("read")


@judge("crontab")
def crontab(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value for w in cmd.words[1:]]
    if values == ["-l"]:
        return Verdict("read", sandbox_ok=False)
    if "-r" in values:
        return Verdict("destructive", ["crontab -r deletes the scheduled jobs"], sandbox_ok=False)
    return Verdict("risky", ["crontab schedules commands to run later"], sandbox_ok=False)


@judge("open", "xdg-open", "gio")
def open_(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    return Verdict("risky", [f"{name} opens files or URLs in other programs"], sandbox_ok=False)
