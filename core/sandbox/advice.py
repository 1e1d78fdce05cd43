"""What Stoa tells a person who runs it without the OS sandbox, and the one command that
installs bubblewrap on this machine (by the package manager it has).

Used by headless mode (one line on stderr at every run) and the TUI (a status-bar badge, and a
notice offering the install command on the first run without a sandbox).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable

from stoa.core.sandbox.bwrap import SandboxStatus

# Package managers, in the order they are looked for, and how each installs bubblewrap.
_INSTALLERS: tuple[tuple[str, str], ...] = (
    ("apt-get", "apt-get install -y bubblewrap"),
    ("dnf", "dnf install -y bubblewrap"),
    ("yum", "yum install -y bubblewrap"),
    ("pacman", "pacman -S --needed --noconfirm bubblewrap"),
    ("zypper", "zypper install -y bubblewrap"),
    ("apk", "apk add bubblewrap"),
    ("xbps-install", "xbps-install -y bubblewrap"),
    ("emerge", "emerge --ask=n sys-apps/bubblewrap"),
    ("nix-env", "nix-env -iA nixpkgs.bubblewrap"),
)

# What "auto" means without the sandbox, in one sentence (README says the same).
AUTO_WITHOUT_SANDBOX = (
    "auto mode asks before unknown programs, and before build/test commands once the agent has "
    "changed files in this session"
)


def install_command(
    which: Callable[[str], str | None] = shutil.which, *, root: bool | None = None, platform: str = sys.platform
) -> str | None:
    """The command that installs bubblewrap here (``sudo apt-get install -y bubblewrap``), or
    None when Stoa knows none (not Linux, no known package manager)."""
    if not platform.startswith("linux"):
        return None
    is_root = (os.geteuid() == 0) if root is None else root
    for program, command in _INSTALLERS:
        if which(program):
            return command if is_root or program == "nix-env" else f"sudo {command}"
    return None


def no_sandbox_notice(status: SandboxStatus, *, install: str | None = None) -> str | None:
    """One line saying that shell commands run without the sandbox, why, what auto mode does
    then, and how to get the sandbox; None when the sandbox is active."""
    if status.active:
        return None
    if not status.enabled:
        return f"no sandbox ([sandbox] enabled = false): shell commands run unconfined; {AUTO_WITHOUT_SANDBOX}"
    if status.executable:  # installed but failing: the whole reason, with its hint
        why = status.reason or "bwrap does not work here"
    else:
        why = status.reason.split(";")[0] if status.reason else "bubblewrap is not available"
    line = f"no sandbox ({why}): shell commands run unconfined; {AUTO_WITHOUT_SANDBOX}"
    if status.executable:
        return line  # installed but failing: installing again will not help; the reason says why
    command = install if install is not None else install_command()
    return f"{line}. Install bubblewrap: {command}" if command else line


OFFER_MARKER = "sandbox-install-offered"


def first_offer(data_dir: os.PathLike[str] | str) -> bool:
    """True the first time it is called for this data folder (Stoa's first run without a
    sandbox on this machine): it leaves a marker file there. True again whenever the marker
    cannot be written (the offer is shown rather than lost)."""
    folder = os.fspath(data_dir)
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(os.path.join(folder, OFFER_MARKER), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    except OSError:
        return True
    os.close(fd)
    return True
