"""What every assignment guarantees: full marks for the reference, zero for the blank release,
release/ and solutions/ in step with source/, and visible checks the reference passes.
(The blank release's grade cells are run by tests/test_run_all.py.)"""
import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course import REPO, SOLUTIONS, assignments, source_notebook
from autograder.grade import grade_notebook
from tests.notebooks import release_notebook

ASSIGNMENTS = assignments()


def code_and_metadata(path):
    """What generate_assignment decides: each cell's type, source and nbgrader metadata."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(c["cell_type"], "".join(c["source"]), c.get("metadata", {}).get("nbgrader")) for c in cells]


def grade_cell_outputs(notebook):
    return [(cell.metadata.nbgrader.grade_id, cell.outputs) for cell in notebook.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_scores_full_marks(assignment, runner):
    result = grade_notebook(source_notebook(assignment), assignment, runner)
    failures = [f"{e.exercise}: {c.description}: {c.message}" for e in result.exercises for c in e.checks if not c.passed]
    assert result.score == result.max_score, failures


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_release_scores_zero(assignment, runner):
    result = grade_notebook(release_notebook(assignment), assignment, runner)
    assert result.score == 0
    assert all(e.checks for e in result.exercises)


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """release/ as `nbgrader generate_assignment` makes it from source/ now: every assignment in one
    run (a run per assignment costs ~3 s of start-up each)."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "source", root / "source")
    shutil.copy(REPO / "nbgrader_config.py", root)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force", "--no-db"],
                          cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return root / "release"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_generated_from_source(assignment, fresh_release):
    """Fails when source/ changed and `python -m autograder build` was not run."""
    fresh = fresh_release / assignment / f"{assignment}.ipynb"
    assert code_and_metadata(release_notebook(assignment)) == code_and_metadata(fresh), \
        "release/ is stale: run `python -m autograder build`"
    released = sorted(p.name for p in (REPO / "release" / assignment).iterdir())
    assert released == sorted(p.name for p in fresh.parent.iterdir())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_are_the_executed_source(assignment):
    solution = SOLUTIONS / assignment / f"{assignment}.ipynb"
    assert code_and_metadata(solution) == code_and_metadata(source_notebook(assignment)), \
        "solutions/ is stale: run `python -m autograder build`"
    notebook = nbformat.read(solution, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "solutions/ has cells that were not executed"
    errors = [o for c in code for o in c.outputs if o.output_type == "error" or o.get("name") == "stderr"]
    assert not errors, errors[:1]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_passes_its_visible_checks(assignment):
    notebook = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    for grade_id, outputs in grade_cell_outputs(notebook):
        text = "".join(o.get("text", "") for o in outputs)
        assert f"✓ {grade_id}: all" in text, (grade_id, text)
