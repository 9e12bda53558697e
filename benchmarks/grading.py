"""Time grading one submission: the course's grader vs `nbgrader autograde`, in one run.

    python benchmarks/grading.py [ASSIGNMENT] [--repeat N]

Builds a throw-away nbgrader course with ASSIGNMENT (default 02-bpe-tokenizer), submits the
reference solutions for one student, then times both graders on that submission.
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
from tests.notebooks import load, solution_cell  # noqa: E402


def timed(command, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def make_course(root: Path, assignment: str) -> Path:
    shutil.copytree(SOURCE / assignment, root / "source" / assignment)
    shutil.copy(REPO / "nbgrader_config.py", root)
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("assignment", nargs="?", default="02-bpe-tokenizer")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        submitted = make_course(root, args.assignment)
        ours = [timed([sys.executable, "-m", "autograder", "check", "--json", str(submitted)], REPO)
                for _ in range(args.repeat)]
        theirs = [timed([sys.executable, "-m", "nbgrader", "autograde", args.assignment, "--force"], root)
                  for _ in range(args.repeat)]
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    print(f"grading one {args.assignment} submission, median of {args.repeat} runs")
    print(f"{'grader':<48}{'seconds':>8}")
    print(f"{'python -m autograder check (hidden checks)':<48}{ours_s:>8.2f}")
    print(f"{'nbgrader autograde (executes the notebook)':<48}{theirs_s:>8.2f}")
    print(f"ratio nbgrader / course grader: {theirs_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
