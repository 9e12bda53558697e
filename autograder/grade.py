"""Grade one notebook: run its hidden checks in a capped child process and score each exercise.

An exercise's score is its points × the weighted fraction of its checks that passed. If learner
code kills the child (a crash, os._exit, the memory cap, the wall timeout), the check that was
running fails with the reason, and the remaining checks run in a fresh child (autograder.runner).
"""
import json
import os
import queue
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.course import REPO, checks_file
from autograder.notebook import NotebookError, exercise_points, read_code_cells
from autograder.runner import WALL_SECONDS, Runner, child_runner

MEMORY_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{8,}\b")  # not code points (up to 0x10FFFF)
NOT_JUDGED = "not judged"  # how a guard's message starts when the result it watched was wrong
# one notebook graded alone: its exercises in this many parts, each by a child of its own at once
# (a child and its worker take turns on one core, so two children use two cores), where grading
# imports no torch (light_to_start)
PARTS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@dataclass
class CheckResult:
    check: str
    description: str
    weight: float
    passed: bool
    message: str = ""
    hint: str = ""
    broad: bool = False  # compared with the reference over many inputs: fails for many bugs
    proves_bug: bool = False  # failed a guard whose failure proves one bug (checking.ProvenBug)


@dataclass(frozen=True)
class Outcome:
    """How one check ended, as the trusted child reported it (or as a crash decided)."""
    passed: bool
    message: str
    proves_bug: bool = False


@dataclass
class ExerciseResult:
    exercise: str
    max_points: float
    points: float = 0.0
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""

    @property
    def passed(self):
        return sum(c.passed for c in self.checks)

    @property
    def failed(self):
        return len(self.checks) - self.passed

    def to_json(self):
        return {"exercise": self.exercise, "points": self.points, "max_points": self.max_points,
                "passed": self.passed, "failed": self.failed, "error": self.error,
                "checks": [asdict(c) for c in self.checks]}


@dataclass
class NotebookResult:
    assignment: str
    notebook: str
    exercises: list[ExerciseResult]
    error: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def score(self):
        return round(sum(e.points for e in self.exercises), 2)

    @property
    def max_score(self):
        return round(sum(e.max_points for e in self.exercises), 2)

    def to_json(self):
        return {"assignment": self.assignment, "notebook": self.notebook, "score": self.score,
                "max_score": self.max_score, "error": self.error, "problems": self.problems,
                "exercises": [e.to_json() for e in self.exercises]}


def grade_notebook(notebook: Path, assignment: str, runner: Runner | list[Runner] | None = None,
                   only: list[str] | None = None) -> NotebookResult:
    """Grade one notebook; pass a `child_runner()` to grade many without restarting it, or a list
    of runners to grade its exercises in that many parts at once (without: PARTS fresh runners).
    `only`: grade just these exercises (the course's own tests of one exercise)."""
    if runner is None:
        with runners_for_one() as runners:
            return grade_notebook(notebook, assignment, runners, only)
    exercises = {name: ExerciseResult(name, points) for name, points in exercise_points(assignment).items()
                 if only is None or name in only}
    result = NotebookResult(assignment, str(notebook), list(exercises.values()))
    try:
        cells = read_code_cells(notebook)
    except NotebookError as error:
        result.error = str(error)
        return result
    runners = runner if isinstance(runner, list) else [runner]
    if len(runners) > 1 and not light_to_start(cells, assignment):
        runners = runners[:1]
    checks, outcomes, problems = run_checks_in_parts(notebook, assignment, runners, list(exercises))
    result.problems = problems
    for check in checks:
        outcome = outcomes.get(check["check"], Outcome(False, "the check did not run"))
        exercises[check["exercise"]].checks.append(CheckResult(
            check["check"], check["description"], check["weight"], outcome.passed,
            "" if outcome.passed else outcome.message, "" if outcome.passed else check["hint"], check["broad"],
            outcome.proves_bug))
    for exercise in exercises.values():
        total = sum(c.weight for c in exercise.checks)
        earned = sum(c.weight for c in exercise.checks if c.passed)
        exercise.points = round(exercise.max_points * earned / total, 2) if total else 0.0
        if not exercise.checks:
            exercise.error = "no checks could run for this exercise"
    return result


def grade_many(notebooks: list[tuple[Path, str]], jobs: int = 1, sandbox: bool | None = None, done=None):
    """Grade (notebook, assignment) pairs, `jobs` at a time, each job with a runner of its own;
    results in the given order. `done(result)` is called as each finishes, in the given order.
    One notebook alone is graded in PARTS parts at once, whatever `jobs` says."""
    if len(notebooks) == 1:
        with runners_for_one(sandbox) as runners:
            result = grade_notebook(*notebooks[0], runners)
        if done:
            done(result)
        return [result]
    runners = queue.Queue()
    for _ in range(max(1, min(jobs, len(notebooks)))):
        runners.put(child_runner(sandbox, many=len(notebooks) > jobs))

    def grade(item):
        runner = runners.get()
        try:
            return grade_notebook(*item, runner)
        finally:
            runners.put(runner)

    try:
        with ThreadPoolExecutor(runners.qsize()) as pool:
            results = []
            for result in pool.map(grade, notebooks):
                results.append(result)
                if done:
                    done(result)
            return results
    finally:
        while not runners.empty():
            runners.get().close()


def run_checks_in_parts(notebook: Path, assignment: str, runners: list[Runner], exercises: list[str]):
    """`run_checks` for every exercise, the exercises dealt out to the runners, all running at once."""
    parts = [part for part in (exercises[i::len(runners)] for i in range(len(runners))) if part]
    if len(parts) <= 1:
        return run_checks(notebook, assignment, runners[0], exercises)
    with ThreadPoolExecutor(len(parts)) as pool:
        graded = list(pool.map(lambda runner, part: run_checks(notebook, assignment, runner, part), runners, parts))
    checks = [check for part_checks, _, _ in graded for check in part_checks]
    outcomes = {check: outcome for _, part_outcomes, _ in graded for check, outcome in part_outcomes.items()}
    return checks, outcomes, next((problems for _, _, problems in graded if problems), [])


@contextmanager
def runners_for_one(sandbox: bool | None = None):
    """PARTS fresh runners, to grade one notebook alone."""
    runners = [child_runner(sandbox, many=False) for _ in range(PARTS)]
    try:
        yield runners
    finally:
        for runner in runners:
            runner.close()


def light_to_start(cells: list, assignment: str) -> bool:
    """Whether grading imports no torch (~1.5 s in each child and in each sandbox): only then does a
    second child at once pay off (02 alone: 1.08 s -> 0.92 s; 08, which would import torch twice
    more: 5.9 s -> 9.8 s). `cells`: the notebook's, as read_code_cells gives them."""
    code = "\n".join(source for _, source, _ in cells)
    return "torch" not in code and "torch" not in checks_file(assignment).read_text(encoding="utf-8")


def run_checks(notebook: Path, assignment: str, runner: Runner, exercises: list[str]):
    """Run the checks, restarting after a crash; returns (checks, {check: Outcome}, problems)."""
    checks, outcomes, problems = [], {}, []
    remaining = None  # None: every check
    while True:
        finished_before = len(outcomes)
        events, ending = _run_child(notebook, assignment, exercises, remaining, runner)
        for event in events:
            if event["event"] == "collected" and not checks:
                checks = event["checks"]
            elif event["event"] == "loaded" and not problems:
                problems = [without_addresses(str(p)) for p in event.get("problems", [])]
            elif event["event"] == "result" and event.get("check") not in outcomes:
                # the first result of a check is the grader's; nothing may overwrite it
                outcomes[event["check"]] = Outcome(event.get("passed") is True,
                                                   without_addresses(str(event.get("message", ""))),
                                                   event.get("proves_bug") is True)
        if not checks:
            raise RuntimeError(f"the grader could not collect the checks for {assignment}: {ending}")
        started = [e.get("check") for e in events if e["event"] == "start"]
        if ending is None:
            break
        if started and started[-1] not in outcomes:
            # the crash costs its whole exercise once, rather than one restart per check
            crashed = next(c["exercise"] for c in checks if c["check"] == started[-1])
            outcomes[started[-1]] = Outcome(False, f"your code stopped the grader: {ending}")
            for check in checks:
                if check["exercise"] == crashed:
                    outcomes.setdefault(check["check"], Outcome(False, f"not run: an earlier check of "
                                                                       f"`{crashed}` stopped the grader"))
        if not any(e["event"] == "loaded" for e in events):
            # the notebook's definitions themselves kill the process: nothing else can run
            for check in checks:
                outcomes.setdefault(check["check"],
                                    Outcome(False, f"loading your notebook stopped the grader: {ending}"))
        if len(outcomes) == finished_before:  # no progress: never retry the same crash
            for check in checks:
                outcomes.setdefault(check["check"], Outcome(False, f"not run: the grader stopped ({ending})"))
        remaining = [c["check"] for c in checks if c["check"] not in outcomes]
        if not remaining:
            break
    return checks, outcomes, problems


def without_addresses(text: str) -> str:
    """The same feedback on every run: a repr's memory address changes from one run to the next."""
    return MEMORY_ADDRESS.sub("0x…", text)


def _run_child(notebook: Path, assignment: str, exercises: list[str], selected: list[str] | None, runner: Runner):
    """Run the child once; returns (events, None if it ended normally else why it did not)."""
    with tempfile.TemporaryDirectory() as scratch:
        results = Path(scratch) / "results.jsonl"
        results.touch()
        returncode, stderr = runner.run([str(notebook.absolute()), assignment, str(results), runner.sandbox_mode,
                                         ",".join(exercises), *(selected or [])], str(REPO))
        events = read_events(results)
    if returncode is None:
        return events, f"it ran for more than {WALL_SECONDS} s and was stopped"
    return events, None if returncode in (0, 1) else _why(returncode, stderr)


def read_events(results: Path) -> list[dict]:
    """The child's events; a line that is not one (never written by the grader) is skipped."""
    events = []
    for line in results.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            events.append(event)
    return events


def _why(returncode: int, stderr: str) -> str:
    if returncode < 0:
        return f"the process was killed by signal {-returncode}" + \
            (" (out of memory?)" if -returncode == 9 else "")
    last = stderr.strip().splitlines()[-1:] or [""]
    return f"the process exited with code {returncode} {last[0]}".strip()
