"""What the learner reads for one exercise: which failure leads, which hints are shown, and guards
that credit only a right result."""
import pytest

from autograder.checking import CheckFailed, NOT_JUDGED, judged_only_if_right
from autograder.grade import CheckResult, ExerciseResult, grade_notebook
from autograder.report import exercise_feedback, failures_first_specific
from tests.notebooks import with_solution


def check(name, passed=False, message="wrong", proves_bug=False, broad=False):
    return CheckResult(name, f"{name} holds", 1.0, passed, "" if passed else message, f"fix {name}", broad,
                       proves_bug)


def exercise(*checks):
    return ExerciseResult("f", 3.0, 1.0, list(checks))


def test_a_proven_bug_leads_then_one_property_then_broad_then_not_run_or_not_judged():
    checks = [check("guard", message=f"{NOT_JUDGED}: the result is wrong"), check("crashed", message="not run: x"),
              check("broad", broad=True), check("property"), check("proven", proves_bug=True), check("ok", True)]
    assert [c.check for c in failures_first_specific(exercise(*checks))] == \
        ["proven", "property", "broad", "guard", "crashed"]


def test_a_guard_not_judged_is_listed_without_its_hint():
    feedback = exercise_feedback(exercise(check("property"), check("guard", message=f"{NOT_JUDGED}: wrong")))
    assert "hint: fix property" in feedback
    assert "✗ guard holds\n" in feedback + "\n" and "fix guard" not in feedback


def test_judged_only_if_right_turns_a_wrong_result_into_not_judged():
    with pytest.raises(CheckFailed, match=f"^{NOT_JUDGED}: the result is wrong \\(expected 1\\)$"):
        with judged_only_if_right():
            raise CheckFailed("expected 1")
    with judged_only_if_right():
        pass  # a right result: the guard stands


def test_a_guard_gives_no_credit_to_a_wrong_result_that_leaves_its_input_alone(tmp_path, runner):
    notebook = with_solution("02-bpe-tokenizer", "merge", "def merge(ids, pair, new_id):\n    return []\n", tmp_path)
    merge = grade_notebook(notebook, "02-bpe-tokenizer", runner, only=["merge"]).exercises[0]
    guard = next(c for c in merge.checks if c.description == "The input list is not modified.")
    assert not guard.passed and guard.message.startswith(NOT_JUDGED)


def test_an_unstarted_class_says_not_implemented_yet_even_where_checks_fail_otherwise():
    unstarted = exercise(check("train", message="not implemented yet (raises NotImplementedError)"),
                         check("types", message="id_to_token should be a list, got None"))
    assert exercise_feedback(unstarted).splitlines()[1:] == ["  not implemented yet"]
