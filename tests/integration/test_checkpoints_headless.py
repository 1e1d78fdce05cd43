"""Checkpoints from the shell: turns that create, edit, move and delete files through the
file tools and through shell commands, then ``stoa -c -p "/undo"`` (no model request) puts the
files back, in a later process; ``/rewind`` and ``/diff`` from the shell too.

Everything is real (the stoa CLI in subprocesses, files, git, SQLite); only the model is the
fake provider server.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.test_headless import stoa

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="checkpoints need git (apt-get install git)")


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (but .git, and the empty .stoa the sandbox makes) with its
    content; folders end with '/'."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/") or (rel == ".stoa" and not any(path.iterdir())):
            continue
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_dir():
            out[rel + "/"] = ""
        else:
            out[rel] = path.read_text(errors="replace")
    return out


@pytest.fixture
def stoa_env(stoa_env: dict[str, str]) -> dict[str, str]:
    """Shell commands may do anything but the forbidden tier (headless cannot approve them)."""
    Path(stoa_env["STOA_HOME"], "config.toml").write_text('[permissions]\nallow = ["Bash"]\n')
    return stoa_env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "README.md").write_text("# Demo\n")
    (ws / "app.py").write_text("print('hello')\n")
    (ws / "old.txt").write_text("old content\n")
    (ws / "docs").mkdir()
    (ws / "docs" / "guide.md").write_text("guide\n")
    return ws


def git_init(ws: Path) -> None:
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start"]):
        subprocess.run(["git", *args], cwd=ws, check=True, capture_output=True)


def mixed_turn(server: FakeServer) -> None:
    """One turn: create, edit, move (tools), then edit, create, delete, move (shell)."""
    server.script(
        reply(
            tool_calls=[
                tool_call("write_file", {"path": "new/module.py", "content": "X = 1\n"}),
                tool_call("edit_file", {"path": "app.py", "old_string": "hello", "new_string": "goodbye"}),
                tool_call("move_file", {"source": "docs/guide.md", "destination": "docs/manual.md"}),
            ]
        ),
        reply(
            tool_calls=[
                tool_call(
                    "execute_bash",
                    {
                        "command": "mkdir -p build && echo built > build/out.txt && mv old.txt renamed.txt "
                        "&& echo more >> README.md && rm docs/manual.md && chmod +x app.py && ln -s app.py run"
                    },
                )
            ]
        ),
        reply(text="Done."),
    )


@pytest.mark.parametrize("in_git", [True, False], ids=["git-repo", "no-git"])
def test_undo_from_the_shell_restores_a_turn_of_tools_and_shell_commands(
    stoa_env: dict[str, str], fake_server: FakeServer, project: Path, in_git: bool
) -> None:
    if in_git:
        git_init(project)
    before = tree(project)
    mixed_turn(fake_server)
    result = stoa(["-p", "change things"], stoa_env, project)
    assert result.returncode == 0, result.stderr
    changed = tree(project)
    assert "build/out.txt" in changed, result.stderr
    assert changed["app.py"] == "print('goodbye')\n" and "docs/manual.md" not in changed and "new/module.py" in changed
    assert changed["build/out.txt"] == "built\n" and "renamed.txt" in changed and "old.txt" not in changed
    requests = len(fake_server.model_requests())

    undo = stoa(["-c", "-p", "/undo"], stoa_env, project)
    assert undo.returncode == 0, undo.stderr
    assert len(fake_server.model_requests()) == requests  # no model request
    assert tree(project) == before
    assert not os.access(project / "app.py", os.X_OK)
    assert "Undid the file changes of turn 1" in undo.stdout
    assert "app.py: restored" in undo.stdout and "old.txt: recreated" in undo.stdout

    again = stoa(["-c", "-p", "/undo"], stoa_env, project)
    assert again.returncode == 0, again.stderr
    assert "Nothing to undo" in again.stdout and "already undone" in again.stdout


def test_the_model_hears_of_an_undo_with_the_next_message(
    stoa_env: dict[str, str], fake_server: FakeServer, project: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("edit_file", {"path": "app.py", "old_string": "hello", "new_string": "bye"})]),
        reply(text="Changed it to bye."),
        reply(text="It prints hello again."),
    )
    assert stoa(["-p", "say bye"], stoa_env, project).returncode == 0
    undo = stoa(["-c", "-p", "/undo"], stoa_env, project)
    assert undo.returncode == 0, undo.stderr
    later = stoa(["-c", "-p", "what does app.py print now?"], stoa_env, project)
    assert later.returncode == 0, later.stderr
    last = fake_server.model_requests()[-1]
    (told,) = [t for t in last.user_texts if "[Stoa: the person used /undo." in t]
    assert "app.py: restored" in told and told.count("[Stoa:") == 1, last.user_texts
    # With the person's next message (one user message: the protocol holds), before their words.
    assert told.index("[Stoa:") < told.index("what does app.py print now?")
    assert last.body["messages"][-1]["role"] == "user" and last.body["messages"][-2]["role"] == "assistant"
    # The note is Stoa's: kept in the saved conversation, never in the log as the person's words.
    with sqlite3.connect(Path(stoa_env["STOA_HOME"]) / "data" / "sessions.db") as db:
        bodies = [row[0] for row in db.execute("SELECT body FROM messages")]
        shown = [json.loads(row[0])["text"] for row in db.execute("SELECT data FROM records WHERE kind = 'user'")]
    assert sum("[Stoa: the person used /undo." in body for body in bodies) == 1
    assert shown == ["say bye", "what does app.py print now?"], shown


def test_a_turn_with_no_changes_has_nothing_to_undo(
    stoa_env: dict[str, str], fake_server: FakeServer, project: Path
) -> None:
    fake_server.script(reply(tool_calls=[tool_call("read_file", {"path": "app.py"})]), reply(text="It prints hello."))
    assert stoa(["-p", "what does it print?"], stoa_env, project).returncode == 0
    undo = stoa(["-c", "-p", "/undo"], stoa_env, project)
    assert undo.returncode == 0, undo.stderr
    assert "Nothing to undo: turn 1 changed no files." in undo.stdout
    # A turn that changed nothing never made a shadow repository (no git run, nothing on disk).
    assert not (Path(stoa_env["STOA_HOME"]) / "data" / "checkpoints").exists()


def test_undo_goes_back_one_turn_at_a_time_and_refuses_a_file_changed_since(
    stoa_env: dict[str, str], fake_server: FakeServer, project: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "a.txt", "content": "first\n"})]),
        reply(text="one"),
        reply(tool_calls=[tool_call("edit_file", {"path": "a.txt", "old_string": "first", "new_string": "second"})]),
        reply(text="two"),
    )
    assert stoa(["-p", "make a"], stoa_env, project).returncode == 0
    assert stoa(["-c", "-p", "change a"], stoa_env, project).returncode == 0
    (project / "a.txt").write_text("edited by me\n")  # someone else changes it meanwhile

    refused = stoa(["-c", "-p", "/undo"], stoa_env, project)
    assert refused.returncode == 1
    assert "a.txt: changed after the turn" in refused.stderr and "/undo overwrite" in refused.stderr
    assert (project / "a.txt").read_text() == "edited by me\n"

    skipped = stoa(["-c", "-p", "/undo skip"], stoa_env, project)
    assert skipped.returncode == 0, skipped.stderr
    assert (project / "a.txt").read_text() == "edited by me\n"
    assert "a.txt: changed after the turn" in skipped.stdout

    # Turn 2 counts as undone; the next /undo is turn 1, which made the file ("first"): it
    # holds "edited by me", a conflict again, overwritten on request.
    forced = stoa(["-c", "-p", "/undo overwrite"], stoa_env, project)
    assert forced.returncode == 0, forced.stderr
    assert not (project / "a.txt").exists()
    assert "a.txt: removed" in forced.stdout


def test_undo_across_a_file_that_became_a_folder_and_a_file_deleted_meanwhile(
    stoa_env: dict[str, str], fake_server: FakeServer, project: Path
) -> None:
    fake_server.script(
        reply(
            tool_calls=[
                tool_call("edit_file", {"path": "app.py", "old_string": "hello", "new_string": "bye"}),
                tool_call("write_file", {"path": "old.txt", "content": "rewritten\n"}),
                tool_call("write_file", {"path": "notes.txt", "content": "n\n"}),
            ]
        ),
        reply(text="ok"),
    )
    assert stoa(["-p", "go"], stoa_env, project).returncode == 0
    (project / "app.py").unlink()
    (project / "app.py").mkdir()
    (project / "app.py" / "inside.txt").write_text("mine\n")
    (project / "old.txt").unlink()  # a file the turn changed, deleted by the user meanwhile
    (project / "notes.txt").unlink()  # one the turn made: undoing it is deleting it, already done

    refused = stoa(["-c", "-p", "/undo"], stoa_env, project)
    assert refused.returncode == 1
    assert "app.py: now a folder (the turn left a file there)" in refused.stderr
    assert "old.txt: deleted after the turn" in refused.stderr
    assert "notes.txt" not in refused.stderr

    forced = stoa(["-c", "-p", "/undo overwrite"], stoa_env, project)
    # The folder holds a file the turn did not make: it is kept, and said so.
    assert forced.returncode == 1
    assert (project / "app.py" / "inside.txt").read_text() == "mine\n"
    assert "app.py: a folder that still holds files the turn did not make" in forced.stdout
    assert (project / "old.txt").read_text() == "old content\n"
    assert "old.txt: recreated" in forced.stdout


def test_rewind_and_diff_from_the_shell(stoa_env: dict[str, str], fake_server: FakeServer, project: Path) -> None:
    git_init(project)
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "one.txt", "content": "1\n"})]),
        reply(text="made one"),
        reply(tool_calls=[tool_call("write_file", {"path": "two.txt", "content": "2\n"})]),
        reply(text="made two"),
        reply(text="after the rewind"),
    )
    assert stoa(["-p", "make one"], stoa_env, project).returncode == 0
    assert stoa(["-c", "-p", "make two"], stoa_env, project).returncode == 0

    diff = stoa(["-c", "-p", "/diff"], stoa_env, project)
    assert diff.returncode == 0, diff.stderr
    assert "+++ b/one.txt" in diff.stdout and "+++ b/two.txt" in diff.stdout
    assert "Turn 1 · “make one”" in diff.stdout and "Turn 2 · “make two”" in diff.stdout

    listing = stoa(["-c", "-p", "/rewind"], stoa_env, project)
    assert "1  make one" in listing.stdout and "2  make two" in listing.stdout

    rewind = stoa(["-c", "-p", "/rewind 2 both", "--output-format", "json"], stoa_env, project)
    assert rewind.returncode == 0, rewind.stderr
    payload = json.loads(rewind.stdout)
    assert payload["success"] and "back to before message 2" in payload["response"]
    assert (project / "one.txt").exists() and not (project / "two.txt").exists()

    # The next turn continues from before "make two": the request holds no trace of it.
    assert stoa(["-c", "-p", "and now?"], stoa_env, project).returncode == 0
    body = json.dumps(fake_server.model_requests()[-1].json)
    assert "make one" in body and "make two" not in body and "made two" not in body
    assert "[Stoa:" not in body  # both went back: there is nothing to tell the model


def test_a_conversation_only_rewind_tells_the_model_which_changes_stayed(
    stoa_env: dict[str, str], fake_server: FakeServer, project: Path
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("write_file", {"path": "one.txt", "content": "1\n"})]),
        reply(text="made one"),
        reply(tool_calls=[
            tool_call("write_file", {"path": "two.txt", "content": "2\n"}),
            tool_call("edit_file", {"path": "app.py", "old_string": "hello", "new_string": "bye"}),
        ]),
        reply(text="made two"),
        reply(text="after the rewind"),
    )
    assert stoa(["-p", "make one"], stoa_env, project).returncode == 0
    assert stoa(["-c", "-p", "make two"], stoa_env, project).returncode == 0
    rewind = stoa(["-c", "-p", "/rewind 2 conversation"], stoa_env, project)
    assert rewind.returncode == 0, rewind.stderr
    assert (project / "two.txt").exists()  # the files stay as they are
    assert stoa(["-c", "-p", "and now?"], stoa_env, project).returncode == 0
    last = fake_server.model_requests()[-1]
    body = json.dumps(last.json)
    assert "make two" not in body and "made two" not in body
    (told,) = [t for t in last.user_texts if "[Stoa: the person rewound the conversation but kept the files" in t]
    assert "two.txt (created)" in told and "app.py (changed)" in told and "one.txt" not in told
    assert told.index("[Stoa:") < told.index("and now?")
