"""Command line: `python -m autograder check|build|nbgrader ...`."""
import argparse
import sys
from pathlib import Path

from autograder.course import RELEASE, assignment_of


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="grade notebooks and print what passed and failed")
    check.add_argument("paths", nargs="*", type=Path, default=[RELEASE],
                       help="notebooks, assignment folders or folders of them (default: release/)")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    check.add_argument("--brief", action="store_true", help="scores only, no failure details")
    check.add_argument("--jobs", type=int, default=1, help="grade this many notebooks at once (default 1)")

    build = commands.add_parser("build", help="regenerate release/ and solutions/ from source/")
    build.add_argument("assignments", nargs="*", help="default: every assignment in source/")
    build.add_argument("--release-only", action="store_true", help="skip executing solutions/")

    nbgrader = commands.add_parser("nbgrader", help="grade a collected assignment into nbgrader's gradebook")
    nbgrader.add_argument("assignment")
    nbgrader.add_argument("--course-dir", type=Path, default=Path("."))
    nbgrader.add_argument("--student", default="*", help="glob of student ids (default: all)")
    nbgrader.add_argument("--jobs", type=int, default=1, help="grade this many submissions at once (default 1)")
    nbgrader.add_argument("--allow-unsandboxed", action="store_true",
                          help="grade even where bubblewrap cannot run (learner code could then read files "
                               "and use the network)")

    args = parser.parse_args(argv)
    if args.command == "check":
        return run_check(args)
    if args.command == "build":
        from autograder.build import build
        return build(args.assignments, execute_solutions=not args.release_only)
    from autograder.gradebook import grade_into_gradebook
    return grade_into_gradebook(args.assignment, args.course_dir.resolve(), args.student, args.allow_unsandboxed,
                                args.jobs)


def run_check(args) -> int:
    from autograder.grade import grade_many
    from autograder.report import as_json, as_progress, as_table
    from autograder.runner import NOT_SANDBOXED
    from autograder.sandbox import bubblewrap_available
    notebooks, errors = find_notebooks(args.paths)
    if errors and not notebooks:
        print("\n".join(f"error: {e}" for e in errors), file=sys.stderr)
        return 2
    if not bubblewrap_available():
        print(NOT_SANDBOXED, file=sys.stderr)
    show = None if args.json else lambda result: print(as_table(result, verbose=not args.brief), flush=True)
    results = grade_many(notebooks, args.jobs, done=show)
    if args.json:
        print(as_json(results, errors))
    else:
        if len(results) > 1:
            print(as_progress(results))
        for error in errors:
            print(f"error: {error}")
    return 0


def find_notebooks(paths: list[Path]):
    """(notebook, assignment) pairs for every path, and one-line errors for unusable ones."""
    found, errors = [], []
    for path in paths:
        if not path.exists():
            errors.append(f"{path}: no such file or folder")
        elif path.is_dir():
            notebooks = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not notebooks:
                errors.append(f"{path}: no notebooks in this folder")
            for notebook in notebooks:
                _add(notebook, found, errors)
        elif path.suffix != ".ipynb":
            errors.append(f"{path}: not a Jupyter notebook (expected a .ipynb file)")
        else:
            _add(path, found, errors)
    return found, errors


def _add(notebook: Path, found: list, errors: list):
    assignment = assignment_of(notebook)
    if assignment is None:
        errors.append(f"{notebook}: not one of the course's assignments (name it NN-slug.ipynb)")
    else:
        found.append((notebook, assignment))
