"""Hidden checks for 15-speculative-decoding. Inputs differ from the visible checks: distributions over
vocabularies of 1 to 50 tokens, float32 and float64, peaked and flat, with tokens of probability 0, rows
where p equals q, leading dimensions (0 to 2), uniform draws at the boundary u = p/q and at 0, k from 0 to 6,
and small random course models (coursekit.models.LlamaForCausalLM, 2 layers, vocabularies of 29 and 41) built
in the worker by a probe from the same seed as the reference's here; the draft is the target with its weights
perturbed, so that the two agree often but not always. Decisions and tokens are compared exactly; the
residual and the acceptance rate to 1e-12 (float64) and 1e-6 (float32); the expected tokens to a relative 1e-9.

Every promise of the text and docstrings, and the check that exercises it:

accept_draft_token
- u < p[token] / q[token]: test_accept_compares_u_with_the_ratio; the token's own probabilities:
  test_accept_reads_the_token
- p/q >= 1 always accepts: test_accept_when_the_target_likes_it_more
- strict comparison (u = p/q rejected): test_accept_boundary_is_rejected
- p[token] = 0 never accepted, not even with u = 0: test_accept_never_a_token_of_target_probability_zero
- a Python bool: test_accept_returns_a_bool
- float32 and float64, p and q unchanged, many cases: test_accept_matches_reference
residual_distribution
- max(0, p - q): test_residual_keeps_the_positive_part; normalised: test_residual_is_normalised
- p == q gives p: test_residual_of_equal_distributions_is_p
- each row on its own, any leading dimensions: test_residual_each_row_on_its_own
- dtype kept: test_residual_keeps_the_dtype
- a new tensor, p and q unchanged: test_residual_leaves_the_inputs_unchanged
- everything combined: test_residual_matches_reference
speculative_step
- all k accepted: the drafts, then the bonus token from p[k]: test_step_bonus_token_after_full_acceptance
- the first rejection: residual of that row: test_step_resamples_from_the_residual
- stop at the first rejection (later drafts not emitted): test_step_stops_at_the_first_rejection
- uniforms[i] decides draft i, uniforms[k] draws the final token: test_step_uses_the_last_uniform_for_the_final_token
- k = 0: plain sampling from p[0]: test_step_with_no_draft
- a list of int: test_step_returns_a_list_of_int
- accept_draft_token's strict rule inside the step (u = p/q rejects): test_step_boundary
- everything combined, inputs unchanged: test_step_matches_reference
acceptance_rate
- sum of min(p, q): test_rate_sums_the_minimum; p == q gives 1, disjoint supports 0: test_rate_extremes
- last dimension, any leading dimensions (0-d for 1-D): test_rate_leading_dimensions
- dtype kept: test_rate_keeps_the_dtype
- everything combined, inputs unchanged: test_rate_matches_reference
expected_tokens_per_step
- (1 - alpha^(k+1)) / (1 - alpha): test_expected_tokens_formula
- alpha = 1 gives k + 1: test_expected_tokens_at_alpha_one
- k = 0 gives 1, alpha = 0 gives 1: test_expected_tokens_edges
- many (alpha, k): test_expected_tokens_matches_reference
speculative_greedy
- the tokens of plain greedy decoding of the target: test_greedy_equals_plain_greedy
- one target call per step on the sequence with its drafts, n = min(k, remaining - 1) draft calls, each on
  the whole sequence: test_greedy_calls
- all drafts accepted (the draft is the target): bonus tokens: test_greedy_when_the_draft_is_always_right
- k = 0: plain greedy, no draft call: test_greedy_without_drafts
- exactly max_new_tokens new tokens (k above max_new_tokens, max_new_tokens 0 and 1): test_greedy_length
- a 1-D long tensor, prompt first, the prompt unchanged: test_greedy_output_layout
- many configurations: test_greedy_matches_reference
"""
import random

import torch

from autograder import generators
from autograder.checking import (Case, exercise, expect, expect_close, expect_equal, expect_proven,
                                 expect_same_as_reference, judged_only_if_right)
from autograder.remote import kind_of, observe, probe
from autograder.torch_checks import Shown, gen

TOL = {torch.float64: 1e-12, torch.float32: 1e-6}


def t(*values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


def distribution(rng, shape, dtype=torch.float64, zeros=False):
    """A random distribution along the last dimension: peaked or flat; with zeros, some tokens of probability 0."""
    x = generators.tensor(rng, shape, torch.float64, rng.choice([0.3, 1.0, 3.0]))
    if zeros and shape[-1] > 1:
        x = x.masked_fill(torch.rand(shape, generator=gen(rng.randrange(1 << 30))) < 0.3, -float("inf"))
        x[..., rng.randrange(shape[-1])] = 0.0  # at least one token left
    return x.softmax(-1).to(dtype)


def same_values(got, expected, what):
    """A tensor of the expected shape and values (its dtype is judged by the dtype checks and the broad ones)."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    expect_close(got, expected, TOL[expected.dtype], TOL[expected.dtype], what=what)


def same_distribution(got, expected, what):
    """same_values, and the expected dtype."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    same_values(got, expected, what)


# accept_draft_token -------------------------------------------------------------------------------

ACCEPT = "accept_draft_token"


@exercise(ACCEPT, weight=2, hint="Accept when u < p[token] / q[token] (the target's probability over the draft's), "
                                 "reject otherwise.")
def test_accept_compares_u_with_the_ratio(student):
    """p/q = 0.2/0.8 = 0.25: u = 0.1 and 0.24 accept, u = 0.26 and 0.9 reject."""
    p, q = t(0.2, 0.5, 0.3), t(0.8, 0.1, 0.1)
    got = [student.accept_draft_token(p, q, 0, u) for u in (0.1, 0.24, 0.26, 0.9)]
    expect_equal(got, [True, True, False, False], "accept_draft_token(p, q, 0, u) for u = 0.1, 0.24, 0.26, 0.9")


@exercise(ACCEPT, hint="Use the probabilities of the drafted token: p[token] and q[token] (not the largest, not the "
                       "first).")
def test_accept_reads_the_token(student):
    """Five tokens, each with its own ratio: token 3 (ratio 0.1/0.5 = 0.2) rejects u = 0.3, token 1 accepts it."""
    p, q = t(0.3, 0.3, 0.2, 0.1, 0.1), t(0.1, 0.2, 0.1, 0.5, 0.1)
    got = [student.accept_draft_token(p, q, token, 0.3) for token in (3, 1, 4, 0)]
    expect_equal(got, [False, True, True, True], "accept_draft_token(p, q, token, 0.3) for tokens 3, 1, 4, 0")


@exercise(ACCEPT, hint="When p[token] >= q[token] the ratio is at least 1 and every u in [0, 1) is below it: accept.")
def test_accept_when_the_target_likes_it_more(student):
    """p/q = 0.6/0.2 = 3 and p/q = 1 (p == q): accepted at u = 0.999999."""
    got = [student.accept_draft_token(t(0.6, 0.4), t(0.2, 0.8), 0, 0.999999),
           student.accept_draft_token(t(0.6, 0.4), t(0.6, 0.4), 1, 0.999999)]
    expect_equal(got, [True, True], "accept_draft_token at u = 0.999999 with p/q = 3 and p/q = 1")


@exercise(ACCEPT, hint="The comparison is strict: accept only when u < p/q, so u equal to p/q is rejected (not <=).")
def test_accept_boundary_is_rejected(student):
    """p/q = 0.25/0.5 = 0.5 exactly, u = 0.5: rejected (float32 and float64)."""
    for dtype in (torch.float64, torch.float32):
        expect_equal(student.accept_draft_token(t(0.25, 0.75, dtype=dtype), t(0.5, 0.5, dtype=dtype), 0, 0.5), False,
                     f"accept_draft_token(p, q, 0, 0.5) with p/q = 0.5 exactly ({str(dtype)[6:]})")


@exercise(ACCEPT, hint="A token the target gives probability 0 must never be accepted: u < 0 / q is False even for "
                       "u = 0 (a strict <).")
def test_accept_never_a_token_of_target_probability_zero(student):
    """p[token] = 0, u = 0: rejected."""
    expect_equal(student.accept_draft_token(t(0.0, 1.0), t(0.9, 0.1), 0, 0.0), False,
                 "accept_draft_token(p, q, token, 0.0) with p[token] = 0")


@exercise(ACCEPT, hint="Return a Python bool: bool(u < p[token] / q[token]), not a 0-dimensional tensor.")
def test_accept_returns_a_bool(student):
    """The result is True or False, a bool."""
    got = student.accept_draft_token(t(0.5, 0.5), t(0.5, 0.5), 1, 0.2)
    expect(type(got) is bool, f"accept_draft_token should return a bool, got {kind_of(got)}: {got!r}")


def accept_cases(seed, count=60):
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        vocab = rng.choice([1, 2, 3, 7, 20, 50])
        dtype = rng.choice([torch.float32, torch.float64])
        p = distribution(rng, (vocab,), dtype, zeros=len(cases) % 3 == 0)
        q = distribution(rng, (vocab,), dtype)
        token = rng.randrange(vocab)
        u = rng.choice([rng.random(), rng.random() ** 4])
        if abs(u - (p[token].double() / q[token].double()).item()) < 1e-4:
            continue  # no case within rounding of the boundary: that one has its own check
        cases.append(Shown((p, q, token, u), label=f"(p and q over {vocab} tokens, {str(dtype)[6:]}, token {token}, "
                                                    f"u = {u:.4f}, p/q = {(p[token] / q[token]).item():.4f})"))
    return cases


@exercise(ACCEPT, weight=2, broad=True, hint="Return bool(u < p[token] / q[token]) and leave p and q unchanged.")
def test_accept_matches_reference(student, reference):
    """60 random decisions: vocabularies of 1 to 50, float32 and float64, tokens of probability 0."""
    expect_same_as_reference(student.accept_draft_token, reference.accept_draft_token, accept_cases(1), ACCEPT)


# residual_distribution ----------------------------------------------------------------------------

RESIDUAL = "residual_distribution"


@exercise(RESIDUAL, weight=2, hint="Keep only the positive part of p - q: (p - q).clamp(min=0), not |p - q| and not "
                                   "max(0, q - p); tokens the draft over-proposes get 0.")
def test_residual_keeps_the_positive_part(student):
    """p = [0.1, 0.6, 0.3], q = [0.4, 0.2, 0.4]: max(0, p - q) = [0, 0.4, 0], so the residual is [0, 1, 0]."""
    same_values(student.residual_distribution(t(0.1, 0.6, 0.3), t(0.4, 0.2, 0.4)), t(0.0, 1.0, 0.0),
                      "residual_distribution([0.1, 0.6, 0.3], [0.4, 0.2, 0.4])")


@exercise(RESIDUAL, weight=2, hint="Divide max(0, p - q) by its own sum over the last dimension (keepdim=True), so "
                                   "that it sums to 1 (its sum is 1 - alpha, not 1).")
def test_residual_is_normalised(student):
    """p = [0.5, 0.25, 0.25], q = [0.25, 0.25, 0.5]: the residual [0.25, 0, 0] normalises to [1, 0, 0]; another with two tokens."""
    same_values(student.residual_distribution(t(0.5, 0.25, 0.25), t(0.25, 0.25, 0.5)), t(1.0, 0.0, 0.0),
                      "residual_distribution([0.5, 0.25, 0.25], [0.25, 0.25, 0.5])")
    same_values(student.residual_distribution(t(0.5, 0.3, 0.2), t(0.2, 0.2, 0.6)), t(0.75, 0.25, 0.0),
                      "residual_distribution([0.5, 0.3, 0.2], [0.2, 0.2, 0.6])")


@exercise(RESIDUAL, weight=2, hint="Where p equals q the residual sums to 0: return p's row there (torch.where on the "
                                   "sum), not 0 / 0 = NaN, zeros, q or a uniform distribution.")
def test_residual_of_equal_distributions_is_p(student):
    """p == q (float64 and float32), and a peaked p with a token of probability 0."""
    for p in (t(0.6, 0.3, 0.1), t(0.6, 0.3, 0.1, dtype=torch.float32), t(0.0, 0.9, 0.1)):
        same_values(student.residual_distribution(p, p.clone()), p, f"residual_distribution(p, p) for p = {p.tolist()}")


@exercise(RESIDUAL, weight=2, hint="Work along the LAST dimension with keepdim=True: each row's residual is divided by "
                                   "its own sum, and a row where p == q gives p's row while the others do not.")
def test_residual_each_row_on_its_own(student, reference):
    """(2, 3, 6) distributions with one row where p == q; (4, 5) distributions."""
    rng = random.Random(5)
    p, q = distribution(rng, (2, 3, 6)), distribution(rng, (2, 3, 6))
    q[1, 2] = p[1, 2]
    for p, q in ((p, q), (distribution(rng, (4, 5)), distribution(rng, (4, 5)))):
        same_values(student.residual_distribution(p, q), reference.residual_distribution(p, q),
                          f"residual_distribution of shape {tuple(p.shape)}")


@exercise(RESIDUAL, hint="Keep the inputs' dtype: no .double() or .float() in the result.")
def test_residual_keeps_the_dtype(student, reference):
    """float32 and float64 inputs."""
    rng = random.Random(6)
    for dtype in (torch.float32, torch.float64):
        p, q = distribution(rng, (7,), dtype), distribution(rng, (7,), dtype)
        same_distribution(student.residual_distribution(p, q), reference.residual_distribution(p, q), f"{str(dtype)[6:]} inputs")


@exercise(RESIDUAL, weight=2, hint="Return a new tensor and leave p and q as they were: no clamp_, div_ or p -= q.")
def test_residual_leaves_the_inputs_unchanged(student):
    """p and q unchanged after the call; a new tensor, also where p == q."""
    for p, q, expected in ((t(0.5, 0.3, 0.2), t(0.2, 0.2, 0.6), t(0.75, 0.25, 0.0)), (t(0.5, 0.5), t(0.5, 0.5), t(0.5, 0.5))):
        call = observe(student.residual_distribution, p, q)
        expect_proven(not call.changed, f"residual_distribution changed its argument {(call.changed or [0])[0] + 1} in place")
        expect_proven(call.returned_argument is None, "residual_distribution returned one of its arguments itself")
        with judged_only_if_right():
            same_values(call.result, expected, f"residual_distribution({p.tolist()}, {q.tolist()})")


def pair_cases(seed, count, vocabularies):
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        shape = generators.leading_shape(rng, rng.choice(vocabularies))
        dtype = rng.choice([torch.float32, torch.float64])
        p = distribution(rng, shape, dtype, zeros=i % 3 == 0)
        q = distribution(rng, shape, dtype, zeros=i % 4 == 1)
        if i % 5 == 2:
            q = p.clone()
        cases.append(Shown((p, q), label=f"(p and q of shape {tuple(shape)}, {str(dtype)[6:]}"
                                         f"{', zeros' if i % 3 == 0 or i % 4 == 1 else ''}{', p == q' if i % 5 == 2 else ''})"))
    return cases


@exercise(RESIDUAL, weight=2, broad=True, hint="max(0, p - q) divided by its sum along the last dimension, p's row "
                                               "where that sum is 0.")
def test_residual_matches_reference(student, reference):
    """40 random pairs: 1-D to 3-D, float32 and float64, zeros, p == q."""
    expect_same_as_reference(student.residual_distribution, reference.residual_distribution,
                             pair_cases(7, 40, [1, 2, 5, 13, 50]), RESIDUAL, compare=same_distribution)


# speculative_step ---------------------------------------------------------------------------------

STEP = "speculative_step"

P3 = t(0.5, 0.3, 0.2)
Q3 = t(0.25, 0.6, 0.15)


@exercise(STEP, weight=2, hint="When all k drafts are accepted, append the bonus token sample_from(p[k], uniforms[k]) "
                               "from the target's LAST row: a step always emits one token more than it accepts.")
def test_step_bonus_token_after_full_acceptance(student):
    """k = 2, both accepted: [draft 0, draft 1, the token uniforms[2] picks from p[2]]."""
    p = torch.stack((P3, t(0.1, 0.1, 0.8), t(0.7, 0.2, 0.1)))
    q = torch.stack((Q3, t(0.2, 0.6, 0.2)))
    expect_equal(student.speculative_step(p, q, [0, 2], [0.9, 0.3, 0.75]), [0, 2, 1],
                 "speculative_step(p, q, [0, 2], [0.9, 0.3, 0.75])")


@exercise(STEP, weight=2, hint="After a rejection at position i draw from residual_distribution(p[i], q[i]), not from "
                               "p[i] (that skews the output towards the draft) nor from q[i].")
def test_step_resamples_from_the_residual(student):
    """Draft 1 rejected (0.7 >= 0.3/0.6): the residual [5/6, 0, 1/6] with u = 0.6 gives 0 (p would give 1)."""
    p = torch.stack((P3, t(0.1, 0.1, 0.8)))
    expect_equal(student.speculative_step(p, Q3[None], [1], [0.7, 0.6]), [0], "speculative_step(p, q, [1], [0.7, 0.6])")


@exercise(STEP, weight=2, hint="Stop at the FIRST rejection: the drafts after it are not emitted, even when their own "
                               "test would accept them.")
def test_step_stops_at_the_first_rejection(student):
    """k = 3, draft 1 rejected, draft 2 would be accepted: [draft 0, one residual token]."""
    p = torch.stack((P3, P3, P3, P3))
    q = torch.stack((Q3, Q3, Q3))
    expect_equal(student.speculative_step(p, q, [0, 1, 0], [0.5, 0.9, 0.1, 0.99]), [0, 2],
                 "speculative_step(p, q, [0, 1, 0], [0.5, 0.9, 0.1, 0.99])")


@exercise(STEP, weight=2, hint="Draw the final token with the LAST uniform, uniforms[k] (k = len(draft_tokens)), "
                               "whether it is a residual token or the bonus token, not uniforms[i] of the rejection.")
def test_step_uses_the_last_uniform_for_the_final_token(student):
    """Rejection at position 0 of 2: uniforms[0] = 0.95 or uniforms[1] = 0.9 would pick token 2 of the residual,
    uniforms[2] = 0.1 picks 0."""
    p = torch.stack((P3, P3, P3))
    q = torch.stack((Q3, Q3))
    expect_equal(student.speculative_step(p, q, [1, 0], [0.95, 0.9, 0.1]), [0], "speculative_step(p, q, [1, 0], [0.95, 0.9, 0.1])")


@exercise(STEP, hint="With no draft token (k = 0) return [sample_from(p[0], uniforms[0])]: plain sampling from the target.")
def test_step_with_no_draft(student):
    """k = 0: p of shape (1, 3), q of shape (0, 3), one uniform."""
    for u, expected in ((0.45, [0]), (0.55, [1]), (0.85, [2])):
        expect_equal(student.speculative_step(P3[None], Q3[None][:0], [], [u]), expected, f"speculative_step(p, q, [], [{u}])")


@exercise(STEP, hint="Return a list of Python ints: int(token) for the accepted drafts (the draft tokens may come as "
                     "a tensor's items) and sample_from's int.")
def test_step_returns_a_list_of_int(student):
    """The result is a list of int, also when the draft tokens are given as ints from a tensor."""
    p = torch.stack((P3, P3))
    got = student.speculative_step(p, Q3[None], [0], [0.1, 0.1])
    expect(type(got) is list and all(type(x) is int for x in got),
           f"speculative_step should return a list of int, got {kind_of(got)}: {got!r}")


@exercise(STEP, hint="Decide each draft with accept_draft_token's rule u < p/q: a uniform equal to p/q rejects.")
def test_step_boundary(student):
    """uniforms[0] = p/q = 0.5 exactly: draft 1 is rejected."""
    p = torch.stack((t(0.25, 0.25, 0.5), t(0.1, 0.1, 0.8)))
    q = t(0.5, 0.5, 0.0)[None]
    expect_equal(student.speculative_step(p, q, [1], [0.5, 0.99]), [2], "speculative_step(p, q, [1], [0.5, 0.99])")


def step_cases(reference, seed, count=40):
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        k, vocab = rng.choice([0, 1, 2, 3, 4, 6]), rng.choice([1, 2, 4, 9, 30])
        dtype = rng.choice([torch.float32, torch.float64])
        p = distribution(rng, (k + 1, vocab), dtype, zeros=i % 3 == 0)
        q = distribution(rng, (k, vocab), dtype, zeros=i % 4 == 1)
        if i % 5 == 2 and k:
            q = p[:k].clone()
        drafts = [reference.sample_from(q[j], rng.random()) for j in range(k)]
        uniforms = [rng.random() for _ in range(k + 1)]
        cases.append(Shown((p, q, drafts, uniforms), label=f"(p of shape {(k + 1, vocab)}, q of shape {(k, vocab)}, "
                                                           f"{str(dtype)[6:]}, drafts {drafts}, uniforms "
                                                           f"{[round(u, 3) for u in uniforms]})"))
    return cases


@exercise(STEP, weight=3, broad=True, hint="Follow the text: accept_draft_token on each draft in order, the residual "
                                           "of the first rejected row or the bonus token from p[k], drawn with uniforms[k].")
def test_step_matches_reference(student, reference):
    """40 random steps: k from 0 to 6, vocabularies of 1 to 30, float32 and float64, zeros, q equal to p."""
    expect_same_as_reference(student.speculative_step, reference.speculative_step, step_cases(reference, 8), STEP)


# acceptance_rate ----------------------------------------------------------------------------------

RATE = "acceptance_rate"


@exercise(RATE, weight=2, hint="Sum the element-wise minimum: torch.minimum(p, q).sum(dim=-1) (not the maximum, not "
                               "the mean, not p * q).")
def test_rate_sums_the_minimum(student):
    """p = [0.5, 0.3, 0.2], q = [0.25, 0.6, 0.15]: 0.25 + 0.3 + 0.15 = 0.7."""
    expect_close(student.acceptance_rate(P3, Q3), 0.7, 1e-12, what="acceptance_rate([0.5, 0.3, 0.2], [0.25, 0.6, 0.15])")


@exercise(RATE, hint="Sum min(p, q): 1 when p == q, 0 when p and q share no token.")
def test_rate_extremes(student):
    """p == q gives 1; disjoint supports give 0."""
    expect_close(student.acceptance_rate(P3, P3.clone()), 1.0, 1e-12, what="acceptance_rate(p, p)")
    expect_close(student.acceptance_rate(t(0.5, 0.5, 0.0, 0.0), t(0.0, 0.0, 0.3, 0.7)), 0.0, 1e-12,
                 what="acceptance_rate of disjoint supports")


@exercise(RATE, weight=2, hint="Sum over the LAST dimension only (dim=-1): the result has the leading shape, a "
                               "0-dimensional tensor for 1-D inputs.")
def test_rate_leading_dimensions(student, reference):
    """Shapes (5,), (3, 5) and (2, 3, 5)."""
    rng = random.Random(9)
    for shape in ((5,), (3, 5), (2, 3, 5)):
        p, q = distribution(rng, shape), distribution(rng, shape)
        same_values(student.acceptance_rate(p, q), reference.acceptance_rate(p, q), f"acceptance_rate of shape {shape}")


@exercise(RATE, hint="Keep the inputs' dtype.")
def test_rate_keeps_the_dtype(student, reference):
    """float32 inputs give a float32 rate, float64 inputs a float64 one."""
    rng = random.Random(10)
    for dtype in (torch.float32, torch.float64):
        p, q = distribution(rng, (2, 6), dtype), distribution(rng, (2, 6), dtype)
        same_distribution(student.acceptance_rate(p, q), reference.acceptance_rate(p, q), f"{str(dtype)[6:]} inputs")


@exercise(RATE, weight=2, broad=True, hint="torch.minimum(p, q).sum(dim=-1), the inputs left unchanged.")
def test_rate_matches_reference(student, reference):
    """30 random pairs: 1-D to 3-D, float32 and float64, zeros, p == q."""
    expect_same_as_reference(student.acceptance_rate, reference.acceptance_rate, pair_cases(11, 30, [1, 2, 6, 50]), RATE,
                             compare=same_distribution)


# expected_tokens_per_step -------------------------------------------------------------------------

EXPECTED = "expected_tokens_per_step"


def close_number(got, expected, what):
    expect(isinstance(got, (int, float)) and not isinstance(got, bool),
           f"{what}: expected a number (float), got {kind_of(got)}: {got!r}")
    expect_close(got, expected, 0.0, 1e-9, what=what)


@exercise(EXPECTED, weight=2, hint="(1 - alpha ** (k + 1)) / (1 - alpha): the exponent is k + 1 (1 + alpha + ... + "
                                   "alpha^k counts the bonus token), not k.")
def test_expected_tokens_formula(student):
    """(0.5, 2) gives 1.75; (0.9, 3) gives 3.439."""
    for alpha, k, expected in ((0.5, 2, 1.75), (0.9, 3, 3.439)):
        close_number(student.expected_tokens_per_step(alpha, k), expected, f"expected_tokens_per_step({alpha}, {k})")


@exercise(EXPECTED, weight=2, hint="At alpha = 1 the formula is 0 / 0: return k + 1 (every draft accepted, plus the "
                                   "bonus token).")
def test_expected_tokens_at_alpha_one(student):
    """alpha = 1: k + 1 for k = 0, 2 and 7."""
    for k in (0, 2, 7):
        close_number(student.expected_tokens_per_step(1.0, k), k + 1, f"expected_tokens_per_step(1.0, {k})")


@exercise(EXPECTED, hint="k = 0 gives one token (the target's own) and alpha = 0 gives one token per step.")
def test_expected_tokens_edges(student):
    """k = 0 with alpha 0.3; alpha = 0 with k = 5."""
    close_number(student.expected_tokens_per_step(0.3, 0), 1.0, "expected_tokens_per_step(0.3, 0)")
    close_number(student.expected_tokens_per_step(0.0, 5), 1.0, "expected_tokens_per_step(0.0, 5)")


@exercise(EXPECTED, weight=2, broad=True, hint="(1 - alpha ** (k + 1)) / (1 - alpha), and k + 1 at alpha = 1.")
def test_expected_tokens_matches_reference(student, reference):
    """30 (alpha, k): alpha from 0 to 1 (1e-9 and 0.999 included), k from 0 to 12."""
    rng = random.Random(12)
    cases = [Case((alpha, k)) for alpha, k in ((0.0, 0), (1.0, 12), (1e-9, 3), (0.999, 10), (0.5, 1))]
    cases += [Case((round(rng.random(), 4), rng.randint(0, 12))) for _ in range(25)]
    expect_same_as_reference(student.expected_tokens_per_step, reference.expected_tokens_per_step, cases, EXPECTED,
                             compare=close_number)


# speculative_greedy -------------------------------------------------------------------------------

GREEDY = "speculative_greedy"


def greedy_run(speculative_greedy, seed, vocab_size, noise, ids, max_new_tokens, k):
    """(Runs in the worker, and here.) A peaked small course model as the target, the same model with its weights
    perturbed by `noise` as the draft (noise None: another random model), both counting their calls; the result of
    speculative_greedy(target, draft, ids, max_new_tokens, k) as (type, dtype, dimensions, tokens), the target's
    and the draft's call lengths, whether ids is unchanged, and plain greedy decoding of the target."""
    import copy

    import torch
    from coursekit.models import LlamaConfig, LlamaForCausalLM

    def model(model_seed):
        torch.manual_seed(model_seed)
        config = LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                             num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64)
        built = LlamaForCausalLM(config).eval()
        with torch.no_grad():
            for parameter in built.parameters():
                if parameter.dim() > 1:
                    parameter.normal_(0.0, 0.5)
        return built

    class Counted(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.lengths = []

        def forward(self, idx):
            self.lengths.append(list(idx.shape))
            return self.inner(idx)

    target = model(seed)
    if noise is None:
        draft = model(seed + 1000)
    else:
        draft = copy.deepcopy(target)
        generator = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for parameter in draft.parameters():
                parameter.add_(noise * torch.randn(parameter.shape, generator=generator))
    counted_target, counted_draft = Counted(target), Counted(draft)
    before = ids.clone()
    out = speculative_greedy(counted_target, counted_draft, ids, max_new_tokens, k)
    plain = ids.clone()
    with torch.no_grad():
        for _ in range(max_new_tokens):
            plain = torch.cat((plain, target(plain[None])[0][0, -1].argmax()[None]))
    facts = (type(out).__name__, str(getattr(out, "dtype", None)), getattr(out, "dim", lambda: None)(),
             out.tolist() if isinstance(out, torch.Tensor) else None)
    return facts, counted_target.lengths, counted_draft.lengths, torch.equal(ids, before), plain.tolist()


def prompt(seed, length=3, vocab_size=29):
    return torch.randint(0, vocab_size, (length,), generator=gen(seed))


def greedy_both(student, reference, seed, max_new_tokens, k, noise=0.05, vocab_size=29, length=3):
    ids = prompt(seed, length, vocab_size)
    mine = probe(student, greedy_run, student.speculative_greedy, seed, vocab_size, noise, ids, max_new_tokens, k)
    ref = greedy_run(reference.speculative_greedy, seed, vocab_size, noise, ids, max_new_tokens, k)
    what = (f"speculative_greedy(target {seed}, {'another model' if noise is None else f'draft = target + noise {noise}'}, "
            f"prompt {ids.tolist()}, {max_new_tokens}, k={k})")
    return mine, ref, what


def same_tokens(mine, ref, what):
    expect_equal(mine[0][:3], ("Tensor", "torch.int64", 1), f"{what}: (type, dtype, dimensions)")
    expect_equal(mine[0][3], ref[0][3], what)


@exercise(GREEDY, hint="Return a 1-D torch.long tensor: the prompt first, then the new tokens; never change ids.")
def test_greedy_output_layout(student, reference):
    """The result's type, dtype and dimensions, the prompt first; ids unchanged; a prompt of one token and of five."""
    for seed, length in ((12, 1), (14, 5)):
        mine, ref, what = greedy_both(student, reference, seed, 6, 2, length=length)
        expect_equal(mine[0][:3], ("Tensor", "torch.int64", 1), f"{what}: (type, dtype, dimensions)")
        expect_proven(mine[3], f"{what} changed the caller's ids in place")
        expect_equal((mine[0][3] or [])[:length], ref[0][3][:length], f"{what}: the first {length} tokens, the prompt first")
        with judged_only_if_right():
            same_tokens(mine, ref, what)


@exercise(GREEDY, weight=3, hint="A draft token is kept only while it equals the target's argmax at its position; at the "
                                 "first mismatch append the target's argmax there (not the draft's token), and after "
                                 "all n drafts the target's bonus argmax.")
def test_greedy_equals_plain_greedy(student, reference):
    """k = 1, 3 and 5, 16 new tokens: the target's plain greedy tokens."""
    for seed, k in ((1, 1), (2, 3), (3, 5)):
        mine, ref, what = greedy_both(student, reference, seed, 16, k)
        expect_equal(ref[0][3], ref[4], "the reference against plain greedy (a check's own consistency)")
        same_tokens(mine, ref, what)


@exercise(GREEDY, weight=2, hint="Each step: n = min(k, max_new_tokens - generated - 1) draft calls, one per token on "
                                 "the whole sequence so far, then ONE target call on the sequence with the n drafts "
                                 "(batch of one, no cropping).")
def test_greedy_calls(student, reference):
    """The lengths of every target and draft call, k = 2 and 4, 12 new tokens."""
    for seed, k in ((4, 2), (5, 4)):
        mine, ref, what = greedy_both(student, reference, seed, 12, k)
        with judged_only_if_right():
            same_tokens(mine, ref, what)
        expect_equal([tuple(s) for s in mine[1]], [tuple(s) for s in ref[1]], f"{what}: the target's calls, as input shapes")
        expect_equal([tuple(s) for s in mine[2]], [tuple(s) for s in ref[2]], f"{what}: the draft's calls, as input shapes")


@exercise(GREEDY, weight=2, hint="When all n drafts match, append them and the target's argmax after the last one (the "
                                 "bonus token): n + 1 tokens for one target call.")
def test_greedy_when_the_draft_is_always_right(student, reference):
    """The draft is the target (noise 0), k = 3, 13 new tokens: 4 tokens per target call, the calls as the reference's."""
    mine, ref, what = greedy_both(student, reference, 6, 13, 3, noise=0.0)
    same_tokens(mine, ref, what)
    expect_equal(len(mine[1]), len(ref[1]), f"{what}: the number of target calls")


@exercise(GREEDY, hint="k = 0: no draft call, one target call per token: plain greedy decoding.")
def test_greedy_without_drafts(student, reference):
    """k = 0, 7 new tokens; and a draft that is another model (rarely right), k = 3."""
    mine, ref, what = greedy_both(student, reference, 7, 7, 0)
    same_tokens(mine, ref, what)
    expect_equal((len(mine[1]), len(mine[2])), (7, 0), f"{what}: (target calls, draft calls)")
    mine, ref, what = greedy_both(student, reference, 8, 10, 3, noise=None)
    same_tokens(mine, ref, what)


@exercise(GREEDY, weight=2, hint="Return exactly max_new_tokens new tokens: draft at most max_new_tokens - generated - 1 "
                                 "tokens per step, and return the prompt for max_new_tokens = 0.")
def test_greedy_length(student, reference):
    """k = 10 with 4 new tokens, max_new_tokens 0 and 1 with k = 3."""
    for seed, steps, k in ((9, 4, 10), (10, 0, 3), (11, 1, 3)):
        mine, ref, what = greedy_both(student, reference, seed, steps, k)
        same_tokens(mine, ref, what)


@exercise(GREEDY, weight=2, broad=True, hint="Follow the four steps of the text exactly.")
def test_greedy_matches_reference(student, reference):
    """8 configurations: vocabularies 29 and 41, k from 0 to 6, drafts close to and far from the target, prompts of 1 to 5."""
    rng = random.Random(13)
    for i in range(8):
        mine, ref, what = greedy_both(student, reference, 40 + i, rng.choice([5, 11, 14]), rng.choice([0, 1, 2, 4, 6]),
                                      noise=rng.choice([0.0, 0.1, 0.3, None]), vocab_size=rng.choice([29, 41]),
                                      length=rng.randint(1, 5))
        same_tokens(mine, ref, what)
        expect_equal(len(mine[1]), len(ref[1]), f"{what}: the number of target calls")
