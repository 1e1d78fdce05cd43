"""Skills, in the Agent Skills layout: a folder ``NAME/`` holding ``SKILL.md`` (front matter
``name`` and ``description``, then the instructions) and any other files the skill uses.

Where they are read, first found wins for a name:

1. ``.stoa/skills/`` of the workspace, 2. ``.claude/skills/`` of the workspace,
3. ``skills/`` in the user's config folder (``~/.config/stoa/skills/``, or ``$STOA_HOME/skills/``),
4. ``~/.claude/skills/``.

Only names and descriptions go into the system prompt (``prompt_section``: one block that
changes only when the skills do, so the prompt stays cacheable); ``load_skill`` returns a skill's
instructions with its folder and files, and the policy lets the model read that folder without
asking (``allow_reading``). A broken skill (no ``SKILL.md``, unreadable, no description, front
matter that cannot be read) is listed by ``/skills`` with the error and is not offered.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stoa.core.front_matter import read_front_matter

if TYPE_CHECKING:
    from stoa.core.config import StoaConfig
    from stoa.core.permissions.policy import PermissionPolicy
    from stoa.core.runtime import Runtime

SKILL_FILE = "SKILL.md"
MAX_SKILL_BYTES = 256 * 1024
# Files of a skill listed by load_skill (the model reads them by path).
MAX_LISTED_FILES = 100
MAX_DESCRIPTION_CHARS = 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class Skill:
    name: str
    folder: Path
    source: str  # "project", "project (.claude)", "user", "user (.claude)"
    description: str = ""
    body: str = ""
    # Why the skill cannot be used: listed by /skills, never offered.
    error: str | None = None
    shown: str = ""

    @property
    def path(self) -> Path:
        return self.folder / SKILL_FILE


@dataclass
class Skills:
    skills: dict[str, Skill] = field(default_factory=dict)
    # Broken files, and skills that name one found earlier (shown by /skills, not offered).
    broken: list[Skill] = field(default_factory=list)
    shadowed: list[Skill] = field(default_factory=list)

    def get(self, name: str) -> Skill | None:
        return self.skills.get(name.strip())

    def usable(self) -> list[Skill]:
        return sorted(self.skills.values(), key=lambda s: s.name)


def skill_folders(workspace: Path, config_dir: Path, home: Path | None) -> list[tuple[Path, str]]:
    folders = [
        (workspace / ".stoa" / "skills", "project"),
        (workspace / ".claude" / "skills", "project (.claude)"),
        (config_dir / "skills", "user"),
    ]
    if home is not None:
        folders.append((home / ".claude" / "skills", "user (.claude)"))
    return folders


def load_skills(workspace: Path, config_dir: Path, home: Path | None) -> Skills:
    """Every skill of the folders above (a missing folder is no error)."""
    found = Skills()
    for folder, source in skill_folders(workspace, config_dir, home):
        if not folder.is_dir():
            continue
        try:
            entries = sorted(e for e in os.listdir(folder) if not e.startswith("."))
        except OSError:
            continue
        for entry in entries:
            path = folder / entry
            if not path.is_dir():
                continue
            skill = read_skill(path, source, _shown(path, workspace, home))
            if skill.error is not None:
                found.broken.append(skill)
            elif skill.name in found.skills:
                found.shadowed.append(skill)
            else:
                found.skills[skill.name] = skill
    return found


def skills_for(config: StoaConfig) -> Skills:
    home = config.env.get("HOME")
    return load_skills(config.workspace, config.paths.config_dir, Path(home) if home else None)


def _shown(folder: Path, workspace: Path, home: Path | None) -> str:
    for base, prefix in ((workspace, ""), (home, "~/")):
        if base is not None and folder.is_relative_to(base):
            return prefix + str(folder.relative_to(base))
    return str(folder)


def read_skill(folder: Path, source: str, shown: str = "") -> Skill:
    """One skill folder; never raises (a problem is the skill's ``error``)."""
    where = f"{shown or folder}/{SKILL_FILE}"
    name = folder.name

    def broken(text: str) -> Skill:
        return Skill(name, folder, source, error=f"{where}: {text}", shown=shown)

    path = folder / SKILL_FILE
    if not path.is_file():
        return broken(f"missing: a skill is a folder with a {SKILL_FILE} file")
    try:
        meta, body = read_front_matter(
            path, MAX_SKILL_BYTES, "keep SKILL.md short and put details in other files"
        )
    except ValueError as exc:
        return broken(str(exc))
    name = meta.get("name", "").strip() or folder.name
    if not _NAME.match(name):
        return broken(f"the name {name!r} cannot be a skill's; use letters, digits, '-', '_' or '.' (at most 64)")
    description = " ".join(meta.get("description", "").split())
    if not description:
        return Skill(
            name, folder, source, error=f"{where}: no description in the front matter: add 'description: what it "
            "is for and when to use it'", shown=shown,
        )
    if len(description) > MAX_DESCRIPTION_CHARS:
        description = description[: MAX_DESCRIPTION_CHARS - 1] + "…"
    return Skill(name, folder, source, description=description, body=body.strip("\n"), shown=shown)


def prompt_section(skills: Skills) -> tuple[str, str] | None:
    """The system prompt's skills block (names and descriptions only), or None without skills."""
    usable = skills.usable()
    if not usable:
        return None
    lines = [
        "Skills are instructions for particular tasks, loaded on demand. When a task matches a "
        "skill's description, call load_skill with its name before you start, then follow it.",
    ]
    lines += [f"- {s.name}: {s.description}" for s in usable]
    return "skills", "\n".join(lines)


def allow_reading(skills: Skills, policy: PermissionPolicy) -> None:
    """The model may read every usable skill's folder without asking (its scripts, references)."""
    for skill in skills.usable():
        folder = str(skill.folder.resolve())
        if any(c in folder for c in "*?[]()"):
            continue  # not expressible as a rule; reading there asks as usual
        try:
            policy.allow(f"Read({folder}/**)")
        except Exception:  # a malformed rule is only a lost convenience
            continue


def listing(skills: Skills) -> list[str]:
    """``/skills``: every skill with where it comes from, then the broken ones with their errors."""
    out: list[str] = []
    for skill in skills.usable():
        out.append(f"{skill.name} ({skill.source}, {skill.shown}): {skill.description}")
    for skill in skills.shadowed:
        out.append(f"{skill.name} ({skill.source}, {skill.shown}): not used, a skill of that name was found first")
    for skill in skills.broken:
        out.append(f"⚠ {skill.name} ({skill.source}): {skill.error}")
    if not out:
        out.append(
            "No skills. Add one as .stoa/skills/NAME/SKILL.md (front matter 'name' and 'description', "
            "then the instructions), or under ~/.config/stoa/skills/."
        )
    return out


def skill_files(folder: Path) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file in sorted(files):
            if file.startswith(".") or (Path(root) == folder and file == SKILL_FILE):
                continue
            found.append(str((Path(root) / file).relative_to(folder)))
            if len(found) > MAX_LISTED_FILES:
                return found
    return found


def attach_skills(runtime: Runtime) -> Skills:
    """(Re)read the skills and give them to the runtime: the prompt's skills block (first of the
    extra sections, so what follows it stays cacheable), the load_skill tool (offered only while
    there is a skill), reading of their folders without asking. Called at start-up and by /skills."""
    from stoa.core.tools.skill import LoadSkill

    skills = skills_for(runtime.config)
    runtime.skills = skills
    sections = runtime.prompt_sections
    sections[:] = [s for s in sections if s[0] != "skills"]
    section = prompt_section(skills)
    if section is not None:
        sections.insert(0, section)
    if skills.usable():
        runtime.registry.register(LoadSkill(skills), replace=True)
        allow_reading(skills, runtime.policy)
    else:
        runtime.registry.unregister(LoadSkill.name)
    return skills
