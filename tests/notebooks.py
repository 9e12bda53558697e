"""Make learner-like notebooks from the reference: blank, mutated, broken."""
import json
from pathlib import Path

from autograder.course import RELEASE, source_notebook


def load(assignment: str) -> dict:
    return json.loads(source_notebook(assignment).read_text(encoding="utf-8"))


def release_notebook(assignment: str) -> Path:
    return RELEASE / assignment / f"{assignment}.ipynb"


def solution_cell(notebook: dict, exercise: str) -> dict:
    """The code cell holding an exercise's solution (grade id `<exercise>_solution`)."""
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"{exercise}_solution":
            return cell
    raise KeyError(f"no solution cell for {exercise}")


def write(notebook: dict, folder: Path, assignment: str) -> Path:
    path = folder / f"{assignment}.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


def with_solution(assignment: str, exercise: str, code: str, folder: Path) -> Path:
    """The reference notebook with one exercise's solution cell replaced by `code`."""
    notebook = load(assignment)
    solution_cell(notebook, exercise)["source"] = code
    return write(notebook, folder, assignment)


def with_edit(assignment: str, exercise: str, old: str, new: str, folder: Path) -> Path:
    """The reference notebook with `old` replaced by `new` (exactly once) in one solution cell."""
    notebook = load(assignment)
    cell = solution_cell(notebook, exercise)
    source = "".join(cell["source"])
    assert source.count(old) == 1, f"{old!r} should occur once in the {exercise} solution"
    cell["source"] = source.replace(old, new)
    return write(notebook, folder, assignment)
