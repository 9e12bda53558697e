"""Hidden checks for 11-lora. Inputs differ from the visible checks: layers of other sizes (1 input
feature, square and non-square, with and without bias), ranks from 1 to above in_features, rsLoRA,
1-D to 4-D inputs, non-contiguous inputs, float64, float32 and bfloat16, dropout in train and eval
mode, a toy model with nested, tied and frozen parts and buffers, and a small course model
(coursekit.models.LlamaForCausalLM). Every adapter is set to non-zero A and B (the same on both sides)
before outputs are compared, so that a wrong scaling or a transposed product shows. float64 results
are compared to 1e-10, float32 to 1e-4, far below any real bug's error (0.1 or more here).

The learner's layers and models are built in the worker: base layers and models by probes from the
same seeded tensors as the reference's here. While one exercise is graded, the others are the
reference's (so `apply_lora` wraps with the reference `LoRALinear`, `merged_linear` merges one).

Every promise of the text and docstrings, and the check that exercises it:

LoRALinear
- self.base is the given module: test_lora_linear_keeps_the_base_module
- base frozen (requires_grad False), A and B trainable: test_lora_linear_freezes_the_base;
  no gradient reaches the base: test_lora_linear_no_gradient_reaches_the_base
- parameters exactly base.weight, base.bias (if any), lora_A (r, in), lora_B (out, r): test_lora_linear_parameters
- A random of rank r (any random init): test_lora_linear_a_is_random_with_rank_r; B zeros:
  test_lora_linear_b_starts_at_zero
- A and B in the base weight's dtype, the output in x's: test_lora_linear_dtypes, test_lora_linear_bfloat16_output
- scaling alpha / r, a float: test_lora_linear_scaling; alpha / sqrt(r) with use_rslora:
  test_lora_linear_rslora_scaling
- ValueError for r < 1: test_lora_linear_rank_below_one_raises
- forward base(x) + scaling * x A^T B^T: test_lora_linear_forward_formula; bias kept: test_lora_linear_keeps_the_bias;
  any leading dimensions, float32/float64, options combined, x unchanged:
  test_lora_linear_matches_reference_on_random_inputs, test_lora_linear_any_leading_dimensions; non-contiguous x:
  test_lora_linear_non_contiguous_input;
- dropout in train mode only: test_lora_linear_no_dropout_in_eval_mode; on the adapter's input only:
  test_lora_linear_dropout_spares_the_frozen_path, test_lora_linear_dropout_drops_input_features
  (whole input features, kept values scaled by 1/(1 - p))
- training: test_lora_linear_gradients_match_reference
merged_linear
- a new nn.Linear with the same sizes and bias presence: test_merged_linear_returns_a_new_linear
- weight W + scaling B @ A, bias copied, float64 exact, rsLoRA's scaling: test_merged_linear_matches_reference_weights
- the layer's dtype: test_merged_linear_keeps_the_dtype
- the layer's output in eval mode: test_merged_linear_gives_the_layers_output
- layer unchanged: test_merged_linear_leaves_the_layer_unchanged; twice the same:
  test_merged_linear_twice_gives_the_same_weight; no shared tensor: test_merged_linear_shares_no_tensor
apply_lora
- in place, the model returned: test_apply_lora_returns_the_model_itself
- every nn.Linear whose own name is a target wrapped, around the module itself: test_apply_lora_wraps_every_target,
  test_apply_lora_wraps_the_original_modules; other kinds of modules left alone:
  test_apply_lora_skips_modules_that_are_not_linear; list, tuple or set: the differential check
- everything but lora_A / lora_B frozen: test_apply_lora_freezes_everything_else
- r, alpha, dropout, use_rslora passed on: test_apply_lora_passes_the_options
- ValueError when nothing matches: test_apply_lora_raises_when_nothing_matches
- the reference's outputs on a toy model and a course model: test_apply_lora_matches_reference_on_models
count_trainable
- requires_grad decides: test_count_trainable_skips_frozen_parameters
- (trainable, total) ints: test_count_trainable_returns_two_ints; elements, not tensors:
  test_count_trainable_counts_elements; order: test_count_trainable_trainable_first
- shared parameters once: test_count_trainable_counts_tied_weights_once; buffers not counted:
  test_count_trainable_ignores_buffers
- many models: test_count_trainable_matches_reference_on_models; model unchanged:
  test_count_trainable_leaves_the_model_unchanged
lora_state_dict
- the lora_A / lora_B entries in state_dict order: test_lora_state_dict_names_and_order; nothing else even when
  other parameters are trainable: test_lora_state_dict_only_the_adapters; {} without adapters:
  test_lora_state_dict_empty_without_adapters
- the adapters' values: test_lora_state_dict_values; copies: test_lora_state_dict_saves_copies;
  no gradient attached: test_lora_state_dict_tensors_are_detached
- load_state_dict(strict=False) restores the outputs: test_lora_state_dict_round_trip;
  model unchanged: test_lora_state_dict_leaves_the_model_unchanged
"""
import math
import random

import torch

from autograder import generators
from autograder.checking import (exercise, expect, expect_close, expect_equal, expect_proven,
                                 expect_same_as_reference, judged_only_if_right)
from autograder.remote import is_a, kind_of, probe
from autograder.torch_checks import Shown, expect_same_module_gradients, gen, randn

TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4, torch.bfloat16: 0.1}


def same_result(got, expected, what):
    """A tensor of the expected dtype and shape, within TOLERANCE[dtype] (relative for large values)."""
    expect(isinstance(got, torch.Tensor), f"{what}: expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, expected.dtype, f"{what}: the dtype")
    expect_close(got, expected.detach(), TOLERANCE[expected.dtype], TOLERANCE[expected.dtype], what=what)


# probes: run in the worker (and here, on the reference's objects) ------------------------------------

def make_linear(weight, bias):
    """An nn.Linear holding `weight` and `bias` (None: no bias), in weight's dtype."""
    import torch
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer


def set_adapter(layer, a, b):
    """Copy a and b into the layer's lora_A and lora_B."""
    import torch
    with torch.no_grad():
        layer.lora_A.copy_(a)
        layer.lora_B.copy_(b)


def parameter_facts(module):
    """{name: (shape, dtype, requires_grad)} of every parameter, in order."""
    return {name: (tuple(p.shape), p.dtype, p.requires_grad) for name, p in module.named_parameters()}


def tensors_of(module):
    """{name: a copy} of every parameter, in order (Parameters do not travel; plain tensors do)."""
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def toy_model(seed, tied=False, dtype_name="float64"):
    """A small model with nested linear layers (with and without bias), a LayerNorm, an nn.Sequential named
    `mlp`, an embedding, a buffer and a head that may share the embedding's weight; seeded weights."""
    import torch
    import torch.nn as nn

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.q_proj = nn.Linear(6, 6)
            self.v_proj = nn.Linear(6, 4, bias=False)
            self.o_proj = nn.Linear(4, 6)

        def forward(self, x):
            return self.o_proj(torch.tanh(self.q_proj(x))[..., :4] * self.v_proj(x))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(6)
            self.attn = Attention()
            self.mlp = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 6))

        def forward(self, x):
            h = self.norm(x)
            return x + self.attn(h) + self.mlp(h)

    class Toy(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(11, 6)
            self.layers = nn.ModuleList([Block(), Block()])
            self.head = nn.Linear(6, 11, bias=False)
            if tied:
                self.head.weight = self.embed.weight
            self.register_buffer("gain", torch.linspace(0.5, 1.5, 6))

        def forward(self, idx):
            x = self.embed(idx)
            for layer in self.layers:
                x = layer(x)
            return self.head(x * self.gain)

    model = Toy().to(getattr(torch, dtype_name))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return model.eval()


def course_model(seed):
    """A small coursekit LlamaForCausalLM (2 layers, hidden 16, 2 query heads, 1 key/value head), float64."""
    import torch
    from coursekit.models import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=23, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
    return LlamaForCausalLM(config).double().eval()


def randomize_adapters(model, seed):
    """Give every module's lora_A and lora_B seeded normal values, in named_modules order."""
    import torch
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, module in model.named_modules():
            for name in ("lora_A", "lora_B"):
                tensor = getattr(module, name, None)
                if isinstance(tensor, torch.Tensor):
                    tensor.copy_(torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype))


def adapted_layers(model):
    """{name: (type name, r, scaling, dropout p)} of the modules that hold a lora_A."""
    facts = {}
    for name, module in model.named_modules():
        if hasattr(module, "lora_A"):
            dropout = getattr(module, "dropout", None)
            facts[name] = (type(module).__name__, tuple(module.lora_A.shape)[0], module.scaling,
                           getattr(dropout, "p", None))
    return facts


def outputs_of(model, inputs):
    """The model's output for `inputs` in eval mode, without gradient: the logits of a course model."""
    import torch
    model.eval()
    with torch.no_grad():
        out = model(inputs)
    return out[0] if isinstance(out, tuple) else out


# LoRALinear -------------------------------------------------------------------------------------

LAYER = "LoRALinear"


def base_weights(in_features, out_features, bias=True, seed=0, dtype=torch.float64):
    g = gen(seed)
    weight = torch.randn(out_features, in_features, generator=g, dtype=torch.float64).to(dtype)
    return weight, (torch.randn(out_features, generator=g, dtype=torch.float64).to(dtype) if bias else None)


def twin_layers(student, reference, in_features, out_features, r, alpha, bias=True, dropout=0.0, use_rslora=False,
                dtype=torch.float64, seed=0, adapter=True):
    """(learner's LoRALinear, reference's) on the same base layer, with the same non-zero A and B unless
    `adapter` is False; eval mode."""
    weight, b = base_weights(in_features, out_features, bias, seed, dtype)
    options = dict(dropout=dropout, use_rslora=use_rslora)
    ref = reference.LoRALinear(make_linear(weight, b), r, alpha, **options)
    mine = student.LoRALinear(probe(student, make_linear, weight, b), r, alpha, **options)
    if adapter:
        g = gen(seed + 1)
        a = torch.randn(r, in_features, generator=g, dtype=torch.float64).to(dtype)
        b_matrix = torch.randn(out_features, r, generator=g, dtype=torch.float64).to(dtype)
        set_adapter(ref, a, b_matrix)
        probe(student, set_adapter, mine, a, b_matrix)
    mine.eval()
    return mine, ref.eval()


@exercise(LAYER, hint="Parameters: base.weight, base.bias (if the base has one), lora_A of shape (r, in_features) "
                      "and lora_B of shape (out_features, r), as in the paper and peft; no other parameter.")
def test_lora_linear_parameters(student):
    """nn.Linear(5, 3) with r = 2: base.weight (3, 5), base.bias (3,), lora_A (2, 5), lora_B (3, 2); without bias,
    no base.bias."""
    for bias in (True, False):
        layer = student.LoRALinear(probe(student, make_linear, *base_weights(5, 3, bias)), 2, 4.0)
        facts = probe(student, parameter_facts, layer)
        expected = {"base.weight": (3, 5), **({"base.bias": (3,)} if bias else {}), "lora_A": (2, 5), "lora_B": (3, 2)}
        expect_equal({name: shape for name, (shape, _, _) in facts.items()}, expected,
                     f"the parameters' names and shapes ({'with' if bias else 'without'} bias)")


@exercise(LAYER, hint="Create lora_A and lora_B in base.weight's dtype (dtype=base.weight.dtype): a float64 or "
                      "bfloat16 base gets float64 or bfloat16 adapters, and the output keeps x's dtype.")
def test_lora_linear_dtypes(student, reference):
    """A float64 base gives float64 A and B; a bfloat16 base bfloat16 ones, and bfloat16 x gives a bfloat16 output."""
    for dtype in (torch.float64, torch.bfloat16):
        layer = student.LoRALinear(probe(student, make_linear, *base_weights(4, 3, dtype=dtype)), 2, 2.0)
        facts = probe(student, parameter_facts, layer)
        expect_equal([facts.get(name, (None, None, None))[1] for name in ("lora_A", "lora_B")], [dtype, dtype],
                     f"the dtypes of lora_A and lora_B for a {str(dtype).removeprefix('torch.')} base")
    got = layer(randn(3, 4, seed=31).to(torch.bfloat16))
    expect(isinstance(got, torch.Tensor), f"expected a tensor, got {kind_of(got)}")
    expect_equal(got.dtype, torch.bfloat16, "the output's dtype for bfloat16 x")


@exercise(LAYER, hint="Keep the module you are given: self.base = base (no copy, no new nn.Linear).")
def test_lora_linear_keeps_the_base_module(student):
    """layer.base is the nn.Linear given."""
    base = probe(student, make_linear, *base_weights(4, 4))
    expect(student.LoRALinear(base, 2, 2.0).base is base, "layer.base is not the nn.Linear given to LoRALinear")


# weighted as the point of LoRA: an unfrozen base is full fine-tuning with extra weights (the seed's bug)
@exercise(LAYER, weight=6, hint="Freeze the base: base.requires_grad_(False) (its weight AND its bias); lora_A and "
                                "lora_B stay trainable.")
def test_lora_linear_freezes_the_base(student):
    """base.weight and base.bias have requires_grad False; lora_A and lora_B True."""
    layer = student.LoRALinear(probe(student, make_linear, *base_weights(5, 3)), 2, 4.0)
    facts = probe(student, parameter_facts, layer)
    expect_equal({name: grad for name, (_, _, grad) in facts.items()},
                 {"base.weight": False, "base.bias": False, "lora_A": True, "lora_B": True}, "requires_grad")


def base_gradient(layer, x):
    """Backward of layer(x).sum(): whether a gradient reached base.weight / base.bias."""
    for p in layer.parameters():
        p.grad = None
    layer(x).sum().backward()
    return [layer.base.weight.grad is not None, layer.base.bias is not None and layer.base.bias.grad is not None]


@exercise(LAYER, weight=2, hint="Freeze the base (requires_grad False on its weight and bias) so that no gradient reaches it; "
                      "only lora_A and lora_B learn.")
def test_lora_linear_no_gradient_reaches_the_base(student, reference):
    """After a backward pass, base.weight.grad and base.bias.grad are None."""
    mine, _ = twin_layers(student, reference, 5, 3, 2, 4.0, seed=3)
    expect_equal(probe(student, base_gradient, mine, randn(4, 5, seed=3)), [False, False],
                 "[a gradient reached base.weight, a gradient reached base.bias]")


@exercise(LAYER, hint="Keep the base's bias: call self.base(x) (not x @ base.weight.T alone).")
def test_lora_linear_keeps_the_bias(student):
    """A base with zero weight and bias [1, 2, 3], B = 0: the output is the bias in every row."""
    layer = student.LoRALinear(probe(student, make_linear, torch.zeros(3, 4, dtype=torch.float64),
                                     torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)), 2, 2.0)
    probe(student, set_adapter, layer, randn(2, 4, seed=14), torch.zeros(3, 2, dtype=torch.float64))
    layer.eval()
    expect_close(layer(randn(2, 4, seed=14)), torch.tensor([[1.0, 2.0, 3.0]] * 2, dtype=torch.float64), 1e-12,
                 what="the output")


def flattened_and_not(layer, x):
    """layer(x), and layer on x flattened to 2-D with the result's leading dimensions put back."""
    import torch
    with torch.no_grad():
        whole = layer(x)
        flat = layer(x.reshape(-1, x.shape[-1]))
    return whole, flat.reshape(*x.shape[:-1], flat.shape[-1])


@exercise(LAYER, weight=2, hint="x may have ANY leading dimensions: (in,), (N, in), (B, T, in), 4-D; @ and F.linear "
                                "work on all of them (torch.mm and bmm do not).")
def test_lora_linear_any_leading_dimensions(student, reference):
    """Inputs of shape (6,), (1, 6), (2, 1, 3, 6): each row gives what it gives in a (N, 6) batch."""
    mine, _ = twin_layers(student, reference, 6, 3, 2, 2.0, seed=16)
    for shape in ((6,), (1, 6), (2, 1, 3, 6)):
        whole, flat = probe(student, flattened_and_not, mine, randn(*shape, seed=17))
        expect_close(whole, flat, 1e-12, what=f"the output for x of shape {shape} against the same rows as a (N, 6) batch")


@exercise(LAYER, weight=2, hint="lora_B starts at zero (torch.zeros), so that the adapted layer starts equal to the "
                                "base: B random (or A zero AND B random) changes the pretrained model before training.")
def test_lora_linear_b_starts_at_zero(student, reference):
    """A fresh layer: lora_B is zero and the output equals base(x)."""
    weight, b = base_weights(7, 5, seed=4)
    layer = student.LoRALinear(probe(student, make_linear, weight, b), 3, 6.0)
    tensors = probe(student, tensors_of, layer)
    expect("lora_B" in tensors, f"the layer has no parameter lora_B (its parameters: {list(tensors)})")
    expect_equal(tensors["lora_B"].abs().max().item(), 0.0, "max |lora_B| at the start")
    x = randn(3, 7, seed=5)
    expect_close(layer(x), x @ weight.T + b, 1e-12, what="a fresh layer's output")


def rank_of_a(layer):
    import torch
    a = layer.lora_A.detach().double()
    return [bool(torch.isfinite(a).all()), int(torch.linalg.matrix_rank(a))]


@exercise(LAYER, hint="Initialise lora_A at random (nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5)), or a normal "
                      "init): with A zero (or constant) B never gets a gradient and the adapter cannot learn.")
def test_lora_linear_a_is_random_with_rank_r(student):
    """A fresh lora_A is finite and has rank min(r, in_features) (r = 1, 3 and 6 on 4 inputs)."""
    for r in (1, 3, 6):
        layer = student.LoRALinear(probe(student, make_linear, *base_weights(4, 5, seed=6)), r, 1.0)
        expect_equal(probe(student, rank_of_a, layer), [True, min(r, 4)],
                     f"r = {r}, 4 inputs: [lora_A is finite, its rank]")


@exercise(LAYER, weight=2, hint="scaling = alpha / r (not r / alpha, not alpha alone), stored as self.scaling, a "
                                "Python float.")
def test_lora_linear_scaling(student):
    """self.scaling is alpha / r: 2.0 for r = 4, alpha = 8; 1/3 for r = 3, alpha = 1; 16.0 for r = 1, alpha = 16."""
    for r, alpha in ((4, 8), (3, 1), (1, 16)):
        layer = student.LoRALinear(probe(student, make_linear, *base_weights(4, 5, seed=7)), r, alpha)
        got = layer.scaling
        expect(isinstance(got, float), f"r = {r}, alpha = {alpha}: scaling should be a float, got {kind_of(got)}")
        expect_close(got, alpha / r, 1e-15, what=f"scaling for r = {r}, alpha = {alpha}")


@exercise(LAYER, hint="With use_rslora the scaling is alpha / sqrt(r) (math.sqrt), not alpha / r.")
def test_lora_linear_rslora_scaling(student):
    """With use_rslora: 2.0 for r = 16, alpha = 8; 1.0 for r = 9, alpha = 3; without it 0.5 and 1/3."""
    for r, alpha in ((16, 8), (9, 3)):
        for rslora in (True, False):
            layer = student.LoRALinear(probe(student, make_linear, *base_weights(4, 5, seed=8)), r, alpha,
                                       use_rslora=rslora)
            expected = alpha / math.sqrt(r) if rslora else alpha / r
            expect_close(layer.scaling, expected, 1e-15, what=f"scaling for r = {r}, alpha = {alpha}, use_rslora={rslora}")


@exercise(LAYER, hint="Raise ValueError when r < 1: a rank-0 adapter has nothing to learn.")
def test_lora_linear_rank_below_one_raises(student):
    """r = 0 and r = -1 raise ValueError."""
    base = probe(student, make_linear, *base_weights(4, 5, seed=9))
    for r in (0, -1):
        try:
            student.LoRALinear(base, r, 1.0)
        except ValueError:
            continue
        raise AssertionError(f"LoRALinear(base, r={r}, alpha=1.0) should raise ValueError")


@exercise(LAYER, weight=2, hint="forward = base(x) + scaling * (x @ lora_A.T @ lora_B.T): x goes down to r numbers "
                                "through A, back up through B, times scaling.")
def test_lora_linear_forward_formula(student):
    """With W, b, A and B set by hand (5 inputs, 3 outputs, r = 2, alpha = 3): x Wᵀ + b + 1.5 x Aᵀ Bᵀ."""
    weight, b = base_weights(5, 3, seed=10)
    layer = student.LoRALinear(probe(student, make_linear, weight, b), 2, 3.0)
    a, b_matrix = randn(2, 5, seed=11), randn(3, 2, seed=12)
    probe(student, set_adapter, layer, a, b_matrix)
    layer.eval()
    x = randn(4, 5, seed=13)
    expect_close(layer(x), x @ weight.T + b + 1.5 * x @ a.T @ b_matrix.T, 1e-12, what="the output")


@exercise(LAYER, hint="Compute in x's dtype: a bfloat16 layer maps bfloat16 x to the reference's output, to "
                      "bfloat16's precision.")
def test_lora_linear_bfloat16_output(student, reference):
    """A bfloat16 layer with non-zero A and B: close to the reference's bfloat16 output."""
    mine, ref = twin_layers(student, reference, 6, 4, 2, 4.0, dtype=torch.bfloat16, seed=31)
    x = randn(3, 6, seed=31).to(torch.bfloat16)
    with torch.no_grad():
        expected = ref(x)
    same_result(mine(x), expected, "the bfloat16 output")


def layer_configs():
    """(in, out, r, alpha, bias, use_rslora): r from 1 to above in_features, square and not."""
    return [(1, 3, 1, 1.0, True, False), (4, 4, 2, 8.0, False, False), (6, 3, 4, 2.0, True, True),
            (5, 7, 8, 16.0, True, False), (3, 5, 3, 0.5, False, True)]


@exercise(LAYER, weight=3, hint="base(x) + scaling * (dropout(x) @ lora_A.T @ lora_B.T) for ANY leading dimensions "
                                "((in,), (N, in), (B, T, in), 4-D), float32 and float64, with and without bias, "
                                "rsLoRA on and off; x left unchanged.", broad=True)
def test_lora_linear_matches_reference_on_random_inputs(student, reference):
    """Five layers (1 to 6 inputs, r 1 to 8, bias or not, rsLoRA or not), 1-D to 4-D inputs, float32 and float64:
    the reference's outputs, smallest input first."""
    rng = random.Random(15)
    for number, (in_f, out_f, r, alpha, bias, rslora) in enumerate(layer_configs()):
        for dtype in (torch.float64, torch.float32):
            mine, ref = twin_layers(student, reference, in_f, out_f, r, alpha, bias, use_rslora=rslora, dtype=dtype,
                                    seed=20 + number)
            shapes = [(), (1,), (2, 3), (1, 2, 1)] + [generators.leading_shape(rng) for _ in range(2)]
            cases = [Shown((generators.tensor(rng, (*shape, in_f), dtype),), {},
                           f"(x of shape {(*shape, in_f)}, {str(dtype).removeprefix('torch.')})") for shape in shapes]
            with torch.no_grad():
                expect_same_as_reference(mine, ref, cases, f"LoRALinear(nn.Linear({in_f}, {out_f}, bias={bias}), r={r}, "
                                                           f"alpha={alpha}, use_rslora={rslora})", compare=same_result)


def on_transposed(layer, x):
    """layer(x.transpose(0, 1)): an input that is not contiguous."""
    view = x.transpose(0, 1)
    assert not view.is_contiguous()
    return layer(view)


@exercise(LAYER, hint="Use matrix products that accept any layout (@, F.linear): x may be a non-contiguous view; "
                      "x.view(...) fails on one, x.reshape(...) does not.")
def test_lora_linear_non_contiguous_input(student, reference):
    """x a transposed (3, 2, 5) view: the reference's output."""
    mine, ref = twin_layers(student, reference, 5, 4, 2, 2.0, seed=30)
    x = randn(2, 3, 5, seed=30)
    with torch.no_grad():
        same_result(probe(student, on_transposed, mine, x), ref(x.transpose(0, 1)), "a non-contiguous x")


@exercise(LAYER, weight=2, hint="Dropout acts in training mode only: use nn.Dropout (or F.dropout(x, p, "
                                "training=self.training)); F.dropout(x, p) alone drops in eval mode too.")
def test_lora_linear_no_dropout_in_eval_mode(student, reference):
    """dropout=0.5 in eval mode: exactly the reference's output (nothing dropped)."""
    mine, ref = twin_layers(student, reference, 6, 4, 3, 6.0, dropout=0.5, seed=32)
    x = randn(5, 6, seed=32)
    with torch.no_grad():
        same_result(mine(x), ref(x), "the output in eval mode with dropout=0.5")


def train_mode_deltas(layer, x):
    """In train mode, then eval mode: layer(x) - base(x), without gradient."""
    import torch
    with torch.no_grad():
        layer.train()
        in_train = layer(x) - layer.base(x)
        layer.eval()
        in_eval = layer(x) - layer.base(x)
    return in_train, in_eval


@exercise(LAYER, weight=2, hint="Dropout goes on the adapter's input only: base(x) + scaling * (dropout(x) @ A.T @ B.T). "
                                "Never drop the frozen path base(x) nor the sum.")
def test_lora_linear_dropout_spares_the_frozen_path(student, reference):
    """dropout=0.5 in train mode with B = 0: the output is exactly base(x)."""
    mine, ref = twin_layers(student, reference, 6, 4, 3, 6.0, dropout=0.5, seed=33, adapter=False)
    in_train, _ = probe(student, train_mode_deltas, mine, randn(16, 6, seed=33))
    expect_close(in_train, torch.zeros(16, 4, dtype=torch.float64), 1e-12,
                 what="layer(x) - base(x) in train mode with B = 0")


@exercise(LAYER, weight=2, hint="Drop the adapter's INPUT x (nn.Dropout(p) on x, kept values scaled by 1/(1 - p)), "
                                "not A x, not the update, and not without the 1/(1 - p) scale.")
def test_lora_linear_dropout_drops_input_features(student, reference):
    """One input feature, r = 3, p = 0.5, 64 rows in train mode: each row's update is 0 or twice the eval-mode update."""
    mine, _ = twin_layers(student, reference, 1, 4, 3, 3.0, dropout=0.5, seed=34)
    in_train, in_eval = probe(student, train_mode_deltas, mine, randn(64, 1, seed=34))
    dropped = in_train.abs().amax(-1) < 1e-12
    expected = torch.where(dropped[:, None], torch.zeros_like(in_eval), 2 * in_eval)
    expect(bool(dropped.any()) and not bool(dropped.all()),
           f"with p = 0.5, {int(dropped.sum())} of 64 rows had no update: expected some dropped and some kept")
    expect_close(in_train, expected, 1e-10,
                 what="each row's update in train mode (0 where the input was dropped, 2 x the eval-mode update else)")


@exercise(LAYER, weight=2, hint="Training backpropagates into lora_A, lora_B and x: no .detach(), torch.no_grad() or "
                                ".data in forward, and no gradient into the frozen base.", broad=True)
def test_lora_linear_gradients_match_reference(student, reference):
    """The gradients of x, lora_A and lora_B equal the reference's, none for the base's weight and bias."""
    mine, ref = twin_layers(student, reference, 5, 6, 3, 4.0, seed=35)
    expect_same_module_gradients(student, mine, ref, [randn(2, 3, 5, seed=35)], randn(2, 3, 6, seed=36), "LoRALinear")


# merged_linear ----------------------------------------------------------------------------------

MERGE = "merged_linear"


def linear_facts(layer):
    """What an nn.Linear is: [class name, is an nn.Linear, in, out, weight, bias or None]."""
    import torch
    return [type(layer).__name__, isinstance(layer, torch.nn.Linear), layer.in_features, layer.out_features,
            layer.weight.detach().clone(), None if layer.bias is None else layer.bias.detach().clone()]


def merge_observed(function, layer, x):
    """Merge twice; the layer's tensors before and after, both merged layers' facts, the layer's and the merged
    layer's outputs, and whether the merged layer holds a tensor of the layer (same storage)."""
    import torch
    before = {name: p.detach().clone() for name, p in layer.named_parameters()}
    first = function(layer)
    second = function(layer)
    after = {name: p.detach().clone() for name, p in layer.named_parameters()}
    layer.eval()
    with torch.no_grad():
        outputs = [layer(x), first(x)]
    storages = {p.untyped_storage().data_ptr() for p in layer.parameters()}
    shared = [name for name, p in first.named_parameters() if p.untyped_storage().data_ptr() in storages]
    facts = [[type(m).__name__, m is layer.base, m.weight.detach().clone(), None if m.bias is None
              else m.bias.detach().clone()] for m in (first, second)]
    return before, after, facts, outputs, shared


def merged_reference(reference, ref_layer):
    merged = reference.merged_linear(ref_layer)
    return merged.weight.detach(), None if merged.bias is None else merged.bias.detach()


def merge_configs():
    """(in, out, r, alpha, bias, rslora, dtype): square (a transposed B @ A has the right shape there) and not."""
    return [(4, 4, 2, 8.0, True, False, torch.float64), (5, 3, 1, 1.0, False, False, torch.float64),
            (3, 6, 4, 4.0, True, True, torch.float64), (6, 6, 3, 2.0, False, True, torch.float64),
            (4, 2, 2, 3.0, True, False, torch.float32)]


@exercise(MERGE, weight=2, hint="x W'ᵀ with W' = W + scaling * B @ A must give the layer's own output: check the "
                                "order B @ A (not A.T @ B.T), the scaling, and compute in the layer's dtype (no .float()).")
def test_merged_linear_gives_the_layers_output(student, reference):
    """A square layer without bias (r = 3, dropout 0.5, eval mode, float64): merged(x) equals layer(x) to 1e-10."""
    mine, _ = twin_layers(student, reference, 5, 5, 3, 1.5, bias=False, dropout=0.5, seed=47)
    _, _, _, outputs, _ = probe(student, merge_observed, student.merged_linear, mine, randn(4, 5, seed=47))
    expect_close(outputs[1], outputs[0], 1e-10, what="merged(x) against layer(x)")


@exercise(MERGE, hint="Return a NEW nn.Linear(in_features, out_features, bias=base.bias is not None): not the base "
                      "module itself, not the LoRALinear.")
def test_merged_linear_returns_a_new_linear(student, reference):
    """An nn.Linear with the same sizes, a bias exactly when the base has one, and not the base module itself."""
    for bias in (True, False):
        mine, _ = twin_layers(student, reference, 5, 3, 2, 2.0, bias, seed=40)
        merged = student.merged_linear(mine)
        expect(is_a(merged, torch.nn.Linear), f"expected an nn.Linear, got {kind_of(merged)}")
        expect_proven(merged is not mine.base, "merged_linear returned the base layer itself (changed in place): "
                                               "build a new nn.Linear")
        _, _, in_f, out_f, _, got_bias = probe(student, linear_facts, merged)
        expect_equal((in_f, out_f, got_bias is not None), (5, 3, bias),
                     f"(in_features, out_features, has a bias) for a base {'with' if bias else 'without'} bias")


@exercise(MERGE, weight=3, hint="weight = W + layer.scaling * (lora_B @ lora_A): B (out, r) times A (r, in) gives "
                                "(out, in); keep the scaling (rsLoRA's too), compute in the layer's own dtype (float64 "
                                "stays float64) and copy the base's bias.", broad=True)
def test_merged_linear_matches_reference_weights(student, reference):
    """Five layers (square and not, r 1 to 4, rsLoRA, bias or not, float64 and float32): the reference's merged weight
    and bias."""
    for number, (in_f, out_f, r, alpha, bias, rslora, dtype) in enumerate(merge_configs()):
        mine, ref = twin_layers(student, reference, in_f, out_f, r, alpha, bias, use_rslora=rslora, dtype=dtype,
                                seed=41 + number)
        what = f"merged_linear of LoRALinear(nn.Linear({in_f}, {out_f}, bias={bias}), r={r}, alpha={alpha}, " \
               f"use_rslora={rslora}) in {str(dtype).removeprefix('torch.')}"
        _, _, _, _, weight, got_bias = probe(student, linear_facts, student.merged_linear(mine))
        expected_weight, expected_bias = merged_reference(reference, ref)
        same_result(weight, expected_weight, f"{what}: the weight")
        if bias:
            expect(got_bias is not None, f"{what}: the merged layer has no bias; copy the base's")
            same_result(got_bias, expected_bias, f"{what}: the bias")


@exercise(MERGE, hint="Build the new layer in the base weight's dtype (dtype=base.weight.dtype): a float64 layer "
                      "merges to float64, a bfloat16 one to bfloat16.")
def test_merged_linear_keeps_the_dtype(student, reference):
    """float64, float32 and bfloat16 layers give merged weights of their own dtype."""
    for dtype in (torch.float64, torch.float32, torch.bfloat16):
        mine, _ = twin_layers(student, reference, 3, 2, 1, 1.0, dtype=dtype, seed=46)
        weight = probe(student, linear_facts, student.merged_linear(mine))[4]
        expect_equal(weight.dtype, dtype, f"the merged weight's dtype for a {str(dtype).removeprefix('torch.')} layer")


@exercise(MERGE, weight=2, hint="Leave the LoRALinear alone: compute W + scaling * B @ A into the NEW layer's weight; "
                                "base.weight += ... changes the adapted layer, which then counts the update twice.")
def test_merged_linear_leaves_the_layer_unchanged(student, reference):
    """After two merges, the layer's W, b, A and B are what they were."""
    mine, ref = twin_layers(student, reference, 4, 3, 2, 2.0, seed=48)
    before, after, facts, _, _ = probe(student, merge_observed, student.merged_linear, mine, randn(2, 4, seed=48))
    for name, tensor in before.items():
        try:
            expect_close(after[name], tensor, 0.0, what=name)
        except AssertionError as changed:
            expect_proven(False, f"merged_linear changed the layer's {name} in place ({changed}); leave the layer as it was")
    with judged_only_if_right():
        same_result(facts[0][2], merged_reference(reference, ref)[0], "the merged weight")


@exercise(MERGE, hint="Merging twice must give the same layer twice: compute the merged weight from the unchanged "
                      "W each time, into a new layer.")
def test_merged_linear_twice_gives_the_same_weight(student, reference):
    """Two merges of the same layer give equal weights (the update is not added twice)."""
    mine, ref = twin_layers(student, reference, 3, 3, 1, 4.0, seed=49)
    _, _, facts, _, _ = probe(student, merge_observed, student.merged_linear, mine, randn(2, 3, seed=49))
    expect_close(facts[1][2], facts[0][2], 0.0, what="the second merge's weight against the first's")
    with judged_only_if_right():
        same_result(facts[0][2], merged_reference(reference, ref)[0], "the merged weight")


@exercise(MERGE, hint="The merged layer owns its tensors: create them (nn.Linear(...), then copy_ the values in), "
                      "do not reuse base.weight or base.bias (merged.bias = base.bias shares it).")
def test_merged_linear_shares_no_tensor(student, reference):
    """No parameter of the merged layer shares storage with the layer's."""
    mine, ref = twin_layers(student, reference, 4, 5, 2, 2.0, seed=50)
    _, _, facts, _, shared = probe(student, merge_observed, student.merged_linear, mine, randn(2, 4, seed=50))
    expect(not shared, f"the merged layer's {', '.join(shared)} shares its storage with the LoRALinear's tensors")
    with judged_only_if_right():
        same_result(facts[0][2], merged_reference(reference, ref)[0], "the merged weight")


# apply_lora -------------------------------------------------------------------------------------

APPLY = "apply_lora"
TOY_IDS = torch.tensor([[1, 4, 9, 0], [10, 2, 2, 7]])


def twin_models(student, reference, kind="toy", seed=60, **options):
    """(learner's model, reference's) built from the same seed: 'toy' or 'course'."""
    build = {"toy": toy_model, "course": course_model}[kind]
    return probe(student, build, seed, **options), build(seed, **options)


@exercise(APPLY, hint="Change the model in place and return it: return model (not a copy, not None).")
def test_apply_lora_returns_the_model_itself(student, reference):
    """apply_lora returns the model object it was given."""
    mine, _ = twin_models(student, reference)
    result = student.apply_lora(mine, ["q_proj"], 2, 4.0)
    expect_proven(result is mine, f"apply_lora returned {kind_of(result)}, not the model it was given (change it in "
                                  "place and return it)")


@exercise(APPLY, weight=2, hint="Collect EVERY nn.Linear whose last name part is in target_names (all layers, every "
                                "target), then replace each in its parent (setattr(parent, child_name, ...)).")
def test_apply_lora_wraps_every_target(student, reference):
    """Targets q_proj and v_proj in a 2-block toy model: exactly the four matching layers are LoRALinear."""
    mine, _ = twin_models(student, reference)
    student.apply_lora(mine, ["q_proj", "v_proj"], 2, 4.0)
    expect_equal(sorted(probe(student, adapted_layers, mine)),
                 [f"layers.{i}.attn.{name}" for i in (0, 1) for name in ("q_proj", "v_proj")], "the adapted modules")


@exercise(APPLY, hint="Wrap the module that is there: LoRALinear(getattr(parent, child_name), ...), not a new "
                      "nn.Linear, so that the pretrained weights are kept.")
def test_apply_lora_wraps_the_original_modules(student, reference):
    """Each LoRALinear's base is the nn.Linear that was in its place."""
    mine, _ = twin_models(student, reference)
    old = [mine.layers[i].attn.o_proj for i in (0, 1)]
    student.apply_lora(mine, {"o_proj"}, 2, 4.0)
    for i in (0, 1):
        expect(mine.layers[i].attn.o_proj.base is old[i], f"layers.{i}.attn.o_proj.base is not the original nn.Linear")


@exercise(APPLY, hint="Match a module's own name (name.rpartition('.')[2] in target_names), not a substring of its "
                      "dotted name, and wrap only nn.Linear modules (isinstance(module, nn.Linear)): an nn.Sequential "
                      "named mlp, and the layers inside it, are left alone.")
def test_apply_lora_skips_modules_that_are_not_linear(student, reference):
    """Targets mlp (an nn.Sequential) and q_proj: only the q_proj layers are adapted."""
    mine, _ = twin_models(student, reference)
    student.apply_lora(mine, ("mlp", "q_proj"), 2, 4.0)
    expect_equal(sorted(probe(student, adapted_layers, mine)), ["layers.0.attn.q_proj", "layers.1.attn.q_proj"],
                 "the adapted modules")


def trainable_names(model):
    return [name for name, p in model.named_parameters() if p.requires_grad]


@exercise(APPLY, weight=2, hint="Freeze the whole model (model.requires_grad_(False)) and leave only lora_A and lora_B "
                                "trainable: the embeddings, norms, head and the other layers too, not only the wrapped "
                                "bases.")
def test_apply_lora_freezes_everything_else(student, reference):
    """After apply_lora on q_proj of the course model: only the lora_A and lora_B parameters are trainable."""
    mine, ref = twin_models(student, reference, "course")
    student.apply_lora(mine, ["q_proj"], 2, 4.0)
    expect_equal(probe(student, trainable_names, mine), trainable_names(reference.apply_lora(ref, ["q_proj"], 2, 4.0)),
                 "the trainable parameters")


@exercise(APPLY, hint="Pass r, alpha, dropout and use_rslora on: LoRALinear(module, r, alpha, dropout, use_rslora).")
def test_apply_lora_passes_the_options(student, reference):
    """r = 3, alpha = 6, dropout = 0.25, use_rslora: each adapter has rank 3, scaling 6/√3 and dropout 0.25."""
    mine, ref = twin_models(student, reference)
    student.apply_lora(mine, ["v_proj"], 3, 6.0, 0.25, True)
    expect_equal(probe(student, adapted_layers, mine),
                 adapted_layers(reference.apply_lora(ref, ["v_proj"], 3, 6.0, 0.25, True)),
                 "{name: (type, r, scaling, dropout)} of the adapted modules")


@exercise(APPLY, hint="Raise ValueError when no nn.Linear has one of the target names as its own name (a typo would "
                      "train nothing); 'proj' names no layer of q_proj, v_proj and o_proj.")
def test_apply_lora_raises_when_nothing_matches(student, reference):
    """Targets ['query'], ['mlp'] and ['proj'] (no nn.Linear of that own name) raise ValueError."""
    for targets in (["query"], ["mlp"], ["proj"]):
        mine, _ = twin_models(student, reference)
        try:
            student.apply_lora(mine, targets, 2, 4.0)
        except ValueError:
            continue
        raise AssertionError(f"apply_lora(model, {targets}, 2, 4.0) should raise ValueError")


def apply_cases():
    """(model kind, targets, r, alpha, dropout, use_rslora)."""
    return [("toy", ["q_proj", "v_proj"], 2, 4.0, 0.0, False), ("toy", ("o_proj",), 1, 1.0, 0.1, False),
            ("toy", {"q_proj", "o_proj", "v_proj", "head"}, 4, 2.0, 0.0, True),
            ("course", ["q_proj", "v_proj"], 2, 8.0, 0.0, False),
            ("course", ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], 3, 3.0, 0.0, True)]


@exercise(APPLY, weight=3, hint="Every nn.Linear named in target_names (a list, tuple or set) wrapped in "
                                "LoRALinear(module, r, alpha, dropout, use_rslora), in place, everything else frozen.",
          broad=True)
def test_apply_lora_matches_reference_on_models(student, reference):
    """A toy model and a course model, targets as a list, a tuple or a set, several ranks, rsLoRA: the same adapted
    modules, trainable parameters and (with non-zero adapters) outputs as the reference."""
    for number, (kind, targets, r, alpha, dropout, rslora) in enumerate(apply_cases()):
        mine, ref = twin_models(student, reference, kind, seed=61 + number)
        what = f"apply_lora({kind} model, {sorted(targets)} as a {type(targets).__name__}, r={r}, alpha={alpha}, " \
               f"dropout={dropout}, use_rslora={rslora})"
        student.apply_lora(mine, targets, r, alpha, dropout, rslora)
        reference.apply_lora(ref, targets, r, alpha, dropout, rslora)
        expect_equal(probe(student, adapted_layers, mine), adapted_layers(ref), f"{what}: the adapted modules")
        expect_equal(probe(student, trainable_names, mine), trainable_names(ref), f"{what}: the trainable parameters")
        probe(student, randomize_adapters, mine, number)
        randomize_adapters(ref, number)
        ids = TOY_IDS if kind == "toy" else torch.randint(23, (2, 5), generator=gen(number))
        same_result(probe(student, outputs_of, mine, ids), outputs_of(ref, ids), f"{what}: the output")


# count_trainable ----------------------------------------------------------------------------------

COUNT = "count_trainable"


def frozen_except(model, trainable):
    """Freeze every parameter whose name does not start with one of `trainable`; return the model."""
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(tuple(trainable)))
    return model


def adapted(apply, model, targets, r):
    """apply(model, targets, r, 2r): the reference's apply_lora, in the worker (while another exercise is graded)."""
    return apply(model, targets, r, 2.0 * r)


def count_cases():
    """(label, builder kind, seed, tied, trainable prefixes or None)."""
    return [("a toy model, all trainable", "toy", 70, False, None),
            ("a toy model with tied head and embedding", "toy", 71, True, None),
            ("a toy model with only the head and the first block trainable", "toy", 72, False, ["head", "layers.0"]),
            ("a toy model, all frozen", "toy", 73, False, []),
            ("a course model", "course", 74, False, None)]


def counted_pair(student, reference, kind, seed, tied, trainable):
    options = {"tied": tied} if kind == "toy" else {}
    mine, ref = twin_models(student, reference, kind, seed, **options)
    if trainable is not None:
        probe(student, frozen_except, mine, trainable)
        frozen_except(ref, trainable)
    return mine, ref


def expect_count(got, expected, tensors, what):
    """(trainable, total) as expected; a wrong pair that is the expected one swapped, or the numbers of tensors
    instead of elements, is named as such."""
    if got == expected and type(got) is tuple:
        return
    note = ""
    if got == expected[::-1]:
        note = ": that is (total, trainable), the order is swapped"
    elif got == tensors:
        note = ": those are numbers of tensors, not of elements (p.numel())"
    expect_equal(got, expected, what + note)


@exercise(COUNT, weight=2, hint="(sum of p.numel() over the parameters with requires_grad, sum of p.numel() over all "
                                "parameters), each over model.parameters() (shared parameters once, buffers never).",
          broad=True)
def test_count_trainable_matches_reference_on_models(student, reference):
    """Toy models (all trainable, tied, partly frozen, frozen), a course model, and both with LoRA adapters: the
    reference's counts."""
    for label, kind, seed, tied, trainable in count_cases():
        mine, ref = counted_pair(student, reference, kind, seed, tied, trainable)
        expect_equal(student.count_trainable(mine), reference.count_trainable(ref), f"count_trainable({label})")
    for kind, targets in (("toy", ["q_proj", "o_proj"]), ("course", ["q_proj", "v_proj"])):
        mine, ref = twin_models(student, reference, kind, seed=75)
        probe(student, adapted, student.apply_lora, mine, targets, 3)
        reference.apply_lora(ref, targets, 3, 6.0)
        expect_equal(student.count_trainable(mine), reference.count_trainable(ref),
                     f"count_trainable(a {kind} model with adapters on {targets}, r = 3)")


@exercise(COUNT, hint="Return a tuple of two Python ints: (trainable, total), e.g. via sum(p.numel() ...).")
def test_count_trainable_returns_two_ints(student, reference):
    """A tuple of two ints."""
    mine, _ = twin_models(student, reference, seed=76)
    got = student.count_trainable(mine)
    expect(type(got) is tuple and len(got) == 2 and all(type(n) is int for n in got),
           f"expected a tuple of two ints, got {kind_of(got)}: {got!r}"[:200])


@exercise(COUNT, weight=2, hint="Count as trainable only the parameters with p.requires_grad; the total counts every "
                                "parameter.")
def test_count_trainable_skips_frozen_parameters(student):
    """nn.Linear(4, 3) with every parameter frozen: (0, 15); with only its bias trainable (no gradient computed
    yet): (3, 15)."""
    layer = probe(student, make_linear, *base_weights(4, 3, seed=82))
    layer.requires_grad_(False)
    expect_count(student.count_trainable(layer), (0, 15), (0, 2), "count_trainable(nn.Linear(4, 3), all frozen)")
    layer.bias.requires_grad_(True)
    expect_count(student.count_trainable(layer), (3, 15), (1, 2), "count_trainable(nn.Linear(4, 3), only the bias trainable)")


@exercise(COUNT, hint="Count elements (p.numel()), not tensors: an nn.Linear(6, 4) has 28 parameters, not 2.")
def test_count_trainable_counts_elements(student):
    """nn.Linear(6, 4) with its bias frozen: (24, 28)."""
    weight, b = base_weights(6, 4, seed=77)
    layer = probe(student, make_linear, weight, b)
    layer.bias.requires_grad_(False)
    expect_count(student.count_trainable(layer), (24, 28), (1, 2), "count_trainable(nn.Linear(6, 4), bias frozen)")


@exercise(COUNT, hint="The order is (trainable, total): the trainable count first.")
def test_count_trainable_trainable_first(student):
    """nn.Linear(3, 2) with its weight frozen: (2, 8)."""
    layer = probe(student, make_linear, *base_weights(3, 2, seed=78))
    layer.weight.requires_grad_(False)
    expect_count(student.count_trainable(layer), (2, 8), (1, 2), "count_trainable(nn.Linear(3, 2), weight frozen)")


@exercise(COUNT, hint="A weight shared by two modules is one parameter: iterate model.parameters() (which yields it "
                      "once), not model.state_dict() or named_parameters(remove_duplicate=False).")
def test_count_trainable_counts_tied_weights_once(student, reference):
    """A toy model whose head shares the embedding's 11 x 6 weight counts it once."""
    mine, ref = twin_models(student, reference, seed=79, tied=True)
    expect_equal(student.count_trainable(mine), reference.count_trainable(ref), "count_trainable(a tied toy model)")


@exercise(COUNT, hint="Buffers (register_buffer: running statistics, RoPE tables) are not parameters: count "
                      "model.parameters() only, not the state_dict.")
def test_count_trainable_ignores_buffers(student, reference):
    """A toy model with a 6-element buffer: the buffer is not counted."""
    mine, ref = twin_models(student, reference, seed=80)
    expect_equal(student.count_trainable(mine), reference.count_trainable(ref), "count_trainable(a toy model with a buffer)")


def requires_grad_after(function, model):
    """function(model), then each parameter's requires_grad and the result."""
    result = function(model)
    return [p.requires_grad for p in model.parameters()], result


@exercise(COUNT, hint="Only count: do not change requires_grad (no requires_grad_() calls in count_trainable).")
def test_count_trainable_leaves_the_model_unchanged(student, reference):
    """After the count, each parameter's requires_grad is what it was (the head and the first block trainable)."""
    mine, ref = counted_pair(student, reference, "toy", 81, False, ["head", "layers.0"])
    flags, result = probe(student, requires_grad_after, student.count_trainable, mine)
    expect_proven(flags == [p.requires_grad for p in ref.parameters()],
                  "count_trainable changed which parameters are trainable; only count them")
    with judged_only_if_right():
        expect_equal(result, reference.count_trainable(ref), "the count")


# lora_state_dict ----------------------------------------------------------------------------------

SAVE = "lora_state_dict"


def saved_adapter(function, model):
    """function(model), with facts about it: [is a dict, its items as a plain dict, the requires_grad flags]."""
    saved = function(model)
    is_dict = isinstance(saved, dict)
    items = dict(saved) if is_dict else {}
    flags = {name: bool(getattr(value, "requires_grad", False)) for name, value in items.items()}
    return is_dict, {name: value.detach().clone() if hasattr(value, "detach") else value
                     for name, value in items.items()}, flags


def adapted_twins(student, reference, kind="course", seed=90, targets=("q_proj", "v_proj"), r=2):
    """Twin models with adapters on `targets` (the reference's apply_lora on both sides), set to non-zero values."""
    mine, ref = twin_models(student, reference, kind, seed)
    probe(student, adapted, student.apply_lora, mine, list(targets), r)
    reference.apply_lora(ref, list(targets), r, 2.0 * r)
    probe(student, randomize_adapters, mine, seed)
    randomize_adapters(ref, seed)
    return mine, ref


def is_saved_dict(is_dict, result):
    expect(is_dict, f"expected a dict, got {kind_of(result)}")


@exercise(SAVE, weight=2, hint="Keep exactly the state_dict entries whose last name part is lora_A or lora_B (both; "
                               "name.rpartition('.')[2] in ('lora_A', 'lora_B')), under their full dotted names, in the "
                               "state_dict's order.")
def test_lora_state_dict_names_and_order(student, reference):
    """A course model with adapters on q_proj and v_proj, and a toy model on o_proj and head: the reference's names,
    in order."""
    for kind, targets in (("course", ("q_proj", "v_proj")), ("toy", ("o_proj", "head"))):
        mine, ref = adapted_twins(student, reference, kind, targets=targets)
        is_dict, items, _ = probe(student, saved_adapter, student.lora_state_dict, mine)
        expect(is_dict, "lora_state_dict should return a dict")
        expect_equal(list(items), list(reference.lora_state_dict(ref)), f"the names saved ({kind} model, {targets})")


@exercise(SAVE, hint="Select by name, not by requires_grad: a model may train other parameters beside the adapters "
                     "(here the output head), and those are not part of the adapter.")
def test_lora_state_dict_only_the_adapters(student, reference):
    """A course model with adapters and a trainable output head: only the lora_A and lora_B entries."""
    mine, ref = adapted_twins(student, reference, seed=91)
    mine.lm_head.weight.requires_grad_(True)
    _, items, _ = probe(student, saved_adapter, student.lora_state_dict, mine)
    expect_equal(list(items), list(reference.lora_state_dict(ref)), "the names saved")


@exercise(SAVE, hint="A model without adapters has no lora_A / lora_B entries: return an empty dict, not an error.")
def test_lora_state_dict_empty_without_adapters(student, reference):
    """A toy model without adapters gives {}."""
    mine, _ = twin_models(student, reference, seed=92)
    is_dict, items, _ = probe(student, saved_adapter, student.lora_state_dict, mine)
    expect(is_dict, "lora_state_dict should return a dict")
    expect_equal(items, {}, "lora_state_dict of a model without adapters")


@exercise(SAVE, hint="Save the adapters' own values (model.state_dict()[name]), each under its full name.")
def test_lora_state_dict_values(student, reference):
    """With non-zero adapters, every saved tensor equals the model's."""
    mine, ref = adapted_twins(student, reference, seed=93)
    _, items, _ = probe(student, saved_adapter, student.lora_state_dict, mine)
    expected = reference.lora_state_dict(ref)
    expect_equal(list(items), list(expected), "the names saved")
    for name, tensor in expected.items():
        expect_close(items[name], tensor, 0.0, what=name)


def saved_after_training(function, model):
    """function(model), then every parameter changed in place (a training step): the saved values, as they are now."""
    import torch
    saved = function(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    return {name: value.detach().clone() for name, value in dict(saved).items()}


@exercise(SAVE, weight=2, hint="Return copies (tensor.clone()): state_dict() tensors share memory with the model, so "
                               "further training would change the saved adapter.")
def test_lora_state_dict_saves_copies(student, reference):
    """After the model's parameters change in place, the saved adapter still holds the values at saving time."""
    mine, ref = adapted_twins(student, reference, seed=94)
    got = probe(student, saved_after_training, student.lora_state_dict, mine)
    expected = reference.lora_state_dict(ref)
    expect_equal(list(got), list(expected), "the names saved")
    for name, tensor in expected.items():
        expect_close(got[name], tensor, 0.0, what=f"{name} after the model changed")


@exercise(SAVE, hint="Take the tensors from model.state_dict() (detached), not the Parameters themselves: a saved "
                     "adapter carries no autograd history.")
def test_lora_state_dict_tensors_are_detached(student, reference):
    """Every saved tensor has requires_grad False."""
    mine, _ = adapted_twins(student, reference, seed=95)
    _, items, flags = probe(student, saved_adapter, student.lora_state_dict, mine)
    attached = [name for name, flag in flags.items() if flag]
    expect(not attached, f"{len(attached)} saved tensors require grad, e.g. {attached[:1]}")
    expect(bool(items), "nothing was saved")


def round_trip(function, saved_model, fresh_model, ids):
    """function(saved_model) loaded with strict=False into fresh_model: [unexpected keys, max |output difference|]."""
    import torch
    result = fresh_model.load_state_dict(function(saved_model), strict=False)
    saved_model.eval()
    fresh_model.eval()
    with torch.no_grad():
        difference = (saved_model(ids)[0] - fresh_model(ids)[0]).abs().max().item()
    return [list(result.unexpected_keys), difference]


@exercise(SAVE, hint="The names must be those of model.state_dict() (full dotted names), so that "
                     "load_state_dict(saved, strict=False) finds them.")
def test_lora_state_dict_round_trip(student, reference):
    """Loading the saved adapter into a fresh copy with zero adapters gives the same logits."""
    mine, _ = adapted_twins(student, reference, seed=96)
    fresh, _ = twin_models(student, reference, "course", seed=96)
    probe(student, adapted, student.apply_lora, fresh, ["q_proj", "v_proj"], 2)
    unexpected, difference = probe(student, round_trip, student.lora_state_dict, mine, fresh,
                                   torch.randint(23, (2, 6), generator=gen(96)))
    expect_equal(unexpected, [], "keys load_state_dict did not recognise")
    expect_close(difference, 0.0, 1e-12, what="max |logits difference| after loading the saved adapter")


def parameters_after(function, model):
    """function(model), then every parameter's value and requires_grad flag."""
    function(model)
    return {name: (p.detach().clone(), p.requires_grad) for name, p in model.named_parameters()}


@exercise(SAVE, hint="Only read the model: no in-place change of its tensors or of requires_grad.")
def test_lora_state_dict_leaves_the_model_unchanged(student, reference):
    """After saving, every parameter of the model and its requires_grad flag are what they were."""
    mine, ref = adapted_twins(student, reference, seed=97)
    after = probe(student, parameters_after, student.lora_state_dict, mine)
    for name, p in ref.named_parameters():
        expect_proven(name in after and bool(torch.equal(after[name][0], p.detach())) and after[name][1] == p.requires_grad,
                      f"lora_state_dict changed the model's {name}; only read it")
