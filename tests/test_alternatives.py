"""The second catalogue: every subtle bug loses points with feedback naming it; every correct but
unusual solution keeps full marks."""
import importlib
import pkgutil

import pytest

import tests.alternatives
from autograder.grade import grade_notebook
from autograder.notebook import exercise_points
from autograder.report import exercise_feedback
from tests.notebooks import with_solution

MODULES = [importlib.import_module(f"tests.alternatives.{name}")
           for _, name, _ in pkgutil.iter_modules(tests.alternatives.__path__)]
WRONG = [(module.ASSIGNMENT, wrong) for module in MODULES for wrong in module.WRONG]
CORRECT = [(module.ASSIGNMENT, correct) for module in MODULES for correct in module.CORRECT]


def graded_exercise(assignment, solution, folder, runner):
    notebook = with_solution(assignment, solution.exercise, solution.code, folder)
    result = grade_notebook(notebook, assignment, runner, only=[solution.exercise])
    return next(e for e in result.exercises if e.exercise == solution.exercise)


def failures(exercise) -> str:
    return " | ".join(f"{c.description} {c.message} {c.hint}" for c in exercise.checks if not c.passed)


@pytest.mark.parametrize("assignment, wrong", WRONG, ids=[f"{a}/{w}" for a, w in WRONG])
def test_subtle_bug_loses_points_with_named_feedback(assignment, wrong, tmp_path, runner):
    exercise = graded_exercise(assignment, wrong, tmp_path, runner)
    assert exercise.points < exercise.max_points, f"{wrong} scored full marks"
    feedback = exercise_feedback(exercise)  # what the learner reads: the lead failure in full, the rest short
    assert wrong.feedback.lower() in feedback.lower(), f"{wrong}: the feedback does not name the bug: {feedback}"


@pytest.mark.parametrize("assignment, correct", CORRECT, ids=[f"{a}/{c}" for a, c in CORRECT])
def test_unusual_correct_solution_keeps_full_marks(assignment, correct, tmp_path, runner):
    exercise = graded_exercise(assignment, correct, tmp_path, runner)
    assert exercise.points == exercise.max_points, f"{correct} lost points: {failures(exercise)}"


def test_every_exercise_has_three_wrong_and_two_correct():
    for module in MODULES:
        for exercise in exercise_points(module.ASSIGNMENT):
            wrong = sum(w.exercise == exercise for w in module.WRONG)
            correct = sum(c.exercise == exercise for c in module.CORRECT)
            assert wrong >= 3 and correct >= 2, f"{module.ASSIGNMENT}/{exercise}: {wrong} wrong, {correct} correct"
