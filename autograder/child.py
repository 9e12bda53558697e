"""The trusted grading process: runs one assignment's hidden checks against one notebook.

    python -m autograder.child NOTEBOOK ASSIGNMENT RESULTS SANDBOX EXERCISES [CHECK_ID ...]

EXERCISES: the comma-separated exercises to grade.

No learner code runs here. The learner's definitions live in a worker (learnerbox.worker, under
bubblewrap when SANDBOX is "bubblewrap"); the `student` fixture reaches them through handles
(autograder.remote). The reference, the expected values, the comparisons and the results stay
here. Each event is appended to RESULTS as a JSON line the moment it happens.
"""
import importlib
import json
import os
import random
import sys
from pathlib import Path

import pytest

from autograder.checking import CheckFailed, ProvenBug
from autograder.course import CHECKS, checks_file, source_notebook
from autograder.notebook import (LearnerCode, MissingDefinition, NotebookError, exercise_points, learner_cells,
                                 load_reference, read_code_cells)
from autograder.remote import ExerciseWorker, LearnerError, MissingName, TimedOut, WorkerGone
from autograder.sandbox import USE_PRELOAD, WORKER_LIMITS, Sandbox, modules_to_preload

CHECK_SECONDS = 10


class Student:
    """The learner's definitions for one exercise, reached as attributes: `student.merge`."""

    def __init__(self, worker: ExerciseWorker):
        self.worker = worker

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self.worker.ask("lookup", name=name)
        except MissingName:
            raise MissingDefinition(self._explain_missing(name)) from None

    def __contains__(self, name):
        try:
            getattr(self, name)
        except MissingDefinition:
            return False
        return True

    def _explain_missing(self, name):
        causes = [p for p in self.worker.problems if name in p["names"]]
        if causes:
            return f"`{name}` could not be defined: " + "; ".join(
                f"cell {p['cell']}, line {p['line']}: {p['message']}" for p in causes)
        return (f"your notebook defines no `{name}`: was it renamed or deleted? "
                "Keep the name and signature given in the notebook.")


class GradingPlugin:
    def __init__(self, notebook: Path, assignment: str, results: Path, sandbox_mode: str, graded: list[str]):
        self.notebook = notebook
        self.assignment = assignment
        self.sandbox_mode = sandbox_mode
        self.cells = learner_cells(read_code_cells(notebook))
        code = "\n".join(source for _, source in self.cells)
        self.preload = modules_to_preload(code, checks_file(assignment).read_text(encoding="utf-8"))
        self.plots = "matplotlib" in code
        # the worker side starts first: in "fork" mode it is a copy of this process, which must
        # not hold the reference yet
        self.sandbox = self._new_sandbox(sandbox_mode)
        # loaded while the sandbox starts: both import the notebook's libraries (~1 s each), and
        # what the checks will use (torch._dynamo, ~2 s, at the reference's first optimizer)
        self.reference_definitions = load_reference(assignment)
        for module in set(self.preload) & set(USE_PRELOAD.values()):
            importlib.import_module(module)
        self.results = results.open("a", encoding="utf-8")
        self.exercises = list(exercise_points(assignment))
        self.graded = graded
        self.current: tuple[str, Student] | None = None
        self.stopped = {}  # exercise -> why its later checks do not run
        self.reported_problems = False

    def _new_sandbox(self, mode: str) -> Sandbox:
        return Sandbox(self.notebook, self.preload, mode, self.plots)

    def write(self, **event):
        self.results.write(json.dumps(event) + "\n")
        self.results.flush()

    @pytest.fixture
    def student(self, request):
        """The learner's definitions in a worker for this exercise, where every OTHER exercise is
        the reference's, so that each exercise is scored on its own."""
        exercise = exercise_of(request.node)
        student = self._student_for(exercise)
        student.worker.budget = CHECK_SECONDS
        student.worker.ask("seed", seed=0)
        return student

    def _student_for(self, exercise: str) -> Student:
        if self.current and self.current[0] == exercise and not self.current[1].worker.ended:
            return self.current[1]
        if self.current:
            self.current[1].worker.end()
        if self.sandbox.stopped:
            # a fork now would copy the reference loaded since: start a fresh interpreter instead
            self.sandbox.close()
            self.sandbox = self._new_sandbox("subprocess" if self.sandbox_mode == "fork" else self.sandbox_mode)
        start = {"exercise": exercise, "cells": self.cells, "reference_cells": reference_cells(self.assignment, exercise),
                 "other_exercises": [e for e in self.exercises if e != exercise],
                 "limits": dict(WORKER_LIMITS)}
        self.current = (exercise, Student(ExerciseWorker(self.sandbox, start)))
        if not self.reported_problems:
            self.reported_problems = True
            self.write(event="loaded", problems=[f"cell {p['cell']}, line {p['line']}: {p['message']}"
                                                 for p in self.current[1].worker.problems])
        return self.current[1]

    @pytest.fixture(scope="session")
    def student_code(self):
        """The learner's code as syntax trees, for checks of how it is written."""
        return LearnerCode(self.cells)

    @pytest.fixture(scope="session")
    def reference(self):
        return self.reference_definitions

    def pytest_collection_modifyitems(self, items):
        items[:] = [item for item in items if item.get_closest_marker("exercise") is None
                    or exercise_of(item) in self.graded]

    def pytest_collection_finish(self, session):
        self.write(event="collected", checks=[describe_check(item) for item in session.items])

    def pytest_runtest_setup(self, item):
        exercise = exercise_of(item)
        if exercise in self.stopped:  # one infinite loop or crash should cost its time once
            raise CheckFailed(f"not run: an earlier check of `{exercise}` {self.stopped[exercise]}")
        seed_everything(0)

    def pytest_runtest_logstart(self, nodeid, location):
        self.write(event="start", check=nodeid.split("::", 1)[1])

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if call.excinfo is not None:
            error = call.excinfo.value
            report.learner_message = failure_message(error)
            report.proves_bug = isinstance(error, ProvenBug)
            if isinstance(error, WorkerGone) and call.when != "teardown":
                self.stopped[exercise_of(item)] = ("ran out of time" if isinstance(error, TimedOut)
                                                   else "stopped the grader")
        return report

    def pytest_runtest_logreport(self, report):
        if report.failed or report.when == "call":
            self.write(event="result", check=report.nodeid.split("::", 1)[1], passed=report.passed,
                       message=getattr(report, "learner_message", ""), proves_bug=getattr(report, "proves_bug", False))

    def close(self):
        if self.current:
            self.current[1].worker.end()
        self.sandbox.close()


def reference_cells(assignment: str, exercise: str) -> list[tuple[int, str]]:
    """The reference notebook's code without the graded exercise's solution cell."""
    return [(number, source) for number, source, meta in read_code_cells(source_notebook(assignment))
            if meta.get("grade_id") != f"{exercise}_solution" and not (meta.get("grade") and not meta.get("solution"))]


def exercise_of(item) -> str:
    return item.get_closest_marker("exercise").kwargs["name"]


def describe_check(item) -> dict:
    marker = item.get_closest_marker("exercise")
    if marker is None:
        raise pytest.UsageError(f"{item.nodeid} has no @exercise marker")
    doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
    return {"check": item.nodeid.split("::", 1)[1], "exercise": marker.kwargs["name"],
            "weight": marker.kwargs.get("weight", 1.0), "hint": marker.kwargs.get("hint", ""),
            "broad": marker.kwargs.get("broad", False), "description": doc}


def failure_message(error: BaseException) -> str:
    if isinstance(error, LearnerError):  # the learner's own exception, never mistaken for a check's
        return error.description if error.description.startswith("not implemented") else \
            f"your code {error.description}"
    if isinstance(error, TimedOut):
        return f"this check ran for more than {CHECK_SECONDS} s (an infinite loop?)"
    if isinstance(error, AssertionError) and str(error):
        return str(error).splitlines()[0] if str(error).startswith("assert ") else str(error)
    return f"raised {type(error).__name__}: {error}".rstrip(": ")[:500]


def seed_everything(seed: int):
    random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)


def main(argv: list[str]) -> int:
    notebook, assignment, results, sandbox_mode, graded, *selected = argv
    try:
        plugin = GradingPlugin(Path(notebook), assignment, Path(results), sandbox_mode, graded.split(","))
    except NotebookError as error:
        Path(results).open("a").write(json.dumps({"event": "unreadable", "message": str(error)}) + "\n")
        return 1
    path = checks_file(assignment)
    targets = [f"{path}::{check}" for check in selected] or [str(path)]
    # no cache, and none of pytest's end-of-session garbage collections (~1 s with torch loaded)
    args = ["-q", "-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:threadexception",
            "--no-header", "-c", str(CHECKS / "pytest.ini"), "--rootdir", str(CHECKS), *targets]
    try:
        return pytest.main(args, plugins=[plugin])
    finally:
        plugin.close()


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # the results are written and closed; skip the interpreter's teardown (~1 s with torch)
