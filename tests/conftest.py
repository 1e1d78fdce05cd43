"""Top-level test fixtures: the fake provider server, an isolated Stoa environment, and guards.

Guards applied to the whole test session, at import time:
- the developer's provider keys, base URLs and ``STOA_*`` settings are removed from the
  environment, and ``STOA_HOME`` points at a throw-away folder (so ``keys.toml`` and the global
  config of the person running the tests are never read);
- resolving the real provider hosts (api.anthropic.com, api.openai.com, openrouter.ai) fails
  with a message pointing at the ``fake_server`` fixture.

After every test, each ``FakeServer`` started during it has all its recorded requests checked by
the protocol checker (orphan tool calls/results, role alternation, signatures...), and each model
request Stoa's thin client sent is checked against the SDK's request types
(``tests/sdk_contract.py``). Mark a test ``@pytest.mark.protocol_invalid_ok`` when it sends
junk on purpose.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_server import FakeServer
from tests.sdk_contract import assert_requests_conform

REPO_ROOT = Path(__file__).resolve().parent.parent

# ---- session guards ------------------------------------------------------------------------

_SCRUBBED_PREFIXES = ("STOA_",)
_SCRUBBED_SUFFIXES = ("_API_KEY", "_AUTH_TOKEN", "_BASE_URL")
_SCRUBBED_NAMES = frozenset({"OLLAMA_HOST", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_ORGANIZATION"})
BLOCKED_HOSTS = frozenset({"api.anthropic.com", "api.openai.com", "openrouter.ai", "api.openrouter.ai"})


def _is_scrubbed(name: str) -> bool:
    return name in _SCRUBBED_NAMES or name.startswith(_SCRUBBED_PREFIXES) or name.endswith(_SCRUBBED_SUFFIXES)


for _name in [n for n in os.environ if _is_scrubbed(n)]:
    del os.environ[_name]

_SESSION_STOA_HOME = tempfile.mkdtemp(prefix="stoa-test-home-")
os.environ["STOA_HOME"] = _SESSION_STOA_HOME
atexit.register(shutil.rmtree, _SESSION_STOA_HOME, True)

_real_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if name.lower().rstrip(".") in BLOCKED_HOSTS:
        raise OSError(
            f"tests must not reach the real provider at {name}: point the client at the fake_server "
            "fixture (server.base_url / server.openai_base_url) or use the stoa_env fixture"
        )
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _guarded_getaddrinfo


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "protocol_invalid_ok: the test sends protocol-invalid requests on purpose (skip the check)"
    )


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report

# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A started fake provider server (stopped after the test). Script it with
    ``fake_server.script(reply(...), fault(...))``."""
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_catalog_across_tests() -> Iterator[None]:
    """A runtime built in one test (in-process TUI or headless) makes its catalogue the active
    one; the next test starts from the table-only catalogue again, as a new process would."""
    yield
    from stoa.core.catalog import set_active_catalog

    set_active_catalog(None)


@pytest.fixture(autouse=True)
def _fake_server_protocol_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the test: every fake server started during it saw only protocol-valid requests."""
    before = set(FakeServer.started)
    yield
    if request.node.get_closest_marker("protocol_invalid_ok"):
        return
    if request.node.stash.get(_CALL_FAILED, False):
        return  # the test's own failure says more than a follow-up protocol report
    for server in [s for s in FakeServer.started if s not in before]:
        server.assert_no_errors()
        server.assert_protocol_valid()
        assert_requests_conform(list(server.requests))


@pytest.fixture
def stoa_env(tmp_path: Path, fake_server: FakeServer) -> dict[str, str]:
    """A complete, isolated environment for running Stoa (subprocesses, tmux, or in-process via
    ``use_stoa_env``): temp HOME and STOA_HOME, test keys, base URLs at the fake server. Nothing
    else from the developer's environment leaks in except PATH."""
    home = tmp_path / "home"
    stoa_home = tmp_path / "stoa-home"
    for folder in (home, stoa_home):
        folder.mkdir(parents=True, exist_ok=True)
    venv_bin = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    return {
        "PATH": path if path.split(os.pathsep)[0] == venv_bin else f"{venv_bin}{os.pathsep}{path}",
        "HOME": str(home),
        "STOA_HOME": str(stoa_home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
        "PYTHONPATH": str(REPO_ROOT),
        "ANTHROPIC_API_KEY": "test-key",
        "OPENAI_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": fake_server.base_url,
        "OPENAI_BASE_URL": fake_server.openai_base_url,
    }


@pytest.fixture
def use_stoa_env(stoa_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Apply ``stoa_env`` to this process's os.environ for the test (restored afterwards)."""
    for name in [n for n in os.environ if _is_scrubbed(n) or n.startswith("XDG_")]:
        monkeypatch.delenv(name, raising=False)
    for name, value in stoa_env.items():
        monkeypatch.setenv(name, value)
    return stoa_env
