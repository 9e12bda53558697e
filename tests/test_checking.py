"""The comparisons hidden checks use (autograder.checking): what they accept and what they name."""
import math

import pytest
import torch

from autograder.checking import CheckFailed, expect_close


def test_expect_close_reads_python_floats_in_float64():
    with pytest.raises(CheckFailed, match="max abs difference 1e-09"):
        expect_close(0.1 + 1e-9, 0.1, atol=1e-12)  # through float32 both would read 0.1
    expect_close([0.1, 1 / 3], torch.tensor([0.1, 1 / 3], dtype=torch.float64), atol=0)


def test_expect_close_wants_nan_and_inf_where_they_are_expected():
    expect_close([math.nan, math.inf, 1.0], [math.nan, math.inf, 1.0], atol=0)
    with pytest.raises(CheckFailed, match="at index \\(1,\\) expected inf, got -inf"):
        expect_close([math.nan, -math.inf], [math.nan, math.inf])
    with pytest.raises(CheckFailed, match="contains NaN or inf"):
        expect_close([math.nan, 1.0], [0.0, 1.0])


def test_expect_same_gradients_wants_no_gradient_where_the_reference_has_none():
    from autograder.torch_checks import expect_same_gradients
    expected = ([torch.ones(3)], {"base.weight": None, "lora_A": torch.ones(2)})
    expect_same_gradients(([torch.ones(3)], {"base.weight": None, "lora_A": torch.ones(2)}), expected, 0, "layer")
    with pytest.raises(CheckFailed, match="a gradient reached base.weight, which should be frozen"):
        expect_same_gradients(([torch.ones(3)], {"base.weight": torch.zeros(4), "lora_A": torch.ones(2)}),
                              expected, 0, "layer")
    with pytest.raises(CheckFailed, match="no gradient reached lora_A"):
        expect_same_gradients(([torch.ones(3)], {"base.weight": None, "lora_A": None}), expected, 0, "layer")


def test_learner_errors_are_instances_of_every_builtin_exception():
    """A learner's exception comes back as a LearnerError that is also the built-in type of its name, MemoryError
    included (its __new__ refuses the usual base order), so pytest.raises(MemoryError) and except clauses work."""
    import builtins

    from autograder.remote import LearnerError, learner_error
    for name, builtin in vars(builtins).items():
        if not (isinstance(builtin, type) and issubclass(builtin, Exception)) or builtin in (Exception, ExceptionGroup):
            continue
        error = learner_error({"type": name, "message": "m", "description": "d", "from_learner": True})
        assert isinstance(error, LearnerError) and isinstance(error, builtin), name
        assert (str(error), error.type_name, error.description) == ("m", name, "d"), name


def test_learner_code_calls_to_follows_the_learners_helpers_and_skips_strings():
    from autograder.notebook import LearnerCode
    code = LearnerCode([(1, '''
import torch.nn.functional as F

def helper(q, k, v):
    return F.scaled_dot_product_attention(q, k, v)

def attention(q, k, v):
    if q is None:
        raise ValueError("do not call scaled_dot_product_attention here")
    return helper(q, k, v)

def plain(q):
    return q.softmax(-1)
''')])
    assert code.calls_to("attention", {"scaled_dot_product_attention"}) == ["F.scaled_dot_product_attention"]
    assert code.calls_to("plain", {"scaled_dot_product_attention"}) == []
    assert code.calls_to("plain", {"softmax"}) == ["q.softmax"]
    assert code.calls_to("missing", {"softmax"}) == []


def test_differential_cases_go_to_the_worker_in_growing_batches():
    """Few trips to the worker, yet the smallest cases go alone first: a failure there stops the check
    before larger cases (which might hang) run."""
    from autograder.checking import growing_batches
    assert growing_batches(list(range(10))) == [[0], [1, 2], [3, 4, 5, 6], [7, 8, 9]]
    assert growing_batches([]) == []


def test_expect_gradients_like_reference_wants_none_where_the_reference_has_none():
    from autograder.torch_checks import expect_gradients_like_reference
    names = ["the student's logits", "the teacher's logits"]
    expected = ([torch.ones(2), None], {})
    expect_gradients_like_reference(([torch.ones(2), None], {}), expected, names, "loss")
    with pytest.raises(CheckFailed, match="reached the teacher's logits"):
        expect_gradients_like_reference(([torch.ones(2), torch.ones(2)], {}), expected, names, "loss")
    with pytest.raises(CheckFailed, match="no gradient reached the student's logits"):
        expect_gradients_like_reference(([None, None], {}), expected, names, "loss")
    with pytest.raises(CheckFailed, match="carries no gradient"):
        expect_gradients_like_reference(None, expected, names, "loss")
