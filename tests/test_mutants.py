"""Every mutant loses points on its exercise, and the feedback names its bug."""
import importlib
import pkgutil

import pytest

import tests.mutants
from autograder.grade import grade_notebook
from tests.notebooks import with_solution

MODULES = [importlib.import_module(f"tests.mutants.{name}") for _, name, _ in pkgutil.iter_modules(tests.mutants.__path__)]
CATALOGUES = {module.ASSIGNMENT: module for module in MODULES}
CASES = [(assignment, mutant) for assignment, module in CATALOGUES.items() for mutant in module.MUTANTS]


@pytest.mark.parametrize("assignment, mutant", CASES, ids=[f"{a}/{m}" for a, m in CASES])
def test_mutant_loses_points_with_named_bug(assignment, mutant, tmp_path, runner):
    result = grade_notebook(with_solution(assignment, mutant.exercise, mutant.code, tmp_path), assignment, runner,
                            only=[mutant.exercise])
    exercise = next(e for e in result.exercises if e.exercise == mutant.exercise)
    feedback = " ".join(f"{c.description} {c.message} {c.hint}" for c in exercise.checks if not c.passed)
    assert exercise.points < exercise.max_points, f"{mutant} scored full marks"
    assert mutant.feedback.lower() in feedback.lower(), f"{mutant}: feedback does not name the bug: {feedback}"


def test_every_exercise_has_at_least_five_mutants():
    from autograder.notebook import exercise_points
    for assignment, module in CATALOGUES.items():
        for exercise in exercise_points(assignment):
            count = sum(m.exercise == exercise for m in module.MUTANTS)
            assert count >= 5, f"{assignment}/{exercise} has {count} mutants"
