"""Oracle tests for notebook 16 (long context): the reference solutions against Hugging Face transformers
(5.23.0), an implementation nobody on this project wrote.

* `transformers.modeling_rope_utils.ROPE_INIT_FUNCTIONS` (each `fn(config, device, seq_len) -> (inv_freq,
  attention_factor)`) for a `LlamaConfig` carrying `rope_parameters`: `"default"` gives `rope_inv_freq`,
  `"linear"` gives `position_interpolation`, `"dynamic"` with `factor` 1 at the sequence length s * L gives
  `ntk_inv_freq` with factor s (its base is base * (factor * length / L - (factor - 1)) ** (d / (d - 2))), and
  `"yarn"` gives `yarn_inv_freq` and its attention factor (oracles.md: this equals the YaRN authors' reference).
  With `truncate` False (DeepSeek-V3 style) transformers' YaRN differs: the rounding convention matters.
* A whole model: `LlamaForCausalLM` with the course model's weights and the same `rope_parameters` gives the
  logits of the course model whose rotary embedding is the reference's `ScaledRotaryEmbedding` (linear, dynamic
  NTK, YaRN; random small models and the `small-short` checkpoint), and its mean loss is the mean of
  `loss_by_position`.

Traps: transformers' YaRN computes 1 / (factor * base ** x) and blends with (1 - ramp) twice, so it agrees with
the reference to float32 rounding (relative 1e-6), not bit for bit; its `"dynamic"` type recomputes the
frequencies in the forward pass only when the sequence is longer than `max_position_embeddings`.
"""
import math

import pytest
import torch
import transformers
from transformers import LlamaConfig as HFLlamaConfig
from transformers import LlamaForCausalLM as HFLlamaForCausalLM
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from autograder.notebook import load_reference
from coursekit.models import LlamaConfig, LlamaForCausalLM, hf_config, load_model

transformers.logging.set_verbosity_error()


@pytest.fixture(scope="module")
def ref():
    return load_reference("16-long-context")


def hf_rope(head_dim, max_position, seq_len=None, **rope_parameters):
    """(inv_freq, attention_factor) of transformers for a config of this head_dim and these rope_parameters
    ("default": the inv_freq buffer of its LlamaRotaryEmbedding)."""
    config = HFLlamaConfig(hidden_size=head_dim * 2, num_attention_heads=2, head_dim=head_dim,
                           max_position_embeddings=max_position, rope_parameters=rope_parameters)
    if rope_parameters["rope_type"] == "default":
        return LlamaRotaryEmbedding(config).inv_freq, 1.0
    return ROPE_INIT_FUNCTIONS[rope_parameters["rope_type"]](config, None, seq_len)


GRID = [(64, 10000.0), (128, 500000.0), (32, 10.0), (8, 1e6), (2, 10000.0)]


@pytest.mark.parametrize("head_dim,base", GRID)
def test_default_frequencies(ref, head_dim, base):
    inv_freq, _ = hf_rope(head_dim, 128, rope_type="default", rope_theta=base)
    assert torch.equal(ref.rope_inv_freq(head_dim, base), inv_freq)


@pytest.mark.parametrize("factor", [1.0, 2.0, 4.0, 10.0])
def test_linear_is_position_interpolation(ref, factor):
    for head_dim, base in GRID:
        inv_freq, attention = hf_rope(head_dim, 128, rope_type="linear", rope_theta=base, factor=factor)
        assert torch.equal(ref.position_interpolation(ref.rope_inv_freq(head_dim, base), factor), inv_freq)
        assert attention == 1.0


@pytest.mark.parametrize("scale", [1, 2, 4, 16])
def test_dynamic_at_the_scaled_length_is_ntk(ref, scale):
    for head_dim, base in GRID[:4]:
        inv_freq, _ = hf_rope(head_dim, 128, rope_type="dynamic", rope_theta=base, factor=1.0, seq_len=128 * scale)
        ours = ref.ntk_inv_freq(head_dim, base, scale)
        assert torch.allclose(ours, inv_freq, rtol=1e-6, atol=0), (head_dim, base, (ours / inv_freq - 1).abs().max())


YARN_CASES = [(64, 10000.0, 4.0, 128, 32, 1), (64, 10000.0, 8.0, 4096, 32, 1), (128, 500000.0, 16.0, 8192, 32, 1),
              (32, 10000.0, 2.0, 2048, 16, 2), (16, 10000.0, 4.0, 6, 32, 1), (8, 10.0, 4.0, 400, 32, 1),
              (64, 10000.0, 1.0, 512, 32, 1), (64, 1e6, 40.0, 4096, 64, 0.5), (2, 10000.0, 3.0, 64, 32, 1)]


@pytest.mark.parametrize("case", YARN_CASES, ids=str)
def test_yarn(ref, case):
    head_dim, base, factor, length, beta_fast, beta_slow = case
    inv_freq, attention = hf_rope(head_dim, length * 4, rope_type="yarn", rope_theta=base, factor=factor,
                                  original_max_position_embeddings=length, beta_fast=beta_fast, beta_slow=beta_slow)
    ours, our_attention = ref.yarn_inv_freq(head_dim, base, factor, length, beta_fast, beta_slow)
    assert ours.dtype == inv_freq.dtype == torch.float32
    assert torch.allclose(ours, inv_freq, rtol=1e-6, atol=0), (ours / inv_freq - 1).abs().max()
    assert our_attention == pytest.approx(attention, abs=1e-12)


def test_yarn_attention_factor_at_4(ref):
    assert round(ref.yarn_inv_freq(64, 10000.0, 4, 128)[1], 4) == 1.1386


def test_yarn_without_truncation_differs(ref):
    """transformers' truncate=False (no outward rounding) gives other frequencies: the convention is named."""
    inv_freq, _ = hf_rope(64, 512, rope_type="yarn", rope_theta=10000.0, factor=4.0,
                          original_max_position_embeddings=128, truncate=False)
    ours, _ = ref.yarn_inv_freq(64, 10000.0, 4, 128)
    assert (ours / inv_freq - 1).abs().max() > 0.01


def course_and_hf(seed, rope_parameters, max_position):
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=61, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=max_position)
    ours = LlamaForCausalLM(config).eval()
    return ours, hf_twin(ours, rope_parameters)


def hf_twin(ours, rope_parameters):
    settings = hf_config(ours.config)
    settings["rope_parameters"] = {"rope_theta": ours.config.rope_theta, **rope_parameters}
    hf = HFLlamaForCausalLM(HFLlamaConfig(**settings)).eval()
    missing, unexpected = hf.load_state_dict(ours.state_dict(), strict=False)
    assert not unexpected and all("rotary" in name for name in missing), (missing, unexpected)
    return hf


def scaled(ref, model, rope_type, factor, original):
    head_dim, base = model.config.head_dim, model.config.rope_theta
    if rope_type == "linear":
        inv_freq, attention = ref.position_interpolation(ref.rope_inv_freq(head_dim, base), factor), 1.0
    elif rope_type == "dynamic":
        inv_freq, attention = ref.ntk_inv_freq(head_dim, base, factor), 1.0
    else:
        inv_freq, attention = ref.yarn_inv_freq(head_dim, base, factor, original)
    model.model.rotary_emb = ref.ScaledRotaryEmbedding(inv_freq, attention)
    return model


@pytest.mark.parametrize("rope_type", ["linear", "dynamic", "yarn"])
def test_whole_model_logits(ref, rope_type):
    """A random model trained-for 16 positions, run on 64 (factor 4) through both implementations."""
    parameters = {"rope_type": rope_type, "factor": 4.0}
    if rope_type == "dynamic":
        parameters["factor"] = 1.0  # base * (length / 16) ** (d / (d - 2)) at length 64: NTK with s = 4
    if rope_type == "yarn":
        parameters["original_max_position_embeddings"] = 16
    ours, hf = course_and_hf(3, parameters, 16)
    scaled(ref, ours, rope_type, 4, 16)
    ids = torch.randint(0, 61, (2, 64), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected, got = hf(ids).logits, ours(ids)[0]
    assert (got - expected).abs().max() < 1e-6  # 0.0 measured; 3e-4 to 7e-4 without the scaling


def test_small_short_with_yarn_and_its_loss(ref):
    """The small-short checkpoint at 384 tokens with YaRN (factor 4): the same logits; HF's mean loss is the mean
    of loss_by_position."""
    ours = load_model("small-short")
    hf = hf_twin(ours, {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128})
    scaled(ref, ours, "yarn", 4, 128)
    ids = torch.randint(0, 4096, (1, 384), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        hf_out = hf(ids, labels=ids)
        logits = ours(ids)[0]
    assert (logits - hf_out.logits).abs().max() < 1e-5  # 0.0 measured
    assert ref.loss_by_position(ours, ids).mean().item() == pytest.approx(hf_out.loss.item(), abs=1e-4)  # 7.6e-6: float32 sums
    assert math.isfinite(hf_out.loss.item())
