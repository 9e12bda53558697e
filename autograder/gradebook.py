"""Instructors: grade a collected assignment into nbgrader's gradebook, and say what it gave.

    python -m autograder nbgrader ASSIGNMENT [--course-dir DIR] [--student GLOB] [--allow-unsandboxed]

A convenience around `nbgrader autograde ASSIGNMENT --force`, which scores with the hidden checks
(nbgrader_config.py, autograder/nbgrader_plugin.py) exactly as the formgrader's Autograde button
does: this command grades nothing itself, so the two never disagree. It refuses to grade without
bubblewrap unless told, then prints every student's score as the gradebook holds it; a submission
nbgrader could not record (a corrupt file, no notebook) is named, and the command exits 1.
"""
import sys
from pathlib import Path

from autograder.build import nbgrader
from autograder.course import assignments
from autograder.runner import NOT_SANDBOXED, SANDBOX_MISSING
from autograder.sandbox import bubblewrap_available


def grade_into_gradebook(assignment: str, course_dir: Path, student_glob: str = "*",
                         allow_unsandboxed: bool = False) -> int:
    if assignment not in assignments():
        print(f"error: {assignment} is not one of the course's assignments", file=sys.stderr)
        return 2
    students = sorted(folder.parent.name for folder in course_dir.glob(f"submitted/{student_glob}/{assignment}"))
    if not students:
        print(f"error: nothing in {course_dir}/submitted/{student_glob}/{assignment}", file=sys.stderr)
        return 2
    if not bubblewrap_available():
        if not allow_unsandboxed:
            print(f"error: {SANDBOX_MISSING}.\nGrading a class unsandboxed lets learner code read the course's "
                  "files and use the network; pass --allow-unsandboxed to accept that.", file=sys.stderr)
            return 2
        print(NOT_SANDBOXED, file=sys.stderr)
    autograde = nbgrader("autograde", assignment, "--force", f"--student={student_glob}",
                         *(["--HiddenChecks.allow_unsandboxed=True"] if allow_unsandboxed else []), cwd=course_dir)
    scores = _recorded_scores(course_dir, assignment, students)
    for student in students:
        print(f"{student}: NOT in the gradebook: nbgrader could not record this submission" if student not in scores
              else f"{student}: {scores[student][0]:g} / {scores[student][1]:g}")
    unrecorded = [student for student in students if student not in scores]
    if unrecorded:
        print(f"error: {len(unrecorded)} submission(s) not recorded; nbgrader autograde said:\n"
              + _errors(autograde.stdout + autograde.stderr), file=sys.stderr)
        return 1
    return 0


def _recorded_scores(course_dir: Path, assignment: str, students: list[str]) -> dict[str, tuple[float, float]]:
    """Student -> (score, max score) of each submission the gradebook holds."""
    from nbgrader.api import Gradebook, MissingEntry
    scores = {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        for student in students:
            try:
                notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            except MissingEntry:
                continue
            scores[student] = (notebook.score, notebook.max_score)
    return scores


def _errors(log: str) -> str:
    return "\n".join(line for line in log.splitlines() if "ERROR" in line or "WARNING" in line)
