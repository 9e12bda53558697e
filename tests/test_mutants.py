"""Every mutant loses points on its exercise, and the feedback names its bug."""
import re
from pathlib import Path

import pytest

import tests.mutants
from autograder.grade import grade_notebook
from autograder.report import as_table, exercise_feedback
from tests.catalogue_grading import catalogue_modules, graded_together
from tests.notebooks import load, solution_cell, write

CATALOGUES = {module.ASSIGNMENT: module for module in catalogue_modules(tests.mutants)}
CASES = [graded_together(assignment, f"{assignment}/{mutant}", mutant)
         for assignment, module in CATALOGUES.items() for mutant in module.MUTANTS]


@pytest.mark.parametrize("assignment, mutant", CASES)
def test_mutant_loses_points_with_named_bug(assignment, mutant, catalogue):
    exercise = catalogue.result(assignment, mutant)
    assert exercise.points < exercise.max_points, f"{mutant} scored full marks"
    feedback = exercise_feedback(exercise)  # what the learner reads: the lead failure in full, the rest short
    assert mutant.feedback.lower() in feedback.lower(), f"{mutant}: the feedback does not name the bug: {feedback}"


def test_every_exercise_has_at_least_five_mutants():
    from autograder.notebook import exercise_points
    for assignment, module in CATALOGUES.items():
        for exercise in exercise_points(assignment):
            count = sum(m.exercise == exercise for m in module.MUTANTS)
            assert count >= 5, f"{assignment}/{exercise} has {count} mutants"


def notebook_with_every_exercise_wrong(assignment: str, folder: Path) -> Path:
    """The reference with each exercise's first mutant in place of its solution."""
    notebook = load(assignment)
    firsts = {}
    for mutant in CATALOGUES[assignment].MUTANTS:
        firsts.setdefault(mutant.exercise, mutant)
    for exercise, mutant in firsts.items():
        solution_cell(notebook, exercise)["source"] = mutant.code
    return write(notebook, folder, assignment)


@pytest.mark.parametrize("assignment", sorted(CATALOGUES))
def test_regrading_gives_the_same_feedback_byte_for_byte(assignment, tmp_path, runner):
    notebook = notebook_with_every_exercise_wrong(assignment, tmp_path)
    first, second = (as_table(grade_notebook(notebook, assignment, runner)) for _ in range(2))
    assert first == second
    assert not re.search(r"0x[0-9a-f]{8,}", first), "the feedback shows a memory address"
