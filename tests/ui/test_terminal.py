"""``stoa`` in a real terminal (tmux): the console script path, keys as terminals send them, exit.

Runs ``python -m stoa.app.cli`` in a tmux pane at 120x40 against the fake server, like a person would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.bench.tui_harness import TmuxStoa
from tests.fake_server import FakeServer, reply

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux to run the app in a terminal")


def composer(screen: str) -> list[str]:
    lines = screen.splitlines()
    bottom = [i for i, line in enumerate(lines) if line.lstrip().startswith("╰")]
    top = [i for i, line in enumerate(lines) if line.lstrip().startswith("╭")]
    return lines[top[-1] + 1 : bottom[-1]] if top and bottom else []


# Generous: other suites may be loading the machine; a failure shows the screen it waited on.
WAIT = 60.0


def test_a_conversation_in_tmux(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(reply(text="Hello from the **fake** model."), reply(text="Second reply."))
    app = TmuxStoa(tmp_path, fake_server.base_url, hold=True)
    app.start()
    try:
        app.wait_for_text("Message Stoa", timeout=WAIT)
        app.send_keys("first line", literal=True)
        app.send_keys("M-Enter")  # Alt+Enter: ESC CR
        app.send_keys("second line", literal=True)
        # Both lines in the composer (waited for: a capture may catch a frame half drawn).
        app.wait_for_last_line(
            lambda screen: any("first line" in line for line in composer(screen))
            and any("second line" in line for line in composer(screen)),
            timeout=WAIT,
        )
        app.send_keys("Enter")
        app.wait_for_text("Hello from the fake model.", timeout=WAIT)
        request = fake_server.model_requests()[0].body["messages"][-1]
        assert request["content"][-1]["text"] == "first line\nsecond line"
        # History: Up brings the last prompt back (once the turn is over).
        app.wait_for_last_line(lambda screen: "working" not in screen.splitlines()[-1], timeout=WAIT)
        app.send_keys("Up")
        app.wait_for_last_line(lambda screen: any("second line" in line for line in composer(screen)), timeout=WAIT)
        app.send_keys("C-u", "BSpace", "C-u")
        app.send_keys("/ex", literal=True)
        app.wait_for_text("/exit", timeout=WAIT)
        app.send_keys("Enter")
        app.wait_for_text("[exit 0]", timeout=WAIT)
        assert "resume it with: stoa -r" in app.screen()
    finally:
        app.stop()


def test_an_unknown_model_is_said_after_the_terminal_is_restored(tmp_path: Path, fake_server: FakeServer) -> None:
    """The runtime is built after the first frame; when it cannot be (an unknown model) the app
    ends and the error is printed in the restored terminal, with exit code 2, as before."""
    app = TmuxStoa(tmp_path, fake_server.base_url, args=("-m", "no-such-model"), hold=True)
    app.start()
    try:
        app.wait_for_text("[exit 2]", timeout=WAIT)
        screen = app.screen()
        assert "stoa: error: unknown model 'no-such-model'" in screen
        assert "Traceback" not in screen and "Message Stoa" not in screen
    finally:
        app.stop()
