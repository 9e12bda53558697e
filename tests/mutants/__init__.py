"""Catalogues of plausible wrong solutions, one module per assignment.

Each module defines ASSIGNMENT and MUTANTS: a list of Mutant. A mutant replaces one exercise's solution cell with
a whole wrong implementation; grading it must cost that exercise points, and the feedback on that
exercise must contain `feedback` (a word that names the bug).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    exercise: str
    bug: str
    code: str
    feedback: str

    def __str__(self):
        return f"{self.exercise}: {self.bug}"


def variant(base: str, *changes: tuple[str, str]) -> str:
    """`base` with each (old, new) change made in turn, each old occurring exactly once: a solution
    that differs from a plain one in a few places, written as those differences."""
    for old, new in changes:
        assert base.count(old) == 1, f"{old!r} should occur exactly once"
        base = base.replace(old, new)
    return base
