"""Regenerate release/ (nbgrader generate_assignment) and solutions/ (executed instructor copies)."""
import subprocess
import sys
import time

import nbformat
from nbclient import NotebookClient

from autograder.course import REPO, SOLUTIONS, assignments, source_notebook

CELL_SECONDS = 120


def nbgrader(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True)


def build_release(assignment: str):
    done = nbgrader("generate_assignment", assignment, "--force", "--no-db")
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{done.stdout}{done.stderr}")


def build_solutions(assignment: str):
    """Execute the instructor notebook top to bottom in its own folder; a cell error fails the build."""
    source = source_notebook(assignment)
    notebook = nbformat.read(source, as_version=4)
    NotebookClient(notebook, timeout=CELL_SECONDS, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    target = SOLUTIONS / assignment / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def build(names: list[str], execute_solutions: bool = True) -> int:
    steps = [("release", build_release)] + ([("solutions", build_solutions)] if execute_solutions else [])
    for assignment in names or assignments():
        for label, step in steps:
            start = time.perf_counter()
            try:
                step(assignment)
            except Exception as error:
                print(f"{assignment}: building {label} failed: {error}", file=sys.stderr)
                return 1
            print(f"{assignment}: {label} built in {time.perf_counter() - start:.1f} s")
    return 0
