"""The shadow git repository that holds checkpoint contents, outside the workspace.

One repository per workspace, at ``<data>/checkpoints/<hash>.git`` (the hash of the
workspace's path; a ``workspace`` file inside names it), used with the git command line as
``git --git-dir=<that> --work-tree=<workspace>``, as Claude Code and Codex do. It never touches
the workspace's own ``.git``: its index files, objects and config are its own.

Why git and not blobs in the session database: a snapshot before a shell command must cover
every file of the workspace that git would see (tracked and untracked, not ignored) in well
under 100 ms on a 10,000-file repository, again and again. Git's index keeps each file's stat
data, so after the first snapshot only changed files are read and hashed; ``.gitignore``,
``.git/info/exclude`` and the user's global excludes are applied by git itself; identical
contents are stored once; and trees make "what changed between two snapshots" and the diffs of
``/diff`` git's own work (``diff-tree``, ``diff``), never a hand-written diff engine. The
session database keeps what refers to these objects (``core.checkpoints.saved``), so pruning
follows the sessions.

Isolation: the user's and the system's git config are not read (no filters, hooks, fsmonitor
or ``core.autocrlf`` can alter what is stored; ``info/attributes`` turns off text conversion
and filters), except the global excludes file, copied into this repository's config. Each
session snapshots through its own index file (``indexes/<session id>``), so two Stoa processes
in one workspace never contend for an index lock; a new session's index starts as a copy of
the newest one (its stat data is still valid), so its first snapshot is as fast as the rest.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Git's id of the empty tree (SHA-1 repositories).
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
# Seconds any one git command may take before it is given up on.
GIT_TIMEOUT = 300.0
# Modes git stores.
MODE_FILE = 0o100644
MODE_EXEC = 0o100755
MODE_LINK = 0o120000
MODE_TREE = 0o040000
MODE_GITLINK = 0o160000

_ATTRIBUTES = "* -text -filter -ident -working-tree-encoding\n"


class CheckpointError(Exception):
    """A checkpoint could not be taken or read; the message says why (and what to do)."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


@dataclass
class Snapshot:
    """A snapshot of the workspace: its tree, and what could not be captured."""

    tree: str
    # Bytes of new or changed files read into the snapshot (0 when nothing changed).
    added_bytes: int = 0
    # Workspace-relative paths left out, with the reason ("over the 20 MB limit per file").
    skipped: dict[str, str] = field(default_factory=dict)


def git_executable() -> str | None:
    return shutil.which("git")


def repo_dir_for(data_dir: Path, workspace: Path) -> Path:
    digest = hashlib.sha256(os.fsencode(str(workspace))).hexdigest()[:16]
    return data_dir / "checkpoints" / f"{digest}.git"


def _explain(stderr: str, what: str) -> CheckpointError:
    text = stderr.strip().splitlines()
    detail = text[-1] if text else "git failed"
    low = stderr.lower()
    if "no space left" in low or "disk quota" in low:
        return CheckpointError(f"cannot {what}: the disk is full ({detail})", disk_full=True)
    return CheckpointError(f"cannot {what}: {detail}")


class ShadowRepo:
    """The shadow repository of one workspace (created on first use)."""

    def __init__(self, git_dir: Path, workspace: Path, *, git: str | None = None) -> None:
        self.git_dir = git_dir
        self.workspace = workspace
        self.git = git or git_executable() or "git"
        self._ready = False
        # index name -> (index stat key, tree): a snapshot with nothing changed reuses its tree.
        self._trees: dict[str, tuple[tuple[int, int], str]] = {}

    @classmethod
    def for_workspace(cls, data_dir: Path, workspace: Path) -> ShadowRepo:
        return cls(repo_dir_for(data_dir, workspace), workspace)

    # ---- running git ----------------------------------------------------------------------

    def _env(self, index: Path | None = None, *, bound: bool = True) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        if bound:
            env.update(GIT_DIR=str(self.git_dir), GIT_WORK_TREE=str(self.workspace))
        env.update(
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_LITERAL_PATHSPECS="1",
            GIT_TERMINAL_PROMPT="0",
            GIT_OPTIONAL_LOCKS="0",
            LC_ALL="C",
        )
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        return env

    def run(
        self,
        args: Sequence[str],
        *,
        what: str,
        input: bytes | None = None,
        index: Path | None = None,
        ok_codes: tuple[int, ...] = (0,),
        bound: bool = True,
    ) -> bytes:
        try:
            result = subprocess.run(
                [self.git, *args],
                input=input,
                capture_output=True,
                env=self._env(index, bound=bound),
                cwd=self.workspace,
                timeout=GIT_TIMEOUT,
            )
        except FileNotFoundError:
            raise CheckpointError(f"cannot {what}: git is not installed (apt-get install git)") from None
        except subprocess.TimeoutExpired:
            raise CheckpointError(f"cannot {what}: git took more than {GIT_TIMEOUT:.0f} s") from None
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise CheckpointError(f"cannot {what}: {exc.strerror or exc}", disk_full=full) from None
        if result.returncode not in ok_codes:
            raise _explain(result.stderr.decode("utf-8", "replace"), what)
        return result.stdout

    # ---- the repository -------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the repository (once) and refresh its exclude rules."""
        if self._ready:
            return
        if not (self.git_dir / "HEAD").exists():
            try:
                self.git_dir.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
                raise CheckpointError(
                    f"cannot create {self.git_dir.parent}: {exc.strerror or exc}", disk_full=full
                ) from None
            self.run(
                ["init", "-q", "--bare", str(self.git_dir)], what="create the checkpoint repository", bound=False
            )
            for key, value in (
                ("core.bare", "false"),
                ("core.autocrlf", "false"),
                ("core.safecrlf", "false"),
                ("core.symlinks", "true"),
                ("core.filemode", "true"),
                ("core.quotepath", "false"),
                ("core.untrackedCache", "true"),
                ("core.fsmonitor", "false"),
                ("gc.auto", "0"),
                ("index.threads", "true"),
            ):
                self.run(["config", key, value], what="set up the checkpoint repository")
            (self.git_dir / "info").mkdir(exist_ok=True)
            (self.git_dir / "info" / "attributes").write_text(_ATTRIBUTES)
            (self.git_dir / "workspace").write_text(str(self.workspace) + "\n")
            excludes = _global_excludes_file()
            if excludes:
                self.run(["config", "core.excludesFile", excludes], what="set up the checkpoint repository")
        self._write_excludes()
        (self.git_dir / "indexes").mkdir(exist_ok=True)
        self._ready = True

    def _write_excludes(self) -> None:
        """``info/exclude``: the workspace repository's own (when it is one), else the usual
        heavy folders (.venv, node_modules, ...), which a workspace outside git has no
        ``.gitignore`` to leave out."""
        from stoa.core.tools.search import NOISE_DIRS

        real = self.workspace / ".git"
        lines = ["# written by Stoa: what checkpoints leave out, besides .gitignore files"]
        if real.exists():
            own = real / "info" / "exclude"
            try:
                lines.append(own.read_text(errors="replace"))
            except OSError:
                pass
        else:
            lines += [f"{name}/" for name in NOISE_DIRS if name != ".git"]
        text = "\n".join(lines) + "\n"
        path = self.git_dir / "info" / "exclude"
        try:
            if not path.exists() or path.read_text(errors="replace") != text:
                path.write_text(text)
        except OSError as exc:
            raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None

    def index_path(self, name: str) -> Path:
        """The index file of one session; a new one starts as a copy of the newest other one."""
        self.ensure()
        folder = self.git_dir / "indexes"
        path = folder / name
        if not path.exists():
            others = sorted(
                (p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".lock")),
                key=lambda p: p.stat().st_mtime,
                reverse=True,
            )
            if others:
                try:
                    shutil.copyfile(others[0], path)
                except OSError:
                    pass
        return path

    # ---- snapshots -------------------------------------------------------------------------

    def snapshot(self, index_name: str, *, max_file: int, max_total: int) -> Snapshot:
        """A tree of the workspace's files as git sees them (tracked and untracked, not
        ignored). Files over ``max_file`` bytes are left out (named in ``skipped``); when the
        new or changed files come to more than ``max_total`` bytes, nothing is stored and
        ``CheckpointError`` says so."""
        index = self.index_path(index_name)
        try:
            return self._snapshot(index, index_name, max_file, max_total)
        except CheckpointError as exc:
            if "invalid object" not in str(exc) and "missing" not in str(exc).lower():
                raise
        # The index named objects that were pruned: start this index again from scratch.
        index.unlink(missing_ok=True)
        self._trees.pop(index_name, None)
        return self._snapshot(index, index_name, max_file, max_total)

    def _snapshot(self, index: Path, index_name: str, max_file: int, max_total: int) -> Snapshot:
        listed = self.run(
            ["ls-files", "-z", "-m", "-o", "--exclude-standard"],
            what="list the workspace's files",
            index=index,
        )
        paths = sorted({p for p in listed.split(b"\0") if p})
        skipped: dict[str, str] = {}
        add: list[bytes] = []
        remove: list[bytes] = []
        total = 0
        for raw in paths:
            name = os.fsdecode(raw)
            if raw.endswith(b"/"):
                skipped[name.rstrip("/")] = "a nested git repository (its files are not captured)"
                continue
            try:
                st = os.lstat(os.path.join(self.workspace, name))
            except FileNotFoundError:
                add.append(raw)  # deleted: add -A records the removal
                continue
            except OSError as exc:
                skipped[name] = f"could not be read ({exc.strerror or exc})"
                remove.append(raw)
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size > max_file:
                skipped[name] = f"{_size(st.st_size)}, over the {_size(max_file)} limit per file"
                remove.append(raw)
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
            add.append(raw)
        if total > max_total:
            raise CheckpointError(
                f"the workspace holds {_size(total)} of new or changed files, over the {_size(max_total)} "
                "checkpoint budget ([checkpoints] budget-mb)"
            )
        key = _stat_key(index)
        cached = self._trees.get(index_name)
        if not add and not remove and cached is not None and cached[0] == key:
            return Snapshot(tree=cached[1], skipped=skipped)
        if remove:
            self.run(
                ["update-index", "-z", "--force-remove", "--stdin"],
                what="leave files out of the snapshot",
                input=b"\0".join(remove) + b"\0",
                index=index,
            )
        if add:
            self._add(index, add)
        tree = self.run(["write-tree"], what="write the snapshot", index=index).decode().strip()
        self._trees[index_name] = (_stat_key(index), tree)
        return Snapshot(tree=tree, added_bytes=total, skipped=skipped)

    def _add(self, index: Path, paths: list[bytes]) -> None:
        args = ["add", "-A", "-f", "--pathspec-from-file=-", "--pathspec-file-nul"]
        try:
            self.run(args, what="snapshot the workspace", input=b"\0".join(paths) + b"\0", index=index)
        except CheckpointError as exc:
            if "did not match" not in str(exc):
                raise
            # A file came or went between the listing and the add: add what is there now.
            here = [p for p in paths if os.path.lexists(os.path.join(self.workspace, os.fsdecode(p)))]
            gone = [p for p in paths if p not in set(here)]
            if gone:
                self.run(
                    ["update-index", "-z", "--force-remove", "--stdin"],
                    what="snapshot the workspace",
                    input=b"\0".join(gone) + b"\0",
                    index=index,
                )
            if here:
                self.run(args, what="snapshot the workspace", input=b"\0".join(here) + b"\0", index=index)

    # ---- objects ---------------------------------------------------------------------------

    def hash_files(self, paths: Sequence[str], *, write: bool = True) -> list[str]:
        """The blob ids of these files' contents (stored when ``write``), in order."""
        if not paths:
            return []
        self.ensure()
        flags = ["hash-object", "--no-filters"] + (["-w"] if write else [])
        plain = [p for p in paths if "\n" not in p]
        found: dict[str, str] = {}
        if plain:
            out = self.run(
                [*flags, "--stdin-paths"],
                what="store file contents",
                input=b"".join(os.fsencode(p) + b"\n" for p in plain),
            )
            found.update(zip(plain, out.decode().split(), strict=True))
        for odd in (p for p in paths if "\n" in p):
            with open(odd, "rb") as handle:
                data = handle.read()
            found[odd] = (
                self.run([*flags, "--stdin"], what="store file contents", input=data).decode().strip()
            )
        return [found[p] for p in paths]

    def store_blob(self, data: bytes) -> str:
        self.ensure()
        return self.run(["hash-object", "-w", "--stdin"], what="store a symlink", input=data).decode().strip()

    def read_blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        """The contents of these blobs (missing ones are left out)."""
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return {}
        self.ensure()
        out = self.run(
            ["cat-file", "--batch"], what="read checkpoint contents", input="\n".join(wanted).encode() + b"\n"
        )
        blobs: dict[str, bytes] = {}
        pos = 0
        for oid in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) == 2 and header[1] == b"missing":
                continue
            size = int(header[2])
            blobs[oid] = out[pos : pos + size]
            pos += size + 1
        return blobs

    def ls_tree(self, tree: str, paths: Sequence[str] | None = None) -> dict[str, tuple[int, str]]:
        """path -> (mode, oid) of the files (and links) of ``tree``, or of the given paths."""
        args = ["ls-tree", "-r", "-z", "--full-tree", tree]
        if paths is not None:
            if not paths:
                return {}
            args += ["--", *paths]
        out = self.run(args, what="read a snapshot")
        return _parse_ls_tree(out)

    def diff_trees(self, before: str, after: str) -> list[TreeChange]:
        """What differs between two trees, files and folders (``-t``), no rename detection."""
        out = self.run(
            ["diff-tree", "-r", "-t", "-z", "--no-renames", "--raw", before, after], what="compare snapshots"
        )
        parts = out.split(b"\0")
        changes: list[TreeChange] = []
        i = 0
        while i + 1 < len(parts):
            meta = parts[i].decode()
            if not meta.startswith(":"):
                i += 1
                continue
            src_mode, dst_mode, src_oid, dst_oid, status = meta[1:].split()
            changes.append(
                TreeChange(
                    path=os.fsdecode(parts[i + 1]),
                    before=(int(src_mode, 8), src_oid),
                    after=(int(dst_mode, 8), dst_oid),
                    status=status,
                )
            )
            i += 2
        return changes

    def make_tree(self, entries: dict[str, tuple[int, str]]) -> str:
        """A tree holding exactly ``entries`` (path -> (mode, blob id)); folders are implied."""
        self.ensure()
        fd, tmp = tempfile.mkstemp(prefix="index-tmp-", dir=self.git_dir)
        os.close(fd)
        os.unlink(tmp)  # git makes the index; an empty file is not a valid one
        index = Path(tmp)
        try:
            if entries:
                lines = b"".join(
                    f"{mode:o} {oid}\t".encode() + os.fsencode(path) + b"\0"
                    for path, (mode, oid) in sorted(entries.items())
                )
                self.run(
                    ["update-index", "-z", "--index-info"],
                    what="record a checkpoint",
                    input=lines,
                    index=index,
                )
            return self.run(["write-tree"], what="record a checkpoint", index=index).decode().strip()
        finally:
            index.unlink(missing_ok=True)

    def mktree(self, entries: dict[str, tuple[int, str, str]]) -> str:
        """A flat tree of named entries: name -> (mode, type, oid)."""
        self.ensure()
        data = b"".join(
            f"{mode:06o} {kind} {oid}\t{name}".encode() + b"\0"
            for name, (mode, kind, oid) in sorted(entries.items())
        )
        return self.run(["mktree", "-z"], what="record a checkpoint", input=data).decode().strip()

    def patch(self, before: str, after: str, *, paths: Sequence[str] | None = None) -> str:
        """``git diff`` between two trees (text; binary files say so)."""
        args = ["diff", "--no-color", "--no-ext-diff", "--no-renames", before, after]
        if paths:
            args += ["--", *paths]
        return self.run(args, what="show a checkpoint's changes").decode("utf-8", "replace")

    # ---- pruning ---------------------------------------------------------------------------

    def prune(self, keep: Iterable[str], *, expire: str = "1.hour.ago") -> None:
        """Delete objects nothing keeps: ``keep`` (the trees the session database still names)
        and what every session's index holds. Objects younger than ``expire`` stay (another
        process may be writing a snapshot right now)."""
        self.ensure()
        wanted = set(keep)
        folder = self.git_dir / "indexes"
        for index in folder.iterdir():
            if index.is_file() and not index.name.endswith(".lock"):
                try:
                    out = self.run(["write-tree", "--missing-ok"], what="prune checkpoints", index=index)
                except CheckpointError:
                    continue
                wanted.add(out.decode().strip())
        existing = self.run(["for-each-ref", "--format=%(refname)", "refs/keep/"], what="prune checkpoints")
        lines = [
            f"delete {ref}"
            for ref in existing.decode().split()
            if ref.removeprefix("refs/keep/") not in wanted
        ]
        lines += [f"update refs/keep/{oid} {oid}" for oid in sorted(wanted) if _is_oid(oid)]
        if lines:
            self.run(
                ["update-ref", "--stdin"], what="prune checkpoints", input=("\n".join(lines) + "\n").encode()
            )
        self.run(["prune", f"--expire={expire}"], what="prune checkpoints")

    def forget_index(self, name: str) -> None:
        (self.git_dir / "indexes" / name).unlink(missing_ok=True)
        self._trees.pop(name, None)


@dataclass(frozen=True)
class TreeChange:
    path: str
    before: tuple[int, str]  # (mode, oid); mode 0: not there
    after: tuple[int, str]
    status: str


def _parse_ls_tree(out: bytes) -> dict[str, tuple[int, str]]:
    entries: dict[str, tuple[int, str]] = {}
    for item in out.split(b"\0"):
        if not item:
            continue
        meta, _, name = item.partition(b"\t")
        mode, _kind, oid = meta.decode().split()
        entries[os.fsdecode(name)] = (int(mode, 8), oid)
    return entries


def _is_oid(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _stat_key(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def _size(size: int) -> str:
    from stoa.core.tools.files import human_size

    return human_size(size)


def _global_excludes_file() -> str | None:
    """The user's global excludes file (``core.excludesFile``, else git's default place)."""
    try:
        out = subprocess.run(
            ["git", "config", "--global", "--path", "--get", "core.excludesFile"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    if out:
        return out
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    default = os.path.join(base, "git", "ignore")
    return default if os.path.isfile(default) else None
