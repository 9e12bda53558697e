"""The course's test suite: its cost per assignment, and what that means for 27 assignments.

    python benchmarks/suite_cost.py [--xml FILE] [-- PYTEST ARGS...]

Runs the suite as .ci/run does (two pytest-xdist workers) with a JUnit XML report, or reads the
report FILE of an earlier run, then sums the tests' durations by assignment: a test belongs to an
assignment when its id names it (`04-mini-gpt`, or a test file `test_04_...`); every other test is
shared. Durations are seconds of work; the wall time of a run is about their sum divided by the
number of workers. The projection for 27 assignments is shared + 27 × the mean per assignment,
divided by the workers.
"""
import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORKERS = 2
COURSE_SIZE = 27


def run_suite(xml: Path, pytest_args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", str(WORKERS), "--dist", "loadgroup",
                    f"--junitxml={xml}", *pytest_args], cwd=REPO)
    return time.perf_counter() - start


def assignment_of(test_id: str, assignments: list[str]) -> str | None:
    for name in assignments:
        number = name[:2]
        if name in test_id or re.search(rf"test_{number}_", test_id):
            return name
    return None


def costs(xml: Path) -> tuple[dict[str, float], float]:
    """Seconds per assignment, and the shared seconds, from a JUnit XML report."""
    sys.path.insert(0, str(REPO))
    from autograder.course import assignments
    names = assignments()
    per_assignment, shared = defaultdict(float), 0.0
    for case in ElementTree.parse(xml).iter("testcase"):
        test_id = f"{case.get('classname', '')}.{case.get('name', '')}"
        seconds = float(case.get("time", 0))
        owner = assignment_of(test_id, names)
        if owner:
            per_assignment[owner] += seconds
        else:
            shared += seconds
    return dict(per_assignment), shared


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xml", type=Path, help="the JUnit XML of an earlier run (default: run the suite now)")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    wall = None
    if args.xml is None:
        args.xml = Path(tempfile.mkdtemp()) / "suite.xml"
        wall = run_suite(args.xml, args.pytest_args)
    per_assignment, shared = costs(args.xml)
    print(f"{'assignment':<32}{'seconds of work':>16}")
    for name, seconds in sorted(per_assignment.items()):
        print(f"{name:<32}{seconds:>16.0f}")
    print(f"{'shared (not one assignment)':<32}{shared:>16.0f}")
    mean = statistics.mean(per_assignment.values())
    total = shared + sum(per_assignment.values())
    print(f"\nmean per assignment: {mean:.0f} s of work, {mean / WORKERS / 60:.2f} min of wall time "
          f"on {WORKERS} workers")
    if wall is not None:
        print(f"this run: {wall / 60:.1f} min of wall time for {total / 60:.1f} min of work")
    projected = (shared + COURSE_SIZE * mean) / WORKERS
    print(f"projected for {COURSE_SIZE} assignments: {projected / 60:.0f} min of wall time")


if __name__ == "__main__":
    main()
