"""``core.diffs.diff_sides``: the old and new text of a unified diff, from the file's text on
either side (ACP shows edits as old and new text; the tools report unified diffs)."""

from __future__ import annotations

import random

import pytest

from stoa.core.diffs import diff_sides, unified_diff

CASES = [
    ("a\nb\nc\n", "a\nB\nc\n"),
    ("a\nb\nc", "a\nb\nc\nd"),  # no newline at the end, before and after
    ("a\nb\nc\n", "a\nb\nc"),  # the last newline removed
    ("", "new file\n"),
    ("gone\n", ""),
    ("\n".join(f"line {i}" for i in range(60)) + "\n", "\n".join(f"line {i}" for i in range(60) if i % 17) + "\nend\n"),
]


@pytest.mark.parametrize(("old", "new"), CASES)
def test_both_sides_come_back_from_either_side(old: str, new: str) -> None:
    diff = unified_diff(old, new, "f.txt")
    expected_old = None if not old else old
    assert diff_sides(diff, new, applied=True) == (expected_old, new)
    assert diff_sides(diff, old, applied=False) == (expected_old, new)


def test_random_edits_round_trip() -> None:
    rng = random.Random(20)
    for _ in range(200):
        old_lines = [f"{rng.choice('abc')}{i}\n" for i in range(rng.randint(1, 40))]
        new_lines = list(old_lines)
        for _ in range(rng.randint(1, 5)):
            at = rng.randrange(len(new_lines) + 1)
            if rng.random() < 0.5 and at < len(new_lines):
                del new_lines[at]
            else:
                new_lines.insert(at, f"new {rng.random():.3f}\n")
        old, new = "".join(old_lines), "".join(new_lines)
        diff = unified_diff(old, new, "f.txt")
        if not diff:
            continue
        assert diff_sides(diff, new, applied=True) == (old, new)


def test_a_file_that_changed_since_gives_the_changed_parts_only() -> None:
    diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", "f.txt")
    old, new = diff_sides(diff, "something else entirely\n", applied=True) or (None, "")
    assert old == "a\nb\nc\n" and new == "a\nB\nc\n"  # the hunk, with its context
    assert diff_sides(diff, None, applied=True) == ("a\nb\nc\n", "a\nB\nc\n")


def test_not_a_diff() -> None:
    assert diff_sides("just text\n", "x", applied=True) is None
