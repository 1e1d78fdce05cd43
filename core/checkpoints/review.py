"""``/review``: a read-only review of the current changes, or of a ref or range.

``review_prompt`` builds the message the model gets: what is being reviewed, the files with
their line counts, the diff itself (cut at ``MAX_PROMPT_DIFF`` characters, with the command
that shows the rest), and how to report findings. The turn runs in plan mode (read-only tools
only), whatever the session's mode; the findings are the model's reply, in the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stoa.core.checkpoints.diffs import DiffError, DiffSection, ref_range, working_tree

# The most diff text the review prompt carries; the model reads the rest with tools.
MAX_PROMPT_DIFF = 60_000
REVIEW_MODE = "plan"

INSTRUCTIONS = """Review these code changes and report what you find. This is a read-only review: \
read files and run read-only commands as you need to understand the changes, and change \
nothing.

Report each finding on its own line as: severity (bug, risk, style or question), file:line, \
what is wrong, and what to do about it. Put the most serious first. Look for bugs, edge cases \
the code does not handle, security problems, missing tests, and code that does not match \
its surroundings. If the changes look right, say so in one or two sentences."""


class NothingToReview(Exception):
    """The diff is empty; the message says so."""


@dataclass(frozen=True)
class ReviewRequest:
    prompt: str
    # What the log shows instead of the whole prompt.
    display: str
    section: DiffSection


def parse_review_args(args: str) -> tuple[str | None, str]:
    """``[REF|A..B] [focus...]`` -> (spec or None, focus). The first word is a spec when it
    looks like one (has ``..``, ``~``, ``^``, ``@``) or names a ref; the caller checks it."""
    words = args.split(maxsplit=1)
    if not words:
        return None, ""
    return words[0], words[1] if len(words) > 1 else ""


def review_prompt(workspace: Path, args: str = "") -> ReviewRequest:
    """Raises ``DiffError`` (no repository, unknown ref) or ``NothingToReview``."""
    spec, focus = parse_review_args(args)
    if spec is not None:
        try:
            section = ref_range(workspace, spec)
        except DiffError as exc:
            if _looks_like_spec(spec):
                raise
            # Not a ref: the words are the focus of a review of the working tree.
            spec, focus = None, args.strip()
            section = working_tree(workspace)
            if not section.diff.strip():
                raise NothingToReview("nothing to review: the working tree has no changes against HEAD") from exc
    else:
        section = working_tree(workspace)
    if not section.diff.strip():
        what = f"{spec}" if spec else "the working tree (against HEAD)"
        raise NothingToReview(f"nothing to review: no changes in {what}")
    what = f"the changes of `git diff {spec}`" if spec else "the uncommitted changes of the working tree (git diff HEAD, untracked files included)"
    files = "\n".join(f"- {name} (+{added} -{removed})" for name, added, removed in section.files)
    diff = section.diff
    cut = ""
    if len(diff) > MAX_PROMPT_DIFF:
        diff = diff[:MAX_PROMPT_DIFF]
        shown = f"git diff {spec}" if spec else "git diff HEAD"
        cut = f"\n[the diff is cut here; run `{shown}` (read-only) to see the rest]"
    parts = [INSTRUCTIONS, f"\nYou are reviewing {what}.", f"\nFiles:\n{files}"]
    if focus:
        parts.append(f"\nThe user asks you to focus on: {focus}")
    parts.append(f"\n```diff\n{diff.rstrip()}\n```{cut}")
    display = "/review" + (f" {args.strip()}" if args.strip() else "")
    return ReviewRequest(prompt="\n".join(parts), display=display, section=section)


def _looks_like_spec(word: str) -> bool:
    return any(mark in word for mark in ("..", "~", "^", "@")) or (len(word) >= 7 and all(
        c in "0123456789abcdef" for c in word.lower()
    ))
