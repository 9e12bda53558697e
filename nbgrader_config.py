"""nbgrader configuration for the course (used by `python -m autograder build` and by instructors)."""
import os
import sys

COURSE = os.path.dirname(os.path.abspath(__file__))
if COURSE not in sys.path:  # the course's grader, for autograde (the formgrader reads this file often)
    sys.path.insert(0, COURSE)

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "modern-llms-from-scratch"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.solution_directory = "solutions"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.Execute.kernel_name = "python3"
c.Execute.timeout = 120
# A learner who deletes a grade cell gets it back instead of a silent "needs manual grade".
c.OverwriteCells.add_missing_cells = True

# Autograde scores with the hidden checks (autograder/nbgrader_plugin.py), sandboxed, instead of
# running the notebook in a kernel: the grader takes the place of nbgrader's Execute step.
c.Autograde.autograde_preprocessors = [
    "autograder.nbgrader_plugin.HiddenChecks",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
