"""Instructors: grade a collected assignment and write every exercise's score into nbgrader's gradebook.

    python -m autograder nbgrader ASSIGNMENT [--course-dir DIR] [--student GLOB]

1. grade every `submitted/STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb` with the hidden checks;
2. run `nbgrader autograde` without executing the notebooks (it records the submissions, restores
   the grade cells and writes `autograded/`);
3. in one transaction, set each grade cell's auto score and put the feedback on its solution cell.
Nothing is written to the gradebook until every submission has been graded.
"""
import sys
from pathlib import Path

from autograder.build import nbgrader
from autograder.grade import NotebookResult, grade_notebook
from autograder.notebook import exercise_points
from autograder.report import as_table


def grade_into_gradebook(assignment: str, course_dir: Path, student_glob: str = "*") -> int:
    if assignment not in _known_assignments():
        print(f"error: {assignment} is not one of the course's assignments", file=sys.stderr)
        return 2
    submissions = sorted(course_dir.glob(f"submitted/{student_glob}/{assignment}"))
    if not submissions:
        print(f"error: nothing in {course_dir}/submitted/{student_glob}/{assignment}", file=sys.stderr)
        return 2
    results = {folder.parent.name: _grade_submission(folder, assignment) for folder in submissions}
    done = nbgrader("autograde", assignment, "--force", f"--student={student_glob}",
                    "--Execute.enabled=False", cwd=course_dir)
    if done.returncode != 0:
        print(f"error: nbgrader autograde failed; the gradebook is unchanged\n{done.stdout}{done.stderr}",
              file=sys.stderr)
        return 1
    _write_scores(course_dir, assignment, results)
    for student, result in results.items():
        print(f"{student}: {result.score:g} / {result.max_score:g}")
    return 0


def _grade_submission(folder: Path, assignment: str) -> NotebookResult:
    notebook = folder / f"{assignment}.ipynb"
    if notebook.exists():
        return grade_notebook(notebook, assignment)
    result = NotebookResult(assignment, str(notebook), [])
    result.error = f"no {notebook.name} in the submission"
    return result


def _write_scores(course_dir: Path, assignment: str, results: dict[str, NotebookResult]):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        for student, result in results.items():
            exercises = {e.exercise: e for e in result.exercises}
            for name in exercise_points(assignment):
                exercise = exercises.get(name)
                grade = gradebook.find_grade(name, assignment, assignment, student)
                grade.auto_score = exercise.points if exercise else 0.0
                grade.needs_manual_grade = False
                comment = gradebook.find_comment(f"{name}_solution", assignment, assignment, student)
                comment.auto_comment = _feedback(result, exercise)
        gradebook.db.commit()


def _feedback(result: NotebookResult, exercise) -> str:
    if exercise is None:
        return result.error or "not graded"
    text = as_table([NotebookResult(result.assignment, result.notebook, [exercise], result.error)], [])
    return "\n".join(text.splitlines()[1:]).strip()


def _known_assignments():
    from autograder.course import assignments
    return assignments()
