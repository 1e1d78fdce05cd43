"""load_skill: a skill's instructions by name (the skills themselves: ``core/skills.py``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from stoa.core.skills import MAX_LISTED_FILES, Skills, read_skill, skill_files
from stoa.core.tools.base import ARGS_CONFIG, Effect, Tool, ToolContext, ToolError, ToolOutput


class LoadSkillArgs(BaseModel):
    model_config = ARGS_CONFIG

    name: str = Field(description="The skill's name, as the system prompt lists it.", min_length=1)


class LoadSkill(Tool):
    name = "load_skill"
    description = (
        "Load a skill's instructions by name (the system prompt lists the skills with their "
        "descriptions). Returns the instructions, the skill's folder and its other files, which "
        "you can read with read_file by path."
    )
    Args = LoadSkillArgs
    effect = Effect.NONE

    def __init__(self, skills: Skills | None = None) -> None:
        self.skills = skills or Skills()

    def summary(self, args: BaseModel) -> str:
        return str(getattr(args, "name", ""))

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        assert isinstance(args, LoadSkillArgs)
        skill = self.skills.get(args.name)
        if skill is None:
            broken = next((s for s in self.skills.broken if s.name == args.name.strip()), None)
            if broken is not None:
                raise ToolError(f"the skill {broken.name!r} cannot be loaded: {broken.error}")
            names = ", ".join(s.name for s in self.skills.usable()) or "none"
            raise ToolError(f"there is no skill {args.name!r}; the skills are: {names}")
        # Read again: the file may have been edited since Stoa started.
        fresh = read_skill(skill.folder, skill.source, skill.shown)
        if fresh.error is not None:
            raise ToolError(f"the skill {skill.name!r} cannot be loaded now: {fresh.error}")
        files = skill_files(skill.folder)
        parts = [f'<skill name="{skill.name}" folder="{skill.folder}">', fresh.body, "</skill>"]
        if files:
            listed = files[:MAX_LISTED_FILES]
            more = "\n(and more; list the folder with list_directory)" if len(files) > MAX_LISTED_FILES else ""
            parts.append(
                f"Files of this skill (read them by path under {skill.folder}):\n"
                + "\n".join(f"- {f}" for f in listed)
                + more
            )
        return ToolOutput.text("\n".join(parts))
