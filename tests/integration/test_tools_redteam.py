"""Red-team the native tools end to end: real ``stoa -p`` subprocesses, the fake provider.

Each scenario starts one real ``stoa -p`` (``python -m stoa.app.cli``) in a temporary workspace, in
``--mode auto`` and ``--mode ask``. The fake model sends a batch of tool calls; the assertions
read the tool results Stoa sent back to the "model" and every raw request body:

- every escape (traversal, absolute paths, ``~``, symlinks and chains, symlinked parents,
  ``/proc`` magic, devices, deny-rule bypasses, SSRF forms, redirects) is refused with a tool
  error, and no canary string written outside the workspace (or in a denied file) reaches any
  request;
- every legitimate in-workspace operation succeeds without a prompt in auto mode;
- bad input (missing, wrong-typed, empty arguments, missing files, directories for files,
  FIFOs, sockets, devices, huge and binary files, OS permission denied) gives a tool error the
  model can act on, never a crash or a hang;
- the canary files outside the workspace are byte-for-byte unchanged afterwards and nothing
  new appears next to them.

Known, documented limitation: a hard link in the workspace to a file elsewhere is the same
file as far as the file system can tell (no path leads outside), so reading it is allowed;
writes replace the link atomically and never change the other file (see
``test_hard_link_reads_but_never_writes_through``).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.fake_server import FakeServer, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]
MODEL = "claude-sonnet-4-6"  # Anthropic's wire format carries is_error on tool results

OUTSIDE_CANARY = "CANARY-OUTSIDE-7f3a91"
HOME_CANARY = "CANARY-HOME-SSH-52be0c"
ENV_CANARY = "CANARY-DOTENV-d41c77"
SECRET_CANARY = "CANARY-SECRETS-DIR-9e02aa"
WEB_CANARY = "CANARY-LOOPBACK-WEB-1b6f3d"
HARDLINK_CANARY = "CANARY-HARDLINKED-3310fe"  # readable by design (documented), never writable
ALL_CANARIES = (OUTSIDE_CANARY, HOME_CANARY, ENV_CANARY, SECRET_CANARY, WEB_CANARY)

# How the permission layer words a refusal: headless cannot ask; a rule or plan mode denies; a
# tool plan mode does not offer.
REFUSED = ("Not run:", "Denied:")
PLAN_REFUSAL = "is not available in plan mode"
MUTATING = {
    "write_file",
    "edit_file",
    "create_directory",
    "move_file",
    "copy_file",
    "delete_file",
    "delete_directory",
}


# ---- the world: a workspace, things outside it, a loopback web server ----------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """Loopback pages: the canary page (on a disallowed address) and redirects (on an allowed one)."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(
            self.path, (200, {"Content-Type": "text/plain"}, f"page {WEB_CANARY}".encode())
        )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(
    host: str, routes: dict[str, tuple[int, dict[str, str], bytes]]
) -> http.server.ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = http.server.ThreadingHTTPServer((host, 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@dataclass
class World:
    root: Path
    ws: Path
    outside: Path
    home: Path
    env: dict[str, str]
    server: FakeServer
    secret_port: int = 0  # the canary page on 127.0.0.1 (not allowed)
    public_port: int = 0  # pages and redirects on 127.0.0.2 (allowed in the config)
    has_device: bool = False
    has_socket: bool = False
    snapshot: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def secret(self) -> Path:
        return self.outside / "secret.txt"


def _png(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _tree_snapshot(top: Path) -> dict[str, tuple[str, int]]:
    """Every entry below ``top``: content hash (or link target / kind) and mode."""
    seen: dict[str, tuple[str, int]] = {}
    for current, dirs, files in os.walk(top, followlinks=False):
        for name in [*dirs, *files]:
            path = Path(current, name)
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                what = "link:" + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = "dir" if stat.S_ISDIR(st.st_mode) else "special"
            seen[str(path.relative_to(top))] = (what, stat.S_IMODE(st.st_mode))
    return seen


def build_world(tmp_path: Path, env: dict[str, str], server: FakeServer, config: str = "") -> World:
    root = tmp_path
    ws = root / "project"
    outside = root / "outside"
    home = Path(env["HOME"])
    for folder in (ws, outside, home):
        folder.mkdir(parents=True, exist_ok=True)

    # Outside the workspace: canaries of every kind.
    (outside / "secret.txt").write_text(f"{OUTSIDE_CANARY}\n")
    (outside / "dir").mkdir()
    (outside / "dir" / "inner.txt").write_text(f"inner {OUTSIDE_CANARY}\n")
    (outside / "photo.png").write_bytes(_png(40, 20, (1, 2, 3)))
    (outside / "hard_target.txt").write_text(f"{HARDLINK_CANARY}\n")
    (outside / "notes.md").write_text(f"# notes\n{OUTSIDE_CANARY}\n")
    # A sibling whose name starts with the workspace's (prefix tricks).
    (root / "project-evil").mkdir()
    (root / "project-evil" / "x.txt").write_text(f"evil {OUTSIDE_CANARY}\n")
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh" / "id_rsa").write_text(f"-----BEGIN KEY-----\n{HOME_CANARY}\n")
    (home / ".bashrc").write_text(f"export TOKEN={HOME_CANARY}\n")

    # The workspace: ordinary files.
    (ws / "README.md").write_text("# Demo\nIt prints hello.\n")
    (ws / "src").mkdir()
    (ws / "src" / "main.py").write_text("def main():\n    return 'hello'\n")
    (ws / "sub").mkdir()
    (ws / "sub" / "deeper").mkdir()
    (ws / "with space.txt").write_text("spaced out\n")
    (ws / "quote'\"s.txt").write_text("quoted\n")
    (ws / "new\nline.txt").write_text("newline in the name\n")
    (ws / "ünïcödé-名前.txt").write_text("unicode name\n")
    (ws / "~tilde.txt").write_text("a file whose name starts with a tilde\n")
    (ws / "-dash.txt").write_text("dash first\n")
    (ws / "pic.png").write_bytes(_png(64, 32))
    (ws / "blob.bin").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    (ws / "fake.png").write_text("this is not an image at all\n")
    (ws / "empty.png").write_bytes(b"")
    (ws / "truncated.png").write_bytes(_png(300, 300)[:200])
    (ws / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    (ws / "bomb-warn.png").write_bytes(_png_header_only(11_000, 9_000))
    (ws / "huge.png").write_bytes(b"")
    os.truncate(ws / "huge.png", 21 * 1024 * 1024)
    line = "x" * 99 + "\n"
    (ws / "huge.log").write_text(line * (11 * 1024 * 1024 // len(line) + 10))
    (ws / "invalid-utf8.txt").write_bytes(b"caf\xe9 ok\n")
    (ws / ".gitignore").write_text("ignored_dir/\n*.secretlog\n")
    (ws / "ignored_dir").mkdir()
    (ws / "ignored_dir" / "note.txt").write_text("hello from an ignored dir\n")

    # Deny-ruled files.
    (ws / ".env").write_text(f"API_KEY={ENV_CANARY}\n")
    (ws / "secrets").mkdir()
    (ws / "secrets" / "key.txt").write_text(f"{SECRET_CANARY}\n")
    (ws / "secrets" / "nested").mkdir()
    (ws / "secrets" / "nested" / "deep.txt").write_text(f"deep {SECRET_CANARY}\n")

    # Deny rules that name a directory without /** cover what is in it.
    (ws / "private").mkdir()
    (ws / "private" / "p.txt").write_text(f"{SECRET_CANARY} private\n")
    (ws / "vault").mkdir()
    (ws / "vault" / "v.txt").write_text("vault contents: readable, never writable\n")

    # Symlinks: out of the workspace, chains, dangling, loops, into denied files.
    (ws / "link_file").symlink_to(outside / "secret.txt")
    (ws / "rel_link").symlink_to(Path("..") / "outside" / "secret.txt")
    (ws / "link_dir").symlink_to(outside)
    (ws / "chain1").symlink_to("chain2")
    (ws / "chain2").symlink_to(Path("sub") / "chain3")
    (ws / "sub" / "chain3").symlink_to(Path("..") / ".." / "outside" / "secret.txt")
    (ws / "dangling_out").symlink_to(outside / "created-through-dangling.txt")
    (ws / "dangling_in").symlink_to("not-yet.txt")
    (ws / "loop_a").symlink_to("loop_b")
    (ws / "loop_b").symlink_to("loop_a")
    (ws / "self_loop").symlink_to("self_loop")
    (ws / "parentlink").symlink_to("..")
    (ws / "sub" / "up").symlink_to(Path("..") / "..")
    (ws / "sub" / "deeper" / "outdir").symlink_to(Path("..") / ".." / ".." / "outside" / "dir")
    (ws / "env_link").symlink_to(".env")
    (ws / "secrets_link").symlink_to("secrets")
    (ws / "sub" / "env_again").symlink_to(Path("..") / ".env")
    (ws / "inside_link").symlink_to(Path("src") / "main.py")
    (ws / "photo_link.png").symlink_to(outside / "photo.png")
    (ws / "home_link").symlink_to(home)
    (ws / "proc_root").symlink_to("/proc/self/root")
    (ws / "etc_link").symlink_to("/etc")
    (ws / "devzero_link").symlink_to("/dev/zero")
    (ws / "dangling_out_dir").symlink_to(outside / "not-yet-a-dir")
    (ws / "stoa_link").symlink_to(".stoa")
    (ws / "hooks_link").symlink_to(Path(".git") / "hooks")
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".git" / "config").write_text("[core]\n\tbare = false\n")
    (ws / "hardlink.txt").unlink(missing_ok=True)
    os.link(outside / "hard_target.txt", ws / "hardlink.txt")

    # Special files inside the workspace.
    os.mkfifo(ws / "fifo")
    world = World(root=root, ws=ws, outside=outside, home=home, env=env, server=server)
    try:
        os.mknod(ws / "zero_dev", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
        (ws / "devdir").mkdir()
        (ws / "devdir" / "a.txt").write_text("a\n")
        os.mknod(ws / "devdir" / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
        world.has_device = True
    except OSError:
        world.has_device = False
    sock_path = ws / "sock"
    if len(os.fsencode(sock_path)) < 100:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(sock_path))
        sock.close()
        world.has_socket = True

    # Web: a canary page on 127.0.0.1 (loopback, refused) and an allowed host 127.0.0.2 that
    # redirects to disallowed places.
    secret_httpd = _serve("127.0.0.1", {})
    world.secret_port = secret_httpd.server_address[1]
    sp = world.secret_port
    redirects = {
        "/ok": (
            200,
            {"Content-Type": "text/html"},
            b"<html><title>Allowed</title><body><p>fine page</p></body></html>",
        ),
        "/to-self": (302, {"Location": "/ok"}, b""),
        "/to-loopback": (302, {"Location": f"http://127.0.0.1:{sp}/"}, b""),
        "/to-localhost": (301, {"Location": f"http://localhost:{sp}/"}, b""),
        "/to-localhost-dot": (307, {"Location": f"http://localhost.:{sp}/"}, b""),
        "/to-v6": (308, {"Location": f"http://[::1]:{sp}/"}, b""),
        "/to-mapped": (302, {"Location": f"http://[::ffff:127.0.0.1]:{sp}/"}, b""),
        "/to-decimal": (302, {"Location": f"http://2130706433:{sp}/"}, b""),
        "/to-short": (302, {"Location": f"http://127.1:{sp}/"}, b""),
        "/to-zero": (302, {"Location": f"http://0.0.0.0:{sp}/"}, b""),
        "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
        "/to-gopher": (302, {"Location": f"gopher://127.0.0.1:{sp}/"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/binary": (200, {"Content-Type": "application/octet-stream"}, b"\x00\x01\x02" * 100),
        "/image": (200, {"Content-Type": "image/png"}, _png(4, 4)),
    }
    public_httpd = _serve("127.0.0.2", redirects)
    world.public_port = public_httpd.server_address[1]
    server_stops.extend([secret_httpd, public_httpd])

    (ws / ".stoa").mkdir()
    (ws / ".stoa" / "config.toml").write_text(
        "[permissions]\n"
        'deny = ["Read(./.env)", "Read(./secrets/**)", "Read(./private)", "Write(./vault/)"]\n\n'
        "[web]\n"
        'allow-private-hosts = ["127.0.0.2"]\n' + config
    )
    world.snapshot = _tree_snapshot(root / "outside") | {
        f"home/{k}": v
        for k, v in _tree_snapshot(home).items()
        if not k.startswith((".config", ".local", ".cache"))
    }
    return world


server_stops: list[http.server.ThreadingHTTPServer] = []


@pytest.fixture
def world(tmp_path: Path, stoa_env: dict[str, str], fake_server: FakeServer) -> Iterator[World]:
    built = build_world(tmp_path, stoa_env, fake_server)
    try:
        yield built
    finally:
        while server_stops:
            httpd = server_stops.pop()
            httpd.shutdown()
            httpd.server_close()
        # Nothing outside the workspace changed, whatever happened inside.
        after = _tree_snapshot(built.outside) | {
            f"home/{k}": v
            for k, v in _tree_snapshot(built.home).items()
            if not k.startswith((".config", ".local", ".cache"))
        }
        assert after == built.snapshot, "files outside the workspace changed"
        assert sorted(p.name for p in built.root.iterdir()) == sorted(
            ["project", "outside", "project-evil", "home", "stoa-home"]
        ), "something was created next to the workspace"


# ---- running stoa ----------------------------------------------------------------------------


@dataclass
class Case:
    """One tool call and what must come of it.

    ``expect``: "refused" (the permission layer refused it: "Not run:"/"Denied:"),
    "error" (a tool error containing ``needle``), "ok" (success containing ``needle``), or
    "safe" (anything but a success that leaks: an error, or a refusal).
    """

    tool: str
    args: dict[str, Any] | str
    expect: str
    needle: str = ""
    id: str = ""
    # Extra check on the result text.
    check: Callable[[str], bool] | None = None


@dataclass
class Result:
    text: str
    is_error: bool | None
    content: Any


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    results: dict[str, Result]
    raw: list[bytes]


def run_stoa(
    world: World,
    batches: list[list[Case]],
    *,
    mode: str,
    timeout: float = 120,
    extra: list[str] | None = None,
    wrap: list[str] | None = None,
    matchers: list[Callable[[Any], bool] | None] | None = None,
    model: str = MODEL,
) -> Run:
    """One ``stoa -p`` run: each batch is one model reply of tool calls, then a final text."""
    counter = 0
    replies = []
    for index, batch in enumerate(batches):
        calls = []
        for case in batch:
            counter += 1
            case.id = case.id or f"toolu_rt{counter:03d}"
            calls.append(tool_call(case.tool, case.args, id=case.id))
        match = matchers[index] if matchers and index < len(matchers) else None
        for start in range(0, len(calls), 64):  # at most 64 calls of one reply are run
            chunk = calls[start : start + 64]
            replies.append(reply(tool_calls=chunk, match=match) if match else reply(tool_calls=chunk))
    replies.append(reply(text="done"))
    world.server.script(*replies)
    argv = [*(wrap or []), *STOA, "-m", model, "--mode", mode, *(extra or []), "-p", "red team"]
    proc = subprocess.run(
        argv,
        env=world.env,
        cwd=world.ws,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    requests = world.server.model_requests()
    assert requests, proc.stderr[-3000:]
    last = requests[-1]
    results = {r.id: Result(r.text, r.is_error, r.content) for r in last.tool_results}
    return Run(proc, results, [r.raw_body for r in world.server.requests])


def check_run(run: Run, cases: list[Case], *, extra_canaries: tuple[str, ...] = ()) -> None:
    problems: list[str] = []
    for case in cases:
        result = run.results.get(case.id)
        label = f"{case.tool}({json.dumps(case.args, ensure_ascii=False) if isinstance(case.args, dict) else case.args})"
        if result is None:
            problems.append(f"{label}: no tool result")
            continue
        text = result.text
        leaked = [c for c in (*ALL_CANARIES, *extra_canaries) if c in text]
        if leaked:
            problems.append(f"{label}: LEAKED {leaked}: {text[:200]!r}")
        if "failed unexpectedly" in text or "Traceback" in text:
            problems.append(f"{label}: crashed: {text[:300]!r}")
        if case.expect == "refused":
            if not (result.is_error and (text.startswith(REFUSED) or PLAN_REFUSAL in text)):
                problems.append(
                    f"{label}: expected a refusal, got is_error={result.is_error}: {text[:300]!r}"
                )
            elif case.needle and case.needle not in text:
                problems.append(f"{label}: refusal without {case.needle!r}: {text[:300]!r}")
        elif case.expect == "error":
            if not result.is_error or text.startswith(REFUSED):
                problems.append(
                    f"{label}: expected a tool error, got is_error={result.is_error}: {text[:300]!r}"
                )
            elif case.needle and case.needle not in text:
                problems.append(f"{label}: error without {case.needle!r}: {text[:300]!r}")
        elif case.expect == "ok":
            if result.is_error:
                problems.append(f"{label}: expected success, got: {text[:300]!r}")
            elif case.needle and case.needle not in text:
                problems.append(f"{label}: success without {case.needle!r}: {text[:300]!r}")
        elif case.expect == "safe":
            if not result.is_error:
                problems.append(f"{label}: expected an error or refusal, got success: {text[:300]!r}")
        else:
            raise AssertionError(case.expect)
        if case.check is not None and not case.check(text):
            problems.append(f"{label}: extra check failed: {text[:300]!r}")
    for body in run.raw:
        for canary in (*ALL_CANARIES, *extra_canaries):
            if canary.encode() in body:
                problems.append(f"canary {canary} reached the model in a request body")
    assert not problems, "\n".join(problems)


# ---- the escape cases ------------------------------------------------------------------------


def no_outside_names(text: str) -> bool:
    """A refusal names the directory asked about, never the entries inside it."""
    return not any(name in text for name in ("photo.png", "hard_target", "inner.txt", "notes.md"))


def escape_cases(w: World) -> list[Case]:
    """Attempts to read, list, search, write, move, copy, delete or view outside the workspace
    or around a deny rule. In headless mode every one must be refused."""
    out = w.outside
    secret = str(w.secret)
    ws = str(w.ws)
    R, E, S = "refused", "error", "safe"
    cases = [
        # read_file: traversal and absolute paths
        Case("read_file", {"path": "../outside/secret.txt"}, R, "outside the workspace"),
        Case("read_file", {"path": "./../outside/secret.txt"}, R),
        Case("read_file", {"path": "a/../../outside/secret.txt"}, R),
        Case("read_file", {"path": "src/../../outside/secret.txt"}, R),
        Case("read_file", {"path": "src/./../sub/../../outside/./secret.txt"}, R),
        Case("read_file", {"path": "../../../../../../../../" + secret.lstrip("/")}, R),
        Case("read_file", {"path": secret}, R),
        Case("read_file", {"path": "//" + secret.lstrip("/")}, R),
        Case("read_file", {"path": secret.replace("/outside/", "/project/../outside/")}, R),
        Case("read_file", {"path": "/etc/passwd"}, R),
        Case("read_file", {"path": "/../../etc/passwd"}, R),
        Case("read_file", {"path": str(w.root / "project-evil" / "x.txt")}, R),
        Case("read_file", {"path": "../project-evil/x.txt"}, R),
        Case("read_file", {"path": "~/.ssh/id_rsa"}, R),
        Case("read_file", {"path": "~/.bashrc"}, R),
        Case("read_file", {"path": "~root/.bashrc"}, R),
        Case("read_file", {"path": "~nosuchuser-xyz/.ssh/id_rsa"}, E, "no such user"),
        Case("read_file", {"path": "$HOME/.bashrc"}, S),
        # encoded-ish and look-alike names are names, not traversal
        Case("read_file", {"path": "..%2foutside%2fsecret.txt"}, E, "not found"),
        Case("read_file", {"path": "%2e%2e/outside/secret.txt"}, E, "not found"),
        Case("read_file", {"path": "..\\outside\\secret.txt"}, E, "not found"),
        Case("read_file", {"path": "....//outside/secret.txt"}, E, "not found"),
        Case("read_file", {"path": "\uff0e\uff0e/outside/secret.txt"}, E, "not found"),
        Case("read_file", {"path": "\u2025/outside/secret.txt"}, E, "not found"),
        Case("read_file", {"path": "file:///etc/passwd"}, E, "not found"),
        Case("read_file", {"path": "../outside/secret.txt\n"}, R),
        Case("read_file", {"path": "README.md\x00../../outside/secret.txt"}, E, "NUL"),
        # symlinks out of the workspace
        Case("read_file", {"path": "link_file"}, R, "through a symlink"),
        Case("read_file", {"path": "rel_link"}, R),
        Case("read_file", {"path": "link_dir/secret.txt"}, R),
        Case("read_file", {"path": "link_dir/dir/inner.txt"}, R),
        Case("read_file", {"path": "link_dir/../outside/secret.txt"}, R),
        Case("read_file", {"path": "chain1"}, R),
        Case("read_file", {"path": "parentlink/outside/secret.txt"}, R),
        Case("read_file", {"path": "sub/up/outside/secret.txt"}, R),
        Case("read_file", {"path": "sub/deeper/outdir/inner.txt"}, R),
        Case("read_file", {"path": "home_link/.ssh/id_rsa"}, R),
        Case("read_file", {"path": "etc_link/passwd"}, R),
        Case("read_file", {"path": "proc_root" + secret}, R),
        Case("read_file", {"path": "/proc/self/root" + secret}, R),
        Case("read_file", {"path": "/proc/self/cwd/../outside/secret.txt"}, R),
        Case("read_file", {"path": "/proc/self/environ"}, R),
        Case("read_file", {"path": "/proc/1/root" + secret}, S),
        Case("read_file", {"path": "/dev/stdin"}, R),
        Case("read_file", {"path": "devzero_link"}, R),
        # deny rules: Read(./.env), Read(./secrets/**)
        Case("read_file", {"path": ".env"}, R, "Read(./.env)"),
        Case("read_file", {"path": "./.env"}, R),
        Case("read_file", {"path": ".//.env"}, R),
        Case("read_file", {"path": ".env/"}, S),
        Case("read_file", {"path": "src/../.env"}, R),
        Case("read_file", {"path": ws + "/.env"}, R),
        Case("read_file", {"path": "/proc/self/cwd/.env"}, R),
        Case("read_file", {"path": "env_link"}, R),
        Case("read_file", {"path": "sub/env_again"}, R),
        Case("read_file", {"path": "parentlink/project/.env"}, R),
        Case("read_file", {"path": ".ENV"}, E, "not found"),
        Case("read_file", {"path": ".\u0435nv"}, E, "not found"),
        Case("read_file", {"path": ".env", "offset": 1, "limit": 1}, R),
        Case("read_file", {"path": "secrets/key.txt"}, R, "Read(./secrets/**)"),
        Case("read_file", {"path": "./secrets//key.txt"}, R),
        Case("read_file", {"path": "secrets/nested/deep.txt"}, R),
        Case("read_file", {"path": "secrets_link/key.txt"}, R),
        Case("read_file", {"path": "sub/../secrets/./key.txt"}, R),
        Case("read_file", {"path": "SECRETS/key.txt"}, E, "not found"),
        Case("read_file", {"path": "private/p.txt"}, R, "Read(./private)"),
        Case("read_file", {"path": "vault/v.txt"}, "ok", "never writable"),  # a Write deny stops writes only
        Case("write_file", {"path": "vault/new.txt", "content": "x"}, R, "Write(./vault/)"),
        Case("edit_file", {"path": "vault/v.txt", "old_string": "never", "new_string": "now"}, R),
        Case("move_file", {"source": "vault/v.txt", "destination": "v.txt"}, R),
        Case("search_code", {"pattern": "CANARY", "path": "private"}, R),
        Case("copy_file", {"source": "private", "destination": "private_copy"}, R),
        # edit_file: outside, through links, denied, special files (no hang, no read)
        Case("edit_file", {"path": "link_file", "old_string": "CANARY", "new_string": "x"}, R),
        Case("edit_file", {"path": "../outside/secret.txt", "old_string": "C", "new_string": "x"}, R),
        Case("edit_file", {"path": "link_dir/notes.md", "old_string": "# notes", "new_string": "x"}, R),
        Case("edit_file", {"path": ".env", "old_string": "API_KEY", "new_string": "X"}, R),
        Case("edit_file", {"path": "env_link", "old_string": "API_KEY", "new_string": "X"}, R),
        Case("edit_file", {"path": "secrets/key.txt", "old_string": "C", "new_string": "x"}, R),
        Case("edit_file", {"path": "/dev/zero", "old_string": "a", "new_string": "b"}, R),
        Case("edit_file", {"path": "devzero_link", "old_string": "a", "new_string": "b"}, R),
        Case("edit_file", {"path": "/dev/stdin", "old_string": "a", "new_string": "b"}, R),
        Case("edit_file", {"path": "~/.bashrc", "old_string": "export", "new_string": "x"}, R),
        # list_directory
        Case("list_directory", {"path": ".."}, R),
        Case("list_directory", {"path": "../outside"}, R),
        Case("list_directory", {"path": "/"}, R),
        Case("list_directory", {"path": "~"}, R),
        Case("list_directory", {"path": "link_dir"}, R),
        Case("list_directory", {"path": "link_dir/"}, R),
        Case("list_directory", {"path": "parentlink"}, R),
        Case("list_directory", {"path": "sub/up"}, R),
        Case("list_directory", {"path": "proc_root"}, R),
        Case("list_directory", {"path": "/proc/self/cwd/.."}, R),
        Case("list_directory", {"path": "secrets"}, R),
        Case("list_directory", {"path": "secrets/"}, R),
        Case("list_directory", {"path": "secrets_link"}, R),
        # glob_files: climbing patterns and paths
        Case("glob_files", {"pattern": "../**"}, R),
        Case("glob_files", {"pattern": "../outside/*"}, R),
        Case("glob_files", {"pattern": "/etc/*"}, R),
        Case("glob_files", {"pattern": secret}, R),
        Case("glob_files", {"pattern": "*", "path": ".."}, R),
        Case("glob_files", {"pattern": "*", "path": "link_dir"}, R),
        Case("glob_files", {"pattern": "**/*", "path": "~"}, R),
        Case("glob_files", {"pattern": "link_dir/**"}, R),
        Case("glob_files", {"pattern": "sub/up/**/secret.txt"}, R),
        Case("glob_files", {"pattern": "**/*", "path": "secrets"}, R),
        Case("glob_files", {"pattern": "secrets/**"}, R),
        Case("glob_files", {"pattern": "**/*", "path": "/proc/self/root/"}, R),
        # search_code: outside roots, deny rules, ignore tricks
        Case("search_code", {"pattern": "CANARY", "path": ".."}, R),
        Case("search_code", {"pattern": "CANARY", "path": secret}, R),
        Case("search_code", {"pattern": "CANARY", "path": "link_dir"}, R),
        Case("search_code", {"pattern": "CANARY", "path": "link_file"}, R),
        Case("search_code", {"pattern": "CANARY", "path": "sub/deeper/outdir"}, R),
        Case("search_code", {"pattern": "CANARY", "path": "~"}, R),
        Case("search_code", {"pattern": "CANARY", "path": "/proc/self/root/etc"}, R),
        Case("search_code", {"pattern": "CANARY", "path": ".env"}, R),
        Case("search_code", {"pattern": "CANARY", "path": "env_link"}, R),
        Case("search_code", {"pattern": "CANARY", "path": "secrets"}, R),
        Case("search_code", {"pattern": "CANARY", "path": "secrets_link"}, R),
        Case("search_code", {"pattern": "CANARY", "path": "secrets/key.txt"}, R),
        Case(
            "search_code",
            {"pattern": "CANARY-(DOTENV|SECRETS|OUTSIDE|HOME)", "path": "."},
            "ok",
            "No matches",
        ),
        Case(
            "search_code",
            {"pattern": "CANARY-(DOTENV|SECRETS|OUTSIDE|HOME)", "include_ignored": True},
            "ok",
            "No matches",
        ),
        Case("search_code", {"pattern": "API_KEY", "glob": ".env"}, "ok", "No matches"),
        Case(
            "search_code",
            {"pattern": "API_KEY", "glob": "**/.env*", "include_ignored": True},
            "ok",
            "No matches",
        ),
        Case(
            "search_code", {"pattern": "API", "glob": "*env*", "case_insensitive": True}, "ok", "No matches"
        ),
        Case("search_code", {"pattern": "CANARY", "glob": "secrets/**"}, "ok", "No matches"),
        Case("search_code", {"pattern": "CANARY", "glob": "../outside/*"}, "ok", "No matches"),
        Case("search_code", {"pattern": "CANARY", "path": "sub"}, "ok", "No matches"),
        # write_file
        Case("write_file", {"path": "../outside/planted.txt", "content": "x"}, R),
        Case("write_file", {"path": str(out / "planted.txt"), "content": "x"}, R),
        Case("write_file", {"path": "link_dir/planted.txt", "content": "x"}, R),
        Case("write_file", {"path": "link_file", "content": "overwritten"}, R),
        Case("write_file", {"path": "rel_link", "content": "x", "append": True}, R),
        Case("write_file", {"path": "chain1", "content": "x"}, R),
        Case("write_file", {"path": "dangling_out", "content": "x"}, R),
        Case("write_file", {"path": "parentlink/planted.txt", "content": "x"}, R),
        Case("write_file", {"path": "sub/up/outside/planted.txt", "content": "x"}, R),
        Case("write_file", {"path": "~/.bashrc", "content": "x"}, R),
        Case("write_file", {"path": "home_link/.profile", "content": "x"}, R),
        Case("write_file", {"path": "/proc/self/root" + str(out / "planted.txt"), "content": "x"}, R),
        Case("write_file", {"path": "../project-evil/x.txt", "content": "x"}, R),
        Case("write_file", {"path": ".env", "content": "API_KEY=mine"}, R),
        Case("write_file", {"path": "env_link", "content": "x", "append": True}, R),
        Case("write_file", {"path": "secrets/new.txt", "content": "x"}, R),
        Case("write_file", {"path": "secrets_link/new.txt", "content": "x"}, R),
        # create_directory
        Case("create_directory", {"path": "../outside/newdir"}, R),
        Case("create_directory", {"path": "link_dir/newdir"}, R),
        Case("create_directory", {"path": "~/newdir"}, R),
        Case("create_directory", {"path": "../sibling-dir"}, R),
        Case("create_directory", {"path": "secrets/newdir"}, R),
        # move_file
        Case("move_file", {"source": "README.md", "destination": "../outside/moved.md"}, R),
        Case("move_file", {"source": "README.md", "destination": "link_dir"}, R),
        Case("move_file", {"source": "README.md", "destination": "dangling_out"}, R),
        Case("move_file", {"source": "../outside/secret.txt", "destination": "stolen.txt"}, R),
        Case("move_file", {"source": "link_dir/secret.txt", "destination": "stolen.txt"}, R),
        Case("move_file", {"source": ".env", "destination": "env.txt"}, R),
        Case("move_file", {"source": "secrets", "destination": "public"}, R),
        Case("move_file", {"source": "secrets/key.txt", "destination": "key.txt"}, R),
        Case("move_file", {"source": "..", "destination": "x"}, E, "workspace"),
        Case("copy_file", {"source": "..", "destination": "x"}, E, "workspace"),
        Case("move_file", {"source": "README.md", "destination": "~/README.md"}, R),
        # copy_file
        Case("copy_file", {"source": "../outside/secret.txt", "destination": "stolen.txt"}, R),
        Case("copy_file", {"source": "link_file", "destination": "stolen.txt"}, R),
        Case("copy_file", {"source": "link_dir", "destination": "stolen_dir"}, R, check=no_outside_names),
        Case("copy_file", {"source": str(out), "destination": "stolen_dir"}, R, check=no_outside_names),
        Case("move_file", {"source": "../outside", "destination": "stolen_dir"}, R, check=no_outside_names),
        Case("copy_file", {"source": "~/.ssh/id_rsa", "destination": "stolen_key"}, R),
        Case("copy_file", {"source": "README.md", "destination": "../outside/copy.md"}, R),
        Case("copy_file", {"source": "README.md", "destination": "link_dir"}, R),
        Case("copy_file", {"source": ".env", "destination": "env.txt"}, R),
        Case("copy_file", {"source": "env_link", "destination": "env.txt"}, R),
        Case("copy_file", {"source": "secrets", "destination": "public"}, R),
        Case("copy_file", {"source": "secrets_link", "destination": "public"}, R),
        Case("copy_file", {"source": "secrets/key.txt", "destination": "notes.txt"}, R),
        Case("copy_file", {"source": "/proc/self/environ", "destination": "env_dump.txt"}, R),
        # delete_file / delete_directory (destructive: always refused headless; never outside)
        Case("delete_file", {"path": "../outside/secret.txt"}, R),
        Case("delete_file", {"path": "link_dir/secret.txt"}, R),
        Case("delete_file", {"path": secret}, R),
        Case("delete_file", {"path": "link_file"}, R),
        Case("delete_file", {"path": ".env"}, R),
        Case("delete_file", {"path": "."}, E, "workspace"),
        Case("delete_file", {"path": "sub/up"}, R),
        Case("delete_file", {"path": "sub/up/"}, E, "workspace"),
        Case("delete_directory", {"path": "."}, E, "workspace"),
        Case("delete_directory", {"path": ".."}, E, "workspace"),
        Case("delete_directory", {"path": "/"}, E, "workspace"),
        Case("delete_directory", {"path": ws}, E, "workspace"),
        Case("delete_directory", {"path": "sub/.."}, E, "workspace"),
        Case("delete_directory", {"path": "parentlink/"}, E, "workspace"),
        Case("delete_directory", {"path": "link_dir/"}, R),
        Case("delete_directory", {"path": "../outside"}, R, check=no_outside_names),
        Case("delete_directory", {"path": "secrets"}, R),
        # dangling links to directories outside: creating through them lands outside
        Case("create_directory", {"path": "dangling_out_dir"}, R),
        Case("create_directory", {"path": "dangling_out_dir/sub"}, R),
        Case("write_file", {"path": "dangling_out_dir/new/file.txt", "content": "x"}, R),
        Case("copy_file", {"source": "README.md", "destination": "dangling_out_dir/r.md"}, R),
        # Stoa's own settings and git's files: changing them needs a person, so headless refuses
        Case(
            "write_file",
            {"path": ".stoa/config.local.toml", "content": '[permissions]\nallow = ["Read"]\n'},
            R,
        ),
        Case("write_file", {"path": ".stoa/config.toml", "content": "", "append": True}, R),
        Case("edit_file", {"path": ".stoa/config.toml", "old_string": "deny", "new_string": "ask"}, R),
        Case("write_file", {"path": "stoa_link/config.local.toml", "content": "x"}, R),
        Case("write_file", {"path": "./sub/../.stoa/instructions.md", "content": "x"}, R),
        Case("copy_file", {"source": "README.md", "destination": ".stoa/config.local.toml"}, R),
        Case("move_file", {"source": "README.md", "destination": ".stoa"}, R),
        Case("move_file", {"source": ".stoa", "destination": "old-stoa"}, R),
        Case("create_directory", {"path": ".stoa/more"}, R),
        Case("write_file", {"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\ntouch /tmp/x\n"}, R),
        Case("write_file", {"path": "hooks_link/post-checkout", "content": "x"}, R),
        Case("edit_file", {"path": ".git/config", "old_string": "bare", "new_string": "fsmonitor"}, R),
        Case("move_file", {"source": ".git", "destination": "git-old"}, R),
        # glob names inside denied trees are not listed either
        Case(
            "glob_files", {"pattern": "**/*"}, "ok", check=lambda t: "secrets/" not in t and ".env" not in t
        ),
        Case("glob_files", {"pattern": "**/key.txt"}, "ok", "No files match"),
        Case("glob_files", {"pattern": ".env"}, "ok", "No files match"),
        # argument injection into ripgrep through glob or pattern
        Case("search_code", {"pattern": "--pre=cat", "glob": "--pre=cat"}, "ok", "No matches"),
        Case("search_code", {"pattern": "-f/etc/passwd"}, "ok", "No matches"),
        Case("search_code", {"pattern": "hello", "glob": "--files"}, "ok", "No matches"),
        Case("search_code", {"pattern": "x", "glob": "!--pre=sh", "path": "src"}, "ok"),
        Case("glob_files", {"pattern": "--pre=cat"}, "ok", "No files match"),
        # view_image
        Case("view_image", {"source": "../outside/photo.png"}, R),
        Case("view_image", {"source": "photo_link.png"}, R),
        Case("view_image", {"source": "link_dir/photo.png"}, R),
        Case("view_image", {"source": ".env"}, R),
        Case("view_image", {"source": "/dev/zero"}, R),
        Case("view_image", {"source": "/dev/stdin"}, R),
        Case("view_image", {"source": "/proc/self/root" + str(out / "photo.png")}, R),
        Case("view_image", {"source": "devzero_link"}, R),
        Case("view_image", {"source": "file://" + str(out / "photo.png")}, E, "not found"),
    ]
    return cases


def _photo_b64(w: World) -> str:
    return base64.b64encode((w.outside / "photo.png").read_bytes()).decode()[40:120]


@pytest.mark.parametrize("mode", ["auto", "ask", "plan"])
def test_every_escape_is_refused_headless(world: World, mode: str) -> None:
    cases = escape_cases(world)
    if mode == "plan":
        for case in cases:  # plan mode refuses every change before any rule is consulted
            if case.tool in MUTATING and case.expect == "refused":
                case.needle = ""
    assert len(cases) >= 200
    run = run_stoa(world, [cases], mode=mode)
    check_run(run, cases, extra_canaries=(_photo_b64(world),))
    ws = world.ws
    # Nothing was created or changed in the workspace either.
    for name in (
        "stolen.txt",
        "stolen_dir",
        "stolen_key",
        "env.txt",
        "public",
        "notes.txt",
        "key.txt",
        "env_dump.txt",
    ):
        assert not (ws / name).exists(), name
    assert (ws / ".env").read_text() == f"API_KEY={ENV_CANARY}\n"
    assert (ws / "secrets" / "key.txt").read_text() == f"{SECRET_CANARY}\n"
    assert (ws / "README.md").exists() and (ws / "link_file").is_symlink()


@pytest.mark.parametrize("model", ["gpt-5.5", "qwen3:8b"])
def test_escapes_on_the_openai_wire_formats(world: World, model: str) -> None:
    """The same refusals over the Responses API and Chat Completions (whose tool results carry
    no error flag: the refusal is in the text)."""
    cases = [c for c in escape_cases(world) if c.expect == "refused"][::4]
    extra = (
        ["--provider", "openai-compatible", "--base-url", world.server.openai_base_url]
        if ":" in model
        else []
    )
    run = run_stoa(world, [cases], mode="auto", model=model, extra=extra)
    for case in cases:
        result = run.results[case.id]
        text = result.text.removeprefix("Error: ")  # how the OpenAI formats mark a failed call
        assert text.startswith(REFUSED), (case.tool, case.args, result.text[:200])
        assert not any(c in result.text for c in ALL_CANARIES)
    for body in run.raw:
        assert not any(c.encode() in body for c in ALL_CANARIES)


# ---- web_fetch: SSRF ------------------------------------------------------------------------


def blocked_or_unresolved(text: str) -> bool:
    """Names like ``localhost.`` are refused once resolved, or do not resolve at all here."""
    return "web_fetch only fetches public addresses" in text or "cannot resolve host" in text


def web_cases(w: World) -> list[Case]:
    sp, pp = w.secret_port, w.public_port
    R, E = "refused", "error"
    blocked = "web_fetch only fetches public addresses"
    cases = [
        Case("web_fetch", {"url": f"http://127.0.0.1:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://localhost:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://LOCALHOST:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://localhost.:{sp}/"}, E, check=blocked_or_unresolved),
        Case("web_fetch", {"url": f"http://[::1]:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://0.0.0.0:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://0:{sp}/"}, E),
        Case("web_fetch", {"url": f"http://127.1:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.1:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://2130706433:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://0x7f000001:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://0x7f.0x0.0x0.0x1:{sp}/"}, E),
        Case("web_fetch", {"url": f"http://0177.0.0.1:{sp}/"}, E),
        Case("web_fetch", {"url": f"http://017700000001:{sp}/"}, E),
        Case("web_fetch", {"url": f"http://[::ffff:127.0.0.1]:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://[::ffff:7f00:1]:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://[0:0:0:0:0:ffff:127.0.0.1]:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://[::127.0.0.1]:{sp}/"}, E),
        Case("web_fetch", {"url": f"http://[::]:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://[64:ff9b::7f00:1]:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://[2002:7f00:1::]:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://user:pw@127.0.0.1:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.2@127.0.0.1:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.1:{sp}#@127.0.0.2:{pp}/"}, E, blocked),
        Case("web_fetch", {"url": f"HTTP://127.0.0.1:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.3:{sp}/"}, E, blocked),
        Case("web_fetch", {"url": "http://169.254.169.254/latest/meta-data/"}, E, blocked),
        Case("web_fetch", {"url": "http://2852039166/latest/meta-data/"}, E, blocked),
        Case("web_fetch", {"url": "http://[::ffff:169.254.169.254]/"}, E, blocked),
        Case("web_fetch", {"url": "http://[fe80::1]/"}, E, blocked),
        Case("web_fetch", {"url": "http://10.0.0.1/"}, E, blocked),
        Case("web_fetch", {"url": "http://192.168.1.1/"}, E, blocked),
        Case("web_fetch", {"url": "http://172.16.0.1/"}, E, blocked),
        Case("web_fetch", {"url": "http://100.64.0.1/"}, E, blocked),
        Case("web_fetch", {"url": "http://224.0.0.1/"}, E, blocked),
        Case("web_fetch", {"url": "http://255.255.255.255/"}, E, blocked),
        Case("web_fetch", {"url": "file:///etc/passwd"}, E, "only http and https"),
        Case("web_fetch", {"url": f"ftp://127.0.0.1:{sp}/"}, E, "only http and https"),
        Case("web_fetch", {"url": f"gopher://127.0.0.1:{sp}/_GET"}, E, "only http and https"),
        Case("web_fetch", {"url": "javascript:alert(1)"}, E, "only http and https"),
        Case("web_fetch", {"url": f"127.0.0.1:{sp}"}, E),
        Case("web_fetch", {"url": f"//127.0.0.1:{sp}/"}, E),
        Case("web_fetch", {"url": f"http://127.0.0.1:{sp}/\r\nHost: x"}, E, "control characters"),
        # redirects from an allowed host to disallowed places, checked on every hop
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-loopback"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-localhost"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-localhost-dot"}, E, check=blocked_or_unresolved),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-v6"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-mapped"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-decimal"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-short"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-zero"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-metadata"}, E, blocked),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-file"}, E, "only http and https"),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-gopher"}, E, "only http and https"),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/loop"}, E, "redirect"),
        # view_image hands URLs to the provider: never ones that point into our network
        Case("view_image", {"source": f"http://127.0.0.1:{sp}/x.png"}, E, "public addresses"),
        Case("view_image", {"source": "http://169.254.169.254/latest/x.png"}, E, "public addresses"),
        Case("view_image", {"source": "http://2130706433/x.png"}, E, "public addresses"),
        Case("view_image", {"source": "https://[::ffff:10.0.0.1]/x.png"}, E, "public addresses"),
        Case("view_image", {"source": "HTTP://0x7f.1/x.png"}, E, "public addresses"),
        Case("view_image", {"source": f"http://127.0.0.2:{pp}/image"}, "ok", "provider fetches it"),
        # non-text content
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/binary"}, E, "not text"),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/image"}, E, "view_image"),
        # legitimate: the allowed host, with a redirect that stays on it
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/ok"}, "ok", "fine page"),
        Case("web_fetch", {"url": f"http://127.0.0.2:{pp}/to-self"}, "ok", "Title: Allowed"),
    ]
    del R
    return cases


@pytest.mark.parametrize("mode", ["auto", "ask"])
def test_web_fetch_ssrf_is_refused(world: World, mode: str) -> None:
    cases = web_cases(world)
    run = run_stoa(world, [cases], mode=mode)
    check_run(run, cases)


# ---- legitimate use: no prompts in auto mode --------------------------------------------------


def legit_read_cases(w: World) -> list[Case]:
    ws = str(w.ws)
    return [
        Case("read_file", {"path": "README.md"}, "ok", "It prints hello."),
        Case("read_file", {"path": "./src/main.py"}, "ok", "return 'hello'"),
        Case("read_file", {"path": ws + "/README.md"}, "ok", "# Demo"),
        Case("read_file", {"path": "src/../README.md"}, "ok", "# Demo"),
        Case("read_file", {"path": "link_dir/../project/README.md"}, "ok", "# Demo"),
        Case("read_file", {"path": "inside_link"}, "ok", "def main"),
        Case("read_file", {"path": "with space.txt"}, "ok", "spaced out"),
        Case("read_file", {"path": "quote'\"s.txt"}, "ok", "quoted"),
        Case("read_file", {"path": "new\nline.txt"}, "ok", "newline in the name"),
        Case("read_file", {"path": "ünïcödé-名前.txt"}, "ok", "unicode name"),
        Case("read_file", {"path": "./~tilde.txt"}, "ok", "tilde"),
        Case("read_file", {"path": "-dash.txt"}, "ok", "dash first"),
        Case("read_file", {"path": "invalid-utf8.txt"}, "ok", "\ufffd"),
        Case("read_file", {"path": "huge.log", "offset": 5, "limit": 2}, "ok", "xxxx"),
        Case("read_file", {"path": "README.md", "offset": 2, "limit": 1}, "ok", "2\tIt prints hello."),
        Case("read_file", {"path": "ignored_dir/note.txt"}, "ok", "ignored dir"),
        Case("list_directory", {"path": "."}, "ok", "src/"),
        Case("list_directory", {"path": "src/"}, "ok", "main.py"),
        Case("list_directory", {"path": ws}, "ok", "README.md"),
        Case("glob_files", {"pattern": "**/*.py"}, "ok", "src/main.py"),
        Case("glob_files", {"pattern": "src/*.py"}, "ok", "src/main.py"),
        Case("glob_files", {"pattern": "*.md", "path": "."}, "ok", "README.md"),
        Case("glob_files", {"pattern": "./src/**"}, "ok", "src/main.py"),
        Case("search_code", {"pattern": "hello"}, "ok", "src/main.py"),
        Case("search_code", {"pattern": "HELLO", "case_insensitive": True, "glob": "*.py"}, "ok", "main.py"),
        Case("search_code", {"pattern": "hello", "path": "src/main.py"}, "ok", "2:"),
        Case(
            "search_code", {"pattern": "ignored dir", "include_ignored": True}, "ok", "ignored_dir/note.txt"
        ),
        Case("view_image", {"source": "pic.png"}, "ok", "64×32 PNG"),
        Case("update_plan", {"steps": [{"step": "look", "status": "in_progress"}]}, "ok", "Plan updated"),
    ]


def legit_write_cases() -> list[Case]:
    return [
        Case("write_file", {"path": "out/new.txt", "content": "fresh\n"}, "ok", "Created out/new.txt"),
        Case("write_file", {"path": "out/new.txt", "content": "more\n", "append": True}, "ok", "Appended"),
        Case("write_file", {"path": "dangling_in", "content": "through a dangling link inside\n"}, "ok"),
        Case("write_file", {"path": "name with 'quotes' and spaces.txt", "content": "q\n"}, "ok"),
        Case("write_file", {"path": "ünï/名前.txt", "content": "u\n"}, "ok"),
        Case(
            "edit_file",
            {"path": "README.md", "old_string": "hello", "new_string": "goodbye"},
            "ok",
            "Edited README.md",
        ),
        Case("edit_file", {"path": "inside_link", "old_string": "'hello'", "new_string": "'hi'"}, "ok"),
        Case("create_directory", {"path": "made/a/b"}, "ok", "Created directory made/a/b"),
        Case("copy_file", {"source": "src/main.py", "destination": "made"}, "ok", "made/main.py"),
        Case("copy_file", {"source": "src", "destination": "src_copy"}, "ok", "Copied directory"),
        Case("move_file", {"source": "made/main.py", "destination": "made/a/moved.py"}, "ok", "Moved"),
        Case("move_file", {"source": "link_file", "destination": "sub/moved_link"}, "ok", "Moved"),
    ]


def test_legitimate_use_runs_without_prompts_in_auto_mode(world: World) -> None:
    reads = legit_read_cases(world)
    writes = legit_write_cases()
    run = run_stoa(world, [reads, writes], mode="auto")
    check_run(run, [*reads, *writes])
    ws = world.ws
    assert (ws / "out" / "new.txt").read_text() == "fresh\nmore\n"
    assert (ws / "not-yet.txt").read_text() == "through a dangling link inside\n"
    assert (ws / "README.md").read_text() == "# Demo\nIt prints goodbye.\n"
    assert (ws / "src" / "main.py").read_text() == "def main():\n    return 'hi'\n"
    assert (ws / "made" / "a" / "moved.py").exists() and (ws / "src_copy" / "main.py").exists()
    # Moving a symlink moves the link: it still points outside, and reading it is still refused.
    assert (ws / "sub" / "moved_link").is_symlink() and not (ws / "link_file").exists()
    assert "Not run:" not in run.proc.stderr


def test_ask_mode_reads_freely_and_refuses_every_change(world: World) -> None:
    reads = legit_read_cases(world)
    writes = legit_write_cases()
    for case in writes:
        case.expect, case.needle = "refused", "ask mode"
    # The copy that would have made made/main.py was refused, so moving it cannot run: that is
    # said at once, without a question (ask only what can run).
    moved = next(c for c in writes if isinstance(c.args, dict) and c.args.get("source") == "made/main.py")
    moved.expect, moved.needle = "error", "source not found"
    run = run_stoa(world, [reads, writes], mode="ask")
    check_run(run, [*reads, *writes])
    assert not (world.ws / "out").exists() and not (world.ws / "made").exists()
    assert (world.ws / "README.md").read_text() == "# Demo\nIt prints hello.\n"


# ---- sequences: move then read, a symlink swapped in after listing -----------------------------


def test_moved_or_renamed_links_stay_refused(world: World) -> None:
    first = [
        Case("move_file", {"source": "link_file", "destination": "innocent.txt"}, "ok"),
        Case("move_file", {"source": "env_link", "destination": "config.txt"}, "ok"),
        Case("move_file", {"source": "secrets_link", "destination": "docs"}, "ok"),
        Case("move_file", {"source": "link_dir", "destination": "src/vendor"}, "ok"),
    ]
    second = [
        Case("read_file", {"path": "innocent.txt"}, "refused", "outside the workspace"),
        Case("read_file", {"path": "config.txt"}, "refused", "Read(./.env)"),
        Case("read_file", {"path": "docs/key.txt"}, "refused", "Read(./secrets/**)"),
        Case("read_file", {"path": "src/vendor/secret.txt"}, "refused"),
        Case("search_code", {"pattern": "CANARY", "path": "src"}, "ok", "No matches"),
        Case("search_code", {"pattern": "CANARY", "path": "docs"}, "refused"),
        Case("copy_file", {"source": "innocent.txt", "destination": "copy.txt"}, "refused"),
        Case("copy_file", {"source": "config.txt", "destination": "copy2.txt"}, "refused"),
        Case("copy_file", {"source": "src", "destination": "src2"}, "ok"),
        Case("read_file", {"path": "src2/vendor/secret.txt"}, "refused"),
    ]
    run = run_stoa(world, [first, second], mode="auto")
    check_run(run, [*first, *second])


def test_symlink_swapped_in_after_listing(world: World) -> None:
    ws = world.ws
    (ws / "data.txt").write_text("harmless data\n")
    first = [
        Case("list_directory", {"path": "."}, "ok", "data.txt"),
        Case("read_file", {"path": "data.txt"}, "ok", "harmless data"),
    ]
    second = [
        Case("read_file", {"path": "data.txt"}, "refused", "through a symlink"),
        Case("edit_file", {"path": "data.txt", "old_string": "CANARY", "new_string": "x"}, "refused"),
        Case("write_file", {"path": "data.txt", "content": "x"}, "refused"),
        Case("search_code", {"pattern": "CANARY", "path": "data.txt"}, "refused"),
        Case("read_file", {"path": "subdir/secret.txt"}, "refused"),
        Case("copy_file", {"source": "subdir", "destination": "grab"}, "refused"),
    ]
    (ws / "subdir").mkdir()

    def swap(request: Any) -> bool:
        # Runs when the model request carrying the first results arrives: swap files for links.
        if not (ws / "data.txt").is_symlink():
            (ws / "data.txt").unlink()
            (ws / "data.txt").symlink_to(world.secret)
            (ws / "subdir").rmdir()
            (ws / "subdir").symlink_to(world.outside)
        return True

    run = run_stoa(world, [first, second], mode="auto", matchers=[None, swap])
    check_run(run, [*first, *second])
    assert not (ws / "grab").exists()


def test_hard_link_reads_but_never_writes_through(world: World) -> None:
    """Documented limitation: a hard link is the file itself, so reading it is allowed (no path
    leads outside); every write replaces the link atomically and the other name is untouched."""
    cases = [
        Case("read_file", {"path": "hardlink.txt"}, "ok", HARDLINK_CANARY),
        Case("write_file", {"path": "hardlink.txt", "content": "replaced\n"}, "ok"),
        Case("read_file", {"path": "hardlink.txt"}, "ok", "replaced"),
    ]
    run = run_stoa(world, [cases[:1], cases[1:2], cases[2:]], mode="auto")
    check_run(run, cases)
    assert (world.outside / "hard_target.txt").read_text() == f"{HARDLINK_CANARY}\n"
    assert (world.ws / "hardlink.txt").stat().st_nlink == 1


# ---- special files and bad input: tool errors, never a crash or a hang ------------------------


def special_file_cases(w: World) -> list[Case]:
    E = "error"
    cases = [
        Case("read_file", {"path": "fifo"}, E, "not a regular file"),
        Case("edit_file", {"path": "fifo", "old_string": "a", "new_string": "b"}, E),
        Case("write_file", {"path": "fifo", "content": "x"}, E),
        Case("write_file", {"path": "fifo", "content": "x", "append": True}, E),
        Case("search_code", {"pattern": "x", "path": "fifo"}, E),
        Case("view_image", {"source": "fifo"}, E, "not a regular file"),
        Case("copy_file", {"source": "fifo", "destination": "fifo_copy"}, E),
        Case("list_directory", {"path": "fifo"}, E),
        Case("read_file", {"path": "loop_a"}, E),
        Case("read_file", {"path": "self_loop"}, E),
        Case("write_file", {"path": "self_loop", "content": "x"}, E),
        Case("list_directory", {"path": "loop_a"}, E),
        Case("search_code", {"pattern": "x", "path": "loop_b"}, E),
        Case("read_file", {"path": "dangling_in"}, E, "not found"),
        Case("read_file", {"path": "blob.bin"}, E, "binary"),
        Case("edit_file", {"path": "blob.bin", "old_string": "binary", "new_string": "text"}, E, "binary"),
        Case("read_file", {"path": "pic.png"}, E, "view_image"),
        Case("read_file", {"path": "huge.log"}, E, "offset and limit"),
        Case("edit_file", {"path": "huge.log", "old_string": "x", "new_string": "y"}, E),
        Case("view_image", {"source": "huge.png"}, E, "limit"),
        Case("view_image", {"source": "fake.png"}, E, "not an image"),
        Case("view_image", {"source": "README.md"}, E, "not an image"),
        Case("view_image", {"source": "empty.png"}, E, "empty"),
        Case("view_image", {"source": "truncated.png"}, E),
        Case("view_image", {"source": "bomb.png"}, E, "too many pixels"),
        Case("view_image", {"source": "bomb-warn.png"}, E, "too many pixels"),
        Case("view_image", {"source": "src"}, E, "directory"),
        Case("read_file", {"path": "a" * 300 + ".txt"}, E, "too long"),
        Case("read_file", {"path": "/".join(["d" * 200] * 30)}, E),
        Case("write_file", {"path": "b" * 300 + ".txt", "content": "x"}, E, "too long"),
        Case("glob_files", {"pattern": "**/*", "path": "fifo"}, E),
        Case("search_code", {"pattern": "hello", "path": "README.md/"}, E),
        Case("read_file", {"path": "README.md/"}, E),
        Case("write_file", {"path": "README.md/x.txt", "content": "x"}, E),
    ]
    if w.has_device:
        cases += [
            # a directory holding a device: copying it must not read /dev/zero's twin forever
            Case("copy_file", {"source": "devdir", "destination": "devdir_copy"}, E, "not a regular file"),
            Case("move_file", {"source": "devdir/zero", "destination": "sub/zero"}, "ok"),
            Case("read_file", {"path": "zero_dev"}, E, "not a regular file"),
            Case("edit_file", {"path": "zero_dev", "old_string": "a", "new_string": "b"}, E),
            Case("write_file", {"path": "zero_dev", "content": "x"}, E),
            Case("view_image", {"source": "zero_dev"}, E),
            Case("search_code", {"pattern": "x", "path": "zero_dev"}, E),
            Case("copy_file", {"source": "zero_dev", "destination": "zero_copy"}, E),
        ]
    if w.has_socket:
        cases += [
            Case("read_file", {"path": "sock"}, E, "not a regular file"),
            Case("edit_file", {"path": "sock", "old_string": "a", "new_string": "b"}, E),
            Case("search_code", {"pattern": "x", "path": "sock"}, E),
            Case("view_image", {"source": "sock"}, E),
        ]
    return cases


def test_special_files_give_tool_errors_without_hanging(world: World) -> None:
    cases = special_file_cases(world)
    run = run_stoa(world, [cases], mode="auto", timeout=90)
    check_run(run, cases)
    assert stat.S_ISFIFO((world.ws / "fifo").lstat().st_mode)
    if world.has_device:
        assert stat.S_ISCHR((world.ws / "zero_dev").lstat().st_mode)
        assert not (world.ws / "devdir_copy").exists()
        assert stat.S_ISCHR((world.ws / "sub" / "zero").lstat().st_mode)  # moving a device moves the node
    assert (world.ws / "self_loop").is_symlink()


def bad_input_cases() -> list[Case]:
    E = "error"
    return [
        Case("read_file", {}, E, "path"),
        Case("read_file", {"path": 5}, E, "path"),
        Case("read_file", {"path": None}, E, "path"),
        Case("read_file", {"path": ["README.md"]}, E, "path"),
        Case("read_file", {"path": ""}, E, "empty"),
        Case("read_file", {"path": "   "}, E, "empty"),
        Case("read_file", {"path": "nope.txt"}, E, "not found"),
        Case("read_file", {"path": "READNE.md"}, E, "README.md"),
        Case("read_file", {"path": "src"}, E, "directory"),
        Case("read_file", {"path": "README.md", "offset": -1}, E, "offset"),
        Case("read_file", {"path": "README.md", "limit": 0}, E, "limit"),
        Case("read_file", {"path": "README.md", "offset": "two"}, E, "offset"),
        Case("read_file", {"path": "README.md", "offset": 99}, E, "past the end"),
        Case("read_file", {"path": "README.md", "bogus": True}, E, "bogus"),
        Case("read_file", '{"path": "README.md"', E, "JSON"),
        Case("read_file", "[1, 2]", E, "object"),
        Case("list_directory", {}, E, "path"),
        Case("list_directory", {"path": "README.md"}, E, "not a directory"),
        Case("list_directory", {"path": "missing_dir"}, E, "not found"),
        Case("write_file", {"path": "x.txt"}, E, "content"),
        Case("write_file", {"path": "x.txt", "content": 12}, E, "content"),
        Case("write_file", {"path": "src", "content": "x"}, E, "directory"),
        Case("write_file", {"path": "newdir/", "content": "x"}, E, "directory"),
        Case("write_file", {"path": "", "content": "x"}, E, "empty"),
        Case("edit_file", {"path": "README.md", "old_string": "absent", "new_string": "x"}, E, "not found"),
        Case("edit_file", {"path": "README.md", "old_string": "e", "new_string": "E"}, E, "replace_all"),
        Case("edit_file", {"path": "README.md", "old_string": "Demo", "new_string": "Demo"}, E, "same"),
        Case("edit_file", {"path": "README.md", "old_string": "Demo"}, E, "new_string"),
        Case("edit_file", {"path": "nope.md", "old_string": "a", "new_string": "b"}, E, "not found"),
        Case("edit_file", {"path": "src", "old_string": "a", "new_string": "b"}, E, "directory"),
        Case("create_directory", {"path": "README.md"}, E, "already exists"),
        Case("create_directory", {"path": "README.md/sub"}, E),
        Case("move_file", {"source": "nope.txt", "destination": "x.txt"}, E, "not found"),
        Case("move_file", {"source": "README.md", "destination": "src/main.py"}, E, "already exists"),
        Case("move_file", {"source": "src", "destination": "src/inner"}, E, "into itself"),
        Case("move_file", {"source": ".", "destination": "elsewhere"}, E, "workspace"),
        Case("move_file", {"source": "README.md"}, E, "destination"),
        Case("copy_file", {"source": "src", "destination": "src/inner"}, E, "into itself"),
        Case("copy_file", {"source": "README.md", "destination": "README.md"}, E, "already exists"),
        Case("copy_file", {"source": "nope", "destination": "x"}, E, "not found"),
        Case("glob_files", {"pattern": ""}, E, "empty"),
        Case("glob_files", {}, E, "pattern"),
        Case("glob_files", {"pattern": "*", "path": "README.md"}, E, "not a directory"),
        Case("glob_files", {"pattern": "*", "path": "missing"}, E, "not found"),
        Case("search_code", {"pattern": "("}, E, "regular expression"),
        Case("search_code", {"pattern": ""}, E, "empty"),
        Case("search_code", {"pattern": "x", "path": "missing"}, E, "not found"),
        Case("search_code", {"pattern": "x", "case_insensitive": "maybe"}, E, "case_insensitive"),
        Case("view_image", {}, E, "source"),
        Case("view_image", {"source": ""}, E, "empty"),
        Case("view_image", {"source": "missing.png"}, E, "not found"),
        Case("web_fetch", {}, E, "url"),
        Case("web_fetch", {"url": ""}, E, "empty"),
        Case("web_fetch", {"url": "not a url"}, E, "http"),
        Case("web_fetch", {"url": "http://"}, E, "host"),
        Case("web_fetch", {"url": "http://example.invalid:99999/"}, E, "port"),
        Case("web_fetch", {"url": "http://0251.0376.0251.0376/"}, E),
        Case("web_fetch", {"url": "http://[::1/"}, E),
        Case("web_fetch", {"url": 42}, E, "url"),
        Case(
            "update_plan",
            {"steps": [{"step": "a", "status": "in_progress"}, {"step": "b", "status": "in_progress"}]},
            E,
            "in_progress",
        ),
        Case("update_plan", {"steps": [{"step": "a", "status": "doing"}]}, E, "status"),
        Case("update_plan", {}, E, "steps"),
        Case("no_such_tool", {"path": "."}, E, "unknown tool"),
        # lone surrogates (a broken \u escape) in every kind of text argument
        Case("glob_files", '{"pattern": "\\ud800*"}', E, "not valid Unicode"),
        Case("search_code", '{"pattern": "a\\udcff"}', E, "not valid Unicode"),
        Case("search_code", '{"pattern": "a", "glob": "\\ud800"}', E, "not valid Unicode"),
        Case("read_file", '{"path": "\\ud800.txt"}', E, "not valid Unicode"),
        Case("write_file", '{"path": "s.txt", "content": "\\ud800"}', E, "not valid Unicode"),
        Case("delete_file", {}, E, "path"),
        Case("delete_directory", {"path": ""}, E, "empty"),
    ]


@pytest.mark.parametrize("mode", ["auto", "ask"])
def test_bad_input_gives_actionable_tool_errors(world: World, mode: str) -> None:
    cases = bad_input_cases()
    if mode == "ask":
        # Changes are refused before they run in ask mode (argument errors still come first):
        # either way the model gets a tool error.
        for case in cases:
            if case.tool in ("write_file", "edit_file", "create_directory", "move_file", "copy_file"):
                case.expect, case.needle = "safe", ""
    run = run_stoa(world, [cases], mode=mode)
    check_run(run, cases)
    assert (world.ws / "README.md").read_text() == "# Demo\nIt prints hello.\n"


def _no_dac_wrapper() -> list[str]:
    if os.geteuid() != 0:
        return []
    if subprocess.run(["which", "setpriv"], capture_output=True).returncode != 0:
        pytest.skip("running as root without setpriv: cannot make file permissions bite")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


def test_os_permission_denied_is_a_tool_error(world: World) -> None:
    ws = world.ws
    (ws / "locked.txt").write_text("locked\n")
    (ws / "locked.txt").chmod(0o000)
    (ws / "ro_dir").mkdir()
    (ws / "ro_dir" / "keep.txt").write_text("keep\n")
    (ws / "ro_dir").chmod(0o555)
    (ws / "closed_dir").mkdir()
    (ws / "closed_dir" / "inner.txt").write_text("inner\n")
    (ws / "closed_dir").chmod(0o000)
    E = "error"
    denied = "permission denied"
    cases = [
        Case("read_file", {"path": "locked.txt"}, E, denied),
        Case("edit_file", {"path": "locked.txt", "old_string": "locked", "new_string": "open"}, E, denied),
        Case("write_file", {"path": "locked.txt", "content": "new"}, E, denied),
        Case("view_image", {"source": "locked.txt"}, E, denied),
        Case("copy_file", {"source": "locked.txt", "destination": "copy.txt"}, E, denied),
        Case("write_file", {"path": "ro_dir/new.txt", "content": "x"}, E, denied),
        Case("write_file", {"path": "ro_dir/keep.txt", "content": "changed"}, E, denied),
        Case("create_directory", {"path": "ro_dir/sub"}, E, denied),
        Case("move_file", {"source": "ro_dir/keep.txt", "destination": "kept.txt"}, E, denied),
        Case("copy_file", {"source": "README.md", "destination": "ro_dir/readme.md"}, E, denied),
        Case("list_directory", {"path": "closed_dir"}, E, denied),
        Case("read_file", {"path": "closed_dir/inner.txt"}, E, denied),
        Case("search_code", {"pattern": "locked", "path": "locked.txt"}, "safe"),
        Case("glob_files", {"pattern": "*", "path": "closed_dir"}, "safe"),
        # the rest of the tree is still usable
        Case("read_file", {"path": "README.md"}, "ok", "# Demo"),
        Case("search_code", {"pattern": "hello"}, "ok", "src/main.py"),
        Case("list_directory", {"path": "."}, "ok", "closed_dir/"),
    ]
    try:
        run = run_stoa(world, [cases], mode="auto", wrap=_no_dac_wrapper())
        check_run(run, cases)
    finally:
        (ws / "closed_dir").chmod(0o755)
        (ws / "ro_dir").chmod(0o755)
        (ws / "locked.txt").chmod(0o644)
    assert (ws / "locked.txt").read_text() == "locked\n"
    assert (ws / "ro_dir" / "keep.txt").read_text() == "keep\n"
    assert sorted(os.listdir(ws / "ro_dir")) == ["keep.txt"]
