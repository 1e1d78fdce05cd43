"""/compact, /context and /purge from the shell (``stoa -c -p "/compact"``): the real CLI,
a real session database, the fake server as the model (a fake model that summarises)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.fake_server import FakeServer, reply, respond
from tests.integration.test_compaction import is_summary_request, summarise
from tests.integration.test_headless import stoa


def database(env: dict[str, str]) -> Path:
    return Path(env["STOA_HOME"]) / "data" / "sessions.db"


def start_session(env: dict[str, str], server: FakeServer, workspace: Path) -> None:
    server.add_rule(respond(summarise), match=is_summary_request)
    server.add_rule(reply(text="A title"), match=lambda r: "Title:" in str(r.body))
    server.script(reply(text="first answer"), reply(text="second answer"), reply(text="third answer"))
    for prompt in ("first. FACT: ship on mondays", "second", "third"):
        result = stoa(["-c", "-p", prompt] if prompt != "first. FACT: ship on mondays" else ["-p", prompt], env, workspace)
        assert result.returncode == 0, result.stderr


def test_compact_from_the_shell(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    start_session(stoa_env, fake_server, workspace)
    result = stoa(["-c", "-p", "/compact the shipping day", "--output-format", "json"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["success"] is True and payload["command"] == "compact"
    assert payload["response"].startswith("Compacted: ") and "archived in the session" in payload["response"]
    summary_requests = [r for r in fake_server.model_requests() if is_summary_request(r)]
    assert len(summary_requests) == 1 and "focus on: the shipping day" in summary_requests[0].user_texts[-1]
    with sqlite3.connect(database(stoa_env)) as db:
        first = json.loads(db.execute("SELECT body FROM messages ORDER BY seq LIMIT 1").fetchone()[0])
        archived = db.execute("SELECT COUNT(*) FROM rewound_messages").fetchone()[0]
    assert "FACT: ship on mondays" in first["content"][0]["text"] and archived >= 1
    # The next turn goes on from the summary.
    fake_server.script(reply(text="fourth answer"))
    result = stoa(["-c", "-p", "go on"], stoa_env, workspace)
    assert result.returncode == 0 and result.stdout == "fourth answer\n"
    assert "FACT: ship on mondays" in json.dumps(fake_server.model_requests()[-1].body["messages"][0])


def test_compact_of_a_new_session_says_why_not(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    result = stoa(["-p", "/compact"], stoa_env, workspace)
    assert result.returncode == 1
    assert "nothing was compacted: the conversation is too short" in result.stderr
    assert fake_server.model_requests() == []


def test_context_from_the_shell(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    result = stoa(["-p", "/context", "-m", "claude-haiku-4-5"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Context of claude-haiku-4-5: about ") and "of 200,000 tokens" in lines[0]
    assert any(line.strip().startswith("System prompt: ") for line in lines)
    assert any(line.strip().startswith("Tool schemas (") for line in lines)
    assert any("Auto-compaction at 170k (85%)" in line for line in lines)
    # Anthropic's count endpoint counts the same request: no model request is sent.
    counted = [r for r in fake_server.requests if r.path == "/v1/messages/count_tokens"]
    assert len(counted) == 1 and counted[0].body["model"] == "claude-haiku-4-5" and counted[0].body["tools"]
    assert f"Counted by anthropic's count endpoint: {len(counted[0].raw_body) // 4:,} input tokens." in lines
    assert fake_server.model_requests() == []
    # An OpenAI model has no count endpoint: the estimate alone.
    result = stoa(["-p", "/context", "-m", "gpt-5.5"], stoa_env, workspace)
    assert result.returncode == 0 and "count endpoint" not in result.stdout


def test_purge_asks_then_deletes(stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    start_session(stoa_env, fake_server, workspace)
    assert stoa(["-c", "-p", "/compact"], stoa_env, workspace).returncode == 0
    asked = stoa(["-p", "/purge 1d"], stoa_env, workspace)
    assert asked.returncode == 0 and asked.stdout.startswith("Nothing to purge")  # younger than a day
    asked = stoa(["-p", "/purge"], stoa_env, workspace)
    assert asked.returncode == 0 and asked.stdout.startswith("Would delete ") and '"/purge yes"' in asked.stdout
    with sqlite3.connect(database(stoa_env)) as db:
        assert db.execute("SELECT COUNT(*) FROM rewound_messages").fetchone()[0] >= 1
    done = stoa(["-p", "/purge yes"], stoa_env, workspace)
    assert done.returncode == 0 and done.stdout.startswith("Deleted ")
    with sqlite3.connect(database(stoa_env)) as db:
        assert db.execute("SELECT COUNT(*) FROM rewound_messages").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM rewinds WHERE kind = 'compaction'").fetchone()[0] == 0
        # The summary stays in the conversation.
        first = db.execute("SELECT body FROM messages ORDER BY seq LIMIT 1").fetchone()[0]
    assert "FACT: ship on mondays" in first
    bad = stoa(["-p", "/purge soon"], stoa_env, workspace)
    assert bad.returncode == 2 and "not an age" in bad.stderr
