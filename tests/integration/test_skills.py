"""Skills from files that are not part of Stoa: project (.stoa/skills, .claude/skills) and user
folders, front matter as other tools write it (block descriptions, nested metadata), broken
ones listed with their errors. Through the real CLI against the fake server: only names and
descriptions reach the system prompt, load_skill returns the body and the files, a skill's file
outside the workspace is readable without a question, a missing skill is a clear tool error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stoa.core.skills import load_skills, read_skill
from tests.fake_server import FakeServer, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]
BODY = "Step 1: run the linter with --strict.\nStep 2: never touch generated files."


def stoa(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STOA, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def project(tmp_path: Path, stoa_env: dict[str, str]) -> Path:
    ws = tmp_path / "project"
    lint = ws / ".stoa" / "skills" / "lint"
    lint.mkdir(parents=True)
    (lint / "SKILL.md").write_text(f"---\nname: lint\ndescription: How to lint this repo\n---\n{BODY}\n")
    (lint / "scripts").mkdir()
    (lint / "scripts" / "check.sh").write_text("echo ok\n")
    claude = ws / ".claude" / "skills" / "release"
    claude.mkdir(parents=True)
    (claude / "SKILL.md").write_text(
        "---\nname: release\ndescription: >\n  Cut a release:\n  tags and notes.\nlicense: MIT\n"
        "metadata:\n  author: someone\n  version: \"1.0\"\n---\nTag it.\n"
    )
    broken = ws / ".stoa" / "skills" / "broken"
    broken.mkdir(parents=True)
    (broken / "SKILL.md").write_text("---\nname: broken\n---\nNo description.\n")
    (ws / ".stoa" / "skills" / "empty").mkdir()
    user = Path(stoa_env["HOME"]) / ".claude" / "skills" / "pdf"
    (user / "reference").mkdir(parents=True)
    (user / "SKILL.md").write_text("---\nname: pdf\ndescription: 'Fill PDF forms'\n---\nSee reference/forms.md.\n")
    (user / "reference" / "forms.md").write_text("FORMS-REFERENCE-TEXT\n")
    return ws


def test_reading_skills_as_other_tools_write_them(project: Path, stoa_env: dict[str, str]) -> None:
    home = Path(stoa_env["HOME"])
    skills = load_skills(project, home / "no-config", home)
    assert [s.name for s in skills.usable()] == ["lint", "pdf", "release"]
    assert skills.get("release").description == "Cut a release: tags and notes."  # type: ignore[union-attr]
    errors = sorted(s.error or "" for s in skills.broken)
    assert "no description" in errors[0] and ".stoa/skills/broken/SKILL.md" in errors[0]
    assert "missing" in errors[1] and ".stoa/skills/empty/SKILL.md" in errors[1]
    unclosed = project / "unclosed"
    unclosed.mkdir()
    (unclosed / "SKILL.md").write_text("---\nname: x\ndescription: y\n")
    assert "not closed" in (read_skill(unclosed, "project").error or "")


def test_the_model_sees_descriptions_loads_a_skill_and_reads_its_files(
    project: Path, stoa_env: dict[str, str], fake_server: FakeServer
) -> None:
    forms = Path(stoa_env["HOME"]) / ".claude" / "skills" / "pdf" / "reference" / "forms.md"
    fake_server.script(
        reply(tool_calls=[tool_call("load_skill", {"name": "lint"}), tool_call("load_skill", {"name": "nope"})]),
        reply(tool_calls=[tool_call("read_file", {"path": str(forms)})]),
        reply(text="Done."),
    )
    result = stoa(["-p", "lint the repo"], stoa_env, project)
    assert result.returncode == 0, result.stderr
    first, second, third = fake_server.model_requests()
    assert "- lint: How to lint this repo" in first.system
    assert "- pdf: Fill PDF forms" in first.system and "broken" not in first.system
    assert "Step 1" not in first.system  # bodies are loaded on demand only
    assert "load_skill" in first.tool_names
    loaded, missing = second.tool_results
    assert BODY in loaded.text and "scripts/check.sh" in loaded.text and not loaded.is_error
    assert missing.is_error and "there is no skill 'nope'; the skills are: lint, pdf, release" in missing.text
    read = third.tool_results[-1]
    assert "FORMS-REFERENCE-TEXT" in read.text and not read.is_error


def test_skills_command_lists_broken_files_with_their_errors(project: Path, stoa_env: dict[str, str]) -> None:
    result = stoa(["-p", "/skills"], stoa_env, project)
    assert result.returncode == 0, result.stderr
    assert "lint (project, .stoa/skills/lint): How to lint this repo" in result.stdout
    assert "pdf (user (.claude), ~/.claude/skills/pdf): Fill PDF forms" in result.stdout
    assert "⚠ broken (project): .stoa/skills/broken/SKILL.md: no description" in result.stdout
    assert "⚠ empty (project): .stoa/skills/empty/SKILL.md: missing" in result.stdout
    as_json = stoa(["-p", "/skills", "--output-format", "json"], stoa_env, project)
    assert "release" in json.loads(as_json.stdout)["response"]


def test_no_skills_no_tool(tmp_path: Path, stoa_env: dict[str, str], fake_server: FakeServer) -> None:
    ws = tmp_path / "bare"
    ws.mkdir()
    fake_server.script(reply(text="hi"))
    assert stoa(["-p", "hello"], stoa_env, ws).returncode == 0
    request = fake_server.model_requests()[0]
    assert "load_skill" not in request.tool_names and "Skills are instructions" not in request.system
