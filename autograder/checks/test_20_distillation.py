"""Hidden checks for 20-distillation. Inputs differ from the visible checks: vocabularies of 1 to 50 tokens,
1-D to 4-D logits, float32 and float64, logits of scale 1000 that overflow a naive exp or log, temperatures from
0.1 to 20, boolean and integer masks that mask, labels with -100 at positions where student and teacher differ
most, beta at 0, 1 and in between (asymmetric values such as 0.2), student and teacher widths that differ. Values
are compared to 1e-9 (float64) or a relative 1e-5 (float32; losses of random float32 cases, where T^2 up to 400
multiplies rounding, to an absolute 2e-4); gradients are computed in the worker by a probe
and compared with the reference's; the teacher's logits must get none.

Every promise of the text and docstrings, and the check that exercises it:

soft_targets
- softmax(logits / T) (divided, not multiplied): test_soft_targets_values; over the last dimension:
  test_soft_targets_last_dimension
- finite for logits of size 1000: test_soft_targets_large_logits
- ValueError unless T > 0: test_soft_targets_raises
- the logits' shape and dtype, any leading dimensions: test_soft_targets_shape_and_dtype
- logits unchanged, a new tensor: test_soft_targets_leaves_the_logits_unchanged
- everything combined (T from 0.1 to 20, 1-D to 4-D, dtypes, scales): test_soft_targets_matches_reference
kd_loss
- KL(teacher || student), the teacher first: test_kd_direction (a ratio, so that a wrong reduction does not show here)
- T^2 and the same T for both: test_kd_temperature_and_t_squared (a ratio too)
- summed over the vocabulary, averaged over every position of every leading dimension: test_kd_mean_over_positions
- mask: boolean and 0/1 integer, the mean over kept positions: test_kd_mask; nothing kept gives 0: test_kd_empty_mask
- log_softmax for both (large logits, teacher probabilities that underflow): test_kd_large_logits
- a 0-d tensor in the logits' dtype: test_kd_zero_dim_and_dtype
- the student's gradient, T (q_T - p_T) / positions: test_kd_student_gradient; none to the teacher:
  test_kd_no_gradient_to_the_teacher
- arguments unchanged, everything combined: test_kd_matches_reference
distillation_loss
- alpha weighs the soft term: test_distillation_alpha_weighs_the_soft_term
- the cross-entropy at temperature 1: test_distillation_cross_entropy_at_temperature_one
- -100 leaves a position out of the KD term: test_distillation_ignores_positions_in_the_kd_term; and out of the
  cross-entropy, which is the mean over kept positions: test_distillation_cross_entropy_mean_over_kept_positions
- labels aligned with the logits (no shift): test_distillation_labels_are_aligned
- no position counting gives 0, not NaN: test_distillation_all_ignored
- the defaults T = 2, alpha = 0.5: test_distillation_defaults
- a 0-d tensor in the logits' dtype: test_distillation_zero_dim_and_dtype
- the student's gradient, none to the teacher: test_distillation_gradient
- arguments unchanged, any leading dimensions, everything combined: test_distillation_matches_reference
generalized_jsd
- beta = 0 is KL(teacher || student): test_jsd_beta_zero_is_forward_kl; beta = 1 is KL(student || teacher):
  test_jsd_beta_one_is_reverse_kl
- the mixture beta P + (1 - beta) Q and the weights beta, 1 - beta: test_jsd_mixture_weights
- no T^2, both divided by T: test_jsd_temperature_without_t_squared
- labels -100 left out, the mean over kept positions: test_jsd_labels; nothing kept gives 0: test_jsd_all_ignored
- without labels, every position of every leading dimension counts once: test_jsd_without_labels_every_position
- a stable log M (logits of scale 1000): test_jsd_large_logits
- ValueError for beta outside [0, 1]: test_jsd_raises
- a 0-d tensor in the logits' dtype: test_jsd_zero_dim_and_dtype
- the student's gradient, none to the teacher: test_jsd_gradient
- arguments unchanged, everything combined: test_jsd_matches_reference
FeatureDistiller
- one parameter, proj.weight (teacher_dim, student_dim), no bias: test_feature_parameters
- nn.Linear's default initialisation (random, within +-1/sqrt(student_dim)): test_feature_default_initialisation
- the mean of the squared difference over features and positions: test_feature_mse
- mask (boolean and 0/1), nothing kept gives 0: test_feature_mask, test_feature_empty_mask
- any leading dimensions: test_feature_leading_dimensions
- gradients reach proj.weight and the student's states, none the teacher's: test_feature_gradients
- inputs unchanged, dtypes, sizes: test_feature_matches_reference
"""
import random

import torch

from autograder import generators
from autograder.checking import (exercise, expect, expect_close, expect_equal, expect_proven, expect_same_as_reference,
                                 judged_only_if_right)
from autograder.remote import kind_of, observe, probe
from autograder.torch_checks import (Shown, expect_gradients_like_reference, expect_loss_gradients_like_reference,
                                     gen, gradients)


def same_tensor(got, expected, what, atol32=1e-5):
    """A tensor of the expected dtype and shape, within 1e-9 (float64) or atol32 plus a relative 1e-5 (float32)."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    if expected.dtype == torch.float64:
        expect_close(got.detach(), expected.detach(), 1e-9, 1e-9, what=what)
    else:
        expect_close(got.detach(), expected.detach(), atol32, 1e-5, what=what)


def same_loss(got, expected, what):
    """same_tensor for a loss over random float32 cases: T^2 up to 400 multiplies float32 rounding (about 1e-7 per
    term), so float32 gets an absolute 2e-4; float64, where every check's bugs show, stays at 1e-9."""
    same_tensor(got, expected, what, atol32=2e-4)


def rnd(seed, *shape, dtype=torch.float64, scale=1.0):
    return torch.randn(*shape, generator=gen(seed), dtype=dtype) * scale


def dtype_name(dtype):
    return str(dtype).removeprefix("torch.")


def raises_value_error(call):
    try:
        call()
    except ValueError:
        return True
    except Exception:  # noqa: BLE001
        return False
    return False


# soft_targets ------------------------------------------------------------------------------------------

SOFT = "soft_targets"


@exercise(SOFT, weight=2, hint="softmax(logits / temperature): DIVIDE the logits by the temperature (T > 1 flattens, "
                               "T < 1 sharpens), then softmax.")
def test_soft_targets_values(student, reference):
    """[2, -1, 0.5] at T = 0.5 and T = 3."""
    x = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
    for temperature in (0.5, 3.0):
        same_tensor(student.soft_targets(x, temperature), reference.soft_targets(x, temperature),
                    f"soft_targets([2, -1, 0.5], {temperature})")


@exercise(SOFT, hint="The softmax runs over the LAST dimension (dim=-1): each position's vocabulary sums to 1.")
def test_soft_targets_last_dimension(student, reference):
    """(3, 4) and (2, 3, 5) logits: every row over the vocabulary sums to 1."""
    for shape, seed in (((3, 4), 1), ((2, 3, 5), 2)):
        x = rnd(seed, *shape)
        same_tensor(student.soft_targets(x, 2.0), reference.soft_targets(x, 2.0), f"logits of shape {shape}")


@exercise(SOFT, hint="exp(1000) is inf: use F.softmax (or subtract the maximum before exp).")
def test_soft_targets_large_logits(student, reference):
    """Logits of scale 1000, float32 and float64, at T = 1 and T = 0.5."""
    for dtype in (torch.float32, torch.float64):
        x = rnd(3, 2, 6, dtype=dtype, scale=1000.0)
        for temperature in (1.0, 0.5):
            same_tensor(student.soft_targets(x, temperature), reference.soft_targets(x, temperature),
                        f"logits of scale 1000 in {dtype_name(dtype)}, T = {temperature}")


@exercise(SOFT, hint="Raise ValueError unless temperature > 0 (0 and negative temperatures).")
def test_soft_targets_raises(student):
    """T = 0 and T = -1 raise ValueError."""
    for temperature in (0.0, -1.0):
        expect(raises_value_error(lambda: student.soft_targets(torch.zeros(3, dtype=torch.float64), temperature)),
               f"soft_targets(logits, {temperature}) should raise ValueError")


@exercise(SOFT, hint="Return a tensor of the logits' shape and dtype (no .float(), no flattening).")
def test_soft_targets_shape_and_dtype(student, reference):
    """A float32 (1, 2, 3, 4) tensor and a float64 vocabulary of one token."""
    for x in (rnd(4, 1, 2, 3, 4, dtype=torch.float32), torch.tensor([0.7], dtype=torch.float64)):
        same_tensor(student.soft_targets(x, 1.5), reference.soft_targets(x, 1.5), f"logits of shape {tuple(x.shape)}")


@exercise(SOFT, hint="Compute logits / temperature into a new tensor: no in-place division (/=, div_) of the "
                     "caller's logits.")
def test_soft_targets_leaves_the_logits_unchanged(student, reference):
    """The logits are the same after the call, and the result is a new tensor."""
    x = rnd(5, 2, 4)
    call = observe(student.soft_targets, x, 2.0)
    expect_proven(not call.changed, "soft_targets changed the caller's logits in place")
    expect_proven(call.returned_argument is None, "soft_targets returned the logits tensor itself")
    with judged_only_if_right():
        same_tensor(call.result, reference.soft_targets(x, 2.0), "soft_targets(logits, 2.0)")


@exercise(SOFT, weight=2, broad=True, hint="softmax(logits / temperature, dim=-1), any shape and dtype.")
def test_soft_targets_matches_reference(student, reference):
    """20 random cases: 1-D to 4-D, vocabularies of 1 to 50, float32 and float64, scales 0.1 to 1000, T 0.1 to 20."""
    rng = random.Random(20)
    cases = []
    for _ in range(20):
        shape = generators.leading_shape(rng, rng.choice([1, 2, 7, 50]))
        dtype, scale = rng.choice([torch.float32, torch.float64]), rng.choice([0.1, 1.0, 10.0, 1000.0])
        temperature = rng.choice([0.1, 0.5, 1.0, 2.0, 20.0])
        cases.append(Shown((generators.tensor(rng, shape, dtype, scale), temperature),
                           label=f"(logits of shape {shape}, {dtype_name(dtype)}, scale {scale}, T={temperature})"))
    expect_same_as_reference(student.soft_targets, reference.soft_targets, cases, "soft_targets", compare=same_tensor)


# kd_loss -----------------------------------------------------------------------------------------------

KD = "kd_loss"


def kd_pair(seed, *shape, dtype=torch.float64, scale=2.0):
    """(student, teacher) logits that differ a lot, so that KL(P || Q) and KL(Q || P) differ."""
    return rnd(seed, *shape, dtype=dtype, scale=scale), rnd(seed + 100, *shape, dtype=dtype, scale=scale)


@exercise(KD, weight=2, hint="KL(teacher || student) = sum p_teacher * (log p_teacher - log p_student): the teacher's "
                             "distribution weighs the sum. With F.kl_div the FIRST argument is the student's "
                             "log-probabilities, the second the teacher's.")
def test_kd_direction(student, reference):
    """kd_loss(a, b) / kd_loss(b, a) on 3 positions of 5 tokens: the ratio KL(P || Q) / KL(Q || P), whatever the
    loss is divided by."""
    s, t = kd_pair(10, 3, 5)
    got = student.kd_loss(s, t, 1.0) / student.kd_loss(t, s, 1.0)
    expect_close(got, reference.kd_loss(s, t, 1.0) / reference.kd_loss(t, s, 1.0), 1e-9, 1e-9,
                 what="kd_loss(student, teacher) / kd_loss(teacher, student)")


@exercise(KD, weight=2, hint="Divide BOTH logits by the temperature, and multiply the KL by temperature ** 2 "
                             "(Hinton's factor), not by T and not by nothing.")
def test_kd_temperature_and_t_squared(student, reference):
    """kd_loss at T = 3 and T = 0.5 divided by kd_loss at T = 1, on two positions: the ratios T^2 KL_T / KL_1,
    whatever the loss is divided by."""
    s, t = kd_pair(11, 2, 6)
    for temperature in (3.0, 0.5):
        got = student.kd_loss(s, t, temperature) / student.kd_loss(s, t, 1.0)
        expect_close(got, reference.kd_loss(s, t, temperature) / reference.kd_loss(s, t, 1.0), 1e-9, 1e-9,
                     what=f"kd_loss at T = {temperature} / kd_loss at T = 1")


@exercise(KD, weight=2, hint="Sum over the vocabulary, then the MEAN over all positions (every leading dimension): "
                             "F.kl_div's reduction='mean' divides by the vocabulary too, 'batchmean' by the first "
                             "dimension only.")
def test_kd_mean_over_positions(student, reference):
    """(2, 3, 7) logits: 6 positions; and (4, 7): 4 positions."""
    for shape, seed in (((2, 3, 7), 12), ((4, 7), 13)):
        s, t = kd_pair(seed, *shape)
        same_tensor(student.kd_loss(s, t, 2.0), reference.kd_loss(s, t, 2.0), f"logits of shape {shape}")


@exercise(KD, weight=2, hint="With a mask, average over the kept positions only: (per_position * mask).sum() / "
                             "mask.sum(); convert a boolean or integer mask to the loss's dtype first.")
def test_kd_mask(student, reference):
    """(2, 3, 4) logits with 3 of 6 positions kept (2 in one sequence, 1 in the other), as a bool and an int64 mask."""
    s, t = kd_pair(14, 2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [0, 0, 1]])
    for m in (mask.bool(), mask):
        same_tensor(student.kd_loss(s, t, 1.5, mask=m), reference.kd_loss(s, t, 1.5, mask=m), f"a {dtype_name(m.dtype)} mask")


@exercise(KD, hint="A mask that keeps nothing: divide by mask.sum().clamp(min=1), giving 0, not 0 / 0 = NaN.")
def test_kd_empty_mask(student):
    """Every position masked: 0."""
    s, t = kd_pair(15, 2, 5)
    same_tensor(student.kd_loss(s, t, 2.0, mask=torch.zeros(2, dtype=torch.bool)), torch.tensor(0.0, dtype=torch.float64),
                "a mask of zeros")


@exercise(KD, hint="Use F.log_softmax for BOTH distributions: softmax(...).log() is log 0 = -inf where a probability "
                   "underflows, and 0 * -inf = NaN.")
def test_kd_large_logits(student, reference):
    """Logits of scale 1000, float32 and float64: the teacher's probabilities underflow to 0 for most tokens."""
    for dtype in (torch.float32, torch.float64):
        s, t = kd_pair(16, 3, 6, dtype=dtype, scale=1000.0)
        same_tensor(student.kd_loss(s, t, 1.0), reference.kd_loss(s, t, 1.0), f"logits of scale 1000 in {dtype_name(dtype)}")


@exercise(KD, hint="Return the 0-d tensor itself (no .item()), in the logits' dtype.")
def test_kd_zero_dim_and_dtype(student):
    """float32 logits give a 0-d float32 tensor."""
    s, t = kd_pair(17, 2, 5, dtype=torch.float32)
    got = student.kd_loss(s, t, 2.0)
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal((tuple(got.shape), got.dtype), ((), torch.float32), "the shape and dtype")


@exercise(KD, weight=2, hint="Compute the loss in torch from the student's logits (no .detach(), no .item() on its "
                             "path): its gradient is T * (q_T - p_T) / positions.")
def test_kd_student_gradient(student, reference):
    """The gradient with respect to the student's logits, (2, 3, 5) at T = 2.5 with a mask."""
    s, t = kd_pair(18, 2, 3, 5)
    mask = torch.tensor([[True, True, False], [True, False, True]])
    args = (s, t, 2.5, mask)
    expect_loss_gradients_like_reference(student, reference, "kd_loss", args, ["the student's logits"])


@exercise(KD, weight=2, hint="The teacher's logits are targets: detach them (teacher_logits.detach()) so that no "
                             "gradient reaches the teacher.")
def test_kd_no_gradient_to_the_teacher(student, reference):
    """Teacher logits that require grad: the student's gradient as the reference's, none for the teacher."""
    s, t = kd_pair(19, 3, 4)
    args = (s, t, 2.0)
    expect_loss_gradients_like_reference(student, reference, "kd_loss", args,
                                         ["the student's logits", "the teacher's logits"])


def kd_cases(rng, count, labels=False):
    """Random (student, teacher, temperature, mask or labels) cases: 1-D to 4-D, vocabularies of 1 to 50,
    float32 and float64, scales 0.1 to 1000, T 0.1 to 20."""
    cases = []
    for _ in range(count):
        shape = generators.leading_shape(rng, rng.choice([1, 2, 5, 50]))
        dtype, scale = rng.choice([torch.float32, torch.float64]), rng.choice([0.1, 1.0, 3.0, 1000.0])
        temperature = rng.choice([0.1, 1.0, 2.0, 4.0, 20.0])
        s, t = generators.tensor(rng, shape, dtype, scale), generators.tensor(rng, shape, dtype, scale)
        keep = torch.rand(shape[:-1], generator=gen(rng.randrange(1000))) < 0.7
        if labels:
            extra = generators.tensor(rng, shape[:-1], torch.float64).abs().mul(100).long() % shape[-1]
            cases.append((s, t, torch.where(keep, extra, torch.full_like(extra, -100)), temperature, dtype, scale))
        else:
            mask = rng.choice([None, keep, keep.long()]) if shape[:-1] else None
            cases.append((s, t, mask, temperature, dtype, scale))
    return cases


@exercise(KD, weight=2, broad=True, hint="T^2 * the masked mean over positions of sum_v p_T (log p_T - log q_T), with "
                                         "log_softmax, the teacher detached, the arguments unchanged.")
def test_kd_matches_reference(student, reference):
    """20 random cases: 1-D to 4-D, float32 and float64, scales 0.1 to 1000, T 0.1 to 20, with and without masks."""
    cases = []
    for s, t, mask, temperature, dtype, scale in kd_cases(random.Random(21), 20):
        kwargs = {} if mask is None else {"mask": mask}
        cases.append(Shown((s, t, temperature), kwargs, label=f"(logits of shape {tuple(s.shape)}, {dtype_name(dtype)}, "
                                                              f"scale {scale}, T={temperature}, "
                                                              f"mask={'None' if mask is None else dtype_name(mask.dtype)})"))
    expect_same_as_reference(student.kd_loss, reference.kd_loss, cases, "kd_loss", compare=same_loss)


# distillation_loss -------------------------------------------------------------------------------------

DIST = "distillation_loss"


def labelled(seed, B, T, V, ignored=()):
    """(student, teacher, labels) with labels -100 at the positions `ignored` (flat indices)."""
    s, t = kd_pair(seed, B, T, V)
    labels = torch.randint(0, V, (B, T), generator=gen(seed + 7))
    labels.view(-1)[list(ignored)] = -100
    return s, t, labels


@exercise(DIST, weight=2, hint="alpha weighs the SOFT term: alpha * kd_loss + (1 - alpha) * cross-entropy "
                               "(alpha = 1 is pure distillation, alpha = 0 the plain cross-entropy).")
def test_distillation_alpha_weighs_the_soft_term(student, reference):
    """alpha = 1, 0.25 and 0 on (2, 3, 6) logits at T = 2."""
    s, t, labels = labelled(30, 2, 3, 6)
    for alpha in (1.0, 0.25, 0.0):
        same_tensor(student.distillation_loss(s, t, labels, 2.0, alpha), reference.distillation_loss(s, t, labels, 2.0, alpha),
                    f"alpha = {alpha}")


@exercise(DIST, weight=2, hint="The hard labels are not softened: the cross-entropy uses the student's logits at "
                               "temperature 1 (not divided by T).")
def test_distillation_cross_entropy_at_temperature_one(student, reference):
    """alpha = 0 at T = 4: the plain cross-entropy."""
    s, t, labels = labelled(31, 2, 4, 5)
    same_tensor(student.distillation_loss(s, t, labels, 4.0, 0.0), reference.distillation_loss(s, t, labels, 4.0, 0.0),
                "alpha = 0, T = 4")


@exercise(DIST, weight=2, hint="Pass mask=(labels != -100) to kd_loss: a position whose label is -100 counts in "
                               "NEITHER term.")
def test_distillation_ignores_positions_in_the_kd_term(student, reference):
    """alpha = 1 with 3 of 8 positions ignored (there the student and the teacher disagree most)."""
    s, t, labels = labelled(32, 2, 4, 6, ignored=(0, 3, 6))
    t.view(-1, 6)[[0, 3, 6]] *= 20.0
    same_tensor(student.distillation_loss(s, t, labels, 2.0, 1.0), reference.distillation_loss(s, t, labels, 2.0, 1.0),
                "alpha = 1, labels with -100")


@exercise(DIST, weight=2, hint="The cross-entropy is the MEAN over the positions whose label is not -100 "
                               "(F.cross_entropy with ignore_index=-100 does that), not over every position.")
def test_distillation_cross_entropy_mean_over_kept_positions(student, reference):
    """alpha = 0 with 2 of 6 positions ignored."""
    s, t, labels = labelled(33, 1, 6, 4, ignored=(1, 4))
    same_tensor(student.distillation_loss(s, t, labels, 2.0, 0.0), reference.distillation_loss(s, t, labels, 2.0, 0.0),
                "alpha = 0, labels with -100")


@exercise(DIST, hint="labels[..., i] is the target of the logits at position i: no shift inside the loss.")
def test_distillation_labels_are_aligned(student, reference):
    """Logits that predict their own position's label well: the loss is small only without a shift."""
    labels = torch.tensor([[2, 0, 3, 1, 1]])
    s = torch.nn.functional.one_hot(labels, 4).to(torch.float64) * 6.0
    t = rnd(34, 1, 5, 4)
    same_tensor(student.distillation_loss(s, t, labels, 2.0, 0.0), reference.distillation_loss(s, t, labels, 2.0, 0.0),
                "labels aligned with the logits")


@exercise(DIST, hint="Every label -100: return 0 (F.cross_entropy's mean gives NaN there; divide a sum by "
                     "the count clamped to at least 1).")
def test_distillation_all_ignored(student):
    """Every label -100, alpha 0.5 and 0: 0."""
    s, t, labels = labelled(35, 2, 2, 5, ignored=(0, 1, 2, 3))
    for alpha in (0.5, 0.0):
        same_tensor(student.distillation_loss(s, t, labels, 2.0, alpha), torch.tensor(0.0, dtype=torch.float64),
                    f"every label -100, alpha = {alpha}")


@exercise(DIST, hint="Keep the signature's defaults: temperature=2.0, alpha=0.5.")
def test_distillation_defaults(student, reference):
    """distillation_loss(student, teacher, labels) with the defaults."""
    s, t, labels = labelled(36, 2, 3, 5, ignored=(2,))
    same_tensor(student.distillation_loss(s, t, labels), reference.distillation_loss(s, t, labels), "the defaults")


@exercise(DIST, hint="Return the 0-d tensor itself, in the logits' dtype (no .item(), no .float()).")
def test_distillation_zero_dim_and_dtype(student):
    """float32 logits give a 0-d float32 tensor."""
    s, t, labels = labelled(37, 2, 3, 5)
    got = student.distillation_loss(s.float(), t.float(), labels, 2.0, 0.5)
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal((tuple(got.shape), got.dtype), ((), torch.float32), "the shape and dtype")


@exercise(DIST, weight=2, hint="Both terms keep the student's gradient (no .detach(), no .item()); the teacher's "
                               "logits get none.")
def test_distillation_gradient(student, reference):
    """(2, 3, 5) logits with one position ignored, T = 3, alpha = 0.4: the student's gradient; none for the teacher."""
    s, t, labels = labelled(38, 2, 3, 5, ignored=(4,))
    args = (s, t, labels, 3.0, 0.4)
    expect_loss_gradients_like_reference(student, reference, "distillation_loss", args,
                                         ["the student's logits", "the teacher's logits"])


@exercise(DIST, weight=2, broad=True, hint="alpha * kd_loss(mask = labels != -100) + (1 - alpha) * the mean "
                                           "cross-entropy at T = 1 over the kept positions, any leading dimensions.")
def test_distillation_matches_reference(student, reference):
    """20 random cases: 1-D to 4-D, float32 and float64, T 0.1 to 20, alpha 0 to 1, labels with -100."""
    rng = random.Random(22)
    cases = []
    for s, t, labels, temperature, dtype, scale in kd_cases(rng, 20, labels=True):
        alpha = rng.choice([0.0, 0.3, 0.5, 1.0])
        cases.append(Shown((s, t, labels, temperature, alpha), label=f"(logits of shape {tuple(s.shape)}, {dtype_name(dtype)}, "
                                                                     f"scale {scale}, T={temperature}, alpha={alpha})"))
    expect_same_as_reference(student.distillation_loss, reference.distillation_loss, cases, "distillation_loss",
                             compare=same_loss)


# generalized_jsd ---------------------------------------------------------------------------------------

JSD = "generalized_jsd"


@exercise(JSD, weight=2, hint="beta = 0 is the forward KL(teacher || student) itself (trl's convention), not the "
                              "formula's limit 0: treat it as a special case.")
def test_jsd_beta_zero_is_forward_kl(student, reference):
    """beta = 0 on (3, 5) logits."""
    s, t = kd_pair(40, 3, 5)
    same_tensor(student.generalized_jsd(s, t, beta=0.0), reference.generalized_jsd(s, t, beta=0.0), "beta = 0")


@exercise(JSD, weight=2, hint="beta = 1 is the reverse KL(student || teacher) itself (trl's convention), not the "
                              "formula's limit 0: treat it as a special case.")
def test_jsd_beta_one_is_reverse_kl(student, reference):
    """beta = 1 on (3, 5) logits."""
    s, t = kd_pair(41, 3, 5)
    same_tensor(student.generalized_jsd(s, t, beta=1.0), reference.generalized_jsd(s, t, beta=1.0), "beta = 1")


@exercise(JSD, weight=2, hint="M = beta * P_teacher + (1 - beta) * Q_student, and the loss beta * KL(P || M) + "
                              "(1 - beta) * KL(Q || M): the teacher carries the weight beta in both places.")
def test_jsd_mixture_weights(student, reference):
    """beta = 0.2 and 0.7, where swapping the weights changes the value."""
    s, t = kd_pair(42, 2, 6)
    for beta in (0.2, 0.7):
        same_tensor(student.generalized_jsd(s, t, beta=beta), reference.generalized_jsd(s, t, beta=beta), f"beta = {beta}")


@exercise(JSD, hint="Divide both logits by the temperature before log_softmax, and do NOT multiply by T^2 (trl's "
                    "loss has no T^2 factor).")
def test_jsd_temperature_without_t_squared(student, reference):
    """T = 3 with beta 0 and 0.5."""
    s, t = kd_pair(43, 2, 5)
    for beta in (0.0, 0.5):
        same_tensor(student.generalized_jsd(s, t, beta=beta, temperature=3.0),
                    reference.generalized_jsd(s, t, beta=beta, temperature=3.0), f"beta = {beta}, T = 3")


@exercise(JSD, weight=2, hint="Sum over the vocabulary, then average over the positions whose label is not -100.")
def test_jsd_labels(student, reference):
    """(2, 3, 4) logits with 2 labels -100, beta 0.5 and 1."""
    s, t = kd_pair(44, 2, 3, 4)
    labels = torch.tensor([[1, -100, 2], [-100, 0, 3]])
    for beta in (0.5, 1.0):
        same_tensor(student.generalized_jsd(s, t, labels, beta=beta), reference.generalized_jsd(s, t, labels, beta=beta),
                    f"labels with -100, beta = {beta}")


@exercise(JSD, hint="No position counting (every label -100) gives 0: divide by the count clamped to at least 1.")
def test_jsd_all_ignored(student):
    """Every label -100: 0."""
    s, t = kd_pair(45, 1, 3, 4)
    same_tensor(student.generalized_jsd(s, t, torch.full((1, 3), -100), beta=0.5), torch.tensor(0.0, dtype=torch.float64),
                "every label -100")


@exercise(JSD, hint="Without labels every position counts once: the mean over ALL leading dimensions, not the sum "
                    "divided by the first dimension (trl's 'batchmean' without labels).")
def test_jsd_without_labels_every_position(student, reference):
    """(2, 3, 4) logits without labels: the mean over 6 positions."""
    s, t = kd_pair(46, 2, 3, 4)
    same_tensor(student.generalized_jsd(s, t, beta=0.5), reference.generalized_jsd(s, t, beta=0.5), "(2, 3, 4) without labels")


@exercise(JSD, hint="Compute log M with torch.logsumexp of (log Q + log(1 - beta), log P + log(beta)) from "
                    "log_softmax: log(beta * P + (1 - beta) * Q) is log 0 = -inf where both probabilities underflow.")
def test_jsd_large_logits(student, reference):
    """Logits of scale 1000, float32 and float64, beta 0.5 and 0, 1."""
    for dtype in (torch.float32, torch.float64):
        s, t = kd_pair(47, 3, 6, dtype=dtype, scale=1000.0)
        for beta in (0.5, 0.0, 1.0):
            same_tensor(student.generalized_jsd(s, t, beta=beta), reference.generalized_jsd(s, t, beta=beta),
                        f"logits of scale 1000 in {dtype_name(dtype)}, beta = {beta}")


@exercise(JSD, hint="Raise ValueError for beta < 0 or beta > 1.")
def test_jsd_raises(student):
    """beta = -0.1 and 1.5 raise ValueError."""
    s, t = kd_pair(48, 2, 3)
    for beta in (-0.1, 1.5):
        expect(raises_value_error(lambda: student.generalized_jsd(s, t, beta=beta)),
               f"generalized_jsd(..., beta={beta}) should raise ValueError")


@exercise(JSD, hint="Return the 0-d tensor itself, in the logits' dtype.")
def test_jsd_zero_dim_and_dtype(student):
    """float32 logits give a 0-d float32 tensor."""
    s, t = kd_pair(49, 2, 5, dtype=torch.float32)
    got = student.generalized_jsd(s, t, beta=0.3)
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal((tuple(got.shape), got.dtype), ((), torch.float32), "the shape and dtype")


@exercise(JSD, weight=2, hint="Keep the student's gradient (no .detach(), no .item()); detach the teacher's logits.")
def test_jsd_gradient(student, reference):
    """(2, 5) logits, beta 0.3, 0 and 1, T = 2: the student's gradient; none for the teacher."""
    s, t = kd_pair(50, 2, 5)
    for beta in (0.3, 0.0, 1.0):
        args = (s, t, None, beta, 2.0)
        expect_loss_gradients_like_reference(student, reference, "generalized_jsd", args,
                                             ["the student's logits", "the teacher's logits"], f"generalized_jsd (beta = {beta})")


@exercise(JSD, weight=2, broad=True, hint="trl's generalized JSD: the two KLs at beta 0 and 1, the mixture formula in "
                                          "between, no T^2, the mean over the positions that count.")
def test_jsd_matches_reference(student, reference):
    """24 random cases: 1-D to 4-D, float32 and float64, scales 0.1 to 1000, T 0.1 to 20, beta 0 to 1, with and
    without labels."""
    rng = random.Random(23)
    cases = []
    for s, t, labels, temperature, dtype, scale in kd_cases(rng, 24, labels=True):
        beta = rng.choice([0.0, 0.1, 0.5, 0.9, 1.0])
        if rng.random() < 0.4:
            labels = None
        cases.append(Shown((s, t, labels), {"beta": beta, "temperature": temperature},
                           label=f"(logits of shape {tuple(s.shape)}, {dtype_name(dtype)}, scale {scale}, "
                                 f"labels={'None' if labels is None else 'with -100'}, beta={beta}, T={temperature})"))
    expect_same_as_reference(student.generalized_jsd, reference.generalized_jsd, cases, "generalized_jsd",
                             compare=same_loss)


# FeatureDistiller ---------------------------------------------------------------------------------------

FEATURE = "FeatureDistiller"


def parameter_shapes(module):
    """(Runs in the worker.) [(name, shape)] of every parameter, in order."""
    return [(name, tuple(p.shape)) for name, p in module.named_parameters()]


def weight_facts(module):
    """(Runs in the worker.) (the largest |w|, the std of the weights) of proj.weight."""
    w = module.proj.weight.detach()
    return float(w.abs().max()), float(w.std())


def set_weight(module, weight):
    """(Runs in the worker.) proj.weight := weight, the module in weight's dtype."""
    import torch
    module.to(weight.dtype)
    with torch.no_grad():
        module.proj.weight.copy_(weight)


def twin_distillers(student, reference, student_dim, teacher_dim, seed, dtype=torch.float64):
    """(the learner's FeatureDistiller, the reference's) with the same random projection, in `dtype`."""
    weight = rnd(seed, teacher_dim, student_dim, dtype=dtype, scale=0.5)
    mine, ref = student.FeatureDistiller(student_dim, teacher_dim), reference.FeatureDistiller(student_dim, teacher_dim)
    probe(student, set_weight, mine, weight)
    set_weight(ref, weight)
    return mine, ref


@exercise(FEATURE, weight=2, hint="One parameter: self.proj = nn.Linear(student_dim, teacher_dim, bias=False); its "
                                  "weight has shape (teacher_dim, student_dim). No bias (TinyBERT's W_h).")
def test_feature_parameters(student):
    """FeatureDistiller(3, 7) and FeatureDistiller(5, 2): proj.weight only, of shape (teacher_dim, student_dim)."""
    for s_dim, t_dim in ((3, 7), (5, 2)):
        expect_equal(probe(student, parameter_shapes, student.FeatureDistiller(s_dim, t_dim)), [("proj.weight", (t_dim, s_dim))],
                     f"the parameters of FeatureDistiller({s_dim}, {t_dim})")


@exercise(FEATURE, hint="Keep nn.Linear's default initialisation (random, within +-1/sqrt(student_dim)); do not zero "
                        "the weight or set it to a constant.")
def test_feature_default_initialisation(student):
    """FeatureDistiller(16, 32): weights within +-1/4, not all equal."""
    largest, spread = probe(student, weight_facts, student.FeatureDistiller(16, 32))
    expect(largest <= 0.25 + 1e-6, f"the largest |weight| is {largest:.4f}, above nn.Linear's bound 1/sqrt(16) = 0.25")
    expect(spread > 0.05, f"the weights' standard deviation is {spread:.4f}: not nn.Linear's random initialisation")


@exercise(FEATURE, weight=2, hint="The MEAN of (proj(student_hidden) - teacher_hidden) ** 2 over every feature and "
                                  "position (F.mse_loss's mean): not a sum over features, not a square root.")
def test_feature_mse(student, reference):
    """(2, 3, 4) student states, (2, 3, 6) teacher states."""
    mine, ref = twin_distillers(student, reference, 4, 6, 60)
    h_s, h_t = rnd(61, 2, 3, 4), rnd(62, 2, 3, 6)
    same_tensor(mine(h_s, h_t), ref(h_s, h_t), "FeatureDistiller(4, 6) on (2, 3) positions")


@exercise(FEATURE, weight=2, hint="With a mask, average over the kept positions (and all their features) only; "
                                  "convert a boolean or integer mask to the loss's dtype first.")
def test_feature_mask(student, reference):
    """(2, 3) positions, 3 kept, as a bool and an int64 mask."""
    mine, ref = twin_distillers(student, reference, 3, 5, 63)
    h_s, h_t = rnd(64, 2, 3, 3), rnd(65, 2, 3, 5)
    mask = torch.tensor([[1, 1, 0], [0, 0, 1]])
    for m in (mask.bool(), mask):
        same_tensor(mine(h_s, h_t, m), ref(h_s, h_t, m), f"a {dtype_name(m.dtype)} mask")


@exercise(FEATURE, hint="A mask that keeps nothing gives 0: divide by the count clamped to at least 1.")
def test_feature_empty_mask(student, reference):
    """Every position masked: 0."""
    mine, _ = twin_distillers(student, reference, 3, 4, 66)
    same_tensor(mine(rnd(67, 2, 3), rnd(68, 2, 4), torch.zeros(2, dtype=torch.bool)), torch.tensor(0.0, dtype=torch.float64),
                "a mask of zeros")


@exercise(FEATURE, hint="Any leading dimensions: work on the last dimension only (nn.Linear and .mean(dim=-1) do).")
def test_feature_leading_dimensions(student, reference):
    """A single position (1-D states) and 4-D states."""
    mine, ref = twin_distillers(student, reference, 3, 2, 69)
    for shape in ((), (2, 1, 3)):
        h_s, h_t = rnd(70, *shape, 3), rnd(71, *shape, 2)
        same_tensor(mine(h_s, h_t), ref(h_s, h_t), f"states of leading shape {shape}")


@exercise(FEATURE, weight=2, hint="The loss must reach proj.weight and the student's states (no .detach() on them, "
                                  "no torch.no_grad()); detach the teacher's states.")
def test_feature_gradients(student, reference):
    """The gradients of proj.weight and the student's states equal the reference's; none for the teacher's states."""
    mine, ref = twin_distillers(student, reference, 4, 3, 72)
    args = (rnd(73, 2, 3, 4), rnd(74, 2, 3, 3))
    got, expected = probe(student, gradients, mine, args, (1.0,)), gradients(ref, args, (1.0,))
    expect_gradients_like_reference(got, expected, ["the student's states", "the teacher's states"], "FeatureDistiller")
    expect(got[1].get("proj.weight") is not None, "FeatureDistiller: no gradient reached proj.weight")
    expect_close(got[1]["proj.weight"], expected[1]["proj.weight"], 1e-9, 1e-9, what="FeatureDistiller: the gradient of proj.weight")


@exercise(FEATURE, weight=2, broad=True, hint="mean over kept positions and features of (proj(h_S) - h_T)^2, any "
                                              "leading dimensions, the inputs unchanged.")
def test_feature_matches_reference(student, reference):
    """Four sizes, float32 and float64, 1-D to 4-D states, with and without masks."""
    rng = random.Random(24)
    for number, (s_dim, t_dim) in enumerate(((1, 3), (4, 4), (6, 2), (5, 9))):
        for dtype in (torch.float64, torch.float32):
            mine, ref = twin_distillers(student, reference, s_dim, t_dim, 80 + number, dtype)
            cases = []
            for _ in range(3):
                shape = generators.leading_shape(rng)
                mask = (torch.rand(shape, generator=gen(rng.randrange(1000))) < 0.6) if shape and rng.random() < 0.5 else None
                args = (generators.tensor(rng, (*shape, s_dim), dtype), generators.tensor(rng, (*shape, t_dim), dtype, 2.0))
                cases.append(Shown(args + ((mask,) if mask is not None else ()),
                                   label=f"(states of leading shape {shape}, {dtype_name(dtype)}, "
                                         f"mask={'None' if mask is None else 'bool'})"))
            with torch.no_grad():
                expect_same_as_reference(mine, ref, cases, f"FeatureDistiller({s_dim}, {t_dim})", compare=same_tensor)
