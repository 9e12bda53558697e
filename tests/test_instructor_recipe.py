"""The README's instructor recipe, run as written: a real exchange, three students, one of them late.

The commands come from the README's blocks marked `<!-- recipe: NAME -->`; only the exchange's path
(a temporary folder) and the deadline (moved while students submit) are substituted. Each student
runs the student commands as an account of their own: their own uid and passwd entry (nbgrader
names a submission after the account that makes it), home and nbgrader_config.py, in a user
namespace made by bubblewrap, so the course's Python stays readable as it is for the instructor.
"""
import csv
from dataclasses import dataclass
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests import course_copy
from tests.course_copy import DEADLINE, README_EXCHANGE, fill_in, recipe, set_up_course

A = "02-bpe-tokenizer"
SOLVED = {"ada": "all", "bob": ["count_pairs", "merge", "train_bpe"], "cy": []}  # bob's 8 / 15 is late


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
    """Run README lines as the instructor or, if given, as `account`, in its home."""
    if not account:
        return course_copy.shell(script, cwd, exchange)
    return course_copy.shell(
        script, cwd, exchange, prefix=["bwrap", "--dev-bind", "/", "/", "--unshare-user", "--uid", str(account.uid),
                                       "--gid", str(account.uid), "--ro-bind", str(account.passwd), "/etc/passwd",
                                       "--ro-bind", str(account.group), "/etc/group", "--"],
        USER=account.name, LOGNAME=account.name, HOME=str(account.home))


def pass_deadline(course: Path, exchange: Path):
    """Set the deadline to the next whole second (nbgrader's dates have no fraction) and wait past it:
    whoever submitted before is on time, whoever submits next is late."""
    deadline = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    release = recipe("release")
    line = next(line for line in release.splitlines() if "db assignment add" in line)
    shell(DEADLINE.sub(f'--duedate="{deadline:%Y-%m-%d %H:%M:%S} UTC"', line), course, exchange)
    time.sleep(max(0.0, (deadline - datetime.now(timezone.utc)).total_seconds()) + 0.1)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipe")
    course, exchange = set_up_course(root, 'c.LateSubmissionPlugin.penalty_method = "zero"\n')
    homes = root / "home"
    accounts = {}
    for uid, (student, exercises) in enumerate(SOLVED.items(), 2001):
        home = homes / student
        (home / ".jupyter").mkdir(parents=True)
        (home / ".jupyter" / "nbgrader_config.py").write_text(recipe("student config").replace(README_EXCHANGE, str(exchange)))
        accounts[student] = make_account(student, uid, home, root / f"{student}-account")
        if student == "bob":  # the deadline passes before bob submits
            pass_deadline(course, exchange)
        fetch, submit = recipe("student submits").strip().splitlines()
        shell(fetch, home, exchange, accounts[student])
        fill_in(home / A / f"{A}.ipynb", A, exercises)
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
