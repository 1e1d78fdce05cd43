"""Every native tool through the agent loop, driven by the fake provider over the real SDKs.

The fake model calls each tool; the assertions read the tool results the next request carried
back to the "model" (``fake_server`` requests), on all three wire formats. Escapes are tried
through the loop too: with nobody to approve, nothing outside the workspace reaches the model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from stoa.core import events as ev
from stoa.core.agent.loop import Agent, RetryPolicy
from stoa.core.config import load_config
from stoa.core.models import resolve_model
from stoa.core.permissions.approver import PermissionDecision, PermissionRequest, RefusingApprover
from stoa.core.permissions.setup import make_policy
from stoa.core.providers.factory import ProviderPool
from stoa.core.tools.registry import default_registry
from tests.fake_server import FakeServer, reply, tool_call

PROVIDERS = {
    "anthropic": ("claude-sonnet-4-6", None),
    "openai": ("gpt-5.5", None),
    "ollama": ("qwen3:8b", "ollama"),
}


class ApproveAll:
    def __init__(self) -> None:
        self.requests: list[PermissionRequest] = []

    async def approve(self, request: PermissionRequest) -> PermissionDecision:
        self.requests.append(request)
        return PermissionDecision("once")


class _Page(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"<html><head><title>Fixture</title></head><body><h2>Served page</h2><p>fetched text</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def web_server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(params=list(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_agent(
    tmp_path: Path,
    server: FakeServer,
    provider: str,
    *,
    approver: Any,
    mode: str = "auto",
    config_toml: str = "",
) -> Agent:
    workspace = tmp_path / "ws"
    (workspace / ".stoa").mkdir(parents=True, exist_ok=True)
    if config_toml:
        (workspace / ".stoa" / "config.toml").write_text(config_toml)
    env = {
        "HOME": str(tmp_path / "home"),
        "STOA_HOME": str(tmp_path / "stoa-home"),
        "ANTHROPIC_API_KEY": "test-key",
        "OPENAI_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": server.base_url,
        "OPENAI_BASE_URL": server.openai_base_url,
    }
    config = load_config(workspace, env=env)
    model_id, kind = PROVIDERS[provider]
    model = resolve_model(model_id, kind)
    pool = ProviderPool(config, lambda p: server.openai_base_url if p == "ollama" else None)
    return Agent(
        provider_for=pool,
        model=model,
        tools=default_registry(),
        workspace=config.workspace,
        system_prompt="You are a test agent.",
        policy=make_policy(config, mode),
        approver=approver,
        config=config,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01),
    )


async def run(agent: Agent, text: str) -> list[ev.Event]:
    return [event async for event in agent.run_turn(text)]


def results_by_call(server: FakeServer) -> dict[str, tuple[str, dict[str, Any], str]]:
    """call id -> (tool name, arguments, result text), from the last request sent."""
    last = server.model_requests()[-1]
    calls = {c.id: (c.name, c.input) for c in last.tool_calls}
    return {r.id: (*calls[r.id], r.text) for r in last.tool_results}


async def test_every_native_tool_through_the_loop(
    tmp_path: Path, fake_server: FakeServer, provider: str, web_server: int
) -> None:
    approver = ApproveAll()
    agent = make_agent(
        tmp_path,
        fake_server,
        provider,
        approver=approver,
        config_toml='[web]\nallow-private-hosts = ["127.0.0.1"]\n',
    )
    ws = agent.workspace
    (ws / "notes.txt").write_text("hello world\nsecond line\n")
    (ws / "src").mkdir()
    (ws / "src" / "main.py").write_text("def main():\n    return 'hello'\n")
    Image.new("RGB", (64, 32), (0, 200, 0)).save(ws / "pic.png")
    fake_server.script(
        reply(
            text="Looking around.",
            tool_calls=[
                tool_call("list_directory", {"path": "."}, id="c_list"),
                tool_call("read_file", {"path": "notes.txt"}, id="c_read"),
                tool_call("glob_files", {"pattern": "**/*.py"}, id="c_glob"),
                tool_call("search_code", {"pattern": "hello", "glob": "*.py"}, id="c_search"),
            ],
        ),
        reply(
            tool_calls=[
                tool_call("write_file", {"path": "new/a.txt", "content": "alpha\n"}, id="c_write"),
                tool_call(
                    "edit_file",
                    {"path": "notes.txt", "old_string": "hello world", "new_string": "goodbye"},
                    id="c_edit",
                ),
                tool_call("create_directory", {"path": "d/e"}, id="c_mkdir"),
            ]
        ),
        reply(
            tool_calls=[
                tool_call("copy_file", {"source": "new/a.txt", "destination": "d/e"}, id="c_copy"),
                tool_call("move_file", {"source": "d/e/a.txt", "destination": "moved.txt"}, id="c_move"),
                tool_call(
                    "update_plan",
                    {
                        "steps": [
                            {"step": "Explore", "status": "completed"},
                            {"step": "Change files", "status": "in_progress"},
                        ]
                    },
                    id="c_plan",
                ),
            ]
        ),
        reply(
            tool_calls=[
                tool_call("view_image", {"source": "pic.png"}, id="c_image"),
                tool_call("web_fetch", {"url": f"http://127.0.0.1:{web_server}/doc"}, id="c_fetch"),
                tool_call("delete_file", {"path": "moved.txt"}, id="c_rm"),
                tool_call("delete_directory", {"path": "d"}, id="c_rmdir"),
            ]
        ),
        reply(text="All done."),
    )
    events = await run(agent, "exercise every tool")
    assert isinstance(events[-1], ev.TurnFinished) and events[-1].text == "All done."

    results = results_by_call(fake_server)
    text = {cid: r[2] for cid, r in results.items()}
    assert "src/" in text["c_list"] and "notes.txt  (" in text["c_list"]
    assert text["c_read"] == "1\thello world\n2\tsecond line"
    assert text["c_glob"].startswith("src/main.py")
    assert "src/main.py\n2:    return 'hello'" in text["c_search"]
    assert text["c_write"] == "Created new/a.txt (1 lines, 6 B)"
    assert text["c_edit"].startswith("Edited notes.txt: replaced 1 occurrence at line 1")
    assert text["c_mkdir"] == "Created directory d/e"
    assert text["c_copy"] == "Copied new/a.txt to d/e/a.txt (6 B)"
    assert text["c_move"] == "Moved d/e/a.txt to moved.txt"
    assert text["c_plan"].startswith("Plan updated: 1/2 steps completed")
    assert text["c_image"].startswith("[image: pic.png, ") and "64×32 PNG" in text["c_image"]
    assert "Title: Fixture" in text["c_fetch"] and "## Served page" in text["c_fetch"]
    assert text["c_rm"].startswith("Deleted file")
    assert text["c_rmdir"].startswith("Deleted directory d")

    # What the tools did is real.
    assert (ws / "notes.txt").read_text() == "goodbye\nsecond line\n"
    assert (ws / "new" / "a.txt").read_text() == "alpha\n"
    assert not (ws / "moved.txt").exists() and not (ws / "d").exists()
    # Only the destructive calls asked (auto mode, all inside the workspace).
    assert sorted(r.tool_name for r in approver.requests) == ["delete_directory", "delete_file"]
    assert all(r.kind == "destructive" for r in approver.requests)
    # The UI got its displays: a diff for the edit, the plan event, an image marker.
    finished = {e.call_id: e for e in events if isinstance(e, ev.ToolCallFinished)}
    assert finished["c_edit"].display and "-hello world" in finished["c_edit"].display["diff"]
    assert finished["c_image"].display and finished["c_image"].display["kind"] == "image"
    assert next(e for e in events if isinstance(e, ev.PlanUpdated)).steps[1].status == "in_progress"
    # The image itself went to the provider in the tool result (Anthropic and Responses carry images).
    image_result = next(r for r in fake_server.model_requests()[-1].tool_results if r.id == "c_image")
    if provider != "ollama":
        assert "image" in str(image_result.content)


async def test_escapes_never_reach_the_model_headless(
    tmp_path: Path, fake_server: FakeServer, provider: str
) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOP-SECRET-VALUE\n")
    agent = make_agent(tmp_path, fake_server, provider, approver=RefusingApprover())
    ws = agent.workspace
    (ws / "escape").symlink_to(secret.parent)
    (ws / "link.txt").symlink_to(secret)
    attempts = [
        tool_call("read_file", {"path": "../outside/secret.txt"}, id="e1"),
        tool_call("read_file", {"path": str(secret)}, id="e2"),
        tool_call("read_file", {"path": "link.txt"}, id="e3"),
        tool_call("read_file", {"path": "escape/secret.txt"}, id="e4"),
        tool_call("search_code", {"pattern": "TOP-SECRET", "path": "escape"}, id="e5"),
        tool_call("list_directory", {"path": "escape"}, id="e6"),
        tool_call("copy_file", {"source": "link.txt", "destination": "stolen.txt"}, id="e7"),
        tool_call("write_file", {"path": "escape/planted.txt", "content": "x"}, id="e8"),
        tool_call("edit_file", {"path": "link.txt", "old_string": "TOP", "new_string": "BOTTOM"}, id="e9"),
        tool_call("view_image", {"source": "../outside/secret.txt"}, id="e10"),
        tool_call("read_file", {"path": "notes\x00.txt"}, id="e11"),
    ]
    fake_server.script(reply(tool_calls=attempts), reply(text="ok"))
    await run(agent, "try to escape")
    results = results_by_call(fake_server)
    assert len(results) == len(attempts)
    for cid, (name, _, text) in results.items():
        assert "TOP-SECRET" not in text, (cid, name)
        assert "Not run:" in text[:20] or "NUL" in text, (cid, text)
    for request in fake_server.requests:
        assert "TOP-SECRET-VALUE" not in str(request.json)
    assert not (ws / "stolen.txt").exists() and not (secret.parent / "planted.txt").exists()
    assert secret.read_text() == "TOP-SECRET-VALUE\n"


async def test_plan_mode_offers_only_read_tools(tmp_path: Path, fake_server: FakeServer) -> None:
    agent = make_agent(tmp_path, fake_server, "anthropic", approver=RefusingApprover(), mode="plan")
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "x.txt", "content": "x"}, id="w")]),
        reply(text="ok"),
    )
    await run(agent, "plan only")
    offered = set(fake_server.model_requests()[0].tool_names)
    assert {
        "read_file",
        "list_directory",
        "glob_files",
        "search_code",
        "view_image",
        "web_fetch",
        "update_plan",
    } <= offered
    assert not offered & {
        "write_file",
        "edit_file",
        "create_directory",
        "move_file",
        "copy_file",
        "delete_file",
        "delete_directory",
    }
    (result,) = fake_server.model_requests()[-1].tool_results
    assert "plan mode" in result.text
    assert not (agent.workspace / "x.txt").exists()


async def test_stale_edit_through_the_loop(tmp_path: Path, fake_server: FakeServer) -> None:
    agent = make_agent(tmp_path, fake_server, "anthropic", approver=ApproveAll())
    target = agent.workspace / "f.py"
    target.write_text("x = 1\n")
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "f.py"}, id="r")]), reply(text="read")
    )
    await run(agent, "read it")
    target.write_text("x = 1\ny = 2\n")  # someone else changes it between turns
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("edit_file", {"path": "f.py", "old_string": "x = 1", "new_string": "x = 3"}, id="e")
            ]
        ),
        reply(text="edited"),
    )
    await run(agent, "edit it")
    result = next(r for r in fake_server.model_requests()[-1].tool_results if r.id == "e")
    assert "changed on disk since you last read it" in result.text
    assert target.read_text() == "x = 1\ny = 2\n"


async def test_a_multi_edit_through_every_wire(tmp_path: Path, fake_server: FakeServer, provider: str) -> None:
    approver = ApproveAll()
    agent = make_agent(tmp_path, fake_server, provider, approver=approver)
    target = agent.workspace / "conf.ini"
    target.write_text("[a]\nx = 1\n[b]\nx = 1\n")
    edits = [
        {"old_string": "[a]\nx = 1", "new_string": "[a]\nx = 2"},
        {"old_string": "x = 1", "new_string": "x = 3"},
    ]
    fake_server.script(
        reply(tool_calls=[tool_call("edit_file", {"path": "conf.ini", "edits": edits}, id="m")]),
        reply(text="done"),
    )
    await run(agent, "edit twice")
    assert results_by_call(fake_server)["m"][2].startswith("Edited conf.ini: 2 edits, 2 replacements")
    assert target.read_text() == "[a]\nx = 2\n[b]\nx = 3\n"
    assert approver.requests == []  # auto mode, inside the workspace
