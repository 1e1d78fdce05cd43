"""`-i/--image PATH` in headless mode: real image files, the installed CLI, the fake provider
server (which also lists a model without image input)."""

from __future__ import annotations

from pathlib import Path

from tests.fake_server import FakeServer, reply
from tests.fake_server.rules import ModelSpec
from tests.integration.test_headless import stoa
from tests.integration.test_mentions_headless import _png


def _project(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "a.png").write_bytes(_png(6, 2))
    (ws / "notes.txt").write_text("words\n")
    return ws


def test_images_are_sent_with_the_prompt(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    outside = tmp_path / "b.png"
    outside.write_bytes(_png(3, 3))
    fake_server.script(reply(text="Two images."))
    result = stoa(["-p", "compare these", "-i", "a.png", "--image", str(outside)], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    message = fake_server.model_requests()[0].json["messages"][-1]
    kinds = [block["type"] for block in message["content"]]
    assert kinds == ["text", "text", "image", "text", "image"], kinds
    assert message["content"][0]["text"] == "compare these\n\n[Image #1] [Image #2]"
    assert "6×2 PNG" in message["content"][1]["text"] and "3×3 PNG" in message["content"][3]["text"]


def test_a_missing_image_is_a_usage_error(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    result = stoa(["-p", "look", "-i", "nope.png"], stoa_env, ws)
    assert result.returncode == 2
    assert "stoa: error: -i nope.png: no such file" in result.stderr
    assert fake_server.model_requests() == []


def test_a_file_that_is_no_image_is_refused(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "look", "-i", "notes.txt"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "[Image #1] is not attached: notes.txt is not an image file" in result.stderr
    assert [b["type"] for b in fake_server.model_requests()[0].json["messages"][-1]["content"]] == ["text"]


def test_a_model_without_image_input_is_told(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.models.append(ModelSpec(id="claude-blind-1", provider="anthropic", image_input=False))
    result = stoa(["-p", "look", "-i", "a.png", "-m", "claude-blind-1"], stoa_env, ws)
    assert result.returncode == 2, result.stderr
    assert "claude-blind-1 does not take images" in result.stderr
    assert fake_server.model_requests() == []
    # A mention of an image with that model: sent without it, and a notice says why.
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "look at @a.png", "-m", "claude-blind-1"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "@a.png is not attached: claude-blind-1 does not take images" in result.stderr
