"""A fresh course directory as the README sets one up, for tests that run its instructor recipe."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.course import REPO
from tests.notebooks import load, solution_cell

README_EXCHANGE = "/usr/local/share/nbgrader/exchange"
DEADLINE = re.compile(r'--duedate="[^"]*"')
COURSE_FILES = ("autograder", "learnerbox", "coursekit", "source", "release", "nbgrader_config.py")


def recipe(name: str) -> str:
    """The fenced block that follows `<!-- recipe: NAME -->` in the README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- recipe: {re.escape(name)} -->\n```\w*\n(.*?)```", text, re.S)
    assert match, f"the README has no block marked 'recipe: {name}'"
    return match.group(1)


def copy_course(course: Path):
    """What a fresh clone holds of the course, copied into `course` (made here)."""
    course.mkdir()
    for name in COURSE_FILES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, course / name)


def instructor_env() -> dict:
    """The environment an instructor runs the README's commands in: the course's Python first on
    PATH, and no PYTHONPATH (the course finds its grader through nbgrader_config.py)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)
    return env


def shell(script: str, cwd: Path, exchange: Path, prefix=(), **env) -> str:
    """Run README lines in bash as written, the exchange moved to `exchange`, with the course's
    Python first on PATH; under `prefix` (a student's account), with `env` added, if given."""
    command = [*prefix, "bash", "-euo", "pipefail", "-c", script.replace(README_EXCHANGE, str(exchange))]
    done = subprocess.run(command, cwd=cwd, env=dict(instructor_env(), **env), capture_output=True, text=True)
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def set_up_course(root: Path, config: str = "") -> tuple[Path, Path]:
    """root/course as the README's instructor sets it up (`prepare_course`, then `release`).
    Returns the course and the exchange."""
    course, exchange = prepare_course(root, config)
    release(course, exchange)
    return course, exchange


def prepare_course(root: Path, config: str = "") -> tuple[Path, Path]:
    """root/course, with its exchange in root/exchange and `config` added to nbgrader_config.py:
    a copy of the course and the README's "once" block (less apt-get)."""
    course, exchange = root / "course", root / "exchange"
    copy_course(course)
    shell("\n".join(line for line in recipe("once").splitlines() if not line.startswith("apt-get")), root, exchange)
    with (course / "nbgrader_config.py").open("a") as file:
        file.write(f'\nc.Exchange.root = "{exchange}"\n{config}')
    return course, exchange


def release(course: Path, exchange: Path):
    """The README's "release" block, with a deadline far ahead."""
    shell(DEADLINE.sub('--duedate="2099-01-01 00:00:00 UTC"', recipe("release")), course, exchange)


def fill_in(notebook_path: Path, assignment: str, exercises, changes: dict[str, str] | None = None):
    """What a student does in Jupyter: write the reference's solution into some exercises ("all"),
    or the code `changes` gives for an exercise."""
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    reference = load(assignment)
    if exercises == "all":
        exercises = [c["metadata"]["nbgrader"]["grade_id"] for c in reference["cells"]
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    for exercise in exercises:
        solution_cell(notebook, exercise)["source"] = solution_cell(reference, exercise)["source"]
    for exercise, code in (changes or {}).items():
        solution_cell(notebook, exercise)["source"] = code
    notebook_path.write_text(json.dumps(notebook), encoding="utf-8")
