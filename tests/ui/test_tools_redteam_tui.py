"""Escape attempts in the real TUI: the same agent as headless, but a person answers.

Auto mode: in-workspace tool calls run without a modal; a deny rule refuses without asking;
every path that leads outside the workspace (traversal, a symlink, a symlinked parent) brings
up the permission modal naming the canonical outside path, and a rejection keeps its content
away from the model; a change to Stoa's own settings asks too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stoa.app.screens.permission import PermissionScreen
from tests.fake_server import reply, tool_call

CANARY = "CANARY-TUI-OUTSIDE-5c2e"
ENV_CANARY = "CANARY-TUI-DOTENV-71aa"


def _real(path: Path) -> Path:
    return path.resolve()


async def test_escapes_ask_in_the_tui_and_rejections_leak_nothing(
    app_factory: Any, fake_server: Any, workspace: Path, tmp_path: Path
) -> None:
    from stoa.core.config import load_config
    from tests.ui.conftest import answer_permission, make_env, wait_for, wait_idle

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{CANARY}\n")
    (workspace / "notes.md").write_text("# notes\nhello\n")
    (workspace / ".env").write_text(f"KEY={ENV_CANARY}\n")
    (workspace / "link.txt").symlink_to(outside / "secret.txt")
    (workspace / "vendor").symlink_to(outside)
    (workspace / ".stoa").mkdir()
    (workspace / ".stoa" / "config.toml").write_text('[permissions]\ndeny = ["Read(./.env)"]\n')
    config = load_config(workspace, env=make_env(tmp_path, fake_server))

    fake_server.script(
        reply(
            tool_calls=[
                tool_call("read_file", {"path": "notes.md"}, id="ok_read"),
                tool_call("write_file", {"path": "out/new.txt", "content": "made\n"}, id="ok_write"),
                tool_call("search_code", {"pattern": "CANARY"}, id="ok_search"),
                tool_call("read_file", {"path": ".env"}, id="deny_env"),
                tool_call("read_file", {"path": "../outside/secret.txt"}, id="esc_dotdot"),
                tool_call("read_file", {"path": "link.txt"}, id="esc_link"),
                tool_call("write_file", {"path": "vendor/planted.txt", "content": "x"}, id="esc_parent"),
                tool_call("write_file", {"path": ".stoa/config.local.toml", "content": "x"}, id="esc_stoa"),
            ]
        ),
        reply(text="Done."),
    )
    app = app_factory(config, mode="auto")
    app.chat.permission_grace = 0.0  # answers as soon as the modal is painted
    asked: list[tuple[str, str]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"look around", "enter")
        for _ in range(4):  # the four calls that need a person, one modal at a time
            await wait_for(lambda: isinstance(app.screen, PermissionScreen), what="a permission modal")
            request = app.screen.request  # type: ignore[attr-defined]
            asked.append((request.call_id, request.target))
            # "No, and tell the model" (the last answer): the turn goes on to the next call (a
            # plain "no" would end it).
            await answer_permission(app, pilot, str(len(app.screen.answers)))  # type: ignore[attr-defined]
            await pilot.press(*"no", "enter")
            await wait_for(
                lambda request=request: getattr(app.screen, "request", None) is not request,
                what="the modal to close",
            )
        await wait_idle(app)

    real_outside = _real(outside)
    assert asked == [
        ("esc_dotdot", str(real_outside / "secret.txt")),
        ("esc_link", str(real_outside / "secret.txt")),
        ("esc_parent", str(real_outside / "planted.txt")),
        ("esc_stoa", str(_real(workspace) / ".stoa" / "config.local.toml")),
    ]
    results = {r.id: r for r in fake_server.model_requests()[-1].tool_results}
    assert "hello" in results["ok_read"].text and not results["ok_read"].is_error
    assert results["ok_write"].text.startswith("Created out/new.txt")
    assert "No matches" in results["ok_search"].text
    assert results["deny_env"].is_error and "Read(./.env)" in results["deny_env"].text
    for cid in ("esc_dotdot", "esc_link", "esc_parent", "esc_stoa"):
        assert results[cid].is_error and "rejected" in results[cid].text
    for request in fake_server.requests:
        assert CANARY.encode() not in request.raw_body and ENV_CANARY.encode() not in request.raw_body
    assert (workspace / "out" / "new.txt").read_text() == "made\n"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert not (workspace / ".stoa" / "config.local.toml").exists()
