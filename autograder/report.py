"""Print grading results: a progress table for people, one JSON object for programs."""
import json

from autograder.grade import NOT_JUDGED, NotebookResult

SYMBOLS = {"full": "✓", "partial": "~", "zero": "✗", "todo": "·"}


def as_json(results: list[NotebookResult], errors: list[str]) -> str:
    return json.dumps({"score": round(sum(r.score for r in results), 2),
                       "max_score": round(sum(r.max_score for r in results), 2),
                       "assignments": [r.to_json() for r in results], "errors": errors},
                      indent=2, ensure_ascii=False)


def as_table(result: NotebookResult, verbose: bool = True) -> str:
    """One notebook: its score, then each exercise's points, checks and (verbose) failures."""
    width = _name_width([result])
    lines = [f"{result.assignment:<{width}} {_score(result.score, result.max_score):>13}   {result.notebook}"]
    if result.error:
        lines.append(f"    ✗ {result.error}")
    for problem in result.problems:
        lines.append(f"    ! could not run {problem}")
    for exercise in result.exercises:
        lines.append(f"  {SYMBOLS[_state(exercise)]} {exercise.exercise:<{width - 4}} "
                     f"{_score(exercise.points, exercise.max_points):>13}   "
                     f"{exercise.passed}/{len(exercise.checks)} checks passed")
        if verbose:
            lines.extend(_failures(exercise))
    return "\n".join(lines) + "\n"


def as_progress(results: list[NotebookResult]) -> str:
    """One line per notebook: its score and how many exercises have full marks; then the total."""
    width = _name_width(results)
    lines = [f"{'progress':<{width}} {'score':>13}   exercises with full marks"]
    for result in results:
        lines.append(f"{result.assignment:<{width}} {_score(result.score, result.max_score):>13}   "
                     f"{_full(result.exercises)} of {len(result.exercises)}")
    exercises = [e for r in results for e in r.exercises]
    total = sum(r.score for r in results), sum(r.max_score for r in results)
    lines.append(f"{'total':<{width}} {_score(*total):>13}   {_full(exercises)} of {len(exercises)}")
    return "\n".join(lines) + "\n"


def _full(exercises) -> int:
    return sum(_state(e) == "full" for e in exercises)


def _name_width(results: list[NotebookResult]) -> int:
    # wide enough for the course's longest names, so tables printed one by one line up
    return max([36] + [len(e.exercise) + 4 for r in results for e in r.exercises] + [len(r.assignment) for r in results])


def _state(exercise) -> str:
    # no check passed and the code still raises NotImplementedError somewhere (a class's checks can
    # also fail on what the given base class sets up): the learner has not started, nothing to list
    if exercise.passed == 0 and any("not implemented yet" in c.message for c in exercise.checks):
        return "todo"
    if exercise.points >= exercise.max_points:
        return "full"
    return "partial" if exercise.points > 0 else "zero"


def exercise_feedback(exercise) -> str:
    """One exercise's score, checks and failures as plain text (nbgrader's feedback)."""
    lines = [f"{SYMBOLS[_state(exercise)]} {exercise.exercise}: {_score(exercise.points, exercise.max_points)}, "
             f"{exercise.passed}/{len(exercise.checks)} checks passed"]
    return "\n".join(lines + [line[4:] for line in _failures(exercise)])


def _failures(exercise) -> list[str]:
    if _state(exercise) == "todo":
        return ["      not implemented yet"]
    lines = [f"      {exercise.error}"] if exercise.error else []
    failed = failures_first_specific(exercise)
    if failed:
        lead = failed[0]
        lines.append(f"      ✗ {lead.description}")
        lines.append(f"          {lead.message}")
        if _hint_helps(lead):
            lines.append(f"          hint: {lead.hint}")
    if len(failed) > 1:
        lines.append("      also failed (fix the one above first; it may be the same bug):")
        lines.extend(f"        ✗ {check.description}" + (f" (hint: {check.hint})" if _hint_helps(check) else "")
                     for check in failed[1:])
    return lines


def _hint_helps(check) -> bool:
    """A guard not judged (the result was wrong) says nothing about the bug its hint names."""
    return bool(check.hint) and not check.message.startswith(NOT_JUDGED)


def failures_first_specific(exercise) -> list:
    """The failed checks, the lead first: a guard whose failure proves one bug (an argument changed,
    a result that depends on earlier calls: such a bug makes other checks fail too, pointing
    elsewhere), then checks of one property each (their hints name one bug), then the broad ones
    that compare with the reference over many inputs; checks not run after a crash come last.
    One bug, one message."""
    failed = [check for check in exercise.checks if not check.passed]
    return sorted(failed, key=lambda c: (c.message.startswith(("not run", NOT_JUDGED)), not c.proves_bug, c.broad))


def _score(points: float, max_points: float) -> str:
    return f"{points:g} / {max_points:g}"
