"""Hidden checks for 09-scaling-laws. Inputs differ from the visible checks: other configurations (one
layer, multi-query, head sizes that do not divide the width), budgets as big ints, data generated from
known constants with seeded multiplicative noise and planted outliers, other grids and deltas, lists as
well as float32 and float64 tensors. Fits are compared with the reference's fit of the same data from
the same grid; everything else to 1e-12 relative or exactly.

Every exercise has a differential check (`expect_same_as_reference` over seeded inputs, smallest first,
with the guard that arguments are left unchanged and not returned, or its equivalent for the fit). The
text's promises and the checks that test them:

training_flops
- 6 N D: test_training_flops_matches_reference, ..._is_six_n_d, ..._grows_with_n_and_d
- ints give an exact int: ..._exact_for_ints; floats: the differential check
transformer_training_flops
- 6 per weight per token, the weights of q/k/v/o, gate/up/down and the head, not the embedding:
  test_transformer_flops_matches_reference, ..._counts_the_output_head_not_the_embedding,
  ..._key_value_heads (GQA), ..._uses_heads_times_head_dim
- attention 12 * layers * B * T^2 * heads * head_dim: ..._attention_term
- an int: ..._returns_an_int
fit_power_law
- least squares of log y on log x, natural logs, (a, b): test_fit_power_law_matches_reference,
  ..._exact_power_law, ..._in_log_space, ..._regresses_log_y_on_log_x
- Python floats: ..._returns_python_floats; lists and any float dtype, computed in float64:
  ..._accepts_lists, ..._float32_computed_in_float64; arguments unchanged: the differential's guard
chinchilla_objective
- sum of Huber_delta(LSE(a - alpha log N, b - beta log D, e) - log L): test_objective_matches_reference,
  ..._huber_both_zones, ..._sum_not_mean, ..._log_space, ..._theta_order
- delta as given: ..._uses_delta; a 0-dim float64 tensor with a gradient to theta:
  ..._gradient_matches_reference, ..._is_0_dim; arguments unchanged: the differential's guard
fit_chinchilla
- L-BFGS from every start, the best kept: test_fit_chinchilla_matches_reference,
  ..._keeps_the_best_start (first start bad), ..._last_start_bad
- recovers known constants: ..._recovers_known_constants
- the Huber objective on log-loss, delta as given: ..._robust_to_outliers, ..._uses_delta
- {"E": exp(e), "A": exp(a), "B": exp(b), "alpha", "beta"} as Python floats: ..._returns_the_constants
- N, D, L unchanged: ..._leaves_data_unchanged
compute_optimal
- G (C/6)^(beta/(alpha+beta)), (C/6)^(alpha/(alpha+beta)) / G: test_compute_optimal_matches_reference,
  ..._exponents, ..._product_is_c_over_6, ..._g
- numbers give floats, tensors give tensors of their shape: ..._tensor_budgets; the fit unchanged:
  the differential's guard
isoflop_minimum
- vertex of the least-squares parabola in natural log N, (N_opt, L_opt) as floats:
  test_isoflop_minimum_matches_reference, ..._vertex_in_log_n, ..._loss_at_the_vertex,
  ..._least_squares_vertex_between_points
- lists and any float dtype: the differential check; ValueError for fewer than 3 points and for
  c2 <= 0: ..._raises_without_a_minimum, ..._raises_with_two_points
"""
import functools
import math
import random

import pytest
import torch

from autograder.checking import (exercise, expect, expect_close, expect_equal, expect_proven,
                                 expect_same_as_reference, judged_only_if_right)
from autograder.remote import kind_of, observe, probe
from autograder.torch_checks import Shown, expect_same_gradients, gradients
from coursekit.models import LlamaConfig

KEYS = ("E", "A", "B", "alpha", "beta")


def f64(values):
    return torch.tensor(values, dtype=torch.float64)


def close_numbers(rtol=1e-12, atol=0.0):
    """A compare for a number or a tuple of numbers: the reference's kind (tuple, float), values within
    atol + rtol * |expected|."""
    def compare(got, expected, what):
        if isinstance(expected, tuple):
            expect(isinstance(got, tuple) and len(got) == len(expected),
                   f"{what}: expected a tuple of {len(expected)}, got {kind_of(got)}")
            for i, (g, e) in enumerate(zip(got, expected)):
                compare(g, e, f"{what}, item {i}")
            return
        if isinstance(expected, torch.Tensor):
            expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
            expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
            expect_close(got, expected.detach(), atol, rtol, what=what)
            return
        expect(type(got) is type(expected), f"{what}: expected a {type(expected).__name__}, got {kind_of(got)}")
        expect_close(got, expected, atol, rtol, what=what)
    return compare


# training_flops ---------------------------------------------------------------------------------

TF = "training_flops"


@exercise(TF, weight=2, hint="C = 6 * n_params * n_tokens, for ints (an exact int) and floats of any size.",
          broad=True)
def test_training_flops_matches_reference(student, reference):
    """Ints from 1 to 10^12 and floats from 1e3 to 1e13: the reference's 6 N D."""
    rng = random.Random(900)
    cases = [(1, 1), (0, 5), (7, 3)]
    cases += [(rng.randint(1, 10 ** 12), rng.randint(1, 10 ** 12)) for _ in range(6)]
    cases += [(rng.uniform(1e3, 1e11), rng.uniform(1e6, 1e13)) for _ in range(6)]
    expect_same_as_reference(student.training_flops, reference.training_flops, cases, TF, compare=close_numbers())


@exercise(TF, weight=2, hint="6 FLOPs per parameter and token: 2 forward (a multiply and an add) and 4 backward "
                             "(the gradients of the input and of the weight). 2ND counts the forward pass only.")
def test_training_flops_is_six_n_d(student):
    """One parameter, one token: 6 FLOPs; 1,000 parameters and 10 tokens: 60,000."""
    expect_equal(student.training_flops(1, 1), 6, "training_flops(1, 1)")
    expect_equal(student.training_flops(1000, 10), 60_000, "training_flops(1000, 10)")


@exercise(TF, hint="Multiply both: C grows in proportion to N and to D (6 * N * D, not 6 * N + D or 6 * N).")
def test_training_flops_grows_with_n_and_d(student):
    """Doubling N doubles C; doubling D doubles C."""
    base = student.training_flops(3000, 500)
    expect_equal(student.training_flops(6000, 500), 2 * base, "training_flops(6000, 500) vs (3000, 500)")
    expect_equal(student.training_flops(3000, 1000), 2 * base, "training_flops(3000, 1000) vs (3000, 500)")


@exercise(TF, hint="Two ints give an int: 6 * n_params * n_tokens in integer arithmetic (no float(), no 6e0, "
                   "no division), exact even beyond 2^53.")
def test_training_flops_exact_for_ints(student):
    """70,000,000,001 parameters and 1,400,000,000,003 tokens: the exact int 6 N D."""
    n, d = 70_000_000_001, 1_400_000_000_003
    expect_equal(student.training_flops(n, d), 6 * n * d, f"training_flops({n}, {d})")


# transformer_training_flops -----------------------------------------------------------------------

TTF = "transformer_training_flops"
CONFIG_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                 "num_key_value_heads")


def flops_both(student, reference, fields, batch_size, seq_len):
    """(learner's, reference's) count for LlamaConfig(**fields), each built on its own side."""
    got = student.transformer_training_flops(student.LlamaConfig(**fields), batch_size, seq_len)
    return got, reference.transformer_training_flops(LlamaConfig(**fields), batch_size, seq_len)


def config_label(fields, batch_size, seq_len):
    shown = ", ".join(f"{k}={fields[k]}" for k in CONFIG_FIELDS)
    return f"{TTF}(LlamaConfig({shown}), {batch_size}, {seq_len})"


def flop_configs(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        kv = rng.choice([1, 2, 3])
        heads = kv * rng.choice([1, 2, 4])
        hidden = heads * rng.randint(1, 40) + rng.choice([0, 0, 1, 3])   # not always divisible by the heads
        cases.append((dict(vocab_size=rng.choice([10, 100, 4096, 50257]), hidden_size=hidden,
                           intermediate_size=rng.randint(1, 500), num_hidden_layers=rng.randint(1, 12),
                           num_attention_heads=heads, num_key_value_heads=kv),
                      rng.randint(1, 64), rng.choice([1, 2, 7, 128, 4096])))
    return cases


@exercise(TTF, weight=3, hint="6 * (layers * (2 d q_dim + 2 d kv_dim + 3 d intermediate) + d vocab) * B * T "
                              "+ 12 * layers * B * T^2 * q_dim, with q_dim = heads * head_dim and kv_dim = "
                              "kv_heads * head_dim; for any configuration, batch and length.", broad=True)
def test_transformer_flops_matches_reference(student, reference):
    """30 seeded configurations (1 to 12 layers, 1 to 12 heads, GQA and MQA, widths not divisible by the
    heads, vocabularies 10 to 50,257), batch 1 to 64, length 1 to 4,096: the reference's count."""
    for fields, batch_size, seq_len in sorted(flop_configs(901, 30), key=lambda c: (c[1] * c[2], str(c))):
        got, expected = flops_both(student, reference, fields, batch_size, seq_len)
        expect_equal(got, expected, config_label(fields, batch_size, seq_len))


def one_layer(**changes):
    fields = dict(vocab_size=100, hidden_size=16, intermediate_size=40, num_hidden_layers=1, num_attention_heads=4,
                  num_key_value_heads=4)
    fields.update(changes)
    return fields


@exercise(TTF, weight=2, hint="The attention term: 12 * layers * batch_size * seq_len**2 * heads * head_dim (QK^T "
                              "and the weighted V, 2 T^2 q_dim FLOPs each forward, twice that backward, over the "
                              "full square). Not 4 (forward only), not halved for the causal mask.")
def test_transformer_flops_attention_term(student, reference):
    """Same model, sequences of 64 and of 128 tokens (same number of tokens): the difference is attention's."""
    fields = one_layer()
    short, expected_short = flops_both(student, reference, fields, 4, 64)
    long, expected_long = flops_both(student, reference, fields, 2, 128)
    expect_equal(long - short, expected_long - expected_short,
                 "the count for 2 x 128 tokens minus the count for 4 x 64 tokens (attention alone)")


@exercise(TTF, weight=2, hint="Count the output head (hidden x vocab: a matrix product on every token) but not the "
                              "embedding (a lookup, no arithmetic).")
def test_transformer_flops_counts_the_output_head_not_the_embedding(student, reference):
    """Vocabularies 10 and 1,010: the count grows by 6 x 1,000 x hidden per token, once."""
    small, expected_small = flops_both(student, reference, one_layer(vocab_size=10), 3, 5)
    large, expected_large = flops_both(student, reference, one_layer(vocab_size=1010), 3, 5)
    expect_equal(large - small, expected_large - expected_small,
                 "the count's growth for 1,000 more tokens of vocabulary")


@exercise(TTF, weight=2, hint="Grouped-query attention: k_proj and v_proj map hidden to num_key_value_heads * "
                              "head_dim, not to heads * head_dim.")
def test_transformer_flops_key_value_heads(student, reference):
    """4 query heads with 4, 2 and 1 key/value heads: the reference's counts."""
    for kv in (4, 2, 1):
        fields = one_layer(num_key_value_heads=kv)
        got, expected = flops_both(student, reference, fields, 2, 3)
        expect_equal(got, expected, config_label(fields, 2, 3))


@exercise(TTF, hint="Query and attention widths are heads * head_dim with head_dim = hidden_size // heads: with "
                    "hidden 50 and 4 heads that is 48, not 50 (use config.head_dim).")
def test_transformer_flops_uses_heads_times_head_dim(student, reference):
    """Hidden size 50 with 4 heads (head_dim 12, attention width 48): the reference's count."""
    fields = one_layer(hidden_size=50)
    got, expected = flops_both(student, reference, fields, 2, 9)
    expect_equal(got, expected, config_label(fields, 2, 9))


@exercise(TTF, hint="Return an int: every factor is an integer (no / or float()).")
def test_transformer_flops_returns_an_int(student):
    """The count is a Python int."""
    got = student.transformer_training_flops(student.LlamaConfig(**one_layer()), 2, 8)
    expect(type(got) is int, f"expected an int, got {kind_of(got)}: {got!r}")


# fit_power_law ------------------------------------------------------------------------------------

PL = "fit_power_law"


def power_data(rng, count, noise, dtype=torch.float64, as_list=False):
    a, b = math.exp(rng.uniform(-3, 6)), rng.uniform(-1.2, 1.2)
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    x = torch.exp(torch.empty(count, dtype=torch.float64).uniform_(math.log(1e3), math.log(1e12), generator=g))
    y = a * x ** b * torch.exp(noise * torch.randn(count, dtype=torch.float64, generator=g))
    x, y = x.to(dtype), y.to(dtype)
    return (x.tolist(), y.tolist()) if as_list else (x, y)


def power_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.randint(2, 30)
        noise = rng.choice([0.0, 0.01, 0.3])
        dtype = rng.choice([torch.float64, torch.float64, torch.float32])
        as_list = rng.random() < 0.2
        x, y = power_data(rng, n, noise, dtype, as_list)
        kind = "lists" if as_list else str(dtype).removeprefix("torch.")
        cases.append(Shown((x, y), {}, f"({n} points, {kind}, noise {noise})"))
    return cases


@exercise(PL, weight=3, hint="Least squares on u = log x, v = log y: b = sum((u - mean u)(v - mean v)) / "
                             "sum((u - mean u)^2), a = exp(mean v - b mean u); natural logs, float64, for 2 to 30 "
                             "points given as tensors or lists.", broad=True)
def test_fit_power_law_matches_reference(student, reference):
    """30 seeded data sets (2 to 30 points, exact and noisy, float64, float32 and lists): the reference's (a, b)."""
    expect_same_as_reference(student.fit_power_law, reference.fit_power_law, power_cases(910, 30), PL,
                             compare=close_numbers(1e-9))


@exercise(PL, weight=2, hint="Return (a, b) in this order, with a itself (not log a): y = a * x**b.")
def test_fit_power_law_exact_power_law(student):
    """Exact data y = 7 x^-0.3 at 5 points: (7, -0.3)."""
    x = f64([1e2, 1e3, 1e5, 1e6, 1e9])
    expect_close(student.fit_power_law(x, 7 * x ** -0.3), (7.0, -0.3), 0.0, 1e-9, what="(a, b)")


@exercise(PL, weight=2, hint="Fit in log space: least squares on log y, not on y (a fit of y weighs the largest "
                             "values most) and not on log y against x.")
def test_fit_power_law_in_log_space(student, reference):
    """y = 2 x^0.5 with noise of 30% on 12 points: the log-space least-squares fit."""
    x, y = power_data(random.Random(911), 12, 0.3)
    expect_close(student.fit_power_law(x, y), reference.fit_power_law(x, y), 0.0, 1e-9, what="(a, b)")


@exercise(PL, hint="Regress log y on log x (the slope is b): not log x on log y (its slope is not 1/b once the "
                   "data are noisy).")
def test_fit_power_law_regresses_log_y_on_log_x(student, reference):
    """Noisy data (20%) on 8 points: the slope of log y on log x."""
    x, y = power_data(random.Random(912), 8, 0.2)
    expect_close(student.fit_power_law(x, y)[1], reference.fit_power_law(x, y)[1], 0.0, 1e-9, what="b")


@exercise(PL, hint="Return Python floats (.item(), float(), math.exp), not tensors.")
def test_fit_power_law_returns_python_floats(student):
    """(a, b) is a tuple of two Python floats."""
    got = student.fit_power_law(f64([1.0, 2.0, 4.0]), f64([3.0, 5.0, 9.0]))
    expect(isinstance(got, tuple) and len(got) == 2 and all(type(v) is float for v in got),
           f"expected a tuple of two floats, got {kind_of(got)}: {got!r}")


@exercise(PL, hint="Accept lists: torch.as_tensor(x, dtype=torch.float64) turns a list (or a tensor of any dtype) "
                   "into float64.")
def test_fit_power_law_accepts_lists(student, reference):
    """Lists of 6 floats: the reference's (a, b)."""
    x, y = power_data(random.Random(913), 6, 0.05, as_list=True)
    close_numbers(1e-9)(student.fit_power_law(x, y), reference.fit_power_law(x, y), "fit_power_law(lists)")


@exercise(PL, hint="Compute in float64 even for float32 inputs: torch.log of a float32 tensor keeps 7 digits.")
def test_fit_power_law_float32_computed_in_float64(student, reference):
    """float32 x and y spanning 9 decades: the float64 fit of their values."""
    x, y = power_data(random.Random(914), 10, 0.01, torch.float32)
    expect_close(student.fit_power_law(x, y), reference.fit_power_law(x, y), 0.0, 1e-9, what="(a, b)")


# chinchilla_objective -----------------------------------------------------------------------------

OBJ = "chinchilla_objective"


def runs_data(rng, count, noise, truth=(1.69, 406.4, 410.7, 0.34, 0.28)):
    """(N, D, L): count runs at seeded sizes and token counts, losses from the law times exp(noise x normal)."""
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    N = torch.exp(torch.empty(count, dtype=torch.float64).uniform_(math.log(1e6), math.log(1e10), generator=g))
    D = torch.exp(torch.empty(count, dtype=torch.float64).uniform_(math.log(1e7), math.log(1e11), generator=g))
    E, A, B, alpha, beta = truth
    L = (E + A / N ** alpha + B / D ** beta) * torch.exp(noise * torch.randn(count, dtype=torch.float64, generator=g))
    return N, D, L


TRUE_THETA = (math.log(406.4), math.log(410.7), math.log(1.69), 0.34, 0.28)


def random_theta(rng):
    return f64([rng.uniform(0, 10), rng.uniform(0, 10), rng.uniform(-1, 1.5), rng.uniform(0.1, 1), rng.uniform(0.1, 1)])


def objective_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.randint(1, 20)
        noise = rng.choice([0.0, 1e-4, 0.01, 0.2])
        N, D, L = runs_data(rng, n, noise)
        theta = random_theta(rng) if rng.random() < 0.6 else f64(TRUE_THETA)
        delta = rng.choice([1e-3, 1e-3, 1e-2, 0.5])
        cases.append(Shown((theta, N, D, L), {"delta": delta}, f"(theta, {n} runs with noise {noise}, delta={delta})"))
    return cases


@exercise(OBJ, weight=3, hint="sum over runs of F.huber_loss(LSE(a - alpha log N, b - beta log D, e), log L, "
                              "delta=delta) with theta = (a, b, e, alpha, beta); residuals in both Huber zones, "
                              "1 to 20 runs, any delta.", broad=True)
def test_objective_matches_reference(student, reference):
    """30 seeded (theta, runs, delta): the reference's objective, a 0-dim float64 tensor, to 1e-9 relative
    (1e-20 absolute where the law fits exactly and the objective is rounding)."""
    expect_same_as_reference(student.chinchilla_objective, reference.chinchilla_objective, objective_cases(920, 30),
                             OBJ, compare=close_numbers(1e-9, atol=1e-20))


def law_losses(N, D):
    return 1.69 + 406.4 / N ** 0.34 + 410.7 / D ** 0.28


@exercise(OBJ, weight=2, hint="The Huber loss: r^2 / 2 where |r| <= delta, delta * (|r| - delta / 2) beyond "
                              "(F.huber_loss). Not r^2 everywhere (least squares), not smooth_l1_loss (which "
                              "divides by delta).")
def test_objective_huber_both_zones(student):
    """Two runs with log-residuals delta / 2 and 3 delta (delta = 0.01): delta^2 / 8 + delta (3 delta - delta / 2)."""
    N, D = f64([1e8, 1e9]), f64([1e10, 1e11])
    delta = 0.01
    L = law_losses(N, D) * torch.exp(-f64([delta / 2, 3 * delta]))
    expected = (delta / 2) ** 2 / 2 + delta * (3 * delta - delta / 2)
    expect_close(student.chinchilla_objective(f64(TRUE_THETA), N, D, L, delta=delta), f64(expected), 0.0, 1e-9,
                 what="the objective")


@exercise(OBJ, weight=2, hint="Sum over the runs (reduction='sum', as Hoffmann et al.), not the mean.")
def test_objective_sum_not_mean(student):
    """Four runs, each with log-residual 2 delta: 4 x delta x (2 delta - delta / 2)."""
    N, D = f64([1e7, 1e8, 1e9, 1e10]), f64([1e8, 1e9, 1e10, 1e11])
    L = law_losses(N, D) * math.exp(-2e-3)
    expect_close(student.chinchilla_objective(f64(TRUE_THETA), N, D, L), f64(4 * 1e-3 * 1.5e-3), 0.0, 1e-9,
                 what="the objective")


@exercise(OBJ, weight=2, hint="Residuals of logarithms: LSE(...) - log L, where LSE(...) is log L_hat; not "
                              "L_hat - L (a linear-space fit weighs large losses more).")
def test_objective_log_space(student):
    """Losses 10% above the law on 3 runs (delta 1): the Huber of ln 1.1, not of 0.1 x L."""
    N, D = f64([1e6, 1e8, 1e10]), f64([1e7, 1e9, 1e11])
    L = law_losses(N, D) * 1.1
    expect_close(student.chinchilla_objective(f64(TRUE_THETA), N, D, L, delta=1.0), f64(3 * math.log(1.1) ** 2 / 2),
                 0.0, 1e-9, what="the objective")


@exercise(OBJ, weight=2, hint="theta is (a, b, e, alpha, beta) = (log A, log B, log E, alpha, beta): alpha goes "
                              "with N and a, beta with D and b.")
def test_objective_theta_order(student, reference):
    """theta = (3, 7, 0.2, 0.2, 0.6) on 5 noisy runs: the reference's objective."""
    N, D, L = runs_data(random.Random(921), 5, 0.05)
    theta = f64([3.0, 7.0, 0.2, 0.2, 0.6])
    expect_close(student.chinchilla_objective(theta, N, D, L), reference.chinchilla_objective(theta, N, D, L), 0.0,
                 1e-12, what="the objective")


@exercise(OBJ, hint="Use the delta argument (F.huber_loss(..., delta=delta)); 1e-3 is only its default.")
def test_objective_uses_delta(student, reference):
    """delta = 0.05 and 0.2 on noisy runs: the reference's objectives."""
    N, D, L = runs_data(random.Random(922), 6, 0.1)
    for delta in (0.05, 0.2):
        expect_close(student.chinchilla_objective(f64(TRUE_THETA), N, D, L, delta=delta),
                     reference.chinchilla_objective(f64(TRUE_THETA), N, D, L, delta=delta), 0.0, 1e-12,
                     what=f"the objective with delta={delta}")


@exercise(OBJ, weight=2, hint="L-BFGS needs the gradient: build the objective from theta's own elements with "
                              "torch operations; no .item(), float(), .detach() or torch.tensor(...) of them.",
          broad=True)
def test_objective_gradient_matches_reference(student, reference):
    """The gradients with respect to theta (and to N, D, L) on 8 noisy runs equal the reference's."""
    N, D, L = runs_data(random.Random(923), 8, 0.05)
    args, one = [f64([5.0, 6.0, 0.4, 0.3, 0.35]), N, D, L], f64(1.0)
    got = probe(student, gradients, student.chinchilla_objective, args, [one])
    expect_same_gradients(got, gradients(reference.chinchilla_objective, args, [one]), 1e-12, OBJ)


@exercise(OBJ, hint="Return a 0-dim float64 tensor (the sum), not a Python float and not a per-run vector.")
def test_objective_is_0_dim(student):
    """The objective is a 0-dim float64 tensor."""
    N, D, L = runs_data(random.Random(924), 4, 0.05)
    got = student.chinchilla_objective(f64(TRUE_THETA), N, D, L)
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal(tuple(got.shape), (), "the shape")
    expect_equal(got.dtype, torch.float64, "the dtype")


# fit_chinchilla -----------------------------------------------------------------------------------

FIT = "fit_chinchilla"
# fits of the same data from the same grid by two correct programs agree to a few 1e-6 relative; a wrong
# objective or a wrong start moves them by 1e-3 or more
FIT_RTOL = 2e-4
GOOD_START = (5.0, 5.0, 0.0, 0.5, 0.5)
BAD_START = (0.0, 0.0, -1.0, 2.0, 2.0)   # ends far from the law: E ~ 5, alpha = beta = 2


def grid_runs(noise, seed, outliers=0, truth=(1.69, 406.4, 410.7, 0.34, 0.28)):
    """25 runs on a 5 x 5 grid of N (1e6..1e9) and D (1e7..1e10) from the law `truth`, times exp(noise x
    normal); the first `outliers` runs get losses 30% too high."""
    N, D = torch.meshgrid(torch.logspace(6, 9, 5, dtype=torch.float64), torch.logspace(7, 10, 5, dtype=torch.float64),
                          indexing="ij")
    N, D = N.reshape(-1), D.reshape(-1)
    E, A, B, alpha, beta = truth
    g = torch.Generator().manual_seed(seed)
    L = (E + A / N ** alpha + B / D ** beta) * torch.exp(noise * torch.randn(25, dtype=torch.float64, generator=g))
    L[:outliers] *= 1.3
    return N, D, L


DATASETS = {
    "exact": dict(noise=0.0, seed=0),
    "noisy": dict(noise=0.003, seed=930),
    "outliers": dict(noise=0.0005, seed=931, outliers=3),
    "other law": dict(noise=0.002, seed=932, truth=(2.0, 50.0, 2000.0, 0.2, 0.45)),
}


@functools.lru_cache(maxsize=None)
def reference_fit(reference, dataset, grid, delta=1e-3):
    return reference.fit_chinchilla(*grid_runs(**DATASETS[dataset]), [list(s) for s in grid], delta)


def expect_same_fit(got, expected, what, rtol=FIT_RTOL):
    expect(isinstance(got, dict), f"{what}: expected a dict, got {kind_of(got)}")
    expect_equal(sorted(got), sorted(expected), f"{what}: the keys")
    for key in KEYS:
        expect(isinstance(got[key], float), f"{what}[{key!r}]: expected a float, got {kind_of(got[key])}")
    expect_close([got[k] for k in KEYS], [expected[k] for k in KEYS], 0.0, rtol,
                 what=f"{what}: (E, A, B, alpha, beta)")


def student_fit(student, dataset, grid, delta=1e-3):
    return student.fit_chinchilla(*grid_runs(**DATASETS[dataset]), [list(s) for s in grid], delta)


def expect_fit_as_reference(student, reference, dataset, grid, what, delta=1e-3):
    """The learner's fit of a data set from a grid equals the reference's."""
    expect_same_fit(student_fit(student, dataset, grid, delta), reference_fit(reference, dataset, grid, delta), what)


@exercise(FIT, weight=3, hint="For each start: theta = torch.tensor(start, dtype=torch.float64, requires_grad=True), "
                              "LBFGS([theta], lr=1.0, max_iter=100, history_size=10, tolerance_grad=1e-9, "
                              "tolerance_change=1e-12, line_search_fn='strong_wolfe'), one step(closure); keep the "
                              "start with the lowest final objective; return exp(a), exp(b), exp(e), alpha, beta.",
          broad=True)
def test_fit_chinchilla_matches_reference(student, reference):
    """Noisy runs, runs with outliers and runs of another law, grids of 1 to 3 starts: the reference's fit."""
    for dataset, grid in (("noisy", (GOOD_START,)), ("other law", (GOOD_START, (8.0, 8.0, 1.0, 0.5, 1.0))),
                          ("outliers", (BAD_START, GOOD_START, (10.0, 5.0, 0.5, 1.0, 0.5)))):
        expect_fit_as_reference(student, reference, dataset, grid,
                                f"the fit of the {dataset} runs from {len(grid)} start(s)")


@exercise(FIT, weight=2, hint="The whole fit: from a start near the law, L-BFGS on the Huber objective of log-losses "
                              "must recover E, A, B, alpha, beta from runs generated by the law.")
def test_fit_chinchilla_recovers_known_constants(student):
    """25 exact runs of E 1.69, A 406.4, B 410.7, alpha 0.34, beta 0.28, one start: the constants to 0.1%."""
    got = student_fit(student, "exact", (GOOD_START,))
    expect(isinstance(got, dict) and set(KEYS) <= set(got), f"expected a dict with keys {KEYS}, got {kind_of(got)}")
    expect_close([got[k] for k in KEYS], [1.69, 406.4, 410.7, 0.34, 0.28], 0.0, 1e-3, what="(E, A, B, alpha, beta)")


@exercise(FIT, weight=3, hint="Run L-BFGS from EVERY start of the grid and keep the one whose final objective is "
                              "lowest: one start (the first) can end in a wrong valley.")
def test_fit_chinchilla_keeps_the_best_start(student, reference):
    """Exact runs, a grid whose first start ends far from the law and whose second finds it: the law."""
    expect_fit_as_reference(student, reference, "exact", (BAD_START, GOOD_START),
                            "the fit from the grid (bad start, good start)")


@exercise(FIT, weight=2, hint="Keep the best start, not the last one: compare each final objective with the best "
                              "so far.")
def test_fit_chinchilla_last_start_bad(student, reference):
    """Exact runs, a grid whose last start ends far from the law: the law."""
    expect_fit_as_reference(student, reference, "exact", (GOOD_START, BAD_START),
                            "the fit from the grid (good start, bad start)")


@exercise(FIT, weight=3, hint="Minimise chinchilla_objective (Huber with delta on log-losses): least squares, or "
                              "errors of L instead of log L, let the 3 runs with 30% outliers pull the fit.")
def test_fit_chinchilla_robust_to_outliers(student, reference):
    """25 runs, 3 of them 30% too high, one start: the reference's Huber fit, which ignores the outliers."""
    expect_fit_as_reference(student, reference, "outliers", (GOOD_START,), "the fit of runs with outliers")


@exercise(FIT, hint="Pass delta on to chinchilla_objective; 1e-3 is only the default.")
def test_fit_chinchilla_uses_delta(student, reference):
    """Runs with outliers, delta = 0.5 (a near least-squares fit): the reference's fit."""
    expect_fit_as_reference(student, reference, "outliers", (GOOD_START,), "the fit with delta=0.5", delta=0.5)


@exercise(FIT, weight=2, hint="Return {'E': exp(e), 'A': exp(a), 'B': exp(b), 'alpha': alpha, 'beta': beta} with "
                              "theta = (a, b, e, alpha, beta): A, B and E themselves, not their logarithms, as "
                              "Python floats.")
def test_fit_chinchilla_returns_the_constants(student):
    """From the law itself as the only start, on its exact runs: E 1.69, A 406.4, B 410.7, alpha 0.34, beta 0.28."""
    start = (math.log(406.4), math.log(410.7), math.log(1.69), 0.34, 0.28)
    got = student_fit(student, "exact", (start,))
    expect(isinstance(got, dict), f"expected a dict, got {kind_of(got)}")
    expect_equal(sorted(got), sorted(KEYS), "the keys")
    for key, value in zip(KEYS, (1.69, 406.4, 410.7, 0.34, 0.28)):
        expect(type(got[key]) is float, f"[{key!r}]: expected a float, got {kind_of(got[key])}")
        expect_close(got[key], value, 0.0, 1e-6, what=f"[{key!r}]")


@exercise(FIT, hint="Leave N, D and L as they are: fit on their logarithms without writing into them.")
def test_fit_chinchilla_leaves_data_unchanged(student, reference):
    """N, D and L are unchanged after the fit, and the fit is right."""
    N, D, L = grid_runs(**DATASETS["noisy"])
    call = observe(student.fit_chinchilla, N, D, L, [list(GOOD_START)])
    expect_proven(not call.changed, f"fit_chinchilla changed its argument {call.changed[0] + 1 if call.changed else ''} "
                                    "in place; leave the runs as they were")
    with judged_only_if_right():
        expect_same_fit(call.result, reference_fit(reference, "noisy", (GOOD_START,)), "the fit")


# compute_optimal ----------------------------------------------------------------------------------

CO = "compute_optimal"


def random_fit(rng):
    return {"E": rng.uniform(1, 3), "A": math.exp(rng.uniform(0, 9)), "B": math.exp(rng.uniform(0, 9)),
            "alpha": rng.uniform(0.1, 0.9), "beta": rng.uniform(0.1, 0.9)}


def optimal_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for number in range(count):
        fit = random_fit(rng)
        if number % 3 == 2:
            C = torch.exp(torch.empty(rng.randint(1, 4), dtype=torch.float64).uniform_(
                30, 55, generator=torch.Generator().manual_seed(rng.randrange(1 << 30))))
            label = f"a tensor of {len(C)} budgets"
        else:
            C = math.exp(rng.uniform(30, 55))
            label = f"C={C:.3g}"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in fit.items())
        cases.append(Shown((fit, C), {}, f"({{{shown}}}, {label})"))
    return cases


@exercise(CO, weight=3, hint="G = (alpha A / (beta B))^(1/(alpha+beta)); N_opt = G (C/6)^(beta/(alpha+beta)), "
                             "D_opt = (C/6)^(alpha/(alpha+beta)) / G, for any constants and budgets, numbers or "
                             "tensors.", broad=True)
def test_compute_optimal_matches_reference(student, reference):
    """30 seeded fits and budgets (numbers and tensors): the reference's (N_opt, D_opt) to 1e-12 relative."""
    expect_same_as_reference(student.compute_optimal, reference.compute_optimal, optimal_cases(940, 30), CO,
                             compare=close_numbers(1e-11))


FIT_UNEQUAL = {"E": 1.8, "A": 500.0, "B": 2000.0, "alpha": 0.3, "beta": 0.5}


@exercise(CO, weight=2, hint="N_opt grows as C^(beta/(alpha+beta)) and D_opt as C^(alpha/(alpha+beta)): a larger beta "
                             "(data term falls faster) sends more compute to parameters. Swapping alpha and beta "
                             "swaps the exponents.")
def test_compute_optimal_exponents(student):
    """alpha 0.3, beta 0.5: 1,000 times the compute multiplies N_opt by 1000^0.625 and D_opt by 1000^0.375."""
    n1, d1 = student.compute_optimal(FIT_UNEQUAL, 1e20)
    n2, d2 = student.compute_optimal(FIT_UNEQUAL, 1e23)
    expect_close((n2 / n1, d2 / d1), (1000 ** 0.625, 1000 ** 0.375), 0.0, 1e-9, what="(N_opt ratio, D_opt ratio)")


@exercise(CO, weight=2, hint="The budget is C = 6 N D: N_opt x D_opt = C / 6 (use C / 6, not C).")
def test_compute_optimal_product_is_c_over_6(student):
    """N_opt x D_opt = C / 6 at C = 6e21."""
    n, d = student.compute_optimal(FIT_UNEQUAL, 6e21)
    expect_close(n * d, 1e21, 0.0, 1e-9, what="N_opt x D_opt")


@exercise(CO, weight=2, hint="G = (alpha A / (beta B))^(1/(alpha+beta)) multiplies N_opt and divides D_opt "
                             "(not the other way round, and raised to 1/(alpha+beta)).")
def test_compute_optimal_g(student):
    """At C = 6 (C/6 = 1): N_opt = G, D_opt = 1/G, with G = (0.3 x 500 / (0.5 x 2000))^(1/0.8)."""
    G = (0.3 * 500 / (0.5 * 2000)) ** (1 / 0.8)
    expect_close(student.compute_optimal(FIT_UNEQUAL, 6.0), (G, 1 / G), 0.0, 1e-9, what="(N_opt, D_opt)")


@exercise(CO, hint="Use arithmetic operators (**, *, /), which work on numbers and tensors alike; math.pow and "
                   "float() fail on a tensor of budgets.")
def test_compute_optimal_tensor_budgets(student, reference):
    """A (2, 3) tensor of budgets: two (2, 3) tensors; a number: two floats."""
    C = torch.logspace(18, 23, 6, dtype=torch.float64).reshape(2, 3)
    close_numbers(1e-11)(student.compute_optimal(FIT_UNEQUAL, C), reference.compute_optimal(FIT_UNEQUAL, C),
                         f"{CO}(fit, (2, 3) tensor)")
    close_numbers(1e-11)(student.compute_optimal(FIT_UNEQUAL, 1e21), reference.compute_optimal(FIT_UNEQUAL, 1e21),
                         f"{CO}(fit, 1e21)")


# isoflop_minimum ----------------------------------------------------------------------------------

ISO = "isoflop_minimum"


def profile(rng, count, noise, dtype=torch.float64, as_list=False, opens=1.0):
    centre = rng.uniform(math.log(1e6), math.log(1e9))
    x = centre + torch.linspace(-2.5, 2.5, count, dtype=torch.float64) + rng.uniform(-1, 1)
    g = torch.Generator().manual_seed(rng.randrange(1 << 30))
    curvature = opens * rng.uniform(0.02, 0.3)
    L = rng.uniform(2, 4) + curvature * (x - centre) ** 2 + noise * torch.randn(count, dtype=torch.float64, generator=g)
    N = torch.exp(x).to(dtype)
    L = L.to(dtype)
    return (N.tolist(), L.tolist()) if as_list else (N, L)


def iso_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.randint(2, 9)
        noise = rng.choice([0.0, 0.005, 0.02])
        dtype = rng.choice([torch.float64, torch.float64, torch.float32])
        as_list = rng.random() < 0.2
        opens = -1.0 if rng.random() < 0.15 else 1.0
        N, L = profile(rng, n, noise, dtype, as_list, opens)
        kind = "lists" if as_list else str(dtype).removeprefix("torch.")
        shape = ", opening downwards" if opens < 0 else ""
        cases.append(Shown((N, L), {}, f"({n} points, {kind}, noise {noise}{shape})"))
    return cases


@exercise(ISO, weight=3, hint="x = log N (natural, float64); least squares of L on [x^2, x, 1]; vertex "
                              "x* = -c1 / (2 c2): return (exp(x*), c0 - c1^2 / (4 c2)) as floats; ValueError with "
                              "fewer than 3 points or c2 <= 0.", broad=True)
def test_isoflop_minimum_matches_reference(student, reference):
    """30 seeded profiles (2 to 9 points, exact and noisy, float64, float32 and lists, some opening downwards): the
    reference's (N_opt, L_opt), or its ValueError."""
    expect_same_as_reference(student.isoflop_minimum, reference.isoflop_minimum, iso_cases(950, 30), ISO,
                             compare=close_numbers(1e-8))


@exercise(ISO, weight=2, hint="The parabola is in log N (natural log), not in N: an IsoFLOP profile is symmetric in "
                              "log N. Return N_opt = exp(x*), not x*.")
def test_isoflop_minimum_vertex_in_log_n(student):
    """L = 3 + 0.2 (ln N - ln 4e7)^2 at 5 sizes: N_opt = 4e7."""
    N = f64([1e6, 1e7, 3e7, 1e8, 1e9])
    L = 3 + 0.2 * (torch.log(N) - math.log(4e7)) ** 2
    got = student.isoflop_minimum(N, L)
    expect(isinstance(got, tuple) and len(got) == 2, f"expected (N_opt, L_opt), got {kind_of(got)}")
    expect_close(got[0], 4e7, 0.0, 1e-8, what="N_opt")


@exercise(ISO, weight=2, hint="L_opt is the parabola's value at its vertex, c0 - c1^2 / (4 c2), not c0 and not the "
                              "lowest measured loss.")
def test_isoflop_minimum_loss_at_the_vertex(student):
    """L = 2.5 + 0.1 (ln N - ln 5e6)^2 at 4 sizes, none at the vertex: L_opt = 2.5."""
    N = f64([1e6, 2e6, 2e7, 5e7])
    L = 2.5 + 0.1 * (torch.log(N) - math.log(5e6)) ** 2
    expect_close(student.isoflop_minimum(N, L)[1], 2.5, 0.0, 1e-9, what="L_opt")


@exercise(ISO, weight=2, hint="Fit the parabola by least squares over all the points: the vertex lies between the "
                              "measured sizes, not at the smallest measured loss.")
def test_isoflop_minimum_least_squares_vertex_between_points(student, reference):
    """6 noisy points whose vertex lies between two sizes: the reference's least-squares vertex."""
    N, L = profile(random.Random(951), 6, 0.01)
    close_numbers(1e-8)(student.isoflop_minimum(N, L), reference.isoflop_minimum(N, L), f"{ISO}(6 noisy points)")


@exercise(ISO, weight=2, hint="A parabola with c2 <= 0 has no minimum (its vertex is a maximum): raise ValueError.")
def test_isoflop_minimum_raises_without_a_minimum(student):
    """L = 4 - 0.1 (ln N - ln 1e7)^2 (opening downwards): ValueError."""
    N = f64([1e6, 1e7, 1e8, 1e9])
    with pytest.raises(ValueError):
        student.isoflop_minimum(N, 4 - 0.1 * (torch.log(N) - math.log(1e7)) ** 2)


@exercise(ISO, hint="A parabola has 3 coefficients: with fewer than 3 points raise ValueError.")
def test_isoflop_minimum_raises_with_two_points(student):
    """Two points: ValueError."""
    with pytest.raises(ValueError):
        student.isoflop_minimum(f64([1e6, 1e8]), f64([3.0, 3.5]))
