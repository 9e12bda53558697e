"""Hidden checks for 04-mini-gpt. Shapes differ from the notebook's visible checks: batch 1,
sequence length 1, head sizes 5 and 7, non-contiguous inputs, float64 everywhere so that the
tolerances sit far below any real bug. Modules are compared with the reference by loading the
reference's weights (LayerNorms perturbed away from 1 and 0, so that a misplaced norm shows).

The learner's code runs in a worker (autograder.remote): the student's modules and configs are
built there from the notebook's own GPTConfig, weights are set by loading a state dict edited
here, and what must happen there (non-contiguous views, a result's device) happens in a probe."""
import math

import torch
import torch.nn.functional as F

from autograder.checking import expect, expect_close, expect_equal, exercise
from autograder.remote import Remote, is_a, kind_of, probe

ATOL = 1e-10


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=gen(seed), dtype=torch.float64)


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


# scaled_dot_product_attention -----------------------------------------------------------------

SDPA = "scaled_dot_product_attention"


@exercise(SDPA, hint="Return a tuple (output, weights): output (..., T_q, d_v) = weights @ v, "
                     "weights (..., T_q, T_k).")
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
                               "transpose the last two axes of k, and accept non-contiguous inputs.")
def test_sdpa_matches_reference_on_odd_shapes(student, reference):
    """Batch 1, a head size of 7, non-contiguous q/k/v, sequence length 1: same as the reference."""
    for T in (6, 1):
        q, k, v = (randn(1, T, 2, 7, seed=16 + i).transpose(1, 2) for i in range(3))
        mask = reference.causal_mask(T)
        got = call(student, student.scaled_dot_product_attention, q, k, v, mask)
        expected = reference.scaled_dot_product_attention(q, k, v, mask)
        expect_close(got[0], expected[0], ATOL, what=f"the output (T = {T})")
        expect_close(got[1], expected[1], ATOL, what=f"the weights (T = {T})")


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
                              "dim=-1)); then causal attention; then self.proj.")
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
                              "by sqrt(head_dim), and merge with .transpose(1, 2).reshape(B, T, d_model).")
def test_mha_several_heads_match_reference(student, reference):
    """Three heads of size 4: same output as the reference."""
    mine, ref = pair(student, reference, MHA, dict(d_model=12, n_head=3))
    x = randn(2, 5, 12, seed=21)
    with torch.no_grad():
        expect_close(mine(x), ref(x), ATOL, what="the output")


@exercise(MHA, weight=2, hint="head_dim = d_model // n_head need not be a power of two, and T may be 1: "
                              "take B and T from x.shape, never from the config.")
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
                                        "no activation give other values.")
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
                                        "self.proj(F.gelu(self.fc(x), approximate='tanh')).")
def test_feed_forward_matches_reference(student, reference):
    """Random weights, batch 1, T = 1 and a non-contiguous input: same as the reference."""
    mine, ref = pair(student, reference, "FeedForward", dict(d_model=10, n_head=2))
    with torch.no_grad():
        for x in (randn(1, 1, 10, seed=30), non_contiguous(2, 3, 10, seed=31)):
            expect_close(call(student, mine, x), ref(x), ATOL, what=f"the output for shape {tuple(x.shape)}")


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
                                "the stream after the attention residual, through ln2 (not ln1).")
def test_block_matches_reference(student, reference):
    """Batch 1 with heads of size 5, T = 1, and a non-contiguous input: same as the reference."""
    mine, ref = pair(student, reference, BLOCK, dict(d_model=15, n_head=3), seed=3)
    with torch.no_grad():
        for x in (randn(1, 6, 15, seed=43), randn(1, 1, 15, seed=44), non_contiguous(2, 4, 15, seed=45)):
            expect_close(call(student, mine, x), ref(x), ATOL, what=f"the output for shape {tuple(x.shape)}")


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
                                    "then the final LayerNorm ln_f, then head.")
def test_minigpt_logits_match_reference(student, reference):
    """Random ids, batch 2, heads of size 5: the reference's logits."""
    mine, ref = pair(student, reference, "MiniGPT", {})
    idx = torch.randint(13, (2, 8), generator=gen(50))
    with torch.no_grad():
        expect_close(mine(idx)[0], ref(idx)[0], 1e-9, what="the logits")


@exercise("MiniGPT", weight=2, hint="Batch 1 and T = 1 work too, and T = block_size uses every "
                                    "position embedding: positions are torch.arange(T) (0 ... T-1).")
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


# count_parameters -----------------------------------------------------------------------------

def count(student, *sizes):
    """count_parameters(GPTConfig(*sizes)), both the student's, as a number: a one-element tensor or a
    numpy scalar gives the number it holds (the result's type is test_count_parameters_returns_int's)."""
    result = student.count_parameters(config(student, *sizes))
    if isinstance(result, Remote):
        return probe(student, numpy_item, result)
    return result.item() if isinstance(result, torch.Tensor) and result.numel() == 1 else result


def numpy_item(value):
    """(Runs in the worker.) A numpy scalar as the Python number it holds (the wire carries no numpy
    scalars); anything else as it is."""
    import numpy
    return value.item() if isinstance(value, numpy.generic) else value


@exercise("count_parameters", weight=2, hint="GPT-2 small has 124,439,808: V*d + block_size*d + "
                                             "n_layer*(12*d*d + 13*d) + 2*d; the tied head adds nothing.")
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
