"""A second catalogue, independent of tests/mutants/: subtle edge-case bugs that the text's domain
exposes, and correct solutions written in unusual ways. One module per assignment.

Each module defines ASSIGNMENT, WRONG (a list of Wrong: must lose points on its exercise, with
feedback containing `feedback`) and CORRECT (a list of Correct: must keep full marks). Each
solution replaces the whole solution cell of its exercise.
"""
from dataclasses import dataclass

from tests.mutants import Mutant as Wrong  # noqa: F401  (the same fields: exercise, bug, code, feedback)
from tests.mutants import variant  # noqa: F401  (a solution written as its difference from a plain one)


@dataclass(frozen=True)
class Correct:
    exercise: str
    style: str
    code: str

    def __str__(self):
        return f"{self.exercise}: {self.style}"
