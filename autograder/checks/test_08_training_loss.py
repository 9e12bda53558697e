"""Hidden checks for 08-training-loss. Inputs differ from the visible checks: one position, 1-D to 4-D
logits, 2 to 40 classes, float64, float32 and bfloat16, logits x 1000 + 100, other ignore_index values,
several parameter groups with their own hyperparameters, gradients that come and go, generators of
parameters, other optimizers (SGD, torch's AdamW), micro-batches without any counted target, other
token ids and lengths. float64 results are compared to 1e-12 (relative where values are large), far
below any real bug's error (the smallest, the 1e-6 of clipping or AdamW's eps placement, is 1e-7 or more).

Every exercise has a differential check (`expect_same_as_reference` over seeded inputs, or the
reference run in a probe for the stateful exercises). The text's promises and the checks that test them:

cross_entropy
- mean of -log softmax(z)_y over the non-ignored positions: test_cross_entropy_matches_reference_on_random_inputs,
  ..._known_value, ..._mean_over_counted_tokens_only
- any leading dimensions, none included: ..._matches_reference_on_random_inputs, ..._single_position
- logits in the thousands: ..._large_logits; ignore_index honoured: ..._custom_ignore_index;
  NaN when nothing counts: ..._all_ignored_is_nan
- float32 for half precision and float32, float64 for float64, a 0-dim tensor: ..._dtypes
- differentiable: ..._gradient_matches_reference; no shortcut: ..._written_by_hand;
  arguments unchanged: the differential check's guard
AdamW
- decay, moments, bias correction, update, in this order, as torch.optim.AdamW:
  test_adamw_matches_reference_over_many_steps, ..._decoupled_weight_decay, ..._bias_correction,
  ..._second_moment_of_squared_gradients, ..._eps_outside_the_square_root, ..._decay_before_the_update
- groups' own hyperparameters: ..._uses_each_groups_hyperparameters; parameters without grad skipped:
  ..._skips_parameters_without_grad; t is each parameter's own count: ..._counts_steps_per_parameter
- state "step" (int), "exp_avg", "exp_avg_sq": ..._state_names; in place, in p's dtype: ..._float32_in_place
- no torch optimizer inside: ..._written_by_hand
clip_grad_norm
- global L2 norm, one factor min(1, max_norm / (total + 1e-6)): test_clip_matches_reference_on_random_gradients,
  ..._one_factor_for_all, ..._adds_1e_6, ..._below_max_norm_unchanged
- returns the norm before clipping, 0-dim, gradients' dtype: ..._returns_norm_before_clipping, ..._float32
- any iterable, a generator read once: ..._accepts_a_generator; grad None skipped: ..._skips_missing_grads;
  tensor(0.) without gradients: ..._no_gradients; no shortcut: ..._written_by_hand
lr_schedule
- warmup (step + 1) / W, stable, cosine to min_lr, min_lr after total: test_lr_schedule_matches_reference_on_many_settings,
  ..._first_warmup_step, ..._last_warmup_step_reaches_max, ..._cosine_midpoint, ..._min_lr_after_total,
  ..._stable_phase, ..._no_warmup
- a Python float: ..._returns_float; ValueError when nothing is left to decay: ..._raises_without_decay_steps
train_step
- micro-batches weighted by their counted tokens, equal to the full batch (float64, 1e-12), any optimizer:
  test_train_step_matches_reference_on_random_batches, ..._equals_the_full_batch_update,
  ..._weights_micro_batches_by_tokens, ..._scales_the_loss_with_sgd
- zero_grad first: ..._ignores_leftover_gradients; one optimizer.step: ..._steps_once;
  micro-batches without targets skipped: ..._skips_empty_micro_batches
- returns the batch loss as a float: ..._returns_the_batch_loss; ValueError: ..._raises_when_not_divisible,
  ..._raises_when_nothing_counts; inputs unchanged: ..._leaves_the_batch_unchanged
sft_example
- [BOS] prompt response [EOS] PAD..., labels -100 on BOS, prompt, padding, ids elsewhere:
  test_sft_example_matches_reference_on_random_examples, ..._keeps_the_first_response_token,
  ..._eos_is_a_target, ..._masks_bos_and_prompt, ..._masks_padding
- positions decide, not ids: ..._masks_by_position; empty prompt or response: ..._empty_parts;
  bos == eos allowed: the differential check; exact fit: ..._exact_fit
- ValueError for PAD == BOS, PAD == EOS, too long: ..._pad_equal_to_bos_raises, ..._pad_equal_to_eos_raises,
  ..._too_long_raises
- lists of ints: ..._returns_lists_of_ints; arguments unchanged: the guard; independent calls:
  ..._calls_are_independent
checkpoint (save_checkpoint and load_checkpoint)
- training resumes bit for bit (model, optimizer, RNG): test_checkpoint_resumes_bit_for_bit
- a dict with "model", "optimizer", "step", "rng", readable with weights_only=True: ..._file_format
- the model (strictly), the optimizer's state and the RNG restored: ..._restores_the_model,
  ..._restores_the_optimizer_state, ..._restores_the_rng, ..._loads_strictly; the step returned: ..._returns_the_step
"""
import ast
import math
import random

import torch
import torch.nn.functional as F

from autograder.checking import (Case, exercise, expect, expect_close, expect_equal, expect_independent_calls,
                                 expect_proven, expect_same_as_reference, judged_only_if_right)
from autograder.generators import token_ids
from autograder.remote import kind_of, probe
from autograder.torch_checks import Shown, expect_same_gradients, gen, gradients


def banned_calls(student_code, name: str, banned: set[str]) -> list[str]:
    """The banned names that the definition of `name` calls or reads as an attribute (torch.optim.AdamW,
    F.cross_entropy, ...), from its syntax tree: strings and comments do not count."""
    tree = student_code.definition(name)
    if tree is None:
        return []
    attributes = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    called = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return sorted({found for found in attributes + called if found in banned})


# cross_entropy --------------------------------------------------------------------------------

CE = "cross_entropy"


def ce_tolerance(expected):
    scale = max(1.0, abs(float(expected))) if torch.isfinite(expected) else 1.0
    return (1e-12 if expected.dtype == torch.float64 else 2e-6) * scale


def same_loss(got, expected, what):
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(tuple(got.shape), (), f"{what}: the shape (a 0-dim tensor)")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_close(got.detach(), expected.detach(), ce_tolerance(expected.detach()), what=what)


def ce_case(rng, lead, classes, dtype, scale=1.0, ignored=0.3, ignore_index=-100):
    logits = torch.randn(*lead, classes, generator=gen(rng.randrange(1 << 30)), dtype=torch.float64) * scale
    if scale > 1:
        logits = logits + 100
    targets = torch.randint(classes, lead, generator=gen(rng.randrange(1 << 30)))
    drop = torch.rand(lead, generator=gen(rng.randrange(1 << 30))) < ignored
    targets = torch.where(drop, torch.full_like(targets, ignore_index), targets)
    label = (f"(logits {tuple(logits.shape)} {str(dtype).removeprefix('torch.')}{' x1000 + 100' if scale > 1 else ''}, "
             f"{int(drop.sum())} of {targets.numel()} targets ignored"
             + (f", ignore_index={ignore_index})" if ignore_index != -100 else ")"))
    kwargs = {} if ignore_index == -100 else {"ignore_index": ignore_index}
    return Shown((logits.to(dtype), targets), kwargs, label)


def ce_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        lead = tuple(rng.choice([1, 2, 3, 5]) for _ in range(rng.choice([1, 1, 2, 2, 3])))
        dtype = rng.choice([torch.float64, torch.float64, torch.float32, torch.bfloat16])
        scale = 1000.0 if dtype != torch.bfloat16 and rng.random() < 0.3 else 1.0
        cases.append(ce_case(rng, lead, rng.randint(2, 40), dtype, scale, rng.choice([0.0, 0.3, 0.6]),
                             rng.choice([-100, -100, -100, 0, -1])))
    return cases


@exercise(CE, weight=3, broad=True,
          hint="Compare with the reference on the smallest failing case: the log-sum-exp with the row max "
               "subtracted, the targets' logits picked with gather, the mean over the counted positions.")
def test_cross_entropy_matches_reference_on_random_inputs(student, reference):
    """Same loss as the reference for 1-D to 3-D leading dimensions, 2 to 40 classes, three dtypes,
    large logits and other ignore_index values, arguments left unchanged."""
    expect_same_as_reference(student.cross_entropy, reference.cross_entropy, ce_cases(81, 24), CE, compare=same_loss)


@exercise(CE, hint="-log softmax(z)_y = log-sum-exp(z) - z_y.")
def test_cross_entropy_known_value(student):
    """Equal logits over 5 classes give ln 5."""
    got = student.cross_entropy(torch.zeros(2, 5, dtype=torch.float64), torch.tensor([3, 0]))
    expect_close(got.detach(), math.log(5), 1e-12)


@exercise(CE, hint="Divide the sum of the counted positions' losses by their number, not by every position.")
def test_cross_entropy_mean_over_counted_tokens_only(student):
    """With 3 of 6 targets ignored, the loss is the mean over the 3 others."""
    logits = torch.randn(6, 4, generator=gen(3), dtype=torch.float64)
    targets = torch.tensor([1, -100, 2, -100, -100, 0])
    expected = F.cross_entropy(logits, targets)
    expect_close(student.cross_entropy(logits, targets).detach(), expected, 1e-12)


@exercise(CE, hint="Subtract each row's max before exp: exp(1100) overflows to inf.")
def test_cross_entropy_large_logits(student):
    """Logits x 1000 + 100 (float64 and float32) give F.cross_entropy's finite loss."""
    for dtype in (torch.float64, torch.float32):
        logits = (torch.randn(4, 7, generator=gen(5), dtype=torch.float64) * 1000 + 100).to(dtype)
        targets = torch.tensor([0, 6, 3, 3])
        expected = F.cross_entropy(logits, targets)
        expect_close(student.cross_entropy(logits, targets).detach(), expected, 1e-12 * 1000 if dtype == torch.float64
                     else 2e-6 * 1000, what=f"{dtype} logits")


@exercise(CE, hint="Compare the targets with the ignore_index argument, not with the constant -100.")
def test_cross_entropy_custom_ignore_index(student):
    """ignore_index=3 leaves out the positions whose target is 3."""
    logits = torch.randn(5, 6, generator=gen(6), dtype=torch.float64)
    targets = torch.tensor([3, 1, 3, 5, 0])
    expected = F.cross_entropy(logits, targets, ignore_index=3)
    expect_close(student.cross_entropy(logits, targets, ignore_index=3).detach(), expected, 1e-12)


@exercise(CE, hint="With every target ignored the mean is 0/0: NaN, as in PyTorch (not 0, not an error).")
def test_cross_entropy_all_ignored_is_nan(student):
    """Every target ignored: NaN."""
    got = student.cross_entropy(torch.randn(2, 3, 4, generator=gen(7)), torch.full((2, 3), -100))
    expect(isinstance(got, torch.Tensor) and got.dim() == 0, f"expected a 0-dim tensor, got {kind_of(got)}")
    expect(bool(torch.isnan(got)), f"expected NaN, got {got.item()}")


@exercise(CE, hint="A single position has logits of shape (V,) and a 0-dim target: reshape to (-1, V), "
                   "do not assume a batch axis.")
def test_cross_entropy_single_position(student):
    """Logits (V,) and a 0-dim target."""
    logits = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    expected = F.cross_entropy(logits[None], torch.tensor([2]))
    expect_close(student.cross_entropy(logits, torch.tensor(2)).detach(), expected, 1e-12)


@exercise(CE, hint="Compute in torch.promote_types(logits.dtype, torch.float32): float32 for bfloat16, "
                   "float64 for float64.")
def test_cross_entropy_dtypes(student):
    """bfloat16 and float32 logits give a float32 loss, float64 logits a float64 loss."""
    targets = torch.tensor([[1, 0], [2, -100]])
    for dtype, expected in ((torch.bfloat16, torch.float32), (torch.float32, torch.float32),
                            (torch.float64, torch.float64)):
        got = student.cross_entropy(torch.randn(2, 2, 3, generator=gen(8)).to(dtype), targets)
        expect_equal(got.dtype, expected, f"the loss's dtype for {dtype} logits")


@exercise(CE, hint="Keep the computation in torch (no .item(), no .detach() of the logits): the gradient must "
                   "reach them.")
def test_cross_entropy_gradient_matches_reference(student, reference):
    """The gradient with respect to the logits equals the reference's, large logits included."""
    logits = torch.randn(3, 4, 5, generator=gen(9), dtype=torch.float64) * 1000
    targets = torch.tensor([[0, 4, -100, 2], [1, 1, 3, -100], [-100, 0, 2, 4]])
    one = [torch.tensor(1.0, dtype=torch.float64)]
    got = probe(student, gradients, student.cross_entropy, [logits, targets], one)
    expect_same_gradients(got, gradients(reference.cross_entropy, [logits, targets], one), 1e-12, "the loss")


@exercise(CE, hint="Write the log-sum-exp yourself: F.cross_entropy, log_softmax, logsumexp and nll_loss are "
                   "the shortcuts this exercise replaces.")
def test_cross_entropy_written_by_hand(student, student_code):
    """cross_entropy works and uses no cross_entropy, log_softmax, logsumexp, nll_loss or softmax built-in."""
    expect_close(student.cross_entropy(torch.zeros(1, 2), torch.tensor([0])).detach(), torch.tensor(math.log(2)))
    found = banned_calls(student_code, CE, {"cross_entropy", "log_softmax", "logsumexp", "nll_loss", "softmax",
                                            "CrossEntropyLoss", "NLLLoss"})
    expect(not found, f"cross_entropy uses {', '.join(found)}")


# AdamW ----------------------------------------------------------------------------------------

ADAMW = "AdamW"


def run_optimizer(optimizer_class, initial, groups, defaults, gradients):
    """(Runs in the worker, and here for the reference.) Parameters from `initial` (a list of tensors),
    grouped as `groups` (a list of (indices, overrides)), the optimizer built with `defaults`; then for
    each step, grads from `gradients[step]` (None leaves .grad None) and one optimizer.step().
    Returns the parameters after every step and the final state of each parameter."""
    import torch
    params = [torch.nn.Parameter(t.clone()) for t in initial]
    optimizer = optimizer_class([{"params": [params[i] for i in indices], **overrides} for indices, overrides in groups],
                                **defaults)
    history = []
    for step_grads in gradients:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else g.clone()
        optimizer.step()
        history.append([p.detach().clone() for p in params])
    states = []
    for p in params:
        state = optimizer.state.get(p, {})
        states.append({key: (value.clone() if isinstance(value, torch.Tensor) else value)
                       for key, value in state.items()})
    return history, states


def adamw_problem(seed, steps=20, dtype=torch.float64, grad_scale=1.0, missing=0.2):
    rng = random.Random(seed)
    shapes = [(3, 4), (5,), (2, 3, 2), (1,), (4, 1)]
    initial = [torch.randn(s, generator=gen(rng.randrange(1 << 30)), dtype=dtype) for s in shapes]
    gradients = [[None if rng.random() < missing else
                  torch.randn(s, generator=gen(rng.randrange(1 << 30)), dtype=dtype) * grad_scale for s in shapes]
                 for _ in range(steps)]
    groups = [([0, 2], {}),
              ([1, 3], {"weight_decay": 0.0, "lr": 0.02}),
              ([4], {"betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.5})]
    defaults = {"lr": 0.05, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1}
    return initial, groups, defaults, gradients


def expect_same_run(got, expected, atol, what):
    for step, (got_params, expected_params) in enumerate(zip(got[0], expected[0]), 1):
        for i, (g, e) in enumerate(zip(got_params, expected_params)):
            expect_equal(g.dtype, e.dtype, f"{what}: parameter {i}'s dtype after step {step}")
            expect_close(g, e, atol, what=f"{what}: parameter {i} after step {step}")


def compare_with_reference(student, reference, initial, groups, defaults, gradients, what, atol=1e-12):
    got = probe(student, run_optimizer, student.AdamW, initial, groups, defaults, gradients)
    expected = run_optimizer(reference.AdamW, initial, groups, defaults, gradients)
    expect_same_run(got, expected, atol, what)
    return got


@exercise(ADAMW, weight=3, broad=True,
          hint="Follow the four steps in order for each parameter with a gradient, with its group's hyperparameters.")
def test_adamw_matches_reference_over_many_steps(student, reference):
    """20 float64 steps, 5 parameters in 3 groups with their own lr, betas, eps and weight decay,
    gradients sometimes missing: the same parameters after every step (1e-12)."""
    compare_with_reference(student, reference, *adamw_problem(1), "20 steps")


def one_parameter(value, grad, **defaults):
    return [torch.tensor(value, dtype=torch.float64)], [([0], {})], defaults, [[torch.tensor(grad, dtype=torch.float64)]]


@exercise(ADAMW, hint="Decoupled decay multiplies p by (1 - lr * weight_decay) directly; adding weight_decay * p "
                      "to the gradient (L2, Adam's weight_decay) is normalised away by sqrt(v).")
def test_adamw_decoupled_weight_decay(student):
    """With a zero gradient, one step only decays: p = 2 becomes 2 (1 - 0.1 * 0.5) = 1.9."""
    history, _ = probe(student, run_optimizer, student.AdamW,
                       *one_parameter([2.0], [0.0], lr=0.1, weight_decay=0.5))
    expect_close(history[0][0], torch.tensor([1.9], dtype=torch.float64), 1e-12, what="the parameter")


@exercise(ADAMW, hint="Bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t; the first step then "
                      "moves each weight by about lr.")
def test_adamw_bias_correction(student):
    """Without decay, the first step moves a weight by lr * g / (|g| + eps): 1.0 - 0.01 for g = 3."""
    history, _ = probe(student, run_optimizer, student.AdamW,
                       *one_parameter([1.0], [3.0], lr=0.01, weight_decay=0.0, eps=1e-8))
    expect_close(history[0][0], torch.tensor([1.0 - 0.01 * 3 / (3 + 1e-8)], dtype=torch.float64), 1e-12,
                 what="the parameter")


@exercise(ADAMW, hint="v averages the SQUARED gradient: v = beta2 * v + (1 - beta2) * g * g (addcmul_(g, g)).")
def test_adamw_second_moment_of_squared_gradients(student, reference):
    """After steps with gradients [0.5, -2] and [1, 3], exp_avg_sq is the average of the squares."""
    problem = one_parameter([1.0, 1.0], [0.5, -2.0], lr=0.1)
    problem[3].append([torch.tensor([1.0, 3.0], dtype=torch.float64)])
    _, states = probe(student, run_optimizer, student.AdamW, *problem)
    _, expected = run_optimizer(reference.AdamW, *problem)
    expect(isinstance(states[0].get("exp_avg_sq"), torch.Tensor), "no state['exp_avg_sq'] tensor after two steps")
    expect_close(states[0]["exp_avg_sq"], expected[0]["exp_avg_sq"], 1e-15, what="state['exp_avg_sq']")


@exercise(ADAMW, hint="eps goes outside the square root: m_hat / (sqrt(v_hat) + eps), not sqrt(v_hat + eps).")
def test_adamw_eps_outside_the_square_root(student):
    """A tiny gradient (1e-4) with eps = 1e-3: the update is lr * 1e-4 / (1e-4 + 1e-3)."""
    history, _ = probe(student, run_optimizer, student.AdamW,
                       *one_parameter([0.0], [1e-4], lr=1.0, weight_decay=0.0, eps=1e-3))
    expect_close(history[0][0], torch.tensor([-1e-4 / (1e-4 + 1e-3)], dtype=torch.float64), 1e-12,
                 what="the parameter")


@exercise(ADAMW, hint="Decay first, with the parameter's value before the Adam update: p *= 1 - lr * weight_decay, "
                      "then the update.")
def test_adamw_decay_before_the_update(student):
    """lr 0.2, weight decay 0.5, p = 1, g = 1: p = 1 * 0.9 - 0.2 * 1 / (1 + eps) (decay first)."""
    history, _ = probe(student, run_optimizer, student.AdamW,
                       *one_parameter([1.0], [1.0], lr=0.2, weight_decay=0.5, eps=1e-8))
    expect_close(history[0][0], torch.tensor([0.9 - 0.2 / (1 + 1e-8)], dtype=torch.float64), 1e-12,
                 what="the parameter")


@exercise(ADAMW, hint="Read lr, betas, eps and weight_decay from each group (group['lr'], ...), not from the "
                      "defaults or the first group.")
def test_adamw_uses_each_groups_hyperparameters(student, reference):
    """Two groups with different lr, betas, eps and weight decay: each follows its own."""
    initial = [torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)]
    groups = [([0], {}), ([1], {"lr": 0.3, "betas": (0.5, 0.9), "eps": 0.1, "weight_decay": 0.2})]
    gradients = [[torch.tensor([0.5, -2.0], dtype=torch.float64)] * 2 for _ in range(3)]
    compare_with_reference(student, reference, initial, groups, {"lr": 0.01, "weight_decay": 0.0}, gradients,
                           "two groups")


@exercise(ADAMW, hint="Skip a parameter whose .grad is None entirely: no decay, no state.")
def test_adamw_skips_parameters_without_grad(student):
    """A parameter without a gradient keeps its value (no decay either) and gets no state."""
    initial = [torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([3.0], dtype=torch.float64)]
    gradients = [[torch.tensor([0.1, 0.1], dtype=torch.float64), None]] * 2
    history, states = probe(student, run_optimizer, student.AdamW, initial, [([0, 1], {})],
                            {"lr": 0.1, "weight_decay": 0.5}, gradients)
    expect_close(history[-1][1], initial[1], 0.0, what="the parameter without gradient")
    expect(not states[1], f"the parameter without gradient got state {sorted(states[1])}")


@exercise(ADAMW, hint="t is the parameter's own state['step'], counted from its first update, not a global "
                      "step of the optimizer.")
def test_adamw_counts_steps_per_parameter(student, reference):
    """A parameter that gets its first gradient at step 3 is bias-corrected with t = 1."""
    initial = [torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    g = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    gradients = [[g, None], [g, None], [g, g * 0.01], [g, g]]
    compare_with_reference(student, reference, initial, [([0, 1], {})], {"lr": 0.1, "weight_decay": 0.0},
                           gradients, "late parameter")


@exercise(ADAMW, hint="Keep self.state[p]['step'] (an int), ['exp_avg'] and ['exp_avg_sq'] (tensors like p).")
def test_adamw_state_names(student, reference):
    """After two steps the state holds step 2, exp_avg and exp_avg_sq equal to the reference's."""
    problem = one_parameter([1.0, -1.0], [0.5, 0.25], lr=0.1)
    problem[3].append(problem[3][0])
    _, states = probe(student, run_optimizer, student.AdamW, *problem)
    _, expected = run_optimizer(reference.AdamW, *problem)
    expect_equal(sorted(states[0]), ["exp_avg", "exp_avg_sq", "step"], "the state's keys")
    expect_equal(states[0]["step"], 2, "state['step']")
    for key in ("exp_avg", "exp_avg_sq"):
        expect_close(states[0][key], expected[0][key], 1e-15, what=f"state['{key}']")


def float32_in_place(optimizer_class):
    """(Runs in the worker.) One step on a float32 parameter: the same tensor object, still float32."""
    import torch
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    data = p.data_ptr()
    p.grad = torch.tensor([0.1, 0.2, -0.3])
    optimizer_class([p], lr=0.1).step()
    return p.data_ptr() == data, p.dtype, p.detach().clone()


@exercise(ADAMW, hint="Update p in place (p.mul_, p.add_, p.sub_): assigning p.data or a new tensor breaks "
                      "the model's references.")
def test_adamw_float32_in_place(student, reference):
    """A float32 parameter is updated in place, stays float32 and matches the reference to float32 rounding."""
    same_storage, dtype, value = probe(student, float32_in_place, student.AdamW)
    expect_proven(same_storage, "the parameter's storage changed: update it in place")
    expect_equal(dtype, torch.float32, "the parameter's dtype")
    expect_close(value, float32_in_place(reference.AdamW)[2], 1e-6, what="the parameter")


@exercise(ADAMW, hint="Write the update yourself: torch.optim.Adam, AdamW and torch.optim._functional are the "
                      "shortcuts this exercise replaces.")
def test_adamw_written_by_hand(student, student_code):
    """AdamW works (one step) and calls no Adam or AdamW of PyTorch."""
    history, _ = probe(student, run_optimizer, student.AdamW, *one_parameter([1.0], [1.0], lr=0.1, weight_decay=0.0))
    expect_close(history[0][0], torch.tensor([0.9], dtype=torch.float64), 1e-6)
    tree = student_code.definition(ADAMW)
    methods = [n for n in (tree.body if tree else []) if isinstance(n, ast.FunctionDef) and n.name == "step"]
    found = sorted({n.attr for m in methods for n in ast.walk(m) if isinstance(n, ast.Attribute)
                    and n.attr in {"Adam", "AdamW", "_functional", "adam", "adamw", "_single_tensor_adamw"}})
    expect(not found, f"AdamW.step uses {', '.join(found)}")


# clip_grad_norm -------------------------------------------------------------------------------

CLIP = "clip_grad_norm"


def clip_run(clip, grads, max_norm, container="list"):
    """(Runs in the worker, and here for the reference.) Parameters with the given .grad (None: no
    gradient), passed as a list, tuple or generator; returns (returned value, the grads after)."""
    import torch
    params = [torch.nn.Parameter(torch.zeros(1 if g is None else g.shape, dtype=torch.float64 if g is None
                                             else g.dtype)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = None if g is None else g.clone()
    given = {"list": list, "tuple": tuple, "generator": lambda ps: (p for p in ps)}[container](params)
    returned = clip(given, max_norm)
    return returned, [None if p.grad is None else p.grad.clone() for p in params]


def same_clip(got, expected, what):
    (got_norm, got_grads), (norm, grads) = got, expected
    expect(isinstance(got_norm, torch.Tensor), f"{what}: the result should be a tensor, got {kind_of(got_norm)}")
    expect_equal(tuple(got_norm.shape), (), f"{what}: the result's shape (0-dim)")
    expect_equal(got_norm.dtype, norm.dtype, f"{what}: the result's dtype")
    tolerance = 1e-12 if norm.dtype == torch.float64 else 1e-6
    expect_close(got_norm, norm, tolerance, rtol=tolerance, what=f"{what}: the returned norm")
    for i, (g, e) in enumerate(zip(got_grads, grads)):
        if e is None:
            expect(g is None, f"{what}: parameter {i} had no gradient and got one")
        else:
            expect_close(g, e, tolerance, rtol=tolerance, what=f"{what}: the gradient of parameter {i}")


def clip_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        dtype = rng.choice([torch.float64, torch.float64, torch.float32])
        shapes = [tuple(rng.randint(1, 4) for _ in range(rng.randint(0, 3))) for _ in range(rng.randint(1, 5))]
        grads = [None if rng.random() < 0.25 else
                 torch.randn(s, generator=gen(rng.randrange(1 << 30)), dtype=dtype) * rng.choice([0.01, 1, 100])
                 for s in shapes]
        max_norm = rng.choice([0.1, 1.0, 5.0, 1000.0])
        container = rng.choice(["list", "tuple", "generator"])
        cases.append((grads, max_norm, container))
    return cases


@exercise(CLIP, weight=3, broad=True,
          hint="One total norm over every gradient, one factor min(1, max_norm / (total + 1e-6)) for all of them, "
               "and the total returned.")
def test_clip_matches_reference_on_random_gradients(student, reference):
    """20 sets of parameters (float64 and float32, 0-D to 3-D, some without grad, gradients from 0.01 to 100,
    max_norm 0.1 to 1000, lists, tuples and generators): same norm and gradients as the reference."""
    for number, (grads, max_norm, container) in enumerate(clip_cases(82, 20), 1):
        what = f"case {number} ({len(grads)} parameters, max_norm {max_norm}, a {container})"
        got = probe(student, clip_run, student.clip_grad_norm, grads, max_norm, container)
        same_clip(got, clip_run(reference.clip_grad_norm, grads, max_norm, container), what)


def clip_example(student, max_norm, container="list"):
    grads = [torch.tensor([3.0, 4.0], dtype=torch.float64), torch.tensor([[12.0]], dtype=torch.float64)]
    return probe(student, clip_run, student.clip_grad_norm, grads, max_norm, container)


@exercise(CLIP, hint="Return the norm computed BEFORE scaling the gradients (what you log), not after.")
def test_clip_returns_norm_before_clipping(student):
    """Gradients [3, 4] and [[12]] clipped to 1: returns 13."""
    norm, _ = clip_example(student, 1.0)
    expect_close(norm, 13.0, 1e-12, what="the returned norm")


@exercise(CLIP, hint="Clip by the GLOBAL norm: one factor for every gradient, not each tensor clipped separately.")
def test_clip_one_factor_for_all(student):
    """Gradients [3, 4] and [[12]] clipped to 6.5: both halved (not each scaled to its own norm)."""
    _, grads = clip_example(student, 6.5)
    factor = 6.5 / (13.0 + 1e-6)
    expect_close(grads[0], torch.tensor([3.0, 4.0], dtype=torch.float64) * factor, 1e-12, what="the first gradient")
    expect_close(grads[1], torch.tensor([[12.0]], dtype=torch.float64) * factor, 1e-12, what="the second gradient")


@exercise(CLIP, hint="PyTorch's factor is max_norm / (total + 1e-6): the 1e-6 keeps a zero norm from dividing by 0.")
def test_clip_adds_1e_6(student):
    """The factor is max_norm / (13 + 1e-6), as in PyTorch (float64)."""
    _, grads = clip_example(student, 1.0)
    expect_close(grads[0], torch.tensor([3.0, 4.0], dtype=torch.float64) / (13.0 + 1e-6), 1e-13,
                 what="the first gradient")


@exercise(CLIP, hint="Scale only when the norm exceeds max_norm: the factor is min(1, ...).")
def test_clip_below_max_norm_unchanged(student):
    """max_norm 20 above the norm 13: the gradients are unchanged."""
    _, grads = clip_example(student, 20.0)
    expect_close(grads[0], torch.tensor([3.0, 4.0], dtype=torch.float64), 0.0, what="the first gradient")


@exercise(CLIP, hint="parameters may be a generator (model.parameters()), which can be read only once: "
                     "make a list of the gradients first.")
def test_clip_accepts_a_generator(student):
    """A generator of parameters: the norm is returned AND the gradients are clipped."""
    norm, grads = clip_example(student, 1.0, "generator")
    expect_close(norm, 13.0, 1e-12, what="the returned norm")
    expect_close(grads[1], torch.tensor([[12.0]], dtype=torch.float64) / (13.0 + 1e-6), 1e-12,
                 what="the second gradient")


@exercise(CLIP, hint="Skip the parameters whose .grad is None (frozen or unused).")
def test_clip_skips_missing_grads(student):
    """A parameter without grad among others: skipped, the others clipped by their own norm."""
    grads = [None, torch.tensor([6.0, 8.0], dtype=torch.float64), None]
    norm, after = probe(student, clip_run, student.clip_grad_norm, grads, 5.0)
    expect_close(norm, 10.0, 1e-12, what="the returned norm")
    expect(after[0] is None and after[2] is None, "a parameter without gradient got one")


@exercise(CLIP, hint="With no gradient at all, return torch.tensor(0.) and change nothing.")
def test_clip_no_gradients(student):
    """No parameter has a gradient: returns tensor(0.)."""
    norm, _ = probe(student, clip_run, student.clip_grad_norm, [None, None], 1.0)
    expect(isinstance(norm, torch.Tensor), f"expected a tensor, got {kind_of(norm)}")
    expect_close(norm, torch.tensor(0.0), 0.0, what="the returned norm")


@exercise(CLIP, hint="Return the norm as a 0-dim tensor in the gradients' dtype (no .item()).")
def test_clip_float32(student):
    """float32 gradients: a float32 0-dim norm."""
    grads = [torch.tensor([3.0, 4.0]), torch.tensor([12.0])]
    norm, _ = probe(student, clip_run, student.clip_grad_norm, grads, 1.0)
    expect(isinstance(norm, torch.Tensor), f"expected a tensor, got {kind_of(norm)}")
    expect_equal((tuple(norm.shape), norm.dtype), ((), torch.float32), "the norm's shape and dtype")


@exercise(CLIP, hint="Write the norm and the scaling yourself: clip_grad_norm_ is the shortcut this exercise "
                     "replaces.")
def test_clip_written_by_hand(student, student_code):
    """clip_grad_norm works and calls no clip_grad_norm_ / clip_grads_with_norm_."""
    norm, _ = clip_example(student, 1.0)
    expect_close(norm, 13.0, 1e-6)
    found = banned_calls(student_code, CLIP, {"clip_grad_norm_", "clip_grads_with_norm_", "get_total_norm"})
    expect(not found, f"clip_grad_norm uses {', '.join(found)}")


# lr_schedule ----------------------------------------------------------------------------------

LR = "lr_schedule"


def same_float(got, expected, what):
    expect(type(got) is float, f"{what}: expected a Python float, got {kind_of(got)}: {got!r}")
    expect(abs(got - expected) <= 1e-13 * max(1.0, abs(expected)), f"{what}: expected {expected!r}, got {got!r}")


def lr_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        warmup = rng.choice([0, 1, 3, 10])
        stable = rng.choice([0, 0, 5])
        total = warmup + stable + rng.choice([0, 1, 7, 40])
        max_lr = rng.choice([1.0, 3e-3, 6e-4])
        min_lr = rng.choice([0.0, max_lr / 10, max_lr])
        for step in sorted({0, rng.randint(0, total + 3), warmup, warmup + stable, total, total + 2}):
            kwargs = {"stable_steps": stable} if stable else {}
            cases.append(Case((step, max_lr, min_lr, warmup, total), kwargs))
    return cases


@exercise(LR, weight=2, broad=True,
          hint="Compare with the reference on the smallest failing case: warmup (step + 1) / W, then stable, "
               "then cosine with progress (step - W - S) / (total - W - S) capped at 1.")
def test_lr_schedule_matches_reference_on_many_settings(student, reference):
    """The same float as the reference for warmup 0 to 10, stable 0 or 5, up to 40 decay steps, steps before,
    at and after every boundary, min_lr 0 to max_lr, and ValueError where nothing is left to decay."""
    expect_same_as_reference(student.lr_schedule, reference.lr_schedule, lr_cases(83, 30), LR, compare=same_float)


@exercise(LR, hint="Step 0 takes max_lr * 1 / W: the warmup is (step + 1) / W, not step / W (no update at lr 0).")
def test_lr_schedule_first_warmup_step(student):
    """Step 0 with 8 warmup steps: max_lr / 8."""
    same_float(student.lr_schedule(0, 0.8, 0.0, 8, 100), 0.1, "lr_schedule(0, 0.8, 0.0, 8, 100)")


@exercise(LR, hint="The last warmup step (W - 1) reaches max_lr: (W - 1 + 1) / W = 1.")
def test_lr_schedule_last_warmup_step_reaches_max(student):
    """Step 7 with 8 warmup steps: max_lr."""
    same_float(student.lr_schedule(7, 0.8, 0.0, 8, 100), 0.8, "lr_schedule(7, 0.8, 0.0, 8, 100)")


@exercise(LR, hint="The cosine runs from the end of the warmup: progress = (step - W) / (total - W), and "
                   "lr = min_lr + (max_lr - min_lr) (1 + cos(pi progress)) / 2.")
def test_lr_schedule_cosine_midpoint(student):
    """Halfway through the decay (step 55 of 10 warmup + 90 decay steps): (max + min) / 2."""
    same_float(student.lr_schedule(55, 1.0, 0.2, 10, 100), 0.6, "lr_schedule(55, 1.0, 0.2, 10, 100)")


@exercise(LR, hint="Cap the progress at 1: from total_steps on the rate stays at min_lr (the cosine would rise).")
def test_lr_schedule_min_lr_after_total(student):
    """Steps 100 and 150 of 100: min_lr."""
    for step in (100, 150):
        same_float(student.lr_schedule(step, 1.0, 0.2, 10, 100), 0.2, f"lr_schedule({step}, 1.0, 0.2, 10, 100)")


@exercise(LR, hint="With stable_steps S, hold max_lr for S steps after the warmup, then decay over the "
                   "remaining total - W - S steps.")
def test_lr_schedule_stable_phase(student):
    """Warmup 10, stable 50, total 100: max_lr at step 59, halfway down at step 80."""
    same_float(student.lr_schedule(59, 1.0, 0.0, 10, 100, stable_steps=50), 1.0, "step 59")
    same_float(student.lr_schedule(80, 1.0, 0.0, 10, 100, stable_steps=50), 0.5, "step 80")


@exercise(LR, hint="With warmup_steps = 0 there is no warmup: step 0 already has max_lr (no division by 0).")
def test_lr_schedule_no_warmup(student):
    """Warmup 0: step 0 gives max_lr."""
    same_float(student.lr_schedule(0, 0.5, 0.0, 0, 10), 0.5, "lr_schedule(0, 0.5, 0.0, 0, 10)")


@exercise(LR, hint="Return a Python float (math.cos, not torch.cos; float(max_lr) in the stable phase).")
def test_lr_schedule_returns_float(student):
    """Every phase returns a Python float, integer max_lr included."""
    for step in (0, 3, 5, 20):
        got = student.lr_schedule(step, 1, 0, 2, 10, stable_steps=2)
        expect(type(got) is float, f"lr_schedule({step}, 1, 0, 2, 10, stable_steps=2) returned {kind_of(got)}: {got!r}")


@exercise(LR, hint="Raise ValueError when total_steps <= warmup_steps + stable_steps: nothing is left to decay.")
def test_lr_schedule_raises_without_decay_steps(student):
    """total_steps equal to warmup + stable raises ValueError."""
    try:
        got = student.lr_schedule(3, 1.0, 0.0, 4, 6, stable_steps=2)
    except ValueError:
        return
    raise AssertionError(f"lr_schedule(3, 1.0, 0.0, 4, 6, stable_steps=2) returned {got!r} instead of raising ValueError")


# train_step -----------------------------------------------------------------------------------

STEP = "train_step"


def accumulate(step_function, inputs, targets, accumulation_steps, optimizer_name="sgd", leftover=False):
    """(Runs in the worker, and here for the reference.) A float64 model (embedding, linear) and an
    optimizer; optionally stale gradients already in .grad; then one step_function call. Returns
    (its result, the parameters after, the number of optimizer.step calls, whether the batch changed)."""
    import torch
    torch.manual_seed(11)
    model = torch.nn.Sequential(torch.nn.Embedding(13, 5), torch.nn.Linear(5, 13)).double()
    optimizer = (torch.optim.SGD(model.parameters(), lr=0.7) if optimizer_name == "sgd"
                 else torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1))
    if leftover:
        for p in model.parameters():
            p.grad = torch.full_like(p, 5.0)
    steps = [0]
    original_step = optimizer.step

    def counted_step(*args, **kwargs):
        steps[0] += 1
        return original_step(*args, **kwargs)

    optimizer.step = counted_step
    before = (inputs.clone(), targets.clone())
    result = step_function(model, optimizer, inputs, targets, accumulation_steps)
    changed = not (torch.equal(before[0], inputs) and torch.equal(before[1], targets))
    return result, [p.detach().clone() for p in model.parameters()], steps[0], changed


def full_batch_step(model, optimizer, inputs, targets, accumulation_steps):
    """PyTorch's full-batch update: what train_step must equal, whatever accumulation_steps."""
    optimizer.zero_grad()
    loss = F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())
    loss.backward()
    optimizer.step()
    return loss.item()


def batch(seed, rows=6, length=5, masked=None):
    """Inputs and targets (rows, length) over 13 tokens; `masked[r]` leading targets of row r set to -100."""
    g = gen(seed)
    inputs, targets = torch.randint(13, (rows, length), generator=g), torch.randint(13, (rows, length), generator=g)
    for r, count in enumerate(masked or []):
        targets[r, :count] = -100
    return inputs, targets


def expect_same_step(got, expected, what):
    loss, params, _, _ = got
    expect(type(loss) is float, f"{what}: the result should be a Python float, got {kind_of(loss)}: {loss!r}")
    expect_close(loss, expected[0], 1e-12, what=f"{what}: the returned loss")
    for i, (g, e) in enumerate(zip(params, expected[1])):
        expect_close(g, e, 1e-12, what=f"{what}: parameter {i} after the step")


@exercise(STEP, weight=3, broad=True,
          hint="Each micro-batch contributes cross_entropy * n_i / N; zero_grad first, one step at the end.")
def test_train_step_matches_reference_on_random_batches(student, reference):
    """Batches of 6 rows with 1, 2, 3 and 6 micro-batches, uneven masks, SGD and AdamW: the same loss and
    parameters as the reference (float64, 1e-12)."""
    rng = random.Random(84)
    for k in (1, 2, 3, 6):
        for optimizer_name in ("sgd", "adamw"):
            inputs, targets = batch(rng.randrange(1000), masked=[rng.randint(0, 5) for _ in range(6)])
            what = f"train_step with {k} micro-batches, {optimizer_name}"
            got = probe(student, accumulate, student.train_step, inputs, targets, k, optimizer_name)
            expect_same_step(got, accumulate(reference.train_step, inputs, targets, k, optimizer_name), what)


@exercise(STEP, hint="Weight each micro-batch's mean loss by n_i / N (its share of the counted targets) and let "
                     "the micro-batches' gradients add up in .grad (no zero_grad between them): the update is then "
                     "the full batch's.")
def test_train_step_equals_the_full_batch_update(student):
    """4 micro-batches of 2 rows (uneven masks) equal PyTorch's full-batch update with F.cross_entropy (1e-12)."""
    inputs, targets = batch(20, rows=8, masked=[4, 0, 1, 4, 0, 0, 3, 2])
    got = probe(student, accumulate, student.train_step, inputs, targets, 4)
    expect_same_step(got, accumulate(full_batch_step, inputs, targets, 4), "4 micro-batches")


@exercise(STEP, hint="Dividing each micro-batch's mean by k is right only when all micro-batches count as many "
                     "targets; weight by n_i / N instead.")
def test_train_step_weights_micro_batches_by_tokens(student):
    """Micro-batches with 1 and 10 counted targets: weighted 1/11 and 10/11, not 1/2 each."""
    inputs, targets = batch(21, rows=2, masked=[4, 0])
    got = probe(student, accumulate, student.train_step, inputs, targets, 2)
    expect_same_step(got, accumulate(full_batch_step, inputs, targets, 2), "uneven micro-batches")


@exercise(STEP, hint="The gradients of k micro-batches add up: scale each loss (by n_i / N) or the update is "
                     "k times too large (Adam hides it; SGD does not).")
def test_train_step_scales_the_loss_with_sgd(student):
    """3 equal micro-batches with SGD: the same update as one batch (not 3 times it)."""
    inputs, targets = batch(22, rows=3)
    got = probe(student, accumulate, student.train_step, inputs, targets, 3)
    expect_same_step(got, accumulate(full_batch_step, inputs, targets, 3), "3 micro-batches")


@exercise(STEP, hint="Call optimizer.zero_grad() before the first backward: gradients left in .grad must not "
                     "leak into the update.")
def test_train_step_ignores_leftover_gradients(student):
    """Stale gradients in .grad before the call do not change the update."""
    inputs, targets = batch(23, rows=4)
    got = probe(student, accumulate, student.train_step, inputs, targets, 2, "sgd", True)
    expect_same_step(got, accumulate(full_batch_step, inputs, targets, 2), "with stale gradients")


@exercise(STEP, hint="Call optimizer.step() once, after the last micro-batch's backward.")
def test_train_step_steps_once(student):
    """4 micro-batches: optimizer.step() called exactly once."""
    inputs, targets = batch(24, rows=4)
    _, _, steps, _ = probe(student, accumulate, student.train_step, inputs, targets, 4)
    expect_equal(steps, 1, "the number of optimizer.step() calls")


@exercise(STEP, hint="Skip a micro-batch in which every target is -100: its mean is NaN and would poison the "
                     "gradients.")
def test_train_step_skips_empty_micro_batches(student):
    """A micro-batch with every target ignored: skipped, the update equals the full batch's."""
    inputs, targets = batch(25, rows=4, masked=[5, 5, 0, 2])
    got = probe(student, accumulate, student.train_step, inputs, targets, 2)
    expect_same_step(got, accumulate(full_batch_step, inputs, targets, 2), "an empty micro-batch")


@exercise(STEP, hint="Return the batch's mean loss, the sum of the weighted micro-batch losses, as a float "
                     "(.item()).")
def test_train_step_returns_the_batch_loss(student):
    """The result is the full batch's loss before the update, a Python float."""
    inputs, targets = batch(26, rows=6, masked=[1, 2, 3, 0, 0, 0])
    loss, _, _, _ = probe(student, accumulate, student.train_step, inputs, targets, 3)
    expected = accumulate(full_batch_step, inputs, targets, 3)[0]
    expect(type(loss) is float, f"the result should be a Python float, got {kind_of(loss)}: {loss!r}")
    expect_close(loss, expected, 1e-12, what="the returned loss")


def expect_value_error(student, inputs, targets, k, what):
    try:
        got = probe(student, accumulate, student.train_step, inputs, targets, k)
    except ValueError:
        return
    raise AssertionError(f"{what}: train_step returned {got[0]!r} instead of raising ValueError")


@exercise(STEP, hint="Raise ValueError when the batch's rows do not split into accumulation_steps equal parts.")
def test_train_step_raises_when_not_divisible(student):
    """5 rows in 2 micro-batches: ValueError."""
    expect_value_error(student, *batch(27, rows=5), 2, "5 rows, 2 micro-batches")


@exercise(STEP, hint="Raise ValueError when every target of the batch is -100.")
def test_train_step_raises_when_nothing_counts(student):
    """Every target ignored: ValueError."""
    inputs, targets = batch(28, rows=2)
    expect_value_error(student, inputs, torch.full_like(targets, -100), 1, "every target -100")


@exercise(STEP, hint="Do not change the caller's inputs or targets (no in-place masking).")
def test_train_step_leaves_the_batch_unchanged(student):
    """The inputs and targets are the same after the call."""
    inputs, targets = batch(29, rows=4, masked=[2, 0, 0, 1])
    got = probe(student, accumulate, student.train_step, inputs, targets, 2)
    expect_proven(not got[3], "train_step changed the caller's inputs or targets in place")
    with judged_only_if_right():
        expect_same_step(got, accumulate(full_batch_step, inputs, targets, 2), "the step")


# sft_example ----------------------------------------------------------------------------------

SFT = "sft_example"


def sft_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        prompt, response = token_ids(rng, 6), token_ids(rng, 6)
        bos = rng.choice([0, 1, 50256, 4095])
        eos = rng.choice([bos, bos, 2, 50257])
        pad = rng.choice([p for p in (0, 3, 4096, 99999, bos, eos) if p not in (bos, eos)] + [bos])
        length = 2 + len(prompt) + len(response) + rng.choice([-1, 0, 0, 1, 5])
        cases.append((prompt, response, bos, eos, pad, length))
    return cases


@exercise(SFT, weight=2, broad=True,
          hint="Compare with the reference on the smallest failing case: [BOS] prompt response [EOS] then PAD; "
               "labels -100 on BOS, the prompt and the padding.")
def test_sft_example_matches_reference_on_random_examples(student, reference):
    """40 examples: empty and long prompts and responses, ids up to 99,999, BOS = EOS or not, PAD equal to
    BOS or EOS (ValueError), exact fits and examples one token too long; arguments left unchanged."""
    expect_same_as_reference(student.sft_example, reference.sft_example, sft_cases(85, 40), SFT)


@exercise(SFT, hint="The first response token is a target (predicted from the last prompt token): mask exactly "
                    "1 + len(prompt) positions, not one more (the seed's off-by-one).")
def test_sft_example_keeps_the_first_response_token(student):
    """The label at the first response position is that token's id."""
    _, labels = student.sft_example([11, 12, 13], [21, 22], 1, 2, 0, 10)
    expect_equal(labels[4], 21, "the label at position 4 (the first response token)")


@exercise(SFT, hint="EOS is a target: the model must learn to stop.")
def test_sft_example_eos_is_a_target(student):
    """The label at EOS is eos_id."""
    _, labels = student.sft_example([11], [21, 22], 1, 2, 0, 8)
    expect_equal(labels[4], 2, "the label at position 4 (EOS)")


@exercise(SFT, hint="BOS and every prompt position get -100.")
def test_sft_example_masks_bos_and_prompt(student):
    """Labels -100 at BOS and the 3 prompt positions."""
    _, labels = student.sft_example([11, 12, 13], [21], 1, 2, 0, 7)
    expect_equal(labels[:4], [-100] * 4, "the labels of BOS and the prompt")


@exercise(SFT, hint="Padding positions get label -100, and input id pad_id.")
def test_sft_example_masks_padding(student):
    """Three padding positions: inputs pad_id, labels -100."""
    input_ids, labels = student.sft_example([11], [21], 1, 2, 7, 7)
    expect_equal(input_ids[4:], [7, 7, 7], "the padded inputs")
    expect_equal(labels[4:], [-100, -100, -100], "the padding's labels")


@exercise(SFT, hint="Decide the labels by position, never by comparing ids with pad_id (or BOS/EOS): a real token "
                    "may have the same id.")
def test_sft_example_masks_by_position(student):
    """A response token whose id equals pad_id and a prompt token equal to eos_id are labelled by position."""
    got = student.sft_example([2, 5], [9, 0, 9], 1, 2, 9, 9)
    expect_equal(got, ([1, 2, 5, 9, 0, 9, 2, 9, 9], [-100, -100, -100, 9, 0, 9, 2, -100, -100]))


@exercise(SFT, hint="An empty prompt or response is allowed: the sequence is [BOS] + prompt + response + [EOS].")
def test_sft_example_empty_parts(student):
    """An empty prompt, then an empty response."""
    expect_equal(student.sft_example([], [4, 5], 1, 2, 0, 5), ([1, 4, 5, 2, 0], [-100, 4, 5, 2, -100]), "empty prompt")
    expect_equal(student.sft_example([4, 5], [], 1, 2, 0, 5), ([1, 4, 5, 2, 0], [-100, -100, -100, 2, -100]),
                 "empty response")


@exercise(SFT, hint="An example of exactly max_length tokens fits (no padding); only a longer one raises.")
def test_sft_example_exact_fit(student):
    """2 + 2 + 2 tokens in max_length 6: no padding."""
    expect_equal(student.sft_example([4, 5], [6, 7], 1, 2, 0, 6), ([1, 4, 5, 6, 7, 2], [-100, -100, -100, 6, 7, 2]))


def expect_sft_value_error(student, args, what):
    try:
        got = student.sft_example(*args)
    except ValueError:
        return
    raise AssertionError(f"{what}: sft_example{tuple(args)} returned {got!r} instead of raising ValueError")


@exercise(SFT, hint="PAD must differ from BOS: raise ValueError when pad_id == bos_id (the seed's PAD = BOS = 0).")
def test_sft_example_pad_equal_to_bos_raises(student):
    """pad_id == bos_id: ValueError."""
    expect_sft_value_error(student, ([4], [5], 0, 2, 0, 8), "PAD == BOS")


@exercise(SFT, hint="PAD must differ from EOS too: raise ValueError when pad_id == eos_id.")
def test_sft_example_pad_equal_to_eos_raises(student):
    """pad_id == eos_id: ValueError."""
    expect_sft_value_error(student, ([4], [5], 1, 2, 2, 8), "PAD == EOS")


@exercise(SFT, hint="An example longer than max_length raises ValueError: no silent truncation.")
def test_sft_example_too_long_raises(student):
    """2 + 3 + 2 tokens in max_length 6: ValueError."""
    expect_sft_value_error(student, ([4, 5, 6], [7, 8], 1, 2, 0, 6), "one token too long")


@exercise(SFT, hint="Return a tuple of two lists of Python ints (not tensors).")
def test_sft_example_returns_lists_of_ints(student):
    """(list of int, list of int)."""
    got = student.sft_example([4], [5], 1, 2, 0, 6)
    expect(type(got) is tuple and len(got) == 2, f"expected a tuple (input_ids, labels), got {kind_of(got)}")
    for name, values in zip(("input_ids", "labels"), got):
        expect(type(values) is list and all(type(v) is int for v in values),
               f"{name} should be a list of ints, got {kind_of(values)}: {values!r}")


@exercise(SFT, hint="Build new lists on every call: a default list or a module-level list kept between calls "
                    "leaks one example into the next.")
def test_sft_example_calls_are_independent(student, reference):
    """Three calls in a row, one repeated, each result as if alone."""
    calls = [([4, 5], [6], 1, 2, 0, 7), ([8], [9, 10], 1, 1, 3, 6), ([4, 5], [6], 1, 2, 0, 7)]
    expect_independent_calls(student, reference, SFT, calls)


# checkpoint -----------------------------------------------------------------------------------

CHECKPOINT = "checkpoint"


def resumed_training(save, load, stop_at, steps=8):
    """(Runs in the worker.) A small model with dropout and torch's AdamW trained on batches drawn from the
    global RNG: uninterrupted, then stopped at `stop_at`, saved, rebuilt from another seed, loaded and
    continued. Returns both final parameter lists and the step load returned."""
    import os
    import tempfile

    import torch

    def build(seed):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Embedding(10, 6), torch.nn.Dropout(0.2), torch.nn.Linear(6, 10))
        return model, torch.optim.AdamW(model.parameters(), lr=0.05, betas=(0.8, 0.9))

    def train(model, optimizer, first, last):
        for _ in range(first, last):
            ids = torch.randint(10, (3, 4))
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(ids).flatten(0, 1), ids.roll(1, 1).flatten()).backward()
            optimizer.step()

    model, optimizer = build(0)
    torch.manual_seed(5)
    train(model, optimizer, 0, steps)
    uninterrupted = [p.detach().clone() for p in model.parameters()]
    model, optimizer = build(0)
    torch.manual_seed(5)
    train(model, optimizer, 0, stop_at)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.pt")
        save(path, model, optimizer, stop_at)
        torch.manual_seed(123)                  # the restarted process's generator is elsewhere
        model, optimizer = build(1)
        step = load(path, model, optimizer)
    train(model, optimizer, stop_at, steps)
    return uninterrupted, [p.detach().clone() for p in model.parameters()], step


@exercise(CHECKPOINT, weight=3, broad=True,
          hint="Save and restore the model, the optimizer's state_dict and torch's RNG state; load the model "
               "and optimizer into the objects given.")
def test_checkpoint_resumes_bit_for_bit(student):
    """Stopped at step 3 of 8 (AdamW, dropout, batches from the global RNG) and resumed in a model and optimizer
    built from another seed: the parameters equal the uninterrupted run's bit for bit."""
    uninterrupted, resumed, _ = probe(student, resumed_training, student.save_checkpoint, student.load_checkpoint, 3)
    for i, (a, b) in enumerate(zip(uninterrupted, resumed)):
        expect(torch.equal(a, b), f"parameter {i} differs from the uninterrupted run by up to "
                                  f"{(a - b).abs().max().item():.3g}")


def saved_file(save):
    """(Runs in the worker.) What save_checkpoint wrote, read back with weights_only=True: its keys, the step,
    whether the model's, optimizer's and RNG's entries equal the live ones."""
    import os
    import tempfile

    import torch
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    rng = torch.get_rng_state()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.pt")
        save(path, model, optimizer, 17)
        data = torch.load(path, weights_only=True)
    if not isinstance(data, dict):
        return type(data).__name__, None, None
    model_ok = isinstance(data.get("model"), dict) and all(
        torch.equal(data["model"][k], v) for k, v in model.state_dict().items() if k in data["model"])
    optimizer_ok = isinstance(data.get("optimizer"), dict) and "state" in data["optimizer"]
    rng_ok = isinstance(data.get("rng"), torch.Tensor) and torch.equal(data["rng"], rng)
    return sorted(map(str, data)), data.get("step"), [model_ok, optimizer_ok, rng_ok]


@exercise(CHECKPOINT, hint="Save one dict {'model': model.state_dict(), 'optimizer': optimizer.state_dict(), "
                           "'step': step, 'rng': torch.get_rng_state()}: tensors and plain data only, readable "
                           "with weights_only=True.")
def test_checkpoint_file_format(student):
    """The file loads with torch.load(weights_only=True) and holds model, optimizer, step and rng."""
    keys, step, entries = probe(student, saved_file, student.save_checkpoint)
    missing = sorted({"model", "optimizer", "rng", "step"} - set(keys if isinstance(keys, list) else []))
    expect(not missing, f"the saved object ({keys!r}) lacks the keys {missing}")
    expect_equal(step, 17, "the saved step")
    expect_equal(entries, [True, True, True], "[model state_dict, optimizer state_dict, RNG state] saved correctly")


def restore(save, load, what):
    """(Runs in the worker.) Save a trained model/optimizer, load into fresh ones; report what matches."""
    import os
    import tempfile

    import torch

    def build(seed):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
        return model, torch.optim.AdamW(model.parameters(), lr=0.1)

    model, optimizer = build(0)
    for _ in range(2):
        optimizer.zero_grad()
        model(torch.randn(5, 3)).pow(2).sum().backward()
        optimizer.step()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.pt")
        save(path, model, optimizer, 9)
        expected_draw = torch.rand(3)
        fresh_model, fresh_optimizer = build(1)
        if what == "strict":
            fresh_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2), torch.nn.Linear(2, 2))
            fresh_optimizer = torch.optim.AdamW(fresh_model[:2].parameters(), lr=0.1)  # only the model mismatches
            try:
                load(path, fresh_model, fresh_optimizer)
            except (RuntimeError, ValueError, KeyError):
                return True
            return False
        torch.manual_seed(77)
        step = load(path, fresh_model, fresh_optimizer)
    if what == "model":
        return all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh_model.state_dict().values()))
    if what == "optimizer":
        saved, loaded = optimizer.state_dict()["state"], fresh_optimizer.state_dict()["state"]
        return sorted(saved) == sorted(loaded) and all(
            torch.equal(torch.as_tensor(saved[i][k]), torch.as_tensor(loaded[i][k])) for i in saved for k in saved[i])
    if what == "rng":
        return torch.equal(torch.rand(3), expected_draw)
    return step


@exercise(CHECKPOINT, hint="Restore the weights with model.load_state_dict(checkpoint['model']) into the model given.")
def test_checkpoint_restores_the_model(student):
    """A fresh model gets the saved weights."""
    expect(probe(student, restore, student.save_checkpoint, student.load_checkpoint, "model"),
           "the loaded model's weights differ from the saved ones")


@exercise(CHECKPOINT, hint="Save optimizer.state_dict() and restore it with optimizer.load_state_dict: Adam's "
                           "m, v and step counts, or the next updates jump.")
def test_checkpoint_restores_the_optimizer_state(student):
    """A fresh optimizer gets the saved Adam state (exp_avg, exp_avg_sq, step)."""
    expect(probe(student, restore, student.save_checkpoint, student.load_checkpoint, "optimizer"),
           "the loaded optimizer's state differs from the saved one")


@exercise(CHECKPOINT, hint="Save torch.get_rng_state() and restore it with torch.set_rng_state: the batches and "
                           "dropout masks drawn next depend on it.")
def test_checkpoint_restores_the_rng(student):
    """After loading, the next random draw is the one that followed the save."""
    expect(probe(student, restore, student.save_checkpoint, student.load_checkpoint, "rng"),
           "the random numbers drawn after loading are not those that followed the save")


@exercise(CHECKPOINT, hint="Load the model strictly (load_state_dict's default strict=True): a model whose keys "
                           "differ is an error, not a partial load.")
def test_checkpoint_loads_strictly(student):
    """Loading into a model with an extra layer raises an error."""
    expect(probe(student, restore, student.save_checkpoint, student.load_checkpoint, "strict"),
           "loading into a model with other keys did not raise")


@exercise(CHECKPOINT, hint="load_checkpoint returns the saved step.")
def test_checkpoint_returns_the_step(student):
    """load_checkpoint returns 9 for a checkpoint saved at step 9."""
    expect_equal(probe(student, restore, student.save_checkpoint, student.load_checkpoint, "step"), 9, "the step")
