"""Hidden checks for 06-mixture-of-experts. Inputs differ from the visible checks: one token, 1-D to
4-D logits, 2 to 9 experts, every k from 1 to n_experts, float64, float32, bfloat16 and float16,
logits offset by 1000, non-contiguous inputs. float64 results are compared to 1e-12 (1e-10 for the
layer), far below any real bug's error; float32 ones to a few units of rounding.

No check depends on a routing tie: every input is built so that, in every row, the scores that decide
the choice (the probabilities, or sigmoid + bias) are at least MARGIN apart wherever the cut or the
order falls, and each builder asserts it (`separated`).

Every exercise has a differential check (`expect_same_as_reference` over seeded inputs, smallest
first, with the guard that arguments are left unchanged and not returned). The text's promises and
the checks that test them:

top_k_route
- softmax over all experts, top-k, renormalised; weights (..., k), indices (..., k) in decreasing
  order: test_top_k_route_matches_reference_on_random_logits, ..._weights_sum_to_one,
  ..._weights_are_renormalised_softmax, ..._keeps_the_k_most_probable_in_order,
  ..._softmax_over_the_experts_axis
- any leading dimensions (1-D to 4-D): ..._matches_reference_on_random_logits, ..._one_dimensional
- dtype: float32 for half precision and float32, float64 for float64: ..._half_precision_in_float32,
  ..._float64_stays_float64; indices int64: ..._indices_are_int64
- 1 <= k <= n_experts, k = n_experts gives the full softmax: ..._k_equals_n_experts, ..._k_one
- large logits: ..._large_logits; gradient to the logits: ..._gradient_matches_reference
- non-contiguous logits: ..._non_contiguous_logits; each call independent of earlier ones:
  ..._calls_are_independent; arguments unchanged, a new result: the differential check's guard
MoELayer
- y = sum of weight * expert(x) over the k chosen experts; (y, logits) with x's leading dimensions:
  test_moe_layer_matches_reference_on_random_inputs, ..._one_token, ..._returns_router_logits
- any leading dimensions (none included) and non-contiguous x: ..._matches_reference_on_random_inputs,
  ..._one_token, ..._non_contiguous_input
- routes through self.route, its weights used as given: ..._uses_self_route
- weights cast to x's dtype, y in x's dtype: ..._bfloat16_output_dtype (float32 and float64: the differential)
- vectorised: each expert at most once (..._calls_each_expert_once), no Python loop over tokens,
  positions or batch rows (..._python_steps_do_not_grow_with_tokens, which counts the lines the
  notebook's code executes for 8, 512 and 64 x 8 tokens)
- no token dropped: ..._drops_no_token; experts without tokens: ..._experts_without_tokens
- gradients reach x, router and experts: ..._gradients_match_reference; x unchanged: ..._leaves_x_unchanged
load_balancing_loss
- E * sum f_i P_i with all k picks counted: test_load_balancing_loss_matches_reference_on_random_logits,
  ..._perfect_balance_gives_k (k, not 1), ..._collapse_gives_e, ..._counts_every_pick
- any leading dimensions: the differential check; dtypes: ..._dtypes; a 0-dim tensor: ..._is_0_dim
- differentiable through P: ..._gradient_matches_reference
router_z_loss
- mean over tokens of logsumexp squared: test_router_z_loss_matches_reference_on_random_logits,
  ..._known_values; any leading dimensions: the differential check
- logits in the thousands: ..._large_logits; dtypes: ..._dtypes; gradient: ..._gradient_matches_reference
biased_top_k_route
- choose by sigmoid + bias in decreasing order, weigh by sigmoid alone, renormalised:
  test_biased_route_matches_reference_on_random_inputs, ..._bias_only_chooses, ..._weights_without_bias,
  ..._sigmoid_scores
- dtypes: ..._dtypes; gradient to the logits: ..._gradient_matches_reference; bias unchanged: the guard
update_bias
- bias + speed * sign(mean load - load), mean = numel / n_experts (a float), any shape of indices, idle
  experts counted as 0: test_update_bias_matches_reference_on_random_loads, ..._mean_counts_every_pick,
  ..._at_the_mean_keeps_bias, ..._direction
- a new tensor, bias unchanged, bias's dtype and shape: ..._leaves_bias_unchanged, ..._keeps_dtype;
  each call independent of earlier ones: ..._calls_are_independent
"""
import math
import random

import torch

from autograder.checking import (exercise, expect, expect_close, expect_equal, expect_independent_calls,
                                 expect_proven, expect_same_as_reference, judged_only_if_right)
from autograder.remote import kind_of, observe, probe
from autograder.torch_checks import Shown, expect_same_gradients, gen, gradients, randn

MARGIN = 1e-3  # the smallest gap between two deciding scores of one token, in every input


def float64(number):
    """A number as a float64 tensor: expect_close reads a Python float through float32."""
    return torch.tensor(number, dtype=torch.float64)


def compute_dtype(dtype):
    return torch.promote_types(dtype, torch.float32)


def tolerance(dtype) -> float:
    return 1e-12 if dtype == torch.float64 else 2e-6


def separated(scores, k) -> bool:
    """In every row, the k+1 largest scores (all of them when k = n) are at least MARGIN apart: neither
    the choice nor its order can depend on rounding."""
    n = scores.shape[-1]
    top = scores.double().reshape(-1, n).sort(dim=-1, descending=True).values[:, :min(k + 1, n)]
    return top.shape[0] == 0 or top.shape[1] < 2 or bool(((top[:, :-1] - top[:, 1:]) >= MARGIN).all())


def distinct_logits(rng, lead, n_experts, dtype=torch.float64, offset=0.0):
    """Logits (*lead, n_experts): each row a shuffled 0, 0.5, 1, ... plus noise below 0.125, centred,
    plus `offset`. Any two experts of a token differ by at least 0.375, so their probabilities differ by
    far more than MARGIN for every k (asserted)."""
    g = gen(rng.randrange(1 << 30))
    rows = math.prod(lead)
    ranks = torch.stack([torch.randperm(n_experts, generator=g) for _ in range(rows)]) if rows else \
        torch.zeros(0, n_experts, dtype=torch.long)
    noise = torch.rand(rows, n_experts, generator=g, dtype=torch.float64) / 8
    values = (0.5 * ranks + noise - 0.25 * (n_experts - 1) + offset).reshape(*lead, n_experts).to(dtype)
    probs = torch.softmax(values.double() - offset, dim=-1)
    assert separated(probs, n_experts), "distinct_logits: two probabilities too close"
    return values


def describe(t) -> str:
    return f"{tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}"


def same_tensors(atol_for=tolerance, rtol=0.0, names=("weights", "indices")):
    """A compare: a tensor or a tuple of tensors (named `names`) with the reference's types, dtypes, shapes;
    integer tensors exactly equal, floating ones within atol_for(dtype) (+ rtol relative)."""
    def compare(got, expected, what):
        if isinstance(expected, tuple):
            expect(isinstance(got, tuple) and len(got) == len(expected),
                   f"{what}: expected a tuple of {len(expected)} tensors, got {kind_of(got)}"
                   + (f" of {len(got)}" if isinstance(got, tuple) else ""))
            for i, (g, e) in enumerate(zip(got, expected)):
                compare(g, e, f"{what}, item {i} ({names[i]})")
            return
        expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
        expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
        expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
        if expected.is_floating_point():
            expect_close(got, expected.detach(), atol_for(expected.dtype), rtol, what=what)
        else:
            expect(torch.equal(got, expected), f"{what}: expected {expected.tolist()}, got {got.tolist()}")
    return compare


# top_k_route ----------------------------------------------------------------------------------

ROUTE = "top_k_route"


def route_cases(seed, count):
    """Seeded (logits, k): 1-D to 4-D, 2 to 9 experts, every k, float64/float32/bfloat16/float16, some
    offset by 1000 (a naive exp overflows)."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.randint(2, 9)
        lead = tuple(rng.choice([1, 2, 3]) for _ in range(rng.choice([0, 1, 1, 2, 2, 3])))
        dtype = rng.choice([torch.float64, torch.float64, torch.float32, torch.bfloat16, torch.float16])
        offset = 1000.0 if dtype in (torch.float64, torch.float32) and rng.random() < 0.25 else 0.0
        logits = distinct_logits(rng, lead, n, dtype, offset)
        k = rng.randint(1, n)
        cases.append(Shown((logits, k), {}, f"(logits {describe(logits)}{', offset 1000' if offset else ''}, k={k})"))
    return cases


@exercise(ROUTE, weight=3, hint="softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32)), "
                                "then probs.topk(k, dim=-1), then divide the kept probabilities by their sum; "
                                "for 1-D to 4-D logits, 2 to 9 experts, every k, every float dtype.", broad=True)
def test_top_k_route_matches_reference_on_random_logits(student, reference):
    """60 seeded logits (1-D to 4-D, 2 to 9 experts, every k, four dtypes, some offset by 1000): the reference's
    weights and indices, smallest first."""
    expect_same_as_reference(student.top_k_route, reference.top_k_route, route_cases(600, 60), ROUTE,
                             compare=same_tensors())


@exercise(ROUTE, weight=2, hint="Renormalise: divide the k kept probabilities by their sum (Mixtral), so that "
                                "each token's weights sum to 1. Keeping the raw softmax probabilities of the "
                                "top k (Qwen-MoE's default) is another convention.")
def test_top_k_route_weights_sum_to_one(student):
    """For k = 2 and 3 of 6 experts, every token's weights sum to 1."""
    logits = distinct_logits(random.Random(601), (5,), 6)
    for k in (2, 3):
        weights = student.top_k_route(logits, k)[0]
        expect_close(weights.sum(-1), torch.ones(5, dtype=torch.float64), 1e-12, what=f"the weights' sums (k={k})")


@exercise(ROUTE, weight=2, hint="Softmax over ALL experts first, then top-k, then renormalise: the weights are "
                                "exp(logit_i) / sum over the chosen j of exp(logit_j). A softmax over the top-k "
                                "logits is the same; a softmax over all experts without renormalising, a "
                                "sigmoid, or equal weights 1/k are not.")
def test_top_k_route_weights_are_renormalised_softmax(student):
    """Logits [2, 1, 0, -1], k = 2: weights e^2 / (e^2 + e) and e / (e^2 + e), experts 0 and 1."""
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0], dtype=torch.float64)
    weights, indices = student.top_k_route(logits, 2)
    expect_close(weights, torch.tensor([1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))], dtype=torch.float64),
                 1e-12, what="the weights")
    expect_equal(indices.tolist(), [0, 1], "the indices")


@exercise(ROUTE, weight=2, hint="Keep the k LARGEST probabilities (torch.topk's default largest=True), listed in "
                                "decreasing order (sorted=True): the first column is the most probable expert.")
def test_top_k_route_keeps_the_k_most_probable_in_order(student):
    """Experts ranked 3 > 0 > 4 > 1 > 2, k = 3: indices [3, 0, 4], weights decreasing."""
    logits = torch.tensor([[1.0, -1.0, -2.0, 2.0, 0.0]], dtype=torch.float64)
    weights, indices = student.top_k_route(logits, 3)
    expect_equal(indices.tolist(), [[3, 0, 4]], "the indices")
    expect(bool((weights[0, :-1] > weights[0, 1:]).all()), f"the weights {weights.tolist()} are not decreasing")


@exercise(ROUTE, weight=2, hint="The softmax runs over the LAST axis, the experts (dim=-1): each token's "
                                "probabilities sum to 1. dim=0 or dim=1 mixes tokens.")
def test_top_k_route_softmax_over_the_experts_axis(student, reference):
    """Logits (3, 4, 5) and (4, 3): the softmax is over the experts, the last axis."""
    rng = random.Random(602)
    for lead in ((3, 4), (4,)):
        logits = distinct_logits(rng, lead, 5 if len(lead) == 2 else 3)
        same_tensors()(student.top_k_route(logits, 2), reference.top_k_route(logits, 2),
                       f"top_k_route(logits {describe(logits)}, k=2)")


@exercise(ROUTE, hint="'Any leading dimensions' includes none: one token's logits (n_experts,) give weights "
                      "and indices of shape (k,). Do not unpack logits.shape into (N, E).")
def test_top_k_route_one_dimensional(student, reference):
    """One token, logits of shape (7,), k = 2 and k = 7."""
    logits = distinct_logits(random.Random(603), (), 7)
    for k in (2, 7):
        same_tensors()(student.top_k_route(logits, k), reference.top_k_route(logits, k), f"top_k_route((7,), k={k})")


@exercise(ROUTE, weight=2, hint="Half-precision logits: compute the softmax in float32 "
                                "(dtype=torch.promote_types(logits.dtype, torch.float32)) and return float32 "
                                "weights; a softmax in bfloat16 or float16 keeps three significant digits.")
def test_top_k_route_half_precision_in_float32(student, reference):
    """bfloat16 and float16 logits: float32 weights equal to the reference's (a float32 softmax)."""
    rng = random.Random(604)
    for dtype in (torch.bfloat16, torch.float16):
        logits = distinct_logits(rng, (4,), 6, dtype)
        same_tensors()(student.top_k_route(logits, 3), reference.top_k_route(logits, 3),
                       f"top_k_route({describe(logits)}, k=3)")


@exercise(ROUTE, weight=2, hint="float64 logits stay float64: torch.promote_types(torch.float64, torch.float32) "
                                "is float64. logits.float() or dtype=torch.float32 loses precision (errors "
                                "near 1e-8).")
def test_top_k_route_float64_stays_float64(student, reference):
    """float64 logits: float64 weights, equal to the reference's to 1e-12."""
    logits = distinct_logits(random.Random(605), (3, 2), 5) / 3
    same_tensors()(student.top_k_route(logits, 2), reference.top_k_route(logits, 2), "top_k_route(float64, k=2)")


@exercise(ROUTE, hint="Return the indices as torch.topk gives them (int64), not as floats or int32.")
def test_top_k_route_indices_are_int64(student):
    """The indices are an int64 tensor."""
    indices = student.top_k_route(distinct_logits(random.Random(606), (2,), 4, torch.float32), 2)[1]
    expect(isinstance(indices, torch.Tensor), f"the indices are a {kind_of(indices)}, not a tensor")
    expect_equal(indices.dtype, torch.int64, "the indices' dtype")


@exercise(ROUTE, hint="k = n_experts keeps every expert: the weights are the whole softmax, sorted.")
def test_top_k_route_k_equals_n_experts(student, reference):
    """k = n_experts = 5: all experts, weights the full softmax in decreasing order."""
    logits = distinct_logits(random.Random(607), (3,), 5)
    same_tensors()(student.top_k_route(logits, 5), reference.top_k_route(logits, 5), "top_k_route(k=n_experts)")


@exercise(ROUTE, hint="k = 1: each token gets its most probable expert with weight exactly 1.")
def test_top_k_route_k_one(student, reference):
    """k = 1: the argmax expert with weight 1."""
    logits = distinct_logits(random.Random(608), (4,), 6)
    same_tensors()(student.top_k_route(logits, 1), reference.top_k_route(logits, 1), "top_k_route(k=1)")


@exercise(ROUTE, weight=2, hint="Large logits must not overflow: torch.softmax subtracts each row's max; a "
                                "hand-written exp(logits) / sum is inf / inf = NaN at logits near 1000.")
def test_top_k_route_large_logits(student, reference):
    """Logits near 1000 (float32 and float64): finite weights equal to the reference's."""
    rng = random.Random(609)
    for dtype in (torch.float32, torch.float64):
        logits = distinct_logits(rng, (3,), 5, dtype, offset=1000.0)
        same_tensors()(student.top_k_route(logits, 2), reference.top_k_route(logits, 2),
                       f"top_k_route({describe(logits)} near 1000, k=2)")


def route_transposed(top_k_route, data, k):
    """(Runs in the worker.) top_k_route(data.transpose(0, 1), k): logits that are a non-contiguous view."""
    return top_k_route(data.transpose(0, 1), k)


@exercise(ROUTE, hint="Logits may be a non-contiguous view (a transposed tensor): logits.view(-1, E) fails on it; "
                      "torch.softmax and topk work on any layout, and reshape copies when it must.")
def test_top_k_route_non_contiguous_logits(student, reference):
    """Logits (4, 6) given as the transpose of a (6, 4) tensor: the reference's weights and indices."""
    logits = distinct_logits(random.Random(612), (4,), 6)
    got = probe(student, route_transposed, student.top_k_route, logits.T.contiguous(), 2)
    same_tensors()(got, reference.top_k_route(logits, 2), "top_k_route(transposed (4, 6) logits, k=2)")


@exercise(ROUTE, hint="Each call depends only on its arguments: no result kept from an earlier call (a cache "
                      "keyed on part of the arguments, or a module-level tensor reused).")
def test_top_k_route_calls_are_independent(student, reference):
    """Calls in a row with other logits and other k, one repeated: each gives the reference's result."""
    rng = random.Random(613)
    a, b = distinct_logits(rng, (3,), 5), distinct_logits(rng, (3,), 5)
    expect_independent_calls(student, reference, ROUTE, [(a, 2), (b, 2), (a, 3), (a, 2)], compare=same_tensors())


@exercise(ROUTE, weight=2, hint="The router learns through the weights: no .detach(), torch.no_grad() or "
                                ".item() on the way from the logits to the weights.", broad=True)
def test_top_k_route_gradient_matches_reference(student, reference):
    """The gradient of sum(weights * g) with respect to the logits equals the reference's."""
    logits = distinct_logits(random.Random(610), (4,), 5)
    g = randn(4, 2, seed=611)
    got = probe(student, gradients, student.top_k_route, [logits, 2], [g])
    expect_same_gradients(got, gradients(reference.top_k_route, [logits, 2], [g]), 1e-12, ROUTE)


# MoELayer --------------------------------------------------------------------------------------

MOE = "MoELayer"


def moe_pair(student, reference, d_model, d_hidden, n_experts, top_k, seed, dtype=torch.float64):
    """(learner's layer, reference layer) with the same weights, in `dtype`."""
    torch.manual_seed(seed)
    ref = reference.MoELayer(d_model, d_hidden, n_experts, top_k).to(dtype).eval()
    mine = student.MoELayer(d_model, d_hidden, n_experts, top_k).to(dtype).eval()
    mine.load_state_dict(dict(ref.state_dict()))
    return mine, ref


def routable_input(ref, shape, seed, dtype=torch.float64):
    """x of `shape` whose router probabilities are separated at the layer's top_k (rows redrawn until they
    are), so the choice of experts cannot depend on rounding."""
    d = ref.router.in_features
    rows = math.prod(shape[:-1])
    x = torch.randn(rows, d, generator=gen(seed), dtype=torch.float64)
    for attempt in range(1, 200):
        with torch.no_grad():
            probs = torch.softmax(x @ ref.router.weight.double().T, dim=-1)
        bad = [r for r in range(rows) if not separated(probs[r:r + 1], ref.top_k)]
        if not bad:
            break
        x[bad] = torch.randn(len(bad), d, generator=gen(seed * 1000 + attempt), dtype=torch.float64)
    x = x.to(dtype)
    probs = torch.softmax(x.double() @ ref.router.weight.double().T, dim=-1)
    assert separated(probs, ref.top_k), "routable_input: could not separate the router probabilities"
    return x.reshape(shape)


def moe_cases(rng, ref, count, dtype):
    cases = []
    d = ref.router.in_features
    for _ in range(count):
        shape = tuple(rng.choice([1, 2, 3]) for _ in range(rng.choice([0, 1, 2, 2, 3]))) + (d,)
        cases.append(Shown((routable_input(ref, shape, rng.randrange(1 << 20), dtype),), {},
                           f"(x of shape {shape[:-1] + (d,)}, {str(dtype).removeprefix('torch.')})"))
    return cases


def moe_tolerance(dtype):
    return 1e-10 if dtype == torch.float64 else 1e-5


@exercise(MOE, weight=3, hint="y[t] = sum over the k experts e that self.route chose for token t of "
                              "weight(t, e) * experts[e](x[t]); return (y with x's shape, logits with shape "
                              "(..., n_experts)), for x of any leading dimensions (none included), 1 to 6 "
                              "experts, every top_k, float64 and float32.", broad=True)
def test_moe_layer_matches_reference_on_random_inputs(student, reference):
    """Five layers (2 to 6 experts, top_k 1 to n_experts), x 1-D to 4-D, float64 and float32: the reference's
    y and router logits, smallest input first."""
    rng = random.Random(700)
    configs = [(4, 6, 4, 2), (5, 3, 2, 1), (3, 4, 6, 3), (6, 5, 3, 3), (4, 7, 5, 2)]
    with torch.no_grad():
        for number, (d, h, n, k) in enumerate(configs):
            dtype = torch.float32 if number == 4 else torch.float64
            mine, ref = moe_pair(student, reference, d, h, n, k, 700 + number, dtype)
            expect_same_as_reference(mine, ref, moe_cases(rng, ref, 5, dtype),
                                     f"MoELayer({d}, {h}, n_experts={n}, top_k={k})",
                                     compare=same_tensors(moe_tolerance))


def loop_output(ref, x, weights, indices):
    """sum over j of weights[t, j] * experts[indices[t, j]](x[t]), token by token, with the reference's experts."""
    flat = x.reshape(-1, x.shape[-1])
    rows = []
    with torch.no_grad():
        for t in range(flat.shape[0]):
            rows.append(sum(w * ref.experts[e](flat[t]) for w, e in zip(weights[t].tolist(), indices[t].tolist())))
    return torch.stack(rows).reshape(x.shape)


@exercise(MOE, weight=2, hint="One token: x of shape (1, 1, d_model) and of shape (d_model,) (no leading "
                              "dimension) give y of the same shape; flatten with x.reshape(-1, d_model) and "
                              "reshape back with x's shape.")
def test_moe_layer_one_token(student, reference):
    """One token, as (1, 1, d) and as (d,): y equals the weighted sum of its two experts."""
    mine, ref = moe_pair(student, reference, 5, 6, 4, 2, 701)
    for shape in ((1, 1, 5), (5,)):
        x = routable_input(ref, shape, 702)
        with torch.no_grad():
            got = mine(x)
            weights, indices = ref.route(x.reshape(-1, 5) @ ref.router.weight.T)
        expect(isinstance(got, tuple) and len(got) == 2, f"forward should return (y, logits), got {kind_of(got)}")
        expect_close(got[0], loop_output(ref, x, weights, indices), 1e-10, what=f"y for x of shape {shape}")


@exercise(MOE, weight=2, hint="Return the router logits self.router(x) with x's leading dimensions: shape "
                              "(..., n_experts), before any softmax (the losses take logits).")
def test_moe_layer_returns_router_logits(student, reference):
    """The second result is router(x), shape (2, 3, n_experts)."""
    mine, ref = moe_pair(student, reference, 4, 5, 3, 2, 703)
    x = routable_input(ref, (2, 3, 4), 704)
    with torch.no_grad():
        logits = mine(x)[1]
        expected = x @ ref.router.weight.T
    expect(isinstance(logits, torch.Tensor), f"the second result is a {kind_of(logits)}, not the logits")
    expect_close(logits, expected, 1e-12, what="the router logits")


@exercise(MOE, hint="x may be non-contiguous: x.view(-1, d) fails on it; use x.reshape(-1, d).")
def test_moe_layer_non_contiguous_input(student, reference):
    """A transposed (non-contiguous) x of shape (3, 2, d): the reference's output."""
    mine, ref = moe_pair(student, reference, 4, 5, 4, 2, 705)
    x = routable_input(ref, (2, 3, 4), 706).transpose(0, 1)
    with torch.no_grad():
        got = probe(student, call_transposed, mine, x.transpose(0, 1).contiguous())
        expect_close(got, ref(x)[0], 1e-10, what="y for a transposed x")


def call_transposed(layer, data):
    """(Runs in the worker.) layer(data.transpose(0, 1))[0]: the layer called on a non-contiguous view."""
    import torch
    with torch.no_grad():
        return layer(data.transpose(0, 1))[0]


def output_with_fixed_route(layer, x, weights, indices):
    """(Runs in the worker.) layer(x)[0] with this layer's route replaced by one returning (weights, indices)."""
    import torch
    layer.route = lambda logits: (weights, indices)
    try:
        with torch.no_grad():
            return layer(x)[0]
    finally:
        del layer.route


@exercise(MOE, weight=2, hint="Choose the experts with weights, indices = self.route(logits) and use those "
                              "weights as they are: calling top_k_route directly ignores a subclass's rule "
                              "(DeepSeek-V3's in section 7), and re-normalising or re-computing the weights "
                              "in forward changes them.")
def test_moe_layer_uses_self_route(student, reference):
    """With route replaced by fixed weights (not summing to 1) and indices: y = sum of those weights times
    those experts."""
    mine, ref = moe_pair(student, reference, 4, 5, 4, 2, 707)
    x = randn(3, 4, seed=708)
    weights = torch.tensor([[0.3, -0.7], [1.5, 0.25], [0.6, 0.4]], dtype=torch.float64)
    indices = torch.tensor([[3, 1], [0, 2], [2, 3]])
    got = probe(student, output_with_fixed_route, mine, x, weights, indices)
    expect_close(got, loop_output(ref, x, weights, indices), 1e-10, what="y with the fixed route")


@exercise(MOE, hint="Cast the weights to x's dtype before weighting the experts' outputs (weights.to(x.dtype)): "
                    "route gives float32 weights for bfloat16 x, and y must stay bfloat16.")
def test_moe_layer_bfloat16_output_dtype(student, reference):
    """A bfloat16 layer and x: y is bfloat16, close to the reference's."""
    mine, ref = moe_pair(student, reference, 4, 6, 4, 2, 709, torch.bfloat16)
    x = routable_input(ref, (2, 3, 4), 710, torch.bfloat16)
    with torch.no_grad():
        y = mine(x)[0]
        expected = ref(x)[0]
    expect_equal(y.dtype, torch.bfloat16, "the dtype of y")
    expect_close(y, expected, 2e-2, what="y (bfloat16)")


def expert_calls(layer, x):
    """(Runs in the worker.) How many times each expert's forward ran during layer(x), and y."""
    import torch
    calls = [0] * len(layer.experts)
    hooks = [e.register_forward_pre_hook(lambda module, args, n=n: calls.__setitem__(n, calls[n] + 1))
             for n, e in enumerate(layer.experts)]
    try:
        with torch.no_grad():
            y = layer(x)[0]
    finally:
        for hook in hooks:
            hook.remove()
    return calls, y


@exercise(MOE, weight=2, hint="Vectorise: for each expert, gather ALL the tokens routed to it and call the "
                              "expert once on them (argsort/bincount/split, or torch.where(indices == e)), "
                              "then index_add the weighted outputs back. Calling an expert per token or per "
                              "(token, slot) is the slow loop.")
def test_moe_layer_calls_each_expert_once(student, reference):
    """48 tokens, 4 experts, top-2: each expert's forward runs at most once."""
    mine, ref = moe_pair(student, reference, 4, 5, 4, 2, 711)
    x = routable_input(ref, (3, 16, 4), 712)
    calls, y = probe(student, expert_calls, mine, x)
    expect(max(calls) <= 1, f"the experts' forward ran {calls} times: call each expert once on all its tokens")
    with judged_only_if_right(), torch.no_grad():
        expect_close(y, ref(x)[0], 1e-10, what="y")


def python_lines(layer, inputs):
    """(Runs in the worker.) For each x: the number of lines of the notebook's own code (its cells)
    executed during layer(x), loop iterations included; and the outputs y."""
    import sys
    import torch
    counts, outputs = [], []
    for x in inputs:
        count = [0]

        def local(frame, event, arg):
            if event == "line":
                count[0] += 1
            return local

        def calls(frame, event, arg):
            return local if frame.f_code.co_filename.startswith("<cell") else None

        sys.settrace(calls)
        try:
            with torch.no_grad():
                y = layer(x)[0]
        finally:
            sys.settrace(None)
        counts.append(count[0])
        outputs.append(y)
    return counts, outputs


@exercise(MOE, weight=3, hint="No Python loop (for, while or a comprehension) over tokens, positions or batch "
                              "rows, nor .tolist() of the tokens' choices walked in Python: the number of "
                              "Python steps must not grow with the number of tokens. Group tokens per expert "
                              "with tensor operations; a loop over the experts is fine.")
def test_moe_layer_python_steps_do_not_grow_with_tokens(student, reference):
    """(1, 8), (1, 512) and (64, 8) tokens, every expert used each time: the notebook's code executes the
    same number of lines (up to 8) whatever the number of tokens."""
    mine, ref = moe_pair(student, reference, 4, 5, 4, 2, 713)
    inputs = [routable_input(ref, shape, 714 + i) for i, shape in enumerate([(1, 8, 4), (1, 512, 4), (64, 8, 4)])]
    for x in inputs:  # the same code path each time: no expert without tokens
        chosen = ref.route(x.reshape(-1, 4) @ ref.router.weight.T)[1]
        assert len(set(chosen.reshape(-1).tolist())) == 4, "python_lines: an input leaves an expert idle"
    counts, outputs = probe(student, python_lines, mine, inputs)
    expect(max(counts) - min(counts) <= 8,
           f"your forward executed {counts[0]} lines of Python for 8 tokens, {counts[1]} for 512 tokens in one "
           f"sequence and {counts[2]} for 64 sequences of 8: a Python loop over tokens, positions or batch rows")
    with judged_only_if_right(), torch.no_grad():
        for x, y in zip(inputs, outputs):
            expect_close(y, ref(x)[0], 1e-10, what=f"y for x of shape {tuple(x.shape)}")


@exercise(MOE, weight=2, hint="Every token goes to all its k experts: no capacity limit, no token dropped "
                              "when many tokens choose the same expert.")
def test_moe_layer_drops_no_token(student, reference):
    """40 tokens that all choose experts 0 and 1 (a router that strongly favours them): every token gets both."""
    mine, ref = moe_pair(student, reference, 4, 5, 4, 2, 715)
    state = dict(ref.state_dict())
    state["router.weight"] = torch.tensor([[3.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 0, 0], [0, 0, 0, -1.0]],
                                          dtype=torch.float64)
    ref.load_state_dict(state)
    mine.load_state_dict(state)
    x = torch.tensor([[1.0, 0.5, 0.2, 0.3]], dtype=torch.float64).repeat(40, 1) + 0.05 * randn(40, 4, seed=716)
    with torch.no_grad():
        expect_close(mine(x)[0], ref(x)[0], 1e-10, what="y when every token chooses experts 0 and 1")


@exercise(MOE, hint="An expert may receive no token: its group is empty (an empty index tensor works with "
                    "expert(x[empty]) and index_add), and it must not fail or change the output.")
def test_moe_layer_experts_without_tokens(student, reference):
    """Six experts of which only two receive tokens: the reference's output."""
    mine, ref = moe_pair(student, reference, 4, 5, 6, 1, 717)
    state = dict(ref.state_dict())
    state["router.weight"] = torch.zeros(6, 4, dtype=torch.float64)
    state["router.weight"][2, 0] = state["router.weight"][5, 1] = 4.0
    ref.load_state_dict(state)
    mine.load_state_dict(state)
    x = randn(2, 5, 4, seed=718)
    x[..., :2] = x[..., :2].abs() + 0.2
    assert separated(torch.softmax(x @ state["router.weight"].T, -1), 1)
    with torch.no_grad():
        expect_close(mine(x)[0], ref(x)[0], 1e-10, what="y when only experts 2 and 5 get tokens")


@exercise(MOE, weight=2, hint="Training needs gradients through the layer: to x, the router (through the "
                              "weights) and every expert. No torch.no_grad() or .detach() on the weights; "
                              "index_add (out of place) or index_add_ on a fresh zeros tensor both work.",
          broad=True)
def test_moe_layer_gradients_match_reference(student, reference):
    """The gradients of x, the router and every expert's weights equal the reference's."""
    mine, ref = moe_pair(student, reference, 4, 5, 4, 2, 719)
    x = routable_input(ref, (2, 3, 4), 720)
    g = [randn(2, 3, 4, seed=721), randn(2, 3, 4, seed=722)]
    got = probe(student, gradients, mine, [x], g)
    expect_same_gradients(got, gradients(ref, [x], g), 1e-10, MOE)


@exercise(MOE, hint="Leave x as it was: flatten with reshape and build y in a new tensor (zeros_like), "
                    "never by writing into x.")
def test_moe_layer_leaves_x_unchanged(student, reference):
    """forward(x) changes nothing in x and does not return it."""
    mine, ref = moe_pair(student, reference, 4, 5, 3, 2, 723)
    x = routable_input(ref, (2, 4, 4), 724)
    call = observe(mine, x)
    expect_proven(not call.changed, "forward changed x in place; leave the caller's tensor as it was")
    with judged_only_if_right(), torch.no_grad():
        same_tensors(moe_tolerance, names=("y", "logits"))(call.result, ref(x), "forward(x)")


# load_balancing_loss ---------------------------------------------------------------------------

LB = "load_balancing_loss"


@exercise(LB, weight=3, hint="loss = E * sum_i f_i * P_i: f_i = (number of tokens whose top-k includes expert i) "
                             "/ N (all k picks counted, sum_i f_i = k), P_i = mean over tokens of the softmax "
                             "probability of expert i (all experts); the tokens are every row of any leading "
                             "dimensions.", broad=True)
def test_load_balancing_loss_matches_reference_on_random_logits(student, reference):
    """50 seeded logits (1-D to 4-D, 2 to 9 experts, every k, four dtypes): the reference's loss, smallest first."""
    expect_same_as_reference(student.load_balancing_loss, reference.load_balancing_loss, route_cases(800, 50), LB,
                             compare=same_tensors(lambda dtype: 1e-12 if dtype == torch.float64 else 1e-5))


def rotated(base, n_tokens):
    """Token t's logits are `base` rolled by t: over n_experts tokens every expert is picked equally often
    and has the same mean probability (a perfectly balanced router)."""
    return torch.stack([base.roll(t) for t in range(n_tokens)])


@exercise(LB, weight=2, hint="A perfectly balanced router gives k, not 1: f_i = k / E counts all k picks of "
                             "each token (sum f_i = k), P_i = 1 / E, and the factor E: E * E * (k/E) * (1/E) = k.")
def test_load_balancing_loss_perfect_balance_gives_k(student):
    """Five experts, tokens rotating through them, k = 1, 2, 3: the loss is exactly k."""
    logits = rotated(torch.tensor([2.0, 1.2, 0.5, -0.3, -1.0], dtype=torch.float64), 10)
    for k in (1, 2, 3):
        expect_close(student.load_balancing_loss(logits, k), float64(k), 1e-12, what=f"the loss at perfect balance, k={k}")


@exercise(LB, weight=2, hint="Multiply by the number of experts E: the loss is E * sum_i f_i P_i. Without the "
                             "factor, a collapsed router gives 1 instead of E and a balanced one k / E.")
def test_load_balancing_loss_collapse_gives_e(student):
    """Every token on expert 2 with probability ~1, 6 experts, k = 1: the loss is E = 6 (to 1e-6)."""
    logits = torch.zeros(7, 6, dtype=torch.float64)
    logits[:, 2] = 40.0
    expect_close(student.load_balancing_loss(logits, 1), float64(6), 1e-6, what="the loss of a collapsed router")


@exercise(LB, weight=2, hint="f_i counts the HARD top-k choices (torch.topk indices, then bincount or one_hot), "
                             "all k of them, divided by the number of tokens N. Using the soft probabilities "
                             "for f (f = P), only the first choice, or dividing by N * k are other losses.")
def test_load_balancing_loss_counts_every_pick(student):
    """A hand example: 4 tokens, 3 experts, k = 2, so f = [2/4, 3/4, 3/4] and P = the mean probabilities."""
    logits = torch.tensor([[2.0, 1.0, 0.0], [1.5, 0.0, 1.0], [0.0, 2.0, 1.0], [0.0, 1.0, 2.5]], dtype=torch.float64)
    probs = torch.softmax(logits, -1)
    expected = 3 * (torch.tensor([2 / 4, 3 / 4, 3 / 4], dtype=torch.float64) * probs.mean(0)).sum()
    expect_close(student.load_balancing_loss(logits, 2), expected, 1e-12, what="the loss")


@exercise(LB, hint="Compute the probabilities in torch.promote_types(logits.dtype, torch.float32): float32 for "
                   "bfloat16/float16/float32, float64 for float64; return the loss in that dtype.")
def test_load_balancing_loss_dtypes(student, reference):
    """bfloat16, float32 and float64 logits: a float32, float32 and float64 loss equal to the reference's."""
    rng = random.Random(801)
    for dtype in (torch.bfloat16, torch.float32, torch.float64):
        logits = distinct_logits(rng, (6,), 4, dtype)
        same_tensors(lambda d: 1e-12 if d == torch.float64 else 1e-6)(
            student.load_balancing_loss(logits, 2), reference.load_balancing_loss(logits, 2),
            f"load_balancing_loss({describe(logits)}, k=2)")


@exercise(LB, hint="Return a 0-dim tensor (a scalar tensor that keeps the gradient), not a float or a "
                   "1-element vector.")
def test_load_balancing_loss_is_0_dim(student):
    """The loss is a 0-dim tensor."""
    loss = student.load_balancing_loss(distinct_logits(random.Random(802), (5,), 4), 2)
    expect(isinstance(loss, torch.Tensor), f"the loss is a {kind_of(loss)}, not a tensor")
    expect_equal(tuple(loss.shape), (), "the loss's shape")


@exercise(LB, weight=2, hint="The gradient flows only through P_i (the mean probabilities); f_i comes from the "
                             "hard top-k choice and has none. Do not detach the probabilities.", broad=True)
def test_load_balancing_loss_gradient_matches_reference(student, reference):
    """The gradient of the loss with respect to the logits equals the reference's (through P only)."""
    logits = distinct_logits(random.Random(803), (2, 3), 5)
    one = torch.tensor(1.0, dtype=torch.float64)
    got = probe(student, gradients, student.load_balancing_loss, [logits, 2], [one])
    expect_same_gradients(got, gradients(reference.load_balancing_loss, [logits, 2], [one]), 1e-12, LB)


# router_z_loss ---------------------------------------------------------------------------------

Z = "router_z_loss"


def z_cases(seed, count):
    """Seeded logits: 1-D to 4-D, 1 to 9 experts, four dtypes, some with values in the thousands."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        lead = tuple(rng.choice([1, 2, 3]) for _ in range(rng.choice([0, 1, 1, 2, 3])))
        dtype = rng.choice([torch.float64, torch.float64, torch.float32, torch.bfloat16, torch.float16])
        scale = 1000.0 if dtype in (torch.float64, torch.float32) and rng.random() < 0.3 else 2.0
        logits = (scale * torch.randn(*lead, rng.randint(1, 9), generator=gen(rng.randrange(1 << 30)),
                                      dtype=torch.float64)).to(dtype)
        cases.append(Shown((logits,), {}, f"(logits {describe(logits)}{', scale 1000' if scale > 2 else ''})"))
    return cases


@exercise(Z, weight=2, hint="z-loss = mean over tokens of (logsumexp over the experts)^2: "
                            "torch.logsumexp(logits, dim=-1).pow(2).mean(), computed in "
                            "promote_types(dtype, float32), for logits of any leading dimensions.", broad=True)
def test_router_z_loss_matches_reference_on_random_logits(student, reference):
    """50 seeded logits (1-D to 4-D, 1 to 9 experts, four dtypes, some in the thousands): the reference's
    loss (relative error 1e-5 in float32, 1e-12 in float64), smallest first."""
    expect_same_as_reference(student.router_z_loss, reference.router_z_loss, z_cases(900, 50), Z,
                             compare=z_compare)


def z_compare(got, expected, what):
    rtol = 1e-12 if expected.dtype == torch.float64 else 1e-5
    same_tensors(lambda dtype: 1e-12, rtol=rtol)(got, expected, what)


@exercise(Z, weight=2, hint="Square the logsumexp of each token, then average over the tokens (mean, not sum); "
                            "the square is of logsumexp, not of the logits.")
def test_router_z_loss_known_values(student):
    """Three tokens of 2 experts: ((ln(e + 1))^2 + (ln 2)^2 + (ln(e^3 + e^-1))^2) / 3."""
    logits = torch.tensor([[1.0, 0.0], [0.0, 0.0], [3.0, -1.0]], dtype=torch.float64)
    expected = (math.log(math.e + 1) ** 2 + math.log(2) ** 2 + math.log(math.exp(3) + math.exp(-1)) ** 2) / 3
    expect_close(student.router_z_loss(logits), float64(expected), 1e-12, what="the z-loss")


@exercise(Z, weight=2, hint="Use torch.logsumexp (it subtracts the max): log(exp(logits).sum()) is inf for logits "
                            "above ~88 in float32 and ~709 in float64. The max alone is not the logsumexp.")
def test_router_z_loss_large_logits(student):
    """Logits near 3000 (float64) and 1000 (float32): finite, equal to (max + log sum exp(logit - max))^2."""
    for dtype, offset in ((torch.float64, 3000.0), (torch.float32, 1000.0)):
        logits = (offset + torch.tensor([[0.0, -1.0, 0.5], [2.0, 1.0, 0.0]], dtype=torch.float64)).to(dtype)
        expected = torch.logsumexp(logits.double(), -1).pow(2).mean()
        expect_close(student.router_z_loss(logits), expected, 0.0, 1e-12 if dtype == torch.float64 else 1e-5,
                     what=f"the z-loss of {str(dtype).removeprefix('torch.')} logits near {offset:g}")


@exercise(Z, hint="Compute in torch.promote_types(logits.dtype, torch.float32): a float32 loss for bfloat16 and "
                  "float16 logits, float64 for float64.")
def test_router_z_loss_dtypes(student, reference):
    """bfloat16, float16, float32 and float64 logits: the loss has the reference's dtype and value."""
    for number, dtype in enumerate((torch.bfloat16, torch.float16, torch.float32, torch.float64)):
        logits = (2 * randn(5, 4, seed=901 + number)).to(dtype)
        z_compare(student.router_z_loss(logits), reference.router_z_loss(logits), f"router_z_loss({describe(logits)})")


@exercise(Z, hint="Keep the loss differentiable: no .item(), .detach() or torch.no_grad(); return a 0-dim tensor.",
          broad=True)
def test_router_z_loss_gradient_matches_reference(student, reference):
    """The gradient with respect to the logits equals the reference's."""
    logits = 2 * randn(2, 3, 5, seed=905)
    one = torch.tensor(1.0, dtype=torch.float64)
    got = probe(student, gradients, student.router_z_loss, [logits], [one])
    expect_same_gradients(got, gradients(reference.router_z_loss, [logits], [one]), 1e-12, Z)


# biased_top_k_route ----------------------------------------------------------------------------

BIASED = "biased_top_k_route"


def biased_inputs(rng, lead, n_experts, dtype=torch.float64, bias_scale=0.3):
    """(logits, bias) such that in every row sigmoid(logits) + bias is separated at every k (rows redrawn
    until they are)."""
    g = gen(rng.randrange(1 << 30))
    bias = bias_scale * torch.randn(n_experts, generator=g, dtype=torch.float64)
    rows = math.prod(lead)
    logits = 2 * torch.randn(rows, n_experts, generator=g, dtype=torch.float64)
    for attempt in range(500):
        scores = torch.sigmoid(logits.to(dtype).double()) + bias
        bad = [r for r in range(rows) if not separated(scores[r:r + 1], n_experts)]
        if not bad:
            break
        logits[bad] = 2 * torch.randn(len(bad), n_experts, generator=g, dtype=torch.float64)
    logits = logits.to(dtype)
    assert separated(torch.sigmoid(logits.double()) + bias, n_experts), "biased_inputs: scores too close"
    return logits.reshape(*lead, n_experts), bias.to(compute_dtype(dtype))


def biased_cases(seed, count):
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.randint(2, 8)
        lead = tuple(rng.choice([1, 2, 3]) for _ in range(rng.choice([0, 1, 1, 2, 3])))
        dtype = rng.choice([torch.float64, torch.float64, torch.float32, torch.bfloat16])
        logits, bias = biased_inputs(rng, lead, n, dtype, rng.choice([0.0, 0.1, 0.5, 2.0]))
        k = rng.randint(1, n)
        cases.append(Shown((logits, bias, k), {}, f"(logits {describe(logits)}, bias {describe(bias)}, k={k})"))
    return cases


@exercise(BIASED, weight=3, hint="scores = sigmoid(logits) in promote_types(dtype, float32); indices = "
                                 "(scores + bias).topk(k).indices, in decreasing order of score + bias; weights = "
                                 "scores.gather(-1, indices) divided by their sum; for 1-D to 4-D logits, every "
                                 "k, biases from 0 to large.", broad=True)
def test_biased_route_matches_reference_on_random_inputs(student, reference):
    """50 seeded (logits, bias, k): 1-D to 4-D, 2 to 8 experts, biases of scale 0 to 2, three dtypes: the
    reference's weights and indices, smallest first."""
    expect_same_as_reference(student.biased_top_k_route, reference.biased_top_k_route, biased_cases(1000, 50),
                             BIASED, compare=same_tensors())


@exercise(BIASED, weight=2, hint="The bias decides WHICH experts: choose the top k of sigmoid(logits) + bias (not "
                                 "of the scores alone, not of logits + bias, not of softmax + bias).")
def test_biased_route_bias_only_chooses(student):
    """Scores 0.9 > 0.8 > 0.3 > 0.2 with a bias +0.75 on expert 3: k = 2 chooses experts 3 and 0."""
    scores = torch.tensor([0.9, 0.8, 0.3, 0.2], dtype=torch.float64)
    logits = torch.log(scores / (1 - scores))
    bias = torch.tensor([0.0, 0.0, 0.0, 0.75], dtype=torch.float64)
    expect_equal(student.biased_top_k_route(logits, bias, 2)[1].tolist(), [3, 0], "the chosen experts")


@exercise(BIASED, weight=3, hint="The bias must never reach the weights: weights = the chosen experts' "
                                 "sigmoid scores WITHOUT the bias, divided by their sum (DeepSeek-V3: 'the bias "
                                 "term is only used for routing').")
def test_biased_route_weights_without_bias(student):
    """Same example: weights 0.2 / (0.2 + 0.9) and 0.9 / (0.2 + 0.9), the bias left out."""
    scores = torch.tensor([0.9, 0.8, 0.3, 0.2], dtype=torch.float64)
    logits = torch.log(scores / (1 - scores))
    bias = torch.tensor([0.0, 0.0, 0.0, 0.75], dtype=torch.float64)
    expect_close(student.biased_top_k_route(logits, bias, 2)[0], torch.tensor([0.2 / 1.1, 0.9 / 1.1],
                 dtype=torch.float64), 1e-12, what="the weights")


@exercise(BIASED, weight=2, hint="Scores are sigmoid(logits), each in (0, 1) on its own (DeepSeek-V3), not a "
                                 "softmax; then divide the k chosen scores by their sum.")
def test_biased_route_sigmoid_scores(student):
    """Zero bias, logits [1, 0, -1], k = 2: weights sigmoid(1) and sigmoid(0), renormalised."""
    logits = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
    weights, indices = student.biased_top_k_route(logits, torch.zeros(3, dtype=torch.float64), 2)
    s1, s0 = 1 / (1 + math.exp(-1)), 0.5
    expect_equal(indices.tolist(), [0, 1], "the chosen experts")
    expect_close(weights, torch.tensor([s1 / (s1 + s0), s0 / (s1 + s0)], dtype=torch.float64), 1e-12,
                 what="the weights")


@exercise(BIASED, hint="Compute the scores in torch.promote_types(logits.dtype, torch.float32): float32 weights "
                       "for bfloat16 logits, float64 for float64; indices int64.")
def test_biased_route_dtypes(student, reference):
    """bfloat16, float32 and float64 logits: weights and indices of the reference's dtypes and values."""
    rng = random.Random(1001)
    for dtype in (torch.bfloat16, torch.float32, torch.float64):
        logits, bias = biased_inputs(rng, (3,), 5, dtype)
        same_tensors()(student.biased_top_k_route(logits, bias, 2), reference.biased_top_k_route(logits, bias, 2),
                       f"biased_top_k_route({describe(logits)}, k=2)")


@exercise(BIASED, hint="The weights carry the gradient to the logits (through the sigmoid scores); no "
                       ".detach() or no_grad. The bias gets none: it is a buffer.", broad=True)
def test_biased_route_gradient_matches_reference(student, reference):
    """The gradient of sum(weights * g) with respect to the logits equals the reference's."""
    logits, bias = biased_inputs(random.Random(1002), (4,), 5)
    g = randn(4, 2, seed=1003)
    got = probe(student, gradients, student.biased_top_k_route, [logits, bias, 2], [g])
    expected = gradients(reference.biased_top_k_route, [logits, bias, 2], [g])
    expect(got is not None, f"{BIASED}: the weights carry no gradient")
    expect_close(got[0][0], expected[0][0], 1e-12, what="the gradient of the logits")


# update_bias -----------------------------------------------------------------------------------

UPDATE = "update_bias"


def chosen_with_loads(rng, loads, shape):
    """An int64 tensor of `shape` in which expert i appears loads[i] times, in a seeded order."""
    flat = [e for e, count in enumerate(loads) for _ in range(count)]
    rng.shuffle(flat)
    assert len(flat) == math.prod(shape)
    return torch.tensor(flat, dtype=torch.long).reshape(shape)


def update_cases(seed, count):
    """Seeded (bias, indices, n_experts, speed): indices of shape (N,), (N, k) or (B, T, k), whole and fractional
    mean loads, experts exactly at the mean and experts with no pick, float32 and float64 biases."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.randint(2, 8)
        shape = rng.choice([(n * 2,), (n, 2), (2, n, 3), (1, n, 1), (n * 3, 4), (n + 1, 2), (5,), (3, n + 1, 1)])
        total = math.prod(shape)
        loads = [0] * n
        for _ in range(total):
            loads[rng.randrange(n)] += 1
        if total % n == 0 and n >= 3:  # make two experts sit exactly at the mean
            mean = total // n
            loads = [mean, mean] + [0] * (n - 2)
            for _ in range(total - 2 * mean):
                loads[rng.randrange(2, n)] += 1
        dtype = rng.choice([torch.float64, torch.float32])
        bias = (0.1 * torch.randn(n, generator=gen(rng.randrange(1 << 30)), dtype=torch.float64)).to(dtype)
        speed = rng.choice([0.001, 0.01, 0.5])
        indices = chosen_with_loads(rng, loads, shape)
        cases.append(Shown((bias, indices, n, speed), {},
                           f"(bias {describe(bias)}, indices {tuple(shape)} with loads {loads}, {n}, {speed})"))
    return cases


@exercise(UPDATE, weight=3, hint="load = torch.bincount(indices.reshape(-1), minlength=n_experts) (idle experts "
                                 "count 0); return bias + speed * torch.sign(indices.numel() / n_experts - load), "
                                 "in bias's dtype, for indices of any shape. The mean load is a float: N * k / E "
                                 "need not be whole.", broad=True)
def test_update_bias_matches_reference_on_random_loads(student, reference):
    """40 seeded loads (experts at the mean, idle experts, 1-D to 3-D indices, float32 and float64): the
    reference's new bias, smallest first."""
    expect_same_as_reference(student.update_bias, reference.update_bias, update_cases(1100, 40), UPDATE,
                             compare=same_tensors(lambda dtype: 1e-15 if dtype == torch.float64 else 1e-7))


@exercise(UPDATE, weight=2, hint="The mean load counts all k picks of every token: indices.numel() / n_experts "
                                 "(N * k / E), not N / E. With N / E every expert looks overloaded when k > 1.")
def test_update_bias_mean_counts_every_pick(student):
    """4 tokens, k = 2, 4 experts with loads [3, 2, 2, 1]: the mean is 2, so [-s, 0, 0, +s]."""
    indices = torch.tensor([[0, 1], [0, 2], [0, 3], [1, 2]])
    got = student.update_bias(torch.zeros(4, dtype=torch.float64), indices, 4, 0.25)
    expect_close(got, torch.tensor([-0.25, 0.0, 0.0, 0.25], dtype=torch.float64), 1e-15, what="the new bias")


@exercise(UPDATE, weight=2, hint="An expert exactly at the mean load keeps its bias: torch.sign(0) = 0. "
                                 "A comparison such as where(load < mean, +speed, -speed) moves it anyway.")
def test_update_bias_at_the_mean_keeps_bias(student):
    """Every expert at the mean load (3 each): the bias is unchanged."""
    bias = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
    got = student.update_bias(bias, torch.tensor([0, 1, 2, 2, 1, 0, 1, 0, 2]), 3, 0.01)
    expect_close(got, bias, 1e-15, what="the new bias")


@exercise(UPDATE, weight=2, hint="Move against the load error by a fixed step: overloaded experts (load > mean) "
                                 "go DOWN by speed, underloaded ones UP by speed; the step is speed * sign(...), "
                                 "not proportional to the error.")
def test_update_bias_direction(student):
    """Loads [5, 0, 1] (mean 2), speed 0.1: [-0.1, +0.1, +0.1], whatever the size of the errors."""
    got = student.update_bias(torch.zeros(3, dtype=torch.float64), torch.tensor([0, 0, 0, 0, 0, 2]), 3, 0.1)
    expect_close(got, torch.tensor([-0.1, 0.1, 0.1], dtype=torch.float64), 1e-15, what="the new bias")


@exercise(UPDATE, weight=2, hint="Return a new tensor and leave bias as it was (bias + ..., not bias += ... or "
                                 "bias.add_(...)): the training loop copies the result into the buffer itself.")
def test_update_bias_leaves_bias_unchanged(student, reference):
    """The call changes nothing in bias and returns a new tensor."""
    args = (torch.tensor([0.1, -0.1, 0.0], dtype=torch.float64), torch.tensor([[0, 0], [0, 1], [0, 2]]), 3, 0.05)
    call = observe(student.update_bias, *args)
    expect_proven(not call.changed, "update_bias changed its argument bias in place; return a new tensor")
    expect_proven(call.returned_argument is None, "update_bias returned its argument itself; return a new tensor")
    with judged_only_if_right():
        same_tensors(lambda dtype: 1e-15)(call.result, reference.update_bias(*args), "update_bias")


@exercise(UPDATE, hint="Each call depends only on its arguments: keep no load or bias from an earlier call "
                       "(a running count belongs to the training loop, not to this function).")
def test_update_bias_calls_are_independent(student, reference):
    """Calls in a row with other loads, one repeated: each gives the reference's result for its own arguments."""
    bias = torch.zeros(3, dtype=torch.float64)
    a, b = torch.tensor([[0, 1], [0, 2]]), torch.tensor([[2, 1], [2, 0]])
    expect_independent_calls(student, reference, UPDATE, [(bias, a, 3, 0.1), (bias, b, 3, 0.1), (bias, a, 3, 0.1)],
                             compare=same_tensors(lambda dtype: 1e-15))


@exercise(UPDATE, hint="Keep bias's dtype and shape: count the loads as integers, then convert them (or the "
                       "step) to bias.dtype; a float32 bias stays float32.")
def test_update_bias_keeps_dtype(student):
    """A float32 bias gives a float32 result of shape (n_experts,)."""
    got = student.update_bias(torch.zeros(4), torch.tensor([[0, 1], [0, 1]]), 4, 0.01)
    expect(isinstance(got, torch.Tensor), f"update_bias returned a {kind_of(got)}, not a tensor")
    expect_equal(got.dtype, torch.float32, "the dtype")
    expect_equal(tuple(got.shape), (4,), "the shape")
    expect_close(got, torch.tensor([-0.01, -0.01, 0.01, 0.01]), 1e-8, what="the new bias")
