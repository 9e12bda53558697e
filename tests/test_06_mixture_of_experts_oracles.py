"""Oracle tests for notebook 06 (mixture of experts): the reference solutions against Hugging Face
transformers (5.23), built from tiny random configs offline.

* `MixtralSparseMoeBlock` with the reference `MoELayer`'s weights (router = `gate.weight`; each
  expert's gate and up maps stacked as `experts.gate_up_proj[e]`, its down map as
  `experts.down_proj[e]`) gives the same output to float32 rounding (3e-8 here: Hugging Face runs the
  gate and up maps as one fused matrix product); the routing (weights and experts) is bit for bit equal.
* Mixtral's `load_balancing_loss_func` (Switch's E · Σ fᵢPᵢ counting all k picks) equals
  `load_balancing_loss`, for one layer and for several layers concatenated. Its trap: given a tensor
  instead of a tuple of per-layer tensors, it silently returns 0.
* `Qwen2MoeSparseMoeBlock` (renormalising, `norm_topk_prob=True`) equals the reference `MoELayer`
  plus a sigmoid-gated shared `Expert`: the MoE layer composes with a shared expert.
* `DeepseekV3TopkRouter` (one group, scaling factor 1) chooses the same experts as
  `biased_top_k_route` with the same bias (compared as sets: Hugging Face does not sort them), with the
  same weights; `DeepseekV3MoE` equals the notebook's `SharedExpertMoE`.
"""
import pytest
import torch
import transformers
from transformers.models.deepseek_v3.configuration_deepseek_v3 import DeepseekV3Config
from transformers.models.deepseek_v3.modeling_deepseek_v3 import DeepseekV3MoE, DeepseekV3TopkRouter
from transformers.models.mixtral.configuration_mixtral import MixtralConfig
from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock, load_balancing_loss_func
from transformers.models.qwen2_moe.configuration_qwen2_moe import Qwen2MoeConfig
from transformers.models.qwen2_moe.modeling_qwen2_moe import Qwen2MoeSparseMoeBlock

from autograder.notebook import load_reference

transformers.logging.set_verbosity_error()

D, HIDDEN, EXPERTS, TOP_K = 16, 24, 4, 2


@pytest.fixture(scope="module")
def ref():
    return load_reference("06-mixture-of-experts")


def copy_experts(hf_experts, layer):
    """The reference layer's experts into Hugging Face's stacked tensors: gate_up_proj[e] = [gate; up]."""
    with torch.no_grad():
        for e, expert in enumerate(layer.experts):
            hf_experts.gate_up_proj[e].copy_(torch.cat([expert.gate_proj.weight, expert.up_proj.weight]))
            hf_experts.down_proj[e].copy_(expert.down_proj.weight)


def copy_mlp(hf_mlp, expert):
    with torch.no_grad():
        for name in ("gate_proj", "up_proj", "down_proj"):
            getattr(hf_mlp, name).weight.copy_(getattr(expert, name).weight)


def mixtral_pair(ref, seed):
    torch.manual_seed(seed)
    layer = ref.MoELayer(D, HIDDEN, EXPERTS, TOP_K).eval()
    config = MixtralConfig(hidden_size=D, intermediate_size=HIDDEN, num_local_experts=EXPERTS,
                           num_experts_per_tok=TOP_K, router_jitter_noise=0.0)
    block = MixtralSparseMoeBlock(config).eval()
    with torch.no_grad():
        block.gate.weight.copy_(layer.router.weight)
    copy_experts(block.experts, layer)
    return layer, block


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixtral_sparse_moe_block_equals_moe_layer(ref, seed):
    layer, block = mixtral_pair(ref, seed)
    x = torch.randn(3, 7, D, generator=torch.Generator().manual_seed(10 + seed))
    with torch.no_grad():
        expected = block(x)
        got, logits = layer(x)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)  # measured: at most 3e-8 (float32 rounding)
    assert torch.equal(logits, x @ layer.router.weight.T)


def test_mixtral_router_equals_top_k_route(ref):
    layer, block = mixtral_pair(ref, 3)
    x = torch.randn(20, D, generator=torch.Generator().manual_seed(13))
    with torch.no_grad():
        logits, weights, indices = block.gate(x)
    got_weights, got_indices = ref.top_k_route(logits, TOP_K)
    assert torch.equal(got_indices, indices)
    torch.testing.assert_close(got_weights, weights, atol=0, rtol=0)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_load_balancing_loss_equals_mixtral_one_layer(ref, k):
    logits = torch.randn(40, 6, generator=torch.Generator().manual_seed(20 + k))
    expected = load_balancing_loss_func((logits,), num_experts=6, top_k=k)
    torch.testing.assert_close(ref.load_balancing_loss(logits, k), expected, atol=1e-6, rtol=0)


def test_load_balancing_loss_equals_mixtral_over_layers(ref):
    g = torch.Generator().manual_seed(30)
    layers = tuple(torch.randn(25, 8, generator=g) for _ in range(3))
    expected = load_balancing_loss_func(layers, num_experts=8, top_k=2)
    torch.testing.assert_close(ref.load_balancing_loss(torch.cat(layers), 2), expected, atol=1e-6, rtol=0)


def test_mixtral_load_balancing_loss_given_a_tensor_silently_returns_zero(ref):
    logits = torch.randn(25, 8, generator=torch.Generator().manual_seed(31))
    assert load_balancing_loss_func(logits, num_experts=8, top_k=2) == 0
    assert ref.load_balancing_loss(logits, 2) > 1.5


def test_load_balancing_loss_perfect_balance_is_k_in_mixtral_too(ref):
    logits = torch.stack([torch.tensor([3.0, 2.0, 0.0, 0.0]).roll(t) for t in range(8)])
    for k in (1, 2):
        assert load_balancing_loss_func((logits,), num_experts=4, top_k=k).item() == pytest.approx(k, abs=1e-6)
        assert ref.load_balancing_loss(logits, k).item() == pytest.approx(k, abs=1e-6)


def test_qwen2_moe_block_equals_moe_layer_plus_gated_shared_expert(ref):
    torch.manual_seed(40)
    layer = ref.MoELayer(D, HIDDEN, EXPERTS, TOP_K).eval()
    shared = ref.Expert(D, 20).eval()
    shared_gate = torch.nn.Linear(D, 1, bias=False)
    config = Qwen2MoeConfig(hidden_size=D, moe_intermediate_size=HIDDEN, shared_expert_intermediate_size=20,
                            num_experts=EXPERTS, num_experts_per_tok=TOP_K, norm_topk_prob=True)
    block = Qwen2MoeSparseMoeBlock(config).eval()
    with torch.no_grad():
        block.gate.weight.copy_(layer.router.weight)
        block.shared_expert_gate.weight.copy_(shared_gate.weight)
    copy_experts(block.experts, layer)
    copy_mlp(block.shared_expert, shared)
    x = torch.randn(2, 9, D, generator=torch.Generator().manual_seed(41))
    with torch.no_grad():
        expected = block(x)
        got = layer(x)[0] + torch.sigmoid(shared_gate(x)) * shared(x)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def deepseek_config(n_experts, top_k, d_hidden):
    return DeepseekV3Config(hidden_size=D, n_routed_experts=n_experts, num_experts_per_tok=top_k, n_group=1,
                            topk_group=1, routed_scaling_factor=1.0, norm_topk_prob=True,
                            moe_intermediate_size=d_hidden, n_shared_experts=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deepseek_v3_router_chooses_the_same_experts(ref, seed):
    g = torch.Generator().manual_seed(50 + seed)
    router = DeepseekV3TopkRouter(deepseek_config(8, 3, HIDDEN))
    with torch.no_grad():
        router.weight.copy_(0.5 * torch.randn(8, D, generator=g))
        router.e_score_correction_bias.copy_(0.3 * torch.randn(8, generator=g))
    x = torch.randn(30, D, generator=g)
    with torch.no_grad():
        logits, weights, indices = router(x)
    got_weights, got_indices = ref.biased_top_k_route(logits, router.e_score_correction_bias, 3)
    biased = torch.sigmoid(logits) + router.e_score_correction_bias
    assert ((biased.sort(-1, descending=True).values[:, 2] - biased.sort(-1, descending=True).values[:, 3]) > 1e-4).all()
    # Hugging Face leaves the chosen experts unsorted: compare sets, and the weights expert by expert
    assert [set(row) for row in got_indices.tolist()] == [set(row) for row in indices.tolist()]
    hf_order, got_order = indices.argsort(-1), got_indices.argsort(-1)
    torch.testing.assert_close(got_weights.gather(-1, got_order), weights.gather(-1, hf_order), atol=1e-7, rtol=0)


def test_deepseek_v3_bias_changes_the_choice_not_the_weights(ref):
    """A bias that changes which experts are chosen: Hugging Face's weights are still the plain scores."""
    router = DeepseekV3TopkRouter(deepseek_config(4, 2, HIDDEN))
    logits = torch.tensor([[0.95, 0.55, -0.2, 0.3]])
    with torch.no_grad():
        router.weight.copy_(torch.eye(4, D))
        router.e_score_correction_bias.copy_(torch.tensor([0.0, -0.1, 0.0, 0.1]))
        _, weights, indices = router(torch.nn.functional.pad(logits, (0, D - 4)))
    assert set(indices[0].tolist()) == {0, 3}
    scores = torch.sigmoid(logits[0, [0, 3]])
    torch.testing.assert_close(weights[0].sort().values, (scores / scores.sum()).sort().values, atol=1e-7, rtol=0)
    got_weights, got_indices = ref.biased_top_k_route(logits, router.e_score_correction_bias, 2)
    assert got_indices.tolist() == [[0, 3]]


def test_deepseek_v3_moe_equals_shared_expert_moe(ref):
    torch.manual_seed(60)
    layer = ref.SharedExpertMoE(D, HIDDEN, 8, 2, HIDDEN).eval()
    g = torch.Generator().manual_seed(61)
    with torch.no_grad():
        layer.expert_bias.copy_(0.2 * torch.randn(8, generator=g))
    block = DeepseekV3MoE(deepseek_config(8, 2, HIDDEN)).eval()
    with torch.no_grad():
        block.gate.weight.copy_(layer.router.weight)
        block.gate.e_score_correction_bias.copy_(layer.expert_bias)
    copy_experts(block.experts, layer)
    copy_mlp(block.shared_experts, layer.shared)
    x = torch.randn(2, 11, D, generator=g)
    with torch.no_grad():
        expected = block(x)
        got = layer(x)[0]
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
