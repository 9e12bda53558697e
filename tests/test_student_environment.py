"""A JupyterHub student receives only release/NN-slug/ plus what the instructor installs."""
import json
import re
import shutil

import nbformat
from nbclient import NotebookClient

from autograder.course import RELEASE, assignments
from tests.notebooks import load, solution_cell

A = "02-bpe-tokenizer"
SOLUTION_BODY = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def test_release_folders_hold_only_notebooks():
    for assignment in assignments():
        assert [p.name for p in (RELEASE / assignment).iterdir()] == [f"{assignment}.ipynb"]


def solution_lines(notebook: dict) -> set[str]:
    """The distinctive lines inside every solution region."""
    sources = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    return {line.strip() for source in sources for body in SOLUTION_BODY.findall(source)
            for line in body.splitlines() if len(line.strip()) > 25}


def released_code(notebook: dict) -> set[str]:
    return {line.strip() for c in notebook["cells"] for line in "".join(c["source"]).splitlines()}


def test_release_reveals_no_solution_code():
    for assignment in assignments():
        secret = solution_lines(load(assignment))
        assert secret, f"{assignment}: no solution lines found (is this test vacuous?)"
        released = json.loads((RELEASE / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
        leaked = secret & released_code(released)
        assert not leaked, f"{assignment} release shows solution lines: {sorted(leaked)[:2]}"


def test_visible_checks_work_outside_the_repository(tmp_path):
    """Solved in a folder of its own: every grade cell passes, and the grader is out of reach."""
    folder = tmp_path / A
    shutil.copytree(RELEASE / A, folder)
    path = folder / f"{A}.ipynb"
    notebook = json.loads(path.read_text())
    reference = load(A)
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("_solution"):
            cell["source"] = solution_cell(reference, grade_id.removesuffix("_solution"))["source"]
    notebook["cells"].append(nbformat.v4.new_code_cell(
        "import importlib.util\nprint('grader reachable:', importlib.util.find_spec('autograder') is not None)"))
    executed = nbformat.reads(json.dumps(notebook), as_version=4)
    NotebookClient(executed, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert text.count(": all ") == sum(1 for c in executed.cells if c.metadata.get("nbgrader", {}).get("grade"))
    assert "grader reachable: False" in text
