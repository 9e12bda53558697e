"""Command line: `python -m autograder start|check|build|nbgrader ...`."""
import argparse
import os
import shutil
import sys
from pathlib import Path

from autograder.course import RELEASE, REPO, assignment_of, assignments

WORKSPACE = REPO / "workspace"  # a self-learner's copies of the release (ignored by git)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    start = commands.add_parser("start", help="copy assignments into workspace/ to work on them there")
    start.add_argument("assignments", nargs="*", help="names or numbers, e.g. 02 (default: every assignment)")

    check = commands.add_parser("check", help="grade notebooks and print what passed and failed")
    check.add_argument("paths", nargs="*", type=Path,
                       help="notebooks, assignment folders or folders of them "
                            "(default: workspace/ when it exists, else release/)")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    check.add_argument("--brief", action="store_true", help="scores only, no failure details")
    check.add_argument("--jobs", type=int, default=1, help="grade this many notebooks at once (default 1; one notebook alone is "
                            "graded in two halves at once where two cores are available)")

    build = commands.add_parser("build", help="regenerate release/ and solutions/ from source/")
    build.add_argument("assignments", nargs="*", help="default: every assignment in source/")
    build.add_argument("--release-only", action="store_true", help="skip executing solutions/")

    nbgrader = commands.add_parser("nbgrader", help="nbgrader autograde a collected assignment, then print its scores")
    nbgrader.add_argument("assignment")
    nbgrader.add_argument("--course-dir", type=Path, default=Path("."))
    nbgrader.add_argument("--student", default="*", help="glob of student ids (default: all)")
    nbgrader.add_argument("--allow-unsandboxed", action="store_true",
                          help="grade even where bubblewrap cannot run (learner code could then read files "
                               "and use the network)")

    args = parser.parse_args(argv)
    if args.command == "start":
        return start_work(args.assignments)
    if args.command == "check":
        return run_check(args)
    if args.command == "build":
        from autograder.build import build
        return build(args.assignments, execute_solutions=not args.release_only)
    from autograder.gradebook import grade_into_gradebook
    return grade_into_gradebook(args.assignment, args.course_dir.resolve(), args.student, args.allow_unsandboxed)


def start_work(names: list[str]) -> int:
    """Copy each assignment's release notebook into workspace/, never over work already there."""
    known = assignments()
    chosen = [_assignment_named(name, known) for name in names] or known
    if None in chosen:
        unknown = [name for name, found in zip(names, chosen) if found is None]
        print(f"error: no assignment {', '.join(unknown)}; the course has {', '.join(known)}", file=sys.stderr)
        return 2
    for assignment in chosen:
        target = WORKSPACE / assignment / f"{assignment}.ipynb"
        shown = os.path.relpath(target)
        if target.exists():
            print(f"{shown}: already there, left as it is (start never overwrites your work)")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(RELEASE / assignment / f"{assignment}.ipynb", target)
        print(f"{shown}: ready. Open it with: jupyter lab {shown}")
    print("Check your work with: python -m autograder check")
    return 0


def _assignment_named(name: str, known: list[str]) -> str | None:
    """An assignment from its full name or its number: "02" or "02-bpe-tokenizer"."""
    matches = [a for a in known if name in (a, a[:2])]
    return matches[0] if matches else None


def default_paths() -> list[Path]:
    """The learner's workspace when `start` made one, else the blank release."""
    has_work = WORKSPACE.is_dir() and any(WORKSPACE.rglob("*.ipynb"))
    return [WORKSPACE if has_work else RELEASE]


def run_check(args) -> int:
    from autograder.grade import grade_many
    from autograder.report import as_json, as_progress, as_table
    from autograder.runner import NOT_SANDBOXED
    from autograder.sandbox import bubblewrap_available
    notebooks, copies, errors = find_notebooks(args.paths or default_paths())
    for copy in copies:
        print(_copy_note(copy), file=sys.stderr if args.json else sys.stdout, flush=True)
    if errors and not notebooks:
        print("\n".join(f"error: {e}" for e in errors), file=sys.stderr)
        return 2
    if not bubblewrap_available():
        print(NOT_SANDBOXED, file=sys.stderr)
    show = None if args.json else lambda result: print(_student_line(result) + as_table(result, not args.brief),
                                                        flush=True)
    results = grade_many(notebooks, args.jobs, done=show)
    if args.json:
        print(as_json(results, errors))
    else:
        for student, graded in _by_student(results).items():
            if len(graded) > 1:
                print(_student_line(graded[0]) + as_progress(graded))
        for error in errors:
            print(f"error: {error}")
    return 0


def find_notebooks(paths: list[Path]):
    """(notebook, assignment) pairs to grade, the copies found in folders (not graded), and one-line
    errors for unusable paths. In a folder only `NN-slug.ipynb` is graded: JupyterLab's
    `NN-slug-Copy1.ipynb` and other copies would be second attempts. A file named on purpose is graded."""
    found, copies, errors = [], [], []
    for path in paths:
        if not path.exists():
            errors.append(f"{path}: no such file or folder")
        elif path.is_dir():
            notebooks = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not notebooks:
                errors.append(f"{path}: no notebooks in this folder")
            for notebook in notebooks:
                if _assignment_of(notebook) in (None, notebook.stem):
                    _add(notebook, found, errors)
                else:
                    copies.append(notebook)
        elif path.suffix != ".ipynb":
            errors.append(f"{path}: not a Jupyter notebook (expected a .ipynb file)")
        else:
            _add(path, found, errors)
    return found, copies, errors


def _add(notebook: Path, found: list, errors: list):
    assignment = _assignment_of(notebook)
    if assignment is None:
        errors.append(f"{notebook}: not one of the course's assignments (name it NN-slug.ipynb)")
    else:
        found.append((notebook, assignment))


def _assignment_of(notebook: Path) -> str | None:
    """Its name's or its folder's assignment, or for a renamed copy the assignment its name starts with."""
    return assignment_of(notebook) or next((a for a in assignments() if notebook.stem.startswith(a)), None)


def _copy_note(copy: Path) -> str:
    return (f"ignored {copy}: a copy, not {_assignment_of(copy)}.ipynb (one notebook per assignment is "
            f"graded); to grade it on purpose: python -m autograder check {copy}")


def student_of(notebook: str) -> str:
    """STUDENT for nbgrader's submitted/STUDENT/ASSIGNMENT/... paths, else ""."""
    parts = Path(notebook).parts
    for i in reversed(range(len(parts) - 2)):
        if parts[i] == "submitted":
            return parts[i + 1]
    return ""


def _student_line(result) -> str:
    student = student_of(result.notebook)
    return f"student {student}\n" if student else ""


def _by_student(results) -> dict:
    groups = {}
    for result in results:
        groups.setdefault(student_of(result.notebook), []).append(result)
    return groups
