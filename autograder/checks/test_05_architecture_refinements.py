"""Hidden checks for 05-architecture-refinements. Shapes differ from the notebook's visible checks:
batch 1, sequence length 1, head sizes 6, 10 and 14 (whose halves are odd), a single key/value head
(MQA) and as many as query heads (MHA), non-contiguous inputs, float64 everywhere so that the
tolerances sit far below any real bug (1e-10 to 1e-9 for differential checks and checks of precision;
1e-5 for checks of one property, so that a precision bug such as float32 inside a float64 computation
fails its own check first), plus float32, float16 and bfloat16 where the text promises something
about them. Modules are compared with the reference by loading the reference's
weights, with every RMSNorm weight moved away from 1 so that a misplaced norm shows.

Every promise of the text and docstrings, and the check that exercises it:

* RMSNorm: weight of ones, no other parameter (test_rms_norm_parameters); eps stored and used
  (test_rms_norm_uses_its_eps); eps inside the square root (test_rms_norm_eps_inside_the_sqrt); the root
  mean square, no mean subtracted (test_rms_norm_divides_by_root_mean_square); over the last axis
  (test_rms_norm_over_the_last_axis); times the weight (test_rms_norm_multiplies_by_weight); any
  leading dimensions and float32/float64 (test_rms_norm_matches_reference_on_random_inputs); float16
  computed in float32 (test_rms_norm_float16_does_not_overflow); float64 kept in float64
  (test_rms_norm_float64_precision); cast back to x's dtype before the weight
  (test_rms_norm_casts_back_before_the_weight); x unchanged (test_rms_norm_leaves_x_unchanged);
  training (test_rms_norm_gradients_match_reference).
* SwiGLU: three linear maps without bias (test_swiglu_parameters); SiLU on the gate
  (test_swiglu_silu_on_the_gate); SiLU itself (test_swiglu_activation_is_silu); a product with up
  (test_swiglu_gate_multiplies_up); any leading dimensions, float32/float64, x unchanged
  (test_swiglu_matches_reference_on_random_inputs); training (test_swiglu_gradients_match_reference).
* rope_tables: a (cos, sin) tuple of (seq_len, head_dim) in `dtype`, float32 by default
  (test_rope_tables_shapes_and_dtype); positions from 0 (test_rope_tables_position_zero_is_not_turned);
  θᵢ = theta^(-2i/head_dim) (test_rope_tables_frequencies, test_rope_tables_fastest_pair_first); half-split repetition
  (test_rope_tables_repeat_the_half); theta used (test_rope_tables_use_theta); angles in float64
  (test_rope_tables_long_table_in_float32); ValueError for odd head_dim
  (test_rope_tables_odd_head_dim_raises); seq_len 0 (test_rope_tables_empty); every dtype, size and
  theta (test_rope_tables_match_reference_on_many_inputs); fresh results, no state
  (test_rope_tables_calls_are_independent).
* apply_rope: x's shape and dtype, tables cast (test_apply_rope_keeps_dtype_and_shape); pairs (i, i +
  head_dim/2) (test_apply_rope_half_split_pairs); the turning direction, rotate_half = cat(-x2, x1)
  (test_apply_rope_direction); any leading dimensions (test_apply_rope_any_leading_dimensions); row t for
  position t, float32/float64 (test_apply_rope_matches_reference_on_random_inputs); non-contiguous x
  (test_apply_rope_non_contiguous_input); x unchanged (test_apply_rope_leaves_x_unchanged); training
  (test_apply_rope_gradients_match_reference).
* GroupedQueryAttention: projections without bias, nothing else (test_gqa_parameters, test_gqa_has_no_buffers);
  n_head, n_kv_head, head_dim (test_gqa_keeps_sizes); MHA and MQA ends (test_gqa_multi_head_end,
  test_gqa_multi_query_end); head h reads key/value head h // groups (test_gqa_groups_consecutive_heads);
  RoPE on q and k (test_gqa_turns_q_and_k), not v (test_gqa_does_not_turn_v); causal
  (test_gqa_is_causal); 1/sqrt(head_dim) (test_gqa_scales_by_head_dim); non-contiguous x, batch 1,
  T = 1 (test_gqa_non_contiguous_batch_one_length_one); many configs, x/cos/sin unchanged
  (test_gqa_matches_reference_on_random_configs); no dropout (test_gqa_train_mode_has_no_dropout);
  training (test_gqa_gradients_match_reference).
* LLaMABlock: submodules in order (test_block_submodules), RMSNorms (test_block_norms_are_rms_norms); Pre-norm residuals
  (test_block_with_zero_branches_is_identity, test_block_attention_residual, test_block_mlp_after_attention);
  config.eps (test_block_uses_config_eps); many configs (test_block_matches_reference_on_random_configs);
  x unchanged (test_block_leaves_x_unchanged); no dropout (test_block_train_mode_has_no_dropout); training
  (test_block_gradients_match_reference).
* MiniLLaMA: parameters and ModuleList (test_minillama_parameters); untied head
  (test_minillama_head_is_untied); distinct layers (test_minillama_layers_are_distinct); config kept
  (test_minillama_keeps_config); final norm (test_minillama_final_norm); rope_theta
  (test_minillama_uses_rope_theta); tables in x's dtype (test_minillama_tables_in_the_models_dtype);
  no block_size, T = 1 (test_minillama_any_length); shifted mean loss, -100, None
  (test_minillama_loss_is_shifted_mean_cross_entropy, test_minillama_loss_ignores_minus_100_and_none);
  a 0-dim loss with gradient (test_minillama_loss_is_a_0_dim_tensor_with_gradient); many configs,
  idx/targets unchanged (test_minillama_matches_reference_on_random_configs); no dropout
  (test_minillama_train_mode_has_no_dropout); training (test_minillama_gradients_match_reference).

The learner's code runs in a worker (autograder.remote): the student's modules and configs are built
there from the notebook's own LLaMAConfig, weights are set by loading the reference's state dict,
and what must happen there (non-contiguous views, backward passes) happens in a probe."""
import math
import random

import torch
import torch.nn.functional as F

from autograder import generators
from autograder.checking import (Case, CheckFailed, exercise, expect, expect_close, expect_equal,
                                 expect_independent_calls, expect_proven, expect_same_as_reference,
                                 judged_only_if_right)
from autograder.remote import is_a, kind_of, observe, probe
from autograder.torch_checks import (Shown, buffer_names, child_names, expect_same_in_train_and_eval,
                                     expect_same_module_gradients, gradients, randn)

ATOL = 1e-10  # differential checks and checks of precision
CLOSE = 1e-5  # checks of one property: a precision bug (float32 inside) is left to its own check


def llama_config(namespace, **sizes):
    """namespace.LLaMAConfig: the student's (built in the worker) or the reference's. Default heads of 6."""
    fields = dict(vocab_size=13, n_layer=2, n_head=4, n_kv_head=2, d_model=24, hidden_dim=20)
    return namespace.LLaMAConfig(**{**fields, **sizes})


def twins(student, reference, name, *args, seed=0, dtype=torch.float64, **sizes):
    """(student's module, reference's module) of class `name` with the same weights in `dtype`, eval mode.
    RMSNorm and SwiGLU are built from `args`; the others from an LLaMAConfig of `sizes`. Every RMSNorm
    weight is moved away from 1."""
    torch.manual_seed(seed)
    mine_args, ref_args = (args, args) if args else ((llama_config(student, **sizes),), (llama_config(reference, **sizes),))
    ref = getattr(reference, name)(*ref_args).to(dtype)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter_name, p in ref.named_parameters():
            if parameter_name.endswith("norm.weight") or parameter_name == "weight":
                p.copy_(1 + 0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    mine = getattr(student, name)(*mine_args).to(dtype)
    mine.load_state_dict(dict(ref.state_dict()))
    return mine.eval(), ref.eval()


def tables(head_dim, T, theta=10000.0, dtype=torch.float64):
    """RoPE's (cos, sin) for positions 0 ... T-1, half-split, computed here."""
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq).repeat(1, 2)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def state_shapes(module):
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


TOLERANCE = {torch.float64: 1e-9, torch.float32: 5e-5, torch.float16: 2e-2, torch.bfloat16: 2e-2}


def same_result(got, expected, what):
    """Tensors (or tuples of them, or None) of the expected dtype and shape, within TOLERANCE[dtype]."""
    if isinstance(expected, tuple):
        expect(isinstance(got, tuple) and len(got) == len(expected),
               f"{what}: expected a tuple of {len(expected)}, got {kind_of(got)}")
        for i, (g, e) in enumerate(zip(got, expected)):
            same_result(g, e, f"{what}, item {i}")
        return
    if expected is None:
        expect(got is None, f"{what}: expected None, got {kind_of(got)}")
        return
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_close(got, expected.detach(), TOLERANCE[expected.dtype], what=what)


def inputs(rng, shapes, last, dtype=torch.float64, scale=1.0, extra=()):
    """A Shown case per leading shape: x of shape (*shape, last), then the `extra` arguments."""
    cases = []
    for shape in shapes:
        x = generators.tensor(rng, (*shape, last), dtype, scale)
        label = f"(x of shape {tuple(x.shape)}, {str(dtype).removeprefix('torch.')}" + \
                (f", scale {scale:g}" if scale != 1 else "") + ("".join(f", {a}" for a in extra[1]) if extra else "") + ")"
        cases.append(Shown((x, *(extra[0] if extra else ())), {}, label))
    return cases


def on_transposed(function, x, *rest):
    """(Runs in the worker.) function(x.transpose(0, 1), *rest): a first argument that is not contiguous."""
    view = x.transpose(0, 1)
    assert not view.is_contiguous()
    return function(view, *rest)


def expect_unchanged_and_new(call, expected, what):
    """The observed call left its arguments alone and returned a new tensor, credited only when that
    tensor is the reference's `expected`."""
    expect_proven(not call.changed, f"{what} changed its argument {call.changed[0] + 1 if call.changed else ''} "
                                    "in place; leave the caller's tensors as they were")
    expect_proven(call.returned_argument is None, f"{what} returned its argument itself; return a new tensor")
    with judged_only_if_right():
        same_result(call.result, expected, f"{what}'s result")


# RMSNorm --------------------------------------------------------------------------------------

@exercise("RMSNorm", hint="One parameter: self.weight = nn.Parameter(torch.ones(dim)); no bias, no other "
                          "parameters.")
def test_rms_norm_parameters(student):
    """A weight of ones of shape (dim,), nothing else."""
    norm = student.RMSNorm(7)
    expect_equal(state_shapes(norm), {"weight": (7,)}, "the state_dict's names and shapes")
    expect_equal(norm.weight.tolist(), [1.0] * 7, "the initial weight")


@exercise("RMSNorm", weight=2, hint="Divide by the root mean square sqrt(mean(x²)): RMSNorm does not subtract "
                                    "the mean (that is LayerNorm), and the statistic is neither the mean of x or "
                                    "of |x| nor the norm ||x||.")
def test_rms_norm_divides_by_root_mean_square(student):
    """eps = 0 and a vector far from mean 0 (around 5): x / sqrt(mean(x²)), the mean kept."""
    norm = student.RMSNorm(8, eps=0.0).double()
    x = 5 + randn(8, seed=3)
    with torch.no_grad():
        expect_close(norm(x), x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True)), CLOSE, what="the output")


@exercise("RMSNorm", hint="The mean square is over the LAST axis only (mean(-1, keepdim=True)): each "
                          "vector is normalised on its own, not by a statistic of the whole tensor.")
def test_rms_norm_over_the_last_axis(student):
    """eps = 0, rows of very different sizes: each row has a root mean square of 1 afterwards."""
    norm = student.RMSNorm(4, eps=0.0).double()
    x = randn(3, 4, seed=4) * torch.tensor([[3.0], [30.0], [300.0]], dtype=torch.float64)
    with torch.no_grad():
        expect_close(norm(x).pow(2).mean(-1), torch.ones(3, dtype=torch.float64), CLOSE, what="each row's mean square")


@exercise("RMSNorm", weight=2, hint="eps goes inside the square root, added to the mean square: "
                                    "x / sqrt(mean(x²) + eps) (torch.rsqrt(ms + eps)), not x / (sqrt(mean(x²)) + eps).")
def test_rms_norm_eps_inside_the_sqrt(student):
    """eps = 1e-6 on vectors of mean square about 1e-6 (where eps matters): x / sqrt(mean(x²) + eps)."""
    norm = student.RMSNorm(6, eps=1e-6).double()
    x = 1e-3 * randn(4, 6, seed=2)
    with torch.no_grad():
        expect_close(norm(x), x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6), CLOSE, what="the output")


@exercise("RMSNorm", weight=2, hint="Keep the eps given to __init__ (self.eps = eps) and use self.eps in "
                                    "forward: a constant such as 1e-5 or 1e-6 ignores it.")
def test_rms_norm_uses_its_eps(student):
    """RMSNorm(5, eps=0.25) stores eps = 0.25 and uses it: x / sqrt(mean(x²) + 0.25)."""
    norm = student.RMSNorm(5, eps=0.25).double()
    expect_equal(norm.eps, 0.25, "self.eps")
    x = randn(3, 5, seed=1)
    with torch.no_grad():
        expect_close(norm(x), x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 0.25), CLOSE, what="the output")


@exercise("RMSNorm", weight=2, hint="Multiply the normalised x by self.weight (element by element, one "
                                    "weight per channel of the last axis).")
def test_rms_norm_multiplies_by_weight(student, reference):
    """A learned weight away from 1: weight * x / sqrt(mean(x²) + eps)."""
    mine, ref = twins(student, reference, "RMSNorm", 6, seed=5)
    x = randn(2, 3, 6, seed=5)
    with torch.no_grad():
        expect_close(mine(x), ref(x), CLOSE, what="the output")


@exercise("RMSNorm", weight=3, hint="weight * x / sqrt(mean(x², last axis) + eps) for ANY leading dimensions "
                                    "(x of shape (dim,), (N, dim), (B, T, dim), 4-D), sizes from 1, "
                                    "float32 and float64, large and tiny values.", broad=True)
def test_rms_norm_matches_reference_on_random_inputs(student, reference):
    """Four norms (dim 1 to 16, eps 1e-6 to 0.5), 1-D to 4-D inputs, float32 and float64, scales 1e-3 to
    1000: the reference's outputs, smallest input first, x left unchanged."""
    rng = random.Random(10)
    for number, (dim, eps) in enumerate([(1, 1e-5), (5, 1e-6), (7, 0.5), (16, 1e-5)]):
        for dtype in (torch.float64, torch.float32):
            mine, ref = twins(student, reference, "RMSNorm", dim, eps, seed=10 + number, dtype=dtype)
            shapes = [(), (1,), (2, 3), (1, 1, 2)] + [generators.leading_shape(rng) for _ in range(2)]
            cases = inputs(rng, shapes, dim, dtype) + inputs(rng, [(2,)], dim, dtype, scale=1000.0) + \
                inputs(rng, [(3,)], dim, dtype, scale=1e-3)
            with torch.no_grad():
                expect_same_as_reference(mine, ref, cases, f"RMSNorm({dim}, eps={eps:g}) in {dtype}",
                                         compare=same_result)


@exercise("RMSNorm", weight=2, hint="Compute the statistic in float32 for float16/bfloat16 inputs: x² "
                                    "overflows float16 above 256 (65,504 is its largest value), giving inf "
                                    "and an output of 0. h = x.to(torch.promote_types(x.dtype, torch.float32)).")
def test_rms_norm_float16_does_not_overflow(student, reference):
    """float16 inputs with entries in the hundreds: the reference's outputs (no inf, no 0)."""
    mine, ref = twins(student, reference, "RMSNorm", 6, seed=11, dtype=torch.float16)
    x = (300 * randn(2, 6, seed=11)).half()
    with torch.no_grad():
        expect_close(torch.as_tensor(mine(x)).double(), ref(x).double(), 2e-2, what="the output for float16 entries in the hundreds")


@exercise("RMSNorm", weight=2, hint="float64 stays float64: x.float() would compute a float64 input in "
                                    "float32 and lose 9 digits. Use torch.promote_types(x.dtype, torch.float32).")
def test_rms_norm_float64_precision(student, reference):
    """float64 inputs are computed in float64: the reference's outputs to 1e-12."""
    mine, ref = twins(student, reference, "RMSNorm", 9, seed=12)
    x = randn(3, 9, seed=12)
    with torch.no_grad():
        expect_close(mine(x), ref(x), 1e-12, what="the output")


@exercise("RMSNorm", weight=2, hint="Cast the normalised values back to x's dtype BEFORE multiplying by the "
                                    "weight: self.weight * h.to(x.dtype), as Hugging Face's LlamaRMSNorm; a "
                                    "float32 weight times a bfloat16 x then gives float32, with x's rounding.")
def test_rms_norm_casts_back_before_the_weight(student, reference):
    """A float32 norm on a bfloat16 input: weight * normalised.to(bfloat16), a float32 result."""
    mine, ref = twins(student, reference, "RMSNorm", 8, seed=13, dtype=torch.float32)
    x = randn(4, 8, seed=13).to(torch.bfloat16)
    with torch.no_grad():
        got, expected = mine(x), ref(x)
    expect_equal(got.dtype, torch.float32, "the result's dtype (float32 weight times bfloat16 values)")
    expect_close(got, expected, 1e-6, what="the output")


@exercise("RMSNorm", hint="Leave x as it was: no in-place operations on it (x.pow_, x *= ..., x.mul_), and "
                          "return a new tensor.")
def test_rms_norm_leaves_x_unchanged(student, reference):
    """The call changes nothing in x and returns a new tensor."""
    mine, ref = twins(student, reference, "RMSNorm", 5, seed=14)
    x = randn(2, 5, seed=14)
    with torch.no_grad():
        expect_unchanged_and_new(observe(mine, x), ref(x), "RMSNorm")


@exercise("RMSNorm", weight=2, hint="Training backpropagates through the norm to x and to the weight: no "
                                    ".detach(), torch.no_grad() or .data, no in-place change of a tensor "
                                    "autograd needs.", broad=True)
def test_rms_norm_gradients_match_reference(student, reference):
    """The gradients of x and of the weight equal the reference's."""
    mine, ref = twins(student, reference, "RMSNorm", 6, seed=15)
    expect_same_module_gradients(student, mine, ref, [randn(2, 3, 6, seed=15)], randn(2, 3, 6, seed=16), "RMSNorm")


# SwiGLU ---------------------------------------------------------------------------------------

@exercise("SwiGLU", hint="Three layers without bias: gate_proj and up_proj nn.Linear(d_model, hidden_dim, "
                         "bias=False), down_proj nn.Linear(hidden_dim, d_model, bias=False).")
def test_swiglu_parameters(student):
    """gate_proj (h, d), up_proj (h, d), down_proj (d, h), no biases."""
    expect_equal(state_shapes(student.SwiGLU(5, 7)),
                 {"gate_proj.weight": (7, 5), "up_proj.weight": (7, 5), "down_proj.weight": (5, 7)},
                 "the state_dict's names and shapes")


def swiglu_with(student, gate, up, down):
    """The student's SwiGLU with the given float64 weights."""
    layer = student.SwiGLU(gate.shape[1], gate.shape[0]).double()
    layer.load_state_dict({"gate_proj.weight": gate, "up_proj.weight": up, "down_proj.weight": down})
    return layer


@exercise("SwiGLU", weight=2, hint="Multiply the gate by up_proj(x) element by element: silu(gate(x)) * "
                                   "up(x). Not a sum, and the SiLU is not applied to the product.")
def test_swiglu_gate_multiplies_up(student):
    """With up_proj zero the output is exactly 0: the gate multiplies up(x)."""
    eye = torch.eye(3, dtype=torch.float64)
    x = torch.linspace(-2, 2, 6, dtype=torch.float64).reshape(2, 3)
    with torch.no_grad():
        expect_close(swiglu_with(student, eye, torch.zeros(3, 3, dtype=torch.float64), eye)(x),
                     torch.zeros(2, 3, dtype=torch.float64), CLOSE, what="the output with up_proj = 0")


@exercise("SwiGLU", weight=2, hint="The gate is silu(gate_proj(x)) = g * sigmoid(g) (F.silu), on the "
                                   "GATE's output: not GELU, ReLU or the sigmoid alone (that is GLU), and not "
                                   "on up_proj(x).")
def test_swiglu_activation_is_silu(student):
    """gate(x) passes x on, up(x) is 1 (from an input column of ones): the output is silu(x), over [-5, 5]."""
    eye, zeros, ones = torch.eye(3, dtype=torch.float64), torch.zeros(3, 3, dtype=torch.float64), torch.ones(3, 1, dtype=torch.float64)
    layer = swiglu_with(student, torch.cat([eye, 0 * ones], 1), torch.cat([zeros, ones], 1),
                        torch.cat([eye, torch.zeros(1, 3, dtype=torch.float64)], 0))
    x = torch.linspace(-5, 5, 12, dtype=torch.float64).reshape(4, 3)
    with torch.no_grad():
        expect_close(layer(torch.cat([x, ones[:1].expand(4, 1)], 1))[:, :3], F.silu(x), CLOSE, what="the output")


@exercise("SwiGLU", weight=2, hint="The SiLU goes on gate_proj(x) alone: not on up_proj(x), and not on the "
                                   "product gate * up: down_proj(silu(gate_proj(x)) * up_proj(x)).")
def test_swiglu_silu_on_the_gate(student):
    """gate = identity, up = 2·identity: the output is silu(x) * 2x, not silu(2x) * x."""
    eye = torch.eye(4, dtype=torch.float64)
    layer = swiglu_with(student, eye, 2 * eye, eye)
    x = torch.linspace(-3, 3, 8, dtype=torch.float64).reshape(2, 4)
    with torch.no_grad():
        expect_close(layer(x), F.silu(x) * 2 * x, CLOSE, what="the output")


@exercise("SwiGLU", hint="float64 stays float64: computing the hidden layer in float32 (.float()) loses 9 "
                         "digits of a float64 input.")
def test_swiglu_float64_precision(student, reference):
    """float64 inputs are computed in float64: the reference's outputs to 1e-12."""
    mine, ref = twins(student, reference, "SwiGLU", 7, 9, seed=23)
    x = randn(3, 7, seed=23)
    with torch.no_grad():
        expect_close(mine(x), ref(x), 1e-12, what="the output")


@exercise("SwiGLU", weight=3, hint="down_proj(silu(gate_proj(x)) * up_proj(x)) for any leading dimensions "
                                   "((d,), (N, d), (B, T, d), 4-D), d_model and hidden_dim from 1, float32 "
                                   "and float64; x left unchanged.", broad=True)
def test_swiglu_matches_reference_on_random_inputs(student, reference):
    """Four layers (d 1 to 8, hidden 1 to 11), 1-D to 4-D inputs, float32 and float64: the reference's
    outputs, smallest input first."""
    rng = random.Random(20)
    for number, (d, h) in enumerate([(1, 1), (3, 8), (8, 11), (6, 2)]):
        for dtype in (torch.float64, torch.float32):
            mine, ref = twins(student, reference, "SwiGLU", d, h, seed=20 + number, dtype=dtype)
            shapes = [(), (1,), (2, 3), (1, 2, 1)] + [generators.leading_shape(rng) for _ in range(2)]
            with torch.no_grad():
                expect_same_as_reference(mine, ref, inputs(rng, shapes, d, dtype) + inputs(rng, [(2,)], d, dtype, 30.0),
                                         f"SwiGLU({d}, {h}) in {dtype}", compare=same_result)


@exercise("SwiGLU", weight=2, hint="Training backpropagates through the layer: no .detach(), no in-place "
                                   "change of gate_proj's output (silu_ on it breaks backward).", broad=True)
def test_swiglu_gradients_match_reference(student, reference):
    """The gradients of x and of the three weights equal the reference's."""
    mine, ref = twins(student, reference, "SwiGLU", 5, 9, seed=21)
    expect_same_module_gradients(student, mine, ref, [randn(2, 3, 5, seed=21)], randn(2, 3, 5, seed=22), "SwiGLU")


# rope_tables ----------------------------------------------------------------------------------

@exercise("rope_tables", hint="Return a tuple (cos, sin), each of shape (seq_len, head_dim) and dtype "
                              "`dtype` (float32 by default).")
def test_rope_tables_shapes_and_dtype(student):
    """A (cos, sin) tuple of shape (seq_len, head_dim); float32 by default, float64 when asked."""
    result = student.rope_tables(6, 7)
    expect(isinstance(result, tuple) and len(result) == 2, f"expected a tuple (cos, sin), got {kind_of(result)}")
    expect_equal([(tuple(t.shape), t.dtype) for t in result], [((7, 6), torch.float32)] * 2, "shapes and dtypes")
    result = student.rope_tables(10, 3, dtype=torch.float64)
    expect_equal([(tuple(t.shape), t.dtype) for t in result], [((3, 10), torch.float64)] * 2,
                 "shapes and dtypes with dtype=torch.float64")


@exercise("rope_tables", weight=2, hint="Positions are 0 ... seq_len - 1 (torch.arange(seq_len)): position 0 "
                                        "is not turned, so its cos row is all 1 and its sin row all 0. "
                                        "Positions from 1 shift every angle; and the tuple is (cos, sin).")
def test_rope_tables_position_zero_is_not_turned(student):
    """Row 0: cos 1 and sin 0."""
    cos, sin = student.rope_tables(6, 4, dtype=torch.float64)
    expect_close(cos[0], torch.ones(6, dtype=torch.float64), ATOL, what="cos at position 0")
    expect_close(sin[0], torch.zeros(6, dtype=torch.float64), ATOL, what="sin at position 0")


@exercise("rope_tables", weight=2, hint="Pair i turns at theta^(-2i/head_dim), i = 0 ... head_dim/2 - 1: the "
                                        "exponent is 2i/head_dim (torch.arange(0, head_dim, 2) / head_dim), "
                                        "not i/head_dim.")
def test_rope_tables_frequencies(student):
    """head_dim 10: at position 1 the cosines, in any order, are those of 10000^(-2i/10), each twice."""
    cos, _ = student.rope_tables(10, 2, dtype=torch.float64)
    expected = torch.cos(10000.0 ** (-torch.arange(0, 10, 2, dtype=torch.float64) / 10)).repeat(2)
    expect_close(cos[1].sort().values, expected.sort().values, CLOSE, what="the cosines at position 1, sorted")


@exercise("rope_tables", hint="Pair 0 (dimensions 0 and head_dim/2) turns fastest, by 1 radian per position; "
                              "the frequencies fall from there (theta^(-2i/head_dim) for i = 0, 1, ...), not "
                              "in the reverse order.")
def test_rope_tables_fastest_pair_first(student):
    """head_dim 8: dimension 0 turns by 1 radian at position 1."""
    cos, sin = student.rope_tables(8, 2, dtype=torch.float64)
    expect_close(torch.stack((cos[1, 0], sin[1, 0])), torch.tensor([math.cos(1.0), math.sin(1.0)], dtype=torch.float64),
                 CLOSE, what="(cos, sin) of dimension 0 at position 1")


@exercise("rope_tables", weight=2, hint="Half-split layout: the head_dim/2 angles, then the same angles again "
                                        "(torch.cat((angles, angles), -1)), so that dimension i and i + "
                                        "head_dim/2 share an angle. repeat_interleave gives the interleaved "
                                        "layout (0, 0, 1, 1, ...).")
def test_rope_tables_repeat_the_half(student):
    """head_dim 14: columns 7 ... 13 repeat columns 0 ... 6, in cos and in sin."""
    cos, sin = student.rope_tables(14, 5, dtype=torch.float64)
    expected_cos, expected_sin = tables(14, 5)
    expect_close(cos, expected_cos, CLOSE, what="cos")
    expect_close(sin, expected_sin, CLOSE, what="sin")


@exercise("rope_tables", weight=2, hint="Use the `theta` argument as the base (LLaMA 3 uses 500,000): a "
                                        "hard-coded 10000 ignores it.")
def test_rope_tables_use_theta(student):
    """theta = 500,000 and theta = 2.5 give their own angles."""
    for theta in (500000.0, 2.5):
        cos, sin = student.rope_tables(8, 6, theta=theta, dtype=torch.float64)
        expected_cos, expected_sin = tables(8, 6, theta)
        expect_close(cos, expected_cos, CLOSE, what=f"cos with theta={theta:g}")
        expect_close(sin, expected_sin, CLOSE, what=f"sin with theta={theta:g}")


@exercise("rope_tables", weight=2, hint="Compute the angles in float64 (positions and frequencies as float64 "
                                        "aranges), then cast cos and sin to `dtype`: float32 angles are off by "
                                        "about 1e-4 radians at position 4,000.")
def test_rope_tables_long_table_in_float32(student):
    """4,096 positions in float32: the float64 angles' cos and sin, rounded to float32 (to 1e-6)."""
    cos, sin = student.rope_tables(16, 4096)
    expected_cos, expected_sin = tables(16, 4096, dtype=torch.float32)
    expect_close(cos, expected_cos, 1e-6, what="cos")
    expect_close(sin, expected_sin, 1e-6, what="sin")


@exercise("rope_tables", hint="An odd head_dim cannot be cut into pairs: raise ValueError (for example "
                              "`if head_dim % 2: raise ValueError(...)`).")
def test_rope_tables_odd_head_dim_raises(student):
    """head_dim 7 and 1 raise ValueError."""
    for head_dim in (7, 1):
        try:
            student.rope_tables(head_dim, 4)
        except ValueError:
            continue
        raise CheckFailed(f"rope_tables({head_dim}, 4) should raise ValueError (odd head_dim)")


@exercise("rope_tables", hint="seq_len = 0 gives two empty (0, head_dim) tensors.")
def test_rope_tables_empty(student):
    """seq_len 0: two (0, head_dim) tensors."""
    expect_equal([tuple(t.shape) for t in student.rope_tables(4, 0)], [(0, 4), (0, 4)], "the shapes")


@exercise("rope_tables", weight=3, hint="cos/sin of m * theta^(-2i/head_dim) for m = 0 ... seq_len-1, half-split, "
                                        "computed in float64, for head_dim 2 to 16, seq_len 0 to 40, any theta, "
                                        "and dtypes float64, float32, float16 and bfloat16; ValueError for an "
                                        "odd head_dim.", broad=True)
def test_rope_tables_match_reference_on_many_inputs(student, reference):
    """30 seeded (head_dim, seq_len, theta, dtype), odd head sizes included: the reference's tables, smallest
    first."""
    rng = random.Random(30)
    dtypes = [torch.float64, torch.float32, torch.float16, torch.bfloat16]
    cases = []
    for _ in range(30):
        head_dim = rng.choice([2, 4, 6, 10, 14, 16, 3])
        seq_len, theta, dtype = rng.randint(0, 40), rng.choice([10000.0, 500000.0, 100.0, 1.5]), rng.choice(dtypes)
        cases.append(Shown((head_dim, seq_len, theta, dtype), {}, f"({head_dim}, {seq_len}, {theta:g}, {dtype})"))
    expect_same_as_reference(student.rope_tables, reference.rope_tables, cases, "rope_tables", compare=same_result)


@exercise("rope_tables", hint="Return new tensors on every call: a cache (functools.lru_cache, a dict) "
                              "hands the same tensors to every caller, and a cache keyed on some of the "
                              "arguments returns stale tables.")
def test_rope_tables_calls_are_independent(student, reference):
    """Calls in a row that differ in one argument, one repeated: each the reference's, none shared."""
    calls = [Case((4, 3)), Case((4, 3), {"theta": 100.0}), Case((4, 3), {"dtype": torch.float64}),
             Case((4, 5)), Case((6, 3)), Case((4, 3))]
    expect_independent_calls(student, reference, "rope_tables", calls, compare=same_result)


# apply_rope -----------------------------------------------------------------------------------

@exercise("apply_rope", hint="Return x's shape and dtype: cast cos and sin to x.dtype first "
                             "(cos.to(x.dtype)); float64 tables with a float32 x must give float32.")
def test_apply_rope_keeps_dtype_and_shape(student):
    """A float32 x (2, 3, 5, 6) with float64 tables: a float32 result of the same shape."""
    cos, sin = tables(6, 5)
    result = student.apply_rope(randn(2, 3, 5, 6, seed=40, dtype=torch.float32), cos, sin)
    expect_equal((tuple(result.shape), result.dtype), ((2, 3, 5, 6), torch.float32), "the shape and dtype")


@exercise("apply_rope", weight=2, hint="Pair dimension i with i + head_dim/2 (the half-split pairing): "
                                       "rotate_half(x) = cat(-x[..., half:], x[..., :half]). Pairing neighbours "
                                       "(0, 1), (2, 3), ... is the interleaved layout of Meta's code.")
def test_apply_rope_half_split_pairs(student):
    """head_dim 6: a unit vector on dimension 0, turned at position 1, moves into dimension 3 only (sizes
    of its entries)."""
    cos, sin = tables(6, 2)
    x = torch.zeros(1, 1, 2, 6, dtype=torch.float64)
    x[..., 1, 0] = 1.0
    expected = torch.zeros(6, dtype=torch.float64)
    expected[0], expected[3] = math.cos(1.0), math.sin(1.0)
    expect_close(student.apply_rope(x, cos, sin)[0, 0, 1].abs(), expected, CLOSE,
                 what="the sizes of the entries at position 1")


@exercise("apply_rope", weight=2, hint="The direction: rotate_half(x) = cat(-x2, x1) (minus on the SECOND "
                                       "half), so a pair (a, b) becomes (a cos - b sin, b cos + a sin). "
                                       "cat(x2, -x1) turns the other way.")
def test_apply_rope_direction(student):
    """head_dim 2, one pair [0, 1] at position 1 (1 radian): [-sin 1, cos 1]."""
    cos, sin = tables(2, 2)
    x = torch.tensor([[0.0, 1.0], [0.0, 1.0]], dtype=torch.float64)[None, None]
    expect_close(student.apply_rope(x, cos, sin)[0, 0, 1], torch.tensor([-math.sin(1.0), math.cos(1.0)],
                                                                         dtype=torch.float64), CLOSE, what="the vector")


@exercise("apply_rope", weight=2, hint="ANY leading dimensions: x may be (T, head_dim), (H, T, head_dim), "
                                       "(B, H, T, head_dim) or 5-D; never unpack x.shape into B, H, T, D.")
def test_apply_rope_any_leading_dimensions(student, reference):
    """2-D, 3-D and 5-D x: the reference's results."""
    cos, sin = tables(6, 4)
    for shape in ((4, 6), (3, 4, 6), (2, 1, 2, 4, 6)):
        x = randn(*shape, seed=46)
        expect_close(student.apply_rope(x, cos, sin), reference.apply_rope(x, cos, sin), ATOL,
                     what=f"the result for x of shape {shape}")


def rope_cases(rng, count):
    """Seeded (x, cos, sin): 0 to 3 leading dimensions, T 1 to 9, head_dim 2 to 14, float32 and float64 x,
    tables of either dtype."""
    cases = []
    for _ in range(count):
        T, head_dim = rng.randint(1, 9), rng.choice([2, 4, 6, 10, 14])
        lead = tuple(rng.choice([1, 2, 3]) for _ in range(rng.randint(0, 3)))
        dtype, table_dtype = rng.choice([torch.float64, torch.float64, torch.float32]), rng.choice([torch.float64, torch.float32])
        x = generators.tensor(rng, (*lead, T, head_dim), dtype)
        cos, sin = tables(head_dim, T, rng.choice([10000.0, 50.0]), table_dtype)
        cases.append(Shown((x, cos, sin), {}, f"(x {tuple(x.shape)} {dtype}, tables {tuple(cos.shape)} {table_dtype})"))
    return cases


@exercise("apply_rope", weight=3, hint="x * cos + rotate_half(x) * sin with the tables cast to x.dtype, row t "
                                       "for x[..., t, :], for ANY leading dimensions (none to three), T = 1, "
                                       "head_dim 2 to 14; x, cos and sin left unchanged.", broad=True)
def test_apply_rope_matches_reference_on_random_inputs(student, reference):
    """30 seeded inputs (2-D to 5-D x, float32 and float64, tables of either dtype): the reference's results,
    smallest first."""
    expect_same_as_reference(student.apply_rope, reference.apply_rope, rope_cases(random.Random(41), 30),
                             "apply_rope", compare=same_result)


@exercise("apply_rope", hint="x may be non-contiguous: split with chunk or slicing (x[..., :half]) rather "
                             "than x.view(...), which fails on a transposed tensor.")
def test_apply_rope_non_contiguous_input(student, reference):
    """A transposed (non-contiguous) x: the reference's result."""
    cos, sin = tables(10, 4)
    x = randn(3, 2, 4, 10, seed=42)  # transposed in the worker to (2, 3, 4, 10)
    got = probe(student, on_transposed, student.apply_rope, x, cos, sin)
    expect_close(got, reference.apply_rope(x.transpose(0, 1), cos, sin), ATOL, what="the result")


@exercise("apply_rope", weight=2, hint="Leave x as it was: no in-place operations on x or on a view of it "
                                       "(x.mul_, x[..., :half] = ...); build the result out of place.")
def test_apply_rope_leaves_x_unchanged(student, reference):
    """The call changes neither x nor the tables, and returns a new tensor."""
    cos, sin = tables(6, 3)
    x = randn(2, 3, 6, seed=43)
    expect_unchanged_and_new(observe(student.apply_rope, x, cos, sin), reference.apply_rope(x, cos, sin), "apply_rope")


@exercise("apply_rope", hint="Training backpropagates through RoPE to q and k: no .detach() and no "
                             "in-place writes into x or its views.", broad=True)
def test_apply_rope_gradients_match_reference(student, reference):
    """The gradient of x equals the reference's."""
    cos, sin = tables(6, 4)
    args, weights = [randn(2, 4, 6, seed=44), cos, sin], (randn(2, 4, 6, seed=45),)
    got = probe(student, gradients, student.apply_rope, args, weights)
    expected = gradients(reference.apply_rope, args, weights)
    # x's gradient only: a correct apply_rope may read either half of the (duplicated) tables
    expect(got is not None and got[0][0] is not None, "no gradient reached x")
    expect_close(got[0][0], expected[0][0], 1e-9, what="the gradient of x")


# GroupedQueryAttention ------------------------------------------------------------------------

GQA = "GroupedQueryAttention"


def attend_cases(rng, d_model, head_dim, shapes, dtype=torch.float64):
    """(x, cos, sin) cases for attention modules: x (B, T, d_model) and the tables of T positions."""
    cases = []
    for B, T in shapes:
        x = generators.tensor(rng, (B, T, d_model), dtype)
        cases.append(Shown((x, *tables(head_dim, T, dtype=dtype)), {}, f"(x of shape {(B, T, d_model)}, cos, sin)"))
    return cases


def gqa_outputs(student, reference, seed, edit=None, turn=True, **sizes):
    """The student's and the reference's output at the LAST of 6 positions (it sees every position, so the
    causal mask plays no part) on one seeded input. `edit` changes the weights both use; with `turn`
    False the tables turn nothing (cos 1, sin 0)."""
    mine, ref = twins(student, reference, GQA, seed=seed, **sizes)
    if edit:
        state = edit(dict(ref.state_dict()))
        mine.load_state_dict(state)
        ref.load_state_dict(state)
    config = llama_config(reference, **sizes)
    x = randn(2, 6, config.d_model, seed=seed)
    cos, sin = tables(config.head_dim, 6)
    if not turn:
        cos, sin = torch.ones_like(cos), torch.zeros_like(sin)
    with torch.no_grad():
        return mine(x, cos, sin)[:, -1], ref(x, cos, sin)[:, -1]


def expect_same_outputs(student, reference, name, seed, atol=ATOL, **sizes):
    """The student's module `name` (attention or block) gives the reference's output at every position of
    one seeded input (batch 2, 5 positions)."""
    mine, ref = twins(student, reference, name, seed=seed, **sizes)
    config = llama_config(reference, **sizes)
    x = randn(2, 5, config.d_model, seed=seed)
    with torch.no_grad():
        expect_close(mine(x, *tables(config.head_dim, 5)), ref(x, *tables(config.head_dim, 5)), atol, what="the output")


MHA_SIZES = dict(n_head=4, n_kv_head=4, d_model=24)  # every query head has its own key/value head


@exercise(GQA, hint="q_proj (n_head*head_dim, d), k_proj and v_proj (n_kv_head*head_dim, d), o_proj "
                    "(d, n_head*head_dim), all nn.Linear(..., bias=False); no other parameters.")
def test_gqa_parameters(student):
    """One key/value head of 6 and four query heads: q (24, 24), k and v (6, 24), o (24, 24), no biases."""
    expect_equal(state_shapes(student.GroupedQueryAttention(llama_config(student, n_kv_head=1))),
                 {"q_proj.weight": (24, 24), "k_proj.weight": (6, 24), "v_proj.weight": (6, 24), "o_proj.weight": (24, 24)},
                 "the state_dict's names and shapes")


@exercise(GQA, hint="No buffers either (not even a non-persistent mask or RoPE table): attention is "
                    "causal by construction, and the tables come in as cos and sin.")
def test_gqa_has_no_buffers(student):
    """The module holds no buffer at all."""
    expect_equal(probe(student, buffer_names, student.GroupedQueryAttention(llama_config(student))), [], "the buffers")


@exercise(GQA, hint="Keep self.n_head, self.n_kv_head and self.head_dim from the config.")
def test_gqa_keeps_sizes(student):
    """n_head, n_kv_head and head_dim are attributes."""
    attn = student.GroupedQueryAttention(llama_config(student, n_head=6, n_kv_head=3, d_model=36))
    expect_equal([getattr(attn, name, None) for name in ("n_head", "n_kv_head", "head_dim")], [6, 3, 6],
                 "(self.n_head, self.n_kv_head, self.head_dim)")


@exercise(GQA, weight=2, hint="Position t's output must not depend on positions after t: causal attention "
                              "(is_causal=True, or a mask True where key j <= query i), and heads merged with "
                              ".transpose(1, 2) before the reshape (a reshape alone mixes positions).")
def test_gqa_is_causal(student, reference):
    """Changing the last two positions leaves the outputs of the first four unchanged."""
    mine, _ = twins(student, reference, GQA, seed=55)
    x = randn(2, 6, 24, seed=55)
    changed = x.clone()
    changed[:, 4:] += randn(2, 2, 24, seed=56)
    cos, sin = tables(6, 6)
    with torch.no_grad():
        expect_close(mine(changed, cos, sin)[:, :4], mine(x, cos, sin)[:, :4], CLOSE, what="the outputs of positions 0-3")


@exercise(GQA, weight=2, hint="Scale the scores by 1/sqrt(head_dim) (here 6), not 1/sqrt(d_model) or "
                              "1/head_dim; F.scaled_dot_product_attention does it by itself.")
def test_gqa_scales_by_head_dim(student, reference):
    """Heads of 6 in a model of width 24, weights ×4 so that the scale matters, tables that turn nothing:
    the last position's output is the reference's."""
    got, expected = gqa_outputs(student, reference, 57, edit=lambda state: {k: 4 * v for k, v in state.items()},
                                turn=False, **MHA_SIZES)
    expect_close(got, expected, CLOSE, what="the output at the last position")


@exercise(GQA, weight=2, hint="RoPE turns q and k only: v is not turned (the values are mixed as they are).")
def test_gqa_does_not_turn_v(student, reference):
    """q_proj and k_proj set to 0, so the last position attends uniformly: its output averages the
    unturned values."""
    def no_scores(state):
        return {**state, "q_proj.weight": 0 * state["q_proj.weight"], "k_proj.weight": 0 * state["k_proj.weight"]}
    got, expected = gqa_outputs(student, reference, 54, edit=no_scores, **MHA_SIZES)
    expect_close(got, expected, CLOSE, what="the output at the last position")


@exercise(GQA, weight=2, hint="Turn BOTH q and k with apply_rope(., cos, sin) before the scores, with the cos "
                              "and sin passed in (rows for positions 0 ... T-1).")
def test_gqa_turns_q_and_k(student, reference):
    """Four heads with their own key/value heads: the last position's output is the reference's (RoPE'd
    scores)."""
    got, expected = gqa_outputs(student, reference, 53, **MHA_SIZES)
    expect_close(got, expected, CLOSE, what="the output at the last position")


@exercise(GQA, weight=3, hint="Query head h reads key/value head h // (n_head // n_kv_head): consecutive "
                              "query heads share one, k.repeat_interleave(groups, dim=1) (Hugging Face's "
                              "repeat_kv). k.repeat(1, groups, 1, 1) tiles them (0, 1, 0, 1, ...) instead, "
                              "and repeating along another axis mixes positions or features.")
def test_gqa_groups_consecutive_heads(student, reference):
    """Six query heads, two key/value heads: heads 0-2 read key/value head 0 and heads 3-5 head 1 (the last
    position's output)."""
    got, expected = gqa_outputs(student, reference, 52, n_head=6, n_kv_head=2, d_model=36)
    expect_close(got, expected, CLOSE, what="the output at the last position")


@exercise(GQA, weight=2, hint="n_kv_head = n_head is plain multi-head attention: every query head has its "
                              "own key/value head (groups = 1).", broad=True)
def test_gqa_multi_head_end(student, reference):
    """n_kv_head = n_head = 3, heads of 14: the reference's output at every position."""
    expect_same_outputs(student, reference, GQA, 50, n_head=3, n_kv_head=3, d_model=42)


@exercise(GQA, weight=2, hint="n_kv_head = 1 is multi-query attention: the single key/value head serves "
                              "every query head (repeat it n_head times).", broad=True)
def test_gqa_multi_query_end(student, reference):
    """n_kv_head = 1, four query heads of 10: the reference's output at every position."""
    expect_same_outputs(student, reference, GQA, 51, n_head=4, n_kv_head=1, d_model=40)


@exercise(GQA, weight=2, hint="Take B and T from x.shape (T may be 1, B may be 1), and accept a "
                              "non-contiguous x: view the projections' outputs, not x itself; merge heads "
                              "with .transpose(1, 2).reshape(B, T, -1).", broad=True)
def test_gqa_non_contiguous_batch_one_length_one(student, reference):
    """A transposed (non-contiguous) x, batch 1, and T = 1: the reference's outputs."""
    mine, ref = twins(student, reference, GQA, seed=58, n_head=2, n_kv_head=1, d_model=20)
    x = randn(4, 3, 20, seed=58)  # transposed in the worker to (3, 4, 20)
    cos, sin = tables(10, 4)
    with torch.no_grad():
        expect_close(probe(student, on_transposed, mine, x, cos, sin), ref(x.transpose(0, 1), cos, sin), ATOL,
                     what="the output for a non-contiguous x")
        for B, T in ((1, 5), (2, 1)):
            x = randn(B, T, 20, seed=59 + T)
            cos, sin = tables(10, T)
            expect_close(mine(x, cos, sin), ref(x, cos, sin), ATOL, what=f"the output for B = {B}, T = {T}")


GQA_CONFIGS = [dict(n_head=1, n_kv_head=1, d_model=2), dict(n_head=4, n_kv_head=4, d_model=8),
               dict(n_head=4, n_kv_head=1, d_model=24), dict(n_head=6, n_kv_head=2, d_model=60),
               dict(n_head=3, n_kv_head=3, d_model=42), dict(n_head=8, n_kv_head=2, d_model=32)]


@exercise(GQA, weight=3, hint="For one to eight query heads of size 2 to 14, 1 to n_head key/value heads, "
                              "batch 1 to 3 and T = 1 to 8: project, apply_rope to q and k, repeat_interleave "
                              "k and v, causal attention scaled by 1/sqrt(head_dim), merge, o_proj; x, cos "
                              "and sin left unchanged.", broad=True)
def test_gqa_matches_reference_on_random_configs(student, reference):
    """Six configs (MHA, MQA, GQA; heads of 2 to 14), random shapes, one in float32: the reference's
    outputs, smallest input first."""
    rng = random.Random(60)
    for number, sizes in enumerate(GQA_CONFIGS):
        dtype = torch.float32 if number == 5 else torch.float64
        mine, ref = twins(student, reference, GQA, seed=60 + number, dtype=dtype, **sizes)
        head_dim = sizes["d_model"] // sizes["n_head"]
        shapes = [(rng.randint(1, 3), rng.randint(1, 8)) for _ in range(3)] + [(1, 1)]
        with torch.no_grad():
            expect_same_as_reference(mine, ref, attend_cases(rng, sizes["d_model"], head_dim, shapes, dtype),
                                     f"GroupedQueryAttention({sizes})", compare=same_result)


@exercise(GQA, hint="No dropout (the text): in train mode too the output is the reference's.")
def test_gqa_train_mode_has_no_dropout(student, reference):
    """In train mode the output is what eval mode gives."""
    mine, ref = twins(student, reference, GQA, seed=61)
    expect_same_in_train_and_eval(mine, ref, attend_cases(random.Random(61), 24, 6, [(2, 6), (1, 4)]),
                                  "GroupedQueryAttention", compare=same_result)


@exercise(GQA, weight=2, hint="Training backpropagates through the attention: no .detach(), no in-place "
                              "change of a view of a projection's output (q *= scale after view/transpose).",
          broad=True)
def test_gqa_gradients_match_reference(student, reference):
    """The gradients of x and of every weight equal the reference's."""
    mine, ref = twins(student, reference, GQA, seed=62)
    cos, sin = tables(6, 4)
    expect_same_module_gradients(student, mine, ref, [randn(2, 4, 24, seed=62), cos, sin], randn(2, 4, 24, seed=63),
                                 "GroupedQueryAttention")


# LLaMABlock -----------------------------------------------------------------------------------

BLOCK = "LLaMABlock"


def silenced(module, *weights):
    """Load the module's own state with the named weights set to 0 (through its state dict)."""
    state = dict(module.state_dict())
    for name in weights:
        state[name] = torch.zeros_like(state[name])
    module.load_state_dict(state)
    return module


@exercise(BLOCK, hint="Submodules input_layernorm = RMSNorm(d_model, config.eps), self_attn = "
                      "GroupedQueryAttention(config), post_attention_layernorm = RMSNorm(d_model, config.eps), "
                      "mlp = SwiGLU(d_model, config.hidden_dim), in this order.")
def test_block_submodules(student, reference):
    """Submodules input_layernorm, self_attn, post_attention_layernorm, mlp in order, with the reference's
    parameter names and shapes."""
    block = student.LLaMABlock(llama_config(student))
    names = [n for n in probe(student, child_names, block)
             if n in ("input_layernorm", "self_attn", "post_attention_layernorm", "mlp")]
    expect_equal(names, ["input_layernorm", "self_attn", "post_attention_layernorm", "mlp"], "the submodules")
    expect_equal(state_shapes(block), state_shapes(reference.LLaMABlock(llama_config(reference))),
                 "the state_dict's names and shapes")


@exercise(BLOCK, hint="Both norms are the notebook's RMSNorm (RMSNorm(config.d_model, config.eps)), not "
                      "nn.LayerNorm or nn.RMSNorm.")
def test_block_norms_are_rms_norms(student):
    """input_layernorm and post_attention_layernorm are RMSNorm modules."""
    block = student.LLaMABlock(llama_config(student))
    expect_equal([kind_of(block.input_layernorm), kind_of(block.post_attention_layernorm)], ["RMSNorm", "RMSNorm"],
                 "the types of the two norms")


@exercise(BLOCK, weight=2, hint="Pre-norm: the residual stream x is never normalised; each branch reads "
                                "norm(x) and its output is ADDED to x: x = x + self_attn(input_layernorm(x), "
                                "cos, sin). Normalising after the addition is Post-norm.")
def test_block_with_zero_branches_is_identity(student, reference):
    """When o_proj and down_proj are 0 the block returns its input unchanged."""
    mine, _ = twins(student, reference, BLOCK, seed=70)
    silenced(mine, "self_attn.o_proj.weight", "mlp.down_proj.weight")
    x = 3 + 2 * randn(2, 4, 24, seed=70)
    with torch.no_grad():
        expect_close(mine(x, *tables(6, 4)), x, CLOSE, what="the output")


@exercise(BLOCK, weight=2, hint="The attention branch is a residual: x + self_attn(input_layernorm(x), cos, sin).")
def test_block_attention_residual(student, reference):
    """With the MLP silenced: x + self_attn(input_layernorm(x), cos, sin)."""
    mine, ref = twins(student, reference, BLOCK, seed=71)
    silenced(mine, "mlp.down_proj.weight")
    silenced(ref, "mlp.down_proj.weight")
    x = randn(2, 5, 24, seed=71)
    with torch.no_grad():
        expect_close(mine(x, *tables(6, 5)), ref(x, *tables(6, 5)), CLOSE, what="the output")


@exercise(BLOCK, weight=2, hint="Then the MLP, through post_attention_layernorm (not input_layernorm), on the "
                                "stream AFTER the attention's residual: x = x + mlp(post_attention_layernorm(x)).")
def test_block_mlp_after_attention(student, reference):
    """Both branches on, norms with different weights: the MLP reads x + attention, through its own norm."""
    expect_same_outputs(student, reference, BLOCK, 72, atol=CLOSE)


@exercise(BLOCK, hint="Build both norms with the config's eps: RMSNorm(config.d_model, config.eps).")
def test_block_uses_config_eps(student, reference):
    """eps = 0.3 in the config, inputs of small size (where eps matters): the reference's output."""
    mine, ref = twins(student, reference, BLOCK, seed=73, eps=0.3)
    x = 0.2 * randn(2, 4, 24, seed=73)
    with torch.no_grad():
        expect_close(mine(x, *tables(6, 4)), ref(x, *tables(6, 4)), CLOSE, what="the output")


@exercise(BLOCK, weight=3, hint="x = x + self_attn(input_layernorm(x), cos, sin); x = x + "
                                "mlp(post_attention_layernorm(x)), for MHA, MQA and GQA configs, T = 1 to 8, "
                                "batch 1 to 3; x, cos and sin left unchanged.", broad=True)
def test_block_matches_reference_on_random_configs(student, reference):
    """Four configs (MHA, MQA, GQA, one in float32), random shapes: the reference's outputs, smallest first."""
    rng = random.Random(74)
    for number, sizes in enumerate(GQA_CONFIGS[1:5]):
        dtype = torch.float32 if number == 3 else torch.float64
        sizes = dict(sizes, hidden_dim=rng.randint(1, 30))
        mine, ref = twins(student, reference, BLOCK, seed=74 + number, dtype=dtype, **sizes)
        shapes = [(rng.randint(1, 3), rng.randint(1, 8)) for _ in range(3)]
        with torch.no_grad():
            expect_same_as_reference(mine, ref, attend_cases(rng, sizes["d_model"], sizes["d_model"] // sizes["n_head"],
                                                             shapes, dtype), f"LLaMABlock({sizes})", compare=same_result)


@exercise(BLOCK, weight=2, hint="Write x = x + ..., never x += ...: an in-place addition changes the "
                                "caller's tensor (and returns it).")
def test_block_leaves_x_unchanged(student, reference):
    """The block changes nothing in x and returns a new tensor."""
    mine, ref = twins(student, reference, BLOCK, seed=75)
    x = randn(2, 4, 24, seed=75)
    with torch.no_grad():
        expect_unchanged_and_new(observe(mine, x, *tables(6, 4)), ref(x, *tables(6, 4)), "the block")


@exercise(BLOCK, hint="No dropout anywhere (the text): in train mode too the block's output is the reference's.")
def test_block_train_mode_has_no_dropout(student, reference):
    """In train mode the output is what eval mode gives."""
    mine, ref = twins(student, reference, BLOCK, seed=78)
    expect_same_in_train_and_eval(mine, ref, attend_cases(random.Random(78), 24, 6, [(2, 6), (1, 4)]),
                                  "LLaMABlock", compare=same_result)


@exercise(BLOCK, weight=2, hint="Training backpropagates through the block: residuals added out of place, "
                                "no .detach().", broad=True)
def test_block_gradients_match_reference(student, reference):
    """The gradients of x and of every weight equal the reference's."""
    mine, ref = twins(student, reference, BLOCK, seed=76)
    expect_same_module_gradients(student, mine, ref, [randn(2, 4, 24, seed=76), *tables(6, 4)], randn(2, 4, 24, seed=77),
                                 "LLaMABlock")


# MiniLLaMA ------------------------------------------------------------------------------------

def expect_same_logits(student, reference, seed, shape, atol, **sizes):
    """The student's MiniLLaMA gives the reference's logits for seeded ids of `shape` (B, T)."""
    mine, ref = twins(student, reference, "MiniLLaMA", seed=seed, **sizes)
    idx = torch.randint(13, shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expect_close(mine(idx)[0], ref(idx)[0], atol, what=f"the logits for ids of shape {shape}")


@exercise("MiniLLaMA", hint="Attributes embed_tokens (vocab_size, d), layers (an nn.ModuleList of n_layer "
                            "LLaMABlock), norm (RMSNorm), lm_head (Linear(d, vocab_size, bias=False)); no "
                            "position embedding.")
def test_minillama_parameters(student, reference):
    """The reference's parameter names and shapes, layers in an nn.ModuleList."""
    model = student.MiniLLaMA(llama_config(student))
    expect_equal(state_shapes(model), state_shapes(reference.MiniLLaMA(llama_config(reference))),
                 "the state_dict's names and shapes")
    expect(is_a(model.layers, torch.nn.ModuleList), "layers should be an nn.ModuleList")


@exercise("MiniLLaMA", weight=2, hint="LLaMA's head is untied: self.lm_head = nn.Linear(d_model, vocab_size, "
                                      "bias=False) with a weight of its own, not embed_tokens.weight.")
def test_minillama_head_is_untied(student):
    """lm_head.weight is a parameter of its own."""
    model = student.MiniLLaMA(llama_config(student))
    expect(model.lm_head.weight is not model.embed_tokens.weight,
           "lm_head.weight is embed_tokens.weight: the head is tied")


@exercise("MiniLLaMA", hint="nn.ModuleList(LLaMABlock(config) for _ in range(n_layer)): n_layer distinct "
                            "blocks, not one block repeated.")
def test_minillama_layers_are_distinct(student):
    """Three layers: three different blocks."""
    model = student.MiniLLaMA(llama_config(student, n_layer=3))
    layers = [model.layers[i] for i in range(3)]
    expect(layers[0] is not layers[1] and layers[1] is not layers[2] and layers[0] is not layers[2],
           "model.layers repeats one block: each layer needs an LLaMABlock of its own")


@exercise("MiniLLaMA", hint="Keep self.config = config.")
def test_minillama_keeps_config(student):
    """model.config is the config it was built with."""
    config = llama_config(student)
    expect(student.MiniLLaMA(config).config is config, "model.config is not the config given to MiniLLaMA")


@exercise("MiniLLaMA", weight=2, hint="Apply the final norm before the head: logits = lm_head(norm(x)).")
def test_minillama_final_norm(student, reference):
    """No layer, so the logits are lm_head(norm(embed_tokens(idx))): the reference's."""
    expect_same_logits(student, reference, 80, (2, 5), CLOSE, n_layer=0)


@exercise("MiniLLaMA", weight=2, hint="There is no block_size: any T works, T = 1 included (take T from "
                                      "idx.shape[1], not from idx.shape[0], the batch size).")
def test_minillama_any_length(student, reference):
    """Batch 1 with T = 1, and T = 70: the reference's logits."""
    for T in (1, 70):
        expect_same_logits(student, reference, 83 + T, (1, T), CLOSE, n_layer=1)


@exercise("MiniLLaMA", weight=2, hint="Build the tables with the config's base: rope_tables(head_dim, T, "
                                      "config.rope_theta, dtype=x.dtype), not the default 10000.")
def test_minillama_uses_rope_theta(student, reference):
    """rope_theta = 7.5 in the config: the reference's logits."""
    expect_same_logits(student, reference, 81, (2, 6), CLOSE, rope_theta=7.5)


@exercise("MiniLLaMA", weight=2, hint="Make the tables in the embeddings' dtype: rope_tables(..., "
                                      "dtype=x.dtype). The default float32 tables cost a float64 model its "
                                      "precision; positions are 0 ... T-1.")
def test_minillama_tables_in_the_models_dtype(student, reference):
    """A float64 model over 40 positions: the reference's logits to 1e-10."""
    expect_same_logits(student, reference, 82, (1, 40), ATOL, n_layer=1)


@exercise("MiniLLaMA", weight=3, hint="Shift: the logits at position t predict targets[:, t + 1], so the loss "
                                      "is cross_entropy(logits[:, :-1], targets[:, 1:]), averaged over the "
                                      "B*(T-1) predictions.")
def test_minillama_loss_is_shifted_mean_cross_entropy(student, reference):
    """loss = mean cross-entropy of logits[:, :-1] against targets[:, 1:]."""
    mine, ref = twins(student, reference, "MiniLLaMA", seed=84)
    idx, targets = torch.randint(13, (2, 3, 7), generator=torch.Generator().manual_seed(84))
    with torch.no_grad():
        logits, loss = ref(idx)[0], mine(idx, targets)[1]
    expect(loss is not None, "targets were given but the loss is None")
    log_probs = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, targets[:, 1:, None])
    expect_close(torch.as_tensor(loss).reshape(()), -log_probs.mean(), 1e-9, what="the loss")


@exercise("MiniLLaMA", hint="Targets equal to -100 are ignored (F.cross_entropy's default ignore_index); "
                            "with targets=None the loss is None.")
def test_minillama_loss_ignores_minus_100_and_none(student, reference):
    """Targets -100 are left out of the mean; targets=None gives loss None."""
    mine, ref = twins(student, reference, "MiniLLaMA", seed=85)
    idx = torch.randint(13, (2, 6), generator=torch.Generator().manual_seed(85))
    targets = idx.clone()
    targets[0, 2:4] = -100
    with torch.no_grad():
        expect_close(torch.as_tensor(mine(idx, targets)[1]).reshape(()), ref(idx, targets)[1], 1e-9,
                     what="the loss with some targets -100")
        expect(mine(idx)[1] is None, "with targets=None the loss should be None")


@exercise("MiniLLaMA", weight=2, hint="Return the loss as the 0-dim tensor F.cross_entropy gives (it carries "
                                      "the gradient), not loss.item() or a float.")
def test_minillama_loss_is_a_0_dim_tensor_with_gradient(student):
    """With targets, the loss is a 0-dim tensor that requires grad."""
    idx = torch.randint(13, (2, 5), generator=torch.Generator().manual_seed(86))
    loss = student.MiniLLaMA(llama_config(student))(idx, idx)[1]
    expect(isinstance(loss, torch.Tensor), f"the loss is a {kind_of(loss)}, not a 0-dim tensor")
    expect_equal(tuple(loss.shape), (), "the loss's shape")
    expect(loss.requires_grad, "the loss does not require grad: loss.backward() would fail")


def token_cases(rng, vocab_size, count):
    """Seeded (idx,) or (idx, targets) cases: batch 1 to 3, T 1 to 9, targets idx itself or other ids with
    some -100 (at least one kept)."""
    cases = []
    for _ in range(count):
        B, T = rng.randint(1, 3), rng.randint(1, 9)
        idx = torch.randint(vocab_size, (B, T), generator=torch.Generator().manual_seed(rng.randrange(1 << 30)))
        kind = "no targets" if T == 1 else rng.choice(["no targets", "targets = idx", "targets with -100"])
        args = (idx,)
        if kind == "targets = idx":
            args = (idx, idx.clone())
        elif kind == "targets with -100":
            targets = torch.randint(vocab_size, (B, T), generator=torch.Generator().manual_seed(rng.randrange(1 << 30)))
            targets[:, 1::3] = -100
            args = (idx, targets)
        cases.append(Shown(args, {}, f"(idx of shape {(B, T)}, {kind})"))
    return cases


@exercise("MiniLLaMA", weight=3, hint="logits = lm_head(norm(layers(embed_tokens(idx), cos, sin))), the tables "
                                      "from rope_tables(head_dim, T, rope_theta, dtype=x.dtype); the shifted "
                                      "mean loss; for 0 to 2 layers, MHA/MQA/GQA, vocabularies up to 1000; "
                                      "idx and targets left unchanged.", broad=True)
def test_minillama_matches_reference_on_random_configs(student, reference):
    """Four configs (no layer to two, MQA and MHA, ids up to 999), random idx and targets: the reference's
    logits and loss, smallest input first."""
    rng = random.Random(87)
    configs = [dict(vocab_size=13, n_layer=0, n_head=1, n_kv_head=1, d_model=2, hidden_dim=3),
               dict(vocab_size=300, n_layer=1, n_head=4, n_kv_head=1, d_model=24, hidden_dim=10),
               dict(vocab_size=1000, n_layer=2, n_head=2, n_kv_head=2, d_model=20, hidden_dim=7),
               dict(vocab_size=29, n_layer=1, n_head=6, n_kv_head=3, d_model=36, hidden_dim=16, rope_theta=500000.0)]
    with torch.no_grad():
        for number, sizes in enumerate(configs):
            mine, ref = twins(student, reference, "MiniLLaMA", seed=87 + number, **sizes)
            expect_same_as_reference(mine, ref, token_cases(rng, sizes["vocab_size"], 5), f"MiniLLaMA({sizes})",
                                     compare=same_result)


@exercise("MiniLLaMA", weight=2, hint="No dropout anywhere (the text): in train mode too the logits and the "
                                      "loss are the reference's.")
def test_minillama_train_mode_has_no_dropout(student, reference):
    """In train mode the logits and the loss are what eval mode gives."""
    mine, ref = twins(student, reference, "MiniLLaMA", seed=88)
    expect_same_in_train_and_eval(mine, ref, token_cases(random.Random(88), 13, 3),
                                  "MiniLLaMA", compare=same_result)


@exercise("MiniLLaMA", weight=2, hint="Training backpropagates the loss to every parameter: no .item(), "
                                      ".detach() or in-place change of a tensor autograd needs.", broad=True)
def test_minillama_gradients_match_reference(student, reference):
    """The gradients of the logits and the loss reach every parameter as in the reference."""
    mine, ref = twins(student, reference, "MiniLLaMA", seed=89, n_layer=1)
    idx = torch.randint(13, (2, 6), generator=torch.Generator().manual_seed(89))
    expect_same_module_gradients(student, mine, ref, [idx, idx], randn(2, 6, 13, seed=89), "MiniLLaMA")
