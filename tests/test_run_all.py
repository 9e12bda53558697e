""""Run All" on every blank release notebook, with a real kernel: no cell may raise.

Given code runs, each grade cell reports its exercise as not implemented (never on stderr), and every
experiment that needs an exercise says which one to finish (coursekit.experiments.finished) instead
of stopping.
"""
import shutil
import time

import nbformat
import pytest
from nbconvert.preprocessors import ExecutePreprocessor

from autograder.course import RELEASE, assignments

BUDGET_SECONDS = 90  # every notebook's budget on 2 CPU cores


def outputs_text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []))


@pytest.mark.parametrize("assignment", assignments())
def test_run_all_on_the_blank_release_raises_nowhere(assignment, tmp_path):
    shutil.copytree(RELEASE / assignment, tmp_path / assignment)  # a learner's copy, outside the repository
    path = tmp_path / assignment / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    ExecutePreprocessor(timeout=120, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": str(path.parent)}})  # raises CellExecutionError at an error
    seconds = time.perf_counter() - start
    assert seconds < BUDGET_SECONDS
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    grade_cells = [cell for cell in code if cell.metadata.get("nbgrader", {}).get("grade")]
    assert all("not implemented yet" in outputs_text(cell) for cell in grade_cells)
    assert not [cell.metadata.nbgrader.grade_id for cell in grade_cells
                if any(output.get("name") == "stderr" for output in cell.outputs)], "a grade cell wrote to stderr"
    skipped = [cell for cell in code if outputs_text(cell).startswith("⏭ Skipped: finish `")]
    experiments = [cell for cell in code if cell.source.startswith("if finished(")]
    assert experiments and len(skipped) == len(experiments)
