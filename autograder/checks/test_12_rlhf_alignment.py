"""Hidden checks for 12-rlhf-alignment. Inputs differ from the visible checks: batches of 1 to 6, sequences of 1
to 9 tokens, vocabularies of 2 to 50, float32 and float64, boolean, integer and float masks that mask prompt
and padding tokens, rewards and log-probabilities large enough to overflow a naive formula (differences of
1000), advantages of both signs with ratios on both sides of the clip range, epsilons other than 0.2, and
groups of 2 to 5. Values are compared to an absolute 1e-9 (float64) or 1e-5 (float32, relative to the size of
the result); gradients are computed in the worker by a probe and compared with the reference's.

Every promise of the text and docstrings, and the check that exercises it:

reward_model_loss
- -log sigma(chosen - rejected): test_reward_loss_values; the mean over all pairs, any shape:
  test_reward_loss_is_a_mean_over_pairs
- finite for any finite rewards (logsigmoid): test_reward_loss_large_margins
- a 0-d tensor in the rewards' dtype: test_reward_loss_is_a_zero_dim_tensor
- carries the rewards' gradient: test_reward_loss_gradient
- arguments unchanged, many shapes and dtypes: test_reward_loss_matches_reference
sequence_logprobs
- logits[:, t-1] scores ids[:, t] (the shift): test_sequence_logprobs_shift
- only completion tokens summed (prompt and padding left out), a sum not a mean: test_sequence_logprobs_mask
- completion_mask[:, 0] ignored: test_sequence_logprobs_ignores_the_first_mask_position
- boolean, integer and float masks: test_sequence_logprobs_mask_types
- no completion token gives 0, T = 1: test_sequence_logprobs_empty_completion
- log_softmax: large logits finite: test_sequence_logprobs_large_logits
- (B,) in the logits' dtype: test_sequence_logprobs_shape_and_dtype
- carries the logits' gradient: test_sequence_logprobs_gradient
- arguments unchanged, many shapes: test_sequence_logprobs_matches_reference
dpo_loss
- the loss, -logsigmoid(beta * (chosen log-ratio - rejected log-ratio)).mean(): test_dpo_loss_value
- the implicit rewards beta * (policy - reference): test_dpo_rewards
- beta inside the sigmoid, the default 0.1: test_dpo_beta
- a tuple (loss, chosen_rewards, rejected_rewards), loss 0-d: test_dpo_returns_a_tuple_of_three
- the rewards detached: test_dpo_rewards_are_detached
- the gradient of the policy's log-probabilities: test_dpo_gradient
- large margins finite: test_dpo_large_margins
- arguments unchanged, dtypes, batch sizes: test_dpo_matches_reference
ppo_clip_loss
- max(-A rho, -A clip(rho)) (sign and min/max conventions): test_ppo_pessimistic_objective
- clipping to [1 - eps, 1 + eps], epsilon used: test_ppo_clips_with_epsilon
- the masked mean over tokens of all sequences together: test_ppo_masked_token_mean
- a mask that keeps nothing gives 0: test_ppo_empty_mask
- (B, 1) advantages broadcast: test_ppo_sequence_advantages
- boolean and integer masks: test_ppo_mask_types
- rho = exp(logps - old_logps), the gradient of logps (none through clipped tokens): test_ppo_gradient
- 0-d tensor in the log-probabilities' dtype: test_ppo_zero_dim_and_dtype
- arguments unchanged, many cases: test_ppo_matches_reference
group_advantages
- the unbiased std (trl's convention): test_group_advantages_unbiased_std
- 1e-4 added to the std: test_group_advantages_epsilon
- consecutive groups, each normalised on its own: test_group_advantages_consecutive_groups
- equal rewards give 0, not NaN: test_group_advantages_equal_rewards
- ValueError for group_size < 2 or N not a multiple: test_group_advantages_raises
- (N,) in the rewards' dtype: test_group_advantages_dtype
- arguments unchanged, many cases: test_group_advantages_matches_reference
kl_k3
- exp(ref - pol) - (ref - pol) - 1 (direction of the ratio): test_kl_k3_values
- 0 where equal, never negative, any shape: test_kl_k3_shape_and_sign
- the gradient of logps: test_kl_k3_gradient
- arguments unchanged, dtypes, shapes: test_kl_k3_matches_reference
"""
import math
import random

import torch

from autograder import generators
from autograder.checking import (Case, exercise, expect, expect_close, expect_equal, expect_same_as_reference)
from autograder.remote import kind_of, probe
from autograder.torch_checks import Shown, expect_same_gradients, gen, gradients


def same_tensor(got, expected, what):
    """A tensor of the expected dtype and shape, within 1e-9 (float64) or 1e-5 relative (float32)."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    if expected.dtype == torch.float64:
        expect_close(got, expected, 1e-9, 1e-9, what=what)
    else:
        expect_close(got, expected, 1e-5, 1e-5, what=what)


def same_tuple(got, expected, what):
    expect(isinstance(got, tuple), f"{what}: expected a tuple (loss, chosen_rewards, rejected_rewards), got {kind_of(got)}")
    expect_equal(len(got), len(expected), f"{what}: the tuple's length")
    for name, g, e in zip(("loss", "chosen_rewards", "rejected_rewards"), got, expected):
        same_tensor(g, e, f"{what}: {name}")


def t(*values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


def rnd(seed, *shape, dtype=torch.float64, scale=1.0):
    return torch.randn(*shape, generator=gen(seed), dtype=dtype) * scale


def gradients_of(function, args, wrt, kwargs=None):
    """(Runs in the worker, and here for the reference.) The gradients of the first returned tensor's sum with
    respect to the arguments at the positions `wrt` only (the others are constants: a learner may detach
    them); None where no gradient arrived, or when the result carries none."""
    import torch
    args = [a.detach().clone().requires_grad_(i in wrt) if isinstance(a, torch.Tensor) and a.is_floating_point() else a
            for i, a in enumerate(args)]
    out = function(*args, **(kwargs or {}))
    out = out[0] if isinstance(out, (tuple, list)) else out
    if not (isinstance(out, torch.Tensor) and out.requires_grad):
        return None
    out.sum().backward()
    return [args[i].grad for i in wrt]


def expect_same_gradients_of(student, function, reference_function, args, wrt, what, kwargs=None):
    got = probe(student, gradients_of, function, args, wrt, kwargs)
    expected = gradients_of(reference_function, args, wrt, kwargs)
    expect(got is not None, f"{what}: the result carries no gradient (detached, or computed without autograd)")
    for i, g, e in zip(wrt, got, expected):
        expect(g is not None, f"{what}: no gradient reached argument {i + 1}")
        expect_close(g, e, 1e-9, what=f"{what}: the gradient of argument {i + 1}")


# reward_model_loss ---------------------------------------------------------------------------------

REWARD = "reward_model_loss"


@exercise(REWARD, weight=2, hint="-log sigmoid(chosen - rejected): the chosen reward first, F.logsigmoid, then the mean.")
def test_reward_loss_values(student):
    """r_w = 2, r_l = -1 gives -log sigma(3) = 0.0486; r_w = -1, r_l = 2 gives 3.0486."""
    same_tensor(student.reward_model_loss(t(2.0), t(-1.0)), torch.tensor(-math.log(1 / (1 + math.exp(-3.0))), dtype=torch.float64),
                "reward_model_loss([2], [-1])")
    same_tensor(student.reward_model_loss(t(-1.0), t(2.0)), torch.tensor(-math.log(1 / (1 + math.exp(3.0))), dtype=torch.float64),
                "reward_model_loss([-1], [2])")


@exercise(REWARD, weight=2, hint="Average over all pairs with .mean() (not .sum(), not the mean of only one dimension).")
def test_reward_loss_is_a_mean_over_pairs(student, reference):
    """5 pairs, and a (2, 3) batch of pairs: the mean over all of them."""
    for shape, seed in (((5,), 1), ((2, 3), 2)):
        chosen, rejected = rnd(seed, *shape), rnd(seed + 10, *shape)
        same_tensor(student.reward_model_loss(chosen, rejected), reference.reward_model_loss(chosen, rejected),
                    f"rewards of shape {shape}")


@exercise(REWARD, hint="-log(sigmoid(z)) is inf when sigmoid(z) underflows to 0 (z = -1000): F.logsigmoid(z) is finite.")
def test_reward_loss_large_margins(student):
    """Margins of -1000 and +1000: the loss is (1000 + 0) / 2 = 500."""
    for dtype in (torch.float32, torch.float64):
        got = student.reward_model_loss(t(-500.0, 500.0, dtype=dtype), t(500.0, -500.0, dtype=dtype))
        same_tensor(got, torch.tensor(500.0, dtype=dtype), f"margins -1000 and +1000 in {str(dtype)[6:]}")


@exercise(REWARD, hint="Return the tensor itself (no .item(), no float(...)), 0-dimensional, in the rewards' dtype.")
def test_reward_loss_is_a_zero_dim_tensor(student):
    """float32 and float64 rewards: a 0-d tensor of the same dtype."""
    for dtype in (torch.float32, torch.float64):
        got = student.reward_model_loss(rnd(3, 4, dtype=dtype), rnd(4, 4, dtype=dtype))
        expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
        expect_equal(tuple(got.shape), (), "the shape of the loss")
        expect_equal(got.dtype, dtype, "the dtype of the loss")


@exercise(REWARD, weight=2, hint="Keep the computation in torch on the rewards themselves (no .detach(), no .item()) so "
                                 "that backward reaches the reward model.")
def test_reward_loss_gradient(student, reference):
    """The gradients of the loss with respect to both rewards (3 pairs)."""
    args = (rnd(5, 3), rnd(6, 3))
    expect_same_gradients(probe(student, gradients, student.reward_model_loss, args, (1.0,)),
                          gradients(reference.reward_model_loss, args, (1.0,)), 1e-9, "reward_model_loss")


@exercise(REWARD, weight=2, broad=True, hint="The mean of -logsigmoid(chosen - rejected) over every pair.")
def test_reward_loss_matches_reference(student, reference):
    """20 random cases: 1-D to 3-D, float32 and float64, scales 0.1 to 1000."""
    rng = random.Random(7)
    cases = []
    for _ in range(20):
        shape = generators.leading_shape(rng, rng.choice([1, 2, 5]))
        dtype, scale = rng.choice([torch.float32, torch.float64]), rng.choice([0.1, 1.0, 10.0, 1000.0])
        cases.append(Shown((generators.tensor(rng, shape, dtype, scale), generators.tensor(rng, shape, dtype, scale)),
                           label=f"(rewards of shape {shape}, {str(dtype)[6:]}, scale {scale})"))
    expect_same_as_reference(student.reward_model_loss, reference.reward_model_loss, cases, "reward_model_loss",
                             compare=same_tensor)


# sequence_logprobs ---------------------------------------------------------------------------------

SEQ = "sequence_logprobs"


def one_hot_logits(ids, vocab, right=3.0):
    """Logits that put `right` on ids[t] at position t - 1 and on (ids[t] + 1) % vocab at position t: a model
    that predicts the next token well, and the same token badly."""
    B, T = ids.shape
    logits = torch.zeros(B, T, vocab, dtype=torch.float64)
    for b in range(B):
        for i in range(T):
            if i + 1 < T:
                logits[b, i, ids[b, i + 1]] += right
            logits[b, i, (ids[b, i] + 1) % vocab] += 1.0
    return logits


@exercise(SEQ, weight=3, hint="Shift by one: the logits at position t - 1 predict the token at t, so use "
                              "log_softmax(logits[:, :-1]) with ids[:, 1:] and completion_mask[:, 1:].")
def test_sequence_logprobs_shift(student, reference):
    """Logits that predict the next token: the shifted pairing gives log-probabilities near 0, an unshifted one does not."""
    ids = torch.tensor([[1, 4, 2, 0, 3], [2, 2, 1, 3, 0]])
    mask = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, 1, 0]])
    logits = one_hot_logits(ids, 5)
    same_tensor(student.sequence_logprobs(logits, ids, mask), reference.sequence_logprobs(logits, ids, mask),
                "sequence_logprobs on 2 sequences of 5 tokens")


@exercise(SEQ, weight=2, hint="Sum only where completion_mask[:, 1:] is 1: multiply the token log-probabilities by the "
                              "mask (prompt and padding give 0) and .sum(dim=-1), not .mean().")
def test_sequence_logprobs_mask(student, reference):
    """A prompt of 2, a completion of 3 and padding of 2: only the 3 completion tokens count, summed."""
    ids = torch.tensor([[3, 1, 4, 1, 5, 0, 0]])
    mask = torch.tensor([[0, 0, 1, 1, 1, 0, 0]])
    logits = rnd(11, 1, 7, 6)
    same_tensor(student.sequence_logprobs(logits, ids, mask), reference.sequence_logprobs(logits, ids, mask),
                "a completion between a prompt and padding")


@exercise(SEQ, hint="completion_mask[:, 0] is ignored: no logits predict the first token (use completion_mask[:, 1:]).")
def test_sequence_logprobs_ignores_the_first_mask_position(student, reference):
    """A mask of all ones: T - 1 tokens are scored."""
    ids = torch.tensor([[2, 0, 1, 2]])
    mask = torch.ones(1, 4, dtype=torch.long)
    logits = rnd(12, 1, 4, 3)
    same_tensor(student.sequence_logprobs(logits, ids, mask), reference.sequence_logprobs(logits, ids, mask),
                "a mask of all ones")


@exercise(SEQ, hint="Convert the mask to the logits' dtype before multiplying (mask.to(token_logps.dtype)), so that "
                    "boolean, integer and float masks all work.")
def test_sequence_logprobs_mask_types(student, reference):
    """The same mask as bool, int64, int32 and float32."""
    ids = torch.tensor([[1, 0, 2, 2], [0, 1, 1, 0]])
    base = torch.tensor([[0, 1, 1, 0], [0, 0, 1, 1]])
    logits = rnd(13, 2, 4, 3)
    expected = reference.sequence_logprobs(logits, ids, base)
    for mask in (base.bool(), base, base.int(), base.float()):
        same_tensor(student.sequence_logprobs(logits, ids, mask), expected, f"a {str(mask.dtype)[6:]} mask")


@exercise(SEQ, hint="A sequence without completion tokens sums nothing: 0. With T = 1 there is nothing to score.")
def test_sequence_logprobs_empty_completion(student):
    """A zero mask gives 0; a sequence of one token gives 0."""
    same_tensor(student.sequence_logprobs(rnd(14, 2, 3, 4), torch.tensor([[1, 2, 3], [0, 0, 0]]), torch.zeros(2, 3)),
                torch.zeros(2, dtype=torch.float64), "a zero mask")
    same_tensor(student.sequence_logprobs(rnd(15, 3, 1, 4), torch.tensor([[1], [2], [0]]), torch.ones(3, 1)),
                torch.zeros(3, dtype=torch.float64), "sequences of one token")


@exercise(SEQ, hint="Use F.log_softmax: softmax(logits).log() underflows to log(0) = -inf for logits of size 1000.")
def test_sequence_logprobs_large_logits(student, reference):
    """Logits of scale 1000, float32 and float64."""
    ids = torch.tensor([[0, 3, 1, 2, 4]])
    mask = torch.tensor([[0, 1, 1, 1, 1]])
    for dtype in (torch.float32, torch.float64):
        logits = rnd(16, 1, 5, 5, dtype=dtype, scale=1000.0)
        same_tensor(student.sequence_logprobs(logits, ids, mask), reference.sequence_logprobs(logits, ids, mask),
                    f"logits of scale 1000 in {str(dtype)[6:]}")


@exercise(SEQ, hint="Return one number per sequence, shape (B,), in the logits' dtype (sum over dim=-1 only).")
def test_sequence_logprobs_shape_and_dtype(student):
    """A batch of 1 and a batch of 4; float32 logits."""
    for B in (1, 4):
        got = student.sequence_logprobs(rnd(17, B, 6, 7, dtype=torch.float32), torch.randint(0, 7, (B, 6), generator=gen(B)),
                                        torch.ones(B, 6))
        expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
        expect_equal(tuple(got.shape), (B,), f"the shape for a batch of {B}")
        expect_equal(got.dtype, torch.float32, "the dtype for float32 logits")


@exercise(SEQ, weight=2, hint="Compute in torch on the logits (log_softmax, gather, multiply, sum): no .detach(), "
                              "no torch.no_grad(), so that backward reaches the model.")
def test_sequence_logprobs_gradient(student, reference):
    """The gradient of the summed log-probabilities with respect to the logits."""
    ids = torch.tensor([[1, 2, 0, 2], [2, 1, 1, 0]])
    args = (rnd(18, 2, 4, 3), ids, torch.tensor([[0, 1, 1, 1], [0, 0, 1, 0]]))
    expect_same_gradients(probe(student, gradients, student.sequence_logprobs, args, (t(1.0, -2.0),)),
                          gradients(reference.sequence_logprobs, args, (t(1.0, -2.0),)), 1e-9, "sequence_logprobs")


@exercise(SEQ, weight=2, broad=True, hint="The sum over t >= 1 with completion_mask[:, t] of log_softmax(logits[:, t - 1])[ids[:, t]].")
def test_sequence_logprobs_matches_reference(student, reference):
    """20 random cases: batches of 1 to 4, 1 to 9 tokens, vocabularies of 2 to 50, masks of 4 dtypes."""
    rng = random.Random(8)
    cases = []
    for _ in range(20):
        B, T, V = rng.randint(1, 4), rng.randint(1, 9), rng.choice([2, 5, 50])
        dtype = rng.choice([torch.float32, torch.float64])
        logits = generators.tensor(rng, (B, T, V), dtype, rng.choice([1.0, 10.0]))
        ids = torch.randint(0, V, (B, T), generator=gen(rng.randrange(1000)))
        mask = (torch.rand(B, T, generator=gen(rng.randrange(1000))) < 0.6).to(rng.choice([torch.bool, torch.long, torch.float32]))
        cases.append(Shown((logits, ids, mask), label=f"(logits {(B, T, V)} {str(dtype)[6:]}, {str(mask.dtype)[6:]} mask)"))
    expect_same_as_reference(student.sequence_logprobs, reference.sequence_logprobs, cases, "sequence_logprobs",
                             compare=same_tensor)


# dpo_loss ------------------------------------------------------------------------------------------

DPO = "dpo_loss"
HAND = (t(-12.0, -3.0), t(-15.0, -2.5), t(-12.5, -4.0), t(-14.0, -2.0))


@exercise(DPO, weight=2, hint="loss = -logsigmoid(beta * ((pi_chosen - ref_chosen) - (pi_rejected - ref_rejected))).mean(): "
                              "policy minus reference, chosen minus rejected.")
def test_dpo_loss_value(student, reference):
    """Two pairs with beta = 0.1: the loss."""
    got = student.dpo_loss(*HAND, beta=0.1)
    expect(isinstance(got, tuple) and len(got) == 3, f"expected a tuple of 3 tensors, got {kind_of(got)}")
    same_tensor(got[0], reference.dpo_loss(*HAND, beta=0.1)[0], "the loss of two pairs")


@exercise(DPO, weight=2, hint="chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps), rejected_rewards likewise: "
                              "(B,) tensors, one per pair.")
def test_dpo_rewards(student, reference):
    """Two pairs with beta = 0.1: the implicit rewards [0.05, 0.1] and [-0.1, 0.05]."""
    got, expected = student.dpo_loss(*HAND, beta=0.1), reference.dpo_loss(*HAND, beta=0.1)
    expect(isinstance(got, tuple) and len(got) == 3, f"expected a tuple of 3 tensors, got {kind_of(got)}")
    same_tensor(got[1], expected[1], "chosen_rewards")
    same_tensor(got[2], expected[2], "rejected_rewards")


@exercise(DPO, weight=2, hint="Multiply the difference of log-ratios by beta INSIDE the logsigmoid, and use the beta "
                              "argument (default 0.1), not a constant.")
def test_dpo_beta(student, reference):
    """beta = 0.5 and 2.0, and the default."""
    for kwargs in ({"beta": 0.5}, {"beta": 2.0}, {}):
        same_tuple(student.dpo_loss(*HAND, **kwargs), reference.dpo_loss(*HAND, **kwargs), f"dpo_loss(..., {kwargs})")


@exercise(DPO, hint="Return a tuple (loss, chosen_rewards, rejected_rewards), the loss a 0-d tensor (the mean over pairs).")
def test_dpo_returns_a_tuple_of_three(student):
    """A batch of 3: a tuple of a 0-d tensor and two (3,) tensors."""
    got = student.dpo_loss(rnd(20, 3), rnd(21, 3), rnd(22, 3), rnd(23, 3))
    expect(isinstance(got, tuple), f"expected a tuple, got {kind_of(got)}")
    expect_equal(len(got), 3, "the tuple's length")
    expect_equal([tuple(x.shape) for x in got], [(), (3,), (3,)], "the shapes of (loss, chosen_rewards, rejected_rewards)")


def dpo_gradient_facts(dpo_loss):
    """(Runs in the worker.) Whether the loss and the rewards require grad when the policy's log-probabilities do."""
    import torch
    policy = [torch.tensor([-3.0, -5.0], dtype=torch.float64, requires_grad=True) for _ in range(2)]
    loss, chosen, rejected = dpo_loss(policy[0], policy[1], torch.tensor([-3.5, -4.0], dtype=torch.float64),
                                      torch.tensor([-4.0, -4.5], dtype=torch.float64))
    return [bool(loss.requires_grad), bool(chosen.requires_grad), bool(rejected.requires_grad)]


@exercise(DPO, hint="Detach the implicit rewards: beta * (policy_logps - ref_logps).detach(). They are for logging; "
                    "the loss keeps its gradient.")
def test_dpo_rewards_are_detached(student):
    """With policy log-probabilities that require grad: the loss requires grad, the rewards do not."""
    expect_equal(probe(student, dpo_gradient_facts, student.dpo_loss), [True, False, False],
                 "requires_grad of (loss, chosen_rewards, rejected_rewards)")


@exercise(DPO, weight=2, hint="Compute the loss in torch from the four tensors (no .item(), no .detach() on the loss's path).")
def test_dpo_gradient(student, reference):
    """The gradient of the loss with respect to the policy's log-probabilities (3 pairs, beta = 0.3)."""
    args = (rnd(24, 3), rnd(25, 3), rnd(26, 3), rnd(27, 3))
    expect_same_gradients_of(student, student.dpo_loss, reference.dpo_loss, args, [0, 1], "dpo_loss", {"beta": 0.3})


@exercise(DPO, hint="Use F.logsigmoid: -log(sigmoid(z)) is inf when the margin is very negative.")
def test_dpo_large_margins(student, reference):
    """Log-probabilities of -5000 and margins of +-1000 after beta, float32 and float64."""
    for dtype in (torch.float32, torch.float64):
        args = (t(-100.0, -9000.0, dtype=dtype), t(-9000.0, -100.0, dtype=dtype), t(-100.0, -100.0, dtype=dtype),
                t(-100.0, -100.0, dtype=dtype))
        same_tuple(student.dpo_loss(*args, beta=0.1), reference.dpo_loss(*args, beta=0.1), f"margins of +-890 in {str(dtype)[6:]}")


@exercise(DPO, weight=2, broad=True, hint="Follow the two formulas of the text exactly.")
def test_dpo_matches_reference(student, reference):
    """20 random cases: batches of 1 to 6, float32 and float64, beta 0.01 to 5."""
    rng = random.Random(9)
    cases = []
    for _ in range(20):
        B, dtype, beta = rng.randint(1, 6), rng.choice([torch.float32, torch.float64]), rng.choice([0.01, 0.1, 0.5, 5.0])
        args = tuple(generators.tensor(rng, (B,), dtype, 5.0) - 20 for _ in range(4))
        cases.append(Shown(args, {"beta": beta}, label=f"(4 x ({B},) {str(dtype)[6:]}, beta={beta})"))
    expect_same_as_reference(student.dpo_loss, reference.dpo_loss, cases, "dpo_loss", compare=same_tuple)


# ppo_clip_loss -------------------------------------------------------------------------------------

PPO = "ppo_clip_loss"


def ppo_case(ratios, advantages, mask=None, dtype=torch.float64):
    logps = torch.tensor(ratios, dtype=dtype).log() - 0.5
    old = torch.full_like(logps, -0.5)
    advantages = torch.tensor(advantages, dtype=dtype)
    mask = torch.ones_like(logps) if mask is None else torch.tensor(mask)
    return logps, old, advantages, mask


@exercise(PPO, weight=3, hint="The per-token loss is torch.maximum(-A * ratio, -A * clip(ratio)): the negative of "
                              "min(A * ratio, A * clip(ratio)). Check the signs: a clipped good token gives -A * (1 + eps).")
def test_ppo_pessimistic_objective(student, reference):
    """Ratios 1.5 and 0.5 with advantages +1 and -1, one token each (the four cases of the clip)."""
    for ratio in (1.5, 0.5):
        for advantage in (1.0, -1.0):
            case = ppo_case([[ratio]], [[advantage]])
            same_tensor(student.ppo_clip_loss(*case, epsilon=0.2), reference.ppo_clip_loss(*case, epsilon=0.2),
                        f"ratio {ratio}, advantage {advantage:+}")


@exercise(PPO, weight=2, hint="Clip the ratio to [1 - epsilon, 1 + epsilon] with the epsilon argument (not a constant 0.2).")
def test_ppo_clips_with_epsilon(student, reference):
    """Ratios 0.6 to 1.4 with epsilon 0.1 and 0.3."""
    case = ppo_case([[0.6, 0.85, 1.05, 1.15, 1.4]], [[1.0, -2.0, 0.5, 1.5, -1.0]])
    for epsilon in (0.1, 0.3):
        same_tensor(student.ppo_clip_loss(*case, epsilon=epsilon), reference.ppo_clip_loss(*case, epsilon=epsilon),
                    f"epsilon = {epsilon}")


@exercise(PPO, weight=3, hint="One mean over the kept tokens of all sequences together: (loss * mask).sum() / mask.sum() "
                              "(not the mean over every token, not a mean per sequence first).")
def test_ppo_masked_token_mean(student, reference):
    """Two sequences with 1 and 4 kept tokens: each token counts once."""
    case = ppo_case([[1.1, 0.9, 1.3, 0.7, 1.0], [0.95, 1.05, 1.25, 0.8, 1.2]], [[2.0, -1.0, 0.5, 1.0, 3.0], [-1.0, 1.0, 2.0, -0.5, 1.0]],
                    [[1, 0, 0, 0, 0], [1, 1, 1, 1, 0]])
    same_tensor(student.ppo_clip_loss(*case), reference.ppo_clip_loss(*case), "kept tokens 1 and 4")


@exercise(PPO, hint="A mask that keeps nothing: divide by mask.sum().clamp(min=1), giving 0, not 0 / 0 = NaN.")
def test_ppo_empty_mask(student):
    """Every token masked: 0."""
    case = ppo_case([[1.3, 0.9]], [[1.0, -1.0]], [[0, 0]])
    same_tensor(student.ppo_clip_loss(*case), torch.tensor(0.0, dtype=torch.float64), "a mask of zeros")


@exercise(PPO, hint="Advantages of shape (B, 1) broadcast over the tokens of their sequence: -advantages * ratio works as is.")
def test_ppo_sequence_advantages(student, reference):
    """(3, 4) log-probabilities with (3, 1) advantages."""
    logps, old = rnd(30, 3, 4, scale=0.3), rnd(31, 3, 4, scale=0.3)
    args = (logps, old, t(1.0, -0.5, 2.0)[:, None], torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]))
    same_tensor(student.ppo_clip_loss(*args), reference.ppo_clip_loss(*args), "(B, 1) advantages")


@exercise(PPO, hint="Convert the mask to the loss's dtype (mask.to(per_token.dtype)): boolean and integer masks must work.")
def test_ppo_mask_types(student, reference):
    """The same mask as bool and int64."""
    logps, old, advantages = rnd(32, 2, 3, scale=0.4), rnd(33, 2, 3, scale=0.4), rnd(34, 2, 3)
    mask = torch.tensor([[1, 0, 1], [0, 1, 1]])
    expected = reference.ppo_clip_loss(logps, old, advantages, mask)
    for m in (mask.bool(), mask):
        same_tensor(student.ppo_clip_loss(logps, old, advantages, m), expected, f"a {str(m.dtype)[6:]} mask")


@exercise(PPO, weight=2, hint="ratio = torch.exp(logps - old_logps), computed from logps itself (no .detach()), so that "
                              "the gradient reaches the policy; clipped tokens then get none.")
def test_ppo_gradient(student, reference):
    """The gradient with respect to logps: ratios inside and outside the clip range."""
    case = ppo_case([[1.5, 0.9, 0.5], [1.1, 1.3, 0.7]], [[1.0, -1.0, 1.0], [2.0, -1.0, -0.5]], [[1, 1, 1], [1, 0, 1]])
    expect_same_gradients_of(student, student.ppo_clip_loss, reference.ppo_clip_loss, case, [0], "ppo_clip_loss")


@exercise(PPO, hint="Return the 0-d tensor itself, in the log-probabilities' dtype (no .item()).")
def test_ppo_zero_dim_and_dtype(student):
    """float32 inputs: a 0-d float32 tensor."""
    got = student.ppo_clip_loss(*ppo_case([[1.2, 0.7]], [[1.0, 2.0]], dtype=torch.float32))
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal((tuple(got.shape), got.dtype), ((), torch.float32), "the shape and dtype")


@exercise(PPO, weight=2, broad=True, hint="The masked token mean of max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps)).")
def test_ppo_matches_reference(student, reference):
    """20 random cases: batches of 1 to 4, 1 to 8 tokens, (B, T) and (B, 1) advantages, epsilon 0.05 to 0.5."""
    rng = random.Random(10)
    cases = []
    for _ in range(20):
        B, T, dtype = rng.randint(1, 4), rng.randint(1, 8), rng.choice([torch.float32, torch.float64])
        logps = generators.tensor(rng, (B, T), dtype, 0.4) - 1
        old = logps.detach() + generators.tensor(rng, (B, T), dtype, 0.3)
        advantages = generators.tensor(rng, (B, rng.choice([1, T])), dtype)
        mask = (torch.rand(B, T, generator=gen(rng.randrange(1000))) < 0.7).to(rng.choice([torch.bool, torch.long, dtype]))
        epsilon = rng.choice([0.05, 0.2, 0.5])
        cases.append(Shown((logps, old, advantages, mask), {"epsilon": epsilon},
                           label=f"(({B}, {T}) {str(dtype)[6:]}, advantages {tuple(advantages.shape)}, epsilon={epsilon})"))
    expect_same_as_reference(student.ppo_clip_loss, reference.ppo_clip_loss, cases, "ppo_clip_loss", compare=same_tensor)


# group_advantages ----------------------------------------------------------------------------------

GROUP = "group_advantages"


@exercise(GROUP, weight=2, hint="Use the UNBIASED standard deviation (divide by group_size - 1: torch.std's default, "
                                "correction=1), as trl does.")
def test_group_advantages_unbiased_std(student, reference):
    """One group of 3: [0, 1, 5]."""
    rewards = t(0.0, 1.0, 5.0)
    same_tensor(student.group_advantages(rewards, 3), reference.group_advantages(rewards, 3), "group_advantages([0, 1, 5], 3)")


@exercise(GROUP, hint="Add 1e-4 to the standard deviation itself (std + 1e-4), not to the variance and not another epsilon.")
def test_group_advantages_epsilon(student, reference):
    """A group whose spread is close to 1e-4: [0, 2e-4]."""
    rewards = t(0.0, 2e-4)
    same_tensor(student.group_advantages(rewards, 2), reference.group_advantages(rewards, 2), "group_advantages([0, 2e-4], 2)")


@exercise(GROUP, weight=2, hint="Groups are consecutive: rewards.reshape(-1, group_size) (prompt 0's completions first), "
                                "each normalised by its own mean and std, not the whole batch's.")
def test_group_advantages_consecutive_groups(student, reference):
    """3 groups of 2 and 2 groups of 3 with different scales."""
    rewards = t(0.0, 1.0, 10.0, 30.0, -4.0, -4.5)
    for size in (2, 3):
        same_tensor(student.group_advantages(rewards, size), reference.group_advantages(rewards, size),
                    f"group_advantages(6 rewards, {size})")


@exercise(GROUP, hint="Equal rewards have std 0: (r - mean) / (0 + 1e-4) = 0, not NaN (keep the 1e-4).")
def test_group_advantages_equal_rewards(student):
    """A group of equal rewards beside an ordinary one."""
    got = student.group_advantages(t(2.0, 2.0, 2.0, 0.0, 1.0, 2.0), 3)
    expect_close(got[:3], torch.zeros(3, dtype=torch.float64), 1e-12, what="the group of equal rewards")


@exercise(GROUP, hint="Raise ValueError when group_size < 2 or len(rewards) % group_size != 0.")
def test_group_advantages_raises(student):
    """group_size 1 and 0, and 5 rewards in groups of 2."""
    for rewards, size in ((t(1.0, 2.0), 1), (t(1.0, 2.0), 0), (t(1.0, 2.0, 3.0, 4.0, 5.0), 2)):
        try:
            student.group_advantages(rewards, size)
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001
            expect(False, f"group_advantages({len(rewards)} rewards, {size}) raised {type(error).__mro__[1].__name__}, "
                          "expected ValueError")
        expect(False, f"group_advantages({len(rewards)} rewards, {size}) should raise ValueError")


@exercise(GROUP, hint="Return a 1-D tensor of the rewards' length and dtype (reshape back with .reshape(-1)).")
def test_group_advantages_dtype(student, reference):
    """float32 rewards, 2 groups of 4."""
    rewards = rnd(40, 8, dtype=torch.float32)
    same_tensor(student.group_advantages(rewards, 4), reference.group_advantages(rewards, 4), "float32 rewards")


@exercise(GROUP, weight=2, broad=True, hint="Each group's (r - mean) / (unbiased std + 1e-4), in the rewards' order.")
def test_group_advantages_matches_reference(student, reference):
    """20 random cases: 1 to 4 groups of 2 to 5, float32 and float64, 0/1 and real rewards."""
    rng = random.Random(11)
    cases = []
    for _ in range(20):
        size, groups, dtype = rng.randint(2, 5), rng.randint(1, 4), rng.choice([torch.float32, torch.float64])
        rewards = generators.tensor(rng, (size * groups,), dtype, rng.choice([1.0, 100.0]))
        if rng.random() < 0.4:
            rewards = (rewards > 0).to(dtype)
        cases.append(Shown((rewards, size), label=f"({groups} groups of {size}, {str(dtype)[6:]})"))
    expect_same_as_reference(student.group_advantages, reference.group_advantages, cases, "group_advantages",
                             compare=same_tensor)


# kl_k3 ---------------------------------------------------------------------------------------------

KL = "kl_k3"


@exercise(KL, weight=2, hint="With log_ratio = ref_logps - logps (reference minus policy): exp(log_ratio) - log_ratio - 1.")
def test_kl_k3_values(student):
    """log rho = 2 gives e^2 - 3; log rho = -2 gives e^-2 + 1."""
    same_tensor(student.kl_k3(t(-3.0, -1.0), t(-1.0, -3.0)), t(math.exp(2) - 3, math.exp(-2) + 1), "kl_k3([-3, -1], [-1, -3])")


@exercise(KL, hint="Elementwise, the same shape as the inputs: 0 where the log-probabilities are equal, never negative.")
def test_kl_k3_shape_and_sign(student):
    """(2, 3, 4) inputs: the same shape, >= 0, exactly 0 where equal."""
    logps, ref = rnd(50, 2, 3, 4), rnd(51, 2, 3, 4)
    ref[0] = logps[0]
    got = student.kl_k3(logps, ref)
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal(tuple(got.shape), (2, 3, 4), "the shape")
    expect(bool((got >= 0).all()), "k3 is never negative, the result has negative values")
    expect_close(got[0], torch.zeros(3, 4, dtype=torch.float64), 1e-12, what="where the log-probabilities are equal")


@exercise(KL, hint="Compute in torch from logps (no .detach()) so that the KL penalty's gradient reaches the policy.")
def test_kl_k3_gradient(student, reference):
    """The gradient of the sum with respect to logps."""
    args = (rnd(52, 2, 3), rnd(53, 2, 3))
    expect_same_gradients_of(student, student.kl_k3, reference.kl_k3, args, [0], "kl_k3")


@exercise(KL, weight=2, broad=True, hint="exp(ref - pol) - (ref - pol) - 1, elementwise.")
def test_kl_k3_matches_reference(student, reference):
    """20 random cases: 1-D to 4-D, float32 and float64."""
    rng = random.Random(12)
    cases = []
    for _ in range(20):
        shape, dtype = generators.leading_shape(rng, rng.randint(1, 5), rng.randint(1, 4)), rng.choice([torch.float32, torch.float64])
        cases.append(Shown((generators.tensor(rng, shape, dtype) - 2, generators.tensor(rng, shape, dtype) - 2),
                           label=f"(shape {shape}, {str(dtype)[6:]})"))
    expect_same_as_reference(student.kl_k3, reference.kl_k3, cases, "kl_k3", compare=same_tensor)
