"""The OS sandbox for shell commands: bubblewrap (``bwrap``) on Linux.

Inside the sandbox the whole file system is read-only except the workspace, a private temp
folder and the usual build caches; credential folders (``~/.ssh``, ``~/.aws``, ``~/.gnupg``,
``~/.config/gh``, ...) are hidden; Stoa's own config, keys and database are read-only or hidden;
the project's ``.stoa`` folder and git hooks/config stay read-only; the network is off unless
``[sandbox] network = true``; processes live in their own PID namespace and die with Stoa, and
hold no capabilities (so a command run by root cannot remount the read-only root).

The temp folders (``/tmp``, ``/var/tmp``, ``$TMPDIR``) are empty private ones, not the real
ones: other programs' files there (and anything of the person's kept there) are outside the
workspace, and the shell analysis already treats them so. The home folder stays visible
(read-only) even when it lives under a temp folder.

Availability is detected once per process by a trial run (``bwrap ... true``), because an
installed bwrap can still fail (no user namespaces in a container).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig, StoaPaths

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap)"

# Credential folders and files under $HOME hidden from sandboxed commands.
HIDDEN_DIRS = (
    ".ssh",
    ".aws",
    ".gnupg",
    ".config/gh",
    ".config/gcloud",
    ".azure",
    ".kube",
    ".docker",
    ".password-store",
    ".config/op",
    ".local/share/keyrings",
)
HIDDEN_FILES = (".netrc", ".git-credentials", ".pypirc", ".npmrc", ".config/hub", ".vault-token")
# Build and package caches that stay writable (when they exist).
CACHE_DIRS = (
    ".cache",
    ".npm",
    ".yarn",
    ".pnpm-store",
    ".cargo/registry",
    ".cargo/git",
    ".gradle",
    ".m2/repository",
    "go/pkg/mod",
    ".local/share/uv",
    ".local/share/pnpm",
    ".bun/install/cache",
    ".deno",
)
# Inside the workspace: kept read-only so that a sandboxed command cannot change what later,
# unsandboxed commands do (hooks) or what Stoa allows (.stoa).
PROTECTED_IN_WORKSPACE = (".stoa", ".git/hooks", ".git/config")


@dataclass(frozen=True)
class SandboxSettings:
    """The ``[sandbox]`` table: ``enabled``, ``network``, extra ``writable`` paths."""

    enabled: bool = True
    network: bool = False
    writable: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class SandboxStatus:
    available: bool
    reason: str = ""
    version: str = ""
    executable: str = ""
    # How long the trial run took, in seconds.
    trial_seconds: float = 0.0
    enabled: bool = True
    network: bool = False

    @property
    def active(self) -> bool:
        """Commands will run inside the sandbox."""
        return self.available and self.enabled

    @property
    def label(self) -> str:
        """Short form for the status bar: ``sandbox`` / ``no sandbox``."""
        return "sandbox" if self.active else "no sandbox"

    def describe(self) -> str:
        """One line for ``stoa --version`` and notices."""
        if not self.enabled:
            return "sandbox: off ([sandbox] enabled = false)"
        if not self.available:
            return f"sandbox: unavailable ({self.reason})"
        net = "network allowed" if self.network else "network off"
        return f"sandbox: bubblewrap {self.version} ({net})".replace("  ", " ")


_lock = threading.Lock()
_detected: SandboxStatus | None = None


def detect(*, refresh: bool = False, executable: str | None = None) -> SandboxStatus:
    """Whether bwrap works here; the trial run happens once per process (thread-safe)."""
    global _detected
    with _lock:
        if _detected is not None and not refresh and executable is None:
            return _detected
        status = _trial(executable)
        if executable is None:
            _detected = status
        return status


def _trial(executable: str | None) -> SandboxStatus:
    if not sys.platform.startswith("linux"):
        return SandboxStatus(False, f"bubblewrap is Linux-only; {sys.platform} has no sandbox yet")
    path = executable or shutil.which("bwrap")
    if not path:
        return SandboxStatus(False, f"bwrap is not installed; {INSTALL_HINT}")
    argv = [
        path,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--unshare-pid",
        "--unshare-net",
        "--die-with-parent",
        "--", "true",
    ]  # fmt: skip
    started = time.perf_counter()
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return SandboxStatus(False, f"bwrap could not start ({exc})", executable=path)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        why = detail[0] if detail else f"exit code {result.returncode}"
        return SandboxStatus(
            False,
            f"bwrap is installed but fails here ({why}); user namespaces may be disabled",
            executable=path,
            trial_seconds=elapsed,
        )
    version = ""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5).stdout
        version = out.strip().split()[-1] if out.strip() else ""
    except (OSError, subprocess.SubprocessError):
        pass
    return SandboxStatus(True, "", version=version, executable=path, trial_seconds=elapsed)


def settings_from_config(config: StoaConfig | None) -> SandboxSettings:
    """The merged ``[sandbox]`` table of every config layer (later layers win per key)."""
    if config is None:
        return SandboxSettings()
    merged: dict[str, Any] = {}
    problems: list[str] = []
    for layer, raw in config.section("sandbox"):
        if not isinstance(raw, dict):
            problems.append(f"{layer.path}: [sandbox] must be a table; ignored")
            continue
        for key, value in raw.items():
            if key in ("enabled", "network"):
                if isinstance(value, bool):
                    merged[key] = value
                else:
                    problems.append(f"{layer.path}: [sandbox] {key} must be true or false; ignored")
            elif key == "writable":
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    merged[key] = tuple(value)
                else:
                    problems.append(f"{layer.path}: [sandbox] writable must be a list of paths; ignored")
            # Unknown keys: core.config warns about them (file:line, closest name).
    return SandboxSettings(
        enabled=merged.get("enabled", True),
        network=merged.get("network", False),
        writable=merged.get("writable", ()),
        problems=tuple(problems),
    )


def status_for(config: StoaConfig | None) -> SandboxStatus:
    """Detection combined with the configuration: what the policy and execute_bash both use."""
    settings = settings_from_config(config)
    if not settings.enabled:
        return SandboxStatus(False, "disabled in the configuration", enabled=False)
    found = detect()
    return SandboxStatus(
        found.available,
        found.reason,
        version=found.version,
        executable=found.executable,
        trial_seconds=found.trial_seconds,
        enabled=True,
        network=settings.network,
    )


@dataclass
class SandboxLayout:
    """The folders a sandboxed command sees, besides the read-only root."""

    workspace: Path
    home: Path
    cwd: Path | None = None
    network: bool = False
    # Temp folders replaced by empty private ones (tmpfs).
    private: list[Path] = field(default_factory=list)
    writable: list[Path] = field(default_factory=list)
    # Stoa's own state: config dir (read-only), keys file (hidden), data dir (read-only).
    readonly: list[Path] = field(default_factory=list)
    # Programs on PATH that live under a hidden temp folder (a venv in /tmp): shown read-only.
    toolchains: list[Path] = field(default_factory=list)
    hidden_files: list[Path] = field(default_factory=list)


def layout_for(
    workspace: Path,
    *,
    env: Mapping[str, str],
    settings: SandboxSettings | None = None,
    stoa_paths: StoaPaths | None = None,
    cwd: Path | None = None,
) -> SandboxLayout:
    settings = settings or SandboxSettings()
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    layout = SandboxLayout(workspace=workspace, home=home, cwd=cwd, network=settings.network)
    temp = {Path("/tmp"), Path("/var/tmp")}
    if env.get("TMPDIR"):
        temp.add(Path(env["TMPDIR"]))
    real_ws = Path(os.path.realpath(workspace))
    private = set()
    for folder in temp:
        if not folder.is_dir() or folder.is_symlink():
            continue
        real = Path(os.path.realpath(folder))
        # Not hidden: the root or the home folder itself (odd TMPDIR values), or a folder in
        # the workspace (writable anyway).
        if real in (Path("/"), Path(os.path.realpath(home))) or _under(real, real_ws):
            continue
        private.add(real)
    layout.private = sorted(private)
    layout.toolchains = _toolchains_under(layout.private, env.get("PATH", ""), env.get("VIRTUAL_ENV"))
    caches = {home / c for c in CACHE_DIRS}
    if env.get("XDG_CACHE_HOME"):
        caches.add(Path(env["XDG_CACHE_HOME"]))
    for extra in settings.writable:
        caches.add(Path(os.path.expanduser(extra)))
    layout.writable = sorted(p for p in caches if p.is_dir())
    if stoa_paths is not None:
        for folder in (stoa_paths.config_dir, stoa_paths.data_dir, stoa_paths.log_dir):
            if folder.is_dir():
                layout.readonly.append(folder)
        if stoa_paths.keys_file.is_file():
            layout.hidden_files.append(stoa_paths.keys_file)
    return layout


def _toolchains_under(private: list[Path], path_var: str, virtual_env: str | None) -> list[Path]:
    """PATH folders (and their virtual environments) that a private temp folder would hide.

    A project cloned under /tmp with its venv there must still find ``pytest`` or ``rg``
    inside the sandbox; these are bound read-only, so nothing there becomes writable.
    """
    found: set[Path] = set()
    candidates = [Path(p) for p in path_var.split(os.pathsep) if p]
    if virtual_env:
        candidates.append(Path(virtual_env) / "bin")
    for folder in candidates:
        try:
            real = Path(os.path.realpath(folder))
        except OSError:
            continue
        if not real.is_dir() or not any(_under(real, p) for p in private):
            continue
        # A venv's bin/ needs the venv around it (its lib/ and pyvenv.cfg).
        found.add(real.parent if (real.parent / "pyvenv.cfg").is_file() else real)
    return sorted(found)


def prepare_workspace(workspace: Path) -> None:
    """Make sure the folders kept read-only inside the sandbox exist, so they can be bound:
    a missing ``.stoa`` would otherwise be created, writable, by a sandboxed command (and its
    config.local.toml would approve commands at the next start)."""
    targets = [workspace / ".stoa"]
    git = workspace / ".git"
    if git.is_dir() and not git.is_symlink():
        targets.append(git / "hooks")
    for target in targets:
        if not target.exists() and not target.is_symlink():
            try:
                target.mkdir()
            except OSError:
                pass


def wrap(argv: Iterable[str], layout: SandboxLayout, *, executable: str = "bwrap") -> list[str]:
    """The bwrap command line that runs ``argv`` inside the sandbox described by ``layout``."""
    ws = layout.workspace
    args = [
        executable,
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        # Run by root, bwrap would keep every capability: the command could remount the
        # read-only root writable or unmount the tmpfs that hides ~/.ssh.
        "--cap-drop",
        "ALL",
    ]
    if not layout.network:
        args.append("--unshare-net")
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm"]
    run = Path("/run")
    if run.is_dir() and not _under(ws, run) and not any(_under(p, run) for p in layout.writable):
        # Sockets of system daemons (docker, dbus) live here; a read-only bind would not stop
        # a connect(), so the folder is replaced by an empty one.
        args += ["--tmpfs", "/run"]
    for path in layout.private:
        args += ["--tmpfs", str(path)]
    home = layout.home
    real_home = Path(os.path.realpath(home))
    if any(_under(real_home, p) for p in layout.private) and real_home.is_dir():
        # The home folder lives under a temp folder that was just hidden: show it again,
        # read-only (its caches are bound writable below).
        args += ["--ro-bind", str(real_home), str(real_home)]
    for path in layout.toolchains:
        args += ["--ro-bind", str(path), str(path)]
    for path in layout.writable:
        args += ["--bind", str(path), str(path)]
    args += ["--bind", str(ws), str(ws)]
    for rel in PROTECTED_IN_WORKSPACE:
        target = ws / rel
        if target.exists() and not target.is_symlink():
            args += ["--ro-bind", str(target), str(target)]
    for path in layout.readonly:
        if not _under(ws, path):
            args += ["--ro-bind", str(path), str(path)]
    for path in layout.hidden_files:
        args += ["--ro-bind", "/dev/null", str(path)]
    for rel in HIDDEN_DIRS:
        target = home / rel
        if target.is_dir() and not target.is_symlink() and not _under(ws, target):
            args += ["--tmpfs", str(target)]
    for rel in HIDDEN_FILES:
        target = home / rel
        if target.is_file() and not target.is_symlink():
            args += ["--ro-bind", "/dev/null", str(target)]
    args += ["--chdir", str(layout.cwd or ws), "--"]
    args += list(argv)
    return args


def _under(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False
