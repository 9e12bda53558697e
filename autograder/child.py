"""The grading subprocess: runs one assignment's hidden checks on one notebook.

    python -m autograder.child NOTEBOOK ASSIGNMENT RESULTS [CHECK_ID ...]

Each event is appended to RESULTS as a JSON line the moment it happens, so the parent knows what
finished even if learner code kills this process.
"""
import json
import random
import sys
from pathlib import Path

import pytest

from autograder.course import CHECKS, checks_file
from autograder.checking import CheckFailed
from autograder.notebook import (GradingTimeout, describe_learner_error, exercise_points, load_definitions,
                                 load_reference, time_limit)

CHECK_SECONDS = 10


class GradingPlugin:
    def __init__(self, notebook: Path, assignment: str, results: Path):
        self.notebook = notebook
        self.assignment = assignment
        self.results = results.open("a", encoding="utf-8")
        self.timed_out = {}  # exercise -> the check that ran out of time
        self.exercises = list(exercise_points(assignment))
        self.isolated = {}  # exercise -> the learner's definitions, other exercises from the reference

    def write(self, **event):
        self.results.write(json.dumps(event) + "\n")
        self.results.flush()

    @pytest.fixture
    def student(self, request, reference):
        """The learner's definitions, with every OTHER exercise bound to the reference's version,
        so that each exercise is scored on its own (a wrong `merge` does not fail `train_bpe`)."""
        exercise = exercise_of(request.node)
        if exercise not in self.isolated:
            namespace = load_definitions(self.notebook)
            if not self.isolated:
                self.write(event="loaded", problems=[str(p) for p in namespace.problems])
            for other in self.exercises:
                if other != exercise and other in reference:
                    namespace.replace(other, getattr(reference, other))
            self.isolated[exercise] = namespace
        return self.isolated[exercise]

    @pytest.fixture(scope="session")
    def reference(self):
        return load_reference(self.assignment)

    def pytest_collection_finish(self, session):
        self.write(event="collected", checks=[describe_check(item) for item in session.items])

    def pytest_runtest_setup(self, item):
        exercise = exercise_of(item)
        if exercise in self.timed_out:  # one infinite loop should cost its time limit once
            raise CheckFailed(f"not run: an earlier check of `{exercise}` ran out of time")
        seed_everything(0)

    def pytest_runtest_logstart(self, nodeid, location):
        self.write(event="start", check=nodeid.split("::", 1)[1])

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        try:
            with time_limit(CHECK_SECONDS, "this check"):
                return (yield)
        except GradingTimeout:
            self.timed_out[exercise_of(item)] = item.name
            raise

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if call.excinfo is not None:
            report.learner_message = failure_message(call.excinfo.value)
        return report

    def pytest_runtest_logreport(self, report):
        if report.failed or report.when == "call":
            self.write(event="result", check=report.nodeid.split("::", 1)[1], passed=report.passed,
                       message=getattr(report, "learner_message", ""))


def exercise_of(item) -> str:
    return item.get_closest_marker("exercise").kwargs["name"]


def describe_check(item) -> dict:
    marker = item.get_closest_marker("exercise")
    if marker is None:
        raise pytest.UsageError(f"{item.nodeid} has no @exercise marker")
    doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
    return {"check": item.nodeid.split("::", 1)[1], "exercise": marker.kwargs["name"],
            "weight": marker.kwargs.get("weight", 1.0), "hint": marker.kwargs.get("hint", ""),
            "description": doc}


def failure_message(error: BaseException) -> str:
    if isinstance(error, AssertionError) and str(error):
        return str(error).splitlines()[0] if str(error).startswith("assert ") else str(error)
    return describe_learner_error(error)


def seed_everything(seed: int):
    random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)


def main(argv: list[str]) -> int:
    notebook, assignment, results, *selected = argv
    plugin = GradingPlugin(Path(notebook), assignment, Path(results))
    path = checks_file(assignment)
    targets = [f"{path}::{check}" for check in selected] or [str(path)]
    args = ["-q", "-p", "no:cacheprovider", "--no-header", "-c", str(CHECKS / "pytest.ini"),
            "--rootdir", str(CHECKS), *targets]
    return pytest.main(args, plugins=[plugin])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
