"""Time grading: the course's grader vs `nbgrader autograde`, and a class at --jobs 1 and 2, in one run.

    python benchmarks/grading.py [ASSIGNMENT] [--repeat N] [--class-size N]

1. Builds a throw-away nbgrader course with ASSIGNMENT (default 02-bpe-tokenizer), submits the
   reference solutions for one student, then times both graders on that submission (ours as the
   command a learner runs, sandboxed where bubblewrap runs).
2. Grades --class-size copies of that submission (default 20), sandboxed, one at a time and two
   at a time, and unsandboxed with forked workers (what the course's own tests use).
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course import SOURCE  # noqa: E402
from autograder.grade import grade_many  # noqa: E402
from autograder.sandbox import bubblewrap_available  # noqa: E402
from tests.notebooks import load, solution_cell  # noqa: E402


def timed(command, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def make_course(root: Path, assignment: str) -> Path:
    shutil.copytree(SOURCE / assignment, root / "source" / assignment)
    # nbgrader's own pipeline (Execute runs the notebook in a kernel), without the course's grader
    config = (REPO / "nbgrader_config.py").read_text().split("\n# Autograde scores with the hidden checks")[0]
    (root / "nbgrader_config.py").write_text(config)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"],
                   cwd=root, check=True, capture_output=True)
    notebook = json.loads((root / "release" / assignment / f"{assignment}.ipynb").read_text())
    reference = load(assignment)
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("_solution"):
            cell["source"] = solution_cell(reference, grade_id.removesuffix("_solution"))["source"]
    submitted = root / "submitted" / "learner" / assignment / f"{assignment}.ipynb"
    submitted.parent.mkdir(parents=True)
    submitted.write_text(json.dumps(notebook))
    return submitted


def grade_class(submitted: Path, assignment: str, size: int, jobs: int, sandbox: bool) -> float:
    """Seconds to grade `size` submissions, `jobs` at a time, runner start-up included."""
    start = time.perf_counter()
    scores = {result.score for result in grade_many([(submitted, assignment)] * size, jobs, sandbox)}
    assert len(scores) == 1, scores
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("assignment", nargs="?", default="02-bpe-tokenizer")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--class-size", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        submitted = make_course(root, args.assignment)
        ours = [timed([sys.executable, "-m", "autograder", "check", "--json", str(submitted)], REPO)
                for _ in range(args.repeat)]
        theirs = [timed([sys.executable, "-m", "nbgrader", "autograde", args.assignment, "--force"], root)
                  for _ in range(args.repeat)]
        sandboxed = bubblewrap_available()
        classes = [(f"{'sandboxed' if sandboxed else 'unsandboxed'}, --jobs {jobs}",
                    grade_class(submitted, args.assignment, args.class_size, jobs, sandboxed)) for jobs in (1, 2)]
        classes.append(("unsandboxed, forked workers, --jobs 1",
                        grade_class(submitted, args.assignment, args.class_size, 1, False)))
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    print(f"grading one {args.assignment} submission, median of {args.repeat} runs")
    print(f"{'grader':<48}{'seconds':>8}")
    print(f"{'python -m autograder check (hidden checks)':<48}{ours_s:>8.2f}")
    print(f"{'nbgrader autograde (executes the notebook)':<48}{theirs_s:>8.2f}")
    print(f"ratio nbgrader / course grader: {theirs_s / ours_s:.1f}x")
    print(f"\ngrading a class of {args.class_size} submissions")
    print(f"{'how':<48}{'seconds':>8}{'per notebook':>14}")
    for name, seconds in classes:
        print(f"{name:<48}{seconds:>8.2f}{seconds / args.class_size:>14.2f}")
    print(f"ratio --jobs 1 / --jobs 2: {classes[0][1] / classes[1][1]:.2f}x")


if __name__ == "__main__":
    main()
