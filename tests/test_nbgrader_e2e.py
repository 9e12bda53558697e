"""Instructors: real nbgrader generate → submissions → `python -m autograder nbgrader` (nbgrader's own
autograde, scored by the hidden checks) → gradebook → export and feedback."""
import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from autograder.course import REPO, SOURCE
from tests.notebooks import load, solution_cell

A = "02-bpe-tokenizer"
HALF_DONE = ["count_pairs", "merge", "train_bpe"]  # 2 + 2 + 4 points


def run(*args, cwd, expect_returncode=0):
    # the course's grader is importable wherever the course directory is (nbgrader_config.py)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert done.returncode == expect_returncode, done.stdout + done.stderr
    return done


def submission(course, student, exercises):
    """The released notebook with the reference solutions of `exercises` filled in."""
    released = json.loads((course / "release" / A / f"{A}.ipynb").read_text())
    reference = load(A)
    for exercise in exercises:
        solution_cell(released, exercise)["source"] = solution_cell(reference, exercise)["source"]
    folder = course / "submitted" / student / A
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").write_text(json.dumps(released))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(SOURCE / A, course / "source" / A)
    shutil.copy(REPO / "nbgrader_config.py", course)
    run("nbgrader", "generate_assignment", A, "--force", cwd=course)
    exercises = [c["metadata"]["nbgrader"]["grade_id"] for c in load(A)["cells"]
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    submission(course, "reference", exercises)
    submission(course, "blank", [])
    submission(course, "half", HALF_DONE)
    (course / "submitted" / "corrupt" / A).mkdir(parents=True)
    (course / "submitted" / "corrupt" / A / f"{A}.ipynb").write_text('{"cells": [')
    (course / "submitted" / "missing" / A).mkdir(parents=True)
    return course


@pytest.fixture(scope="module")
def grading(course):
    return run("autograder", "nbgrader", A, "--course-dir", str(course), cwd=REPO, expect_returncode=1)


def test_each_student_gets_the_gradebook_score(grading):
    assert {"reference: 15 / 15", "blank: 0 / 15", "half: 8 / 15"} <= set(grading.stdout.splitlines())


def test_a_submission_nbgrader_cannot_record_is_named(grading):
    assert "missing: NOT in the gradebook: nbgrader could not record this submission" in grading.stdout
    assert "corrupt: 0 / 15" in grading.stdout  # recorded, with nothing nbgrader could read
    assert "1 submission(s) not recorded" in grading.stderr


def test_export_has_the_exact_scores(course, grading):
    run("nbgrader", "export", "--to", "grades.csv", cwd=course)
    rows = {row["student_id"]: row for row in csv.DictReader((course / "grades.csv").open())}
    assert {s: float(r["score"]) for s, r in rows.items()} == \
        {"reference": 15.0, "blank": 0.0, "half": 8.0, "corrupt": 0.0}
    assert all(float(r["max_score"]) == 15.0 for r in rows.values())


def test_gradebook_has_each_exercise_score(course, grading):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert gradebook.find_grade("train_bpe", A, A, "half").score == 4
        assert gradebook.find_grade("decode", A, A, "half").score == 0


def test_feedback_shows_scores_and_messages(course, grading):
    run("nbgrader", "generate_feedback", A, "--force", cwd=course)
    html = (course / "feedback" / "half" / A / f"{A}.html").read_text()
    assert "Score: 8.0 / 15.0" in html or "8.0 / 15.0" in html
    assert "not implemented yet" in html


def test_nbgrader_autograde_itself_leaves_the_same_gradebook(course, grading):
    """nbgrader's own command (and so the formgrader's button) gives what the convenience command
    gave, scores and comments alike: it is the same grading."""
    before = gradebook_state(course)
    run("nbgrader", "autograde", A, "--force", "--student=half", cwd=course)
    assert gradebook_state(course) == before
    autograded = json.loads((course / "autograded" / "half" / A / f"{A}.ipynb").read_text())
    outputs = {c["metadata"]["nbgrader"]["grade_id"]: c["outputs"] for c in autograded["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c["cell_type"] == "code"}
    assert "".join(outputs["decode"][-1]["data"]["text/plain"]) == "0"
    assert "not implemented yet" in "".join(outputs["decode"][0]["text"])


def gradebook_state(course) -> dict:
    """Every grade cell's automatic score and every comment, per student."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebooks = gradebook.find_assignment(A).submissions
        return {(s.student.id, g.name): (g.auto_score, g.manual_score) for s in notebooks
                for n in s.notebooks for g in n.grades} | \
               {(s.student.id, c.name): (c.auto_comment, c.manual_comment) for s in notebooks
                for n in s.notebooks for c in n.comments}
