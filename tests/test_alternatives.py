"""The second catalogue: every subtle bug loses points with feedback naming it; every correct but
unusual solution keeps full marks."""
import pytest

import tests.alternatives
from autograder.notebook import exercise_points
from autograder.report import exercise_feedback
from tests.catalogue_grading import catalogue_modules, graded_together

MODULES = catalogue_modules(tests.alternatives)
WRONG = [graded_together(module.ASSIGNMENT, f"{module.ASSIGNMENT}/{wrong}", wrong)
         for module in MODULES for wrong in module.WRONG]
CORRECT = [graded_together(module.ASSIGNMENT, f"{module.ASSIGNMENT}/{correct}", correct)
           for module in MODULES for correct in module.CORRECT]


def failures(exercise) -> str:
    return " | ".join(f"{c.description} {c.message} {c.hint}" for c in exercise.checks if not c.passed)


@pytest.mark.parametrize("assignment, wrong", WRONG)
def test_subtle_bug_loses_points_with_named_feedback(assignment, wrong, catalogue):
    exercise = catalogue.result(assignment, wrong)
    assert exercise.points < exercise.max_points, f"{wrong} scored full marks"
    feedback = exercise_feedback(exercise)  # what the learner reads: the lead failure in full, the rest short
    assert wrong.feedback.lower() in feedback.lower(), f"{wrong}: the feedback does not name the bug: {feedback}"


@pytest.mark.parametrize("assignment, correct", CORRECT)
def test_unusual_correct_solution_keeps_full_marks(assignment, correct, catalogue):
    exercise = catalogue.result(assignment, correct)
    assert exercise.points == exercise.max_points, f"{correct} lost points: {failures(exercise)}"


def test_every_exercise_has_three_wrong_and_two_correct():
    for module in MODULES:
        for exercise in exercise_points(module.ASSIGNMENT):
            wrong = sum(w.exercise == exercise for w in module.WRONG)
            correct = sum(c.exercise == exercise for c in module.CORRECT)
            assert wrong >= 3 and correct >= 2, f"{module.ASSIGNMENT}/{exercise}: {wrong} wrong, {correct} correct"
