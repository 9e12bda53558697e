"""Where the course's files are, and which assignment a notebook belongs to."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "source"
RELEASE = REPO / "release"
SOLUTIONS = REPO / "solutions"
CHECKS = Path(__file__).resolve().parent / "checks"
ASSIGNMENT_NAME = re.compile(r"^\d\d-[a-z0-9-]+$")


def assignments() -> list[str]:
    """Every assignment that has an instructor notebook, in course order."""
    return sorted(p.name for p in SOURCE.iterdir()
                  if ASSIGNMENT_NAME.match(p.name) and source_notebook(p.name).exists())


def source_notebook(assignment: str) -> Path:
    return SOURCE / assignment / f"{assignment}.ipynb"


def checks_file(assignment: str) -> Path:
    return CHECKS / f"test_{assignment.replace('-', '_')}.py"


def assignment_of(notebook: Path) -> str | None:
    """The assignment a notebook is for: its file name, else its folder's name (nbgrader layout)."""
    known = set(assignments())
    for candidate in (notebook.stem, notebook.resolve().parent.name):
        if candidate in known:
            return candidate
    return None
