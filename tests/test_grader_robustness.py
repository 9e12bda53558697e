"""Broken learner code costs only the exercises it touches, with a message that says why."""
import json

import pytest

from autograder.grade import grade_notebook as grade
from autograder.runner import ForkServer, Subprocesses, child_runner
from learnerbox.definitions import load_definitions
from tests.notebooks import load, release_notebook, with_edit, with_solution, write

A = "02-bpe-tokenizer"


def subprocesses() -> Subprocesses:
    return Subprocesses()


RUNNERS = {"sandboxed": lambda: child_runner(sandbox=True), "forked workers": lambda: child_runner(sandbox=False),
           "fresh interpreters": subprocesses}


@pytest.fixture(scope="module", params=["sandboxed", "forked workers"])
def runner(request):
    """Every case runs under bubblewrap and with forked unsandboxed workers (fresh interpreters, the
    slow way macOS grades, are compared with both on one notebook below)."""
    with RUNNERS[request.param]() as shared:
        yield shared


@pytest.fixture
def grade_notebook(runner):
    return lambda notebook, assignment: grade(notebook, assignment, runner)


def points(result) -> dict:
    return {e.exercise: e.points for e in result.exercises}


def messages(result, exercise) -> str:
    return " ".join(c.message for e in result.exercises if e.exercise == exercise for c in e.checks)


def full_except(result, broken: str):
    """Every exercise but `broken` keeps full marks; `broken` scores 0."""
    for exercise in result.exercises:
        expected = 0.0 if exercise.exercise == broken else exercise.max_points
        assert exercise.points == expected, (exercise.exercise, exercise.points, messages(result, exercise.exercise))


def test_reference_scores_full_marks(tmp_path, grade_notebook):
    result = grade_notebook(write(load(A), tmp_path, A), A)
    assert result.score == result.max_score == 15
    assert not result.problems


def test_blank_release_scores_zero_with_not_implemented(grade_notebook):
    result = grade_notebook(release_notebook(A), A)
    assert result.score == 0
    for exercise in result.exercises:
        assert all("not implemented yet" in c.message for c in exercise.checks), exercise.exercise


def test_syntax_error_costs_only_its_exercise(tmp_path, grade_notebook):
    result = grade_notebook(with_edit(A, "merge", "merged = []", "merged = [", tmp_path), A)
    full_except(result, "merge")
    assert "`merge` could not be defined" in messages(result, "merge")
    assert "SyntaxError" in messages(result, "merge")


def test_renamed_function_is_reported_as_missing(tmp_path, grade_notebook):
    result = grade_notebook(with_edit(A, "decode", "def decode(", "def decode_ids(", tmp_path), A)
    full_except(result, "decode")
    assert "defines no `decode`: was it renamed" in messages(result, "decode")


def test_exception_shows_the_learners_own_line(tmp_path, grade_notebook):
    code = "def count_pairs(word_counts):\n    total = 0\n    return {(1, 2): 1 / total}\n"
    result = grade_notebook(with_solution(A, "count_pairs", code, tmp_path), A)
    assert "ZeroDivisionError" in messages(result, "count_pairs")
    assert "line 3: `return {(1, 2): 1 / total}`" in messages(result, "count_pairs")


def test_failed_import_is_reported_and_loading_goes_on(tmp_path, grade_notebook):
    notebook = load(A)
    notebook["cells"].insert(1, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                 "source": "import not_a_real_module\n"})
    result = grade_notebook(write(notebook, tmp_path, A), A)
    assert result.score == result.max_score
    assert any("No module named 'not_a_real_module'" in p for p in result.problems)


@pytest.mark.parametrize("body, reason", [
    ("while True:\n        pass", "ran for more than"),
    ("import sys\n    sys.exit(1)", "SystemExit"),
    ("import os\n    os._exit(3)", "stopped the grader"),
    ("return bytearray(8 << 30)", "MemoryError"),
])
def test_runaway_code_costs_only_its_exercise(tmp_path, body, reason, grade_notebook):
    code = f"def merge(ids, pair, new_id):\n    {body}\n"
    result = grade_notebook(with_solution(A, "merge", code, tmp_path), A)
    assert points(result)["merge"] == 0
    assert reason in messages(result, "merge")
    assert points(result)["count_pairs"] == 2 and points(result)["decode"] == 2


def test_top_level_crash_while_loading_costs_everything_with_a_reason(tmp_path, grade_notebook):
    notebook = load(A)
    notebook["cells"].insert(1, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                 "source": "import os\nCRASH = os._exit(5)\n"})
    result = grade_notebook(write(notebook, tmp_path, A), A)
    assert result.score == 0
    assert "loading your notebook stopped the grader" in messages(result, "merge")


def test_unreadable_notebook_scores_zero_with_an_error(tmp_path, grade_notebook):
    path = tmp_path / f"{A}.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    result = grade_notebook(path, A)
    assert result.score == 0 and "not a readable Jupyter notebook" in result.error


def test_grading_is_deterministic(tmp_path, grade_notebook):
    path = with_solution(A, "count_pairs", "def count_pairs(word_counts):\n    return {}\n", tmp_path)
    first, second = grade_notebook(path, A), grade_notebook(path, A)
    assert json.dumps(first.to_json()) == json.dumps(second.to_json())


def test_a_module_next_to_the_notebook_can_be_imported(tmp_path, grade_notebook):
    (tmp_path / "my_helpers.py").write_text("def no_pairs(word_counts):\n    return {}\n", encoding="utf-8")
    code = "from my_helpers import no_pairs\n\ndef count_pairs(word_counts):\n    return no_pairs(word_counts)\n"
    result = grade_notebook(with_solution(A, "count_pairs", code, tmp_path), A)
    assert not result.problems
    assert 0 < result.score < result.max_score


def test_plotting_is_imported_when_learner_code_first_uses_it(tmp_path, grade_notebook):
    """`import matplotlib.pyplot as plt` is bound lazily while loading (learnerbox.definitions);
    a learner function that uses it still works, in the sandbox too."""
    path = with_edit(A, "count_pairs", "    counts = {}\n",
                     "    counts = {}\n    assert plt.get_backend().lower() == 'agg'\n", tmp_path)
    result = grade_notebook(path, A)
    assert not result.problems
    assert result.score == result.max_score, messages(result, "count_pairs")


def test_every_runner_gives_the_same_result(tmp_path):
    path = with_solution(A, "merge", "def merge(ids, pair, new_id):\n    return list(ids)\n", tmp_path)
    results = []
    for make in RUNNERS.values():
        with make() as runner:
            results.append(json.dumps(grade(path, A, runner).to_json()))
    assert len(set(results)) == 1


@pytest.mark.parametrize("broken", ["def merge(ids, pair, new_id):\n    return list(ids)\n",
                                    "import os\ndef merge(ids, pair, new_id):\n    os._exit(3)\n"])
def test_a_notebook_graded_in_parts_gets_the_same_result(tmp_path, broken):
    """One notebook alone is graded by two children at once, each with half of the exercises."""
    path = with_solution(A, "merge", broken, tmp_path)
    with child_runner(sandbox=True, many=False) as runner:
        whole = grade(path, A, runner).to_json()
    parts = [child_runner(sandbox=True, many=False) for _ in range(2)]
    assert grade(path, A, parts).to_json() == whole


def test_only_notebooks_graded_without_torch_are_split():
    """A second child and sandbox would import torch again (08 alone: 5.9 s -> 9.8 s)."""
    from autograder.course import source_notebook
    from autograder.grade import light_to_start
    from autograder.notebook import read_code_cells
    assert light_to_start(read_code_cells(source_notebook(A)), A)
    assert not light_to_start(read_code_cells(source_notebook("08-training-loss")), "08-training-loss")


def test_a_killed_fork_server_is_restarted(tmp_path):
    path = write(load(A), tmp_path, A)
    with ForkServer() as fork_server:
        assert grade(path, A, fork_server).score == 15
        fork_server.server.kill()
        fork_server.server.wait()
        assert grade(path, A, fork_server).score == 15


def test_only_learner_statements_have_a_time_limit():
    """A slow learner statement costs its names; the trusted reference loads without a limit (an
    `import torch` cut short on a busy machine leaves torch half imported)."""
    slow = [(1, "import time\nSLOW = time.sleep(1.5) or 1\n")]
    _, problems = load_definitions(slow, "", statement_seconds=1)
    assert [p.message for p in problems] == ["this statement ran for more than 1 s"]
    values, problems = load_definitions(slow, "reference ", statement_seconds=None)
    assert not problems and values["SLOW"] == 1
