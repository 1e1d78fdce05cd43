"""`@` mentions in headless prompts (`stoa -p "explain @src/app.py"`): real files, the installed
CLI, the fake provider server. What the model receives is read from the recorded requests."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from tests.fake_server import FakeServer, reply
from tests.integration.test_headless import stoa


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _project(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "app.py").write_text("def main():\n    print('hello from app')\n")
    (ws / "docs").mkdir()
    (ws / "docs" / "guide.md").write_text("# Guide\n")
    (ws / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    (ws / "shot.png").write_bytes(_png(4, 3))
    return ws


def _sent(fake_server: FakeServer) -> str:
    return json.dumps(fake_server.model_requests()[0].json)


def test_file_and_folder_are_attached(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="It prints."))
    result = stoa(["-p", "explain @src/app.py and look at @docs"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    body = _sent(fake_server)
    assert "explain @src/app.py and look at @docs" in body
    assert 'kind=\\"file\\" path=\\"src/app.py\\"' in body and "hello from app" in body
    assert 'kind=\\"folder\\"' in body and "guide.md" in body
    assert "attached: src/app.py (2 lines); docs/ (listing)" in result.stderr


def test_missing_path_stays_text_with_a_hint(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "what about @src/ap.py"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "@src/ap.py stays text: nothing is at src/ap.py. Did you mean: src/app.py?" in result.stderr
    body = _sent(fake_server)
    assert "what about @src/ap.py" in body and "<attachment" not in body


def test_binary_file_is_refused_with_the_reason(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "read @blob.bin"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "@blob.bin is not attached: blob.bin is a binary file" in result.stderr
    assert "<attachment" not in _sent(fake_server)


def test_image_mention_sends_an_image_block(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="A red square."))
    result = stoa(["-p", "what is in @shot.png?"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    message = fake_server.model_requests()[0].json["messages"][-1]
    kinds = [block["type"] for block in message["content"]]
    assert kinds == ["text", "text", "image"], kinds
    assert message["content"][2]["source"]["media_type"] == "image/png"
    assert "4×3 PNG" in message["content"][1]["text"]


def test_deny_rule_refuses_the_mention(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    (ws / ".stoa").mkdir()
    (ws / ".stoa" / "config.local.toml").write_text('[permissions]\ndeny = ["Read(src/**)"]\n')
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "explain @src/app.py"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "@src/app.py is not attached:" in result.stderr
    assert "hello from app" not in _sent(fake_server)


def test_outside_path_follows_the_rules(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("outside words\n")
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", f"compare @{outside}"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    # Named by the person: a read that would ask is theirs to allow.
    assert "outside words" in _sent(fake_server)


def test_email_address_is_not_a_mention(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "write to ann@src/app.py please"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "<attachment" not in _sent(fake_server) and "attached" not in result.stderr


def test_a_line_range_attaches_those_lines(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    ws = _project(tmp_path)
    (ws / "long.txt").write_text("".join(f"row {n}\n" for n in range(1, 51)))
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "look at @long.txt:10-12 and @long.txt#L40"], stoa_env, ws)
    assert result.returncode == 0, result.stderr
    assert "attached: long.txt lines 10-12; long.txt lines 40-40" in result.stderr
    body = _sent(fake_server)
    assert "10\\trow 10" in body and "12\\trow 12" in body and "40\\trow 40" in body
    assert "row 13" not in body and "row 9\\n" not in body


def test_mentions_in_piped_data_are_not_expanded(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = _project(tmp_path)
    fake_server.script(reply(text="ok"))
    piped = "@app.route('/')\ndef index(): ...  # see @src/app.py\n"
    result = stoa(["-p", "review this, compare with @src/app.py"], stoa_env, ws, stdin=piped)
    assert result.returncode == 0, result.stderr
    assert "attached: src/app.py (2 lines)" in result.stderr and "stays text" not in result.stderr
    assert _sent(fake_server).count("<attachment") == 1
