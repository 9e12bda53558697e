"""Instructors: grade a collected assignment and write every exercise's score into nbgrader's gradebook.

    python -m autograder nbgrader ASSIGNMENT [--course-dir DIR] [--student GLOB]

1. grade every `submitted/STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb` with the hidden checks;
2. run `nbgrader autograde` without executing the notebooks: it records the submissions, restores
   deleted grade cells and writes `autograded/` (and gives every grade cell full points, since no
   cell has output);
3. in one transaction, set every recorded submission's grade cells to the hidden checks' scores
   and put the feedback on each exercise's solution cell.
A submission that nbgrader could not record (a corrupt file, no notebook) is reported, by name,
and the command exits 1; the other students' scores are written all the same.
"""
import sys
from pathlib import Path

from autograder.build import nbgrader
from autograder.course import assignments
from autograder.grade import NotebookResult, grade_many
from autograder.notebook import exercise_points
from autograder.report import as_table
from autograder.runner import NOT_SANDBOXED, SANDBOX_MISSING
from autograder.sandbox import bubblewrap_available


def grade_into_gradebook(assignment: str, course_dir: Path, student_glob: str = "*",
                         allow_unsandboxed: bool = False, jobs: int = 1) -> int:
    if assignment not in assignments():
        print(f"error: {assignment} is not one of the course's assignments", file=sys.stderr)
        return 2
    submissions = sorted(course_dir.glob(f"submitted/{student_glob}/{assignment}"))
    if not submissions:
        print(f"error: nothing in {course_dir}/submitted/{student_glob}/{assignment}", file=sys.stderr)
        return 2
    if not bubblewrap_available():
        if not allow_unsandboxed:
            print(f"error: {SANDBOX_MISSING}.\nGrading a class unsandboxed lets learner code read the course's "
                  "files and use the network; pass --allow-unsandboxed to accept that.", file=sys.stderr)
            return 2
        print(NOT_SANDBOXED, file=sys.stderr)
    graded = grade_many([(folder / f"{assignment}.ipynb", assignment) for folder in submissions], jobs,
                        sandbox=None if allow_unsandboxed else True)
    results = {folder.parent.name: result for folder, result in zip(submissions, graded)}
    autograde = nbgrader("autograde", assignment, "--force", f"--student={student_glob}",
                         "--Execute.enabled=False", cwd=course_dir)
    unrecorded = _write_scores(course_dir, assignment, results)
    for student, result in results.items():
        note = "  NOT in the gradebook: nbgrader could not record this submission" if student in unrecorded else ""
        print(f"{student}: {result.score:g} / {result.max_score:g}{note}" + (f" ({result.error})" if result.error else ""))
    if unrecorded:
        print(f"error: {len(unrecorded)} submission(s) not recorded; nbgrader autograde said:\n"
              + _errors(autograde.stdout + autograde.stderr), file=sys.stderr)
        return 1
    return 0


def _write_scores(course_dir: Path, assignment: str, results: dict[str, NotebookResult]) -> list[str]:
    """Write every recorded submission's scores in one commit; return the students not recorded."""
    from nbgrader.api import Gradebook, MissingEntry
    unrecorded = []
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        for student, result in results.items():
            try:
                gradebook.find_submission_notebook(assignment, assignment, student)
            except MissingEntry:
                unrecorded.append(student)
                continue
            exercises = {e.exercise: e for e in result.exercises}
            for name in exercise_points(assignment):
                exercise = exercises.get(name)
                grade = gradebook.find_grade(name, assignment, assignment, student)
                grade.auto_score = exercise.points if exercise else 0.0
                grade.needs_manual_grade = False
                comment = gradebook.find_comment(f"{name}_solution", assignment, assignment, student)
                comment.auto_comment = _feedback(result, exercise)
        gradebook.db.commit()
    return unrecorded


def _feedback(result: NotebookResult, exercise) -> str:
    if exercise is None:
        return result.error or "not graded"
    text = as_table(NotebookResult(result.assignment, result.notebook, [exercise], result.error))
    return "\n".join(text.splitlines()[1:]).strip()


def _errors(log: str) -> str:
    return "\n".join(line for line in log.splitlines() if "ERROR" in line or "WARNING" in line)
