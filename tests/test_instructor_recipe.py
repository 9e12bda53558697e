"""The README's instructor recipe, run as written: a real exchange, three students, one of them late.

The commands come from the README's blocks marked `<!-- recipe: NAME -->`; only the exchange's path
(a temporary folder) and the deadline (moved while students submit) are substituted. Each student
runs the student commands as an account of their own: their own uid and passwd entry (nbgrader
names a submission after the account that makes it), home and nbgrader_config.py, in a user
namespace made by bubblewrap, so the course's Python stays readable as it is for the instructor.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from autograder.course import REPO
from tests.notebooks import load, solution_cell

A = "02-bpe-tokenizer"
README_EXCHANGE = "/usr/local/share/nbgrader/exchange"
DEADLINE = re.compile(r'--duedate="[^"]*"')
COURSE_FILES = ("autograder", "learnerbox", "coursekit", "source", "release", "nbgrader_config.py")
SOLVED = {"ada": "all", "bob": ["count_pairs", "merge", "train_bpe"], "cy": []}  # bob's 8 / 15 is late


def recipe(name: str) -> str:
    """The fenced block that follows `<!-- recipe: NAME -->` in the README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- recipe: {re.escape(name)} -->\n```\w*\n(.*?)```", text, re.S)
    assert match, f"the README has no block marked 'recipe: {name}'"
    return match.group(1)


@dataclass(frozen=True)
class Account:
    """A student's account: a uid, and passwd and group files that name it."""
    name: str
    uid: int
    home: Path
    passwd: Path
    group: Path


def make_account(name: str, uid: int, home: Path, folder: Path) -> Account:
    folder.mkdir()
    passwd, group = folder / "passwd", folder / "group"
    passwd.write_text(Path("/etc/passwd").read_text() + f"{name}:x:{uid}:{uid}:{name}:{home}:/bin/bash\n")
    group.write_text(Path("/etc/group").read_text() + f"{name}:x:{uid}:\n")
    return Account(name, uid, home, passwd, group)


def shell(script: str, cwd: Path, exchange: Path, account: Account | None = None) -> str:
    """Run README lines in bash, with the course's Python first on PATH; as `account`, in its home,
    if given."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)  # the course finds its grader through nbgrader_config.py, as for an instructor
    command = ["bash", "-euo", "pipefail", "-c", script.replace(README_EXCHANGE, str(exchange))]
    if account:
        env.update(USER=account.name, LOGNAME=account.name, HOME=str(account.home))
        command = ["bwrap", "--dev-bind", "/", "/", "--unshare-user", "--uid", str(account.uid),
                   "--gid", str(account.uid), "--ro-bind", str(account.passwd), "/etc/passwd",
                   "--ro-bind", str(account.group), "/etc/group", "--", *command]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def fill_in(notebook_path: Path, exercises):
    """What a student does in Jupyter: write the reference's solution into some exercises."""
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    reference = load(A)
    if exercises == "all":
        exercises = [c["metadata"]["nbgrader"]["grade_id"] for c in reference["cells"]
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    for exercise in exercises:
        solution_cell(notebook, exercise)["source"] = solution_cell(reference, exercise)["source"]
    notebook_path.write_text(json.dumps(notebook), encoding="utf-8")


def set_deadline(course: Path, exchange: Path, when: str):
    release = recipe("release")
    line = next(line for line in release.splitlines() if "db assignment add" in line)
    shell(DEADLINE.sub(f'--duedate="{when}"', line), course, exchange)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipe")
    course, exchange, homes = root / "course", root / "exchange", root / "home"
    course.mkdir()
    for name in COURSE_FILES:  # what a fresh clone holds of the course
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, course / name)
    once = "\n".join(line for line in recipe("once").splitlines() if not line.startswith("apt-get"))
    shell(once, root, exchange)
    (course / "nbgrader_config.py").open("a").write(
        f'\nc.Exchange.root = "{exchange}"\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    shell(DEADLINE.sub('--duedate="2099-01-01 00:00:00 UTC"', recipe("release")), course, exchange)
    accounts = {}
    for uid, (student, exercises) in enumerate(SOLVED.items(), 2001):
        home = homes / student
        (home / ".jupyter").mkdir(parents=True)
        (home / ".jupyter" / "nbgrader_config.py").write_text(recipe("student config").replace(README_EXCHANGE, str(exchange)))
        accounts[student] = make_account(student, uid, home, root / f"{student}-account")
        if student == "bob":  # the deadline passes before bob submits
            set_deadline(course, exchange, datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
        fetch, submit = recipe("student submits").strip().splitlines()
        shell(fetch, home, exchange, accounts[student])
        fill_in(home / A / f"{A}.ipynb", exercises)
        shell(submit, home, exchange, accounts[student])
    log = shell(recipe("grade"), course, exchange)
    for account in accounts.values():
        shell(recipe("student fetches feedback"), account.home, exchange, account)
    return course, homes, log


def test_export_has_raw_scores_late_penalty_and_scores(graded):
    course, _, _ = graded
    rows = {row["student_id"]: row for row in csv.DictReader((course / "grades.csv").open())}
    got = {s: (float(r["raw_score"]), float(r["late_submission_penalty"]), float(r["score"])) for s, r in rows.items()}
    assert got == {"ada": (15.0, 0.0, 15.0), "bob": (8.0, 8.0, 0.0), "cy": (0.0, 0.0, 0.0)}
    assert all(float(r["max_score"]) == 15.0 for r in rows.values())


def test_students_fetch_feedback_with_each_exercise_explained(graded):
    _, homes, _ = graded
    pages = {s: next((homes / s / A / "feedback").rglob(f"{A}.html")).read_text() for s in SOLVED}
    assert "Score: 15.0 / 15.0" in pages["ada"]
    assert "not implemented yet" in pages["cy"] and "Score: 0.0 / 15.0" in pages["cy"]
    assert "✓ train_bpe: 4 / 4" in pages["bob"] and "· decode: 0 / 2" in pages["bob"]


def test_feedback_shows_no_hidden_check_code(graded):
    _, homes, _ = graded
    page = next((homes / "bob" / A / "feedback").rglob(f"{A}.html")).read_text()
    assert "def test_" not in page and "expect_equal" not in page


def test_grading_is_sandboxed(graded):
    _, _, log = graded
    assert "not sandboxed" not in log
