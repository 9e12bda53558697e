"""Hidden checks for 04-mini-gpt. Shapes differ from the notebook's visible checks: batch 1,
sequence length 1, head sizes 5 and 7, non-contiguous inputs, float64 everywhere so that the
tolerances sit far below any real bug. Modules are compared with the reference by loading the
reference's weights (LayerNorms perturbed away from 1 and 0, so that a misplaced norm shows).

Every exercise also has a differential check: the learner's result against the reference's on
many seeded inputs over the whole domain the text allows (any leading dimensions, broadcasting,
masks of every broadcastable shape, large scores, float32 and float64, T = 1 ... block_size, ids
above 256, options combined), smallest input first, with the guard that the learner's call leaves
its arguments unchanged and returns new objects. The text's other promises each have a check of
their own: no dropout (train mode), gradients (training), the `device` (a GPU simulated by a
TorchFunctionMode in the worker), no buffers, the attribute names, fresh tensors from
causal_mask, and count_parameters without building the model.

The learner's code runs in a worker (autograder.remote): the student's modules and configs are
built there from the notebook's own GPTConfig, weights are set by loading a state dict edited
here, and what must happen there (non-contiguous views, backward passes, the simulated GPU)
happens in a probe."""
import math
import random

import torch
import torch.nn.functional as F

from autograder import generators
from autograder.checking import (CheckFailed, exercise, expect, expect_close, expect_equal,
                                 expect_proven, expect_same_as_reference, judged_only_if_right)
from autograder.remote import Remote, is_a, kind_of, observe, probe
from autograder.torch_checks import (Shown, buffer_names, child_names, expect_same_gradients,
                                     expect_same_in_train_and_eval, gen, gradients, randn)

ATOL = 1e-10


def non_contiguous(B, T, C, seed=0):
    """A (B, T, C) float64 tensor that is a transposed view (not contiguous)."""
    x = randn(T, B, C, seed=seed).transpose(0, 1)
    assert not x.is_contiguous()
    return x


def call(student, function, *args):
    """function(*args) in the worker. Tensors cross as contiguous copies, so a non-contiguous argument
    (a permuted view here) travels as its contiguous data and is made the same view there."""
    return probe(student, call_with_views, function, [as_view(a) for a in args])


def as_view(value):
    """A tensor that is not contiguous as {"view": its data in memory order, "dims": the permutation back}."""
    if not isinstance(value, torch.Tensor) or value.is_contiguous():
        return value
    order = sorted(range(value.dim()), key=lambda d: -value.stride(d))
    data = value.permute(order)
    assert data.is_contiguous(), "only a permuted view can be rebuilt in the worker"
    return {"view": data, "dims": [order.index(d) for d in range(value.dim())]}


def call_with_views(function, args):
    """(Runs in the worker.) function(*args), each {"view": data, "dims": dims} made data.permute(dims)."""
    return function(*[a["view"].permute(a["dims"]) if type(a) is dict else a for a in args])


def result_device_type(function, *args, **kwargs):
    """(Runs in the worker.) The device type of function(*args, **kwargs): a tensor sent back is a CPU copy."""
    return function(*args, **kwargs).device.type


def config(namespace, vocab_size=13, block_size=9, n_layer=2, n_head=3, d_model=15):
    """namespace.GPTConfig(...): the student's (built in the worker) or the reference's."""
    return namespace.GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer,
                               n_head=n_head, d_model=d_model)


def perturb_layer_norms(module, seed=0):
    """LayerNorm weights away from 1 and biases away from 0; every linear bias non-zero."""
    g = gen(seed)
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, torch.nn.LayerNorm):
                sub.weight.copy_(1 + 0.5 * torch.randn(sub.weight.shape, generator=g))
                sub.bias.copy_(0.5 * torch.randn(sub.bias.shape, generator=g))
            elif isinstance(sub, torch.nn.Linear) and sub.bias is not None:
                sub.bias.copy_(0.2 * torch.randn(sub.bias.shape, generator=g))
    return module


def shapes(module):
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def pair(student, reference, name, sizes, seed=0):
    """(student module, reference module) of class `name` for GPTConfig(**sizes), with the same
    float64 weights."""
    torch.manual_seed(seed)
    ref = perturb_layer_norms(getattr(reference, name)(config(reference, **sizes)).double(), seed)
    mine = getattr(student, name)(config(student, **sizes)).double()
    mine.load_state_dict(dict(ref.state_dict()))
    return mine.eval(), ref.eval()


def zeroed(state, *linears):
    """The state dict with the weight and bias of each named Linear replaced by zeros."""
    for name in (f"{linear}.{part}" for linear in linears for part in ("weight", "bias")):
        state[name] = torch.zeros_like(state[name])
    return state


def attend(q, k, v, allowed):
    """Plain attention for expected values (True = may attend)."""
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    return weights @ v, weights


# differential checks --------------------------------------------------------------------------

def shape_of(value) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else repr(value)


def tolerance_for(expected) -> float:
    """float64 results are compared to 1e-9, float32 ones to 2e-4 (summation order differs)."""
    return 1e-9 if expected.dtype == torch.float64 else 2e-4


def same_values(got, expected, what):
    """Tensors, tuples of tensors and None, compared element by element with tolerance_for."""
    if isinstance(expected, tuple):
        expect(isinstance(got, tuple) and len(got) == len(expected),
               f"{what}: expected a tuple of {len(expected)}, got {kind_of(got)}"
               + (f" of {len(got)}" if isinstance(got, tuple) else ""))
        for i, (g, e) in enumerate(zip(got, expected)):
            same_values(g, e, f"{what}, item {i}")
    elif expected is None:
        expect(got is None, f"{what}: expected None, got {kind_of(got)}")
    else:
        expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
        expect_close(got, expected.detach(), tolerance_for(expected), what=what)


def same_tensor(got, expected, what):
    """Exactly the same tensor: type, dtype, shape and values."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_equal(tuple(got.shape), tuple(expected.shape), f"{what}: the shape")
    expect(torch.equal(got, expected), f"{what}: expected {expected.tolist()}, got {got.tolist()}")


def module_cases(rng, shapes, d_model, dtype=torch.float64, **kwargs):
    """One Shown case per shape: a seeded input of that shape (and d_model columns), with kwargs."""
    cases = []
    for shape in shapes:
        x = generators.tensor(rng, (*shape, d_model), dtype=dtype)
        options = "".join(f", {k}={v}" for k, v in kwargs.items())
        cases.append(Shown((x,), dict(kwargs), f"(x of shape {tuple(x.shape)}{options})"))
    return cases


def on_simulated_gpu(function, calls):
    """(Runs in the worker.) Each call (args, kwargs, gpu_args) of `function` with a simulated second
    device, standing in for a GPU (PyTorch's meta device would cost seconds of imports per worker): the
    arguments at positions gpu_args, and the parameters and buffers of `function` if it is a module,
    are "on cuda": they stay CPU tensors but report device cuda:0, and so does every tensor computed
    from them or created on a cuda device. Returns, per call, the device type of each item of the
    result, and the operations that mixed a "cuda" tensor with a CPU tensor of one or more dimensions
    (an error on a real GPU; a CPU scalar tensor is allowed there, and here)."""
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._pytree import tree_flatten, tree_map

    on_gpu = {}
    mixed = []

    def tag(t):
        on_gpu[id(t)] = t

    def tagged(t):
        return on_gpu.get(id(t)) is t

    def gpu_device(d):
        return (isinstance(d, torch.device) and d.type == "cuda") or (isinstance(d, str) and d.startswith("cuda"))

    def cpu_device(d):
        return isinstance(d, (str, torch.device)) and (d == "cpu" or getattr(d, "type", None) == "cpu")

    indexing = {torch.Tensor.__getitem__, torch.Tensor.__setitem__}

    class SimulatedGPU(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if getattr(func, "__self__", None) is torch.Tensor.device:  # tensor.device
                return torch.device("cuda", 0) if tagged(args[0]) else func(*args)
            if func is torch.device:
                return func(*args, **kwargs)
            leaves = tree_flatten((args, kwargs))[0]
            to_gpu = any(gpu_device(a) for a in leaves)
            to_cpu = any(cpu_device(a) for a in leaves) or getattr(func, "__name__", "") == "cpu"
            args, kwargs = tree_map(lambda a: torch.device("cpu") if gpu_device(a) else a, (args, kwargs))
            tensors = [a for a in leaves if isinstance(a, torch.Tensor)]
            gpu = any(tagged(t) for t in tensors)
            if gpu and func not in indexing and any(not tagged(t) and t.dim() > 0 for t in tensors):
                mixed.append(getattr(func, "__name__", repr(func)))
            result = func(*args, **kwargs)
            if (to_gpu or gpu) and not to_cpu:
                for r in tree_flatten(result)[0]:
                    if isinstance(r, torch.Tensor):
                        tag(r)
            return result

    reports = []
    for args, kwargs, gpu_args in calls:  # tags stay across calls: a cache may hold a "cuda" tensor
        mixed.clear()
        for i in gpu_args:
            tag(args[i])
        if isinstance(function, torch.nn.Module):
            for t in [*function.parameters(), *function.buffers()]:
                tag(t)
        with SimulatedGPU():
            result = function(*args, **kwargs)
            items = result if isinstance(result, tuple) else (result,)
            devices = [("cuda" if tagged(r) else r.device.type) if isinstance(r, torch.Tensor) else None for r in items]
        reports.append({"devices": devices, "mixed": sorted(set(mixed))})
    return reports


# scaled_dot_product_attention -----------------------------------------------------------------

SDPA = "scaled_dot_product_attention"


@exercise(SDPA, hint="Return a tuple (output, weights): output (..., T_q, d_v) = weights @ v, "
                     "weights (..., T_q, T_k).", broad=True)
def test_sdpa_returns_output_and_weights(student):
    """Returns (output, weights) with shapes (..., T_q, d_v) and (..., T_q, T_k)."""
    q, k, v = randn(2, 3, 4, 5, seed=1), randn(2, 3, 6, 5, seed=2), randn(2, 3, 6, 7, seed=3)
    result = student.scaled_dot_product_attention(q, k, v)
    expect(isinstance(result, tuple) and len(result) == 2,
           f"expected a tuple (output, weights), got {kind_of(result)}")
    expect_equal(tuple(result[0].shape), (2, 3, 4, 7), "the output's shape")
    expect_equal(tuple(result[1].shape), (2, 3, 4, 6), "the weights' shape")


@exercise(SDPA, weight=2, hint="Divide the scores q @ k^T by sqrt(d_k), where d_k = q.shape[-1] (the "
                               "size of q and k, not of v); no 1/sqrt(d) scaling, or dividing by d, "
                               "gives other weights.")
def test_sdpa_scales_by_sqrt_of_key_size(student):
    """Scores are divided by √d_k with d_k = q.shape[-1] (here 5, while d_v = 3)."""
    q, k, v = 2 * randn(1, 4, 5, seed=4), 2 * randn(1, 6, 5, seed=5), randn(1, 6, 3, seed=6)
    _, weights = student.scaled_dot_product_attention(q, k, v)
    expect_close(weights, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(5), dim=-1), ATOL,
                 what="the weights")


@exercise(SDPA, weight=2, hint="The softmax runs over the keys, the LAST axis (dim=-1): each query's "
                               "weights sum to 1. Softmax over the wrong axis normalises each key instead.")
def test_sdpa_softmax_over_keys(student):
    """A single query over 5 keys: its weights sum to 1 (softmax over the last axis)."""
    q, k, v = randn(2, 1, 4, seed=7), randn(2, 5, 4, seed=8), randn(2, 5, 4, seed=9)
    _, weights = student.scaled_dot_product_attention(q, k, v)
    expect_close(weights.sum(-1), torch.ones(2, 1, dtype=torch.float64), ATOL, what="the weights' row sums")
    expect_close(weights, attend(q, k, v, torch.ones(1, 5, dtype=torch.bool))[1], ATOL, what="the weights")


@exercise(SDPA, weight=2, hint="mask True means 'may attend': fill the scores where the mask is FALSE "
                               "with -inf BEFORE the softmax, so masked weights are exactly 0 and the "
                               "others still sum to 1.")
def test_sdpa_mask_true_means_may_attend(student):
    """Where the mask is False the weight is 0, and each row still sums to 1."""
    q, k, v = randn(3, 4, 6, seed=10), randn(3, 5, 6, seed=11), randn(3, 5, 2, seed=12)
    allowed = torch.tensor([[1, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]], dtype=torch.bool)
    out, weights = student.scaled_dot_product_attention(q, k, v, allowed)
    expect_close(weights.masked_fill(allowed, 0.0), torch.zeros(3, 4, 5, dtype=torch.float64), ATOL,
                 what="the weights where the mask is False")
    expect_close(weights.sum(-1), torch.ones(3, 4, dtype=torch.float64), ATOL, what="the weights' row sums")
    expect_close(out, attend(q, k, v, allowed)[0], ATOL, what="the output")


@exercise(SDPA, hint="The mask broadcasts against (..., T_q, T_k): a (B, 1, 1, T_k) padding mask "
                     "applies to every head and query.")
def test_sdpa_broadcasts_mask(student):
    """A (B, 1, 1, T_k) key-padding mask broadcasts over heads and queries."""
    q, k, v = randn(2, 3, 4, 5, seed=13), randn(2, 3, 4, 5, seed=14), randn(2, 3, 4, 5, seed=15)
    allowed = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)[:, None, None, :]
    out, weights = student.scaled_dot_product_attention(q, k, v, allowed)
    expected_out, expected_weights = attend(q, k, v, allowed)
    expect_close(weights, expected_weights, ATOL, what="the weights")
    expect_close(out, expected_out, ATOL, what="the output")


@exercise(SDPA, weight=2, hint="Compare with softmax(q @ k.transpose(-2, -1) / sqrt(d_k)) @ v; "
                               "transpose the last two axes of k, and accept non-contiguous inputs.", broad=True)
def test_sdpa_matches_reference_on_odd_shapes(student, reference):
    """Batch 1, a head size of 7, non-contiguous q/k/v, sequence length 1: same as the reference."""
    for T in (6, 1):
        q, k, v = (randn(1, T, 2, 7, seed=16 + i).transpose(1, 2) for i in range(3))
        mask = reference.causal_mask(T)
        got = call(student, student.scaled_dot_product_attention, q, k, v, mask)
        expected = reference.scaled_dot_product_attention(q, k, v, mask)
        expect_close(got[0], expected[0], ATOL, what=f"the output (T = {T})")
        expect_close(got[1], expected[1], ATOL, what=f"the weights (T = {T})")


def sub_shape(rng, shape, keep=0.7):
    """A shape that broadcasts to `shape`: each dimension kept or made 1, leading ones maybe dropped."""
    dims = [d if rng.random() < keep else 1 for d in shape]
    return dims[rng.randint(0, len(dims)) if rng.random() < 0.25 else 0:]


def broadcast(a, b):
    """The broadcast of two shapes whose dimensions are equal or 1 (torch.broadcast_shapes imports torch._refs:
    seconds)."""
    a, b = [1] * (len(b) - len(a)) + list(a), [1] * (len(a) - len(b)) + list(b)
    return tuple(max(x, y) for x, y in zip(a, b))


def some_allowed(rng, shape):
    """A random bool mask of `shape` with at least one True in every row (every query sees a key)."""
    mask = generators.tensor(rng, shape) > 0.3
    if shape[-1] == 1:
        return torch.ones(shape, dtype=torch.bool)
    forced = torch.randint(shape[-1], shape[:-1] + (1,), generator=gen(rng.randrange(1 << 30)))
    return mask.scatter(-1, forced, True)


def sdpa_case(rng, lead, T_q, T_k, d_k, d_v, dtype=torch.float64, scale=1.0, mask="random"):
    """One Shown case: q, k, v with leading dimensions that broadcast to `lead`, and a mask of a random
    broadcastable shape ((T_k,), (1, T_k), (T_q, T_k), with or without leading dimensions), or None."""
    q_lead, k_lead = sub_shape(rng, lead), sub_shape(rng, lead)
    v_lead = sub_shape(rng, k_lead, keep=0.8)
    q = generators.tensor(rng, (*q_lead, T_q, d_k), dtype, scale)
    k = generators.tensor(rng, (*k_lead, T_k, d_k), dtype, scale)
    v = generators.tensor(rng, (*v_lead, T_k, d_v), dtype)
    if isinstance(mask, str):
        scores_lead = broadcast(q_lead, k_lead)
        shapes = [[T_k], [1, T_k], [T_q, T_k], [*sub_shape(rng, scores_lead), T_q, T_k],
                  [*sub_shape(rng, scores_lead), 1, T_k]]
        mask = None if rng.random() < 0.25 else some_allowed(rng, tuple(rng.choice(shapes)))
    label = (f"(q {shape_of(q)}, k {shape_of(k)}, v {shape_of(v)}, mask {shape_of(mask)}, "
             f"{str(dtype).removeprefix('torch.')}{f', scale {scale:g}' if scale != 1 else ''})")
    return Shown((q, k, v, mask), {}, label)


def sdpa_cases(seed, count):
    """`count` random cases over the whole domain: 2-D to 5-D, broadcasting q/k/v, every mask shape,
    T_q != T_k, d_k != d_v, float32 and float64, some with large scores."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        lead = generators.leading_shape(rng) + ((rng.choice([1, 2]),) if rng.random() < 0.2 else ())
        dtype = rng.choice([torch.float64, torch.float64, torch.float32])
        scale = 1.0 if rng.random() < 0.7 else (8.0 if dtype == torch.float32 else 30.0)
        cases.append(sdpa_case(rng, lead, rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 6),
                               rng.randint(1, 6), dtype, scale))
    return cases


def aliased_arguments(function, args):
    """(Runs in the worker.) For each item of function(*args)'s result: the position of the argument it is
    or whose memory it shares (a view), or None for a new tensor."""
    import torch
    result = function(*args)
    items = result if isinstance(result, tuple) else (result,)

    def shares(item, a):
        return item is a or (item.numel() > 0 and a.numel() > 0 and
                             item.untyped_storage().data_ptr() == a.untyped_storage().data_ptr())

    def alias(item):
        return next((i for i, a in enumerate(args) if isinstance(item, torch.Tensor) and isinstance(a, torch.Tensor)
                     and shares(item, a)), None)
    return [alias(item) for item in items]


def attention_gradients(function, q, k, v, mask, g_out, g_weights):
    """(Runs in the worker, and here for the reference.) The gradients of q, k and v for the loss
    sum(output * g_out) + sum(weights * g_weights)."""
    q, k, v = (t.detach().clone().requires_grad_(True) for t in (q, k, v))
    out, weights = function(q, k, v, mask)
    ((out * g_out).sum() + (weights * g_weights).sum()).backward()
    return q.grad, k.grad, v.grad


@exercise(SDPA, weight=3, hint="Compare with softmax(q @ k.transpose(-2, -1) / sqrt(q.shape[-1]), masked "
                               "with -inf where the mask is False) @ v: for ANY leading dimensions "
                               "(none, or several that broadcast like in @), every mask shape that "
                               "broadcasts to (..., T_q, T_k), T_q != T_k, d_k != d_v, float32 and "
                               "float64, and large scores.", broad=True)
def test_sdpa_matches_reference_on_random_inputs(student, reference):
    """60 seeded inputs (2-D to 5-D, broadcasting, every mask shape, float32 and float64): the reference's
    output and weights, smallest input first."""
    expect_same_as_reference(student.scaled_dot_product_attention, reference.scaled_dot_product_attention,
                             sdpa_cases(100, 60), "scaled_dot_product_attention", compare=same_values)


@exercise(SDPA, weight=2, hint="'Any leading dimensions' includes none: 2-D inputs q (T_q, d_k), "
                               "k (T_k, d_k), v (T_k, d_v) with a (T_q, T_k) mask give 2-D results, and "
                               "5-D inputs work too. Do not add a batch dimension (mask[None], "
                               "unsqueeze(0)) or unpack q.shape into a fixed number of leading dimensions.")
def test_sdpa_any_number_of_leading_dimensions(student, reference):
    """2-D inputs (no leading dimension, with and without a mask) and 5-D inputs: the reference's results."""
    rng = random.Random(101)
    cases = [sdpa_case(rng, (), 3, 4, 5, 2, mask=None), sdpa_case(rng, (), 4, 4, 3, 3, mask=causal_of(4)),
             sdpa_case(rng, (), 1, 1, 2, 3, mask=torch.ones(1, 1, dtype=torch.bool)),
             sdpa_case(rng, (2, 1, 2), 3, 3, 4, 2, mask=causal_of(3))]
    expect_same_as_reference(student.scaled_dot_product_attention, reference.scaled_dot_product_attention,
                             cases, "scaled_dot_product_attention", compare=same_values)


def causal_of(T):
    return torch.ones(T, T, dtype=torch.bool).tril()


@exercise(SDPA, weight=2, hint="Leading dimensions broadcast like in @: q (2, 1, T, d) with k and v "
                               "(1, 3, T, d) gives (2, 3, ...), and k may have fewer dimensions than q. "
                               "Use q @ k.transpose(-2, -1) (or torch.matmul); flattening the leading "
                               "dimensions with reshape(-1, T, d) for torch.bmm cannot broadcast.")
def test_sdpa_broadcasts_leading_dimensions_of_q_k_v(student, reference):
    """q (2, 1, 4, 5) against k, v (1, 3, 6, 5), and a 4-D q against 3-D k and v: the reference's results."""
    q, k, v = randn(2, 1, 4, 5, seed=102), randn(1, 3, 6, 5, seed=103), randn(1, 3, 6, 2, seed=104)
    q4, k3, v3 = randn(2, 3, 4, 5, seed=105), randn(3, 4, 5, seed=106), randn(3, 4, 3, seed=107)
    cases = [Shown((q, k, v, None), {}, "(q (2, 1, 4, 5), k (1, 3, 6, 5), v (1, 3, 6, 2), mask None)"),
             Shown((q4, k3, v3, causal_of(4)), {}, "(q (2, 3, 4, 5), k (3, 4, 5), v (3, 4, 3), mask (4, 4))")]
    expect_same_as_reference(student.scaled_dot_product_attention, reference.scaled_dot_product_attention,
                             cases, "scaled_dot_product_attention", compare=same_values)


@exercise(SDPA, weight=2, hint="Large scores must not overflow: exp(scores) is inf above ~88 in float32 "
                               "and ~709 in float64. torch.softmax subtracts each row's max before exp; "
                               "a hand-written softmax must do the same (scores - scores.amax(-1, "
                               "keepdim=True)).")
def test_sdpa_large_scores_do_not_overflow(student, reference):
    """Scores in the hundreds (float32) and thousands (float64): finite weights, the reference's results."""
    rng = random.Random(108)
    cases = [sdpa_case(rng, (2,), 3, 4, 6, 3, torch.float32, 12.0, mask=None),
             sdpa_case(rng, (2,), 4, 4, 5, 3, torch.float32, 12.0, mask=causal_of(4)),
             sdpa_case(rng, (1, 2), 5, 5, 4, 2, torch.float64, 40.0, mask=causal_of(5))]
    expect_same_as_reference(student.scaled_dot_product_attention, reference.scaled_dot_product_attention,
                             cases, "scaled_dot_product_attention", compare=same_values)


@exercise(SDPA, weight=2, hint="Fill the masked scores with -inf (float('-inf')), not with a large "
                               "negative number: with scores of -20000, a fill of -1e4 gives the masked "
                               "keys ALL the weight. With -inf their weights are exactly 0 whatever the "
                               "scores.")
def test_sdpa_masked_weights_zero_with_very_negative_scores(student, reference):
    """Every allowed score is about -20000: masked weights are still exactly 0 (masked scores are -inf)."""
    q = torch.full((3, 4), 100.0, dtype=torch.float64) + randn(3, 4, seed=109)
    k = torch.full((3, 4), -100.0, dtype=torch.float64) + randn(3, 4, seed=110)
    v = randn(3, 2, seed=111)
    out, weights = student.scaled_dot_product_attention(q, k, v, causal_of(3))
    expected_out, expected_weights = reference.scaled_dot_product_attention(q, k, v, causal_of(3))
    expect_close(weights.masked_fill(causal_of(3), 0.0), torch.zeros(3, 3, dtype=torch.float64), 0,
                 what="the weights where the mask is False")
    expect_close(weights, expected_weights, 1e-9, what="the weights")
    expect_close(out, expected_out, 1e-9, what="the output")


@exercise(SDPA, hint="Leave q, k, v and mask as they were: no in-place operations on the arguments "
                     "(q /= ..., q.mul_(...), mask.logical_not_(), masked_fill_ on an input), and "
                     "return new tensors, never an argument itself (not even when there is one key).")
def test_sdpa_leaves_its_arguments_unchanged(student, reference):
    """The call changes none of q, k, v and mask, and returns new tensors (T_q = T_k = 1 included)."""
    rng = random.Random(112)
    cases = [sdpa_case(rng, (2,), 3, 3, 4, 2, mask=causal_of(3)), sdpa_case(rng, (2,), 1, 1, 3, 3, mask=None),
             sdpa_case(rng, (), 1, 1, 2, 2, mask=torch.ones(1, 1, dtype=torch.bool))]
    expect_same_as_reference(student.scaled_dot_product_attention, reference.scaled_dot_product_attention,
                             cases, "scaled_dot_product_attention", compare=same_values, guard=True)
    for case in cases:  # the guard sees the result itself, not the tensors inside the returned tuple
        for item, argument in enumerate(probe(student, aliased_arguments, student.scaled_dot_product_attention,
                                              list(case.args))):
            if argument is not None:
                raise CheckFailed(f"scaled_dot_product_attention{case}: item {item} of the result is argument "
                                  f"{argument + 1} itself (or a view of it); return a new tensor")


@exercise(SDPA, weight=2, hint="Training backpropagates through attention: the gradient must reach q, k "
                               "and v through the weights. No .detach(), no torch.no_grad(), no .data, "
                               "and change no input (nor a tensor autograd still needs) in place.", broad=True)
def test_sdpa_gradients_match_reference(student, reference):
    """The gradients of q, k and v (through the output AND the weights) equal the reference's."""
    q, k, v = randn(2, 4, 3, seed=113), randn(2, 5, 3, seed=114), randn(2, 5, 2, seed=115)
    mask = some_allowed(random.Random(116), (4, 5))
    g_out, g_weights = randn(2, 4, 2, seed=117), randn(2, 4, 5, seed=118)
    got = probe(student, attention_gradients, student.scaled_dot_product_attention, q, k, v, mask, g_out, g_weights)
    expected = attention_gradients(reference.scaled_dot_product_attention, q, k, v, mask, g_out, g_weights)
    for name, g, e in zip("qkv", got, expected):
        expect(g is not None, f"no gradient reached {name}")
        expect_close(g, e, 1e-9, what=f"the gradient of {name}")


# causal_mask ----------------------------------------------------------------------------------

@exercise("causal_mask", hint="Return a torch.bool tensor of shape (T, T), e.g. "
                              "torch.ones(T, T, dtype=torch.bool).tril().")
def test_causal_mask_is_bool_T_by_T(student):
    """A bool tensor of shape (T, T)."""
    mask = student.causal_mask(6)
    expect(isinstance(mask, torch.Tensor), f"expected a tensor, got {kind_of(mask)}")
    expect_equal(mask.dtype, torch.bool, "the dtype")
    expect_equal(tuple(mask.shape), (6, 6), "the shape")


@exercise("causal_mask", hint="The diagonal must be True: a token may attend to itself "
                              "(True means 'may attend').")
def test_causal_mask_diagonal_is_true(student):
    """mask[i, i] is True: every position attends to itself."""
    expect_equal(torch.as_tensor(student.causal_mask(7)).diagonal().tolist(), [True] * 7, "the diagonal")


@exercise("causal_mask", hint="Everything above the diagonal (j > i) must be False: no position may "
                              "see the future.")
def test_causal_mask_hides_the_future(student):
    """mask[i, j] is False for every j > i."""
    mask = torch.as_tensor(student.causal_mask(7)).bool()
    expect_equal(mask.triu(1).any().item(), False, "some mask[i, j] with j > i is True;")


@exercise("causal_mask", hint="Everything below the diagonal (j < i) must be True: every earlier "
                              "token is visible.")
def test_causal_mask_shows_earlier_tokens(student):
    """mask[i, j] is True for every j < i."""
    mask = torch.as_tensor(student.causal_mask(7)).bool()
    expect_equal(mask.tril(-1).sum().item(), 21, "the number of True entries below the diagonal")


@exercise("causal_mask", hint="T = 1 gives [[True]]; create the mask on the `device` argument.")
def test_causal_mask_length_one_and_device(student):
    """T = 1 gives [[True]]; device='cpu' is accepted."""
    expect_equal(torch.as_tensor(student.causal_mask(1)).tolist(), [[True]], "causal_mask(1)")
    device = probe(student, result_device_type, student.causal_mask, 3, device=torch.device("cpu"))
    expect_equal(device, "cpu", "the device")


def edited_then_asked_again(causal_mask, T):
    """(Runs in the worker.) causal_mask(T) after the caller cleared an earlier result in place."""
    first = causal_mask(T)
    first.fill_(False)
    return causal_mask(T)


@exercise("causal_mask", weight=2, hint="mask[i, j] = (j <= i) for every T, e.g. "
                                        "torch.ones(T, T, dtype=torch.bool, device=device).tril(); "
                                        "no size limit (a precomputed mask of fixed size fails for "
                                        "long sequences).", broad=True)
def test_causal_mask_matches_reference_for_many_lengths(student, reference):
    """T = 1 ... 12, 31, 64 and 300, with and without device='cpu': the reference's mask."""
    cases = [Shown((T,), {}, f"({T})") for T in [*range(1, 13), 31, 64, 300]]
    cases += [Shown((T,), {"device": "cpu"}, f"({T}, device='cpu')") for T in (2, 7)]
    cases += [Shown((T, torch.device("cpu")), {}, f"({T}, torch.device('cpu'))") for T in (3,)]
    expect_same_as_reference(student.causal_mask, reference.causal_mask, cases, "causal_mask", compare=same_tensor)


@exercise("causal_mask", hint="T = 0 is an empty sequence: return an empty (0, 0) bool tensor "
                              "(torch.tensor of nested lists gives shape (0,) there; tril of "
                              "torch.ones(T, T) handles it).")
def test_causal_mask_length_zero(student, reference):
    """T = 0 gives an empty (0, 0) bool tensor."""
    same_tensor(student.causal_mask(0), reference.causal_mask(0), "causal_mask(0)")


@exercise("causal_mask", weight=2, hint="Create the mask on `device` (torch.ones(T, T, dtype=torch.bool, "
                                        "device=device)): a mask on the CPU fails when the scores are on "
                                        "a GPU. A cache must be keyed on the device too, not on T alone.")
def test_causal_mask_on_the_requested_device(student):
    """On a simulated GPU: device='cuda', torch.device('cuda', 0), 'cpu' and None (the CPU), for repeated T
    (a cache keyed on T alone returns the first call's device)."""
    calls = [((5,), {}, []), ((5, "cuda"), {}, []), ((4,), {"device": torch.device("cuda", 0)}, []),
             ((4,), {"device": "cpu"}, []), ((3,), {"device": None}, []), ((3, torch.device("cuda")), {}, [])]
    reports = probe(student, on_simulated_gpu, student.causal_mask, calls)
    expect_equal([r["devices"][0] for r in reports], ["cpu", "cuda", "cuda", "cpu", "cpu", "cuda"],
                 "the devices of causal_mask(5), (5, 'cuda'), (4, device=cuda:0), (4, device='cpu'), "
                 "(3, device=None), (3, cuda)")


@exercise("causal_mask", weight=2, hint="Return a new tensor on every call: a mask cached "
                                        "(functools.lru_cache, a dict) or sliced from one shared "
                                        "precomputed tensor is shared, so a caller who edits one result "
                                        "corrupts every later call. Cache, if at all, and return a clone.")
def test_causal_mask_returns_a_new_tensor_every_call(student, reference):
    """After the caller clears causal_mask(6)'s result in place, causal_mask(6) is still the causal mask."""
    same_tensor(probe(student, edited_then_asked_again, student.causal_mask, 6), reference.causal_mask(6),
                "causal_mask(6) after an earlier result was cleared")


# MultiHeadAttention ---------------------------------------------------------------------------

MHA = "MultiHeadAttention"


@exercise(MHA, hint="Exactly two layers: self.qkv = nn.Linear(d_model, 3 * d_model) and "
                    "self.proj = nn.Linear(d_model, d_model), both with bias; no other parameters "
                    "or persistent buffers.")
def test_mha_parameters(student):
    """Parameters qkv (3d, d) + bias and proj (d, d) + bias, nothing else."""
    expect_equal(shapes(student.MultiHeadAttention(config(student, d_model=21, n_head=3))),
                 {"qkv.weight": (63, 21), "qkv.bias": (63,), "proj.weight": (21, 21), "proj.bias": (21,)},
                 "the state_dict's names and shapes")


@exercise(MHA, weight=2, hint="The columns of qkv(x) are [q | k | v] in this order (split(d_model, "
                              "dim=-1)); then causal attention; then self.proj.", broad=True)
def test_mha_one_head_uses_q_k_v_columns_in_order(student, reference):
    """One head: proj(causal attention of the [q | k | v] columns of qkv(x))."""
    mine, ref = pair(student, reference, MHA, dict(d_model=6, n_head=1))
    x = randn(2, 5, 6, seed=20)
    with torch.no_grad():
        q, k, v = ref.qkv(x).split(6, dim=-1)
        expected = ref.proj(attend(q, k, v, torch.ones(5, 5, dtype=torch.bool).tril())[0])
        expect_close(mine(x), expected, ATOL, what="the output")


@exercise(MHA, weight=3, hint="Split heads with .view(B, T, n_head, head_dim).transpose(1, 2) (a view "
                              "straight to (B, n_head, T, head_dim) mixes positions and heads), scale "
                              "by sqrt(head_dim), and merge with .transpose(1, 2).reshape(B, T, d_model).", broad=True)
def test_mha_several_heads_match_reference(student, reference):
    """Three heads of size 4: same output as the reference."""
    mine, ref = pair(student, reference, MHA, dict(d_model=12, n_head=3))
    x = randn(2, 5, 12, seed=21)
    with torch.no_grad():
        expect_close(mine(x), ref(x), ATOL, what="the output")


@exercise(MHA, weight=2, hint="head_dim = d_model // n_head need not be a power of two, and T may be 1: "
                              "take B and T from x.shape, never from the config.", broad=True)
def test_mha_odd_head_size_batch_one_length_one(student, reference):
    """Batch 1, heads of size 5, T = 7 and T = 1: same as the reference."""
    mine, ref = pair(student, reference, MHA, dict(d_model=15, n_head=3), seed=1)
    for T in (7, 1):
        x = randn(1, T, 15, seed=22 + T)
        with torch.no_grad():
            expect_close(mine(x), ref(x), ATOL, what=f"the output (T = {T})")


@exercise(MHA, hint="x may be non-contiguous: x.view(...) fails on it; use reshape, or view the "
                    "output of self.qkv (which is contiguous).")
def test_mha_non_contiguous_input(student, reference):
    """A non-contiguous (transposed) input gives the same output as the reference."""
    mine, ref = pair(student, reference, MHA, dict(d_model=14, n_head=2), seed=2)
    x = non_contiguous(3, 4, 14, seed=23)
    with torch.no_grad():
        expect_close(call(student, mine, x), ref(x), ATOL, what="the output")


@exercise(MHA, weight=2, hint="Attention must be causal: build causal_mask(T, x.device) and pass it to "
                              "scaled_dot_product_attention, so position t never sees t + 1, t + 2, ...")
def test_mha_is_causal(student, reference):
    """Changing the last positions leaves the outputs of earlier positions unchanged."""
    mine, _ = pair(student, reference, MHA, dict(d_model=12, n_head=2), seed=3)
    x = randn(2, 6, 12, seed=24)
    changed = x.clone()
    changed[:, 4:] += randn(2, 2, 12, seed=25)
    with torch.no_grad():
        expect_close(mine(changed)[:, :4], mine(x)[:, :4], ATOL, what="the outputs of positions 0-3")


@exercise(MHA, hint="Finish with the output projection: y = self.proj(merged heads).")
def test_mha_applies_output_projection(student, reference):
    """With proj's weight 0 and bias b, every output equals b."""
    mine, _ = pair(student, reference, MHA, dict(d_model=12, n_head=3), seed=4)
    bias = randn(12, seed=26)
    state = zeroed(mine.state_dict(), "proj")
    state["proj.bias"] = bias
    mine.load_state_dict(state)
    with torch.no_grad():
        expect_close(mine(randn(2, 3, 12, seed=27)), bias.expand(2, 3, 12), ATOL, what="the output")


@exercise(MHA, hint="With return_weights=True return (y, weights), weights of shape "
                    "(B, n_head, T, T) from scaled_dot_product_attention.")
def test_mha_returns_weights(student, reference):
    """return_weights=True gives the reference's (B, n_head, T, T) weights too."""
    mine, ref = pair(student, reference, MHA, dict(d_model=15, n_head=3), seed=5)
    x = randn(1, 4, 15, seed=28)
    with torch.no_grad():
        got = mine(x, return_weights=True)
        expected = ref(x, return_weights=True)
    expect(isinstance(got, tuple) and len(got) == 2, "expected (y, weights) with return_weights=True")
    expect_close(got[1], expected[1], ATOL, what="the weights")
    expect_close(got[0], expected[0], ATOL, what="y")


def mha_configs():
    """(d_model, n_head, block_size) of the differential checks: head sizes 1 to 5, one to four heads."""
    return [(4, 4, 6), (5, 1, 4), (6, 2, 8), (12, 3, 5), (10, 2, 7), (8, 4, 3)]


@exercise(MHA, weight=3, hint="Compare with proj(merge(attention of the heads of qkv(x))) for one to four "
                              "heads of size 1 to 5, T = 1 ... block_size, batch 1 to 3, with and without "
                              "return_weights; x must be left unchanged.", broad=True)
def test_mha_matches_reference_on_random_configs(student, reference):
    """Six configs (heads of size 1 to 5), random shapes, return_weights True and False: the reference's
    results, smallest input first."""
    rng = random.Random(200)
    with torch.no_grad():
        for number, (d_model, n_head, block_size) in enumerate(mha_configs()):
            sizes = dict(d_model=d_model, n_head=n_head, block_size=block_size)
            mine, ref = pair(student, reference, MHA, sizes, seed=200 + number)
            shapes = [(rng.randint(1, 3), rng.randint(1, block_size)) for _ in range(3)] + [(1, 1)]
            cases = module_cases(rng, shapes[:2], d_model) + module_cases(rng, shapes[2:], d_model, return_weights=True)
            expect_same_as_reference(mine, ref, cases, f"MultiHeadAttention(d_model={d_model}, n_head={n_head})",
                                     compare=same_values)


@exercise(MHA, weight=2, hint="No dropout anywhere (the text): in train mode too, the output and the "
                              "weights must be the reference's, and two calls give the same result. "
                              "Remove nn.Dropout / F.dropout from the attention.")
def test_mha_train_mode_has_no_dropout(student, reference):
    """In train mode, y and the weights are what eval mode gives (no dropout)."""
    mine, ref = pair(student, reference, MHA, dict(d_model=12, n_head=3), seed=201)
    rng = random.Random(201)
    cases = module_cases(rng, [(2, 6), (2, 6)], 12) + module_cases(rng, [(3, 5)], 12, return_weights=True)
    expect_same_in_train_and_eval(mine, ref, cases, "MultiHeadAttention", compare=same_values)


@exercise(MHA, hint="No other parameters or buffers: not even a non-persistent causal-mask buffer "
                    "(register_buffer(..., persistent=False)); build the mask in forward with "
                    "causal_mask(T, x.device), so that any T works.")
def test_mha_has_no_buffers(student):
    """The module holds no buffer at all (persistent or not)."""
    mha = student.MultiHeadAttention(config(student, d_model=12, n_head=3, block_size=16))
    expect_equal(probe(student, buffer_names, mha), [], "the module's buffers")


@exercise(MHA, weight=2, hint="Make the mask on x's device: causal_mask(T, x.device). A mask made on the "
                              "CPU fails as soon as the model is on a GPU.")
def test_mha_works_on_the_inputs_device(student):
    """On a simulated GPU (the module and x there): y and the weights are there too, and no operation mixes
    a CPU tensor with the GPU's."""
    mha = student.MultiHeadAttention(config(student, d_model=12, n_head=3))
    x = randn(2, 5, 12, seed=206).float()
    reports = probe(student, on_simulated_gpu, mha, [((x,), {}, [0]), ((x,), {"return_weights": True}, [0])])
    expect_equal(reports[0]["mixed"] + reports[1]["mixed"], [],
                 "the operations that mixed a CPU tensor with tensors on x's device")
    expect_equal([r["devices"] for r in reports], [["cuda"], ["cuda", "cuda"]],
                 "the devices of y, then of (y, weights)")


@exercise(MHA, hint="Keep self.n_head = config.n_head: the attribute names are part of the interface.")
def test_mha_keeps_n_head(student):
    """self.n_head holds config.n_head."""
    mha = student.MultiHeadAttention(config(student, d_model=12, n_head=3))
    expect(hasattr(mha, "n_head"), "the module has no attribute n_head")
    expect_equal(mha.n_head, 3, "self.n_head")


@exercise(MHA, weight=2, hint="Training backpropagates through the attention: change no view of qkv's "
                              "output in place (q *= scale after split/view/transpose fails under "
                              "autograd; write q = q * scale), no .detach() or torch.no_grad().", broad=True)
def test_mha_gradients_match_reference(student, reference):
    """The gradients of x and of every parameter (through y and the weights) equal the reference's."""
    mine, ref = pair(student, reference, MHA, dict(d_model=15, n_head=3), seed=202)
    args, kwargs = [randn(2, 4, 15, seed=203)], {"return_weights": True}
    weights = [randn(2, 4, 15, seed=204), randn(2, 3, 4, 4, seed=205)]
    got = probe(student, gradients, mine, args, weights, kwargs)
    expect_same_gradients(got, gradients(ref, args, weights, kwargs), 1e-9, "MultiHeadAttention")


# FeedForward ----------------------------------------------------------------------------------

@exercise("FeedForward", hint="self.fc = nn.Linear(d_model, 4 * d_model) and "
                              "self.proj = nn.Linear(4 * d_model, d_model), both with bias.")
def test_feed_forward_parameters(student):
    """Parameters fc (4d, d) + bias and proj (d, 4d) + bias."""
    expect_equal(shapes(student.FeedForward(config(student, d_model=7, n_head=1))),
                 {"fc.weight": (28, 7), "fc.bias": (28,), "proj.weight": (7, 28), "proj.bias": (7,)},
                 "the state_dict's names and shapes")


@exercise("FeedForward", weight=2, hint="GPT-2's activation is GELU with the tanh approximation: "
                                        "F.gelu(h, approximate='tanh'). The exact (erf) GELU, ReLU or "
                                        "no activation give other values, and so does a hand-written "
                                        "GELU whose constants are rounded or kept in a float32 tensor "
                                        "(torch.tensor(math.sqrt(2 / math.pi)) loses float64's precision).")
def test_feed_forward_uses_tanh_gelu(student):
    """With fc and proj set to pass values through, the layer computes GELU-tanh itself."""
    mine = student.FeedForward(config(student, d_model=3, n_head=1)).double()
    state = zeroed(mine.state_dict(), "fc", "proj")
    state["fc.weight"][:3] = torch.eye(3, dtype=torch.float64)
    state["proj.weight"][:, :3] = torch.eye(3, dtype=torch.float64)
    mine.load_state_dict(state)
    with torch.no_grad():
        x = torch.linspace(-4, 4, 24, dtype=torch.float64).reshape(2, 4, 3)
        expected = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        expect_close(mine(x), expected, ATOL, what="the output")


@exercise("FeedForward", weight=2, hint="The order is fc, then GELU (tanh), then proj: "
                                        "self.proj(F.gelu(self.fc(x), approximate='tanh')).", broad=True)
def test_feed_forward_matches_reference(student, reference):
    """Random weights, batch 1, T = 1 and a non-contiguous input: same as the reference."""
    mine, ref = pair(student, reference, "FeedForward", dict(d_model=10, n_head=2))
    with torch.no_grad():
        for x in (randn(1, 1, 10, seed=30), non_contiguous(2, 3, 10, seed=31)):
            expect_close(call(student, mine, x), ref(x), ATOL, what=f"the output for shape {tuple(x.shape)}")


@exercise("FeedForward", weight=2, hint="'For any leading dimensions': x of shape (d_model,), (N, d_model), "
                                        "(B, T, d_model) or (A, B, T, d_model). nn.Linear and F.gelu "
                                        "handle them all: never unpack x.shape into B, T, C. Leave x "
                                        "unchanged.", broad=True)
def test_feed_forward_any_leading_dimensions(student, reference):
    """1-D to 4-D inputs, float64 and float32, x left unchanged: the reference's outputs, smallest first."""
    mine, ref = pair(student, reference, "FeedForward", dict(d_model=6, n_head=2), seed=300)
    rng = random.Random(300)
    shapes = [(), (1,), (3,), (1, 1), (2, 3), (1, 1, 1), (2, 1, 2), (2, 3, 1, 2), (1, 2, 2, 3)]
    shapes += [generators.leading_shape(rng) for _ in range(4)]
    with torch.no_grad():
        expect_same_as_reference(mine, ref, module_cases(rng, shapes, 6), "FeedForward", compare=same_values)
    mine32, ref32 = pair(student, reference, "FeedForward", dict(d_model=6, n_head=2), seed=301)
    mine32.float()
    ref32.float()
    with torch.no_grad():
        expect_same_as_reference(mine32, ref32, module_cases(rng, [(4,), (2, 3), (2, 1, 3)], 6, torch.float32),
                                 "FeedForward in float32", compare=same_values)


@exercise("FeedForward", weight=2, hint="No dropout anywhere (the text): in train mode too the output must "
                                        "be proj(GELU_tanh(fc(x))) exactly. Remove nn.Dropout / F.dropout.")
def test_feed_forward_train_mode_has_no_dropout(student, reference):
    """In train mode, the outputs are what eval mode gives (no dropout)."""
    mine, ref = pair(student, reference, "FeedForward", dict(d_model=8, n_head=2), seed=302)
    expect_same_in_train_and_eval(mine, ref, module_cases(random.Random(302), [(2, 5), (2, 5), (3, 4)], 8),
                                  "FeedForward", compare=same_values)


@exercise("FeedForward", weight=2, hint="Training backpropagates through the MLP: compute GELU out of place "
                                        "(h * gate, not h.mul_(gate)): changing fc's output in place, "
                                        "which autograd still needs, makes backward fail.", broad=True)
def test_feed_forward_gradients_match_reference(student, reference):
    """The gradients of x and of every parameter equal the reference's."""
    mine, ref = pair(student, reference, "FeedForward", dict(d_model=6, n_head=2), seed=303)
    args, weights = [randn(2, 3, 6, seed=304)], [randn(2, 3, 6, seed=305)]
    got = probe(student, gradients, mine, args, weights)
    expect_same_gradients(got, gradients(ref, args, weights), 1e-9, "FeedForward")


# TransformerBlock -----------------------------------------------------------------------------

BLOCK = "TransformerBlock"


def zero_branch(module, *linears):
    """The named Linears of a student module set to 0, through its state dict (not in place there)."""
    module.load_state_dict(zeroed(module.state_dict(), *linears))


@exercise(BLOCK, hint="Submodules ln1 = nn.LayerNorm(d_model), attn = MultiHeadAttention(config), "
                      "ln2 = nn.LayerNorm(d_model), mlp = FeedForward(config), with these names.")
def test_block_parameters(student, reference):
    """Submodules ln1, attn, ln2, mlp with the reference's parameter names and shapes."""
    sizes = dict(d_model=15, n_head=3)
    expect_equal(shapes(student.TransformerBlock(config(student, **sizes))),
                 shapes(reference.TransformerBlock(config(reference, **sizes))),
                 "the state_dict's names and shapes")


@exercise(BLOCK, weight=2, hint="Pre-LN: the residual stream x is never normalized; each branch reads "
                                "LN(x) and its output is ADDED to x (residual): x = x + attn(ln1(x)). "
                                "Post-LN (LN after the addition) is the original Transformer, not GPT-2.")
def test_block_with_zero_branches_is_identity(student, reference):
    """When attention and MLP output 0, the block returns its input unchanged (Pre-LN + residuals)."""
    mine, _ = pair(student, reference, BLOCK, dict(d_model=12, n_head=3))
    zero_branch(mine, "attn.proj", "mlp.proj")
    x = 3 + 2 * randn(2, 4, 12, seed=40)
    with torch.no_grad():
        expect_close(mine(x), x, ATOL, what="the output")


@exercise(BLOCK, weight=2, hint="The attention branch is a residual: x + attn(ln1(x)); keep x itself "
                                "un-normalized (Pre-LN, not Post-LN).")
def test_block_attention_residual(student, reference):
    """With the MLP silenced, the block computes x + attn(ln1(x))."""
    mine, _ = pair(student, reference, BLOCK, dict(d_model=12, n_head=3), seed=1)
    zero_branch(mine, "mlp.proj")
    x = randn(2, 5, 12, seed=41)
    with torch.no_grad():
        expect_close(mine(x), x + mine.attn(mine.ln1(x)), ATOL, what="the output")


@exercise(BLOCK, weight=2, hint="Then the MLP, through ln2, on the stream AFTER the attention's "
                                "residual: x = x + attn(ln1(x)); x = x + mlp(ln2(x)).")
def test_block_mlp_after_attention(student, reference):
    """With attention silenced, the block computes x + mlp(ln2(x))."""
    mine, _ = pair(student, reference, BLOCK, dict(d_model=12, n_head=3), seed=2)
    zero_branch(mine, "attn.proj")
    x = randn(2, 5, 12, seed=42)
    with torch.no_grad():
        expect_close(mine(x), x + mine.mlp(mine.ln2(x)), ATOL, what="the output")


@exercise(BLOCK, weight=3, hint="x = x + attn(ln1(x)), then x = x + mlp(ln2(x)): the MLP branch reads "
                                "the stream after the attention residual, through ln2 (not ln1).", broad=True)
def test_block_matches_reference(student, reference):
    """Batch 1 with heads of size 5, T = 1, and a non-contiguous input: same as the reference."""
    mine, ref = pair(student, reference, BLOCK, dict(d_model=15, n_head=3), seed=3)
    with torch.no_grad():
        for x in (randn(1, 6, 15, seed=43), randn(1, 1, 15, seed=44), non_contiguous(2, 4, 15, seed=45)):
            expect_close(call(student, mine, x), ref(x), ATOL, what=f"the output for shape {tuple(x.shape)}")


@exercise(BLOCK, weight=2, hint="x = x + attn(ln1(x)); x = x + mlp(ln2(x)), for one to four heads, "
                                "T = 1 ... block_size and batch 1 to 3, with x left unchanged.", broad=True)
def test_block_matches_reference_on_random_configs(student, reference):
    """Four configs, random shapes: the reference's outputs, smallest input first."""
    rng = random.Random(400)
    with torch.no_grad():
        for number, (d_model, n_head, block_size) in enumerate(mha_configs()[:4]):
            mine, ref = pair(student, reference, BLOCK, dict(d_model=d_model, n_head=n_head, block_size=block_size),
                             seed=400 + number)
            shapes = [(rng.randint(1, 3), rng.randint(1, block_size)) for _ in range(3)]
            expect_same_as_reference(mine, ref, module_cases(rng, shapes, d_model),
                                     f"TransformerBlock(d_model={d_model}, n_head={n_head})", compare=same_values)


@exercise(BLOCK, weight=2, hint="Write x = x + attn(ln1(x)), never x += ...: an in-place addition changes "
                                "the caller's tensor (and returns it), so the caller's residual stream "
                                "is overwritten.")
def test_block_leaves_its_input_unchanged(student, reference):
    """The block changes nothing in x and returns a new tensor."""
    mine, ref = pair(student, reference, BLOCK, dict(d_model=12, n_head=3), seed=401)
    x = randn(2, 4, 12, seed=402)
    call = observe(mine, x)
    expect_proven(not call.changed, "the block changed its input x in place; leave the caller's tensor as it was")
    expect_proven(call.returned_argument is None, "the block returned its input x itself; return a new tensor")
    with judged_only_if_right():
        same_values(call.result, ref(x), "the block's output")


@exercise(BLOCK, weight=2, hint="No dropout anywhere (the text): in train mode too the block must compute "
                                "x + attn(ln1(x)), then + mlp(ln2(.)) exactly. Remove nn.Dropout.")
def test_block_train_mode_has_no_dropout(student, reference):
    """In train mode, the outputs are what eval mode gives (no dropout)."""
    mine, ref = pair(student, reference, BLOCK, dict(d_model=12, n_head=3), seed=403)
    expect_same_in_train_and_eval(mine, ref, module_cases(random.Random(403), [(2, 5), (2, 5), (1, 3)], 12),
                                  "TransformerBlock", compare=same_values)


@exercise(BLOCK, weight=2, hint="Training backpropagates through the block: add the residuals out of "
                                "place (x = x + ...), not x += ... in place, even on a clone: LayerNorm "
                                "keeps its input for backward, and changing it in place makes backward fail.",
          broad=True)
def test_block_gradients_match_reference(student, reference):
    """The gradients of x and of every parameter equal the reference's."""
    mine, ref = pair(student, reference, BLOCK, dict(d_model=10, n_head=2), seed=404)
    args, weights = [randn(2, 4, 10, seed=405)], [randn(2, 4, 10, seed=406)]
    got = probe(student, gradients, mine, args, weights)
    expect_same_gradients(got, gradients(ref, args, weights), 1e-9, "TransformerBlock")


@exercise(BLOCK, hint="Declare the submodules in the order of the text: ln1, attn, ln2, mlp (GPT-2's "
                      "ln_1, attn, ln_2, mlp); the order of named_children() and of the state dict "
                      "follows it.")
def test_block_submodules_in_order(student):
    """named_children() gives ln1, attn, ln2, mlp, in this order (other submodules, if any, aside)."""
    block = student.TransformerBlock(config(student, d_model=12, n_head=3))
    names = [name for name in probe(student, child_names, block) if name in ("ln1", "attn", "ln2", "mlp")]
    expect_equal(names, ["ln1", "attn", "ln2", "mlp"], "the order of the submodules ln1, attn, ln2, mlp")


@exercise(BLOCK, hint="Both LayerNorms use PyTorch's default eps = 1e-5 (GPT-2's value): nn.LayerNorm(d_model). "
                      "Another eps shows on inputs whose positions vary little.")
def test_block_layer_norm_eps(student, reference):
    """Positions with a variance of about 1e-6 (where eps matters): the reference's outputs."""
    mine, ref = pair(student, reference, BLOCK, dict(d_model=12, n_head=3), seed=407)
    x = 2 + 1e-3 * randn(2, 5, 12, seed=408)
    with torch.no_grad():
        expect_close(mine(x), ref(x), 1e-9, what="the output for inputs of tiny variance")


# MiniGPT --------------------------------------------------------------------------------------

@exercise("MiniGPT", hint="Attributes tok_emb (vocab_size, d), pos_emb (block_size, d), blocks "
                          "(an nn.ModuleList of n_layer TransformerBlock), ln_f (LayerNorm), head "
                          "(Linear(d, vocab_size, bias=False)).")
def test_minigpt_parameters(student, reference):
    """The reference's parameter names and shapes, blocks in an nn.ModuleList."""
    model = student.MiniGPT(config(student))
    expect_equal(shapes(model), shapes(reference.MiniGPT(config(reference))), "the state_dict's names and shapes")
    expect(is_a(model.blocks, torch.nn.ModuleList), "blocks should be an nn.ModuleList")


@exercise("MiniGPT", weight=2, hint="Tie the output head to the token embedding: "
                                    "self.head.weight = self.tok_emb.weight (one shared parameter).")
def test_minigpt_head_is_tied(student):
    """head.weight is the same parameter as tok_emb.weight (tied)."""
    model = student.MiniGPT(config(student))
    expect(model.head.weight is model.tok_emb.weight,
           "head.weight and tok_emb.weight are different tensors: the head is not tied")


@exercise("MiniGPT", weight=3, hint="x = tok_emb(idx) + pos_emb(arange(T)), every block in order, "
                                    "then the final LayerNorm ln_f, then head.", broad=True)
def test_minigpt_logits_match_reference(student, reference):
    """Random ids, batch 2, heads of size 5: the reference's logits."""
    mine, ref = pair(student, reference, "MiniGPT", {})
    idx = torch.randint(13, (2, 8), generator=gen(50))
    with torch.no_grad():
        expect_close(mine(idx)[0], ref(idx)[0], 1e-9, what="the logits")


@exercise("MiniGPT", weight=2, hint="Batch 1 and T = 1 work too, and T = block_size uses every "
                                    "position embedding: positions are torch.arange(T) (0 ... T-1).", broad=True)
def test_minigpt_batch_one_length_one_and_full_block(student, reference):
    """Batch 1 with T = 1 and T = block_size: the reference's logits."""
    mine, ref = pair(student, reference, "MiniGPT", dict(n_layer=1, n_head=1, d_model=7), seed=1)
    with torch.no_grad():
        for T in (1, 9):
            idx = torch.randint(13, (1, T), generator=gen(51 + T))
            expect_close(mine(idx)[0], ref(idx)[0], 1e-9, what=f"the logits (T = {T})")


@exercise("MiniGPT", weight=2, hint="Add the position embedding of positions 0 ... T-1: "
                                    "x = tok_emb(idx) + pos_emb(torch.arange(T)). Without it, a repeated "
                                    "token gets the same logits at every position.")
def test_minigpt_uses_positions(student, reference):
    """The same token repeated: logits differ across positions, as in the reference."""
    mine, ref = pair(student, reference, "MiniGPT", {}, seed=2)
    idx = torch.full((1, 6), 4)
    with torch.no_grad():
        expect_close(mine(idx)[0], ref(idx)[0], 1e-9, what="the logits of a repeated token")


@exercise("MiniGPT", weight=3, hint="Shift: the logits at position t predict targets[:, t + 1], so the "
                                    "loss is cross_entropy(logits[:, :-1], targets[:, 1:]), averaged "
                                    "(mean) over the B*(T-1) predictions.")
def test_minigpt_loss_is_shifted_mean_cross_entropy(student, reference):
    """loss = mean cross-entropy of logits[:, :-1] against targets[:, 1:]."""
    mine, ref = pair(student, reference, "MiniGPT", {}, seed=3)
    idx = torch.randint(13, (3, 7), generator=gen(53))
    with torch.no_grad():
        logits = ref(idx)[0]
        expected = F.cross_entropy(logits[:, :-1].reshape(-1, 13), idx[:, 1:].reshape(-1))
        result = mine(idx, idx)
    expect(isinstance(result, tuple) and len(result) == 2, "forward should return (logits, loss)")
    expect(result[1] is not None, "targets were given but the loss is None")
    expect_close(torch.as_tensor(result[1]).reshape(()), expected, 1e-9, what="the loss")


@exercise("MiniGPT", hint="Targets equal to -100 are ignored (F.cross_entropy's default "
                          "ignore_index); with targets=None the loss is None.")
def test_minigpt_loss_ignores_minus_100_and_none(student, reference):
    """Targets -100 are left out of the mean; targets=None gives loss None."""
    mine, ref = pair(student, reference, "MiniGPT", {}, seed=4)
    idx = torch.randint(13, (2, 6), generator=gen(54))
    targets = idx.clone()
    targets[0, 2:4] = -100
    with torch.no_grad():
        expect_close(torch.as_tensor(mine(idx, targets)[1]).reshape(()), ref(idx, targets)[1], 1e-9,
                     what="the loss with some targets -100")
        expect(mine(idx)[1] is None, "with targets=None the loss should be None")


def minigpt_cases(rng, vocab_size, block_size, count):
    """Seeded (idx, targets) cases: T = 1 ... block_size, batch 1 to 3, targets None, idx itself, or other
    ids with some -100 (T >= 2 and at least one target kept, so the mean is defined)."""
    cases = []
    for _ in range(count):
        B, T = rng.randint(1, 3), rng.randint(1, block_size)
        idx = torch.randint(vocab_size, (B, T), generator=gen(rng.randrange(1 << 30)))
        kind = "none" if T == 1 else rng.choice(["none", "idx", "other"])
        if kind == "none":
            cases.append(Shown((idx,), {}, f"(idx of shape {(B, T)})"))
            continue
        targets = idx.clone() if kind == "idx" else \
            torch.randint(vocab_size, (B, T), generator=gen(rng.randrange(1 << 30)))
        if kind == "other":
            targets[torch.rand(B, T, generator=gen(rng.randrange(1 << 30))) < 0.3] = -100
            targets[0, -1] = rng.randrange(vocab_size)
        shown = "= idx" if kind == "idx" else "with -100s"
        cases.append(Shown((idx, targets), {}, f"(idx of shape {(B, T)}, targets {shown})"))
    return cases


@exercise("MiniGPT", weight=3, hint="logits = head(ln_f(blocks(tok_emb(idx) + pos_emb(arange(T))))), loss "
                                    "the shifted mean cross-entropy (targets -100 ignored), for vocabularies "
                                    "of 13 to 1000 ids, 0 to 2 layers, T = 1 ... block_size, batch 1 to 3; "
                                    "idx and targets left unchanged.", broad=True)
def test_minigpt_matches_reference_on_random_configs(student, reference):
    """Four configs (ids up to 999, no layer to two), random idx and targets: the reference's logits and
    loss, smallest input first."""
    rng = random.Random(500)
    configs = [dict(vocab_size=13, block_size=4, n_layer=0, n_head=1, d_model=3),
               dict(vocab_size=300, block_size=6, n_layer=1, n_head=2, d_model=6),
               dict(vocab_size=1000, block_size=5, n_layer=2, n_head=3, d_model=9),
               dict(vocab_size=29, block_size=8, n_layer=1, n_head=1, d_model=5)]
    with torch.no_grad():
        for number, sizes in enumerate(configs):
            mine, ref = pair(student, reference, "MiniGPT", sizes, seed=500 + number)
            expect_same_as_reference(mine, ref, minigpt_cases(rng, sizes["vocab_size"], sizes["block_size"], 5),
                                     f"MiniGPT(vocab_size={sizes['vocab_size']}, n_layer={sizes['n_layer']})",
                                     compare=same_values)


@exercise("MiniGPT", weight=2, hint="Leave idx and targets as they were: shift with slices "
                                    "(logits[:, :-1], targets[:, 1:]) or on a copy, never by writing "
                                    "into targets in place (it is often idx itself, the caller's batch).")
def test_minigpt_leaves_idx_and_targets_unchanged(student, reference):
    """forward(idx, targets) changes neither idx nor targets."""
    mine, ref = pair(student, reference, "MiniGPT", {}, seed=501)
    idx = torch.randint(13, (2, 7), generator=gen(501))
    targets = torch.randint(13, (2, 7), generator=gen(502))
    call = observe(mine, idx, targets)
    expect_proven(not call.changed, f"forward changed its argument {'idx' if 0 in call.changed else 'targets'} in place")
    with judged_only_if_right():
        same_values(call.result, ref(idx, targets), "forward(idx, targets)")


@exercise("MiniGPT", weight=2, hint="No dropout anywhere (the text): in train mode too, the logits and the "
                                    "loss must be the reference's. Remove nn.Dropout from the embeddings "
                                    "and blocks.")
def test_minigpt_train_mode_has_no_dropout(student, reference):
    """In train mode, the logits and the loss are what eval mode gives (no dropout)."""
    mine, ref = pair(student, reference, "MiniGPT", {}, seed=503)
    expect_same_in_train_and_eval(mine, ref, minigpt_cases(random.Random(503), 13, 9, 3),
                                  "MiniGPT", compare=same_values)


@exercise("MiniGPT", weight=2, hint="Return the loss as a 0-dim tensor that carries the gradient (what "
                                    "F.cross_entropy returns), not loss.item(), a float or a 1-element "
                                    "tensor: training calls loss.backward().")
def test_minigpt_loss_is_a_0_dim_tensor_with_gradient(student, reference):
    """With targets, the loss is a 0-dim tensor that requires grad."""
    model = student.MiniGPT(config(student))
    idx = torch.randint(13, (2, 5), generator=gen(504))
    loss = model(idx, idx)[1]
    expect(isinstance(loss, torch.Tensor), f"the loss is a {kind_of(loss)}, not a 0-dim tensor")
    expect_equal(tuple(loss.shape), (), "the loss's shape (a 0-dim tensor)")
    expect(loss.requires_grad, "the loss does not require grad: loss.backward() would fail")


@exercise("MiniGPT", weight=2, hint="Positions are torch.arange(T, device=idx.device): positions made on "
                                    "the CPU fail as soon as the model is on a GPU.")
def test_minigpt_positions_on_the_ids_device(student):
    """On a simulated GPU (the model, idx and targets there): no operation mixes a CPU tensor with the GPU's,
    and the logits and the loss are there."""
    model = student.MiniGPT(config(student))
    idx = torch.randint(13, (2, 6), generator=gen(507))
    reports = probe(student, on_simulated_gpu, model, [((idx, idx.clone()), {}, [0, 1]), ((idx,), {}, [0])])
    expect_equal(reports[0]["mixed"] + reports[1]["mixed"], [],
                 "the operations that mixed a CPU tensor with tensors on idx's device")
    expect_equal([r["devices"] for r in reports], [["cuda", "cuda"], ["cuda", None]],
                 "the devices of (logits, loss) with targets, then without")


@exercise("MiniGPT", weight=2, hint="nn.ModuleList(TransformerBlock(config) for _ in range(n_layer)) makes "
                                    "n_layer distinct blocks; [TransformerBlock(config)] * n_layer repeats "
                                    "ONE block n_layer times (one set of weights).")
def test_minigpt_blocks_are_distinct(student):
    """Three layers: three different blocks with their own parameters."""
    model = student.MiniGPT(config(student, n_layer=3))
    blocks = [model.blocks[i] for i in range(3)]
    expect(blocks[0] is not blocks[1] and blocks[1] is not blocks[2] and blocks[0] is not blocks[2],
           "model.blocks repeats the same block: each layer needs a TransformerBlock of its own")


@exercise("MiniGPT", hint="ln_f = nn.LayerNorm(d_model), with PyTorch's default eps = 1e-5 (GPT-2's "
                          "value); another eps shows on hidden states whose positions vary little.")
def test_minigpt_final_layer_norm_eps(student, reference):
    """Blocks silenced and token vectors of tiny variance, so ln_f's eps matters: the reference's logits."""
    mine, ref = pair(student, reference, "MiniGPT", dict(n_layer=1), seed=508)
    state = zeroed(dict(ref.state_dict()), "blocks.0.attn.proj", "blocks.0.mlp.proj")
    state["tok_emb.weight"] = state["head.weight"] = 2 + 1e-3 * randn(13, 15, seed=509)
    state["pos_emb.weight"] = torch.zeros(9, 15, dtype=torch.float64)
    ref.load_state_dict(state)
    mine.load_state_dict(state)
    idx = torch.randint(13, (2, 5), generator=gen(510))
    with torch.no_grad():
        expect_close(mine(idx)[0], ref(idx)[0], 1e-9, what="the logits")


@exercise("MiniGPT", hint="Keep self.config = config: the attribute names are part of the interface "
                          "(sampling reads model.config.block_size).")
def test_minigpt_keeps_config(student):
    """model.config is the config it was built with."""
    cfg = config(student, block_size=7)
    model = student.MiniGPT(cfg)
    expect(hasattr(model, "config"), "the model has no attribute config (self.config = config)")
    expect(model.config is cfg, "model.config is not the config given to MiniGPT")


@exercise("MiniGPT", weight=2, hint="Training backpropagates the loss to every parameter: no .item(), "
                                    ".detach() or in-place change of a tensor autograd needs; the tied "
                                    "weight gets the gradients of both tok_emb and head.", broad=True)
def test_minigpt_gradients_match_reference(student, reference):
    """The gradient of the loss (and of the logits) reaches every parameter as in the reference."""
    mine, ref = pair(student, reference, "MiniGPT", dict(n_layer=1), seed=505)
    idx = torch.randint(13, (2, 6), generator=gen(505))
    args, weights = [idx, idx], [randn(2, 6, 13, seed=506), torch.tensor(1.0, dtype=torch.float64)]
    got = probe(student, gradients, mine, args, weights)
    expect_same_gradients(got, gradients(ref, args, weights), 1e-9, "MiniGPT")


# count_parameters -----------------------------------------------------------------------------

def count(student, *sizes):
    """count_parameters(GPTConfig(*sizes)), both the student's, as a number: a one-element tensor or a
    numpy scalar gives the number it holds (the result's type is test_count_parameters_returns_int's)."""
    return as_number(student, student.count_parameters(config(student, *sizes)))


def as_number(student, result):
    """A one-element tensor or a numpy scalar (left in the worker) as the number it holds."""
    if isinstance(result, Remote):
        return probe(student, numpy_item, result)
    return result.item() if isinstance(result, torch.Tensor) and result.numel() == 1 else result


def numpy_item(value):
    """(Runs in the worker.) A numpy scalar as the Python number it holds (the wire carries no numpy
    scalars); anything else as it is."""
    import numpy
    return value.item() if isinstance(value, numpy.generic) else value


@exercise("count_parameters", weight=2, hint="GPT-2 small has 124,439,808: V*d + block_size*d + "
                                             "n_layer*(12*d*d + 13*d) + 2*d; the tied head adds nothing.", broad=True)
def test_count_parameters_gpt2_small(student):
    """GPT-2 small (50257, 1024, 12 layers, 12 heads, 768): 124,439,808."""
    expect_equal(count(student, 50257, 1024, 12, 12, 768), 124_439_808, "count_parameters(GPT-2 small)")


@exercise("count_parameters", weight=2, hint="Per block: qkv 3d²+3d, proj d²+d, fc 4d²+4d, mlp proj "
                                             "4d²+d, two LayerNorms 2d each (weights and biases); plus the "
                                             "token and position embeddings and ln_f (2d); the tied head "
                                             "adds nothing.")
def test_count_parameters_matches_the_model(student, reference):
    """Four small configs: the number of distinct parameters of MiniGPT."""
    for sizes in [(13, 9, 2, 3, 15), (100, 32, 3, 4, 8), (7, 5, 1, 1, 6), (50, 16, 4, 2, 10)]:
        expected = sum(p.numel() for p in reference.MiniGPT(config(reference, *sizes)).parameters())
        expect_equal(count(student, *sizes), expected, f"count_parameters(GPTConfig{sizes})")


@exercise("count_parameters", hint="With n_layer = 0 only the embeddings and ln_f remain.")
def test_count_parameters_without_blocks(student):
    """n_layer = 0: the two embeddings and ln_f."""
    expect_equal(count(student, 11, 6, 0, 1, 4), 11 * 4 + 6 * 4 + 2 * 4, "count_parameters(n_layer=0)")


@exercise("count_parameters", hint="Return a Python int (not a float or a tensor).")
def test_count_parameters_returns_int(student):
    """The result is a Python int."""
    result = student.count_parameters(config(student, 11, 6, 2, 2, 4))
    expect_equal(kind_of(result), "int", "the result's type")


def count_configs(seed):
    """Seeded sizes (vocab_size, block_size, n_layer, n_head, d_model): d_model 1 to 99 (51 included),
    vocabularies up to 10^6, and pairs that differ in one field only (a cache keyed on some fields)."""
    rng = random.Random(seed)
    configs = [(11, 6, 0, 1, 51), (50257, 1024, 12, 1, 51), (7, 1, 1, 1, 1), (1_000_003, 4096, 48, 1, 97)]
    for _ in range(16):
        n_head = rng.choice([1, 2, 3])
        configs.append((rng.choice([2, 13, 256, 300, 50257, rng.randint(2, 10**6)]), rng.randint(1, 2048),
                        rng.randint(0, 30), n_head, n_head * rng.randint(1, 33)))
    for V, P, L, H, d in list(configs[4:10]):
        configs += [(V, P, L + 1, H, d), (V, P + 5, L, H, d), (V + 1, P, L, H, d), (V, P, L, H, d + H)]
    return configs


def builds_while_counting(count_parameters, config):
    """(Runs in the worker.) count_parameters(config) while building a MiniGPT, a TransformerBlock, a
    MultiHeadAttention or a FeedForward raises at once: the classes it tried to build."""
    import torch
    tried = []
    original = torch.nn.Module.__init__

    class Built(Exception):
        pass

    def spy(self, *args, **kwargs):
        if type(self).__name__ in ("MiniGPT", "TransformerBlock", "MultiHeadAttention", "FeedForward"):
            tried.append(type(self).__name__)
            raise Built(type(self).__name__)
        return original(self, *args, **kwargs)

    torch.nn.Module.__init__ = spy
    try:
        count_parameters(config)
    except Built:
        pass
    finally:
        torch.nn.Module.__init__ = original
    return tried


def config_fields(cfg):
    """(Runs in the worker.) The config's five sizes, None for a field that is gone."""
    return [getattr(cfg, name, None) for name in ("vocab_size", "block_size", "n_layer", "n_head", "d_model")]


@exercise("count_parameters", weight=2, hint="V*d + block_size*d + n_layer*(12*d*d + 13*d) + 2*d in integer "
                                             "arithmetic (a division or a float loses exactness: int(d * d * "
                                             "(12 + 13 / d)) is off by one for d = 51), and every field of the "
                                             "config counts: a cache keyed on only some of them returns a "
                                             "stale count.", broad=True)
def test_count_parameters_matches_reference_on_many_configs(student, reference):
    """44 seeded configs (d_model 1 to 99, vocabularies up to 10^6, configs differing in one field): the
    reference's count, smallest first."""
    configs = sorted(count_configs(600), key=lambda sizes: len(str(sizes)))
    for sizes in configs:
        expect_equal(count(student, *sizes), reference.count_parameters(config(reference, *sizes)),
                     f"count_parameters(GPTConfig{sizes})")


@exercise("count_parameters", weight=2, hint="Use the formula: building MiniGPT(config) (on the CPU or on the "
                                             "meta device) or its blocks and summing numel() is what this "
                                             "exercise replaces; GPT-2 XL would take gigabytes.")
def test_count_parameters_does_not_build_the_model(student):
    """count_parameters(GPT-2 small) builds no MiniGPT, TransformerBlock, MultiHeadAttention or FeedForward."""
    tried = probe(student, builds_while_counting, student.count_parameters, config(student, 50257, 1024, 12, 12, 768))
    expect(not tried, f"count_parameters built a {tried[0] if tried else ''} to count its parameters")


@exercise("count_parameters", hint="Leave the config as it was: a recursion that does config.n_layer -= 1 "
                                   "changes the caller's config (use dataclasses.replace(config, n_layer=...) "
                                   "for a modified copy, or just multiply by n_layer).")
def test_count_parameters_leaves_the_config_unchanged(student):
    """After count_parameters(config), the config holds the same five sizes, and a second call agrees."""
    cfg = config(student, 101, 17, 3, 2, 10)
    first = as_number(student, student.count_parameters(cfg))
    expect_equal(probe(student, config_fields, cfg), [101, 17, 3, 2, 10],
                 "the config's (vocab_size, block_size, n_layer, n_head, d_model) after the call")
    expect_equal(as_number(student, student.count_parameters(cfg)), first, "a second count_parameters(config)")
