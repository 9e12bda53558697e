"""The formgrader's Autograde button, clicked in a real browser, scores with the course's hidden checks.

A course directory is set up as the README's instructor recipe says (its blocks marked
`<!-- recipe: NAME -->`, with a temporary exchange and a far deadline), three submissions are
placed under `submitted/` (the reference, the blank release and the reference with one bug), a
Jupyter server with nbgrader's server extensions as installed (the server `jupyter lab` runs, less
the Lab page) serves it on localhost, and headless Chromium clicks each submission's Autograde
button on the formgrader's "Manage Submissions" page. The scores are then read from the page and
from the gradebook, and the feedback from the formgrader's view of each graded notebook.

Needs Debian's Chromium (/usr/bin/chromium; `bash .ci/run` installs it) and Playwright's Python
package (requirements-dev.txt), which drives that Chromium and never downloads a browser. On a
failure the page's screenshot is saved under pytest's temporary folder and named in the message.
"""
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.course_copy import fill_in, instructor_env, prepare_course, release
from tests.mutants.m02_bpe_tokenizer import MUTANTS

A = "02-bpe-tokenizer"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BUG = next(m for m in MUTANTS if m.exercise == "count_pairs")  # one bug, in a 2-point exercise
SUBMISSIONS = ("blank", "buggy", "reference")
MAX_SCORE = 15.0
SERVER_START_S = 90
AUTOGRADE_S = 240  # one click: the grader's fork server starts, then one sandboxed submission
PAGE_MS = 30_000


def submit(course: Path):
    """What `nbgrader collect` leaves: each student's copy of the release, as they changed it."""
    for student in SUBMISSIONS:
        folder = course / "submitted" / student / A
        shutil.copytree(course / "release" / A, folder)
        if student != "blank":
            fill_in(folder / f"{A}.ipynb", A, "all", changes={BUG.exercise: BUG.code} if student == "buggy" else {})


class JupyterServer:
    """`jupyter server` in the course directory (where the README runs instructor commands), with
    nbgrader's server extensions as installed and token auth, on a free port of 127.0.0.1; its
    output in `home`/server.log."""

    def __init__(self, course: Path, home: Path):
        self.home, self.token = home, secrets.token_hex(16)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = dict(instructor_env(), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"))
        with (home / "server.log").open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                 "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                 f"--ServerApp.root_dir={course}", *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI is root
                cwd=course, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_until_up(self):
        deadline = time.monotonic() + SERVER_START_S
        while True:
            assert self.process.poll() is None, f"jupyter server exited ({self.process.returncode}):\n{self.log()}"
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5):
                    return
            except OSError:
                assert time.monotonic() < deadline, f"jupyter server not up in {SERVER_START_S} s:\n{self.log()}"
                time.sleep(0.3)

    def log(self) -> str:
        return (self.home / "server.log").read_text(errors="replace")[-6000:]

    def stop(self):
        """End the server, then whatever is left in its session (the grader's fork server, say)."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(15)


@pytest.fixture(scope="module")
def course_and_server(tmp_path_factory):
    """The course, set up and submitted to while its server starts; the server stopped whatever happens."""
    course, exchange = prepare_course(tmp_path_factory.mktemp("formgrader"))
    server = JupyterServer(course, tmp_path_factory.mktemp("jupyter-home"))
    try:
        release(course, exchange)
        submit(course)
        server.wait_until_up()
        yield course, server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def course(course_and_server) -> Path:
    return course_and_server[0]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Debian Chromium with a fresh profile (Playwright passes it as --user-data-dir)."""
    assert CHROMIUM.exists(), f"no {CHROMIUM}: apt-get install chromium (bash .ci/run does)"
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=str(CHROMIUM), headless=True,
                                                       args=CHROMIUM_FLAGS)
        try:
            yield context
        finally:
            context.close()


@contextmanager
def screenshot_on_failure(page, folder: Path, name: str, extra=lambda: ""):
    try:
        yield
    except Exception as error:
        shot = folder / f"{name}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            where = f"screenshot: {shot}"
        except Exception as screenshot_error:  # the page itself may be gone
            where = f"no screenshot ({screenshot_error})"
        raise AssertionError(f"{name}: {error}\n{where}\nURL: {page.url}\n{extra()}") from error


def submission_row(page, student: str):
    """The student's row on Manage Submissions."""
    return page.locator("#main-table tr", has=page.locator("td.student-id", has_text=re.compile(f"^{student}$")))


@dataclass
class Clicked:
    """What the Autograde buttons left: each row's score and each result dialog's text, and the
    page, to look further."""
    url: str
    page: object
    shots: Path
    scores: dict = field(default_factory=dict)
    dialogs: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def autograded(course_and_server, browser, tmp_path_factory) -> Clicked:
    """From the formgrader's Manage Assignments, open the assignment's submissions and click each
    one's Autograde button, waiting for its result dialog and its row's new status and score."""
    server = course_and_server[1]
    url = server.url
    clicked = Clicked(url, browser.new_page(), tmp_path_factory.mktemp("screenshots"))
    page = clicked.page
    page.set_default_timeout(PAGE_MS)
    expect.set_options(timeout=PAGE_MS)
    with screenshot_on_failure(page, clicked.shots, "manage-submissions", server.log):
        page.goto(f"{url}/formgrader?token={server.token}")  # the token logs the browser in
        page.goto(f"{url}/formgrader/manage_assignments")
        assignment = page.locator("#main-table tr", has=page.locator("td.name", has_text=A))
        assignment.locator("td.num-submissions a").click()  # the number of submissions links to them
        page.wait_for_url(f"**/formgrader/manage_submissions/{A}")
        for student in SUBMISSIONS:
            row = submission_row(page, student)
            expect(row.locator("td.status")).to_have_text("needs autograding")
            row.locator("td.autograde a").click()
            dialog = page.locator(".modal.in")  # Bootstrap's dialog, shown when the request returns
            dialog.wait_for(state="visible", timeout=AUTOGRADE_S * 1000)
            clicked.dialogs[student] = dialog.inner_text()
            assert dialog.locator(".modal-title").inner_text() == "Success", \
                f"Autograde for {student} failed:\n{clicked.dialogs[student]}"
            dialog.locator(".modal-footer button").click()
            dialog.wait_for(state="detached")
            expect(row.locator("td.status")).to_have_text("graded")
            clicked.scores[student] = row.locator("td.score").inner_text()
    return clicked


def test_the_page_shows_full_marks_for_the_reference_and_zero_for_the_blank(autograded):
    scores = autograded.scores
    assert scores["reference"] == "15 / 15", scores
    assert scores["blank"] == "0 / 15", scores
    got, out_of = map(float, scores["buggy"].split(" / "))
    assert 0 < got < MAX_SCORE and out_of == MAX_SCORE, scores


def test_the_gradebook_has_the_scores_the_page_shows(autograded, course):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        recorded = {s: gradebook.find_submission(A, s).score for s in SUBMISSIONS}
        bug = gradebook.find_grade(BUG.exercise, A, A, "buggy")
        others = [g for g in gradebook.find_submission_notebook(A, A, "buggy").grades if g.name != BUG.exercise]
        assert bug.score < bug.max_score and all(g.score == g.max_score for g in others)
        assert gradebook.find_submission(A, "reference").max_score == MAX_SCORE
    assert recorded["reference"] == MAX_SCORE and recorded["blank"] == 0, recorded
    assert {s: f"{score:g} / 15" for s, score in recorded.items()} == autograded.scores


def test_the_button_runs_the_courses_grader_not_a_kernel(autograded, course):
    """nbgrader's log, in the result dialog: the course's HiddenChecks took the Execute step's place
    (it grades only sandboxed: the course's config does not allow otherwise)."""
    for student, text in autograded.dialogs.items():
        assert "Applying preprocessor: HiddenChecks" in text, f"{student}:\n{text}"
        assert "Applying preprocessor: Execute" not in text, f"{student}:\n{text}"
    assert "allow_unsandboxed" not in (course / "nbgrader_config.py").read_text()


def test_the_formgrader_shows_the_courses_feedback(autograded):
    """Each graded notebook's view in the formgrader (linked from its student) shows the hidden
    checks' report as preformatted text under each grade cell: the failed check and its hint for
    the bug, "not implemented yet" for the blank, every check passed for the reference."""
    page = autograded.page
    for student, reports in (
            ("buggy", {BUG.exercise: [f"~ {BUG.exercise}: ", "checks passed\n  ✗ ", "hint: ", BUG.feedback],
                       "train_bpe": ["✓ train_bpe: 4 / 4, ", "checks passed"]}),
            ("blank", {"train_bpe": ["· train_bpe: 0 / 4, 0/", "checks passed\n  not implemented yet"]}),
            ("reference", {BUG.exercise: [f"✓ {BUG.exercise}: 2 / 2, "]})):
        with screenshot_on_failure(page, autograded.shots, f"feedback-{student}"):
            page.goto(f"{autograded.url}/formgrader/manage_submissions/{A}")
            row = submission_row(page, student)
            row.locator("td.student-name a").click()  # the student's notebooks of the assignment
            page.locator("#main-table a[href*='/formgrader/submissions/']", has_text=A).click()
            page.wait_for_url("**/formgrader/submissions/**")
            for exercise, phrases in reports.items():
                report = page.locator("pre", has_text=f" {exercise}: ")
                expect(report).to_have_count(1)
                text = report.inner_text()
                for phrase in phrases:
                    assert phrase in text, f"{student}'s report on {exercise} lacks {phrase!r}:\n{text}"
            html = page.content()
            assert "def test_" not in html and "expect_equal" not in html, "the hidden checks' code is shown"
