"""nbgrader's own autograde, scored by the course's hidden checks.

`nbgrader_config.py` puts `HiddenChecks` where nbgrader's `Execute` step was in
`Autograde.autograde_preprocessors`. Instead of running the submission in a kernel (where its
visible checks never fail, so every grade cell got full points), it grades the submission with
the hidden checks, sandboxed, and gives each grade cell two outputs: the exercise's checks as
plain text, and its score as an `execute_result`, which nbgrader reads as partial credit. So
`nbgrader autograde`, the formgrader's Autograde button, late penalties, `generate_feedback`,
`export` and the gradebook all use the hidden checks' scores.
"""
import atexit
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets import Bool

from autograder.grade import PARTS, NotebookResult, grade_notebook
from autograder.report import exercise_feedback
from autograder.runner import child_runner

_runners = {}


def shared_runners(allow_unsandboxed: bool) -> list:
    """Runners for the whole nbgrader process (it grades every student's submission, one at a
    time): each submission's exercises are graded in PARTS parts at once."""
    if allow_unsandboxed not in _runners:
        _runners[allow_unsandboxed] = [child_runner(sandbox=None if allow_unsandboxed else True) for _ in range(PARTS)]
        for runner in _runners[allow_unsandboxed]:
            atexit.register(runner.close)
    return _runners[allow_unsandboxed]


class HiddenChecks(NbGraderPreprocessor):
    """Grade a submission with the hidden checks; each grade cell gets its feedback and score."""

    allow_unsandboxed = Bool(False, help="Grade even where bubblewrap cannot run.").tag(config=True)

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        result = self._grade(nb, assignment, resources.get("metadata", {}).get("path"))
        exercises = {e.exercise: e for e in result.exercises}
        for cell in nb.cells:
            if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
                exercise = exercises.get(cell.metadata.nbgrader.get("grade_id"))
                points = exercise.points if exercise else 0.0
                text = exercise_feedback(exercise) if exercise else "this grade cell is not one of the assignment's"
                if result.error:
                    text = f"{result.error}\n{text}"
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n"),
                                nbformat.v4.new_output("execute_result", data={"text/plain": f"{points:g}"},
                                                       execution_count=None)]
        return nb, resources

    def _grade(self, nb, assignment: str, folder) -> NotebookResult:
        """Grade a copy: the notebook under the assignment's own name, with its folder's other files."""
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / assignment
            copy.mkdir()
            if folder and Path(folder).is_dir():
                for path in Path(folder).iterdir():
                    if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
                        shutil.copyfile(path, copy / path.name)
            notebook = copy / f"{assignment}.ipynb"
            nbformat.write(nb, notebook)
            return grade_notebook(notebook, assignment, shared_runners(self.allow_unsandboxed))
