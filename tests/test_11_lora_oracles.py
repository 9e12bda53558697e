"""Oracle tests for notebook 11 (LoRA): the reference solutions against Hugging Face's peft (0.21.2), an
implementation nobody on this project wrote. peft wraps the same base model (a course model, or a single
nn.Linear); its zero-initialised B and its random A are replaced by the same seeded non-zero values on both
sides before anything is compared.

Traps (../shared/notes/oracles.md): `get_peft_model` changes the model it is given, so it gets a deep copy;
peft's lora_A and lora_B are nn.Linear modules, whose `.weight` has the shapes (r, in) and (out, r) of the
reference's parameters; `lora_dropout=0.0` makes peft's dropout an identity.
"""
import copy
import math

import pytest
import torch
import torch.nn as nn
from peft import LoraConfig, get_peft_model

from autograder.notebook import load_reference
from coursekit.models import LlamaConfig, LlamaForCausalLM, load_model


@pytest.fixture(scope="module")
def ref():
    return load_reference("11-lora")


def small_llama(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=50, hidden_size=24, intermediate_size=40, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    return LlamaForCausalLM(config).to(dtype).eval()


def peft_adapters(peft_model):
    """{module name in the plain model: peft's LoRA layer}."""
    return {name.removeprefix("base_model.model."): module for name, module in peft_model.named_modules()
            if isinstance(getattr(module, "lora_A", None), nn.ModuleDict)}


def set_same_adapters(peft_model, ours, seed):
    """Seeded non-zero A and B, copied into peft's layers and into the reference's LoRALinear of the same name."""
    generator = torch.Generator().manual_seed(seed)
    adapters = peft_adapters(peft_model)
    assert adapters, "peft adapted nothing"
    with torch.no_grad():
        for name, module in adapters.items():
            a, b = module.lora_A["default"].weight, module.lora_B["default"].weight
            a.copy_(torch.randn(a.shape, generator=generator, dtype=a.dtype))
            b.copy_(torch.randn(b.shape, generator=generator, dtype=b.dtype))
            mine = ours.get_submodule(name)
            mine.lora_A.copy_(a)
            mine.lora_B.copy_(b)
    return adapters


def peft_and_ours(ref, model, targets, r, alpha, use_rslora=False, seed=1):
    peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=r, lora_alpha=alpha, target_modules=list(targets),
                                                                 lora_dropout=0.0, use_rslora=use_rslora))
    ours = ref.apply_lora(copy.deepcopy(model), list(targets), r, alpha, use_rslora=use_rslora)
    set_same_adapters(peft_model, ours, seed)
    return peft_model.eval(), ours.eval()


@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("use_rslora", [False, True])
def test_lora_layer_matches_peft(ref, dtype, atol, bias, use_rslora):
    """One nn.Linear(7, 5) with r = 3, alpha = 5: the same output as peft's LoRA layer, 1-D to 3-D inputs."""
    torch.manual_seed(0)
    base = nn.Sequential()
    base.add_module("proj", nn.Linear(7, 5, bias=bias).to(dtype))
    peft_model = get_peft_model(copy.deepcopy(base), LoraConfig(r=3, lora_alpha=5, target_modules=["proj"],
                                                                lora_dropout=0.0, use_rslora=use_rslora))
    ours = ref.LoRALinear(copy.deepcopy(base.proj), 3, 5, use_rslora=use_rslora)
    holder = nn.Sequential()
    holder.add_module("proj", ours)
    set_same_adapters(peft_model, holder, seed=2)
    for shape in [(7,), (4, 7), (2, 3, 7)]:
        x = torch.randn(shape, generator=torch.Generator().manual_seed(3), dtype=dtype)
        with torch.no_grad():
            torch.testing.assert_close(ours(x), peft_model(x), atol=atol, rtol=0)


@pytest.mark.parametrize("r, alpha", [(1, 1), (4, 8), (16, 8), (9, 3)])
def test_rslora_scaling_matches_peft(ref, r, alpha):
    """scaling: alpha / r, and alpha / sqrt(r) with use_rslora, as peft's layer stores it."""
    for use_rslora in (False, True):
        base = nn.Sequential()
        base.add_module("proj", nn.Linear(20, 20))
        peft_model = get_peft_model(base, LoraConfig(r=r, lora_alpha=alpha, target_modules=["proj"],
                                                     use_rslora=use_rslora))
        expected = peft_adapters(peft_model)["proj"].scaling["default"]
        got = ref.LoRALinear(nn.Linear(20, 20), r, alpha, use_rslora=use_rslora).scaling
        assert got == pytest.approx(expected, abs=1e-15)
        assert got == pytest.approx(alpha / math.sqrt(r) if use_rslora else alpha / r, abs=1e-15)


@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-4), (torch.float64, 1e-10)])
@pytest.mark.parametrize("targets, use_rslora", [(("q_proj", "v_proj"), False),
                                                 (("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                   "down_proj"), True)])
def test_apply_lora_matches_peft_on_a_course_model(ref, dtype, atol, targets, use_rslora):
    """A small course model (LLaMA architecture): the same modules adapted and the same logits as peft's."""
    model = small_llama(dtype=dtype)
    peft_model, ours = peft_and_ours(ref, model, targets, 4, 8, use_rslora)
    adapted = sorted(name for name, module in ours.named_modules() if isinstance(module, ref.LoRALinear))
    assert adapted == sorted(peft_adapters(peft_model))
    idx = torch.randint(50, (2, 11), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(ours(idx)[0], peft_model(idx)[0], atol=atol, rtol=0)
        # the adapters change the output: the comparison is not one of two base models
        assert (ours(idx)[0] - model(idx)[0]).abs().max() > 0.1


def test_apply_lora_matches_peft_on_the_pretrained_small_model(ref):
    """The course's pretrained `small` model with r = 8 on q_proj and v_proj, as in the notebook's experiment."""
    model = load_model("small")
    peft_model, ours = peft_and_ours(ref, model, ("q_proj", "v_proj"), 8, 16)
    idx = torch.randint(4096, (2, 16), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        torch.testing.assert_close(ours(idx)[0], peft_model(idx)[0], atol=1e-4, rtol=0)


@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-6), (torch.float64, 1e-14)])
def test_merged_linear_matches_merge_and_unload(ref, dtype, atol):
    """Every merged weight equals the weight of peft's merge_and_unload(), bias included; the merged models give
    the same logits."""
    model = small_llama(seed=1, dtype=dtype)
    targets = ("q_proj", "v_proj", "down_proj")
    peft_model, ours = peft_and_ours(ref, model, targets, 3, 6)
    unloaded = peft_model.merge_and_unload()
    adapted = [name for name, module in ours.named_modules() if isinstance(module, ref.LoRALinear)]
    assert len(adapted) == 6
    for name in adapted:
        merged = ref.merged_linear(ours.get_submodule(name))
        theirs = unloaded.get_submodule(name)
        assert type(theirs) is nn.Linear
        torch.testing.assert_close(merged.weight, theirs.weight, atol=atol, rtol=0)
        assert (merged.bias is None) == (theirs.bias is None)


def test_merged_linear_with_bias_matches_merge_and_unload(ref):
    """A layer with a bias, float64: weight and bias as peft's merge_and_unload()."""
    torch.manual_seed(2)
    base = nn.Sequential()
    base.add_module("proj", nn.Linear(6, 9).double())
    peft_model = get_peft_model(copy.deepcopy(base), LoraConfig(r=2, lora_alpha=3, target_modules=["proj"]))
    holder = nn.Sequential()
    holder.add_module("proj", ref.LoRALinear(copy.deepcopy(base.proj), 2, 3))
    set_same_adapters(peft_model, holder, seed=6)
    merged = ref.merged_linear(holder.proj)
    theirs = peft_model.merge_and_unload().proj
    torch.testing.assert_close(merged.weight, theirs.weight, atol=1e-14, rtol=0)
    torch.testing.assert_close(merged.bias, theirs.bias, atol=0, rtol=0)


def peft_counts(peft_model):
    """The two numbers print_trainable_parameters prints."""
    return peft_model.get_nb_trainable_parameters()


@pytest.mark.parametrize("name, targets, r", [("tiny", ("q_proj", "v_proj"), 4), ("small", ("q_proj", "v_proj"), 8),
                                               ("small", ("q_proj", "k_proj", "v_proj", "o_proj"), 2),
                                               ("base", ("q_proj", "v_proj"), 16)])
def test_count_trainable_matches_peft(ref, name, targets, r, capsys):
    """(trainable, total) of the course models with adapters equal peft's, and what print_trainable_parameters
    prints."""
    model = load_model(name)
    peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=r, lora_alpha=2 * r, target_modules=list(targets)))
    ours = ref.apply_lora(copy.deepcopy(model), list(targets), r, 2 * r)
    trainable, total = ref.count_trainable(ours)
    assert (trainable, total) == peft_counts(peft_model)
    peft_model.print_trainable_parameters()
    assert f"trainable params: {trainable:,d} || all params: {total:,d}" in capsys.readouterr().out


def test_lora_state_dict_holds_peft_adapter_weights(ref):
    """The reference's saved adapter holds, under the model's own names, exactly the A and B of peft's
    get_peft_model_state_dict (whose names carry peft's prefixes and `.weight`)."""
    from peft import get_peft_model_state_dict
    model = small_llama(seed=3)
    peft_model, ours = peft_and_ours(ref, model, ("q_proj", "v_proj"), 2, 4)
    theirs = get_peft_model_state_dict(peft_model)
    saved = ref.lora_state_dict(ours)
    assert len(saved) == len(theirs) == 8
    for name, tensor in saved.items():
        peft_name = "base_model.model." + name + ".weight"
        torch.testing.assert_close(tensor, theirs[peft_name], atol=0, rtol=0)
