"""Memory from the shell and through the loop: ``stoa -p "# note"`` appends to the memory file
(no model request), ``[memory] scope`` chooses the file, a file that cannot be written is named
with the reason and the note given back; the ``remember`` tool writes as a mutation the policy
judges (auto writes the project file, ask mode asks, personal and global files ask even in auto,
plan mode does not offer it); import
warnings reach stderr. The real CLI in subprocesses; only the model is the fake server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fake_server import FakeServer, reply, tool_call
from tests.integration.test_headless import stoa, workspace  # noqa: F401  (fixture)


def test_a_hash_message_is_saved_to_the_project_file_without_a_model_request(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path  # noqa: F811
) -> None:
    (workspace / "AGENTS.md").write_text("# Rules\nUse tabs.")  # no final newline
    result = stoa(["-p", "# Run the tests with make check"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Saved to AGENTS.md (project memory):\n- Run the tests with make check\n"
    assert (workspace / "AGENTS.md").read_text() == "# Rules\nUse tabs.\n- Run the tests with make check\n"
    assert fake_server.model_requests() == []
    # The next run's system prompt carries it.
    fake_server.script(reply(text="ok"))
    assert stoa(["-p", "hi"], stoa_env, workspace).returncode == 0
    assert "- Run the tests with make check" in fake_server.model_requests()[0].system


def test_a_heading_is_a_message_not_a_memory(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:  # noqa: F811
    fake_server.script(reply(text="Nice heading."))
    result = stoa(["-p", "## Bug report\nit crashes"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert "## Bug report" in fake_server.model_requests()[0].user_texts[-1]
    assert not (workspace / "AGENTS.md").exists()


def test_the_config_chooses_the_file_and_json_says_where(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path  # noqa: F811
) -> None:
    (workspace / ".stoa").mkdir()
    (workspace / ".stoa" / "config.local.toml").write_text('[memory]\nscope = "personal"\n')
    result = stoa(["-p", "#I like short answers", "--output-format", "json"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["success"] is True and data["scope"] == "personal" and data["file"] == ".stoa/instructions.md"
    assert (workspace / ".stoa" / "instructions.md").read_text() == "- I like short answers\n"
    assert "instructions.md" in (workspace / ".stoa" / ".gitignore").read_text()
    Path(stoa_env["STOA_HOME"], "config.toml").write_text('[memory]\nscope = "global"\n')
    (workspace / ".stoa" / "config.local.toml").unlink()
    result = stoa(["-p", "# Answer in British English"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert Path(stoa_env["STOA_HOME"], "AGENTS.md").read_text() == "- Answer in British English\n"


def test_a_bad_scope_is_a_warning_and_the_default_applies(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path  # noqa: F811
) -> None:
    (workspace / ".stoa").mkdir()
    (workspace / ".stoa" / "config.toml").write_text('[memory]\nscope = "team"\n')
    result = stoa(["-p", "# note"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert "[memory] scope = 'team' is not one of project, personal, global" in result.stderr
    assert (workspace / "AGENTS.md").read_text() == "- note\n"


def test_a_file_that_cannot_be_written_is_named_and_the_note_given_back(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path  # noqa: F811
) -> None:
    (workspace / "AGENTS.md").mkdir()  # a folder where the file should be
    result = stoa(["-p", "# keep this\nand this line"], stoa_env, workspace)
    assert result.returncode == 1
    assert f"cannot write AGENTS.md ({workspace / 'AGENTS.md'}): it is a folder, not a file" in result.stderr
    assert result.stderr.endswith("the note was not saved:\nkeep this\nand this line\n")
    result = stoa(["-p", "#mine", "--output-format", "json"], stoa_env, workspace)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["success"] is False and data["note"] == "mine" and "folder" in data["error"]
    assert fake_server.model_requests() == []


def test_import_warnings_reach_stderr(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:  # noqa: F811
    (workspace / "AGENTS.md").write_text("Style: @docs/missing.md\n")
    fake_server.script(reply(text="ok"))
    result = stoa(["-p", "hi"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert "warning: AGENTS.md:1: @docs/missing.md: no such file; not imported" in result.stderr


# ---- the remember tool ----------------------------------------------------------------------------


def test_remember_writes_in_auto_mode_and_shows_what_it_wrote(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path  # noqa: F811
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("remember", {"note": "Use pnpm, not npm"})]),
        reply(tool_calls=[tool_call("remember", {"note": "I prefer terse replies", "scope": "personal"})]),
        reply(text="Noted."),
    )
    result = stoa(["-p", "remember: pnpm; and that I like terse replies"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert (workspace / "AGENTS.md").read_text() == "- Use pnpm, not npm\n"
    results = fake_server.model_requests()[2].tool_results
    assert results[0].text == "Saved to AGENTS.md (project memory):\n- Use pnpm, not npm"
    # .stoa/ holds Stoa's own settings: a write there always asks (headless: refused).
    assert not (workspace / ".stoa" / "instructions.md").exists()
    assert "changes Stoa's own settings" in results[1].text and results[1].is_error
    assert "remember" in fake_server.model_requests()[0].tool_names


def test_remember_asks_in_ask_mode_and_for_the_global_file(
    stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path  # noqa: F811
) -> None:
    fake_server.script(
        reply(tool_calls=[tool_call("remember", {"note": "project note"})]),
        reply(text="Could not."),
    )
    result = stoa(["--mode", "ask", "-p", "remember it"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert not (workspace / "AGENTS.md").exists()
    assert fake_server.model_requests()[1].tool_results[0].is_error
    fake_server.script(
        reply(tool_calls=[tool_call("remember", {"note": "global note", "scope": "global"})]),
        reply(text="Could not."),
    )
    result = stoa(["-p", "remember it everywhere"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert not Path(stoa_env["STOA_HOME"], "AGENTS.md").exists()
    refusal = fake_server.model_requests()[3].tool_results[0].text
    assert "outside the workspace" in refusal
    fake_server.script(reply(text="plan"))
    assert stoa(["--mode", "plan", "-p", "plan it"], stoa_env, workspace).returncode == 0
    assert "remember" not in fake_server.model_requests()[4].tool_names


# ---- /memory and /init from the shell ---------------------------------------------------------------


def test_memory_lists_the_files_from_the_shell(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:  # noqa: F811
    (workspace / "AGENTS.md").write_text("# Rules\nSee @docs/style.md and @docs/gone.md\n")
    (workspace / "docs").mkdir()
    (workspace / "docs" / "style.md").write_text("Four spaces.\n")
    result = stoa(["-p", "/memory"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["project", "AGENTS.md", "2", "lines", "·", "shared", "with", "the", "project",
                                "(commit", "it)", "(default)"]
    assert ".stoa/instructions.md  not created yet" in lines[2]
    assert "global" in lines[3] and "AGENTS.md" in lines[3]
    assert "Also in the system prompt:" in result.stdout and "docs/style.md  1 line" in result.stdout
    assert "warning: AGENTS.md:2: @docs/gone.md: no such file" in result.stdout
    assert fake_server.model_requests() == []


def test_init_from_the_shell_writes_agents_md(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:  # noqa: F811
    fake_server.script(
        reply(tool_calls=[tool_call("read_file", {"path": "README.md"})]),
        reply(tool_calls=[tool_call("write_file", {"path": "AGENTS.md", "content": "# Demo\n\nRun: `python demo.py`\n"})]),
        reply(text="Wrote AGENTS.md."),
    )
    result = stoa(["-p", "/init"], stoa_env, workspace)
    assert result.returncode == 0, result.stderr
    assert (workspace / "AGENTS.md").read_text() == "# Demo\n\nRun: `python demo.py`\n"
    # The reply, then what happened to the file, as a diff.
    assert result.stdout.startswith("Wrote AGENTS.md.\nAGENTS.md created (+3 -0 lines):\n")
    assert "+Run: `python demo.py`" in result.stdout
    first = fake_server.model_requests()[0]
    assert "Study this repository and write AGENTS.md" in first.user_texts[-1]
    assert "There is no AGENTS.md yet" in first.user_texts[-1]
    # Again, with the file there: the prompt asks to improve it.
    fake_server.script(reply(text="It is fine."))
    again = stoa(["-p", "/init", "--output-format", "json"], stoa_env, workspace)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["command_output"] == "AGENTS.md: unchanged"
    assert "AGENTS.md exists already: read it first and improve it" in fake_server.model_requests()[3].user_texts[-1]


def test_the_same_note_twice_is_saved_once(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:  # noqa: F811
    assert stoa(["-p", "# Use uv"], stoa_env, workspace).returncode == 0
    again = stoa(["-p", "# Use uv"], stoa_env, workspace)
    assert again.returncode == 0 and again.stdout.startswith("Already in AGENTS.md (project memory):")
    assert (workspace / "AGENTS.md").read_text() == "- Use uv\n"


def test_piped_documents_and_code_are_messages(stoa_env: dict[str, str], fake_server: FakeServer, workspace: Path) -> None:  # noqa: F811
    fake_server.script(reply(text="A note file."), reply(text="A C question."), reply(text="A review."))
    assert stoa(["-p", "-"], stoa_env, workspace, stdin="# Notes\n\nSome text.\n").returncode == 0
    assert stoa(["-p", "#include <stdio.h> is missing?"], stoa_env, workspace).returncode == 0
    assert stoa(["-p", "# review this"], stoa_env, workspace, stdin="diff --git a b\n").returncode == 0
    assert len(fake_server.model_requests()) == 3
    assert not (workspace / "AGENTS.md").exists()
