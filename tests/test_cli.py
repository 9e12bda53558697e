"""`python -m autograder start|check`: the workspace, the table, --json, copies, students, exit codes."""
import json
import subprocess
import sys

from autograder import cli
from autograder.course import RELEASE, REPO, assignments
from tests.notebooks import load, release_notebook, with_solution, write

A = "02-bpe-tokenizer"
MERGE_COPIES_IDS = "def merge(ids, pair, new_id):\n    return list(ids)\n"  # passes a few of merge's checks


def run(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True)


def progress_lines(stdout: str) -> list[str]:
    """The progress table printed after the notebooks' tables."""
    return stdout[stdout.rindex("\nprogress ") + 1:].strip().splitlines()


def test_table_shows_points_checks_and_hints(tmp_path):
    done = run("check", str(with_solution(A, "merge", MERGE_COPIES_IDS, tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "✓ count_pairs" in done.stdout and "2 / 2" in done.stdout
    assert "~ merge" in done.stdout and "✗ merge" not in done.stdout
    assert "hint: Replace every occurrence" in done.stdout
    assert "expected [9, 3, 9]" in done.stdout or "first difference at index 0" in done.stdout


def test_json_has_totals_and_per_exercise_detail():
    done = run("check", "--json", str(release_notebook(A)))
    report = json.loads(done.stdout)
    assert report["score"] == 0 and report["max_score"] == 15
    exercise = report["assignments"][0]["exercises"][0]
    assert {"exercise", "points", "max_points", "passed", "failed", "checks"} <= set(exercise)
    assert exercise["checks"][0]["message"].startswith("not implemented yet")


def test_a_folder_of_assignments_gets_a_progress_table():
    done = run("check", "--brief", str(RELEASE))
    assert done.returncode == 0
    assert f"release/{A}/{A}.ipynb" in done.stdout
    progress = progress_lines(done.stdout)
    assert progress[0].split() == ["progress", "score", "exercises", "with", "full", "marks"]
    assert [line.split()[0] for line in progress[1:]] == [*assignments(), "total"]
    assert f"{A} 0 / 15 0 of 6" in [" ".join(line.split()) for line in progress]


def test_progress_counts_exercises_with_full_marks(tmp_path):
    done = run("check", "--brief", str(with_solution(A, "merge", MERGE_COPIES_IDS, tmp_path)), str(release_notebook(A)))
    lines = [" ".join(line.split()) for line in progress_lines(done.stdout)]
    partial = lines[1].split()[1]  # merge's partial score depends on how many of its checks pass
    assert 13 < float(partial) < 15
    assert lines[1:] == [f"{A} {partial} / 15 5 of 6", f"{A} 0 / 15 0 of 6", f"total {partial} / 30 5 of 12"]


def test_a_file_that_is_not_a_notebook_gets_one_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    done = run("check", str(path))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {path}: not a Jupyter notebook (expected a .ipynb file)"


def test_missing_path_is_an_unusable_argument(tmp_path):
    done = run("check", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "no such file or folder" in done.stderr


def test_unknown_notebook_name_is_reported(tmp_path):
    path = write(load(A), tmp_path, "my-homework")
    done = run("check", str(path))
    assert done.returncode == 2 and "not one of the course's assignments" in done.stderr


def test_start_copies_the_release_into_the_workspace_and_never_overwrites_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "WORKSPACE", tmp_path / "workspace")
    mine = tmp_path / "workspace" / A / f"{A}.ipynb"
    assert cli.main(["start", "02"]) == 0
    assert mine.read_bytes() == release_notebook(A).read_bytes()
    mine.write_text("my work")
    assert cli.main(["start", A, "01"]) == 0
    assert mine.read_text() == "my work"
    out = capsys.readouterr().out
    assert "already there, left as it is" in out and "python -m autograder check" in out
    assert (tmp_path / "workspace" / "01-tokenizer-basics" / "01-tokenizer-basics.ipynb").exists()
    assert cli.main(["start", "99"]) == 2


def test_check_grades_the_workspace_once_it_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "WORKSPACE", tmp_path / "workspace")
    assert cli.default_paths() == [RELEASE]
    cli.main(["start", "02"])
    assert cli.default_paths() == [tmp_path / "workspace"]


def test_the_workspace_is_ignored_by_git_so_a_pull_never_meets_learner_work():
    ignored = subprocess.run(["git", "check-ignore", "-q", f"workspace/{A}/{A}.ipynb"], cwd=REPO)
    assert ignored.returncode == 0


def test_check_grades_one_notebook_per_assignment_and_names_the_student(tmp_path):
    folder = tmp_path / "submitted" / "alice" / A
    folder.mkdir(parents=True)
    write(load(A), folder, A)
    copy = write(load(A), folder, f"{A}-Copy1")
    done = run("check", "--brief", str(tmp_path / "submitted"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ignored {copy}: a copy, not {A}.ipynb")
    assert f"to grade it on purpose: python -m autograder check {copy}" in done.stdout
    assert "student alice\n" in done.stdout and done.stdout.count("15 / 15") == 1
    assert cli.find_notebooks([copy]) == ([(copy, A)], [], [])  # named on purpose: graded
