"""Snapshots of the chat screen at 120x40, one per state (SVGs in snapshots/test_snapshots/).

Deterministic: fixed clock, no animation, no cursor blink, no sandbox probe, a test config with
HOME at the test folder (the workspace shows as ~/project), explicit token usage in every reply.
Update with ``pytest tests/ui/test_snapshots.py --snapshot-update`` and look at the pictures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from stoa.core.config import load_config
from stoa.core.runtime import Choices
from tests.fake_server import FakeServer, fault, reply, tool_call
from tests.ui.conftest import SIZE, AppFactory, fixed_clock, make_env, wait_for, wait_idle

USAGE = {"input_tokens": 1_840, "output_tokens": 312, "cache_read_tokens": 0}

MARKDOWN = """## What the module does

`parse_config` reads **three layers** and merges them:

| layer | file | wins over |
|-------|------|-----------|
| global | `~/.config/stoa/config.toml` | nothing |
| project | `.stoa/config.toml` | global |
| personal | `.stoa/config.local.toml` | both |

```python
def merge(layers: list[dict]) -> dict:
    merged = {}
    for layer in layers:
        merged.update(layer)
    return merged
```

Next steps:

1. Validate the merged table.
2. Report the file and line of each problem.
- Unknown keys are warnings, not errors.
> Environment variables still win over every file.
"""


async def ready(pilot: Pilot[Any]) -> Any:
    """The snapshot harness starts driving before the chat screen has focus; wait for it."""
    app: Any = pilot.app
    await wait_for(lambda: app.chat.is_mounted and app.chat.composer.input.has_focus, what="focus")
    return app


async def send(pilot: Pilot[Any], text: str) -> None:
    app = await ready(pilot)
    app.chat.composer.set_text(text)
    await pilot.press("enter")
    await wait_idle(app)


def _tool_turn(fake_server: FakeServer, workspace: Path) -> None:
    (workspace / "settings.py").write_text("DEBUG = True\nPORT = 8000\nHOST = 'localhost'\n")
    fake_server.script(
        reply(
            text="I'll look at the settings first.",
            tool_calls=[tool_call("read_file", {"path": "settings.py"})],
            **USAGE,
        ),
        reply(
            tool_calls=[
                tool_call("edit_file", {"path": "settings.py", "old_string": "PORT = 8000", "new_string": "PORT = 8080"})
            ],
            **USAGE,
        ),
        reply(tool_calls=[tool_call("execute_bash", {"command": "printf 'ok: %s\\n' build lint tests"})], **USAGE),
        reply(text="The port is now **8080** and the checks pass.", **USAGE),
    )


def test_empty_chat(snap_compare: Any, app_factory: AppFactory) -> None:
    """A fresh conversation: the welcome banner (model, ~/project), an empty composer with its
    placeholder, the status bar (model · effort, AUTO badge, context meter, ~/project, tokens,
    cost)."""
    assert snap_compare(app_factory(), terminal_size=SIZE)


def test_markdown_conversation(snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer) -> None:
    """A finished exchange: the user's message with its bar, then a Markdown reply with a
    heading, inline code, a table, a highlighted Python fence, a numbered and a bullet list and
    a block quote. Status bar shows the tokens and cost of the reply."""
    fake_server.script(reply(text=MARKDOWN, **USAGE))

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "How does the config loader merge its layers?")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_tool_calls_collapsed(
    snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    """Three tool calls as compact rows, all ticked: read_file settings.py, edit_file settings.py
    with "+1 −1" and the first lines of its diff under the folded row, execute_bash with its
    command; each with elapsed time and a ▸ to expand; the text before and the reply after."""
    _tool_turn(fake_server, workspace)

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "Move the server to port 8080 and run the checks.")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_tool_calls_expanded(
    snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer, workspace: Path
) -> None:
    """The same three calls after Ctrl+O: the read shows a highlighted, numbered preview; the
    edit a coloured diff with old/new line numbers (-PORT = 8000 red, +PORT = 8080 green); the
    shell call its three output lines."""
    _tool_turn(fake_server, workspace)

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "Move the server to port 8080 and run the checks.")
        await pilot.press("ctrl+o")
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_provider_error(snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer) -> None:
    """A request the provider rejects: the user's message, then a red "Request rejected" notice
    with the provider's message and the next step; the message is back in the composer."""
    fake_server.script(fault("bad_request", message="max_tokens: must be at most 64000"))

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "Summarise the repository")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_failed_tool_call(snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer) -> None:
    """A tool call that fails: a red ✗ row, expanded by default, showing the error text the model
    got (file not found, with what to do), then the model's reply."""
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "docs/missing.md"})], **USAGE),
        reply(text="There is no `docs/missing.md`; shall I create it?", **USAGE),
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "Read docs/missing.md")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_plan_panel(snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer) -> None:
    """The plan panel docked on the right: "Plan" with "1/4 done · 1 active", one completed (●),
    one in progress (◐, bold accent), two pending (○), and the explanation below."""
    steps = [
        {"step": "Find where the port is read", "status": "completed"},
        {"step": "Change the default to 8080", "status": "in_progress"},
        {"step": "Update the docs", "status": "pending"},
        {"step": "Run the test suite", "status": "pending"},
    ]
    fake_server.script(
        reply(
            text="Here is the plan.",
            tool_calls=[tool_call("update_plan", {"steps": steps, "explanation": "Small change, docs too."})],
            **USAGE,
        ),
        reply(text="Starting with the default.", **USAGE),
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "Change the port, with a plan")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_slash_list(snap_compare: Any, app_factory: AppFactory) -> None:
    """Typing "/" opens the inline list of slash commands above the composer, the first
    highlighted, each with its argument hint and description."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("slash")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare: Any, app_factory: AppFactory) -> None:
    """/help: a centred box with every key binding, then every slash command with its aliases."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await ready(pilot)
        app.chat.composer.set_text("/help")
        await pilot.press("enter")
        await wait_for(lambda: type(app.screen).__name__ == "HelpScreen", what="help")
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)


def test_missing_key(snap_compare: Any, tmp_path: Path, workspace: Path, fake_server: FakeServer) -> None:
    """A Claude model with no ANTHROPIC_API_KEY (but another provider's key, so no onboarding):
    a warning under the welcome banner naming the variable, how to set it, /key and /model."""
    from stoa.app.tui import make_app

    env = make_env(tmp_path, fake_server, keys=False) | {"OPENAI_API_KEY": "test-key"}
    config = load_config(workspace, env=env)
    app = make_app(
        config,
        choices=Choices(model="claude-sonnet-4-6"),
        clock=fixed_clock,
        animations=False,
        cursor_blink=False,
        detect_sandbox=False,
    )
    assert snap_compare(app, terminal_size=SIZE)


def test_busy_with_a_queued_message(snap_compare: Any, app_factory: AppFactory, fake_server: FakeServer) -> None:
    """While the agent works: the reply streaming so far, the composer border in the accent
    colour with the "Queue a message" placeholder, the queue bar with one queued message above
    it, and "working 0s · esc" and "1 queued" in the status bar."""
    fake_server.script(
        fault("stall", after_events=5, seconds=30, reply=reply(text="Let me check the tests first.", chunk_size=6))
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await ready(pilot)
        app.chat.composer.set_text("Start")
        await pilot.press("enter")
        await wait_for(lambda: any(getattr(r, "text", "") for r in app.chat.log_view.records[2:]), what="text")
        app.chat.composer.set_text("Also update the changelog")
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=run_before)
