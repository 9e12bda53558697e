"""Hidden checks for 16-long-context. Inputs differ from the visible checks: head dimensions from 2 to 128, bases
from 2 to 10^6 (ints and floats), factors from 1 to 64 (ints and floats), original contexts from 6 to 8,192
tokens (where YaRN's range is clamped at 0, at head_dim - 1, or collapses to one pair), other beta_fast and
beta_slow, float32 and float64 frequency tensors of 0 to 2 leading dimensions, sequence lengths 0 to 40, and
small random course models (coursekit.models.LlamaForCausalLM, float32 and float64) built in the worker by a
probe from the same seed as the reference's here. Frequencies are compared to a relative 1e-5 (float32; real
bugs here differ by 1% or more), cos and sin to 1e-6, losses to 1e-5.

Every promise of the text and docstrings, and the check that exercises it:

rope_inv_freq
- base ** (-2i / head_dim): test_rope_formula; the base used: test_rope_uses_the_base
- float32, shape (head_dim // 2,), head_dim 2 gives [1]: test_rope_float32_and_shape
- the course model's buffer: test_rope_equals_the_course_models_buffer
- ValueError for odd head_dim or head_dim < 2: test_rope_rejects_odd_or_small_head_dim
- no state kept between calls: test_rope_calls_are_independent
- many (head_dim, base), int and float bases: test_rope_matches_reference
position_interpolation
- inv_freq / factor: test_pi_divides_by_the_factor
- factor 1 keeps the values, in a new tensor: test_pi_factor_one_gives_a_copy
- same shape and dtype, any shape, float32 and float64: test_pi_keeps_shape_and_dtype
- inv_freq unchanged: test_pi_leaves_the_input_unchanged
- int factors: test_pi_accepts_an_int_factor
- ValueError for factor < 1: test_pi_rejects_a_factor_below_one
- many cases: test_pi_matches_reference
ntk_inv_freq
- base * factor ** (d / (d - 2)): test_ntk_scales_the_base
- pair 0 kept, last pair divided by factor: test_ntk_first_and_last_pairs
- factor 1 gives the default frequencies: test_ntk_factor_one_is_the_default
- float32, shape (head_dim // 2,): test_ntk_float32_and_shape
- ValueError for factor < 1, odd head_dim or head_dim < 4: test_ntk_rejects_bad_arguments
- many cases: test_ntk_matches_reference
yarn_inv_freq
- a (tensor, float) pair, float32 (head_dim // 2,): test_yarn_returns_frequencies_and_a_float
- attention factor 0.1 ln s + 1: test_yarn_attention_factor
- pairs at or before low keep theta, at or after high get theta / s: test_yarn_keeps_fast_and_interpolates_slow_pairs
- the ramp (i - low) / (high - low) over the pair index in between: test_yarn_ramp_between_the_bounds
- corr(r) from the turns in original_max_position: test_yarn_uses_the_original_context
- bounds rounded outwards (floor, ceil; truncate=True): test_yarn_rounds_the_bounds_outwards
- low clamped at 0: test_yarn_clamps_low_at_zero; high clamped at head_dim - 1: test_yarn_clamps_high
- low == high: 0.001 added: test_yarn_equal_bounds
- beta_fast, beta_slow (keyword and positional): test_yarn_uses_the_betas
- factor 1: default frequencies and 1.0: test_yarn_factor_one_is_the_default
- ValueError for factor < 1 and for an odd head_dim: test_yarn_rejects_bad_arguments
- no state kept between calls: test_yarn_calls_are_independent
- many cases: test_yarn_matches_reference
ScaledRotaryEmbedding
- default frequencies and factor 1 give the course model's cos and sin: test_rotary_equals_the_course_rotary
- attention_factor multiplies cos and sin (default 1.0): test_rotary_attention_factor_scales_cos_and_sin
- angles repeated as cat((angles, angles)) (half-split): test_rotary_half_split_layout
- float32 (seq_len, 2 * len(inv_freq)), seq_len 0 and 1: test_rotary_shapes_and_dtype
- a non-persistent float32 buffer named inv_freq, attention_factor a float: test_rotary_buffer_and_attribute
- a copy of inv_freq (the caller's tensor unchanged and not shared): test_rotary_copies_the_frequencies
- float32 after .double(): test_rotary_float32_after_double
- calls independent (forward leaves the buffer unchanged): test_rotary_forward_twice
- in the course model: the reference's logits: test_rotary_in_the_course_model
- many (frequencies, factor, seq_len): test_rotary_matches_reference
loss_by_position
- entry t: the prediction at t for ids[:, t + 1]: test_loss_predicts_the_next_token
- averaged over the batch, not over positions: test_loss_averages_over_the_batch
- float32 (T - 1,), T = 1 gives an empty tensor: test_loss_shape_and_dtype
- float32 for a float64 model: test_loss_float32_for_a_float64_model
- no gradient: test_loss_builds_no_graph
- ids and the model's weights unchanged: test_loss_leaves_ids_and_model_unchanged
- many models and batches: test_loss_matches_reference
"""
import math
import random

import torch

from autograder.checking import (Case, exercise, expect, expect_close, expect_equal, expect_independent_calls,
                                 expect_proven, expect_same_as_reference, judged_only_if_right)
from autograder.generators import leading_shape
from autograder.remote import kind_of, observe, probe
from autograder.torch_checks import Shown, gen

RTOL = 1e-5


def theta(head_dim, base):
    """RoPE's frequencies in float64 (the checks' own formula)."""
    return float(base) ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)


def same_frequencies(got, expected, what, dtype=None):
    """A tensor of the expected dtype and shape, within a relative RTOL of the expected values."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, dtype or expected.dtype, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    expect_close(got, expected, 0.0, RTOL, what=what)


def raises_value_error(function, *args):
    """'ValueError' if function(*args) raised one, else what it returned or raised."""
    try:
        result = function(*args)
    except ValueError:
        return "ValueError"
    except Exception:  # noqa: BLE001 - a learner's other exception is the answer
        return "another exception"
    return f"returned {kind_of(result)}"


# rope_inv_freq ----------------------------------------------------------------------------------------

ROPE = "rope_inv_freq"


@exercise(ROPE, weight=2, hint="theta_i = base ** (-2i / head_dim) for i = 0 .. head_dim/2 - 1: "
                               "1.0 / base ** (torch.arange(0, head_dim, 2) / head_dim), the even numbers over head_dim.")
def test_rope_formula(student):
    """head_dim 6, base 8: [1, 8^(-1/3), 8^(-2/3)] = [1, 0.5, 0.25]."""
    same_frequencies(student.rope_inv_freq(6, 8.0), torch.tensor([1.0, 0.5, 0.25]), "rope_inv_freq(6, 8.0)",
                     torch.float32)


@exercise(ROPE, hint="Use the base argument (not a fixed 10000): base ** (-2i / head_dim).")
def test_rope_uses_the_base(student):
    """head_dim 4 with bases 4 and 1e6."""
    for base in (4.0, 1e6):
        same_frequencies(student.rope_inv_freq(4, base), theta(4, base).float(), f"rope_inv_freq(4, {base:g})")


@exercise(ROPE, hint="Return a float32 tensor of head_dim // 2 values: torch.arange(0, head_dim, 2, "
                     "dtype=torch.float32), one frequency per pair.")
def test_rope_float32_and_shape(student):
    """head_dim 2 gives [1.0]; head_dim 128 gives 64 values; both float32."""
    same_frequencies(student.rope_inv_freq(2, 10000.0), torch.tensor([1.0]), "rope_inv_freq(2, 10000.0)", torch.float32)
    same_frequencies(student.rope_inv_freq(128, 10000.0), theta(128, 10000.0).float(), "rope_inv_freq(128, 10000.0)",
                     torch.float32)


@exercise(ROPE, hint="Compute as the course model does: 1.0 / base ** (torch.arange(0, head_dim, 2, "
                     "dtype=torch.float32) / head_dim).")
def test_rope_equals_the_course_models_buffer(student):
    """The inv_freq buffer of a course model with head_dim 32, base 500000."""
    from coursekit.models import LlamaConfig, RotaryEmbedding
    buffer = RotaryEmbedding(LlamaConfig(hidden_size=96, num_attention_heads=3, rope_theta=500000.0)).inv_freq
    same_frequencies(student.rope_inv_freq(32, 500000.0), buffer, "rope_inv_freq(32, 500000.0)")


@exercise(ROPE, hint="Raise ValueError when head_dim is odd or below 2 (head_dim % 2 or head_dim < 2), before "
                     "computing anything.")
def test_rope_rejects_odd_or_small_head_dim(student):
    """head_dim 5, 1, 0 and -2 raise ValueError."""
    got = [raises_value_error(student.rope_inv_freq, d, 10000.0) for d in (5, 1, 0, -2)]
    expect_equal(got, ["ValueError"] * 4, "rope_inv_freq(head_dim, 10000.0) for head_dim 5, 1, 0, -2")


@exercise(ROPE, hint="Compute the frequencies from both arguments at every call: no cache keyed on head_dim "
                     "alone, no module-level tensor that later calls change.")
def test_rope_calls_are_independent(student, reference):
    """Calls in a row with the same head_dim and other bases, one repeated."""
    expect_independent_calls(student, reference, ROPE, [(16, 10000.0), (16, 100.0), (8, 10000.0), (16, 10000.0)],
                             compare=same_frequencies)


def rope_cases(seed, count=30):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        head_dim = rng.choice([2, 4, 6, 8, 10, 32, 64, 96, 128])
        base = rng.choice([2, 10, 10000, 2.5, 500.0, 10000.0, 1e6])
        cases.append(Case((head_dim, base)))
    return cases + [Case((3, 10000.0)), Case((0, 10000.0))]


@exercise(ROPE, weight=2, broad=True, hint="1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / "
                                           "head_dim), and ValueError for an odd or too small head_dim.")
def test_rope_matches_reference(student, reference):
    """30 (head_dim, base) pairs from 2 to 128 and 2 to 1e6, int and float bases, and two invalid head_dims."""
    expect_same_as_reference(student.rope_inv_freq, reference.rope_inv_freq, rope_cases(1), ROPE,
                             compare=same_frequencies)


# position_interpolation -----------------------------------------------------------------------------

PI = "position_interpolation"


@exercise(PI, hint="Divide every frequency by the factor: inv_freq / factor (not times, not factor squared).")
def test_pi_divides_by_the_factor(student):
    """[1, 0.5, 0.01] / 2.5 = [0.4, 0.2, 0.004]."""
    same_frequencies(student.position_interpolation(torch.tensor([1.0, 0.5, 0.01]), 2.5),
                     torch.tensor([0.4, 0.2, 0.004]), "position_interpolation([1, 0.5, 0.01], 2.5)")


@exercise(PI, hint="Return a new tensor also for factor 1: inv_freq / factor, never inv_freq itself.")
def test_pi_factor_one_gives_a_copy(student):
    """factor 1: the same values, in a new tensor."""
    x = theta(8, 10000.0).float()
    call = observe(student.position_interpolation, x, 1)
    expect_proven(call.returned_argument is None, "position_interpolation(inv_freq, 1) returned inv_freq itself; "
                                                  "return a new tensor")
    with judged_only_if_right():
        same_frequencies(call.result, x, "position_interpolation(inv_freq, 1)")


@exercise(PI, hint="Keep the input's shape and dtype: inv_freq / factor, no .float() or reshaping.")
def test_pi_keeps_shape_and_dtype(student):
    """A float64 (2, 3) tensor and a float32 (1, 1, 4) tensor."""
    for x in (torch.rand(2, 3, generator=gen(1), dtype=torch.float64), torch.rand(1, 1, 4, generator=gen(2))):
        same_frequencies(student.position_interpolation(x, 3.0), x / 3.0, f"position_interpolation of a {str(x.dtype)[6:]} "
                                                                          f"tensor of shape {tuple(x.shape)}")


@exercise(PI, hint="Leave inv_freq as it was: no inv_freq /= factor or div_.")
def test_pi_leaves_the_input_unchanged(student):
    """inv_freq unchanged after the call."""
    x = theta(16, 10000.0).float()
    call = observe(student.position_interpolation, x, 4.0)
    expect_proven(not call.changed, "position_interpolation changed inv_freq in place")
    with judged_only_if_right():
        same_frequencies(call.result, x / 4.0, "position_interpolation(inv_freq, 4.0)")


@exercise(PI, hint="An int factor is a number like any other: true division inv_freq / factor, not //.")
def test_pi_accepts_an_int_factor(student):
    """factor 8 (an int)."""
    x = theta(6, 100.0).float()
    same_frequencies(student.position_interpolation(x, 8), x / 8, "position_interpolation(inv_freq, 8)")


@exercise(PI, hint="Raise ValueError when factor < 1 (factor exactly 1 is allowed).")
def test_pi_rejects_a_factor_below_one(student):
    """factor 0.5 and 0.999 raise ValueError."""
    got = [raises_value_error(student.position_interpolation, torch.ones(3), f) for f in (0.5, 0.999)]
    expect_equal(got, ["ValueError"] * 2, "position_interpolation(inv_freq, factor) for factor 0.5, 0.999")


def pi_cases(seed, count=20):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        shape = leading_shape(rng, rng.choice([1, 4, 16]))
        dtype = rng.choice([torch.float32, torch.float64])
        x = torch.rand(shape, generator=gen(rng.randrange(1 << 30)), dtype=dtype)
        factor = rng.choice([1, 2, 4, 1.5, 8.0, 64])
        cases.append(Shown((x, factor), label=f"(a {str(dtype)[6:]} tensor of shape {shape}, {factor})"))
    cases.append(Shown((torch.ones(2), 0.25), label="(a float32 tensor of shape (2,), 0.25)"))
    return cases


@exercise(PI, broad=True, hint="inv_freq / factor, a new tensor; ValueError for factor < 1.")
def test_pi_matches_reference(student, reference):
    """20 tensors of 1 to 3 dimensions, float32 and float64, factors 1 to 64, and a factor below 1."""
    expect_same_as_reference(student.position_interpolation, reference.position_interpolation, pi_cases(2), PI,
                             compare=same_frequencies)


# ntk_inv_freq ---------------------------------------------------------------------------------------

NTK = "ntk_inv_freq"


@exercise(NTK, weight=2, hint="The new base is base * factor ** (head_dim / (head_dim - 2)): the exponent d/(d-2), "
                              "not 1 and not d/(d-1); then the default frequencies of that base.")
def test_ntk_scales_the_base(student):
    """head_dim 6, base 10, factor 4: base 10 * 4^(3/2) = 80, frequencies [1, 80^(-1/3), 80^(-2/3)]."""
    same_frequencies(student.ntk_inv_freq(6, 10.0, 4), theta(6, 80.0).float(), "ntk_inv_freq(6, 10.0, 4)")


@exercise(NTK, hint="With base * factor ** (d / (d - 2)) the first pair keeps 1 and the last pair's frequency is "
                    "divided by exactly factor; check the exponent and that every pair uses the new base.")
def test_ntk_first_and_last_pairs(student):
    """head_dim 64, base 10000, factor 8: pair 0 is 1, pair 31 is theta_31 / 8."""
    got = student.ntk_inv_freq(64, 10000.0, 8.0)
    expect(isinstance(got, torch.Tensor) and tuple(got.shape) == (32,), f"ntk_inv_freq(64, 10000.0, 8.0): expected a "
                                                                         f"tensor of shape (32,), got {kind_of(got)}")
    expect_close(got[[0, 31]], torch.tensor([1.0, theta(64, 10000.0)[31].item() / 8]), 0.0, RTOL,
                 what="ntk_inv_freq(64, 10000.0, 8.0) at pairs 0 and 31")


@exercise(NTK, hint="factor 1 leaves the base as it is: 1 ** anything is 1.")
def test_ntk_factor_one_is_the_default(student):
    """factor 1 gives rope_inv_freq(head_dim, base)."""
    same_frequencies(student.ntk_inv_freq(16, 500.0, 1), theta(16, 500.0).float(), "ntk_inv_freq(16, 500.0, 1)")


@exercise(NTK, hint="Return float32 frequencies, one per pair (head_dim // 2 values), as rope_inv_freq does.")
def test_ntk_float32_and_shape(student):
    """head_dim 4 and 128: float32, 2 and 64 values."""
    for d in (4, 128):
        base = 10000.0 * 2.0 ** (d / (d - 2))
        same_frequencies(student.ntk_inv_freq(d, 10000.0, 2.0), theta(d, base).float(), f"ntk_inv_freq({d}, 10000.0, 2.0)",
                         torch.float32)


@exercise(NTK, hint="Raise ValueError for factor < 1 and unless head_dim is even and at least 4 (d - 2 must be "
                    "positive).")
def test_ntk_rejects_bad_arguments(student):
    """factor 0.5; head_dim 2, 7 and 0."""
    got = [raises_value_error(student.ntk_inv_freq, *args)
           for args in ((8, 10000.0, 0.5), (2, 10000.0, 4.0), (7, 10000.0, 4.0), (0, 10000.0, 2.0))]
    expect_equal(got, ["ValueError"] * 4, "ntk_inv_freq for (8, 10000, 0.5), (2, 10000, 4), (7, 10000, 4), (0, 10000, 2)")


def ntk_cases(seed, count=25):
    rng = random.Random(seed)
    cases = [Case((rng.choice([4, 6, 8, 32, 64, 128]), rng.choice([10, 10000, 500.0, 1e6]), rng.choice([1, 2, 4, 3.5, 16, 64])))
             for _ in range(count)]
    return cases + [Case((8, 10000.0, 0.9)), Case((2, 10000.0, 2)), Case((5, 10000.0, 2))]


@exercise(NTK, weight=2, broad=True, hint="rope_inv_freq(head_dim, base * factor ** (head_dim / (head_dim - 2))), "
                                          "with the ValueErrors of the text.")
def test_ntk_matches_reference(student, reference):
    """25 (head_dim, base, factor) from 4 to 128, 10 to 1e6 and 1 to 64, and three invalid calls."""
    expect_same_as_reference(student.ntk_inv_freq, reference.ntk_inv_freq, ntk_cases(3), NTK, compare=same_frequencies)


# yarn_inv_freq --------------------------------------------------------------------------------------

YARN = "yarn_inv_freq"


def yarn_expected(head_dim, base, factor, length, beta_fast=32, beta_slow=1):
    """The checks' own YaRN in float64 (the steps of the text)."""
    def corr(turns):
        return head_dim * math.log(length / (2 * math.pi * turns)) / (2 * math.log(base))
    low, high = max(math.floor(corr(beta_fast)), 0), min(math.ceil(corr(beta_slow)), head_dim - 1)
    if low == high:
        high += 0.001
    ramp = ((torch.arange(head_dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    t = theta(head_dim, base)
    return (t / factor * ramp + t * (1 - ramp)).float()


def same_yarn(got, expected, what):
    """A (tensor, float) pair: the frequencies as same_frequencies, the attention factor to 1e-9."""
    expect(type(got) is tuple and len(got) == 2, f"{what}: expected a tuple (inv_freq, attention_factor), got "
                                                 f"{kind_of(got)}{'' if type(got) is not tuple else f' of length {len(got)}'}")
    same_frequencies(got[0], expected[0], f"{what}, inv_freq")
    expect(type(got[1]) is float, f"{what}: the attention factor should be a float, got {kind_of(got[1])}")
    expect_close(got[1], expected[1], 1e-9, what=f"{what}, attention_factor")


def yarn_frequencies(student, args, what):
    got = student.yarn_inv_freq(*args)
    expect(type(got) is tuple and len(got) == 2, f"{what}: expected a tuple (inv_freq, attention_factor), got {kind_of(got)}")
    return got[0]


def expect_the_texts_yarn(student, *args):
    """yarn_inv_freq(*args)'s frequencies equal the checks' own YaRN (the steps of the text)."""
    what = f"yarn_inv_freq{args}"
    same_frequencies(yarn_frequencies(student, args, what), yarn_expected(*args), what)


@exercise(YARN, hint="Return a tuple (inv_freq, attention_factor): a float32 tensor of head_dim // 2 frequencies and "
                     "a Python float (float(...), not a tensor).")
def test_yarn_returns_frequencies_and_a_float(student):
    """(a float32 tensor of shape (8,), a float) for head_dim 16."""
    got = student.yarn_inv_freq(16, 10000.0, 2.0, 256)
    expect(type(got) is tuple and len(got) == 2, f"yarn_inv_freq(16, 10000.0, 2.0, 256): expected a tuple of 2, got "
                                                 f"{kind_of(got)}")
    expect(isinstance(got[0], torch.Tensor), f"inv_freq should be a tensor, got {kind_of(got[0])}")
    expect_equal((got[0].dtype, tuple(got[0].shape)), (torch.float32, (8,)), "inv_freq's dtype and shape")
    expect(type(got[1]) is float, f"the attention factor should be a float, got {kind_of(got[1])}")


@exercise(YARN, hint="attention_factor = 0.1 * ln(factor) + 1 (natural log, math.log), 1.0 at factor 1; not its "
                     "square root, not 0.1 * ln(factor) alone.")
def test_yarn_attention_factor(student):
    """factors 1, 2, 4, 16 and 40: 0.1 ln s + 1."""
    got = [student.yarn_inv_freq(8, 10000.0, s, 512)[1] for s in (1, 2, 4, 16, 40)]
    expect_close(got, [0.1 * math.log(s) + 1 for s in (1, 2, 4, 16, 40)], 1e-9,
                 what="the attention factors for factors 1, 2, 4, 16, 40")


@exercise(YARN, weight=2, hint="Pairs up to low (many turns) keep theta, pairs from high on (few turns) get "
                               "theta / factor: inv_freq = theta / s * ramp + theta * (1 - ramp), ramp 0 at low, 1 at high.")
def test_yarn_keeps_fast_and_interpolates_slow_pairs(student):
    """head_dim 64, L = 4096, s = 8: the range is pairs 10 to 23; pairs 0-10 keep theta, pairs 23-31 get theta / 8."""
    got = yarn_frequencies(student, (64, 10000.0, 8, 4096), "yarn_inv_freq(64, 10000.0, 8, 4096)")
    t = theta(64, 10000.0)
    expect_close(got[:11], t[:11].float(), 0.0, RTOL, what="yarn_inv_freq(64, 10000.0, 8, 4096) at pairs 0 to 10")
    expect_close(got[23:], (t[23:] / 8).float(), 0.0, RTOL, what="yarn_inv_freq(64, 10000.0, 8, 4096) at pairs 23 to 31")


@exercise(YARN, weight=2, hint="Between low and high: ramp = (i - low) / (high - low) for the PAIR index i "
                               "(torch.arange(head_dim // 2), not the dimension 2i), clamped to [0, 1].")
def test_yarn_ramp_between_the_bounds(student):
    """head_dim 64, L = 4096, s = 8: pairs 11 to 22 blend with ramp (i - 10) / 13."""
    got = yarn_frequencies(student, (64, 10000.0, 8, 4096), "yarn_inv_freq(64, 10000.0, 8, 4096)")
    expect_close(got[11:23], yarn_expected(64, 10000.0, 8, 4096)[11:23], 0.0, RTOL,
                 what="yarn_inv_freq(64, 10000.0, 8, 4096) at pairs 11 to 22")


@exercise(YARN, hint="corr(r) = head_dim * ln(L / (2 pi r)) / (2 ln base) with L = original_max_position (the "
                     "trained context), not L * factor; 2 pi r in the denominator.")
def test_yarn_uses_the_original_context(student):
    """head_dim 32, base 10000, s = 4 with L = 256 and L = 2048."""
    for length in (256, 2048):
        expect_the_texts_yarn(student, 32, 10000.0, 4, length)


@exercise(YARN, hint="Round the range outwards: low = floor(corr(beta_fast)), high = ceil(corr(beta_slow)) "
                     "(transformers' truncate=True), not round() or int() and not the exact values.")
def test_yarn_rounds_the_bounds_outwards(student):
    """head_dim 64, s = 4: L = 128 (high 10.47 -> 11) and L = 3000 (low 9.39 -> 9, high 21.4 -> 22)."""
    for length in (128, 3000):
        expect_the_texts_yarn(student, 64, 10000.0, 4, length)


@exercise(YARN, hint="low = max(floor(corr(beta_fast)), 0): when the fastest pair turns fewer than beta_fast times, "
                     "corr is negative and the ramp must start at pair 0.")
def test_yarn_clamps_low_at_zero(student):
    """head_dim 64, L = 128, s = 4: corr(32) = -1.57, so low = 0 and the ramp is i / 11."""
    same_frequencies(yarn_frequencies(student, (64, 10000.0, 4, 128), "yarn_inv_freq(64, 10000.0, 4, 128)")[:11],
                     yarn_expected(64, 10000.0, 4, 128)[:11], "yarn_inv_freq(64, 10000.0, 4, 128) at pairs 0 to 10")


@exercise(YARN, hint="high = min(ceil(corr(beta_slow)), head_dim - 1), as transformers clamps it (head_dim - 1, "
                     "not head_dim // 2 - 1).")
def test_yarn_clamps_high(student):
    """head_dim 8, base 10, L = 400: ceil(corr(1)) = 8 is clamped to 7."""
    expect_the_texts_yarn(student, 8, 10.0, 4, 400)


@exercise(YARN, hint="When low == high, add 0.001 to high before dividing by (high - low): no division by zero.")
def test_yarn_equal_bounds(student):
    """head_dim 16, L = 6: low = high = 0, so pair 0 keeps theta and the others get theta / s."""
    expect_the_texts_yarn(student, 16, 10000.0, 4, 6)


@exercise(YARN, hint="Use beta_fast for low and beta_slow for high (not the defaults 32 and 1, not swapped).")
def test_yarn_uses_the_betas(student):
    """beta_fast 16, beta_slow 2 by keyword, and beta_fast 64, beta_slow 0.5 by position."""
    got = student.yarn_inv_freq(64, 10000.0, 4, 1024, beta_fast=16, beta_slow=2)
    expect(type(got) is tuple and len(got) == 2, f"expected a tuple (inv_freq, attention_factor), got {kind_of(got)}")
    same_frequencies(got[0],
                     yarn_expected(64, 10000.0, 4, 1024, 16, 2), "yarn_inv_freq(64, 10000.0, 4, 1024, beta_fast=16, beta_slow=2)")
    expect_the_texts_yarn(student, 64, 10000.0, 4, 1024, 64, 0.5)


@exercise(YARN, hint="With factor 1, theta / 1 = theta: the default frequencies and an attention factor of exactly 1.0.")
def test_yarn_factor_one_is_the_default(student):
    """factor 1: rope_inv_freq(head_dim, base) and 1.0."""
    same_yarn(student.yarn_inv_freq(32, 10000.0, 1, 128), (theta(32, 10000.0).float(), 1.0), "yarn_inv_freq(32, 10000.0, 1, 128)")


@exercise(YARN, hint="Raise ValueError for factor < 1, and for an odd head_dim (rope_inv_freq raises it).")
def test_yarn_rejects_bad_arguments(student):
    """factor 0.5; head_dim 7."""
    got = [raises_value_error(student.yarn_inv_freq, *args) for args in ((8, 10000.0, 0.5, 128), (7, 10000.0, 2.0, 128))]
    expect_equal(got, ["ValueError"] * 2, "yarn_inv_freq for (8, 10000, 0.5, 128) and (7, 10000, 2, 128)")


@exercise(YARN, hint="Compute everything from the arguments at every call: no cache keyed on part of them.")
def test_yarn_calls_are_independent(student, reference):
    """Calls in a row with the same head_dim and other factors and contexts, one repeated."""
    expect_independent_calls(student, reference, YARN, [(16, 10000.0, 4, 128), (16, 10000.0, 2, 128),
                                                        (16, 10000.0, 4, 1024), (16, 10000.0, 4, 128)], compare=same_yarn)


def yarn_cases(seed, count=30):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        args = (rng.choice([2, 4, 8, 16, 32, 64, 128]), rng.choice([10, 500.0, 10000.0, 1e6]), rng.choice([1, 2, 4, 2.5, 8.0, 32]),
                rng.choice([6, 16, 64, 128, 512, 2048, 8192]))
        kwargs = {} if rng.random() < 0.6 else dict(beta_fast=rng.choice([8, 16, 32, 64]), beta_slow=rng.choice([0.5, 1, 2]))
        cases.append(Case(args, kwargs))
    return cases + [Case((8, 10000.0, 0.5, 128)), Case((9, 10000.0, 2, 128))]


@exercise(YARN, weight=2, broad=True, hint="Follow the five steps of the text exactly: corr, outward rounding and "
                                           "clamping, the ramp over the pair index, the blend, 0.1 ln s + 1.")
def test_yarn_matches_reference(student, reference):
    """30 cases: head_dim 2 to 128, bases 10 to 1e6, factors 1 to 32, contexts 6 to 8192, other betas, invalid calls."""
    expect_same_as_reference(student.yarn_inv_freq, reference.yarn_inv_freq, yarn_cases(4), YARN, compare=same_yarn)


# ScaledRotaryEmbedding ------------------------------------------------------------------------------

ROTARY = "ScaledRotaryEmbedding"


def same_cos_sin(got, expected, what):
    """A (cos, sin) tuple of float32 tensors of the expected shape, within 1e-6."""
    expect(type(got) is tuple and len(got) == 2, f"{what}: expected a tuple (cos, sin), got {kind_of(got)}")
    for name, g, e in zip(("cos", "sin"), got, expected):
        expect(isinstance(g, torch.Tensor), f"{what}: {name} should be a tensor, got {kind_of(g)}")
        expect_equal(g.dtype, torch.float32, f"{what}: {name}'s dtype")
        expect_equal(tuple(g.shape), tuple(e.shape), f"{what}: {name}'s shape")
        expect_close(g, e, 1e-6, 1e-6, what=f"{what}, {name}")


def rotary_output(cls, inv_freq, factor, seq_len):
    """(Runs in the worker, and here.) cls(inv_freq[, factor])(seq_len); factor None: the default."""
    module = cls(inv_freq) if factor is None else cls(inv_freq, factor)
    return tuple(module(seq_len))


def twin_rotary(student, reference, inv_freq, factor, seq_len):
    return (probe(student, rotary_output, student.ScaledRotaryEmbedding, inv_freq, factor, seq_len),
            rotary_output(reference.ScaledRotaryEmbedding, inv_freq, factor, seq_len))


@exercise(ROTARY, weight=2, hint="angles = outer(arange(seq_len), inv_freq), cat((angles, angles), -1); return "
                                 "(angles.cos(), angles.sin()), as the course model's RotaryEmbedding.")
def test_rotary_equals_the_course_rotary(student):
    """Default frequencies of head_dim 32, no factor given: the course RotaryEmbedding's cos and sin at 9 positions."""
    from coursekit.models import LlamaConfig, RotaryEmbedding
    course = RotaryEmbedding(LlamaConfig(hidden_size=96, num_attention_heads=3))
    got = probe(student, rotary_output, student.ScaledRotaryEmbedding, theta(32, 10000.0).float(), None, 9)
    same_cos_sin(got, course(9), "ScaledRotaryEmbedding(default inv_freq)(9)")


@exercise(ROTARY, weight=2, hint="Multiply BOTH cos and sin by attention_factor (once each, not its square, not only "
                                 "cos).")
def test_rotary_attention_factor_scales_cos_and_sin(student, reference):
    """inv_freq of head_dim 8, factor 1.25, 5 positions."""
    got, expected = twin_rotary(student, reference, theta(8, 100.0).float(), 1.25, 5)
    same_cos_sin(got, expected, "ScaledRotaryEmbedding(inv_freq, 1.25)(5)")


@exercise(ROTARY, hint="The course model pairs dimension i with i + head_dim/2: repeat the angles as "
                       "torch.cat((angles, angles), dim=-1), not repeat_interleave.")
def test_rotary_half_split_layout(student, reference):
    """inv_freq [1, 0.5, 0.25], 4 positions: cos[:, 3:] equals cos[:, :3]."""
    got, expected = twin_rotary(student, reference, torch.tensor([1.0, 0.5, 0.25]), 1.0, 4)
    same_cos_sin(got, expected, "ScaledRotaryEmbedding([1, 0.5, 0.25], 1.0)(4)")


@exercise(ROTARY, hint="cos and sin have shape (seq_len, 2 * len(inv_freq)) and dtype float32, also for seq_len 1 "
                       "and 0 (torch.arange(seq_len, dtype=torch.float32)).")
def test_rotary_shapes_and_dtype(student, reference):
    """seq_len 1 and 0, 5 frequencies."""
    for seq_len in (1, 0):
        got, expected = twin_rotary(student, reference, theta(10, 10000.0).float(), 1.1, seq_len)
        same_cos_sin(got, expected, f"ScaledRotaryEmbedding(5 frequencies, 1.1)({seq_len})")


def rotary_facts(cls, inv_freq, factor):
    """(Runs in the worker.) Facts about cls(inv_freq, factor): its buffers, state_dict keys, attribute."""
    import torch
    module = cls(inv_freq, factor)
    buffers = dict(module.named_buffers())
    buffer = buffers.get("inv_freq")
    return {"is a module": isinstance(module, torch.nn.Module), "buffers": sorted(buffers),
            "state_dict": sorted(module.state_dict()), "parameters": sorted(n for n, _ in module.named_parameters()),
            "buffer dtype": None if buffer is None else buffer.dtype,
            "buffer": None if buffer is None else buffer.detach().clone(),
            "attention_factor": getattr(module, "attention_factor", "missing")}


@exercise(ROTARY, hint="An nn.Module with register_buffer('inv_freq', inv_freq.detach().clone().float(), "
                       "persistent=False) and self.attention_factor = float(attention_factor); no parameters.")
def test_rotary_buffer_and_attribute(student):
    """A float64 inv_freq and the int factor 2: a float32 non-persistent buffer inv_freq, attention_factor 2.0."""
    inv_freq = theta(6, 10000.0)
    facts = probe(student, rotary_facts, student.ScaledRotaryEmbedding, inv_freq, 2)
    buffer = facts.pop("buffer")
    expect_equal(facts, {"is a module": True, "buffers": ["inv_freq"], "state_dict": [], "parameters": [],
                         "buffer dtype": torch.float32, "attention_factor": 2.0}, "the module's buffers and attribute")
    expect(type(facts["attention_factor"]) is float, f"attention_factor should be a float, got {kind_of(facts['attention_factor'])}")
    expect_close(buffer, inv_freq.float(), 0.0, 1e-7, what="the inv_freq buffer")


def copy_facts(cls):
    """(Runs in the worker.) Whether cls(inv_freq) copies inv_freq: the caller's tensor changed afterwards."""
    import torch
    inv_freq = torch.tensor([1.0, 0.5])
    module = cls(inv_freq, 1.0)
    before = module.inv_freq.clone()
    untouched = torch.equal(inv_freq, torch.tensor([1.0, 0.5]))
    inv_freq.mul_(3.0)
    return {"caller's tensor unchanged": untouched, "buffer unchanged when the caller's tensor changes":
            torch.equal(module.inv_freq, before), "buffer values": module.inv_freq.tolist()}


@exercise(ROTARY, hint="Keep a copy: inv_freq.detach().clone().float(); .float() alone returns the same tensor "
                       "when it is already float32, so a later change of the caller's tensor would reach the module.")
def test_rotary_copies_the_frequencies(student):
    """The caller's float32 tensor, changed in place after construction, does not change the buffer."""
    facts = probe(student, copy_facts, student.ScaledRotaryEmbedding)
    expect_equal(facts, {"caller's tensor unchanged": True, "buffer unchanged when the caller's tensor changes": True,
                         "buffer values": [1.0, 0.5]}, "ScaledRotaryEmbedding(inv_freq): the buffer and the caller's tensor")


def double_output(cls, inv_freq, factor, seq_len):
    """(Runs in the worker, and here.) cls(...).double()(seq_len)."""
    return tuple(cls(inv_freq, factor).double()(seq_len))


@exercise(ROTARY, hint="Use the buffer as self.inv_freq.float() and float32 positions: after .double() (which makes "
                       "the buffer float64) cos and sin must stay float32.")
def test_rotary_float32_after_double(student, reference):
    """.double() then 6 positions: float32 cos and sin."""
    got = probe(student, double_output, student.ScaledRotaryEmbedding, theta(8, 10000.0).float(), 1.3, 6)
    same_cos_sin(got, double_output(reference.ScaledRotaryEmbedding, theta(8, 10000.0).float(), 1.3, 6),
                 "ScaledRotaryEmbedding(...).double()(6)")


def forward_twice(cls, inv_freq, factor):
    """(Runs in the worker.) Two forward passes of one module: both results, and the buffer afterwards."""
    module = cls(inv_freq, factor)
    first = tuple(t.clone() for t in module(5))
    second = tuple(module(7))
    return first, second, module.inv_freq.clone()


@exercise(ROTARY, hint="forward must not change the module: no in-place change of self.inv_freq or of "
                       "attention_factor.")
def test_rotary_forward_twice(student, reference):
    """forward(5) then forward(7) on one module: each as on a fresh module; the buffer unchanged."""
    inv_freq = theta(8, 10000.0).float()
    first, second, buffer = probe(student, forward_twice, student.ScaledRotaryEmbedding, inv_freq, 1.2)
    expect_proven(torch.equal(buffer, inv_freq), "forward changed the inv_freq buffer")
    same_cos_sin(first, rotary_output(reference.ScaledRotaryEmbedding, inv_freq, 1.2, 5), "the first call, forward(5)")
    same_cos_sin(second, rotary_output(reference.ScaledRotaryEmbedding, inv_freq, 1.2, 7), "the second call, forward(7)")


def model_logits(cls, seed, inv_freq, factor, ids):
    """(Runs in the worker, and here.) A small course model (head_dim 8) with cls(inv_freq, factor) as its rotary."""
    import torch
    from coursekit.models import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=31, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=16)
    model = LlamaForCausalLM(config).eval()
    model.model.rotary_emb = cls(inv_freq, factor)
    with torch.no_grad():
        return model(ids)[0]


@exercise(ROTARY, weight=2, hint="In the model, cos and sin must have shape (T, head_dim) with the attention factor "
                                 "on both; check the layout cat((angles, angles)).")
def test_rotary_in_the_course_model(student, reference):
    """A random course model (head_dim 8) with YaRN frequencies (s = 4, L = 16) on 40 tokens: the reference's logits."""
    inv_freq, factor = yarn_expected(8, 10000.0, 4, 16), 0.1 * math.log(4) + 1
    ids = torch.randint(0, 31, (2, 40), generator=gen(7))
    got = probe(student, model_logits, student.ScaledRotaryEmbedding, 3, inv_freq, factor, ids)
    expected = model_logits(reference.ScaledRotaryEmbedding, 3, inv_freq, factor, ids)
    expect(isinstance(got, torch.Tensor), f"the logits: expected a tensor, got {kind_of(got)}")
    expect_close(got, expected, 1e-5, 1e-5, what="the logits of the model with ScaledRotaryEmbedding")


@exercise(ROTARY, weight=2, broad=True, hint="Follow the text: a float32 copy of inv_freq as a buffer, angles "
                                             "outer(positions, inv_freq), cat((angles, angles)), cos and sin times "
                                             "attention_factor.")
def test_rotary_matches_reference(student, reference):
    """12 modules: 1 to 64 frequencies, float32 and float64, factors 1 to 1.5, 0 to 40 positions."""
    rng = random.Random(8)
    for i in range(12):
        pairs = rng.choice([1, 2, 5, 16, 64])
        inv_freq = theta(2 * pairs, rng.choice([10.0, 10000.0])) / rng.choice([1, 4])
        inv_freq = inv_freq.to(rng.choice([torch.float32, torch.float64]))
        factor, seq_len = rng.choice([1.0, 1.0693, 1.5, None]), rng.choice([0, 1, 3, 17, 40])
        got, expected = twin_rotary(student, reference, inv_freq, factor, seq_len)
        same_cos_sin(got, expected, f"ScaledRotaryEmbedding({pairs} {str(inv_freq.dtype)[6:]} frequencies"
                                    f"{'' if factor is None else f', {factor}'})({seq_len})")


# loss_by_position -----------------------------------------------------------------------------------

LOSS = "loss_by_position"


def course_model(seed, vocab_size=37, dtype_name="float32"):
    """(Runs in the worker, and here.) A small random course model with large weights (confident predictions)."""
    import torch
    from coursekit.models import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0.0, 0.4)
    return model.to(getattr(torch, dtype_name))


def twin_models(student, seed, vocab_size=37, dtype_name="float32"):
    return probe(student, course_model, seed, vocab_size, dtype_name), course_model(seed, vocab_size, dtype_name)


def same_losses(got, expected, what):
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, torch.float32, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    expect_close(got, expected, 1e-5, 1e-5, what=what)


def ids_of(seed, batch, length, vocab_size=37):
    return torch.randint(0, vocab_size, (batch, length), generator=gen(seed))


@exercise(LOSS, weight=2, hint="Entry t is the loss of logits[:, t] against ids[:, t + 1]: logits[:, :-1] with "
                               "ids[:, 1:] (not ids[:, :-1], which asks each position to predict its own token).")
def test_loss_predicts_the_next_token(student):
    """One sequence of 6 tokens: entry t is -log softmax(logits[0, t])[ids[0, t + 1]]."""
    mine, ref = twin_models(student, 1)
    ids = ids_of(1, 1, 6)
    with torch.no_grad():
        log_probs = ref(ids)[0].float().log_softmax(-1)[0]
    expected = torch.stack([-log_probs[t, ids[0, t + 1]] for t in range(5)])
    same_losses(student.loss_by_position(mine, ids), expected, "loss_by_position(model, one sequence of 6 tokens)")


@exercise(LOSS, weight=2, hint="Average over the batch, dimension 0 (losses.mean(dim=0)), so that one value per "
                               "position remains; not over positions, not a sum.")
def test_loss_averages_over_the_batch(student, reference):
    """3 sequences of 5 tokens: the mean of their losses at each position."""
    mine, ref = twin_models(student, 2)
    ids = ids_of(2, 3, 5)
    same_losses(student.loss_by_position(mine, ids), reference.loss_by_position(ref, ids),
                "loss_by_position(model, 3 sequences of 5 tokens)")


@exercise(LOSS, hint="The result has T - 1 entries, float32 (.float() on the logits); for T = 1 that is an empty "
                     "tensor of shape (0,).")
def test_loss_shape_and_dtype(student, reference):
    """T = 1 (shape (0,)) and T = 2 (shape (1,)), batches of 2."""
    mine, ref = twin_models(student, 3)
    for length in (1, 2):
        ids = ids_of(3, 2, length)
        same_losses(student.loss_by_position(mine, ids), reference.loss_by_position(ref, ids),
                    f"loss_by_position(model, 2 sequences of {length} token{'s' * (length > 1)})")


@exercise(LOSS, hint="Convert the logits with .float() before the cross-entropy, so that the result is float32 "
                     "whatever the model's dtype.")
def test_loss_float32_for_a_float64_model(student, reference):
    """A float64 model: float32 losses."""
    mine, ref = twin_models(student, 4, dtype_name="float64")
    ids = ids_of(4, 2, 7)
    same_losses(student.loss_by_position(mine, ids), reference.loss_by_position(ref, ids),
                "loss_by_position(float64 model, 2 sequences of 7 tokens)")


def grad_facts(function, model, ids):
    """(Runs in the worker.) Whether function(model, ids)'s result carries a gradient."""
    result = function(model, ids)
    return {"requires_grad": bool(getattr(result, "requires_grad", False)), "grad_fn": getattr(result, "grad_fn", None) is not None}


@exercise(LOSS, hint="Run the model under torch.no_grad(): the result must not require a gradient.")
def test_loss_builds_no_graph(student):
    """The result has no gradient and no grad_fn."""
    mine, _ = twin_models(student, 5)
    facts = probe(student, grad_facts, student.loss_by_position, mine, ids_of(5, 2, 4))
    expect_equal(facts, {"requires_grad": False, "grad_fn": False}, "the result's gradient")


def weights_of(model):
    """(Runs in the worker.) A copy of every parameter."""
    return {name: p.detach().clone() for name, p in model.named_parameters()}


@exercise(LOSS, hint="Leave ids and the model as they were: no in-place change of ids, no training step.")
def test_loss_leaves_ids_and_model_unchanged(student, reference):
    """ids and the model's weights unchanged after the call."""
    mine, ref = twin_models(student, 6)
    ids = ids_of(6, 2, 6)
    before = probe(student, weights_of, mine)
    call = observe(student.loss_by_position, mine, ids)
    expect_proven(1 not in call.changed, "loss_by_position changed ids in place")
    after = probe(student, weights_of, mine)
    expect_proven(all(torch.equal(before[n], after[n]) for n in before), "loss_by_position changed the model's weights")
    with judged_only_if_right():
        same_losses(call.result, reference.loss_by_position(ref, ids), "loss_by_position(model, 2 sequences of 6 tokens)")


@exercise(LOSS, weight=2, broad=True, hint="Cross-entropy of logits[:, :-1] (in float32) against ids[:, 1:] for "
                                           "every position, averaged over the batch, under no_grad.")
def test_loss_matches_reference(student, reference):
    """8 models (vocabularies 37 and 53, float32 and float64) and batches of 1 to 4 sequences of 1 to 24 tokens."""
    rng = random.Random(9)
    for i in range(8):
        vocab, dtype_name = rng.choice([37, 53]), rng.choice(["float32", "float64"])
        mine, ref = twin_models(student, 20 + i, vocab, dtype_name)
        ids = ids_of(20 + i, rng.randint(1, 4), rng.choice([1, 2, 9, 24]), vocab)
        same_losses(student.loss_by_position(mine, ids), reference.loss_by_position(ref, ids),
                    f"loss_by_position({dtype_name} model of vocabulary {vocab}, ids of shape {tuple(ids.shape)})")
