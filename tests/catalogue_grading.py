"""Grade a catalogue of solutions (mutants, alternatives) several at a time.

Each exercise is scored on its own, in a worker of its own where the other exercises are the
reference's, so one notebook can carry one catalogue solution per exercise: a catalogue of N
solutions over E exercises costs about N / E gradings instead of N. Two solutions share a notebook
only when they define no top-level name in common (a helper of one must not replace the other's).
"""
import ast
import importlib
import pkgutil
import tempfile
from pathlib import Path

import pytest

from autograder.grade import ExerciseResult, grade_notebook
from tests.notebooks import load, solution_cell, write


def defined_names(code: str) -> set[str]:
    """The top-level names a cell defines, imports aside (they bind the same modules everywhere)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def batches(solutions: list) -> list[list]:
    """Solutions (with .exercise and .code) packed into notebooks, in catalogue order: one per
    exercise at most, and no two defining the same name besides their exercises."""
    packed: list[tuple[list, set[str]]] = []
    for solution in solutions:
        names = defined_names(solution.code) - {solution.exercise}
        for members, used in packed:
            if all(m.exercise != solution.exercise for m in members) and not names & used:
                members.append(solution)
                used |= names
                break
        else:
            packed.append(([solution], set(names)))
    return [members for members, _ in packed]


class CatalogueGrader:
    """Grades every solution of an assignment's catalogue the first time one of them is asked for;
    `result(assignment, solution)` is then that solution's exercise, as graded."""

    def __init__(self, runner, catalogues: dict[str, list]):
        self.runner = runner
        self.catalogues = catalogues  # assignment -> every solution that may be asked for
        self.batches = {}
        self.results: dict[tuple[str, str, str], ExerciseResult] = {}

    def result(self, assignment: str, solution) -> ExerciseResult:
        key = (assignment, solution.exercise, solution.code)
        if key not in self.results:
            if assignment not in self.batches:
                self.batches[assignment] = batches(self.catalogues[assignment])
            self._grade(assignment, next(b for b in self.batches[assignment] if solution in b))
        return self.results[key]

    def _grade(self, assignment: str, batch: list):
        notebook = load(assignment)
        for solution in batch:
            solution_cell(notebook, solution.exercise)["source"] = solution.code
        with tempfile.TemporaryDirectory() as folder:
            graded = grade_notebook(write(notebook, Path(folder), assignment), assignment, self.runner,
                                    only=[s.exercise for s in batch])
        by_exercise = {e.exercise: e for e in graded.exercises}
        for solution in batch:
            self.results[(assignment, solution.exercise, solution.code)] = by_exercise[solution.exercise]


def catalogue_modules(package) -> list:
    """The catalogue modules of a package (tests.mutants, tests.alternatives), one per assignment."""
    return [importlib.import_module(f"{package.__name__}.{name}") for _, name, _ in pkgutil.iter_modules(package.__path__)]


def every_solution() -> dict[str, list]:
    """Assignment -> every solution of both catalogues: mutants, subtle bugs and correct alternatives."""
    import tests.alternatives
    import tests.mutants
    solutions = {}
    for module in catalogue_modules(tests.mutants):
        solutions.setdefault(module.ASSIGNMENT, []).extend(module.MUTANTS)
    for module in catalogue_modules(tests.alternatives):
        solutions.setdefault(module.ASSIGNMENT, []).extend([*module.WRONG, *module.CORRECT])
    return solutions


def graded_together(assignment: str, case_id: str, *values):
    """A test case whose grading is shared with the rest of its assignment's catalogue: under
    pytest-xdist (--dist loadgroup) they all run in one worker, which grades each batch once."""
    return pytest.param(assignment, *values, id=case_id, marks=pytest.mark.xdist_group(f"catalogue-{assignment}"))
