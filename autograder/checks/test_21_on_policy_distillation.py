"""Hidden checks for 21-on-policy-distillation. Inputs differ from the visible checks: vocabularies of 1 to 50
tokens, 1-D to 4-D logits, 0-d to 3-D log-probabilities, float32 and float64, logits of scale 1000 and
log-probabilities near -1000 that overflow or underflow a naive formula, boolean and integer masks that mask.
Values are compared to 1e-9 (float64) or 1e-5 plus a relative 1e-5 (float32); gradients are computed in the worker
by a probe and compared with the reference's; the teacher must get none.

Every promise of the text and docstrings, and the check that exercises it:

per_token_reverse_kl
- KL(student || teacher), the student first, temperature 1: test_rkl_direction
- summed over the vocabulary, averaged over every position of every leading dimension: test_rkl_mean_over_positions
- mask: boolean and 0/1 integer, the mean over kept positions: test_rkl_mask; nothing kept gives 0: test_rkl_empty_mask
- log_softmax for both (logits of scale 1000): test_rkl_large_logits
- a 0-d tensor in the logits' dtype: test_rkl_zero_dim_and_dtype
- the student's gradient: test_rkl_student_gradient; none to the teacher: test_rkl_no_gradient_to_the_teacher
- arguments unchanged, everything combined: test_rkl_matches_reference
kl_estimators
- k1 = log q - log p (this direction): test_estimators_k1
- k2 = (log q - log p)^2 / 2: test_estimators_k2
- k3 = (r - 1) - log r, r = p / q: test_estimators_k3
- a tuple (k1, k2, k3) in this order: test_estimators_tuple_in_order
- from the log-ratio, finite for log-probabilities near -1000: test_estimators_large_log_probabilities
- any shape (0-d to 3-D), the inputs' dtype: test_estimators_shape_and_dtype
- arguments unchanged, everything combined: test_estimators_match_reference
- (k1 and k3 unbiased, k2 biased, under sampling from the student: a fact, shown by the hand calculation and the
  oracle tests, tests/test_21_on_policy_distillation_oracles.py)
on_policy_distillation_loss
- -mean(A log q), A = log p - log q: the sign and the value, test_opd_value_and_sign
- A detached: the gradient with respect to log q is -A / kept: test_opd_advantage_detached
- no gradient to the teacher: test_opd_no_gradient_to_the_teacher
- mask (boolean and 0/1), the mean over kept tokens: test_opd_mask; nothing kept gives 0: test_opd_empty_mask
- a 0-d tensor in the inputs' dtype: test_opd_zero_dim_and_dtype
- arguments unchanged, any shape, everything combined: test_opd_matches_reference
"""
import random

import torch

from autograder import generators
from autograder.checking import exercise, expect, expect_close, expect_equal, expect_same_as_reference
from autograder.remote import kind_of, probe
from autograder.torch_checks import Shown, expect_loss_gradients_like_reference, gen, gradients


def same_tensor(got, expected, what):
    """A tensor of the expected dtype and shape, within 1e-9 (float64) or 1e-5 plus a relative 1e-5 (float32)."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    if expected.dtype == torch.float64:
        expect_close(got.detach(), expected.detach(), 1e-9, 1e-9, what=what)
    else:
        expect_close(got.detach(), expected.detach(), 1e-5, 1e-5, what=what)


def same_triple(got, expected, what):
    expect(isinstance(got, tuple), f"{what}: expected a tuple (k1, k2, k3), got {kind_of(got)}")
    expect_equal(len(got), 3, f"{what}: the number of estimators returned")
    for name, g, e in zip(("k1", "k2", "k3"), got, expected):
        same_tensor(g, e, f"{what}: {name}")


def rnd(seed, *shape, dtype=torch.float64, scale=1.0):
    return torch.randn(tuple(shape), generator=gen(seed), dtype=dtype) * scale


def dtype_name(dtype):
    return str(dtype).removeprefix("torch.")


def log_prob_pair(seed, *shape, dtype=torch.float64, offset=0.0, spread=1.0):
    """Log-probabilities of sampled tokens: log q <= 0 (minus offset), log p = log q + noise of size spread, <= 0."""
    logq = -rnd(seed, *shape).abs() - offset
    logp = (logq + rnd(seed + 1, *shape) * spread).clamp(max=0.0)
    return logq.to(dtype), logp.to(dtype)


# per_token_reverse_kl ------------------------------------------------------------------------------------

RKL = "per_token_reverse_kl"


@exercise(RKL, weight=2, hint="The reverse KL puts the STUDENT first: sum_v q (log q - log p), q the student's "
                              "softmax; KL(teacher || student) is the forward KL of notebook 20.")
def test_rkl_direction(student, reference):
    """One position, 4 tokens: KL(q || p) differs from KL(p || q)."""
    s, t = rnd(1, 4, scale=2.0), rnd(2, 4, scale=2.0)
    same_tensor(student.per_token_reverse_kl(s, t), reference.per_token_reverse_kl(s, t), "per_token_reverse_kl on 4 tokens")


@exercise(RKL, hint="Sum over the vocabulary (dim=-1), then the mean over the positions, every leading dimension "
                    "included: not a mean over the vocabulary.")
def test_rkl_mean_over_positions(student, reference):
    """(2, 3, 7) logits: 6 positions; and (4, 7): 4 positions."""
    for shape, seed in (((2, 3, 7), 3), ((4, 7), 4)):
        s, t = rnd(seed, *shape), rnd(seed + 10, *shape)
        same_tensor(student.per_token_reverse_kl(s, t), reference.per_token_reverse_kl(s, t), f"logits of shape {shape}")


@exercise(RKL, weight=2, hint="With a mask, average over the kept positions only: (per_position * mask).sum() / "
                              "mask.sum(); convert a boolean or integer mask to the loss's dtype first.")
def test_rkl_mask(student, reference):
    """(2, 3, 4) logits with 3 of 6 positions kept, as a bool and an int64 mask."""
    s, t = rnd(5, 2, 3, 4), rnd(6, 2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [0, 0, 1]])
    for m in (mask.bool(), mask):
        same_tensor(student.per_token_reverse_kl(s, t, m), reference.per_token_reverse_kl(s, t, m),
                    f"a {dtype_name(m.dtype)} mask")


@exercise(RKL, hint="A mask that keeps nothing: divide by mask.sum().clamp(min=1), giving 0, not 0 / 0 = NaN.")
def test_rkl_empty_mask(student):
    """Every position masked: 0."""
    s, t = rnd(7, 2, 5), rnd(8, 2, 5)
    same_tensor(student.per_token_reverse_kl(s, t, torch.zeros(2, dtype=torch.bool)), torch.tensor(0.0, dtype=torch.float64),
                "a mask of zeros")


@exercise(RKL, hint="Use F.log_softmax for BOTH distributions: softmax(...).log() is log 0 = -inf where a probability "
                    "underflows, and 0 * -inf = NaN.")
def test_rkl_large_logits(student, reference):
    """Logits of scale 1000, float32 and float64."""
    for dtype in (torch.float32, torch.float64):
        s, t = rnd(9, 3, 6, dtype=dtype, scale=1000.0), rnd(10, 3, 6, dtype=dtype, scale=1000.0)
        same_tensor(student.per_token_reverse_kl(s, t), reference.per_token_reverse_kl(s, t),
                    f"logits of scale 1000 in {dtype_name(dtype)}")


@exercise(RKL, hint="Return the 0-d tensor itself (no .item()), in the logits' dtype.")
def test_rkl_zero_dim_and_dtype(student):
    """float32 logits give a 0-d float32 tensor."""
    got = student.per_token_reverse_kl(rnd(11, 2, 5, dtype=torch.float32), rnd(12, 2, 5, dtype=torch.float32))
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal((tuple(got.shape), got.dtype), ((), torch.float32), "the shape and dtype")


@exercise(RKL, weight=2, hint="Compute the loss in torch from the student's logits (no .detach(), no .item() on its "
                              "path): both q's factors carry gradient, q itself and log q.")
def test_rkl_student_gradient(student, reference):
    """The gradient with respect to the student's logits, (2, 3, 5) with a mask."""
    mask = torch.tensor([[True, True, False], [True, False, True]])
    args = (rnd(13, 2, 3, 5), rnd(14, 2, 3, 5), mask)
    expect_loss_gradients_like_reference(student, reference, "per_token_reverse_kl", args, ["the student's logits"])


@exercise(RKL, weight=2, hint="The teacher's logits are targets: detach them (teacher_logits.detach()) so that no "
                              "gradient reaches the teacher.")
def test_rkl_no_gradient_to_the_teacher(student, reference):
    """Teacher logits that require grad: the student's gradient as the reference's, none for the teacher."""
    args = (rnd(15, 3, 4), rnd(16, 3, 4))
    expect_loss_gradients_like_reference(student, reference, "per_token_reverse_kl", args,
                                         ["the student's logits", "the teacher's logits"])


@exercise(RKL, weight=2, broad=True, hint="The masked mean over positions of sum_v q (log q - log p), with log_softmax, "
                                          "the teacher detached, the arguments unchanged.")
def test_rkl_matches_reference(student, reference):
    """16 random cases: 1-D to 4-D, float32 and float64, scales 0.1 to 1000, with and without masks."""
    rng, cases = random.Random(21), []
    for _ in range(16):
        shape = generators.leading_shape(rng, rng.choice([1, 2, 5, 50]))
        dtype, scale = rng.choice([torch.float32, torch.float64]), rng.choice([0.1, 1.0, 3.0, 1000.0])
        s, t = generators.tensor(rng, shape, dtype, scale), generators.tensor(rng, shape, dtype, scale)
        keep = torch.rand(shape[:-1], generator=gen(rng.randrange(1000))) < 0.7
        mask = rng.choice([None, keep, keep.long()]) if shape[:-1] else None
        cases.append(Shown((s, t, mask), label=f"(logits of shape {tuple(shape)}, {dtype_name(dtype)}, scale {scale}, "
                                               f"mask={'None' if mask is None else dtype_name(mask.dtype)})"))
    expect_same_as_reference(student.per_token_reverse_kl, reference.per_token_reverse_kl, cases, "per_token_reverse_kl",
                             compare=same_tensor)


# kl_estimators ---------------------------------------------------------------------------------------------

EST = "kl_estimators"


@exercise(EST, hint="k1 = log q - log p: the STUDENT's log-probability first (the tokens were sampled from the "
                    "student); log p - log q estimates minus the KL.")
def test_estimators_k1(student, reference):
    """5 tokens, log q and log p differing both ways."""
    q, p = log_prob_pair(20, 5)
    expect_close(student.kl_estimators(q, p)[0], reference.kl_estimators(q, p)[0], 1e-9, 1e-9, what="k1")


@exercise(EST, hint="k2 = 0.5 * (log q - log p) ** 2: the half matters.")
def test_estimators_k2(student, reference):
    """5 tokens."""
    q, p = log_prob_pair(21, 5)
    expect_close(student.kl_estimators(q, p)[1], reference.kl_estimators(q, p)[1], 1e-9, 1e-9, what="k2")


@exercise(EST, weight=2, hint="k3 = (r - 1) - log r with r = p / q = exp(log p - log q): the teacher over the "
                              "student, and MINUS log r; every k3 is >= 0.")
def test_estimators_k3(student, reference):
    """5 tokens, r above and below 1."""
    q, p = log_prob_pair(22, 5)
    expect_close(student.kl_estimators(q, p)[2], reference.kl_estimators(q, p)[2], 1e-9, 1e-9, what="k3")


@exercise(EST, hint="Return a tuple of three tensors, (k1, k2, k3), in this order.")
def test_estimators_tuple_in_order(student, reference):
    """A (2, 3) case: the tuple and its order."""
    q, p = log_prob_pair(23, 2, 3)
    same_triple(student.kl_estimators(q, p), reference.kl_estimators(q, p), "kl_estimators on (2, 3)")


@exercise(EST, hint="Compute r from the log-ratio, exp(log p - log q) (or torch.expm1): p / q from exp(log p) and "
                    "exp(log q) is 0 / 0 for log-probabilities near -1000.")
def test_estimators_large_log_probabilities(student, reference):
    """Log-probabilities near -1000 (their exponentials underflow), float32 and float64."""
    for dtype in (torch.float64, torch.float32):
        q, p = log_prob_pair(24, 6, dtype=dtype, offset=1000.0)
        same_triple(student.kl_estimators(q, p), reference.kl_estimators(q, p), f"log-probabilities near -1000, {dtype_name(dtype)}")


@exercise(EST, hint="Element by element, no reduction: each estimator keeps the inputs' shape (0-d included) and dtype.")
def test_estimators_shape_and_dtype(student, reference):
    """A 0-d float64 pair and a (2, 1, 3) float32 pair."""
    for shape, dtype in (((), torch.float64), ((2, 1, 3), torch.float32)):
        q, p = log_prob_pair(25, *shape, dtype=dtype)
        same_triple(student.kl_estimators(q, p), reference.kl_estimators(q, p), f"shape {shape}, {dtype_name(dtype)}")


@exercise(EST, weight=2, broad=True, hint="k1 = log q - log p, k2 = k1^2 / 2, k3 = (r - 1) - log r with r = "
                                          "exp(log p - log q), element by element, the arguments unchanged.")
def test_estimators_match_reference(student, reference):
    """12 random cases: 0-d to 3-D, float32 and float64, offsets 0 to 1000, log-ratios of size 0.01 to 3."""
    rng, cases = random.Random(22), []
    for i in range(12):
        shape = tuple(rng.randint(1, 4) for _ in range(rng.randint(0, 3)))
        dtype, offset, spread = rng.choice([torch.float32, torch.float64]), rng.choice([0.0, 5.0, 1000.0]), \
            rng.choice([0.01, 0.5, 3.0])
        q, p = log_prob_pair(100 + i, *shape, dtype=dtype, offset=offset, spread=spread)
        cases.append(Shown((q, p), label=f"(shape {shape}, {dtype_name(dtype)}, log q near -{offset:g}, "
                                         f"log-ratio ~{spread})"))
    expect_same_as_reference(student.kl_estimators, reference.kl_estimators, cases, "kl_estimators", compare=same_triple)


# on_policy_distillation_loss -----------------------------------------------------------------------------------

OPD = "on_policy_distillation_loss"


@exercise(OPD, weight=2, hint="loss = -mean(A * log q) with A = -(log q - log p) = log p - log q: two minus signs; "
                              "tokens the teacher likes more than the student must be pushed UP.")
def test_opd_value_and_sign(student, reference):
    """6 tokens, advantages of both signs."""
    q, p = log_prob_pair(30, 6)
    same_tensor(student.on_policy_distillation_loss(q, p), reference.on_policy_distillation_loss(q, p),
                "on_policy_distillation_loss on 6 tokens")


@exercise(OPD, weight=2, hint="Detach the advantage: A = -(log q - log p).detach(); otherwise the gradient also "
                              "flows through A and is not the policy gradient of the reverse KL.")
def test_opd_advantage_detached(student, reference):
    """The gradient with respect to log q, (2, 3) with a mask: -A / kept tokens."""
    q, p = log_prob_pair(31, 2, 3)
    args = (q, p, torch.tensor([[True, False, True], [True, True, False]]))
    got, expected = probe(student, gradients, student.on_policy_distillation_loss, args, (1.0,)), \
        gradients(reference.on_policy_distillation_loss, args, (1.0,))
    expect(got is not None, "on_policy_distillation_loss: the loss carries no gradient")
    expect(got[0][0] is not None, "on_policy_distillation_loss: no gradient reached the student's log-probabilities")
    expect_close(got[0][0], expected[0][0], 1e-9, 1e-9, what="the gradient of the student's log-probabilities")


@exercise(OPD, hint="The teacher's log-probabilities are targets: no gradient may reach them (detach the advantage "
                    "as a whole).")
def test_opd_no_gradient_to_the_teacher(student, reference):
    """Teacher log-probabilities that require grad: none for the teacher."""
    args = log_prob_pair(32, 4)
    expect_loss_gradients_like_reference(student, reference, "on_policy_distillation_loss", args,
                                         ["the student's log-probabilities", "the teacher's log-probabilities"])


@exercise(OPD, weight=2, hint="With a mask, average over the kept tokens only: (per_token * mask).sum() / mask.sum(); "
                              "convert a boolean or integer mask to the loss's dtype first.")
def test_opd_mask(student, reference):
    """(2, 4) with 3 tokens kept, as a bool and an int64 mask."""
    q, p = log_prob_pair(33, 2, 4)
    mask = torch.tensor([[1, 0, 0, 1], [0, 0, 1, 0]])
    for m in (mask.bool(), mask):
        same_tensor(student.on_policy_distillation_loss(q, p, m), reference.on_policy_distillation_loss(q, p, m),
                    f"a {dtype_name(m.dtype)} mask")


@exercise(OPD, hint="A mask that keeps nothing: divide by mask.sum().clamp(min=1), giving 0, not 0 / 0 = NaN.")
def test_opd_empty_mask(student):
    """Every token masked: 0."""
    q, p = log_prob_pair(34, 3)
    same_tensor(student.on_policy_distillation_loss(q, p, torch.zeros(3, dtype=torch.long)),
                torch.tensor(0.0, dtype=torch.float64), "a mask of zeros")


@exercise(OPD, hint="Return the 0-d tensor itself (no .item()), in the inputs' dtype.")
def test_opd_zero_dim_and_dtype(student):
    """float32 inputs give a 0-d float32 tensor."""
    got = student.on_policy_distillation_loss(*log_prob_pair(35, 2, 5, dtype=torch.float32))
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal((tuple(got.shape), got.dtype), ((), torch.float32), "the shape and dtype")


@exercise(OPD, weight=2, broad=True, hint="-(masked mean of A * log q), A = (log p - log q) detached, the arguments "
                                          "unchanged.")
def test_opd_matches_reference(student, reference):
    """12 random cases: 0-d to 3-D, float32 and float64, with and without masks."""
    rng, cases = random.Random(23), []
    for i in range(12):
        shape = tuple(rng.randint(1, 4) for _ in range(rng.randint(0, 3)))
        dtype = rng.choice([torch.float32, torch.float64])
        q, p = log_prob_pair(200 + i, *shape, dtype=dtype, spread=rng.choice([0.1, 1.0, 3.0]))
        keep = torch.rand(tuple(shape), generator=gen(300 + i)) < 0.6
        mask = rng.choice([None, keep, keep.long()])
        cases.append(Shown((q, p, mask), label=f"(shape {shape}, {dtype_name(dtype)}, "
                                               f"mask={'None' if mask is None else dtype_name(mask.dtype)})"))
    expect_same_as_reference(student.on_policy_distillation_loss, reference.on_policy_distillation_loss, cases,
                             "on_policy_distillation_loss", compare=same_tensor)
